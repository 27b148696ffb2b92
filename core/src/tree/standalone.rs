//! A whole standalone ZooKeeper server's state machine (no replication): the tree, the
//! leader's preparer, the watch table and each session's authentication, glued the way
//! every driver needs them. The conformance replay runs on it; the native server in
//! standalone mode and the simulator's single-server worlds can too. A replicated
//! server uses the same parts, with ZAB between [`Preparer::prepare`] and
//! [`DataTree::apply`].

use super::acl::AuthInfo;
use super::apply::Applied;
use super::datatree::DataTree;
use super::error::ZkError;
use super::prepare::{Origin, Preparer, TreeConfig};
use super::read::{ReadResponse, SetWatches};
use super::request::{ReadRequest, WriteRequest};
use super::txn::Txn;
use super::watch::{WatchManager, WatchedEvent};
use crate::ids::{SessionId, Zxid};
use crate::vecmap::VecMap;

/// What one write did: the reply for the asking session and the watch events for
/// every session (deliver them before any later reply to that session).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The transaction (a durable server logs it before answering).
    pub txn: Txn,
    /// The applied transaction's outcome.
    pub applied: Applied,
    /// Watch notifications, in order.
    pub events: Vec<WatchedEvent>,
}

/// A standalone server.
#[derive(Clone, Debug)]
pub struct Standalone {
    tree: DataTree,
    prep: Preparer,
    watches: WatchManager,
    auth: VecMap<SessionId, AuthInfo>,
    zxid: Zxid,
}

impl Standalone {
    /// A fresh server.
    pub fn new(config: TreeConfig) -> Standalone {
        Standalone {
            tree: DataTree::new(),
            prep: Preparer::new(config),
            watches: WatchManager::new(),
            auth: VecMap::new(),
            zxid: Zxid::ZERO,
        }
    }

    /// A server restored from a tree (e.g. a snapshot); zxids continue after its last.
    pub fn from_tree(config: TreeConfig, tree: DataTree) -> Standalone {
        let zxid = tree.last_zxid();
        Standalone {
            tree,
            prep: Preparer::new(config),
            watches: WatchManager::new(),
            auth: VecMap::new(),
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

    /// The settings.
    pub fn config(&self) -> &TreeConfig {
        self.prep.config()
    }

    /// A session's authentication (`None` if unknown here).
    pub fn auth(&self, session: SessionId) -> Option<&AuthInfo> {
        self.auth.get(&session)
    }

    /// A new session from `ip` with a negotiated timeout: a createSession transaction.
    pub fn connect(&mut self, session: SessionId, ip: &str, timeout_ms: i32, now: i64) -> Reply {
        self.auth.insert(session, AuthInfo::from_ip(ip));
        self.write(session, &WriteRequest::CreateSession { timeout_ms }, now)
            .expect("createSession always fits")
    }

    /// A session known from a recovered tree, reconnecting after a restart: its
    /// authentication starts from its address.
    pub fn adopt(&mut self, session: SessionId, ip: &str) {
        self.auth.entry(session).or_insert_with(|| AuthInfo::from_ip(ip));
    }

    /// `addAuth` for a session (`AUTHFAILED` for an unknown scheme: the server then drops
    /// the connection).
    pub fn add_auth(&mut self, session: SessionId, scheme: &str, auth: &[u8]) -> Result<(), ZkError> {
        let super_digest = self.prep.config().super_digest.clone();
        self.auth.entry(session).or_default().add(scheme, auth, super_digest.as_deref())
    }

    /// A write: refused with `CONNECTIONLOSS` (no zxid taken) if over `jute.maxbuffer`;
    /// otherwise prepared, applied and committed under the next zxid at time `now`.
    pub fn write(&mut self, session: SessionId, req: &WriteRequest, now: i64) -> Result<Reply, ZkError> {
        self.prep.config().check_size(req)?;
        self.zxid = Zxid(self.zxid.0 + 1);
        let auth = self.auth.get(&session).cloned().unwrap_or_default();
        let origin = Origin { session, auth: &auth, zxid: self.zxid, time: now };
        let txn = self.prep.prepare(&self.tree, req, &origin);
        let applied = self.tree.apply(&txn);
        self.prep.committed(txn.zxid);
        let known = &self.auth;
        let events = self.watches.trigger(&applied.triggers, |w| known.get(&w));
        Ok(Reply { txn, applied, events })
    }

    /// Closes a session: a closeSession transaction; its watches and auth go.
    pub fn close(&mut self, session: SessionId, now: i64) -> Reply {
        let reply = self.write(session, &WriteRequest::CloseSession, now).expect("closeSession always fits");
        self.watches.remove_watcher(session);
        self.auth.remove(&session);
        reply
    }

    /// A read for a session.
    pub fn read(&mut self, session: SessionId, req: &ReadRequest) -> Result<ReadResponse, ZkError> {
        let auth = self.auth.get(&session).cloned().unwrap_or_default();
        self.tree.read(&mut self.watches, session, &auth, req)
    }

    /// A reconnecting session's watches.
    pub fn set_watches(&mut self, session: SessionId, req: &SetWatches) -> Vec<WatchedEvent> {
        self.tree.set_watches(&mut self.watches, session, req)
    }

    /// The container manager's check at `now`: every deletion it proposes, applied.
    pub fn check_containers(&mut self, now: i64, max_never_used_ms: i64) -> Vec<Reply> {
        let reqs = self.tree.cleanup_requests(now, max_never_used_ms);
        reqs.iter().filter_map(|r| self.write(SessionId(0), r, now).ok()).collect()
    }
}
