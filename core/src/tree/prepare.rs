//! The leader's half: turning a client request into a transaction (ZooKeeper's
//! `PrepRequestProcessor`), against the committed tree **plus** the changes already
//! proposed but not yet committed (its `outstandingChanges`), so that pipelined
//! proposals see one another: a second create of the same path gets `NODEEXISTS`,
//! sequential suffixes advance, a delete after a create succeeds.
//!
//! Every check happens here, in ZooKeeper's order (it decides which error a request
//! gets when several apply); a request that fails still becomes a transaction
//! ([`TxnOp::Error`]) and takes a zxid, as in ZooKeeper.
//!
//! Use: for each request, `prepare` with the next zxid and the leader's clock; propose
//! the transaction; when a zxid commits, apply it to the tree and call
//! [`Preparer::committed`]. On losing leadership, [`Preparer::clear`].

use super::acl::{self, Acl, AuthInfo, Perms};
use super::datatree::DataTree;
use super::digest;
use super::error::ZkError;
use super::node::{NodeKind, MAX_TTL_MS};
use super::path;
use super::request::{Create, ImportGuard, MultiOp, WriteRequest};
use super::stat::StatPersisted;
use super::txn::{Txn, TxnOp};
use crate::ids::{SessionId, Zxid};
use crate::vecmap::BrowserMap;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Arc;

/// The server settings that change what requests are accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeConfig {
    /// `jute.maxbuffer`: the largest request (bytes after the length prefix) a server
    /// reads; ZooKeeper's default is `0xfffff` (1 MiB - 1).
    pub max_buffer: usize,
    /// `zookeeper.extendedTypesEnabled`: TTL nodes allowed (else `UNIMPLEMENTED`).
    pub ttl_enabled: bool,
    /// `zookeeper.DigestAuthenticationProvider.superDigest` (`user:base64hash`).
    pub super_digest: Option<String>,
    /// Check that the asking session is live (`SESSIONEXPIRED` otherwise).
    pub check_sessions: bool,
}

impl Default for TreeConfig {
    fn default() -> Self {
        TreeConfig { max_buffer: 0xfffff, ttl_enabled: true, super_digest: None, check_sessions: true }
    }
}

impl TreeConfig {
    /// `CONNECTIONLOSS` when ZooKeeper would refuse to read the request (it closes the
    /// connection; no zxid is taken). Drivers call this before [`Preparer::prepare`].
    pub fn check_size(&self, req: &WriteRequest) -> Result<(), ZkError> {
        if req.wire_len() > self.max_buffer {
            Err(ZkError::ConnectionLoss)
        } else {
            Ok(())
        }
    }
}

/// Who asks, and when: the request's context at the leader.
#[derive(Clone, Copy, Debug)]
pub struct Origin<'a> {
    /// The asking session (`SessionId(0)` for the server itself).
    pub session: SessionId,
    /// Its authentication info.
    pub auth: &'a AuthInfo,
    /// The zxid this request's transaction takes.
    pub zxid: Zxid,
    /// The leader's clock (ms since the epoch).
    pub time: i64,
}

/// ZooKeeper's `ChangeRecord`: a node as it will be once the outstanding proposals
/// commit (`stat: None`: deleted), with its precalculated digests.
#[derive(Clone, Debug)]
struct ChangeRecord {
    zxid: Zxid,
    path: String,
    stat: Option<StatPersisted>,
    child_count: i32,
    acl: Arc<[Acl]>,
    /// CRC state of path + data (see [`digest::prefix`]).
    prefix: Option<crate::crc32::Hasher>,
    /// This node's digest after the change.
    node_digest: u64,
    /// The tree's digest after this change.
    tree_digest: u64,
}

impl ChangeRecord {
    fn new(
        zxid: Zxid,
        path: &str,
        stat: Option<StatPersisted>,
        child_count: i32,
        acl: Arc<[Acl]>,
    ) -> ChangeRecord {
        ChangeRecord {
            zxid,
            path: path.to_owned(),
            stat,
            child_count,
            acl,
            prefix: None,
            node_digest: 0,
            tree_digest: 0,
        }
    }
}

