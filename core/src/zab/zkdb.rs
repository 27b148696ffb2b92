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
//! **Reconfiguration** (ZooKeeper 3.5+): a [`ReconfigRequest`] is prepared by the
//! leader against the configuration in `/zookeeper/config` (the committed one) and the
//! outstanding proposals (one reconfiguration at a time: `RECONFIGINPROGRESS`), checked
//! against the expected version (`BADVERSION`) and against the followers the leader has
//! synced (`NEWCONFIGNOQUORUM` when the new configuration's voters among them are not a
//! quorum), and becomes a transaction that writes the new configuration text, with
//! `version=` its own zxid, to `/zookeeper/config`. [`Replicated::membership_of`] lets
//! ZAB see it: quorums are joint from its proposal to its commit, and the new
//! configuration is in force from its commit. The simulator's ensembles run with
//! reconfiguration enabled and authorise it as ZooKeeper's `skipACL` would.
//!
//! **Session owners** (ZooKeeper's `SessionTrackerImpl.checkSession`): the leader's
//! database remembers which server owns each session (not replicated, like the
//! preparer's record): createSession sets it to the server the request came in
//! through ([`PrepareContext::origin`]), and so does a client reconnecting elsewhere
//! ([`ZkDatabase::revalidate`], ZooKeeper's REVALIDATE from a learner). A session's
//! write from any other server is refused with `SESSIONMOVED` (an error transaction,
//! as ZooKeeper's): the late write of a client that has moved is never applied. A new
//! leadership (a new epoch) starts with no owners; a session's first request then
//! claims it. closeSession is never refused (the leader's expiry sends it).
//!
//! Servers facing clients need each applied transaction's watch triggers, on every
//! replica (not only where the request came in): the database keeps the last
//! [`TRIGGERS_KEPT`] of them, with a count of applied transactions as the driver's
//! cursor ([`ZkDatabase::triggers_since`]). They are not part of the replicated state (not in
//! the digest nor the snapshot).

use super::{PrepareContext, Replicated};
use crate::config::{parse_server, QuorumConfig};
use crate::ids::{Epoch, ServerId, SessionId, Zxid};
use crate::tree::error::ZkError;
use crate::tree::txn::TxnOp;
use crate::tree::{
    acl, path, snapshot, Applied, AuthInfo, DataTree, Origin, Preparer, TreeConfig, Trigger, Txn,
    WriteRequest,
};
use crate::vecmap::{VecMap, VecSet};
use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

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
    /// The write (ignored when `reconfig` is set).
    pub request: WriteRequest,
    /// A reconfiguration instead of a tree write.
    pub reconfig: Option<ReconfigRequest>,
    /// `zookeeper.extendedTypesEnabled` of the member that took the request: TTL creates
    /// are refused with `UNIMPLEMENTED` (still a transaction, as in ZooKeeper) when off.
    /// ZooKeeper reads the leader's setting; zoolab's members carry theirs with each
    /// request (the same `zoo.cfg` everywhere gives the same answer). The simulator's
    /// ensembles keep TTL nodes on.
    pub ttl_enabled: bool,
}

impl ZkRequest {
    /// A tree write.
    pub fn write(session: SessionId, auth: AuthInfo, request: WriteRequest) -> ZkRequest {
        ZkRequest { session, auth, request, reconfig: None, ttl_enabled: true }
    }

    /// A reconfiguration.
    pub fn reconfig(session: SessionId, auth: AuthInfo, reconfig: ReconfigRequest) -> ZkRequest {
        ZkRequest {
            session,
            auth,
            request: WriteRequest::Reconfig { data: Vec::new() },
            reconfig: Some(reconfig),
            ttl_enabled: true,
        }
    }
}

/// ZooKeeper's `ReconfigRequest`: incremental (`joining`, `leaving`) or a whole new
/// membership (`members`), and the configuration version it expects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReconfigRequest {
    /// `-add`: comma-separated `server.N=host:quorumPort:electionPort[:role][;client]`.
    pub joining: Option<String>,
    /// `-remove`: comma-separated server ids.
    pub leaving: Option<String>,
    /// `-members`: the whole new membership, comma-separated server specs.
    pub members: Option<String>,
    /// `-v`: the expected configuration version, or -1 for any.
    pub from_config: i64,
}

