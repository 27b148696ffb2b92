//! Live mode's server side: the members read from real four-letter-word answers (zoolab's
//! and Apache ZooKeeper 3.8's), and the console, the trees and the JSON against a zoolab
//! standalone server started in this process.

use super::*;
use crate::zkclient::ConnectOptions;
use std::io::{Read, Write};
use std::path::PathBuf;

/// `srvr` and the start of `mntr` of a real Apache ZooKeeper 3.8.0 standalone server.
const ZK_SRVR: &str = "Zookeeper version: 3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC\n\
Latency min/avg/max: 0/0.0/0\nReceived: 2\nSent: 2\nConnections: 1\nOutstanding: 0\nZxid: 0x300000004\n\
Mode: follower\nNode count: 5\n";
const ZK_MNTR: &str = "zk_version\t3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC\n\
zk_server_state\tfollower\nzk_ephemerals_count\t2\nzk_num_alive_connections\t1\nzk_avg_latency\t0.0\n\
zk_outstanding_requests\t0\nzk_znode_count\t5\nzk_watch_count\t3\nzk_min_latency\t0\nzk_max_latency\t0\n";
const ZK_CONF: &str = "clientPort=2181\nserverId=2\ninitLimit=10\nserver.1=127.0.0.1:2888:3888:participant\n\
server.2=127.0.0.1:2889:3889:participant\nversion=0\n";

fn ok(s: &str) -> Option<std::result::Result<String, String>> {
    Some(Ok(s.to_string()))
}

#[test]
fn apache_zookeepers_answers_become_a_member() {
    let m = member_from(
        "h:1",
        0,
        &Answers { srvr: ok(ZK_SRVR), mntr: ok(ZK_MNTR), conf: ok(ZK_CONF), hash: ok("") },
    );
    assert_eq!(
        (m.id, m.state.as_str(), m.epoch),
        (2, "follower", Some(3)),
        "id from conf, epoch from the zxid"
    );
    assert_eq!(m.zxid.as_deref(), Some("0x300000004"));
    assert_eq!(
        (m.znodes, m.connections, m.outstanding, m.watches, m.ephemerals),
        (Some(5), Some(1), Some(0), Some(3), Some(2))
    );
    assert_eq!(m.latency.as_deref(), Some("0/0.0/0"));
    assert_eq!((&m.committed, &m.digest), (&None, &None), "Apache ZooKeeper reports neither");
    assert_eq!(m.config_version.as_deref(), Some("0"));
    assert_eq!(m.version.as_deref(), Some("3.8.0-${mvngit.commit.id}"));
    assert!(m.serving() && m.error.is_none());
}

#[test]
fn zoolabs_mntr_adds_epoch_committed_and_digest() {
    let mntr =
        "zk_version\t3.8.0-zoolab-0.1\nzk_server_state\tleader\nzk_server_id\t3\nzk_last_zxid\t0x200000005\n\
                zk_current_epoch\t2\nzk_committed_zxid\t0x200000004\nzk_znode_count\t7\nzk_digest\t12345\n\
                zk_min_latency\t0.100\nzk_avg_latency\t0.2000\nzk_max_latency\t1.000\n";
    let m =
        member_from("h:1", 0, &Answers { mntr: ok(mntr), srvr: Some(Err("x".into())), ..Answers::default() });
    assert_eq!((m.id, m.state.as_str(), m.epoch, m.znodes), (3, "leader", Some(2), Some(7)));
    assert_eq!((m.committed.as_deref(), m.digest.as_deref()), (Some("0x200000004"), Some("12345")));
    assert_eq!(m.latency.as_deref(), Some("0.100/0.2000/1.000"));
}

