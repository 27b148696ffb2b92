//! What a client saw: the recorded history the checker judges.
//!
//! A history is written by whoever drives the clients (the simulator, a scenario, a
//! real-client harness) through a [`Recorder`]: every operation is an *invocation*
//! followed, later, by a *completion*; watch events and session events are recorded
//! when the client receives them. Every record carries the driver's time (virtual time
//! or a global step counter) and the recorder adds a sequence number, so records are
//! totally ordered by [`Stamp`] even when two share a time.
//!
//! The types here are deliberately independent of the data tree and the client: they
//! hold what a ZooKeeper client can observe, nothing more.

use crate::ids::{SessionId, Zxid};
use crate::text::Quoted;
use crate::vecmap::VecMap;
use serde::{Deserialize, Serialize};
use std::fmt;

/// When something was recorded: the driver's time, then the recording order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Stamp {
    /// The driver's time (virtual milliseconds or a global step counter).
    pub time: u64,
    /// The position of the record in the history; breaks ties between equal times.
    pub seq: u64,
}

/// The index of an operation in [`History::operations`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OpId(pub usize);

/// The index of an event in [`History::events`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EventId(pub usize);

/// How a znode is created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateMode {
    /// The node lives and dies with the creating session.
    pub ephemeral: bool,
    /// The server appends a ten-digit counter to the name.
    pub sequential: bool,
}

/// Whether a read leaves a one-shot watch behind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Watch {
    /// No watch.
    #[default]
    No,
    /// Register a watch (data watch for getData/exists, child watch for getChildren).
    Set,
}

/// A client request, with its arguments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// `create(path, data, mode)`.
    Create {
        /// The requested path (the prefix, for a sequential node).
        path: String,
        /// The initial data.
        data: Vec<u8>,
        /// Ephemeral and/or sequential.
        mode: CreateMode,
    },
    /// `delete(path, version)`; `None` is ZooKeeper's `-1` (any version).
    Delete {
        /// The node to delete.
        path: String,
        /// The expected data version.
        version: Option<i32>,
    },
    /// `setData(path, data, version)`; `None` is `-1` (any version).
    SetData {
        /// The node to write.
        path: String,
        /// The new data.
        data: Vec<u8>,
        /// The expected data version.
        version: Option<i32>,
    },
    /// `getData(path, watch)`.
    GetData {
        /// The node to read.
        path: String,
        /// Leave a data watch.
        watch: Watch,
    },
    /// `exists(path, watch)`.
    Exists {
        /// The node to look for.
        path: String,
        /// Leave a data (exists) watch.
        watch: Watch,
    },
    /// `getChildren(path, watch)`.
    GetChildren {
        /// The node whose children are listed.
        path: String,
        /// Leave a child watch.
        watch: Watch,
    },
    /// `sync(path)`: the following reads of the session are up to date.
    Sync {
        /// The path argument (ZooKeeper syncs the whole server).
        path: String,
    },
    /// The end of the session: an explicit `close()`, or its expiry decided by the
    /// leader. Either way a `closeSession` transaction removes the session's ephemeral
    /// nodes. For an expiry, record the invocation when the client lost its
    /// connection and the completion when it learned of the expiry.
    CloseSession,
}

impl Op {
    /// The path the operation names, if any.
    pub fn path(&self) -> Option<&str> {
        match self {
            Op::Create { path, .. }
            | Op::Delete { path, .. }
            | Op::SetData { path, .. }
            | Op::GetData { path, .. }
            | Op::Exists { path, .. }
            | Op::GetChildren { path, .. }
            | Op::Sync { path } => Some(path),
            Op::CloseSession => None,
        }
    }

    /// True for the operations that change the tree (they go through the leader).
    pub fn is_write(&self) -> bool {
        matches!(self, Op::Create { .. } | Op::Delete { .. } | Op::SetData { .. } | Op::CloseSession)
    }

    /// True for the reads served by the connected server's own tree.
    pub fn is_read(&self) -> bool {
        matches!(self, Op::GetData { .. } | Op::Exists { .. } | Op::GetChildren { .. })
    }
}

/// A znode's metadata as a reply reports it (the fields the checker uses).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stat {
    /// The zxid of the transaction that created the node.
    pub czxid: Zxid,
    /// The zxid of the last transaction that changed the node's data (or created it).
    pub mzxid: Zxid,
    /// The data version: 0 at creation, +1 per setData.
    pub version: i32,
    /// The session owning the node if it is ephemeral; `SessionId(0)` otherwise.
    pub ephemeral_owner: SessionId,
}

