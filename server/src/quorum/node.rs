//! One ensemble member's state under one lock: the core's ZAB server over the data tree
//! ([`Server<ZkDatabase>`]), its durable store, the links to its peers, and the clients
//! connected here (sessions, per-connection FIFO queues, the watch table).
//!
//! As the simulator's clients (`zoolab_core::scenario::sim`) and ZooKeeper do: a new
//! session is a createSession transaction through the leader; writes are forwarded to
//! the leader by ZAB and answered when applied here; reads are served from the local
//! tree after the connection's earlier requests; `sync` completes once this server has
//! applied what the leader had committed when it was asked; watches live here and
//! their events go out before any later reply; sessions expire at the leader, whose
//! tracker (rebuilt from its tree when it starts leading) hears of live clients from
//! every member; a client whose last seen zxid is ahead of this server is refused.

use super::store::QStore;
use super::wire::Frame;
use crate::zk::config::Config;
use crate::zk::lock;
use crate::zk::reply;
use crate::zk::state::{max_queued_bytes, wall_ms, ConnId, Counters, Next, Out, Outbox};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::hash::Hasher;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;
use tracing::{error, info, warn};
use zoolab_core::ids::{Epoch, ServerId, SessionId, Zxid};
use zoolab_core::jute::proto::{ConnectRequest, ConnectResponse, OpCode, RequestHeader, XID_AUTH, XID_PING};
use zoolab_core::jute::request::WireRequest;
use zoolab_core::tree::wire::{from_wire, TreeRequest};
use zoolab_core::tree::{
    Applied, AuthInfo, ReadRequest, SetWatches, TreeConfig, WatchManager, WriteRequest, ZkError,
};
use zoolab_core::zab::message::PeerState;
use zoolab_core::zab::server::{Input, Output, Server, Timer};
use zoolab_core::zab::zkdb::{ZkDatabase, ZkRequest};

/// The outgoing queues to one peer (one TCP connection per port and direction).
#[derive(Clone)]
pub struct PeerTx {
    /// Notifications (election port).
    pub election: UnboundedSender<Frame>,
    /// Everything else (quorum port).
    pub quorum: UnboundedSender<Frame>,
}

/// What a client request waits for, in its connection's FIFO queue.
enum Pending {
    /// Bytes ready to go.
    Ready(Vec<u8>),
    /// A write through ZAB.
    Write { request_id: u64, xid: i32, wire: WireRequest, done: Option<(Zxid, Applied)>, close_after: bool },
    /// A read, answered from the local tree once it reaches the head of the queue.
    Read { xid: i32, wire: WireRequest, read: ReadRequest },
    /// A reconnecting client's watches.
    SetWatches { xid: i32, req: SetWatches },
    /// A sync: waits for the leader's committed zxid, then for this server to apply it.
    Sync { xid: i32, wire: WireRequest, path: String, id: u64, until: Option<Zxid> },
}

/// A live client connection.
struct QConn {
    peer: SocketAddr,
    out: Outbox,
    dead: bool,
    session: Option<SessionId>,
    timeout_ms: i32,
    /// Requests in order, with when they were read.
    queue: VecDeque<(Instant, Pending)>,
    last_heard: Instant,
    last_zxid: i64,
    received: u64,
    sent: u64,
}

/// Who waits for a client request submitted to ZAB.
enum Req {
    Connect { conn: ConnId, session: SessionId, timeout_ms: i32 },
    Write { conn: ConnId },
    Expire { session: SessionId },
    Internal,
}

/// The leader's session tracker.
#[derive(Default)]
struct Tracker {
    epoch: Option<Epoch>,
    sessions: BTreeMap<SessionId, (u64, Instant, bool)>,
}

/// One ensemble member.
pub struct Node {
    /// The settings.
    pub config: Arc<Config>,
    me: ServerId,
    zab: Server<ZkDatabase>,
    tree_config: TreeConfig,
    store: Option<QStore>,
    durability: Durability,
    /// Wakes the log syncer.
    pub sync_wake: Arc<crate::zk::Doorbell>,
    peers: BTreeMap<ServerId, PeerTx>,
    weak: Weak<Mutex<Node>>,
    conns: BTreeMap<ConnId, QConn>,
    per_ip: HashMap<IpAddr, usize>,
    next_conn: ConnId,
    auth: BTreeMap<SessionId, AuthInfo>,
    watches: WatchManager,
    cursor: u64,
    requests: BTreeMap<u64, Req>,
    next_request: u64,
    next_session: i64,
    syncs: BTreeMap<u64, ConnId>,
    next_sync: u64,
    tracker: Tracker,
    was_serving: bool,
    last_cleanup: Instant,
    counters: Counters,
    digests: zoolab_core::tree::digest::DigestLog,
    started: Instant,
}

/// A session's password: the same on every member (ZooKeeper derives it from the
/// session id and a fixed seed, so any member can check it).
fn password(session: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    for salt in [0xb341_5c00_u64, 0x5a5a_a5a5] {
        #[allow(deprecated)]
        let mut h = std::hash::SipHasher::new_with_keys(0x7a6f_6f6c_6162, 0x656e_7365_6d62_6c65);
        h.write_i64(session);
        h.write_u64(salt);
        out.extend_from_slice(&h.finish().to_be_bytes());
    }
    out
}