#[test]
fn down_looking_and_refusing_members() {
    let refused = Some(Err("`srvr` to h:1: Connection refused (os error 111)".to_string()));
    let m = member_from(
        "h:1",
        1,
        &Answers { srvr: refused.clone(), mntr: refused.clone(), conf: refused, hash: None },
    );
    assert_eq!((m.id, m.state.as_str()), (2, "down"));
    assert!(m.error.as_deref().unwrap().contains("refused"));
    let busy = "This ZooKeeper instance is not currently serving requests\n";
    let m = member_from("h:1", 0, &Answers { srvr: ok(busy), mntr: ok(busy), conf: ok(busy), hash: None });
    assert_eq!(m.state, "looking");
    assert!(!m.serving());
    let no = "mntr is not executed because it is not in the whitelist.\n";
    let m = member_from("h:1", 0, &Answers { srvr: ok(no), mntr: ok(no), conf: ok(no), hash: None });
    assert_eq!(m.state, "unknown");
    assert!(m.error.as_deref().unwrap().contains("whitelist"));
    // srvr allowed, mntr and conf not (ZooKeeper's default whitelist): srvr is enough.
    let m = member_from("h:1", 0, &Answers { srvr: ok(ZK_SRVR), mntr: ok(no), conf: ok(no), hash: None });
    assert_eq!((m.state.as_str(), m.epoch), ("follower", Some(3)));
}

fn serving(index: usize, state: &str, zxid: &str, digest: Option<&str>) -> Member {
    Member {
        index,
        id: index as u64 + 1,
        state: state.into(),
        zxid: Some(zxid.into()),
        digest: digest.map(String::from),
        ..Member::default()
    }
}

#[test]
fn agreement_shows_lag_and_divergence() {
    let mut ms = vec![
        serving(0, "leader", "0x200000009", Some("7")),
        serving(1, "follower", "0x200000006", Some("5")),
        serving(2, "follower", "0x100000010", None),
        Member { index: 3, id: 4, state: "down".into(), ..Member::default() },
    ];
    let (text, diverged) = agreement(&mut ms);
    assert!(!diverged);
    assert_eq!((ms[0].lag, ms[1].lag, ms[2].lag, ms[3].lag), (Some(0), Some(3), None, None));
    assert_eq!(text, "newest zxid 0x200000009; s2 3 behind, s3 in an older epoch");
    let mut ms = vec![
        serving(0, "leader", "0x200000009", Some("7")),
        serving(1, "follower", "0x200000009", Some("8")),
    ];
    let (text, diverged) = agreement(&mut ms);
    assert!(diverged && text.contains("DIVERGED"), "{text}");
    let mut ms = vec![
        serving(0, "leader", "0x200000009", Some("7")),
        serving(1, "follower", "0x200000009", Some("7")),
    ];
    assert_eq!(agreement(&mut ms), ("2 serving members at zxid 0x200000009; digests equal".into(), false));
    // A new leader's epoch before its first transaction: the others are not "behind".
    let mut ms = vec![serving(0, "leader", "0x300000000", None), serving(1, "follower", "0x200000009", None)];
    assert_eq!(agreement(&mut ms).0, "2 serving members at zxid 0x300000000; epoch 3 has no transaction yet");
    // Apache ZooKeeper: the `hash` histories.
    let mut a = serving(0, "leader", "0x200000100", None);
    a.hash = vec![(0x200000080, 1), (0x200000100, 2)];
    let mut b = serving(1, "follower", "0x200000100", None);
    b.hash = vec![(0x200000080, 1), (0x200000100, 3)];
    let (text, diverged) = agreement(&mut [a, b]);
    assert!(diverged && text.contains("0x200000100"), "{text}");
}

#[test]
fn role_changes_are_logged() {
    let before = vec![serving(0, "leader", "0x1", None), serving(1, "follower", "0x1", None)];
    let mut now = before.clone();
    now[0].state = "down".into();
    now[0].error = Some("refused".into());
    now[1].state = "leader".into();
    now[1].epoch = Some(2);
    assert_eq!(changes(&before, &now), ["s1 leader → down: refused", "s2 follower → leader (epoch 2)"]);
    assert_eq!(changes(&[], &before), ["s1 leader", "s2 follower"]);
    assert!(changes(&now, &now).is_empty());
}