impl ReconfigRequest {
    /// The configuration this request makes of `current` (version not yet set), or
    /// ZooKeeper's error for it.
    pub fn next_config(&self, current: &QuorumConfig) -> Result<QuorumConfig, ZkError> {
        let specs = |list: &str| -> Result<Vec<crate::config::ServerSpec>, ZkError> {
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|item| {
                    let (k, v) = item.split_once('=').ok_or(ZkError::BadArguments)?;
                    parse_server(k.trim(), v).map_err(|_| ZkError::BadArguments)
                })
                .collect()
        };
        let mut next = if let Some(members) = &self.members {
            QuorumConfig::of(specs(members)?)
        } else {
            let mut next = current.clone();
            if let Some(leaving) = &self.leaving {
                for id in leaving.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let id: u64 = id.parse().map_err(|_| ZkError::BadArguments)?;
                    next.servers.remove(&ServerId(id));
                }
            }
            if let Some(joining) = &self.joining {
                for spec in specs(joining)? {
                    next.servers.insert(spec.id, spec);
                }
            }
            next
        };
        if next.participants().is_empty() {
            return Err(ZkError::BadArguments);
        }
        next.version = 0;
        Ok(next)
    }
}

/// A snapshot of the tree: [`snapshot::encode`]'s bytes, shared.
///
/// [`Replicated::snapshot`] takes it as a copy of the tree (a pointer per node, see
/// `DataTree::nodes`) and encodes it the first time its bytes are asked for. A native
/// server's checkpoint thread does not ask: it streams the encoding from the copy to
/// the file ([`ZkSnapshot::write_to`]), so its step does not stall for the encoding and
/// no encoding is held in memory; the copy lives as long as the snapshot (while it
/// does, a node changed in the live tree is copied first). The bytes are the same
/// whenever they are made (the copy does not change), so this is invisible to the
/// simulator's determinism.
#[derive(Clone)]
pub struct ZkSnapshot(Arc<SnapshotCell>);

struct SnapshotCell {
    /// The copy to encode, until [`ZkSnapshot::bytes`] encodes it (then dropped).
    tree: Mutex<Option<DataTree>>,
    bytes: OnceLock<Vec<u8>>,
}

/// What a snapshot's encoding is made from: its bytes, or the tree's copy.
enum Source<'a> {
    Bytes(&'a [u8]),
    Tree(&'a DataTree),
}

impl ZkSnapshot {
    /// A snapshot from its bytes (read from disk or received from a leader).
    pub fn from_bytes(bytes: Vec<u8>) -> ZkSnapshot {
        ZkSnapshot(Arc::new(SnapshotCell { tree: Mutex::new(None), bytes: OnceLock::from(bytes) }))
    }

    fn of_tree(tree: DataTree) -> ZkSnapshot {
        ZkSnapshot(Arc::new(SnapshotCell { tree: Mutex::new(Some(tree)), bytes: OnceLock::new() }))
    }

    /// The length of [`ZkSnapshot::bytes`], without encoding them if they were not yet.
    pub fn encoded_len(&self) -> u64 {
        self.with_source(|s| match s {
            Source::Bytes(b) => b.len() as u64,
            Source::Tree(t) => snapshot::encoded_len(t),
        })
    }

    /// Writes [`ZkSnapshot::bytes`] to `w`: the bytes if they were made, else encoded
    /// from the tree as they are written and not kept, so a checkpoint of a large tree
    /// holds no copy of its encoding in memory. Returns how many bytes it wrote.
    pub fn write_to<W: std::io::Write>(&self, mut w: W) -> std::io::Result<u64> {
        self.with_source(|s| match s {
            Source::Bytes(b) => {
                w.write_all(b)?;
                Ok(b.len() as u64)
            }
            Source::Tree(t) => snapshot::encode_to(t, w),
        })
    }

    /// `f` of the bytes if they were made (or are being made), else of the copy, under
    /// its lock: a `bytes` asked meanwhile (a `restore` of this snapshot) waits for `f`,
    /// then encodes.
    fn with_source<T>(&self, f: impl FnOnce(Source<'_>) -> T) -> T {
        if let Some(b) = self.0.bytes.get() {
            return f(Source::Bytes(b));
        }
        let tree = self.0.tree.lock().unwrap_or_else(|e| e.into_inner());
        match &*tree {
            Some(t) => f(Source::Tree(t)),
            None => {
                // Being encoded into memory by `bytes`, which took the tree.
                drop(tree);
                f(Source::Bytes(self.bytes()))
            }
        }
    }

    /// Whether [`ZkSnapshot::bytes`] were made (not only streamed).
    pub fn is_encoded(&self) -> bool {
        self.0.bytes.get().is_some()
    }

    /// The encoded snapshot (encoded now if it was not yet).
    pub fn bytes(&self) -> &[u8] {
        self.0.bytes.get_or_init(|| {
            let tree = self.0.tree.lock().unwrap_or_else(|e| e.into_inner()).take();
            snapshot::encode(&tree.expect("a snapshot holds its tree until it is encoded"))
        })
    }
}

impl PartialEq for ZkSnapshot {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.bytes() == other.bytes()
    }
}

impl Eq for ZkSnapshot {}

impl fmt::Debug for ZkSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ZkSnapshot({} bytes)", self.bytes().len())
    }
}

