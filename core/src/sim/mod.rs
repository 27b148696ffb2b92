//! The deterministic simulator: a world of ZAB clusters on a simulated network.
//!
//! A [`World`] holds several clusters of [`Server`]s, a virtual clock (milliseconds), an
//! event queue of message deliveries, timers, disk acknowledgements and client writes,
//! and one seeded PRNG (ChaCha8) from which every server's own stream derives (stream
//! number = cluster × 2¹⁶ + server id), so one server's traffic never shifts another's
//! random draws. Everything it does is a function of its configuration, its seed and
//! the calls made on it: the same seed gives the same trace, byte for byte.
//!
//! The network: per-message latency drawn uniformly from `[latency_min_ms,
//! latency_max_ms]` plus an optional long tail, loss, duplication, and reordering of
//! election messages. Leader–learner packets ride FIFO connections (ZooKeeper uses
//! TCP): they are never reordered or
//! duplicated, and once one is lost (loss, partition) the rest of that connection is
//! dropped too, until the learner reconnects. Any directed link can have its own
//! settings ([`World::set_link_in`]). Partitions block directed links:
//! symmetric, one-way, or between arbitrary groups. Servers crash (keeping only what
//! their disk acknowledged), restart, and pause (a long GC pause: nothing is delivered
//! to them until it ends).
//!
//! After every event the invariants of [`check`] are checked; the first violation halts
//! the world and is kept, with the seed and the step, in [`World::violation`].
//!
//! ```
//! use zoolab_core::sim::{Role, World};
//! use zoolab_core::ServerId;
//!
//! let mut w = World::ensemble(3, 42);
//! w.run_until(1_000, 100_000); // elect (equal zxids: the highest id wins)
//! assert_eq!(w.leader(0), Some(ServerId(3)));
//! let write = w.write_register(ServerId(1), 7, 42); // a follower forwards it
//! w.kill(ServerId(3));
//! w.run_for(3_000, 100_000);
//! assert_eq!(w.servers()[2].role, Role::Down);
//! assert!(w.leader(0).is_some() && w.violation().is_none());
//! for event in w.trace().iter().take(3) {
//!     let _line = event.to_string(); // "t=0 s1 LOOKING epoch=0", ...
//! }
//! let _ = (write, w.trace_hash());
//! ```

pub mod check;
pub mod fuzz;
pub mod queue;
pub mod trace;
pub mod tracked;
pub mod view;
pub mod workload;

use crate::config::{MemberRole, QuorumConfig, ServerSpec};
use crate::ids::{Epoch, ServerId, Zxid};
use crate::vecmap::{VecMap, VecSet};
use crate::zab::log::{Durable, PersistOp};
use crate::zab::message::{ConnId, Message, Packet, PeerState};
use crate::zab::quorum::{QuorumMaj, QuorumVerifier};
use crate::zab::registers::{RegRequest, Registers};
use crate::zab::server::{Input, Output, Server, Timer};
use crate::zab::{Fnv64, Replicated, ServerConfig};
use check::{Checker, Observation};
use queue::EventQueue;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fmt;
use std::fmt::Write as _;
pub use trace::{Addr, DropReason, TraceEvent, TraceKind};

/// A server's role, as ZooKeeper names its states (plus `Down` for a crashed server).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Electing a leader.
    Looking,
    /// Following an established leader; votes in its quorum.
    Following,
    /// The established leader of its epoch.
    Leading,
    /// Receives the committed stream but never votes.
    Observing,
    /// Crashed: holds only what it had persisted.
    Down,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Looking => "LOOKING",
            Role::Following => "FOLLOWING",
            Role::Leading => "LEADING",
            Role::Observing => "OBSERVING",
            Role::Down => "DOWN",
        })
    }
}

/// What a driver may show of one server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerView {
    /// The server's id in its ensemble.
    pub id: ServerId,
    /// Its current role.
    pub role: Role,
    /// The epoch it currently follows or leads (its `currentEpoch`).
    pub epoch: Epoch,
    /// The last zxid in its log.
    pub last_zxid: Zxid,
    /// The last zxid it knows to be committed.
    pub committed_zxid: Zxid,
    /// Its `acceptedEpoch`.
    pub accepted_epoch: Epoch,
    /// The last zxid applied to its state.
    pub applied_zxid: Zxid,
    /// Its state's digest.
    pub digest: u64,
    /// Whether it serves clients (an established leader, or a learner after UPTODATE).
    pub serving: bool,
    /// Whether it does not vote (an observer, or a server outside the configuration).
    pub observer: bool,
    /// Whether the configuration it follows names it at all (spares and servers
    /// reconfigured out do not).
    pub member: bool,
    /// Whether it is paused.
    pub paused: bool,
    /// The leader it follows (or itself when leading).
    pub leader: Option<ServerId>,
}

/// The shape of one cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSpec {
    /// Voting servers (ids 1..=participants).
    pub participants: u64,
    /// Observers (the ids after the participants).
    pub observers: u64,
    /// Spares (the ids after the observers): servers that run outside the initial
    /// configuration. They know it, follow its leader without a vote and sync (as
    /// ZooKeeper's joiners do), and count once a reconfiguration adds them.
    #[serde(default)]
    pub spares: u64,
}

impl ClusterSpec {
    /// The initial dynamic configuration: participants `server.1..`, then observers,
    /// on hosts `server<N>` with ZooKeeper's customary ports; version 0.
    pub fn initial_config(&self) -> QuorumConfig {
        let role =
            |i: u64| if i <= self.participants { MemberRole::Participant } else { MemberRole::Observer };
        QuorumConfig::of((1..=self.participants + self.observers).map(|i| ServerSpec::local(i, role(i))))
    }
}

