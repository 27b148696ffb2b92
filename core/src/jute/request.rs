//! Request bodies of the client protocol, decoded into one typed enum.
//!
//! This is the wire's view: paths as strings, data as bytes, flags as numbers. The
//! native server turns a [`WireRequest`] into the tree's own request type; nothing here
//! validates paths or semantics (the tree does, with ZooKeeper's error codes).

use super::proto::{OpCode, RequestHeader, WireAcl};
use super::{JuteError, Reader, Writer};
use crate::tree::Data;

/// The body shared by create, create2, createContainer and createTTL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateRequest {
    /// Which of the create opcodes carried it.
    pub op: OpCode,
    /// The path asked for (a sequential create gets a suffix).
    pub path: String,
    /// The node's data (null when the buffer's length is −1).
    pub data: Data,
    /// The node's ACL.
    pub acl: Vec<WireAcl>,
    /// The create mode's flags (`CreateMode.toFlag()`).
    pub flags: i32,
    /// The TTL in milliseconds (createTTL only).
    pub ttl: Option<i64>,
}

impl CreateRequest {
    fn read(r: &mut Reader<'_>, op: OpCode) -> Result<CreateRequest, JuteError> {
        Ok(CreateRequest {
            op,
            path: r.string("path")?,
            data: r.data("data")?,
            acl: WireAcl::read_list(r)?,
            flags: r.i32("flags")?,
            ttl: if op == OpCode::CreateTtl { Some(r.i64("ttl")?) } else { None },
        })
    }

    fn write(&self, w: &mut Writer) {
        w.string(&self.path).data(&self.data);
        WireAcl::write_list(&self.acl, w);
        w.i32(self.flags);
        if let Some(ttl) = self.ttl {
            w.i64(ttl);
        }
    }
}

/// One operation inside a multi (`OpCode::Multi` holds writes, `OpCode::MultiRead` reads).
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum MultiOp {
    Create(CreateRequest),
    Delete { path: String, version: i32 },
    SetData { path: String, data: Data, version: i32 },
    Check { path: String, version: i32 },
    GetChildren { path: String },
    GetData { path: String },
}

/// A decoded request body, tagged by its operation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum WireRequest {
    /// create, create2, createContainer and createTTL share a body (TTL adds `ttl`).
    Create(CreateRequest),
    Delete {
        path: String,
        version: i32,
    },
    Exists {
        path: String,
        watch: bool,
    },
    GetData {
        path: String,
        watch: bool,
    },
    SetData {
        path: String,
        data: Data,
        version: i32,
    },
    GetAcl {
        path: String,
    },
    SetAcl {
        path: String,
        acl: Vec<WireAcl>,
        version: i32,
    },
    /// getChildren (`with_stat` false) and getChildren2 (true).
    GetChildren {
        path: String,
        watch: bool,
        with_stat: bool,
    },
    Sync {
        path: String,
    },
    Check {
        path: String,
        version: i32,
    },
    Multi {
        ops: Vec<MultiOp>,
        read_only: bool,
    },
    RemoveWatches {
        path: String,
        kind: i32,
        check_only: bool,
    },
    GetEphemerals {
        prefix: String,
    },
    GetAllChildrenNumber {
        path: String,
    },
    AddWatch {
        path: String,
        mode: i32,
    },
    SetWatches {
        relative_zxid: i64,
        data: Vec<String>,
        exist: Vec<String>,
        child: Vec<String>,
        persistent: Vec<String>,
        persistent_recursive: Vec<String>,
    },
    Auth {
        kind: i32,
        scheme: String,
        auth: Vec<u8>,
    },
    Ping,
    CloseSession,
    WhoAmI,
    /// A request this server does not implement (sasl, reconfig, …): answered UNIMPLEMENTED.
    Unsupported {
        op: OpCode,
    },
}

/// The most operations one multi may carry (ZooKeeper's limit is the packet size; this
/// bound keeps a hostile packet from spinning).
pub const MAX_MULTI_OPS: usize = 100_000;

