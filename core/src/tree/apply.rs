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
    /// The digest the transaction expected, when the tree's differs after applying it
    /// (ZooKeeper logs this as a digest mismatch: the replica has diverged).
    pub digest_mismatch: Option<u64>,
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
        let digest_mismatch = txn.digest.filter(|&d| d != self.digest);
        Applied { zxid: txn.zxid, session: txn.session, result, triggers, digest_mismatch }
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
            TxnOp::Import(i) => {
                for p in &i.deletes {
                    self.unimport_node(p);
                }
                // A node whose parent is missing is skipped and the batch goes on (it
                // never stops half-way, as a multi's apply), but the controller hears of
                // it: the first error is the result.
                let mut first = None;
                for n in &i.nodes {
                    if let Err(e) = self.import_node(&n.path, n.data.clone(), &n.acl, n.stat) {
                        first.get_or_insert(e);
                    }
                }
                for s in &i.closed_sessions {
                    self.sessions.remove(s);
                }
                for &(s, t) in &i.sessions {
                    self.sessions.insert(s, t);
                }
                match first {
                    None => Ok(OpResult::Checked),
                    Some(e) => Err(e),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::super::*;
    use crate::ids::Zxid;

    #[test]
    fn sequential_suffix_is_parent_cversion_ten_digits() {
        let mut s = TestServer::new();
        s.create("/p", CreateMode::Persistent).unwrap();
        s.create("/p/x", CreateMode::Persistent).unwrap();
        s.write(A, WriteRequest::Delete { path: "/p/x".into(), version: -1 }).result.unwrap();
        // One create, one delete: the stored cversion (next suffix) is 1, clients see 2.
        assert_eq!(s.stat("/p").cversion, 2);
        match s.create("/p/n-", CreateMode::PersistentSequential).unwrap() {
            OpResult::Created { path, .. } => assert_eq!(path, "/p/n-0000000001"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn child_create_and_delete_move_cversion_and_pzxid_not_mzxid() {
        let mut s = TestServer::new();
        s.create("/p", CreateMode::Persistent).unwrap();
        let before = s.stat("/p");
        s.create("/p/c", CreateMode::Persistent).unwrap();
        let after = s.stat("/p");
        assert_eq!((after.cversion, after.pzxid, after.mzxid, after.version), (1, Zxid(4), before.mzxid, 0));
        s.write(A, WriteRequest::Delete { path: "/p/c".into(), version: -1 }).result.unwrap();
        let after = s.stat("/p");
        assert_eq!((after.cversion, after.pzxid, after.num_children), (2, Zxid(5), 0));
    }

    #[test]
    fn times_come_from_the_transaction() {
        let mut s = TestServer::new();
        s.now = 42;
        s.create("/t", CreateMode::Persistent).unwrap();
        let txn =
            s.prepare(A, &WriteRequest::SetData { path: "/t".into(), data: Default::default(), version: -1 });
        assert_eq!(txn.time, 42);
        let mut late = txn.clone();
        late.time = 99;
        // The leader's digest covered time 42: the replica would see a mismatch.
        assert_eq!(s.tree.clone().apply(&late).digest_mismatch, txn.digest);
        late.digest = None;
        s.commit(&late);
        let st = s.stat("/t");
        assert_eq!((st.ctime, st.mtime), (42, 99));
    }

    #[test]
    fn failed_writes_take_a_zxid_and_change_nothing() {
        let mut s = TestServer::new();
        s.create("/a", CreateMode::Persistent).unwrap();
        let digest = s.tree.digest();
        let r = s.create("/a", CreateMode::Persistent);
        assert_eq!(r.unwrap_err().error, ZkError::NodeExists);
        assert_eq!(s.tree.last_zxid(), Zxid(4));
        assert_eq!(s.tree.digest(), digest);
    }

    #[test]
    fn multi_is_all_or_nothing_with_zookeepers_per_op_results() {
        let mut s = TestServer::new();
        let r = s.write(
            A,
            WriteRequest::Multi(vec![
                MultiOp::Create(Create {
                    path: "/m".into(),
                    data: Default::default(),
                    acl: Acl::open_unsafe(),
                    mode: CreateMode::Persistent,
                    ttl: None,
                }),
                MultiOp::Check { path: "/m".into(), version: 3 },
                MultiOp::Delete { path: "/m".into(), version: -1 },
            ]),
        );
        let f = r.result.unwrap_err();
        assert_eq!(f.error, ZkError::BadVersion);
        let names: Vec<&str> = f.multi.iter().map(|m| m.name()).collect();
        assert_eq!(names, vec!["OK", "BADVERSION", "RUNTIMEINCONSISTENCY"]);
        assert!(s.tree.node("/m").is_none());
        assert!(r.triggers.is_empty());
    }

    #[test]
    fn close_session_deletes_its_ephemerals_only() {
        let mut s = TestServer::new();
        s.create("/p", CreateMode::Persistent).unwrap();
        s.create("/p/e", CreateMode::Ephemeral).unwrap();
        s.write(B, create("/p/f", CreateMode::Ephemeral)).result.unwrap();
        let r = s.write(A, WriteRequest::CloseSession);
        assert_eq!(r.result, Ok(OpResult::SessionClosed));
        assert!(s.tree.node("/p/e").is_none());
        assert!(s.tree.node("/p/f").is_some());
        assert_eq!(s.stat("/p").pzxid, r.zxid);
        assert!(!s.tree.sessions().contains_key(&A));
    }

    #[test]
    fn ephemerals_cannot_have_children() {
        let mut s = TestServer::new();
        s.create("/e", CreateMode::Ephemeral).unwrap();
        assert_eq!(
            s.create("/e/c", CreateMode::Persistent).unwrap_err().error,
            ZkError::NoChildrenForEphemerals
        );
    }

    #[test]
    fn container_and_ttl_owners_are_encoded_and_hidden_from_clients() {
        let mut s = TestServer::new();
        s.create("/c", CreateMode::Container).unwrap();
        s.create("/t", CreateMode::PersistentWithTtl).unwrap();
        assert_eq!(s.tree.node("/c").unwrap().stat.ephemeral_owner, i64::MIN);
        assert_eq!(s.tree.node("/t").unwrap().kind(), NodeKind::Ttl(100));
        assert_eq!(s.stat("/c").ephemeral_owner, 0);
        assert_eq!(s.stat("/t").ephemeral_owner, 0);
    }

    #[test]
    fn an_import_whose_parent_is_missing_reports_it_and_applies_the_rest() {
        use crate::tree::{Import, ImportedNode, StatPersisted, Txn};
        let mut t = DataTree::new();
        let node = |p: &str| ImportedNode {
            path: p.into(),
            data: Default::default(),
            acl: crate::tree::Acl::open_unsafe(),
            stat: StatPersisted::created(Zxid(1), 0, 0),
        };
        let imp = Import { nodes: vec![node("/a"), node("/missing/b"), node("/a/c")], ..Import::default() };
        let txn = Txn { zxid: Zxid(1), session: A, time: 0, digest: None, op: TxnOp::Import(imp) };
        let r = t.apply(&txn);
        assert_eq!(r.result.unwrap_err().error, ZkError::NoNode);
        assert!(t.node("/a/c").is_some() && t.node("/missing/b").is_none());
    }

    #[test]
    fn reserved_nodes_cannot_be_deleted() {
        let mut s = TestServer::new();
        for p in ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"] {
            let r = s.write(A, WriteRequest::Delete { path: p.into(), version: -1 });
            assert_eq!(r.result.unwrap_err().error, ZkError::BadArguments, "{p}");
        }
        let r = s.write(
            A,
            WriteRequest::SetData { path: "/zookeeper/config".into(), data: Default::default(), version: -1 },
        );
        assert_eq!(r.result.unwrap_err().error, ZkError::NoAuth);
    }
}
