//! The shared state of a standalone server: the core's [`Standalone`] state machine, the
//! sessions' wall-clock deadlines and passwords, and the live connections' outgoing
//! queues. Every request is handled under one lock, so a write's watch notifications are
//! queued to every connection before any later reply (each connection's queue is FIFO).

use super::config::Config;
use super::reply;
use super::store::Store;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::Notify;
use tracing::{error, info, warn};
use zoolab_core::ids::SessionId;
use zoolab_core::jute::proto::{ConnectRequest, ConnectResponse, RequestHeader, XID_AUTH, XID_PING};
use zoolab_core::jute::request::WireRequest;
use zoolab_core::tree::digest::DigestLog;
use zoolab_core::tree::wire::{from_wire, TreeRequest};
use zoolab_core::tree::{DataTree, Reply, Standalone, TreeConfig, Txn, WriteRequest, ZkError};

/// What a connection's writer does next.
#[derive(Debug)]
pub enum Out {
    /// Send these bytes.
    Packet(Vec<u8>),
    /// Flush and close the connection.
    Close,
}

/// A connection's handle.
pub type ConnId = u64;

/// A connection's outgoing side, as the state machine sees it.
#[derive(Debug, Clone)]
pub struct Outbox {
    /// The writer's queue.
    pub tx: UnboundedSender<Out>,
    /// Bytes queued and not yet written (the writer subtracts what it wrote).
    pub queued: Arc<AtomicUsize>,
    /// Wakes the connection's task to drop a client that reads too slowly.
    pub kill: Arc<Notify>,
}

/// The most bytes queued for one connection before it is dropped as too slow: a client
/// that sends requests and never reads their replies cannot exhaust the server's memory.
pub fn max_queued_bytes(jute_max_buffer: usize) -> usize {
    (64 << 20).max(4 * jute_max_buffer)
}

/// A live connection.
#[derive(Debug)]
pub struct Conn {
    /// The peer.
    pub peer: SocketAddr,
    /// Its outgoing queue.
    pub out: Outbox,
    /// Dropped as too slow: nothing more is queued.
    pub dead: bool,
    /// Its session, once the handshake is done.
    pub session: Option<SessionId>,
    /// Packets received.
    pub received: u64,
    /// Packets sent.
    pub sent: u64,
    /// When it connected.
    pub since: Instant,
    /// The last zxid it was answered with.
    pub last_zxid: i64,
}

/// A session as the driver keeps it (the tree keeps its own record and ephemerals).
#[derive(Debug)]
pub struct Session {
    /// The negotiated timeout (ms).
    pub timeout_ms: i32,
    /// The password.
    pub password: Vec<u8>,
    /// Expires when the clock passes this.
    pub deadline: Instant,
    /// The connection it is attached to.
    pub conn: Option<ConnId>,
}

/// Server-wide counters.
#[derive(Debug, Default)]
pub struct Counters {
    /// Packets received.
    pub received: u64,
    /// Packets sent.
    pub sent: u64,
    /// Requests timed, and their total, least and most handling time (µs, from the
    /// packet read to its reply queued or held for the log sync).
    pub timed: u64,
    /// Total µs.
    pub total_us: u64,
    /// Least µs.
    pub min_us: u64,
    /// Most µs.
    pub max_us: u64,
}

impl Counters {
    /// `Latency min/avg/max` as ZooKeeper prints it (ms).
    pub fn latency(&self) -> (f64, f64, f64) {
        if self.timed == 0 {
            return (0.0, 0.0, 0.0);
        }
        let ms = |us: u64| us as f64 / 1000.0;
        (ms(self.min_us), ms(self.total_us) / self.timed as f64, ms(self.max_us))
    }
}