/// The leader's view of outstanding changes.
#[derive(Clone, Debug, Default)]
pub struct Preparer {
    config: TreeConfig,
    outstanding: VecDeque<ChangeRecord>,
    by_path: BrowserMap<String, ChangeRecord>,
    /// Session starts (true) and ends (false) proposed, not yet committed.
    sessions: VecDeque<(Zxid, SessionId, bool)>,
    /// Guarded imports proposed, not yet committed: the guarded path's version once
    /// each applies (`None`: absent). Imports carry their own stats and register no
    /// change records; these let a second guarded import see the first.
    imports: VecDeque<(Zxid, String, Option<i32>)>,
    /// Set while an import is proposed and not yet committed: the newest zxid prepared
    /// since. An import carries its own stats and registers no change records, so the
    /// tree's digest after it is not known here: it and every transaction prepared
    /// until all of them commit carry no precalculated digest (none is checked then)
    /// rather than a wrong one.
    import_in_flight: Option<Zxid>,
}

impl Preparer {
    /// A preparer with these settings.
    pub fn new(config: TreeConfig) -> Preparer {
        Preparer { config, ..Preparer::default() }
    }

    /// The settings.
    pub fn config(&self) -> &TreeConfig {
        &self.config
    }

    /// Turns TTL nodes (`zookeeper.extendedTypesEnabled`) on or off for later requests.
    pub fn set_ttl_enabled(&mut self, on: bool) {
        self.config.ttl_enabled = on;
    }

    /// How many change records are outstanding.
    pub fn outstanding(&self) -> usize {
        self.outstanding.len()
    }

    /// Forgets the changes of transactions up to `zxid`, now applied to the tree
    /// (`FinalRequestProcessor`'s cleanup).
    pub fn committed(&mut self, zxid: Zxid) {
        while self.outstanding.front().is_some_and(|c| c.zxid <= zxid) {
            let c = self.outstanding.pop_front().expect("non-empty");
            if self.by_path.get(&c.path).is_some_and(|latest| latest.zxid == c.zxid) {
                self.by_path.remove(&c.path);
            }
        }
        while self.sessions.front().is_some_and(|s| s.0 <= zxid) {
            self.sessions.pop_front();
        }
        while self.imports.front().is_some_and(|s| s.0 <= zxid) {
            self.imports.pop_front();
        }
        if self.import_in_flight.is_some_and(|z| z <= zxid) {
            self.import_in_flight = None;
        }
    }

    /// Forgets every outstanding change (the leader lost its role).
    pub fn clear(&mut self) {
        self.outstanding.clear();
        self.by_path.clear();
        self.sessions.clear();
        self.imports.clear();
        self.import_in_flight = None;
    }

    /// Turns a request into its transaction.
    pub fn prepare(&mut self, tree: &DataTree, req: &WriteRequest, origin: &Origin<'_>) -> Txn {
        let op = match req {
            WriteRequest::Multi(ops) => self.prepare_multi(tree, ops, origin),
            _ => self.prepare_one(tree, req, origin).unwrap_or_else(TxnOp::Error),
        };
        if matches!(op, TxnOp::Import(_)) || self.import_in_flight.is_some() {
            self.import_in_flight = Some(origin.zxid);
        }
        let digest = self.import_in_flight.is_none().then(|| self.current_digest(tree));
        Txn { session: origin.session, zxid: origin.zxid, time: origin.time, op, digest }
    }

    /// The tree digest once every outstanding change is applied.
    fn current_digest(&self, tree: &DataTree) -> u64 {
        self.outstanding.back().map_or(tree.digest(), |c| c.tree_digest)
    }

    fn record(&self, tree: &DataTree, path: &str) -> Result<ChangeRecord, ZkError> {
        let rec = match self.by_path.get(path) {
            Some(c) => c.clone(),
            None => {
                let n = tree.node(path).ok_or(ZkError::NoNode)?;
                ChangeRecord::new(Zxid(u64::MAX), path, Some(n.stat), n.children.len() as i32, tree.acl_of(n))
            }
        };
        if rec.stat.is_none() {
            return Err(ZkError::NoNode);
        }
        Ok(rec)
    }

