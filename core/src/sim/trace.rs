//! The simulator's trace: every visible event as a typed record with a one-line
//! rendering, and a hash over the rendered lines.
//!
//! The trace hash is FNV-1a 64 ([`crate::zab::Fnv64`]) over each rendered line
//! followed by `\n`, from the first event of the run. It depends only on the text, so it
//! is the same natively and in wasm.

use crate::ids::{Epoch, ServerId, Zxid};
use crate::zab::message::{MsgSummary, PeerState};
use serde::Serialize;
use std::fmt;

/// A server in a world: its cluster (index) and its id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Addr {
    /// The cluster's index in the world.
    pub cluster: usize,
    /// The server's id in its cluster.
    pub id: ServerId,
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cluster == 0 {
            write!(f, "s{}", self.id)
        } else {
            write!(f, "c{}.s{}", self.cluster, self.id)
        }
    }
}

/// Why a message did not arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum DropReason {
    /// The network lost it.
    Lost,
    /// A partition cut the link.
    Partitioned,
    /// Its connection had already lost a packet (TCP would have closed it).
    ConnectionBroken,
    /// The receiver was down.
    ReceiverDown,
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DropReason::Lost => "lost",
            DropReason::Partitioned => "partitioned",
            DropReason::ConnectionBroken => "connection broken",
            DropReason::ReceiverDown => "receiver down",
        })
    }
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum TraceKind {
    /// A message was delivered.
    Deliver {
        /// Sender.
        from: Addr,
        /// Receiver.
        to: Addr,
        /// The message.
        msg: MsgSummary,
    },
    /// A message was dropped.
    Drop {
        /// Sender.
        from: Addr,
        /// Receiver.
        to: Addr,
        /// The message.
        msg: MsgSummary,
        /// Why.
        why: DropReason,
    },
    /// A server changed role.
    Role {
        /// The server.
        at: Addr,
        /// Its new state.
        state: PeerState,
        /// Its epoch.
        epoch: Epoch,
    },
    /// A leader was established in an epoch.
    Established {
        /// The leader.
        at: Addr,
        /// The epoch.
        epoch: Epoch,
    },
    /// A server activated a committed configuration.
    Activated {
        /// The server.
        at: Addr,
        /// The configuration's version (the zxid of its reconfiguration).
        version: u64,
        /// Its voters.
        voters: Vec<ServerId>,
    },
    /// A leader chose how to sync a learner.
    Sync {
        /// The leader.
        at: Addr,
        /// The learner.
        learner: ServerId,
        /// DIFF, TRUNC, TRUNC+DIFF or SNAP.
        plan: &'static str,
    },
    /// A learner truncated its log.
    Truncated {
        /// The server.
        at: Addr,
        /// The last zxid kept.
        to: Zxid,
    },
    /// A learner installed a snapshot.
    Installed {
        /// The server.
        at: Addr,
        /// The snapshot's zxid.
        zxid: Zxid,
    },
    /// A client submitted a write.
    Write {
        /// The server it is connected to.
        at: Addr,
        /// The request's id.
        request_id: u64,
    },
    /// A client's write was committed and answered.
    Reply {
        /// The server that answered.
        at: Addr,
        /// The request's id.
        request_id: u64,
        /// The transaction's zxid.
        zxid: Zxid,
    },
    /// A client's write was refused.
    Refused {
        /// The server that refused.
        at: Addr,
        /// The request's id.
        request_id: u64,
    },
    /// A server crashed.
    Crash {
        /// The server.
        at: Addr,
    },
    /// A server restarted from its durable state.
    Restart {
        /// The server.
        at: Addr,
    },
    /// A running server was asked to raise its `acceptedEpoch` (and to look for a
    /// new leader unless it already serves above it).
    RaiseEpoch {
        /// The server.
        at: Addr,
        /// Its new floor.
        epoch: Epoch,
    },
    /// A server paused.
    Pause {
        /// The server.
        at: Addr,
        /// Until when (ms).
        until_ms: u64,
    },
    /// The network changed (partition, heal, settings).
    Network {
        /// A description.
        what: String,
    },
    /// An invariant broke.
    Violation {
        /// What broke.
        what: String,
    },
}

/// One trace record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TraceEvent {
    /// The step that produced it.
    pub step: u64,
    /// Simulated time in milliseconds.
    pub time_ms: u64,
    /// What happened.
    pub kind: TraceKind,
}

impl fmt::Display for TraceEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t={} ", self.time_ms)?;
        match &self.kind {
            TraceKind::Deliver { from, to, msg } => write!(f, "{from} → {to} {msg}"),
            TraceKind::Drop { from, to, msg, why } => write!(f, "{from} ↛ {to} {msg} ({why})"),
            TraceKind::Role { at, state, epoch } => write!(f, "{at} {state} epoch={epoch}"),
            TraceKind::Established { at, epoch } => write!(f, "{at} established epoch={epoch}"),
            TraceKind::Activated { at, version, voters } => {
                let names: Vec<String> = voters.iter().map(|v| format!("s{v}")).collect();
                write!(f, "{at} activates config version={version:x} voters={}", names.join(","))
            }
            TraceKind::Sync { at, learner, plan } => write!(f, "{at} syncs s{learner} with {plan}"),
            TraceKind::Truncated { at, to } => write!(f, "{at} truncated log to {to}"),
            TraceKind::Installed { at, zxid } => write!(f, "{at} installed snapshot at {zxid}"),
            TraceKind::Write { at, request_id } => write!(f, "client → {at} write #{request_id}"),
            TraceKind::Reply { at, request_id, zxid } => {
                write!(f, "{at} → client #{request_id} ok zxid={zxid}")
            }
            TraceKind::Refused { at, request_id } => write!(f, "{at} → client #{request_id} refused"),
            TraceKind::Crash { at } => write!(f, "{at} CRASH"),
            TraceKind::Restart { at } => write!(f, "{at} RESTART"),
            TraceKind::RaiseEpoch { at, epoch } => write!(f, "{at} RAISE acceptedEpoch to {epoch}"),
            TraceKind::Pause { at, until_ms } => write!(f, "{at} PAUSE until t={until_ms}"),
            TraceKind::Network { what } => write!(f, "network: {what}"),
            TraceKind::Violation { what } => write!(f, "VIOLATION {what}"),
        }
    }
}
