//! Rules 2 and 3 where the zxids make them direct: FIFO replies, monotonic zxids,
//! no time travel, read-after-sync. These checks need no search; the per-path search
//! ([`super::linear`]) is the backstop for histories recorded without zxids.

use super::history::{History, Op, OpId, OpResult, Outcome, Stamp, Stat};
use super::{Rule, Violation};
use crate::ids::{SessionId, Zxid};
use crate::vecmap::VecMap;

/// A write whose reply told its zxid.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KnownWrite {
    pub zxid: Zxid,
    pub op: OpId,
    pub completed: Stamp,
}

/// Lookups shared by the rules, built once per history.
pub(crate) struct Index {
    /// Each session's operations, in invocation order.
    pub by_session: VecMap<SessionId, Vec<OpId>>,
    /// Per path, the successful writes with a known zxid, by zxid.
    pub writes: VecMap<String, Vec<KnownWrite>>,
    /// Per path, the minimum completion stamp of `writes[path][i..]`.
    suffix_min_completed: VecMap<String, Vec<Stamp>>,
    /// Per parent path, the successful creates and deletes of its children (and its
    /// own deletion) with a known zxid, by zxid.
    pub child_writes: VecMap<String, Vec<KnownWrite>>,
}

/// The parent of a path (`None` for `/`).
pub(crate) fn parent(path: &str) -> Option<&str> {
    if path == "/" {
        return None;
    }
    match path.rfind('/') {
        Some(0) => Some("/"),
        Some(at) => Some(&path[..at]),
        None => None,
    }
}

/// The path a successful write changed (the created path for a create).
pub(crate) fn written_path(history: &History, id: OpId) -> Option<&str> {
    let operation = history.op(id);
    match (&operation.op, &operation.outcome) {
        (Op::Create { .. }, Outcome::Ok { result: OpResult::Created { path, .. }, .. }) => Some(path),
        (Op::SetData { path, .. } | Op::Delete { path, .. }, Outcome::Ok { .. }) => Some(path),
        _ => None,
    }
}

/// The stat a successful read shows, if any.
pub(crate) fn shown_stat(outcome: &Outcome) -> Option<&Stat> {
    match outcome {
        Outcome::Ok { result, .. } => match result {
            OpResult::Data { stat, .. } | OpResult::DataSet { stat } => Some(stat),
            OpResult::Exists { stat } | OpResult::Children { stat, .. } => stat.as_ref(),
            OpResult::Created { stat, .. } => stat.as_ref(),
            OpResult::Deleted | OpResult::Synced | OpResult::Closed => None,
        },
        Outcome::Error { .. } | Outcome::Unknown { .. } => None,
    }
}

impl Index {
    pub fn new(history: &History) -> Index {
        let mut by_session: VecMap<SessionId, Vec<OpId>> = VecMap::new();
        let mut writes: VecMap<String, Vec<KnownWrite>> = VecMap::new();
        let mut child_writes: VecMap<String, Vec<KnownWrite>> = VecMap::new();
        for (at, operation) in history.operations.iter().enumerate() {
            let id = OpId(at);
            by_session.entry(operation.session).or_default().push(id);
            let (Some(path), Some(zxid), Some(completed)) =
                (written_path(history, id), operation.write_zxid(), operation.completed)
            else {
                continue;
            };
            let known = KnownWrite { zxid, op: id, completed };
            writes.entry(path.to_string()).or_default().push(known);
            let changes_children = matches!(operation.op, Op::Create { .. } | Op::Delete { .. });
            if changes_children {
                if let Some(up) = parent(path) {
                    child_writes.entry(up.to_string()).or_default().push(known);
                }
            }
            if matches!(operation.op, Op::Delete { .. }) {
                child_writes.entry(path.to_string()).or_default().push(known);
            }
        }
        for ids in by_session.values_mut() {
            ids.sort_by_key(|id| history.op(*id).invoked);
        }
        let mut suffix_min_completed = VecMap::new();
        for (path, list) in writes.iter_mut() {
            list.sort_by_key(|w| (w.zxid, w.op));
            let mut mins = vec![Stamp { time: 0, seq: 0 }; list.len()];
            let mut min: Option<Stamp> = None;
            for at in (0..list.len()).rev() {
                let here = list[at].completed;
                min = Some(min.map_or(here, |m| m.min(here)));
                mins[at] = min.unwrap_or(here);
            }
            suffix_min_completed.insert(path.clone(), mins);
        }
        for list in child_writes.values_mut() {
            list.sort_by_key(|w| (w.zxid, w.op));
        }
        Index { by_session, writes, suffix_min_completed, child_writes }
    }