impl Node {
    /// A member recovered from `store` (or empty, without a `dataDir`); `boot` runs its
    /// first outputs once it is behind its lock.
    pub fn new(
        config: Arc<Config>,
        me: ServerId,
        zab: Server<ZkDatabase>,
        store: Option<QStore>,
        peers: BTreeMap<ServerId, PeerTx>,
        weak: Weak<Mutex<Node>>,
    ) -> Node {
        let tree_config = TreeConfig {
            max_buffer: config.jute_max_buffer,
            ttl_enabled: config.extended_types,
            super_digest: config.super_digest.clone(),
            check_sessions: true,
        };
        let next_session = (((wall_ms() << 24) as u64) >> 8) as i64 | ((me.0 as i64) << 56);
        Node {
            config,
            me,
            zab,
            tree_config,
            store,
            durability: Durability::default(),
            sync_wake: Arc::default(),
            peers,
            weak,
            conns: BTreeMap::new(),
            per_ip: HashMap::new(),
            next_conn: 1,
            auth: BTreeMap::new(),
            watches: WatchManager::new(),
            cursor: 0,
            requests: BTreeMap::new(),
            next_request: 1,
            next_session,
            syncs: BTreeMap::new(),
            next_sync: 1,
            tracker: Tracker::default(),
            was_serving: false,
            last_cleanup: Instant::now(),
            counters: Counters::default(),
            digests: zoolab_core::tree::digest::DigestLog::new(),
            started: Instant::now(),
        }
    }

    /// The session of a connection sending one of zoolab's own requests, with its
    /// authentication; `None` before the handshake.
    fn admin_session(&mut self, conn: ConnId, now: Instant) -> Option<(SessionId, AuthInfo)> {
        self.counters.received += 1;
        let sid = self.conns.get_mut(&conn).and_then(|c| {
            c.received += 1;
            c.last_heard = now;
            c.session
        })?;
        Some((sid, self.auth.get(&sid).cloned().unwrap_or_default()))
    }

    // ---- driving the core ---------------------------------------------------------

    /// Carries out outputs the core returned outside [`Node::input`] (at recovery).
    pub fn boot(&mut self, out: Vec<Output<ZkDatabase>>) {
        let mut more = VecDeque::new();
        for o in out {
            self.output(o, &mut more);
        }
        self.end_of_step();
        self.drain(more);
    }

    /// A step's outputs are carried out: a checkpoint it asked for is started (written in
    /// the background; what this step and later ones logged is acknowledged once the
    /// store says it is durable).
    fn end_of_step(&mut self) {
        let Some(store) = &mut self.store else { return };
        let weak = self.weak.clone();
        let done = move |generation| {
            if let Some(n) = weak.upgrade() {
                lock(&n).checkpoint_written(generation);
            }
        };
        match store.end_of_step(self.zab.durable(), done) {
            Ok(Some(generation)) if self.config.force_sync => self.durability.checkpoint_started(generation),
            Ok(_) => {}
            Err(e) => {
                error!("cannot write a checkpoint: {e:#}; stopping");
                std::process::exit(3);
            }
        }
    }

    /// What a checkpoint started in the background held back is durable (the store's
    /// callback: see [`QStore::end_of_step`](super::store::QStore::end_of_step)).
    fn checkpoint_written(&mut self, generation: u64) {
        if let Some(upto) = self.durability.checkpoint_written(generation) {
            self.input(Input::Persisted(upto));
        }
    }

    /// Steps the core with one input and carries out everything that follows.
    pub fn input(&mut self, input: Input<ZkDatabase>) {
        self.drain(VecDeque::from([input]));
    }

    fn drain(&mut self, mut inputs: VecDeque<Input<ZkDatabase>>) {
        let mut guard = 0u32;
        while let Some(i) = inputs.pop_front() {
            let mut out = Vec::new();
            self.zab.step(wall_ms() as u64, i, &mut out);
            for o in out {
                self.output(o, &mut inputs);
            }
            self.end_of_step();
            guard += 1;
            if guard > 1_000_000 {
                error!("the core keeps asking for inputs; giving up on this batch");
                break;
            }
        }
        self.after_step();
    }

    fn output(&mut self, o: Output<ZkDatabase>, inputs: &mut VecDeque<Input<ZkDatabase>>) {
        match o {
            Output::Send { to, msg } => {
                if let Some(p) = self.peers.get(&to) {
                    let election = msg.is_election();
                    let f = Frame::from_message(msg);
                    let _ = if election { p.election.send(f) } else { p.quorum.send(f) };
                }
            }
            Output::Persist { seq, op } => {
                self.durability.written = seq;
                match &mut self.store {
                    Some(store) => {
                        if let Err(e) = store.write(&op) {
                            error!("cannot write the log: {e:#}; stopping");
                            std::process::exit(3);
                        }
                        // The syncer writes what is queued (and syncs it, unless
                        // forceSync=no, where the record counts as written now).
                        self.sync_wake.ring();
                        if !self.config.force_sync {
                            inputs.push_back(Input::Persisted(seq));
                        }
                    }
                    None => inputs.push_back(Input::Persisted(seq)),
                }
            }
            Output::SetTimer { timer, after_ms } => self.arm(timer, after_ms),
            Output::Reply { request_id, zxid, reply } => self.completed(request_id, Some((zxid, reply))),
            Output::Refused { request_id, why } => {
                info!("request {request_id} refused: {why:?}");
                self.completed(request_id, None)
            }
            Output::Role { state, epoch } => info!("now {state} in epoch {epoch}"),
            Output::Established { epoch } => info!("leading, established in epoch {epoch}"),
            Output::SyncChosen { learner, plan } => info!("syncing server {learner} with {plan}"),
            Output::Truncated { to } => info!("log truncated after {to}"),
            Output::Installed { zxid, .. } => info!("installed the leader's snapshot at {zxid}"),
            Output::Applied { zxid, digest } => self.digests.record(zxid, digest),
            _ => {}
        }
    }