fn strings(r: &mut Reader<'_>, field: &'static str) -> Result<Vec<String>, JuteError> {
    r.vec(field, 4, |r| r.string(field))
}

fn multi_ops(r: &mut Reader<'_>) -> Result<Vec<MultiOp>, JuteError> {
    let mut ops = Vec::new();
    loop {
        let kind = r.i32("multi type")?;
        let done = r.bool("multi done")?;
        let _err = r.i32("multi err")?;
        if done {
            return Ok(ops);
        }
        if ops.len() >= MAX_MULTI_OPS {
            return Err(JuteError::BadLength { field: "multi", len: ops.len() as i64, limit: MAX_MULTI_OPS });
        }
        let op =
            OpCode::from_code(kind).ok_or(JuteError::BadValue { field: "multi type", value: kind.into() })?;
        ops.push(match op {
            OpCode::Create | OpCode::Create2 | OpCode::CreateContainer | OpCode::CreateTtl => {
                MultiOp::Create(CreateRequest::read(r, op)?)
            }
            OpCode::Delete => MultiOp::Delete { path: r.string("path")?, version: r.i32("version")? },
            OpCode::SetData => MultiOp::SetData {
                path: r.string("path")?,
                data: r.data("data")?,
                version: r.i32("version")?,
            },
            OpCode::Check => MultiOp::Check { path: r.string("path")?, version: r.i32("version")? },
            OpCode::GetChildren => MultiOp::GetChildren { path: r.string("path")? },
            OpCode::GetData => MultiOp::GetData { path: r.string("path")? },
            _ => return Err(JuteError::BadValue { field: "multi type", value: kind.into() }),
        });
    }
}

impl WireRequest {
    /// Decodes a request packet (header and body); `limit` is `jute.maxbuffer`.
    pub fn decode(packet: &[u8], limit: usize) -> Result<(RequestHeader, WireRequest), JuteError> {
        let mut r = Reader::new(packet, limit);
        let header = RequestHeader::read(&mut r)?;
        let op = OpCode::from_code(header.op)
            .ok_or(JuteError::BadValue { field: "type", value: header.op.into() })?;
        let req = match op {
            OpCode::Create | OpCode::Create2 | OpCode::CreateContainer | OpCode::CreateTtl => {
                WireRequest::Create(CreateRequest::read(&mut r, op)?)
            }
            OpCode::Delete => WireRequest::Delete { path: r.string("path")?, version: r.i32("version")? },
            OpCode::Exists => WireRequest::Exists { path: r.string("path")?, watch: r.bool("watch")? },
            OpCode::GetData => WireRequest::GetData { path: r.string("path")?, watch: r.bool("watch")? },
            OpCode::SetData => WireRequest::SetData {
                path: r.string("path")?,
                data: r.data("data")?,
                version: r.i32("version")?,
            },
            OpCode::GetAcl => WireRequest::GetAcl { path: r.string("path")? },
            OpCode::SetAcl => WireRequest::SetAcl {
                path: r.string("path")?,
                acl: WireAcl::read_list(&mut r)?,
                version: r.i32("version")?,
            },
            OpCode::GetChildren | OpCode::GetChildren2 => WireRequest::GetChildren {
                path: r.string("path")?,
                watch: r.bool("watch")?,
                with_stat: op == OpCode::GetChildren2,
            },
            OpCode::Sync => WireRequest::Sync { path: r.string("path")? },
            OpCode::Check => WireRequest::Check { path: r.string("path")?, version: r.i32("version")? },
            OpCode::Multi | OpCode::MultiRead => {
                WireRequest::Multi { ops: multi_ops(&mut r)?, read_only: op == OpCode::MultiRead }
            }
            OpCode::RemoveWatches | OpCode::CheckWatches => WireRequest::RemoveWatches {
                path: r.string("path")?,
                kind: r.i32("type")?,
                check_only: op == OpCode::CheckWatches,
            },
            OpCode::GetEphemerals => WireRequest::GetEphemerals { prefix: r.string("prefixPath")? },
            OpCode::GetAllChildrenNumber => WireRequest::GetAllChildrenNumber { path: r.string("path")? },
            OpCode::AddWatch => WireRequest::AddWatch { path: r.string("path")?, mode: r.i32("mode")? },
            OpCode::SetWatches | OpCode::SetWatches2 => {
                let relative_zxid = r.i64("relativeZxid")?;
                let data = strings(&mut r, "dataWatches")?;
                let exist = strings(&mut r, "existWatches")?;
                let child = strings(&mut r, "childWatches")?;
                let (persistent, persistent_recursive) = if op == OpCode::SetWatches2 {
                    (strings(&mut r, "persistentWatches")?, strings(&mut r, "persistentRecursiveWatches")?)
                } else {
                    (Vec::new(), Vec::new())
                };
                WireRequest::SetWatches {
                    relative_zxid,
                    data,
                    exist,
                    child,
                    persistent,
                    persistent_recursive,
                }
            }
            OpCode::Auth => WireRequest::Auth {
                kind: r.i32("type")?,
                scheme: r.string("scheme")?,
                auth: r.buffer("auth")?,
            },
            OpCode::Ping => WireRequest::Ping,
            OpCode::CloseSession => WireRequest::CloseSession,
            OpCode::WhoAmI => WireRequest::WhoAmI,
            OpCode::Sasl
            | OpCode::Reconfig
            | OpCode::DeleteContainer
            | OpCode::CreateSession
            | OpCode::Notification
            | OpCode::Error => {
                // The body is not interpreted; skip it whole.
                r.skip(r.remaining(), "body")?;
                WireRequest::Unsupported { op }
            }
        };
        r.finish("request")?;
        Ok((header, req))
    }
}