/// The tree a ZAB server replicates (see the [module documentation](self)).
#[derive(Clone, Debug)]
pub struct ZkDatabase {
    tree: DataTree,
    prep: Preparer,
    triggers: VecDeque<(Zxid, Vec<Trigger>)>,
    applied: u64,
    /// The leader's session owners and the epoch they belong to.
    owners: (Epoch, VecMap<SessionId, ServerId>),
}

impl Default for ZkDatabase {
    fn default() -> Self {
        ZkDatabase::from_tree(DataTree::new())
    }
}

impl ZkDatabase {
    /// A database holding `tree` (no outstanding changes).
    pub fn from_tree(tree: DataTree) -> ZkDatabase {
        ZkDatabase {
            tree,
            prep: Preparer::new(TreeConfig::default()),
            triggers: VecDeque::new(),
            applied: 0,
            owners: (Epoch(0), VecMap::new()),
        }
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

    /// A client reconnected to `owner` with `session` while this server leads `epoch`
    /// (ZooKeeper's REVALIDATE, or the leader's own `revalidateSession`): `owner` owns
    /// the session from now on. An unknown session is left alone (the client is told
    /// it expired).
    pub fn revalidate(&mut self, session: SessionId, owner: ServerId, epoch: Epoch) {
        self.owners_of(epoch);
        if self.tree.sessions().contains_key(&session) {
            self.owners.1.insert(session, owner);
        }
    }

    /// The server that owns `session` as this leader knows it (`None`: not claimed
    /// since the leadership began).
    pub fn session_owner(&self, session: SessionId) -> Option<ServerId> {
        self.owners.1.get(&session).copied()
    }

    fn owners_of(&mut self, epoch: Epoch) -> &mut VecMap<SessionId, ServerId> {
        if self.owners.0 != epoch {
            self.owners = (epoch, VecMap::new());
        }
        &mut self.owners.1
    }

    /// ZooKeeper's `checkSession(session, owner)` before a request is prepared: the
    /// owner is claimed if none is known, and a request from another server than the
    /// owner is refused with `SESSIONMOVED`.
    fn check_owner(&mut self, request: &ZkRequest, ctx: &PrepareContext<'_>) -> Result<(), ZkError> {
        let origin = ctx.origin;
        if request.session == SessionId(0) || origin == ServerId(0) {
            return Ok(());
        }
        let owners = self.owners_of(ctx.zxid.epoch());
        match (&request.request, request.reconfig.is_some()) {
            (WriteRequest::CreateSession { .. }, false) => {
                owners.insert(request.session, origin);
                Ok(())
            }
            (WriteRequest::CloseSession, false) => Ok(()),
            _ => match owners.get(&request.session) {
                Some(&owner) if owner != origin => Err(ZkError::SessionMoved),
                Some(_) => Ok(()),
                None => {
                    owners.insert(request.session, origin);
                    Ok(())
                }
            },
        }
    }
}

impl Replicated for ZkDatabase {
    type Request = ZkRequest;
    type Txn = Txn;
    type Reply = Applied;
    type Snapshot = ZkSnapshot;

