//! Rule 1: per-path linearizability search over a znode model.
//!
//! The history is partitioned by path (as Porcupine partitions by key): each znode is
//! an object whose state is *absent* or *present with data, version, czxid, mzxid and
//! ephemeral owner*. A partition holds
//! - the writes on the path (create, setData, delete; their definite errors as
//!   assertions on the state: NODEEXISTS means present, BADVERSION a different
//!   version, ...), and a `closeSession` where the session owned an ephemeral here;
//! - a child's create that succeeded (the parent was present) or failed with NONODE
//!   (the parent was absent), as assertions in the parent's partition;
//! - the reads of the path.
//!
//! Writes are linearized within their real-time intervals (ZooKeeper's writes are
//! linearizable). A write whose reply was lost may take effect anywhere after it was
//! sent, or never (it is allowed to take effect after everything else). Reads are not
//! linearizable in ZooKeeper, so a read may take effect at any point *before it
//! completed*; what bounds it below is its session (the session's earlier operations
//! on the path come first; with zxids, the read shows the state as of its reply's
//! zxid) and a preceding `sync` (the read then takes effect after the sync was sent).
//!
//! The search is Wing & Gong's backtracking with Lowe's memoization, in Porcupine's
//! shape: the entries (calls and returns) of a partition in a doubly linked list; the
//! first entries up to the first return are the candidates; linearizing a candidate
//! lifts its call and return out of the list; a return reached with its call still in
//! place means backtrack. Every loop iteration spends one unit of the budget.
//!
//! What keeps it fast (each step sound; see the functions for why):
//! - operations that change nothing (reads, definite errors) are placed greedily and
//!   never retried; writes with known zxids go in zxid order;
//! - a lost write is never placed as a no-op, the search ends once every answered
//!   operation is placed, and lost writes with the same effect are tried once;
//! - a lost write whose data a read shows is decided before the search
//!   (`decide_observed`); data no read shows is one value;
//! - the memo keeps, per (answered operations placed, state), the sets of lost writes
//!   used; a configuration that used a superset of an explored one's is pruned;
//! - a branch ends as soon as a waiting operation can never go (its zxid is passed);
//! - a first, restricted pass tries lost writes only where they help; only the
//!   complete pass may declare a violation.

use super::history::{ErrorCode, History, Op, OpId, OpResult, Outcome, Stamp};
use super::session::{self, parent, Index};
use super::{CheckConfig, Rule, Violation};
use crate::ids::{SessionId, Zxid};
use crate::vecmap::{VecMap, VecSet};
use std::collections::hash_map::HashMap as StdHashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A fixed (unseeded) hasher, so that memo lookups are deterministic. The memo is only
/// queried, never iterated, so its order cannot leak into results.
#[derive(Default)]
struct FixedHasher(u64);

impl Hasher for FixedHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_i32(&mut self, n: i32) {
        self.write_u64(n as u32 as u64);
    }

    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }

    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

/// A hash map with a fixed hasher (never iterated).
type FixedMap<K, V> = StdHashMap<K, V, BuildHasherDefault<FixedHasher>>;

/// A znode that exists, as the model sees it. Data is interned (`data` indexes the
/// checker's table of distinct byte strings); zxids are `None` when no reply told them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Node {
    data: u32,
    version: i32,
    czxid: Option<Zxid>,
    mzxid: Option<Zxid>,
    owner: SessionId,
}

/// The model of one path: the node (or its absence) and the highest known zxid of the
/// writes linearized so far (writes with known zxids must go in zxid order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct State {
    node: Option<Node>,
    floor: Zxid,
}

/// What an operation does to, or requires of, one path's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    CreateOk {
        data: u32,
        owner: SessionId,
        zxid: Option<Zxid>,
    },
    CreateMaybe {
        data: u32,
        owner: SessionId,
    },
    DeleteOk {
        version: Option<i32>,
    },
    DeleteMaybe {
        version: Option<i32>,
    },
    SetOk {
        data: u32,
        version: Option<i32>,
        new_version: i32,
        zxid: Option<Zxid>,
        /// The node's creation zxid and owner, as the reply's stat shows them.
        czxid: Option<Zxid>,
        owner: Option<SessionId>,
    },
    SetMaybe {
        data: u32,
        version: Option<i32>,
    },
    BadVersion {
        version: Option<i32>,
    },
    Close {
        session: SessionId,
    },
    RequirePresent,
    RequireAbsent,
    ReadAbsent,
    ReadPresent {
        data: Option<u32>,
        version: Option<i32>,
        czxid: Option<Zxid>,
        mzxid: Option<Zxid>,
        owner: Option<SessionId>,
    },
}

fn version_matches(expected: Option<i32>, actual: i32) -> bool {
    expected.is_none_or(|v| v == actual)
}

