//! Property tests of the scenario language, its links and zkCli's command language:
//! round trips are exact, and no input (text, link or bytes) makes them panic.

use proptest::prelude::*;
use zoolab_core::checker::Rule;
use zoolab_core::scenario::{self, link, *};
use zoolab_core::zkcli::{
    self, Acl, AddWatchMode, CreateMode, MultiOp, Perms, ReconfigChange, WatcherKind, ZkCommand,
};

const CLUSTER_NAMES: &[&str] = &["a", "b", "east", "west_dc", "z"];
const CLIENT_NAMES: &[&str] = &["c1", "c2", "alice", "bob_2"];

#[derive(Clone, Debug)]
struct Topo {
    clusters: Vec<Cluster>,
    clients: Vec<ClientDecl>,
}

fn millis() -> impl Strategy<Value = Millis> {
    prop_oneof![(0u64..5000).prop_map(Millis), (0u64..100).prop_map(|s| Millis(s * 1000))]
}

fn percent() -> impl Strategy<Value = Percent> {
    (0u16..=10_000).prop_map(Percent)
}

/// Network settings; `client`: with a client latency (the network's, not a link's).
fn net(allow_empty: bool, client: bool) -> impl Strategy<Value = NetSettings> {
    (
        proptest::option::of((0u64..500, 0u64..500).prop_map(|(a, b)| (Millis(a.min(b)), Millis(a.max(b))))),
        proptest::option::of(percent()),
        proptest::option::of(percent()),
        proptest::option::of((0u64..50).prop_map(Millis))
            .prop_filter("network only", move |l| client || l.is_none()),
    )
        .prop_map(|(latency, loss, duplicate, client_latency)| NetSettings {
            latency,
            loss,
            duplicate,
            client_latency,
        })
        .prop_filter("non-empty", move |n| allow_empty || !n.is_empty())
}

fn topo() -> impl Strategy<Value = Topo> {
    proptest::sample::subsequence(CLUSTER_NAMES, 1..=3)
        .prop_flat_map(|names| {
            let clusters: Vec<_> = names
                .into_iter()
                .map(|n| {
                    (
                        1u8..=5,
                        (0u8..=2, 0u8..=2),
                        proptest::option::of((1u64..3000).prop_map(Millis)),
                        proptest::option::of(1u32..20),
                        proptest::option::of(1u32..20),
                        proptest::option::of((1u32..100_000, 0u32..1000)),
                    )
                        .prop_map(
                            move |(
                                servers,
                                (observers, spares),
                                tick_time,
                                init_limit,
                                sync_limit,
                                counts,
                            )| Cluster {
                                name: n.to_string(),
                                servers,
                                observers,
                                spares,
                                settings: ClusterSettings {
                                    tick_time,
                                    init_limit,
                                    sync_limit,
                                    snap_count: counts.map(|c| c.0),
                                    commit_log_count: counts.map(|c| c.1),
                                },
                            },
                        )
                })
                .collect();
            (clusters, proptest::sample::subsequence(CLIENT_NAMES, 0..=3))
        })
        .prop_flat_map(|(clusters, client_names)| {
            let n = clusters.len();
            let clients: Vec<_> = client_names
                .into_iter()
                .map(|name| {
                    let cl = clusters.clone();
                    proptest::collection::vec((0..n, 0u8..3, any::<bool>()), 1..3).prop_map(move |eps| {
                        ClientDecl {
                            name: name.to_string(),
                            connect: eps
                                .into_iter()
                                .map(|(c, id, whole)| {
                                    let cluster = &cl[c];
                                    if whole {
                                        Endpoint::Cluster(cluster.name.clone())
                                    } else {
                                        Endpoint::Server(ServerName {
                                            cluster: cluster.name.clone(),
                                            id: 1 + id % cluster.total(),
                                        })
                                    }
                                })
                                .collect(),
                        }
                    })
                })
                .collect();
            (Just(clusters), clients)
        })
        .prop_map(|(clusters, clients)| Topo { clusters, clients })
}

