//! A small async ZooKeeper client over the core's jute codec and tokio: what the
//! migration controller needs of any ZooKeeper (Apache ZooKeeper included) — reads with
//! Stat and ACL, a persistent recursive watch (addWatch), plain writes, digest auth,
//! sync — plus zoolab's import request ([`super::wire`]). One connection, requests
//! pipelined by xid; a lost connection fails every outstanding call with
//! [`CallError::Lost`] (the controller reconnects and reconciles).

use super::wire::{encode_import, encode_raise_epoch};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use zoolab_core::jute::proto::{
    ConnectRequest, ConnectResponse, OpCode, ReplyHeader, RequestHeader, WatcherEvent, WireAcl, WireStat,
    XID_AUTH, XID_NOTIFICATION, XID_PING,
};
use zoolab_core::jute::request::{encode_multi, MultiOp};
use zoolab_core::jute::{frame, Reader, Writer};
use zoolab_core::tree::{Import, ImportGuard};

const LIMIT: usize = 64 << 20;
/// ZooKeeper's NONODE.
pub const NONODE: i32 = -101;
/// ZooKeeper's NODEEXISTS.
pub const NODEEXISTS: i32 = -110;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The server answered with this error code.
    Server(i32),
    /// The connection is gone (the call may or may not have been applied).
    Lost,
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Server(c) => write!(f, "{} ({c})", code_name(*c)),
            CallError::Lost => f.write_str("connection lost"),
        }
    }
}

impl std::error::Error for CallError {}

/// ZooKeeper's name for an error code.
pub fn code_name(c: i32) -> &'static str {
    match c {
        -4 => "CONNECTIONLOSS",
        -101 => "NONODE",
        -102 => "NOAUTH",
        -103 => "BADVERSION",
        -110 => "NODEEXISTS",
        -111 => "NOTEMPTY",
        -114 => "INVALIDACL",
        -115 => "AUTHFAILED",
        -119 => "NOTREADONLY",
        -6 => "UNIMPLEMENTED",
        -8 => "BADARGUMENTS",
        _ => "ERROR",
    }
}

/// A watch notification: its event type (ZooKeeper's `EventType` code) and path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// 1 created, 2 deleted, 3 data changed, 4 children changed.
    pub kind: i32,
    /// The path (as the server sent it).
    pub path: String,
}

type Waiters = Arc<Mutex<HashMap<i32, oneshot::Sender<(ReplyHeader, Vec<u8>)>>>>;

/// One session with one server of an ensemble.
pub struct Client {
    tx: mpsc::UnboundedSender<Vec<u8>>,
    waiters: Waiters,
    xid: AtomicI32,
    alive: Arc<AtomicBool>,
    last_zxid: Arc<AtomicI64>,
    link: Link,
}