/// The server.
pub struct State {
    /// The settings.
    pub config: Arc<Config>,
    /// The core's state machine.
    pub zk: Standalone,
    /// The transaction log and snapshots (with a `dataDir`).
    pub store: Option<Store>,
    /// Sessions by id.
    pub sessions: BTreeMap<SessionId, Session>,
    /// Connections.
    pub conns: BTreeMap<ConnId, Conn>,
    /// Connections per client IP (for `maxClientCnxns`).
    pub per_ip: HashMap<IpAddr, usize>,
    /// The `hash` four-letter word's history.
    pub digests: DigestLog,
    /// Counters.
    pub counters: Counters,
    /// Transactions appended to the log, and how many of them are known synced.
    appended: u64,
    synced: u64,
    /// Packets held until the log is synced up to their tag (group commit).
    held: std::collections::VecDeque<(u64, ConnId, Out)>,
    /// Wakes the syncer.
    pub sync_wake: Arc<super::Doorbell>,
    next_conn: ConnId,
    next_session: i64,
    secret: [u8; 16],
    /// When the server started.
    pub started: Instant,
}

/// Milliseconds since the epoch: ZooKeeper's `Time.currentWallTime()`.
pub fn wall_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// What the connection should do after a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Read the next packet.
    Continue,
    /// Close (the reason is logged).
    Close(String),
}

impl State {
    /// A server over a fresh or recovered tree; the tree's sessions get a timeout to
    /// reconnect in, as ZooKeeper's do after a restart.
    pub fn new(config: Arc<Config>, tree: DataTree, store: Option<Store>) -> State {
        let tree_config = TreeConfig {
            max_buffer: config.jute_max_buffer,
            ttl_enabled: config.extended_types,
            super_digest: config.super_digest.clone(),
            check_sessions: true,
        };
        let id = config.my_id.unwrap_or(0) as i64;
        // ZooKeeper's SessionTrackerImpl.initializeNextSessionId.
        let next_session = (((wall_ms() << 24) as u64) >> 8) as i64 | (id << 56);
        let secret = match &store {
            Some(s) => s.secret,
            None => {
                let mut h = std::collections::hash_map::RandomState::new().build_hasher();
                h.write_i64(wall_ms());
                let a = h.finish().to_be_bytes();
                let mut s = [0u8; 16];
                s[..8].copy_from_slice(&a);
                s[8..].copy_from_slice(&a.map(|b| b.rotate_left(3)));
                s
            }
        };
        let now = Instant::now();
        let recovered: Vec<(SessionId, i32)> = tree.sessions().iter().map(|(&s, &t)| (s, t)).collect();
        let mut st = State {
            config,
            zk: Standalone::from_tree(tree_config, tree),
            store,
            sessions: BTreeMap::new(),
            conns: BTreeMap::new(),
            per_ip: HashMap::new(),
            digests: DigestLog::new(),
            counters: Counters::default(),
            next_conn: 1,
            next_session,
            secret,
            started: Instant::now(),
            appended: 0,
            synced: 0,
            held: std::collections::VecDeque::new(),
            sync_wake: Arc::default(),
        };
        for (sid, timeout_ms) in recovered {
            let password = st.password(sid.0);
            let deadline = now + std::time::Duration::from_millis(timeout_ms.max(0) as u64);
            st.sessions.insert(sid, Session { timeout_ms, password, deadline, conn: None });
            st.next_session = st.next_session.max(sid.0 + 1);
        }
        st
    }

    /// Logs a transaction before anything about it is sent. A server that cannot write
    /// its log stops, as ZooKeeper does.
    fn log(&mut self, txn: &Txn) {
        if let Some(store) = &mut self.store {
            let r = store.append(txn).and_then(|()| store.maybe_snapshot(self.zk.tree()));
            if let Err(e) = r {
                error!("cannot write the transaction log: {e:#}; stopping");
                std::process::exit(3);
            }
            if store.force_sync() {
                self.appended += 1;
                self.sync_wake.ring();
            }
        }
    }
}

