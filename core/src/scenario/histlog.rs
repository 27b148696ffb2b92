//! The simulated clients' history in the checker's terms ([`crate::checker`]).
//!
//! [`super::sim::SimDriver`] tells a [`HistoryLog`] when an operation reaches a server
//! (its invocation: an operation that never left the client had no effect and is not
//! part of the history), when it completes and how (a typed result, an error, or the
//! ambiguity of a lost connection), which watch and session events each session
//! received, and when the leader's tracker expired a session (a committed
//! closeSession). [`HistoryLog::build`] turns what one cluster's clients saw into a
//! [`History`] for [`crate::checker::check`].
//!
//! The checker models znodes as data, version, zxids and ephemeral owner. Commands
//! outside that model are left out, and so is everything they could make ambiguous:
//! the paths a `multi` or `deleteall` writes, containers and TTL nodes (the server
//! deletes them by itself) and `/zookeeper` are *tainted*, and every operation on a
//! tainted path or below it — and every `ls` of one of its ancestors — is dropped;
//! `setAcl`, `getAcl`, `addauth` and the other commands that change nothing the model
//! holds are dropped on their own; a session that set a persistent watch (`addWatch`)
//! or removed watches keeps its operations but not its watch events (rule 4 is about
//! one-shot watches). Dropping is always sound: it can hide a violation, never invent
//! one.

use crate::checker::{
    self, CreateMode, ErrorCode, EventBody, EventKind, History, Op, OpResult, Outcome, Recorder, Stat, Watch,
};
use crate::ids::{SessionId, Zxid};
use crate::tree;
use crate::vecmap::{VecMap, VecSet};
use crate::zkcli::{self, ZkCommand};

/// When something was recorded: simulated time and the driver's record order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct At {
    seq: u64,
    time: u64,
}

#[derive(Clone, Debug)]
struct Sent {
    cluster: usize,
    session: SessionId,
    at: At,
}

#[derive(Clone, Debug, Default)]
struct OpLog {
    sent: Option<Sent>,
    done: Option<(At, Outcome)>,
    /// Completed in a way the model has no words for (an error it does not know):
    /// the operation is left out.
    opaque: bool,
}

#[derive(Clone, Debug)]
struct EventLog {
    cluster: usize,
    session: SessionId,
    at: At,
    body: EventBody,
}

/// What the simulated clients did, kept for the checker.
#[derive(Clone, Debug, Default)]
pub struct HistoryLog {
    seq: u64,
    ops: Vec<OpLog>,
    events: Vec<EventLog>,
    /// Sessions whose watch events are not one-shot registrations' (addWatch,
    /// removewatches).
    persistent: VecSet<SessionId>,
    /// Sessions whose expiry (closeSession) has been recorded.
    closed: VecSet<SessionId>,
    /// closeSession operations: (cluster, session, committed at, zxid).
    closes: Vec<(usize, SessionId, At, Zxid)>,
}

impl HistoryLog {
    fn at(&mut self, time: u64) -> At {
        self.seq += 1;
        At { seq: self.seq, time }
    }

    fn op(&mut self, i: usize) -> &mut OpLog {
        if self.ops.len() <= i {
            self.ops.resize_with(i + 1, OpLog::default);
        }
        &mut self.ops[i]
    }

    /// Operation `i` (the driver's index) reached a server of `cluster` for `session`.
    pub fn sent(&mut self, i: usize, cluster: usize, session: SessionId, time: u64, command: &ZkCommand) {
        if matches!(command, ZkCommand::AddWatch { .. } | ZkCommand::RemoveWatches { .. }) {
            self.persistent.insert(session);
        }
        let at = self.at(time);
        let op = self.op(i);
        if op.sent.is_none() {
            op.sent = Some(Sent { cluster, session, at });
        }
    }

    /// Operation `i` completed at `time`: `status` is the console's word for it,
    /// `typed` the tree's result when it succeeded, `zxid` the reply's zxid.
    pub fn completed(&mut self, i: usize, time: u64, ok: Result<Option<OpResult>, &str>, zxid: Option<Zxid>) {
        if self.ops.get(i).is_none_or(|o| o.sent.is_none() || o.done.is_some()) {
            return;
        }
        let outcome = match ok {
            Ok(Some(result)) => Some(Outcome::Ok { result, zxid }),
            Ok(None) => None,
            Err(name) => error_code(name).map(|code| {
                if code.is_ambiguous() {
                    Outcome::Unknown { code }
                } else {
                    Outcome::Error { code, zxid }
                }
            }),
        };
        let at = self.at(time);
        let op = self.op(i);
        match outcome {
            Some(o) => op.done = Some((at, o)),
            None => op.opaque = true,
        }
    }

