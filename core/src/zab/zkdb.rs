//! ZooKeeper's data tree as ZAB's replicated state: [`ZkDatabase`] (ZooKeeper's
//! `ZKDatabase`: the [`DataTree`], plus the leader's [`Preparer`] with its outstanding
//! changes).
//!
//! - **prepare** (leader): [`Preparer::prepare`] against the committed tree and the
//!   changes of the proposals not yet committed. The preparer keeps those changes
//!   itself; ZAB hands the outstanding transactions too, and when there are none the
//!   preparer's record is dropped ([`Preparer::clear`]: a new leadership starts clean).
//! - **apply** (every replica): [`DataTree::apply`], then [`Preparer::committed`]; the
//!   reply is the [`Applied`] outcome (result, watch triggers, digest mismatch).
//! - **snapshot**: [`snapshot::encode`] / [`snapshot::decode`], shared behind an `Arc`.
//! - **digest**: the tree's incremental digest (ZooKeeper's own).
//!
//! Servers facing clients need each applied transaction's watch triggers, on every
//! replica (not only where the request came in): the database keeps the last
//! [`TRIGGERS_KEPT`] of them, with a count of applied transactions as the driver's
//! cursor ([`ZkDatabase::triggers_since`]). They are not part of the replicated state (not in
//! the digest nor the snapshot).

use super::{PrepareContext, Replicated};
use crate::ids::{SessionId, Zxid};
use crate::tree::{
    snapshot, Applied, AuthInfo, DataTree, Origin, Preparer, TreeConfig, Trigger, Txn, WriteRequest,
};
use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

/// How many applied transactions' triggers a database remembers.
pub const TRIGGERS_KEPT: usize = 4096;

/// A client write as the leader receives it: the request, who asks, and the asking
/// connection's authentication (not replicated: it travels with the request, as in
/// ZooKeeper's `Request`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZkRequest {
    /// The asking session (`SessionId(0)`: the server itself).
    pub session: SessionId,
    /// Its authentication.
    pub auth: AuthInfo,
    /// The write.
    pub request: WriteRequest,
}

/// A snapshot of the tree: [`snapshot::encode`]'s bytes, shared.
#[derive(Clone, PartialEq, Eq)]
pub struct ZkSnapshot(pub Arc<Vec<u8>>);

impl fmt::Debug for ZkSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ZkSnapshot({} bytes)", self.0.len())
    }
}

/// The tree a ZAB server replicates (see the [module documentation](self)).
#[derive(Clone, Debug)]
pub struct ZkDatabase {
    tree: DataTree,
    prep: Preparer,
    triggers: VecDeque<(Zxid, Vec<Trigger>)>,
    applied: u64,
}

impl Default for ZkDatabase {
    fn default() -> Self {
        ZkDatabase::from_tree(DataTree::new())
    }
}

impl ZkDatabase {
    /// A database holding `tree` (no outstanding changes).
    pub fn from_tree(tree: DataTree) -> ZkDatabase {
        ZkDatabase { tree, prep: Preparer::new(TreeConfig::default()), triggers: VecDeque::new(), applied: 0 }
    }

    /// The tree.
    pub fn tree(&self) -> &DataTree {
        &self.tree
    }

    /// How many transactions this database has applied since it was made (or
    /// restored): a cursor for [`ZkDatabase::triggers_since`].
    pub fn applied_count(&self) -> u64 {
        self.applied
    }

    /// The watch triggers of the transactions applied since the cursor `count` (an
    /// earlier [`ZkDatabase::applied_count`]), in order, with their zxids; `Err` with
    /// how many were forgotten when the cursor is older than the last
    /// [`TRIGGERS_KEPT`].
    pub fn triggers_since(&self, count: u64) -> Result<impl Iterator<Item = &(Zxid, Vec<Trigger>)>, u64> {
        let first = self.applied - self.triggers.len() as u64;
        if count < first {
            return Err(first - count);
        }
        let skip = usize::try_from(count - first).unwrap_or(usize::MAX);
        Ok(self.triggers.iter().skip(skip))
    }
}

impl Replicated for ZkDatabase {
    type Request = ZkRequest;
    type Txn = Txn;
    type Reply = Applied;
    type Snapshot = ZkSnapshot;