    fn prepare(&mut self, outstanding: &[&Txn], ctx: PrepareContext<'_>, request: &ZkRequest) -> Txn {
        if outstanding.is_empty() {
            self.prep.clear();
        }
        self.prep.set_ttl_enabled(request.ttl_enabled);
        let time = i64::try_from(ctx.time_ms).unwrap_or(i64::MAX);
        if let Err(e) = self.check_owner(request, &ctx) {
            let origin = Origin { session: request.session, auth: &request.auth, zxid: ctx.zxid, time };
            return self.prep.prepare(&self.tree, &WriteRequest::Invalid(e), &origin);
        }
        if let Some(r) = &request.reconfig {
            let write = match self.reconfigure(outstanding, &ctx, r) {
                Ok(data) => WriteRequest::Reconfig { data },
                Err(e) => WriteRequest::Invalid(e),
            };
            // The simulator's ensembles authorise reconfiguration as `skipACL` does.
            let mut auth = request.auth.clone();
            let _ = auth.add("digest", RECONFIG_USER.as_bytes(), Some(&acl::digest_id(RECONFIG_USER)));
            let origin = Origin { session: request.session, auth: &auth, zxid: ctx.zxid, time };
            return self.prep.prepare(&self.tree, &write, &origin);
        }
        // A migration's write fence (crate::migration::fence): NOTREADONLY in its scope;
        // the controller's own znodes refuse client writes.
        if let Some(e) = crate::migration::fence::refusal(&self.tree, outstanding, &request.request) {
            let refused = WriteRequest::Invalid(e);
            let origin = Origin { session: request.session, auth: &request.auth, zxid: ctx.zxid, time };
            return self.prep.prepare(&self.tree, &refused, &origin);
        }
        let origin = Origin { session: request.session, auth: &request.auth, zxid: ctx.zxid, time };
        self.prep.prepare(&self.tree, &request.request, &origin)
    }

    fn apply(&mut self, _zxid: Zxid, txn: &Txn) -> Applied {
        let applied = self.tree.apply(txn);
        self.prep.committed(txn.zxid);
        if matches!(txn.op, TxnOp::CloseSession { .. }) {
            self.owners.1.remove(&txn.session);
        }
        self.applied += 1;
        self.triggers.push_back((txn.zxid, applied.triggers.clone()));
        if self.triggers.len() > TRIGGERS_KEPT {
            self.triggers.pop_front();
        }
        applied
    }

    fn snapshot(&self) -> ZkSnapshot {
        ZkSnapshot::of_tree(self.tree.clone())
    }

    fn restore(snap: &ZkSnapshot) -> Self {
        // Snapshots are made by `snapshot` above: one that does not decode is a bug.
        let tree = snapshot::decode(snap.bytes()).expect("a snapshot zoolab encoded decodes");
        ZkDatabase::from_tree(tree)
    }

    fn digest(&self) -> u64 {
        self.tree.digest()
    }

    fn membership(&self) -> Option<QuorumConfig> {
        let node = self.tree.node(path::CONFIG)?;
        QuorumConfig::parse(std::str::from_utf8(&node.data).ok()?).ok().filter(|c| !c.servers.is_empty())
    }

    fn init_membership(&mut self, config: &QuorumConfig) {
        let Some(node) = self.tree.node(path::CONFIG) else { return };
        let (acl, mut stat) = (self.tree.acl_of(node), node.stat);
        let data = config.to_string().into_bytes();
        // ZooKeeper's initConfigInZKDatabase: setData with version -1 and the
        // configuration's version as mzxid.
        stat.version = -1;
        stat.mzxid = Zxid(config.version);
        // Under /zookeeper/: outside the digest, as in ZooKeeper.
        let _ = self.tree.import_node(path::CONFIG, data, &acl, stat);
    }

