//! Golden conformance: replays `tests/conformance/cases/*.json` on the core, acting as
//! a fresh standalone ZooKeeper (every createSession/closeSession is a transaction that
//! takes a zxid), and compares every step with what Apache ZooKeeper 3.8 answered
//! (`tests/conformance/golden/*.json`, recorded by `record.py`). The format is in
//! `tests/conformance/README.md`.
//!
//! `ZOOLAB_CONFORMANCE_DIR` may point at another `tests/conformance` directory.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use zoolab_core::ids::SessionId;
use zoolab_core::jute::proto::{OpCode, WireAcl};
use zoolab_core::jute::request::{CreateRequest, MultiOp as WireMultiOp, WireRequest};
use zoolab_core::tree::acl::digest_id;
use zoolab_core::tree::wire::{self, TreeRequest};
use zoolab_core::tree::{
    snapshot, Acl, CreateMode, Data, MultiOp, OpResult, Perms, ReadRequest, ReadResponse, Reply, Standalone,
    Stat, TreeConfig, WriteRequest, ZkError,
};

/// Cases that cannot pass yet, with the reason. Each must fail; one that passes must
/// leave this list.
const KNOWN_GAPS: &[(&str, &str)] = &[];

// The recorder's server (record.py).
const TICK_TIME_MS: i32 = 2000;
const CONTAINER_CHECK_INTERVAL_MS: i64 = 200;
const SUPER: &str = "super:superpw";
/// The replay's clock starts here (times are zeroed in the goldens anyway).
const EPOCH_MS: i64 = 1_700_000_000_000;

struct Session {
    id: SessionId,
    /// The server closed the connection after a failed add_auth: kazoo answers
    /// AUTHFAILED to everything from then on.
    auth_failed: bool,
    events: Vec<Value>,
}

struct Server {
    zk: Standalone,
    now: i64,
    sessions: BTreeMap<String, Session>,
    names: BTreeMap<SessionId, String>,
}

fn err(e: ZkError) -> Value {
    json!({ "error": e.name() })
}

impl Server {
    fn new() -> Server {
        let config = TreeConfig { super_digest: Some(digest_id(SUPER)), ..TreeConfig::default() };
        Server {
            zk: Standalone::new(config),
            now: EPOCH_MS,
            sessions: BTreeMap::new(),
            names: BTreeMap::new(),
        }
    }

    fn stat(&self, s: &Stat) -> Value {
        let owner = if s.ephemeral_owner == 0 {
            json!(0)
        } else if let Some(name) = self.names.get(&SessionId(s.ephemeral_owner)) {
            json!(name)
        } else {
            json!(s.ephemeral_owner.to_string())
        };
        json!({
            "czxid": s.czxid.0, "mzxid": s.mzxid.0, "pzxid": s.pzxid.0, "ctime": 0, "mtime": 0,
            "version": s.version, "cversion": s.cversion, "aversion": s.aversion,
            "ephemeralOwner": owner, "dataLength": s.data_length, "numChildren": s.num_children,
        })
    }

    /// Hands each session the events a write caused; the reply's result.
    fn deliver(&mut self, reply: Reply, req: &WriteRequest) -> Result<OpResult, Value> {
        assert_eq!(reply.applied.digest_mismatch, None, "the leader's precalculated digest for {req:?}");
        for ev in reply.events {
            if let Some(name) = self.names.get(&ev.watcher) {
                let s = self.sessions.get_mut(name).expect("named session");
                s.events.push(json!({ "type": ev.event.name(), "path": ev.path }));
            }
        }
        reply.applied.result.map_err(|f| {
            if matches!(req, WriteRequest::Multi(_)) {
                json!({ "error": f.error.name(), "results": f.multi.iter().map(|m| m.name()).collect::<Vec<_>>() })
            } else {
                err(f.error)
            }
        })
    }

    fn write(&mut self, session: SessionId, req: &WriteRequest) -> Result<OpResult, Value> {
        let reply = self.zk.write(session, req, self.now).map_err(err)?;
        self.deliver(reply, req)
    }

    /// The container manager's checks during `ms` of waiting.
    fn wait(&mut self, ms: i64) {
        let end = self.now + ms;
        while self.now < end {
            self.now = (self.now + CONTAINER_CHECK_INTERVAL_MS).min(end);
            for reply in self.zk.check_containers(self.now, 0) {
                let _ = self.deliver(reply, &WriteRequest::CloseSession);
            }
        }
    }

