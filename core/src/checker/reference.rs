//! A small, obviously correct ZooKeeper-like system that produces histories the
//! checker must accept: the checker's tests and benchmark run on it.
//!
//! One leader holds the log of transactions; each server applies a prefix of it at its
//! own pace (so reads are stale); every session is connected to one server, which
//! answers its requests in order: a read from its own tree, a write or a sync once
//! the leader has ordered it and the server has applied up to it. Watch events are
//! queued when the server applies the change, before any later reply. A connection
//! may be lost: every outstanding request then completes as `ConnectionLoss` (a write
//! already ordered by the leader still happens; one not yet sent to the leader may
//! still happen later, or never) and the session moves to a server at least as
//! recent as the last zxid it saw, which re-fires its watches missed in between
//! (ZooKeeper's `setWatches`).
//!
//! Every choice comes from a seeded generator; the same configuration gives the same
//! history.

use super::history::{
    CreateMode, ErrorCode, EventBody, EventKind, History, Op, OpId, OpResult, Outcome, Recorder, Stat, Watch,
};
use crate::ids::{SessionId, Zxid};
use crate::vecmap::VecMap;
use std::collections::{BTreeMap, VecDeque};

/// How to generate a history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReferenceConfig {
    /// The seed of every choice.
    pub seed: u64,
    /// Concurrent client sessions.
    pub clients: usize,
    /// Operations to issue in total.
    pub operations: usize,
    /// Distinct paths (`/k0`, `/k1`, ...) the clients work on.
    pub paths: usize,
    /// Servers in the ensemble (the leader's log is applied by each at its own pace).
    pub servers: usize,
    /// Requests a session may have outstanding at once.
    pub pipeline: usize,
    /// Chance per step, in thousandths, that a session loses its connection.
    pub loss_per_mille: u32,
}

impl Default for ReferenceConfig {
    fn default() -> Self {
        ReferenceConfig {
            seed: 1,
            clients: 4,
            operations: 200,
            paths: 3,
            servers: 3,
            pipeline: 2,
            loss_per_mille: 5,
        }
    }
}

/// SplitMix64: a tiny seeded generator.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        debug_assert!(n > 0);
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, per_mille: u32) -> bool {
        (self.next() % 1000) < u64::from(per_mille)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Znode {
    data: Vec<u8>,
    stat: Stat,
}

type Tree = BTreeMap<String, Znode>;

#[derive(Clone, Debug)]
enum Change {
    None,
    Create { path: String, node: Znode },
    Set { path: String, data: Vec<u8>, zxid: Zxid },
    Delete { paths: Vec<String> },
}

#[derive(Clone, Debug)]
struct Txn {
    zxid: Zxid,
    change: Change,
}

fn parent_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(at) => &path[..at],
    }
}

