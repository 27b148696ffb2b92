//! A small ZooKeeper client over the core's jute codec and tokio: the one connection
//! both `zoolab play --attach` (the console's session with every zkCli command, watch
//! notifications handed to a sink as they arrive, a session resumed on another member
//! with its watches set again; the read sessions that walk one member's tree) and
//! `zoolab migrate` (`migrate/client.rs`: typed calls on top of this one) use.
//!
//! One connection; requests are pipelined by xid (a reader task hands each reply to its
//! caller, a writer task sends), pings keep the session alive, and a connection that
//! stays silent or does not answer a request in time is closed and every outstanding
//! call fails. Requests and replies are raw jute bodies ([`Client::call`]); the typed
//! helpers below cover what the tree walk needs.
//!
//! `server/src/migrate/client.rs` wraps it for the migration controller's needs (typed
//! reads and writes, multi, zoolab's import and raise-epoch requests, a session on the
//! first of several hosts that accepts one).

use anyhow::{anyhow, bail, Context, Result};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::timeout;
use zoolab_core::jute::proto::{
    ConnectRequest, ConnectResponse, OpCode, ReplyHeader, RequestHeader, WatcherEvent, WireStat,
    XID_NOTIFICATION, XID_PING,
};
use zoolab_core::jute::{frame, Reader, Writer};

/// How long connecting (TCP and the session handshake) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(4);
/// How long one request may wait for its reply before the connection is given up (by
/// default: [`ConnectOptions::request_timeout`]).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest reply accepted by default (ZooKeeper does not bound what it sends: a
/// getChildren of a znode with very many children can pass `jute.maxbuffer`).
pub const MAX_PACKET: usize = 16 << 20;
/// The most requests one connection has in flight (callers pipeline below it).
pub const MAX_IN_FLIGHT: usize = 256;

/// A server's answer that is not OK: ZooKeeper's error code (e.g. -101 for no node).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerError(pub i32);

/// What a request came back with.
pub type Reply<T> = std::result::Result<T, ServerError>;

/// Where watch notifications go (called on the connection's reader task).
pub type EventSink = Arc<dyn Fn(WatcherEvent) + Send + Sync>;

/// A reply: its header and its body (what follows the header).
#[derive(Clone, Debug)]
pub struct Packet {
    /// xid, zxid, err.
    pub header: ReplyHeader,
    /// The body (empty for a header-only reply).
    pub body: Vec<u8>,
}

impl Packet {
    /// The body, or the server's error.
    pub fn ok(self) -> Reply<Vec<u8>> {
        if self.header.err == 0 {
            Ok(self.body)
        } else {
            Err(ServerError(self.header.err))
        }
    }
}

/// How to open the session.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// The session timeout asked for, in milliseconds.
    pub timeout_ms: i32,
    /// A session to resume: its id and password.
    pub resume: Option<(i64, Vec<u8>)>,
    /// The last zxid this session has seen (a server behind it refuses the connection).
    pub last_zxid_seen: i64,
    /// How long a request may wait for its reply before the connection is given up.
    pub request_timeout: Duration,
    /// The largest reply accepted; a larger one closes the connection.
    pub max_packet: usize,
}

impl Default for ConnectOptions {
    /// A new 30 s session, 10 s per request, replies up to [`MAX_PACKET`].
    fn default() -> Self {
        ConnectOptions {
            timeout_ms: 30_000,
            resume: None,
            last_zxid_seen: 0,
            request_timeout: REQUEST_TIMEOUT,
            max_packet: MAX_PACKET,
        }
    }
}

/// The session the server answered with ended: a resumed session had expired.
#[derive(Debug)]
pub struct SessionExpired;

impl std::fmt::Display for SessionExpired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the session has expired")
    }
}

impl std::error::Error for SessionExpired {}

type Waiters = Arc<Mutex<HashMap<i32, oneshot::Sender<Packet>>>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The connection's shared state: whether it stands, why it fell, its tasks.
#[derive(Default)]
struct Link {
    alive: AtomicBool,
    why: Mutex<Option<String>>,
    tasks: Mutex<Vec<tokio::task::AbortHandle>>,
    waiters: Waiters,
}

impl Link {
    /// Closes the connection (its tasks hold the socket's halves) and fails every
    /// outstanding call.
    fn kill(&self, why: &str) {
        if self.alive.swap(false, Ordering::SeqCst) {
            *lock(&self.why) = Some(why.to_string());
        }
        for t in lock(&self.tasks).drain(..) {
            t.abort();
        }
        lock(&self.waiters).clear();
    }
}

/// One session on one server.
pub struct Client {
    /// The server's address (`host:port`).
    pub addr: String,
    /// The session id.
    pub session: i64,
    /// The session's password (to resume it elsewhere).
    pub password: Vec<u8>,
    /// The negotiated session timeout (ms).
    pub timeout_ms: i32,
    tx: mpsc::UnboundedSender<Vec<u8>>,
    link: Arc<Link>,
    xid: AtomicI32,
    last_zxid: Arc<AtomicI64>,
    request_timeout: Duration,
}