    fn step(&mut self, step: &Value) -> Value {
        let op = step["op"].as_str().expect("op");
        if op == "wait" {
            self.wait(step["ms"].as_i64().expect("ms"));
            return json!({ "ok": null });
        }
        let name = step["session"].as_str().expect("session").to_owned();
        if op != "connect" && op != "events" && self.sessions[&name].auth_failed {
            return if op == "close" { json!({ "ok": null }) } else { err(ZkError::AuthFailed) };
        }
        match op {
            "connect" => {
                let asked = step.get("timeout_ms").and_then(Value::as_i64).unwrap_or(10000) as i32;
                let timeout = asked.clamp(2 * TICK_TIME_MS, 20 * TICK_TIME_MS);
                let id = SessionId(0x100 + self.names.len() as i64);
                self.names.insert(id, name.clone());
                self.sessions.insert(name, Session { id, auth_failed: false, events: Vec::new() });
                let reply = self.zk.connect(id, "127.0.0.1", timeout, self.now);
                match self.deliver(reply, &WriteRequest::CreateSession { timeout_ms: timeout }) {
                    Ok(_) => json!({ "ok": { "timeout_ms": timeout } }),
                    Err(e) => e,
                }
            }
            "events" => {
                let s = self.sessions.get_mut(&name).expect("session");
                json!({ "ok": std::mem::take(&mut s.events) })
            }
            "add_auth" => {
                let id = self.sessions[&name].id;
                let scheme = step["scheme"].as_str().expect("scheme");
                let auth = step["auth"].as_str().expect("auth");
                match self.zk.add_auth(id, scheme, auth.as_bytes()) {
                    Ok(()) => json!({ "ok": null }),
                    Err(e) => {
                        self.sessions.get_mut(&name).expect("session").auth_failed = true;
                        err(e)
                    }
                }
            }
            "close" => {
                let id = self.sessions[&name].id;
                let reply = self.zk.close(id, self.now);
                match self.deliver(reply, &WriteRequest::CloseSession) {
                    Ok(_) => json!({ "ok": null }),
                    Err(e) => e,
                }
            }
            "create" | "delete" | "set_data" | "set_acl" | "multi" => {
                let id = self.sessions[&name].id;
                let req = write_request(step);
                match self.write(id, &req) {
                    Ok(r) => json!({ "ok": self.result(&r, &req) }),
                    Err(e) => e,
                }
            }
            _ => {
                let req = read_request(step);
                let id = self.sessions[&name].id;
                match self.zk.read(id, &req) {
                    Ok(r) => json!({ "ok": self.read_result(r) }),
                    // kazoo answers exists on a missing node with None.
                    Err(ZkError::NoNode) if op == "exists" => json!({ "ok": null }),
                    Err(e) => err(e),
                }
            }
        }
    }

    fn result(&self, r: &OpResult, req: &WriteRequest) -> Value {
        match (r, req) {
            (OpResult::Created { path, stat }, _) => json!({ "path": path, "stat": self.stat(stat) }),
            (OpResult::DataSet(s) | OpResult::AclSet(s), _) => self.stat(s),
            (OpResult::Multi(results), WriteRequest::Multi(ops)) => Value::Array(
                results
                    .iter()
                    .zip(ops)
                    .map(|(r, op)| match (r, op) {
                        (OpResult::Created { path, stat }, MultiOp::Create(c)) => {
                            if c.mode.multi_result_has_stat() {
                                json!({ "type": "create", "path": path, "stat": self.stat(stat) })
                            } else {
                                json!({ "type": "create", "path": path, "stat": null })
                            }
                        }
                        (OpResult::Deleted, _) => json!({ "type": "delete" }),
                        (OpResult::DataSet(s), _) => json!({ "type": "set_data", "stat": self.stat(s) }),
                        (OpResult::Checked, _) => json!({ "type": "check" }),
                        other => panic!("unexpected multi result {other:?}"),
                    })
                    .collect(),
            ),
            _ => Value::Null,
        }
    }

    fn read_result(&self, r: ReadResponse) -> Value {
        match r {
            ReadResponse::Stat(s) => self.stat(&s),
            ReadResponse::Data { data, stat } => {
                json!({ "data": data.as_option().map(String::from_utf8_lossy), "stat": self.stat(&stat) })
            }
            ReadResponse::Children { mut children, stat } => {
                children.sort();
                json!({ "children": children, "stat": stat.map(|s| self.stat(&s)) })
            }
            ReadResponse::Count(n) => json!(n),
            ReadResponse::Paths(p) => json!(p),
            ReadResponse::Acl { acl, stat } => json!({
                "acl": acl.iter().map(|a| json!({"perms": a.perms.letters(), "scheme": a.id.scheme, "id": a.id.id}))
                    .collect::<Vec<_>>(),
                "stat": self.stat(&stat),
            }),
            ReadResponse::Path(p) => json!(p),
            ReadResponse::Done => Value::Null,
            other => panic!("no conformance op reads {other:?}"),
        }
    }
}

