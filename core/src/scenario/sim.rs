//! Scenarios on the simulator: [`SimDriver`] drives a [`World`] of [`ZkDatabase`]s
//! (ZooKeeper's data tree replicated by ZAB) for [`super::run`], with simulated
//! ZooKeeper clients and sessions.
//!
//! **Clients** follow ZooKeeper's client (`ClientCnxn`) and servers
//! (`ZooKeeperServer`, `SessionTrackerImpl`, `FinalRequestProcessor`):
//! - A client tries the servers of its connect string in turn. Its first connection
//!   creates its session: a createSession transaction through the leader, with the
//!   timeout zkCli asks for (30 s) negotiated into [2, 20] × tickTime.
//! - A server that is not serving refuses the connection; so does a server whose last
//!   applied zxid is behind the last zxid the client has seen (ZooKeeper's "Refusing
//!   session request for client as it has seen zxid …"). The client tries the next one.
//!   A failed attempt fails the client's queued requests with CONNECTIONLOSS.
//! - Reconnecting with its session, the client re-registers its watches (setWatches,
//!   relative to its last zxid: events it missed fire at once). If the leader no
//!   longer knows the session, the client is told it expired: SESSIONEXPIRED for every
//!   request from then on, and an `Expired` event.
//! - Losing its connection (its server crashes, stops serving, or the client is
//!   disconnected) fails every request in flight with CONNECTIONLOSS: a write may still
//!   commit (its reply is lost), and the history keeps that ambiguity.
//! - Writes go to the connected server, which forwards them to the leader; reads are
//!   answered from the connected server's own tree (possibly stale), after the
//!   session's earlier requests (per-session FIFO, as `CommitProcessor` orders them);
//!   `sync` completes once the server has applied what the leader had committed when
//!   the sync reached it.
//! - Watches live on the connected server, which delivers their events before any
//!   later reply; a server forgets a connection's watches when the connection ends.
//! - Sessions expire at the leader: its tracker (rebuilt from its tree when a leader is
//!   elected, every session's deadline then restarting, as in ZooKeeper) expires a
//!   session whose client has not been heard for its timeout, by proposing
//!   closeSession, which deletes the session's ephemerals.
//! - A session moves with its client: reconnecting to another server revalidates it
//!   with the leader (`ZkDatabase::revalidate`), whose tracker then refuses the
//!   session's writes from any other server with SESSIONMOVED when it prepares them
//!   (`zab::zkdb`); the old server closes the session's connection when such a refusal
//!   comes back (`late_writes`).
//!
//! **Client latency** (`network client latency 2ms`, 0 by default): connection
//! requests, requests, replies and watch events take that long one way (replies and
//! events wait in the driver's inbox, delivered in order per client, with
//! `World::wake_at` waking the world on time), and the leader hears a session's pings
//! only once they arrive.
//!
//! **Simplifications** (the notes list them): client–server messages are never
//! lost and, without client latency, take no time (a client is either connected or cut
//! off, by a scenario's `disconnect`); a connected client's pings touch its session
//! continuously (ZooKeeper: pings every third of the read timeout, relayed by followers
//! to the leader at their pings); a client notices at once that its server crashed or
//! stopped serving (ZooKeeper: the connection closes), and after its read timeout (two
//! thirds of the session timeout) that it was cut off; session ids are allocated by
//! the driver; only one client holds a session (ZooKeeper's second client reopening a
//! saved session id is not modelled).

use super::histlog::{self, HistoryLog};
use super::run::{Driver, Fault, HistoryCheck, OpStatus, ServerStatus};
use super::*;
use crate::checker;
use crate::ids::{Epoch, ServerId, SessionId, Zxid};
use crate::sim::{ClientWrite, ClusterSpec, NetConfig, Role, World, WorldConfig};
use crate::tree::{
    self, Acl, AuthInfo, Create, Data, DataTree, OpResult, Perms, ReadRequest, ReadResponse, SetWatches,
    WatchManager, WatchMode, WatcherType, WriteRequest,
};
use crate::vecmap::StringSet;
use crate::vecmap::{VecMap, VecSet};
use crate::zab::zkdb::{ReconfigRequest, ZkDatabase, ZkRequest};
use crate::zab::ServerConfig;
use crate::zkcli::{self, ReconfigChange, ZkCommand};

mod inspect;
mod migrate;
pub use inspect::{ClientLink, ClientMessage, ClientMessageKind, TrackedSession};

/// The session timeout a client asks for (zkCli's default).
pub const REQUESTED_TIMEOUT_MS: u64 = 30_000;
/// How long a client waits before its next connection attempt.
pub const RETRY_MS: u64 = 100;
/// Events kept per client (the oldest are forgotten).
const EVENTS_KEPT: usize = 10_000;
/// Abandoned writes watched for a late SESSIONMOVED (the oldest are forgotten).
const LATE_KEPT: usize = 10_000;
/// Operations kept in a run (further commands are refused).
const MAX_OPS: usize = 1_000_000;

/// One client operation as a history records it: invocation, then completion.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct HistoryOp {
    /// The client.
    pub client: String,
    /// Its session when the operation was sent (0: none yet).
    pub session: i64,
    /// The command, as zkCli writes it.
    pub command: String,
    /// Simulated time of the invocation (ms).
    pub invoked_ms: u64,
    /// Simulated time of the completion, if it completed.
    pub completed_ms: Option<u64>,
    /// The outcome (`Pending` until it completes).
    pub result: OpStatus,
    /// The zxid the reply carried (a write's transaction; a read's server's last
    /// applied zxid).
    pub zxid: Option<u64>,
}

/// A watch event as a client received it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ClientEvent {
    /// Simulated time (ms).
    pub time_ms: u64,
    /// `NodeDataChanged`, `NodeCreated`, …, or a state: `SyncConnected`,
    /// `Disconnected`, `Expired`.
    pub event: String,
    /// The path (empty for a state).
    pub path: String,
}

/// A client as a view shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ClientView {
    /// Its name.
    pub name: String,
    /// `connecting`, `connected`, `disconnected` or `expired`.
    pub state: &'static str,
    /// The server it is connected (or connecting) to, like `a1`.
    pub server: Option<String>,
    /// Its session id, once it has one.
    pub session: Option<i64>,
    /// Its negotiated session timeout (ms), once it has a session.
    pub timeout_ms: Option<u64>,
    /// The last zxid it has seen.
    pub last_zxid: u64,
    /// Whether its network reaches the servers (`disconnect` cuts it).
    pub reachable: bool,
    /// Its requests not yet answered.
    pub pending: usize,
}

#[derive(Clone, Debug)]
enum Conn {
    /// Not connected; next attempt at this time.
    Disconnected { retry_at: u64 },
    /// Its connection request is on its way to `at` (client latency).
    Dialing { at: (usize, ServerId), arrive: u64 },
    /// createSession sent.
    Creating { at: (usize, ServerId), inc: u32, request_id: u64, session: SessionId },
    /// Connected with its session.
    Connected { at: (usize, ServerId), inc: u32 },
    /// Its session expired or was closed: this handle is dead.
    Expired,
}

#[derive(Clone, Debug)]
struct Client {
    name: String,
    servers: Vec<(usize, ServerId)>,
    next: usize,
    session: Option<(SessionId, u64)>,
    last_zxid: Zxid,
    conn: Conn,
    up: bool,
    /// When its network was cut (it notices only after its read timeout).
    cut_at: u64,
    auth: AuthInfo,
    /// Unfinished operations, in the order sent.
    open: Vec<usize>,
    /// Watches to re-register after a reconnect.
    data_watches: StringSet,
    exist_watches: StringSet,
    child_watches: StringSet,
    persistent: StringSet,
    recursive: StringSet,
    events: Vec<ClientEvent>,
    /// Watch events its server sent while the client was cut off, on a connection
    /// that still stands: they arrive, before any later reply, if the network comes
    /// back before the connection times out (TCP delivers them late, in order).
    held: Vec<((usize, ServerId), tree::EventType, String)>,
    /// The generation of its server's connections its connection belongs to.
    conn_gen: u64,
    /// When it learns its connection is up (client latency after the server's
    /// answer): it sends nothing before.
    usable_at: u64,
    /// When its network last came back.
    up_since: u64,
}

#[derive(Clone, Debug)]
enum OpState {
    Queued,
    /// Handed to server `at`, which forwards it to the leader.
    Write {
        request_id: u64,
        at: (usize, ServerId),
    },
    Sync {
        at: (usize, ServerId),
        until: Zxid,
    },
    /// Answered by the server; the reply is on its way (client latency).
    Replying,
    Done(OpStatus),
}

#[derive(Clone, Debug)]
struct Op {
    client: usize,
    command: ZkCommand,
    state: OpState,
    session: i64,
    invoked_ms: u64,
    completed_ms: Option<u64>,
    zxid: Option<Zxid>,
    /// The tree's result, in the history checker's terms, for the completion.
    typed: Option<checker::OpResult>,
    /// When the request reaches its server (client latency), once sent.
    arrives: Option<u64>,
    /// Whether its result is null data (a `get` of a znode created without data).
    null: bool,
}

/// A message on its way from a server to a client (client latency).
#[derive(Clone, Debug)]
enum Arrival {
    /// The reply to operation `op`.
    Reply { op: usize, status: OpStatus, zxid: Option<Zxid> },
    /// A watch event from server `at`.
    Watch { at: (usize, ServerId), event: tree::EventType, path: String },
}

