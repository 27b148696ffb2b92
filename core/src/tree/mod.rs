//! ZooKeeper's data tree, with Apache ZooKeeper 3.8's exact semantics.
//!
//! # Who uses what
//! - **The ZAB leader** turns each client [`WriteRequest`] into a [`Txn`] with a
//!   [`Preparer`] (which remembers the proposals not yet committed, so pipelined
//!   requests see each other), proposes it, and on commit applies it like every replica
//!   and calls [`Preparer::committed`]. Requests over `jute.maxbuffer` are refused first
//!   with [`TreeConfig::check_size`].
//! - **Every replica** applies committed transactions in zxid order with
//!   [`DataTree::apply`], which returns the reply and the [`Trigger`]s for watches, and
//!   can be compared with its peers by [`DataTree::digest`] (ZooKeeper's own digest, so
//!   comparable with a real server's). Each transaction carries the digest the leader
//!   expects after it (ZooKeeper's `TxnDigest`); [`Applied::digest_mismatch`] reports a
//!   replica that diverged. [`snapshot::encode`] / [`snapshot::decode`] give
//!   SNAP sync and crash recovery.
//! - **Servers facing clients** (simulated or TCP) keep one [`WatchManager`] and one
//!   [`AuthInfo`] per session; they answer reads with [`DataTree::read`] and feed each
//!   applied transaction's triggers to [`WatchManager::trigger`], delivering the events
//!   *before* any later response. They find container and TTL deletions to propose with
//!   [`DataTree::cleanup_requests`] on their ticks.
//! - **The native server** decodes packets with `crate::jute` and maps them with
//!   [`wire::from_wire`] (ZooKeeper's decoding rules: which opcode carries a TTL, how
//!   a multi reads its creates, which malformed requests still take a zxid); a
//!   standalone server can run entirely on [`Standalone`].
//! - **Migration** walks [`DataTree::nodes`], snapshots at a zxid, and imports with
//!   [`DataTree::import_node`] keeping exact stats, cversions and node types. A real
//!   ZooKeeper's data directory comes in through [`crate::zkdata::load`] (its snapshot
//!   imported node by node, its logs applied with [`DataTree::apply`]).
//!
//! # Example: a leader and a follower
//! ```
//! use zoolab_core::ids::{SessionId, Zxid};
//! use zoolab_core::tree::*;
//!
//! let mut leader = DataTree::new();
//! let mut follower = DataTree::new();
//! let mut prep = Preparer::new(TreeConfig::default());
//! let alice = SessionId(0x100);
//! let auth = AuthInfo::from_ip("10.0.0.7");
//! let requests = [
//!     WriteRequest::CreateSession { timeout_ms: 10_000 },
//!     WriteRequest::Create(Create {
//!         path: "/jobs-".into(),
//!         data: b"first".into(),
//!         acl: Acl::open_unsafe(),
//!         mode: CreateMode::PersistentSequential,
//!         ttl: None,
//!     }),
//! ];
//! // The leader prepares each request with the next zxid and its clock (pipelined: the
//! // second is prepared before the first commits), then proposes the transactions.
//! let txns: Vec<Txn> = requests
//!     .iter()
//!     .enumerate()
//!     .map(|(i, req)| {
//!         let origin = Origin { session: alice, auth: &auth, zxid: Zxid(i as u64 + 1), time: 1_700_000_000_000 };
//!         prep.prepare(&leader, req, &origin)
//!     })
//!     .collect();
//! // On commit, every replica applies them in zxid order; the leader also forgets its
//! // outstanding changes.
//! let mut watches = WatchManager::new();
//! for txn in &txns {
//!     let applied = leader.apply(txn);
//!     prep.committed(txn.zxid);
//!     follower.apply(txn);
//!     // A server facing clients turns triggers into events (before its next replies).
//!     let _events = watches.trigger(&applied.triggers, |_| Some(&auth));
//!     assert_eq!(leader.digest(), follower.digest());
//! }
//! assert!(leader.node("/jobs-0000000000").is_some());
//! // SNAP sync: ship the snapshot; it restores the identical tree.
//! let copy = snapshot::decode(&snapshot::encode(&leader)).unwrap();
//! assert_eq!(copy, follower);
//! ```
//!
//! # Checked against the real thing
//! `core/tests/conformance.rs` replays every recorded case of `tests/conformance` (kazoo
//! against Apache ZooKeeper 3.8.0) and must match exactly; `core/tests/digest.rs`
//! compares the digest with a real server's `hash`; the Java hash-set orders ZooKeeper
//! lets show (children lists, closeSession's deletions, `auth` expansion, cleanup
//! order) are pinned by tests with orders a real server produced.
//!
//! # Known differences from ZooKeeper
//! - Quotas are tracked (`zookeeper_stats` follows the subtree, see [`quota`]) but, as
//!   by ZooKeeper's default, not enforced; there is no `zookeeper.enforceQuota` switch.
//! - Snapshots are exact, so ZooKeeper's fuzzy-snapshot repairs on replay (raising a
//!   parent's cversion on `NODEEXISTS`) are not needed and not implemented.
//! - Hash-set orders are emulated from the creation order and the current sizes; after
//!   many deletions (Java sets never shrink) or a restart ZooKeeper's may differ.
//! - Schemes: world, auth, digest, ip (IPv4, as ZooKeeper 3.8) and the super digest; no
//!   SASL, x509 or custom providers. TTL owner encodings are always recognised.
//! - Session expiry, local sessions and session ownership are the driver's business:
//!   the tree knows live sessions only through createSession/closeSession transactions.
//! - [`DataTree::cleanup_requests`] returns every candidate at once; ZooKeeper's
//!   `ContainerManager` also spaces its deletions (`znode.container.maxPerMinute`, 10000
//!   by default): a driver that cares can propose them over time.
//! - Not provided: standalone `check` (ZooKeeper 3.8.0 takes a zxid for it and then
//!   never answers), SASL.
//!
//! # Determinism
//! Everything is kept in `BTreeMap`/`BTreeSet`; no clock is read (times come in the
//! transaction); the same transactions give the same tree, digest and snapshot bytes.

