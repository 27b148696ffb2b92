//! Applying a committed transaction: what every replica does, deterministically
//! (ZooKeeper's `DataTree.processTxn`). It never reads a clock: times come from the
//! transaction.

use super::datatree::DataTree;
use super::error::ZkError;
use super::txn::{Failure, MultiError, OpResult, Txn, TxnOp};
use super::watch::Trigger;
use crate::ids::{SessionId, Zxid};

/// The outcome of applying one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The transaction's zxid.
    pub zxid: Zxid,
    /// The session that asked (the driver routes the reply there).
    pub session: SessionId,
    /// The reply.
    pub result: Result<OpResult, Failure>,
    /// What changed, in order, for the server's [`super::watch::WatchManager`].
    pub triggers: Vec<Trigger>,
}

impl DataTree {
    /// Applies a committed transaction. Transactions must come in zxid order; the tree's
    /// last zxid becomes this one's.
    pub fn apply(&mut self, txn: &Txn) -> Applied {
        let mut triggers = Vec::new();
        let result = match &txn.op {
            TxnOp::Multi(ops) => self.apply_multi(txn, ops, &mut triggers),
            op => self.apply_one(txn, op, &mut triggers).map_err(Failure::from),
        };
        if txn.zxid > self.last_zxid {
            self.last_zxid = txn.zxid;
        }
        Applied { zxid: txn.zxid, session: txn.session, result, triggers }
    }

    fn apply_multi(
        &mut self,
        txn: &Txn,
        ops: &[TxnOp],
        triggers: &mut Vec<Trigger>,
    ) -> Result<OpResult, Failure> {
        if ops.iter().any(|op| matches!(op, TxnOp::Error(_))) {
            let mut failed = false;
            let mut first = None;
            let multi = ops
                .iter()
                .map(|op| match op {
                    TxnOp::Error(e) => {
                        failed = true;
                        first.get_or_insert(*e);
                        MultiError::Failed(*e)
                    }
                    _ if failed => MultiError::Failed(ZkError::RuntimeInconsistency),
                    _ => MultiError::RolledBack,
                })
                .collect();
            let error = first.expect("a multi with an error op");
            return Err(Failure { error, multi });
        }
        // All ops were accepted by the leader; apply them in order. Should one still
        // fail here, ZooKeeper goes on with the rest and reports the first error.
        let mut results = Vec::new();
        let mut errors = Vec::new();
        let mut first = None;
        for op in ops {
            match self.apply_one(txn, op, triggers) {
                Ok(r) => {
                    results.push(r);
                    errors.push(MultiError::RolledBack);
                }
                Err(e) => {
                    first.get_or_insert(e);
                    errors.push(MultiError::Failed(e));
                }
            }
        }
        match first {
            None => Ok(OpResult::Multi(results)),
            Some(error) => Err(Failure { error, multi: errors }),
        }
    }

    fn apply_one(&mut self, txn: &Txn, op: &TxnOp, triggers: &mut Vec<Trigger>) -> Result<OpResult, ZkError> {
        match op {
            TxnOp::CreateSession { timeout_ms } => {
                self.sessions.insert(txn.session, *timeout_ms);
                Ok(OpResult::SessionCreated)
            }
            TxnOp::CloseSession { paths } => {
                for p in paths {
                    // Already gone: ZooKeeper logs and goes on.
                    let _ = self.delete_node(p, txn.zxid, triggers);
                }
                let rest: Vec<String> = self.ephemerals_of(txn.session).map(str::to_owned).collect();
                for p in rest {
                    let _ = self.delete_node(&p, txn.zxid, triggers);
                }
                self.sessions.remove(&txn.session);
                Ok(OpResult::SessionClosed)
            }
            TxnOp::Create { path, data, acl, owner, parent_cversion } => {
                let stat = self.create_node(
                    path,
                    data,
                    acl,
                    *owner,
                    *parent_cversion,
                    txn.zxid,
                    txn.time,
                    triggers,
                )?;
                Ok(OpResult::Created { path: path.clone(), stat })
            }
            TxnOp::Delete { path } | TxnOp::DeleteContainer { path } => {
                self.delete_node(path, txn.zxid, triggers)?;
                Ok(OpResult::Deleted)
            }
            TxnOp::SetData { path, data, version } => {
                Ok(OpResult::DataSet(self.set_data(path, data, *version, txn.zxid, txn.time, triggers)?))
            }
            TxnOp::SetAcl { path, acl, version } => Ok(OpResult::AclSet(self.set_acl(path, acl, *version)?)),
            TxnOp::Check { .. } => Ok(OpResult::Checked),
            TxnOp::Multi(_) => Err(ZkError::MarshallingError),
            TxnOp::Error(e) => Err(*e),
        }
    }
}
