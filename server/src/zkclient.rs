//! A small ZooKeeper client over the core's jute codec: enough for `zoolab play --attach`
//! to read an ensemble's tree and to run the console's commands (create, set, get, ls,
//! stat, delete, sync) against it. One request at a time; watch notifications are
//! skipped (the playground polls instead of watching).
//!
//! Hand-written rather than a client crate because the core already encodes and decodes
//! every record involved, and the play server needs no more than these seven calls.

use anyhow::{anyhow, bail, Context, Result};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use zoolab_core::jute::proto::{
    ConnectRequest, ConnectResponse, OpCode, ReplyHeader, RequestHeader, WireAcl, WireStat, XID_NOTIFICATION,
    XID_PING,
};
use zoolab_core::jute::{frame, Reader, Writer, DEFAULT_MAX_BUFFER};

/// How long one request may take before the connection is given up.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

/// A server's answer that is not OK: ZooKeeper's error code (e.g. -101 for no node).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerError(pub i32);

/// What a request came back with.
pub type Reply<T> = std::result::Result<T, ServerError>;

/// One session on one server.
pub struct Client {
    stream: TcpStream,
    xid: i32,
    /// The server's address, for messages.
    pub addr: String,
    /// The session id the server gave.
    pub session: i64,
}

impl Client {
    /// Connects and opens a session (`timeout_ms` asked for).
    pub async fn connect(addr: &str, timeout_ms: i32) -> Result<Client> {
        let stream = timeout(REQUEST_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| anyhow!("connecting to {addr} timed out"))?
            .with_context(|| format!("connecting to {addr}"))?;
        let _ = stream.set_nodelay(true);
        let mut c = Client { stream, xid: 0, addr: addr.to_string(), session: 0 };
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            timeout_ms,
            session_id: 0,
            password: vec![0; 16],
            read_only: false,
        };
        c.send(&req.encode()).await?;
        let body = c.recv().await?;
        let resp = ConnectResponse::decode(&body, DEFAULT_MAX_BUFFER).context("the connect response")?;
        if resp.timeout_ms <= 0 {
            bail!("{addr} refused the session (is it serving?)");
        }
        c.session = resp.session_id;
        Ok(c)
    }

    async fn send(&mut self, payload: &[u8]) -> Result<()> {
        timeout(REQUEST_TIMEOUT, self.stream.write_all(&frame(payload)))
            .await
            .map_err(|_| anyhow!("writing to {} timed out", self.addr))?
            .with_context(|| format!("writing to {}", self.addr))
    }

    async fn recv(&mut self) -> Result<Vec<u8>> {
        let read = async {
            let mut len = [0u8; 4];
            self.stream.read_exact(&mut len).await?;
            let len = i32::from_be_bytes(len);
            let len = usize::try_from(len)
                .ok()
                .filter(|&l| l <= DEFAULT_MAX_BUFFER)
                .ok_or_else(|| std::io::Error::other(format!("bad packet length {len}")))?;
            let mut body = vec![0u8; len];
            self.stream.read_exact(&mut body).await?;
            Ok::<_, std::io::Error>(body)
        };
        timeout(REQUEST_TIMEOUT, read)
            .await
            .map_err(|_| anyhow!("{} did not answer in time", self.addr))?
            .with_context(|| format!("reading from {}", self.addr))
    }

    /// Sends one request and waits for its reply: the reply's body, or the server's error.
    async fn call(&mut self, op: OpCode, body: impl FnOnce(&mut Writer)) -> Result<Reply<Vec<u8>>> {
        self.xid += 1;
        let xid = self.xid;
        let mut w = Writer::new();
        RequestHeader { xid, op: op.code() }.write(&mut w);
        body(&mut w);
        self.send(&w.into_bytes()).await?;
        loop {
            let packet = self.recv().await?;
            let mut r = Reader::new(&packet, DEFAULT_MAX_BUFFER);
            let header = ReplyHeader::read(&mut r).context("a reply header")?;
            if header.xid == XID_NOTIFICATION || header.xid == XID_PING {
                continue;
            }
            if header.xid != xid {
                bail!("{} answered xid {} to request {xid}", self.addr, header.xid);
            }
            if header.err != 0 {
                return Ok(Err(ServerError(header.err)));
            }
            return Ok(Ok(packet[16..].to_vec()));
        }
    }

    /// `create path data` with the open ACL; `flags` is `CreateMode.toFlag()`. Returns
    /// the created path (with its suffix when sequential).
    pub async fn create(&mut self, path: &str, data: &[u8], flags: i32) -> Result<Reply<String>> {
        let open = [WireAcl { perms: 31, scheme: "world".into(), id: "anyone".into() }];
        let reply = self
            .call(OpCode::Create, |w| {
                w.string(path).buffer(data);
                WireAcl::write_list(&open, w);
                w.i32(flags);
            })
            .await?;
        Ok(match reply {
            Ok(body) => Ok(Reader::new(&body, DEFAULT_MAX_BUFFER).string("path")?),
            Err(e) => Err(e),
        })
    }

    /// `getData path`: the data and the Stat.
    pub async fn get(&mut self, path: &str) -> Result<Reply<(Vec<u8>, WireStat)>> {
        let reply = self.call(OpCode::GetData, |w| {
            w.string(path).bool(false);
        });
        Ok(match reply.await? {
            Ok(body) => {
                let mut r = Reader::new(&body, DEFAULT_MAX_BUFFER);
                let data = r.buffer_opt("data")?.unwrap_or_default();
                Ok((data, WireStat::read(&mut r)?))
            }
            Err(e) => Err(e),
        })
    }

    /// `setData path data version` (-1: any version): the new Stat.
    pub async fn set(&mut self, path: &str, data: &[u8], version: i32) -> Result<Reply<WireStat>> {
        let reply = self.call(OpCode::SetData, |w| {
            w.string(path).buffer(data).i32(version);
        });
        Ok(match reply.await? {
            Ok(body) => Ok(WireStat::read(&mut Reader::new(&body, DEFAULT_MAX_BUFFER))?),
            Err(e) => Err(e),
        })
    }

    /// `getChildren2 path`: the children's names (sorted) and the Stat.
    pub async fn children(&mut self, path: &str) -> Result<Reply<(Vec<String>, WireStat)>> {
        let reply = self.call(OpCode::GetChildren2, |w| {
            w.string(path).bool(false);
        });
        Ok(match reply.await? {
            Ok(body) => {
                let mut r = Reader::new(&body, DEFAULT_MAX_BUFFER);
                let mut names = r.vec("children", 4, |r| r.string("child"))?;
                names.sort();
                Ok((names, WireStat::read(&mut r)?))
            }
            Err(e) => Err(e),
        })
    }

    /// `exists path`: the Stat.
    pub async fn exists(&mut self, path: &str) -> Result<Reply<WireStat>> {
        let reply = self.call(OpCode::Exists, |w| {
            w.string(path).bool(false);
        });
        Ok(match reply.await? {
            Ok(body) => Ok(WireStat::read(&mut Reader::new(&body, DEFAULT_MAX_BUFFER))?),
            Err(e) => Err(e),
        })
    }

    /// `delete path version` (-1: any version).
    pub async fn delete(&mut self, path: &str, version: i32) -> Result<Reply<()>> {
        let reply = self.call(OpCode::Delete, |w| {
            w.string(path).i32(version);
        });
        Ok(reply.await?.map(|_| ()))
    }

    /// `sync path`.
    pub async fn sync(&mut self, path: &str) -> Result<Reply<()>> {
        let reply = self.call(OpCode::Sync, |w| {
            w.string(path);
        });
        Ok(reply.await?.map(|_| ()))
    }
}

/// Sends a four-letter word to `addr` and reads the answer to the end.
pub async fn four_letter(addr: &str, word: &str) -> Result<String> {
    let run = async {
        let mut s = TcpStream::connect(addr).await?;
        s.write_all(word.as_bytes()).await?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).await?;
        Ok::<_, std::io::Error>(out)
    };
    let bytes = timeout(REQUEST_TIMEOUT, run)
        .await
        .map_err(|_| anyhow!("{addr} did not answer `{word}` in time"))?
        .with_context(|| format!("`{word}` to {addr}"))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