    /// A watch event reached `session` from a server of `cluster`.
    pub fn watch_event(
        &mut self,
        cluster: usize,
        session: SessionId,
        time: u64,
        event: tree::EventType,
        path: &str,
    ) {
        use tree::EventType as E;
        let kind = match event {
            E::NodeCreated => EventKind::NodeCreated,
            E::NodeDeleted => EventKind::NodeDeleted,
            E::NodeDataChanged => EventKind::NodeDataChanged,
            E::NodeChildrenChanged => EventKind::NodeChildrenChanged,
            _ => return,
        };
        let at = self.at(time);
        let body = EventBody::Watch { path: path.to_string(), kind, zxid: None };
        self.events.push(EventLog { cluster, session, at, body });
    }

    /// `session` was told it expired.
    pub fn expired(&mut self, cluster: usize, session: SessionId, time: u64) {
        let at = self.at(time);
        self.events.push(EventLog { cluster, session, at, body: EventBody::Expired });
    }

    /// The leader committed closeSession for `session` at `zxid` (its expiry).
    pub fn closed(&mut self, cluster: usize, session: SessionId, time: u64, zxid: Zxid) {
        if self.closed.insert(session) {
            let at = self.at(time);
            self.closes.push((cluster, session, at, zxid));
        }
    }