    fn membership_of(txn: &Txn) -> Option<QuorumConfig> {
        match &txn.op {
            TxnOp::SetData { path: p, data, .. } if p == path::CONFIG => {
                QuorumConfig::parse(std::str::from_utf8(data).ok()?).ok().filter(|c| !c.servers.is_empty())
            }
            _ => None,
        }
    }
}

/// The user the simulator's reconfigurations are authorised as (`skipACL`).
const RECONFIG_USER: &str = "zoolab:reconfig";

impl ZkDatabase {
    /// The leader's half of a reconfiguration: the new configuration's text, or the
    /// error ZooKeeper's `PrepRequestProcessor` answers.
    fn reconfigure(
        &self,
        outstanding: &[&Txn],
        ctx: &PrepareContext<'_>,
        r: &ReconfigRequest,
    ) -> Result<Vec<u8>, ZkError> {
        if outstanding.iter().any(|t| Self::membership_of(t).is_some()) {
            return Err(ZkError::ReconfigInProgress);
        }
        let current = self.membership().ok_or(ZkError::ReconfigDisabled)?;
        if r.from_config != -1 && u64::try_from(r.from_config).ok() != Some(current.version) {
            return Err(ZkError::BadVersion);
        }
        let mut next = r.next_config(&current)?;
        let voters: VecSet<ServerId> = next.participants().into_iter().collect();
        let synced = voters.intersection(ctx.synced).count();
        if 2 * synced <= voters.len() {
            return Err(ZkError::NewConfigNoQuorum);
        }
        next.version = ctx.zxid.0;
        Ok(next.to_string().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ServerId;
    use crate::sim::{ClientWrite, ClusterSpec, World, WorldConfig};
    use crate::tree::{Acl, Create, CreateMode, OpResult};
    use crate::zab::server::Server;

    fn req(session: i64, request: WriteRequest) -> ZkRequest {
        ZkRequest::write(SessionId(session), AuthInfo::from_ip("10.0.0.9"), request)
    }

    fn create(path: &str, mode: CreateMode) -> WriteRequest {
        WriteRequest::Create(Create {
            path: path.into(),
            data: b"d".into(),
            acl: Acl::open_unsafe(),
            mode,
            ttl: None,
        })
    }

    fn world() -> World<ZkDatabase> {
        let cfg = WorldConfig {
            clusters: vec![ClusterSpec { participants: 3, observers: 0, spares: 0 }],
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
    fn a_session_write_from_a_server_that_no_longer_owns_it_is_refused_with_sessionmoved() {
        let mut w = world();
        let leader = w.leader(0).unwrap();
        let [a, b] = [1, 2, 3].map(ServerId).into_iter().filter(|&s| s != leader).collect::<Vec<_>>()[..]
        else {
            panic!("two followers")
        };
        let outcome = |w: &mut World<ZkDatabase>, at: ServerId, path: &str| {
            let id = w.write(at, req(5, create(path, CreateMode::Persistent)));
            w.run_for(500, 100_000);
            w.take_reply(id).map(|r| r.result.map(|_| ()).map_err(|f| f.error))
        };
        w.write(a, req(5, WriteRequest::CreateSession { timeout_ms: 6_000 }));
        w.run_for(500, 100_000);
        assert_eq!(w.server(0, leader).unwrap().state().session_owner(SessionId(5)), Some(a));
        assert_eq!(outcome(&mut w, a, "/from-a"), Some(Ok(())));
        assert_eq!(outcome(&mut w, b, "/from-b"), Some(Err(ZkError::SessionMoved)));
        // The client reconnects to b, which revalidates the session with the leader.
        let epoch = w.servers().iter().find(|v| v.id == leader).unwrap().epoch;
        w.state_mut_in(0, leader).unwrap().revalidate(SessionId(5), b, epoch);
        assert_eq!(outcome(&mut w, b, "/from-b"), Some(Ok(())));
        assert_eq!(outcome(&mut w, a, "/late-from-a"), Some(Err(ZkError::SessionMoved)));
        // The refusal is an error transaction: every replica skips it alike.
        for id in 1..=3 {
            let tree = w.server(0, ServerId(id)).unwrap().state().tree();
            assert!(tree.node("/from-b").is_some() && tree.node("/late-from-a").is_none(), "s{id}");
        }
        // A new leadership starts with no owners: the first request claims the session.
        w.kill(leader);
        w.run_for(3_000, 200_000);
        let next = w.leader(0).expect("a new leader");
        assert_eq!(w.server(0, next).unwrap().state().session_owner(SessionId(5)), None);
        assert_eq!(outcome(&mut w, a, "/after"), Some(Ok(())));
        assert_eq!(w.server(0, next).unwrap().state().session_owner(SessionId(5)), Some(a));
        // closeSession is never refused (the leader's expiry sends it from anywhere).
        w.write(next, req(5, WriteRequest::CloseSession));
        w.run_for(500, 100_000);
        assert!(w.server(0, next).unwrap().state().tree().sessions().is_empty());
        assert_eq!(w.server(0, next).unwrap().state().session_owner(SessionId(5)), None);
        assert!(w.violation().is_none());
    }

    fn spares_world(spares: u64) -> World<ZkDatabase> {
        let cfg = WorldConfig {
            clusters: vec![ClusterSpec { participants: 3, observers: 0, spares }],
            ..WorldConfig::default()
        };
        let mut w = World::new(cfg, 11);
        w.run_until(2_000, 200_000);
        assert!(w.leader(0).is_some());
        write_as(&mut w, ServerId(1), req(S, WriteRequest::CreateSession { timeout_ms: 60_000 }));
        w.run_for(500, 200_000);
        w
    }

    const S: i64 = 9;

    /// Session S's request through server `at`, as from a client that reconnected
    /// there (the leader revalidates the session to `at` first).
    fn write_as(w: &mut World<ZkDatabase>, at: ServerId, request: ZkRequest) -> u64 {
        if let Some(leader) = w.leader(0) {
            let epoch = w.servers().iter().find(|v| v.id == leader).map(|v| v.epoch).unwrap();
            w.state_mut_in(0, leader).unwrap().revalidate(SessionId(S), at, epoch);
        }
        w.write(at, request)
    }

    fn reconfig(w: &mut World<ZkDatabase>, at: u64, r: ReconfigRequest) -> Result<OpResult, ZkError> {
        let id = write_as(w, ServerId(at), ZkRequest::reconfig(SessionId(S), AuthInfo::default(), r));
        w.run_for(1_000, 200_000);
        let status = w.write_status(id);
        w.take_reply(id).unwrap_or_else(|| panic!("{status:?} at s{at} for {id}")).result.map_err(|e| e.error)
    }

    fn add(spec: &str) -> ReconfigRequest {
        ReconfigRequest { joining: Some(spec.into()), from_config: -1, ..ReconfigRequest::default() }
    }

    #[test]
    fn spares_join_by_reconfig_and_then_count() {
        let mut w = spares_world(2);
        // Spares follow without a vote.
        let views = w.servers();
        assert!(views[3].observer && !views[3].member, "{:?}", views[3]);
        assert!(views[3].serving, "a spare syncs with the leader");
        let r = reconfig(
            &mut w,
            1,
            add("server.4=server4:2888:3888:participant;2181,server.5=server5:2888:3888;2181"),
        );
        assert!(r.is_ok(), "{r:?}");
        let version = w.server(0, ServerId(1)).unwrap().config().version;
        assert_ne!(version, 0);
        for id in 1..=5 {
            let s = w.server(0, ServerId(id)).unwrap();
            assert_eq!(s.config().version, version, "s{id}");
            assert_eq!(s.config().participants().len(), 5);
            assert!(s.pending_config().is_none());
            let text = String::from_utf8(s.state().tree().node(path::CONFIG).unwrap().data.to_vec()).unwrap();
            assert!(text.ends_with(&format!("version={version:x}")), "{text}");
        }
        assert!(w.servers().iter().all(|v| v.member && !v.observer));
        // 3 of 5 now commit without two of the original three.
        let leader = w.leader(0).unwrap();
        let others: Vec<u64> = (1..=3).filter(|&i| ServerId(i) != leader).collect();
        w.kill(ServerId(others[0]));
        let id = write_as(&mut w, leader, req(S, create("/after", CreateMode::Persistent)));
        w.run_for(1_000, 200_000);
        assert!(w.take_reply(id).unwrap().result.is_ok());
        // A restart keeps the configuration (it lives in the log and snapshot).
        w.kill(ServerId(4));
        w.restart(ServerId(4));
        assert_eq!(w.server(0, ServerId(4)).unwrap().config().version, version);
        w.run_for(2_000, 200_000);
        assert!(w.violation().is_none(), "{:?}", w.violation());
    }

    #[test]
    fn between_a_reconfig_proposal_and_its_commit_quorums_are_joint() {
        let mut w = spares_world(2);
        let leader = w.leader(0).unwrap();
        // {1,2,3} → {1,4,5}: the old three are not a quorum of the new configuration.
        let grow = ReconfigRequest {
            members: Some(
                "server.1=server1:2888:3888;2181,server.4=server4:2888:3888;2181,server.5=server5:2888:3888;2181"
                    .into(),
            ),
            from_config: -1,
            ..ReconfigRequest::default()
        };
        let r = write_as(&mut w, leader, ZkRequest::reconfig(SessionId(S), AuthInfo::default(), grow));
        // The new voters are cut off before the proposal reaches them: the old three
        // alone are a quorum of the old configuration, not of the new one.
        w.partition(&[&[ServerId(1), ServerId(2), ServerId(3)], &[ServerId(4), ServerId(5)]]);
        let x = write_as(&mut w, leader, req(S, create("/x", CreateMode::Persistent)));
        w.run_for(200, 200_000);
        let s = w.server(0, leader).unwrap();
        assert!(
            s.pending_config().is_some(),
            "the reconfig is pending on the leader: {:?} {:?} {:?}",
            w.write_status(r),
            s.status(),
            s.config()
        );
        assert_eq!(s.config().version, 0);
        assert!(s.quorum().contains_quorum(&[1, 2, 4].map(ServerId).into()));
        assert!(!s.quorum().contains_quorum(&[1, 2, 3].map(ServerId).into()), "joint: 2 of 1,4,5 needed too");
        assert_eq!(w.write_status(r), Some(ClientWrite::Pending));
        assert_eq!(
            w.write_status(x),
            Some(ClientWrite::Pending),
            "a write after it waits for the new quorum"
        );
        for id in 1..=3 {
            assert!(w.server(0, ServerId(id)).unwrap().state().tree().node("/x").is_none(), "s{id}");
        }
        // Healed, the new voters log it and both commit; nothing was lost.
        w.heal();
        w.run_for(5_000, 500_000);
        assert!(w.violation().is_none(), "{:?}", w.violation());
        let leader = w.leader(0).expect("a leader after the heal");
        let s = w.server(0, leader).unwrap();
        assert_eq!(s.config().participants(), [1, 4, 5].map(ServerId), "{:?}", s.config());
        assert!(s.state().tree().node("/x").is_some());
    }

    #[test]
    fn roles_change_by_reconfig_and_servers_reconnect_in_their_new_role() {
        let cfg = WorldConfig {
            clusters: vec![ClusterSpec { participants: 3, observers: 1, spares: 0 }],
            ..WorldConfig::default()
        };
        let mut w = World::new(cfg, 5);
        w.run_until(2_000, 200_000);
        write_as(&mut w, ServerId(1), req(S, WriteRequest::CreateSession { timeout_ms: 60_000 }));
        w.run_for(500, 200_000);
        assert_eq!(w.servers()[3].role, crate::sim::Role::Observing);
        // The observer becomes a participant and a follower an observer, in one step.
        let leader = w.leader(0).unwrap();
        let demoted = (1..=3).find(|&i| ServerId(i) != leader).unwrap();
        let change = add(&format!(
            "server.4=server4:2888:3888:participant;2181,server.{demoted}=server{demoted}:2888:3888:observer;2181"
        ));
        assert!(reconfig(&mut w, leader.0, change).is_ok());
        w.run_for(3_000, 200_000);
        let views = w.servers();
        assert_eq!(views[3].role, crate::sim::Role::Following, "{:?}", views[3]);
        assert!(!views[3].observer);
        let d = &views[(demoted - 1) as usize];
        assert_eq!(d.role, crate::sim::Role::Observing, "{d:?}");
        // The promoted server's vote counts: with the third voter down, the leader and
        // s4 are a quorum of {leader, other, s4}.
        let leader = w.leader(0).unwrap();
        let other = (1..=3).find(|&i| ServerId(i) != leader && i != demoted).unwrap();
        w.kill(ServerId(other));
        let id = write_as(&mut w, leader, req(S, create("/roles", CreateMode::Persistent)));
        w.run_for(1_000, 200_000);
        assert!(w.take_reply(id).unwrap().result.is_ok());
        assert!(w.violation().is_none(), "{:?}", w.violation());
    }

    #[test]
    fn reconfig_errors_follow_zookeeper() {
        let mut w = spares_world(2);
        let bad_version = ReconfigRequest { from_config: 0x42, ..add("server.4=server4:2888:3888;2181") };
        assert_eq!(reconfig(&mut w, 1, bad_version), Err(ZkError::BadVersion));
        let no_voters = ReconfigRequest {
            members: Some("server.1=server1:2888:3888:observer;2181".into()),
            from_config: -1,
            ..ReconfigRequest::default()
        };
        assert_eq!(reconfig(&mut w, 1, no_voters), Err(ZkError::BadArguments));
        // Voters that are not connected: no quorum of the new configuration is synced.
        w.kill(ServerId(4));
        w.kill(ServerId(5));
        // (once the leader has noticed: their handlers time out after syncLimit)
        w.run_for(1_500, 200_000);
        let unsynced = ReconfigRequest {
            members: Some(
                "server.1=server1:2888:3888;2181,server.4=server4:2888:3888;2181,server.5=server5:2888:3888;2181"
                    .into(),
            ),
            from_config: 0,
            ..ReconfigRequest::default()
        };
        assert_eq!(reconfig(&mut w, 2, unsynced), Err(ZkError::NewConfigNoQuorum));
        // Two at once: the second is refused while the first is pending.
        let leader = w.leader(0).unwrap();
        let other = (1..=3).find(|&i| ServerId(i) != leader).unwrap();
        let remove = ReconfigRequest {
            leaving: Some(other.to_string()),
            from_config: -1,
            ..ReconfigRequest::default()
        };
        let a = write_as(&mut w, leader, ZkRequest::reconfig(SessionId(S), AuthInfo::default(), remove));
        let b = write_as(
            &mut w,
            leader,
            ZkRequest::reconfig(
                SessionId(S),
                AuthInfo::default(),
                add("server.6=server6:2888:3888:observer;2181"),
            ),
        );
        w.run_for(2_000, 200_000);
        let ra = w.take_reply(a).map(|x| x.result.map_err(|e| e.error));
        let rb = w.take_reply(b).map(|x| x.result.map_err(|e| e.error));
        assert!(matches!(ra, Some(Ok(_))), "{ra:?}");
        assert_eq!(rb.map(|r| r.err()), Some(Some(ZkError::ReconfigInProgress)));
        assert!(w.violation().is_none());
    }

    #[test]
    fn a_leader_that_removes_itself_hands_over() {
        let mut w = spares_world(0);
        let leader = w.leader(0).unwrap();
        let r = ReconfigRequest {
            leaving: Some(leader.0.to_string()),
            from_config: -1,
            ..ReconfigRequest::default()
        };
        let follower = ServerId(if leader.0 == 1 { 2 } else { 1 });
        assert!(reconfig(&mut w, follower.0, r).is_ok());
        w.run_for(3_000, 200_000);
        let next = w.leader(0).expect("the two left elect a leader");
        assert_ne!(next, leader);
        let v = &w.servers()[(leader.0 - 1) as usize];
        assert!(!v.member && v.observer, "{v:?}");
        let id = write_as(&mut w, next, req(S, create("/after", CreateMode::Persistent)));
        w.run_for(1_000, 200_000);
        assert!(w.take_reply(id).unwrap().result.is_ok());
        assert!(w.violation().is_none(), "{:?}", w.violation());
    }

    #[test]
    fn a_snapshot_restores_the_same_tree() {
        let mut db = ZkDatabase::default();
        let ctx = PrepareContext::alone(Zxid(1), 10);
        let t = db.prepare(&[], ctx, &req(0, create("/a", CreateMode::Persistent)));
        db.apply(Zxid(1), &t);
        let copy = ZkDatabase::restore(&db.snapshot());
        assert_eq!(copy.digest(), db.digest());
        assert_eq!(copy.tree(), db.tree());
        assert_eq!(db.applied_count(), 1);
        assert_eq!(db.triggers_since(0).unwrap().count(), 1);
    }

    #[test]
    fn ttl_creates_follow_the_requests_extended_types_setting() {
        // Found by the differential suite (tests/differential): an ensemble whose members
        // say extendedTypesEnabled=false refuses TTL nodes with UNIMPLEMENTED, in a
        // transaction (the zxid is taken) as ZooKeeper's PrepRequestProcessor does.
        let mut db = ZkDatabase::default();
        let ttl = |path: &str| {
            WriteRequest::Create(Create {
                ttl: Some(60_000),
                ..match create(path, CreateMode::PersistentWithTtl) {
                    WriteRequest::Create(c) => c,
                    _ => unreachable!(),
                }
            })
        };
        let t = db.prepare(
            &[],
            PrepareContext::alone(Zxid(1), 5),
            &req(5, WriteRequest::CreateSession { timeout_ms: 6_000 }),
        );
        db.apply(Zxid(1), &t);
        let off = ZkRequest { ttl_enabled: false, ..req(5, ttl("/t")) };
        let t = db.prepare(&[], PrepareContext::alone(Zxid(2), 10), &off);
        let applied = db.apply(Zxid(2), &t);
        assert_eq!(applied.result.unwrap_err().error, ZkError::Unimplemented);
        assert_eq!(applied.zxid, Zxid(2));
        assert!(db.tree().node("/t").is_none());
        // The next request's own setting counts: TTL nodes on again.
        let t = db.prepare(&[], PrepareContext::alone(Zxid(3), 20), &req(5, ttl("/t")));
        let applied = db.apply(Zxid(3), &t);
        assert!(applied.result.is_ok(), "{:?}", applied.result);
        assert!(db.tree().node("/t").is_some());
    }

    #[test]
    fn the_config_node_is_set_with_version_minus_one_as_zookeeper_does() {
        // ZooKeeper's initConfigInZKDatabase sets /zookeeper/config with version -1 and
        // the configuration's version as mzxid (seen by the differential suite).
        let mut db = ZkDatabase::default();
        let cfg = QuorumConfig::parse("server.1=a:1:2:participant\nversion=100000000").unwrap();
        db.init_membership(&cfg);
        let node = db.tree().node(path::CONFIG).unwrap();
        assert_eq!(node.stat.version, -1);
        assert_eq!(node.stat.mzxid, Zxid(0x1_0000_0000));
        assert_eq!(node.data, b"server.1=a:1:2:participant\nversion=100000000");
    }
}