    /// Records a change, precalculating the node's and the tree's digests (ZooKeeper's
    /// `precalculateDigest`); `new_data` when the change sets the node's data.
    fn add(&mut self, tree: &DataTree, mut c: ChangeRecord, new_data: Option<&[u8]>) {
        let current = self.current_digest(tree);
        let (old_digest, old_prefix) = match self.by_path.get(&c.path) {
            Some(prev) => (prev.node_digest, prev.prefix.clone()),
            None => match tree.node(&c.path) {
                Some(n) => {
                    let pre = digest::prefix(&c.path, &n.data);
                    (digest::finish(&pre, &n.stat), pre)
                }
                None => (0, None),
            },
        };
        c.prefix = match new_data {
            Some(d) => digest::prefix(&c.path, d),
            None => old_prefix,
        };
        c.node_digest = c.stat.as_ref().map_or(0, |s| digest::finish(&c.prefix, s));
        c.tree_digest = current.wrapping_sub(old_digest).wrapping_add(c.node_digest);
        self.by_path.insert(c.path.clone(), c.clone());
        self.outstanding.push_back(c);
    }

    fn session_live(&self, tree: &DataTree, s: SessionId) -> bool {
        match self.sessions.iter().rev().find(|p| p.1 == s) {
            Some(&(_, _, open)) => open,
            None => tree.sessions().contains_key(&s),
        }
    }

    fn check_session(&self, tree: &DataTree, origin: &Origin<'_>) -> Result<(), ZkError> {
        if self.config.check_sessions && !self.session_live(tree, origin.session) {
            return Err(ZkError::SessionExpired);
        }
        Ok(())
    }