/// A server's client-facing side: its watch table and where it is in its tree's
/// applied transactions.
#[derive(Clone, Debug, Default)]
struct Facing {
    /// Which generation of the server's connections this is: it changes whenever the
    /// server closes them all (crash, not serving, tree reloaded).
    gen: u64,
    inc: u32,
    cursor: u64,
    watches: WatchManager,
}

/// The leader's session tracker, per cluster.
#[derive(Clone, Debug, Default)]
struct Tracker {
    leader: Option<(ServerId, Epoch)>,
    /// Session → (timeout, deadline, closeSession request in flight).
    sessions: VecMap<SessionId, (u64, u64, Option<u64>)>,
}

/// Drives a [`World`] of [`ZkDatabase`]s for a scenario. A clone is an independent
/// copy of the whole run so far (the playground's checkpoints).
#[derive(Clone)]
pub struct SimDriver {
    world: World<ZkDatabase>,
    clusters: Vec<String>,
    clients: Vec<Client>,
    ops: Vec<Op>,
    facing: VecMap<(usize, ServerId), Facing>,
    trackers: Vec<Tracker>,
    next_session: i64,
    /// The directed links cut, as the world has them (to heal one server's alone).
    blocked: VecSet<(usize, ServerId, ServerId)>,
    /// The world's trace records already collected as lines (a count of records, so a
    /// trace that forgets its oldest records loses no new ones).
    seen: u64,
    /// The driver's own trace lines (sessions, connections), not yet collected.
    lines: Vec<String>,
    /// The clients' history in the checker's terms.
    log: HistoryLog,
    /// closeSession proposals for expired sessions: (cluster, session, request id).
    closing: Vec<(usize, SessionId, u64)>,
    /// The last connection generation handed out (see `Facing::gen`).
    next_gen: u64,
    /// A migration between two of the clusters, if one was started.
    migration: Option<crate::migration::sim::Controller>,
    /// The scenario's deliberately broken migration behaviours (`bug migration-…`).
    broken_migration: crate::migration::sim::Broken,
    /// Latency of the links between clusters (`link a <-> b latency 40ms`), by pair.
    links: VecMap<(usize, usize), u64>,
    /// Writes failed with CONNECTIONLOSS that their server may still forward:
    /// (request id, client, server, session); see `late_writes`.
    late: Vec<(u64, usize, (usize, ServerId), SessionId)>,
    /// One-way client–server latency (`network client latency 2ms`; 0: instantaneous).
    client_ms: u64,
    /// Server-to-client messages in flight, in the order sent: (arrival time, client,
    /// message).
    inbox: Vec<(u64, usize, Arrival)>,
    /// Wake-ups asked of the world (`World::wake_at`), to deliver client messages on
    /// time.
    wakes: VecSet<u64>,
}

/// The trace lines a world keeps (the hash covers every line regardless).
const TRACE_CAPACITY: usize = 1 << 20;

fn negotiate(requested: u64, tick_ms: u64) -> u64 {
    requested.clamp(2 * tick_ms, 20 * tick_ms)
}

