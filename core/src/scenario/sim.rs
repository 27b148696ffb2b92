//! Scenarios on the simulator: [`SimDriver`] drives a [`World`] for [`super::run`].
//!
//! **Interim data model.** Until the znode tree (issue 3) is merged, the replicated
//! state is [`Paths`]: znodes with data, a version, and the parent's child counter
//! (cversion), which is enough for create (with sequential names decided by the
//! leader against outstanding proposals, as ZooKeeper does), set, delete, get, stat,
//! ls and getAllChildrenNumber with ZooKeeper's error names (NODEEXISTS, NONODE,
//! BADVERSION, NOTEMPTY). Ephemeral and container nodes behave as persistent ones here
//! (sessions come with issue 6); ACLs, watches, multi, reconfig and the rest answer
//! "cannot run yet". The tree replaces `Paths` without changing a scenario.
//!
//! **Clients.** Until the clients of issue 6, a client talks to one server of its
//! connect string: the first, until that one is down or not serving, then the next that
//! serves. Writes travel through ZAB (a follower forwards them); reads are answered
//! at once from that server's own state, so they can be stale.

use super::run::{Driver, Fault, OpStatus, ServerStatus};
use super::*;
use crate::ids::{ServerId, Zxid};
use crate::sim::{ClientWrite, ClusterSpec, NetConfig, Role, World, WorldConfig};
use crate::zab::{Fnv64, PrepareContext, Replicated, ServerConfig};
use crate::zkcli::{CreateMode, ZkCommand};
use std::collections::BTreeMap;

/// How many replies [`Paths`] remembers (the oldest are forgotten).
const REPLIES_KEPT: usize = 4096;

/// One znode of [`Paths`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PathNode {
    /// Its data.
    pub data: String,
    /// Its data version.
    pub version: i32,
    /// Its children's change counter (sequential names use it).
    pub cversion: i32,
    /// How many children it has.
    pub children: u32,
}

/// The interim replicated state: znodes by path (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    nodes: BTreeMap<String, PathNode>,
    digest: u64,
    replies: BTreeMap<Zxid, Result<String, String>>,
}

impl Default for Paths {
    fn default() -> Self {
        let mut p = Paths { nodes: BTreeMap::new(), digest: 0, replies: BTreeMap::new() };
        p.put("/".to_string(), PathNode::default());
        p
    }
}

/// A client request on [`Paths`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathRequest {
    /// Create a node (sequential: the leader appends the parent's cversion).
    Create {
        /// The path (prefix when sequential).
        path: String,
        /// Its data.
        data: String,
        /// Whether the name gets a sequence suffix.
        sequential: bool,
    },
    /// Set a node's data.
    Set {
        /// The path.
        path: String,
        /// The data.
        data: String,
        /// Expected version (-1: any).
        version: i32,
    },
    /// Delete a node.
    Delete {
        /// The path.
        path: String,
        /// Expected version (-1: any).
        version: i32,
    },
}

/// A transaction on [`Paths`]: the request with the leader's decisions.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PathTxn {
    /// Create this exact path.
    Create {
        /// The final path.
        path: String,
        /// Its data.
        data: String,
    },
    /// Set data.
    Set {
        /// The path.
        path: String,
        /// The data.
        data: String,
    },
    /// Delete.
    Delete {
        /// The path.
        path: String,
    },
    /// The request failed with this error (ZooKeeper commits error transactions too).
    Error {
        /// ZooKeeper's error name.
        code: String,
    },
}

fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => "/",
    }
}

impl Paths {
    /// A node, if it exists.
    pub fn node(&self, path: &str) -> Option<&PathNode> {
        self.nodes.get(path)
    }

    /// The names of a node's children, in order.
    pub fn children(&self, path: &str) -> Vec<String> {
        let prefix = if path == "/" { "/".to_string() } else { format!("{path}/") };
        self.nodes
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .filter(|(p, _)| p.len() > prefix.len() && !p[prefix.len()..].contains('/'))
            .map(|(p, _)| p[prefix.len()..].to_string())
            .collect()
    }