/// What ends a connection declared dead: its reader and writer tasks (aborting them
/// drops the socket's halves, closing it).
#[derive(Clone, Default)]
struct Link {
    tasks: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Link {
    /// Marks the connection dead, closes it and fails every outstanding call (Lost): a
    /// partitioned server must not keep the controller waiting on a socket that stays
    /// open.
    fn kill(&self, alive: &AtomicBool, waiters: &Waiters) {
        alive.store(false, Ordering::SeqCst);
        for t in lock(&self.tasks).drain(..) {
            t.abort();
        }
        lock(waiters).clear();
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.link.kill(&self.alive, &self.waiters);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn read_frame(s: &mut tokio::net::tcp::OwnedReadHalf) -> std::io::Result<Vec<u8>> {
    let len = s.read_i32().await?;
    if len < 0 || len as usize > LIMIT {
        return Err(std::io::Error::other(format!("bad frame length {len}")));
    }
    let mut body = vec![0; len as usize];
    s.read_exact(&mut body).await?;
    Ok(body)
}

impl Client {
    /// Connects to the first server of `hosts` (comma-separated host:port) that accepts
    /// a session; watch notifications go to `events`.
    pub async fn connect(hosts: &str, events: mpsc::UnboundedSender<Event>) -> anyhow::Result<Client> {
        let mut last = None;
        for host in hosts.split(',').map(str::trim).filter(|h| !h.is_empty()) {
            match Client::connect_one(host, events.clone()).await {
                Ok(c) => return Ok(c),
                Err(e) => last = Some(format!("{host}: {e:#}")),
            }
        }
        anyhow::bail!("no server of {hosts:?} accepted a session ({})", last.unwrap_or_default())
    }

    async fn connect_one(host: &str, events: mpsc::UnboundedSender<Event>) -> anyhow::Result<Client> {
        let s = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(host)).await??;
        s.set_nodelay(true)?;
        let (mut rd, mut wr) = s.into_split();
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            timeout_ms: 30_000,
            session_id: 0,
            password: vec![0; 16],
            read_only: false,
        };
        wr.write_all(&frame(&req.encode())).await?;
        let body = tokio::time::timeout(Duration::from_secs(5), read_frame(&mut rd)).await??;
        let resp = ConnectResponse::decode(&body, LIMIT).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        if resp.session_id == 0 {
            anyhow::bail!("the server refused a session");
        }
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let waiters: Waiters = Arc::default();
        let alive = Arc::new(AtomicBool::new(true));
        let last_zxid = Arc::new(AtomicI64::new(0));
        let link = Link::default();
        let started = std::time::Instant::now();
        // Milliseconds after `started` when the server was last heard from.
        let heard = Arc::new(AtomicI64::new(0));
        let writer = tokio::spawn(async move {
            while let Some(p) = rx.recv().await {
                if wr.write_all(&p).await.is_err() {
                    break;
                }
            }
        });
        lock(&link.tasks).push(writer.abort_handle());
        {
            let (waiters, alive, last_zxid, heard) =
                (waiters.clone(), alive.clone(), last_zxid.clone(), heard.clone());
            let reader = tokio::spawn(async move {
                while let Ok(body) = read_frame(&mut rd).await {
                    heard.store(started.elapsed().as_millis() as i64, Ordering::SeqCst);
                    let mut r = Reader::new(&body, LIMIT);
                    let Ok(h) = ReplyHeader::read(&mut r) else { break };
                    if h.zxid > 0 {
                        last_zxid.fetch_max(h.zxid, Ordering::SeqCst);
                    }
                    match h.xid {
                        XID_NOTIFICATION => {
                            if let Ok(e) = WatcherEvent::read(&mut r) {
                                let _ = events.send(Event { kind: e.kind, path: e.path });
                            }
                        }
                        XID_PING => {}
                        xid => {
                            let rest = body[16..].to_vec();
                            if let Some(w) = lock(&waiters).remove(&xid) {
                                let _ = w.send((h, rest));
                            }
                        }
                    }
                }
                alive.store(false, Ordering::SeqCst);
                lock(&waiters).clear();
            });
            lock(&link.tasks).push(reader.abort_handle());
        }
        {
            let (tx, alive, waiters, link) = (tx.clone(), alive.clone(), waiters.clone(), link.clone());
            let timeout = resp.timeout_ms.max(3000) as i64;
            let every = Duration::from_millis((timeout / 3) as u64);
            tokio::spawn(async move {
                while alive.load(Ordering::SeqCst) {
                    tokio::time::sleep(every).await;
                    // Nothing heard (not even a ping reply) for 2/3 of the session
                    // timeout: the server is gone or partitioned away; fail over.
                    let silent = started.elapsed().as_millis() as i64 - heard.load(Ordering::SeqCst);
                    if silent > timeout * 2 / 3 {
                        link.kill(&alive, &waiters);
                        break;
                    }
                    let mut w = Writer::new();
                    RequestHeader { xid: XID_PING, op: OpCode::Ping.code() }.write(&mut w);
                    if tx.send(frame(&w.into_bytes())).is_err() {
                        break;
                    }
                }
            });
        }
        Ok(Client { tx, waiters, xid: AtomicI32::new(1), alive, last_zxid, link })
    }

    /// Whether the connection still stands.
    pub fn alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
    }

    /// The highest zxid any reply carried (the server's last processed zxid when sent).
    pub fn last_zxid(&self) -> i64 {
        self.last_zxid.load(Ordering::SeqCst)
    }

    async fn call_raw(&self, xid: i32, packet: Vec<u8>) -> Result<(ReplyHeader, Vec<u8>), CallError> {
        let (tx, rx) = oneshot::channel();
        lock(&self.waiters).insert(xid, tx);
        if !self.alive() || self.tx.send(packet).is_err() {
            lock(&self.waiters).remove(&xid);
            return Err(CallError::Lost);
        }
        let (h, body) = match tokio::time::timeout(Duration::from_secs(30), rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => return Err(CallError::Lost),
            Err(_) => {
                // No answer in time: the connection is not trusted again (a later reply
                // on it could be taken for another call's); the controller reconnects.
                self.link.kill(&self.alive, &self.waiters);
                return Err(CallError::Lost);
            }
        };
        if h.err != 0 {
            return Err(CallError::Server(h.err));
        }
        Ok((h, body))
    }