fn server_ref(t: &Topo) -> impl Strategy<Value = ServerRef> {
    let clusters = t.clusters.clone();
    (0..clusters.len(), any::<u8>(), any::<bool>()).prop_map(move |(c, id, leader)| {
        let cl = &clusters[c];
        if leader {
            ServerRef::LeaderOf(cl.name.clone())
        } else {
            ServerRef::Named(ServerName { cluster: cl.name.clone(), id: 1 + id % cl.total() })
        }
    })
}

/// Data that zkCli can write: no control characters, no both-quotes-with-space, no
/// leading `-`, no lone `;`.
fn data() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 /._:=\"'é#-]{0,12}".prop_filter("writable", |s| zkcli::is_writable(s) && s != ";")
}

fn zpath() -> impl Strategy<Value = String> {
    prop_oneof![Just("/".to_string()), "(/[a-z0-9é_. -]{1,6}){1,3}"]
        .prop_filter("valid", |p| zkcli::validate_path(p, false).is_ok() && zkcli::is_writable(p))
}

fn acl() -> impl Strategy<Value = Vec<Acl>> {
    proptest::collection::vec(
        (
            proptest::sample::select(vec!["world", "digest", "ip", "auth"]),
            "[a-z0-9.:=]{0,8}",
            any::<[bool; 5]>(),
        )
            .prop_map(|(scheme, id, p)| Acl {
                scheme: scheme.to_string(),
                id,
                perms: Perms { create: p[0], delete: p[1], read: p[2], write: p[3], admin: p[4] },
            }),
        1..3,
    )
}

