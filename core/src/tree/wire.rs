//! From a decoded client request ([`crate::jute::request::WireRequest`]) to what the
//! tree serves, with ZooKeeper 3.8's decoding rules: which create opcode carries a TTL,
//! how a multi decodes its creates (an invalid flag becomes PERSISTENT, a TTL with a
//! non-TTL mode is dropped), which malformed requests still take a zxid as an error
//! transaction, and which never reach the tree.

use super::acl::{Acl, Id, Perms};
use super::error::ZkError;
use super::read::SetWatches;
use super::request::{Create, CreateMode, MultiOp, ReadRequest, WriteRequest};
use super::stat::Stat;
use super::watch::WatchedEvent;
use super::watch::{WatchMode, WatcherType};
use crate::ids::Zxid;
use crate::jute::proto::{OpCode, WatcherEvent, WireAcl, WireStat};
use crate::jute::request::{CreateRequest, MultiOp as WireMultiOp, WireRequest};

/// What a client request is, for the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TreeRequest {
    /// A write: check its size, prepare it (it takes a zxid even if it fails), propose it.
    Write(WriteRequest),
    /// A read, served by the replica the client is connected to.
    Read(ReadRequest),
    /// A reconnecting client's watches ([`super::DataTree::set_watches`]).
    SetWatches(SetWatches),
    /// `checkWatches` (removeWatches with `check_only`): `NOWATCHER` unless the path is
    /// watched ([`super::WatchManager::check_watches`]).
    CheckWatches {
        /// The path.
        path: String,
        /// Which table.
        kind: WatcherType,
    },
    /// Answered with this error at once, without a zxid (e.g. an unknown addWatch mode).
    Refused(ZkError),
    /// Not the tree's business: ping, auth, and what the server does not implement.
    NotForTheTree,
}

fn acl(list: &[WireAcl]) -> Vec<Acl> {
    list.iter().map(|a| Acl { perms: Perms(a.perms), id: Id::new(&a.scheme, &a.id) }).collect()
}

/// A top-level create: the mode comes from the flags (an unknown flag is BADARGUMENTS,
/// as an error transaction), the TTL only with the createTTL opcode.
fn create(c: &CreateRequest) -> WriteRequest {
    match CreateMode::from_flag(c.flags) {
        None => WriteRequest::Invalid(ZkError::BadArguments),
        Some(mode) => WriteRequest::Create(Create {
            path: c.path.clone(),
            data: c.data.clone(),
            acl: acl(&c.acl),
            mode,
            ttl: if c.op == OpCode::CreateTtl { c.ttl } else { None },
        }),
    }
}

/// A create inside a multi (`MultiOperationRecord`): an unknown flag reads as
/// PERSISTENT; the TTL is kept only for a TTL mode.
fn multi_create(c: &CreateRequest) -> Create {
    let mode = CreateMode::from_flag(c.flags).unwrap_or(CreateMode::Persistent);
    Create {
        path: c.path.clone(),
        data: c.data.clone(),
        acl: acl(&c.acl),
        mode,
        ttl: if mode.is_ttl() && c.op == OpCode::CreateTtl { c.ttl } else { None },
    }
}

impl From<&Stat> for WireStat {
    fn from(s: &Stat) -> WireStat {
        WireStat {
            czxid: s.czxid.0 as i64,
            mzxid: s.mzxid.0 as i64,
            ctime: s.ctime,
            mtime: s.mtime,
            version: s.version,
            cversion: s.cversion,
            aversion: s.aversion,
            ephemeral_owner: s.ephemeral_owner,
            data_length: s.data_length,
            num_children: s.num_children,
            pzxid: s.pzxid.0 as i64,
        }
    }
}

impl From<&WireStat> for Stat {
    fn from(s: &WireStat) -> Stat {
        Stat {
            czxid: crate::ids::Zxid(s.czxid as u64),
            mzxid: crate::ids::Zxid(s.mzxid as u64),
            ctime: s.ctime,
            mtime: s.mtime,
            version: s.version,
            cversion: s.cversion,
            aversion: s.aversion,
            ephemeral_owner: s.ephemeral_owner,
            data_length: s.data_length,
            num_children: s.num_children,
            pzxid: crate::ids::Zxid(s.pzxid as u64),
        }
    }
}

/// An ACL as the wire carries it.
pub fn to_wire_acl(acl: &[Acl]) -> Vec<WireAcl> {
    acl.iter()
        .map(|a| WireAcl { perms: a.perms.0, scheme: a.id.scheme.clone(), id: a.id.id.clone() })
        .collect()
}