    async fn call(
        &self,
        op: OpCode,
        body: impl FnOnce(&mut Writer),
    ) -> Result<(ReplyHeader, Vec<u8>), CallError> {
        let xid = self.xid.fetch_add(1, Ordering::SeqCst);
        let mut w = Writer::new();
        RequestHeader { xid, op: op.code() }.write(&mut w);
        body(&mut w);
        self.call_raw(xid, frame(&w.into_bytes())).await
    }

    /// Digest (or other scheme) authentication.
    pub async fn auth(&self, scheme: &str, auth: &[u8]) -> Result<(), CallError> {
        let mut w = Writer::new();
        RequestHeader { xid: XID_AUTH, op: OpCode::Auth.code() }.write(&mut w);
        w.i32(0).string(scheme).buffer(auth);
        self.call_raw(XID_AUTH, frame(&w.into_bytes())).await.map(|_| ())
    }

    /// getData: the data and Stat, `None` if absent.
    pub async fn get_data(&self, path: &str) -> Result<Option<(Vec<u8>, WireStat)>, CallError> {
        match self
            .call(OpCode::GetData, |w| {
                w.string(path).bool(false);
            })
            .await
        {
            Ok((_, b)) => {
                let mut r = Reader::new(&b, LIMIT);
                let data = r.buffer("data").map_err(|_| CallError::Lost)?;
                let stat = WireStat::read(&mut r).map_err(|_| CallError::Lost)?;
                Ok(Some((data, stat)))
            }
            Err(CallError::Server(NONODE)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// getACL: the ACL and Stat, `None` if absent.
    pub async fn get_acl(&self, path: &str) -> Result<Option<(Vec<WireAcl>, WireStat)>, CallError> {
        match self
            .call(OpCode::GetAcl, |w| {
                w.string(path);
            })
            .await
        {
            Ok((_, b)) => {
                let mut r = Reader::new(&b, LIMIT);
                let acl = WireAcl::read_list(&mut r).map_err(|_| CallError::Lost)?;
                let stat = WireStat::read(&mut r).map_err(|_| CallError::Lost)?;
                Ok(Some((acl, stat)))
            }
            Err(CallError::Server(NONODE)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// getChildren: the names, `None` if absent.
    pub async fn children(&self, path: &str) -> Result<Option<Vec<String>>, CallError> {
        match self
            .call(OpCode::GetChildren, |w| {
                w.string(path).bool(false);
            })
            .await
        {
            Ok((_, b)) => {
                let mut r = Reader::new(&b, LIMIT);
                Ok(Some(r.vec("children", 4, |r| r.string("child")).map_err(|_| CallError::Lost)?))
            }
            Err(CallError::Server(NONODE)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// addWatch in PERSISTENT_RECURSIVE mode; returns the zxid of the reply.
    pub async fn add_recursive_watch(&self, path: &str) -> Result<i64, CallError> {
        self.call(OpCode::AddWatch, |w| {
            w.string(path).i32(1);
        })
        .await
        .map(|(h, _)| h.zxid)
    }

    /// sync, then the zxid this server has applied (a fresh read's reply header).
    pub async fn synced_zxid(&self, path: &str) -> Result<i64, CallError> {
        self.call(OpCode::Sync, |w| {
            w.string(path);
        })
        .await?;
        self.call(OpCode::Exists, |w| {
            w.string("/").bool(false);
        })
        .await
        .map(|(h, _)| h.zxid)
    }

    /// create (persistent or ephemeral by `flags`); returns the zxid.
    pub async fn create(
        &self,
        path: &str,
        data: &[u8],
        acl: &[WireAcl],
        flags: i32,
    ) -> Result<i64, CallError> {
        self.call(OpCode::Create, |w| {
            w.string(path).buffer(data);
            WireAcl::write_list(acl, w);
            w.i32(flags);
        })
        .await
        .map(|(h, _)| h.zxid)
    }

    /// setData with an expected version (-1: any); returns the new Stat.
    pub async fn set_data(&self, path: &str, data: &[u8], version: i32) -> Result<WireStat, CallError> {
        let (_, b) = self
            .call(OpCode::SetData, |w| {
                w.string(path).buffer(data).i32(version);
            })
            .await?;
        WireStat::read(&mut Reader::new(&b, LIMIT)).map_err(|_| CallError::Lost)
    }

    /// setACL with any version.
    pub async fn set_acl(&self, path: &str, acl: &[WireAcl]) -> Result<(), CallError> {
        self.call(OpCode::SetAcl, |w| {
            w.string(path);
            WireAcl::write_list(acl, w);
            w.i32(-1);
        })
        .await
        .map(|_| ())
    }

    /// A multi of write ops (all or nothing). A failed multi answers every op with an
    /// error result; the error is the first that is neither OK nor the
    /// RUNTIMEINCONSISTENCY of the ops that did not run (ZooKeeper's `MultiResponse`).
    pub async fn multi(&self, ops: &[MultiOp]) -> Result<(), CallError> {
        let (_, body) = self.call(OpCode::Multi, |w| encode_multi(ops, w)).await?;
        multi_error(&body).map_or(Ok(()), |e| Err(CallError::Server(e)))
    }

    /// zoolab's raise-epoch request to the one server of this session.
    pub async fn raise_epoch(&self, epoch: u32) -> Result<(), CallError> {
        let xid = self.xid.fetch_add(1, Ordering::SeqCst);
        self.call_raw(xid, encode_raise_epoch(xid, epoch)).await.map(|_| ())
    }

    /// zoolab's import request, applied only while `guard` holds when given; returns
    /// the batch's zxid.
    pub async fn import(&self, imp: &Import, guard: Option<&ImportGuard>) -> Result<i64, CallError> {
        let xid = self.xid.fetch_add(1, Ordering::SeqCst);
        self.call_raw(xid, encode_import(xid, imp, guard)).await.map(|(h, _)| h.zxid)
    }
}

/// The error of a failed multi's response, `None` when it succeeded (or cannot be read
/// as a failure: a success's results are not needed here).
fn multi_error(body: &[u8]) -> Option<i32> {
    let mut r = Reader::new(body, LIMIT);
    let mut first = None;
    loop {
        let kind = r.i32("type").ok()?;
        let done = r.bool("done").ok()?;
        let _err = r.i32("err").ok()?;
        if done {
            return first;
        }
        if kind != -1 {
            return None;
        }
        let e = r.i32("error").ok()?;
        if e != 0 && e != RUNTIME_INCONSISTENCY {
            first.get_or_insert(e);
        }
    }
}

/// ZooKeeper's RUNTIMEINCONSISTENCY: what a failed multi answers for the ops it did not run.
const RUNTIME_INCONSISTENCY: i32 = -2;

/// Sends a four-letter word to one server and returns its answer.
pub async fn four_letter(host: &str, word: &str) -> anyhow::Result<String> {
    let mut s = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(host)).await??;
    s.write_all(word.as_bytes()).await?;
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_string(&mut out)).await??;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_multi_names_the_op_that_failed() {
        let results = |entries: &[(i32, Option<i32>)]| {
            let mut w = Writer::new();
            for &(kind, err) in entries {
                w.i32(kind).bool(false).i32(err.unwrap_or(0));
                if let Some(e) = err {
                    w.i32(e);
                }
            }
            w.i32(-1).bool(true).i32(-1);
            w.into_bytes()
        };
        // check failed (BADVERSION), the create after it did not run.
        assert_eq!(multi_error(&results(&[(-1, Some(-103)), (-1, Some(-2))])), Some(-103));
        // check passed, create failed (NODEEXISTS).
        assert_eq!(multi_error(&results(&[(-1, Some(0)), (-1, Some(-110))])), Some(-110));
        // success: a check result, then a delete result (neither carries a body).
        assert_eq!(multi_error(&results(&[(13, None), (2, None)])), None);
    }
    use tokio::net::TcpListener;

    /// A server that opens a session and then never answers (a partition that keeps the
    /// TCP connection up): the client declares it dead, fails the call and closes.
    #[tokio::test]
    async fn a_silent_server_is_declared_dead_and_its_connection_closed() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let len = s.read_i32().await.unwrap();
            let mut req = vec![0; len as usize];
            s.read_exact(&mut req).await.unwrap();
            let resp = ConnectResponse {
                protocol_version: 0,
                timeout_ms: 3000,
                session_id: 7,
                password: vec![0; 16],
                read_only: false,
            };
            s.write_all(&frame(&resp.encode())).await.unwrap();
            // Read (and ignore) everything until the client closes the connection.
            let mut buf = vec![0; 4096];
            while s.read(&mut buf).await.is_ok_and(|n| n > 0) {}
        });
        let (tx, _rx) = mpsc::unbounded_channel();
        let c = Client::connect(&addr, tx).await.unwrap();
        assert!(c.alive());
        let r = tokio::time::timeout(Duration::from_secs(60), c.get_data("/a")).await;
        assert_eq!(r.expect("the call ends"), Err(CallError::Lost));
        assert!(!c.alive(), "declared dead");
        tokio::time::timeout(Duration::from_secs(60), server)
            .await
            .expect("the client closed its side of the connection")
            .unwrap();
    }
}
