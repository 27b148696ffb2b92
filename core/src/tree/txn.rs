//! Transactions: what ZAB replicates. A transaction carries every decision the leader
//! made (final sequential path, new versions, the parent's new cversion, the ephemeral
//! owner, the time, or an error), so that applying it is deterministic on every replica.

use super::acl::Acl;
use super::data::Data;
use super::error::ZkError;
use super::stat::Stat;
use crate::ids::{SessionId, Zxid};
use serde::{Deserialize, Serialize};

/// A transaction with its header (ZooKeeper's `TxnHeader` + record).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Txn {
    /// The session that asked (0 for the server's own cleanup).
    pub session: SessionId,
    /// Its zxid.
    pub zxid: Zxid,
    /// The leader's clock when it prepared the request (ms since the epoch): the only
    /// source of ctime and mtime.
    pub time: i64,
    /// What to do.
    pub op: TxnOp,
    /// The tree digest the leader expects after applying it (ZooKeeper's `TxnDigest`,
    /// version 2): a replica whose digest differs has diverged.
    pub digest: Option<u64>,
}

/// The body of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TxnOp {
    /// A session starts.
    CreateSession {
        /// Its negotiated timeout (ms).
        timeout_ms: i32,
    },
    /// A session ends; these ephemerals go, in this order (`CloseSessionTxn`).
    CloseSession {
        /// The session's ephemerals as the leader saw them.
        paths: Vec<String>,
    },
    /// A node is created.
    Create {
        /// The final path.
        path: String,
        /// The data (may be null).
        data: Data,
        /// The ACL, `auth` already expanded.
        acl: Vec<Acl>,
        /// The raw owner: 0, a session, or the container/TTL encoding.
        owner: i64,
        /// The parent's new stored cversion.
        parent_cversion: i32,
    },
    /// A node is deleted.
    Delete {
        /// The path.
        path: String,
    },
    /// An empty container or expired TTL node is deleted by the server.
    DeleteContainer {
        /// The path.
        path: String,
    },
    /// Data is set.
    SetData {
        /// The path.
        path: String,
        /// The data (may be null).
        data: Data,
        /// The new version.
        version: i32,
    },
    /// An ACL is set.
    SetAcl {
        /// The path.
        path: String,
        /// The ACL.
        acl: Vec<Acl>,
        /// The new ACL version.
        version: i32,
    },
    /// A multi's version check (no change).
    Check {
        /// The path.
        path: String,
        /// The version the leader checked (plus one, as ZooKeeper records it).
        version: i32,
    },
    /// A multi: its ops in order. If any op is an [`TxnOp::Error`], nothing is applied.
    Multi(Vec<TxnOp>),
    /// A request that failed at the leader: it still takes a zxid, as in ZooKeeper.
    Error(ZkError),
    /// Migration: nodes and sessions imported exactly as another ensemble has them
    /// (zoolab's import path; no ZooKeeper opcode maps to it).
    Import(Import),
}

/// A batch a migration controller imports into a tree through its ensemble's ZAB, so
/// that every server applies it: upserts with their exact stored Stat, ACL and node
/// type (parents first), deletes (tombstones, children first), and session-table
/// changes. Applying it twice gives the same tree (the controller may resend).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Import {
    /// Nodes to create or overwrite, parents before children.
    pub nodes: Vec<ImportedNode>,
    /// Paths to remove (absent ones are skipped), children before parents.
    pub deletes: Vec<String>,
    /// Sessions to register, with their timeouts (ms).
    pub sessions: Vec<(SessionId, i32)>,
    /// Sessions to forget (their ephemerals are removed by `deletes`).
    pub closed_sessions: Vec<SessionId>,
}

/// One imported node.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImportedNode {
    /// Its path.
    pub path: String,
    /// Its data (may be null).
    pub data: Data,
    /// Its ACL.
    pub acl: Vec<Acl>,
    /// Its stored Stat (the raw ephemeral owner gives the node type).
    pub stat: super::stat::StatPersisted,
}

/// What a successful operation returns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpResult {
    /// createSession.
    SessionCreated,
    /// closeSession.
    SessionClosed,
    /// create: the final path and the new node's stat.
    Created {
        /// Final path.
        path: String,
        /// New stat.
        stat: Stat,
    },
    /// delete (and deleteContainer).
    Deleted,
    /// setData: the new stat.
    DataSet(Stat),
    /// setACL: the new stat.
    AclSet(Stat),
    /// check.
    Checked,
    /// A successful multi: one result per op.
    Multi(Vec<OpResult>),
}

/// One op's result in a failed multi, as ZooKeeper reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MultiError {
    /// An op before the failing one (ZooKeeper's `ErrorResult(OK)`).
    RolledBack,
    /// The failing op's error, or `RUNTIMEINCONSISTENCY` for those after it.
    Failed(ZkError),
}

impl MultiError {
    /// ZooKeeper's name: `OK` or the error's.
    pub fn name(self) -> &'static str {
        match self {
            MultiError::RolledBack => "OK",
            MultiError::Failed(e) => e.name(),
        }
    }
}

/// Why an operation failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The error (for a multi: the first failing op's).
    pub error: ZkError,
    /// For a multi, every op's result; empty otherwise.
    pub multi: Vec<MultiError>,
}

impl From<ZkError> for Failure {
    fn from(error: ZkError) -> Failure {
        Failure { error, multi: Vec::new() }
    }
}

impl std::fmt::Display for TxnOp {
    /// One line for logs and the inspector: `create /a (3 bytes)`, `create /n (null)`,
    /// `error NONODE`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let size = |d: &Data| if d.is_null() { "null".to_owned() } else { format!("{} bytes", d.len()) };
        match self {
            TxnOp::CreateSession { timeout_ms } => write!(f, "createSession timeout={timeout_ms}ms"),
            TxnOp::CloseSession { paths } => write!(f, "closeSession ({} ephemerals)", paths.len()),
            TxnOp::Create { path, data, .. } => write!(f, "create {path} ({})", size(data)),
            TxnOp::Delete { path } => write!(f, "delete {path}"),
            TxnOp::DeleteContainer { path } => write!(f, "deleteContainer {path}"),
            TxnOp::SetData { path, data, .. } => write!(f, "setData {path} ({})", size(data)),
            TxnOp::SetAcl { path, .. } => write!(f, "setACL {path}"),
            TxnOp::Check { path, .. } => write!(f, "check {path}"),
            TxnOp::Multi(ops) => {
                f.write_str("multi [")?;
                for (i, op) in ops.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{op}")?;
                }
                f.write_str("]")
            }
            TxnOp::Error(e) => write!(f, "error {}", e.name()),
            TxnOp::Import(i) => write!(f, "import ({} nodes, {} deletes)", i.nodes.len(), i.deletes.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_data_shows_as_null_in_the_one_line_form() {
        let create = |data: Data| TxnOp::Create {
            path: "/n".into(),
            data,
            acl: Acl::open_unsafe(),
            owner: 0,
            parent_cversion: -1,
        };
        assert_eq!(create(Data::NULL).to_string(), "create /n (null)");
        assert_eq!(create(Data::empty()).to_string(), "create /n (0 bytes)");
        let set = TxnOp::SetData { path: "/n".into(), data: Data::NULL, version: 1 };
        assert_eq!(set.to_string(), "setData /n (null)");
    }
}
