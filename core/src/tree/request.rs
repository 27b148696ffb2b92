//! What clients ask: write requests (which the leader prepares into transactions) and
//! read requests (which any replica serves from its own tree).

use super::acl::Acl;
use super::data::Data;
use super::error::ZkError;
use super::watch::{WatchMode, WatcherType};
use serde::{Deserialize, Serialize};

/// How to create a node (`CreateMode`), with its wire flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CreateMode {
    /// 0
    Persistent,
    /// 1: deleted when its session closes.
    Ephemeral,
    /// 2: the parent's cversion appended as ten digits.
    PersistentSequential,
    /// 3
    EphemeralSequential,
    /// 4: deleted by the server once it had children and has none left.
    Container,
    /// 5: deleted by the server when unchanged and childless for its TTL.
    PersistentWithTtl,
    /// 6
    PersistentSequentialWithTtl,
}

impl CreateMode {
    /// The wire flag.
    pub fn flag(self) -> i32 {
        match self {
            CreateMode::Persistent => 0,
            CreateMode::Ephemeral => 1,
            CreateMode::PersistentSequential => 2,
            CreateMode::EphemeralSequential => 3,
            CreateMode::Container => 4,
            CreateMode::PersistentWithTtl => 5,
            CreateMode::PersistentSequentialWithTtl => 6,
        }
    }

    /// The mode of a wire flag (`CreateMode.fromFlag`; unknown flags are `None`).
    pub fn from_flag(flag: i32) -> Option<CreateMode> {
        Some(match flag {
            0 => CreateMode::Persistent,
            1 => CreateMode::Ephemeral,
            2 => CreateMode::PersistentSequential,
            3 => CreateMode::EphemeralSequential,
            4 => CreateMode::Container,
            5 => CreateMode::PersistentWithTtl,
            6 => CreateMode::PersistentSequentialWithTtl,
            _ => return None,
        })
    }

    /// Owned by a session.
    pub fn is_ephemeral(self) -> bool {
        matches!(self, CreateMode::Ephemeral | CreateMode::EphemeralSequential)
    }

    /// Gets a sequential suffix.
    pub fn is_sequential(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentSequential
                | CreateMode::EphemeralSequential
                | CreateMode::PersistentSequentialWithTtl
        )
    }

    /// A container.
    pub fn is_container(self) -> bool {
        self == CreateMode::Container
    }

    /// Has a TTL.
    pub fn is_ttl(self) -> bool {
        matches!(self, CreateMode::PersistentWithTtl | CreateMode::PersistentSequentialWithTtl)
    }

    /// Whether ZooKeeper's multi result for this create carries a Stat: only for
    /// containers and TTL nodes (their ops are `createContainer`/`createTTL`; others are
    /// turned into a plain `create` whose result is just the path).
    pub fn multi_result_has_stat(self) -> bool {
        self.is_container() || self.is_ttl()
    }
}

/// A create request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Create {
    /// The path (for sequential modes, the prefix of the final name).
    pub path: String,
    /// The data (null: zkCli's `create /x` with no data).
    pub data: Data,
    /// The ACL as the client sent it (`auth` entries are expanded by prepare).
    pub acl: Vec<Acl>,
    /// The mode.
    pub mode: CreateMode,
    /// The TTL in ms (ZooKeeper's `createTTL`); `None` is ZooKeeper's -1.
    pub ttl: Option<i64>,
}

/// One operation of a multi.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MultiOp {
    /// Create.
    Create(Create),
    /// Delete at a version (-1: any).
    Delete {
        /// The path.
        path: String,
        /// The expected version, -1 for any.
        version: i32,
    },
    /// Set data at a version.
    SetData {
        /// The path.
        path: String,
        /// The new data (may be null).
        data: Data,
        /// The expected version, -1 for any.
        version: i32,
    },
    /// Check a version.
    Check {
        /// The path.
        path: String,
        /// The expected version, -1 for any.
        version: i32,
    },
}

/// A request that changes the tree (or the sessions): the leader prepares it into a
/// [`super::txn::Txn`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WriteRequest {
    /// A new session with its negotiated timeout.
    CreateSession {
        /// Timeout (ms).
        timeout_ms: i32,
    },
    /// Close the session: its ephemerals go.
    CloseSession,
    /// Create a node.
    Create(Create),
    /// Delete a node.
    Delete {
        /// The path.
        path: String,
        /// The expected version, -1 for any.
        version: i32,
    },
    /// Set a node's data.
    SetData {
        /// The path.
        path: String,
        /// The new data (may be null).
        data: Data,
        /// The expected version, -1 for any.
        version: i32,
    },
    /// Set a node's ACL.
    SetAcl {
        /// The path.
        path: String,
        /// The new ACL.
        acl: Vec<Acl>,
        /// The expected ACL version, -1 for any.
        version: i32,
    },
    /// Several operations, all or nothing.
    Multi(Vec<MultiOp>),
    /// `reconfig`: the new dynamic configuration, already validated by the leader's
    /// reconfiguration logic, written to `/zookeeper/config` (as ZooKeeper does, with
    /// data version -1). Needs WRITE on `/zookeeper/config`, i.e. the super user.
    Reconfig {
        /// The new configuration text (`server.N=...` lines and `version=...`).
        #[serde(with = "crate::bytestr")]
        data: Vec<u8>,
    },
    /// A request ZooKeeper refuses while preparing it, still as a transaction with a zxid
    /// (e.g. a create with an unknown mode flag: `BADARGUMENTS`).
    Invalid(ZkError),
    /// The server's own cleanup of an empty container or an expired TTL node
    /// (`deleteContainer`, no session, no ACL check).
    DeleteContainer {
        /// The path.
        path: String,
    },
    /// Migration's import path (a controller's batch, never a client's: no wire
    /// opcode maps to it).
    Import(super::txn::Import),
    /// An import that applies only while its guard holds (the controller's fencing
    /// token: its migration record still at the version it wrote), else `BADVERSION`.
    GuardedImport {
        /// The batch.
        import: super::txn::Import,
        /// The condition checked against the tree plus the imports in flight.
        guard: ImportGuard,
    },
}