    /// How many nodes lie below `path`.
    pub fn descendants(&self, path: &str) -> usize {
        let prefix = if path == "/" { "/".to_string() } else { format!("{path}/") };
        self.nodes
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .filter(|(p, _)| **p != prefix)
            .count()
    }

    fn entry_hash(path: &str, node: &PathNode) -> u64 {
        Fnv64::of(&(path, node))
    }

    fn put(&mut self, path: String, node: PathNode) {
        if let Some(old) = self.nodes.get(&path) {
            self.digest = self.digest.wrapping_sub(Self::entry_hash(&path, old));
        }
        self.digest = self.digest.wrapping_add(Self::entry_hash(&path, &node));
        self.nodes.insert(path, node);
    }

    fn remove(&mut self, path: &str) {
        if let Some(old) = self.nodes.remove(path) {
            self.digest = self.digest.wrapping_sub(Self::entry_hash(path, &old));
        }
    }

    fn decide(&self, request: &PathRequest) -> PathTxn {
        let err = |code: &str| PathTxn::Error { code: code.to_string() };
        let matches = |node: &PathNode, version: i32| version == -1 || node.version == version;
        match request {
            PathRequest::Create { path, data, sequential } => {
                let Some(p) = self.nodes.get(parent(path)) else { return err("NONODE") };
                let path = if *sequential { format!("{path}{:010}", p.cversion) } else { path.clone() };
                if self.nodes.contains_key(&path) {
                    return err("NODEEXISTS");
                }
                PathTxn::Create { path, data: data.clone() }
            }
            PathRequest::Set { path, data, version } => match self.nodes.get(path) {
                None => err("NONODE"),
                Some(n) if !matches(n, *version) => err("BADVERSION"),
                Some(_) => PathTxn::Set { path: path.clone(), data: data.clone() },
            },
            PathRequest::Delete { path, version } => match self.nodes.get(path) {
                _ if path == "/" => err("BADARGUMENTS"),
                None => err("NONODE"),
                Some(n) if !matches(n, *version) => err("BADVERSION"),
                Some(n) if n.children > 0 => err("NOTEMPTY"),
                Some(_) => PathTxn::Delete { path: path.clone() },
            },
        }
    }

    /// Applies the tree part of a transaction; returns the client's reply.
    fn change(&mut self, txn: &PathTxn) -> Result<String, String> {
        match txn {
            PathTxn::Create { path, data } => {
                let par = parent(path).to_string();
                let Some(mut p) = self.nodes.get(&par).cloned() else { return Err("NONODE".into()) };
                p.cversion += 1;
                p.children += 1;
                self.put(par, p);
                self.put(path.clone(), PathNode { data: data.clone(), ..PathNode::default() });
                Ok(path.clone())
            }
            PathTxn::Set { path, data } => {
                let Some(mut n) = self.nodes.get(path).cloned() else { return Err("NONODE".into()) };
                n.data = data.clone();
                n.version += 1;
                self.put(path.clone(), n);
                Ok(String::new())
            }
            PathTxn::Delete { path } => {
                self.remove(path);
                let par = parent(path).to_string();
                if let Some(mut p) = self.nodes.get(&par).cloned() {
                    p.cversion += 1;
                    p.children = p.children.saturating_sub(1);
                    self.put(par, p);
                }
                Ok(String::new())
            }
            PathTxn::Error { code } => Err(code.clone()),
        }
    }

    /// The reply recorded for the transaction at `zxid`, if still remembered.
    pub fn reply(&self, zxid: Zxid) -> Option<&Result<String, String>> {
        self.replies.get(&zxid)
    }
}

impl Replicated for Paths {
    type Request = PathRequest;
    type Txn = PathTxn;
    type Reply = Result<String, String>;
    type Snapshot = Paths;

    fn prepare(&mut self, outstanding: &[&PathTxn], _ctx: PrepareContext, request: &PathRequest) -> PathTxn {
        if outstanding.is_empty() {
            return self.decide(request);
        }
        // Decide against the committed state plus what is proposed but not committed.
        let mut view = Paths { nodes: self.nodes.clone(), digest: 0, replies: BTreeMap::new() };
        for t in outstanding {
            let _ = view.change(t);
        }
        view.decide(request)
    }