    fn prepare_multi(&mut self, tree: &DataTree, ops: &[MultiOp], origin: &Origin<'_>) -> TxnOp {
        // Records a failing multi must restore (its paths' and their parents').
        let mut saved: BrowserMap<String, ChangeRecord> = BrowserMap::new();
        for op in ops {
            let p = multi_path(op);
            if let Some(c) = self.by_path.get(p) {
                saved.insert(p.to_owned(), c.clone());
            }
            if let Some(parent) = path::parent(p) {
                if let Some(c) = self.by_path.get(parent) {
                    saved.insert(parent.to_owned(), c.clone());
                }
            }
        }
        let mut failed = false;
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            if failed {
                out.push(TxnOp::Error(ZkError::RuntimeInconsistency));
                continue;
            }
            let req = match op {
                // In a multi, ZooKeeper decodes a create with a TTL but a non-TTL mode as a
                // plain create: the TTL is dropped (`Op.create(..., ttl)`).
                MultiOp::Create(c) => {
                    let mut c = c.clone();
                    if !c.mode.is_ttl() {
                        c.ttl = None;
                    }
                    WriteRequest::Create(c)
                }
                MultiOp::Delete { path, version } => {
                    WriteRequest::Delete { path: path.clone(), version: *version }
                }
                MultiOp::SetData { path, data, version } => {
                    WriteRequest::SetData { path: path.clone(), data: data.clone(), version: *version }
                }
                MultiOp::Check { path, version } => {
                    match self.prepare_check(tree, path, *version, origin) {
                        Ok(t) => out.push(t),
                        Err(e) => {
                            failed = true;
                            out.push(TxnOp::Error(e));
                            self.rollback(origin.zxid, &saved);
                        }
                    }
                    continue;
                }
            };
            match self.prepare_one(tree, &req, origin) {
                Ok(t) => out.push(t),
                Err(e) => {
                    failed = true;
                    out.push(TxnOp::Error(e));
                    self.rollback(origin.zxid, &saved);
                }
            }
        }
        TxnOp::Multi(out)
    }

    /// `rollbackPendingChanges`.
    fn rollback(&mut self, zxid: Zxid, saved: &BrowserMap<String, ChangeRecord>) {
        while self.outstanding.back().is_some_and(|c| c.zxid == zxid) {
            let c = self.outstanding.pop_back().expect("non-empty");
            self.by_path.remove(&c.path);
        }
        let Some(first) = self.outstanding.front().map(|c| c.zxid) else { return };
        for (p, c) in saved {
            if c.zxid >= first {
                self.by_path.insert(p.clone(), c.clone());
            }
        }
    }

    fn prepare_check(
        &mut self,
        tree: &DataTree,
        p: &str,
        version: i32,
        o: &Origin<'_>,
    ) -> Result<TxnOp, ZkError> {
        self.check_session(tree, o)?;
        path::validate(p)?;
        let rec = self.record(tree, p)?;
        acl::check(&rec.acl, Perms::READ, o.auth)?;
        let stat = rec.stat.expect("live record");
        let next = check_and_inc_version(stat.version, version)?;
        Ok(TxnOp::Check { path: p.to_owned(), version: next })
    }

    fn prepare_one(&mut self, tree: &DataTree, req: &WriteRequest, o: &Origin<'_>) -> Result<TxnOp, ZkError> {
        match req {
            WriteRequest::CreateSession { timeout_ms } => {
                self.sessions.push_back((o.zxid, o.session, true));
                Ok(TxnOp::CreateSession { timeout_ms: *timeout_ms })
            }
            WriteRequest::CloseSession => Ok(self.prepare_close(tree, o)),
            WriteRequest::Create(c) => self.prepare_create(tree, c, o),
            WriteRequest::Delete { path: p, version } => {
                self.check_session(tree, o)?;
                let parent = parent_for_delete(p)?;
                let parent_rec = self.record(tree, &parent)?;
                acl::check(&parent_rec.acl, Perms::DELETE, o.auth)?;
                let rec = self.record(tree, p)?;
                check_and_inc_version(rec.stat.expect("live").version, *version)?;
                if rec.child_count > 0 {
                    return Err(ZkError::NotEmpty);
                }
                self.record_delete(tree, parent_rec, p, o.zxid);
                Ok(TxnOp::Delete { path: p.clone() })
            }
            WriteRequest::DeleteContainer { path: p } => {
                let parent = parent_for_delete(p)?;
                let rec = self.record(tree, p)?;
                if rec.child_count > 0 {
                    return Err(ZkError::NotEmpty);
                }
                if matches!(
                    NodeKind::of_owner(rec.stat.expect("live").ephemeral_owner),
                    NodeKind::Ephemeral(_)
                ) {
                    return Err(ZkError::BadVersion);
                }
                let parent_rec = self.record(tree, &parent)?;
                self.record_delete(tree, parent_rec, p, o.zxid);
                Ok(TxnOp::DeleteContainer { path: p.clone() })
            }
            WriteRequest::SetData { path: p, data, version } => {
                self.check_session(tree, o)?;
                path::validate(p)?;
                let mut rec = self.record(tree, p)?;
                acl::check(&rec.acl, Perms::WRITE, o.auth)?;
                let mut stat = rec.stat.expect("live");
                let next = check_and_inc_version(stat.version, *version)?;
                stat.version = next;
                stat.mtime = o.time;
                stat.mzxid = o.zxid;
                rec.stat = Some(stat);
                rec.zxid = o.zxid;
                self.add(tree, rec, Some(data));
                Ok(TxnOp::SetData { path: p.clone(), data: data.clone(), version: next })
            }
            WriteRequest::SetAcl { path: p, acl: requested, version } => {
                self.check_session(tree, o)?;
                path::validate(p)?;
                let fixed = acl::fixup(requested, o.auth)?;
                let mut rec = self.record(tree, p)?;
                acl::check(&rec.acl, Perms::ADMIN, o.auth)?;
                let mut stat = rec.stat.expect("live");
                let next = check_and_inc_version(stat.aversion, *version)?;
                stat.aversion = next;
                rec.stat = Some(stat);
                rec.acl = fixed.clone().into();
                rec.zxid = o.zxid;
                self.add(tree, rec, None);
                Ok(TxnOp::SetAcl { path: p.clone(), acl: fixed, version: next })
            }
            WriteRequest::Reconfig { data } => {
                self.check_session(tree, o)?;
                let mut rec = self.record(tree, path::CONFIG)?;
                acl::check(&rec.acl, Perms::WRITE, o.auth)?;
                let mut stat = rec.stat.expect("live");
                stat.version = -1;
                stat.mtime = o.time;
                stat.mzxid = o.zxid;
                rec.stat = Some(stat);
                rec.zxid = o.zxid;
                self.add(tree, rec, Some(data));
                Ok(TxnOp::SetData { path: path::CONFIG.to_owned(), data: data.clone().into(), version: -1 })
            }
            WriteRequest::Invalid(e) => Err(*e),
            WriteRequest::Multi(_) => Err(ZkError::MarshallingError),
            // The controller's import carries its own stats; later requests are prepared
            // against the committed tree (client writes are fenced in the scope meanwhile).
            WriteRequest::Import(i) => Ok(TxnOp::Import(i.clone())),
            WriteRequest::GuardedImport { import, guard } => {
                let found = self.guarded_version(tree, &guard.path);
                if found != guard.version {
                    return Err(ZkError::BadVersion);
                }
                if let Some(after) = guarded_after(import, guard) {
                    self.imports.push_back((o.zxid, guard.path.clone(), after));
                }
                Ok(TxnOp::Import(import.clone()))
            }
        }
    }

    /// The data version `path` will have once the outstanding proposals commit
    /// (`None`: absent), for an import's guard.
    fn guarded_version(&self, tree: &DataTree, path: &str) -> Option<i32> {
        let import = self.imports.iter().rev().find(|c| c.1 == path);
        let change = self.by_path.get(path);
        match (import, change) {
            (Some(i), Some(c)) if c.zxid > i.0 => c.stat.map(|s| s.version),
            (Some(i), _) => i.2,
            (None, Some(c)) => c.stat.map(|s| s.version),
            (None, None) => tree.node(path).map(|n| n.stat.version),
        }
    }

    fn record_delete(&mut self, tree: &DataTree, mut parent_rec: ChangeRecord, p: &str, zxid: Zxid) {
        let mut ps = parent_rec.stat.expect("live");
        ps.pzxid = zxid;
        parent_rec.stat = Some(ps);
        parent_rec.child_count -= 1;
        parent_rec.zxid = zxid;
        self.add(tree, parent_rec, None);
        self.add(tree, ChangeRecord::new(zxid, p, None, -1, Arc::from(Vec::new())), None);
    }

    fn prepare_create(&mut self, tree: &DataTree, c: &Create, o: &Origin<'_>) -> Result<TxnOp, ZkError> {
        // validateCreateRequest
        if c.mode.is_ttl() && !self.config.ttl_enabled {
            return Err(ZkError::Unimplemented);
        }
        let ttl = c.ttl.unwrap_or(-1);
        if c.mode.is_ttl() {
            if ttl <= 0 || ttl > MAX_TTL_MS {
                return Err(ZkError::BadArguments);
            }
        } else if ttl >= 0 {
            return Err(ZkError::BadArguments);
        }
        self.check_session(tree, o)?;
        // validatePathForCreate
        if !c.path.contains('/') || c.path.contains('\0') {
            return Err(ZkError::BadArguments);
        }
        let parent = path::parent(&c.path).ok_or(ZkError::BadArguments)?.to_owned();
        let acl = acl::fixup(&c.acl, o.auth)?;
        let mut parent_rec = self.record(tree, &parent)?;
        acl::check(&parent_rec.acl, Perms::CREATE, o.auth)?;
        let mut pstat = parent_rec.stat.expect("live");
        let final_path =
            if c.mode.is_sequential() { format!("{}{:010}", c.path, pstat.cversion) } else { c.path.clone() };
        path::validate(&final_path)?;
        if self.record(tree, &final_path).is_ok() {
            return Err(ZkError::NodeExists);
        }
        if matches!(NodeKind::of_owner(pstat.ephemeral_owner), NodeKind::Ephemeral(_)) {
            return Err(ZkError::NoChildrenForEphemerals);
        }
        let new_cversion = pstat.cversion.wrapping_add(1);
        let owner = if c.mode.is_container() {
            NodeKind::Container.owner()
        } else if c.mode.is_ttl() {
            NodeKind::Ttl(ttl).owner()
        } else if c.mode.is_ephemeral() {
            o.session.0
        } else {
            0
        };
        pstat.cversion = new_cversion;
        pstat.pzxid = o.zxid;
        parent_rec.stat = Some(pstat);
        parent_rec.child_count += 1;
        parent_rec.zxid = o.zxid;
        self.add(tree, parent_rec, None);
        let stat = Some(StatPersisted::created(o.zxid, o.time, owner));
        self.add(tree, ChangeRecord::new(o.zxid, &final_path, stat, 0, acl.clone().into()), Some(&c.data));
        Ok(TxnOp::Create {
            path: final_path,
            data: c.data.clone(),
            acl,
            owner,
            parent_cversion: new_cversion,
        })
    }

    fn prepare_close(&mut self, tree: &DataTree, o: &Origin<'_>) -> TxnOp {
        // The session's set holds its ephemerals in creation order.
        let mut es: Vec<String> = tree.ephemerals_of(o.session).map(str::to_owned).collect();
        es.sort_by_key(|p| tree.node(p).map(|n| n.stat.czxid));
        // Ephemerals proposed but not committed join; deletions proposed leave.
        for c in &self.outstanding {
            match c.stat {
                None => es.retain(|p| p != &c.path),
                Some(s) if s.ephemeral_owner == o.session.0 && !es.contains(&c.path) => {
                    es.push(c.path.clone())
                }
                Some(_) => {}
            }
        }
        let es = super::java::cloned_set_order(es);
        for p in &es {
            if let Some(parent) = path::parent(p) {
                if let Ok(mut parent_rec) = self.record(tree, parent) {
                    // As ZooKeeper: the parent's pzxid moves; its child count does not.
                    let mut ps = parent_rec.stat.expect("live");
                    ps.pzxid = o.zxid;
                    parent_rec.stat = Some(ps);
                    parent_rec.zxid = o.zxid;
                    self.add(tree, parent_rec, None);
                }
            }
            self.add(tree, ChangeRecord::new(o.zxid, p, None, 0, Arc::from(Vec::new())), None);
        }
        self.sessions.push_back((o.zxid, o.session, false));
        TxnOp::CloseSession { paths: es }
    }
}