impl super::GroupCommit for State {
    /// The log to sync and how many transactions that covers, if any are unsynced.
    fn sync_due(&mut self) -> Option<(super::SyncWork, u64)> {
        if self.synced >= self.appended {
            return None;
        }
        let file = match self.store.as_ref()?.log_handle() {
            Ok(f) => f,
            Err(e) => {
                error!("cannot reopen the log: {e:#}; stopping");
                std::process::exit(3);
            }
        };
        Some((Box::new(move || file.sync_data()), self.appended))
    }

    /// The log is synced up to `upto` transactions: the packets held for them go out.
    fn synced(&mut self, upto: u64) {
        self.synced = self.synced.max(upto);
        while self.held.front().is_some_and(|(tag, _, _)| *tag <= self.synced) {
            let (_, conn, out) = self.held.pop_front().expect("non-empty");
            self.send_now(conn, out);
        }
    }
}

/// A migration's write fence and the controller's own znodes
/// (`zoolab_core::migration::fence::refusal`, the check the simulator's leader makes):
/// a refused write becomes an error transaction (NOTREADONLY in the fenced subtree;
/// NOAUTH / BADARGUMENTS on `/zookeeper/migration…`).
fn fenced<'a>(tree: &DataTree, w: &'a WriteRequest) -> std::borrow::Cow<'a, WriteRequest> {
    match zoolab_core::migration::fence::refusal(tree, &[], w) {
        Some(e) => std::borrow::Cow::Owned(WriteRequest::Invalid(e)),
        None => std::borrow::Cow::Borrowed(w),
    }
}

impl State {
    /// The last zxid applied.
    pub fn zxid(&self) -> i64 {
        self.zk.tree().last_zxid().0 as i64
    }

    /// Registers a new connection, or refuses it (`maxClientCnxns`).
    pub fn open(&mut self, peer: SocketAddr, out: Outbox) -> Result<ConnId, String> {
        let max = self.config.max_client_cnxns;
        let n = self.per_ip.entry(peer.ip()).or_default();
        if max > 0 && *n >= max {
            return Err(format!("too many connections from {} - max is {max}", peer.ip()));
        }
        *n += 1;
        let id = self.next_conn;
        self.next_conn += 1;
        self.conns.insert(
            id,
            Conn {
                peer,
                out,
                dead: false,
                session: None,
                received: 0,
                sent: 0,
                since: Instant::now(),
                last_zxid: 0,
            },
        );
        Ok(id)
    }

    /// zoolab's raise-epoch request: a standalone server has no election, so no epoch
    /// to raise (UNIMPLEMENTED; the controller says to migrate into an ensemble).
    pub fn raise_epoch(&mut self, conn: ConnId, xid: i32, epoch: u32, _now: Instant) -> Next {
        self.counters.received += 1;
        if self.conns.get(&conn).and_then(|c| c.session).is_none() {
            return Next::Close("raise-epoch before the handshake".into());
        }
        info!("raise-epoch to {epoch} refused: a standalone server has no election");
        let z = self.zxid();
        self.send(conn, Out::Packet(reply::header(xid, z, ZkError::Unimplemented.code())));
        Next::Continue
    }