fn zxid_matches(known: Option<Zxid>, shown: Option<Zxid>) -> bool {
    match (known, shown) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

impl Step {
    /// True if the step never changes the node (it only requires something of it).
    fn is_pure(self) -> bool {
        matches!(
            self,
            Step::BadVersion { .. }
                | Step::RequirePresent
                | Step::RequireAbsent
                | Step::ReadAbsent
                | Step::ReadPresent { .. }
        )
    }

    /// The node after the step, or `None` if the step is impossible in this state.
    fn apply(self, node: Option<Node>) -> Option<Option<Node>> {
        match (self, node) {
            (Step::CreateOk { data, owner, zxid }, None) => {
                Some(Some(Node { data, version: 0, czxid: zxid, mzxid: zxid, owner }))
            }
            (Step::CreateOk { .. }, Some(_)) => None,
            (Step::CreateMaybe { data, owner }, None) => {
                Some(Some(Node { data, version: 0, czxid: None, mzxid: None, owner }))
            }
            (Step::CreateMaybe { .. }, Some(n)) => Some(Some(n)),
            (Step::DeleteOk { version }, Some(n)) if version_matches(version, n.version) => Some(None),
            (Step::DeleteOk { .. }, _) => None,
            (Step::DeleteMaybe { version }, Some(n)) if version_matches(version, n.version) => Some(None),
            (Step::DeleteMaybe { .. }, other) => Some(other),
            (Step::SetOk { data, version, new_version, zxid, czxid, owner }, Some(n))
                if version_matches(version, n.version)
                    && new_version == n.version + 1
                    && zxid_matches(n.czxid, czxid)
                    && owner.is_none_or(|o| o == n.owner) =>
            {
                Some(Some(Node { data, version: new_version, mzxid: zxid, ..n }))
            }
            (Step::SetOk { .. }, _) => None,
            (Step::SetMaybe { data, version }, Some(n)) if version_matches(version, n.version) => {
                Some(Some(Node { data, version: n.version + 1, mzxid: None, ..n }))
            }
            (Step::SetMaybe { .. }, other) => Some(other),
            (Step::BadVersion { version: Some(v) }, Some(n)) if v != n.version => Some(Some(n)),
            (Step::BadVersion { .. }, _) => None,
            (Step::Close { session }, Some(n)) if n.owner == session => Some(None),
            (Step::Close { .. }, other) => Some(other),
            (Step::RequirePresent, Some(n)) => Some(Some(n)),
            (Step::RequireAbsent | Step::ReadAbsent, None) => Some(None),
            (Step::RequirePresent | Step::RequireAbsent | Step::ReadAbsent, _) => None,
            (Step::ReadPresent { data, version, czxid, mzxid, owner }, Some(n)) => {
                let same = data.is_none_or(|d| d == n.data)
                    && version_matches(version, n.version)
                    && zxid_matches(n.czxid, czxid)
                    && zxid_matches(n.mzxid, mzxid)
                    && owner.is_none_or(|o| o == n.owner);
                same.then_some(Some(n))
            }
            (Step::ReadPresent { .. }, None) => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A write, or a definite error of one (write-ordered).
    Write,
    /// A read (may be stale).
    Read,
}

/// One operation as it takes part in one path's search, before the search's ordering
/// constraints are derived.
#[derive(Clone, Debug)]
struct Raw {
    id: OpId,
    step: Step,
    kind: Kind,
    /// The zxid of the write, which orders it among the path's writes.
    zxid: Option<Zxid>,
    /// A write whose reply was lost but whose effect a read observed: it happened.
    happened: bool,
}

/// One operation as the search sees it.
#[derive(Clone, Debug)]
struct PathOp {
    id: OpId,
    step: Step,
    kind: Kind,
    call: Stamp,
    ret: Stamp,
    zxid: Option<Zxid>,
    /// For a read with a reply zxid `hi`: the floor must lie in `lo..=hi`.
    bucket: Option<(Zxid, Zxid)>,
    /// The session's previous operation on this path (index in the partition).
    pred: Option<usize>,
    /// The reply was lost: the operation may take effect, or not.
    maybe: bool,
    /// For a write with a known zxid: the known zxid just below it on this path (the
    /// writes with known zxids take effect in zxid order).
    zxid_before: Zxid,
}

const NEVER: Stamp = Stamp { time: u64::MAX, seq: u64::MAX };
const ORIGIN: Stamp = Stamp { time: 0, seq: 0 };

/// Which constraints to drop for one read, to find out which rule it breaks.
#[derive(Clone, Copy, Debug, Default)]
struct Relax {
    sync_of: Option<OpId>,
    session_of: Option<OpId>,
}

/// Totals over all the paths searched.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchTotals {
    /// Search states explored.
    pub states: u64,
    /// Paths searched.
    pub paths: usize,
    /// The first path whose search ran out of budget (and where it was stuck).
    pub exceeded: Option<String>,
}

/// The distinct data values of a history.
#[derive(Default)]
struct Interner<'h> {
    ids: crate::vecmap::BrowserMap<&'h [u8], u32>,
    values: Vec<&'h [u8]>,
}

impl<'h> Interner<'h> {
    fn id(&mut self, data: &'h [u8]) -> u32 {
        if let Some(&id) = self.ids.get(data) {
            return id;
        }
        let id = self.values.len() as u32;
        self.ids.insert(data, id);
        self.values.push(data);
        id
    }
}

/// True if `path` is `prefix` followed by a ten-digit sequence number.
fn is_sequential_of(path: &str, prefix: &str) -> bool {
    path.len() == prefix.len() + 10
        && path.starts_with(prefix)
        && path[prefix.len()..].bytes().all(|b| b.is_ascii_digit())
}

/// Every path's raw operations.
struct Partitions<'h> {
    by_path: VecMap<String, Vec<Raw>>,
    interner: Interner<'h>,
}