fn command() -> impl Strategy<Value = ZkCommand> {
    let mode = prop_oneof![
        Just(CreateMode::Persistent),
        Just(CreateMode::PersistentSequential),
        Just(CreateMode::Ephemeral),
        Just(CreateMode::EphemeralSequential),
        Just(CreateMode::Container),
        (1i64..100_000).prop_map(CreateMode::PersistentWithTtl),
        (1i64..100_000).prop_map(CreateMode::PersistentSequentialWithTtl),
    ];
    let version = || proptest::option::of(-1i32..100);
    let b = any::<bool>;
    let spec = "[a-z0-9.=:;]{1,20}";
    let options: Vec<BoxedStrategy<ZkCommand>> = vec![
        (mode.clone(), zpath(), proptest::option::of(data()), proptest::option::of(acl()))
            // zkCli cannot give an ACL without data: `create /p "" acl` has data "".
            .prop_map(|(mode, path, data, acl)| {
                let data = if acl.is_some() { Some(data.unwrap_or_default()) } else { data };
                ZkCommand::Create { mode, path, data, acl }
            })
            .boxed(),
        (b(), version(), zpath(), data())
            .prop_map(|(stat, version, path, data)| ZkCommand::Set { stat, version, path, data })
            .boxed(),
        (b(), b(), zpath()).prop_map(|(stat, watch, path)| ZkCommand::Get { stat, watch, path }).boxed(),
        (b(), b(), b(), zpath())
            .prop_map(|(stat, watch, recursive, path)| ZkCommand::Ls { stat, watch, recursive, path })
            .boxed(),
        (b(), zpath()).prop_map(|(watch, path)| ZkCommand::Stat { watch, path }).boxed(),
        (version(), zpath()).prop_map(|(version, path)| ZkCommand::Delete { version, path }).boxed(),
        (zpath(), proptest::option::of(1u32..5000))
            .prop_map(|(path, batch)| ZkCommand::DeleteAll { path, batch })
            .boxed(),
        zpath().prop_map(|path| ZkCommand::Sync { path }).boxed(),
        (b(), zpath())
            .prop_map(|(p, path)| ZkCommand::AddWatch {
                mode: if p { AddWatchMode::Persistent } else { AddWatchMode::PersistentRecursive },
                path,
            })
            .boxed(),
        (
            zpath(),
            proptest::sample::select(vec![
                WatcherKind::Children,
                WatcherKind::Data,
                WatcherKind::Persistent,
                WatcherKind::PersistentRecursive,
                WatcherKind::Any,
            ]),
            b(),
        )
            .prop_map(|(path, kind, local)| ZkCommand::RemoveWatches { path, kind, local })
            .boxed(),
        (b(), zpath()).prop_map(|(stat, path)| ZkCommand::GetAcl { stat, path }).boxed(),
        (b(), version(), b(), zpath(), acl())
            .prop_map(|(stat, version, recursive, path, acl)| ZkCommand::SetAcl {
                stat,
                version,
                recursive,
                path,
                acl,
            })
            .boxed(),
        zpath().prop_map(|path| ZkCommand::GetAllChildrenNumber { path }).boxed(),
        proptest::option::of(zpath()).prop_map(|path| ZkCommand::GetEphemerals { path }).boxed(),
        (b(), b(), b()).prop_map(|(compact, watch, stat)| ZkCommand::Config { compact, watch, stat }).boxed(),
        (
            b(),
            proptest::option::of(any::<u64>()),
            prop_oneof![
                (proptest::option::of(spec), proptest::option::of("[0-9,]{1,6}"))
                    .prop_filter("some change", |(a, r)| a.is_some() || r.is_some())
                    .prop_map(|(add, remove)| ReconfigChange::Incremental { add, remove }),
                spec.prop_map(ReconfigChange::Members),
                "/[a-z]{1,8}".prop_map(ReconfigChange::File),
            ],
        )
            .prop_map(|(stat, version, change)| ZkCommand::Reconfig { stat, version, change })
            .boxed(),
        ("[a-z]{1,8}", "[a-z0-9:]{1,12}")
            .prop_map(|(scheme, auth)| ZkCommand::AddAuth { scheme, auth })
            .boxed(),
        Just(ZkCommand::WhoAmI).boxed(),
        proptest::collection::vec(
            prop_oneof![
                (mode, zpath(), proptest::option::of(data()))
                    .prop_map(|(mode, path, data)| MultiOp::Create { mode, path, data, acl: None }),
                (version(), zpath(), data()).prop_map(|(version, path, d)| MultiOp::Set {
                    version,
                    path,
                    data: d
                }),
                (0i32..9, zpath()).prop_map(|(version, path)| MultiOp::Check { version, path }),
                (version(), zpath()).prop_map(|(version, path)| MultiOp::Delete { version, path }),
            ],
            1..4,
        )
        .prop_map(ZkCommand::Multi)
        .boxed(),
    ];
    proptest::strategy::Union::new(options)
}

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 \"\\\\\n\t/é#:=.,|<>-]{0,16}"
}

/// Data to compare with: null, or text (`"null"` among it now and then).
fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => Just(Value::Text("null".into())),
        6 => text().prop_map(Value::Text),
    ]
}

/// Some servers of one cluster, once each in id order.
fn voters(t: &Topo) -> impl Strategy<Value = Vec<ServerName>> {
    let clusters = t.clusters.clone();
    (0..clusters.len(), any::<u16>()).prop_map(move |(c, mask)| {
        let cl = &clusters[c];
        let mut v: Vec<ServerName> = (1..=cl.total())
            .filter(|id| mask & (1 << (id - 1)) != 0)
            .map(|id| ServerName { cluster: cl.name.clone(), id })
            .collect();
        if v.is_empty() {
            v.push(ServerName { cluster: cl.name.clone(), id: 1 });
        }
        v
    })
}

