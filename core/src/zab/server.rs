//! One ZAB server (a `QuorumPeer`), sans-IO.
//!
//! The driver calls [`Server::step`] with the current time and one [`Input`]; the
//! server appends [`Output`]s to a buffer the driver owns. The driver's duties, in
//! order, for each output: persist records (and later acknowledge them with
//! [`Input::Persisted`]), send messages, arm timers, answer clients. Observation
//! outputs ([`Output::Role`], [`Output::Committed`], ...) report what happened, for
//! traces and invariant checks; a driver may ignore them.
//!
//! Phases, as in ZooKeeper: LOOKING runs Fast Leader Election; a LEADING server runs
//! discovery (new epoch from a quorum's accepted epochs), synchronization (one
//! [`super::sync`] plan per learner, then NEWLEADER) and broadcast; FOLLOWING and
//! OBSERVING servers connect to their leader, sync, then log, acknowledge and apply.
//! Every failure (a timeout, a lost quorum, a protocol surprise) sends the server back
//! to LOOKING, after reloading its state from what it has written, as ZooKeeper does.

use super::election::{beats, has_quorum, leader_confirmed, Vote};
use super::log::{Durable, LogEntry, PersistOp};
use super::message::{ConnId, LearnerKind, Message, Notification, Origin, Packet, PeerState};
use super::quorum::{JointQuorum, QuorumMaj, QuorumVerifier};
use super::sync::{self, LeaderHistory, SyncOp};
use super::{Fnv64, PrepareContext, Replicated, ServerConfig};
use crate::config::QuorumConfig;
use crate::ids::{Epoch, ServerId, Zxid};
use crate::vecmap::{VecMap, VecSet};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// A timer a server asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// The periodic tick (`tickTime`): pings and the init/sync limits.
    Tick,
    /// The election's notification timeout or finalize wait; stale generations are
    /// ignored.
    Election(u64),
}

/// What drives a server.
#[derive(Clone, Debug)]
pub enum Input<R: Replicated> {
    /// A message from a peer.
    Message {
        /// The sender.
        from: ServerId,
        /// The message.
        msg: Message<R>,
    },
    /// A client write, with an id the driver chose (unique per server).
    Client {
        /// The request's id.
        request_id: u64,
        /// The request.
        request: R::Request,
    },
    /// A timer fired.
    Timer(Timer),
    /// Every record up to this sequence number is durable.
    Persisted(u64),
}

/// Why a client request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The server is not serving (LOOKING or syncing): ZooKeeper's ConnectionLoss.
    NotServing,
    /// Too many outstanding proposals.
    Overloaded,
    /// The server stopped serving while the request was in flight: ZooKeeper's
    /// ConnectionLoss. The write may or may not be committed later.
    ConnectionLoss,
}

/// What a server asks its driver to do, and what it reports.
#[derive(Clone, Debug)]
pub enum Output<R: Replicated> {
    /// Send a message.
    Send {
        /// The receiver.
        to: ServerId,
        /// The message.
        msg: Message<R>,
    },
    /// Make a record durable, then acknowledge `seq` (records complete in order).
    Persist {
        /// The record's sequence number.
        seq: u64,
        /// The record.
        op: PersistOp<R>,
    },
    /// Deliver `Input::Timer(timer)` after this many milliseconds.
    SetTimer {
        /// Which timer.
        timer: Timer,
        /// Delay in milliseconds.
        after_ms: u64,
    },
    /// Answer a client: its write is committed and applied here.
    Reply {
        /// The request's id.
        request_id: u64,
        /// The transaction's zxid.
        zxid: Zxid,
        /// What applying it answered.
        reply: R::Reply,
    },
    /// Refuse a client request.
    Refused {
        /// The request's id.
        request_id: u64,
        /// Why.
        why: Refusal,
    },
    /// Observation: the server changed role.
    Role {
        /// The new role.
        state: PeerState,
        /// Its `currentEpoch`.
        epoch: Epoch,
    },
    /// Observation: this server, leading, is established in this epoch (a quorum
    /// acknowledged NEWLEADER).
    Established {
        /// The epoch.
        epoch: Epoch,
    },
    /// Observation: the server learned that this transaction is committed (strictly
    /// in zxid order).
    Committed {
        /// Its zxid.
        zxid: Zxid,
        /// A fingerprint of the transaction (FNV-1a of its `Hash`; 0 when
        /// [`ServerConfig::txn_fingerprints`] is off).
        txn_hash: u64,
    },
    /// Observation: the server applied a transaction (committed or, when reloading
    /// its log, possibly not).
    Applied {
        /// The last applied zxid.
        zxid: Zxid,
        /// The state's digest after it.
        digest: u64,
    },
    /// Observation: the server dropped its log after this zxid (TRUNC).
    Truncated {
        /// The last zxid kept.
        to: Zxid,
    },
    /// Observation: the server installed a leader's snapshot (SNAP).
    Installed {
        /// The snapshot's zxid.
        zxid: Zxid,
        /// The state's digest.
        digest: u64,
    },
    /// Observation: every zxid up to this one is committed here: the snapshot the
    /// log starts from, once the leader is established (UPTODATE).
    CommittedThrough {
        /// The snapshot's zxid.
        zxid: Zxid,
    },
    /// Observation: the server (re)started from its durable state.
    Recovered {
        /// What it knows to be committed (its snapshot's zxid).
        committed: Zxid,
    },
    /// Observation: the server activated a committed configuration (a reconfiguration
    /// committed, or a newer one found by a sync).
    Activated {
        /// The configuration's version (the zxid of its reconfiguration).
        version: u64,
        /// Its voters.
        voters: Vec<ServerId>,
    },
    /// Observation: a sync plan chosen for a learner.
    SyncChosen {
        /// The learner.
        learner: ServerId,
        /// `DIFF`, `TRUNC`, `TRUNC+DIFF` or `SNAP`.
        plan: &'static str,
    },
}