fn partitions(history: &History) -> Partitions<'_> {
    let mut by_path: VecMap<String, Vec<Raw>> = VecMap::new();
    let mut interner = Interner::default();
    let mut maybe_sequential: Vec<(OpId, &str, u32, SessionId)> = Vec::new();
    let mut ephemeral_paths: VecMap<SessionId, Vec<String>> = VecMap::new();
    let mut closes: Vec<OpId> = Vec::new();
    let push = |by_path: &mut VecMap<String, Vec<Raw>>, path: &str, raw: Raw| {
        by_path.entry(path.to_string()).or_default().push(raw);
    };
    for path in history.initial.keys() {
        by_path.entry(path.clone()).or_default();
    }
    for (at, operation) in history.operations.iter().enumerate() {
        let id = OpId(at);
        let unknown = operation.is_unknown();
        let write = |step| Raw { id, step, kind: Kind::Write, zxid: None, happened: false };
        let read = |step| Raw { id, step, kind: Kind::Read, zxid: None, happened: false };
        let session = operation.session;
        match (&operation.op, &operation.outcome) {
            (Op::Create { path, data, mode }, outcome) => {
                let data = interner.id(data);
                let owner = if mode.ephemeral { session } else { SessionId(0) };
                match outcome {
                    _ if unknown => {
                        if mode.sequential {
                            maybe_sequential.push((id, path, data, owner));
                        } else {
                            push(&mut by_path, path, write(Step::CreateMaybe { data, owner }));
                            if mode.ephemeral {
                                ephemeral_paths.entry(session).or_default().push(path.clone());
                            }
                        }
                    }
                    Outcome::Ok { result: OpResult::Created { path: made, .. }, .. } => {
                        let zxid = operation.write_zxid();
                        let mut raw = write(Step::CreateOk { data, owner, zxid });
                        raw.zxid = zxid;
                        push(&mut by_path, made, raw);
                        if mode.ephemeral {
                            ephemeral_paths.entry(session).or_default().push(made.clone());
                        }
                        if let Some(up) = parent(made).filter(|p| *p != "/") {
                            push(&mut by_path, up, write(Step::RequirePresent));
                        }
                    }
                    Outcome::Error { code: ErrorCode::NodeExists, .. } if !mode.sequential => {
                        push(&mut by_path, path, write(Step::RequirePresent));
                    }
                    Outcome::Error { code: ErrorCode::NoNode, .. } => {
                        if let Some(up) = parent(path).filter(|p| *p != "/") {
                            push(&mut by_path, up, write(Step::RequireAbsent));
                        }
                    }
                    Outcome::Error { code: ErrorCode::NoChildrenForEphemerals, .. } => {
                        if let Some(up) = parent(path).filter(|p| *p != "/") {
                            push(&mut by_path, up, write(Step::RequirePresent));
                        }
                    }
                    _ => {}
                }
            }
            (Op::Delete { path, version }, outcome) => {
                let version = *version;
                let raw = match outcome {
                    _ if unknown => Some(write(Step::DeleteMaybe { version })),
                    Outcome::Ok { .. } => {
                        let mut raw = write(Step::DeleteOk { version });
                        raw.zxid = operation.write_zxid();
                        Some(raw)
                    }
                    Outcome::Error { code, .. } => match code {
                        ErrorCode::NoNode => Some(write(Step::RequireAbsent)),
                        ErrorCode::BadVersion => Some(write(Step::BadVersion { version })),
                        ErrorCode::NotEmpty => Some(write(Step::RequirePresent)),
                        _ => None,
                    },
                    Outcome::Unknown { .. } => None,
                };
                if let Some(raw) = raw {
                    push(&mut by_path, path, raw);
                }
            }
            (Op::SetData { path, data, version }, outcome) => {
                let data = interner.id(data);
                let version = *version;
                let raw = match outcome {
                    _ if unknown => Some(write(Step::SetMaybe { data, version })),
                    Outcome::Ok { result: OpResult::DataSet { stat }, .. } => {
                        let zxid = operation.write_zxid();
                        let czxid = Some(stat.czxid).filter(|z| *z != Zxid::ZERO);
                        let mut raw = write(Step::SetOk {
                            data,
                            version,
                            new_version: stat.version,
                            zxid,
                            czxid,
                            owner: Some(stat.ephemeral_owner),
                        });
                        raw.zxid = zxid;
                        Some(raw)
                    }
                    Outcome::Error { code, .. } => match code {
                        ErrorCode::NoNode => Some(write(Step::RequireAbsent)),
                        ErrorCode::BadVersion => Some(write(Step::BadVersion { version })),
                        _ => None,
                    },
                    Outcome::Ok { .. } | Outcome::Unknown { .. } => None,
                };
                if let Some(raw) = raw {
                    push(&mut by_path, path, raw);
                }
            }
            (Op::GetData { path, .. }, Outcome::Ok { result: OpResult::Data { data, stat }, .. }) => {
                let data = interner.id(data);
                push(
                    &mut by_path,
                    path,
                    read(Step::ReadPresent {
                        data: Some(data),
                        version: Some(stat.version),
                        czxid: Some(stat.czxid),
                        mzxid: Some(stat.mzxid),
                        owner: Some(stat.ephemeral_owner),
                    }),
                );
            }
            (Op::Exists { path, .. }, Outcome::Ok { result, .. })
            | (Op::GetChildren { path, .. }, Outcome::Ok { result, .. }) => {
                let stat = match result {
                    OpResult::Exists { stat: None } => {
                        push(&mut by_path, path, read(Step::ReadAbsent));
                        continue;
                    }
                    OpResult::Exists { stat: Some(stat) } => Some(*stat),
                    OpResult::Children { stat, .. } => *stat,
                    _ => continue,
                };
                push(
                    &mut by_path,
                    path,
                    read(Step::ReadPresent {
                        data: None,
                        version: stat.map(|s| s.version),
                        czxid: stat.map(|s| s.czxid),
                        mzxid: stat.map(|s| s.mzxid),
                        owner: stat.map(|s| s.ephemeral_owner),
                    }),
                );
            }
            (
                Op::GetData { path, .. } | Op::GetChildren { path, .. } | Op::Exists { path, .. },
                Outcome::Error { code: ErrorCode::NoNode, .. },
            ) => push(&mut by_path, path, read(Step::ReadAbsent)),
            (Op::CloseSession, Outcome::Ok { .. } | Outcome::Unknown { .. }) => closes.push(id),
            _ => {}
        }
    }
    // A sequential create whose reply was lost may have made any path of its shape.
    for (id, prefix, data, owner) in maybe_sequential {
        let session = history.op(id).session;
        let shaped: Vec<String> = by_path
            .range(prefix.to_string()..)
            .take_while(|(p, _)| p.starts_with(prefix))
            .filter(|(p, _)| is_sequential_of(p, prefix))
            .map(|(p, _)| p.clone())
            .collect();
        for path in shaped {
            if owner == session {
                ephemeral_paths.entry(session).or_default().push(path.clone());
            }
            by_path.entry(path).or_default().push(Raw {
                id,
                step: Step::CreateMaybe { data, owner },
                kind: Kind::Write,
                zxid: None,
                happened: false,
            });
        }
    }
    // A closed (or expired) session's ephemerals go with it.
    for id in closes {
        let operation = history.op(id);
        let zxid = if operation.is_unknown() { None } else { operation.write_zxid() };
        let Some(paths) = ephemeral_paths.get(&operation.session) else {
            continue;
        };
        let mut paths = paths.clone();
        paths.sort();
        paths.dedup();
        for path in paths {
            by_path.entry(path).or_default().push(Raw {
                id,
                step: Step::Close { session: operation.session },
                kind: Kind::Write,
                zxid,
                happened: false,
            });
        }
    }
    for (path, list) in by_path.iter_mut() {
        list.sort_by_key(|raw| raw.id);
        let initial = history.initial.get(path).map(|node| interner.id(&node.data));
        decide_observed(list, initial);
    }
    Partitions { by_path, interner }
}