/// What a successful operation returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpResult {
    /// `create` succeeded: the path actually created, and its stat if the client
    /// asked for one (`create2`).
    Created {
        /// The created path (with the sequence suffix for a sequential node).
        path: String,
        /// The new node's stat, if reported.
        stat: Option<Stat>,
    },
    /// `delete` succeeded.
    Deleted,
    /// `setData` succeeded: the node's new stat.
    DataSet {
        /// The stat after the write.
        stat: Stat,
    },
    /// `getData` succeeded.
    Data {
        /// The node's data.
        data: Vec<u8>,
        /// The node's stat.
        stat: Stat,
    },
    /// `exists` returned: `None` when the node does not exist.
    Exists {
        /// The node's stat, or `None`.
        stat: Option<Stat>,
    },
    /// `getChildren` succeeded.
    Children {
        /// The children's names (not full paths), in any order.
        children: Vec<String>,
        /// The parent's stat, if reported (`getChildren2`).
        stat: Option<Stat>,
    },
    /// `sync` completed.
    Synced,
    /// The session was closed or expired.
    Closed,
}

/// ZooKeeper's error codes that a client can receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ErrorCode {
    /// The node (or, for create, its parent) does not exist.
    NoNode,
    /// The node already exists.
    NodeExists,
    /// The expected version did not match.
    BadVersion,
    /// The node has children.
    NotEmpty,
    /// Ephemeral nodes may not have children.
    NoChildrenForEphemerals,
    /// The connection was lost with the request outstanding: ambiguous.
    ConnectionLoss,
    /// The session expired with the request outstanding: ambiguous.
    SessionExpired,
    /// The client gave up waiting: ambiguous.
    OperationTimeout,
    /// The session had moved to another server when the leader prepared the request
    /// (ZooKeeper's `SessionMovedException`): definite, the request changed nothing.
    SessionMoved,
}

impl fmt::Display for ErrorCode {
    /// Its name as in `KeeperException`'s exception classes (`NoNode`, `ConnectionLoss`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorCode::NoNode => "NoNode",
            ErrorCode::NodeExists => "NodeExists",
            ErrorCode::BadVersion => "BadVersion",
            ErrorCode::NotEmpty => "NotEmpty",
            ErrorCode::NoChildrenForEphemerals => "NoChildrenForEphemerals",
            ErrorCode::ConnectionLoss => "ConnectionLoss",
            ErrorCode::SessionExpired => "SessionExpired",
            ErrorCode::OperationTimeout => "OperationTimeout",
            ErrorCode::SessionMoved => "SessionMoved",
        })
    }
}

impl ErrorCode {
    /// True when the request may or may not have been executed.
    pub fn is_ambiguous(self) -> bool {
        matches!(self, ErrorCode::ConnectionLoss | ErrorCode::SessionExpired | ErrorCode::OperationTimeout)
    }
}

/// How an operation ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// A reply with a result. `zxid` is the server's last zxid carried by the reply
    /// header, when known.
    Ok {
        /// The result.
        result: OpResult,
        /// The zxid in the reply header.
        zxid: Option<Zxid>,
    },
    /// A definite error: the request was executed (or rejected) and changed nothing.
    Error {
        /// The error code.
        code: ErrorCode,
        /// The zxid in the reply header.
        zxid: Option<Zxid>,
    },
    /// No reply: the request may or may not have taken effect. The checker decides
    /// from the rest of the history; it never guesses.
    Unknown {
        /// Why the reply is missing (`ConnectionLoss`, `SessionExpired`, ...).
        code: ErrorCode,
    },
}

impl Outcome {
    /// The zxid of the reply header, if any.
    pub fn zxid(&self) -> Option<Zxid> {
        match self {
            Outcome::Ok { zxid, .. } | Outcome::Error { zxid, .. } => *zxid,
            Outcome::Unknown { .. } => None,
        }
    }
}

/// One client operation: invocation and (possibly) completion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// The session (client) that issued it.
    pub session: SessionId,
    /// The request.
    pub op: Op,
    /// When the client sent it.
    pub invoked: Stamp,
    /// When the client learned the outcome; `None` while still outstanding at the end
    /// of the history (treated as unknown).
    pub completed: Option<Stamp>,
    /// The outcome; `Unknown` while outstanding.
    pub outcome: Outcome,
}

