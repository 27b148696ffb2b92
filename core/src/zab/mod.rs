//! ZAB, ZooKeeper's replication protocol, as a sans-IO state machine.
//!
//! The protocol follows Apache ZooKeeper's implementation rather than a textbook
//! rendering: Fast Leader Election (`election`), then discovery (FOLLOWERINFO /
//! LEADERINFO / ACKEPOCH), synchronization (DIFF / TRUNC / SNAP chosen as ZooKeeper's
//! `LearnerHandler.syncFollower` chooses, then NEWLEADER / ACK / UPTODATE) and broadcast
//! (PROPOSAL / ACK / COMMIT, INFORM to observers), all in [`server::Server`].
//!
//! ZAB replicates an abstract state machine, the [`Replicated`] trait: the leader
//! *prepares* a client request into a transaction against its committed state plus its
//! outstanding proposals; every replica *applies* transactions in zxid order. The data
//! tree implements it for real; [`registers::Registers`] is a small one for tests.
//!
//! A driver (the simulator, the native server) owns the clock, the network and the
//! disk. It feeds a [`server::Server`] with [`server::Input`]s and carries out the
//! [`server::Output`]s it returns, in order: persist records, send messages, set
//! timers, answer clients. Records are durable only once the driver acknowledges them
//! with [`server::Input::Persisted`]; the server holds back every message whose promise
//! depends on them (an ACK of a proposal, an ACKEPOCH, the ACK of NEWLEADER).

pub mod election;
pub mod log;
pub mod message;
pub mod quorum;
pub mod registers;
pub mod server;
pub mod sync;
pub mod zkdb;

use crate::config::QuorumConfig;
use crate::ids::{ServerId, Zxid};
use crate::vecmap::VecSet;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;
use std::hash::Hash;

/// What the leader knows when it prepares a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrepareContext<'a> {
    /// The zxid the transaction will carry.
    pub zxid: Zxid,
    /// The leader's clock, in milliseconds (ZooKeeper stamps transactions with it;
    /// appliers never read their own clock).
    pub time_ms: u64,
    /// The leader and the followers it has synced and forwards proposals to
    /// (ZooKeeper's `isQuorumSynced`: a reconfiguration is refused when the new
    /// configuration's voters among them are not a quorum).
    pub synced: &'a VecSet<ServerId>,
    /// The server the request came in through (ZooKeeper's `Request.owner`: the
    /// leader itself, or the learner that forwarded it). A state may refuse a
    /// session's request from a server that no longer owns the session.
    pub origin: ServerId,
}

impl PrepareContext<'static> {
    /// A context with no synced learners and no origin server (tests and
    /// single-replica uses).
    pub fn alone(zxid: Zxid, time_ms: u64) -> PrepareContext<'static> {
        static NONE: VecSet<ServerId> = VecSet::new();
        PrepareContext { zxid, time_ms, synced: &NONE, origin: ServerId(0) }
    }
}

/// A deterministic state machine that ZAB replicates.
///
/// `Default` is the empty state (before any transaction).
pub trait Replicated: Clone + Debug + Default + 'static {
    /// What a client asks for.
    type Request: Clone + Debug;
    /// A transaction: a request with every decision taken by the leader.
    type Txn: Clone + Debug + Hash + Eq;
    /// What applying a transaction answers to the client that asked for it.
    type Reply: Clone + Debug;
    /// A full copy of the state, as sent by SNAP and written as a snapshot.
    type Snapshot: Clone + Debug;

    /// Turns a request into a transaction, on the leader, against the committed state
    /// (`self`) followed by the outstanding proposals (`outstanding`, in zxid order).
    ///
    /// `&mut self`: a state may keep its own record of what it prepared (the data
    /// tree's `Preparer` keeps ZooKeeper's `outstandingChanges`), forgotten as
    /// transactions apply; when `outstanding` is empty nothing it prepared is pending.
    fn prepare(
        &mut self,
        outstanding: &[&Self::Txn],
        ctx: PrepareContext<'_>,
        request: &Self::Request,
    ) -> Self::Txn;
    /// Applies a transaction; every replica does, in zxid order.
    fn apply(&mut self, zxid: Zxid, txn: &Self::Txn) -> Self::Reply;
    /// A copy of the whole state.
    fn snapshot(&self) -> Self::Snapshot;
    /// The state a snapshot holds.
    fn restore(snapshot: &Self::Snapshot) -> Self;
    /// A digest of the state: equal states have equal digests (cheap: it is taken
    /// after every transaction, as ZooKeeper's incremental digest is).
    fn digest(&self) -> u64;

    /// The membership this state records (ZooKeeper's `/zookeeper/config`), if it
    /// records one. States that know nothing of configurations keep the default.
    fn membership(&self) -> Option<QuorumConfig> {
        None
    }
    /// Records the static membership a server starts with, in a state that records
    /// none yet (ZooKeeper's `initConfigInZKDatabase`; not a transaction).
    fn init_membership(&mut self, _config: &QuorumConfig) {}
    /// The membership a transaction installs when it is a reconfiguration (its
    /// version is the transaction's zxid).
    fn membership_of(_txn: &Self::Txn) -> Option<QuorumConfig> {
        None
    }
}