impl SimDriver {
    /// Builds the world a scenario declares, seeded with its seed.
    pub fn new(sc: &Scenario) -> Result<SimDriver, String> {
        // A scenario built in code gets the parser's checks too (sizes, names, ids).
        sc.validate()?;
        let mut server = ServerConfig::default();
        for b in &sc.bugs {
            b.apply(&mut server.bugs);
        }
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
                    spares: u64::from(c.spares),
                })
                .collect(),
            server,
            net,
            trace_capacity: TRACE_CAPACITY,
            ..WorldConfig::default()
        };
        let clusters: Vec<String> = sc.clusters.iter().map(|c| c.name.clone()).collect();
        let index = |name: &str| clusters.iter().position(|c| c == name).ok_or(format!("no cluster {name}"));
        let mut clients = Vec::new();
        for (k, c) in sc.clients.iter().enumerate() {
            let mut servers = Vec::new();
            for e in &c.connect {
                match e {
                    Endpoint::Server(s) => servers.push((index(&s.cluster)?, ServerId(u64::from(s.id)))),
                    Endpoint::Cluster(name) => {
                        let i = index(name)?;
                        let cl = &sc.clusters[i];
                        servers.extend((1..=u64::from(cl.total())).map(|id| (i, ServerId(id))));
                    }
                }
            }
            clients.push(Client {
                name: c.name.clone(),
                servers,
                next: 0,
                session: None,
                last_zxid: Zxid::ZERO,
                conn: Conn::Disconnected { retry_at: 0 },
                up: true,
                cut_at: 0,
                auth: AuthInfo::from_ip(&format!("10.0.1.{}", k + 1)),
                open: Vec::new(),
                data_watches: StringSet::new(),
                exist_watches: StringSet::new(),
                child_watches: StringSet::new(),
                persistent: StringSet::new(),
                recursive: StringSet::new(),
                events: Vec::new(),
                held: Vec::new(),
                conn_gen: 0,
                usable_at: 0,
                up_since: 0,
            });
        }
        let world = World::new(cfg, sc.seed);
        let seen = world.records();
        let mut links = VecMap::new();
        for l in &sc.links {
            let (a, b) = (index(&l.a)?, index(&l.b)?);
            let ms = l.net.latency.map_or(0, |(lo, hi)| (lo.0 + hi.0) / 2);
            links.insert((a.min(b), a.max(b)), ms);
        }
        Ok(SimDriver {
            world,
            trackers: vec![Tracker::default(); clusters.len()],
            clusters,
            clients,
            ops: Vec::new(),
            facing: VecMap::new(),
            next_session: 0,
            blocked: VecSet::new(),
            seen,
            lines: Vec::new(),
            log: HistoryLog::default(),
            closing: Vec::new(),
            next_gen: 0,
            migration: None,
            broken_migration: {
                let mut broken = crate::migration::sim::Broken::default();
                for b in &sc.bugs {
                    b.apply_migration(&mut broken);
                }
                broken
            },
            links,
            late: Vec::new(),
            client_ms: sc.network.client_latency.map_or(0, |l| l.0),
            inbox: Vec::new(),
            wakes: VecSet::new(),
        })
    }

    /// A copy of this driver whose world keeps only its latest `keep` trace records
    /// ([`World::clone_recent`]): it runs on exactly as this one does, for a fraction of
    /// a clone's memory (the playground's checkpoints; [`super::run::Runner::checkpoint`]).
    pub fn checkpoint(&mut self, keep: usize) -> SimDriver {
        SimDriver {
            world: self.world.clone_recent(keep),
            clusters: self.clusters.clone(),
            clients: self.clients.clone(),
            ops: self.ops.clone(),
            facing: self.facing.clone(),
            trackers: self.trackers.clone(),
            next_session: self.next_session,
            blocked: self.blocked.clone(),
            seen: self.seen,
            lines: self.lines.clone(),
            log: self.log.clone(),
            closing: self.closing.clone(),
            next_gen: self.next_gen,
            migration: self.migration.clone(),
            broken_migration: self.broken_migration,
            links: self.links.clone(),
            late: self.late.clone(),
            client_ms: self.client_ms,
            inbox: self.inbox.clone(),
            wakes: self.wakes.clone(),
        }
    }

    /// The world, for views beyond the scenario's.
    pub fn world(&self) -> &World<ZkDatabase> {
        &self.world
    }

    /// Every client operation so far, in the order invoked: the history a checker
    /// reads (invocation, completion with result or error, session, reply zxid).
    pub fn history(&self) -> Vec<HistoryOp> {
        self.ops
            .iter()
            .map(|o| HistoryOp {
                client: self.clients[o.client].name.clone(),
                session: o.session,
                command: o.command.to_string(),
                invoked_ms: o.invoked_ms,
                completed_ms: o.completed_ms,
                result: self.status(o),
                zxid: o.zxid.map(|z| z.0),
            })
            .collect()
    }

    /// The history of the clients of cluster `c` in the checker's terms (see
    /// [`HistoryLog`] for what it leaves out).
    pub fn checker_history(&self, c: usize) -> checker::History {
        let commands: Vec<&ZkCommand> = self.ops.iter().map(|o| &o.command).collect();
        self.log.build(c, &commands)
    }

    /// Checks the history of the clients of cluster `c`.
    pub fn check_history_of(&self, c: usize) -> (checker::History, checker::Report) {
        let history = self.checker_history(c);
        let report = checker::check(&history);
        (history, report)
    }

    /// The events a client received (watch events and connection states), in order.
    pub fn client_events(&self, client: &str) -> &[ClientEvent] {
        self.clients.iter().find(|c| c.name == client).map_or(&[], |c| c.events.as_slice())
    }

    /// Every client: its connection, session and pending requests.
    pub fn client_views(&self) -> Vec<ClientView> {
        self.clients
            .iter()
            .map(|c| {
                let (state, at) = match &c.conn {
                    Conn::Disconnected { .. } => ("disconnected", None),
                    Conn::Dialing { at, .. } | Conn::Creating { at, .. } => ("connecting", Some(*at)),
                    Conn::Connected { at, .. } => ("connected", Some(*at)),
                    Conn::Expired => ("expired", None),
                };
                ClientView {
                    name: c.name.clone(),
                    state,
                    server: at.map(|a| self.name(a)),
                    session: c.session.map(|s| s.0 .0),
                    timeout_ms: c.session.map(|s| s.1),
                    last_zxid: c.last_zxid.0,
                    reachable: c.up,
                    pending: c.open.len(),
                }
            })
            .collect()
    }

    /// A client's session id, once it has one.
    pub fn session_of(&self, client: &str) -> Option<SessionId> {
        self.clients.iter().find(|c| c.name == client).and_then(|c| c.session.map(|s| s.0))
    }

    fn addr(&self, s: &ServerName) -> Result<(usize, ServerId), String> {
        let c =
            self.clusters.iter().position(|c| *c == s.cluster).ok_or(format!("no cluster {}", s.cluster))?;
        if usize::from(s.id) > self.world.servers_in(c).len() || s.id == 0 {
            return Err(format!("no server {s}"));
        }
        Ok((c, ServerId(u64::from(s.id))))
    }

    fn name(&self, (c, id): (usize, ServerId)) -> String {
        format!("{}{}", self.clusters[c], id.0)
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
        self.world.serves(c, id)
    }

    fn db(&self, (c, id): (usize, ServerId)) -> Option<&ZkDatabase> {
        self.world.server(c, id).map(|s| s.state())
    }

    fn status(&self, o: &Op) -> OpStatus {
        match &o.state {
            OpState::Done(s) => s.clone(),
            _ => OpStatus::Pending,
        }
    }

    fn finish(&mut self, i: usize, status: OpStatus, zxid: Option<Zxid>) {
        let now = self.world.now();
        let o = &mut self.ops[i];
        if matches!(o.state, OpState::Done(_)) {
            return;
        }
        let typed = o.typed.take();
        let ok = match &status {
            OpStatus::Ok(_) => Ok(typed),
            // A failure the model reads as a result (exists() of a missing node).
            OpStatus::Failed(_) if typed.is_some() => Ok(typed),
            OpStatus::Failed(e) => Err(e.as_str()),
            OpStatus::Pending => Ok(None),
        };
        self.log.completed(i, now, ok, zxid);
        let o = &mut self.ops[i];
        o.state = OpState::Done(status);
        o.completed_ms = Some(now);
        o.zxid = zxid;
        if let Some(z) = zxid {
            let c = &mut self.clients[o.client];
            c.last_zxid = c.last_zxid.max(z);
        }
    }

    fn event(&mut self, k: usize, event: &str, path: &str) {
        let time_ms = self.world.now();
        let c = &mut self.clients[k];
        c.events.push(ClientEvent { time_ms, event: event.to_string(), path: path.to_string() });
        if c.events.len() > EVENTS_KEPT {
            c.events.remove(0);
        }
    }

    /// Everything that follows an event: servers deliver watch events, trackers expire
    /// sessions, clients (re)connect, send what they queued and collect replies.
    fn pump(&mut self) {
        self.note_closes();
        self.late_writes();
        self.pump_migration();
        self.deliver_watch_events();
        self.deliver_inbox();
        for c in 0..self.clusters.len() {
            self.track_sessions(c);
        }
        for k in 0..self.clients.len() {
            self.pump_client(k);
        }
    }

    fn deliver_watch_events(&mut self) {
        let mut delivered: Vec<((usize, ServerId), tree::WatchedEvent)> = Vec::new();
        for c in 0..self.clusters.len() {
            for (id, serving) in self.world.serving_in(c) {
                let at = (c, id);
                let inc = self.world.incarnation(c, id);
                let Some(db) = self.world.server(c, id).map(|s| s.state()) else {
                    self.facing.remove(&at);
                    continue;
                };
                let f = self.facing.entry(at).or_default();
                if f.gen == 0 {
                    self.next_gen += 1;
                    f.gen = self.next_gen;
                }
                // A server that stops serving closes every connection and forgets its
                // watches (ZooKeeper shuts its ZooKeeperServer down); its tree may be
                // reloaded meanwhile, so the cursor starts again.
                let fresh = f.inc != inc || db.applied_count() < f.cursor || !serving;
                if fresh {
                    self.next_gen += 1;
                    let gen = self.next_gen;
                    *f = Facing { gen, inc, cursor: db.applied_count(), watches: WatchManager::new() };
                    continue;
                }
                let mut triggers = Vec::new();
                match db.triggers_since(f.cursor) {
                    Ok(it) => triggers.extend(it.flat_map(|(_, t)| t.iter().cloned())),
                    Err(_) => f.watches = WatchManager::new(),
                }
                f.cursor = db.applied_count();
                if triggers.is_empty() {
                    continue; // nothing fires (the usual case: this runs after every event)
                }
                let auths: VecMap<SessionId, AuthInfo> =
                    self.clients.iter().filter_map(|cl| cl.session.map(|s| (s.0, cl.auth.clone()))).collect();
                for e in f.watches.trigger(&triggers, |w| auths.get(&w)) {
                    delivered.push((at, e));
                }
            }
        }
        for (at, e) in delivered {
            let k = self.clients.iter().position(|cl| {
                cl.session.map(|s| s.0) == Some(e.watcher)
                    && matches!(cl.conn, Conn::Connected { at: a, .. } if a == at)
            });
            // A cut-off client gets it once its network is back, if its connection
            // survived; otherwise it keeps the watch and re-registers it on
            // reconnecting, when setWatches fires it (the change is newer).
            match k {
                Some(k) if self.client_ms > 0 => {
                    let due = self.world.now() + self.client_ms;
                    self.send_to_client(due, k, Arrival::Watch { at, event: e.event, path: e.path });
                }
                Some(k) if self.clients[k].up => self.watch_event(k, at, e.event, &e.path),
                Some(k) => self.clients[k].held.push((at, e.event, e.path.clone())),
                None => {}
            }
        }
    }

    /// Asks the world to run at `t` (a client message is due then).
    fn wake(&mut self, t: u64) {
        let now = self.world.now();
        self.wakes.retain(|&w| w > now);
        if t > now && self.wakes.insert(t) {
            self.world.wake_at(t);
        }
    }

    /// A server sends client `k` a message that arrives at `due`.
    fn send_to_client(&mut self, due: u64, k: usize, arrival: Arrival) {
        self.inbox.push((due, k, arrival));
        self.wake(due);
    }

    /// The server answers operation `i`: at once without client latency, otherwise
    /// the reply arrives after it (the operation completes then).
    fn answer(&mut self, i: usize, status: OpStatus, zxid: Option<Zxid>) {
        if self.client_ms == 0 {
            return self.finish(i, status, zxid);
        }
        self.ops[i].state = OpState::Replying;
        let due = self.world.now() + self.client_ms;
        let k = self.ops[i].client;
        self.send_to_client(due, k, Arrival::Reply { op: i, status, zxid });
    }

    /// Delivers the server-to-client messages that have arrived, each client's in the
    /// order sent: to a cut-off client nothing arrives until its network is back (a
    /// reply whose connection closed meanwhile was already failed with
    /// CONNECTIONLOSS; a watch event then re-fires through setWatches).
    fn deliver_inbox(&mut self) {
        let now = self.world.now();
        let mut blocked = VecSet::new();
        let mut keep = Vec::new();
        for (due, k, arrival) in std::mem::take(&mut self.inbox) {
            if blocked.contains(&k) || due > now || !self.clients[k].up {
                blocked.insert(k);
                keep.push((due, k, arrival));
                continue;
            }
            match arrival {
                Arrival::Reply { op, status, zxid } => {
                    if matches!(self.ops[op].state, OpState::Replying) {
                        self.finish(op, status, zxid);
                    }
                }
                Arrival::Watch { at, event, path } => {
                    if matches!(self.clients[k].conn, Conn::Connected { at: a, .. } if a == at) {
                        self.watch_event(k, at, event, &path);
                    }
                }
            }
        }
        keep.append(&mut self.inbox);
        self.inbox = keep;
        let ops = &self.ops;
        for cl in &mut self.clients {
            cl.open.retain(|&i| !matches!(ops[i].state, OpState::Done(_)));
        }
    }

    /// Whether client `k`'s pings reach its server now: always while its network is
    /// up without client latency; with it, from one latency after the network came
    /// back until one latency after it was cut (the pings in flight).
    fn pings_arrive(&self, k: usize) -> bool {
        let (cl, now, l) = (&self.clients[k], self.world.now(), self.client_ms);
        if l == 0 {
            cl.up
        } else if cl.up {
            now >= cl.up_since + l
        } else {
            now <= cl.cut_at + l
        }
    }

    /// A watch event reaches client `k` from server `at`: its one-shot watches on the
    /// path are spent (it will not re-register them after a reconnect).
    fn watch_event(&mut self, k: usize, at: (usize, ServerId), event: tree::EventType, path: &str) {
        use tree::EventType as E;
        let cl = &mut self.clients[k];
        match event {
            E::NodeCreated => {
                cl.exist_watches.remove(path);
            }
            E::NodeDataChanged => {
                cl.data_watches.remove(path);
                cl.exist_watches.remove(path);
            }
            E::NodeChildrenChanged => {
                cl.child_watches.remove(path);
            }
            E::NodeDeleted => {
                cl.data_watches.remove(path);
                cl.exist_watches.remove(path);
                cl.child_watches.remove(path);
            }
            _ => {}
        }
        if let Some((session, _)) = self.clients[k].session {
            self.log.watch_event(at.0, session, self.world.now(), event, path);
        }
        let name = event.java_name();
        let line = format!(
            "t={} {} → {} WATCH {name} {path}",
            self.world.now(),
            self.name(at),
            self.clients[k].name
        );
        self.lines.push(line);
        self.event(k, name, path);
    }

    /// Records the expiries the leaders committed (for the history checker).
    fn note_closes(&mut self) {
        let now = self.world.now();
        let mut i = 0;
        while i < self.closing.len() {
            let (c, s, r) = self.closing[i];
            match self.world.write_status(r) {
                Some(ClientWrite::Pending) => i += 1,
                Some(ClientWrite::Ok(zxid)) => {
                    if self.world.take_reply(r).is_some_and(|a| a.result.is_ok()) {
                        self.log.closed(c, s, now, zxid);
                    }
                    self.closing.swap_remove(i);
                }
                Some(ClientWrite::Refused) | None => {
                    self.closing.swap_remove(i);
                }
            }
        }
    }

    /// Writes whose client stopped waiting (CONNECTIONLOSS) and that their server may
    /// still forward: one the leader refuses because the session moved to another
    /// server is answered SESSIONMOVED on the old server, which closes the session's
    /// connection there (ZooKeeper's `FinalRequestProcessor`: a connection-level
    /// error). The client's history keeps CONNECTIONLOSS: it had left, and ZooKeeper's
    /// clients do not read from such old connections.
    fn late_writes(&mut self) {
        let now = self.world.now();
        let mut i = 0;
        while i < self.late.len() {
            let (r, k, at, session) = self.late[i];
            match self.world.write_status(r) {
                Some(ClientWrite::Pending) => {
                    i += 1;
                    continue;
                }
                Some(ClientWrite::Ok(zxid)) => {
                    let moved = self.world.take_reply(r).is_some_and(
                        |a| matches!(a.result, Err(f) if f.error == tree::ZkError::SessionMoved),
                    );
                    if moved {
                        self.lines.push(format!(
                            "t={now} {} → {} SESSIONMOVED zxid=0x{:x}: session 0x{:x} moved, its late write is refused and the connection closed",
                            self.name(at),
                            self.clients[k].name,
                            zxid.0,
                            session.0
                        ));
                        let here = matches!(self.clients[k].conn, Conn::Connected { at: a, .. } if a == at);
                        if here && self.clients[k].session.map(|s| s.0) == Some(session) {
                            self.disconnect(k, "SESSIONMOVED");
                        }
                    }
                }
                Some(ClientWrite::Refused) | None => {}
            }
            self.late.swap_remove(i);
        }
    }

    fn track_sessions(&mut self, c: usize) {
        let now = self.world.now();
        let leader = self.world.leader(c).map(|id| {
            let epoch = self.world.server(c, id).map_or(Epoch(0), |s| s.status().current_epoch);
            (id, epoch)
        });
        let Some((lid, lepoch)) = leader else {
            self.trackers[c].leader = None;
            return;
        };
        let Some(tree) = self.world.server(c, lid).map(|s| s.state().tree()) else { return };
        let live: VecMap<SessionId, i32> = tree.sessions().clone();
        let t = &mut self.trackers[c];
        if t.leader != Some((lid, lepoch)) {
            // A new leader: its tracker starts from the committed sessions, every
            // deadline restarting (ZooKeeper's SessionTrackerImpl on a new leader).
            t.leader = Some((lid, lepoch));
            t.sessions.clear();
        }
        t.sessions.retain(|s, _| live.contains_key(s));
        for (&s, &timeout) in &live {
            let timeout = u64::try_from(timeout).unwrap_or(0);
            t.sessions.entry(s).or_insert((timeout, now + timeout, None));
        }
        // Connected clients touch their sessions.
        let mut touched = Vec::new();
        let mut serving = Vec::new();
        for (k, cl) in self.clients.iter().enumerate() {
            let Conn::Connected { at, .. } = cl.conn else { continue };
            if at.0 == c && self.pings_arrive(k) {
                if let Some((s, _)) = cl.session {
                    touched.push(s);
                    serving.push(self.serving(at));
                }
            }
        }
        let held = self.sessions_held(c);
        let t = &mut self.trackers[c];
        for (s, ok) in touched.iter().zip(serving) {
            if let Some(e) = t.sessions.get_mut(s) {
                if ok {
                    e.1 = now + e.0;
                }
            }
        }
        if held {
            // A migration target before cut-over: the imported sessions' clocks start
            // when their clients move (see `migrate::sessions_held`).
            for e in t.sessions.values_mut() {
                e.1 = now + e.0;
            }
            return;
        }
        let mut expire = Vec::new();
        for (&s, e) in &t.sessions {
            let closing = e.2.and_then(|r| self.world.write_status(r));
            if e.1 <= now && !matches!(closing, Some(ClientWrite::Pending)) {
                expire.push(s);
            }
        }
        for s in expire {
            let request = ZkRequest::write(s, AuthInfo::default(), WriteRequest::CloseSession);
            let r = self.world.write_in(c, lid, request);
            self.lines.push(format!("t={now} {} expires session 0x{:x}", self.name((c, lid)), s.0));
            if let Some(e) = self.trackers[c].sessions.get_mut(&s) {
                e.1 = now + e.0;
                e.2 = Some(r);
            }
            self.closing.push((c, s, r));
        }
    }

    /// The client loses its connection: requests in flight fail with CONNECTIONLOSS.
    fn disconnect(&mut self, k: usize, why: &str) {
        let now = self.world.now();
        if let Conn::Connected { at, .. } | Conn::Creating { at, .. } = self.clients[k].conn {
            if let (Some(f), Some((s, _))) = (self.facing.get_mut(&at), self.clients[k].session) {
                f.watches.remove_watcher(s);
            }
            let line = format!("t={now} {} loses {} ({why})", self.clients[k].name, self.name(at));
            self.lines.push(line);
        }
        let was_connected = matches!(self.clients[k].conn, Conn::Connected { .. });
        self.clients[k].conn = Conn::Disconnected { retry_at: now + RETRY_MS };
        self.clients[k].held.clear();
        // What was in flight to it on that connection is lost with it.
        self.inbox.retain(|&(_, c, _)| c != k);
        self.fail_open(k, "CONNECTIONLOSS");
        if was_connected {
            self.event(k, "Disconnected", "");
        }
    }

    fn fail_open(&mut self, k: usize, code: &str) {
        for i in std::mem::take(&mut self.clients[k].open) {
            if let (OpState::Write { request_id, at }, Some((session, _))) =
                (&self.ops[i].state, self.clients[k].session)
            {
                // Its server may still forward it: the leader decides (see `late_writes`).
                self.late.push((*request_id, k, *at, session));
                if self.late.len() > LATE_KEPT {
                    self.late.remove(0);
                }
            }
            self.finish(i, OpStatus::Failed(code.to_string()), None);
        }
    }

    fn expire(&mut self, k: usize, cluster: usize) {
        let now = self.world.now();
        if let Some((session, _)) = self.clients[k].session {
            self.log.expired(cluster, session, now);
        }
        self.lines.push(format!("t={now} {} is told its session expired", self.clients[k].name));
        self.clients[k].conn = Conn::Expired;
        self.inbox.retain(|&(_, c, _)| c != k);
        self.fail_open(k, "SESSIONEXPIRED");
        self.event(k, "Expired", "");
    }

    fn pump_client(&mut self, k: usize) {
        let now = self.world.now();
        match self.clients[k].conn.clone() {
            Conn::Expired => self.fail_open(k, "SESSIONEXPIRED"),
            Conn::Creating { at, inc, request_id, session } => match self.world.write_status(request_id) {
                Some(ClientWrite::Ok(zxid)) => {
                    let reply = self.world.take_reply(request_id);
                    if reply.is_none_or(|r| r.result.is_err()) {
                        return self.disconnect(k, "session refused");
                    }
                    let timeout = negotiate(REQUESTED_TIMEOUT_MS, self.world.config().server.tick_ms);
                    let server = self.name(at);
                    let gen = self.facing_gen(at);
                    let cl = &mut self.clients[k];
                    cl.conn_gen = gen;
                    cl.session = Some((session, timeout));
                    cl.last_zxid = cl.last_zxid.max(zxid);
                    cl.conn = Conn::Connected { at, inc };
                    cl.usable_at = now + self.client_ms;
                    let line = format!(
                        "t={now} {} connected to {server} with session 0x{:x} timeout={timeout}ms",
                        cl.name, session.0
                    );
                    self.lines.push(line);
                    self.event(k, "SyncConnected", "");
                    self.pump_client(k);
                }
                Some(ClientWrite::Refused) | None => self.disconnect(k, "not serving"),
                Some(ClientWrite::Pending) => {
                    if !self.clients[k].up || self.world.incarnation(at.0, at.1) != inc || !self.serving(at) {
                        self.disconnect(k, "connection closed");
                    }
                }
            },
            Conn::Disconnected { retry_at } => {
                if now < retry_at || self.clients[k].servers.is_empty() {
                    return;
                }
                if !self.clients[k].up {
                    self.clients[k].conn = Conn::Disconnected { retry_at: now + RETRY_MS };
                    return self.fail_open(k, "CONNECTIONLOSS");
                }
                let cl = &mut self.clients[k];
                let at = cl.servers[cl.next % cl.servers.len()];
                cl.next = (cl.next + 1) % cl.servers.len();
                if self.client_ms > 0 {
                    let arrive = now + self.client_ms;
                    self.clients[k].conn = Conn::Dialing { at, arrive };
                    return self.wake(arrive);
                }
                self.connect(k, at);
            }
            Conn::Dialing { at, arrive } => {
                if !self.clients[k].up {
                    // The connection request was lost with the network.
                    self.clients[k].conn = Conn::Disconnected { retry_at: now + RETRY_MS };
                    return self.fail_open(k, "CONNECTIONLOSS");
                }
                if now >= arrive {
                    self.connect(k, at);
                }
            }
            Conn::Connected { at, inc } => {
                if !self.clients[k].up {
                    // ZooKeeper's client notices silence after its read timeout, two
                    // thirds of the session timeout; until then its requests go nowhere.
                    let timeout = self.clients[k].session.map_or(0, |s| s.1);
                    if now >= self.clients[k].cut_at + timeout * 2 / 3 {
                        self.disconnect(k, "read timeout");
                    }
                    return;
                }
                if self.world.incarnation(at.0, at.1) != inc || !self.serving(at) {
                    if self.world.incarnation(at.0, at.1) == inc {
                        self.take_answers(k, at);
                    }
                    return self.disconnect(k, "server not serving");
                }
                if self.facing.get(&at).map(|f| f.gen) != Some(self.clients[k].conn_gen) {
                    return self.disconnect(k, "connection closed by the server");
                }
                for (from, event, path) in std::mem::take(&mut self.clients[k].held) {
                    if from == at {
                        self.watch_event(k, at, event, &path);
                    }
                }
                let session = self.clients[k].session.map(|s| s.0);
                let known = session
                    .is_some_and(|s| self.db(at).is_some_and(|d| d.tree().sessions().contains_key(&s)));
                if !known
                    && self.clients[k].last_zxid <= self.db(at).map_or(Zxid::ZERO, |d| d.tree().last_zxid())
                {
                    // The server applied the closeSession: it closes the connection and
                    // the client learns its session expired.
                    return self.expire(k, at.0);
                }
                self.send_queued(k, at);
            }
        }
    }

    /// The generation of the server's current connections (see `Facing::gen`).
    fn facing_gen(&mut self, at: (usize, ServerId)) -> u64 {
        let inc = self.world.incarnation(at.0, at.1);
        let cursor = self.db(at).map_or(0, ZkDatabase::applied_count);
        let f = self.facing.entry(at).or_default();
        if f.gen == 0 || f.inc != inc {
            self.next_gen += 1;
            *f = Facing { gen: self.next_gen, inc, cursor, watches: WatchManager::new() };
        }
        f.gen
    }

    fn connect(&mut self, k: usize, at: (usize, ServerId)) {
        let now = self.world.now();
        let name = self.clients[k].name.clone();
        if !self.serving(at) {
            self.clients[k].conn = Conn::Disconnected { retry_at: now + RETRY_MS };
            return self.fail_open(k, "CONNECTIONLOSS");
        }
        let inc = self.world.incarnation(at.0, at.1);
        let Some((session, _)) = self.clients[k].session else {
            self.next_session += 1;
            let session = SessionId(((at.1 .0 as i64) << 56) | self.next_session);
            let timeout = negotiate(REQUESTED_TIMEOUT_MS, self.world.config().server.tick_ms);
            let request = ZkRequest {
                session,
                auth: self.clients[k].auth.clone(),
                request: WriteRequest::CreateSession {
                    timeout_ms: i32::try_from(timeout).unwrap_or(i32::MAX),
                },
                reconfig: None,
                ttl_enabled: true,
            };
            let request_id = self.world.write_in(at.0, at.1, request);
            self.clients[k].conn = Conn::Creating { at, inc, request_id, session };
            return;
        };
        let server_zxid = self.db(at).map_or(Zxid::ZERO, |d| d.tree().last_zxid());
        let seen = self.clients[k].last_zxid;
        if server_zxid < seen {
            self.lines.push(format!(
                "t={now} {} refuses {name}: it has seen zxid 0x{:x}, the server's last is 0x{:x}",
                self.name(at),
                seen.0,
                server_zxid.0
            ));
            self.clients[k].conn = Conn::Disconnected { retry_at: now + RETRY_MS };
            return self.fail_open(k, "CONNECTIONLOSS");
        }
        // The server revalidates the session with the leader.
        let alive = self.trackers[at.0].sessions.contains_key(&session)
            && self.db(at).is_some_and(|d| d.tree().sessions().contains_key(&session));
        if !alive {
            return self.expire(k, at.0);
        }
        if let Some(e) = self.trackers[at.0].sessions.get_mut(&session) {
            e.1 = now + e.0;
        }
        self.revalidate(session, at);
        self.clients[k].conn = Conn::Connected { at, inc };
        self.clients[k].usable_at = now + self.client_ms;
        self.lines.push(format!(
            "t={now} {name} reconnected to {} with session 0x{:x}",
            self.name(at),
            session.0
        ));
        self.event(k, "SyncConnected", "");
        // setWatches: re-register, relative to the last zxid seen.
        let cl = &self.clients[k];
        let req = SetWatches {
            relative_zxid: cl.last_zxid,
            data: cl.data_watches.iter().cloned().collect(),
            exist: cl.exist_watches.iter().cloned().collect(),
            child: cl.child_watches.iter().cloned().collect(),
            persistent: cl.persistent.iter().cloned().collect(),
            persistent_recursive: cl.recursive.iter().cloned().collect(),
        };
        self.clients[k].conn_gen = self.facing_gen(at);
        let f = self.facing.get_mut(&at).expect("facing_gen made it");
        let Some(tree) = self.world.server(at.0, at.1).map(|s| s.state().tree()) else { return };
        let events = tree.set_watches(&mut f.watches, session, &req);
        for e in events {
            self.watch_event(k, at, e.event, &e.path);
        }
        self.send_queued(k, at);
    }

    /// The leader learns that `at` owns `session` now (ZooKeeper's REVALIDATE from a
    /// learner, or the leader's own revalidation): a write of the session that another
    /// server forwards later is refused with SESSIONMOVED.
    fn revalidate(&mut self, session: SessionId, at: (usize, ServerId)) {
        let Some(lid) = self.world.leader(at.0) else { return };
        let epoch = self.world.servers_in(at.0).iter().find(|v| v.id == lid).map_or(Epoch(0), |v| v.epoch);
        if let Some(db) = self.world.state_mut_in(at.0, lid) {
            db.revalidate(session, at.1, epoch);
        }
    }

    /// What an answered write returned.
    fn write_outcome(&mut self, i: usize, at: (usize, ServerId), request_id: u64) -> OpStatus {
        let reconfig = matches!(self.ops[i].command, ZkCommand::Reconfig { .. });
        match self.world.take_reply(request_id).map(|a| a.result) {
            // zkCli prints the new configuration (as this server has it).
            Some(Ok(_)) if reconfig => OpStatus::Ok(
                self.db(at)
                    .and_then(|d| d.tree().node(tree::path::CONFIG))
                    .map(|n| String::from_utf8_lossy(&n.data).into_owned())
                    .unwrap_or_default(),
            ),
            Some(Ok(r)) => {
                self.ops[i].typed = histlog::write_result(&r);
                OpStatus::Ok(format_result(&r))
            }
            Some(Err(f)) => OpStatus::Failed(f.error.name().to_string()),
            None => OpStatus::Ok(String::new()),
        }
    }

    /// Answers a server sent before it stopped serving (in the same step: a server
    /// that commits a reconfiguration which moves it goes LOOKING at once) still
    /// reach its client, as they would on the wire before the connection closes.
    fn take_answers(&mut self, k: usize, at: (usize, ServerId)) {
        for i in self.clients[k].open.clone() {
            if let OpState::Write { request_id, .. } = self.ops[i].state {
                if let Some(ClientWrite::Ok(zxid)) = self.world.write_status(request_id) {
                    let status = self.write_outcome(i, at, request_id);
                    self.finish(i, status, Some(zxid));
                }
            }
        }
    }

    /// Sends a connected client's queued requests in order: writes at once (the server
    /// forwards them, in order, to the leader), reads and syncs once everything the
    /// client sent before them is answered.
    fn send_queued(&mut self, k: usize, at: (usize, ServerId)) {
        let Some((session, _)) = self.clients[k].session else { return };
        let list = self.clients[k].open.clone();
        let mut earlier_open = false;
        for &i in &list {
            match self.ops[i].state.clone() {
                OpState::Done(_) | OpState::Replying => {}
                OpState::Write { request_id, .. } => match self.world.write_status(request_id) {
                    Some(ClientWrite::Ok(zxid)) => {
                        let status = self.write_outcome(i, at, request_id);
                        self.answer(i, status, Some(zxid));
                    }
                    Some(ClientWrite::Refused) | None => {
                        return self.disconnect(k, "request refused");
                    }
                    Some(ClientWrite::Pending) => earlier_open = true,
                },
                OpState::Sync { at: sat, until } => {
                    let applied = self.db(sat).map_or(Zxid::ZERO, |d| d.tree().last_zxid());
                    if applied >= until {
                        let path = match &self.ops[i].command {
                            ZkCommand::Sync { path } => path.clone(),
                            _ => String::new(),
                        };
                        self.ops[i].typed = Some(checker::OpResult::Synced);
                        self.answer(i, OpStatus::Ok(path), Some(applied));
                    } else {
                        earlier_open = true;
                    }
                }
                OpState::Queued => {
                    if self.client_ms > 0 {
                        // The request travels: it reaches the server (and everything
                        // the client sent after it waits behind it) one latency after
                        // the client could send it.
                        let now = self.world.now();
                        let ready = now.max(self.clients[k].usable_at);
                        let arrive = *self.ops[i].arrives.get_or_insert(ready + self.client_ms);
                        if now < arrive {
                            self.wake(arrive);
                            break;
                        }
                    }
                    let command = self.ops[i].command.clone();
                    self.ops[i].session = session.0;
                    if let ZkCommand::AddAuth { scheme, auth } = &command {
                        if earlier_open {
                            break;
                        }
                        let r = self.clients[k].auth.add(scheme, auth.as_bytes(), None);
                        let status = match r {
                            Ok(()) => OpStatus::Ok(String::new()),
                            Err(e) => OpStatus::Failed(e.name().to_string()),
                        };
                        self.answer(i, status, None);
                        continue;
                    }
                    if let ZkCommand::Sync { .. } = command {
                        if earlier_open {
                            break;
                        }
                        // The leader answers once it has sent this server everything it
                        // had committed when the sync reached it.
                        let Some(leader) = self.world.leader(at.0) else { break };
                        let until = self.world.servers_in(at.0)[(leader.0 - 1) as usize].committed_zxid;
                        self.log.sent(i, at.0, session, self.world.now(), &command);
                        self.ops[i].state = OpState::Sync { at, until };
                        earlier_open = true;
                        continue;
                    }
                    if let ZkCommand::Reconfig { version, change, .. } = &command {
                        match reconfig_request(*version, change) {
                            Ok(r) => {
                                let auth = self.clients[k].auth.clone();
                                let r =
                                    self.world.write_in(at.0, at.1, ZkRequest::reconfig(session, auth, r));
                                self.ops[i].state = OpState::Write { request_id: r, at };
                                earlier_open = true;
                            }
                            Err(e) => self.answer(i, OpStatus::Failed(e), None),
                        }
                        continue;
                    }
                    if matches!(command, ZkCommand::DeleteAll { .. }) && earlier_open {
                        // zkCli lists the subtree (reads) before its multi: they wait for
                        // the session's earlier requests, as reads do.
                        break;
                    }
                    match write_request(&command, self.db(at).map(ZkDatabase::tree)) {
                        Some(Ok(request)) => {
                            let auth = self.clients[k].auth.clone();
                            let r = self.world.write_in(at.0, at.1, ZkRequest::write(session, auth, request));
                            self.log.sent(i, at.0, session, self.world.now(), &command);
                            self.ops[i].state = OpState::Write { request_id: r, at };
                            earlier_open = true;
                        }
                        Some(Err(e)) => self.answer(i, OpStatus::Failed(e), None),
                        None => {
                            if earlier_open {
                                break;
                            }
                            self.log.sent(i, at.0, session, self.world.now(), &command);
                            let (status, typed, null) = self.local_read(k, at, &command);
                            self.ops[i].typed = typed;
                            self.ops[i].null = null;
                            let zxid = self.db(at).map(|d| d.tree().last_zxid());
                            self.answer(i, status, zxid);
                        }
                    }
                }
            }
        }
        let ops = &self.ops;
        self.clients[k].open.retain(|&i| !matches!(ops[i].state, OpState::Done(_)));
    }

    fn collect(&mut self, trace: &mut Vec<String>) {
        let t = self.world.trace();
        let records = self.world.records();
        let new = usize::try_from(records - self.seen).unwrap_or(usize::MAX).min(t.len());
        trace.extend(t.range(t.len() - new..).map(ToString::to_string));
        self.seen = records;
        trace.append(&mut self.lines);
    }

    /// Answers a read from the server's own tree: the console's status, the checker's
    /// result, and whether it read null data.
    fn local_read(
        &mut self,
        k: usize,
        at: (usize, ServerId),
        command: &ZkCommand,
    ) -> (OpStatus, Option<checker::OpResult>, bool) {
        let Some((session, _)) = self.clients[k].session else {
            return (OpStatus::Failed("CONNECTIONLOSS".into()), None, false);
        };
        let Some(req) = read_request(command) else {
            return (
                OpStatus::Failed(format!("`{command}` is not supported by the simulator yet")),
                None,
                false,
            );
        };
        let inc = self.world.incarnation(at.0, at.1);
        let cursor = self.db(at).map_or(0, ZkDatabase::applied_count);
        let f = self.facing.entry(at).or_insert_with(|| {
            self.next_gen += 1;
            Facing { gen: self.next_gen, inc, cursor, watches: WatchManager::new() }
        });
        let Some(tree) = self.world.server(at.0, at.1).map(|s| s.state().tree()) else {
            return (OpStatus::Failed("CONNECTIONLOSS".into()), None, false);
        };
        let auth = self.clients[k].auth.clone();
        let result = tree.read(&mut f.watches, session, &auth, &req);
        // The client remembers its watches, to re-register them after a reconnect.
        let cl = &mut self.clients[k];
        match (&req, &result) {
            (ReadRequest::GetData { path, watch: true }, Ok(_)) => {
                cl.data_watches.insert(path.clone());
            }
            (ReadRequest::Exists { path, watch: true }, Ok(ReadResponse::Stat(_))) => {
                cl.data_watches.insert(path.clone());
            }
            (ReadRequest::Exists { path, watch: true }, Err(tree::ZkError::NoNode)) => {
                cl.exist_watches.insert(path.clone());
            }
            (ReadRequest::GetChildren { path, watch: true, .. }, Ok(_)) => {
                cl.child_watches.insert(path.clone());
            }
            (ReadRequest::AddWatch { path, mode }, Ok(_)) => {
                if *mode == WatchMode::PersistentRecursive {
                    cl.recursive.insert(path.clone());
                } else {
                    cl.persistent.insert(path.clone());
                }
            }
            _ => {}
        }
        match result {
            Ok(r) => {
                let typed = histlog::read_result(&r);
                let null = matches!(&r, ReadResponse::Data { data, .. } if data.is_null());
                (OpStatus::Ok(format_read(command, r)), typed, null)
            }
            // exists() of a missing node succeeds with no stat (zkCli prints an error).
            Err(tree::ZkError::NoNode) if matches!(req, ReadRequest::Exists { .. }) => {
                (OpStatus::Failed("NONODE".into()), Some(checker::OpResult::Exists { stat: None }), false)
            }
            Err(e) => (OpStatus::Failed(e.name().to_string()), None, false),
        }
    }
}