/// The simulated network's behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetConfig {
    /// Shortest one-way latency (ms).
    pub latency_min_ms: u64,
    /// Longest one-way latency (ms).
    pub latency_max_ms: u64,
    /// Probability of losing a message, per million.
    pub loss_ppm: u32,
    /// Probability of duplicating an election message, per million.
    pub duplicate_ppm: u32,
    /// Whether election messages may overtake each other (leader–learner connections
    /// stay FIFO regardless).
    pub reorder: bool,
    /// Probability, per million, that a message is slow: it takes up to `tail_ms`
    /// more (a long tail on top of the uniform latency).
    pub tail_ppm: u32,
    /// The extra latency of a slow message is drawn uniformly from `0..=tail_ms`.
    pub tail_ms: u64,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            latency_min_ms: 1,
            latency_max_ms: 5,
            loss_ppm: 0,
            duplicate_ppm: 0,
            reorder: true,
            tail_ppm: 0,
            tail_ms: 0,
        }
    }
}

/// A world's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorldConfig {
    /// The clusters.
    pub clusters: Vec<ClusterSpec>,
    /// Every server's configuration.
    pub server: ServerConfig,
    /// The network.
    pub net: NetConfig,
    /// Disk latency range (ms): a flush starts at the first record written after the
    /// last flush and makes durable everything written until it completes (group commit).
    pub disk_min_ms: u64,
    /// See `disk_min_ms`.
    pub disk_max_ms: u64,
    /// How many trace records to keep (the hash covers all of them regardless).
    pub trace_capacity: usize,
    /// Bound on pending events; beyond it new messages are dropped as lost.
    pub max_pending: usize,
}

impl Default for WorldConfig {
    fn default() -> Self {
        WorldConfig {
            clusters: vec![ClusterSpec { participants: 3, observers: 0, spares: 0 }],
            server: ServerConfig::default(),
            net: NetConfig::default(),
            disk_min_ms: 0,
            disk_max_ms: 2,
            trace_capacity: 100_000,
            max_pending: 1_000_000,
        }
    }
}

/// The first broken invariant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The world's seed.
    pub seed: u64,
    /// The step at which it broke.
    pub step: u64,
    /// Simulated time (ms).
    pub time_ms: u64,
    /// The server that reported the breaking observation.
    pub at: Addr,
    /// What broke.
    pub what: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seed {} step {} t={} at {}: {}", self.seed, self.step, self.time_ms, self.at, self.what)
    }
}

/// Counters of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Events processed.
    pub events: u64,
    /// Messages delivered.
    pub deliveries: u64,
    /// Messages dropped.
    pub drops: u64,
    /// Client writes answered (committed and applied).
    pub replies: u64,
    /// Client writes refused.
    pub refusals: u64,
}

/// A message in flight, as the manual-delivery control lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InFlight {
    /// Its key, for [`World::deliver`].
    pub key: (u64, u64),
    /// Sender.
    pub from: Addr,
    /// Receiver.
    pub to: Addr,
    /// The message.
    pub msg: crate::zab::message::MsgSummary,
}

#[derive(Clone, Debug)]
enum Event<R: Replicated> {
    Deliver {
        c: usize,
        from: ServerId,
        to: ServerId,
        msg: Message<R>,
    },
    Timer {
        c: usize,
        id: ServerId,
        inc: u32,
        timer: Timer,
    },
    PersistAck {
        c: usize,
        id: ServerId,
        inc: u32,
    },
    Client {
        c: usize,
        id: ServerId,
        request_id: u64,
        request: R::Request,
    },
    /// Nothing happens: a driver asked to run at this time ([`World::wake_at`]).
    Wake,
}

impl<R: Replicated> Event<R> {
    fn target(&self) -> Option<(usize, ServerId)> {
        match self {
            Event::Deliver { c, to, .. } => Some((*c, *to)),
            Event::Timer { c, id, .. } | Event::PersistAck { c, id, .. } | Event::Client { c, id, .. } => {
                Some((*c, *id))
            }
            Event::Wake => None,
        }
    }
}

#[derive(Clone, Debug)]
struct Node<R: Replicated> {
    id: ServerId,
    server: Option<Server<R>>,
    disk: Durable<R>,
    pending: VecDeque<(u64, PersistOp<R>)>,
    incarnation: u32,
    paused_until: u64,
    rng: ChaCha8Rng,
    flush_scheduled: bool,
    /// Its data directory was taken away ([`World::take_disk_in`]): it stays down until
    /// [`World::put_disk_in`] gives it one.
    held: bool,
}

#[derive(Clone, Debug)]
struct Cluster<R: Replicated> {
    /// The static configuration every server boots with.
    initial: QuorumConfig,
    nodes: Vec<Node<R>>,
    blocked: VecSet<(ServerId, ServerId)>,
    broken: VecSet<(ServerId, ServerId, ConnId)>,
    fifo: VecMap<(ServerId, ServerId), u64>,
    /// Per-link settings that override the world's network.
    links: VecMap<(ServerId, ServerId), NetConfig>,
    checker: Checker,
}

/// A simulated world of ZAB clusters. See the [module documentation](self).
#[derive(Clone, Debug)]
pub struct World<R: Replicated = Registers> {
    cfg: WorldConfig,
    seed: u64,
    now: u64,
    seq: u64,
    steps: u64,
    clusters: Vec<Cluster<R>>,
    queue: EventQueue<Event<R>>,
    /// Queued events other than timers (for `run_until_quiet`).
    busy: usize,
    trace: VecDeque<TraceEvent>,
    trace_hash: Fnv64,
    /// Trace records made so far (kept or not).
    records: u64,
    violation: Option<Violation>,
    next_request: u64,
    stats: Stats,
    out: Vec<Output<R>>,
    clients: tracked::Tracked<ClientWrite>,
    /// What applying each answered write replied, until taken (bounded like `clients`).
    replies: tracked::Tracked<R::Reply>,
}

/// How many client writes [`World::write_status`] remembers (the oldest are forgotten).
pub const MAX_TRACKED_WRITES: usize = 100_000;

/// The fate of a client write submitted with [`World::write`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ClientWrite {
    /// Not answered yet.
    Pending,
    /// Committed at this zxid and answered.
    Ok(Zxid),
    /// Refused (the server was not serving, or was overloaded).
    Refused,
}

fn stream_rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

