//! End-to-end migrations on the simulator.

use super::fidelity::Transport;
use super::phase::Phase;
use super::sim::{Broken, Plan, SessionPolicy};
use crate::scenario::run::Driver;
use crate::scenario::sim::SimDriver;
use crate::zkcli::ZkCommand;

pub(crate) const WORLD: &str = "scenario \"two clusters\"
seed 7
cluster a with 3 servers
cluster b with 3 servers
link a <-> b latency 40ms
client c1 connects to a
client c2 connects to a
client c3 connects to a3
";

pub(crate) fn driver(seed: u64) -> SimDriver {
    let mut sc = crate::scenario::parse(WORLD).unwrap();
    sc.seed = seed;
    let mut d = SimDriver::new(&sc).unwrap();
    run_for(&mut d, 2_000);
    d
}

pub(crate) fn run_for(d: &mut SimDriver, ms: u64) {
    let until = d.now().0 + ms;
    let mut trace = Vec::new();
    while d.step_until(crate::scenario::Millis(until), &mut trace) {
        trace.clear();
    }
}

pub(crate) fn cmd(d: &mut SimDriver, client: &str, text: &str) -> u64 {
    let c: ZkCommand = crate::zkcli::parse(text).unwrap();
    d.submit(client, &c, &mut Vec::new()).unwrap()
}

pub(crate) fn plan(d: &SimDriver, transport: Transport, sessions: SessionPolicy) -> Plan {
    let mut p = Plan::new(0, 1, "/", transport, sessions);
    p.latency_ms = d.link_latency(0, 1);
    p
}

fn populate(d: &mut SimDriver) {
    cmd(d, "c1", "create /app a");
    cmd(d, "c1", "create /app/locks x");
    for i in 0..5 {
        cmd(d, "c1", "create -s /app/locks/n- x");
        let _ = i;
    }
    cmd(d, "c1", "delete /app/locks/n-0000000000");
    cmd(d, "c1", "create -e /app/member c1");
    cmd(d, "c1", "create -c /app/jobs x");
    cmd(d, "c1", "set /app b");
    run_for(d, 1_000);
}

fn migrate(transport: Transport, sessions: SessionPolicy, broken: Broken) -> SimDriver {
    let mut d = driver(7);
    populate(&mut d);
    let mut p = plan(&d, transport, sessions);
    p.broken = broken;
    d.start_migration(p).unwrap();
    d.migration_run(Some(Phase::CatchUp), 20_000).unwrap();
    // Writes during the tail.
    for i in 0..10 {
        cmd(&mut d, "c2", &format!("create /app/t{i} {i}"));
        run_for(&mut d, 15);
    }
    let _ = d.migration_run(None, 30_000);
    d
}

#[test]
fn snapshot_plus_log_migrates_exactly_and_commits() {
    let mut d = migrate(Transport::SnapshotAndLog, SessionPolicy::Import, Broken::default());
    let m = d.migration().unwrap();
    assert_eq!(m.violation(), None);
    assert_eq!(m.phase(), Phase::Committed, "{:?}", m.migration().journal());
    assert_eq!(d.violation(), None);
    // The final sync's evidence: an exact copy of `/` has ZooKeeper's own digest.
    let fs = m.migration().journal().iter().find(|j| j.from == Phase::FinalSync).unwrap();
    assert!(fs.evidence.contains("(equal)"), "{}", fs.evidence);
    // Clients moved: c1 keeps its session and its ephemeral on the target.
    run_for(&mut d, 2_000);
    assert!(d.connected("c1") && d.connected("c2"));
    let b1 = crate::scenario::ServerName { cluster: "b".into(), id: 1 };
    assert_eq!(d.read(&b1, "/app/member").unwrap().as_deref(), Some("c1".as_bytes()));
    assert_eq!(d.read(&b1, "/app/t9").unwrap().as_deref(), Some("9".as_bytes()));
    // The next sequential name continues the source's counter.
    let h = cmd(&mut d, "c1", "create -s /app/locks/n- x");
    run_for(&mut d, 1_000);
    assert_eq!(d.op(h), crate::scenario::run::OpStatus::Ok("/app/locks/n-0000000005".into()));
}