/// The condition of a [`WriteRequest::GuardedImport`]: `path` must be at `version`
/// (`None`: absent), as ZooKeeper's `check` op does in a multi. A migration controller
/// guards every import with its own record's version, so once a second controller
/// writes the record, the first one's imports are refused with `BADVERSION` even in the
/// middle of a phase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportGuard {
    /// The guarded node (the migration record).
    pub path: String,
    /// Its expected data version, or `None` if it must not exist.
    pub version: Option<i32>,
}

impl WriteRequest {
    /// The size ZooKeeper reads off the wire for this request: its 4-byte length prefix
    /// counts what follows (request header and body). ZooKeeper closes the connection
    /// when it exceeds `jute.maxbuffer`.
    pub fn wire_len(&self) -> usize {
        fn s(x: &str) -> usize {
            4 + x.len()
        }
        fn acl(a: &[Acl]) -> usize {
            4 + a.iter().map(|e| 4 + s(&e.id.scheme) + s(&e.id.id)).sum::<usize>()
        }
        fn create(c: &Create) -> usize {
            let ttl = if c.mode.is_ttl() || c.ttl.is_some() { 8 } else { 0 };
            s(&c.path) + 4 + c.data.len() + acl(&c.acl) + 4 + ttl
        }
        const HEADER: usize = 8;
        const MULTI_HEADER: usize = 9;
        HEADER
            + match self {
                WriteRequest::CreateSession { .. }
                | WriteRequest::CloseSession
                | WriteRequest::Invalid(_) => 0,
                WriteRequest::Create(c) => create(c),
                WriteRequest::Delete { path, .. } => s(path) + 4,
                WriteRequest::SetData { path, data, .. } => s(path) + 4 + data.len() + 4,
                WriteRequest::SetAcl { path, acl: a, .. } => s(path) + acl(a) + 4,
                WriteRequest::DeleteContainer { path } => path.len(),
                // joiningServers, leavingServers, newMembers: approximated by the data.
                WriteRequest::Reconfig { data } => 12 + data.len() + 8,
                WriteRequest::Import(i) | WriteRequest::GuardedImport { import: i, .. } => i
                    .nodes
                    .iter()
                    .map(|n| s(&n.path) + 4 + n.data.len() + acl(&n.acl) + 68)
                    .chain(i.deletes.iter().map(|p| s(p)))
                    .sum::<usize>(),
                WriteRequest::Multi(ops) => {
                    MULTI_HEADER
                        + ops
                            .iter()
                            .map(|op| {
                                MULTI_HEADER
                                    + match op {
                                        MultiOp::Create(c) => create(c),
                                        MultiOp::Delete { path, .. } | MultiOp::Check { path, .. } => {
                                            s(path) + 4
                                        }
                                        MultiOp::SetData { path, data, .. } => s(path) + 4 + data.len() + 4,
                                    }
                            })
                            .sum::<usize>()
                }
            }
    }
}

/// A request a replica answers from its own tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReadRequest {
    /// The stat, or `None`; with `watch`, a data watch even if the node is absent.
    Exists {
        /// The path.
        path: String,
        /// Leave a watch.
        watch: bool,
    },
    /// Data and stat.
    GetData {
        /// The path.
        path: String,
        /// Leave a watch.
        watch: bool,
    },
    /// Children names (and the stat with `with_stat`, i.e. getChildren2).
    GetChildren {
        /// The path.
        path: String,
        /// Leave a watch.
        watch: bool,
        /// getChildren2.
        with_stat: bool,
    },
    /// Number of descendants (all levels).
    GetAllChildrenNumber {
        /// The path.
        path: String,
    },
    /// The asking session's ephemerals whose path starts with the prefix.
    GetEphemerals {
        /// The prefix (`""` or `"/"`: all).
        prefix: String,
    },
    /// ACL and stat.
    GetAcl {
        /// The path.
        path: String,
    },
    /// `sync`: answers the path; the driver makes it wait for the leader's commits.
    Sync {
        /// The path.
        path: String,
    },
    /// `addWatch`.
    AddWatch {
        /// The path.
        path: String,
        /// Persistent or persistent-recursive.
        mode: WatchMode,
    },
    /// `multiRead`: getChildren and getData (without watches) answered one by one.
    MultiRead(Vec<ReadRequest>),
    /// `whoAmI`: the session's identities.
    WhoAmI,
    /// `removeWatches`.
    RemoveWatches {
        /// The path.
        path: String,
        /// Which watches.
        kind: WatcherType,
    },
}