fn multi_path(op: &MultiOp) -> &str {
    match op {
        MultiOp::Create(c) => &c.path,
        MultiOp::Delete { path, .. } | MultiOp::SetData { path, .. } | MultiOp::Check { path, .. } => path,
    }
}

/// `getParentPathAndValidate`: no `/`, a NUL, or a reserved node: `BADARGUMENTS`.
fn parent_for_delete(p: &str) -> Result<String, ZkError> {
    if path::is_special(p) {
        return Err(ZkError::BadArguments);
    }
    path::parent(p).map(str::to_owned).ok_or(ZkError::BadArguments)
}

/// What a guarded import leaves at its guard's path: `None` when it does not touch it,
/// `Some(None)` when it deletes it, `Some(Some(v))` when it writes it at version `v`.
fn guarded_after(import: &super::txn::Import, guard: &ImportGuard) -> Option<Option<i32>> {
    if let Some(n) = import.nodes.iter().rev().find(|n| n.path == guard.path) {
        return Some(Some(n.stat.version));
    }
    import.deletes.contains(&guard.path).then_some(None)
}

/// `checkAndIncVersion` (3.8: no wrap-around guard).
fn check_and_inc_version(current: i32, expected: i32) -> Result<i32, ZkError> {
    if expected != -1 && expected != current {
        return Err(ZkError::BadVersion);
    }
    Ok(current.wrapping_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_check_accepts_minus_one_or_equal() {
        assert_eq!(check_and_inc_version(3, -1), Ok(4));
        assert_eq!(check_and_inc_version(3, 3), Ok(4));
        assert_eq!(check_and_inc_version(3, 2), Err(ZkError::BadVersion));
    }
}

#[cfg(test)]
mod pipeline_tests {
    use super::super::testkit::*;
    use super::super::*;

    #[test]
    fn outstanding_create_makes_the_second_create_nodeexists() {
        let mut s = TestServer::new();
        let t1 = s.prepare(A, &create("/x", CreateMode::Persistent));
        let t2 = s.prepare(A, &create("/x", CreateMode::Persistent));
        assert!(matches!(t1.op, TxnOp::Create { .. }));
        assert_eq!(t2.op, TxnOp::Error(ZkError::NodeExists));
        s.commit(&t1);
        s.commit(&t2);
        assert_eq!(s.prep.outstanding(), 0);
    }

    #[test]
    fn outstanding_sequential_creates_advance_the_suffix() {
        let mut s = TestServer::new();
        let paths: Vec<String> = (0..3)
            .map(|_| match s.prepare(A, &create("/q-", CreateMode::PersistentSequential)).op {
                TxnOp::Create { path, .. } => path,
                other => panic!("{other:?}"),
            })
            .collect();
        // The root's stored cversion is 0 (it got /zookeeper without a create).
        assert_eq!(paths, vec!["/q-0000000000", "/q-0000000001", "/q-0000000002"]);
    }

    #[test]
    fn a_guarded_import_applies_only_while_its_guard_holds() {
        use crate::ids::Zxid;
        use crate::tree::{Import, ImportGuard, ImportedNode, StatPersisted};
        let record = |version: i32| ImportedNode {
            path: "/rec".into(),
            data: b"owner".into(),
            acl: Acl::open_unsafe(),
            stat: StatPersisted { version, ..StatPersisted::created(Zxid(1), 0, 0) },
        };
        let claim = |expect: Option<i32>, version: i32| WriteRequest::GuardedImport {
            import: Import { nodes: vec![record(version)], ..Import::default() },
            guard: ImportGuard { path: "/rec".into(), version: expect },
        };
        let mut s = TestServer::new();
        // Two controllers read "absent" and race to create the record: one wins, even
        // while the first claim is still in flight.
        let a = s.prepare(A, &claim(None, 0));
        let b = s.prepare(A, &claim(None, 0));
        assert!(matches!(a.op, TxnOp::Import(_)));
        assert_eq!(b.op, TxnOp::Error(ZkError::BadVersion));
        s.commit(&a);
        s.commit(&b);
        // A takes it over from version 0 to 1; B's later batch (guarded by the version
        // it last wrote, which it never did: 0) is refused once A's claim is in flight.
        let a2 = s.prepare(A, &claim(Some(0), 1));
        let data = |expect: i32| WriteRequest::GuardedImport {
            import: Import { deletes: vec!["/x".into()], ..Import::default() },
            guard: ImportGuard { path: "/rec".into(), version: Some(expect) },
        };
        assert_eq!(s.prepare(A, &data(0)).op, TxnOp::Error(ZkError::BadVersion));
        let ok = s.prepare(A, &data(1));
        assert!(matches!(ok.op, TxnOp::Import(_)));
        s.commit(&a2);
        assert_eq!(s.prep.outstanding(), 0);
        // Nothing prepared while an import was in flight claims a digest; once all of
        // it committed, digests are precalculated again (and checked by `commit`).
        assert_eq!((a.digest, b.digest, a2.digest, ok.digest), (None, None, None, None));
        s.commit(&ok);
        let after = s.prepare(A, &create("/after", CreateMode::Persistent));
        assert!(after.digest.is_some());
        s.commit(&after);
        // Committed: the tree answers the guard.
        assert!(matches!(s.prepare(A, &data(1)).op, TxnOp::Import(_)));
        assert_eq!(s.prepare(A, &data(0)).op, TxnOp::Error(ZkError::BadVersion));
    }

    #[test]
    fn outstanding_delete_then_create_and_versions() {
        let mut s = TestServer::new();
        s.create("/v", CreateMode::Persistent).unwrap();
        let t1 =
            s.prepare(A, &WriteRequest::SetData { path: "/v".into(), data: Default::default(), version: 0 });
        let t2 =
            s.prepare(A, &WriteRequest::SetData { path: "/v".into(), data: Default::default(), version: 0 });
        let t3 =
            s.prepare(A, &WriteRequest::SetData { path: "/v".into(), data: Default::default(), version: 1 });
        assert!(matches!(t1.op, TxnOp::SetData { version: 1, .. }));
        assert_eq!(t2.op, TxnOp::Error(ZkError::BadVersion));
        assert!(matches!(t3.op, TxnOp::SetData { version: 2, .. }));
        let t4 = s.prepare(A, &WriteRequest::Delete { path: "/v".into(), version: -1 });
        let t5 =
            s.prepare(A, &WriteRequest::SetData { path: "/v".into(), data: Default::default(), version: -1 });
        assert!(matches!(t4.op, TxnOp::Delete { .. }));
        assert_eq!(t5.op, TxnOp::Error(ZkError::NoNode));
    }

    #[test]
    fn failed_multi_rolls_back_its_outstanding_changes() {
        let mut s = TestServer::new();
        let multi = WriteRequest::Multi(vec![
            MultiOp::Create(Create {
                path: "/m".into(),
                data: Default::default(),
                acl: Acl::open_unsafe(),
                mode: CreateMode::Persistent,
                ttl: None,
            }),
            MultiOp::Delete { path: "/nope".into(), version: -1 },
        ]);
        let t1 = s.prepare(A, &multi);
        assert!(matches!(&t1.op, TxnOp::Multi(ops) if ops[1] == TxnOp::Error(ZkError::NoNode)));
        // The rolled-back create must not be seen by the next request.
        let t2 = s.prepare(A, &create("/m", CreateMode::Persistent));
        assert!(matches!(t2.op, TxnOp::Create { .. }));
    }

    #[test]
    fn close_session_includes_outstanding_ephemerals() {
        let mut s = TestServer::new();
        let t1 = s.prepare(A, &create("/e", CreateMode::Ephemeral));
        let t2 = s.prepare(A, &WriteRequest::CloseSession);
        assert_eq!(t2.op, TxnOp::CloseSession { paths: vec!["/e".into()] });
        s.commit(&t1);
        s.commit(&t2);
        assert!(s.tree.node("/e").is_none());
    }

    #[test]
    fn reconfig_writes_the_config_node_with_version_minus_one_for_super_only() {
        let mut s = TestServer::new();
        let req = WriteRequest::Reconfig { data: b"server.1=a:1:2;3\nversion=100000000".to_vec() };
        assert_eq!(s.write(A, req.clone()).result.unwrap_err().error, ZkError::NoAuth);
        s.auth.add("digest", b"root:pw", Some(&acl::digest_id("root:pw"))).unwrap();
        match s.write(A, req).result.unwrap() {
            OpResult::DataSet(stat) => assert_eq!(stat.version, -1),
            other => panic!("{other:?}"),
        }
        assert_eq!(s.tree.node(path::CONFIG).unwrap().data, b"server.1=a:1:2;3\nversion=100000000");
    }

    #[test]
    fn requests_of_a_closed_session_are_sessionexpired() {
        let mut s = TestServer::new();
        s.write(A, WriteRequest::CloseSession).result.unwrap();
        assert_eq!(s.create("/late", CreateMode::Persistent).unwrap_err().error, ZkError::SessionExpired);
    }

    #[test]
    fn ttl_rules_of_validate_create_request() {
        let mut s = TestServer::new();
        let mut req = Create {
            path: "/t".into(),
            data: Default::default(),
            acl: Acl::open_unsafe(),
            mode: CreateMode::PersistentWithTtl,
            ttl: Some(0),
        };
        let r = s.write(A, WriteRequest::Create(req.clone()));
        assert_eq!(r.result.unwrap_err().error, ZkError::BadArguments);
        req.mode = CreateMode::Persistent;
        req.ttl = Some(5);
        assert_eq!(
            s.write(A, WriteRequest::Create(req.clone())).result.unwrap_err().error,
            ZkError::BadArguments
        );
        s.prep = Preparer::new(TreeConfig { ttl_enabled: false, ..TreeConfig::default() });
        req.mode = CreateMode::PersistentWithTtl;
        assert_eq!(s.write(A, WriteRequest::Create(req)).result.unwrap_err().error, ZkError::Unimplemented);
    }

    #[test]
    fn jute_maxbuffer_counts_the_whole_request_packet() {
        let config = TreeConfig::default();
        let mut c = Create {
            path: "/big".into(),
            data: vec![b'x'; 1_048_524].into(),
            acl: Acl::open_unsafe(),
            mode: CreateMode::Persistent,
            ttl: None,
        };
        assert_eq!(config.check_size(&WriteRequest::Create(c.clone())), Ok(()));
        c.data = vec![b'x'; c.data.len() + 1].into();
        assert_eq!(config.check_size(&WriteRequest::Create(c)), Err(ZkError::ConnectionLoss));
        let set = |n| WriteRequest::SetData { path: "/big".into(), data: vec![b'x'; n].into(), version: -1 };
        assert_eq!(config.check_size(&set(1_048_551)), Ok(()));
        assert_eq!(config.check_size(&set(1_048_552)), Err(ZkError::ConnectionLoss));
    }

    #[test]
    fn acl_checks_use_the_parent_for_create_and_delete() {
        let mut s = TestServer::new();
        let ro = WriteRequest::Create(Create {
            path: "/ro".into(),
            data: Default::default(),
            acl: Acl::read_unsafe(),
            mode: CreateMode::Persistent,
            ttl: None,
        });
        s.write(A, ro).result.unwrap();
        assert_eq!(s.create("/ro/c", CreateMode::Persistent).unwrap_err().error, ZkError::NoAuth);
        // Deleting /ro itself needs DELETE on /, not on /ro.
        assert!(s.write(A, WriteRequest::Delete { path: "/ro".into(), version: -1 }).result.is_ok());
    }
}