    fn arm(&self, timer: Timer, after_ms: u64) {
        let w = self.weak.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(after_ms)).await;
            if let Some(n) = w.upgrade() {
                lock(&n).input(Input::Timer(timer));
            }
        });
    }

    /// Frames from a peer, in order: consecutive core messages are stepped as one batch.
    pub fn on_frames(&mut self, from: ServerId, frames: Vec<Frame>) {
        let mut batch = VecDeque::new();
        for f in frames {
            match f {
                Frame::Notification(..) | Frame::Quorum { .. } => {
                    if let Some(msg) = f.into_message() {
                        batch.push_back(Input::Message { from, msg });
                    }
                }
                other => {
                    if !batch.is_empty() {
                        self.drain(std::mem::take(&mut batch));
                    }
                    self.on_frame(from, other);
                }
            }
        }
        if !batch.is_empty() {
            self.drain(batch);
        }
    }

    /// A frame from a peer.
    pub fn on_frame(&mut self, from: ServerId, frame: Frame) {
        match frame {
            Frame::Hello { .. } => {}
            Frame::Touch { sessions } => {
                let now = Instant::now();
                for s in sessions {
                    if let Some(e) = self.tracker.sessions.get_mut(&s) {
                        e.1 = e.1.max(now + Duration::from_millis(e.0));
                    }
                }
            }
            Frame::Revalidate { session } => {
                // ZooKeeper's REVALIDATE: the session reconnected to `from`, its owner now.
                let st = self.zab.status();
                if st.state == PeerState::Leading && st.serving {
                    self.zab.state_mut().revalidate(session, from, st.current_epoch);
                }
            }
            Frame::SyncReq { id } => {
                let st = self.zab.status();
                if st.state == PeerState::Leading && st.serving {
                    self.to_peer(from, Frame::SyncResp { id, zxid: st.committed });
                }
            }
            Frame::SyncResp { id, zxid } => {
                if let Some(conn) = self.syncs.remove(&id) {
                    if let Some(c) = self.conns.get_mut(&conn) {
                        for (_, p) in c.queue.iter_mut() {
                            if let Pending::Sync { id: i, until, .. } = p {
                                if *i == id {
                                    *until = Some(zxid);
                                }
                            }
                        }
                    }
                    self.flush(conn);
                }
            }
            f => {
                if let Some(msg) = f.into_message() {
                    self.input(Input::Message { from, msg });
                }
            }
        }
    }

    /// A session reconnected here: this member owns it now. The leader records it at
    /// once; a learner tells the leader (ZooKeeper's REVALIDATE), ahead of any request
    /// of the session on the same connection to the leader. A write of the session that
    /// its old member forwards later is refused with SESSIONMOVED, and the old member
    /// closes that connection (`completed`).
    fn revalidate(&mut self, session: SessionId) {
        let st = self.zab.status();
        if st.state == PeerState::Leading {
            let me = self.zab.id();
            self.zab.state_mut().revalidate(session, me, st.current_epoch);
        } else if let Some(l) = st.leader {
            self.to_peer(l, Frame::Revalidate { session });
        }
    }

    fn to_peer(&self, to: ServerId, f: Frame) {
        if let Some(p) = self.peers.get(&to) {
            let _ = p.quorum.send(f);
        }
    }

    fn after_step(&mut self) {
        let serving = self.zab.status().serving;
        if self.was_serving && !serving {
            let n = self.conns.len();
            if n > 0 {
                info!("not serving any more: closing {n} client connection(s)");
            }
            let ids: Vec<ConnId> = self.conns.keys().copied().collect();
            for id in ids {
                self.close(id);
            }
            self.syncs.clear();
        }
        self.was_serving = serving;
        // Watch events of what was applied, before any later reply.
        let mut events = Vec::new();
        if serving {
            let auth = &self.auth;
            if let Ok(it) = self.zab.state().triggers_since(self.cursor) {
                for (_, triggers) in it {
                    events.extend(self.watches.trigger(triggers, |w| auth.get(&w)));
                }
            }
        }
        for e in events {
            let conn =
                self.conns.iter().find(|(_, c)| c.session == Some(e.watcher) && !c.dead).map(|(&id, _)| id);
            if let Some(conn) = conn {
                self.send(conn, Out::Packet(reply::notification(&e)));
            }
        }
        self.cursor = self.zab.state().applied_count();
        let ids: Vec<ConnId> =
            self.conns.iter().filter(|(_, c)| !c.queue.is_empty()).map(|(&id, _)| id).collect();
        for id in ids {
            self.flush(id);
        }
    }

    fn completed(&mut self, request_id: u64, result: Option<(Zxid, Applied)>) {
        match self.requests.remove(&request_id) {
            Some(Req::Connect { conn, session, timeout_ms }) => {
                let Some(c) = self.conns.get_mut(&conn) else { return };
                if result.is_none() {
                    return self.close(conn);
                }
                c.session = Some(session);
                c.timeout_ms = timeout_ms;
                self.auth.insert(session, AuthInfo::from_ip(&c.peer.ip().to_string()));
                info!(peer = %c.peer, "session 0x{:x} established, timeout {timeout_ms} ms", session.0);
                let resp = ConnectResponse {
                    protocol_version: 0,
                    timeout_ms,
                    session_id: session.0,
                    password: password(session.0),
                    read_only: false,
                };
                self.send(conn, Out::Packet(zoolab_core::jute::frame(&resp.encode())));
            }
            Some(Req::Write { conn }) => {
                let moved = result.as_ref().is_some_and(|(_, a)| {
                    matches!(&a.result, Err(f) if f.error == zoolab_core::tree::ZkError::SessionMoved)
                });
                if moved {
                    // ZooKeeper's FinalRequestProcessor: the session moved to another
                    // member (the leader refused the write), a connection-level error.
                    info!("session moved to another server: closing its old connection here (SESSIONMOVED)");
                    return self.close(conn);
                }
                let Some(c) = self.conns.get_mut(&conn) else { return };
                match result {
                    Some(r) => {
                        for (_, p) in c.queue.iter_mut() {
                            if let Pending::Write { request_id: id, done, .. } = p {
                                if *id == request_id {
                                    *done = Some(r);
                                    break;
                                }
                            }
                        }
                    }
                    // Not serving any more: the client gets CONNECTIONLOSS and retries.
                    None => self.close(conn),
                }
            }
            Some(Req::Expire { session }) => {
                if let Some(e) = self.tracker.sessions.get_mut(&session) {
                    e.2 = false;
                }
            }
            Some(Req::Internal) | None => {}
        }
    }

    fn submit(&mut self, req: Req, request_id: u64, zk: ZkRequest) {
        self.requests.insert(request_id, req);
        self.input(Input::Client { request_id, request: zk });
    }

    fn new_request_id(&mut self) -> u64 {
        self.next_request += 1;
        self.next_request
    }

    // ---- clients ------------------------------------------------------------------

    fn send(&mut self, conn: ConnId, out: Out) {
        let limit = max_queued_bytes(self.config.jute_max_buffer);
        if let Some(c) = self.conns.get_mut(&conn) {
            if c.dead {
                return;
            }
            if let Out::Packet(p) = &out {
                c.sent += 1;
                self.counters.sent += 1;
                let queued = c.out.queued.fetch_add(p.len(), Ordering::Relaxed) + p.len();
                if queued > limit {
                    warn!(peer = %c.peer, "closing connection: client too slow, {queued} bytes of replies unread");
                    c.dead = true;
                    c.out.kill.notify_one();
                    return;
                }
            }
            if matches!(out, Out::Close) {
                c.dead = true;
            }
            let _ = c.out.tx.send(out);
        }
    }

    fn close(&mut self, conn: ConnId) {
        self.send(conn, Out::Close);
    }

    fn zxid(&self) -> i64 {
        self.zab.state().tree().last_zxid().0 as i64
    }

    /// Answers what is ready at the head of a connection's queue, in order.
    fn flush(&mut self, conn: ConnId) {
        loop {
            let Some(c) = self.conns.get_mut(&conn) else { return };
            if c.dead {
                c.queue.clear();
                return;
            }
            // Look before taking: most steps leave most heads waiting, and a `Pending`
            // is large to move out and back.
            let last = self.zab.state().tree().last_zxid();
            let ready = match c.queue.front() {
                None => return,
                Some((_, Pending::Write { done: None, .. })) => false,
                Some((_, Pending::Sync { until, .. })) => until.is_some_and(|u| last >= u),
                Some(_) => true,
            };
            if !ready {
                return;
            }
            let Some((at, p)) = c.queue.pop_front() else { return };
            let sid = c.session.unwrap_or(SessionId(0));
            let timed = !matches!(p, Pending::Ready(_));
            match p {
                Pending::Ready(bytes) => self.send(conn, Out::Packet(bytes)),
                Pending::Write { xid, wire, done: Some((zxid, applied)), close_after, .. } => {
                    let z = zxid.0 as i64;
                    if close_after {
                        self.send(conn, Out::Packet(reply::header(xid, z, 0)));
                        info!("session 0x{:x} closed by its client", sid.0);
                        self.close(conn);
                    } else {
                        self.send(conn, Out::Packet(reply::write_reply(xid, z, &wire, &applied)));
                    }
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.last_zxid = c.last_zxid.max(z);
                    }
                }
                Pending::Read { xid, wire, read } => {
                    let auth = self.auth.get(&sid).cloned().unwrap_or_default();
                    let r = self.zab.state().tree().read(&mut self.watches, sid, &auth, &read);
                    let z = self.zxid();
                    self.send(conn, Out::Packet(reply::read_reply(xid, z, &wire, &r)));
                }
                Pending::SetWatches { xid, req } => {
                    let events = self.zab.state().tree().set_watches(&mut self.watches, sid, &req);
                    for e in &events {
                        self.send(conn, Out::Packet(reply::notification(e)));
                    }
                    let z = self.zxid();
                    self.send(conn, Out::Packet(reply::header(xid, z, 0)));
                }
                Pending::Sync { xid, wire, path, until: Some(u), .. }
                    if self.zab.state().tree().last_zxid() >= u =>
                {
                    let z = self.zxid();
                    let r = Ok(zoolab_core::tree::ReadResponse::Path(path));
                    self.send(conn, Out::Packet(reply::read_reply(xid, z, &wire, &r)));
                }
                other => {
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.queue.push_front((at, other));
                    }
                    return;
                }
            }
            if timed {
                let us = at.elapsed().as_micros() as u64;
                let k = &mut self.counters;
                k.min_us = if k.timed == 0 { us } else { k.min_us.min(us) };
                k.max_us = k.max_us.max(us);
                k.total_us += us;
                k.timed += 1;
            }
        }
    }

    /// The periodic work (every quarter tick): silent clients dropped, the leader's
    /// session tracker, touches sent to the leader.
    pub fn periodic(&mut self) {
        let now = Instant::now();
        let live: Vec<(ConnId, Option<SessionId>, bool)> = self
            .conns
            .iter()
            .map(|(&id, c)| {
                let silent = c.session.is_some()
                    && now.duration_since(c.last_heard) > Duration::from_millis(c.timeout_ms.max(0) as u64);
                (id, c.session, silent)
            })
            .collect();
        let sessions = self.zab.state().tree().sessions();
        let mut touched = Vec::new();
        let mut gone = Vec::new();
        for (id, s, silent) in live {
            if silent {
                info!("closing a client connection silent for its session timeout");
                gone.push(id);
            } else if let Some(s) = s {
                if sessions.contains_key(&s) {
                    touched.push(s);
                } else {
                    info!("session 0x{:x} is closed or expired: closing its connection", s.0);
                    gone.push(id);
                }
            }
        }
        for id in gone {
            self.close(id);
        }
        let st = self.zab.status();
        if !st.serving {
            self.tracker = Tracker::default();
            return;
        }
        if st.state != PeerState::Leading {
            if let Some(l) = st.leader {
                if !touched.is_empty() {
                    self.to_peer(l, Frame::Touch { sessions: touched });
                }
            }
            self.tracker = Tracker::default();
            return;
        }
        if self.tracker.epoch != Some(st.current_epoch) {
            // A new leadership: every session's deadline restarts (SessionTrackerImpl).
            self.tracker = Tracker { epoch: Some(st.current_epoch), sessions: BTreeMap::new() };
        }
        let tree_sessions: Vec<(SessionId, i32)> =
            self.zab.state().tree().sessions().iter().map(|(&s, &t)| (s, t)).collect();
        let known: BTreeSet<SessionId> = tree_sessions.iter().map(|(s, _)| *s).collect();
        self.tracker.sessions.retain(|s, _| known.contains(s));
        for (s, t) in tree_sessions {
            let t = t.max(0) as u64;
            self.tracker.sessions.entry(s).or_insert((t, now + Duration::from_millis(t), false));
        }
        for s in touched {
            if let Some(e) = self.tracker.sessions.get_mut(&s) {
                e.1 = e.1.max(now + Duration::from_millis(e.0));
            }
        }
        // The container manager (empty containers, expired TTL nodes) runs on the leader.
        if now.duration_since(self.last_cleanup)
            >= Duration::from_millis(self.config.container_check_interval_ms)
        {
            self.last_cleanup = now;
            let reqs =
                self.zab.state().tree().cleanup_requests(wall_ms(), self.config.container_max_never_used_ms);
            if !reqs.is_empty() {
                info!("container manager: deleting {} node(s)", reqs.len());
            }
            for request in reqs {
                let id = self.new_request_id();
                let zk = ZkRequest::write(SessionId(0), AuthInfo::default(), request);
                self.submit(Req::Internal, id, zk);
            }
        }
        let due: Vec<SessionId> =
            self.tracker.sessions.iter().filter(|(_, e)| e.1 <= now && !e.2).map(|(&s, _)| s).collect();
        for s in due {
            info!("expiring session 0x{:x}, timeout exceeded", s.0);
            if let Some(e) = self.tracker.sessions.get_mut(&s) {
                e.1 = now + Duration::from_millis(e.0);
                e.2 = true;
            }
            let id = self.new_request_id();
            let zk = ZkRequest::write(s, AuthInfo::default(), WriteRequest::CloseSession);
            self.submit(Req::Expire { session: s }, id, zk);
        }
    }

    // ---- four-letter words -------------------------------------------------------

    fn mode(&self) -> Option<&'static str> {
        let st = self.zab.status();
        if !st.serving {
            return None;
        }
        Some(match st.state {
            PeerState::Leading => "leader",
            PeerState::Following => "follower",
            PeerState::Observing => "observer",
            PeerState::Looking => return None,
        })
    }

    fn srvr(&self, with_clients: bool) -> String {
        let Some(mode) = self.mode() else {
            return "This ZooKeeper instance is not currently serving requests\n".into();
        };
        let mut out = format!("Zookeeper version: {}\n", crate::zk::fourlw::VERSION);
        if with_clients {
            out.push_str("Clients:\n");
            self.connections(&mut out);
            out.push('\n');
        }
        let (min, avg, max) = self.counters.latency();
        out.push_str(&format!(
            "Latency min/avg/max: {min:.3}/{avg:.3}/{max:.3}\nReceived: {}\nSent: {}\nConnections: {}\nOutstanding: {}\n\
             Zxid: 0x{:x}\nMode: {mode}\nNode count: {}\n",
            self.counters.received,
            self.counters.sent,
            self.conns.len(),
            self.requests.len(),
            self.zxid(),
            self.zab.state().tree().node_count()
        ));
        out
    }

    fn connections(&self, out: &mut String) {
        for c in self.conns.values() {
            out.push_str(&format!(
                " /{}[1](queued={},recved={},sent={},sid=0x{:x},to={},lzxid=0x{:x})\n",
                c.peer,
                c.queue.len(),
                c.received,
                c.sent,
                c.session.map_or(0, |s| s.0),
                c.timeout_ms,
                c.last_zxid
            ));
        }
    }

    fn dump(&self) -> String {
        let tree = self.zab.state().tree();
        let mut out = String::new();
        if self.zab.status().state == PeerState::Leading {
            out.push_str(&format!(
                "SessionTracker dump:\nGlobal Sessions({}):\n",
                self.tracker.sessions.len()
            ));
            for (sid, (timeout, _, _)) in &self.tracker.sessions {
                out.push_str(&format!("0x{:x}\t{timeout}ms\n", sid.0));
            }
        }
        let with: Vec<_> =
            tree.sessions().keys().filter(|&&s| tree.ephemerals_of(s).next().is_some()).collect();
        out.push_str(&format!("ephemeral nodes dump:\nSessions with Ephemerals ({}):\n", with.len()));
        for &s in &with {
            out.push_str(&format!("0x{:x}:\n", s.0));
            for p in tree.ephemerals_of(*s) {
                out.push_str(&format!("\t{p}\n"));
            }
        }
        out.push_str(&format!("Connections dump:\nConnections Sets (1)/({}):\n", self.conns.len()));
        for c in self.conns.values() {
            if let Some(s) = c.session {
                out.push_str(&format!("0x{:x}\n", s.0));
            }
        }
        out
    }

    fn mntr(&self) -> String {
        let Some(mode) = self.mode() else {
            return "This ZooKeeper instance is not currently serving requests\n".into();
        };
        let st = self.zab.status();
        let tree = self.zab.state().tree();
        let ephemerals: usize = tree.sessions().keys().map(|&s| tree.ephemerals_of(s).count()).sum();
        let lat = self.counters.latency();
        let rows: Vec<(&str, String)> = vec![
            ("zk_version", crate::zk::fourlw::VERSION.to_string()),
            ("zk_avg_latency", format!("{:.4}", lat.1)),
            ("zk_max_latency", format!("{:.3}", lat.2)),
            ("zk_min_latency", format!("{:.3}", lat.0)),
            ("zk_server_state", mode.into()),
            ("zk_server_id", self.me.0.to_string()),
            ("zk_packets_received", self.counters.received.to_string()),
            ("zk_packets_sent", self.counters.sent.to_string()),
            ("zk_num_alive_connections", self.conns.len().to_string()),
            ("zk_outstanding_requests", self.requests.len().to_string()),
            ("zk_znode_count", tree.node_count().to_string()),
            ("zk_watch_count", self.watches.len().to_string()),
            ("zk_ephemerals_count", ephemerals.to_string()),
            ("zk_approximate_data_size", tree.approximate_data_size().to_string()),
            ("zk_global_sessions", tree.sessions().len().to_string()),
            ("zk_uptime", self.started.elapsed().as_millis().to_string()),
            ("zk_last_zxid", format!("0x{:x}", self.zxid())),
            ("zk_current_epoch", st.current_epoch.0.to_string()),
            ("zk_accepted_epoch", st.accepted_epoch.0.to_string()),
            ("zk_committed_zxid", format!("0x{:x}", st.committed.0)),
            ("zk_digest", st.digest.to_string()),
        ];
        rows.iter().map(|(k, v)| format!("{k}\t{v}\n")).collect()
    }

    fn conf(&self) -> String {
        let mut out = crate::zk::fourlw::conf_of(&self.config);
        for s in &self.config.servers {
            let role = if s.observer { "observer" } else { "participant" };
            out.push_str(&format!(
                "server.{}={}:{}:{}:{role}\n",
                s.id, s.host, s.quorum_port, s.election_port
            ));
        }
        out.push_str("version=0\n");
        out
    }
}