    fn apply(&mut self, zxid: Zxid, txn: &PathTxn) -> Result<String, String> {
        let reply = self.change(txn);
        self.replies.insert(zxid, reply.clone());
        while self.replies.len() > REPLIES_KEPT {
            self.replies.pop_first();
        }
        reply
    }

    fn snapshot(&self) -> Paths {
        self.clone()
    }

    fn restore(snapshot: &Paths) -> Self {
        snapshot.clone()
    }

    fn digest(&self) -> u64 {
        self.digest
    }
}

enum Op {
    /// Waiting for the client's connection (or, for a read, for its earlier commands).
    Queued {
        command: ZkCommand,
    },
    Write {
        request_id: u64,
        server: (usize, ServerId),
    },
    Done(OpStatus),
}

/// Drives a [`World`] of [`Paths`] for a scenario.
pub struct SimDriver {
    world: World<Paths>,
    clusters: Vec<String>,
    clients: BTreeMap<String, (Vec<(usize, ServerId)>, usize)>,
    ops: Vec<Op>,
    /// Each client's unfinished operations, in the order it sent them.
    unfinished: BTreeMap<String, Vec<usize>>,
    /// The directed links cut, as the world has them (to heal one server's alone).
    blocked: std::collections::BTreeSet<(usize, ServerId, ServerId)>,
    seen: usize,
}

/// The trace lines a world keeps (the hash covers every line regardless).
const TRACE_CAPACITY: usize = 1 << 20;

impl SimDriver {
    /// Builds the world a scenario declares, seeded with its seed.
    pub fn new(sc: &Scenario) -> Result<SimDriver, String> {
        // A scenario built in code gets the parser's checks too (sizes, names, ids).
        sc.validate()?;
        let mut server = ServerConfig::default();
        if let Some(first) = sc.clusters.first() {
            if sc.clusters.iter().any(|c| c.settings != first.settings) {
                return Err(
                    "the simulator runs every cluster with the same tickTime, initLimit and syncLimit".into(),
                );
            }
            let s = &first.settings;
            if let Some(t) = s.tick_time {
                server.tick_ms = t.0;
            }
            if let Some(n) = s.init_limit {
                server.init_limit = u64::from(n);
            }
            if let Some(n) = s.sync_limit {
                server.sync_limit = u64::from(n);
            }
            if let Some(n) = s.snap_count {
                server.snap_count = u64::from(n);
            }
            if let Some(n) = s.commit_log_count {
                server.commit_log_count = n as usize;
            }
        }
        let mut net = NetConfig::default();
        apply_net(&mut net, &sc.network);
        let cfg = WorldConfig {
            clusters: sc
                .clusters
                .iter()
                .map(|c| ClusterSpec {
                    participants: u64::from(c.servers),
                    observers: u64::from(c.observers),
                })
                .collect(),
            server,
            net,
            trace_capacity: TRACE_CAPACITY,
            ..WorldConfig::default()
        };
        let clusters: Vec<String> = sc.clusters.iter().map(|c| c.name.clone()).collect();
        let index = |name: &str| clusters.iter().position(|c| c == name).ok_or(format!("no cluster {name}"));
        let mut clients = BTreeMap::new();
        for c in &sc.clients {
            let mut servers = Vec::new();
            for e in &c.connect {
                match e {
                    Endpoint::Server(s) => servers.push((index(&s.cluster)?, ServerId(u64::from(s.id)))),
                    Endpoint::Cluster(name) => {
                        let i = index(name)?;
                        let cl = &sc.clusters[i];
                        servers
                            .extend((1..=u64::from(cl.servers + cl.observers)).map(|id| (i, ServerId(id))));
                    }
                }
            }
            clients.insert(c.name.clone(), (servers, 0));
        }
        let world = World::new(cfg, sc.seed);
        let seen = world.trace().len();
        Ok(SimDriver {
            world,
            clusters,
            clients,
            ops: Vec::new(),
            unfinished: BTreeMap::new(),
            blocked: std::collections::BTreeSet::new(),
            seen,
        })
    }

    /// The world, for views beyond the scenario's.
    pub fn world(&self) -> &World<Paths> {
        &self.world
    }