fn apply(tree: &mut Tree, txn: &Txn) {
    match &txn.change {
        Change::None => {}
        Change::Create { path, node } => {
            tree.insert(path.clone(), node.clone());
        }
        Change::Set { path, data, zxid } => {
            let node = tree.get_mut(path).expect("set applies to an existing node");
            node.data = data.clone();
            node.stat.version += 1;
            node.stat.mzxid = *zxid;
        }
        Change::Delete { paths } => {
            for path in paths {
                tree.remove(path);
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Table {
    Data,
    Child,
}

#[derive(Clone, Debug)]
enum ReqState {
    /// Not yet handled by the server.
    Queued,
    /// Ordered by the leader; answered once the server has applied `zxid`.
    Waiting { zxid: Zxid, outcome: Outcome },
}

#[derive(Clone, Debug)]
struct Request {
    id: OpId,
    op: Op,
    state: ReqState,
}

#[derive(Clone, Debug)]
enum Delivery {
    Reply(OpId, Outcome),
    Event(String, EventKind, Zxid),
}

#[derive(Clone, Debug)]
struct Client {
    session: SessionId,
    server: usize,
    inflight: VecDeque<Request>,
    outbox: VecDeque<Delivery>,
    /// Watches set, with the zxid of the server state they were set at.
    watches: VecMap<(String, Table), Zxid>,
    last_zxid: Zxid,
    versions: BTreeMap<String, i32>,
    closed: bool,
    issued: usize,
}

#[derive(Clone, Debug)]
struct Server {
    applied: usize,
    tree: Tree,
}

struct System {
    rng: Rng,
    config: ReferenceConfig,
    recorder: Recorder,
    now: u64,
    log: Vec<Txn>,
    leader: Tree,
    servers: Vec<Server>,
    clients: Vec<Client>,
    /// Writes whose connection was lost before they reached the leader, and that
    /// will still reach it.
    orphans: VecDeque<(SessionId, Op)>,
    sequence: u64,
    issued: usize,
}

fn root() -> Tree {
    let mut tree = Tree::new();
    tree.insert("/".to_string(), Znode { data: Vec::new(), stat: Stat::default() });
    tree
}

fn zxid_at(log: &[Txn], applied: usize) -> Zxid {
    if applied == 0 {
        Zxid::ZERO
    } else {
        log[applied - 1].zxid
    }
}

impl System {
    fn new(config: ReferenceConfig) -> System {
        let servers = config.servers.max(1);
        let clients = (0..config.clients.max(1))
            .map(|c| Client {
                session: SessionId(0x100 + c as i64),
                server: c % servers,
                inflight: VecDeque::new(),
                outbox: VecDeque::new(),
                watches: VecMap::new(),
                last_zxid: Zxid::ZERO,
                versions: BTreeMap::new(),
                closed: false,
                issued: 0,
            })
            .collect();
        System {
            rng: Rng(config.seed),
            config,
            recorder: Recorder::new(),
            now: 0,
            log: Vec::new(),
            leader: root(),
            servers: vec![Server { applied: 0, tree: root() }; servers],
            clients,
            orphans: VecDeque::new(),
            sequence: 0,
            issued: 0,
        }
    }

    fn pick_path(&mut self) -> String {
        format!("/k{}", self.rng.below(self.config.paths.max(1)))
    }

    fn choose_op(&mut self, c: usize) -> Op {
        let path = self.pick_path();
        let data = format!("c{}-{}", c, self.clients[c].issued).into_bytes();
        let watch = if self.rng.chance(300) { Watch::Set } else { Watch::No };
        let guess = |rng: &mut Rng, versions: &BTreeMap<String, i32>, path: &str| {
            if rng.chance(500) {
                None
            } else {
                versions.get(path).copied()
            }
        };
        let per_client_ops = self.config.operations / self.clients.len().max(1);
        match self.rng.below(100) {
            0..=11 => Op::Create {
                path,
                data,
                mode: CreateMode { ephemeral: self.rng.chance(250), sequential: false },
            },
            12..=14 => Op::Create {
                path: "/s-".to_string(),
                data,
                mode: CreateMode { ephemeral: self.rng.chance(300), sequential: true },
            },
            15..=24 => {
                let version = guess(&mut self.rng, &self.clients[c].versions, &path);
                Op::Delete { path, version }
            }
            25..=44 => {
                let version = guess(&mut self.rng, &self.clients[c].versions, &path);
                Op::SetData { path, data, version }
            }
            45..=69 => Op::GetData { path, watch },
            70..=84 => Op::Exists { path, watch },
            85..=91 => Op::GetChildren { path: "/".to_string(), watch },
            92..=98 => Op::Sync { path },
            _ if self.clients[c].issued + 3 >= per_client_ops => Op::CloseSession,
            _ => Op::GetData { path, watch },
        }
    }

    /// The leader orders a write: a new transaction, and the outcome its client gets.
    fn order(&mut self, session: SessionId, op: &Op) -> (Zxid, Outcome) {
        let zxid = Zxid(self.log.len() as u64 + 1);
        let error = |code| (Change::None, Outcome::Error { code, zxid: Some(zxid) });
        let (change, outcome) = match op {
            Op::Create { path, data, mode } => {
                let path = if mode.sequential {
                    self.sequence += 1;
                    format!("{path}{:010}", self.sequence)
                } else {
                    path.clone()
                };
                if self.leader.contains_key(&path) {
                    error(ErrorCode::NodeExists)
                } else {
                    let stat = Stat {
                        czxid: zxid,
                        mzxid: zxid,
                        version: 0,
                        ephemeral_owner: if mode.ephemeral { session } else { SessionId(0) },
                    };
                    let node = Znode { data: data.clone(), stat };
                    (
                        Change::Create { path: path.clone(), node },
                        Outcome::Ok {
                            result: OpResult::Created { path, stat: Some(stat) },
                            zxid: Some(zxid),
                        },
                    )
                }
            }
            Op::Delete { path, version } => match self.leader.get(path) {
                None => error(ErrorCode::NoNode),
                Some(node) if version.is_some_and(|v| v != node.stat.version) => error(ErrorCode::BadVersion),
                Some(_) => (
                    Change::Delete { paths: vec![path.clone()] },
                    Outcome::Ok { result: OpResult::Deleted, zxid: Some(zxid) },
                ),
            },
            Op::SetData { path, data, version } => match self.leader.get(path) {
                None => error(ErrorCode::NoNode),
                Some(node) if version.is_some_and(|v| v != node.stat.version) => error(ErrorCode::BadVersion),
                Some(node) => {
                    let stat = Stat { version: node.stat.version + 1, mzxid: zxid, ..node.stat };
                    (
                        Change::Set { path: path.clone(), data: data.clone(), zxid },
                        Outcome::Ok { result: OpResult::DataSet { stat }, zxid: Some(zxid) },
                    )
                }
            },
            Op::CloseSession => {
                let paths = self
                    .leader
                    .iter()
                    .filter(|(_, node)| node.stat.ephemeral_owner == session)
                    .map(|(path, _)| path.clone())
                    .collect();
                (Change::Delete { paths }, Outcome::Ok { result: OpResult::Closed, zxid: Some(zxid) })
            }
            _ => unreachable!("only writes are ordered"),
        };
        let txn = Txn { zxid, change };
        apply(&mut self.leader, &txn);
        self.log.push(txn);
        (zxid, outcome)
    }

    /// The events a transaction fires for a watch table entry set at `since`.
    fn fired(txn: &Txn, path: &str, table: Table, since: Zxid) -> Option<EventKind> {
        if txn.zxid <= since {
            return None;
        }
        match (&txn.change, table) {
            (Change::Create { path: p, .. }, Table::Data) if p == path => Some(EventKind::NodeCreated),
            (Change::Create { path: p, .. }, Table::Child) if parent_of(p) == path => {
                Some(EventKind::NodeChildrenChanged)
            }
            (Change::Set { path: p, .. }, Table::Data) if p == path => Some(EventKind::NodeDataChanged),
            (Change::Delete { paths }, _) if paths.iter().any(|p| p == path) => Some(EventKind::NodeDeleted),
            (Change::Delete { paths }, Table::Child) if paths.iter().any(|p| parent_of(p) == path) => {
                Some(EventKind::NodeChildrenChanged)
            }
            _ => None,
        }
    }

    /// Fires `client`'s watches that `txn` triggers.
    fn fire(client: &mut Client, txn: &Txn) {
        let mut fired: Vec<(String, EventKind)> = Vec::new();
        let keys: Vec<(String, Table)> = client.watches.keys().cloned().collect();
        for key in keys {
            let since = client.watches[&key];
            if let Some(kind) = System::fired(txn, &key.0, key.1, since) {
                client.watches.remove(&key);
                if kind == EventKind::NodeDeleted {
                    // One NodeDeleted for both tables.
                    let other = match key.1 {
                        Table::Data => Table::Child,
                        Table::Child => Table::Data,
                    };
                    client.watches.remove(&(key.0.clone(), other));
                    if fired.iter().any(|(p, k)| *p == key.0 && *k == kind) {
                        continue;
                    }
                }
                fired.push((key.0, kind));
            }
        }
        for (path, kind) in fired {
            client.outbox.push_back(Delivery::Event(path, kind, txn.zxid));
        }
    }

    /// Server `s` applies its next transaction: watches, then the replies it unblocks.
    fn server_apply(&mut self, s: usize) {
        let server = &mut self.servers[s];
        if server.applied >= self.log.len() {
            return;
        }
        let txn = &self.log[server.applied];
        apply(&mut server.tree, txn);
        server.applied += 1;
        for client in self.clients.iter_mut().filter(|c| c.server == s) {
            System::fire(client, txn);
        }
        self.answer_waiting(s);
    }

    /// Replies to the writes and syncs server `s` has now applied, in session order.
    fn answer_waiting(&mut self, s: usize) {
        let applied = zxid_at(&self.log, self.servers[s].applied);
        for client in self.clients.iter_mut().filter(|c| c.server == s) {
            while let Some(Request { state: ReqState::Waiting { zxid, .. }, .. }) = client.inflight.front() {
                if *zxid > applied {
                    break;
                }
                let Some(Request { id, state: ReqState::Waiting { outcome, .. }, .. }) =
                    client.inflight.pop_front()
                else {
                    unreachable!("front was waiting");
                };
                let outcome = match outcome {
                    Outcome::Ok { result, .. } => Outcome::Ok { result, zxid: Some(applied) },
                    other => other,
                };
                client.outbox.push_back(Delivery::Reply(id, outcome));
            }
        }
    }

    /// The server handles the head request of client `c`.
    fn server_handle(&mut self, c: usize) {
        let Some(head) = self.clients[c].inflight.front() else {
            return;
        };
        if !matches!(head.state, ReqState::Queued) {
            return;
        }
        let op = head.op.clone();
        let s = self.clients[c].server;
        let applied = zxid_at(&self.log, self.servers[s].applied);
        if op.is_read() {
            let tree = &self.servers[s].tree;
            let (outcome, watch) = match &op {
                Op::GetData { path, watch } => match tree.get(path) {
                    Some(node) => (
                        OpResult::Data { data: node.data.clone(), stat: node.stat },
                        (*watch == Watch::Set).then_some((path.clone(), Table::Data)),
                    ),
                    None => {
                        let request = self.clients[c].inflight.pop_front().expect("head");
                        self.clients[c].outbox.push_back(Delivery::Reply(
                            request.id,
                            Outcome::Error { code: ErrorCode::NoNode, zxid: Some(applied) },
                        ));
                        return;
                    }
                },
                Op::Exists { path, watch } => (
                    OpResult::Exists { stat: tree.get(path).map(|n| n.stat) },
                    (*watch == Watch::Set).then_some((path.clone(), Table::Data)),
                ),
                Op::GetChildren { path, watch } => {
                    let node = tree.get(path).expect("only / is listed");
                    let prefix = if path == "/" { "/".to_string() } else { format!("{path}/") };
                    let children = tree
                        .keys()
                        .filter(|p| *p != path && p.starts_with(&prefix))
                        .filter(|p| parent_of(p) == path)
                        .map(|p| p[prefix.len()..].to_string())
                        .collect();
                    (
                        OpResult::Children { children, stat: Some(node.stat) },
                        (*watch == Watch::Set).then_some((path.clone(), Table::Child)),
                    )
                }
                _ => unreachable!("a read"),
            };
            let client = &mut self.clients[c];
            if let Some(key) = watch {
                client.watches.entry(key).or_insert(applied);
            }
            let request = client.inflight.pop_front().expect("head");
            client
                .outbox
                .push_back(Delivery::Reply(request.id, Outcome::Ok { result: outcome, zxid: Some(applied) }));
            return;
        }
        let session = self.clients[c].session;
        let (zxid, outcome) = match &op {
            Op::Sync { .. } => {
                (zxid_at(&self.log, self.log.len()), Outcome::Ok { result: OpResult::Synced, zxid: None })
            }
            _ => self.order(session, &op),
        };
        if let Some(head) = self.clients[c].inflight.front_mut() {
            head.state = ReqState::Waiting { zxid, outcome };
        }
        self.answer_waiting(s);
    }

    /// Client `c` receives the next thing its server sent.
    fn deliver(&mut self, c: usize) {
        let Some(item) = self.clients[c].outbox.pop_front() else {
            return;
        };
        let session = self.clients[c].session;
        match item {
            Delivery::Reply(id, outcome) => {
                if let Some(zxid) = outcome.zxid() {
                    self.clients[c].last_zxid = self.clients[c].last_zxid.max(zxid);
                }
                if let Outcome::Ok { result, .. } = &outcome {
                    let op = &self.recorder.history().op(id).op;
                    let stat = match result {
                        OpResult::Data { stat, .. } | OpResult::DataSet { stat } => Some(*stat),
                        OpResult::Exists { stat } => *stat,
                        _ => None,
                    };
                    if let (Some(stat), Some(path)) = (stat, op.path()) {
                        let path = path.to_string();
                        self.clients[c].versions.insert(path, stat.version);
                    }
                    if matches!(result, OpResult::Closed) {
                        self.clients[c].closed = true;
                    }
                }
                self.recorder.complete(self.now, id, outcome);
            }
            Delivery::Event(path, kind, zxid) => {
                self.recorder.event(self.now, session, EventBody::Watch { path, kind, zxid: Some(zxid) });
            }
        }
    }

    /// Client `c` loses its connection and reconnects to a server at least as recent
    /// as what it has seen.
    fn lose_connection(&mut self, c: usize) {
        let now = self.now;
        let client = &mut self.clients[c];
        // Undelivered replies are lost; events stay (setWatches would re-fire them).
        let mut lost: Vec<OpId> = Vec::new();
        client.outbox.retain(|item| match item {
            Delivery::Reply(id, _) => {
                lost.push(*id);
                false
            }
            Delivery::Event(..) => true,
        });
        for request in client.inflight.drain(..) {
            lost.push(request.id);
            if matches!(request.state, ReqState::Queued) && request.op.is_write() {
                // It may still reach the leader (later), or never.
                if self.rng.chance(500) {
                    self.orphans.push_back((client.session, request.op.clone()));
                }
            }
        }
        lost.sort();
        for id in lost {
            let closes = matches!(self.recorder.history().op(id).op, Op::CloseSession);
            self.recorder.complete(now, id, Outcome::Unknown { code: ErrorCode::ConnectionLoss });
            if closes {
                self.clients[c].closed = true;
            }
        }
        let last = self.clients[c].last_zxid;
        let candidates: Vec<usize> = (0..self.servers.len())
            .filter(|s| zxid_at(&self.log, self.servers[*s].applied) >= last)
            .collect();
        let s = candidates[self.rng.below(candidates.len())];
        self.clients[c].server = s;
        // setWatches: fire what the new server has applied since each watch was set.
        let applied = self.servers[s].applied;
        let client = &mut self.clients[c];
        let since = client.watches.values().min().copied();
        if let Some(since) = since {
            let from = since.0 as usize;
            for txn in self.log.iter().take(applied).skip(from) {
                System::fire(client, txn);
            }
        }
    }

    fn invoke(&mut self, c: usize) {
        let op = self.choose_op(c);
        let client = &mut self.clients[c];
        client.issued += 1;
        self.issued += 1;
        let id = self.recorder.invoke(self.now, client.session, op.clone());
        client.inflight.push_back(Request { id, op, state: ReqState::Queued });
    }

    fn quiet(&self) -> bool {
        self.orphans.is_empty()
            && self.clients.iter().all(|c| c.inflight.is_empty() && c.outbox.is_empty())
            && self.servers.iter().all(|s| s.applied == self.log.len())
    }

    fn run(mut self) -> History {
        let bound = 200 * (self.config.operations as u64 + 10);
        while self.now < bound {
            self.now += 1;
            let done = self.issued >= self.config.operations;
            if done && self.quiet() {
                break;
            }
            let c = self.rng.below(self.clients.len());
            match self.rng.below(10) {
                0 | 1 => {
                    let client = &self.clients[c];
                    if !done && !client.closed && client.inflight.len() < self.config.pipeline.max(1) {
                        self.invoke(c);
                    }
                }
                2 | 3 => self.server_handle(c),
                4..=6 => {
                    let s = self.rng.below(self.servers.len());
                    self.server_apply(s);
                }
                7 | 8 => self.deliver(c),
                _ => {
                    if let Some((session, op)) = self.orphans.pop_front() {
                        self.order(session, &op);
                    } else if self.rng.chance(self.config.loss_per_mille * 10)
                        && !self.clients[c].inflight.is_empty()
                    {
                        self.lose_connection(c);
                    }
                }
            }
        }
        // Whatever is still outstanding is never answered.
        self.recorder.finish()
    }
}

/// Generates a history of the reference system. The checker must accept it.
pub fn generate(config: ReferenceConfig) -> History {
    System::new(config).run()
}