fn uniform(rng: &mut ChaCha8Rng, lo: u64, hi: u64) -> u64 {
    if hi <= lo {
        lo
    } else {
        lo + rng.next_u64() % (hi - lo + 1)
    }
}

fn chance(rng: &mut ChaCha8Rng, ppm: u32) -> bool {
    ppm > 0 && (rng.next_u32() % 1_000_000) < ppm
}

impl World<Registers> {
    /// One ensemble of `n` voting servers (ids 1..=n) replicating [`Registers`], with
    /// default timing and network.
    pub fn ensemble(n: u64, seed: u64) -> World<Registers> {
        let cfg = WorldConfig {
            clusters: vec![ClusterSpec { participants: n, observers: 0, spares: 0 }],
            ..WorldConfig::default()
        };
        World::new(cfg, seed)
    }

    /// Submits a client write `Set { key, value }` to server `id` of the first cluster.
    pub fn write_register(&mut self, id: ServerId, key: u32, value: u64) -> u64 {
        self.write(id, RegRequest::Set { key, value })
    }
}

impl<R: Replicated> World<R> {
    /// A world built from `cfg`, every random choice derived from `seed`. Servers start
    /// LOOKING at time 0.
    pub fn new(cfg: WorldConfig, seed: u64) -> World<R> {
        assert!(!cfg.clusters.is_empty(), "a world has a cluster");
        let mut w = World {
            seed,
            now: 0,
            seq: 0,
            steps: 0,
            clusters: Vec::new(),
            queue: EventQueue::default(),
            busy: 0,
            trace: VecDeque::new(),
            trace_hash: Fnv64::new(),
            records: 0,
            violation: None,
            next_request: 0,
            stats: Stats::default(),
            out: Vec::new(),
            clients: tracked::Tracked::new(MAX_TRACKED_WRITES / 10),
            replies: tracked::Tracked::new(MAX_TRACKED_WRITES / 10),
            cfg,
        };
        for (c, spec) in w.cfg.clusters.clone().iter().enumerate() {
            let n = spec.participants + spec.observers + spec.spares;
            assert!(spec.participants >= 1 && n <= 255, "1..=255 servers");
            let initial = spec.initial_config();
            let nodes = (1..=n)
                .map(|i| Node {
                    id: ServerId(i),
                    server: None,
                    disk: Durable::default(),
                    pending: VecDeque::new(),
                    incarnation: 0,
                    paused_until: 0,
                    rng: stream_rng(seed, ((c as u64) << 16) | i),
                    flush_scheduled: false,
                    held: false,
                })
                .collect();
            w.clusters.push(Cluster {
                initial,
                nodes,
                blocked: VecSet::new(),
                broken: VecSet::new(),
                fifo: VecMap::new(),
                links: VecMap::new(),
                checker: Checker::default(),
            });
            for i in 1..=n {
                w.boot(c, ServerId(i));
            }
        }
        w
    }

    // ---- views ----------------------------------------------------------------------

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Simulated time, in milliseconds.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Steps taken.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The configuration.
    pub fn config(&self) -> &WorldConfig {
        &self.cfg
    }

    /// How many clusters.
    pub fn clusters(&self) -> usize {
        self.clusters.len()
    }

    /// The servers of the first cluster, in id order.
    pub fn servers(&self) -> Vec<ServerView> {
        self.servers_in(0)
    }

    /// The servers of cluster `c`, in id order.
    pub fn servers_in(&self, c: usize) -> Vec<ServerView> {
        let cl = &self.clusters[c];
        cl.nodes
            .iter()
            .map(|n| {
                let (observer, member) = match &n.server {
                    Some(s) => (!s.quorum().is_voter(n.id), s.quorum().is_member(n.id)),
                    None => {
                        // Down: the configuration it will boot with.
                        let config = n.disk.config.as_ref().unwrap_or(&cl.initial);
                        let q = QuorumMaj::of_config(config).expect("a participant");
                        (!q.is_voter(n.id), q.is_member(n.id))
                    }
                };
                match &n.server {
                    None => ServerView {
                        id: n.id,
                        role: Role::Down,
                        epoch: n.disk.current_epoch,
                        last_zxid: n.disk.log.last_zxid(),
                        committed_zxid: n.disk.log.snapshot_zxid(),
                        accepted_epoch: n.disk.accepted_epoch,
                        applied_zxid: Zxid::ZERO,
                        digest: 0,
                        serving: false,
                        observer,
                        member,
                        paused: false,
                        leader: None,
                    },
                    Some(s) => {
                        let st = s.status();
                        ServerView {
                            id: n.id,
                            role: match st.state {
                                PeerState::Looking => Role::Looking,
                                PeerState::Following => Role::Following,
                                PeerState::Leading => Role::Leading,
                                PeerState::Observing => Role::Observing,
                            },
                            epoch: st.current_epoch,
                            last_zxid: st.last_zxid,
                            committed_zxid: st.committed,
                            accepted_epoch: st.accepted_epoch,
                            applied_zxid: st.applied,
                            digest: st.digest,
                            serving: st.serving,
                            observer,
                            member,
                            paused: n.paused_until > self.now,
                            leader: st.leader,
                        }
                    }
                }
            })
            .collect()
    }

    /// A live server of cluster `c`, for inspection.
    pub fn server(&self, c: usize, id: ServerId) -> Option<&Server<R>> {
        self.node(c, id).server.as_ref()
    }

    /// A live server's state, for what of it is not replicated (see
    /// [`Server::state_mut`]).
    pub fn state_mut_in(&mut self, c: usize, id: ServerId) -> Option<&mut R> {
        self.node_mut(c, id).server.as_mut().map(Server::state_mut)
    }

    /// What server `id` of cluster `c` has on disk (acknowledged records only).
    pub fn disk(&self, c: usize, id: ServerId) -> &Durable<R> {
        &self.node(c, id).disk
    }