impl crate::zk::Facing for Node {
    fn jute_max_buffer(&self) -> usize {
        self.config.jute_max_buffer
    }

    fn four_letter(&self, word: &str) -> String {
        if !crate::zk::config::ALL_FOUR_LETTER_WORDS.contains(&word) {
            return String::new();
        }
        if !self.config.allows(word) {
            return format!("{word} is not executed because it is not in the whitelist.\n");
        }
        self.four_letter_any(word).unwrap_or_default()
    }

    fn four_letter_any(&self, word: &str) -> Option<String> {
        Some(match word {
            "ruok" => "imok".into(),
            "srvr" => self.srvr(false),
            "stat" => self.srvr(true),
            "mntr" => self.mntr(),
            "conf" => self.conf(),
            "isro" => "rw".into(),
            "envi" => crate::zk::fourlw::envi(),
            "hash" => self.digests.render(),
            "cons" => {
                let mut out = String::new();
                self.connections(&mut out);
                out.push('\n');
                out
            }
            "wchs" => {
                let watching = self
                    .conns
                    .values()
                    .filter(|c| c.session.is_some_and(|s| self.watches.has_watches(s)))
                    .count();
                format!("{watching} connections watching some paths\nTotal watches:{}\n", self.watches.len())
            }
            "dump" => self.dump(),
            _ => return None,
        })
    }