#[derive(Clone, Debug, Default)]
struct Election {
    recv: VecMap<ServerId, (Vote, PeerState)>,
    out_of_election: VecMap<ServerId, (Vote, PeerState)>,
    finalizing: bool,
    timeout_ms: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LearnerStage {
    /// FOLLOWERINFO sent, waiting for LEADERINFO.
    Discovery,
    /// ACKEPOCH sent; receiving the sync.
    Sync { newleader: bool },
    /// UPTODATE received.
    Broadcast,
}

#[derive(Clone, Debug)]
struct Learner<R: Replicated> {
    leader: ServerId,
    kind: LearnerKind,
    conn: ConnId,
    stage: LearnerStage,
    last_heard: u64,
    /// What the sync sent before NEWLEADER, held in memory and written at NEWLEADER
    /// (ZooKeeper: `packetsNotCommitted`, and the snapshot taken at NEWLEADER), so a
    /// sync cut short leaves the disk as it was.
    staged: Vec<LogEntry<R>>,
    /// A snapshot received by SNAP, not yet written.
    snap: Option<(Zxid, R::Snapshot)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum HandlerStage {
    AwaitEpoch,
    AwaitAckEpoch,
    AwaitSync,
    AwaitNewLeaderAck,
    AwaitEstablish,
    Broadcast,
}

#[derive(Clone, Debug)]
struct Handler {
    conn: ConnId,
    kind: LearnerKind,
    stage: HandlerStage,
    deadline: u64,
    last_zxid: Zxid,
    forwarding: bool,
}

#[derive(Clone, Debug)]
struct Pending<R: Replicated> {
    txn: R::Txn,
    origin: Option<Origin>,
    acks: VecSet<ServerId>,
}

#[derive(Clone, Debug)]
struct Leading<R: Replicated> {
    start_tick: u64,
    new_epoch: Option<Epoch>,
    connecting: VecMap<ServerId, Epoch>,
    epoch_acks: VecSet<ServerId>,
    epoch_quorum: bool,
    newleader_acks: VecSet<ServerId>,
    established: bool,
    handlers: VecMap<ServerId, Handler>,
    outstanding: BTreeMap<Zxid, Pending<R>>,
    next_counter: u32,
}

#[derive(Clone, Debug)]
enum Phase<R: Replicated> {
    Looking(Election),
    Learning(Learner<R>),
    Leading(Box<Leading<R>>),
}

#[derive(Clone, Debug)]
enum Deferred<R: Replicated> {
    Send(ServerId, Message<R>),
    SelfEpochAck,
    SelfNewLeaderAck,
    SelfAck(Zxid),
}

/// One ZAB server.
#[derive(Clone, Debug)]
pub struct Server<R: Replicated> {
    id: ServerId,
    cfg: ServerConfig,
    /// Who counts: the committed configuration's majority, or while a reconfiguration
    /// is proposed and not committed, the joint quorum of both.
    quorum: Arc<dyn QuorumVerifier>,
    /// The committed configuration's majority alone: who may lead (ZooKeeper's
    /// election weighs candidates by the committed configuration, never the pending).
    electable: Arc<QuorumMaj>,
    /// The last committed configuration (ZooKeeper's `quorumVerifier`).
    config: QuorumConfig,
    /// The same, shared by the notifications that carry it.
    shared_config: Arc<QuorumConfig>,
    /// A newer configuration seen in a proposal and not committed yet (ZooKeeper's
    /// `lastSeenQuorumVerifier`).
    next_config: Option<QuorumConfig>,
    /// A configuration was activated since the role was last checked against it.
    config_changed: bool,
    incarnation: u32,
    disk: Durable<R>,
    state: R,
    applied: Zxid,
    committed: Zxid,
    since_snapshot: u64,
    phase: Phase<R>,
    vote: Vote,
    logical_clock: u64,
    election_gen: u64,
    persist_seq: u64,
    persisted_seq: u64,
    deferred: VecDeque<(u64, Deferred<R>)>,
    tick: u64,
    next_conn: u32,
    now: u64,
    /// Client requests accepted here and not answered yet.
    clients: VecSet<u64>,
}

/// What a driver may show of a server's internals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    /// LOOKING, FOLLOWING, LEADING or OBSERVING.
    pub state: PeerState,
    /// `acceptedEpoch`.
    pub accepted_epoch: Epoch,
    /// `currentEpoch`.
    pub current_epoch: Epoch,
    /// The last logged zxid.
    pub last_zxid: Zxid,
    /// The last zxid known committed.
    pub committed: Zxid,
    /// The last applied zxid.
    pub applied: Zxid,
    /// The state's digest.
    pub digest: u64,
    /// The current vote (the election's proposal while LOOKING).
    pub vote: Vote,
    /// Whether this server leads an established epoch, or follows and serves.
    pub serving: bool,
    /// The leader it follows or observes.
    pub leader: Option<ServerId>,
}

impl<R: Replicated> Server<R> {
    /// Starts a server from its durable state (empty for a new server). It begins
    /// LOOKING. `incarnation` distinguishes its runs (connection ids derive from it).
    ///
    /// `initial` is its static configuration, used until its state records one (a
    /// state that records configurations keeps the committed one in its snapshot and
    /// log, so reconfigurations survive restarts). A server need not be a member: one
    /// that is not (a joiner, or a server reconfigured out) follows the leader without
    /// a vote until a configuration names it.
    pub fn recover(
        id: ServerId,
        cfg: ServerConfig,
        initial: QuorumConfig,
        disk: Durable<R>,
        incarnation: u32,
        now: u64,
        out: &mut Vec<Output<R>>,
    ) -> Server<R> {
        let (mut state, applied) = disk.log.replay();
        let committed = disk.log.snapshot_zxid();
        // Every activation is persisted before anything that depends on it (records
        // complete in order), so the persisted configuration is at least as new as
        // the one in the snapshot.
        let base = disk
            .config
            .clone()
            .filter(|c| c.version >= initial.version && QuorumMaj::of_config(c).is_some())
            .unwrap_or(initial);
        if state.membership().is_none() {
            state.init_membership(&base);
        }
        let electable = Arc::new(QuorumMaj::of_config(&base).expect("a configuration has a participant"));
        let mut s = Server {
            id,
            cfg,
            quorum: electable.clone(),
            electable,
            shared_config: Arc::new(base.clone()),
            config: base,
            next_config: None,
            config_changed: false,
            incarnation,
            disk,
            state,
            applied,
            committed,
            since_snapshot: 0,
            phase: Phase::Looking(Election::default()),
            vote: Vote { leader: id, zxid: applied, election_epoch: 0, peer_epoch: Epoch(0) },
            logical_clock: 0,
            election_gen: 0,
            persist_seq: 0,
            persisted_seq: 0,
            deferred: VecDeque::new(),
            tick: 0,
            next_conn: 0,
            now,
            clients: VecSet::new(),
        };
        s.configs_from_log();
        out.push(Output::Recovered { committed });
        out.push(Output::Applied { zxid: s.applied, digest: s.state.digest() });
        out.push(Output::SetTimer { timer: Timer::Tick, after_ms: s.cfg.tick_ms });
        s.start_election(out);
        s
    }

    /// The server's id.
    pub fn id(&self) -> ServerId {
        self.id
    }

    /// The replicated state as this server has applied it.
    pub fn state(&self) -> &R {
        &self.state
    }

    /// The state, for a driver to update what of it is not replicated (a leader's
    /// session owners on a client's reconnection, ZooKeeper's REVALIDATE). Changing
    /// the replicated state through it breaks ZAB's guarantees.
    pub fn state_mut(&mut self) -> &mut R {
        &mut self.state
    }

    /// The last committed configuration this server knows.
    pub fn config(&self) -> &QuorumConfig {
        &self.config
    }

    /// A newer configuration proposed and not yet committed, as this server saw it.
    pub fn pending_config(&self) -> Option<&QuorumConfig> {
        self.next_config.as_ref()
    }

    /// Who counts in a quorum for this server now (joint while a reconfiguration is
    /// pending).
    pub fn quorum(&self) -> &dyn QuorumVerifier {
        &*self.quorum
    }

    /// The server's own view of its durable state (written, not necessarily
    /// acknowledged yet).
    pub fn durable(&self) -> &Durable<R> {
        &self.disk
    }

    /// Its status, for views and tests.
    pub fn status(&self) -> Status {
        let (state, serving, leader) = match &self.phase {
            Phase::Looking(_) => (PeerState::Looking, false, None),
            Phase::Learning(l) => (
                match l.kind {
                    LearnerKind::Follower => PeerState::Following,
                    LearnerKind::Observer => PeerState::Observing,
                },
                l.stage == LearnerStage::Broadcast,
                Some(l.leader),
            ),
            Phase::Leading(l) => (PeerState::Leading, l.established, Some(self.id)),
        };
        Status {
            state,
            accepted_epoch: self.disk.accepted_epoch,
            current_epoch: self.disk.current_epoch,
            last_zxid: self.disk.log.last_zxid(),
            committed: self.committed,
            applied: self.applied,
            digest: self.state.digest(),
            vote: self.vote,
            serving,
            leader,
        }
    }