/// A lost write whose data a read shows (data no other write of the path wrote) did
/// happen, and produced exactly the state the read shows: it becomes a write that
/// must take effect, with the version and zxid the read tells. This decides most
/// ambiguous writes before the search, which then need not guess.
fn decide_observed(list: &mut [Raw], initial: Option<u32>) {
    let mut writers: VecMap<u32, usize> = VecMap::new();
    if let Some(data) = initial {
        *writers.entry(data).or_insert(0) += 1;
    }
    for raw in list.iter() {
        if let Step::CreateOk { data, .. }
        | Step::CreateMaybe { data, .. }
        | Step::SetOk { data, .. }
        | Step::SetMaybe { data, .. } = raw.step
        {
            *writers.entry(data).or_insert(0) += 1;
        }
    }
    let mut seen: VecMap<u32, (i32, Option<Zxid>, Option<Zxid>)> = VecMap::new();
    for raw in list.iter() {
        if let Step::ReadPresent { data: Some(data), version: Some(version), czxid, mzxid, .. } = raw.step {
            let known = |z: Option<Zxid>| z.filter(|z| *z != Zxid::ZERO);
            seen.entry(data).or_insert((version, known(czxid), known(mzxid)));
        }
    }
    decide(list, &writers, &seen);
    // Data no read shows cannot tell states apart: one value stands for all of it, so
    // that states differing only in unseen data are one state.
    for raw in list.iter_mut() {
        match &mut raw.step {
            Step::CreateOk { data, .. }
            | Step::CreateMaybe { data, .. }
            | Step::SetOk { data, .. }
            | Step::SetMaybe { data, .. }
                if !seen.contains_key(data) =>
            {
                *data = UNSEEN;
            }
            _ => {}
        }
    }
}

/// The data of every write no read shows (see [`decide_observed`]).
const UNSEEN: u32 = u32::MAX;

fn decide(
    list: &mut [Raw],
    writers: &VecMap<u32, usize>,
    seen: &VecMap<u32, (i32, Option<Zxid>, Option<Zxid>)>,
) {
    for raw in list.iter_mut() {
        let (data, decided) = match raw.step {
            Step::CreateMaybe { data, owner } => (
                data,
                seen.get(&data)
                    .filter(|(version, ..)| *version == 0)
                    .map(|&(_, czxid, _)| (Step::CreateOk { data, owner, zxid: czxid }, czxid)),
            ),
            Step::SetMaybe { data, version } => (
                data,
                seen.get(&data).map(|&(new_version, czxid, mzxid)| {
                    let step = Step::SetOk { data, version, new_version, zxid: mzxid, czxid, owner: None };
                    (step, mzxid)
                }),
            ),
            _ => continue,
        };
        if writers.get(&data) != Some(&1) {
            continue;
        }
        if let Some((step, zxid)) = decided {
            raw.step = step;
            raw.zxid = zxid;
            raw.happened = true;
        }
    }
}