    /// The history of the clients of `cluster`, given every operation's command (by
    /// the driver's index).
    pub fn build(&self, cluster: usize, commands: &[&ZkCommand]) -> History {
        let mut tainted: Vec<String> = vec!["/zookeeper".to_string()];
        for (i, log) in self.ops.iter().enumerate() {
            if log.sent.as_ref().is_some_and(|s| s.cluster == cluster) {
                if let Some(c) = commands.get(i) {
                    tainted.extend(taints(c));
                }
            }
        }
        let under = |path: &str| {
            tainted
                .iter()
                .any(|t| path == t || path.strip_prefix(t.as_str()).is_some_and(|r| r.starts_with('/')))
        };
        let above = |path: &str| {
            let prefix = if path == "/" { "/".to_string() } else { format!("{path}/") };
            tainted.iter().any(|t| t.starts_with(&prefix))
        };
        // Every record in the order the driver made it.
        enum Rec<'a> {
            Invoke(usize, &'a Sent, Op),
            Complete(usize, At, &'a Outcome),
            Event(&'a EventLog),
            Close(SessionId, At, Zxid),
        }
        let mut recs: Vec<(At, Rec)> = Vec::new();
        for (i, log) in self.ops.iter().enumerate() {
            let Some(sent) = log.sent.as_ref().filter(|s| s.cluster == cluster) else { continue };
            if log.opaque {
                continue;
            }
            let Some(op) = commands.get(i).and_then(|c| model_op(c)) else { continue };
            let skip = match &op {
                Op::GetChildren { path, .. } => under(path) || above(path),
                other => other.path().is_some_and(under),
            };
            if skip {
                continue;
            }
            recs.push((sent.at, Rec::Invoke(i, sent, op)));
            if let Some((at, outcome)) = &log.done {
                recs.push((*at, Rec::Complete(i, *at, outcome)));
            }
        }
        for e in self.events.iter().filter(|e| e.cluster == cluster) {
            let skip = match &e.body {
                EventBody::Watch { path, .. } => self.persistent.contains(&e.session) || under(path),
                EventBody::Expired => false,
            };
            if !skip {
                recs.push((e.at, Rec::Event(e)));
            }
        }
        for &(c, session, at, zxid) in &self.closes {
            if c == cluster {
                recs.push((at, Rec::Close(session, at, zxid)));
            }
        }
        recs.sort_by_key(|r| r.0);
        let mut recorder = Recorder::new();
        let mut ids = VecMap::new();
        for (_, rec) in recs {
            match rec {
                Rec::Invoke(i, sent, op) => {
                    ids.insert(i, recorder.invoke(sent.at.time, sent.session, op));
                }
                Rec::Complete(i, at, outcome) => {
                    if let Some(&id) = ids.get(&i) {
                        recorder.complete(at.time, id, outcome.clone());
                    }
                }
                Rec::Event(e) => {
                    recorder.event(e.at.time, e.session, e.body.clone());
                }
                Rec::Close(session, at, zxid) => {
                    let id = recorder.invoke(at.time, session, Op::CloseSession);
                    let outcome = Outcome::Ok { result: OpResult::Closed, zxid: Some(zxid) };
                    recorder.complete(at.time, id, outcome);
                }
            }
        }
        recorder.finish()
    }
}

/// The paths a command makes ambiguous for the model (see the module doc).
fn taints(command: &ZkCommand) -> Vec<String> {
    use zkcli::CreateMode as M;
    match command {
        ZkCommand::Create {
            mode: M::Container | M::PersistentWithTtl(_) | M::PersistentSequentialWithTtl(_),
            path,
            ..
        } => vec![path.clone()],
        ZkCommand::DeleteAll { path, .. } => vec![path.clone()],
        ZkCommand::Multi(ops) => ops
            .iter()
            .map(|op| match op {
                zkcli::MultiOp::Create { path, .. }
                | zkcli::MultiOp::Set { path, .. }
                | zkcli::MultiOp::Delete { path, .. }
                | zkcli::MultiOp::Check { path, .. } => path.clone(),
            })
            .collect(),
        _ => vec![],
    }
}

/// The model's operation for a command, if the model has one.
fn model_op(command: &ZkCommand) -> Option<Op> {
    use zkcli::CreateMode as M;
    let watch = |w: bool| if w { Watch::Set } else { Watch::No };
    Some(match command {
        ZkCommand::Create { mode, path, data, .. } => {
            let (ephemeral, sequential) = match mode {
                M::Persistent => (false, false),
                M::PersistentSequential => (false, true),
                M::Ephemeral => (true, false),
                M::EphemeralSequential => (true, true),
                _ => return None,
            };
            let data = data.clone().unwrap_or_default().into_bytes();
            Op::Create { path: path.clone(), data, mode: CreateMode { ephemeral, sequential } }
        }
        ZkCommand::Set { version, path, data, .. } => Op::SetData {
            path: path.clone(),
            data: data.clone().into_bytes(),
            version: version.filter(|v| *v != -1),
        },
        ZkCommand::Delete { version, path } => {
            Op::Delete { path: path.clone(), version: version.filter(|v| *v != -1) }
        }
        ZkCommand::Get { path, watch: w, .. } => Op::GetData { path: path.clone(), watch: watch(*w) },
        ZkCommand::Stat { path, watch: w } => Op::Exists { path: path.clone(), watch: watch(*w) },
        ZkCommand::Ls { path, watch: w, recursive: false, .. } => {
            Op::GetChildren { path: path.clone(), watch: watch(*w) }
        }
        ZkCommand::Sync { path } => Op::Sync { path: path.clone() },
        _ => return None,
    })
}

/// ZooKeeper's error name in the model's codes (`None`: not one the model knows).
fn error_code(name: &str) -> Option<ErrorCode> {
    Some(match name {
        "NONODE" => ErrorCode::NoNode,
        "NODEEXISTS" => ErrorCode::NodeExists,
        "BADVERSION" => ErrorCode::BadVersion,
        "NOTEMPTY" => ErrorCode::NotEmpty,
        "NOCHILDRENFOREPHEMERALS" => ErrorCode::NoChildrenForEphemerals,
        "CONNECTIONLOSS" => ErrorCode::ConnectionLoss,
        "SESSIONEXPIRED" => ErrorCode::SessionExpired,
        "OPERATIONTIMEOUT" => ErrorCode::OperationTimeout,
        // A definite failure: the leader refused the request, nothing changed.
        "SESSIONMOVED" => ErrorCode::SessionMoved,
        _ => return None,
    })
}

fn stat(s: &tree::Stat) -> Stat {
    Stat { czxid: s.czxid, mzxid: s.mzxid, version: s.version, ephemeral_owner: SessionId(s.ephemeral_owner) }
}

/// The model's result of a successful write.
pub fn write_result(r: &tree::OpResult) -> Option<OpResult> {
    Some(match r {
        tree::OpResult::Created { path, stat: s } => {
            OpResult::Created { path: path.clone(), stat: Some(stat(s)) }
        }
        tree::OpResult::Deleted => OpResult::Deleted,
        tree::OpResult::DataSet(s) => OpResult::DataSet { stat: stat(s) },
        _ => return None,
    })
}

/// The model's result of a successful read.
pub fn read_result(r: &tree::ReadResponse) -> Option<OpResult> {
    Some(match r {
        tree::ReadResponse::Data { data, stat: s } => OpResult::Data { data: data.to_vec(), stat: stat(s) },
        tree::ReadResponse::Stat(s) => OpResult::Exists { stat: Some(stat(s)) },
        tree::ReadResponse::Children { children, stat: s } => {
            OpResult::Children { children: children.clone(), stat: s.as_ref().map(stat) }
        }
        _ => return None,
    })
}

/// The verdict on a history, in a line (and the explanation of the first violation).
pub fn summary(history: &History, report: &checker::Report) -> String {
    match &report.verdict {
        checker::Verdict::Ok => format!(
            "linearizable: {} operations, {} events checked",
            history.operations.len(),
            history.events.len()
        ),
        checker::Verdict::Unknown { reason } => reason.clone(),
        checker::Verdict::Violated(v) => v.first().map(|v| v.explain(history)).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessionmoved_is_a_definite_failure_and_connectionloss_is_not() {
        assert_eq!(error_code("SESSIONMOVED"), Some(ErrorCode::SessionMoved));
        assert!(!ErrorCode::SessionMoved.is_ambiguous());
        assert!(error_code("CONNECTIONLOSS").is_some_and(ErrorCode::is_ambiguous));
        assert_eq!(error_code("NOTACODE"), None);
    }
}
