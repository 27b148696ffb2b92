//! `zoolab server`: a ZooKeeper-compatible server over TCP, driving the core's standalone
//! state machine ([`zoolab_core::tree::Standalone`]) with tokio sockets and wall-clock
//! timers. The protocol logic (tree, sessions' transactions, watches, ACLs) is the core's;
//! this module frames packets, negotiates sessions, expires them on time, runs the
//! container manager, answers four-letter words, and enforces the limits (connections
//! per IP, `jute.maxbuffer`). A malformed or oversized packet closes only its connection.

pub(crate) mod admin;
pub mod config;
pub(crate) mod fourlw;
pub(crate) mod reply;
pub(crate) mod state;
mod store;

use anyhow::{Context, Result};
use config::Config;
use state::{ConnId, Next, Out, Outbox, State};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Notify, Semaphore};
use tracing::{info, warn};
use zoolab_core::jute::proto::ConnectRequest;
use zoolab_core::jute::proto::RequestHeader;
use zoolab_core::jute::request::WireRequest;
use zoolab_core::tree::WriteRequest;

type Shared = Arc<Mutex<State>>;

/// Work the group commit does outside the server's lock: write what is queued and
/// sync it.
pub(crate) type SyncWork = Box<dyn FnOnce() -> std::io::Result<()> + Send>;

/// What the group-commit syncer needs of a server's state (standalone or ensemble).
pub(crate) trait GroupCommit: Send + 'static {
    /// The work that makes every record written so far durable, and the last record it
    /// covers, if any are not durable yet.
    fn sync_due(&mut self) -> Option<(SyncWork, u64)>;
    /// Records up to `upto` are durable.
    fn synced(&mut self, upto: u64);
}

/// Wakes the group commit's thread: rung under the server's lock after each record
/// (cheap: a system call only when the thread sleeps and was not rung yet).
#[derive(Default)]
pub(crate) struct Doorbell {
    /// (rung, the thread is waiting)
    state: Mutex<(bool, bool)>,
    cv: std::sync::Condvar,
}

impl Doorbell {
    /// Wakes the thread (or makes its next wait return at once).
    pub(crate) fn ring(&self) {
        let mut s = lock(&self.state);
        if !s.0 {
            s.0 = true;
            if s.1 {
                self.cv.notify_one();
            }
        }
    }

    /// Waits to be rung.
    fn wait(&self) {
        let mut s = lock(&self.state);
        while !s.0 {
            s.1 = true;
            s = self.cv.wait(s).unwrap_or_else(|e| e.into_inner());
            s.1 = false;
        }
        s.0 = false;
    }
}

/// Group commit: a thread woken after each write; one sync covers every record written
/// before it began. A failed sync stops the process (the records cannot be
/// acknowledged). The thread has the runtime's context, so what `synced` sets off
/// (timers, sends) works as from a task.
pub(crate) fn spawn_group_commit<T: GroupCommit>(state: Arc<Mutex<T>>, bell: Arc<Doorbell>) {
    let rt = tokio::runtime::Handle::current();
    let started = std::thread::Builder::new().name("group-commit".into()).spawn(move || {
        let _guard = rt.enter();
        loop {
            bell.wait();
            loop {
                let due = lock(&state).sync_due();
                let Some((work, upto)) = due else { break };
                if let Err(e) = work() {
                    tracing::error!("cannot sync the log: {e}; stopping");
                    std::process::exit(3);
                }
                lock(&state).synced(upto);
            }
        }
    });
    if let Err(e) = started {
        tracing::error!("cannot start the log syncer: {e}; stopping");
        std::process::exit(3);
    }
}

