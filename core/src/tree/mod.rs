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
//!   comparable with a real server's). [`snapshot::encode`] / [`snapshot::decode`] give
//!   SNAP sync and crash recovery.
//! - **Servers facing clients** (simulated or TCP) keep one [`WatchManager`] and one
//!   [`AuthInfo`] per session; they answer reads with [`DataTree::read`] and feed each
//!   applied transaction's triggers to [`WatchManager::trigger`], delivering the events
//!   *before* any later response. They find container and TTL deletions to propose with
//!   [`DataTree::cleanup_requests`] on their ticks.
//! - **Migration** walks [`DataTree::nodes`], snapshots at a zxid, and imports with
//!   [`DataTree::import_node`] keeping exact stats, cversions and node types.
//!
//! # Determinism
//! Everything is kept in `BTreeMap`/`BTreeSet`; no clock is read (times come in the
//! transaction); the same transactions give the same tree, digest and snapshot bytes.

pub mod acl;
pub mod apply;
pub mod datatree;
pub mod digest;
pub mod error;
pub mod expiry;
pub mod node;
pub mod path;
pub mod prepare;
pub mod read;
pub mod request;
pub mod snapshot;
pub mod stat;
pub mod txn;
pub mod watch;

pub use acl::{Acl, AuthInfo, Id, Perms};
pub use apply::Applied;
pub use datatree::DataTree;
pub use error::ZkError;
pub use node::{Node, NodeKind};
pub use prepare::{Origin, Preparer, TreeConfig};
pub use read::ReadResponse;
pub use request::{Create, CreateMode, MultiOp, ReadRequest, WriteRequest};
pub use stat::{Stat, StatPersisted};
pub use txn::{Failure, MultiError, OpResult, Txn, TxnOp};
pub use watch::{EventType, Trigger, WatchManager, WatchMode, WatchedEvent, WatcherType};