/// Derives a partition's search operations: intervals, session order, zxid buckets.
fn path_ops(
    history: &History,
    raws: &[Raw],
    syncs: &[Option<OpId>],
    with_reads: bool,
    relax: Relax,
) -> Vec<PathOp> {
    let mut known: Vec<Zxid> = raws.iter().filter_map(|r| r.zxid).collect();
    known.sort();
    let mut ops: Vec<PathOp> = Vec::with_capacity(raws.len());
    let mut last_of_session: VecMap<SessionId, usize> = VecMap::new();
    for raw in raws {
        if raw.kind == Kind::Read && !with_reads {
            continue;
        }
        let operation = history.op(raw.id);
        let unknown = operation.is_unknown();
        let maybe = unknown && !raw.happened;
        let relax_session = relax.session_of == Some(raw.id);
        let pred =
            if unknown || relax_session { None } else { last_of_session.get(&operation.session).copied() };
        let ret = if unknown { NEVER } else { operation.completed.unwrap_or(NEVER) };
        let (call, bucket) = match raw.kind {
            Kind::Write => (operation.invoked, None),
            Kind::Read => {
                let mut call = ORIGIN;
                if let Some(p) = pred {
                    call = call.max(ops[p].call);
                }
                if relax.sync_of != Some(raw.id) {
                    if let Some(sync) = syncs[raw.id.0] {
                        call = call.max(history.op(sync).invoked);
                    }
                }
                let bucket = operation.outcome.zxid().map(|hi| {
                    let below = known.partition_point(|z| *z <= hi);
                    let lo = if relax_session || below == 0 { Zxid::ZERO } else { known[below - 1] };
                    (lo, hi)
                });
                (call, bucket)
            }
        };
        if !unknown {
            last_of_session.insert(operation.session, ops.len());
        }
        ops.push(PathOp {
            id: raw.id,
            step: raw.step,
            kind: raw.kind,
            call,
            ret,
            zxid: raw.zxid,
            bucket,
            pred,
            maybe,
            zxid_before: raw
                .zxid
                .map(|z| {
                    let below = known.partition_point(|k| *k < z);
                    if below == 0 {
                        Zxid::ZERO
                    } else {
                        known[below - 1]
                    }
                })
                .unwrap_or(Zxid::ZERO),
        });
    }
    ops
}

/// The outcome of one path's search.
#[derive(Clone, Debug)]
enum Search {
    Linearizable,
    Stuck {
        /// The operation that could not be placed (index in the partition).
        stuck: usize,
        /// The last operation of the longest partial order found.
        last: Option<usize>,
        /// The state after that partial order.
        state: State,
    },
    /// The budget ran out; the deepest point reached, if any.
    Exceeded {
        deepest: Option<usize>,
    },
}

const NIL: usize = usize::MAX;

/// Porcupine-shaped backtracking search with memoization.
fn search(ops: &[PathOp], initial: State, mode: Mode, budget: &mut u64, states: &mut u64) -> Search {
    let n = ops.len();
    if n == 0 {
        return Search::Linearizable;
    }
    // Entries: 2i is the call of op i, 2i+1 its return.
    let mut order: Vec<usize> = (0..2 * n).collect();
    let key = |e: usize| {
        let op = &ops[e / 2];
        let stamp = if e & 1 == 0 { op.call } else { op.ret };
        (stamp, e & 1, e / 2)
    };
    order.sort_by_key(|&e| key(e));
    let head = 2 * n;
    let mut next = vec![NIL; 2 * n + 1];
    let mut prev = vec![NIL; 2 * n + 1];
    let mut before = head;
    for &e in &order {
        next[before] = e;
        prev[e] = before;
        before = e;
    }
    let words = n.div_ceil(64);
    // Linearized operations: those with a reply, and lost writes, apart.
    let mut definite = vec![0u64; words];
    let mut lost = vec![0u64; words];
    let is_set = |bits: &[u64], i: usize| bits[i / 64] & (1 << (i % 64)) != 0;
    // Explored configurations: for each (operations with a reply placed, state), the
    // sets of lost writes used. Lost writes are optional, so a configuration that
    // has used a superset of an explored one's lost writes has fewer options: if
    // that one failed, this one fails too.
    // Keyed by a Zobrist hash of the placed operations with a reply (kept up to date
    // as they come and go), with the sets themselves stored to compare.
    let mut memo: Memo = FixedMap::default();
    let mut placed: u64 = 0;
    let mut stack: Vec<Frame> = Vec::new();
    let mut state = initial;
    let mut deepest: Option<(usize, usize, Option<usize>, State)> = None;
    // Operations with a lost reply need not take effect: the search is done when
    // every other operation has.
    let mut remaining = ops.iter().filter(|op| !op.maybe).count();
    let mut phase = Phase::Pure;
    let mut entry = next[head];
    // In this configuration, a write with a reply could go (so, in the restricted
    // mode, lost writes are not tried here).
    let mut could_write = false;
    let mut alt = 0usize;
    let mut candidates: Vec<Candidate> = Vec::new();
    while remaining > 0 {
        if *budget == 0 {
            return Search::Exceeded { deepest: deepest.map(|(_, stuck, ..)| stuck) };
        }
        *budget -= 1;
        *states += 1;
        // The next step: the call entry taken, the state after it.
        let mut taken: Option<(usize, State)> = None;
        match phase {
            Phase::Pure | Phase::Writes => {
                debug_assert!(entry != NIL, "every call is followed by its return");
                if entry & 1 == 0 {
                    let i = entry / 2;
                    let op = &ops[i];
                    let turn = match phase {
                        Phase::Pure => op.step.is_pure(),
                        _ => !op.step.is_pure() && !op.maybe,
                    };
                    let enabled = turn && op.pred.is_none_or(|p| is_set(&definite, p));
                    if let Some(after) = if enabled { step(op, state) } else { None } {
                        could_write |= phase == Phase::Writes;
                        taken = Some((entry, after));
                    }
                    if taken.is_none() {
                        entry = next[entry];
                        continue;
                    }
                } else if phase == Phase::Pure {
                    phase = Phase::Writes;
                    entry = next[head];
                    continue;
                } else if hopeless(&ops[entry / 2], state) || window_dead(ops, &next, head, state) {
                    // The operation due next can never go from here (the zxids of the
                    // writes already in place are past it): no lost write can help.
                } else {
                    // In the restricted mode, where a write with a reply could go, only
                    // the lost writes that let a waiting operation go are tried.
                    let only_helpful = mode == Mode::Restricted && could_write;
                    phase = Phase::Maybe;
                    alt = 0;
                    candidates = maybe_candidates(ops, &next, head, state, only_helpful);
                    continue;
                }
            }
            Phase::Maybe => {
                if let Some(&(_, _, call)) = candidates.get(alt) {
                    let after = step(&ops[call / 2], state).expect("a candidate steps");
                    taken = Some((call, after));
                }
            }
        }
        if let Some((call, after)) = taken {
            let i = call / 2;
            let bits = if ops[i].maybe { &mut lost } else { &mut definite };
            bits[i / 64] |= 1 << (i % 64);
            if !ops[i].maybe {
                placed ^= zobrist(i);
            }
            let explored = memo.entry((placed, after)).or_default();
            let fresh = !explored.iter().any(|(d, used)| *d == definite && is_subset(used, &lost));
            if fresh {
                explored.push((definite.clone(), lost.clone()));
                stack.push(Frame {
                    call,
                    before: state,
                    phase,
                    alt,
                    candidates: if phase == Phase::Maybe {
                        std::mem::take(&mut candidates)
                    } else {
                        Vec::new()
                    },
                });
                state = after;
                if !ops[i].maybe {
                    remaining -= 1;
                }
                lift(&mut next, &mut prev, call);
                could_write = false;
                if state.floor > frame_floor(&stack) && window_dead(ops, &next, head, state) {
                    // The write just placed left an operation behind for good.
                    phase = Phase::Maybe;
                    candidates.clear();
                    alt = 0;
                    continue;
                }
                phase = Phase::Pure;
                entry = next[head];
                continue;
            }
            let bits = if ops[i].maybe { &mut lost } else { &mut definite };
            bits[i / 64] &= !(1 << (i % 64));
            if !ops[i].maybe {
                placed ^= zobrist(i);
            }
            match phase {
                Phase::Maybe => alt += 1,
                _ => entry = next[entry],
            }
            continue;
        }
        // Nothing can go next: backtrack.
        let depth = stack.len();
        if deepest.is_none_or(|(d, ..)| depth > d) {
            let blocked = if phase == Phase::Maybe { first_return(&next, head) / 2 } else { entry / 2 };
            let last = stack.last().map(|f| f.call / 2);
            deepest = Some((depth, blocked, last, state));
        }
        // An operation that changes nothing (a read, a definite error) was taken
        // greedily: if any order works from there, one starting with it does.
        // Nothing to retry there.
        let frame = loop {
            let Some(frame) = stack.pop() else {
                let (_, stuck, last, state) = deepest.unwrap_or((0, entry / 2, None, state));
                return Search::Stuck { stuck, last, state };
            };
            unlift(&mut next, &mut prev, frame.call);
            let i = frame.call / 2;
            let bits = if ops[i].maybe { &mut lost } else { &mut definite };
            bits[i / 64] &= !(1 << (i % 64));
            if !ops[i].maybe {
                placed ^= zobrist(i);
                remaining += 1;
            }
            if frame.phase != Phase::Pure {
                break frame;
            }
        };
        state = frame.before;
        phase = frame.phase;
        match phase {
            Phase::Maybe => {
                candidates = frame.candidates;
                alt = frame.alt + 1;
            }
            _ => {
                entry = next[frame.call];
                could_write = true;
            }
        }
    }
    Search::Linearizable
}