    fn addr(&self, s: &ServerName) -> Result<(usize, ServerId), String> {
        let c =
            self.clusters.iter().position(|c| *c == s.cluster).ok_or(format!("no cluster {}", s.cluster))?;
        if usize::from(s.id) > self.world.servers_in(c).len() || s.id == 0 {
            return Err(format!("no server {s}"));
        }
        Ok((c, ServerId(u64::from(s.id))))
    }

    /// Partitions cluster `c` as the world does (servers not named form one more group,
    /// and the partition replaces the cluster's cuts), keeping the mirror of its cuts.
    fn partition(&mut self, c: usize, groups: &[Vec<ServerId>]) {
        let refs: Vec<&[ServerId]> = groups.iter().map(Vec::as_slice).collect();
        self.world.partition_in(c, &refs);
        self.blocked.retain(|&(bc, _, _)| bc != c);
        let ids: Vec<ServerId> = self.world.servers_in(c).iter().map(|v| v.id).collect();
        let group_of = |id: ServerId| groups.iter().position(|g| g.contains(&id)).unwrap_or(groups.len());
        for &a in &ids {
            for &b in &ids {
                if a != b && group_of(a) != group_of(b) {
                    self.blocked.insert((c, a, b));
                }
            }
        }
    }

    fn serving(&self, (c, id): (usize, ServerId)) -> bool {
        self.world.servers_in(c).iter().any(|v| v.id == id && v.serving && v.role != Role::Down)
    }

    /// The serving server a client talks to now: its current one while that serves,
    /// else the next one of its connect string that does; `None` while none does.
    fn connection(&mut self, client: &str) -> Option<(usize, ServerId)> {
        let (servers, current) = self.clients.get(client).cloned()?;
        let n = servers.len();
        let pick = (0..n).map(|k| (current + k) % n).find(|&i| self.serving(servers[i]))?;
        if let Some(entry) = self.clients.get_mut(client) {
            entry.1 = pick;
        }
        Some(servers[pick])
    }

    fn write_status(&self, op: usize) -> Option<OpStatus> {
        match &self.ops[op] {
            Op::Write { .. } => Some(self.op(op as u64)),
            _ => None,
        }
    }

    /// Sends what clients have queued, in each client's order: writes as soon as the
    /// client is connected to a serving server, reads once everything the client sent
    /// before them is answered (ZooKeeper answers a session's requests in order).
    fn pump(&mut self) {
        let names: Vec<String> = self.unfinished.keys().cloned().collect();
        for client in names {
            let list = self.unfinished.get(&client).cloned().unwrap_or_default();
            let mut earlier_open = false;
            for &i in &list {
                match &self.ops[i] {
                    Op::Done(_) => {}
                    Op::Write { .. } => earlier_open |= self.write_status(i) == Some(OpStatus::Pending),
                    Op::Queued { command, .. } => {
                        let command = command.clone();
                        match write_request(&command) {
                            Some(request) => {
                                let Some(at) = self.connection(&client) else { break };
                                let request_id = self.world.write_in(at.0, at.1, request);
                                self.ops[i] = Op::Write { request_id, server: at };
                                earlier_open = true;
                            }
                            None => {
                                if earlier_open {
                                    break;
                                }
                                let Some(at) = self.connection(&client) else { break };
                                let status = self.local_read(at, &command).unwrap_or_else(OpStatus::Failed);
                                self.ops[i] = Op::Done(status);
                            }
                        }
                    }
                }
            }
            let open: Vec<usize> = list
                .into_iter()
                .filter(|&i| match &self.ops[i] {
                    Op::Done(_) => false,
                    Op::Queued { .. } => true,
                    Op::Write { .. } => self.write_status(i) == Some(OpStatus::Pending),
                })
                .collect();
            if open.is_empty() {
                self.unfinished.remove(&client);
            } else {
                self.unfinished.insert(client, open);
            }
        }
    }

    fn collect(&mut self, trace: &mut Vec<String>) {
        let t = self.world.trace();
        if t.len() < self.seen {
            self.seen = 0;
        }
        trace.extend(t.iter().skip(self.seen).map(ToString::to_string));
        self.seen = t.len();
    }

