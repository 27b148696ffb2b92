//! The records of ZooKeeper's client protocol, as they travel on the client port.
//!
//! A session starts with a [`ConnectRequest`] / [`ConnectResponse`] exchange; after that
//! every request is a [`RequestHeader`] followed by its body, and every reply a
//! [`ReplyHeader`] followed by its body. Watch notifications arrive as replies with
//! xid −1 and a [`WatcherEvent`] body; pings use xid −2.

use super::{JuteError, Reader, Writer};

/// The xid of a watch notification.
pub const XID_NOTIFICATION: i32 = -1;
/// The xid of a ping.
pub const XID_PING: i32 = -2;
/// The xid of an authentication packet.
pub const XID_AUTH: i32 = -4;
/// The xid of a setWatches packet (sent after a reconnect).
pub const XID_SET_WATCHES: i32 = -8;

/// ZooKeeper's operation codes (`ZooDefs.OpCode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum OpCode {
    Notification,
    Create,
    Delete,
    Exists,
    GetData,
    SetData,
    GetAcl,
    SetAcl,
    GetChildren,
    Sync,
    Ping,
    GetChildren2,
    Check,
    Multi,
    Create2,
    Reconfig,
    CheckWatches,
    RemoveWatches,
    CreateContainer,
    DeleteContainer,
    CreateTtl,
    MultiRead,
    Auth,
    SetWatches,
    Sasl,
    GetEphemerals,
    GetAllChildrenNumber,
    SetWatches2,
    AddWatch,
    WhoAmI,
    CreateSession,
    CloseSession,
    Error,
}

const OPCODES: &[(OpCode, i32)] = &[
    (OpCode::Notification, 0),
    (OpCode::Create, 1),
    (OpCode::Delete, 2),
    (OpCode::Exists, 3),
    (OpCode::GetData, 4),
    (OpCode::SetData, 5),
    (OpCode::GetAcl, 6),
    (OpCode::SetAcl, 7),
    (OpCode::GetChildren, 8),
    (OpCode::Sync, 9),
    (OpCode::Ping, 11),
    (OpCode::GetChildren2, 12),
    (OpCode::Check, 13),
    (OpCode::Multi, 14),
    (OpCode::Create2, 15),
    (OpCode::Reconfig, 16),
    (OpCode::CheckWatches, 17),
    (OpCode::RemoveWatches, 18),
    (OpCode::CreateContainer, 19),
    (OpCode::DeleteContainer, 20),
    (OpCode::CreateTtl, 21),
    (OpCode::MultiRead, 22),
    (OpCode::Auth, 100),
    (OpCode::SetWatches, 101),
    (OpCode::Sasl, 102),
    (OpCode::GetEphemerals, 103),
    (OpCode::GetAllChildrenNumber, 104),
    (OpCode::SetWatches2, 105),
    (OpCode::AddWatch, 106),
    (OpCode::WhoAmI, 107),
    (OpCode::CreateSession, -10),
    (OpCode::CloseSession, -11),
    (OpCode::Error, -1),
];

impl OpCode {
    /// The code on the wire.
    pub fn code(self) -> i32 {
        OPCODES.iter().find(|(op, _)| *op == self).map(|&(_, c)| c).expect("every opcode has a code")
    }

    /// The opcode for a code on the wire.
    pub fn from_code(code: i32) -> Option<OpCode> {
        OPCODES.iter().find(|&&(_, c)| c == code).map(|&(op, _)| op)
    }
}

/// The first packet a client sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectRequest {
    /// Always 0.
    pub protocol_version: i32,
    /// The last zxid the client has seen (a server behind it must refuse the client).
    pub last_zxid_seen: i64,
    /// The session timeout the client asks for, in milliseconds.
    pub timeout_ms: i32,
    /// 0 for a new session, else the session being resumed.
    pub session_id: i64,
    /// The session's password (16 bytes; empty for a new session).
    pub password: Vec<u8>,
    /// Whether the client accepts a read-only server (absent from old clients).
    pub read_only: bool,
}

impl ConnectRequest {
    /// Decodes a connect request; the trailing read-only flag is optional.
    pub fn decode(bytes: &[u8], limit: usize) -> Result<ConnectRequest, JuteError> {
        let mut r = Reader::new(bytes, limit);
        let req = ConnectRequest {
            protocol_version: r.i32("protocolVersion")?,
            last_zxid_seen: r.i64("lastZxidSeen")?,
            timeout_ms: r.i32("timeOut")?,
            session_id: r.i64("sessionId")?,
            password: r.buffer("passwd")?,
            read_only: if r.remaining() > 0 { r.bool("readOnly")? } else { false },
        };
        r.finish("ConnectRequest")?;
        Ok(req)
    }