#[test]
fn client_api_migrates_logically_and_commits() {
    let mut d =
        migrate(Transport::ClientApi { target_is_zoolab: true }, SessionPolicy::Expire, Broken::default());
    let m = d.migration().unwrap();
    assert_eq!(m.violation(), None);
    assert_eq!(m.phase(), Phase::Committed, "{:?}", m.migration().journal());
    run_for(&mut d, 2_000);
    assert!(d.connected("c1"));
    let b1 = crate::scenario::ServerName { cluster: "b".into(), id: 1 };
    assert_eq!(d.read(&b1, "/app/member").unwrap(), None, "ephemerals are not copied with sessions expire");
    assert_eq!(d.read(&b1, "/app/t9").unwrap().as_deref(), Some("9".as_bytes()));
}

/// Runs to `upto`, issues writes just as the source freezes, then runs to the end.
fn migrate_racing_the_freeze(broken: Broken, sessions: SessionPolicy) -> SimDriver {
    let mut d = driver(11);
    populate(&mut d);
    let mut p = plan(&d, Transport::SnapshotAndLog, sessions);
    p.broken = broken;
    d.start_migration(p).unwrap();
    let _ = d.migration_run(Some(Phase::Verify), 20_000);
    // The moment verification passes, c3 (on the source's leader) writes, and the
    // controller freezes at once: the writes commit just before the fence, so only
    // the final sync brings them over.
    assert_eq!(d.leader("a").map(|l| l.id), Some(3));
    for _ in 0..1_000 {
        if d.migration_evidence().is_some_and(|e| e.holds) {
            break;
        }
        run_for(&mut d, 5);
    }
    for i in 0..5 {
        cmd(&mut d, "c3", &format!("create /app/late{i} {i}"));
    }
    let _ = d.migration_step();
    let _ = d.migration_run(None, 30_000);
    d
}

fn violation(d: &SimDriver) -> String {
    d.migration().and_then(|m| m.violation()).unwrap_or("").to_string()
}

#[test]
fn the_same_race_without_a_broken_switch_keeps_every_rule() {
    let d = migrate_racing_the_freeze(Broken::default(), SessionPolicy::Import);
    assert_eq!(violation(&d), "");
    assert_eq!(d.migration().unwrap().phase(), Phase::Committed);
    let b1 = crate::scenario::ServerName { cluster: "b".into(), id: 1 };
    assert_eq!(d.read(&b1, "/app/late4").unwrap().as_deref(), Some("4".as_bytes()));
}

#[test]
fn skipping_the_final_sync_loses_acknowledged_writes() {
    let d = migrate_racing_the_freeze(
        Broken { skip_final_sync: true, ..Broken::default() },
        SessionPolicy::Import,
    );
    assert!(violation(&d).contains("acknowledged writes lost"), "{}", violation(&d));
}

#[test]
fn cutting_over_before_verify_leaves_two_writers() {
    let d = migrate_racing_the_freeze(
        Broken { cut_over_before_verify: true, ..Broken::default() },
        SessionPolicy::Import,
    );
    let v = violation(&d);
    assert!(v.contains("one writer") || v.contains("acknowledged writes lost"), "{v}");
}

#[test]
fn without_the_zxid_raise_clients_go_back_in_time() {
    let d =
        migrate_racing_the_freeze(Broken { no_zxid_raise: true, ..Broken::default() }, SessionPolicy::Import);
    assert!(violation(&d).contains("clients went back in time"), "{}", violation(&d));
}