    fn open(&mut self, peer: SocketAddr, out: Outbox) -> Result<ConnId, String> {
        let max = self.config.max_client_cnxns;
        let n = self.per_ip.entry(peer.ip()).or_default();
        if max > 0 && *n >= max {
            return Err(format!("too many connections from {} - max is {max}", peer.ip()));
        }
        *n += 1;
        let id = self.next_conn;
        self.next_conn += 1;
        let now = Instant::now();
        self.conns.insert(
            id,
            QConn {
                peer,
                out,
                dead: false,
                session: None,
                timeout_ms: 0,
                queue: VecDeque::new(),
                last_heard: now,
                last_zxid: 0,
                received: 0,
                sent: 0,
            },
        );
        Ok(id)
    }

    fn handshake(&mut self, conn: ConnId, req: &ConnectRequest, now: Instant) -> Next {
        let Some(peer) = self.conns.get(&conn).map(|c| c.peer) else {
            return Next::Close("connection already gone".into());
        };
        if !self.zab.status().serving {
            return Next::Close("this server is not serving (no quorum or still syncing)".into());
        }
        let zxid = self.zxid();
        if req.last_zxid_seen > zxid {
            return Next::Close(format!(
                "Refusing session request for client {peer} as it has seen zxid 0x{:x} our last zxid is 0x{zxid:x} \
                 client must try another server",
                req.last_zxid_seen
            ));
        }
        let timeout = self.config.negotiate_timeout(req.timeout_ms);
        if let Some(c) = self.conns.get_mut(&conn) {
            c.last_heard = now;
        }
        if req.session_id != 0 {
            let sid = SessionId(req.session_id);
            let known = self.zab.state().tree().sessions().contains_key(&sid);
            if !known || req.password != password(sid.0) {
                info!(%peer, "session 0x{:x}: invalid password or expired; telling the client", sid.0);
                let resp = ConnectResponse {
                    protocol_version: 0,
                    timeout_ms: 0,
                    session_id: 0,
                    password: vec![0; 16],
                    read_only: false,
                };
                self.send(conn, Out::Packet(zoolab_core::jute::frame(&resp.encode())));
                self.close(conn);
                return Next::Continue;
            }
            let old: Vec<ConnId> = self
                .conns
                .iter()
                .filter(|(&id, c)| id != conn && c.session == Some(sid))
                .map(|(&id, _)| id)
                .collect();
            for o in old {
                self.close(o);
                if let Some(c) = self.conns.get_mut(&o) {
                    c.session = None;
                }
            }
            self.auth.insert(sid, AuthInfo::from_ip(&peer.ip().to_string()));
            self.revalidate(sid);
            let c = self.conns.get_mut(&conn).expect("checked");
            c.session = Some(sid);
            c.timeout_ms = timeout;
            info!(%peer, "session 0x{:x} reconnected, timeout {timeout} ms", sid.0);
            let resp = ConnectResponse {
                protocol_version: 0,
                timeout_ms: timeout,
                session_id: sid.0,
                password: password(sid.0),
                read_only: false,
            };
            self.send(conn, Out::Packet(zoolab_core::jute::frame(&resp.encode())));
            return Next::Continue;
        }
        let sid = SessionId(self.next_session);
        self.next_session += 1;
        let id = self.new_request_id();
        let zk = ZkRequest::write(
            sid,
            AuthInfo::from_ip(&peer.ip().to_string()),
            WriteRequest::CreateSession { timeout_ms: timeout },
        );
        self.submit(Req::Connect { conn, session: sid, timeout_ms: timeout }, id, zk);
        Next::Continue
    }