/// True if `op` can go in no state reachable from `state`: the floor (the highest
/// known zxid in place) only grows, and `op` needs it lower.
fn hopeless(op: &PathOp, state: State) -> bool {
    let past_bucket = op.bucket.is_some_and(|(_, hi)| hi < state.floor);
    let past_turn = op.zxid.is_some_and(|z| z <= state.floor || state.floor > op.zxid_before);
    past_bucket || past_turn
}

/// Explored configurations: (Zobrist hash of the placed operations with a reply,
/// state) to the (placed operations with a reply, lost writes used) explored.
type Memo = FixedMap<(u64, State), Vec<(Vec<u64>, Vec<u64>)>>;

/// A fixed pseudo-random 64-bit key for operation `i` (SplitMix64 of its index).
fn zobrist(i: usize) -> u64 {
    let mut z = (i as u64).wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// True if every bit of `small` is in `large`.
fn is_subset(small: &[u64], large: &[u64]) -> bool {
    small.iter().zip(large).all(|(s, l)| s & !l == 0)
}

/// The floor before the last step taken.
fn frame_floor(stack: &[Frame]) -> Zxid {
    stack.last().map_or(Zxid::ZERO, |frame| frame.before.floor)
}

/// True if an operation that may go now (its call is before the first return) can
/// never go any more: then no order of what remains works.
fn window_dead(ops: &[PathOp], next: &[usize], head: usize, state: State) -> bool {
    let mut entry = next[head];
    while entry != NIL && entry & 1 == 0 {
        let op = &ops[entry / 2];
        if !op.maybe && hopeless(op, state) {
            return true;
        }
        entry = next[entry];
    }
    false
}

/// A step taken by the search, to undo or to vary.
struct Frame {
    /// The call entry taken.
    call: usize,
    /// The state before it.
    before: State,
    /// The phase it was taken in.
    phase: Phase,
    /// For a lost write: its place among the candidates.
    alt: usize,
    /// For a lost write: the candidates of that configuration.
    candidates: Vec<Candidate>,
}

/// How much of the search space to cover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Where a write with a reply can go, lost writes are tried only if they let a
    /// waiting operation go: fast, and enough for almost every correct history.
    Restricted,
    /// Lost writes are tried everywhere: complete.
    Complete,
}

/// The first return entry of the list.
fn first_return(next: &[usize], head: usize) -> usize {
    let mut entry = next[head];
    while entry != NIL && entry & 1 == 0 {
        entry = next[entry];
    }
    entry
}