#[test]
fn ephemerals_copied_as_persistent_are_fakes() {
    for sessions in [SessionPolicy::Import, SessionPolicy::Expire] {
        let d = migrate_racing_the_freeze(
            Broken { ephemerals_as_persistent: true, ..Broken::default() },
            sessions,
        );
        assert!(violation(&d).contains("fake ephemeral"), "{sessions}: {}", violation(&d));
    }
}

#[test]
fn rollback_from_every_phase_before_commit_gives_the_source_back() {
    use super::phase::FORWARD;
    for &upto in &FORWARD[..FORWARD.len() - 1] {
        let mut d = driver(5);
        populate(&mut d);
        let p = plan(&d, Transport::SnapshotAndLog, SessionPolicy::Import);
        d.start_migration(p).unwrap();
        if upto != Phase::Draft {
            d.migration_run(Some(upto), 30_000).unwrap();
        }
        if upto == Phase::Soak {
            // The target took writes while it served: the reverse mirror brings them back.
            run_for(&mut d, 1_000);
            let h = cmd(&mut d, "c2", "create /app/on-target t");
            run_for(&mut d, 1_000);
            assert!(matches!(d.op(h), crate::scenario::run::OpStatus::Ok(_)), "{:?}", d.op(h));
        }
        d.migration_abort("operator").unwrap();
        let end = d.migration_run(None, 30_000);
        assert_eq!(end, Ok(Phase::RolledBack), "from {upto}");
        assert_eq!(violation(&d), "", "from {upto}");
        run_for(&mut d, 2_000);
        let h = cmd(&mut d, "c1", "set /app back");
        run_for(&mut d, 1_000);
        assert!(matches!(d.op(h), crate::scenario::run::OpStatus::Ok(_)), "from {upto}: {:?}", d.op(h));
        let a1 = crate::scenario::ServerName { cluster: "a".into(), id: 1 };
        assert_eq!(d.read(&a1, "/app").unwrap().as_deref(), Some("back".as_bytes()), "from {upto}");
        if upto == Phase::Soak {
            assert_eq!(d.read(&a1, "/app/on-target").unwrap().as_deref(), Some("t".as_bytes()));
        }
        assert_eq!(d.violation(), None, "from {upto}");
    }
}

/// Data that breaks today's copy tools, loaded into the source through its ZAB.
fn hard_data(d: &mut SimDriver) {
    use crate::ids::Zxid;
    use crate::tree::{Acl, Import, ImportedNode, NodeKind, Perms, StatPersisted};
    let open = Acl::open_unsafe();
    let mut nodes = Vec::new();
    let mut add = |path: String, data: Vec<u8>, acl: Vec<Acl>, stat: StatPersisted| {
        nodes.push(ImportedNode { path, data: data.into(), acl, stat });
    };
    let st = |owner: i64| StatPersisted::created(Zxid(3), 1_000, owner);
    // Near jute.maxbuffer (1 MiB).
    add("/big".into(), vec![b'x'; 1_000_000], open.clone(), st(0));
    // Deep and wide.
    let mut p = String::from("/deep");
    add(p.clone(), vec![], open.clone(), st(0));
    for i in 0..40 {
        p = format!("{p}/d{i}");
        add(p.clone(), vec![], open.clone(), st(0));
    }
    add("/wide".into(), vec![], open.clone(), st(0));
    for i in 0..2_000 {
        add(format!("/wide/w{i:04}"), format!("{i}").into_bytes(), open.clone(), st(0));
    }
    // A container with a child, a TTL node.
    add("/jobs".into(), vec![], open.clone(), st(NodeKind::Container.owner()));
    add("/jobs/j1".into(), vec![], open.clone(), st(0));
    add("/ttl".into(), b"t".to_vec(), open.clone(), st(NodeKind::Ttl(3_600_000).owner()));
    // ACL'd subtrees: digest and ip.
    let digest = vec![Acl::new(Perms(31), "digest", "admin:0uek/hZ/V9fgiM35b0Z2226acMQ=")];
    add("/secret".into(), b"s".to_vec(), digest.clone(), st(0));
    add("/secret/inner".into(), b"i".to_vec(), digest, st(0));
    add("/lan".into(), b"l".to_vec(), vec![Acl::new(Perms(31), "ip", "10.0.0.0/8")], st(0));
    // A sequential counter far ahead of its children's names (deleted children).
    let mut seq = st(0);
    seq.cversion = 1_000;
    add("/seq".into(), vec![], open.clone(), seq);
    add("/seq/n-0000000999".into(), vec![], open, st(0));
    for chunk in nodes.chunks(500) {
        d.import_into(0, Import { nodes: chunk.to_vec(), ..Import::default() }).unwrap();
    }
    run_for(d, 1_000);
}

