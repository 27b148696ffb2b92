//! The standalone state machine, as [`zoolab_core::tree::Standalone`] glues it (same
//! parts, same order: size check, prepare, apply, committed, trigger), but handing each
//! transaction back so the driver can log it before answering, and starting from a
//! recovered tree. The protocol itself (preparing, applying, reading, watches, ACLs) is
//! the core's; the conformance cases over TCP check this glue against ZooKeeper.

use std::collections::BTreeMap;
use zoolab_core::ids::{SessionId, Zxid};
use zoolab_core::tree::{
    AuthInfo, DataTree, Origin, Preparer, ReadRequest, ReadResponse, Reply, SetWatches, TreeConfig, Txn,
    WatchManager, WatchedEvent, WriteRequest, ZkError,
};

/// A standalone server's state.
pub struct Machine {
    tree: DataTree,
    prep: Preparer,
    watches: WatchManager,
    auth: BTreeMap<SessionId, AuthInfo>,
    zxid: Zxid,
}

impl Machine {
    /// A server over `tree` (fresh or recovered); zxids continue after its last.
    pub fn new(config: TreeConfig, tree: DataTree) -> Machine {
        let zxid = tree.last_zxid();
        Machine {
            tree,
            prep: Preparer::new(config),
            watches: WatchManager::new(),
            auth: BTreeMap::new(),
            zxid,
        }
    }

    /// The tree.
    pub fn tree(&self) -> &DataTree {
        &self.tree
    }

    /// The watch table.
    pub fn watches(&self) -> &WatchManager {
        &self.watches
    }

    /// A new session from `ip`: a createSession transaction.
    pub fn connect(&mut self, session: SessionId, ip: &str, timeout_ms: i32, now: i64) -> (Reply, Txn) {
        self.auth.insert(session, AuthInfo::from_ip(ip));
        self.write(session, &WriteRequest::CreateSession { timeout_ms }, now)
            .expect("createSession always fits")
    }

    /// A session known from the recovered tree, reconnecting after a restart.
    pub fn adopt(&mut self, session: SessionId, ip: &str) {
        self.auth.entry(session).or_insert_with(|| AuthInfo::from_ip(ip));
    }

    /// `addAuth`.
    pub fn add_auth(&mut self, session: SessionId, scheme: &str, auth: &[u8]) -> Result<(), ZkError> {
        let super_digest = self.prep.config().super_digest.clone();
        self.auth.entry(session).or_default().add(scheme, auth, super_digest.as_deref())
    }

    /// A write: `CONNECTIONLOSS` (no zxid taken) over `jute.maxbuffer`; otherwise its
    /// reply and the transaction to log.
    pub fn write(
        &mut self,
        session: SessionId,
        req: &WriteRequest,
        now: i64,
    ) -> Result<(Reply, Txn), ZkError> {
        self.prep.config().check_size(req)?;
        self.zxid = Zxid(self.zxid.0 + 1);
        let auth = self.auth.get(&session).cloned().unwrap_or_default();
        let origin = Origin { session, auth: &auth, zxid: self.zxid, time: now };
        let txn = self.prep.prepare(&self.tree, req, &origin);
        let applied = self.tree.apply(&txn);
        self.prep.committed(txn.zxid);
        let known = &self.auth;
        let events = self.watches.trigger(&applied.triggers, |w| known.get(&w));
        Ok((Reply { applied, events }, txn))
    }

    /// Closes a session: a closeSession transaction; its watches and auth go.
    pub fn close(&mut self, session: SessionId, now: i64) -> (Reply, Txn) {
        let out = self.write(session, &WriteRequest::CloseSession, now).expect("closeSession always fits");
        self.watches.remove_watcher(session);
        self.auth.remove(&session);
        out
    }

    /// A read.
    pub fn read(&mut self, session: SessionId, req: &ReadRequest) -> Result<ReadResponse, ZkError> {
        let auth = self.auth.get(&session).cloned().unwrap_or_default();
        self.tree.read(&mut self.watches, session, &auth, req)
    }

    /// setWatches.
    pub fn set_watches(&mut self, session: SessionId, req: &SetWatches) -> Vec<WatchedEvent> {
        self.tree.set_watches(&mut self.watches, session, req)
    }

    /// The container manager's pass: each deletion it proposes, applied.
    pub fn check_containers(&mut self, now: i64, max_never_used_ms: i64) -> Vec<(Reply, Txn)> {
        let reqs = self.tree.cleanup_requests(now, max_never_used_ms);
        reqs.iter().filter_map(|r| self.write(SessionId(0), r, now).ok()).collect()
    }
}