fn predicate(t: &Topo, depth: u32) -> BoxedStrategy<Predicate> {
    let clusters: Vec<String> = t.clusters.iter().map(|c| c.name.clone()).collect();
    let cluster = proptest::sample::select(clusters);
    let target =
        prop_oneof![server_ref(t).prop_map(Target::Server), cluster.clone().prop_map(Target::Cluster)];
    let states = proptest::sample::select(ServerState::ALL.to_vec());
    let mut options: Vec<BoxedStrategy<Predicate>> = vec![
        cluster.clone().prop_map(Predicate::HasLeader).boxed(),
        (server_ref(t), states, proptest::option::of(0u32..9))
            .prop_map(|(server, state, epoch)| Predicate::Is { server, state, epoch })
            .boxed(),
        (target.clone(), zpath(), proptest::option::of(value()))
            .prop_map(|(target, path, data)| Predicate::HasNode { target, path, data })
            .boxed(),
        (target.clone(), any::<u64>())
            .prop_map(|(target, zxid)| Predicate::HasCommitted { target, zxid })
            .boxed(),
        (target.clone(), any::<u64>())
            .prop_map(|(target, version)| Predicate::HasConfigVersion { target, version })
            .boxed(),
        (target, voters(t)).prop_map(|(target, voters)| Predicate::HasVoters { target, voters }).boxed(),
        Just(Predicate::InvariantsHold).boxed(),
        (
            proptest::option::of(cluster.clone()),
            proptest::option::of(proptest::sample::select(Rule::ALL.to_vec())),
        )
            .prop_map(|(cluster, violates)| Predicate::History { cluster, violates })
            .boxed(),
        text().prop_map(Predicate::TraceContains).boxed(),
        migration_predicate(),
    ];
    if !t.clients.is_empty() {
        let names: Vec<String> = t.clients.iter().map(|c| c.name.clone()).collect();
        let op = (proptest::sample::select(names), proptest::option::of(1u32..50))
            .prop_map(|(client, nth)| OpRef { client, nth });
        options.push(op.clone().prop_map(Predicate::Succeeded).boxed());
        options.push(op.clone().prop_map(Predicate::Pending).boxed());
        options.push(
            (op.clone(), proptest::option::of("[A-Z_]{1,12}"))
                .prop_map(|(op, code)| Predicate::Failed { op, code })
                .boxed(),
        );
        options.push((op, value()).prop_map(|(op, value)| Predicate::Returned { op, value }).boxed());
    }
    let leaf = proptest::strategy::Union::new(options).boxed();
    if depth == 0 {
        leaf
    } else {
        prop_oneof![4 => leaf, 1 => predicate(t, depth - 1).prop_map(|p| Predicate::Not(Box::new(p)))].boxed()
    }
}

fn action(t: &Topo) -> BoxedStrategy<Action> {
    let refs = proptest::collection::vec(server_ref(t).boxed(), 1..3).boxed();
    let clusters: Vec<String> = t.clusters.iter().map(|c| c.name.clone()).collect();
    let mut options: Vec<BoxedStrategy<Action>> = vec![
        server_ref(t).prop_map(Action::Kill).boxed(),
        server_ref(t).prop_map(Action::Restart).boxed(),
        (server_ref(t), millis()).prop_map(|(s, d)| Action::Pause(s, d)).boxed(),
        server_ref(t).prop_map(Action::Isolate).boxed(),
        proptest::option::of(server_ref(t)).prop_map(Action::Heal).boxed(),
        proptest::collection::vec(refs.clone(), 2..4).prop_map(Action::Partition).boxed(),
        (refs.clone(), refs).prop_map(|(from, to)| Action::Cut { from, to }).boxed(),
        net(false, true).prop_map(Action::Network).boxed(),
        (server_ref(t), server_ref(t), any::<bool>(), proptest::option::of(net(false, false)))
            .prop_filter("two servers of one cluster", |(a, b, _, _)| {
                let c = |r: &ServerRef| match r {
                    ServerRef::Named(n) => n.cluster.clone(),
                    ServerRef::LeaderOf(c) => c.clone(),
                };
                a != b && c(a) == c(b)
            })
            .prop_map(|(from, to, both_ways, net)| Action::ServerLink { from, to, both_ways, net })
            .boxed(),
        millis().prop_map(Action::Run).boxed(),
        (0u64..1000).prop_map(Action::Step).boxed(),
        (
            server_ref(t),
            server_ref(t),
            proptest::option::of(proptest::sample::select(vec!["PROPOSAL", "ACK", "NOTIFICATION"])),
        )
            .prop_filter("two servers of one cluster", |(from, to, _)| match (from, to) {
                (ServerRef::Named(a), ServerRef::Named(b)) => a.cluster == b.cluster && a != b,
                _ => true,
            })
            .prop_map(|(from, to, kind)| Action::Deliver { from, to, kind: kind.map(str::to_string) })
            .boxed(),
        (predicate(t, 2), proptest::option::of(millis()))
            .prop_map(|(condition, within)| Action::RunUntil { condition, within })
            .boxed(),
        predicate(t, 2).prop_map(Action::Expect).boxed(),
        (millis(), server_ref(t))
            .prop_map(|(time, s)| Action::At { time, action: Box::new(Action::Kill(s)) })
            .boxed(),
    ];
    options.push(migration_action(&clusters));
    if clusters.len() >= 2 {
        let (a, b) = (clusters[0].clone(), clusters[1].clone());
        options.push(
            net(false, false)
                .prop_map(move |net| Action::Link(LinkDecl { a: a.clone(), b: b.clone(), net }))
                .boxed(),
        );
    }
    if !t.clients.is_empty() {
        let names: Vec<String> = t.clients.iter().map(|c| c.name.clone()).collect();
        options.push(
            (proptest::sample::select(names), command())
                .prop_map(|(client, command)| Action::Client { client, command })
                .boxed(),
        );
    }
    proptest::strategy::Union::new(options).boxed()
}