    fn local_read(&self, at: (usize, ServerId), command: &ZkCommand) -> Result<OpStatus, String> {
        let Some(server) = self.world.server(at.0, at.1) else {
            return Ok(OpStatus::Failed("CONNECTIONLOSS".into()));
        };
        if !self.serving(at) {
            return Ok(OpStatus::Failed("CONNECTIONLOSS".into()));
        }
        let state = server.state();
        let missing = || OpStatus::Failed("NONODE".into());
        Ok(match command {
            ZkCommand::Get { path, .. } => {
                state.node(path).map_or_else(missing, |n| OpStatus::Ok(n.data.clone()))
            }
            ZkCommand::Stat { path, .. } => state.node(path).map_or_else(missing, |n| {
                OpStatus::Ok(format!(
                    "version = {}, cversion = {}, numChildren = {}",
                    n.version, n.cversion, n.children
                ))
            }),
            ZkCommand::Ls { path, recursive: false, .. } => state
                .node(path)
                .map_or_else(missing, |_| OpStatus::Ok(format!("[{}]", state.children(path).join(", ")))),
            ZkCommand::GetAllChildrenNumber { path } => {
                state.node(path).map_or_else(missing, |_| OpStatus::Ok(state.descendants(path).to_string()))
            }
            ZkCommand::Sync { path } => OpStatus::Ok(path.clone()),
            other => return Err(format!("`{other}` needs the znode tree and clients (issues 3 and 6)")),
        })
    }
}

/// The [`Paths`] request for a write command, if it is one `Paths` can do.
fn write_request(command: &ZkCommand) -> Option<PathRequest> {
    Some(match command {
        ZkCommand::Create { mode, path, data, acl: None } => {
            let sequential = match mode {
                CreateMode::Persistent | CreateMode::Ephemeral | CreateMode::Container => false,
                CreateMode::PersistentSequential | CreateMode::EphemeralSequential => true,
                _ => return None,
            };
            PathRequest::Create { path: path.clone(), data: data.clone().unwrap_or_default(), sequential }
        }
        ZkCommand::Set { version, path, data, .. } => {
            PathRequest::Set { path: path.clone(), data: data.clone(), version: version.unwrap_or(-1) }
        }
        ZkCommand::Delete { version, path } => {
            PathRequest::Delete { path: path.clone(), version: version.unwrap_or(-1) }
        }
        _ => return None,
    })
}

/// Whether `Paths` can answer this read.
fn is_read(command: &ZkCommand) -> bool {
    matches!(
        command,
        ZkCommand::Get { .. }
            | ZkCommand::Stat { .. }
            | ZkCommand::Ls { recursive: false, .. }
            | ZkCommand::GetAllChildrenNumber { .. }
            | ZkCommand::Sync { .. }
    )
}

fn ppm(p: Percent) -> u32 {
    u32::from(p.0) * 100
}

fn apply_net(net: &mut NetConfig, s: &NetSettings) {
    if let Some((lo, hi)) = s.latency {
        net.latency_min_ms = lo.0;
        net.latency_max_ms = hi.0;
    }
    if let Some(p) = s.loss {
        net.loss_ppm = ppm(p);
    }
    if let Some(p) = s.duplicate {
        net.duplicate_ppm = ppm(p);
    }
}

impl Driver for SimDriver {
    fn now(&self) -> Millis {
        Millis(self.world.now())
    }

    fn events(&self) -> u64 {
        self.world.steps()
    }

    fn step(&mut self, trace: &mut Vec<String>) -> bool {
        let ran = self.world.step_quiet();
        self.pump();
        self.collect(trace);
        ran
    }

    fn step_until(&mut self, deadline: Millis, trace: &mut Vec<String>) -> bool {
        let ran = self.world.run_until(deadline.0, 1) == 1;
        self.pump();
        self.collect(trace);
        ran
    }

