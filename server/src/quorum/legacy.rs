//! The store's format 1 (`ZLQC` checkpoints, `ZLQW` logs), from before znode data could
//! be null: its transactions' data is a plain byte string where format 2 has an option.
//! These mirrors of the core's [`Txn`] decode it (bincode follows the declaration
//! order, so each mirrors its original field by field and variant by variant); read
//! once at startup, then rewritten in format 2 ([`super::store`]).

use serde::{Deserialize, Serialize};
use zoolab_core::config::QuorumConfig;
use zoolab_core::ids::{Epoch, SessionId, Zxid};
use zoolab_core::tree::{Acl, Data, Import, ImportedNode, StatPersisted, Txn, TxnOp, ZkError};

/// A transaction as format 1 wrote it.
#[derive(Serialize, Deserialize)]
pub(super) struct TxnV1 {
    session: SessionId,
    zxid: Zxid,
    time: i64,
    op: TxnOpV1,
    digest: Option<u64>,
}

#[derive(Serialize, Deserialize)]
enum TxnOpV1 {
    CreateSession {
        timeout_ms: i32,
    },
    CloseSession {
        paths: Vec<String>,
    },
    Create {
        path: String,
        #[serde(with = "zoolab_core::tree::data::legacy")]
        data: Data,
        acl: Vec<Acl>,
        owner: i64,
        parent_cversion: i32,
    },
    Delete {
        path: String,
    },
    DeleteContainer {
        path: String,
    },
    SetData {
        path: String,
        #[serde(with = "zoolab_core::tree::data::legacy")]
        data: Data,
        version: i32,
    },
    SetAcl {
        path: String,
        acl: Vec<Acl>,
        version: i32,
    },
    Check {
        path: String,
        version: i32,
    },
    Multi(Vec<TxnOpV1>),
    Error(ZkError),
    Import(ImportV1),
}

/// An import batch as format 1 wrote it (also the import request's old opcode,
/// `migrate::wire::IMPORT_OP_V1`).
#[derive(Serialize, Deserialize)]
pub(crate) struct ImportV1 {
    nodes: Vec<ImportedNodeV1>,
    deletes: Vec<String>,
    sessions: Vec<(SessionId, i32)>,
    closed_sessions: Vec<SessionId>,
}

#[derive(Serialize, Deserialize)]
struct ImportedNodeV1 {
    path: String,
    #[serde(with = "zoolab_core::tree::data::legacy")]
    data: Data,
    acl: Vec<Acl>,
    stat: StatPersisted,
}

/// A checkpoint as format 1 wrote it.
#[derive(Serialize, Deserialize)]
pub(super) struct CheckpointV1 {
    pub generation: u64,
    pub accepted_epoch: Epoch,
    pub current_epoch: Epoch,
    pub snapshot_zxid: Zxid,
    #[serde(with = "zoolab_core::bytestr::option")]
    pub snapshot: Option<Vec<u8>>,
    pub entries: Vec<(Zxid, TxnV1)>,
    pub config: Option<QuorumConfig>,
}

/// A log record as format 1 wrote it.
#[derive(Serialize, Deserialize)]
pub(super) enum RecordV1 {
    Append(Zxid, TxnV1),
    Truncate(Zxid),
    AcceptedEpoch(Epoch),
    CurrentEpoch(Epoch),
    Config(QuorumConfig),
}

impl From<TxnV1> for Txn {
    fn from(t: TxnV1) -> Txn {
        Txn { session: t.session, zxid: t.zxid, time: t.time, op: t.op.into(), digest: t.digest }
    }
}

impl From<TxnOpV1> for TxnOp {
    fn from(op: TxnOpV1) -> TxnOp {
        match op {
            TxnOpV1::CreateSession { timeout_ms } => TxnOp::CreateSession { timeout_ms },
            TxnOpV1::CloseSession { paths } => TxnOp::CloseSession { paths },
            TxnOpV1::Create { path, data, acl, owner, parent_cversion } => {
                TxnOp::Create { path, data, acl, owner, parent_cversion }
            }
            TxnOpV1::Delete { path } => TxnOp::Delete { path },
            TxnOpV1::DeleteContainer { path } => TxnOp::DeleteContainer { path },
            TxnOpV1::SetData { path, data, version } => TxnOp::SetData { path, data, version },
            TxnOpV1::SetAcl { path, acl, version } => TxnOp::SetAcl { path, acl, version },
            TxnOpV1::Check { path, version } => TxnOp::Check { path, version },
            TxnOpV1::Multi(ops) => TxnOp::Multi(ops.into_iter().map(TxnOp::from).collect()),
            TxnOpV1::Error(e) => TxnOp::Error(e),
            TxnOpV1::Import(i) => TxnOp::Import(i.into()),
        }
    }
}

impl From<ImportV1> for Import {
    fn from(i: ImportV1) -> Import {
        Import {
            nodes: i
                .nodes
                .into_iter()
                .map(|n| ImportedNode { path: n.path, data: n.data, acl: n.acl, stat: n.stat })
                .collect(),
            deletes: i.deletes,
            sessions: i.sessions,
            closed_sessions: i.closed_sessions,
        }
    }
}

/// Format 1's encoding of an import batch (tests write old requests with it).
#[cfg(test)]
pub(crate) fn import_v1_of(i: &Import) -> ImportV1 {
    let i = i.clone();
    ImportV1 {
        nodes: i
            .nodes
            .into_iter()
            .map(|n| ImportedNodeV1 { path: n.path, data: n.data, acl: n.acl, stat: n.stat })
            .collect(),
        deletes: i.deletes,
        sessions: i.sessions,
        closed_sessions: i.closed_sessions,
    }
}

/// Format 1's encoding of a transaction (tests write old files with it).
#[cfg(test)]
pub(super) fn v1_of(t: &Txn) -> TxnV1 {
    fn op(o: &TxnOp) -> TxnOpV1 {
        match o.clone() {
            TxnOp::CreateSession { timeout_ms } => TxnOpV1::CreateSession { timeout_ms },
            TxnOp::CloseSession { paths } => TxnOpV1::CloseSession { paths },
            TxnOp::Create { path, data, acl, owner, parent_cversion } => {
                TxnOpV1::Create { path, data, acl, owner, parent_cversion }
            }
            TxnOp::Delete { path } => TxnOpV1::Delete { path },
            TxnOp::DeleteContainer { path } => TxnOpV1::DeleteContainer { path },
            TxnOp::SetData { path, data, version } => TxnOpV1::SetData { path, data, version },
            TxnOp::SetAcl { path, acl, version } => TxnOpV1::SetAcl { path, acl, version },
            TxnOp::Check { path, version } => TxnOpV1::Check { path, version },
            TxnOp::Multi(ops) => TxnOpV1::Multi(ops.iter().map(op).collect()),
            TxnOp::Error(e) => TxnOpV1::Error(e),
            TxnOp::Import(i) => TxnOpV1::Import(import_v1_of(&i)),
        }
    }
    TxnV1 { session: t.session, zxid: t.zxid, time: t.time, op: op(&t.op), digest: t.digest }
}