    /// Encodes the request (with the read-only flag, as current clients send it).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.i32(self.protocol_version)
            .i64(self.last_zxid_seen)
            .i32(self.timeout_ms)
            .i64(self.session_id)
            .buffer(&self.password)
            .bool(self.read_only);
        w.into_bytes()
    }
}

/// The server's answer to a [`ConnectRequest`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectResponse {
    /// Always 0.
    pub protocol_version: i32,
    /// The negotiated session timeout in milliseconds (0 when the session has expired).
    pub timeout_ms: i32,
    /// The session's id.
    pub session_id: i64,
    /// The session's password.
    pub password: Vec<u8>,
    /// Whether this server is in read-only mode.
    pub read_only: bool,
}

impl ConnectResponse {
    /// Encodes the response.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.i32(self.protocol_version)
            .i32(self.timeout_ms)
            .i64(self.session_id)
            .buffer(&self.password)
            .bool(self.read_only);
        w.into_bytes()
    }

    /// Decodes a response; the trailing read-only flag is optional.
    pub fn decode(bytes: &[u8], limit: usize) -> Result<ConnectResponse, JuteError> {
        let mut r = Reader::new(bytes, limit);
        let resp = ConnectResponse {
            protocol_version: r.i32("protocolVersion")?,
            timeout_ms: r.i32("timeOut")?,
            session_id: r.i64("sessionId")?,
            password: r.buffer("passwd")?,
            read_only: if r.remaining() > 0 { r.bool("readOnly")? } else { false },
        };
        r.finish("ConnectResponse")?;
        Ok(resp)
    }
}

/// The header of every request after the handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestHeader {
    /// The client's request number (replies echo it), or a special xid.
    pub xid: i32,
    /// The operation's code (see [`OpCode`]).
    pub op: i32,
}

impl RequestHeader {
    /// Reads the header from the front of a request packet.
    pub fn read(r: &mut Reader<'_>) -> Result<RequestHeader, JuteError> {
        Ok(RequestHeader { xid: r.i32("xid")?, op: r.i32("type")? })
    }

    /// Writes the header.
    pub fn write(&self, w: &mut Writer) {
        w.i32(self.xid).i32(self.op);
    }
}

/// The header of every reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplyHeader {
    /// The xid of the request answered (or −1 for a notification, −2 for a ping).
    pub xid: i32,
    /// The server's last zxid when it sent the reply.
    pub zxid: i64,
    /// 0, or a ZooKeeper error code.
    pub err: i32,
}

impl ReplyHeader {
    /// Reads the header from the front of a reply packet.
    pub fn read(r: &mut Reader<'_>) -> Result<ReplyHeader, JuteError> {
        Ok(ReplyHeader { xid: r.i32("xid")?, zxid: r.i64("zxid")?, err: r.i32("err")? })
    }

    /// Writes the header.
    pub fn write(&self, w: &mut Writer) {
        w.i32(self.xid).i64(self.zxid).i32(self.err);
    }
}

/// A watch notification's body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatcherEvent {
    /// The event type (1 created, 2 deleted, 3 data changed, 4 children changed, …).
    pub kind: i32,
    /// The session's state (3 = SyncConnected).
    pub state: i32,
    /// The znode the event is about.
    pub path: String,
}

impl WatcherEvent {
    /// Reads the event.
    pub fn read(r: &mut Reader<'_>) -> Result<WatcherEvent, JuteError> {
        Ok(WatcherEvent { kind: r.i32("type")?, state: r.i32("state")?, path: r.string("path")? })
    }

    /// Writes the event.
    pub fn write(&self, w: &mut Writer) {
        w.i32(self.kind).i32(self.state).string(&self.path);
    }
}

/// A znode's metadata as the wire carries it (field order is the protocol's).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct WireStat {
    pub czxid: i64,
    pub mzxid: i64,
    pub ctime: i64,
    pub mtime: i64,
    pub version: i32,
    pub cversion: i32,
    pub aversion: i32,
    pub ephemeral_owner: i64,
    pub data_length: i32,
    pub num_children: i32,
    pub pzxid: i64,
}

/// The size of a [`WireStat`] on the wire.
pub const STAT_SIZE: usize = 68;