impl Drop for Client {
    fn drop(&mut self) {
        self.link.kill("closed");
    }
}

async fn read_frame(s: &mut tokio::net::tcp::OwnedReadHalf, max: usize) -> std::io::Result<Vec<u8>> {
    let len = s.read_i32().await?;
    let len = usize::try_from(len)
        .ok()
        .filter(|l| (16..=max).contains(l))
        .ok_or_else(|| std::io::Error::other(format!("bad packet length {len}")))?;
    let mut body = vec![0; len];
    s.read_exact(&mut body).await?;
    Ok(body)
}

impl Client {
    /// Connects to `addr` and opens (or resumes) a session; notifications go to `events`.
    /// A resumed session that expired fails with [`SessionExpired`] in the chain.
    pub async fn connect(addr: &str, opts: &ConnectOptions, events: Option<EventSink>) -> Result<Client> {
        let stream = timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| anyhow!("connecting to {addr} timed out"))?
            .with_context(|| format!("connecting to {addr}"))?;
        let _ = stream.set_nodelay(true);
        let (mut rd, mut wr) = stream.into_split();
        let (session_id, password) = opts.resume.clone().unwrap_or((0, vec![0; 16]));
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: opts.last_zxid_seen,
            timeout_ms: opts.timeout_ms,
            session_id,
            password,
            read_only: false,
        };
        wr.write_all(&frame(&req.encode())).await.with_context(|| format!("writing to {addr}"))?;
        // A server refuses a client that has seen a later zxid by closing without an
        // answer; one not serving closes too.
        let body = timeout(CONNECT_TIMEOUT, async {
            let len = rd.read_i32().await?;
            let len = usize::try_from(len)
                .ok()
                .filter(|&l| l <= 1024)
                .ok_or_else(|| std::io::Error::other(format!("bad connect response length {len}")))?;
            let mut body = vec![0; len];
            rd.read_exact(&mut body).await?;
            Ok::<_, std::io::Error>(body)
        })
        .await
        .map_err(|_| anyhow!("{addr} did not answer the session handshake in time"))?
        .with_context(|| {
            format!(
                "{addr} closed the connection at the handshake (not serving, or behind this session's zxid)"
            )
        })?;
        let resp =
            ConnectResponse::decode(&body, 1024).map_err(|e| anyhow!("the connect response: {e:?}"))?;
        if resp.timeout_ms <= 0 || resp.session_id == 0 {
            if opts.resume.is_some() {
                return Err(anyhow::Error::new(SessionExpired));
            }
            bail!("{addr} refused the session");
        }
        let link = Arc::new(Link { alive: AtomicBool::new(true), ..Link::default() });
        let last_zxid = Arc::new(AtomicI64::new(opts.last_zxid_seen));
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let started = Instant::now();
        let heard = Arc::new(AtomicI64::new(0));
        let writer = {
            let link = link.clone();
            tokio::spawn(async move {
                while let Some(p) = rx.recv().await {
                    if let Err(e) = wr.write_all(&p).await {
                        link.kill(&format!("writing: {e}"));
                        break;
                    }
                }
            })
        };
        let max_packet = opts.max_packet;
        let reader = {
            let (link, last_zxid, heard) = (link.clone(), last_zxid.clone(), heard.clone());
            tokio::spawn(async move {
                let why = loop {
                    let body = match read_frame(&mut rd, max_packet).await {
                        Ok(b) => b,
                        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                            break "the server closed the connection".to_string()
                        }
                        Err(e) => break format!("reading: {e}"),
                    };
                    heard.store(started.elapsed().as_millis() as i64, Ordering::SeqCst);
                    let mut r = Reader::new(&body, max_packet);
                    let Ok(header) = ReplyHeader::read(&mut r) else {
                        break "a reply without a header".into();
                    };
                    match header.xid {
                        XID_NOTIFICATION => {
                            if let (Ok(e), Some(sink)) = (WatcherEvent::read(&mut r), &events) {
                                sink(e);
                            }
                        }
                        XID_PING => {}
                        xid => {
                            if header.zxid > 0 {
                                last_zxid.fetch_max(header.zxid, Ordering::SeqCst);
                            }
                            let waiter = lock(&link.waiters).remove(&xid);
                            if let Some(w) = waiter {
                                let _ = w.send(Packet { header, body: body[16..].to_vec() });
                            }
                        }
                    }
                };
                link.kill(&why);
            })
        };
        lock(&link.tasks).extend([writer.abort_handle(), reader.abort_handle()]);
        // Pings: a third of the timeout; nothing heard for two thirds of it means the
        // server is gone (or partitioned away) even if the socket stays open.
        let pinger = {
            let (tx, link) = (tx.clone(), link.clone());
            let t = i64::from(resp.timeout_ms.max(1500));
            tokio::spawn(async move {
                let mut w = Writer::new();
                RequestHeader { xid: XID_PING, op: OpCode::Ping.code() }.write(&mut w);
                let ping = frame(&w.into_bytes());
                loop {
                    tokio::time::sleep(Duration::from_millis((t / 3) as u64)).await;
                    if started.elapsed().as_millis() as i64 - heard.load(Ordering::SeqCst) > t * 2 / 3 {
                        link.kill("the server stopped answering");
                        break;
                    }
                    if tx.send(ping.clone()).is_err() {
                        break;
                    }
                }
            })
        };
        lock(&link.tasks).push(pinger.abort_handle());
        Ok(Client {
            addr: addr.to_string(),
            session: resp.session_id,
            password: resp.password,
            timeout_ms: resp.timeout_ms,
            tx,
            link,
            xid: AtomicI32::new(1),
            last_zxid,
            request_timeout: opts.request_timeout,
        })
    }

    /// Whether the connection still stands.
    pub fn alive(&self) -> bool {
        self.link.alive.load(Ordering::SeqCst)
    }

    /// Breaks the connection as a dying server would (tests).
    #[cfg(test)]
    pub fn sever(&self) {
        self.link.kill("severed by a test");
    }

    /// Why the connection fell (when it has).
    pub fn why(&self) -> Option<String> {
        lock(&self.link.why).clone()
    }

    /// The highest zxid a reply carried (the session's `lastZxidSeen`).
    pub fn last_zxid(&self) -> i64 {
        self.last_zxid.load(Ordering::SeqCst)
    }

    /// Sends a request with this xid (a special one, e.g. auth's -4, or the next) and
    /// returns where its reply will arrive.
    fn send_xid(
        &self,
        xid: i32,
        op: OpCode,
        body: impl FnOnce(&mut Writer),
    ) -> Result<oneshot::Receiver<Packet>> {
        let mut w = Writer::new();
        RequestHeader { xid, op: op.code() }.write(&mut w);
        body(&mut w);
        self.send_framed(xid, frame(&w.into_bytes()))
    }

    /// Sends a framed request whose reply will carry `xid`.
    fn send_framed(&self, xid: i32, packet: Vec<u8>) -> Result<oneshot::Receiver<Packet>> {
        let (tx, rx) = oneshot::channel();
        {
            let mut waiters = lock(&self.link.waiters);
            if waiters.len() >= MAX_IN_FLIGHT {
                bail!("{}: too many requests in flight", self.addr);
            }
            waiters.insert(xid, tx);
        }
        if !self.alive() || self.tx.send(packet).is_err() {
            lock(&self.link.waiters).remove(&xid);
            bail!("{}: {}", self.addr, self.why().unwrap_or_else(|| "the connection is closed".into()));
        }
        Ok(rx)
    }

    /// Sends a request; await [`Client::wait`] on the result for its reply (several may
    /// be in flight: the server answers them in order).
    pub fn send(&self, op: OpCode, body: impl FnOnce(&mut Writer)) -> Result<oneshot::Receiver<Packet>> {
        let xid = self.xid.fetch_add(1, Ordering::SeqCst);
        self.send_xid(xid, op, body)
    }

    /// Waits for a reply [`Client::send`] asked for. A reply that does not come in time
    /// closes the connection (a later reply could no longer be trusted).
    pub async fn wait(&self, rx: oneshot::Receiver<Packet>) -> Result<Packet> {
        match timeout(self.request_timeout, rx).await {
            Ok(Ok(p)) => Ok(p),
            Ok(Err(_)) => {
                bail!("{}: {}", self.addr, self.why().unwrap_or_else(|| "the connection closed".into()))
            }
            Err(_) => {
                self.link.kill("a request was not answered in time");
                bail!("{} did not answer in time", self.addr)
            }
        }
    }

    /// One request and its reply. `Err` is the connection's failure; the server's own
    /// error is in the packet's header.
    pub async fn call(&self, op: OpCode, body: impl FnOnce(&mut Writer)) -> Result<Packet> {
        let rx = self.send(op, body)?;
        self.wait(rx).await
    }

    /// A request with a special xid (auth -4, setWatches -8): its reply carries the same.
    pub async fn call_xid(&self, xid: i32, op: OpCode, body: impl FnOnce(&mut Writer)) -> Result<Packet> {
        let rx = self.send_xid(xid, op, body)?;
        self.wait(rx).await
    }

    /// The next xid, for a request framed by the caller ([`Client::call_framed`]).
    pub fn next_xid(&self) -> i32 {
        self.xid.fetch_add(1, Ordering::SeqCst)
    }

    /// A request the caller framed whole (zoolab's own requests, whose encoders frame
    /// them) with `xid` (from [`Client::next_xid`]), and its reply.
    pub async fn call_framed(&self, xid: i32, packet: Vec<u8>) -> Result<Packet> {
        let rx = self.send_framed(xid, packet)?;
        self.wait(rx).await
    }

    /// Ends the session (closeSession), then the connection.
    pub async fn close(&self) {
        if self.alive() {
            let _ = timeout(Duration::from_secs(2), self.call(OpCode::CloseSession, |_| {})).await;
        }
        self.link.kill("closed");
    }

    /// `exists path`: the Stat.
    pub async fn exists(&self, path: &str, watch: bool) -> Result<Reply<WireStat>> {
        let p = self
            .call(OpCode::Exists, |w| {
                w.string(path).bool(watch);
            })
            .await?;
        Ok(match p.ok() {
            Ok(body) => Ok(WireStat::read(&mut Reader::new(&body, MAX_PACKET))?),
            Err(e) => Err(e),
        })
    }
}