fn scenario() -> impl Strategy<Value = Scenario> {
    topo().prop_flat_map(|t| {
        let links = if t.clusters.len() >= 2 {
            let (a, b) = (t.clusters[0].name.clone(), t.clusters[1].name.clone());
            proptest::option::of(net(true, false).prop_map(move |net| LinkDecl {
                a: a.clone(),
                b: b.clone(),
                net,
            }))
            .prop_map(|l| l.into_iter().collect::<Vec<_>>())
            .boxed()
        } else {
            Just(Vec::new()).boxed()
        };
        (
            proptest::option::of(text()),
            any::<u64>(),
            net(true, true),
            links,
            proptest::collection::vec(action(&t), 0..25),
            Just(t),
            proptest::sample::subsequence(Bug::ALL.to_vec(), 0..=Bug::ALL.len()),
            classroom(),
        )
            .prop_map(|(title, seed, network, links, steps, t, bugs, classroom)| Scenario {
                title,
                seed,
                classroom,
                network,
                bugs,
                clusters: t.clusters,
                links,
                clients: t.clients,
                steps,
            })
    })
}

/// A classroom header: an exercise's name and a teacher's lock, each maybe.
fn classroom() -> impl Strategy<Value = zoolab_core::scenario::classroom::Classroom> {
    use zoolab_core::scenario::classroom::{Classroom, Control, Lock};
    (
        proptest::option::of("[a-z0-9_-]{1,20}"),
        proptest::option::of(proptest::collection::btree_set(
            proptest::sample::select(Control::ALL.to_vec()),
            0..4,
        )),
    )
        .prop_map(|(exercise, lock)| Classroom {
            exercise,
            lock: lock.map(|allow| Lock { allow: allow.into_iter().collect() }),
        })
}