    /// The established, serving leader of cluster `c`, if any.
    pub fn leader(&self, c: usize) -> Option<ServerId> {
        // What `servers_in` would say (role LEADING and serving), without its views:
        // the simulated clients ask after every event.
        self.clusters[c]
            .nodes
            .iter()
            .find(|n| {
                n.server.as_ref().is_some_and(|s| {
                    let st = s.status();
                    st.state == PeerState::Leading && st.serving
                })
            })
            .map(|n| n.id)
    }

    /// Cluster `c`'s servers in id order, each with whether it serves clients (its
    /// [`ServerView`]'s `id` and `serving`), without building the views.
    pub fn serving_in(&self, c: usize) -> impl Iterator<Item = (ServerId, bool)> + '_ {
        self.clusters[c].nodes.iter().map(|n| (n.id, n.server.as_ref().is_some_and(|s| s.status().serving)))
    }

    /// Whether server `id` of cluster `c` is up, serving clients and not paused (its
    /// [`ServerView`]'s `serving && !paused`); `false` for a server it does not have.
    pub fn serves(&self, c: usize, id: ServerId) -> bool {
        let n = self.clusters.get(c).and_then(|cl| cl.nodes.iter().find(|n| n.id == id));
        n.is_some_and(|n| n.paused_until <= self.now && n.server.as_ref().is_some_and(|s| s.status().serving))
    }

    /// The trace records kept (the last `trace_capacity`).
    pub fn trace(&self) -> &VecDeque<TraceEvent> {
        &self.trace
    }

    /// How many trace records the world has made (the trace keeps the latest of them).
    pub fn records(&self) -> u64 {
        self.records
    }

    /// A copy of the world whose trace keeps only its latest `keep` records (its hash
    /// and count cover them all): it runs on exactly as this one does, and costs little
    /// memory (the playground's checkpoints). Nothing of this world changes.
    pub fn clone_recent(&mut self, keep: usize) -> World<R> {
        let trace = std::mem::take(&mut self.trace);
        let mut copy = self.clone();
        copy.trace = trace.range(trace.len().saturating_sub(keep)..).cloned().collect();
        self.trace = trace;
        copy
    }

    /// FNV-1a 64 over every rendered trace line (each followed by `\n`) so far.
    pub fn trace_hash(&self) -> u64 {
        self.trace_hash.0
    }

    /// The first broken invariant, if any (the world halts on it).
    pub fn violation(&self) -> Option<&Violation> {
        self.violation.as_ref()
    }

    /// The invariant checker of cluster `c` (the committed history it has seen).
    pub fn checker(&self, c: usize) -> &Checker {
        &self.clusters[c].checker
    }

    /// The fate of a client write.
    pub fn write_status(&self, request_id: u64) -> Option<ClientWrite> {
        self.clients.get(request_id).copied()
    }

    /// What applying an answered write replied, once (the world forgets it then; it
    /// also forgets the oldest past [`MAX_TRACKED_WRITES`]).
    pub fn take_reply(&mut self, request_id: u64) -> Option<R::Reply> {
        self.replies.remove(request_id)
    }

    /// How many times a server has crashed: a driver that keeps per-server state
    /// (connections, watches) drops it when this changes.
    pub fn incarnation(&self, c: usize, id: ServerId) -> u32 {
        self.node(c, id).incarnation
    }

    /// Messages in flight, earliest first (bounded by `limit`).
    pub fn in_flight(&self, limit: usize) -> Vec<InFlight> {
        self.queue
            .sorted()
            .into_iter()
            .filter_map(|(key, e)| match e {
                Event::Deliver { c, from, to, msg } => Some(InFlight {
                    key,
                    from: Addr { cluster: *c, id: *from },
                    to: Addr { cluster: *c, id: *to },
                    msg: msg.summary(),
                }),
                _ => None,
            })
            .take(limit)
            .collect()
    }

    // ---- controls -------------------------------------------------------------------

    /// Submits a client write to server `id` of the first cluster; returns its id.
    pub fn write(&mut self, id: ServerId, request: R::Request) -> u64 {
        self.write_in(0, id, request)
    }

    /// Submits a client write to server `id` of cluster `c`; returns its id. It
    /// reaches the server as the next event at the current time.
    pub fn write_in(&mut self, c: usize, id: ServerId, request: R::Request) -> u64 {
        self.next_request += 1;
        let request_id = self.next_request;
        self.clients.insert(request_id, ClientWrite::Pending);
        if self.clients.len() > MAX_TRACKED_WRITES {
            self.clients.forget_oldest();
        }
        self.record(TraceKind::Write { at: Addr { cluster: c, id }, request_id });
        self.schedule(self.now, Event::Client { c, id, request_id, request });
        request_id
    }

    /// Schedules an event at `t_ms` (not before now) at which nothing happens, so that
    /// a driver stepping the world event by event gets to run its own deliveries (the
    /// scenario simulator's client messages) on time. Not traced; like a timer, it
    /// does not keep the world busy.
    pub fn wake_at(&mut self, t_ms: u64) {
        self.schedule(t_ms.max(self.now), Event::Wake);
    }

    /// Crashes server `id` of the first cluster.
    pub fn kill(&mut self, id: ServerId) {
        self.kill_in(0, id)
    }

    /// Crashes a server: it keeps what its disk acknowledged and loses the rest.
    pub fn kill_in(&mut self, c: usize, id: ServerId) {
        let n = self.node_mut(c, id);
        if n.server.is_none() {
            return;
        }
        n.server = None;
        n.pending.clear();
        n.flush_scheduled = false;
        n.incarnation += 1;
        n.paused_until = 0;
        self.record(TraceKind::Crash { at: Addr { cluster: c, id } });
    }

    /// Restarts server `id` of the first cluster.
    pub fn restart(&mut self, id: ServerId) {
        self.restart_in(0, id)
    }

    /// Restarts a crashed server from its disk (a server whose disk was taken away
    /// stays down).
    pub fn restart_in(&mut self, c: usize, id: ServerId) {
        if self.node(c, id).server.is_some() || self.node(c, id).held {
            return;
        }
        self.record(TraceKind::Restart { at: Addr { cluster: c, id } });
        self.boot(c, id);
    }

    /// Starts cluster `c` over in an epoch above `epoch` (a migration's cut-over, so
    /// that the target's zxids pass every zxid its clients saw on the source — etcd's
    /// `--bump-revision`): every server's `acceptedEpoch` is raised to at least `epoch`
    /// on its disk and the servers that were up restart, so the next leader's epoch is
    /// `epoch + 1` or more. Nothing committed is lost (a quorum persisted it).
    pub fn raise_epoch_in(&mut self, c: usize, epoch: Epoch) {
        let ids: Vec<(ServerId, bool)> =
            self.clusters[c].nodes.iter().map(|n| (n.id, n.server.is_some())).collect();
        for &(id, _) in &ids {
            self.kill_in(c, id);
            let n = self.node_mut(c, id);
            if n.disk.accepted_epoch < epoch {
                n.disk.accepted_epoch = epoch;
            }
        }
        for (id, up) in ids {
            if up {
                self.restart_in(c, id);
            }
        }
    }

    /// Raises cluster `c`'s epoch online: every running server raises its
    /// `acceptedEpoch` to at least `epoch` and looks for a new leader unless it already
    /// serves above it ([`Server::raise_epoch`]); a down server's disk is raised too.
    /// The next leader's epoch is then `epoch + 1` or more, with no restart.
    pub fn raise_epoch_online_in(&mut self, c: usize, epoch: Epoch) {
        let ids: Vec<ServerId> = self.clusters[c].nodes.iter().map(|n| n.id).collect();
        for id in ids {
            if self.node(c, id).server.is_none() {
                let n = self.node_mut(c, id);
                n.disk.accepted_epoch = n.disk.accepted_epoch.max(epoch);
                continue;
            }
            self.record(TraceKind::RaiseEpoch { at: Addr { cluster: c, id }, epoch });
            let mut out = std::mem::take(&mut self.out);
            out.clear();
            if let Some(server) = self.node_mut(c, id).server.as_mut() {
                server.raise_epoch(epoch, &mut out);
            }
            self.handle_outputs(c, id, &mut out);
            self.out = out;
        }
    }

    /// Adds a server to cluster `c` under the next free id and starts it with an empty
    /// data directory whose configuration is `config` (the dynamic configuration file a
    /// joiner is started with). Like ZooKeeper's joiners, it follows the leader without
    /// a vote, and syncs, until a reconfiguration names it. At most 255 servers.
    pub fn add_server_in(&mut self, c: usize, config: QuorumConfig) -> Option<ServerId> {
        let i = self.clusters[c].nodes.len() as u64 + 1;
        if i > 255 {
            return None;
        }
        let disk = Durable { config: Some(config), ..Durable::default() };
        self.clusters[c].nodes.push(Node {
            id: ServerId(i),
            server: None,
            disk,
            pending: VecDeque::new(),
            incarnation: 0,
            paused_until: 0,
            rng: stream_rng(self.seed, ((c as u64) << 16) | i),
            flush_scheduled: false,
            held: false,
        });
        self.restart_in(c, ServerId(i));
        Some(ServerId(i))
    }

    /// Takes server `id`'s data directory away (a migration moving the machine): the
    /// server crashes, keeps an empty disk and stays down until [`World::put_disk_in`].
    /// Returns what its disk held (acknowledged records only).
    pub fn take_disk_in(&mut self, c: usize, id: ServerId) -> Durable<R> {
        self.kill_in(c, id);
        let n = self.node_mut(c, id);
        n.held = true;
        std::mem::take(&mut n.disk)
    }

    /// Gives a server whose disk was taken away a data directory and starts it.
    pub fn put_disk_in(&mut self, c: usize, id: ServerId, disk: Durable<R>) {
        self.kill_in(c, id);
        let n = self.node_mut(c, id);
        n.held = false;
        n.disk = disk;
        self.restart_in(c, id);
    }

    /// Forgets what cluster `c`'s invariant checker has seen: its servers' data was
    /// replaced by another cluster's history (a migration's observers coming home), so
    /// its history starts again from theirs.
    pub fn reset_history_in(&mut self, c: usize) {
        self.clusters[c].checker = Checker::default();
    }

    /// Pauses server `id` of cluster `c` for `ms` milliseconds (a GC pause).
    pub fn pause_in(&mut self, c: usize, id: ServerId, ms: u64) {
        let until = self.now + ms;
        let n = self.node_mut(c, id);
        if n.server.is_none() {
            return;
        }
        // A pause never shortens one in progress: events held until its end must not
        // be overtaken by later ones.
        let until = until.max(n.paused_until);
        n.paused_until = until;
        self.record(TraceKind::Pause { at: Addr { cluster: c, id }, until_ms: until });
    }

    /// Pauses server `id` of the first cluster.
    pub fn pause(&mut self, id: ServerId, ms: u64) {
        self.pause_in(0, id, ms)
    }

    /// Splits cluster `c` into groups that cannot reach each other. Servers not
    /// named form one more group.
    pub fn partition_in(&mut self, c: usize, groups: &[&[ServerId]]) {
        let ids: Vec<ServerId> = self.clusters[c].nodes.iter().map(|n| n.id).collect();
        let group_of = |id: ServerId| groups.iter().position(|g| g.contains(&id)).unwrap_or(groups.len());
        let mut what = String::from("partition");
        for g in groups {
            let names: Vec<String> = g.iter().map(|i| format!("s{i}")).collect();
            let _ = write!(what, " {{{}}}", names.join(","));
        }
        let cl = &mut self.clusters[c];
        cl.blocked.clear();
        for &a in &ids {
            for &b in &ids {
                if a != b && group_of(a) != group_of(b) {
                    cl.blocked.insert((a, b));
                }
            }
        }
        self.network_event(c, what);
    }

    /// Splits the first cluster into groups.
    pub fn partition(&mut self, groups: &[&[ServerId]]) {
        self.partition_in(0, groups)
    }

    /// Cuts the one-way link `from → to` in cluster `c`.
    pub fn block_in(&mut self, c: usize, from: ServerId, to: ServerId) {
        self.clusters[c].blocked.insert((from, to));
        self.network_event(c, format!("block s{from} → s{to}"));
    }

    /// Restores the one-way link `from → to` in cluster `c`.
    pub fn unblock_in(&mut self, c: usize, from: ServerId, to: ServerId) {
        self.clusters[c].blocked.remove(&(from, to));
        self.network_event(c, format!("unblock s{from} → s{to}"));
    }

    /// Cuts the one-way link `from → to` in the first cluster.
    pub fn block(&mut self, from: ServerId, to: ServerId) {
        self.block_in(0, from, to)
    }

    /// Restores every link of every cluster.
    pub fn heal(&mut self) {
        for c in 0..self.clusters.len() {
            self.clusters[c].blocked.clear();
        }
        self.network_event(0, "heal".to_string());
    }

    /// Gives the directed link `from → to` of cluster `c` its own behaviour (say, a
    /// slow or lossy link); `None` returns it to the world's.
    pub fn set_link_in(&mut self, c: usize, from: ServerId, to: ServerId, net: Option<NetConfig>) {
        let what = match net {
            Some(n) => format!(
                "link s{from} → s{to}: latency {}..{}ms loss {}ppm dup {}ppm",
                n.latency_min_ms, n.latency_max_ms, n.loss_ppm, n.duplicate_ppm
            ),
            None => format!("link s{from} → s{to}: default"),
        };
        match net {
            Some(n) => self.clusters[c].links.insert((from, to), n),
            None => self.clusters[c].links.remove(&(from, to)),
        };
        self.network_event(c, what);
    }

    /// Changes the network's behaviour (every link without its own settings).
    pub fn set_network(&mut self, net: NetConfig) {
        self.cfg.net = net;
        self.network_event(
            0,
            format!(
                "latency {}..{}ms loss {}ppm dup {}ppm reorder {}",
                net.latency_min_ms, net.latency_max_ms, net.loss_ppm, net.duplicate_ppm, net.reorder
            ),
        );
    }

    fn network_event(&mut self, _c: usize, what: String) {
        self.record(TraceKind::Network { what });
    }

    // ---- stepping -------------------------------------------------------------------

    /// Runs one event. Returns the trace records it produced (possibly none), or
    /// `None` when nothing is pending or the world halted on a violation.
    pub fn step(&mut self) -> Option<Vec<TraceEvent>> {
        let mark = self.records;
        if !self.step_quiet() {
            return None;
        }
        Some(self.records_since(mark).cloned().collect())
    }

    /// Runs one event without collecting its trace records; `false` when idle or halted.
    pub fn step_quiet(&mut self) -> bool {
        if self.violation.is_some() {
            return false;
        }
        let Some(((time, seq), event)) = self.pop() else { return false };
        self.now = self.now.max(time);
        self.steps += 1;
        self.stats.events += 1;
        self.process(seq, event);
        true
    }

    /// Steps until a message of this kind (ZooKeeper's name: `PROPOSAL`, `COMMIT`,
    /// ...) is delivered, at most `max_steps` events; returns its trace record (needs
    /// a non-zero `trace_capacity`).
    pub fn step_until_kind(&mut self, kind: &str, max_steps: u64) -> Option<TraceEvent> {
        for _ in 0..max_steps {
            let mark = self.records;
            if !self.step_quiet() {
                return None;
            }
            let found = self.records_since(mark).find(|e| match &e.kind {
                TraceKind::Deliver { msg, .. } => msg.kind() == kind,
                _ => false,
            });
            if let Some(e) = found {
                return Some(e.clone());
            }
        }
        None
    }

    /// Delivers the chosen in-flight message now (manual stepping), unless an earlier
    /// message of the same connection is still in flight (connections are FIFO).
    /// Returns whether it was delivered.
    pub fn deliver(&mut self, key: (u64, u64)) -> bool {
        if self.violation.is_some() {
            return false;
        }
        let sorted = self.queue.sorted();
        let Some(pos) = sorted.iter().position(|(k, _)| *k == key) else { return false };
        let Event::Deliver { c, from, to, msg } = sorted[pos].1 else { return false };
        if let Some(conn) = msg.conn() {
            let earlier = sorted[..pos].iter().any(|(_, e)| {
                matches!(e, Event::Deliver { c: c2, from: f2, to: t2, msg: m2 }
                    if c2 == c && f2 == from && t2 == to && m2.conn() == Some(conn))
            });
            if earlier {
                return false;
            }
        }
        let event = self.queue.remove(key).expect("present");
        self.busy -= 1;
        self.steps += 1;
        self.stats.events += 1;
        self.process(key.1, event);
        true
    }

    /// Runs events until simulated time `t_ms` (events at `t_ms` included), at most
    /// `max_steps` of them. Returns the number of steps taken.
    pub fn run_until(&mut self, t_ms: u64, max_steps: u64) -> u64 {
        let mut n = 0;
        while n < max_steps && self.queue.peek_key().is_some_and(|(t, _)| t <= t_ms) {
            if !self.step_quiet() {
                break;
            }
            n += 1;
        }
        if self.violation.is_none() && n < max_steps {
            self.now = self.now.max(t_ms);
        }
        n
    }

    /// Runs for `ms` more milliseconds of simulated time (bounded by `max_steps`).
    pub fn run_for(&mut self, ms: u64, max_steps: u64) -> u64 {
        self.run_until(self.now + ms, max_steps)
    }

    /// Runs until no message, disk write or client write is pending (only timers
    /// are), at most `max_steps` events. With an established leader the world is
    /// quiet between heartbeats. Returns whether it became quiet.
    pub fn run_until_quiet(&mut self, max_steps: u64) -> bool {
        for _ in 0..max_steps {
            if self.busy == 0 {
                return true;
            }
            if !self.step_quiet() {
                return false;
            }
        }
        false
    }

    // ---- internals ------------------------------------------------------------------

    fn node(&self, c: usize, id: ServerId) -> &Node<R> {
        &self.clusters[c].nodes[(id.0 - 1) as usize]
    }

    fn node_mut(&mut self, c: usize, id: ServerId) -> &mut Node<R> {
        &mut self.clusters[c].nodes[(id.0 - 1) as usize]
    }

    fn schedule(&mut self, time: u64, event: Event<R>) {
        self.seq += 1;
        if !matches!(event, Event::Timer { .. } | Event::Wake) {
            self.busy += 1;
        }
        self.queue.push((time, self.seq), event);
    }

    fn pop(&mut self) -> Option<((u64, u64), Event<R>)> {
        let (key, event) = self.queue.pop()?;
        if !matches!(event, Event::Timer { .. } | Event::Wake) {
            self.busy -= 1;
        }
        Some((key, event))
    }

    fn record(&mut self, kind: TraceKind) {
        let ev = TraceEvent { step: self.steps, time_ms: self.now, kind };
        let _ = writeln!(self.trace_hash, "{ev}");
        self.records += 1;
        if self.cfg.trace_capacity > 0 {
            if self.trace.len() >= self.cfg.trace_capacity {
                self.trace.pop_front();
            }
            self.trace.push_back(ev);
        }
    }

    /// The kept records made after the first `mark` records.
    fn records_since(&self, mark: u64) -> impl Iterator<Item = &TraceEvent> {
        let new = usize::try_from(self.records - mark).unwrap_or(usize::MAX).min(self.trace.len());
        self.trace.iter().skip(self.trace.len() - new)
    }

    fn boot(&mut self, c: usize, id: ServerId) {
        let initial = self.clusters[c].initial.clone();
        let cfg = self.cfg.server;
        let now = self.now;
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        let n = self.node(c, id);
        let server = Server::recover(id, cfg, initial, n.disk.clone(), n.incarnation, now, &mut out);
        self.node_mut(c, id).server = Some(server);
        self.handle_outputs(c, id, &mut out);
        self.out = out;
    }

    fn process(&mut self, seq: u64, event: Event<R>) {
        let Some((c, id)) = event.target() else { return };
        let node = self.node(c, id);
        if node.server.is_some() && node.paused_until > self.now {
            // Paused: everything waits, in its original order.
            let until = node.paused_until;
            self.requeue(until, seq, event);
            return;
        }
        let input = match event {
            Event::Deliver { c, from, to, msg } => {
                let (fa, ta) = (Addr { cluster: c, id: from }, Addr { cluster: c, id: to });
                let cl = &mut self.clusters[c];
                let why = if cl.nodes[(to.0 - 1) as usize].server.is_none() {
                    Some(DropReason::ReceiverDown)
                } else if cl.blocked.contains(&(from, to)) {
                    Some(DropReason::Partitioned)
                } else if msg.conn().is_some_and(|k| cl.broken.contains(&(from, to, k))) {
                    Some(DropReason::ConnectionBroken)
                } else {
                    None
                };
                if let Some(why) = why {
                    if let Some(k) = msg.conn() {
                        cl.broken.insert((from, to, k));
                        cl.broken.insert((to, from, k));
                    }
                    self.stats.drops += 1;
                    self.record(TraceKind::Drop { from: fa, to: ta, msg: msg.summary(), why });
                    return;
                }
                self.stats.deliveries += 1;
                self.record(TraceKind::Deliver { from: fa, to: ta, msg: msg.summary() });
                Input::Message { from, msg }
            }
            Event::Timer { inc, timer, .. } => {
                if inc != self.node(c, id).incarnation || self.node(c, id).server.is_none() {
                    return;
                }
                Input::Timer(timer)
            }
            Event::PersistAck { inc, .. } => {
                let n = self.node_mut(c, id);
                if inc != n.incarnation || n.server.is_none() {
                    return;
                }
                // Group commit: the flush makes everything written so far durable.
                n.flush_scheduled = false;
                let mut seq = 0;
                for (s, op) in n.pending.drain(..) {
                    n.disk.apply(&op);
                    seq = s;
                }
                Input::Persisted(seq)
            }
            Event::Client { request_id, request, .. } => {
                if self.node(c, id).server.is_none() {
                    self.clients.insert(request_id, ClientWrite::Refused);
                    self.stats.refusals += 1;
                    self.record(TraceKind::Refused { at: Addr { cluster: c, id }, request_id });
                    return;
                }
                Input::Client { request_id, request }
            }
            Event::Wake => return,
        };
        let now = self.now;
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        if let Some(server) = self.node_mut(c, id).server.as_mut() {
            server.step(now, input, &mut out);
        }
        self.handle_outputs(c, id, &mut out);
        self.out = out;
    }

    fn requeue(&mut self, until: u64, seq: u64, event: Event<R>) {
        // Keeping the original sequence number keeps a FIFO link in order, however
        // often the pause is extended: on a link, sequence numbers grow with sending.
        if !matches!(event, Event::Timer { .. } | Event::Wake) {
            self.busy += 1;
        }
        self.queue.push((until, seq), event);
    }

    fn handle_outputs(&mut self, c: usize, id: ServerId, out: &mut Vec<Output<R>>) {
        let at = Addr { cluster: c, id };
        for o in out.drain(..) {
            let obs = match o {
                Output::Send { to, msg } => {
                    self.send(c, id, to, msg);
                    None
                }
                Output::Persist { seq, op } => {
                    let (lo, hi) = (self.cfg.disk_min_ms, self.cfg.disk_max_ms);
                    let now = self.now;
                    let n = self.node_mut(c, id);
                    n.pending.push_back((seq, op));
                    if !n.flush_scheduled {
                        n.flush_scheduled = true;
                        let t = now + uniform(&mut n.rng, lo, hi);
                        let inc = n.incarnation;
                        self.schedule(t, Event::PersistAck { c, id, inc });
                    }
                    None
                }
                Output::SetTimer { timer, after_ms } => {
                    let inc = self.node(c, id).incarnation;
                    self.schedule(self.now + after_ms, Event::Timer { c, id, inc, timer });
                    None
                }
                Output::Reply { request_id, zxid, reply } => {
                    self.stats.replies += 1;
                    self.clients.insert(request_id, ClientWrite::Ok(zxid));
                    self.replies.insert(request_id, reply);
                    if self.replies.len() > MAX_TRACKED_WRITES {
                        self.replies.forget_oldest();
                    }
                    self.record(TraceKind::Reply { at, request_id, zxid });
                    None
                }
                Output::Refused { request_id, .. } => {
                    self.stats.refusals += 1;
                    self.clients.insert(request_id, ClientWrite::Refused);
                    self.record(TraceKind::Refused { at, request_id });
                    None
                }
                Output::Role { state, epoch } => {
                    self.record(TraceKind::Role { at, state, epoch });
                    None
                }
                Output::Established { epoch } => {
                    self.record(TraceKind::Established { at, epoch });
                    Some(Observation::Established(epoch))
                }
                Output::Committed { zxid, txn_hash } => Some(Observation::Committed(zxid, txn_hash)),
                Output::Applied { zxid, digest } => Some(Observation::Applied(zxid, digest)),
                Output::Truncated { to } => {
                    self.record(TraceKind::Truncated { at, to });
                    Some(Observation::Truncated(to))
                }
                Output::Installed { zxid, digest } => {
                    self.record(TraceKind::Installed { at, zxid });
                    Some(Observation::Installed(zxid, digest))
                }
                Output::Recovered { committed } => Some(Observation::Recovered(committed)),
                Output::CommittedThrough { zxid } => Some(Observation::CommittedThrough(zxid)),
                Output::Activated { version, voters } => {
                    let fingerprint = Fnv64::of(&voters);
                    self.record(TraceKind::Activated { at, version, voters });
                    Some(Observation::Activated(version, fingerprint))
                }
                Output::SyncChosen { learner, plan } => {
                    self.record(TraceKind::Sync { at, learner, plan });
                    None
                }
            };
            if let Some(obs) = obs {
                if self.violation.is_none() {
                    if let Err(what) = self.clusters[c].checker.observe(id, obs) {
                        self.record(TraceKind::Violation { what: what.clone() });
                        self.violation = Some(Violation {
                            seed: self.seed,
                            step: self.steps,
                            time_ms: self.now,
                            at,
                            what,
                        });
                    }
                }
            }
        }
    }

    fn send(&mut self, c: usize, from: ServerId, to: ServerId, msg: Message<R>) {
        let net = self.clusters[c].links.get(&(from, to)).copied().unwrap_or(self.cfg.net);
        let now = self.now;
        let conn = msg.conn();
        let full = self.queue.len() >= self.cfg.max_pending;
        let cl = &mut self.clusters[c];
        if let (Some(k), Message::Quorum { packet: Packet::LearnerInfo { .. }, .. }) = (conn, &msg) {
            // A learner opens a new connection: forget the dead ones between the pair,
            // so the bookkeeping stays bounded.
            cl.broken.retain(|&(a, b, old)| old == k || !((a, b) == (from, to) || (a, b) == (to, from)));
        }
        let rng = &mut cl.nodes[(from.0 - 1) as usize].rng;
        let lost = full || chance(rng, net.loss_ppm);
        let why = if cl.blocked.contains(&(from, to)) {
            Some(DropReason::Partitioned)
        } else if conn.is_some_and(|k| cl.broken.contains(&(from, to, k))) {
            Some(DropReason::ConnectionBroken)
        } else if lost {
            Some(DropReason::Lost)
        } else {
            None
        };
        if let Some(why) = why {
            if let Some(k) = conn {
                cl.broken.insert((from, to, k));
                cl.broken.insert((to, from, k));
            }
            self.stats.drops += 1;
            let (fa, ta) = (Addr { cluster: c, id: from }, Addr { cluster: c, id: to });
            self.record(TraceKind::Drop { from: fa, to: ta, msg: msg.summary(), why });
            return;
        }
        let mut latency = uniform(rng, net.latency_min_ms, net.latency_max_ms);
        if chance(rng, net.tail_ppm) {
            latency += uniform(rng, 0, net.tail_ms);
        }
        let duplicate = msg.is_election() && chance(rng, net.duplicate_ppm);
        let dup_latency = if duplicate { uniform(rng, net.latency_min_ms, net.latency_max_ms) } else { 0 };
        let mut t = now + latency;
        if conn.is_some() || !net.reorder {
            let last = cl.fifo.entry((from, to)).or_insert(0);
            t = t.max(*last);
            *last = t;
        }
        if duplicate {
            self.schedule(now + dup_latency, Event::Deliver { c, from, to, msg: msg.clone() });
        }
        self.schedule(t, Event::Deliver { c, from, to, msg });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_servers_elect_the_highest_id_when_logs_are_equal() {
        let mut w = World::ensemble(3, 1);
        w.run_until(2_000, 100_000);
        let roles: Vec<Role> = w.servers().iter().map(|s| s.role).collect();
        assert_eq!(roles, vec![Role::Following, Role::Following, Role::Leading]);
        assert_eq!(w.leader(0), Some(ServerId(3)));
        assert_eq!(w.servers()[2].epoch, Epoch(1));
        assert!(w.violation().is_none());
    }

    #[test]
    fn the_world_forgets_its_oldest_writes_past_the_bound() {
        let mut w = World::ensemble(1, 1);
        let extra = MAX_TRACKED_WRITES as u64 / 4;
        let ids: Vec<u64> = (0..MAX_TRACKED_WRITES as u64 + extra)
            .map(|i| w.write(ServerId(1), RegRequest::Set { key: 0, value: i }))
            .collect();
        let (first, last) = (ids[0], ids[ids.len() - 1]);
        assert_eq!(w.write_status(first), None, "the oldest forgotten");
        assert_eq!(w.write_status(first + extra - 1), None);
        assert_eq!(w.write_status(first + extra), Some(ClientWrite::Pending), "the oldest kept");
        assert_eq!(w.write_status(last), Some(ClientWrite::Pending), "the newest kept");
    }
}
