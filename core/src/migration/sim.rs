//! A migration controller inside the simulator: it drives [`phase::Migration`] from
//! draft to commit (or back) between two clusters of a [`World`], computing each
//! gate's evidence from the live clusters, and checks the migration's rules after every
//! simulated step.
//!
//! **Copying.** A [`Stream`] copies a subtree from one cluster to another, one batch at
//! a time (stop-and-wait: one batch in flight, so batches apply in order even across
//! leader changes; a lost batch is rebuilt and resent, which is safe because a batch
//! carries the final state of its paths). Every batch is a [`tree::Import`] submitted
//! to the destination's leader, so it goes through the destination's ZAB and every
//! server applies it; it also rewrites the migration record (stamp and the source zxid
//! copied through) on the destination. Cross-cluster traffic takes the clusters' link
//! latency: a batch built at `t` reaches the destination's leader at `t + latency`, and
//! its acknowledgement comes back as late.
//!
//! Transports ([`Transport`]):
//! - **snapshot plus log** (exact): the source leader's tree at zxid Z, then the
//!   committed transactions after Z read from a source server's txn log and applied in
//!   zxid order to the controller's replica ("mirror") of the source; every changed
//!   path's exact node (Stat, internal cversion, node type, ACL) is shipped. If the log
//!   was purged past the mirror (snapCount), the stream re-seeds from a new snapshot.
//! - **client API** (logical): a persistent recursive watch on one source server is
//!   registered before the walk; the walk lists the subtree and reads nodes a batch at
//!   a time (so at mixed zxids); every watch event marks its path to be read again; a
//!   path found missing is shipped as a tombstone; a lost watch (the server died, or
//!   the watch fell behind) triggers a full reconciliation. Nodes carry what a client
//!   Stat shows, written through zoolab's import path: containers and TTL nodes become
//!   persistent (the fidelity report says so), versions and counters are kept.
//! - **observer join** (exact): the target's servers join the source as observers and
//!   separate at the cut-over (`observer.rs`); no stream.
//!
//! **Chroot and conflicts.** [`Plan::target_subtree`] is where the subtree lands on the
//! target (every path [`rebase`]d); [`Plan::conflict`] says what to do with znodes the
//! target already holds there ([`conflicts`]).

use super::fence::{self, FENCE_PATH};
use super::fidelity::Transport;
use super::phase::{Evidence, Migration, Phase};
use super::record::{next_stamp, RECORD_PATH};
use super::verify::{self, Fidelity};
use crate::ids::{Epoch, ServerId, SessionId, Zxid};
use crate::sim::{ClientWrite, Role, World};
use crate::text::Joined;
use crate::tree::{self, Acl, DataTree, Import, ImportedNode, NodeKind, StatPersisted, TxnOp};
use crate::vecmap::StringSet;
use crate::vecmap::VecSet;
use crate::zab::zkdb::{ZkDatabase, ZkRequest};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What happens to the source's sessions and their ephemerals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionPolicy {
    /// The session table and ephemerals move with the data: clients keep their
    /// sessions (their passwords derive from the session id).
    Import,
    /// Ephemerals are not copied; moved clients' sessions expire at cut-over and they
    /// register again on the target.
    Expire,
}

impl fmt::Display for SessionPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SessionPolicy::Import => "import",
            SessionPolicy::Expire => "expire",
        })
    }
}

/// What to do when the target already holds znodes where the copy goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Conflict {
    /// Preflight refuses, listing the conflicting paths.
    #[default]
    Fail,
    /// The target's subtree is replaced: its znodes are overwritten by the source's,
    /// and those the source lacks are deleted.
    Overwrite,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Conflict::Fail => "fail",
            Conflict::Overwrite => "overwrite",
        })
    }
}

/// The most conflicting paths the preflight evidence lists.
pub const MAX_CONFLICTS_LISTED: usize = 10;

/// `path` of the subtree `from`, moved under `to` (the chroot rewriting).
pub fn rebase(path: &str, from: &str, to: &str) -> String {
    match verify::relative(from, path) {
        Some(rel) => absolute(to, rel),
        None => path.to_string(),
    }
}

/// Deliberately broken migrations, to prove that the rules' checks can fail.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Broken {
    /// The final-sync gate opens without waiting for the fence zxid.
    pub skip_final_sync: bool,
    /// From catch-up straight to cut-over: no verify, no freeze, no final sync.
    pub cut_over_before_verify: bool,
    /// The target's zxid is not raised at cut-over.
    pub no_zxid_raise: bool,
    /// Ephemerals are copied as persistent nodes (zkcopy's old default).
    pub ephemerals_as_persistent: bool,
}

/// What to migrate, how.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The source cluster (index in the world).
    pub source: usize,
    /// The target cluster.
    pub target: usize,
    /// The subtree (`/`: everything but `/zookeeper`).
    pub subtree: String,
    /// Where it goes on the target (chroot rewriting: `/x` of the source becomes
    /// `/y`); the same path unless told.
    pub target_subtree: String,
    /// What to do with znodes the target already holds there.
    pub conflict: Conflict,
    /// How the data travels.
    pub transport: Transport,
    /// The session policy.
    pub sessions: SessionPolicy,
    /// One-way latency between the clusters (ms).
    pub latency_ms: u64,
    /// Most paths per batch.
    pub batch: usize,
    /// Catch-up's lag bound: source transactions not yet on the target.
    pub lag_bound: u64,
    /// How long the soak lasts before commit may be asked (ms).
    pub soak_ms: u64,
    /// A batch not acknowledged after this long is rebuilt and resent (ms).
    pub resend_ms: u64,
    /// Deliberately broken behaviours (tests only).
    pub broken: Broken,
}

impl Plan {
    /// A plan with the defaults: batches of 500 paths, lag bound 10, soak 1 s.
    pub fn new(
        source: usize,
        target: usize,
        subtree: &str,
        transport: Transport,
        sessions: SessionPolicy,
    ) -> Plan {
        Plan {
            source,
            target,
            subtree: subtree.to_string(),
            target_subtree: subtree.to_string(),
            conflict: Conflict::Fail,
            transport,
            sessions,
            latency_ms: 0,
            batch: 500,
            lag_bound: 10,
            soak_ms: 1_000,
            resend_ms: 2_000,
            broken: Broken::default(),
        }
    }

    fn fidelity(&self) -> Fidelity {
        match self.transport {
            Transport::ClientApi { .. } => Fidelity::Logical,
            Transport::ObserverJoin | Transport::SnapshotAndLog => Fidelity::Exact,
        }
    }
}

/// What the controller asks its driver to do with clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Switch the connect strings of clients on cluster `from` to cluster `to`;
    /// `expire`: their sessions are gone (they start new ones).
    MoveClients {
        /// From.
        from: usize,
        /// To.
        to: usize,
        /// Whether their sessions expire.
        expire: bool,
    },
}

/// What the driver tells the controller about clients.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clients {
    /// The highest zxid any client has seen.
    pub max_zxid: Zxid,
    /// Clients whose connect string points at the source.
    pub on_source: usize,
    /// Clients whose connect string points at the target.
    pub on_target: usize,
}

// One per migration: the size of the replica's `DataTree` inline is no cost worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
enum Reader {
    /// The controller's replica of the source, `zxid` applied.
    Log { mirror: Box<DataTree>, zxid: Zxid },
    /// A watch on one source server: (server, incarnation, applied-count cursor).
    Watch { at: Option<(ServerId, u32, u64)>, read_zxid: Zxid },
}

/// The batch in flight (one at a time).
#[derive(Clone, Debug)]
enum Flight {
    /// Read from the source; reaches the destination's leader at `arrive_at`.
    Travelling { imp: Import, through: Option<Zxid>, paths: Vec<String>, arrive_at: u64 },
    /// Proposed on the destination.
    Proposed { request_id: u64, sent_at: u64, through: Option<Zxid>, paths: Vec<String> },
    /// Committed; the acknowledgement reaches the controller at `at`.
    Acked { at: u64, through: Option<Zxid> },
}

/// One direction of copying.
#[derive(Clone, Debug)]
struct Stream {
    from: usize,
    to: usize,
    /// The subtree read on `from`, and where it goes on `to` (paths in `dirty` are
    /// `from`'s).
    from_scope: String,
    to_scope: String,
    reader: Reader,
    dirty: StringSet,
    /// The source zxid whose state the destination has acknowledged.
    shipped: Zxid,
    flight: Option<Flight>,
    started: bool,
    /// The first full copy is on the destination.
    seeded: bool,
    batches: u64,
    reseeds: u64,
    reconciles: u64,
}