/// Words and symbols of the language, to make random texts that get past the first token.
const VOCAB: &[&str] = &[
    "seed",
    "bug",
    "skip-trunc",
    "history",
    "deliver",
    "->",
    "PROPOSAL",
    "linearizable",
    "violates",
    "1",
    "cluster",
    "a",
    "with",
    "3",
    "servers",
    "and",
    "observer",
    ",",
    "tickTime",
    "100ms",
    "link",
    "<->",
    "b",
    "latency",
    "1ms..5ms",
    "loss",
    "5%",
    "client",
    "c1",
    "connects",
    "to",
    "a1",
    "c1:",
    "create",
    "-e",
    "-s",
    "/x",
    "\"v w\"",
    "kill",
    "pause",
    "for",
    "a2",
    "restart",
    "partition",
    "|",
    "->",
    "heal",
    "run",
    "until",
    "has",
    "leader",
    "expect",
    "is",
    "leading",
    "in",
    "epoch",
    "2",
    "succeeded",
    "failed",
    "NODEEXISTS",
    "#2",
    "not",
    "no",
    "at",
    "1s:",
    "step",
    "\n",
    "\n",
    "\n",
    "change",
    "network",
    "trace",
    "contains",
    "returned",
    "=",
    "invariants",
    "hold",
    "committed",
    "0x1",
    "set",
    "get",
    "-w",
    "multi",
    ";",
    "'",
    "\"",
    "\\",
];