    fn act(&mut self, fault: &Fault, trace: &mut Vec<String>) -> Result<(), String> {
        match fault {
            Fault::Kill(s) => {
                let (c, id) = self.addr(s)?;
                self.world.kill_in(c, id);
            }
            Fault::Restart(s) => {
                let (c, id) = self.addr(s)?;
                self.world.restart_in(c, id);
            }
            Fault::Pause(s, d) => {
                let (c, id) = self.addr(s)?;
                self.world.pause_in(c, id, d.0);
            }
            Fault::Isolate(s) => {
                let (c, id) = self.addr(s)?;
                self.partition(c, &[vec![id]]);
            }
            Fault::Partition(groups) => {
                for c in 0..self.clusters.len() {
                    let mut per: Vec<Vec<ServerId>> = Vec::new();
                    for g in groups {
                        let ids: Vec<ServerId> = g
                            .iter()
                            .filter_map(|s| self.addr(s).ok())
                            .filter(|a| a.0 == c)
                            .map(|a| a.1)
                            .collect();
                        if !ids.is_empty() {
                            per.push(ids);
                        }
                    }
                    if per.len() >= 2 {
                        self.partition(c, &per);
                    }
                }
            }
            Fault::Cut { from, to } => {
                for f in from {
                    for t in to {
                        let (fa, ta) = (self.addr(f)?, self.addr(t)?);
                        if fa.0 == ta.0 && fa.1 != ta.1 {
                            self.world.block_in(fa.0, fa.1, ta.1);
                            self.blocked.insert((fa.0, fa.1, ta.1));
                        }
                    }
                }
            }
            Fault::Heal(None) => {
                self.world.heal();
                self.blocked.clear();
            }
            Fault::Heal(Some(s)) => {
                // The world heals everything at once: heal, then cut again what does
                // not involve this server.
                let (c, id) = self.addr(s)?;
                self.blocked.retain(|&(bc, f, t)| !(bc == c && (f == id || t == id)));
                self.world.heal();
                for &(bc, f, t) in &self.blocked {
                    self.world.block_in(bc, f, t);
                }
            }
            Fault::Network(n) => {
                let mut net = self.world.config().net;
                apply_net(&mut net, n);
                self.world.set_network(net);
            }
            Fault::ServerLink { from, to, both_ways, net } => {
                let (fa, ta) = (self.addr(from)?, self.addr(to)?);
                let cfg = net.as_ref().map(|n| {
                    let mut cfg = self.world.config().net;
                    apply_net(&mut cfg, n);
                    cfg
                });
                self.world.set_link_in(fa.0, fa.1, ta.1, cfg);
                if *both_ways {
                    self.world.set_link_in(fa.0, ta.1, fa.1, cfg);
                }
            }
            Fault::Link(_) => {
                return Err("links between clusters come with multi-cluster worlds (issue 7)".into())
            }
        }
        self.pump();
        self.collect(trace);
        Ok(())
    }

    fn submit(&mut self, client: &str, command: &ZkCommand, trace: &mut Vec<String>) -> Result<u64, String> {
        if !self.clients.contains_key(client) {
            return Err(format!("no client {client}"));
        }
        if write_request(command).is_none() && !is_read(command) {
            return Err(match command {
                ZkCommand::Create { .. } => "TTL nodes and ACLs need the znode tree (issue 3)".to_string(),
                other => format!("`{other}` needs the znode tree and clients (issues 3 and 6)"),
            });
        }
        self.ops.push(Op::Queued { command: command.clone() });
        let handle = self.ops.len() - 1;
        self.unfinished.entry(client.to_string()).or_default().push(handle);
        self.pump();
        self.collect(trace);
        Ok(handle as u64)
    }

    fn op(&self, handle: u64) -> OpStatus {
        match self.ops.get(handle as usize) {
            None => OpStatus::Failed("no such operation".into()),
            Some(Op::Done(s)) => s.clone(),
            Some(Op::Queued { .. }) => OpStatus::Pending,
            Some(Op::Write { request_id, server }) => match self.world.write_status(*request_id) {
                None | Some(ClientWrite::Pending) => OpStatus::Pending,
                Some(ClientWrite::Refused) => OpStatus::Failed("CONNECTIONLOSS".into()),
                Some(ClientWrite::Ok(zxid)) => {
                    let from = |c: usize, id: ServerId| {
                        self.world.server(c, id).and_then(|s| s.state().reply(zxid).cloned())
                    };
                    let reply = from(server.0, server.1).or_else(|| {
                        let c = server.0;
                        self.world.servers_in(c).iter().find_map(|v| from(c, v.id))
                    });
                    match reply {
                        Some(Ok(v)) => OpStatus::Ok(v),
                        Some(Err(e)) => OpStatus::Failed(e),
                        None => OpStatus::Ok(String::new()),
                    }
                }
            },
        }
    }