/// A step's data: `data_len` bytes of `x`, or `data`, a string or `null` (a −1 buffer).
fn data_of(step: &Value) -> Data {
    match step.get("data_len") {
        Some(n) => vec![b'x'; n.as_u64().expect("data_len") as usize].into(),
        None if step["data"].is_null() => Data::NULL,
        None => step["data"].as_str().expect("data").into(),
    }
}

fn acl_of(v: Option<&Value>) -> Vec<Acl> {
    match v {
        None => Acl::open_unsafe(),
        Some(list) => list
            .as_array()
            .expect("acl list")
            .iter()
            .map(|a| {
                Acl::new(
                    Perms::from_letters(a["perms"].as_str().expect("perms")).expect("perm letters"),
                    a["scheme"].as_str().expect("scheme"),
                    a["id"].as_str().expect("id"),
                )
            })
            .collect(),
    }
}

fn mode_of(s: &str) -> CreateMode {
    match s {
        "persistent" => CreateMode::Persistent,
        "ephemeral" => CreateMode::Ephemeral,
        "persistent_sequential" => CreateMode::PersistentSequential,
        "ephemeral_sequential" => CreateMode::EphemeralSequential,
        "container" => CreateMode::Container,
        "persistent_with_ttl" => CreateMode::PersistentWithTtl,
        "persistent_sequential_with_ttl" => CreateMode::PersistentSequentialWithTtl,
        other => panic!("unknown mode {other}"),
    }
}

fn path_of(step: &Value) -> String {
    step["path"].as_str().expect("path").to_owned()
}

fn version_of(step: &Value) -> i32 {
    step.get("version").and_then(Value::as_i64).unwrap_or(-1) as i32
}

/// A create as record.py sends it: create2, createContainer or createTTL (also for a
/// TTL given with a non-TTL mode), with ttl -1 for a TTL mode without one.
fn wire_create(step: &Value) -> CreateRequest {
    let mode = mode_of(step["mode"].as_str().expect("mode"));
    let ttl = step.get("ttl").and_then(Value::as_i64);
    let op = if mode.is_ttl() || ttl.is_some() {
        OpCode::CreateTtl
    } else if mode.is_container() {
        OpCode::CreateContainer
    } else {
        OpCode::Create2
    };
    CreateRequest {
        op,
        path: path_of(step),
        data: data_of(step),
        acl: acl_of(step.get("acl"))
            .into_iter()
            .map(|a| WireAcl { perms: a.perms.0, scheme: a.id.scheme, id: a.id.id })
            .collect(),
        flags: mode.flag(),
        ttl: if op == OpCode::CreateTtl { Some(ttl.unwrap_or(-1)) } else { None },
    }
}

/// The write as the client sends it, decoded by the tree's wire rules (`tree::wire`).
fn write_request(step: &Value) -> WriteRequest {
    let wire = match step["op"].as_str().expect("op") {
        "create" => WireRequest::Create(wire_create(step)),
        "delete" => WireRequest::Delete { path: path_of(step), version: version_of(step) },
        "set_data" => {
            WireRequest::SetData { path: path_of(step), data: data_of(step), version: version_of(step) }
        }
        "set_acl" => WireRequest::SetAcl {
            path: path_of(step),
            acl: acl_of(step.get("acl"))
                .into_iter()
                .map(|a| WireAcl { perms: a.perms.0, scheme: a.id.scheme, id: a.id.id })
                .collect(),
            version: version_of(step),
        },
        "multi" => WireRequest::Multi {
            ops: step["ops"]
                .as_array()
                .expect("ops")
                .iter()
                .map(|o| match o["op"].as_str().expect("op") {
                    "create" => WireMultiOp::Create(wire_create(o)),
                    "delete" => WireMultiOp::Delete { path: path_of(o), version: version_of(o) },
                    "set_data" => {
                        WireMultiOp::SetData { path: path_of(o), data: data_of(o), version: version_of(o) }
                    }
                    "check" => WireMultiOp::Check { path: path_of(o), version: version_of(o) },
                    other => panic!("unknown multi op {other}"),
                })
                .collect(),
            read_only: false,
        },
        other => panic!("not a write: {other}"),
    };
    match wire::from_wire(&wire) {
        TreeRequest::Write(w) => w,
        other => panic!("{wire:?} is not a write for the tree: {other:?}"),
    }
}

