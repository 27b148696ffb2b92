//! Rule 1 for `getChildren`: a child list is a view of other paths (the children), so
//! the per-path search cannot check it. With zxids it is direct: a reply carrying zxid
//! `z` lists exactly the children that the creates and deletes up to `z` leave.
//!
//! The check is skipped for a parent whenever the history leaves its children
//! ambiguous: a create or delete of a child whose outcome is unknown or whose zxid no
//! reply told, or a closed (or expired) session that owned an ephemeral child.

use super::history::{History, Op, OpId, OpResult, Outcome};
use super::session::{parent, written_path};
use super::{Rule, Violation};
use crate::ids::{SessionId, Zxid};
use crate::vecmap::StringSet;
use crate::vecmap::{VecMap, VecSet};

/// What the history tells about one parent's children.
#[derive(Default)]
struct Family {
    /// (zxid, child name, created?, op), by zxid.
    changes: Vec<(Zxid, String, bool, OpId)>,
    /// Some change cannot be placed: no check.
    ambiguous: bool,
    /// Sessions that created an ephemeral child.
    owners: VecSet<SessionId>,
}

fn name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

pub(crate) fn check(history: &History, found: &mut Vec<Violation>) {
    let mut families: VecMap<&str, Family> = VecMap::new();
    let mut closed: VecSet<SessionId> = VecSet::new();
    for (at, operation) in history.operations.iter().enumerate() {
        let id = OpId(at);
        match &operation.op {
            Op::Create { path, mode, .. } => {
                let done = written_path(history, id);
                let Some(up) = parent(done.unwrap_or(path)) else { continue };
                let family = families.entry(up).or_default();
                if mode.ephemeral {
                    family.owners.insert(operation.session);
                }
                match (done, operation.write_zxid()) {
                    (Some(child), Some(zxid)) => {
                        family.changes.push((zxid, name(child).to_string(), true, id));
                    }
                    _ if operation.is_unknown() => family.ambiguous = true,
                    (Some(_), None) => family.ambiguous = true,
                    (None, _) => {}
                }
            }
            Op::Delete { path, .. } => {
                let Some(up) = parent(path) else { continue };
                let family = families.entry(up).or_default();
                match (written_path(history, id), operation.write_zxid()) {
                    (Some(_), Some(zxid)) => family.changes.push((zxid, name(path).to_string(), false, id)),
                    _ if operation.is_unknown() => family.ambiguous = true,
                    (Some(_), None) => family.ambiguous = true,
                    (None, _) => {}
                }
            }
            Op::CloseSession => {
                closed.insert(operation.session);
            }
            _ => {}
        }
    }
    for family in families.values_mut() {
        if family.owners.iter().any(|s| closed.contains(s)) {
            family.ambiguous = true;
        }
        family.changes.sort();
    }
    // The replies to judge, per parent, by zxid: one sweep over each parent's changes.
    let mut replies: VecMap<&str, Vec<(Zxid, OpId)>> = VecMap::new();
    for (at, operation) in history.operations.iter().enumerate() {
        if let (
            Op::GetChildren { path, .. },
            Outcome::Ok { result: OpResult::Children { .. }, zxid: Some(zxid) },
        ) = (&operation.op, &operation.outcome)
        {
            if !families.get(path.as_str()).is_some_and(|f| f.ambiguous) {
                replies.entry(path.as_str()).or_default().push((*zxid, OpId(at)));
            }
        }
    }
    let none = Family::default();
    for (path, mut list) in replies {
        list.sort();
        let family = families.get(path).unwrap_or(&none);
        // The children as of the sweep's zxid, and the change that last touched each.
        let mut expected: StringSet =
            history.initial.keys().filter(|p| parent(p) == Some(path)).map(|p| name(p).to_string()).collect();
        let mut last: VecMap<&str, OpId> = VecMap::new();
        let mut next = 0;
        for (zxid, id) in list {
            while let Some((z, child, created, op)) = family.changes.get(next) {
                if *z > zxid {
                    break;
                }
                last.insert(child, *op);
                if *created {
                    expected.insert(child.clone());
                } else {
                    expected.remove(child);
                }
                next += 1;
            }
            let Outcome::Ok { result: OpResult::Children { children, .. }, .. } = &history.op(id).outcome
            else {
                continue;
            };
            let listed: VecSet<&str> = children.iter().map(String::as_str).collect();
            let missing = expected.iter().find(|c| !listed.contains(c.as_str()));
            let extra = listed.iter().find(|c| !expected.contains(**c));
            let Some(wrong) = missing.map(String::as_str).or(extra.copied()) else { continue };
            let mut ops = vec![id];
            ops.extend(last.get(wrong).copied());
            let how = if missing.is_some() { "misses" } else { "lists" };
            let because = match last.get(wrong) {
                Some(op) => {
                    format!(" (op {} {} it)", op.0, if missing.is_some() { "created" } else { "deleted" })
                }
                None => String::new(),
            };
            found.push(Violation {
                rule: Rule::ReadsSeeWrites,
                ops,
                events: vec![],
                message: format!(
                    "op {} listed the children of {path} at zxid {zxid}, but it {how} {wrong}{because}",
                    id.0
                ),
            });
            return;
        }
    }
}