/// Deliberately broken behaviours, to prove that the checks can fail.
///
/// All off by default. They are compiled in always (not behind `cfg(test)`) so that the
/// fault sweep, the browser and exercises can switch them on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bugs {
    /// The leader commits a proposal as soon as it has logged it itself, without
    /// waiting for a quorum of ACKs.
    pub commit_without_quorum: bool,
    /// The leader sends a DIFF where it should send TRUNC, so a follower keeps
    /// proposals the new leader never committed.
    pub skip_trunc: bool,
    /// Fast Leader Election orders votes by server id alone, ignoring epochs and zxids.
    pub elect_by_id: bool,
    /// A pending reconfiguration is ignored until it commits: quorums stay those of
    /// the old configuration alone instead of joint (old and new).
    #[serde(default)]
    pub skip_joint_quorum: bool,
}

/// Timing and sizing of one server, in ZooKeeper's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerConfig {
    /// `tickTime`: the length of a tick in milliseconds.
    pub tick_ms: u64,
    /// `initLimit`: ticks a leader and its learners may take to connect and sync.
    pub init_limit: u64,
    /// `syncLimit`: ticks a learner may stay silent before its leader drops it, and
    /// that a learner waits for its leader before it returns to LOOKING.
    pub sync_limit: u64,
    /// `finalizeWait`: how long an election waits for a better vote once a quorum
    /// agrees (ZooKeeper: 200 ms).
    pub finalize_wait_ms: u64,
    /// The longest wait between rounds of notifications while LOOKING (ZooKeeper's
    /// `maxNotificationInterval`, 60 s; the doubling starts at `finalize_wait_ms`).
    pub max_notification_interval_ms: u64,
    /// `commitLogCount`: how many committed proposals the leader keeps in memory to
    /// sync learners with DIFF.
    pub commit_log_count: usize,
    /// Whether the leader may read older proposals from its txn log to send a DIFF
    /// (ZooKeeper: `txnLogSyncEnabled`, on when `snapSizeLimitInKb` > 0).
    pub txn_log_sync: bool,
    /// `snapCount`: a snapshot is taken after this many applied transactions, and
    /// the txn log before it is purged.
    pub snap_count: u64,
    /// Bound on outstanding (proposed, uncommitted) proposals; further client
    /// requests are refused.
    pub max_outstanding: usize,
    /// Deliberately broken behaviours (all off by default).
    pub bugs: Bugs,
    /// Whether [`server::Output::Committed`] carries the transaction's fingerprint
    /// (FNV-1a of all of it, its data included). The simulator's traces and checks use
    /// it; a driver that ignores it (the native server) turns it off and gets 0.
    #[serde(default = "yes")]
    pub txn_fingerprints: bool,
}

fn yes() -> bool {
    true
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            tick_ms: 100,
            init_limit: 10,
            sync_limit: 5,
            finalize_wait_ms: 200,
            max_notification_interval_ms: 6_400,
            commit_log_count: 500,
            txn_log_sync: true,
            snap_count: 10_000,
            max_outstanding: 1_000,
            bugs: Bugs::default(),
            txn_fingerprints: true,
        }
    }
}

/// FNV-1a, 64 bits: the fixed hash zoolab uses wherever a hash must be the same on
/// every platform and in every run (trace hashes, transaction fingerprints, digests).
#[derive(Clone, Copy, Debug)]
pub struct Fnv64(pub u64);

impl Fnv64 {
    /// The FNV-1a 64-bit offset basis.
    pub const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    /// The FNV-1a 64-bit prime.
    pub const PRIME: u64 = 0x0000_0100_0000_01b3;

    /// A fresh hasher.
    pub fn new() -> Fnv64 {
        Fnv64(Self::OFFSET)
    }

    /// Hashes one value with `Hash` (integers are fed little-endian by `std`, the
    /// same on every target this project builds for).
    pub fn of<T: Hash + ?Sized>(value: &T) -> u64 {
        let mut h = Fnv64::new();
        value.hash(&mut h);
        std::hash::Hasher::finish(&h)
    }
}

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64::new()
    }
}

impl std::hash::Hasher for Fnv64 {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }
}

impl std::fmt::Write for Fnv64 {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        std::hash::Hasher::write(self, s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        let mut h = Fnv64::new();
        std::hash::Hasher::write(&mut h, b"");
        assert_eq!(std::hash::Hasher::finish(&h), 0xcbf29ce484222325);
        let mut h = Fnv64::new();
        std::hash::Hasher::write(&mut h, b"a");
        assert_eq!(std::hash::Hasher::finish(&h), 0xaf63dc4c8601ec8c);
        let mut h = Fnv64::new();
        std::hash::Hasher::write(&mut h, b"foobar");
        assert_eq!(std::hash::Hasher::finish(&h), 0x85944171f73967e8);
    }
}