    /// The first known write on `path` with a zxid greater than `zxid`.
    pub fn first_write_after(&self, path: &str, zxid: Zxid) -> Option<(usize, KnownWrite)> {
        let list = self.writes.get(path)?;
        let at = list.partition_point(|w| w.zxid <= zxid);
        list.get(at).map(|w| (at, *w))
    }

    /// A known write on `path` with a zxid greater than `zxid` that completed before
    /// `before`.
    fn write_after_completed_before(&self, path: &str, zxid: Zxid, before: Stamp) -> Option<KnownWrite> {
        let (at, _) = self.first_write_after(path, zxid)?;
        let mins = &self.suffix_min_completed[path];
        if mins[at] >= before {
            return None;
        }
        self.writes[path][at..].iter().find(|w| w.completed < before).copied()
    }
}

/// Rule 2: replies in FIFO order; zxids never decrease; no reply shows a zxid newer
/// than its own.
pub(crate) fn check_fifo_and_zxids(history: &History, index: &Index, found: &mut Vec<Violation>) {
    for (session, ids) in &index.by_session {
        // FIFO: completions in invocation order.
        let mut unanswered: Option<OpId> = None;
        let mut latest: Option<(Stamp, OpId)> = None;
        for &id in ids {
            let operation = history.op(id);
            if matches!(operation.op, Op::CloseSession) {
                // The leader's expiry, recorded as the session's last operation: not a
                // request in the session's queue.
                continue;
            }
            let Some(done) = operation.completed else {
                unanswered.get_or_insert(id);
                continue;
            };
            let earlier = match (unanswered, latest) {
                (Some(first), _) => Some(first),
                (None, Some((when, op))) if when > done => Some(op),
                _ => None,
            };
            if let Some(earlier) = earlier {
                found.push(Violation {
                    rule: Rule::SessionFifo,
                    ops: vec![id, earlier],
                    events: vec![],
                    message: format!(
                        "session {session} got the reply to op {} before the reply to op {}, which it sent earlier",
                        id.0, earlier.0
                    ),
                });
                break;
            }
            latest = Some((done, id));
        }
        // Zxids, in completion order.
        let mut answered: Vec<OpId> =
            ids.iter().copied().filter(|id| history.op(*id).completed.is_some()).collect();
        answered.sort_by_key(|id| history.op(*id).completed);
        let mut highest: Option<(Zxid, OpId)> = None;
        for id in answered {
            let operation = history.op(id);
            // The leader's expiry: its zxid is not in any reply the client read (a
            // lagging server may still answer the session's requests after it).
            let expiry = matches!(operation.op, Op::CloseSession);
            let Some(zxid) = operation.outcome.zxid().filter(|_| !expiry) else {
                continue;
            };
            if let Some((top, top_op)) = highest {
                if zxid < top {
                    found.push(Violation {
                        rule: Rule::SessionZxids,
                        ops: vec![id, top_op],
                        events: vec![],
                        message: format!(
                            "session {session} saw zxid {zxid} in the reply to op {} after it had seen {top} in the reply to op {}",
                            id.0, top_op.0
                        ),
                    });
                    break;
                }
            }
            if let Some(stat) = shown_stat(&operation.outcome) {
                let newest = stat.mzxid.max(stat.czxid);
                if newest > zxid {
                    found.push(Violation {
                        rule: Rule::SessionZxids,
                        ops: vec![id],
                        events: vec![],
                        message: format!(
                            "the reply to op {} carries zxid {zxid} but shows a change made at {newest}, which is newer",
                            id.0
                        ),
                    });
                    break;
                }
            }
            if highest.is_none_or(|(top, _)| zxid >= top) {
                highest = Some((zxid, id));
            }
        }
    }
}