pub(crate) fn lock<T>(s: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock would be a bug; keep serving rather than cascade.
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a client connection talks to: the standalone [`State`] or a replicated server
/// (`crate::quorum`). The framing, the handshake's decoding, four-letter words and the
/// limits are the same; each implementation decides what a session and a request do.
pub(crate) trait Facing: Send + 'static {
    /// `jute.maxbuffer`.
    fn jute_max_buffer(&self) -> usize;
    /// The answer to a four-letter word (empty: just close).
    fn four_letter(&self, word: &str) -> String;
    /// Any word's answer, whitelisted or not (`None`: unknown): the HTTP endpoint's.
    fn four_letter_any(&self, word: &str) -> Option<String>;
    /// Registers a new connection, or refuses it.
    fn open(&mut self, peer: SocketAddr, out: Outbox) -> Result<ConnId, String>;
    /// The connect request.
    fn handshake(&mut self, conn: ConnId, req: &ConnectRequest, now: Instant) -> Next;
    /// One request after the handshake.
    fn request(&mut self, conn: ConnId, header: RequestHeader, req: WireRequest, now: Instant) -> Next;
    /// A packet that could not be read: close with this logged reason.
    fn malformed(&mut self, conn: ConnId, why: &str);
    /// The connection is gone.
    fn closed(&mut self, conn: ConnId);
    /// zoolab's import request ([`crate::migrate::wire::IMPORT_OP`]): a migration
    /// controller's batch, proposed as the core's `TxnOp::Import`, super-user only.
    /// `req` is the core's `Import` or `GuardedImport`.
    fn import(&mut self, conn: ConnId, xid: i32, req: WriteRequest, now: Instant) -> Next;
    /// zoolab's raise-epoch request ([`crate::migrate::wire::RAISE_EPOCH_OP`]),
    /// super-user only: an ensemble member raises its `acceptedEpoch` and re-elects;
    /// a standalone server has no election and answers UNIMPLEMENTED.
    fn raise_epoch(&mut self, conn: ConnId, xid: i32, epoch: u32, now: Instant) -> Next;
}

impl Facing for State {
    fn jute_max_buffer(&self) -> usize {
        self.config.jute_max_buffer
    }
    fn four_letter(&self, word: &str) -> String {
        fourlw::answer(self, word)
    }
    fn four_letter_any(&self, word: &str) -> Option<String> {
        fourlw::answer_any(self, word)
    }
    fn open(&mut self, peer: SocketAddr, out: Outbox) -> Result<ConnId, String> {
        State::open(self, peer, out)
    }
    fn handshake(&mut self, conn: ConnId, req: &ConnectRequest, now: Instant) -> Next {
        State::handshake(self, conn, req, now)
    }
    fn request(&mut self, conn: ConnId, header: RequestHeader, req: WireRequest, now: Instant) -> Next {
        State::request(self, conn, header, &req, now)
    }
    fn malformed(&mut self, conn: ConnId, why: &str) {
        State::malformed(self, conn, why)
    }
    fn closed(&mut self, conn: ConnId) {
        State::closed(self, conn)
    }
    fn import(&mut self, conn: ConnId, xid: i32, req: WriteRequest, now: Instant) -> Next {
        State::import(self, conn, xid, req, now)
    }
    fn raise_epoch(&mut self, conn: ConnId, xid: i32, epoch: u32, now: Instant) -> Next {
        State::raise_epoch(self, conn, xid, epoch, now)
    }
}