fn perms(p: zkcli::Perms) -> Perms {
    Perms(p.bits())
}

fn acl(list: &Option<Vec<zkcli::Acl>>) -> Vec<Acl> {
    match list {
        None => Acl::open_unsafe(),
        Some(l) => l.iter().map(|a| Acl::new(perms(a.perms), &a.scheme, &a.id)).collect(),
    }
}

fn create(
    mode: zkcli::CreateMode,
    path: &str,
    data: &Option<String>,
    list: &Option<Vec<zkcli::Acl>>,
) -> Create {
    let (mode, ttl) = mode.tree_mode();
    Create {
        path: path.to_string(),
        data: data.clone().map(String::into_bytes).into(),
        acl: acl(list),
        mode,
        ttl,
    }
}

/// The tree write for a command, if it is a write (`Err`: it cannot be sent). `deleteall`
/// lists the subtree on the connected server's tree, as zkCli does before its multi.
fn write_request(command: &ZkCommand, tree: Option<&DataTree>) -> Option<Result<WriteRequest, String>> {
    Some(Ok(match command {
        ZkCommand::Create { mode, path, data, acl: list } => {
            WriteRequest::Create(create(*mode, path, data, list))
        }
        ZkCommand::Set { version, path, data, .. } => WriteRequest::SetData {
            path: path.clone(),
            data: data.clone().into_bytes().into(),
            version: version.unwrap_or(-1),
        },
        ZkCommand::Delete { version, path } => {
            WriteRequest::Delete { path: path.clone(), version: version.unwrap_or(-1) }
        }
        ZkCommand::SetAcl { version, path, acl: list, recursive: false, .. } => WriteRequest::SetAcl {
            path: path.clone(),
            acl: acl(&Some(list.clone())),
            version: version.unwrap_or(-1),
        },
        ZkCommand::DeleteAll { path, .. } => {
            let Some(tree) = tree else { return Some(Err("CONNECTIONLOSS".into())) };
            if tree.node(path).is_none() {
                return Some(Err("NONODE".into()));
            }
            let prefix = format!("{}/", path.trim_end_matches('/'));
            let mut paths: Vec<String> = tree
                .nodes()
                .map(|(p, _)| p.to_string())
                .filter(|p| p.starts_with(&prefix) || p == path)
                .collect();
            // Deepest first.
            paths.sort_by_key(|p| std::cmp::Reverse(p.matches('/').count()));
            WriteRequest::Multi(
                paths.into_iter().map(|p| tree::MultiOp::Delete { path: p, version: -1 }).collect(),
            )
        }
        ZkCommand::Multi(ops) => WriteRequest::Multi(
            ops.iter()
                .map(|op| match op {
                    zkcli::MultiOp::Create { mode, path, data, acl: list } => {
                        tree::MultiOp::Create(create(*mode, path, data, list))
                    }
                    zkcli::MultiOp::Set { version, path, data } => tree::MultiOp::SetData {
                        path: path.clone(),
                        data: data.clone().into_bytes().into(),
                        version: version.unwrap_or(-1),
                    },
                    zkcli::MultiOp::Delete { version, path } => {
                        tree::MultiOp::Delete { path: path.clone(), version: version.unwrap_or(-1) }
                    }
                    zkcli::MultiOp::Check { version, path } => {
                        tree::MultiOp::Check { path: path.clone(), version: *version }
                    }
                })
                .collect(),
        ),
        _ => return None,
    }))
}