#[test]
fn hard_data_comes_across_exactly_by_snapshot_and_as_reported_by_the_client_api() {
    use super::fidelity;
    use super::verify::{diff, Fidelity};
    for transport in [Transport::SnapshotAndLog, Transport::ClientApi { target_is_zoolab: true }] {
        let mut d = driver(21);
        hard_data(&mut d);
        let sessions = if transport == Transport::SnapshotAndLog {
            SessionPolicy::Import
        } else {
            SessionPolicy::Expire
        };
        // The fidelity report is made before the migration, on the source as it is.
        let before = {
            let w = d.world();
            let src = w.server(0, w.leader(0).unwrap()).unwrap().state().tree();
            fidelity::report(src, "/", Transport::ClientApi { target_is_zoolab: false }).to_string()
        };
        let mut p = plan(&d, transport, sessions);
        p.batch = 300;
        d.start_migration(p).unwrap();
        assert_eq!(d.migration_run(None, 60_000), Ok(Phase::Committed), "{transport:?}");
        assert_eq!(violation(&d), "");
        let w = d.world();
        let src = w.server(0, w.leader(0).unwrap()).unwrap().state().tree();
        let dst = w.server(1, w.leader(1).unwrap()).unwrap().state().tree();
        assert_eq!(dst.node("/big").map(|n| n.data.len()), Some(1_000_000));
        assert!(dst.node("/deep/d0/d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12/d13/d14/d15/d16/d17/d18/d19/d20/d21/d22/d23/d24/d25/d26/d27/d28/d29/d30/d31/d32/d33/d34/d35/d36/d37/d38/d39").is_some());
        assert_eq!(
            dst.node("/secret/inner").map(|n| dst.acl_of(n)),
            src.node("/secret/inner").map(|n| src.acl_of(n))
        );
        match transport {
            Transport::SnapshotAndLog => {
                assert_eq!(diff(src, "/", dst, "/", Fidelity::Exact, 5), vec![]);
                assert!(dst.containers().contains("/jobs") && dst.ttls().contains("/ttl"));
            }
            _ => {
                assert_eq!(diff(src, "/", dst, "/", Fidelity::Logical, 5), vec![]);
                // The client API cannot see node types: named in the report, and so it is.
                let text = &before;
                assert!(text.contains("containers") && text.contains("/jobs"), "{text}");
                assert!(text.contains("TTL") && text.contains("/ttl"), "{text}");
                assert!(!dst.containers().contains("/jobs") && !dst.ttls().contains("/ttl"));
            }
        }
        // The counter far ahead of the children's names survives either way.
        let h = cmd(&mut d, "c1", "create -s /seq/n- x");
        run_for(&mut d, 1_000);
        assert_eq!(d.op(h), crate::scenario::run::OpStatus::Ok("/seq/n-0000001000".into()), "{transport:?}");
    }
}