    fn prepare(&mut self, outstanding: &[&Txn], ctx: PrepareContext, request: &ZkRequest) -> Txn {
        if outstanding.is_empty() {
            self.prep.clear();
        }
        // A migration's write fence (crate::migration::fence): NOTREADONLY in its scope.
        if crate::migration::fence::refuses(&self.tree, outstanding, request) {
            let refused = WriteRequest::Invalid(crate::tree::ZkError::NotReadOnly);
            let origin = Origin {
                session: request.session,
                auth: &request.auth,
                zxid: ctx.zxid,
                time: i64::try_from(ctx.time_ms).unwrap_or(i64::MAX),
            };
            return self.prep.prepare(&self.tree, &refused, &origin);
        }
        let origin = Origin {
            session: request.session,
            auth: &request.auth,
            zxid: ctx.zxid,
            time: i64::try_from(ctx.time_ms).unwrap_or(i64::MAX),
        };
        self.prep.prepare(&self.tree, &request.request, &origin)
    }

    fn apply(&mut self, _zxid: Zxid, txn: &Txn) -> Applied {
        let applied = self.tree.apply(txn);
        self.prep.committed(txn.zxid);
        self.applied += 1;
        self.triggers.push_back((txn.zxid, applied.triggers.clone()));
        if self.triggers.len() > TRIGGERS_KEPT {
            self.triggers.pop_front();
        }
        applied
    }

    fn snapshot(&self) -> ZkSnapshot {
        ZkSnapshot(Arc::new(snapshot::encode(&self.tree)))
    }

    fn restore(snap: &ZkSnapshot) -> Self {
        // Snapshots are made by `snapshot` above: one that does not decode is a bug.
        let tree = snapshot::decode(&snap.0).expect("a snapshot zoolab encoded decodes");
        ZkDatabase::from_tree(tree)
    }

    fn digest(&self) -> u64 {
        self.tree.digest()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ServerId;
    use crate::sim::{ClusterSpec, World, WorldConfig};
    use crate::tree::{Acl, Create, CreateMode, OpResult};
    use crate::zab::server::Server;

    fn req(session: i64, request: WriteRequest) -> ZkRequest {
        ZkRequest { session: SessionId(session), auth: AuthInfo::from_ip("10.0.0.9"), request }
    }

    fn create(path: &str, mode: CreateMode) -> WriteRequest {
        WriteRequest::Create(Create {
            path: path.into(),
            data: b"d".to_vec(),
            acl: Acl::open_unsafe(),
            mode,
            ttl: None,
        })
    }

    fn world() -> World<ZkDatabase> {
        let cfg = WorldConfig {
            clusters: vec![ClusterSpec { participants: 3, observers: 0 }],
            ..WorldConfig::default()
        };
        let mut w = World::new(cfg, 7);
        w.run_until(2_000, 100_000);
        assert!(w.leader(0).is_some());
        w
    }

    #[test]
    fn three_servers_commit_tree_writes_with_identical_digests() {
        let mut w = world();
        w.write(ServerId(1), req(5, WriteRequest::CreateSession { timeout_ms: 6_000 }));
        w.run_for(500, 100_000);
        // Pipelined from a follower: the sequential names see each other.
        let ids: Vec<u64> = (0..3)
            .map(|_| w.write(ServerId(1), req(5, create("/q-", CreateMode::EphemeralSequential))))
            .collect();
        w.run_for(1_000, 100_000);
        let names: Vec<String> = ids
            .iter()
            .map(|&id| match w.take_reply(id).map(|a| a.result) {
                Some(Ok(OpResult::Created { path, .. })) => path,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(names, ["/q-0000000000", "/q-0000000001", "/q-0000000002"]);
        let digests: Vec<u64> = w.servers().iter().map(|v| v.digest).collect();
        assert!(digests.iter().all(|&d| d == digests[0]), "{digests:?}");
        let tree = |w: &World<ZkDatabase>, id| {
            w.server(0, ServerId(id)).map(Server::state).unwrap().tree().node_count()
        };
        assert_eq!(tree(&w, 1), tree(&w, 3));
        // closeSession removes the session's ephemerals on every replica.
        w.write(ServerId(2), req(5, WriteRequest::CloseSession));
        w.run_for(1_000, 100_000);
        for id in 1..=3 {
            let db = w.server(0, ServerId(id)).unwrap().state();
            assert!(db.tree().node("/q-0000000000").is_none(), "s{id}");
            assert_eq!(db.digest(), db.tree().recompute_digest());
        }
        assert!(w.violation().is_none());
    }

    #[test]
    fn a_snapshot_restores_the_same_tree() {
        let mut db = ZkDatabase::default();
        let ctx = PrepareContext { zxid: Zxid(1), time_ms: 10 };
        let t = db.prepare(&[], ctx, &req(0, create("/a", CreateMode::Persistent)));
        db.apply(Zxid(1), &t);
        let copy = ZkDatabase::restore(&db.snapshot());
        assert_eq!(copy.digest(), db.digest());
        assert_eq!(copy.tree(), db.tree());
        assert_eq!(db.applied_count(), 1);
        assert_eq!(db.triggers_since(0).unwrap().count(), 1);
    }
}