/// The lost writes that may take effect now and change the state, most promising
/// first: those after which the operation due next can go, then those that bring
/// the node closer to what it needs, then those after which another waiting
/// operation can go; within each, the most recently sent first.
fn maybe_candidates(
    ops: &[PathOp],
    next: &[usize],
    head: usize,
    state: State,
    only_helpful: bool,
) -> Vec<Candidate> {
    let blocked = first_return(next, head);
    let mut waiting: Vec<&PathOp> = Vec::new();
    if blocked != NIL {
        waiting.push(&ops[blocked / 2]);
    }
    let mut lost = Vec::new();
    let mut entry = next[head];
    while entry != NIL && entry & 1 == 0 {
        let op = &ops[entry / 2];
        if op.maybe {
            lost.push(entry);
        } else if op.step.is_pure() {
            waiting.push(op);
        }
        entry = next[entry];
    }
    let mut found = Vec::new();
    for entry in lost {
        let op = &ops[entry / 2];
        let Some(after) = step(op, state).filter(|after| *after != state) else {
            continue;
        };
        let enables = |w: &PathOp| step(w, after).is_some() && step(w, state).is_none();
        let tier = if blocked != NIL && enables(&ops[blocked / 2]) {
            0
        } else if blocked != NIL && toward(&ops[blocked / 2].step, state, after) {
            1
        } else if waiting.iter().any(|w| enables(w)) {
            2
        } else {
            3
        };
        if tier < 3 || !only_helpful {
            found.push((tier, std::cmp::Reverse(op.call), entry));
        }
    }
    found.sort();
    // Lost writes with the same effect are interchangeable from here on (each may go
    // any time from now, and none has a successor in its session): try one of them.
    let mut distinct: Vec<Candidate> = Vec::with_capacity(found.len());
    for (late, std::cmp::Reverse(call), entry) in found {
        let step = ops[entry / 2].step;
        if !distinct.iter().any(|(.., e)| ops[*e / 2].step == step) {
            distinct.push((late, call, entry));
        }
    }
    distinct
}

/// A lost write to try: (how promising, 0 best; when it was sent; its call entry).
type Candidate = (u8, Stamp, usize);

/// True if `after` is a step from `state` toward what `need` requires: the missing
/// versions of the same node, or the node's existence or absence.
fn toward(need: &Step, state: State, after: State) -> bool {
    let wanted = match *need {
        Step::ReadPresent { version: Some(v), .. } => Some(v),
        Step::SetOk { new_version, .. } => Some(new_version - 1),
        _ => None,
    };
    let needs_absent = matches!(need, Step::ReadAbsent | Step::RequireAbsent | Step::CreateOk { .. });
    match (state.node, after.node) {
        (Some(before), Some(now)) => wanted.is_some_and(|v| now.version > before.version && now.version <= v),
        (None, Some(_)) => !needs_absent,
        (Some(_), None) => needs_absent,
        (None, None) => false,
    }
}

/// Takes a call and its return out of the list.
fn lift(next: &mut [usize], prev: &mut [usize], call: usize) {
    let ret = call + 1;
    next[prev[call]] = next[call];
    prev[next[call]] = prev[call];
    next[prev[ret]] = next[ret];
    if next[ret] != NIL {
        prev[next[ret]] = prev[ret];
    }
}

/// Puts a lifted call and its return back into the list.
fn unlift(next: &mut [usize], prev: &mut [usize], call: usize) {
    let ret = call + 1;
    next[prev[ret]] = ret;
    if next[ret] != NIL {
        prev[next[ret]] = ret;
    }
    next[prev[call]] = call;
    prev[next[call]] = call;
}

/// The search tries the operations that change nothing first (reads, definite
/// errors: taken greedily), then writes with a reply, then writes whose reply was lost
/// (in [`Mode::Restricted`], only where no write with a reply could go).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Pure,
    Writes,
    Maybe,
}

fn step(op: &PathOp, state: State) -> Option<State> {
    if let Some(zxid) = op.zxid {
        if zxid <= state.floor || state.floor != op.zxid_before {
            return None;
        }
    }
    if let Some((lo, hi)) = op.bucket {
        if state.floor < lo || state.floor > hi {
            return None;
        }
    }
    let node = op.step.apply(state.node)?;
    Some(State { node, floor: op.zxid.unwrap_or(state.floor) })
}

fn describe(state: &State, interner: &Interner<'_>) -> String {
    match state.node {
        None => "absent".to_string(),
        Some(node) if node.data == UNSEEN => {
            format!("present at version {}", node.version)
        }
        Some(node) => {
            let data = interner.values[node.data as usize];
            let shown = match std::str::from_utf8(data) {
                Ok(text) if text.len() <= 24 => crate::text::Quoted(text).to_string(),
                _ => format!("<{} bytes>", data.len()),
            };
            format!("{shown} at version {}", node.version)
        }
    }
}

/// The first read (index in `raws`) showing data that no write of the path wrote:
/// a violation found without a search.
fn unwritten_read(raws: &[Raw], initial: Option<u32>) -> Option<usize> {
    let mut written: VecSet<u32> = initial.into_iter().collect();
    for raw in raws {
        if let Step::CreateOk { data, .. }
        | Step::CreateMaybe { data, .. }
        | Step::SetOk { data, .. }
        | Step::SetMaybe { data, .. } = raw.step
        {
            written.insert(data);
        }
    }
    raws.iter().position(
        |raw| matches!(raw.step, Step::ReadPresent { data: Some(data), .. } if !written.contains(&data)),
    )
}