    fn request(&mut self, conn: ConnId, header: RequestHeader, mut req: WireRequest, now: Instant) -> Next {
        self.counters.received += 1;
        let Some(sid) = self.conns.get_mut(&conn).and_then(|c| {
            c.received += 1;
            c.last_heard = now;
            c.session
        }) else {
            return Next::Close("request before the handshake".into());
        };
        let xid = header.xid;
        let z = self.zxid();
        let push = |node: &mut Node, p: Pending| {
            if let Some(c) = node.conns.get_mut(&conn) {
                c.queue.push_back((now, p));
            }
        };
        match &req {
            WireRequest::Ping => push(self, Pending::Ready(reply::header(XID_PING, z, 0))),
            WireRequest::Auth { scheme, auth, .. } => {
                let super_digest = self.tree_config.super_digest.clone();
                match self.auth.entry(sid).or_default().add(scheme, auth, super_digest.as_deref()) {
                    Ok(()) => push(self, Pending::Ready(reply::header(XID_AUTH, 0, 0))),
                    Err(e) => {
                        push(self, Pending::Ready(reply::header(XID_AUTH, 0, e.code())));
                        self.flush(conn);
                        self.close(conn);
                        return Next::Close(format!("authentication failed for scheme {scheme:?}"));
                    }
                }
            }
            WireRequest::Unsupported { op: OpCode::Sasl } => {
                self.send(conn, Out::Packet(reply::header(xid, z, ZkError::AuthFailed.code())));
                self.close(conn);
                return Next::Close("SASL is not supported by this server".into());
            }
            WireRequest::CloseSession => {
                let id = self.new_request_id();
                let wire = req.clone();
                push(self, Pending::Write { request_id: id, xid, wire, done: None, close_after: true });
                let zk = ZkRequest::write(sid, AuthInfo::default(), WriteRequest::CloseSession);
                self.submit(Req::Write { conn }, id, zk);
            }
            _ => match from_wire(&req) {
                TreeRequest::Write(w) => {
                    if self.tree_config.check_size(&w).is_err() {
                        self.close(conn);
                        return Next::Close(format!("request of {} bytes over jute.maxbuffer", w.wire_len()));
                    }
                    let id = self.new_request_id();
                    push(
                        self,
                        Pending::Write {
                            request_id: id,
                            xid,
                            // Kept for the reply's shape, without a copy of the data.
                            wire: std::mem::replace(&mut req, WireRequest::Ping),
                            done: None,
                            close_after: false,
                        },
                    );
                    let auth = self.auth.get(&sid).cloned().unwrap_or_default();
                    let zk = ZkRequest {
                        ttl_enabled: self.tree_config.ttl_enabled,
                        ..ZkRequest::write(sid, auth, w)
                    };
                    self.submit(Req::Write { conn }, id, zk);
                }
                TreeRequest::Read(ReadRequest::Sync { path }) => {
                    let st = self.zab.status();
                    let id = self.next_sync;
                    self.next_sync += 1;
                    let until = if st.state == PeerState::Leading { Some(st.committed) } else { None };
                    push(
                        self,
                        Pending::Sync {
                            xid,
                            wire: std::mem::replace(&mut req, WireRequest::Ping),
                            path,
                            id,
                            until,
                        },
                    );
                    if until.is_none() {
                        match st.leader {
                            Some(l) => {
                                self.syncs.insert(id, conn);
                                self.to_peer(l, Frame::SyncReq { id });
                            }
                            None => {
                                self.close(conn);
                                return Next::Close("sync with no leader".into());
                            }
                        }
                    }
                }
                TreeRequest::Read(read) => push(
                    self,
                    Pending::Read { xid, wire: std::mem::replace(&mut req, WireRequest::Ping), read },
                ),
                TreeRequest::SetWatches(sw) => push(self, Pending::SetWatches { xid, req: sw }),
                TreeRequest::CheckWatches { path, kind } => {
                    let err = match self.watches.check_watches(&path, kind) {
                        Ok(()) => 0,
                        Err(e) => e.code(),
                    };
                    push(self, Pending::Ready(reply::header(xid, z, err)));
                }
                TreeRequest::Refused(e) => push(self, Pending::Ready(reply::header(xid, z, e.code()))),
                TreeRequest::NotForTheTree => {
                    push(self, Pending::Ready(reply::header(xid, z, ZkError::Unimplemented.code())))
                }
            },
        }
        self.flush(conn);
        Next::Continue
    }