/// Rules 2 and 3 for reads that show a stat: a read must not miss a write its session
/// had already seen (by zxid), nor one completed before a preceding sync.
pub(crate) fn check_reads(history: &History, index: &Index, found: &mut Vec<Violation>) {
    for (session, ids) in &index.by_session {
        let mut seen: Option<(Zxid, OpId)> = None;
        let mut next_done = 0usize;
        let mut last_sync: Option<OpId> = None;
        let mut reported_travel = false;
        let mut reported_sync = false;
        for (at, &id) in ids.iter().enumerate() {
            let operation = history.op(id);
            // Everything the session heard before sending this op (FIFO holds).
            while next_done < at {
                let earlier = history.op(ids[next_done]);
                match earlier.completed {
                    Some(done) if done < operation.invoked => {
                        // (not the leader's expiry: no reply the client read)
                        let expiry = matches!(earlier.op, Op::CloseSession);
                        if let Some(zxid) = earlier.outcome.zxid().filter(|_| !expiry) {
                            if seen.is_none_or(|(top, _)| zxid > top) {
                                seen = Some((zxid, ids[next_done]));
                            }
                        }
                        next_done += 1;
                    }
                    _ => break,
                }
            }
            if operation.op.is_read() {
                if let (Some(path), Some(stat)) = (operation.op.path(), shown_stat(&operation.outcome)) {
                    if let (Some((zxid, heard)), false) = (seen, reported_travel) {
                        if let Some((_, missed)) = index.first_write_after(path, stat.mzxid) {
                            if missed.zxid <= zxid {
                                reported_travel = true;
                                found.push(Violation {
                                    rule: Rule::NoTimeTravel,
                                    ops: vec![id, missed.op, heard],
                                    events: vec![],
                                    message: format!(
                                        "session {session} read {path} as of {} although it had already seen zxid {zxid} (op {}), after op {} changed {path} at {}",
                                        stat.mzxid, heard.0, missed.op.0, missed.zxid
                                    ),
                                });
                            }
                        }
                    }
                    if let (Some(sync), false) = (last_sync, reported_sync) {
                        let synced = history.op(sync).invoked;
                        if let Some(missed) = index.write_after_completed_before(path, stat.mzxid, synced) {
                            reported_sync = true;
                            found.push(Violation {
                                rule: Rule::SyncThenRead,
                                ops: vec![id, missed.op, sync],
                                events: vec![],
                                message: format!(
                                    "after sync (op {}), session {session} read {path} as of {}, missing op {} (zxid {}) which completed before the sync was sent",
                                    sync.0, stat.mzxid, missed.op.0, missed.zxid
                                ),
                            });
                        }
                    }
                }
            }
            if matches!(operation.op, Op::Sync { .. }) && matches!(operation.outcome, Outcome::Ok { .. }) {
                last_sync = Some(id);
            }
        }
    }
}

/// For every operation, the last successful sync its session sent before it.
pub(crate) fn syncs_before(history: &History, index: &Index) -> Vec<Option<OpId>> {
    let mut before = vec![None; history.operations.len()];
    for ids in index.by_session.values() {
        let mut last = None;
        for &id in ids {
            before[id.0] = last;
            let operation = history.op(id);
            if matches!(operation.op, Op::Sync { .. }) && matches!(operation.outcome, Outcome::Ok { .. }) {
                last = Some(id);
            }
        }
    }
    before
}