    /// The votes this server has received in its current election (empty unless
    /// LOOKING): sender, vote, and the sender's state.
    pub fn election_votes(&self) -> Vec<(ServerId, Vote, PeerState)> {
        match &self.phase {
            Phase::Looking(e) => {
                e.recv.iter().chain(e.out_of_election.iter()).map(|(&id, &(v, s))| (id, v, s)).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Raises `acceptedEpoch` to at least `epoch` (persisted) and, when the epoch this
    /// server serves in is not above `epoch`, leaves its role for a new election — what
    /// a restart with `--min-epoch` does, without the restart. Once every voter (or a
    /// quorum that will elect the next leader) has done so, the next leader's epoch is
    /// above `epoch`: a migration's cut-over makes the target's zxids pass every zxid
    /// the source gave out. Until then a raised server refuses to follow a leader of a
    /// lower epoch and keeps looking. Nothing committed is lost: the election reloads
    /// what is on disk, and a quorum persisted every commit.
    pub fn raise_epoch(&mut self, epoch: Epoch, out: &mut Vec<Output<R>>) {
        if self.disk.accepted_epoch < epoch {
            self.persist(PersistOp::AcceptedEpoch(epoch), out);
        }
        if !matches!(self.phase, Phase::Looking(_)) && self.disk.current_epoch <= epoch {
            self.look(out);
        }
    }

    /// Handles one input at time `now` (milliseconds), appending outputs to `out`.
    pub fn step(&mut self, now: u64, input: Input<R>, out: &mut Vec<Output<R>>) {
        self.now = now;
        // A bounded log (the native server's) sheds what its driver wrote in earlier
        // steps; an unbounded one (the simulator's) keeps everything.
        self.disk.log.shed(self.committed.min(self.applied));
        match input {
            Input::Message { from, msg } => match msg {
                Message::Notification(n, config) => {
                    if let Some(c) = config {
                        self.on_config_heard(&c, out);
                    }
                    self.on_notification(from, n, out)
                }
                Message::Quorum { conn, packet } => self.on_packet(from, conn, packet, out),
            },
            Input::Client { request_id, request } => self.on_client(request_id, request, out),
            Input::Timer(Timer::Tick) => {
                out.push(Output::SetTimer { timer: Timer::Tick, after_ms: self.cfg.tick_ms });
                self.tick += 1;
                self.on_tick(out);
            }
            Input::Timer(Timer::Election(gen)) => {
                if gen == self.election_gen {
                    self.on_election_timer(out);
                }
            }
            Input::Persisted(seq) => self.on_persisted(seq, out),
        }
    }

    // ---- durability -------------------------------------------------------------

    fn persist(&mut self, op: PersistOp<R>, out: &mut Vec<Output<R>>) {
        if let PersistOp::Append(e) = &op {
            if let Some(c) = R::membership_of(&e.txn) {
                self.proposed_config(c);
            }
        }
        self.disk.apply(&op);
        self.persist_seq += 1;
        out.push(Output::Persist { seq: self.persist_seq, op });
    }

    /// Runs `action` once everything written so far is durable.
    fn after_persist(&mut self, action: Deferred<R>, out: &mut Vec<Output<R>>) {
        if self.persisted_seq >= self.persist_seq && self.deferred.is_empty() {
            self.run_deferred(action, out);
        } else {
            self.deferred.push_back((self.persist_seq, action));
        }
    }

    fn on_persisted(&mut self, seq: u64, out: &mut Vec<Output<R>>) {
        self.persisted_seq = self.persisted_seq.max(seq);
        while self.deferred.front().is_some_and(|(s, _)| *s <= self.persisted_seq) {
            let (_, action) = self.deferred.pop_front().expect("checked");
            self.run_deferred(action, out);
        }
    }

    fn run_deferred(&mut self, action: Deferred<R>, out: &mut Vec<Output<R>>) {
        match action {
            Deferred::Send(to, msg) => out.push(Output::Send { to, msg }),
            Deferred::SelfEpochAck => {
                if let Phase::Leading(l) = &mut self.phase {
                    l.epoch_acks.insert(self.id);
                }
                self.try_epoch_quorum(out);
            }
            Deferred::SelfNewLeaderAck => {
                if let Phase::Leading(l) = &mut self.phase {
                    l.newleader_acks.insert(self.id);
                }
                self.try_establish(out);
            }
            Deferred::SelfAck(zxid) => {
                if let Phase::Leading(l) = &mut self.phase {
                    if let Some(p) = l.outstanding.get_mut(&zxid) {
                        p.acks.insert(self.id);
                    }
                }
                self.try_commit(out);
            }
        }
    }

    fn send_durable(&mut self, to: ServerId, msg: Message<R>, out: &mut Vec<Output<R>>) {
        self.after_persist(Deferred::Send(to, msg), out);
    }

    // ---- configuration ------------------------------------------------------------

    /// Makes `committed` (and a newer `pending`, if any) the configurations in force.
    fn set_configs(&mut self, committed: QuorumConfig, pending: Option<QuorumConfig>) {
        let pending = pending.filter(|p| p.version > committed.version);
        let base = QuorumMaj::of_config(&committed).expect("a committed configuration has a participant");
        self.electable = Arc::new(base.clone());
        self.quorum = match pending.as_ref().and_then(QuorumMaj::of_config) {
            Some(next) if !self.cfg.bugs.skip_joint_quorum => Arc::new(JointQuorum::new(base, next)),
            _ => Arc::new(base),
        };
        if committed != *self.shared_config {
            self.shared_config = Arc::new(committed.clone());
        }
        self.config = committed;
        self.next_config = pending;
    }

    /// A reconfiguration was logged (proposed, not committed): quorums are joint
    /// until it commits.
    fn proposed_config(&mut self, c: QuorumConfig) {
        let newer = c.version > self.next_config.as_ref().map_or(self.config.version, |p| p.version);
        if newer && QuorumMaj::of_config(&c).is_some() {
            let committed = self.config.clone();
            self.set_configs(committed, Some(c));
        }
    }

    /// A reconfiguration was committed (or a newer committed configuration arrived
    /// with a snapshot): it is in force from now on.
    fn activate(&mut self, c: QuorumConfig, out: &mut Vec<Output<R>>) {
        if c.version <= self.config.version || QuorumMaj::of_config(&c).is_none() {
            return;
        }
        let pending = self.next_config.take();
        let (version, voters) = (c.version, c.participants());
        self.persist(PersistOp::Config(c.clone()), out);
        self.set_configs(c, pending);
        self.config_changed = true;
        out.push(Output::Activated { version, voters });
    }

    /// The committed and pending configurations from the log: the latest
    /// reconfiguration at or below the committed zxid is in force, a later one pending.
    fn configs_from_log(&mut self) {
        let mut committed = self.config.clone();
        let mut pending = None;
        for e in self.disk.log.entries() {
            if let Some(c) = R::membership_of(&e.txn) {
                if e.zxid <= self.committed {
                    if c.version > committed.version {
                        committed = c;
                    }
                } else {
                    pending = Some(c);
                }
            }
        }
        self.set_configs(committed, pending);
    }

    /// After a configuration changed: whether this server's place no longer matches it
    /// (a leader reconfigured out, a learner whose leader was, or whose role changed).
    /// ZooKeeper's peers then leave and elect again under the new configuration.
    fn misplaced(&mut self) -> bool {
        if !std::mem::take(&mut self.config_changed) {
            return false;
        }
        match &self.phase {
            Phase::Looking(_) => false,
            Phase::Leading(_) => !self.is_voter(),
            Phase::Learning(l) => l.kind != self.learner_kind() || !self.quorum.is_voter(l.leader),
        }
    }

    /// How this server connects to a leader: configured observers observe; voters and
    /// servers outside the configuration follow (the latter without a vote, ZooKeeper's
    /// joiners).
    fn learner_kind(&self) -> LearnerKind {
        if !self.is_voter() && self.quorum.observers().contains(&self.id) {
            LearnerKind::Observer
        } else {
            LearnerKind::Follower
        }
    }

    // ---- state ----------------------------------------------------------------------

    /// Once a leader is established, its history up to `upto` is committed: the
    /// snapshot the log starts from (possibly installed by an earlier, interrupted
    /// sync) and the entries after it.
    fn commit_history(&mut self, upto: Zxid, out: &mut Vec<Output<R>>) {
        let base = self.disk.log.snapshot_zxid();
        if base > Zxid::ZERO {
            self.committed = self.committed.max(base);
            out.push(Output::CommittedThrough { zxid: base });
        }
        self.commit_upto(upto, out);
    }

    /// Applies logged entries up to `upto`, marking them committed, in zxid order.
    fn commit_upto(&mut self, upto: Zxid, out: &mut Vec<Output<R>>) {
        let start = self.disk.log.index_after(self.committed);
        let end = self.disk.log.index_after(upto);
        for i in start..end {
            let e = &self.disk.log.entries()[i];
            let (zxid, origin) = (e.zxid, e.origin);
            let txn_hash = if self.cfg.txn_fingerprints { Fnv64::of(&e.txn) } else { 0 };
            out.push(Output::Committed { zxid, txn_hash });
            if let Some(c) = R::membership_of(&e.txn) {
                self.activate(c, out);
            }
            if zxid > self.applied {
                let reply = self.state.apply(zxid, &self.disk.log.entries()[i].txn);
                self.applied = zxid;
                out.push(Output::Applied { zxid, digest: self.state.digest() });
                if let Some(o) = origin.filter(|o| o.server == self.id) {
                    if self.clients.remove(&o.request_id) {
                        out.push(Output::Reply { request_id: o.request_id, zxid, reply });
                    }
                }
                self.since_snapshot += 1;
            }
            self.committed = zxid;
        }
        self.maybe_snapshot(out);
    }

    /// The last zxid of the log as the sync has extended it so far.
    fn staged_last_zxid(&self) -> Zxid {
        match &self.phase {
            Phase::Learning(l) => l
                .staged
                .last()
                .map(|e| e.zxid)
                .or(l.snap.as_ref().map(|(z, _)| *z))
                .unwrap_or_else(|| self.disk.log.last_zxid()),
            _ => self.disk.log.last_zxid(),
        }
    }

    /// Applies staged entries up to `upto` (COMMIT before NEWLEADER); false when the
    /// COMMIT names a proposal the sync never sent.
    fn apply_staged(&mut self, upto: Zxid, out: &mut Vec<Output<R>>) -> bool {
        let Phase::Learning(l) = &self.phase else { return false };
        if upto <= self.applied {
            return true;
        }
        if !l.staged.iter().any(|e| e.zxid == upto) {
            return false;
        }
        let from = self.applied;
        let mut configs = Vec::new();
        for e in l.staged.iter().filter(|e| e.zxid > from && e.zxid <= upto) {
            self.state.apply(e.zxid, &e.txn);
            self.applied = e.zxid;
            out.push(Output::Applied { zxid: e.zxid, digest: self.state.digest() });
            configs.extend(R::membership_of(&e.txn));
        }
        for c in configs {
            self.activate(c, out);
        }
        true
    }

    /// Applies logged entries up to `upto` without marking them committed (a learner
    /// during sync, as ZooKeeper applies COMMITs before UPTODATE).
    fn apply_upto(&mut self, upto: Zxid, out: &mut Vec<Output<R>>) {
        let start = self.disk.log.index_after(self.applied);
        let end = self.disk.log.index_after(upto);
        for i in start..end {
            let e = &self.disk.log.entries()[i];
            let zxid = e.zxid;
            self.state.apply(zxid, &e.txn);
            let config = R::membership_of(&e.txn);
            self.applied = zxid;
            out.push(Output::Applied { zxid, digest: self.state.digest() });
            if let Some(c) = config {
                self.activate(c, out);
            }
        }
    }

    fn maybe_snapshot(&mut self, out: &mut Vec<Output<R>>) {
        if self.since_snapshot >= self.cfg.snap_count && self.applied == self.committed {
            self.since_snapshot = 0;
            let snap = self.state.snapshot();
            self.persist(PersistOp::Snapshot(self.applied, snap), out);
        }
    }

    /// Reloads the state from the log, as ZooKeeper does when a peer restarts its
    /// ZooKeeperServer: the whole log is replayed.
    fn reload(&mut self, out: &mut Vec<Output<R>>) {
        let (mut state, applied) = self.disk.log.replay();
        if state.membership().is_none() {
            state.init_membership(&self.config);
        }
        if applied != self.applied || state.digest() != self.state.digest() {
            self.state = state;
            self.applied = applied;
            out.push(Output::Applied { zxid: applied, digest: self.state.digest() });
        }
        self.committed = self.committed.min(self.applied).max(self.disk.log.snapshot_zxid());
        self.configs_from_log();
    }

    // ---- election -------------------------------------------------------------------

    fn is_voter(&self) -> bool {
        self.quorum.is_voter(self.id)
    }

    /// Whether this server may be elected: a voter of the committed configuration.
    fn electable(&self) -> bool {
        self.electable.is_voter(self.id)
    }

    fn initial_vote(&self) -> Vote {
        if self.electable() {
            Vote {
                leader: self.id,
                zxid: self.disk.log.last_zxid(),
                election_epoch: self.logical_clock,
                peer_epoch: self.disk.current_epoch,
            }
        } else {
            // ZooKeeper's observers propose Long.MIN_VALUE: any voter beats it.
            Vote {
                leader: ServerId(0),
                zxid: Zxid::ZERO,
                election_epoch: self.logical_clock,
                peer_epoch: Epoch(0),
            }
        }
    }

    fn my_state(&self) -> PeerState {
        self.status().state
    }

    fn notification(&self) -> Notification {
        Notification {
            leader: self.vote.leader,
            zxid: self.vote.zxid,
            election_epoch: self.vote.election_epoch,
            peer_epoch: self.vote.peer_epoch,
            state: self.my_state(),
            config_version: self.config.version,
        }
    }

    /// Goes LOOKING: reload, new round, vote for oneself.
    fn look(&mut self, out: &mut Vec<Output<R>>) {
        self.deferred.clear();
        for request_id in std::mem::take(&mut self.clients) {
            out.push(Output::Refused { request_id, why: Refusal::ConnectionLoss });
        }
        self.reload(out);
        self.start_election(out);
    }

    /// A new election round (the state is already loaded).
    fn start_election(&mut self, out: &mut Vec<Output<R>>) {
        self.phase =
            Phase::Looking(Election { timeout_ms: self.cfg.finalize_wait_ms, ..Election::default() });
        out.push(Output::Role { state: PeerState::Looking, epoch: self.disk.current_epoch });
        self.logical_clock += 1;
        self.vote = self.initial_vote();
        self.send_notifications(out);
        self.arm_election_timer(self.cfg.finalize_wait_ms, out);
    }

    fn arm_election_timer(&mut self, after_ms: u64, out: &mut Vec<Output<R>>) {
        self.election_gen += 1;
        out.push(Output::SetTimer { timer: Timer::Election(self.election_gen), after_ms });
    }

    fn send_notifications(&mut self, out: &mut Vec<Output<R>>) {
        let n = self.notification();
        for &to in self.quorum.voters() {
            if to != self.id {
                out.push(Output::Send { to, msg: Message::Notification(n, self.config_to_send()) });
            }
        }
        // Our own notification reaches us too (ZooKeeper loops it back), and may
        // complete a quorum (always, in an ensemble of one).
        if self.is_voter() {
            let vote = self.vote;
            let quorum = self.quorum.clone();
            let finalize = self.cfg.finalize_wait_ms;
            if let Phase::Looking(e) = &mut self.phase {
                e.recv.insert(self.id, (vote, PeerState::Looking));
                if !e.finalizing && has_quorum(&e.recv, &vote, PeerState::Looking, &*quorum) {
                    e.finalizing = true;
                    self.arm_election_timer(finalize, out);
                }
            }
        }
    }

    /// The committed configuration notifications carry (none until a reconfiguration
    /// has committed: the static one is known to everyone).
    fn config_to_send(&self) -> Option<Arc<QuorumConfig>> {
        (self.config.version > 0).then(|| self.shared_config.clone())
    }

    /// A notification carried a peer's committed configuration. While LOOKING, a newer
    /// one than ours is in force (it was committed) and the election starts again
    /// under it, as ZooKeeper's FastLeaderElection does; otherwise it waits for the
    /// sync.
    fn on_config_heard(&mut self, c: &QuorumConfig, out: &mut Vec<Output<R>>) {
        if !matches!(self.phase, Phase::Looking(_)) || c.version <= self.config.version {
            return;
        }
        self.activate(c.clone(), out);
        self.config_changed = false;
        self.start_election(out);
    }

    fn reply_vote(&self, to: ServerId, out: &mut Vec<Output<R>>) {
        out.push(Output::Send { to, msg: Message::Notification(self.notification(), self.config_to_send()) });
    }

    fn on_notification(&mut self, from: ServerId, n: Notification, out: &mut Vec<Output<R>>) {
        // Servers outside the configuration (joiners, servers reconfigured out) are
        // answered like observers: told who leads, never counted.
        let Phase::Looking(_) = &self.phase else {
            // Not electing: tell a LOOKING server (or any observer) who leads.
            if n.state == PeerState::Looking || !self.quorum.is_voter(from) {
                self.reply_vote(from, out);
            }
            return;
        };
        let established = matches!(n.state, PeerState::Following | PeerState::Leading | PeerState::Observing);
        if established && n.config_version > self.config.version {
            // An established ensemble under a configuration newer than ours (we
            // missed its reconfiguration, or were reconfigured out meanwhile): our
            // configuration cannot find it a quorum, so follow its leader and learn
            // the configuration from the sync.
            let mut v = Vote::of(&n);
            v.election_epoch = self.logical_clock;
            return self.decide(v, out);
        }
        if !self.quorum.is_voter(from) {
            self.reply_vote(from, out);
            return;
        }
        // Help a voter in an older round catch up. (Only voters do: a voter answers
        // every non-voter's notification and counts none, so an observer's answer
        // would only bounce back, forever, and duplicated messages would multiply.)
        if n.state == PeerState::Looking && n.election_epoch < self.logical_clock && self.is_voter() {
            self.reply_vote(from, out);
        }
        if !self.electable.is_voter(n.leader) {
            return; // a vote for a server that cannot lead counts for nothing
        }
        let bugs = self.cfg.bugs;
        let nv = Vote::of(&n);
        let finalizing = matches!(&self.phase, Phase::Looking(e) if e.finalizing);
        if finalizing {
            // During the finalize wait only a better vote matters; it reopens the round.
            if beats(&nv, &self.vote, &*self.electable, bugs.elect_by_id) {
                if let Phase::Looking(e) = &mut self.phase {
                    e.finalizing = false;
                }
                let t = self.cfg.finalize_wait_ms;
                self.arm_election_timer(t, out);
            } else {
                return;
            }
        }
        match n.state {
            PeerState::Looking => {
                if n.election_epoch > self.logical_clock {
                    self.logical_clock = n.election_epoch;
                    if let Phase::Looking(e) = &mut self.phase {
                        e.recv.clear();
                    }
                    let mine = self.initial_vote();
                    self.vote = if beats(&nv, &mine, &*self.electable, bugs.elect_by_id) { nv } else { mine };
                    self.vote.election_epoch = self.logical_clock;
                    self.send_notifications(out);
                } else if n.election_epoch < self.logical_clock {
                    return;
                } else if beats(&nv, &self.vote, &*self.electable, bugs.elect_by_id) {
                    self.vote = nv;
                    self.send_notifications(out);
                }
                let vote = self.vote;
                let quorum = self.quorum.clone();
                let Phase::Looking(e) = &mut self.phase else { unreachable!() };
                e.recv.insert(from, (nv, PeerState::Looking));
                if has_quorum(&e.recv, &vote, PeerState::Looking, &*quorum) {
                    e.finalizing = true;
                    let t = self.cfg.finalize_wait_ms;
                    self.arm_election_timer(t, out);
                }
            }
            PeerState::Observing => {}
            PeerState::Following | PeerState::Leading => {
                // Joining an established leader decides nothing (the leader's epoch and
                // NEWLEADER quorums do): it is judged by the committed configuration,
                // so a reconfiguration this server logged but that was never committed
                // (its new leader will truncate it) cannot keep it from joining.
                let quorum: Arc<dyn QuorumVerifier> = self.electable.clone();
                let (me, clock) = (self.id, self.logical_clock);
                let Phase::Looking(e) = &mut self.phase else { unreachable!() };
                let mut decided = None;
                if n.election_epoch == clock {
                    e.recv.insert(from, (nv, n.state));
                    if has_quorum(&e.recv, &nv, n.state, &*quorum)
                        && leader_confirmed(&e.recv, me, n.leader, n.election_epoch, clock)
                    {
                        decided = Some(nv);
                    }
                }
                if decided.is_none() {
                    e.out_of_election.insert(from, (nv, n.state));
                    if has_quorum(&e.out_of_election, &nv, n.state, &*quorum)
                        && leader_confirmed(&e.out_of_election, me, n.leader, n.election_epoch, clock)
                    {
                        self.logical_clock = n.election_epoch;
                        decided = Some(nv);
                    }
                }
                if let Some(v) = decided {
                    self.decide(v, out);
                }
            }
        }
    }

    fn on_election_timer(&mut self, out: &mut Vec<Output<R>>) {
        let Phase::Looking(e) = &mut self.phase else { return };
        if e.finalizing {
            let mut v = self.vote;
            v.election_epoch = self.logical_clock;
            self.decide(v, out);
        } else {
            e.timeout_ms = (e.timeout_ms * 2).min(self.cfg.max_notification_interval_ms);
            let t = e.timeout_ms;
            self.send_notifications(out);
            self.arm_election_timer(t, out);
        }
    }

    fn decide(&mut self, vote: Vote, out: &mut Vec<Output<R>>) {
        self.vote = vote;
        self.election_gen += 1; // cancels the election timer
        if vote.leader == self.id {
            if !self.electable() {
                // Not ours to lead (a vote for us under a configuration we left).
                return self.start_election(out);
            }
            self.start_leading(out);
        } else {
            let kind = self.learner_kind();
            self.start_learning(vote.leader, kind, out);
        }
    }

    // ---- learner --------------------------------------------------------------------

    fn start_learning(&mut self, leader: ServerId, kind: LearnerKind, out: &mut Vec<Output<R>>) {
        self.next_conn += 1;
        // Unique per learner, run and attempt (the driver's broken-connection
        // bookkeeping must never confuse two connections between the same pair).
        let conn = ConnId(
            (self.id.0 << 48) | ((u64::from(self.incarnation) & 0xffff) << 32) | u64::from(self.next_conn),
        );
        self.phase = Phase::Learning(Learner {
            leader,
            kind,
            conn,
            stage: LearnerStage::Discovery,
            last_heard: self.tick,
            staged: Vec::new(),
            snap: None,
        });
        out.push(Output::Role { state: self.my_state(), epoch: self.disk.current_epoch });
        self.send_learner_info(out);
    }

    fn send_learner_info(&mut self, out: &mut Vec<Output<R>>) {
        let Phase::Learning(l) = &self.phase else { return };
        let packet = Packet::LearnerInfo { kind: l.kind, accepted_epoch: self.disk.accepted_epoch };
        out.push(Output::Send { to: l.leader, msg: Message::Quorum { conn: l.conn, packet } });
    }

    fn to_leader(&self, packet: Packet<R>) -> Option<(ServerId, Message<R>)> {
        let Phase::Learning(l) = &self.phase else { return None };
        Some((l.leader, Message::Quorum { conn: l.conn, packet }))
    }

    fn send_to_leader(&mut self, packet: Packet<R>, durable: bool, out: &mut Vec<Output<R>>) {
        if let Some((to, msg)) = self.to_leader(packet) {
            if durable {
                self.send_durable(to, msg, out);
            } else {
                out.push(Output::Send { to, msg });
            }
        }
    }

    fn on_learner_packet(&mut self, packet: Packet<R>, out: &mut Vec<Output<R>>) {
        let Phase::Learning(l) = &mut self.phase else { return };
        l.last_heard = self.tick;
        let (stage, kind) = (l.stage, l.kind);
        match (stage, packet) {
            (LearnerStage::Discovery, Packet::LeaderInfo { new_epoch }) => {
                let current = if new_epoch > self.disk.accepted_epoch {
                    self.persist(PersistOp::AcceptedEpoch(new_epoch), out);
                    Some(self.disk.current_epoch)
                } else if new_epoch == self.disk.accepted_epoch {
                    None
                } else {
                    // "Leader's epoch is less than accepted epoch"
                    return self.look(out);
                };
                if let Phase::Learning(l) = &mut self.phase {
                    l.stage = LearnerStage::Sync { newleader: false };
                }
                let last_zxid = self.disk.log.last_zxid();
                self.send_to_leader(Packet::AckEpoch { current_epoch: current, last_zxid }, true, out);
            }
            (LearnerStage::Sync { .. }, Packet::Diff { .. }) => {}
            (LearnerStage::Sync { .. }, Packet::Trunc { zxid }) => {
                if !self.disk.log.truncate(zxid) {
                    // ZooKeeper exits here ("Not able to truncate the log"); we look again.
                    return self.look(out);
                }
                self.persist(PersistOp::Truncate(zxid), out);
                out.push(Output::Truncated { to: zxid });
                self.reload(out);
            }
            (LearnerStage::Sync { newleader: false }, Packet::Snap { zxid, snapshot }) => {
                self.state = R::restore(&snapshot);
                self.applied = zxid;
                self.since_snapshot = 0;
                out.push(Output::Installed { zxid, digest: self.state.digest() });
                if let Some(c) = self.state.membership() {
                    self.activate(c, out);
                }
                if let Phase::Learning(l) = &mut self.phase {
                    l.staged.clear();
                    l.snap = Some((zxid, snapshot));
                }
            }
            (LearnerStage::Sync { newleader: false }, Packet::Proposal { zxid, txn, origin }) => {
                if zxid <= self.staged_last_zxid() {
                    return self.look(out);
                }
                if let Phase::Learning(l) = &mut self.phase {
                    l.staged.push(LogEntry { zxid, txn, origin });
                }
            }
            (LearnerStage::Sync { newleader: false }, Packet::Commit { zxid }) => {
                if !self.apply_staged(zxid, out) {
                    self.look(out);
                }
            }
            (LearnerStage::Sync { newleader: false }, Packet::Inform { zxid, txn, origin }) => {
                if zxid > self.staged_last_zxid() {
                    if let Phase::Learning(l) = &mut self.phase {
                        l.staged.push(LogEntry { zxid, txn, origin });
                    }
                    self.apply_staged(zxid, out);
                }
            }
            (LearnerStage::Sync { newleader: false }, Packet::NewLeader { zxid }) => {
                let Phase::Learning(l) = &mut self.phase else { unreachable!() };
                l.stage = LearnerStage::Sync { newleader: true };
                let snap = l.snap.take();
                let staged = std::mem::take(&mut l.staged);
                if let Some((z, snapshot)) = snap {
                    self.persist(PersistOp::Install(z, snapshot), out);
                }
                for e in staged {
                    self.persist(PersistOp::Append(e), out);
                }
                self.configs_from_log();
                self.persist(PersistOp::CurrentEpoch(zxid.epoch()), out);
                self.send_to_leader(Packet::Ack { zxid }, true, out);
                // Proposals of the new epoch forwarded before NEWLEADER are logged now.
                if kind == LearnerKind::Follower {
                    let start = self.disk.log.index_after(zxid.max(self.applied));
                    let pending: Vec<Zxid> =
                        self.disk.log.entries()[start..].iter().map(|e| e.zxid).collect();
                    for z in pending {
                        self.send_to_leader(Packet::Ack { zxid: z }, true, out);
                    }
                }
            }
            (LearnerStage::Sync { newleader: true }, Packet::Proposal { zxid, txn, origin }) => {
                if zxid <= self.disk.log.last_zxid() {
                    return self.look(out);
                }
                self.persist(PersistOp::Append(LogEntry { zxid, txn, origin }), out);
                if kind == LearnerKind::Follower {
                    self.send_to_leader(Packet::Ack { zxid }, true, out);
                }
            }
            (LearnerStage::Sync { newleader: true }, Packet::Commit { zxid }) => {
                if self.disk.log.get(zxid).is_none() {
                    return self.look(out);
                }
                self.apply_upto(zxid, out);
            }
            (LearnerStage::Sync { newleader: true }, Packet::Inform { zxid, txn, origin }) => {
                if zxid > self.disk.log.last_zxid() {
                    self.persist(PersistOp::Append(LogEntry { zxid, txn, origin }), out);
                    self.apply_upto(zxid, out);
                }
            }
            (LearnerStage::Sync { newleader: true }, Packet::UpToDate) => {
                // The leader is established: everything synced so far is committed.
                let upto = self.applied;
                self.commit_history(upto, out);
                if let Phase::Learning(l) = &mut self.phase {
                    l.stage = LearnerStage::Broadcast;
                }
                // ZOOKEEPER-1732: report the epoch actually followed, so that every
                // member's vote agrees for servers that join later.
                self.vote.peer_epoch = self.disk.current_epoch;
                out.push(Output::Role { state: self.my_state(), epoch: self.disk.current_epoch });
                if self.misplaced() {
                    self.look(out);
                }
            }
            (LearnerStage::Broadcast, Packet::Proposal { zxid, txn, origin })
                if kind == LearnerKind::Follower =>
            {
                if zxid <= self.disk.log.last_zxid() {
                    return self.look(out);
                }
                self.persist(PersistOp::Append(LogEntry { zxid, txn, origin }), out);
                self.send_to_leader(Packet::Ack { zxid }, true, out);
            }
            (LearnerStage::Broadcast, Packet::Commit { zxid }) if kind == LearnerKind::Follower => {
                if self.disk.log.get(zxid).is_none() {
                    return self.look(out);
                }
                self.commit_upto(zxid, out);
                if self.misplaced() {
                    self.look(out);
                }
            }
            (LearnerStage::Broadcast, Packet::Inform { zxid, txn, origin })
                if kind == LearnerKind::Observer =>
            {
                if zxid <= self.disk.log.last_zxid() {
                    return self.look(out);
                }
                self.persist(PersistOp::Append(LogEntry { zxid, txn, origin }), out);
                self.commit_upto(zxid, out);
                if self.misplaced() {
                    self.look(out);
                }
            }
            (_, Packet::Ping) => self.send_to_leader(Packet::Ping, false, out),
            // Anything else is a protocol surprise: the connection is closed.
            _ => self.look(out),
        }
    }

    // ---- leader ---------------------------------------------------------------------

    fn start_leading(&mut self, out: &mut Vec<Output<R>>) {
        let mut connecting = VecMap::new();
        connecting.insert(self.id, self.disk.accepted_epoch);
        self.phase = Phase::Leading(Box::new(Leading {
            start_tick: self.tick,
            new_epoch: None,
            connecting,
            epoch_acks: VecSet::new(),
            epoch_quorum: false,
            newleader_acks: VecSet::new(),
            established: false,
            handlers: VecMap::new(),
            outstanding: BTreeMap::new(),
            next_counter: 0,
        }));
        out.push(Output::Role { state: PeerState::Leading, epoch: self.disk.current_epoch });
        self.try_decide_epoch(out);
    }

    fn leading(&mut self) -> &mut Leading<R> {
        match &mut self.phase {
            Phase::Leading(l) => l,
            _ => unreachable!("only called while leading"),
        }
    }

    fn send_packet(&self, to: ServerId, conn: ConnId, packet: Packet<R>, out: &mut Vec<Output<R>>) {
        out.push(Output::Send { to, msg: Message::Quorum { conn, packet } });
    }

    /// Discovery: the new epoch once a quorum (with us) has told its accepted epoch.
    fn try_decide_epoch(&mut self, out: &mut Vec<Output<R>>) {
        let quorum = self.quorum.clone();
        let l = self.leading();
        if l.new_epoch.is_some() {
            return;
        }
        let ids: VecSet<ServerId> = l.connecting.keys().copied().collect();
        if !quorum.contains_quorum(&ids) {
            return;
        }
        let max = l.connecting.values().copied().max().unwrap_or(Epoch(0));
        let new_epoch = Epoch(max.0 + 1);
        l.new_epoch = Some(new_epoch);
        self.persist(PersistOp::AcceptedEpoch(new_epoch), out);
        self.after_persist(Deferred::SelfEpochAck, out);
        let waiting: Vec<(ServerId, ConnId)> = self
            .leading()
            .handlers
            .iter()
            .filter(|(_, h)| h.stage == HandlerStage::AwaitEpoch)
            .map(|(&id, h)| (id, h.conn))
            .collect();
        for (id, conn) in waiting {
            self.leading().handlers.get_mut(&id).expect("listed").stage = HandlerStage::AwaitAckEpoch;
            self.send_durable(id, Message::Quorum { conn, packet: Packet::LeaderInfo { new_epoch } }, out);
        }
    }

    fn try_epoch_quorum(&mut self, out: &mut Vec<Output<R>>) {
        let quorum = self.quorum.clone();
        let Phase::Leading(l) = &mut self.phase else { return };
        if l.epoch_quorum || !l.epoch_acks.contains(&self.id) || !quorum.contains_quorum(&l.epoch_acks) {
            return;
        }
        l.epoch_quorum = true;
        let epoch = l.new_epoch.expect("acks follow the epoch");
        self.persist(PersistOp::CurrentEpoch(epoch), out);
        self.after_persist(Deferred::SelfNewLeaderAck, out);
        let waiting: Vec<ServerId> = self
            .leading()
            .handlers
            .iter()
            .filter(|(_, h)| h.stage == HandlerStage::AwaitSync)
            .map(|(&id, _)| id)
            .collect();
        for id in waiting {
            self.sync_learner(id, out);
        }
    }

    /// Synchronization for one learner: DIFF / TRUNC / SNAP, the proposals it lacks,
    /// the outstanding ones, then NEWLEADER.
    fn sync_learner(&mut self, id: ServerId, out: &mut Vec<Output<R>>) {
        let bugs = self.cfg.bugs;
        let (commit_log_count, txn_log_sync) = (self.cfg.commit_log_count, self.cfg.txn_log_sync);
        let last_processed = self.applied;
        let zxids: Vec<Zxid> = {
            let entries = self.disk.log.entries();
            let end = self.disk.log.index_after(last_processed);
            entries[..end].iter().map(|e| e.zxid).collect()
        };
        let committed_log = &zxids[zxids.len().saturating_sub(commit_log_count)..];
        let l = self.leading();
        let new_epoch = l.new_epoch.expect("synced after discovery");
        let h = l.handlers.get_mut(&id).expect("a handler");
        let (conn, kind, peer_last) = (h.conn, h.kind, h.last_zxid);
        h.stage = HandlerStage::AwaitNewLeaderAck;
        h.forwarding = true;
        let history = LeaderHistory {
            last_processed,
            committed_log,
            txn_log: txn_log_sync.then_some(&zxids[..]),
            txn_log_base: self.disk.log.memory_base(),
        };
        let mut plan = sync::choose(peer_last, &history);
        if bugs.skip_trunc {
            if let SyncOp::Trunc(_) = plan.op {
                plan.op = SyncOp::Diff(last_processed);
            }
        }
        out.push(Output::SyncChosen { learner: id, plan: plan.name() });
        match plan.op {
            SyncOp::Diff(zxid) => self.send_packet(id, conn, Packet::Diff { zxid }, out),
            SyncOp::Trunc(zxid) => self.send_packet(id, conn, Packet::Trunc { zxid }, out),
            SyncOp::Snap => {
                let snapshot = self.state.snapshot();
                self.send_packet(id, conn, Packet::Snap { zxid: last_processed, snapshot }, out);
            }
        }
        let mut forwarded = plan.send_after;
        if plan.sends_proposals() {
            let start = self.disk.log.index_after(plan.send_after);
            let end = self.disk.log.index_after(plan.send_upto);
            for e in &self.disk.log.entries()[start..end] {
                let p = Packet::Proposal { zxid: e.zxid, txn: e.txn.clone(), origin: e.origin };
                self.send_packet(id, conn, p, out);
                self.send_packet(id, conn, Packet::Commit { zxid: e.zxid }, out);
            }
            forwarded = plan.send_upto;
        }
        // startForwarding: participants also get the outstanding proposals.
        if kind == LearnerKind::Follower {
            let Phase::Leading(l) = &self.phase else { unreachable!() };
            for (&zxid, p) in
                l.outstanding.range((std::ops::Bound::Excluded(forwarded), std::ops::Bound::Unbounded))
            {
                let packet = Packet::Proposal { zxid, txn: p.txn.clone(), origin: p.origin };
                out.push(Output::Send { to: id, msg: Message::Quorum { conn, packet } });
            }
        }
        self.send_packet(id, conn, Packet::NewLeader { zxid: Zxid::new(new_epoch, 0) }, out);
    }

    fn try_establish(&mut self, out: &mut Vec<Output<R>>) {
        let quorum = self.quorum.clone();
        let Phase::Leading(l) = &mut self.phase else { return };
        if l.established || !l.newleader_acks.contains(&self.id) || !quorum.contains_quorum(&l.newleader_acks)
        {
            return;
        }
        l.established = true;
        let epoch = l.new_epoch.expect("established after discovery");
        out.push(Output::Established { epoch });
        out.push(Output::Role { state: PeerState::Leading, epoch });
        // The leader's whole history is now committed in the new epoch.
        let last = self.disk.log.last_zxid();
        self.commit_history(last, out);
        // ZOOKEEPER-1732: every member reports the same vote from now on.
        self.vote.peer_epoch = epoch;
        let ready: Vec<(ServerId, ConnId)> = self
            .leading()
            .handlers
            .iter()
            .filter(|(_, h)| h.stage == HandlerStage::AwaitEstablish)
            .map(|(&id, h)| (id, h.conn))
            .collect();
        for (id, conn) in ready {
            self.leading().handlers.get_mut(&id).expect("listed").stage = HandlerStage::Broadcast;
            self.send_packet(id, conn, Packet::UpToDate, out);
        }
        if self.misplaced() {
            self.look(out);
        }
    }

    fn on_leader_packet(
        &mut self,
        from: ServerId,
        conn: ConnId,
        packet: Packet<R>,
        out: &mut Vec<Output<R>>,
    ) {
        let deadline_ticks = self.cfg.sync_limit;
        let init_ticks = self.cfg.init_limit + self.cfg.sync_limit;
        let tick = self.tick;
        let quorum = self.quorum.clone();
        let l = self.leading();
        if let Packet::LearnerInfo { kind, accepted_epoch } = packet {
            if l.handlers.get(&from).is_some_and(|h| h.conn == conn) {
                return; // a retry on the same connection
            }
            // Configured observers observe; voters and servers outside the
            // configuration follow (the latter's acks count for nothing until a
            // configuration names them).
            let kind = if !quorum.is_voter(from) && quorum.observers().contains(&from) {
                LearnerKind::Observer
            } else {
                kind
            };
            let mut h = Handler {
                conn,
                kind,
                stage: HandlerStage::AwaitEpoch,
                deadline: tick + init_ticks,
                last_zxid: Zxid::ZERO,
                forwarding: false,
            };
            if let Some(new_epoch) = l.new_epoch {
                h.stage = HandlerStage::AwaitAckEpoch;
                l.handlers.insert(from, h);
                self.send_durable(
                    from,
                    Message::Quorum { conn, packet: Packet::LeaderInfo { new_epoch } },
                    out,
                );
            } else {
                l.handlers.insert(from, h);
                if kind == LearnerKind::Follower {
                    l.connecting.insert(from, accepted_epoch);
                }
                self.try_decide_epoch(out);
            }
            return;
        }
        let Some(h) = l.handlers.get_mut(&from) else { return };
        if h.conn != conn {
            return;
        }
        // ZooKeeper: the initial deadline (initLimit + syncLimit) holds through the sync;
        // once broadcasting, every packet moves it to now + syncLimit.
        if h.stage == HandlerStage::Broadcast {
            h.deadline = tick + deadline_ticks;
        }
        let kind = h.kind;
        match packet {
            Packet::AckEpoch { current_epoch, last_zxid } if h.stage == HandlerStage::AwaitAckEpoch => {
                h.last_zxid = last_zxid;
                h.stage = HandlerStage::AwaitSync;
                if l.epoch_quorum {
                    self.sync_learner(from, out);
                    return;
                }
                if kind == LearnerKind::Follower && quorum.is_voter(from) {
                    if let Some(ce) = current_epoch {
                        // "Follower is ahead of the leader": give up leading.
                        if (ce, last_zxid) > (self.disk.current_epoch, self.disk.log.last_zxid()) {
                            return self.look(out);
                        }
                        self.leading().epoch_acks.insert(from);
                    }
                }
                self.try_epoch_quorum(out);
            }
            Packet::Ack { zxid } if h.stage == HandlerStage::AwaitNewLeaderAck && zxid.counter() == 0 => {
                h.stage = HandlerStage::AwaitEstablish;
                if l.established {
                    h.stage = HandlerStage::Broadcast;
                    self.send_packet(from, conn, Packet::UpToDate, out);
                } else {
                    if kind == LearnerKind::Follower {
                        l.newleader_acks.insert(from);
                    }
                    self.try_establish(out);
                }
            }
            Packet::Ack { zxid } if kind == LearnerKind::Follower && h.forwarding => {
                if let Some(p) = l.outstanding.get_mut(&zxid) {
                    p.acks.insert(from);
                }
                self.try_commit(out);
            }
            Packet::Request { origin, request } => self.propose(origin, request, out),
            // PING answers only refresh the deadline; anything else is ignored.
            _ => {}
        }
    }

    fn propose(&mut self, origin: Origin, request: R::Request, out: &mut Vec<Output<R>>) {
        let now = self.now;
        let max_outstanding = self.cfg.max_outstanding;
        let Phase::Leading(l) = &mut self.phase else {
            return self.refuse(origin, Refusal::NotServing, out);
        };
        if !l.established {
            return self.refuse(origin, Refusal::NotServing, out);
        }
        if l.outstanding.len() >= max_outstanding || l.next_counter == u32::MAX {
            return self.refuse(origin, Refusal::Overloaded, out);
        }
        let epoch = l.new_epoch.expect("established");
        l.next_counter += 1;
        let zxid = Zxid::new(epoch, l.next_counter);
        let pending: Vec<&R::Txn> = l.outstanding.values().map(|p| &p.txn).collect();
        let mut synced: VecSet<ServerId> = l
            .handlers
            .iter()
            .filter(|(_, h)| {
                h.forwarding && h.kind == LearnerKind::Follower && h.stage == HandlerStage::Broadcast
            })
            .map(|(&id, _)| id)
            .collect();
        synced.insert(self.id);
        let ctx = PrepareContext { zxid, time_ms: now, synced: &synced, origin: origin.server };
        let txn = self.state.prepare(&pending, ctx, &request);
        let targets: Vec<(ServerId, ConnId)> = l
            .handlers
            .iter()
            .filter(|(_, h)| h.forwarding && h.kind == LearnerKind::Follower)
            .map(|(&id, h)| (id, h.conn))
            .collect();
        l.outstanding.insert(zxid, Pending { txn: txn.clone(), origin: Some(origin), acks: VecSet::new() });
        for (id, conn) in targets {
            let packet = Packet::Proposal { zxid, txn: txn.clone(), origin: Some(origin) };
            self.send_packet(id, conn, packet, out);
        }
        self.persist(PersistOp::Append(LogEntry { zxid, txn, origin: Some(origin) }), out);
        self.after_persist(Deferred::SelfAck(zxid), out);
    }

    fn refuse(&mut self, origin: Origin, why: Refusal, out: &mut Vec<Output<R>>) {
        if origin.server == self.id && self.clients.remove(&origin.request_id) {
            out.push(Output::Refused { request_id: origin.request_id, why });
        }
    }

    /// Commits outstanding proposals strictly in zxid order, each once a quorum of
    /// voters (the leader included) has logged it.
    fn try_commit(&mut self, out: &mut Vec<Output<R>>) {
        let bugs = self.cfg.bugs;
        loop {
            // Joint while a reconfiguration is pending; the new one once it commits.
            let quorum = self.quorum.clone();
            let Phase::Leading(l) = &mut self.phase else { return };
            let Some((&zxid, p)) = l.outstanding.iter().next() else { return };
            let ok = if bugs.commit_without_quorum {
                p.acks.contains(&self.id)
            } else {
                quorum.contains_quorum(&p.acks)
            };
            if !ok {
                return;
            }
            let p = l.outstanding.remove(&zxid).expect("present");
            let targets: Vec<(ServerId, ConnId, LearnerKind)> = l
                .handlers
                .iter()
                .filter(|(_, h)| h.forwarding)
                .map(|(&id, h)| (id, h.conn, h.kind))
                .collect();
            for (id, conn, kind) in targets {
                let packet = match kind {
                    LearnerKind::Follower => Packet::Commit { zxid },
                    LearnerKind::Observer => Packet::Inform { zxid, txn: p.txn.clone(), origin: p.origin },
                };
                self.send_packet(id, conn, packet, out);
            }
            self.commit_upto(zxid, out);
            if self.misplaced() {
                // Reconfigured out: the leader steps down once the change is
                // committed, and the new configuration elects its own.
                return self.look(out);
            }
        }
    }

    // ---- inputs ---------------------------------------------------------------------

    fn on_packet(&mut self, from: ServerId, conn: ConnId, packet: Packet<R>, out: &mut Vec<Output<R>>) {
        match &self.phase {
            Phase::Looking(_) => {}
            Phase::Learning(l) => {
                if l.leader == from && l.conn == conn {
                    self.on_learner_packet(packet, out);
                }
            }
            Phase::Leading(_) => self.on_leader_packet(from, conn, packet, out),
        }
    }

    fn on_client(&mut self, request_id: u64, request: R::Request, out: &mut Vec<Output<R>>) {
        let origin = Origin { server: self.id, request_id };
        if self.clients.len() >= self.cfg.max_outstanding {
            return out.push(Output::Refused { request_id, why: Refusal::Overloaded });
        }
        let serving = match &self.phase {
            Phase::Leading(l) => l.established,
            Phase::Learning(l) => l.stage == LearnerStage::Broadcast,
            Phase::Looking(_) => false,
        };
        if !serving {
            return out.push(Output::Refused { request_id, why: Refusal::NotServing });
        }
        self.clients.insert(request_id);
        match &self.phase {
            Phase::Leading(_) => self.propose(origin, request, out),
            Phase::Learning(l) if l.stage == LearnerStage::Broadcast => {
                self.send_to_leader(Packet::Request { origin, request }, false, out);
            }
            Phase::Learning(_) | Phase::Looking(_) => self.refuse(origin, Refusal::NotServing, out),
        }
    }

    fn on_tick(&mut self, out: &mut Vec<Output<R>>) {
        let tick = self.tick;
        let (init_limit, sync_limit) = (self.cfg.init_limit, self.cfg.sync_limit);
        let quorum = self.quorum.clone();
        match &mut self.phase {
            Phase::Looking(_) => {}
            Phase::Learning(l) => {
                let limit = if l.stage == LearnerStage::Broadcast { sync_limit } else { init_limit };
                if tick > l.last_heard + limit {
                    return self.look(out);
                }
                if l.stage == LearnerStage::Discovery {
                    self.send_learner_info(out);
                }
            }
            Phase::Leading(l) => {
                l.handlers.retain(|_, h| h.deadline >= tick);
                if !l.established {
                    if tick > l.start_tick + init_limit {
                        return self.look(out);
                    }
                    return;
                }
                let mut synced: VecSet<ServerId> = l
                    .handlers
                    .iter()
                    .filter(|(_, h)| h.kind == LearnerKind::Follower)
                    .map(|(&id, _)| id)
                    .collect();
                synced.insert(self.id);
                if !quorum.contains_quorum(&synced) {
                    // "Not sufficient followers synced, only synced with sids: ..."
                    return self.look(out);
                }
                let pings: Vec<(ServerId, ConnId)> = l
                    .handlers
                    .iter()
                    .filter(|(_, h)| h.stage == HandlerStage::Broadcast)
                    .map(|(&id, h)| (id, h.conn))
                    .collect();
                for (id, conn) in pings {
                    self.send_packet(id, conn, Packet::Ping, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zab::registers::{RegRequest, Registers};

    /// Drives one server by hand: the sans-IO contract without the simulator.
    struct Harness {
        server: Server<Registers>,
        now: u64,
        timers: Vec<(u64, Timer)>,
        persisted: Vec<u64>,
        out: Vec<Output<Registers>>,
    }

    impl Harness {
        fn lone() -> Harness {
            let config = QuorumConfig::of([crate::config::ServerSpec::local(
                1,
                crate::config::MemberRole::Participant,
            )]);
            let mut out = Vec::new();
            let server = Server::recover(
                ServerId(1),
                ServerConfig::default(),
                config,
                Durable::default(),
                0,
                0,
                &mut out,
            );
            let mut h =
                Harness { server, now: 0, timers: Vec::new(), persisted: Vec::new(), out: Vec::new() };
            h.absorb(out);
            h
        }

        fn absorb(&mut self, out: Vec<Output<Registers>>) {
            for o in out {
                match o {
                    Output::SetTimer { timer, after_ms } => self.timers.push((self.now + after_ms, timer)),
                    Output::Persist { seq, .. } => self.persisted.push(seq),
                    other => self.out.push(other),
                }
            }
        }

        fn input(&mut self, input: Input<Registers>) {
            let mut out = Vec::new();
            self.server.step(self.now, input, &mut out);
            self.absorb(out);
        }

        /// Fires the earliest timer.
        fn fire(&mut self) {
            self.timers.sort();
            let (t, timer) = self.timers.remove(0);
            self.now = t;
            self.input(Input::Timer(timer));
        }

        /// Acknowledges every record written so far.
        fn flush(&mut self) {
            if let Some(&seq) = self.persisted.last() {
                self.persisted.clear();
                self.input(Input::Persisted(seq));
            }
        }
    }

    #[test]
    fn a_lone_server_leads_itself_once_its_epoch_is_durable() {
        let mut h = Harness::lone();
        assert_eq!(h.server.status().state, PeerState::Looking);
        // Its own vote is a quorum of one; the finalize wait ends the election.
        for _ in 0..10 {
            if h.server.status().state == PeerState::Leading {
                break;
            }
            h.fire();
        }
        assert_eq!(h.server.status().state, PeerState::Leading);
        assert!(!h.server.status().serving, "not established before its epoch is written");
        h.flush(); // acceptedEpoch
        h.flush(); // currentEpoch
        assert!(h.server.status().serving);
        assert_eq!(h.server.status().current_epoch, Epoch(1));
    }

    #[test]
    fn a_write_is_answered_only_after_the_leader_logged_it() {
        let mut h = Harness::lone();
        for _ in 0..10 {
            if h.server.status().serving {
                break;
            }
            h.fire();
            h.flush();
        }
        assert!(h.server.status().serving);
        h.out.clear();
        h.input(Input::Client { request_id: 7, request: RegRequest::Set { key: 1, value: 9 } });
        assert!(!h.out.iter().any(|o| matches!(o, Output::Reply { .. })), "no reply before the disk ack");
        h.flush();
        let reply = h.out.iter().find_map(|o| match o {
            Output::Reply { request_id, zxid, reply } => Some((*request_id, *zxid, *reply)),
            _ => None,
        });
        assert_eq!(reply, Some((7, Zxid::new(Epoch(1), 1), 9)));
        assert_eq!(h.server.state().get(1), Some(9));
    }
}