    fn server(&self, name: &ServerName) -> ServerStatus {
        let Ok((c, id)) = self.addr(name) else {
            return ServerStatus { state: ServerState::Down, epoch: 0, committed: 0 };
        };
        let views = self.world.servers_in(c);
        let v = &views[(id.0 - 1) as usize];
        let state = match v.role {
            Role::Down => ServerState::Down,
            _ if v.paused => ServerState::Paused,
            Role::Leading => ServerState::Leading,
            Role::Following => ServerState::Following,
            Role::Looking => ServerState::Looking,
            Role::Observing => ServerState::Observing,
        };
        ServerStatus { state, epoch: v.epoch.0, committed: v.committed_zxid.0 }
    }

    fn leader(&self, cluster: &str) -> Option<ServerName> {
        let c = self.clusters.iter().position(|n| n == cluster)?;
        let id = self.world.leader(c)?;
        Some(ServerName { cluster: cluster.to_string(), id: id.0 as u8 })
    }

    fn read(&self, name: &ServerName, path: &str) -> Result<Option<String>, String> {
        let (c, id) = self.addr(name)?;
        let server = self.world.server(c, id).ok_or(format!("{name} is down"))?;
        Ok(server.state().node(path).map(|n| n.data.clone()))
    }

    fn violation(&self) -> Option<String> {
        self.world.violation().map(ToString::to_string)
    }

    fn trace_hash(&self) -> u64 {
        self.world.trace_hash()
    }
}

/// Runs a scenario on the simulator.
pub fn run(sc: &Scenario, opts: &super::run::Options) -> Result<super::run::Report, String> {
    Ok(super::run::run(sc, SimDriver::new(sc)?, opts))
}

