//! Rule 4: a watch fires at most once per registration, and its session sees the event
//! before any reply that reflects the change.
//!
//! ZooKeeper keeps one watch per (session, path, table): a second `getData(watch)` on
//! the same path before the event does not add a second event. `getData` and `exists`
//! register in the data table, `getChildren` in the child table; `NodeDeleted` fires
//! both. The change that fires a registration is the first write on the path (for a
//! child watch: a child created or deleted, or the node deleted) whose zxid is above
//! the zxid of the registering reply; any reply to the session carrying that zxid or a
//! later one must come after the event.

use super::history::{EventBody, EventId, EventKind, History, Op, OpId, Outcome, Watch};
use super::session::{Index, KnownWrite};
use super::{Rule, Violation};
use crate::ids::Zxid;
use crate::vecmap::VecMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Table {
    Data,
    Child,
}

#[derive(Clone, Copy, Debug)]
struct Registration {
    op: OpId,
    trigger: Option<KnownWrite>,
}

#[derive(Clone, Copy, Debug)]
enum Item {
    Reply(OpId),
    Event(EventId),
}

/// The table a read registers its watch in, if it does. A read whose reply was lost
/// may have registered its watch (at any time after it was sent): it may then explain
/// one event that no other registration explains, and constrains nothing else.
fn registers(op: &Op, outcome: &Outcome) -> Option<(String, Table)> {
    if matches!(outcome, Outcome::Error { .. }) {
        return None;
    }
    match op {
        Op::GetData { path, watch: Watch::Set } | Op::Exists { path, watch: Watch::Set } => {
            Some((path.clone(), Table::Data))
        }
        Op::GetChildren { path, watch: Watch::Set } => Some((path.clone(), Table::Child)),
        _ => None,
    }
}

fn fired_tables(kind: EventKind) -> &'static [Table] {
    match kind {
        EventKind::NodeCreated | EventKind::NodeDataChanged => &[Table::Data],
        EventKind::NodeChildrenChanged => &[Table::Child],
        EventKind::NodeDeleted => &[Table::Data, Table::Child],
    }
}

fn trigger(index: &Index, path: &str, table: Table, after: Zxid) -> Option<KnownWrite> {
    let list = match table {
        Table::Data => index.writes.get(path)?,
        Table::Child => index.child_writes.get(path)?,
    };
    let at = list.partition_point(|w| w.zxid <= after);
    list.get(at).copied()
}

pub(crate) fn check(history: &History, index: &Index, found: &mut Vec<Violation>) {
    let mut timelines: VecMap<_, Vec<_>> = VecMap::new();
    for (session, ids) in &index.by_session {
        let line = timelines.entry(*session).or_insert_with(Vec::new);
        for &id in ids {
            if let Some(done) = history.op(id).completed {
                line.push((done, Item::Reply(id)));
            }
        }
    }
    for (at, event) in history.events.iter().enumerate() {
        timelines.entry(event.session).or_default().push((event.at, Item::Event(EventId(at))));
    }
    for (session, mut line) in timelines {
        line.sort_by_key(|(stamp, _)| *stamp);
        let mut pending: VecMap<(String, Table), Registration> = VecMap::new();
        let mut last_fired: VecMap<(String, Table), (EventId, OpId)> = VecMap::new();
        // Registrations by reads whose reply was lost: each may explain one event.
        let mut spare: VecMap<(String, Table), usize> = VecMap::new();
        let mut reported = false;
        for (_, item) in line {
            if reported {
                break;
            }
            match item {
                Item::Reply(id) => {
                    let operation = history.op(id);
                    // The end of a session is no reply the session reads (an expiry is
                    // the leader's decision), and its watches end with it.
                    let read_by_session = !matches!(operation.op, Op::CloseSession);
                    if let Some(zxid) = operation.outcome.zxid().filter(|_| read_by_session) {
                        let early =
                            pending.iter().find(|(_, reg)| reg.trigger.is_some_and(|w| w.zxid <= zxid));
                        if let Some(((path, _), reg)) = early {
                            let change = reg.trigger.map(|w| w.op).unwrap_or(reg.op);
                            found.push(Violation {
                                rule: Rule::WatchBeforeChange,
                                ops: vec![id, change, reg.op],
                                events: vec![],
                                message: format!(
                                    "session {session} got a reply at zxid {zxid} (op {}) reflecting op {}'s change to {path} before the event of the watch it set with op {}",
                                    id.0, change.0, reg.op.0
                                ),
                            });
                            reported = true;
                            continue;
                        }
                    }
                    if let Some(key) = registers(&operation.op, &operation.outcome) {
                        if operation.is_unknown() {
                            *spare.entry(key).or_insert(0) += 1;
                            continue;
                        }
                        let trigger =
                            operation.outcome.zxid().and_then(|zxid| trigger(index, &key.0, key.1, zxid));
                        pending.entry(key).or_insert(Registration { op: id, trigger });
                    }
                }
                Item::Event(event_id) => match &history.event(event_id).body {
                    EventBody::Expired => pending.clear(),
                    EventBody::Watch { path, kind, .. } => {
                        let mut consumed = None;
                        for &table in fired_tables(*kind) {
                            let key = (path.clone(), table);
                            if let Some(reg) = pending.remove(&key) {
                                consumed.get_or_insert(reg.op);
                                last_fired.insert(key, (event_id, reg.op));
                            }
                        }
                        if consumed.is_none() {
                            let spent = fired_tables(*kind).iter().any(|t| {
                                match spare.get_mut(&(path.clone(), *t)) {
                                    Some(count) if *count > 0 => {
                                        *count -= 1;
                                        true
                                    }
                                    _ => false,
                                }
                            });
                            if spent {
                                continue;
                            }
                            let before = fired_tables(*kind)
                                .iter()
                                .find_map(|t| last_fired.get(&(path.clone(), *t)).copied());
                            let (events, ops, sentence) = match before {
                                Some((first, reg)) => (
                                    vec![event_id, first],
                                    vec![reg],
                                    format!(
                                        "session {session} received {kind} for {path} twice (events {} and {}) for the one watch set by op {}",
                                        first.0, event_id.0, reg.0
                                    ),
                                ),
                                None => (
                                    vec![event_id],
                                    vec![],
                                    format!(
                                        "session {session} received {kind} for {path} without a watch registered on it"
                                    ),
                                ),
                            };
                            found.push(Violation { rule: Rule::WatchOnce, ops, events, message: sentence });
                            reported = true;
                        }
                    }
                },
            }
        }
    }
}