/// Encodes the multi-op framing: each op with its header, then the closing header.
pub fn encode_multi(ops: &[MultiOp], w: &mut Writer) {
    for op in ops {
        let code = match op {
            MultiOp::Create(c) => c.op,
            MultiOp::Delete { .. } => OpCode::Delete,
            MultiOp::SetData { .. } => OpCode::SetData,
            MultiOp::Check { .. } => OpCode::Check,
            MultiOp::GetChildren { .. } => OpCode::GetChildren,
            MultiOp::GetData { .. } => OpCode::GetData,
        };
        w.i32(code.code()).bool(false).i32(-1);
        match op {
            MultiOp::Create(c) => c.write(w),
            MultiOp::Delete { path, version } | MultiOp::Check { path, version } => {
                w.string(path).i32(*version);
            }
            MultiOp::SetData { path, data, version } => {
                w.string(path).data(data).i32(*version);
            }
            MultiOp::GetChildren { path } | MultiOp::GetData { path } => {
                w.string(path);
            }
        }
    }
    w.i32(-1).bool(true).i32(-1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jute::DEFAULT_MAX_BUFFER;
    use proptest::prelude::*;

    fn packet(xid: i32, op: OpCode, body: impl FnOnce(&mut Writer)) -> Vec<u8> {
        let mut w = Writer::new();
        RequestHeader { xid, op: op.code() }.write(&mut w);
        body(&mut w);
        w.into_bytes()
    }

    #[test]
    fn create_ttl_carries_its_ttl() {
        let p = packet(7, OpCode::CreateTtl, |w| {
            w.string("/t").buffer(b"x");
            WireAcl::write_list(&[WireAcl { perms: 31, scheme: "world".into(), id: "anyone".into() }], w);
            w.i32(5).i64(1000);
        });
        let (h, req) = WireRequest::decode(&p, DEFAULT_MAX_BUFFER).unwrap();
        assert_eq!(h.xid, 7);
        match req {
            WireRequest::Create(c) => {
                assert_eq!((c.path.as_str(), c.ttl, c.flags, c.acl.len()), ("/t", Some(1000), 5, 1));
            }
            other => panic!("decoded {other:?}"),
        }
    }

    #[test]
    fn multi_round_trips() {
        let ops = vec![
            MultiOp::Check { path: "/a".into(), version: 1 },
            MultiOp::Create(CreateRequest {
                op: OpCode::Create,
                path: "/b".into(),
                data: b"d".into(),
                acl: vec![],
                flags: 0,
                ttl: None,
            }),
            MultiOp::SetData { path: "/a".into(), data: Default::default(), version: -1 },
            MultiOp::Delete { path: "/c".into(), version: 3 },
        ];
        let p = packet(1, OpCode::Multi, |w| encode_multi(&ops, w));
        let (_, req) = WireRequest::decode(&p, DEFAULT_MAX_BUFFER).unwrap();
        assert_eq!(req, WireRequest::Multi { ops, read_only: false });
    }

    #[test]
    fn a_minus_one_buffer_is_null_data_and_null_is_written_as_minus_one() {
        // zkCli's `create /x`: path, a -1 buffer, the open ACL, flags.
        let p = packet(3, OpCode::Create, |w| {
            w.string("/x").i32(-1);
            WireAcl::write_list(&[WireAcl { perms: 31, scheme: "world".into(), id: "anyone".into() }], w);
            w.i32(0);
        });
        let (_, req) = WireRequest::decode(&p, DEFAULT_MAX_BUFFER).unwrap();
        let WireRequest::Create(c) = &req else { panic!("{req:?}") };
        assert!(c.data.is_null());
        let mut w = Writer::new();
        c.write(&mut w);
        assert_eq!(&w.into_bytes()[6..10], &[0xff; 4], "path \"/x\" (6 bytes), then -1");
        // An empty buffer stays empty, not null.
        let p = packet(4, OpCode::SetData, |w| {
            w.string("/x").buffer(b"").i32(-1);
        });
        let (_, req) = WireRequest::decode(&p, DEFAULT_MAX_BUFFER).unwrap();
        assert_eq!(req, WireRequest::SetData { path: "/x".into(), data: Data::empty(), version: -1 });
        let p = packet(5, OpCode::SetData, |w| {
            w.string("/x").null().i32(-1);
        });
        let (_, req) = WireRequest::decode(&p, DEFAULT_MAX_BUFFER).unwrap();
        assert_eq!(req, WireRequest::SetData { path: "/x".into(), data: Data::NULL, version: -1 });
        // And in a multi, both ways.
        let ops = vec![
            MultiOp::Create(CreateRequest { data: Data::NULL, ..c.clone() }),
            MultiOp::SetData { path: "/x".into(), data: Data::NULL, version: -1 },
        ];
        let p = packet(6, OpCode::Multi, |w| encode_multi(&ops, w));
        let (_, req) = WireRequest::decode(&p, DEFAULT_MAX_BUFFER).unwrap();
        assert_eq!(req, WireRequest::Multi { ops, read_only: false });
    }

    #[test]
    fn unknown_opcodes_and_trailing_bytes_are_errors() {
        let p = packet(1, OpCode::Ping, |w| {
            w.i32(0);
        });
        assert!(matches!(WireRequest::decode(&p, DEFAULT_MAX_BUFFER), Err(JuteError::Trailing { .. })));
        let mut w = Writer::new();
        w.i32(1).i32(4242);
        assert!(matches!(
            WireRequest::decode(&w.into_bytes(), DEFAULT_MAX_BUFFER),
            Err(JuteError::BadValue { .. })
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_packets_never_panic(op in -12i32..110, body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut w = Writer::new();
            w.i32(1).i32(op);
            let mut p = w.into_bytes();
            p.extend(body);
            let _ = WireRequest::decode(&p, DEFAULT_MAX_BUFFER);
        }
    }
}