/// A runner of a scenario on the simulator, to drive step by step (the browser).
pub fn runner(sc: &Scenario, opts: super::run::Options) -> Result<super::run::Runner<SimDriver>, String> {
    Ok(super::run::Runner::new(sc.clone(), SimDriver::new(sc)?, opts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_text(text: &str) -> super::super::run::Report {
        let sc = parse(text).unwrap_or_else(|e| panic!("{e}"));
        run(&sc, &Default::default()).unwrap()
    }

    #[test]
    fn paths_decide_like_zookeeper() {
        let mut p = Paths::default();
        let ctx = PrepareContext { zxid: Zxid(1), time_ms: 0 };
        let create =
            |path: &str, sequential| PathRequest::Create { path: path.into(), data: "d".into(), sequential };
        let t = p.prepare(&[], ctx, &create("/a/b", false));
        assert_eq!(t, PathTxn::Error { code: "NONODE".into() });
        let t = p.prepare(&[], ctx, &create("/a", false));
        assert_eq!(p.apply(Zxid(1), &t), Ok("/a".into()));
        // Sequential names count the parent's cversion, including outstanding creates.
        let t1 = p.prepare(&[], ctx, &create("/a/n-", true));
        let t2 = p.prepare(&[&t1], ctx, &create("/a/n-", true));
        assert_eq!(t1, PathTxn::Create { path: "/a/n-0000000000".into(), data: "d".into() });
        assert_eq!(t2, PathTxn::Create { path: "/a/n-0000000001".into(), data: "d".into() });
        let _ = p.apply(Zxid(2), &t1);
        let _ = p.apply(Zxid(3), &t2);
        assert_eq!(p.children("/a"), ["n-0000000000", "n-0000000001"]);
        let del = |path: &str, version| PathRequest::Delete { path: path.into(), version };
        assert_eq!(p.prepare(&[], ctx, &del("/a", -1)), PathTxn::Error { code: "NOTEMPTY".into() });
        assert_eq!(
            p.prepare(&[], ctx, &del("/a/n-0000000000", 3)),
            PathTxn::Error { code: "BADVERSION".into() }
        );
        let mut q = Paths::default();
        for (z, t) in [t, t1, t2].iter().enumerate() {
            let _ = q.apply(Zxid(z as u64 + 1), t);
        }
        assert_eq!(q.digest(), p.digest(), "same contents, same digest");
    }

    #[test]
    fn a_scenario_runs_on_the_simulator() {
        let r = run_text(
            "seed 1\ncluster a with 3 servers\nclient c1 connects to a1\n\n\
             run until a has a leader\nexpect a3 is leading in epoch 1\n\
             c1: create /x hello\nc1: create /x again\nc1: create -s /x/n- \"\"\nrun 1s\n\
             expect c1#1 succeeded\nexpect c1#2 failed with NODEEXISTS\nexpect c1 returned \"/x/n-0000000000\"\n\
             expect a has /x = hello\nexpect invariants hold\nc1: get /x\nexpect c1 returned hello\n",
        );
        assert!(r.passed(), "{r}");
    }

    #[test]
    fn same_scenario_same_trace_hash() {
        let text = "seed 9\ncluster a with 5 servers\nclient c1 connects to a\n\nrun until a has a leader\n\
                    c1: create /x 1\nkill leader of a\nrun until a has a leader\nrun 2s\n";
        let (a, b) = (run_text(text), run_text(text));
        assert_eq!(a.trace_hash, b.trace_hash);
        assert_eq!(a, b);
        let other = run_text(&text.replace("seed 9", "seed 10"));
        assert_ne!(a.trace_hash, other.trace_hash);
    }

    #[test]
    fn a_link_reopens_the_same_state_with_the_same_trace_hash() {
        use crate::scenario::run::Options;
        let sc = parse("seed 11\ncluster a with 3 servers\nclient c1 connects to a1\n").unwrap();
        // What the page does: start, then append each user action as it happens.
        let mut page = runner(&sc, Options::default()).unwrap();
        let actions = [
            "run until a has a leader",
            "c1: create /x 1",
            "step 7",
            "kill leader of a",
            "run 1500ms",
            "c1: set /x 2",
            "step 3",
        ];
        for a in actions {
            let text = format!("{sc}{a}\n");
            let step = parse(&text).unwrap().steps.pop().unwrap();
            page.append(step).unwrap();
        }
        let link = page.link().unwrap();
        let (opened, position) = crate::scenario::link::decode(&link).unwrap();
        assert_eq!(&opened, page.scenario());
        assert_eq!(position, page.driver().events());
        let mut other =
            runner(&opened, Options { stop_at_events: Some(position), ..Options::default() }).unwrap();
        other.run_all();
        assert_eq!(other.report().trace_hash, page.report().trace_hash);
        assert_eq!(other.report().events, page.report().events);
        // A position earlier in the run stops there (scrubbing back in time).
        let mut back =
            runner(&opened, Options { stop_at_events: Some(position / 2), ..Options::default() }).unwrap();
        back.run_all();
        assert!(back.is_done());
        assert_eq!(back.report().events, position / 2);
    }

    #[test]
    fn a_run_can_stop_at_a_time() {
        use crate::scenario::run::Options;
        let sc = parse("seed 1\ncluster a with 3 servers\n\nrun 10s\nexpect a has a leader\n").unwrap();
        let r = super::super::run::run(
            &sc,
            SimDriver::new(&sc).unwrap(),
            &Options { stop_at_time: Some(Millis(150)), ..Options::default() },
        );
        assert_eq!(r.time, Millis(150));
        assert!(r.checks.is_empty(), "stopped before the expectation");
    }

    #[test]
    fn healing_one_server_keeps_the_other_cuts() {
        let r = run_text(
            "seed 2\ncluster a with 5 servers\nclient c1 connects to a1\n\n\
             run until a has a leader\nexpect a5 is leading\n\
             partition a1 | a2 | a3 a4 a5\nrun 2s\nexpect a1 is looking\nexpect a2 is looking\n\
             heal a1\nrun until a1 is following within 20s\nrun 2s\nexpect a2 is looking\n\
             heal\nrun until a2 is following within 20s\nexpect invariants hold\n",
        );
        assert!(r.passed(), "{r}");
    }
}