impl Operation {
    /// True if the reply is missing or ambiguous.
    pub fn is_unknown(&self) -> bool {
        matches!(self.outcome, Outcome::Unknown { .. }) || self.completed.is_none()
    }

    /// The zxid of the transaction this write created, when the reply tells it:
    /// the stat's czxid (create) or mzxid (setData), else the reply header's zxid.
    /// Zero (no transaction has it) counts as not told.
    pub fn write_zxid(&self) -> Option<Zxid> {
        let told = match &self.outcome {
            Outcome::Ok { result, zxid } => match result {
                OpResult::Created { stat: Some(stat), .. } => Some(stat.czxid),
                OpResult::DataSet { stat } => Some(stat.mzxid),
                OpResult::Created { stat: None, .. } | OpResult::Deleted | OpResult::Closed => *zxid,
                _ => None,
            },
            _ => None,
        };
        told.filter(|zxid| *zxid != Zxid::ZERO)
    }
}

/// The kind of a watch notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventKind {
    /// The watched node was created (exists watch).
    NodeCreated,
    /// The watched node was deleted (data and child watches).
    NodeDeleted,
    /// The watched node's data changed (data watch).
    NodeDataChanged,
    /// A child was created or deleted (child watch).
    NodeChildrenChanged,
}

impl fmt::Display for EventKind {
    /// Its Java name (`NodeDataChanged`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EventKind::NodeCreated => "NodeCreated",
            EventKind::NodeDeleted => "NodeDeleted",
            EventKind::NodeDataChanged => "NodeDataChanged",
            EventKind::NodeChildrenChanged => "NodeChildrenChanged",
        })
    }
}

/// Something the client received that is not a reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventBody {
    /// A watch notification.
    Watch {
        /// The watched path.
        path: String,
        /// What happened.
        kind: EventKind,
        /// The zxid of the change, when the server sent it.
        zxid: Option<Zxid>,
    },
    /// The session expired (its watches are gone).
    Expired,
}

/// A watch or session event delivered to a session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The receiving session.
    pub session: SessionId,
    /// When it was received.
    pub at: Stamp,
    /// What it was.
    pub body: EventBody,
}

/// A znode present before the history starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitialNode {
    /// Its data.
    pub data: Vec<u8>,
    /// Its data version.
    pub version: i32,
}

/// A recorded client history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// The tree before the first operation (by default only `/`).
    pub initial: VecMap<String, InitialNode>,
    /// Every operation, in invocation order.
    pub operations: Vec<Operation>,
    /// Every event, in delivery order.
    pub events: Vec<Event>,
}

impl Default for History {
    fn default() -> Self {
        let mut initial = VecMap::new();
        initial.insert("/".to_string(), InitialNode { data: Vec::new(), version: 0 });
        History { initial, operations: Vec::new(), events: Vec::new() }
    }
}

impl History {
    /// The operation with this id.
    pub fn op(&self, id: OpId) -> &Operation {
        &self.operations[id.0]
    }

    /// The event with this id.
    pub fn event(&self, id: EventId) -> &Event {
        &self.events[id.0]
    }
}

/// Builds a [`History`] as the driver goes: invocations, completions, events.
#[derive(Clone, Debug, Default)]
pub struct Recorder {
    history: History,
    seq: u64,
}

impl Recorder {
    /// An empty recorder whose initial tree holds only `/`.
    pub fn new() -> Recorder {
        Recorder::default()
    }

    /// Declares a node that exists before the history starts.
    pub fn initial_node(&mut self, path: &str, data: &[u8], version: i32) {
        self.history.initial.insert(path.to_string(), InitialNode { data: data.to_vec(), version });
    }

    fn stamp(&mut self, time: u64) -> Stamp {
        let stamp = Stamp { time, seq: self.seq };
        self.seq += 1;
        stamp
    }

    /// Records that `session` sent `op` at `time`.
    pub fn invoke(&mut self, time: u64, session: SessionId, op: Op) -> OpId {
        let invoked = self.stamp(time);
        self.history.operations.push(Operation {
            session,
            op,
            invoked,
            completed: None,
            outcome: Outcome::Unknown { code: ErrorCode::ConnectionLoss },
        });
        OpId(self.history.operations.len() - 1)
    }