/// The controller. See the [module documentation](self).
#[derive(Clone, Debug)]
pub struct Controller {
    plan: Plan,
    m: Migration,
    fwd: Option<Stream>,
    rev: Option<Stream>,
    /// Control writes (fences, records) waiting to be acknowledged: (cluster, request, what).
    control: Vec<Control>,
    source_fence: Option<Zxid>,
    target_fence: Option<Zxid>,
    target_unfenced: Option<Zxid>,
    raised: Option<Epoch>,
    clients_moved: bool,
    soak_from: u64,
    lines: Vec<String>,
    violation: Option<String>,
    scans: [Zxid; 2],
    /// The max zxid clients had seen when they moved.
    moved_at_zxid: Zxid,
    rolling: Option<Rollback>,
    checked_cut: bool,
    entered: Phase,
    /// Whether the link between the clusters carries traffic (a partition cuts it).
    link_up: bool,
    /// Observer join: the target's servers while they observe the source.
    obs: Option<super::observer::ObserverJoin>,
    /// The record stamps seen at preflight (the stamp is their maximum plus one).
    stamps_seen: Option<Vec<u64>>,
}

#[derive(Clone, Debug)]
struct Control {
    cluster: usize,
    what: ControlKind,
    request_id: Option<u64>,
    submit_at: u64,
    done: Option<Zxid>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ControlKind {
    Record,
    Fence,
    Unfence,
}

impl ControlKind {
    fn word(self) -> &'static str {
        match self {
            ControlKind::Record => "record",
            ControlKind::Fence => "fence",
            ControlKind::Unfence => "unfence",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rollback {
    /// Unfence the source (nothing moved yet).
    UnfenceSource,
    /// Fence the target, drain the reverse mirror, raise the source, unfence, move back.
    FenceTarget,
    Drain,
    Raise,
    Unfence,
    Done,
}

impl Rollback {
    /// What the step does, in words (the rolling-back phase's evidence).
    fn describe(step: Option<Rollback>) -> &'static str {
        match step {
            None => "not started",
            Some(Rollback::UnfenceSource) => "unfence the source (nothing moved yet)",
            Some(Rollback::FenceTarget) => "fence the target",
            Some(Rollback::Drain) => "drain the reverse mirror",
            Some(Rollback::Raise) => "raise the source's epoch",
            Some(Rollback::Unfence) => "unfence the source",
            Some(Rollback::Done) => "done",
        }
    }
}

/// A server for evidence lines: `s3`, or `none`.
fn server_word(s: Option<ServerId>) -> String {
    s.map_or_else(|| "none".to_string(), |s| format!("s{s}"))
}

/// Differences for evidence lines: `/a: data differs (…); /b: ACL differs`.
fn differences<'a>(d: impl IntoIterator<Item = &'a verify::Difference>) -> String {
    d.into_iter().map(|d| format!("{}: {}", d.path, d.what)).collect::<Vec<_>>().join("; ")
}

fn leader_tree(w: &World<ZkDatabase>, c: usize) -> Option<&DataTree> {
    w.server(c, w.leader(c)?).map(|s| s.state().tree())
}

fn serving(w: &World<ZkDatabase>, c: usize) -> Vec<ServerId> {
    w.servers_in(c).iter().filter(|v| v.serving && !v.paused && v.role != Role::Down).map(|v| v.id).collect()
}

fn scope_paths<'t>(t: &'t DataTree, scope: &str) -> impl Iterator<Item = String> + 't {
    let scope = scope.to_string();
    t.nodes().filter(move |(p, _)| fence::in_scope(&scope, p)).map(|(p, _)| p.to_string())
}

fn touched(op: &TxnOp, out: &mut Vec<String>) {
    let with_parent = |p: &str, out: &mut Vec<String>| {
        out.push(p.to_string());
        if let Some(parent) = tree::path::parent(p) {
            out.push(parent.to_string());
        }
    };
    match op {
        TxnOp::Create { path, .. } | TxnOp::Delete { path } | TxnOp::DeleteContainer { path } => {
            with_parent(path, out)
        }
        TxnOp::SetData { path, .. } | TxnOp::SetAcl { path, .. } => out.push(path.clone()),
        TxnOp::CloseSession { paths } => paths.iter().for_each(|p| with_parent(p, out)),
        TxnOp::Multi(ops) => ops.iter().for_each(|o| touched(o, out)),
        TxnOp::Import(i) => {
            i.nodes.iter().for_each(|n| with_parent(&n.path, out));
            i.deletes.iter().for_each(|p| with_parent(p, out));
        }
        TxnOp::CreateSession { .. } | TxnOp::Check { .. } | TxnOp::Error(_) => {}
    }
}

/// Whether a committed transaction is a successful client write in `scope`.
fn client_write_in(t: &tree::Txn, scope: &str) -> bool {
    if t.session.0 == 0 || matches!(t.op, TxnOp::Import(_) | TxnOp::Error(_) | TxnOp::CloseSession { .. }) {
        return false;
    }
    if let TxnOp::Multi(ops) = &t.op {
        if ops.iter().any(|o| matches!(o, TxnOp::Error(_))) {
            return false;
        }
    }
    let mut paths = Vec::new();
    touched(&t.op, &mut paths);
    paths.iter().any(|p| fence::in_scope(scope, p) && !matches!(t.op, TxnOp::Check { .. }))
}

impl Stream {
    fn new(from: (usize, &str), to: (usize, &str), transport: Transport) -> Stream {
        let ((from, from_scope), (to, to_scope)) = ((from.0, from.1.to_string()), (to.0, to.1.to_string()));
        let reader = match transport {
            Transport::ClientApi { .. } => Reader::Watch { at: None, read_zxid: Zxid::ZERO },
            _ => Reader::Log { mirror: Box::new(DataTree::new()), zxid: Zxid::ZERO },
        };
        Stream {
            from,
            to,
            from_scope,
            to_scope,
            reader,
            dirty: StringSet::new(),
            shipped: Zxid::ZERO,
            flight: None,
            started: false,
            seeded: false,
            batches: 0,
            reseeds: 0,
            reconciles: 0,
        }
    }

    /// Paths whose state on the destination is known to be behind: queued, or in the
    /// batch in flight (the "explained" differences of a live verification).
    fn pending(&self) -> VecSet<&str> {
        let mut out: VecSet<&str> = self.dirty.iter().map(String::as_str).collect();
        match &self.flight {
            Some(Flight::Travelling { paths, .. }) | Some(Flight::Proposed { paths, .. }) => {
                out.extend(paths.iter().map(String::as_str))
            }
            _ => {}
        }
        out
    }

    /// The source zxid the reader has reached.
    fn read_zxid(&self) -> Zxid {
        match &self.reader {
            Reader::Log { zxid, .. } => *zxid,
            Reader::Watch { read_zxid, .. } => *read_zxid,
        }
    }

    /// Takes a snapshot of the source's leader (or lists the subtree and registers the
    /// watch); marks every path on either side dirty. False: no leader to read.
    fn seed(&mut self, w: &World<ZkDatabase>, scope: &str, lines: &mut Vec<String>) -> bool {
        let (fs, ts) = (self.from_scope.clone(), self.to_scope.clone());
        let dest: Vec<String> = leader_tree(w, self.to)
            .map(|t| scope_paths(t, &ts).map(|p| rebase(&p, &ts, &fs)).collect())
            .unwrap_or_default();
        match &mut self.reader {
            Reader::Log { mirror, zxid } => {
                let Some(l) = w.leader(self.from) else { return false };
                let Some(s) = w.server(self.from, l) else { return false };
                let Some(committed) =
                    w.servers_in(self.from).iter().find(|v| v.id == l).map(|v| v.applied_zxid)
                else {
                    return false;
                };
                **mirror = s.state().tree().clone();
                *zxid = committed;
                self.dirty.extend(scope_paths(mirror, scope));
                lines.push(format!(
                    "migration: snapshot of cluster {} at {} ({} znodes in scope)",
                    self.from,
                    committed,
                    self.dirty.len()
                ));
            }
            Reader::Watch { .. } => {
                if !self.watch(w, scope, lines) {
                    return false;
                }
            }
        }
        self.dirty.extend(dest);
        self.dirty.insert(String::new()); // the session table
        self.seeded = false;
        true
    }