#[test]
fn observer_join_migrates_byte_identically_and_commits() {
    let mut d = migrate(Transport::ObserverJoin, SessionPolicy::Import, Broken::default());
    let m = d.migration().unwrap();
    assert_eq!(m.violation(), None);
    assert_eq!(m.phase(), Phase::Committed, "{:?}", m.migration().journal());
    assert_eq!(d.violation(), None);
    let j = m.migration().journal();
    // The evidence shows the observers' applied zxids against the source's, and the
    // final sync compares ZooKeeper's digest.
    let seed = j.iter().find(|e| e.from == Phase::Seed).unwrap();
    assert!(seed.evidence.contains("s4 OBSERVING applied"), "{}", seed.evidence);
    let fs = j.iter().find(|e| e.from == Phase::FinalSync).unwrap();
    assert!(fs.evidence.contains("digest") && fs.evidence.contains("equal"), "{}", fs.evidence);
    // The target's servers are home, in an epoch above the source's, and not in the
    // source's configuration any more (a reconfig removed them).
    let w = d.world();
    let src_cfg = w.server(0, w.leader(0).unwrap()).unwrap().config().clone();
    assert!(src_cfg.servers.keys().all(|id| id.0 <= 3), "{src_cfg:?}");
    let src_epoch = w.servers_in(0).iter().map(|v| v.epoch).max().unwrap();
    let dst_epoch = w.servers_in(1).iter().map(|v| v.epoch).max().unwrap();
    assert!(dst_epoch > src_epoch, "{dst_epoch:?} > {src_epoch:?}");
    let dst = w.server(1, w.leader(1).unwrap()).unwrap();
    assert!(dst.config().servers.keys().all(|id| id.0 <= 3), "{:?}", dst.config());
    assert_eq!(dst.config().servers.len(), 3);
    // The container kept its type (the client API would have lost it); the ephemeral
    // and its session came across.
    assert!(dst.state().tree().containers().contains("/app/jobs"));
    run_for(&mut d, 2_000);
    assert!(d.connected("c1") && d.connected("c2"));
    let b1 = crate::scenario::ServerName { cluster: "b".into(), id: 1 };
    assert_eq!(d.read(&b1, "/app/member").unwrap().as_deref(), Some("c1".as_bytes()));
    assert_eq!(d.read(&b1, "/app/t9").unwrap().as_deref(), Some("9".as_bytes()));
    let h = cmd(&mut d, "c1", "create -s /app/locks/n- x");
    run_for(&mut d, 1_000);
    assert_eq!(d.op(h), crate::scenario::run::OpStatus::Ok("/app/locks/n-0000000005".into()));
}

#[test]
fn observer_join_refuses_a_subtree_and_expired_sessions_at_draft() {
    for (subtree, sessions) in [("/app", SessionPolicy::Import), ("/", SessionPolicy::Expire)] {
        let mut d = driver(3);
        let mut p = plan(&d, Transport::ObserverJoin, sessions);
        p.subtree = subtree.into();
        d.start_migration(p).unwrap();
        let e = d.migration_step().unwrap_err();
        assert!(e.contains("observer join"), "{e}");
        assert_eq!(d.migration().unwrap().phase(), Phase::Draft);
    }
}

#[test]
fn observer_join_rollback_from_every_phase_before_commit_gives_both_clusters_back() {
    use super::phase::FORWARD;
    for &upto in &FORWARD[..FORWARD.len() - 1] {
        let mut d = driver(5);
        populate(&mut d);
        let p = plan(&d, Transport::ObserverJoin, SessionPolicy::Import);
        d.start_migration(p).unwrap();
        if upto != Phase::Draft {
            d.migration_run(Some(upto), 30_000).unwrap();
        }
        d.migration_abort("operator").unwrap();
        let end = d.migration_run(None, 30_000);
        assert_eq!(end, Ok(Phase::RolledBack), "from {upto}");
        assert_eq!(violation(&d), "", "from {upto}");
        run_for(&mut d, 2_000);
        let h = cmd(&mut d, "c1", "set /app back");
        run_for(&mut d, 1_000);
        assert!(matches!(d.op(h), crate::scenario::run::OpStatus::Ok(_)), "from {upto}: {:?}", d.op(h));
        let a1 = crate::scenario::ServerName { cluster: "a".into(), id: 1 };
        assert_eq!(d.read(&a1, "/app").unwrap().as_deref(), Some("back".as_bytes()), "from {upto}");
        // The observers are out of the source's configuration again, and the target
        // has a leader of its own.
        let w = d.world();
        let cfg = w.server(0, w.leader(0).unwrap()).unwrap().config().clone();
        assert!(cfg.servers.keys().all(|id| id.0 <= 3), "from {upto}: {cfg:?}");
        assert!(w.leader(1).is_some(), "from {upto}: the target has no leader");
        assert_eq!(d.violation(), None, "from {upto}");
    }
}