    /// zoolab's import request: a migration controller's batch, applied as the core's
    /// `TxnOp::Import` under the next zxid. Only a super-user session may send it; any
    /// other gets NOAUTH (and the refusal is logged).
    pub fn import(&mut self, conn: ConnId, xid: i32, w: WriteRequest, now: Instant) -> Next {
        self.counters.received += 1;
        let Some(sid) = self.conns.get(&conn).and_then(|c| c.session) else {
            return Next::Close("import before the handshake".into());
        };
        let Some(session) = self.sessions.get_mut(&sid) else {
            return Next::Close(format!("session 0x{:x} has expired", sid.0));
        };
        session.deadline = now + std::time::Duration::from_millis(session.timeout_ms as u64);
        if !self.zk.auth(sid).is_some_and(|a| a.is_super()) {
            warn!("import refused for session 0x{:x}: not the super-user", sid.0);
            let z = self.zxid();
            self.send(conn, Out::Packet(reply::header(xid, z, ZkError::NoAuth.code())));
            return Next::Continue;
        }
        match self.zk.write(sid, &w, wall_ms()) {
            Ok(r) => {
                self.log(&r.txn);
                self.deliver(&r);
                let z = r.applied.zxid.0 as i64;
                let err = match &r.applied.result {
                    Ok(_) => 0,
                    Err(f) => f.error.code(),
                };
                self.send(conn, Out::Packet(reply::header(xid, z, err)));
                Next::Continue
            }
            Err(_) => {
                self.send(conn, Out::Close);
                Next::Close(format!("import of {} bytes over jute.maxbuffer", w.wire_len()))
            }
        }
    }