    /// (Re)registers the client-API watch on a serving source server and walks the
    /// subtree's names (a full reconciliation).
    fn watch(&mut self, w: &World<ZkDatabase>, scope: &str, lines: &mut Vec<String>) -> bool {
        let Some(&id) = serving(w, self.from).first() else { return false };
        let Some(s) = w.server(self.from, id) else { return false };
        let inc = w.incarnation(self.from, id);
        let cursor = s.state().applied_count();
        self.dirty.extend(scope_paths(s.state().tree(), scope));
        if let Some(t) = leader_tree(w, self.to) {
            let (fs, ts) = (self.from_scope.clone(), self.to_scope.clone());
            self.dirty.extend(scope_paths(t, &ts).map(|p| rebase(&p, &ts, &fs)));
        }
        self.reconciles += 1;
        lines.push(format!(
            "migration: recursive watch on {} of cluster {}, walk of {} paths",
            id,
            self.from,
            self.dirty.len()
        ));
        if let Reader::Watch { at, .. } = &mut self.reader {
            *at = Some((id, inc, cursor));
        }
        true
    }

    /// Reads what the source did since the last call.
    fn tail(&mut self, w: &World<ZkDatabase>, scope: &str, lines: &mut Vec<String>) {
        match &mut self.reader {
            Reader::Log { mirror, zxid } => {
                // The most advanced up server of the source, leader first.
                let views = w.servers_in(self.from);
                let best = views
                    .iter()
                    .filter(|v| v.role != Role::Down)
                    .max_by_key(|v| (v.committed_zxid.min(v.last_zxid), v.role == Role::Leading, v.id.0));
                let Some(v) = best else { return };
                let Some(s) = w.server(self.from, v.id) else { return };
                let log = &s.durable().log;
                let committed = v.committed_zxid.min(v.last_zxid);
                if committed <= *zxid {
                    return;
                }
                if log.snapshot_zxid() > *zxid {
                    // The log we need was purged: start again from a new snapshot.
                    self.reseeds += 1;
                    lines.push(format!(
                        "migration: log of cluster {} purged past {}; re-seeding",
                        self.from, zxid
                    ));
                    let old: Vec<String> = scope_paths(mirror, scope).collect();
                    self.dirty.extend(old);
                    let Some(l) = w.leader(self.from) else { return };
                    let Some(ls) = w.server(self.from, l) else { return };
                    **mirror = ls.state().tree().clone();
                    *zxid = views.iter().find(|x| x.id == l).map_or(*zxid, |x| x.applied_zxid);
                    self.dirty.extend(scope_paths(mirror, scope));
                    self.dirty.insert(String::new());
                    return;
                }
                let start = log.index_after(*zxid);
                let mut paths = Vec::new();
                for e in &log.entries()[start..] {
                    if e.zxid > committed {
                        break;
                    }
                    mirror.apply(&e.txn);
                    paths.clear();
                    touched(&e.txn.op, &mut paths);
                    self.dirty.extend(paths.drain(..).filter(|p| fence::in_scope(scope, p)));
                    if matches!(e.txn.op, TxnOp::CreateSession { .. } | TxnOp::CloseSession { .. }) {
                        self.dirty.insert(String::new()); // the session table
                    }
                    *zxid = e.zxid;
                }
            }
            Reader::Watch { at, read_zxid } => {
                let mut lost = at.is_none();
                if let Some((id, inc, cursor)) = *at {
                    let alive = w.incarnation(self.from, id) == inc
                        && serving(w, self.from).contains(&id)
                        && w.server(self.from, id).is_some();
                    if !alive {
                        lost = true;
                    } else {
                        let db = w.server(self.from, id).expect("alive").state();
                        match db.triggers_since(cursor) {
                            Err(_) => lost = true,
                            Ok(it) => {
                                for (_, triggers) in it {
                                    for t in triggers {
                                        if fence::in_scope(scope, &t.path) {
                                            self.dirty.insert(t.path.clone());
                                        }
                                    }
                                }
                                *at = Some((id, inc, db.applied_count()));
                                *read_zxid = db.tree().last_zxid();
                            }
                        }
                    }
                }
                if lost {
                    *at = None;
                    *read_zxid = Zxid::ZERO.max(*read_zxid);
                    self.watch(w, scope, lines);
                }
            }
        }
    }

    /// Builds the next batch, if none is in flight and something is dirty.
    fn batch(
        &mut self,
        w: &World<ZkDatabase>,
        plan: &Plan,
        stamp: u64,
    ) -> Option<(Import, Option<Zxid>, Vec<String>)> {
        let logical = matches!(plan.transport, Transport::ClientApi { .. });
        let expire = plan.sessions == SessionPolicy::Expire;
        // What the source looks like, and at which zxid.
        let (src, at): (&DataTree, Zxid) = match &self.reader {
            Reader::Log { mirror, zxid } => (mirror, *zxid),
            Reader::Watch { at, .. } => {
                let (id, _, _) = (*at)?;
                let t = w.server(self.from, id)?.state().tree();
                let z = w
                    .servers_in(self.from)
                    .iter()
                    .find(|v| v.id == id)
                    .map_or(Zxid::ZERO, |v| v.applied_zxid);
                (t, z)
            }
        };
        let dest = leader_tree(w, self.to)?;
        let take: Vec<String> = self.dirty.iter().take(plan.batch.max(1)).cloned().collect();
        let mut imp = Import::default();
        for p in &take {
            if p.is_empty() {
                if !expire && !logical {
                    let want = src.sessions();
                    imp.sessions = want.iter().map(|(s, t)| (*s, *t)).collect();
                    imp.closed_sessions =
                        dest.sessions().keys().filter(|s| !want.contains_key(s)).copied().collect();
                }
                continue;
            }
            let node = src.node(p).filter(|n| {
                let eph = matches!(n.kind(), NodeKind::Ephemeral(_));
                !(eph && (expire || logical)) || plan.broken.ephemerals_as_persistent
            });
            match node {
                Some(n) => {
                    let mut stat = n.stat;
                    if logical {
                        // What a client Stat shows: containers and TTL nodes look
                        // persistent; the internal cversion follows from cversion and
                        // numChildren.
                        stat = StatPersisted::from_client(&n.client_stat());
                    }
                    if plan.broken.ephemerals_as_persistent && matches!(n.kind(), NodeKind::Ephemeral(_)) {
                        stat.ephemeral_owner = 0;
                    }
                    imp.nodes.push(ImportedNode {
                        path: rebase(p, &self.from_scope, &self.to_scope),
                        data: n.data.clone(),
                        acl: src.acl_of(n).to_vec(),
                        stat,
                    });
                }
                None => imp.deletes.push(rebase(p, &self.from_scope, &self.to_scope)),
            }
        }
        imp.deletes.reverse();
        for p in &take {
            self.dirty.remove(p);
        }
        let through = self.dirty.is_empty().then_some(at);
        imp.nodes.push(record_node(stamp, through.unwrap_or(self.shipped)));
        Some((imp, through, take))
    }
}

fn record_node(stamp: u64, through: Zxid) -> ImportedNode {
    ImportedNode {
        path: RECORD_PATH.to_string(),
        data: format!("stamp={stamp} through={through}").into_bytes().into(),
        acl: Acl::open_unsafe(),
        stat: StatPersisted::default(),
    }
}