#[test]
fn a_subtree_moves_under_another_path_and_verifies_chroot_aware() {
    use super::sim::Conflict;
    for transport in [Transport::SnapshotAndLog, Transport::ClientApi { target_is_zoolab: true }] {
        let mut d = driver(13);
        populate(&mut d);
        let sessions = if transport == Transport::SnapshotAndLog {
            SessionPolicy::Import
        } else {
            SessionPolicy::Expire
        };
        let mut p = plan(&d, transport, sessions);
        p.subtree = "/app".into();
        p.target_subtree = "/moved".into();
        // `/moved`'s parent is `/`: present. Overwrite changes nothing on an empty target.
        p.conflict = Conflict::Overwrite;
        d.start_migration(p).unwrap();
        d.migration_run(Some(Phase::CatchUp), 20_000).unwrap();
        cmd(&mut d, "c2", "create /app/tail t");
        assert_eq!(d.migration_run(None, 30_000), Ok(Phase::Committed), "{transport:?}");
        assert_eq!(violation(&d), "", "{transport:?}");
        let b1 = crate::scenario::ServerName { cluster: "b".into(), id: 1 };
        assert_eq!(d.read(&b1, "/moved").unwrap().as_deref(), Some("b".as_bytes()), "{transport:?}");
        assert_eq!(d.read(&b1, "/moved/tail").unwrap().as_deref(), Some("t".as_bytes()), "{transport:?}");
        assert_eq!(d.read(&b1, "/app").unwrap(), None, "{transport:?}: nothing lands at the old path");
        // The counter moved with its parent.
        let w = d.world();
        let dst = w.server(1, w.leader(1).unwrap()).unwrap().state().tree();
        let src = w.server(0, w.leader(0).unwrap()).unwrap().state().tree();
        assert!(super::verify::sequence_counters_behind(src, "/app", dst, "/moved").is_empty());
        assert_eq!(
            super::verify::summarize(src, "/app", super::verify::Fidelity::Logical).hash,
            super::verify::summarize(dst, "/moved", super::verify::Fidelity::Logical).hash,
            "{transport:?}"
        );
    }
}

#[test]
fn conflicts_on_the_target_fail_preflight_with_their_paths_unless_overwritten() {
    use super::sim::Conflict;
    for conflict in [Conflict::Fail, Conflict::Overwrite] {
        let mut d = driver(17);
        populate(&mut d);
        // b already has an /app of its own.
        let imp = crate::tree::Import {
            nodes: ["/app", "/app/old", "/app/locks"]
                .iter()
                .map(|p| crate::tree::ImportedNode {
                    path: p.to_string(),
                    data: b"b's".into(),
                    acl: crate::tree::Acl::open_unsafe(),
                    stat: crate::tree::StatPersisted::created(crate::ids::Zxid(1), 0, 0),
                })
                .collect(),
            ..crate::tree::Import::default()
        };
        d.import_into(1, imp).unwrap();
        run_for(&mut d, 500);
        let mut p = plan(&d, Transport::SnapshotAndLog, SessionPolicy::Import);
        p.subtree = "/app".into();
        p.target_subtree = "/app".into();
        p.conflict = conflict;
        d.start_migration(p).unwrap();
        match conflict {
            Conflict::Fail => {
                let r = d.migration_run(Some(Phase::Seed), 5_000);
                let e = r.unwrap_err();
                assert!(e.contains("still in preflight") && e.contains("3 conflicting"), "{e}");
                assert!(e.contains("/app/old") && e.contains("on conflict fail: refused"), "{e}");
                // Nothing of b's was touched; the operator aborts.
                d.migration_abort("conflicts").unwrap();
                assert_eq!(d.migration_run(None, 5_000), Ok(Phase::RolledBack));
                let b1 = crate::scenario::ServerName { cluster: "b".into(), id: 1 };
                assert_eq!(d.read(&b1, "/app/old").unwrap().as_deref(), Some("b's".as_bytes()));
            }
            Conflict::Overwrite => {
                assert_eq!(d.migration_run(None, 30_000), Ok(Phase::Committed));
                assert_eq!(violation(&d), "");
                let b1 = crate::scenario::ServerName { cluster: "b".into(), id: 1 };
                assert_eq!(d.read(&b1, "/app/old").unwrap(), None, "replaced: b's own node is gone");
                assert_eq!(d.read(&b1, "/app").unwrap().as_deref(), Some("b".as_bytes()));
            }
        }
    }
}

