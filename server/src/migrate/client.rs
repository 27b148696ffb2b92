//! What the migration controller needs of any ZooKeeper (Apache ZooKeeper included) —
//! reads with Stat and ACL, a persistent recursive watch (addWatch), plain writes and
//! multi, digest auth, sync — plus zoolab's import and raise-epoch requests
//! ([`super::wire`]), as typed calls over the server's one client connection
//! ([`crate::zkclient`]: pipelined by xid, pings, a silent server declared dead). A lost
//! connection fails every outstanding call with [`CallError::Lost`] (the controller
//! reconnects and reconciles).

use super::wire::{encode_import, encode_raise_epoch};
use crate::zkclient::{self, ConnectOptions, EventSink, Packet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use zoolab_core::jute::proto::{OpCode, ReplyHeader, WireAcl, WireStat, XID_AUTH};
use zoolab_core::jute::request::{encode_multi, MultiOp};
use zoolab_core::jute::{Reader, Writer};
use zoolab_core::tree::{Data, Import, ImportGuard};

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

/// One session with one server of an ensemble.
pub struct Client {
    inner: zkclient::Client,
}

/// The controller's session: 30 s, a call may wait 30 s for a large import through ZAB,
/// replies up to 64 MiB (a walk's getChildren of a very wide znode).
fn options() -> ConnectOptions {
    ConnectOptions {
        request_timeout: Duration::from_secs(30),
        max_packet: LIMIT,
        ..ConnectOptions::default()
    }
}

/// A reply: its header and body, or the server's error.
fn answer(p: Packet) -> Result<(ReplyHeader, Vec<u8>), CallError> {
    if p.header.err != 0 {
        return Err(CallError::Server(p.header.err));
    }
    Ok((p.header, p.body))
}

impl Client {
    /// Connects to the first server of `hosts` (comma-separated host:port) that accepts
    /// a session; watch notifications go to `events`.
    pub async fn connect(hosts: &str, events: mpsc::UnboundedSender<Event>) -> anyhow::Result<Client> {
        let sink: EventSink = Arc::new(move |e| {
            let _ = events.send(Event { kind: e.kind, path: e.path });
        });
        let mut last = None;
        for host in hosts.split(',').map(str::trim).filter(|h| !h.is_empty()) {
            match zkclient::Client::connect(host, &options(), Some(sink.clone())).await {
                Ok(inner) => return Ok(Client { inner }),
                Err(e) => last = Some(format!("{host}: {e:#}")),
            }
        }
        anyhow::bail!("no server of {hosts:?} accepted a session ({})", last.unwrap_or_default())
    }

    /// Whether the connection still stands.
    pub fn alive(&self) -> bool {
        self.inner.alive()
    }

    /// The highest zxid any reply carried (the server's last processed zxid when sent).
    pub fn last_zxid(&self) -> i64 {
        self.inner.last_zxid()
    }

    async fn call(
        &self,
        op: OpCode,
        body: impl FnOnce(&mut Writer),
    ) -> Result<(ReplyHeader, Vec<u8>), CallError> {
        answer(self.inner.call(op, body).await.map_err(|_| CallError::Lost)?)
    }

    /// A request framed by one of zoolab's encoders (its xid from the connection).
    async fn call_framed(
        &self,
        packet: impl FnOnce(i32) -> Vec<u8>,
    ) -> Result<(ReplyHeader, Vec<u8>), CallError> {
        let xid = self.inner.next_xid();
        answer(self.inner.call_framed(xid, packet(xid)).await.map_err(|_| CallError::Lost)?)
    }

    /// Digest (or other scheme) authentication.
    pub async fn auth(&self, scheme: &str, auth: &[u8]) -> Result<(), CallError> {
        let p = self
            .inner
            .call_xid(XID_AUTH, OpCode::Auth, |w| {
                w.i32(0).string(scheme).buffer(auth);
            })
            .await
            .map_err(|_| CallError::Lost)?;
        answer(p).map(|_| ())
    }

    /// getData: the data and Stat, `None` if absent.
    pub async fn get_data(&self, path: &str) -> Result<Option<(Data, WireStat)>, CallError> {
        match self
            .call(OpCode::GetData, |w| {
                w.string(path).bool(false);
            })
            .await
        {
            Ok((_, b)) => {
                let mut r = Reader::new(&b, LIMIT);
                let data = r.data("data").map_err(|_| CallError::Lost)?;
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
        data: &Data,
        acl: &[WireAcl],
        flags: i32,
    ) -> Result<i64, CallError> {
        self.call(OpCode::Create, |w| {
            w.string(path).data(data);
            WireAcl::write_list(acl, w);
            w.i32(flags);
        })
        .await
        .map(|(h, _)| h.zxid)
    }

    /// setData with an expected version (-1: any); returns the new Stat.
    pub async fn set_data(&self, path: &str, data: &Data, version: i32) -> Result<WireStat, CallError> {
        let (_, b) = self
            .call(OpCode::SetData, |w| {
                w.string(path).data(data).i32(version);
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
        self.call_framed(|xid| encode_raise_epoch(xid, epoch)).await.map(|_| ())
    }

    /// zoolab's import request, applied only while `guard` holds when given; returns
    /// the batch's zxid.
    pub async fn import(&self, imp: &Import, guard: Option<&ImportGuard>) -> Result<i64, CallError> {
        self.call_framed(|xid| encode_import(xid, imp, guard)).await.map(|(h, _)| h.zxid)
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
    zkclient::four_letter(host, word).await
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
}