fn soup() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(VOCAB), 0..40).prop_map(|w| w.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn scenario_text_round_trips(sc in scenario()) {
        prop_assert_eq!(sc.validate(), Ok(()));
        let text = sc.to_string();
        let back = scenario::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(back, sc);
    }

    #[test]
    fn scenario_link_round_trips(sc in scenario(), pos in any::<u64>()) {
        let l = link::encode(&sc, pos).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(link::decode(&l), Ok((sc, pos)));
    }

    #[test]
    fn any_text_parses_or_fails_cleanly(s in "\\PC{0,200}") {
        let _ = scenario::parse(&s);
    }

    #[test]
    fn what_parses_prints_canonically(s in soup()) {
        if let Ok(sc) = scenario::parse(&s) {
            let text = sc.to_string();
            prop_assert_eq!(scenario::parse(&text), Ok(sc.clone()));
            prop_assert_eq!(scenario::parse(&text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn any_zkcli_line_parses_or_fails_cleanly(s in "\\PC{0,120}") {
        if let Ok(cmd) = zkcli::parse(&s) {
            prop_assert_eq!(zkcli::parse(&cmd.to_string()), Ok(cmd));
        }
    }

    #[test]
    fn zkcli_soup_reads_back_canonically(s in soup()) {
        let line = s.replace('\n', " ");
        if let Ok(cmd) = zkcli::parse(&line) {
            prop_assert_eq!(zkcli::parse(&cmd.to_string()), Ok(cmd));
        }
    }

    #[test]
    fn zkcli_commands_round_trip(cmd in command()) {
        prop_assert_eq!(zkcli::parse(&cmd.to_string()), Ok(cmd));
    }

    #[test]
    fn load_takes_any_input_without_panicking(s in "(https?://x/#)?(z[0-9]{0,3}\\.)?\\PC{0,200}") {
        let _ = scenario::load(&s);
    }

    #[test]
    fn any_link_decodes_or_fails_cleanly(s in "(z1\\.)?[A-Za-z0-9_-]{0,300}") {
        let _ = link::decode(&s);
    }

    #[test]
    fn any_bytes_behind_a_valid_prefix_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        use base64::Engine;
        let s = format!("z1.{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes));
        let _ = link::decode(&s);
    }

    #[test]
    fn a_mutated_link_is_the_same_scenario_or_an_error(sc in scenario(), at in any::<usize>(), to in 0u8..64) {
        let l = link::encode(&sc, 9).unwrap();
        let mut b = l.into_bytes();
        let i = 3 + at % (b.len() - 3);
        b[i] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[usize::from(to)];
        let m = String::from_utf8(b).unwrap();
        if let Ok(got) = link::decode(&m) {
            prop_assert_eq!(got, (sc, 9));
        }
    }
}

/// The readers' worst inputs at their size limits finish quickly (no quadratic path).
#[test]
fn largest_inputs_are_read_in_bounded_time() {
    use std::time::Instant;
    let budget = std::time::Duration::from_secs(20);
    let mut text = String::from("cluster a with 9 servers\nclient c1 connects to a\n");
    let lines = [
        "partition a1 a2 a3 a4 | a5 a6 | a7 a8 a9",
        "expect not not not a has /deep/path/to/a/node = \"some \\\"quoted\\\" value\"",
        "c1: multi create /a 1 ; set -v 2 /b 2 ; check -v 3 /c ; delete /d",
        "run until leader of a is leading in epoch 7 within 10s",
    ];
    let mut i = 0;
    while text.len() < scenario::MAX_TEXT_BYTES - 200 {
        text.push_str(lines[i % lines.len()]);
        text.push('\n');
        i += 1;
    }
    let start = Instant::now();
    let sc = scenario::parse(&text).unwrap();
    let printed = sc.to_string();
    assert_eq!(scenario::parse(&printed).unwrap(), sc);
    assert!(start.elapsed() < budget, "1 MiB scenario: {:?}", start.elapsed());
    // A long line of garbage, and a long almost-valid line.
    let start = Instant::now();
    let _ = scenario::parse(&format!("cluster a with 1 server\n{}", "a1 ".repeat(20_000)));
    let _ = scenario::parse(&format!("cluster a with 1 server\npartition {}", "a1 ".repeat(20_000)));
    let _ =
        scenario::parse(&format!("cluster a with 1 server\nexpect a1 has /x = \"{}", "\\\\".repeat(30_000)));
    assert!(start.elapsed() < budget, "long lines: {:?}", start.elapsed());
    // The largest link that decodes, and a bomb.
    let start = Instant::now();
    let junk = "A".repeat(link::MAX_LINK_CHARS - 3);
    let _ = link::decode(&format!("z1.{junk}"));
    assert!(start.elapsed() < budget, "long link: {:?}", start.elapsed());
}

// --- migration statements (issue 7), apart so that other additions merge cleanly ---

fn phase() -> impl Strategy<Value = zoolab_core::migration::phase::Phase> {
    proptest::sample::select(
        zoolab_core::scenario::migrate::PHASE_WORDS.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
    )
}

fn migration_predicate() -> BoxedStrategy<Predicate> {
    use zoolab_core::scenario::migrate::MigrationPredicate as P;
    prop_oneof![phase().prop_map(P::In), Just(P::Committed), Just(P::InvariantsHold)]
        .prop_map(Predicate::Migration)
        .boxed()
}

fn migration_action(clusters: &[String]) -> BoxedStrategy<Action> {
    use zoolab_core::migration::sim::{Conflict, SessionPolicy};
    use zoolab_core::scenario::migrate::{MigrationAction as M, Via};
    let control = prop_oneof![
        Just(M::Step),
        Just(M::Abort),
        (proptest::option::of(phase()), proptest::option::of(millis()), proptest::option::of(0u64..100_000))
            .prop_map(|(until, within, events)| M::Run { until, within, events }),
    ]
    .prop_map(Action::Migration);
    if clusters.len() < 2 {
        return control.boxed();
    }
    let (a, b) = (clusters[0].clone(), clusters[1].clone());
    let start = (
        any::<bool>(),
        prop_oneof![Just(Via::Snapshot), Just(Via::ClientApi), Just(Via::ObserverJoin)],
        proptest::option::of(zpath().prop_filter("not /zookeeper", |p| !p.starts_with("/zookeeper"))),
        proptest::option::of(prop_oneof![Just(SessionPolicy::Import), Just(SessionPolicy::Expire)]),
        proptest::option::of(zpath().prop_filter("not /zookeeper", |p| !p.starts_with("/zookeeper"))),
        proptest::option::of(prop_oneof![Just(Conflict::Fail), Just(Conflict::Overwrite)]),
    )
        .prop_map(move |(swap, via, subtree, sessions, into, conflict)| {
            let (source, target) = if swap { (b.clone(), a.clone()) } else { (a.clone(), b.clone()) };
            // `into` follows a subtree.
            let into = into.filter(|_| subtree.is_some());
            Action::Migration(M::Start { source, target, via, subtree, sessions, into, conflict })
        });
    prop_oneof![control, start].boxed()
}