/// Runs rule 1 on every path; pushes violations; returns the totals.
pub(crate) fn check_paths(
    history: &History,
    index: &Index,
    config: &CheckConfig,
    found: &mut Vec<Violation>,
) -> SearchTotals {
    let syncs = session::syncs_before(history, index);
    let Partitions { by_path, mut interner } = partitions(history);
    let mut totals = SearchTotals::default();
    let mut budget = config.max_states;
    for (path, raws) in &by_path {
        if found.len() >= config.max_violations {
            break;
        }
        totals.paths += 1;
        let initial = State {
            node: history.initial.get(path).map(|node| Node {
                data: interner.id(&node.data),
                version: node.version,
                czxid: None,
                mzxid: None,
                owner: SessionId(0),
            }),
            floor: Zxid::ZERO,
        };
        if let Some(read) = unwritten_read(raws, initial.node.map(|n| n.data)) {
            let x = raws[read].id;
            found.push(Violation {
                rule: Rule::ReadsSeeWrites,
                ops: vec![x],
                events: vec![],
                message: format!(
                    "op {} read {path} as {}, data that no write on {path} ever wrote",
                    x.0,
                    history.op(x).outcome
                ),
            });
            continue;
        }
        let states = &mut totals.states;
        let mut run = |with_reads: bool, relax: Relax, budget: &mut u64| {
            let ops = path_ops(history, raws, &syncs, with_reads, relax);
            // The restricted search settles almost every correct history quickly;
            // only the complete search may declare a violation.
            let outcome = match search(&ops, initial, Mode::Restricted, budget, states) {
                Search::Stuck { .. } => search(&ops, initial, Mode::Complete, budget, states),
                other => other,
            };
            (ops, outcome)
        };
        let (ops, outcome) = run(true, Relax::default(), &mut budget);
        let (stuck, last, state) = match outcome {
            Search::Linearizable => continue,
            Search::Exceeded { deepest } => {
                totals.exceeded.get_or_insert_with(|| match deepest {
                    Some(at) => format!("{path} (the search was stuck at op {})", ops[at].id.0),
                    None => path.clone(),
                });
                continue;
            }
            Search::Stuck { stuck, last, state } => (stuck, last, state),
        };
        // Is it the writes alone?
        let (write_ops, writes_only) = run(false, Relax::default(), &mut budget);
        if let Search::Stuck { stuck, last, state } = writes_only {
            let x = write_ops[stuck].id;
            let mut involved = vec![x];
            let after = match last {
                Some(l) => {
                    involved.push(write_ops[l].id);
                    format!("after op {}", write_ops[l].id.0)
                }
                None => "from the start".to_string(),
            };
            found.push(Violation {
                rule: Rule::WritesLinearizable,
                ops: involved,
                events: vec![],
                message: format!(
                    "op {} ({}) cannot take effect within its interval: the longest valid order of the writes on {path} leaves it {} {after}",
                    x.0,
                    history.op(x).op,
                    describe(&state, &interner)
                ),
            });
            continue;
        }
        if matches!(writes_only, Search::Exceeded { .. }) {
            totals.exceeded.get_or_insert_with(|| path.clone());
            continue;
        }
        let x = ops[stuck].id;
        let last_id = last.map(|l| ops[l].id);
        let mut involved = vec![x];
        involved.extend(last_id);
        let after = match last_id {
            Some(l) => format!("after op {}", l.0),
            None => "from the start".to_string(),
        };
        if ops[stuck].kind != Kind::Read {
            found.push(Violation {
                rule: Rule::ReadsSeeWrites,
                ops: involved,
                events: vec![],
                message: format!(
                    "the writes on {path} have no order that its reads agree with: op {} cannot take effect {after}",
                    x.0
                ),
            });
            continue;
        }
        let relaxed_sync = Relax { sync_of: Some(x), ..Relax::default() };
        if let (Some(sync), (_, Search::Linearizable)) = (syncs[x.0], run(true, relaxed_sync, &mut budget)) {
            // The write the read missed: the last one on the path acknowledged before
            // the sync was sent.
            let sent = history.op(sync).invoked;
            let missed = raws
                .iter()
                .map(|r| r.id)
                .filter(|&id| {
                    let o = history.op(id);
                    o.op.is_write()
                        && matches!(o.outcome, Outcome::Ok { .. })
                        && o.completed.is_some_and(|done| done < sent)
                })
                .max_by_key(|&id| history.op(id).completed);
            let mut involved = vec![x, sync];
            involved.extend(missed);
            found.push(Violation {
                rule: Rule::SyncThenRead,
                ops: involved,
                events: vec![],
                message: format!(
                    "op {} read {path} after sync (op {}) but saw a state the writes completed before the sync had already replaced",
                    x.0, sync.0
                ),
            });
            continue;
        }
        let relaxed_session = Relax { sync_of: Some(x), session_of: Some(x) };
        if let (_, Search::Linearizable) = run(true, relaxed_session, &mut budget) {
            let mut ops_involved = vec![x];
            ops_involved.extend(ops[stuck].pred.map(|p| ops[p].id));
            found.push(Violation {
                rule: Rule::NoTimeTravel,
                ops: ops_involved,
                events: vec![],
                message: format!(
                    "op {} read {path} as {}, a state older than what session {} had already seen",
                    x.0,
                    history.op(x).outcome,
                    history.op(x).session
                ),
            });
            continue;
        }
        found.push(Violation {
            rule: Rule::ReadsSeeWrites,
            ops: involved,
            events: vec![],
            message: format!(
                "op {} read {path} as {}, but no order of the writes gives that state before the read completed (the writes leave it {} {after})",
                x.0,
                history.op(x).outcome,
                describe(&state, &interner)
            ),
        });
    }
    totals
}