    fn import(&mut self, conn: ConnId, xid: i32, req: WriteRequest, now: Instant) -> Next {
        let Some((sid, auth)) = self.admin_session(conn, now) else {
            return Next::Close("import before the handshake".into());
        };
        let pending = if !auth.is_super() {
            warn!("import refused for session 0x{:x}: not the super-user", sid.0);
            Pending::Ready(reply::header(xid, self.zxid(), ZkError::NoAuth.code()))
        } else {
            let id = self.new_request_id();
            let zk = ZkRequest::write(sid, auth, req);
            self.submit(Req::Write { conn }, id, zk);
            // An applied import answers like a check: a header with its zxid.
            let wire = WireRequest::Check { path: "/".into(), version: -1 };
            Pending::Write { request_id: id, xid, wire, done: None, close_after: false }
        };
        if let Some(c) = self.conns.get_mut(&conn) {
            c.queue.push_back((now, pending));
        }
        self.flush(conn);
        Next::Continue
    }

    fn raise_epoch(&mut self, conn: ConnId, xid: i32, epoch: u32, now: Instant) -> Next {
        let Some((sid, auth)) = self.admin_session(conn, now) else {
            return Next::Close("raise-epoch before the handshake".into());
        };
        let err = if auth.is_super() {
            0
        } else {
            warn!("raise-epoch refused for session 0x{:x}: not the super-user", sid.0);
            ZkError::NoAuth.code()
        };
        // Answered first: looking for a new leader closes this member's connections.
        let answer = Pending::Ready(reply::header(xid, self.zxid(), err));
        if let Some(c) = self.conns.get_mut(&conn) {
            c.queue.push_back((now, answer));
        }
        self.flush(conn);
        if err == 0 {
            info!("acceptedEpoch raised to at least {epoch} online (session 0x{:x}); re-electing", sid.0);
            let mut out = Vec::new();
            self.zab.raise_epoch(Epoch(epoch), &mut out);
            self.boot(out);
        }
        Next::Continue
    }