/// `zoolab server --config zoo.cfg`.
/// `min_epoch` (ensembles only): start this member's election with its `acceptedEpoch`
/// raised to at least that epoch, so the next leader's epoch passes it (a migration's
/// cut-over: the target's zxids above every zxid the source gave out).
pub fn run(config_path: &Path, min_epoch: Option<u32>) -> Result<()> {
    let _ = tracing_subscriber::fmt().with_writer(std::io::stderr).with_target(false).try_init();
    let config = Config::load(config_path)?;
    for w in &config.warnings {
        warn!("{}: {w}", config_path.display());
    }
    if !config.standalone() {
        return crate::quorum::run(config, min_epoch);
    }
    if min_epoch.is_some() {
        anyhow::bail!(
            "--min-epoch is for ensemble members (server.N lines); a standalone server has no election"
        );
    }
    let (tree, store) = match &config.data_dir {
        Some(dir) => {
            let (store, tree) = store::Store::open(&store::StoreConfig {
                data_dir: dir,
                log_dir: config.data_log_dir.as_deref().unwrap_or(dir),
                snap_count: config.snap_count,
                retain: config.autopurge_snap_retain_count as usize,
                force_sync: config.force_sync,
            })?;
            (tree, Some(store))
        }
        None => {
            warn!("no dataDir: the tree lives in memory only");
            (zoolab_core::tree::DataTree::new(), None)
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")?;
    rt.block_on(serve(Arc::new(config), tree, store))
}

async fn serve(
    config: Arc<Config>,
    tree: zoolab_core::tree::DataTree,
    store: Option<store::Store>,
) -> Result<()> {
    let ip = config.client_port_address.unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    let addr = SocketAddr::new(ip, config.client_port);
    let listener =
        TcpListener::bind(addr).await.with_context(|| format!("binding the client port {addr}"))?;
    info!("zoolab standalone server: client port {}", listener.local_addr()?);
    let shared: Shared = Arc::new(Mutex::new(State::new(config.clone(), tree, store)));

    if let Some(addr) = config.admin {
        let l = TcpListener::bind(addr).await.with_context(|| format!("binding the admin port {addr}"))?;
        info!("HTTP status endpoint: http://{}/commands/mntr and /metrics", l.local_addr()?);
        let app = admin::router(shared.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(l, app).await {
                warn!("the HTTP status endpoint stopped: {e}");
            }
        });
    }
    // Session expiry: ZooKeeper checks on tick boundaries; a quarter tick is finer.
    let s = shared.clone();
    let period = Duration::from_millis((config.tick_time as u64 / 4).clamp(10, 500));
    tokio::spawn(async move {
        let mut t = tokio::time::interval(period);
        loop {
            t.tick().await;
            lock(&s).expire(Instant::now());
        }
    });
    // Group commit: the packets held for the synced transactions are released after it.
    let wake = lock(&shared).sync_wake.clone();
    spawn_group_commit(shared.clone(), wake);
    let s = shared.clone();
    let period = Duration::from_millis(config.container_check_interval_ms.max(10));
    tokio::spawn(async move {
        let mut t = tokio::time::interval(period);
        t.tick().await;
        loop {
            t.tick().await;
            lock(&s).check_containers();
        }
    });

    accept_clients(listener, shared).await
}

/// ZooKeeper's `globalOutstandingLimit` (its default): how many requests a server holds
/// from all its clients at once, read but not yet answered. Past it, ZooKeeper stops
/// reading from client sockets until replies go out; so does zoolab ([`Throttle`]), so a
/// client that pipelines thousands of requests is slowed by TCP, never refused.
pub(crate) const GLOBAL_OUTSTANDING_LIMIT: usize = 1000;

/// One connection's share of the server's outstanding-request budget: a permit taken
/// for each request read (after the handshake), given back when a packet other than a
/// watch notification (xid −1) goes out to that client, and all of them when the
/// connection ends. Replies that come without a request (the connect response, when a
/// client pipelines behind it) at worst give a permit back early: the server never
/// holds more permits than it has taken.
struct Throttle {
    permits: Arc<Semaphore>,
    pending: AtomicUsize,
}

impl Throttle {
    /// Waits for a permit: while the server is at its limit this connection is not read.
    async fn take(&self) {
        if let Ok(p) = self.permits.acquire().await {
            p.forget();
            self.pending.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A packet went out to the client.
    fn sent(&self, packet: &[u8]) {
        let notification = packet.get(4..8).is_some_and(|x| x == (-1i32).to_be_bytes());
        if !notification
            && self.pending.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok()
        {
            self.permits.add_permits(1);
        }
    }

    /// The connection ended: every permit it held goes back.
    fn release_all(&self) {
        self.permits.add_permits(self.pending.swap(0, Ordering::Relaxed));
    }
}

/// Accepts client connections forever, each served by [`connection`].
pub(crate) async fn accept_clients<F: Facing>(listener: TcpListener, shared: Arc<Mutex<F>>) -> Result<()> {
    let permits = Arc::new(Semaphore::new(GLOBAL_OUTSTANDING_LIMIT));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let s = shared.clone();
        let throttle = Arc::new(Throttle { permits: permits.clone(), pending: AtomicUsize::new(0) });
        tokio::spawn(async move { connection(s, stream, peer, throttle).await });
    }
}

/// Reads one length-prefixed packet (the length already read).
async fn read_body(r: &mut (impl AsyncReadExt + Unpin), len: i32, limit: usize) -> Result<Vec<u8>, String> {
    if len < 0 || len as usize > limit {
        return Err(format!("packet length {len} is out of range (jute.maxbuffer is {limit})"));
    }
    let mut buf = vec![0; len as usize];
    r.read_exact(&mut buf).await.map_err(|e| format!("reading a packet: {e}"))?;
    Ok(buf)
}

async fn connection<F: Facing>(
    shared: Arc<Mutex<F>>,
    stream: TcpStream,
    peer: SocketAddr,
    throttle: Arc<Throttle>,
) {
    let (rd, wr) = stream.into_split();
    // Buffered: a request's length and body (and pipelined requests) in one read.
    let mut rd = tokio::io::BufReader::with_capacity(64 << 10, rd);
    let mut first = [0u8; 4];
    if rd.read_exact(&mut first).await.is_err() {
        return;
    }
    // A four-letter word instead of a length.
    if let Ok(word) = std::str::from_utf8(&first) {
        if config::ALL_FOUR_LETTER_WORDS.contains(&word) || word.chars().all(|c| c.is_ascii_lowercase()) {
            let answer = lock(&shared).four_letter(word);
            let mut wr = wr;
            let _ = wr.write_all(answer.as_bytes()).await;
            let _ = wr.shutdown().await;
            return;
        }
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let outbox = Outbox { tx, queued: Arc::new(AtomicUsize::new(0)), kill: Arc::new(Notify::new()) };
    let (queued, kill) = (outbox.queued.clone(), outbox.kill.clone());
    let conn = match lock(&shared).open(peer, outbox) {
        Ok(c) => c,
        Err(why) => {
            warn!(%peer, "refusing connection: {why}");
            return;
        }
    };
    let closed = Arc::new(Notify::new());
    let writer = tokio::spawn(write_loop(wr, rx, closed.clone(), queued, throttle.clone()));
    let mut killed = false;
    let why = tokio::select! {
        why = read_loop(&shared, conn, &mut rd, i32::from_be_bytes(first), &throttle) => why,
        _ = closed.notified() => None,
        _ = kill.notified() => {
            killed = true;
            None
        }
    };
    if killed {
        writer.abort();
    }
    {
        let mut st = lock(&shared);
        if let Some(why) = why {
            st.malformed(conn, &why);
        }
        st.closed(conn);
    }
    let _ = writer.await;
    throttle.release_all();
}

/// Reads packets until the connection should close; returns the reason to log, if any.
async fn read_loop<F: Facing>(
    shared: &Mutex<F>,
    conn: ConnId,
    rd: &mut tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>,
    first_len: i32,
    throttle: &Throttle,
) -> Option<String> {
    let limit = lock(shared).jute_max_buffer();
    let body = match read_body(rd, first_len, limit).await {
        Ok(b) => b,
        Err(e) => return Some(e),
    };
    let req = match ConnectRequest::decode(&body, limit) {
        Ok(r) => r,
        Err(e) => return Some(format!("malformed connect request: {e}")),
    };
    if let Next::Close(why) = lock(shared).handshake(conn, &req, Instant::now()) {
        return Some(why);
    }
    loop {
        let len = match rd.read_i32().await {
            Ok(l) => l,
            Err(_) => return None, // the client went away
        };
        let body = match read_body(rd, len, limit).await {
            Ok(b) => b,
            Err(e) => return Some(e),
        };
        throttle.take().await;
        // zoolab's own opcode (a migration's import) is not ZooKeeper's: decoded here.
        if let Some((xid, admin)) = crate::migrate::wire::decode_admin(&body, limit) {
            use crate::migrate::wire::Admin;
            let next = match admin {
                Ok(Admin::Import(req)) => lock(shared).import(conn, xid, req, Instant::now()),
                Ok(Admin::RaiseEpoch(e)) => lock(shared).raise_epoch(conn, xid, e, Instant::now()),
                Err(e) => return Some(format!("malformed zoolab request: {e}")),
            };
            if let Next::Close(why) = next {
                return Some(why);
            }
            continue;
        }
        let (header, req) = match WireRequest::decode(&body, limit) {
            Ok(x) => x,
            Err(e) => return Some(format!("malformed request: {e}")),
        };
        if let Next::Close(why) = lock(shared).request(conn, header, req, Instant::now()) {
            return Some(why);
        }
    }
}

async fn write_loop(
    wr: tokio::net::tcp::OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Out>,
    closed: Arc<Notify>,
    queued: Arc<AtomicUsize>,
    throttle: Arc<Throttle>,
) {
    let mut w = BufWriter::new(wr);
    'outer: while let Some(out) = rx.recv().await {
        let mut next = Some(out);
        while let Some(out) = next.take() {
            match out {
                Out::Packet(p) => {
                    if w.write_all(&p).await.is_err() {
                        break 'outer;
                    }
                    queued.fetch_sub(p.len(), Ordering::Relaxed);
                    throttle.sent(&p);
                }
                Out::Close => break 'outer,
            }
            next = rx.try_recv().ok();
        }
        if w.flush().await.is_err() {
            break;
        }
    }
    let _ = w.flush().await;
    let _ = w.shutdown().await;
    closed.notify_one();
}