    /// Forgets a closed connection (its session lives on until it expires).
    pub fn closed(&mut self, id: ConnId) {
        if let Some(c) = self.conns.remove(&id) {
            if let Some(n) = self.per_ip.get_mut(&c.peer.ip()) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.per_ip.remove(&c.peer.ip());
                }
            }
            if let Some(s) = c.session.and_then(|s| self.sessions.get_mut(&s)) {
                if s.conn == Some(id) {
                    s.conn = None;
                }
            }
        }
    }

    /// Queues a packet for a connection: at once, or after the log is synced if
    /// transactions are waiting for their sync (so nothing about a transaction, not even
    /// a read that sees it, is sent before it is durable).
    fn send(&mut self, conn: ConnId, out: Out) {
        if self.synced < self.appended {
            self.held.push_back((self.appended, conn, out));
        } else {
            self.send_now(conn, out);
        }
    }

    fn send_now(&mut self, conn: ConnId, out: Out) {
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
            let _ = c.out.tx.send(out);
        }
    }

    fn password(&self, session: i64) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        for salt in [0x5a5a_u64, 0xa5a5] {
            #[allow(deprecated)]
            let mut h = std::hash::SipHasher::new();
            h.write(&self.secret);
            h.write_i64(session);
            h.write_u64(salt);
            out.extend_from_slice(&h.finish().to_be_bytes());
        }
        out
    }

    fn deliver(&mut self, reply: &Reply) {
        if reply.applied.zxid.0 > 0 {
            self.digests.record(reply.applied.zxid, self.zk.tree().digest());
        }
        for e in &reply.events {
            let conn = self.sessions.get(&e.watcher).and_then(|s| s.conn);
            if let Some(conn) = conn {
                self.send(conn, Out::Packet(reply::notification(e)));
            }
        }
    }

    /// The connect handshake. Returns the response to send, or why the connection closes.
    pub fn handshake(&mut self, conn: ConnId, req: &ConnectRequest, now: Instant) -> Next {
        let peer = match self.conns.get(&conn) {
            Some(c) => c.peer,
            None => return Next::Close("connection already gone".into()),
        };
        if req.last_zxid_seen > self.zxid() {
            return Next::Close(format!(
                "Refusing session request for client {peer} as it has seen zxid 0x{:x} our last zxid is 0x{:x} \
                 client must try another server",
                req.last_zxid_seen,
                self.zxid()
            ));
        }
        let timeout = self.config.negotiate_timeout(req.timeout_ms);
        let deadline = now + std::time::Duration::from_millis(timeout as u64);
        let resp = if req.session_id != 0 {
            let sid = SessionId(req.session_id);
            let valid = self.sessions.get(&sid).is_some_and(|s| s.password == req.password);
            if !valid {
                info!(%peer, "session 0x{:x}: invalid password or expired; telling the client", req.session_id);
                let resp = ConnectResponse {
                    protocol_version: 0,
                    timeout_ms: 0,
                    session_id: 0,
                    password: vec![0; 16],
                    read_only: false,
                };
                self.send(conn, Out::Packet(zoolab_core::jute::frame(&resp.encode())));
                self.send(conn, Out::Close);
                return Next::Continue;
            }
            let old = self.sessions.get(&sid).and_then(|s| s.conn);
            if let Some(old) = old.filter(|&o| o != conn) {
                self.send(old, Out::Close);
                if let Some(c) = self.conns.get_mut(&old) {
                    c.session = None;
                }
            }
            self.zk.adopt(sid, &peer.ip().to_string());
            let s = self.sessions.get_mut(&sid).expect("checked above");
            s.conn = Some(conn);
            s.timeout_ms = timeout;
            s.deadline = deadline;
            info!(%peer, "session 0x{:x} reconnected, timeout {timeout} ms", sid.0);
            ConnectResponse {
                protocol_version: 0,
                timeout_ms: timeout,
                session_id: sid.0,
                password: s.password.clone(),
                read_only: false,
            }
        } else {
            let sid = SessionId(self.next_session);
            self.next_session += 1;
            let password = self.password(sid.0);
            let reply = self.zk.connect(sid, &peer.ip().to_string(), timeout, wall_ms());
            self.log(&reply.txn);
            self.sessions.insert(
                sid,
                Session { timeout_ms: timeout, password: password.clone(), deadline, conn: Some(conn) },
            );
            self.deliver(&reply);
            info!(%peer, "session 0x{:x} established, timeout {timeout} ms", sid.0);
            ConnectResponse {
                protocol_version: 0,
                timeout_ms: timeout,
                session_id: sid.0,
                password,
                read_only: false,
            }
        };
        if let Some(c) = self.conns.get_mut(&conn) {
            c.session = Some(SessionId(resp.session_id));
        }
        self.send(conn, Out::Packet(zoolab_core::jute::frame(&resp.encode())));
        Next::Continue
    }

    /// One request from a connected client.
    pub fn request(&mut self, conn: ConnId, header: RequestHeader, req: &WireRequest, now: Instant) -> Next {
        self.counters.received += 1;
        let Some(sid) = self.conns.get_mut(&conn).and_then(|c| {
            c.received += 1;
            c.session
        }) else {
            return Next::Close("request before the handshake".into());
        };
        let Some(session) = self.sessions.get_mut(&sid) else {
            return Next::Close(format!("session 0x{:x} has expired", sid.0));
        };
        session.deadline = now + std::time::Duration::from_millis(session.timeout_ms as u64);
        let xid = header.xid;
        match req {
            WireRequest::Ping => {
                let z = self.zxid();
                self.send(conn, Out::Packet(reply::header(XID_PING, z, 0)));
                return Next::Continue;
            }
            WireRequest::Auth { scheme, auth, .. } => {
                return match self.zk.add_auth(sid, scheme, auth) {
                    Ok(()) => {
                        self.send(conn, Out::Packet(reply::header(XID_AUTH, 0, 0)));
                        Next::Continue
                    }
                    Err(e) => {
                        self.send(conn, Out::Packet(reply::header(XID_AUTH, 0, e.code())));
                        self.send(conn, Out::Close);
                        Next::Close(format!("authentication failed for scheme {scheme:?}"))
                    }
                };
            }
            WireRequest::Unsupported { op: zoolab_core::jute::proto::OpCode::Sasl } => {
                self.send(conn, Out::Packet(reply::header(xid, self.zxid(), ZkError::AuthFailed.code())));
                self.send(conn, Out::Close);
                return Next::Close("SASL is not supported by this server".into());
            }
            WireRequest::CloseSession => {
                let r = self.zk.close(sid, wall_ms());
                self.log(&r.txn);
                self.deliver(&r);
                self.sessions.remove(&sid);
                let z = self.zxid();
                self.send(conn, Out::Packet(reply::header(xid, z, 0)));
                self.send(conn, Out::Close);
                info!("session 0x{:x} closed by its client", sid.0);
                return Next::Continue;
            }
            _ => {}
        }
        match from_wire(req) {
            TreeRequest::Write(w) => match self.zk.write(sid, &fenced(self.zk.tree(), &w), wall_ms()) {
                Ok(r) => {
                    self.log(&r.txn);
                    self.deliver(&r);
                    let z = r.applied.zxid.0 as i64;
                    self.send(conn, Out::Packet(reply::write_reply(xid, z, req, &r.applied)));
                }
                Err(e) => {
                    // Over jute.maxbuffer: ZooKeeper closes the connection, no zxid taken.
                    let _ = e;
                    self.send(conn, Out::Close);
                    return Next::Close(format!("request of {} bytes over jute.maxbuffer", w.wire_len()));
                }
            },
            TreeRequest::Read(r) => {
                let result = self.zk.read(sid, &r);
                let z = self.zxid();
                self.send(conn, Out::Packet(reply::read_reply(xid, z, req, &result)));
            }
            TreeRequest::SetWatches(sw) => {
                let events = self.zk.set_watches(sid, &sw);
                for e in &events {
                    self.send(conn, Out::Packet(reply::notification(e)));
                }
                let z = self.zxid();
                self.send(conn, Out::Packet(reply::header(xid, z, 0)));
            }
            TreeRequest::CheckWatches { path, kind } => {
                let err = match self.zk.watches().check_watches(&path, kind) {
                    Ok(()) => 0,
                    Err(e) => e.code(),
                };
                let z = self.zxid();
                self.send(conn, Out::Packet(reply::header(xid, z, err)));
            }
            TreeRequest::Refused(e) => {
                let z = self.zxid();
                self.send(conn, Out::Packet(reply::header(xid, z, e.code())));
            }
            TreeRequest::NotForTheTree => {
                let z = self.zxid();
                self.send(conn, Out::Packet(reply::header(xid, z, ZkError::Unimplemented.code())));
            }
        }
        if let Some(c) = self.conns.get_mut(&conn) {
            c.last_zxid = self.zk.tree().last_zxid().0 as i64;
        }
        let us = now.elapsed().as_micros() as u64;
        let k = &mut self.counters;
        k.min_us = if k.timed == 0 { us } else { k.min_us.min(us) };
        k.max_us = k.max_us.max(us);
        k.total_us += us;
        k.timed += 1;
        Next::Continue
    }

    /// Expires every session whose deadline has passed: closeSession through the state
    /// machine (its ephemerals go, watchers are told), and its connection closed.
    pub fn expire(&mut self, now: Instant) -> usize {
        let due: Vec<SessionId> =
            self.sessions.iter().filter(|(_, s)| s.deadline <= now).map(|(&id, _)| id).collect();
        for sid in &due {
            let s = self.sessions.remove(sid).expect("listed above");
            info!("expiring session 0x{:x}, timeout of {} ms exceeded", sid.0, s.timeout_ms);
            let r = self.zk.close(*sid, wall_ms());
            self.log(&r.txn);
            self.deliver(&r);
            if let Some(conn) = s.conn {
                self.send(conn, Out::Close);
            }
        }
        due.len()
    }

    /// The container manager's pass: empty containers and expired TTL nodes deleted.
    pub fn check_containers(&mut self) {
        let replies = self.zk.check_containers(wall_ms(), self.config.container_max_never_used_ms);
        for r in &replies {
            self.log(&r.txn);
            self.deliver(r);
        }
        if !replies.is_empty() {
            info!("container manager deleted {} node(s)", replies.len());
        }
    }

    /// A request that could not be decoded: logged by the caller; nothing else changes.
    pub fn malformed(&mut self, conn: ConnId, why: &str) {
        if let Some(c) = self.conns.get(&conn) {
            warn!(peer = %c.peer, "closing connection: {why}");
        }
        self.send(conn, Out::Close);
    }
}