#[test]
fn rollback_after_the_soak_of_a_chrooted_migration_brings_the_target_writes_back() {
    let mut d = driver(19);
    populate(&mut d);
    let mut p = plan(&d, Transport::SnapshotAndLog, SessionPolicy::Import);
    p.subtree = "/app".into();
    p.target_subtree = "/moved".into();
    d.start_migration(p).unwrap();
    d.migration_run(Some(Phase::Soak), 30_000).unwrap();
    run_for(&mut d, 1_000);
    // The clients' application still writes its own paths; on b they live under /moved.
    let h = cmd(&mut d, "c2", "create /moved/on-target t");
    run_for(&mut d, 1_000);
    assert!(matches!(d.op(h), crate::scenario::run::OpStatus::Ok(_)), "{:?}", d.op(h));
    d.migration_abort("operator").unwrap();
    assert_eq!(d.migration_run(None, 30_000), Ok(Phase::RolledBack));
    assert_eq!(violation(&d), "");
    let a1 = crate::scenario::ServerName { cluster: "a".into(), id: 1 };
    assert_eq!(d.read(&a1, "/app/on-target").unwrap().as_deref(), Some("t".as_bytes()));
}

#[test]
fn observer_join_survives_an_observer_and_the_source_leader_crashing_mid_copy() {
    use crate::scenario::run::Fault;
    use crate::scenario::ServerName;
    let mut d = driver(23);
    populate(&mut d);
    let p = plan(&d, Transport::ObserverJoin, SessionPolicy::Import);
    d.start_migration(p).unwrap();
    d.migration_run(Some(Phase::CatchUp), 20_000).unwrap();
    // b's first server, observing a as a4, crashes; so does a's leader.
    let a4 = ServerName { cluster: "a".into(), id: 4 };
    d.act(&Fault::Kill(a4.clone()), &mut Vec::new()).unwrap();
    let leader = d.leader("a").unwrap();
    d.act(&Fault::Kill(leader.clone()), &mut Vec::new()).unwrap();
    for i in 0..5 {
        cmd(&mut d, "c2", &format!("create /app/t{i} {i}"));
        run_for(&mut d, 200);
    }
    d.act(&Fault::Restart(leader), &mut Vec::new()).unwrap();
    d.act(&Fault::Restart(a4), &mut Vec::new()).unwrap();
    assert_eq!(d.migration_run(None, 60_000), Ok(Phase::Committed));
    assert_eq!(violation(&d), "");
    assert_eq!(d.violation(), None);
    let b1 = crate::scenario::ServerName { cluster: "b".into(), id: 1 };
    run_for(&mut d, 1_000);
    assert_eq!(d.read(&b1, "/app/t4").unwrap().as_deref(), Some("4".as_bytes()));
}