    fn malformed(&mut self, conn: ConnId, why: &str) {
        if let Some(c) = self.conns.get(&conn) {
            warn!(peer = %c.peer, "closing connection: {why}");
        }
        self.close(conn);
    }

    fn closed(&mut self, conn: ConnId) {
        if let Some(c) = self.conns.remove(&conn) {
            if let Some(n) = self.per_ip.get_mut(&c.peer.ip()) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.per_ip.remove(&c.peer.ip());
                }
            }
            if let Some(s) = c.session {
                // ZooKeeper forgets a connection's watches when it ends; the client sets
                // them again on reconnecting.
                if !self.conns.values().any(|o| o.session == Some(s)) {
                    self.watches.remove_watcher(s);
                }
            }
        }
    }
}

impl crate::zk::GroupCommit for Node {
    /// Writes what is queued to the log and syncs it (only writes it with forceSync=no).
    fn sync_due(&mut self) -> Option<(crate::zk::SyncWork, u64)> {
        let d = &self.durability;
        if d.synced >= d.written {
            return None;
        }
        let wal = self.store.as_ref()?.wal();
        let work: crate::zk::SyncWork = if self.config.force_sync {
            Box::new(move || wal.sync())
        } else {
            Box::new(move || wal.write_queued())
        };
        Some((work, d.written))
    }

    /// Records up to `upto` are durable: the core learns it (unless a checkpoint being
    /// written holds them back).
    fn synced(&mut self, upto: u64) {
        if let Some(upto) = self.durability.synced(upto) {
            self.input(Input::Persisted(upto));
        }
    }
}

/// Which of the records the core asked for (numbered by its `Persist` sequence) it may
/// hear are durable: those the group commit synced, except while a checkpoint is being
/// started in the background: then those from the first one not synced when it started
/// wait for the store's word (`checkpoint_written`, when the store calls back: for a
/// snapshot once the old log is synced, for an installed SNAP once the checkpoint is in
/// place; until then they are in the old log not yet synced, in the checkpoint, or in
/// the next generation's log, which counts only from then on).
#[derive(Debug, Default)]
struct Durability {
    /// The last record handed to the store.
    written: u64,
    /// The last record the group commit synced.
    synced: u64,
    /// The last record the core was told about.
    acked: u64,
    /// A checkpoint being written: its generation, the first record that waits for it,
    /// and the last record of the step that started it.
    held: Option<(u64, u64, u64)>,
}

impl Durability {
    /// What the core may hear now, if it is news.
    fn ack(&mut self) -> Option<u64> {
        let limit = self.held.map_or(u64::MAX, |(_, first, _)| first - 1);
        let upto = self.synced.min(limit);
        (upto > self.acked).then(|| {
            self.acked = upto;
            upto
        })
    }

    fn synced(&mut self, upto: u64) -> Option<u64> {
        self.synced = self.synced.max(upto);
        self.ack()
    }

    /// A checkpoint started at the end of the step that wrote record `written`.
    fn checkpoint_started(&mut self, generation: u64) {
        // A checkpoint started only once the one before was in place, whose
        // `checkpoint_written` may not have come yet: its records wait for this one.
        let first = self.held.map_or(self.synced + 1, |(_, f, _)| f.min(self.synced + 1));
        self.held = Some((generation, first, self.written));
    }

    fn checkpoint_written(&mut self, generation: u64) -> Option<u64> {
        match self.held {
            Some((g, _, covers)) if g == generation => {
                self.held = None;
                self.synced = self.synced.max(covers);
                self.ack()
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Durability;

    #[test]
    fn records_wait_for_a_checkpoint_being_written() {
        let mut d = Durability { written: 5, ..Durability::default() };
        assert_eq!(d.synced(3), Some(3));
        // Records 4 and 5 are in the old log, 6 and 7 (the snapshot's step) in the
        // checkpoint; 8 and later go to the next log.
        d.written = 7;
        d.checkpoint_started(2);
        d.written = 9;
        assert_eq!(d.synced(5), None, "4 and 5 were synced by the old log's sync, yet wait");
        assert_eq!(d.synced(9), None);
        assert_eq!(d.checkpoint_written(1), None, "an older generation releases nothing");
        assert_eq!(d.checkpoint_written(2), Some(9));
        assert_eq!(d.checkpoint_written(2), None);
        // The checkpoint came before the next log's sync: up to its own step only.
        d.written = 12;
        d.checkpoint_started(3);
        d.written = 14;
        assert_eq!(d.checkpoint_written(3), Some(12));
        assert_eq!(d.synced(14), Some(14));
        // Two checkpoints back to back: the first's records wait for the second.
        d.written = 16;
        d.checkpoint_started(4);
        d.written = 18;
        d.checkpoint_started(5);
        assert_eq!(d.synced(18), None);
        assert_eq!(d.checkpoint_written(4), None);
        assert_eq!(d.checkpoint_written(5), Some(18));
    }
}