#[test]
fn attach_lists_are_checked() {
    assert_eq!(
        parse_members("127.0.0.1:2181, localhost:2182").unwrap(),
        ["127.0.0.1:2181", "localhost:2182"]
    );
    for bad in ["", "127.0.0.1", ":2181", "h:99999", "h:x"] {
        assert!(parse_members(bad).is_err(), "{bad:?} accepted");
    }
}

/// A zoolab standalone server in this process (its own thread and runtime), in memory.
fn standalone(extra: &str) -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir: PathBuf = std::env::temp_dir().join(format!("zoolab-attach-test-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("zoo.cfg");
    std::fs::write(
        &cfg,
        format!(
            "tickTime=200\nclientPort={port}\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\n{extra}"
        ),
    )
    .unwrap();
    std::thread::spawn(move || crate::zk::run(&cfg, None));
    let addr = format!("127.0.0.1:{port}");
    for _ in 0..500 {
        if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
            let _ = s.write_all(b"ruok");
            let mut out = String::new();
            if s.read_to_string(&mut out).is_ok() && out == "imok" {
                return addr;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the standalone server did not start");
}

/// The console's lines after `after`, as `(kind, text, ok, output)`.
fn lines(a: &Attach, after: u64) -> Vec<(String, String, bool, String)> {
    a.live(after).lines.into_iter().map(|l| (l.kind.to_string(), l.text, l.ok, l.output)).collect()
}

async fn run(a: &Attach, line: &str) -> (bool, String) {
    let r = a.exec(line).await;
    (r.ok, r.output)
}

async fn ok_line(a: &Attach, line: &str) -> String {
    let (ok, out) = run(a, line).await;
    assert!(ok, "`{line}` failed: {out}");
    out
}

async fn err_line(a: &Attach, line: &str) -> String {
    let (ok, out) = run(a, line).await;
    assert!(!ok, "`{line}` succeeded: {out}");
    out
}

/// Waits until the log has a line containing `text` after `after`.
async fn wait_line(a: &Attach, after: u64, text: &str) {
    for _ in 0..100 {
        if lines(a, after).iter().any(|l| l.1.contains(text) || l.3.contains(text)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    panic!("no line with {text:?}: {:#?}", lines(a, after));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_runs_zkclis_commands() {
    let addr = standalone("");
    let a = Attach::new(vec![addr.clone()]);
    a.poll_once().await;
    assert_eq!(ok_line(&a, "create /app hello").await, "Created /app");
    assert_eq!(ok_line(&a, "create -s /app/q- x").await, "Created /app/q-0000000000");
    assert_eq!(ok_line(&a, "create -e /app/e").await, "Created /app/e");
    assert_eq!(ok_line(&a, "create -c /box").await, "Created /box");
    assert_eq!(ok_line(&a, "get /app").await, "hello");
    // Created without data (null, as zkCli sends it): ZooKeeper answers null data and
    // A create without data makes null data, which zkCli prints as "null".
    assert_eq!(ok_line(&a, "get /app/e").await, "null");
    assert!(ok_line(&a, "get -s /app").await.starts_with("hello\ncZxid = 0x"));
    assert!(ok_line(&a, "set -s /app v2").await.contains("dataVersion = 1"));
    assert_eq!(err_line(&a, "set -v 0 /app v3").await, "version No is not valid : /app");
    assert_eq!(ok_line(&a, "ls /app").await, "[e, q-0000000000]");
    assert!(ok_line(&a, "ls -s /").await.starts_with("[app, box, zookeeper]\ncZxid"));
    assert_eq!(ok_line(&a, "ls -R /app").await, "/app\n/app/e\n/app/q-0000000000");
    assert!(ok_line(&a, "stat /app").await.contains("numChildren = 2"));
    assert_eq!(err_line(&a, "stat /nope").await, "Node does not exist: /nope");
    assert_eq!(err_line(&a, "create /app again").await, "Node already exists: /app");
    assert_eq!(err_line(&a, "delete /app").await, "Node not empty: /app");
    assert_eq!(err_line(&a, "create /app/e/child x").await, "Ephemerals cannot have children: /app/e/child");
    assert_eq!(ok_line(&a, "sync /app").await, "Sync is OK");
    assert_eq!(ok_line(&a, "getAllChildrenNumber /app").await, "2");
    assert_eq!(ok_line(&a, "getEphemerals").await, "[/app/e]");
    assert_eq!(ok_line(&a, "getAcl /app").await, "'world,'anyone\n: cdrwa");
    // ACLs and auth: a digest ACL locks out until addauth.
    ok_line(&a, "create /locked x").await;
    assert_eq!(ok_line(&a, "setAcl /locked world:anyone:r").await, "");
    assert_eq!(err_line(&a, "set /locked y").await, "Insufficient permission : /locked");
    assert_eq!(ok_line(&a, "addauth digest bob:secret").await, "");
    assert!(ok_line(&a, "whoami").await.contains("digest: bob"));
    assert!(ok_line(&a, "setAcl -s /app auth::cdrwa").await.contains("aclVersion = 1"));
    assert!(ok_line(&a, "getAcl /app").await.starts_with("'digest,'bob:"));
    // multi: one transaction; a failing op rolls back the others.
    assert_eq!(
        ok_line(&a, "multi create /m1 a ; set /app v4 ; check -v 2 /app ; delete /m1").await,
        "create /m1 a → Created /m1\nset /app v4 → ok (version 2)\ncheck -v 2 /app → ok\ndelete /m1 → ok"
    );
    let out = err_line(&a, "multi create /m2 a ; check -v 9 /app").await;
    assert!(
        out.contains("create /m2 a → rolled back")
            && out.contains("check -v 9 /app → version No is not valid : /app"),
        "{out}"
    );
    assert_eq!(err_line(&a, "get /m2").await, "Node does not exist: /m2");
    // deleteall, and a container's end.
    ok_line(&a, "create /tree").await;
    for p in ["/tree/a", "/tree/a/b", "/tree/c"] {
        ok_line(&a, &format!("create {p}")).await;
    }
    assert_eq!(ok_line(&a, "deleteall /tree -b 2").await, "");
    assert_eq!(err_line(&a, "ls /tree").await, "Node does not exist: /tree");
    // What a live server refuses, with why.
    let ttl = err_line(&a, "create -t 1000 /t x").await;
    assert!(ttl.contains("Unimplemented") && ttl.contains("extendedTypesEnabled"), "{ttl}");
    let r = err_line(&a, "reconfig -remove 3").await;
    assert!(r.contains("KeeperErrorCode"), "{r}");
    assert!(err_line(&a, "removewatches /app -p").await.contains("3.9"));
    assert!(err_line(&a, "reconfig -file /x").await.contains("-members"));
    assert!(err_line(&a, "frobnicate /x").await.contains("unknown command"));
    ok_line(&a, "config").await;
    // Every command went to the log, in order.
    let log = lines(&a, 0);
    assert!(log.iter().any(|l| l.0 == "state" && l.1.contains("SyncConnected")), "{log:#?}");
    let cmds: Vec<&str> = log.iter().filter(|l| l.0 == "command").map(|l| l.1.as_str()).collect();
    assert_eq!(cmds.first(), Some(&"create /app hello"));
    assert_eq!(cmds.last(), Some(&"config"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_events_reach_the_console_as_they_arrive() {
    let addr = standalone("");
    let a = Attach::new(vec![addr.clone()]);
    a.poll_once().await;
    ok_line(&a, "create /w 1").await;
    ok_line(&a, "get -w /w").await;
    ok_line(&a, "ls -w /w").await;
    assert_eq!(err_line(&a, "stat -w /later").await, "Node does not exist: /later");
    // (A recursive watch on a path that also has a child watch of the same session
    // replaces it on the server, in ZooKeeper as in zoolab: another path here.)
    ok_line(&a, "addWatch /rec").await;
    let start = a.live(0).next;
    // Another client changes the tree: the console's session hears of it.
    let other =
        Client::connect(&addr, &ConnectOptions { timeout_ms: 5000, ..ConnectOptions::default() }, None)
            .await
            .unwrap();
    other
        .call(zoolab_core::jute::proto::OpCode::SetData, |w| {
            w.string("/w").buffer(b"2").i32(-1);
        })
        .await
        .unwrap();
    wait_line(&a, start, "type:NodeDataChanged path:/w").await;
    ok_line(&a, "create /w/c x").await;
    wait_line(&a, start, "type:NodeChildrenChanged path:/w").await;
    ok_line(&a, "create /rec").await;
    ok_line(&a, "create /rec/x").await;
    wait_line(&a, start, "type:NodeCreated path:/rec/x").await;
    ok_line(&a, "create /later x").await;
    wait_line(&a, start, "type:NodeCreated path:/later").await;
    // One-time watches are used up (without a command since); the recursive one stays.
    assert_eq!(a.live(0).snapshot.session.watches, ["recursive /rec"]);
    let s = a.live(0).snapshot.session;
    assert_eq!(s.watches, ["recursive /rec"], "{s:?}");
    assert_eq!(s.state, "CONNECTED");
    // removewatches: none of that kind; the recursive one goes with -a (the default).
    assert_eq!(err_line(&a, "removewatches /rec -d").await, "KeeperErrorCode = NoWatcher for /rec");
    let before = a.live(0).next;
    assert_eq!(ok_line(&a, "removewatches /rec").await, "");
    wait_line(&a, before, "type:PersistentWatchRemoved path:/rec").await;
    let seq = a.live(0).next;
    ok_line(&a, "set /rec 3").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(lines(&a, seq).iter().all(|l| l.0 != "event"), "no watch left: {:?}", lines(&a, seq));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_session_keeps_its_ephemerals_and_its_watches() {
    let addr = standalone("");
    let a = Attach::new(vec![addr.clone()]);
    a.poll_once().await;
    ok_line(&a, "create /r 1").await;
    ok_line(&a, "create -e /eph x").await;
    ok_line(&a, "get -w /r").await;
    let session = a.live(0).snapshot.session.id.unwrap();
    // The connection breaks (as when its member dies); meanwhile /r changes.
    a.console.lock().await.connection().unwrap().sever();
    let other =
        Client::connect(&addr, &ConnectOptions { timeout_ms: 5000, ..ConnectOptions::default() }, None)
            .await
            .unwrap();
    let p = other
        .call(zoolab_core::jute::proto::OpCode::SetData, |w| {
            w.string("/r").buffer(b"2").i32(-1);
        })
        .await
        .unwrap();
    assert_eq!(p.header.err, 0);
    let start = a.live(0).next;
    a.keep_console().await;
    wait_line(&a, start, "state:Disconnected").await;
    wait_line(&a, start, "resumed").await;
    // setWatches2 from the last zxid seen: the change made while away fires.
    wait_line(&a, start, "type:NodeDataChanged path:/r").await;
    assert_eq!(a.live(0).snapshot.session.id.unwrap(), session, "the same session");
    assert_eq!(ok_line(&a, "get /eph").await, "x", "its ephemeral lives on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_json_trees_and_comparisons() {
    let addr = standalone("");
    let port = addr.rsplit_once(':').unwrap().1;
    // The same server twice: two members that must agree.
    let a = Attach::new(vec![addr.clone(), format!("localhost:{port}"), "127.0.0.1:1".into()]);
    a.poll_once().await;
    ok_line(&a, "create /big").await;
    let creates: Vec<String> = (0..520).map(|i| format!("create /big/n{i:03} v{i}")).collect();
    ok_line(&a, &format!("multi {}", creates.join(" ; "))).await;
    a.poll_once().await;
    let v = serde_json::to_value(a.live(0)).unwrap();
    assert_eq!(v["members"][0]["state"], "standalone");
    assert!(v["members"][0]["zxid"].as_str().unwrap().starts_with("0x"));
    assert!(v["members"][0]["connections"].as_u64().unwrap() >= 1);
    assert!(v["members"][0]["latency"].is_string());
    assert_eq!(v["members"][2]["state"], "down");
    assert!(v["members"][2]["down_for_ms"].is_u64());
    assert!(v["history"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h.as_str().unwrap().ends_with("s3 down") || h.as_str().unwrap().contains("s3 down")));
    assert_eq!(v["session"]["state"], "CONNECTED");
    assert!(v["lines"].as_array().unwrap().len() >= 3);
    assert_eq!(v["next"], v["lines"].as_array().unwrap().last().unwrap()["seq"]);
    assert!(v["agreement"].as_str().unwrap().contains("serving members"), "{}", v["agreement"]);
    // A member's tree: bounded, breadth first (the root's children before deeper ones).
    let t = a.tree(0, Some("/")).await;
    assert_eq!(t.error, None);
    assert!(t.truncated && t.nodes.len() == tree::TREE_LIMIT);
    assert_eq!(t.nodes[0].path, "/");
    assert!(t.nodes.iter().any(|z| z.path == "/zookeeper"));
    let t = a.tree(1, Some("/big/n007")).await;
    assert_eq!((t.nodes.len(), t.nodes[0].data.as_deref(), t.truncated), (1, Some("v7"), false));
    // `create /big` had no data: null, which the JSON says as null.
    let t = a.tree(0, Some("/big")).await;
    assert_eq!((t.nodes[0].path.as_str(), t.nodes[0].data.as_deref()), ("/big", None));
    assert!(serde_json::to_value(&t.nodes[0]).unwrap()["data"].is_null());
    assert_eq!(a.tree(0, Some("/missing")).await.error.as_deref(), Some("Node does not exist: /missing"));
    assert!(a.tree(0, Some("bad")).await.error.unwrap().contains("invalid path"));
    assert!(a.tree(9, None).await.error.unwrap().contains("no member 9"));
    assert!(a.tree(2, None).await.error.is_some(), "a down member's tree");
    // Compared: the same server under two names serves the same tree.
    let c = a.compare(0, 1, Some("/big")).await;
    assert_eq!(c.error, None);
    assert!(c.same && c.verdict.contains("serve the same tree"), "{c:?}");
    assert!(c.walks.truncated && c.walks.compared == tree::TREE_LIMIT);
    assert!(a.compare(0, 2, None).await.error.is_some());
    assert!(a.compare(1, 1, None).await.error.is_some());
}

/// A raw HTTP/1.1 request to the play server's routes.
fn http(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.split(' ').nth(1).unwrap().parse().unwrap();
    let body = out.split_once("\r\n\r\n").map(|x| x.1.to_string()).unwrap_or_default();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_routes_answer_json_and_bound_the_request() {
    let zk = standalone("");
    let a = Attach::new(vec![zk]);
    a.poll_once().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, a.router()).await });
    let addr2 = addr.clone();
    let (status, body) =
        tokio::task::spawn_blocking(move || http(&addr2, "POST", "/api/live/exec", "create /h x"))
            .await
            .unwrap();
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!((v["ok"].as_bool(), v["output"].as_str()), (Some(true), Some("Created /h")));
    let seq = v["seq"].as_u64().unwrap();
    let addr2 = addr.clone();
    let (status, body) =
        tokio::task::spawn_blocking(move || http(&addr2, "GET", &format!("/api/live?after={}", seq - 1), ""))
            .await
            .unwrap();
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["lines"][0]["text"], "create /h x");
    assert_eq!(v["members"][0]["state"], "standalone");
    let addr2 = addr.clone();
    let (_, body) =
        tokio::task::spawn_blocking(move || http(&addr2, "GET", "/api/live/tree?member=0&root=/h", ""))
            .await
            .unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["nodes"][0]["path"], "/h");
    assert_eq!(v["nodes"][0]["data"], "x");
    let big = "x".repeat(zkcli::MAX_LINE_BYTES + 4096);
    let (status, _) =
        tokio::task::spawn_blocking(move || http(&addr, "POST", "/api/live/exec", &big)).await.unwrap();
    assert_eq!(status, 413, "a request over the bound is refused");
}