/// The read as the client sends it, decoded by the tree's wire rules.
fn read_request(step: &Value) -> ReadRequest {
    let watch = step.get("watch").and_then(Value::as_bool).unwrap_or(false);
    let wire = match step["op"].as_str().expect("op") {
        "exists" => WireRequest::Exists { path: path_of(step), watch },
        "get_data" => WireRequest::GetData { path: path_of(step), watch },
        "get_children" => WireRequest::GetChildren {
            path: path_of(step),
            watch,
            with_stat: step.get("with_stat").and_then(Value::as_bool).unwrap_or(false),
        },
        "get_all_children_number" => WireRequest::GetAllChildrenNumber { path: path_of(step) },
        "get_ephemerals" => WireRequest::GetEphemerals {
            prefix: step.get("prefix").and_then(Value::as_str).unwrap_or("/").to_owned(),
        },
        "get_acl" => WireRequest::GetAcl { path: path_of(step) },
        "sync" => WireRequest::Sync { path: path_of(step) },
        "add_watch" => WireRequest::AddWatch {
            path: path_of(step),
            mode: match step["mode"].as_str().expect("mode") {
                "persistent" => 0,
                "persistent_recursive" => 1,
                other => panic!("unknown watch mode {other}"),
            },
        },
        "remove_watches" => WireRequest::RemoveWatches {
            path: path_of(step),
            kind: match step["type"].as_str().expect("type") {
                "children" => 1,
                "data" => 2,
                "any" => 3,
                other => panic!("unknown watcher type {other}"),
            },
            check_only: false,
        },
        other => panic!("unknown op {other}"),
    };
    match wire::from_wire(&wire) {
        TreeRequest::Read(r) => r,
        other => panic!("{wire:?} is not a read for the tree: {other:?}"),
    }
}

fn conformance_dir() -> PathBuf {
    match std::env::var_os("ZOOLAB_CONFORMANCE_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance"),
    }
}

/// Runs one case; the first mismatching step, described.
fn run_case(case: &Value, golden: &[Value]) -> Result<(), String> {
    let name = case["name"].as_str().expect("name");
    let steps = case["steps"].as_array().expect("steps");
    if steps.len() != golden.len() {
        return Err(format!("{name}: {} steps but {} golden results", steps.len(), golden.len()));
    }
    let mut server = Server::new();
    for (i, (step, want)) in steps.iter().zip(golden).enumerate() {
        let got = server.step(step);
        if &got != want {
            return Err(format!(
                "{name}: step {i} {step}\n  ZooKeeper: {want}\n  zoolab:    {got}\n  (digest after: {:#x})",
                server.zk.tree().digest()
            ));
        }
    }
    let tree = server.zk.tree();
    assert_eq!(tree.digest(), tree.recompute_digest(), "{name}: incremental digest drifted");
    // Every case's final tree survives a snapshot round trip bit-exactly.
    let bytes = snapshot::encode(tree);
    assert_eq!(&snapshot::decode(&bytes).expect("decodes"), tree, "{name}: snapshot round trip");
    Ok(())
}

#[test]
fn conformance_with_zookeeper_goldens() {
    let dir = conformance_dir();
    let mut files: Vec<PathBuf> = match fs::read_dir(dir.join("cases")) {
        Ok(rd) => rd
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    let gaps: BTreeMap<&str, &str> = KNOWN_GAPS.iter().copied().collect();
    let (mut passed, mut failures, mut gap_hits, mut unrecorded) = (0, Vec::new(), Vec::new(), Vec::new());
    for file in &files {
        let group = file.file_stem().expect("stem").to_string_lossy().to_string();
        let cases: Value =
            serde_json::from_str(&fs::read_to_string(file).expect("cases")).expect("cases JSON");
        let golden_path = dir.join("golden").join(format!("{group}.json"));
        let Ok(text) = fs::read_to_string(&golden_path) else {
            unrecorded.push(format!("group {group} (no {})", golden_path.display()));
            continue;
        };
        let golden: Value = serde_json::from_str(&text).expect("golden JSON");
        let by_name: Map<String, Value> = golden["cases"]
            .as_array()
            .expect("golden cases")
            .iter()
            .map(|c| (c["name"].as_str().expect("name").to_owned(), c["results"].clone()))
            .collect();
        for case in cases["cases"].as_array().expect("cases") {
            let name = case["name"].as_str().expect("name");
            let Some(want) = by_name.get(name) else {
                unrecorded.push(format!("case {name} of group {group}"));
                continue;
            };
            let outcome = run_case(case, want.as_array().expect("results"));
            match (outcome, gaps.get(name)) {
                (Ok(()), None) => passed += 1,
                (Ok(()), Some(_)) => {
                    failures.push(format!("{name}: listed in KNOWN_GAPS but passes; remove it"))
                }
                (Err(_), Some(why)) => gap_hits.push(format!("{name}: {why}")),
                (Err(e), None) => failures.push(e),
            }
        }
    }
    eprintln!(
        "conformance: {passed} case(s) match ZooKeeper, {} known gap(s), {} failure(s), from {}",
        gap_hits.len(),
        failures.len(),
        dir.display()
    );
    for u in &unrecorded {
        eprintln!("  not recorded yet (no golden), not replayed: {u}");
    }
    for g in &gap_hits {
        eprintln!("  known gap: {g}");
    }
    assert!(
        failures.is_empty(),
        "{} case(s) differ from ZooKeeper:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