/// The tree read for a command the simulator answers from a server's tree.
/// zkCli's `reconfig` as ZooKeeper's request (`-file` is read client-side by zkCli;
/// simulated clients have no files).
fn reconfig_request(version: Option<u64>, change: &ReconfigChange) -> Result<ReconfigRequest, String> {
    let from_config = version.map_or(-1, |v| i64::try_from(v).unwrap_or(i64::MAX));
    let r = ReconfigRequest { from_config, ..ReconfigRequest::default() };
    Ok(match change {
        ReconfigChange::Incremental { add, remove } => {
            ReconfigRequest { joining: add.clone(), leaving: remove.clone(), ..r }
        }
        ReconfigChange::Members(m) => ReconfigRequest { members: Some(m.clone()), ..r },
        ReconfigChange::File(_) => return Err("`reconfig -file` needs a file; use -members".into()),
    })
}

fn read_request(command: &ZkCommand) -> Option<ReadRequest> {
    Some(match command {
        ZkCommand::Config { watch, .. } => {
            ReadRequest::GetData { path: tree::path::CONFIG.to_string(), watch: *watch }
        }
        ZkCommand::Get { path, watch, .. } => ReadRequest::GetData { path: path.clone(), watch: *watch },
        ZkCommand::Stat { path, watch } => ReadRequest::Exists { path: path.clone(), watch: *watch },
        ZkCommand::Ls { path, watch, recursive: false, .. } => {
            ReadRequest::GetChildren { path: path.clone(), watch: *watch, with_stat: false }
        }
        ZkCommand::GetAllChildrenNumber { path } => ReadRequest::GetAllChildrenNumber { path: path.clone() },
        ZkCommand::GetEphemerals { path } => {
            ReadRequest::GetEphemerals { prefix: path.clone().unwrap_or_default() }
        }
        ZkCommand::GetAcl { path, .. } => ReadRequest::GetAcl { path: path.clone() },
        ZkCommand::AddWatch { mode, path } => ReadRequest::AddWatch {
            path: path.clone(),
            mode: match mode {
                zkcli::AddWatchMode::Persistent => WatchMode::Persistent,
                zkcli::AddWatchMode::PersistentRecursive => WatchMode::PersistentRecursive,
            },
        },
        ZkCommand::RemoveWatches { path, kind, .. } => ReadRequest::RemoveWatches {
            path: path.clone(),
            kind: match kind {
                zkcli::WatcherKind::Children => WatcherType::Children,
                zkcli::WatcherKind::Data => WatcherType::Data,
                _ => WatcherType::Any,
            },
        },
        ZkCommand::WhoAmI => ReadRequest::WhoAmI,
        _ => return None,
    })
}