/// The stamp in a cluster's migration record (0: none).
pub fn record_stamp(t: &DataTree) -> u64 {
    t.node(RECORD_PATH)
        .and_then(|n| {
            let s = String::from_utf8_lossy(&n.data).into_owned();
            s.split_whitespace().find_map(|f| f.strip_prefix("stamp=").and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn submit(w: &mut World<ZkDatabase>, c: usize, imp: Import) -> Option<u64> {
    let l = w.leader(c)?;
    Some(w.write_in(
        c,
        l,
        ZkRequest::write(SessionId(0), tree::AuthInfo::from_ip("127.0.0.1"), tree::WriteRequest::Import(imp)),
    ))
}

impl Controller {
    /// A migration in draft. Its stamp is taken from the records both clusters hold
    /// (the maximum plus one) at preflight.
    pub fn new(plan: Plan) -> Controller {
        Controller {
            plan,
            m: Migration::new(0),
            fwd: None,
            rev: None,
            control: Vec::new(),
            source_fence: None,
            target_fence: None,
            target_unfenced: None,
            raised: None,
            clients_moved: false,
            soak_from: 0,
            lines: Vec::new(),
            violation: None,
            scans: [Zxid::ZERO; 2],
            moved_at_zxid: Zxid::ZERO,
            rolling: None,
            checked_cut: false,
            entered: Phase::Draft,
            link_up: true,
            obs: None,
            stamps_seen: None,
        }
    }

    /// Cuts (`false`) or restores the link between the clusters: while it is cut,
    /// nothing crosses it (batches wait, control writes to the far cluster wait, and
    /// acknowledgements wait); batches that wait too long are resent.
    pub fn set_link(&mut self, up: bool) {
        if self.link_up != up {
            self.lines.push(format!(
                "migration: link between the clusters {}",
                if up { "restored" } else { "cut" }
            ));
        }
        self.link_up = up;
    }

    /// The plan.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The phase machine (phase, stamp, journal).
    pub fn migration(&self) -> &Migration {
        &self.m
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.m.phase()
    }

    /// The first rule the migration broke.
    pub fn violation(&self) -> Option<&str> {
        self.violation.as_deref()
    }

    /// The source's fence zxid, once frozen.
    pub fn fence_zxid(&self) -> Option<Zxid> {
        self.source_fence
    }

    /// Trace lines not yet taken.
    pub fn take_lines(&mut self) -> Vec<String> {
        std::mem::take(&mut self.lines)
    }

    fn fail(&mut self, what: String) {
        if self.violation.is_none() {
            self.lines.push(format!("migration: VIOLATION {what}"));
            self.violation = Some(what);
        }
    }

    /// A control write: the controller runs beside the source, so writes to the other
    /// cluster cross the link.
    fn control(&mut self, cluster: usize, what: ControlKind, now: u64) {
        let delay = if cluster == self.plan.source { 0 } else { self.plan.latency_ms };
        self.control.push(Control { cluster, what, request_id: None, submit_at: now + delay, done: None });
    }

    fn control_done(&self, cluster: usize, what: ControlKind) -> Option<Zxid> {
        self.control.iter().rev().find(|c| c.cluster == cluster && c.what == what).and_then(|c| c.done)
    }

    fn control_pending(&self) -> bool {
        self.control.iter().any(|c| c.done.is_none())
    }

    /// Background work after every simulated step: read the source, ship batches,
    /// carry control writes, and check the rules.
    pub fn tick(&mut self, w: &mut World<ZkDatabase>, clients: Clients) -> Vec<Request> {
        let now = w.now();
        let stamp = self.m.stamp();
        // Control writes (records, fences): submitted after the link's latency,
        // resubmitted when lost.
        for i in 0..self.control.len() {
            let c = &self.control[i];
            if c.done.is_some() || now < c.submit_at || (c.cluster != self.plan.source && !self.link_up) {
                continue;
            }
            let status = c.request_id.and_then(|r| w.write_status(r));
            match status {
                Some(ClientWrite::Ok(z)) => {
                    self.control[i].done = Some(z);
                    let c = &self.control[i];
                    self.lines.push(format!(
                        "migration: {} on cluster {} committed at {}",
                        c.what.word(),
                        c.cluster,
                        z
                    ));
                }
                Some(ClientWrite::Pending) if now < c.submit_at + self.plan.resend_ms => {}
                _ => {
                    let (cluster, what) = (c.cluster, c.what);
                    let mut imp = Import::default();
                    match what {
                        ControlKind::Record => imp.nodes.push(record_node(stamp, Zxid::ZERO)),
                        ControlKind::Fence => imp.nodes.push(ImportedNode {
                            path: FENCE_PATH.to_string(),
                            data: if cluster == self.plan.target {
                                self.plan.target_subtree.clone()
                            } else {
                                self.plan.subtree.clone()
                            }
                            .into_bytes()
                            .into(),
                            acl: Acl::open_unsafe(),
                            stat: StatPersisted::default(),
                        }),
                        ControlKind::Unfence => imp.deletes.push(FENCE_PATH.to_string()),
                    }
                    let r = submit(w, cluster, imp);
                    self.control[i].request_id = r;
                    self.control[i].submit_at = now;
                }
            }
        }
        self.drive_observers(w, clients);
        for dir in 0..2 {
            let mut s = if dir == 0 { self.fwd.take() } else { self.rev.take() };
            if let Some(st) = s.as_mut() {
                self.pump_stream(w, st, stamp, now);
            }
            if dir == 0 {
                self.fwd = s;
            } else {
                self.rev = s;
            }
        }
        let out = self.effects(w, clients);
        self.check(w, clients);
        out
    }

    fn pump_stream(&mut self, w: &mut World<ZkDatabase>, st: &mut Stream, stamp: u64, now: u64) {
        let scope = st.from_scope.clone();
        if !st.started {
            if !st.seed(w, &scope, &mut self.lines) {
                return;
            }
            st.started = true;
        }
        st.tail(w, &scope, &mut self.lines);
        match st.flight.take() {
            None => {}
            Some(Flight::Travelling { imp, through, paths, arrive_at }) => {
                if now < arrive_at || !self.link_up {
                    st.flight = Some(Flight::Travelling { imp, through, paths, arrive_at });
                } else {
                    match submit(w, st.to, imp.clone()) {
                        Some(request_id) => {
                            st.flight = Some(Flight::Proposed { request_id, sent_at: now, through, paths })
                        }
                        // No leader yet: wait for one.
                        None => st.flight = Some(Flight::Travelling { imp, through, paths, arrive_at }),
                    }
                }
            }
            Some(Flight::Proposed { request_id, sent_at, through, paths }) => {
                match w.write_status(request_id) {
                    Some(ClientWrite::Ok(_)) => {
                        st.flight = Some(Flight::Acked { at: now + self.plan.latency_ms, through });
                    }
                    Some(ClientWrite::Pending) if now < sent_at + self.plan.resend_ms => {
                        st.flight = Some(Flight::Proposed { request_id, sent_at, through, paths });
                    }
                    _ => {
                        // Lost (a leader change) or refused: its paths are dirty again.
                        self.lines.push(format!("migration: batch to cluster {} lost; resending", st.to));
                        st.dirty.extend(paths);
                    }
                }
            }
            Some(Flight::Acked { at, through }) => {
                if now < at || !self.link_up {
                    st.flight = Some(Flight::Acked { at, through });
                } else {
                    st.batches += 1;
                    if let Some(t) = through {
                        st.shipped = st.shipped.max(t);
                        st.seeded = true;
                    }
                }
            }
        }
        if st.flight.is_none() && st.dirty.is_empty() && st.seeded {
            // Nothing in scope changed since: the destination is current through here.
            st.shipped = st.shipped.max(st.read_zxid());
        }
        if st.flight.is_none() && !st.dirty.is_empty() {
            if let Some((imp, through, paths)) = st.batch(w, &self.plan, stamp) {
                st.flight =
                    Some(Flight::Travelling { imp, through, paths, arrive_at: now + self.plan.latency_ms });
            }
        }
    }

    /// Whether a stream is idle and has shipped through the source's committed state.
    fn caught_up(&self, w: &World<ZkDatabase>, st: &Stream) -> (bool, String) {
        let src = w.servers_in(st.from).iter().map(|v| v.committed_zxid).max().unwrap_or(Zxid::ZERO);
        let lag = if src > st.shipped { lag_txns(w, st.from, st.shipped, src) } else { 0 };
        let idle = st.flight.is_none() && st.dirty.is_empty();
        (
            idle && st.seeded,
            format!(
                "target holds source state through {}, source committed {}, lag {} txns, {} paths queued, {} batches",
                st.shipped,
                src,
                lag,
                st.dirty.len(),
                st.batches
            ),
        )
    }

    /// What entering a phase does (once).
    fn effects(&mut self, w: &mut World<ZkDatabase>, clients: Clients) -> Vec<Request> {
        let now = w.now();
        let mut out = Vec::new();
        let phase = self.m.phase();
        if phase != self.entered {
            self.entered = phase;
            match phase {
                Phase::Preflight => {
                    let seen: Vec<u64> = [self.plan.source, self.plan.target]
                        .iter()
                        .filter_map(|&c| leader_tree(w, c).map(record_stamp))
                        .collect();
                    let stamp = next_stamp(&seen).max(self.m.stamp());
                    // The controller takes its stamp (max seen + 1) and writes the record on
                    // both clusters; the target's subtree is fenced from clients until cut-over.
                    let _ = self.m.claim(stamp);
                    self.lines.push(format!("migration: stamp {stamp} (max({}) + 1)", Joined(&seen, ", ")));
                    self.stamps_seen = Some(seen);
                    self.control(self.plan.source, ControlKind::Record, now);
                    self.control(self.plan.target, ControlKind::Record, now);
                    self.control(self.plan.target, ControlKind::Fence, now);
                }
                // Observer join: the target's servers join the source (`drive_observers`).
                Phase::Seed if self.plan.transport == Transport::ObserverJoin => {}
                Phase::Seed => {
                    let p = &self.plan;
                    self.fwd =
                        Some(Stream::new((p.source, &p.subtree), (p.target, &p.target_subtree), p.transport));
                }
                Phase::Freeze if !self.plan.broken.cut_over_before_verify => {
                    self.control(self.plan.source, ControlKind::Fence, now);
                }
                Phase::FinalSync => {
                    // The client API re-walks everything once more under the fence.
                    if let Some(st) = self.fwd.as_mut() {
                        if matches!(st.reader, Reader::Watch { .. }) {
                            st.reader = Reader::Watch { at: None, read_zxid: Zxid::ZERO };
                        }
                    }
                }
                Phase::CutOver if self.obs.is_some() => {
                    // Out of the source's configuration first; raised once home.
                    if let Some(o) = self.obs.as_mut() {
                        o.leave(false, &mut self.lines);
                    }
                }
                Phase::CutOver => {
                    self.fwd = None;
                    if !self.plan.broken.no_zxid_raise {
                        self.raise_target(w, clients, now);
                    } else {
                        self.control(self.plan.target, ControlKind::Unfence, now);
                    }
                }
                Phase::Soak => {
                    self.soak_from = now;
                    let p = &self.plan;
                    self.rev = Some(Stream::new(
                        (p.target, &p.target_subtree),
                        (p.source, &p.subtree),
                        Transport::SnapshotAndLog,
                    ));
                }
                Phase::Committed => {
                    self.rev = None;
                }
                _ => {}
            }
        }
        // The source may have moved on since (a new epoch after a leader change, error
        // transactions, session traffic): if a client saw a zxid of an epoch the target
        // has not passed, raise again.
        if phase == Phase::CutOver && !self.plan.broken.no_zxid_raise {
            let target_epoch =
                w.servers_in(self.plan.target).iter().filter(|v| v.serving).map(|v| v.epoch).max();
            let raising = self.control.iter().any(|c| c.cluster == self.plan.target && c.done.is_none());
            if target_epoch.is_some_and(|e| e <= clients.max_zxid.epoch()) && !raising {
                self.raise_target(w, clients, now);
            }
        }
        // At cut-over, once the target's zxid is raised (a record write in its new
        // epoch committed), the target is unfenced.
        if phase == Phase::CutOver && self.raised.is_some() {
            let raised = self
                .control
                .iter()
                .rev()
                .find(|c| c.cluster == self.plan.target && c.what == ControlKind::Record);
            let unfencing =
                self.control.iter().any(|c| c.cluster == self.plan.target && c.what == ControlKind::Unfence);
            if raised.is_some_and(|c| c.done.is_some()) && !unfencing {
                self.control(self.plan.target, ControlKind::Unfence, now);
            }
        }
        // Clients move as the soak starts (the target is unfenced by then).
        if phase == Phase::Soak
            && !self.clients_moved
            && self.control_done(self.plan.target, ControlKind::Unfence).is_some()
        {
            self.clients_moved = true;
            self.target_unfenced = self.control_done(self.plan.target, ControlKind::Unfence);
            self.moved_at_zxid = clients.max_zxid;
            let target =
                w.servers_in(self.plan.target).iter().map(|v| v.applied_zxid).max().unwrap_or(Zxid::ZERO);
            if clients.max_zxid > target {
                self.fail(format!(
                    "clients went back in time: a client saw {} but the target is at {} (it would be refused)",
                    clients.max_zxid, target
                ));
            }
            out.push(Request::MoveClients {
                from: self.plan.source,
                to: self.plan.target,
                expire: self.plan.sessions == SessionPolicy::Expire,
            });
            self.lines.push("migration: clients move to the target".into());
        }
        if let Some(r) = self.rolling {
            out.extend(self.roll(w, r, clients));
        }
        if let Some(z) = self.control_done(self.plan.source, ControlKind::Fence) {
            self.source_fence.get_or_insert(z);
        }
        if let Some(z) = self.control_done(self.plan.target, ControlKind::Fence) {
            self.target_fence.get_or_insert(z);
        }
        out
    }

    /// Observer join: the target's servers join the source when seeding starts, and
    /// leave it at the cut-over (or a rollback); once home after the cut-over, the
    /// target is raised above the source's epoch like any target.
    fn drive_observers(&mut self, w: &mut World<ZkDatabase>, clients: Clients) {
        if self.plan.transport != Transport::ObserverJoin {
            return;
        }
        let phase = self.m.phase();
        if self.obs.is_none() && phase == Phase::Seed {
            self.obs = super::observer::ObserverJoin::start(w, &self.plan, &mut self.lines);
        }
        let Some(mut o) = self.obs.take() else { return };
        let home = o.tick(w, &self.plan, self.link_up, &mut self.lines);
        let separated = matches!(o.place, super::observer::Place::Home { restored: false });
        self.obs = Some(o);
        if let Some(z) = home.filter(|_| separated) {
            // The target now holds the source's history, fence marker included: its
            // fence is the source's, and its log is scanned from here on.
            self.target_fence = self.source_fence.or(self.target_fence);
            self.scans[1] = self.scans[1].max(z);
        }
        if separated && phase == Phase::CutOver && self.raised.is_none() {
            let now = w.now();
            if self.plan.broken.no_zxid_raise {
                if !self
                    .control
                    .iter()
                    .any(|c| c.cluster == self.plan.target && c.what == ControlKind::Unfence)
                {
                    self.control(self.plan.target, ControlKind::Unfence, now);
                }
            } else {
                self.raise_target(w, clients, now);
            }
        }
    }

    /// Evidence of the observer-join transport for seed, catch-up, verify, final sync.
    fn observer_evidence(&self, w: &World<ZkDatabase>) -> Evidence {
        let p = &self.plan;
        let ok = |holds: bool, detail: String| Evidence { holds, detail };
        let Some(o) = &self.obs else {
            return ok(false, "the target's servers have not joined yet (the source needs a leader)".into());
        };
        let (synced, slowest, detail) = o.progress(w, p);
        let Some(l) = w.leader(p.source) else { return ok(false, format!("source has no leader; {detail}")) };
        let views = w.servers_in(p.source);
        let leader_applied = views.iter().find(|v| v.id == l).map_or(Zxid::ZERO, |v| v.applied_zxid);
        let committed = views.iter().map(|v| v.committed_zxid).max().unwrap_or(Zxid::ZERO);
        let lag = if committed > slowest { lag_txns(w, p.source, slowest, committed) } else { 0 };
        let detail =
            format!("{detail}; source committed {committed}, slowest observer {slowest}, lag {lag} txns");
        // An observer's tree against the leader's, at a zxid both have applied.
        let same = |need: Zxid| -> Option<String> {
            let src = leader_tree(w, p.source)?;
            let mut out = Vec::new();
            for v in o.views(w, p.source) {
                let t = w.server(p.source, v.id)?.state().tree();
                if !v.serving || v.applied_zxid < need {
                    return None;
                }
                if v.applied_zxid != leader_applied {
                    return None;
                }
                let d = compare(src, t, p, 3);
                if !d.is_empty() || t.digest() != src.digest() {
                    return Some(format!("s{} differs at {}: {}", v.id, v.applied_zxid, differences(&d)));
                }
                out.push(format!("s{}", v.id));
            }
            let h = verify::summarize(src, &p.subtree, Fidelity::Exact);
            Some(format!(
                "{} equal to the leader at {leader_applied}: {h}; ZooKeeper digest {:x} equal",
                out.join(","),
                src.digest()
            ))
        };
        match self.m.phase() {
            Phase::Seed => ok(synced, detail),
            Phase::CatchUp => ok(synced && lag <= p.lag_bound, detail),
            Phase::Verify => match same(Zxid::ZERO) {
                Some(v) if !v.contains("differs") => ok(synced, format!("{detail}; {v}")),
                Some(v) => ok(false, format!("{detail}; {v}")),
                None => ok(false, format!("{detail}; waiting for the observers to reach the leader's zxid")),
            },
            Phase::FinalSync => {
                let Some(fz) = self.source_fence else { return ok(false, "no fence".into()) };
                match same(fz) {
                    Some(v) if !v.contains("differs") => ok(synced, format!("fence {fz}; {detail}; {v}")),
                    Some(v) => ok(false, format!("fence {fz}; {detail}; {v}")),
                    None => {
                        ok(false, format!("fence {fz}; {detail}; waiting for every observer to apply it"))
                    }
                }
            }
            _ => ok(false, detail),
        }
    }

    /// Restarts the target's election above every epoch the source or a client has
    /// shown, then writes the record in the new epoch.
    fn raise_target(&mut self, w: &mut World<ZkDatabase>, clients: Clients, now: u64) {
        let src_epoch = w.servers_in(self.plan.source).iter().map(|v| v.epoch).max().unwrap_or(Epoch(0));
        let epoch = src_epoch
            .max(clients.max_zxid.epoch())
            .max(w.servers_in(self.plan.target).iter().map(|v| v.accepted_epoch).max().unwrap_or(Epoch(0)));
        w.raise_epoch_in(self.plan.target, epoch);
        self.raised = Some(epoch);
        self.lines.push(format!(
            "migration: cluster {} restarts its election above epoch {}",
            self.plan.target, epoch.0
        ));
        // A write in the new epoch, so the target's zxid passes the source's.
        self.control(self.plan.target, ControlKind::Record, now);
    }

    fn roll(&mut self, w: &mut World<ZkDatabase>, r: Rollback, clients: Clients) -> Vec<Request> {
        let now = w.now();
        let mut out = Vec::new();
        let next = match r {
            Rollback::UnfenceSource => {
                let home = self.obs.as_ref().is_none_or(|o| o.home());
                if home
                    && (self.control_done(self.plan.source, ControlKind::Unfence).is_some()
                        || self.source_fence.is_none() && !self.control_pending())
                {
                    Some(Rollback::Done)
                } else {
                    None
                }
            }
            Rollback::FenceTarget => {
                if self
                    .control_done(self.plan.target, ControlKind::Fence)
                    .is_some_and(|z| Some(z) > self.target_unfenced)
                {
                    // A full pass before the source takes over again: while it was
                    // fenced its tracker may have expired the sessions that moved
                    // (and their ephemerals); the target's table and nodes win.
                    let scope = self.plan.target_subtree.clone();
                    if let Some(st) = self.rev.as_mut() {
                        if let Reader::Log { mirror, .. } = &st.reader {
                            let all: Vec<String> = scope_paths(mirror, &scope).collect();
                            st.dirty.extend(all);
                        }
                        st.dirty.insert(String::new());
                    }
                    Some(Rollback::Drain)
                } else {
                    None
                }
            }
            Rollback::Drain => {
                let done = self.rev.as_ref().is_none_or(|st| {
                    let tf = self.control_done(self.plan.target, ControlKind::Fence).unwrap_or(Zxid::ZERO);
                    st.flight.is_none() && st.dirty.is_empty() && st.shipped >= tf
                });
                if done {
                    self.rev = None;
                    let epoch = w
                        .servers_in(self.plan.target)
                        .iter()
                        .map(|v| v.epoch)
                        .max()
                        .unwrap_or(Epoch(0))
                        .max(clients.max_zxid.epoch());
                    w.raise_epoch_in(self.plan.source, epoch);
                    self.lines.push(format!(
                        "migration: cluster {} restarts its election above epoch {}",
                        self.plan.source, epoch.0
                    ));
                    self.control(self.plan.source, ControlKind::Record, now);
                    Some(Rollback::Raise)
                } else {
                    None
                }
            }
            Rollback::Raise => {
                let n = self
                    .control
                    .iter()
                    .rev()
                    .find(|c| c.cluster == self.plan.source && c.what == ControlKind::Record);
                if n.is_some_and(|c| c.done.is_some()) {
                    self.control(self.plan.source, ControlKind::Unfence, now);
                    Some(Rollback::Unfence)
                } else {
                    None
                }
            }
            Rollback::Unfence => {
                if self.control_done(self.plan.source, ControlKind::Unfence).is_some() {
                    out.push(Request::MoveClients {
                        from: self.plan.target,
                        to: self.plan.source,
                        expire: self.plan.sessions == SessionPolicy::Expire,
                    });
                    self.lines.push("migration: clients move back to the source".into());
                    Some(Rollback::Done)
                } else {
                    None
                }
            }
            Rollback::Done => None,
        };
        if let Some(n) = next {
            self.rolling = Some(n);
        }
        out
    }

    /// The evidence for leaving the current phase, measured on the live clusters.
    pub fn evidence(&self, w: &World<ZkDatabase>, clients: Clients) -> Evidence {
        let p = &self.plan;
        let ok = |holds: bool, detail: String| Evidence { holds, detail };
        match self.m.phase() {
            Phase::Draft => {
                let problem = if p.source == p.target {
                    Some("source and target are the same cluster".to_string())
                } else if p.target_subtree.starts_with("/zookeeper")
                    || p.subtree.starts_with("/zookeeper")
                    || !p.target_subtree.starts_with('/')
                {
                    Some("/zookeeper belongs to each cluster: it is never migrated".into())
                } else if p.transport == Transport::ObserverJoin
                    && (p.subtree != "/" || p.target_subtree != "/")
                {
                    Some(
                        "observer join replicates the whole tree: migrate subtree / (or use snapshot)".into(),
                    )
                } else if p.transport == Transport::ObserverJoin && p.sessions == SessionPolicy::Expire {
                    Some("observer join replicates the session table: use sessions import".into())
                } else if matches!(p.transport, Transport::ClientApi { .. })
                    && p.sessions == SessionPolicy::Import
                {
                    Some("the client API cannot read the session table: use sessions expire".into())
                } else {
                    None
                };
                match problem {
                    Some(why) => ok(false, why),
                    None => ok(
                        true,
                        if p.target_subtree == p.subtree && p.conflict == Conflict::Fail {
                            format!("subtree {} via {}, sessions {}", p.subtree, p.transport, p.sessions)
                        } else {
                            format!(
                                "subtree {} into {} via {}, sessions {}, on conflict {}",
                                p.subtree, p.target_subtree, p.transport, p.sessions, p.conflict
                            )
                        },
                    ),
                }
            }
            Phase::Preflight => {
                let leaders = (w.leader(p.source), w.leader(p.target));
                let written = !self.control_pending() && self.control.len() >= 3;
                let stamps: Vec<u64> = [p.source, p.target]
                    .iter()
                    .filter_map(|&c| leader_tree(w, c).map(record_stamp))
                    .collect();
                let dst = leader_tree(w, p.target);
                let target_nodes = dst.map_or(0, |t| scope_paths(t, &p.target_subtree).count());
                // What the target already holds where the copy goes (its root `/` is
                // not a conflict; with observer join the whole tree is replaced).
                let conflicts: Vec<String> = dst.map(|t| conflicts(t, p)).unwrap_or_default();
                let parent_missing = tree::path::parent(&p.target_subtree)
                    .filter(|parent| dst.is_some_and(|t| t.node(parent).is_none()))
                    .map(str::to_string);
                let src = leader_tree(w, p.source);
                let report = src.map(|t| super::fidelity::report(t, &p.subtree, p.transport).to_string());
                let scope_text = if conflicts.is_empty() {
                    format!("target has {target_nodes} znodes in scope (overwritten)")
                } else {
                    format!(
                        "target has {target_nodes} znodes in scope, {} conflicting: {}{} (on conflict {}: {})",
                        conflicts.len(),
                        Joined(&conflicts[..conflicts.len().min(MAX_CONFLICTS_LISTED)], ", "),
                        if conflicts.len() > MAX_CONFLICTS_LISTED { " …" } else { "" },
                        p.conflict,
                        match p.conflict {
                            Conflict::Fail => "refused",
                            Conflict::Overwrite => "replaced",
                        }
                    )
                };
                let refused = !conflicts.is_empty() && p.conflict == Conflict::Fail;
                let parent_text = parent_missing
                    .as_ref()
                    .map(|q| format!("; {q} missing on the target"))
                    .unwrap_or_default();
                ok(
                    leaders.0.is_some()
                        && leaders.1.is_some()
                        && written
                        && stamps.iter().all(|&s| s == self.m.stamp())
                        && !refused
                        && parent_missing.is_none(),
                    format!(
                        "leaders {}/{}; records stamp {}; {scope_text}{parent_text}; {}",
                        server_word(leaders.0),
                        server_word(leaders.1),
                        if stamps.is_empty() { "none".to_string() } else { Joined(&stamps, "/").to_string() },
                        report.unwrap_or_default().trim_end()
                    ),
                )
            }
            Phase::Seed | Phase::CatchUp | Phase::Verify if p.transport == Transport::ObserverJoin => {
                if p.broken.cut_over_before_verify && self.m.phase() == Phase::Verify {
                    return ok(true, "verification skipped (broken)".into());
                }
                self.observer_evidence(w)
            }
            Phase::FinalSync
                if p.transport == Transport::ObserverJoin
                    && !(p.broken.cut_over_before_verify || p.broken.skip_final_sync) =>
            {
                self.observer_evidence(w)
            }
            Phase::Seed => match &self.fwd {
                Some(st) => {
                    let n = leader_tree(w, p.target).map_or(0, |t| scope_paths(t, &p.target_subtree).count());
                    ok(
                        st.seeded,
                        format!(
                            "seed {}; target has {} znodes in scope",
                            if st.seeded { "complete" } else { "copying" },
                            n
                        ),
                    )
                }
                None => ok(false, "no stream".into()),
            },
            Phase::CatchUp => match &self.fwd {
                Some(st) => {
                    let src =
                        w.servers_in(st.from).iter().map(|v| v.committed_zxid).max().unwrap_or(Zxid::ZERO);
                    let lag = if src > st.shipped { lag_txns(w, st.from, st.shipped, src) } else { 0 };
                    let (_, detail) = self.caught_up(w, st);
                    ok(st.seeded && lag <= p.lag_bound, detail)
                }
                None => ok(false, "no stream".into()),
            },
            Phase::Verify => {
                if p.broken.cut_over_before_verify {
                    return ok(true, "verification skipped (broken)".into());
                }
                let Some(st) = &self.fwd else { return ok(false, "no stream".into()) };
                let (_, detail) = self.caught_up(w, st);
                let (Some(dst), Some(src)) = (leader_tree(w, p.target), self.source_view(w)) else {
                    return ok(false, "a cluster has no leader".into());
                };
                // Differences on paths queued or in flight are explained (the source
                // keeps writing); any other is not.
                let pending = st.pending();
                let all = compare(src, dst, p, 64);
                let unexplained: Vec<&verify::Difference> = all
                    .iter()
                    .filter(|d| !pending.contains(absolute(&p.subtree, &d.path).as_str()))
                    .collect();
                let ss = verify::summarize(src, &p.subtree, p.fidelity());
                let ds = verify::summarize(dst, &p.target_subtree, p.fidelity());
                ok(
                    st.seeded && unexplained.is_empty(),
                    format!(
                        "{detail}; source {ss}; target {ds}; {} differences, {} unexplained{}{}",
                        all.len(),
                        unexplained.len(),
                        if unexplained.is_empty() { "" } else { ": " },
                        differences(unexplained.iter().take(3).copied())
                    ),
                )
            }
            Phase::Freeze => {
                if p.broken.cut_over_before_verify {
                    return ok(true, "freeze skipped (broken)".into());
                }
                match self.source_fence {
                    Some(z) => ok(true, format!("fence committed on the source at {z}")),
                    None => ok(false, "fence not committed yet".into()),
                }
            }
            Phase::FinalSync => {
                if p.broken.cut_over_before_verify || p.broken.skip_final_sync {
                    return ok(true, "final sync skipped (broken)".into());
                }
                let Some(st) = &self.fwd else { return ok(false, "no stream".into()) };
                let Some(fz) = self.source_fence else { return ok(false, "no fence".into()) };
                let (idle, detail) = self.caught_up(w, st);
                let through = st.shipped >= fz;
                if !(idle && through) {
                    // Not there yet: no need to hash the trees.
                    return ok(false, format!("fence {fz}; {detail}"));
                }
                let (Some(dst), Some(src)) = (leader_tree(w, p.target), self.source_view(w)) else {
                    return ok(false, "a cluster has no leader".into());
                };
                let d = compare(src, dst, p, 5);
                let hs = verify::summarize(src, &p.subtree, p.fidelity()).hash;
                let ht = verify::summarize(dst, &p.target_subtree, p.fidelity()).hash;
                // ZooKeeper's own digest compares whole trees: it applies to an exact
                // copy of `/` with its ephemerals (shown, not gated on).
                let digest = if p.subtree == "/"
                    && p.target_subtree == "/"
                    && p.fidelity() == Fidelity::Exact
                    && p.sessions == SessionPolicy::Import
                {
                    format!(
                        "; ZooKeeper digest {:x} / {:x} ({})",
                        src.digest(),
                        dst.digest(),
                        if src.digest() == dst.digest() { "equal" } else { "different" }
                    )
                } else {
                    String::new()
                };
                ok(
                    idle && through && d.is_empty(),
                    format!(
                        "fence {fz}; {detail}; hashes {} / {}; {} differences{digest}",
                        &hs[..12],
                        &ht[..12],
                        d.len()
                    ),
                )
            }
            Phase::CutOver => {
                let target =
                    w.servers_in(p.target).iter().filter(|v| v.serving).map(|v| v.applied_zxid).max();
                let written = self.control_done(p.target, ControlKind::Unfence).is_some();
                match target {
                    Some(z) => ok(
                        written
                            && w.leader(p.target).is_some()
                            && (p.broken.no_zxid_raise || z > clients.max_zxid),
                        format!(
                            "target at {z} and unfenced, clients have seen up to {}; {} clients to move",
                            clients.max_zxid, clients.on_source
                        ),
                    ),
                    None => ok(false, "target not serving yet".into()),
                }
            }
            Phase::Soak => {
                let passed = w.now() >= self.soak_from + p.soak_ms;
                ok(
                    self.clients_moved && clients.on_source == 0 && passed,
                    format!(
                        "{} clients on the source, {} on the target; soak {} ms of {}",
                        clients.on_source,
                        clients.on_target,
                        w.now().saturating_sub(self.soak_from),
                        p.soak_ms
                    ),
                )
            }
            Phase::RollingBack => {
                let done = self.rolling == Some(Rollback::Done);
                ok(done, format!("rollback step: {}", Rollback::describe(self.rolling)))
            }
            Phase::Committed | Phase::RolledBack => ok(false, "final".into()),
        }
    }

    /// What the migration has done so far, measured on the live clusters (read-only:
    /// the playground's migration panel draws it). Hashes and differences are computed
    /// here, so call it once per frame, not per event.
    pub fn progress(&self, w: &World<ZkDatabase>, clients: Clients) -> super::status::Progress {
        let p = &self.plan;
        let committed =
            |c: usize| w.servers_in(c).iter().map(|v| v.committed_zxid).max().unwrap_or(Zxid::ZERO);
        let source_committed = committed(p.source);
        let src = self.source_view(w);
        let dst = leader_tree(w, p.target);
        let fid = p.fidelity();
        let both = src.zip(dst);
        let exact_root = p.subtree == "/" && fid == Fidelity::Exact && p.sessions == SessionPolicy::Import;
        super::status::Progress {
            source_committed,
            target_applied: w.servers_in(p.target).iter().map(|v| v.applied_zxid).max().unwrap_or(Zxid::ZERO),
            shipped: self.fwd.as_ref().map(|st| st.shipped),
            lag_txns: self.fwd.as_ref().map(|st| {
                if source_committed > st.shipped {
                    lag_txns(w, st.from, st.shipped, source_committed)
                } else {
                    0
                }
            }),
            queued: self.fwd.as_ref().map_or(0, |st| st.dirty.len()),
            batches: self.fwd.as_ref().map_or(0, |st| st.batches),
            source_znodes: src.map(|t| scope_paths(t, &p.subtree).count()),
            // On the target, where the subtree goes (`into`; the hash is chroot-aware).
            target_znodes: dst.map(|t| scope_paths(t, &p.target_subtree).count()),
            hashes: both.map(|(s, d)| {
                (
                    verify::summarize(s, &p.subtree, fid).hash,
                    verify::summarize(d, &p.target_subtree, fid).hash,
                )
            }),
            differences: both.map(|(s, d)| compare(s, d, p, 64).len()),
            digests: both.filter(|_| exact_root).map(|(s, d)| (s.digest(), d.digest())),
            fence: self.source_fence,
            clients_on_source: clients.on_source,
            clients_on_target: clients.on_target,
            clients_max_zxid: clients.max_zxid,
            stamp: self.m.stamp(),
            stamps_seen: self.stamps_seen.clone(),
        }
    }

    /// The source's state to compare with: the controller's replica (exact transports)
    /// or the source leader's tree.
    fn source_view<'w>(&'w self, w: &'w World<ZkDatabase>) -> Option<&'w DataTree> {
        match self.fwd.as_ref().map(|s| &s.reader) {
            Some(Reader::Log { mirror, .. }) => Some(mirror),
            _ => leader_tree(w, self.plan.source),
        }
    }

    /// Tries to leave the current phase: the gate's evidence, and the new phase or why not.
    pub fn step(&mut self, w: &World<ZkDatabase>, clients: Clients) -> Result<Phase, String> {
        let e = self.evidence(w, clients);
        let from = self.m.phase();
        let stamp = self.m.stamp();
        let r = self.m.advance(stamp, e.clone()).map_err(|e| e.to_string());
        if let Ok(to) = r {
            self.lines.push(format!("migration: {from} -> {to}: {}", e.detail));
        }
        r
    }

    /// Starts a rollback (any phase before commit).
    pub fn abort(&mut self, w: &World<ZkDatabase>, why: &str) -> Result<Phase, String> {
        let from = self.m.phase();
        let stamp = self.m.stamp();
        self.m.roll_back(stamp, why).map_err(|e| e.to_string())?;
        self.fwd = None;
        if let Some(o) = self.obs.as_mut() {
            o.leave(true, &mut self.lines);
        }
        self.rolling = Some(if self.clients_moved {
            self.control(self.plan.target, ControlKind::Fence, w.now());
            Rollback::FenceTarget
        } else {
            if self.source_fence.is_some()
                || self.control.iter().any(|c| c.cluster == self.plan.source && c.what == ControlKind::Fence)
            {
                self.control(self.plan.source, ControlKind::Unfence, w.now());
            }
            Rollback::UnfenceSource
        });
        self.lines.push(format!("migration: rollback from {from}: {why}"));
        Ok(self.m.phase())
    }

    /// The rules, checked after every simulated step.
    fn check(&mut self, w: &World<ZkDatabase>, clients: Clients) {
        if self.violation.is_some() {
            return;
        }
        let p = self.plan.clone();
        // One writer: no client write in scope commits on the source after its fence, nor
        // on the target before it is unfenced.
        for (k, c) in [p.source, p.target].into_iter().enumerate() {
            let views = w.servers_in(c);
            let Some(v) = views
                .iter()
                .filter(|v| v.role != Role::Down)
                .max_by_key(|v| v.committed_zxid.min(v.last_zxid))
            else {
                continue;
            };
            let Some(s) = w.server(c, v.id) else { continue };
            let log = &s.durable().log;
            let upto = v.committed_zxid.min(v.last_zxid);
            let from = self.scans[k].max(log.snapshot_zxid());
            let start = log.index_after(from);
            let mut bad = None;
            for e in &log.entries()[start..] {
                if e.zxid > upto {
                    break;
                }
                let fenced = if k == 0 {
                    let unf = self.control_done(p.source, ControlKind::Unfence);
                    self.source_fence.is_some_and(|f| e.zxid > f) && unf.is_none_or(|u| e.zxid < u)
                } else {
                    self.target_fence.is_some_and(|f| e.zxid > f)
                        && self.target_unfenced.is_none_or(|u| e.zxid < u)
                };
                let scope = if k == 0 { &p.subtree } else { &p.target_subtree };
                if fenced && client_write_in(&e.txn, scope) {
                    bad = Some(format!(
                        "one writer: the {} accepted a client write in {} at {} while fenced ({})",
                        if k == 0 { "source" } else { "target" },
                        scope,
                        e.zxid,
                        e.txn.op
                    ));
                    break;
                }
            }
            self.scans[k] = self.scans[k].max(upto);
            if let Some(b) = bad {
                self.fail(b);
                return;
            }
        }
        // No fake ephemerals: a source ephemeral is never a plain node on the target.
        if let (Some(src), Some(dst)) = (leader_tree(w, p.source), leader_tree(w, p.target)) {
            let fake = src.sessions().keys().flat_map(|&s| src.ephemerals_of(s)).find(|path| {
                fence::in_scope(&p.subtree, path)
                    && dst
                        .node(&rebase(path, &p.subtree, &p.target_subtree))
                        .is_some_and(|n| !matches!(n.kind(), NodeKind::Ephemeral(_)))
            });
            if let Some(path) = fake {
                self.fail(format!(
                    "fake ephemeral: {path} is ephemeral on the source, a plain node on the target"
                ));
                return;
            }
        }
        // Both open at once.
        let src_open = leader_tree(w, p.source).map(|t| t.node(FENCE_PATH).is_none());
        let dst_open = leader_tree(w, p.target).map(|t| t.node(FENCE_PATH).is_none());
        if src_open == Some(true) && dst_open == Some(true) && self.target_fence.is_some() {
            self.fail(format!("one writer: both the source and the target accept writes in {}", p.subtree));
            return;
        }
        // At cut-over: nothing acknowledged is lost, counters, ACLs, ephemerals.
        if self.m.phase() >= Phase::CutOver && self.m.phase() <= Phase::Committed && !self.checked_cut {
            let (Some(src), Some(dst)) = (leader_tree(w, p.source), leader_tree(w, p.target)) else {
                return;
            };
            self.checked_cut = true;
            let d = compare(src, dst, &p, 5);
            if let Some(x) = d.iter().find(|x| x.what.contains("node type")) {
                self.fail(format!("fake ephemeral: {} {}", x.path, x.what));
                return;
            }
            if !d.is_empty() {
                self.fail(format!(
                    "acknowledged writes lost: the target differs from the frozen source at cut-over: {}",
                    differences(&d)
                ));
                return;
            }
            let seq = verify::sequence_counters_behind(src, &p.subtree, dst, &p.target_subtree);
            if let Some(x) = seq.first() {
                self.fail(format!("sequence counter behind at {}: {}", x.path, x.what));
                return;
            }
            let orphans: Vec<String> = verify::orphan_ephemerals(dst)
                .into_iter()
                .filter(|x| fence::in_scope(&p.target_subtree, x))
                .collect();
            if !orphans.is_empty() {
                self.fail(format!("orphan ephemerals on the target: {}", orphans.join(", ")));
                return;
            }
        }
        // The fenced controller: no record carries a stamp above ours.
        for c in [p.source, p.target] {
            if let Some(t) = leader_tree(w, c) {
                let s = record_stamp(t);
                if s > self.m.stamp() {
                    self.fail(format!(
                        "fenced controller: cluster {c}'s record has stamp {s} > ours {}",
                        self.m.stamp()
                    ));
                    return;
                }
            }
        }
        let _ = clients;
    }
}

/// The target's znodes where the copy goes: under the target subtree (its root
/// included, unless it is `/`), or for observer join anything outside `/zookeeper`.
pub fn conflicts(target: &DataTree, p: &Plan) -> Vec<String> {
    let scope = if p.transport == Transport::ObserverJoin { "/" } else { p.target_subtree.as_str() };
    scope_paths(target, scope).filter(|x| x != "/").collect()
}

/// The absolute path of `rel`, relative to `subtree`.
fn absolute(subtree: &str, rel: &str) -> String {
    if subtree == "/" {
        rel.to_string()
    } else if rel == "/" {
        subtree.to_string()
    } else {
        format!("{subtree}{rel}")
    }
}

/// Source transactions after `from` up to `to`, counted on a source server's log.
fn lag_txns(w: &World<ZkDatabase>, c: usize, from: Zxid, to: Zxid) -> u64 {
    let views = w.servers_in(c);
    let Some(v) = views.iter().filter(|v| v.role != Role::Down).max_by_key(|v| v.committed_zxid) else {
        return 0;
    };
    let Some(s) = w.server(c, v.id) else { return 0 };
    let log = &s.durable().log;
    if log.snapshot_zxid() > from {
        return u64::from(to.counter().saturating_sub(from.counter())).max(1);
    }
    (log.index_after(to) - log.index_after(from)) as u64
}

/// The differences that matter between the source and the target subtree, given the
/// session policy (with `expire`, or through the client API, the source's ephemerals
/// are not copied).
pub fn compare(src: &DataTree, dst: &DataTree, p: &Plan, limit: usize) -> Vec<verify::Difference> {
    let skip_eph = p.sessions == SessionPolicy::Expire || matches!(p.transport, Transport::ClientApi { .. });
    let fid = p.fidelity();
    let mut out: Vec<verify::Difference> =
        verify::diff(src, &p.subtree, dst, &p.target_subtree, fid, limit + 64)
            .into_iter()
            .filter(|d| {
                if !skip_eph {
                    return true;
                }
                let path = if p.subtree == "/" {
                    d.path.clone()
                } else if d.path == "/" {
                    p.subtree.clone()
                } else {
                    format!("{}{}", p.subtree, d.path)
                };
                let eph = src.node(&path).is_some_and(|n| matches!(n.kind(), NodeKind::Ephemeral(_)));
                // A source ephemeral missing on the target is expected; one present there as
                // another type is not.
                !(eph && d.what == "missing on the target")
            })
            .collect();
    if fid == Fidelity::Exact {
        // Parents of skipped ephemerals differ in their child counters (pzxid, cversion);
        // those are compared by the sequence-counter rule instead.
        let _ = &mut out;
    }
    out.truncate(limit);
    out
}