    /// Records the outcome of an invoked operation, received at `time`.
    pub fn complete(&mut self, time: u64, id: OpId, outcome: Outcome) {
        let stamp = self.stamp(time);
        let operation = &mut self.history.operations[id.0];
        assert!(operation.completed.is_none(), "{id:?} completed twice");
        operation.completed = Some(stamp);
        operation.outcome = outcome;
    }

    /// Records an event received by `session` at `time`.
    pub fn event(&mut self, time: u64, session: SessionId, body: EventBody) -> EventId {
        let at = self.stamp(time);
        self.history.events.push(Event { session, at, body });
        EventId(self.history.events.len() - 1)
    }

    /// The history so far.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The finished history.
    pub fn finish(self) -> History {
        self.history
    }
}

fn show_data(data: &[u8], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match std::str::from_utf8(data) {
        Ok(text) if text.len() <= 24 => write!(f, "{}", Quoted(text)),
        Ok(_) | Err(_) => write!(f, "<{} bytes>", data.len()),
    }
}

fn show_version(version: Option<i32>) -> i32 {
    version.unwrap_or(-1)
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let watch = |w: &Watch| if *w == Watch::Set { ", watch" } else { "" };
        match self {
            Op::Create { path, data, mode } => {
                write!(f, "create({path}, ")?;
                show_data(data, f)?;
                if mode.ephemeral {
                    write!(f, ", ephemeral")?;
                }
                if mode.sequential {
                    write!(f, ", sequential")?;
                }
                write!(f, ")")
            }
            Op::Delete { path, version } => {
                write!(f, "delete({path}, v={})", show_version(*version))
            }
            Op::SetData { path, data, version } => {
                write!(f, "setData({path}, ")?;
                show_data(data, f)?;
                write!(f, ", v={})", show_version(*version))
            }
            Op::GetData { path, watch: w } => write!(f, "getData({path}{})", watch(w)),
            Op::Exists { path, watch: w } => write!(f, "exists({path}{})", watch(w)),
            Op::GetChildren { path, watch: w } => write!(f, "getChildren({path}{})", watch(w)),
            Op::Sync { path } => write!(f, "sync({path})"),
            Op::CloseSession => write!(f, "closeSession"),
        }
    }
}

impl fmt::Display for Stat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v={} czxid={} mzxid={}", self.version, self.czxid, self.mzxid)?;
        if self.ephemeral_owner.0 != 0 {
            write!(f, " owner={}", self.ephemeral_owner)?;
        }
        Ok(())
    }
}

impl fmt::Display for OpResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpResult::Created { path, stat } => {
                write!(f, "created {path}")?;
                if let Some(stat) = stat {
                    write!(f, " ({stat})")?;
                }
                Ok(())
            }
            OpResult::Deleted => write!(f, "deleted"),
            OpResult::DataSet { stat } => write!(f, "set ({stat})"),
            OpResult::Data { data, stat } => {
                show_data(data, f)?;
                write!(f, " ({stat})")
            }
            OpResult::Exists { stat: Some(stat) } => write!(f, "exists ({stat})"),
            OpResult::Exists { stat: None } => write!(f, "null"),
            OpResult::Children { children, .. } => {
                f.write_str("[")?;
                for (i, c) in children.iter().enumerate() {
                    write!(f, "{}{}", if i > 0 { ", " } else { "" }, Quoted(c))?;
                }
                f.write_str("]")
            }
            OpResult::Synced => write!(f, "synced"),
            OpResult::Closed => write!(f, "closed"),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Ok { result, zxid } => {
                write!(f, "{result}")?;
                if let Some(zxid) = zxid {
                    write!(f, " @{zxid}")?;
                }
                Ok(())
            }
            Outcome::Error { code, zxid } => {
                write!(f, "{code}")?;
                if let Some(zxid) = zxid {
                    write!(f, " @{zxid}")?;
                }
                Ok(())
            }
            Outcome::Unknown { code } => write!(f, "unknown ({code})"),
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "session {}: {} → {} [t={}..", self.session, self.op, self.outcome, self.invoked.time)?;
        match self.completed {
            Some(done) => write!(f, "{}]", done.time),
            None => write!(f, "]"),
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.body {
            EventBody::Watch { path, kind, zxid } => {
                write!(f, "session {}: event {kind} {path}", self.session)?;
                if let Some(zxid) = zxid {
                    write!(f, " @{zxid}")?;
                }
            }
            EventBody::Expired => write!(f, "session {}: event Expired", self.session)?,
        }
        write!(f, " [t={}]", self.at.time)
    }
}