/// A getChildren / getChildren2 reply: the names (sorted) and the Stat when there is one.
pub fn decode_children(body: &[u8]) -> Result<(Vec<String>, Option<WireStat>)> {
    let mut r = Reader::new(body, MAX_PACKET);
    let mut names = r.vec("children", 4, |r| r.string("child"))?;
    names.sort();
    let stat = if r.remaining() > 0 { Some(WireStat::read(&mut r)?) } else { None };
    Ok((names, stat))
}

/// A getData reply: the data (`None` for a znode created with null data) and the Stat.
pub fn decode_data(body: &[u8]) -> Result<(Option<Vec<u8>>, WireStat)> {
    let mut r = Reader::new(body, MAX_PACKET);
    let data = r.buffer_opt("data")?;
    Ok((data, WireStat::read(&mut r)?))
}

/// Sends a four-letter word to `addr` and reads the answer to the end (at most 1 MiB).
pub async fn four_letter(addr: &str, word: &str) -> Result<String> {
    let run = async {
        let mut s = TcpStream::connect(addr).await?;
        s.write_all(word.as_bytes()).await?;
        let mut out = Vec::new();
        (&mut s).take(1 << 20).read_to_end(&mut out).await?;
        Ok::<_, std::io::Error>(out)
    };
    let bytes = timeout(Duration::from_secs(3), run)
        .await
        .map_err(|_| anyhow!("{addr} did not answer `{word}` in time"))?
        .with_context(|| format!("`{word}` to {addr}"))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;
    use zoolab_core::jute::proto::ConnectResponse;

    /// A fake server on a free port: it reads one connect request, answers with a
    /// session `(id, timeout_ms, password)`, then reads and ignores everything until the
    /// client goes away. Returns its address.
    async fn answers_connect_then_nothing(session_id: i64, timeout_ms: i32, password: Vec<u8>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let len = s.read_i32().await.unwrap();
            let mut req = vec![0; len as usize];
            s.read_exact(&mut req).await.unwrap();
            let resp =
                ConnectResponse { protocol_version: 0, timeout_ms, session_id, password, read_only: false };
            s.write_all(&frame(&resp.encode())).await.unwrap();
            let mut buf = vec![0; 4096];
            while s.read(&mut buf).await.is_ok_and(|n| n > 0) {}
        });
        addr
    }

    /// A server that opens a session and then answers nothing (a partition that keeps
    /// TCP up): the client's call fails, the connection is declared dead.
    #[tokio::test]
    async fn a_silent_server_fails_the_call_and_the_connection() {
        let addr = answers_connect_then_nothing(7, 1500, vec![1; 16]).await;
        let opts = ConnectOptions { timeout_ms: 1500, ..ConnectOptions::default() };
        let c = Client::connect(&addr, &opts, None).await.unwrap();
        assert_eq!((c.session, c.password.as_slice()), (7, &[1u8; 16][..]));
        let r = c.exists("/a", false).await;
        assert!(r.is_err(), "no answer: {:?}", r.map(|_| ()));
        assert!(!c.alive());
        assert!(c.why().is_some());
    }

    /// A resumed session the server does not know is reported as expired.
    #[tokio::test]
    async fn an_expired_session_is_told_apart() {
        // Session 0 in the answer: ZooKeeper's way of saying the session expired.
        let addr = answers_connect_then_nothing(0, 0, vec![0; 16]).await;
        let opts = ConnectOptions {
            timeout_ms: 1500,
            resume: Some((9, vec![0; 16])),
            last_zxid_seen: 5,
            ..ConnectOptions::default()
        };
        let e = Client::connect(&addr, &opts, None).await.err().unwrap();
        assert!(e.downcast_ref::<SessionExpired>().is_some(), "{e:#}");
    }
}