fn format_result(r: &OpResult) -> String {
    match r {
        OpResult::Created { path, .. } => path.clone(),
        OpResult::Multi(rs) => rs.iter().map(format_result).collect::<Vec<_>>().join(" ; "),
        _ => String::new(),
    }
}

fn format_read(command: &ZkCommand, r: ReadResponse) -> String {
    match r {
        ReadResponse::Data { data, .. } => match command {
            ZkCommand::Config { compact: true, .. } => {
                crate::config::compact_config(&String::from_utf8_lossy(&data))
            }
            // zkCli's `get`: null data prints `null`.
            _ => data.to_cli_string(),
        },
        ReadResponse::Stat(s) => {
            format!("version = {}, cversion = {}, numChildren = {}", s.version, s.cversion, s.num_children)
        }
        ReadResponse::Children { mut children, .. } => {
            children.sort();
            format!("[{}]", children.join(", "))
        }
        ReadResponse::Count(n) => n.to_string(),
        ReadResponse::Paths(mut p) => {
            p.sort();
            format!("[{}]", p.join(", "))
        }
        ReadResponse::Acl { acl, .. } => acl
            .iter()
            .map(|a| format!("{}:{}:{}", a.id.scheme, a.id.id, a.perms.0))
            .collect::<Vec<_>>()
            .join(", "),
        ReadResponse::Path(p) => p,
        ReadResponse::WhoAmI(ids) => {
            ids.iter().map(|(s, i)| format!("{s}:{i}")).collect::<Vec<_>>().join(", ")
        }
        ReadResponse::Done | ReadResponse::MultiRead(_) => {
            let _ = command;
            String::new()
        }
    }
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
                if let Some(l) = n.client_latency {
                    self.client_ms = l.0;
                }
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
        let k = self.clients.iter().position(|c| c.name == client).ok_or(format!("no client {client}"))?;
        let supported = write_request(command, None).is_some()
            || read_request(command).is_some()
            || matches!(command, ZkCommand::Reconfig { change, .. } if !matches!(change, ReconfigChange::File(_)))
            || matches!(command, ZkCommand::Sync { .. } | ZkCommand::AddAuth { .. });
        if !supported {
            return Err(format!("`{command}` is not supported by the simulator yet"));
        }
        if self.ops.len() >= MAX_OPS {
            return Err(format!("more than {MAX_OPS} client operations"));
        }
        let session = self.clients[k].session.map_or(0, |s| s.0 .0);
        self.ops.push(Op {
            client: k,
            command: command.clone(),
            state: OpState::Queued,
            session,
            invoked_ms: self.world.now(),
            completed_ms: None,
            zxid: None,
            typed: None,
            arrives: None,
            null: false,
        });
        let handle = self.ops.len() - 1;
        self.clients[k].open.push(handle);
        self.pump();
        self.collect(trace);
        Ok(handle as u64)
    }

    fn deliver(
        &mut self,
        from: &ServerName,
        to: &ServerName,
        kind: Option<&str>,
        trace: &mut Vec<String>,
    ) -> Result<String, String> {
        let (fa, ta) = (self.addr(from)?, self.addr(to)?);
        let between: Vec<_> = self
            .world
            .in_flight(usize::MAX)
            .into_iter()
            .filter(|m| (m.from.cluster, m.from.id) == fa && (m.to.cluster, m.to.id) == ta)
            .collect();
        let what = kind.unwrap_or("message");
        let Some(at) = between.iter().position(|m| kind.is_none_or(|k| m.msg.kind() == k)) else {
            return Err(format!("no {what} in flight from {from} to {to}"));
        };
        let m = &between[at];
        if !self.world.deliver(m.key) {
            let ahead = between[..at].iter().map(|e| e.msg.kind()).collect::<Vec<_>>().join(", ");
            return Err(format!(
                "{from} → {to} {}: the connection delivers in order, and {ahead} must arrive first",
                m.msg
            ));
        }
        self.pump();
        self.collect(trace);
        Ok(m.msg.to_string())
    }

    fn check_history(&self, cluster: Option<&str>) -> Result<Vec<HistoryCheck>, String> {
        let wanted: Vec<usize> = match cluster {
            Some(name) => {
                vec![self.clusters.iter().position(|c| c == name).ok_or(format!("no cluster {name}"))?]
            }
            None => (0..self.clusters.len()).collect(),
        };
        Ok(wanted
            .into_iter()
            .map(|c| {
                let (history, report) = self.check_history_of(c);
                HistoryCheck {
                    cluster: self.clusters[c].clone(),
                    operations: history.operations.len(),
                    summary: histlog::summary(&history, &report),
                    verdict: report.verdict,
                }
            })
            .collect())
    }

    fn config(&self, name: &ServerName) -> Option<(u64, Vec<u8>)> {
        let (c, id) = self.addr(name).ok()?;
        let config = self.world.server(c, id)?.config();
        let voters = config.participants().iter().filter_map(|v| u8::try_from(v.0).ok()).collect();
        Some((config.version, voters))
    }

    fn op(&self, handle: u64) -> OpStatus {
        match self.ops.get(handle as usize) {
            None => OpStatus::Failed("no such operation".into()),
            Some(o) => self.status(o),
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

    fn read(&self, name: &ServerName, path: &str) -> Result<Option<Data>, String> {
        let (c, id) = self.addr(name)?;
        let server = self.world.server(c, id).ok_or(format!("{name} is down"))?;
        Ok(server.state().tree().node(path).map(|n| n.data.clone()))
    }

    fn null_result(&self, handle: u64) -> bool {
        self.ops
            .get(handle as usize)
            .is_some_and(|o| o.null && matches!(o.state, OpState::Done(OpStatus::Ok(_))))
    }

    fn violation(&self) -> Option<String> {
        self.world.violation().map(ToString::to_string).or_else(|| {
            self.migration.as_ref().and_then(|m| m.violation()).map(|v| format!("migration: {v}"))
        })
    }

    fn trace_hash(&self) -> u64 {
        self.world.trace_hash()
    }

    fn connected(&self, client: &str) -> bool {
        self.clients.iter().any(|c| c.name == client && matches!(c.conn, Conn::Connected { .. }))
    }

    fn saw(&self, client: &str, event: &str, path: Option<&str>) -> usize {
        self.client_events(client)
            .iter()
            .filter(|e| e.event == event && path.is_none_or(|p| p == e.path))
            .count()
    }

    fn migration(
        &mut self,
        a: &crate::scenario::migrate::MigrationAction,
        trace: &mut Vec<String>,
    ) -> Result<String, String> {
        let r = migrate::statement(self, a);
        self.collect(trace);
        r
    }

    fn migration_phase(&self) -> Option<crate::migration::phase::Phase> {
        self.migration.as_ref().map(|m| m.phase())
    }

    fn client_network(&mut self, client: &str, up: bool, trace: &mut Vec<String>) -> Result<(), String> {
        let k = self.clients.iter().position(|c| c.name == client).ok_or(format!("no client {client}"))?;
        if self.clients[k].up && !up {
            self.clients[k].cut_at = self.world.now();
        }
        if !self.clients[k].up && up {
            self.clients[k].up_since = self.world.now();
        }
        self.clients[k].up = up;
        self.pump();
        self.collect(trace);
        Ok(())
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
    fn deleteall_lists_the_subtree_after_the_sessions_earlier_writes() {
        // zkCli's deleteall reads the subtree first; sent right behind the creates (the
        // page's console pipelines), it waits for them, as the session's reads do.
        let r = run_text(
            "cluster a with 3 servers\nclient c1 connects to a\n\nrun until c1 is connected\n\
             c1: create /tree t\nc1: create /tree/leaf l\nc1: deleteall /tree\nrun 1s\n\
             expect c1 succeeded\nexpect a has no /tree\n",
        );
        assert!(r.passed(), "{}", r.summary());
    }

    #[test]
    fn expectations_tell_null_data_from_empty_and_from_the_word_null() {
        // zkCli's `create /n` makes null data, `create /e ""` empty, `create /q null`
        // the four bytes; `get` prints the first and the last alike (`null`).
        let text = "seed 1\ncluster a with 1 server\nclient c1 connects to a\n\n\
                    run until c1 is connected\nc1: create /n\nc1: create /e \"\"\nc1: create /q null\n\
                    run 1s\nc1: get /n\nc1: get /e\nc1: get /q\nrun 1s\n";
        let cases = [
            ("a1 has /n = null", true),
            ("a1 has /n = \"\"", false),
            ("a1 has /n = \"null\"", false),
            ("a1 has /n", true),
            ("a1 has /e = \"\"", true),
            ("a1 has /e = null", false),
            ("a has /q = \"null\"", true),
            ("a has /q = null", false),
            ("c1#4 returned null", true),
            ("c1#4 returned \"null\"", false),
            ("c1#4 returned \"\"", false),
            ("c1#5 returned \"\"", true),
            ("c1#5 returned null", false),
            ("c1#6 returned \"null\"", true),
            ("c1#6 returned null", false),
            ("c1#1 returned \"/n\"", true),
            ("c1#1 returned null", false),
        ];
        let expects: String = cases.iter().map(|(p, _)| format!("expect {p}\n")).collect();
        let r = run_text(&format!("{text}{expects}"));
        assert_eq!(r.checks.len(), cases.len() + 1, "{r}");
        for ((p, want), got) in cases.iter().zip(&r.checks[1..]) {
            assert_eq!(got.passed, *want, "expect {p}: {}", got.detail);
        }
        let seen = |i: usize| r.checks[i + 1].detail.clone();
        assert_eq!(seen(1), "a1 has /n = null");
        assert_eq!(seen(4), "a1 has /e = \"\"");
        assert_eq!(seen(9), "c1#4 ok null");
        assert_eq!(seen(13), "c1#6 ok \"null\"");
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

    #[test]
    fn the_history_records_invocations_and_completions_per_session() {
        let sc = parse(
            "seed 1\ncluster a with 3 servers\nclient c1 connects to a1\n\n\
             c1: create /x 1\nrun until a has a leader\nrun until c1 is connected\n\
             c1: create /y 1\nc1: get /y\nrun 1s\nkill a1\nc1: set /y 2\nrun 100ms\n",
        )
        .unwrap();
        let mut r = runner(&sc, Default::default()).unwrap();
        r.run_all();
        let h = r.driver().history();
        assert_eq!(h.len(), 4, "{h:#?}");
        // Sent before the client had a session: its first connection attempt failed.
        assert_eq!((h[0].session, &h[0].result), (0, &OpStatus::Failed("CONNECTIONLOSS".into())));
        let session = r.driver().session_of("c1").unwrap().0;
        assert!(h[1..].iter().all(|o| o.session == session));
        assert_eq!(h[1].result, OpStatus::Ok("/y".into()));
        assert_eq!(h[2].result, OpStatus::Ok("1".into()));
        // A write's reply carries its zxid; the read after it carries at least that one.
        let (w, rd) = (h[1].zxid.unwrap(), h[2].zxid.unwrap());
        assert!(w > 0x1_0000_0001 && rd >= w, "{h:#?}");
        assert!(h[2].invoked_ms >= h[1].invoked_ms && h[2].completed_ms >= h[1].completed_ms);
        // Its server crashed: the write is told CONNECTIONLOSS (it may still commit).
        assert_eq!(h[3].result, OpStatus::Failed("CONNECTIONLOSS".into()));
        let events: Vec<&str> = r.driver().client_events("c1").iter().map(|e| e.event.as_str()).collect();
        assert_eq!(events, ["SyncConnected", "Disconnected"]);
        let view = &r.driver().client_views()[0];
        assert_eq!((view.state, view.session, view.timeout_ms), ("disconnected", Some(session), Some(2_000)));
    }

    #[test]
    fn a_create_without_data_makes_null_data_as_zkcli_does() {
        let sc = parse(
            "seed 1\ncluster a with 3 servers\nclient c1 connects to a1\n\n\
             run until a has a leader\nrun until c1 is connected\n\
             c1: create /n\nc1: create /e \"\"\nc1: multi create /m ; create /m/k \"\"\n\
             c1: get /n\nc1: get /e\nc1: get /m\nc1: get /m/k\nc1: set /e \"\"\nc1: get /e\nrun 1s\n",
        )
        .unwrap();
        let mut r = runner(&sc, Default::default()).unwrap();
        r.run_all();
        let got: Vec<OpStatus> = r.driver().history().into_iter().skip(3).map(|o| o.result).collect();
        let ok = |s: &str| OpStatus::Ok(s.into());
        assert_eq!(got, [ok("null"), ok(""), ok("null"), ok(""), ok(""), ok("")]);
        // Null data digests as no bytes: every replica agrees, as the checks say.
        assert!(r.report().passed(), "{}", r.report());
    }

    #[test]
    fn the_negotiated_timeout_is_between_2_and_20_ticks() {
        assert_eq!(negotiate(30_000, 100), 2_000);
        assert_eq!(negotiate(100, 100), 200);
        assert_eq!(negotiate(1_000, 100), 1_000);
    }

    #[test]
    fn with_client_latency_requests_and_replies_travel() {
        let text =
            "seed 4\nnetwork client latency 50ms\ncluster a with 3 servers\nclient c1 connects to a1\n\n\
             run until a has a leader\nrun until c1 is connected\nrun 200ms\n\
             c1: create /x 1\nrun 40ms\nexpect a1 has no /x\nexpect c1 is pending\n\
             run until a1 has /x within 1s\nexpect c1 is pending\n\
             run until c1 succeeded within 1s\nc1: get /x\nrun until c1 succeeded within 1s\n\
             expect c1 returned 1\nexpect history is linearizable\n";
        let sc = parse(text).unwrap();
        let mut r = runner(&sc, Default::default()).unwrap();
        r.run_all();
        assert!(r.report().passed(), "{}", r.report());
        let h = r.driver().history();
        // A request and its reply each take the latency: a round trip at least.
        for o in &h {
            let took = o.completed_ms.unwrap() - o.invoked_ms;
            assert!(took >= 100, "{o:?}");
        }
        // Without it, the same read is answered at once.
        let sc = parse(&text.replace("network client latency 50ms\n", "")).unwrap();
        let mut r0 = runner(&sc, Default::default()).unwrap();
        r0.run_all();
        let read = &r0.driver().history()[1];
        assert_eq!(read.completed_ms, Some(read.invoked_ms), "{read:?}");
    }

    #[test]
    fn with_client_latency_a_cut_client_keeps_its_session_only_through_pings_that_arrive() {
        // The session times out 2 s after the last ping that reached a server: a cut
        // client's pings in flight still arrive for one latency after the cut.
        let text = |latency: &str| {
            format!(
                "seed 2\n{latency}cluster a with 3 servers\nclient c1 connects to a1\n\n\
                 run until a has a leader\nrun until c1 is connected\nat 3s: disconnect c1\n\
                 run until trace contains \"expires session\" within 5s\n"
            )
        };
        let expiry = |latency: &str| {
            let sc = parse(&text(latency)).unwrap();
            let mut r = runner(&sc, Default::default()).unwrap();
            r.run_all();
            assert!(r.report().passed(), "{}", r.report());
            r.report()
                .trace
                .iter()
                .find(|l| l.starts_with("t=") && l.contains("expires session"))
                .cloned()
                .unwrap()
        };
        let at = |line: String| {
            line.split_whitespace().next().unwrap().trim_start_matches("t=").parse::<u64>().unwrap()
        };
        let (fast, slow) = (at(expiry("")), at(expiry("network client latency 300ms\n")));
        assert!(slow >= fast + 250, "expiry at {fast} ms without latency, {slow} ms with 300 ms");
    }
}