/// A watch notification as the wire carries it (state 3: SyncConnected).
pub fn to_watcher_event(e: &WatchedEvent) -> WatcherEvent {
    WatcherEvent { kind: e.event.code(), state: 3, path: e.path.clone() }
}

/// What the tree makes of a client request.
pub fn from_wire(req: &WireRequest) -> TreeRequest {
    use TreeRequest::{Read, Write};
    match req {
        WireRequest::Create(c) => Write(create(c)),
        WireRequest::Delete { path, version } => {
            Write(WriteRequest::Delete { path: path.clone(), version: *version })
        }
        WireRequest::SetData { path, data, version } => {
            Write(WriteRequest::SetData { path: path.clone(), data: data.clone(), version: *version })
        }
        WireRequest::SetAcl { path, acl: a, version } => {
            Write(WriteRequest::SetAcl { path: path.clone(), acl: acl(a), version: *version })
        }
        WireRequest::Multi { ops, read_only: false } => {
            let mut out = Vec::with_capacity(ops.len());
            for op in ops {
                out.push(match op {
                    // A TTL mode sent without createTTL decodes as a createTTL op
                    // without a TTL record: ZooKeeper fails the whole request.
                    WireMultiOp::Create(c)
                        if c.op != OpCode::CreateTtl
                            && CreateMode::from_flag(c.flags).is_some_and(CreateMode::is_ttl) =>
                    {
                        return Write(WriteRequest::Invalid(ZkError::MarshallingError))
                    }
                    WireMultiOp::Create(c) => MultiOp::Create(multi_create(c)),
                    WireMultiOp::Delete { path, version } => {
                        MultiOp::Delete { path: path.clone(), version: *version }
                    }
                    WireMultiOp::SetData { path, data, version } => {
                        MultiOp::SetData { path: path.clone(), data: data.clone(), version: *version }
                    }
                    WireMultiOp::Check { path, version } => {
                        MultiOp::Check { path: path.clone(), version: *version }
                    }
                    // "Mixing read and write operations": refused while decoding.
                    WireMultiOp::GetChildren { .. } | WireMultiOp::GetData { .. } => {
                        return Write(WriteRequest::Invalid(ZkError::MarshallingError))
                    }
                });
            }
            Write(WriteRequest::Multi(out))
        }
        WireRequest::Multi { ops, read_only: true } => {
            let mut out = Vec::with_capacity(ops.len());
            for op in ops {
                out.push(match op {
                    WireMultiOp::GetChildren { path } => {
                        ReadRequest::GetChildren { path: path.clone(), watch: false, with_stat: false }
                    }
                    WireMultiOp::GetData { path } => {
                        ReadRequest::GetData { path: path.clone(), watch: false }
                    }
                    _ => return TreeRequest::Refused(ZkError::MarshallingError),
                });
            }
            Read(ReadRequest::MultiRead(out))
        }
        WireRequest::Exists { path, watch } => {
            Read(ReadRequest::Exists { path: path.clone(), watch: *watch })
        }
        WireRequest::GetData { path, watch } => {
            Read(ReadRequest::GetData { path: path.clone(), watch: *watch })
        }
        WireRequest::GetAcl { path } => Read(ReadRequest::GetAcl { path: path.clone() }),
        WireRequest::GetChildren { path, watch, with_stat } => {
            Read(ReadRequest::GetChildren { path: path.clone(), watch: *watch, with_stat: *with_stat })
        }
        WireRequest::Sync { path } => Read(ReadRequest::Sync { path: path.clone() }),
        WireRequest::GetEphemerals { prefix } => Read(ReadRequest::GetEphemerals { prefix: prefix.clone() }),
        WireRequest::GetAllChildrenNumber { path } => {
            Read(ReadRequest::GetAllChildrenNumber { path: path.clone() })
        }
        WireRequest::AddWatch { path, mode } => match mode {
            0 => Read(ReadRequest::AddWatch { path: path.clone(), mode: WatchMode::Persistent }),
            1 => Read(ReadRequest::AddWatch { path: path.clone(), mode: WatchMode::PersistentRecursive }),
            _ => TreeRequest::Refused(ZkError::MarshallingError),
        },
        WireRequest::RemoveWatches { path, kind, check_only } => {
            let kind = match kind {
                1 => WatcherType::Children,
                2 => WatcherType::Data,
                3 => WatcherType::Any,
                _ => return TreeRequest::Refused(ZkError::MarshallingError),
            };
            if *check_only {
                TreeRequest::CheckWatches { path: path.clone(), kind }
            } else {
                Read(ReadRequest::RemoveWatches { path: path.clone(), kind })
            }
        }
        WireRequest::SetWatches { relative_zxid, data, exist, child, persistent, persistent_recursive } => {
            TreeRequest::SetWatches(SetWatches {
                relative_zxid: Zxid(*relative_zxid as u64),
                data: data.clone(),
                exist: exist.clone(),
                child: child.clone(),
                persistent: persistent.clone(),
                persistent_recursive: persistent_recursive.clone(),
            })
        }
        WireRequest::CloseSession => Write(WriteRequest::CloseSession),
        WireRequest::WhoAmI => Read(ReadRequest::WhoAmI),
        // A standalone check (ZooKeeper 3.8.0 takes a zxid, then never answers), ping,
        // auth (see `AuthInfo::add`) and what this server does not implement.
        WireRequest::Check { .. }
        | WireRequest::Ping
        | WireRequest::Auth { .. }
        | WireRequest::Unsupported { .. } => TreeRequest::NotForTheTree,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire_create(op: OpCode, flags: i32, ttl: Option<i64>) -> CreateRequest {
        CreateRequest {
            op,
            path: "/t".into(),
            data: Default::default(),
            acl: vec![WireAcl { perms: 31, scheme: "world".into(), id: "anyone".into() }],
            flags,
            ttl,
        }
    }

    #[test]
    fn create_flags_and_ttl_as_zookeeper_decodes_them() {
        let r = from_wire(&WireRequest::Create(wire_create(OpCode::CreateTtl, 5, Some(100))));
        let TreeRequest::Write(WriteRequest::Create(c)) = r else { panic!("{r:?}") };
        assert_eq!((c.mode, c.ttl), (CreateMode::PersistentWithTtl, Some(100)));
        let r = from_wire(&WireRequest::Create(wire_create(OpCode::Create2, 9, None)));
        assert_eq!(r, TreeRequest::Write(WriteRequest::Invalid(ZkError::BadArguments)));
    }

    #[test]
    fn multi_creates_default_to_persistent_and_drop_a_stray_ttl() {
        let ops = vec![
            WireMultiOp::Create(wire_create(OpCode::Create, 9, None)),
            WireMultiOp::Create(wire_create(OpCode::CreateTtl, 0, Some(5))),
            WireMultiOp::Create(wire_create(OpCode::CreateTtl, 6, Some(5))),
        ];
        let r = from_wire(&WireRequest::Multi { ops, read_only: false });
        let TreeRequest::Write(WriteRequest::Multi(ops)) = r else { panic!("{r:?}") };
        let got: Vec<(CreateMode, Option<i64>)> = ops
            .iter()
            .map(|o| match o {
                MultiOp::Create(c) => (c.mode, c.ttl),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (CreateMode::Persistent, None),
                (CreateMode::Persistent, None),
                (CreateMode::PersistentSequentialWithTtl, Some(5))
            ]
        );
    }

    #[test]
    fn reads_watches_and_session_requests_map_through() {
        let r = from_wire(&WireRequest::RemoveWatches { path: "/a".into(), kind: 2, check_only: true });
        assert_eq!(r, TreeRequest::CheckWatches { path: "/a".into(), kind: WatcherType::Data });
        let r = from_wire(&WireRequest::AddWatch { path: "/a".into(), mode: 7 });
        assert_eq!(r, TreeRequest::Refused(ZkError::MarshallingError));
        assert_eq!(from_wire(&WireRequest::CloseSession), TreeRequest::Write(WriteRequest::CloseSession));
        assert_eq!(from_wire(&WireRequest::Ping), TreeRequest::NotForTheTree);
        let r = from_wire(&WireRequest::Multi {
            ops: vec![WireMultiOp::GetData { path: "/a".into() }],
            read_only: true,
        });
        assert!(matches!(r, TreeRequest::Read(ReadRequest::MultiRead(_))));
    }

    #[test]
    fn replies_convert_to_wire_records() {
        let stat = Stat { czxid: Zxid(3), num_children: 2, ..Stat::default() };
        let w = WireStat::from(&stat);
        assert_eq!((w.czxid, w.num_children), (3, 2));
        assert_eq!(to_wire_acl(&Acl::read_unsafe())[0].perms, 1);
        let e = WatchedEvent {
            watcher: crate::ids::SessionId(1),
            event: super::super::EventType::NodeDeleted,
            path: "/a".into(),
        };
        assert_eq!(to_watcher_event(&e).kind, 2);
    }
}