impl WireStat {
    /// Reads a stat.
    pub fn read(r: &mut Reader<'_>) -> Result<WireStat, JuteError> {
        Ok(WireStat {
            czxid: r.i64("czxid")?,
            mzxid: r.i64("mzxid")?,
            ctime: r.i64("ctime")?,
            mtime: r.i64("mtime")?,
            version: r.i32("version")?,
            cversion: r.i32("cversion")?,
            aversion: r.i32("aversion")?,
            ephemeral_owner: r.i64("ephemeralOwner")?,
            data_length: r.i32("dataLength")?,
            num_children: r.i32("numChildren")?,
            pzxid: r.i64("pzxid")?,
        })
    }

    /// Writes a stat.
    pub fn write(&self, w: &mut Writer) {
        w.i64(self.czxid)
            .i64(self.mzxid)
            .i64(self.ctime)
            .i64(self.mtime)
            .i32(self.version)
            .i32(self.cversion)
            .i32(self.aversion)
            .i64(self.ephemeral_owner)
            .i32(self.data_length)
            .i32(self.num_children)
            .i64(self.pzxid);
    }
}

/// An ACL entry as the wire carries it: permission bits and an id (scheme, id).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct WireAcl {
    /// READ=1, WRITE=2, CREATE=4, DELETE=8, ADMIN=16.
    pub perms: i32,
    /// The scheme: world, auth, digest, ip, super, …
    pub scheme: String,
    /// The id within the scheme.
    pub id: String,
}

impl WireAcl {
    /// The smallest an ACL entry can be on the wire.
    pub const MIN_SIZE: usize = 12;

    /// Reads an ACL entry.
    pub fn read(r: &mut Reader<'_>) -> Result<WireAcl, JuteError> {
        Ok(WireAcl { perms: r.i32("perms")?, scheme: r.string("scheme")?, id: r.string("id")? })
    }

    /// Writes an ACL entry.
    pub fn write(&self, w: &mut Writer) {
        w.i32(self.perms).string(&self.scheme).string(&self.id);
    }

    /// Reads a vector of ACL entries.
    pub fn read_list(r: &mut Reader<'_>) -> Result<Vec<WireAcl>, JuteError> {
        r.vec("acl", WireAcl::MIN_SIZE, WireAcl::read)
    }

    /// Writes a vector of ACL entries.
    pub fn write_list(acl: &[WireAcl], w: &mut Writer) {
        w.vec(acl, |w, a| a.write(w));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jute::DEFAULT_MAX_BUFFER;
    use proptest::prelude::*;

    #[test]
    fn opcodes_round_trip_and_unknown_codes_are_none() {
        for &(op, code) in OPCODES {
            assert_eq!(op.code(), code);
            assert_eq!(OpCode::from_code(code), Some(op));
        }
        assert_eq!(OpCode::from_code(10), None, "10 is not an opcode");
    }

    #[test]
    fn connect_request_without_read_only_flag_is_accepted() {
        let mut full = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0x5_0000_0001,
            timeout_ms: 30_000,
            session_id: 0,
            password: vec![0; 16],
            read_only: false,
        }
        .encode();
        full.pop(); // an old client: no read-only byte
        let req = ConnectRequest::decode(&full, DEFAULT_MAX_BUFFER).unwrap();
        assert_eq!(req.timeout_ms, 30_000);
        assert!(!req.read_only);
    }

    #[test]
    fn a_stat_is_68_bytes() {
        let mut w = Writer::new();
        WireStat::default().write(&mut w);
        assert_eq!(w.into_bytes().len(), STAT_SIZE);
    }

    proptest! {
        #[test]
        fn connect_request_round_trips(zxid: i64, timeout: i32, sid: i64, pw in proptest::collection::vec(any::<u8>(), 0..32), ro: bool) {
            let req = ConnectRequest { protocol_version: 0, last_zxid_seen: zxid, timeout_ms: timeout, session_id: sid, password: pw, read_only: ro };
            prop_assert_eq!(ConnectRequest::decode(&req.encode(), DEFAULT_MAX_BUFFER), Ok(req));
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = ConnectRequest::decode(&bytes, DEFAULT_MAX_BUFFER);
            let _ = ConnectResponse::decode(&bytes, DEFAULT_MAX_BUFFER);
            let mut r = Reader::new(&bytes, DEFAULT_MAX_BUFFER);
            let _ = WireAcl::read_list(&mut r);
            let mut r = Reader::new(&bytes, DEFAULT_MAX_BUFFER);
            let _ = WireStat::read(&mut r).and_then(|_| WatcherEvent::read(&mut r));
        }
    }
}