pub mod acl;
pub mod apply;
pub mod data;
pub mod datatree;
pub mod digest;
pub mod error;
pub mod expiry;
mod java;
pub mod node;
mod nodemap;
pub mod path;
pub mod prepare;
pub mod quota;
pub mod read;
pub mod request;
pub mod snapshot;
pub mod standalone;
pub mod stat;
pub mod txn;
pub mod watch;
pub mod wire;

pub use acl::{Acl, AuthInfo, Id, Perms};
pub use apply::Applied;
pub use data::Data;
pub use datatree::DataTree;
pub use error::ZkError;
pub use node::{Node, NodeKind};
pub use nodemap::ChildSet;
pub use prepare::{Origin, Preparer, TreeConfig};
pub use read::{ReadResponse, SetWatches};
pub use request::{Create, CreateMode, ImportGuard, MultiOp, ReadRequest, WriteRequest};
pub use standalone::{Reply, Standalone};
pub use stat::{Stat, StatPersisted};
pub use txn::{Failure, Import, ImportedNode, MultiError, OpResult, Txn, TxnOp};
pub use watch::{EventType, Trigger, TriggerKind, WatchManager, WatchMode, WatchedEvent, WatcherType};

#[cfg(test)]
pub(crate) mod testkit {
    //! A standalone server in a few lines, for the unit tests.
    use super::*;
    use crate::ids::{SessionId, Zxid};

    pub(crate) const A: SessionId = SessionId(0x100);
    pub(crate) const B: SessionId = SessionId(0x101);

    pub(crate) struct TestServer {
        pub(crate) tree: DataTree,
        pub(crate) prep: Preparer,
        pub(crate) watches: WatchManager,
        pub(crate) auth: AuthInfo,
        pub(crate) zxid: u64,
        pub(crate) now: i64,
    }

    impl TestServer {
        /// A server with sessions A and B (zxids 1 and 2).
        pub(crate) fn new() -> TestServer {
            let mut s = TestServer {
                tree: DataTree::new(),
                prep: Preparer::new(TreeConfig::default()),
                watches: WatchManager::new(),
                auth: AuthInfo::from_ip("127.0.0.1"),
                zxid: 0,
                now: 1000,
            };
            s.write(A, WriteRequest::CreateSession { timeout_ms: 10000 }).result.unwrap();
            s.write(B, WriteRequest::CreateSession { timeout_ms: 10000 }).result.unwrap();
            s
        }

        pub(crate) fn prepare(&mut self, session: SessionId, req: &WriteRequest) -> Txn {
            self.zxid += 1;
            let origin = Origin { session, auth: &self.auth, zxid: Zxid(self.zxid), time: self.now };
            self.prep.prepare(&self.tree, req, &origin)
        }

        pub(crate) fn commit(&mut self, txn: &Txn) -> (Applied, Vec<WatchedEvent>) {
            let applied = self.tree.apply(txn);
            assert_eq!(applied.digest_mismatch, None, "precalculated digest of {txn:?}");
            self.prep.committed(txn.zxid);
            let events = self.watches.trigger(&applied.triggers, |_| Some(&self.auth));
            (applied, events)
        }

        pub(crate) fn write(&mut self, session: SessionId, req: WriteRequest) -> Applied {
            let txn = self.prepare(session, &req);
            self.commit(&txn).0
        }

        pub(crate) fn create(&mut self, path: &str, mode: CreateMode) -> Result<OpResult, Failure> {
            self.write(A, create(path, mode)).result
        }

        pub(crate) fn stat(&self, path: &str) -> Stat {
            self.tree.node(path).unwrap().client_stat()
        }
    }

    pub(crate) fn create(path: &str, mode: CreateMode) -> WriteRequest {
        WriteRequest::Create(Create {
            path: path.into(),
            data: b"d".into(),
            acl: Acl::open_unsafe(),
            mode,
            ttl: if mode.is_ttl() { Some(100) } else { None },
        })
    }
}
