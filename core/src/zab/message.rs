//! The messages servers exchange, typed, one variant per ZooKeeper packet type.
//!
//! Election notifications travel on the election channel; everything between a leader
//! and a learner travels on a *connection* (ZooKeeper: one TCP connection per learner,
//! FIFO), named by a [`ConnId`] that the learner picks. A message from an older
//! connection is dropped by its receiver, as a packet from a closed socket would be.

use super::Replicated;
use crate::config::QuorumConfig;
use crate::ids::{Epoch, ServerId, Zxid};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// A server's state as its notifications announce it (ZooKeeper's `ServerState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PeerState {
    /// Electing.
    Looking,
    /// Following an elected leader.
    Following,
    /// Leading.
    Leading,
    /// Observing (never votes).
    Observing,
}

impl fmt::Display for PeerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PeerState::Looking => "LOOKING",
            PeerState::Following => "FOLLOWING",
            PeerState::Leading => "LEADING",
            PeerState::Observing => "OBSERVING",
        })
    }
}

/// A Fast Leader Election notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Notification {
    /// The proposed leader.
    pub leader: ServerId,
    /// The proposed leader's last zxid.
    pub zxid: Zxid,
    /// The sender's election round (ZooKeeper's `logicalclock`, `electionEpoch`).
    pub election_epoch: u64,
    /// The proposed leader's epoch (`peerEpoch`).
    pub peer_epoch: Epoch,
    /// The sender's state.
    pub state: PeerState,
    /// The version of the sender's committed configuration (ZooKeeper sends the
    /// configuration itself; a server that hears of a newer one from an established
    /// ensemble follows its leader and learns it by the sync).
    #[serde(default)]
    pub config_version: u64,
}

/// A leader–learner connection, picked by the learner when it connects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ConnId(pub u64);

/// Whether a learner votes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LearnerKind {
    /// A follower: votes, ACKs proposals.
    Follower,
    /// An observer: receives INFORMs, never votes.
    Observer,
}

/// Where a client request came from: the server the client is connected to and the
/// request's id there. That server answers the client when it applies the transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Origin {
    /// The server the client is connected to.
    pub server: ServerId,
    /// The request's id on that server.
    pub request_id: u64,
}

/// Any message between two servers.
#[derive(Clone, Debug)]
pub enum Message<R: Replicated> {
    /// Fast Leader Election, with the sender's committed configuration once a
    /// reconfiguration has committed (ZooKeeper's notifications carry it: a LOOKING
    /// server adopts a newer one).
    Notification(Notification, Option<Arc<QuorumConfig>>),
    /// A packet on a leader–learner connection.
    Quorum {
        /// The connection it travels on.
        conn: ConnId,
        /// The packet.
        packet: Packet<R>,
    },
}

/// The packets of ZooKeeper's quorum protocol (`Leader.java`'s packet types).
#[derive(Clone, Debug)]
pub enum Packet<R: Replicated> {
    /// FOLLOWERINFO / OBSERVERINFO: a learner introduces itself with its accepted epoch.
    LearnerInfo {
        /// Follower or observer.
        kind: LearnerKind,
        /// The learner's `acceptedEpoch`.
        accepted_epoch: Epoch,
    },
    /// LEADERINFO: the new epoch the leader proposes.
    LeaderInfo {
        /// max(accepted epochs of a quorum) + 1.
        new_epoch: Epoch,
    },
    /// ACKEPOCH: the learner accepted the new epoch.
    AckEpoch {
        /// Its `currentEpoch`, or `None` (ZooKeeper: -1) when it had already accepted
        /// this epoch before.
        current_epoch: Option<Epoch>,
        /// Its last logged zxid.
        last_zxid: Zxid,
    },
    /// DIFF: the leader will send the proposals the learner lacks.
    Diff {
        /// The leader's last committed zxid.
        zxid: Zxid,
    },
    /// TRUNC: drop every proposal after `zxid`.
    Trunc {
        /// The last zxid to keep.
        zxid: Zxid,
    },
    /// SNAP: replace everything with the leader's state.
    Snap {
        /// The zxid the snapshot is at.
        zxid: Zxid,
        /// The leader's state.
        snapshot: R::Snapshot,
    },
    /// PROPOSAL: log this transaction (and ACK it).
    Proposal {
        /// Its zxid.
        zxid: Zxid,
        /// The transaction.
        txn: R::Txn,
        /// Who to answer once it is applied.
        origin: Option<Origin>,
    },
    /// COMMIT: apply every proposal up to `zxid`.
    Commit {
        /// The committed zxid.
        zxid: Zxid,
    },
    /// NEWLEADER: the end of the sync; the learner adopts the new epoch.
    NewLeader {
        /// `(new epoch, 0)`.
        zxid: Zxid,
    },
    /// ACK of a proposal or of NEWLEADER.
    Ack {
        /// What is acknowledged.
        zxid: Zxid,
    },
    /// UPTODATE: the leader is established; serve clients.
    UpToDate,
    /// INFORM: a committed transaction, to an observer.
    Inform {
        /// Its zxid.
        zxid: Zxid,
        /// The transaction.
        txn: R::Txn,
        /// Who to answer once it is applied.
        origin: Option<Origin>,
    },
    /// PING, both ways: liveness.
    Ping,
    /// REQUEST: a client write forwarded by a learner to the leader.
    Request {
        /// Where the client is.
        origin: Origin,
        /// The request.
        request: R::Request,
    },
}

/// A message without its payloads: what the trace records and renders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MsgSummary {
    /// NOTIFICATION.
    Notification(Notification),
    /// FOLLOWERINFO or OBSERVERINFO.
    LearnerInfo(LearnerKind, Epoch),
    /// LEADERINFO.
    LeaderInfo(Epoch),
    /// ACKEPOCH.
    AckEpoch(Option<Epoch>, Zxid),
    /// DIFF.
    Diff(Zxid),
    /// TRUNC.
    Trunc(Zxid),
    /// SNAP.
    Snap(Zxid),
    /// PROPOSAL.
    Proposal(Zxid),
    /// COMMIT.
    Commit(Zxid),
    /// NEWLEADER.
    NewLeader(Zxid),
    /// ACK.
    Ack(Zxid),
    /// UPTODATE.
    UpToDate,
    /// INFORM.
    Inform(Zxid),
    /// PING.
    Ping,
    /// REQUEST.
    Request(Origin),
}

impl<R: Replicated> Message<R> {
    /// The message without payloads.
    pub fn summary(&self) -> MsgSummary {
        match self {
            Message::Notification(n, _) => MsgSummary::Notification(*n),
            Message::Quorum { packet, .. } => match packet {
                Packet::LearnerInfo { kind, accepted_epoch } => {
                    MsgSummary::LearnerInfo(*kind, *accepted_epoch)
                }
                Packet::LeaderInfo { new_epoch } => MsgSummary::LeaderInfo(*new_epoch),
                Packet::AckEpoch { current_epoch, last_zxid } => {
                    MsgSummary::AckEpoch(*current_epoch, *last_zxid)
                }
                Packet::Diff { zxid } => MsgSummary::Diff(*zxid),
                Packet::Trunc { zxid } => MsgSummary::Trunc(*zxid),
                Packet::Snap { zxid, .. } => MsgSummary::Snap(*zxid),
                Packet::Proposal { zxid, .. } => MsgSummary::Proposal(*zxid),
                Packet::Commit { zxid } => MsgSummary::Commit(*zxid),
                Packet::NewLeader { zxid } => MsgSummary::NewLeader(*zxid),
                Packet::Ack { zxid } => MsgSummary::Ack(*zxid),
                Packet::UpToDate => MsgSummary::UpToDate,
                Packet::Inform { zxid, .. } => MsgSummary::Inform(*zxid),
                Packet::Ping => MsgSummary::Ping,
                Packet::Request { origin, .. } => MsgSummary::Request(*origin),
            },
        }
    }

    /// Whether it travels on the election channel (which may reorder and duplicate)
    /// rather than on a FIFO leader–learner connection.
    pub fn is_election(&self) -> bool {
        matches!(self, Message::Notification(..))
    }

    /// The connection a quorum packet travels on.
    pub fn conn(&self) -> Option<ConnId> {
        match self {
            Message::Notification(..) => None,
            Message::Quorum { conn, .. } => Some(*conn),
        }
    }
}

impl MsgSummary {
    /// ZooKeeper's name for the packet type.
    pub fn kind(&self) -> &'static str {
        match self {
            MsgSummary::Notification(_) => "NOTIFICATION",
            MsgSummary::LearnerInfo(LearnerKind::Follower, _) => "FOLLOWERINFO",
            MsgSummary::LearnerInfo(LearnerKind::Observer, _) => "OBSERVERINFO",
            MsgSummary::LeaderInfo(_) => "LEADERINFO",
            MsgSummary::AckEpoch(..) => "ACKEPOCH",
            MsgSummary::Diff(_) => "DIFF",
            MsgSummary::Trunc(_) => "TRUNC",
            MsgSummary::Snap(_) => "SNAP",
            MsgSummary::Proposal(_) => "PROPOSAL",
            MsgSummary::Commit(_) => "COMMIT",
            MsgSummary::NewLeader(_) => "NEWLEADER",
            MsgSummary::Ack(_) => "ACK",
            MsgSummary::UpToDate => "UPTODATE",
            MsgSummary::Inform(_) => "INFORM",
            MsgSummary::Ping => "PING",
            MsgSummary::Request(_) => "REQUEST",
        }
    }
}

impl fmt::Display for MsgSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind();
        match self {
            MsgSummary::Notification(n) => write!(
                f,
                "{kind} leader={} zxid={} round={} peerEpoch={} {}",
                n.leader, n.zxid, n.election_epoch, n.peer_epoch, n.state
            ),
            MsgSummary::LearnerInfo(_, e) => write!(f, "{kind} acceptedEpoch={e}"),
            MsgSummary::LeaderInfo(e) => write!(f, "{kind} epoch={e}"),
            MsgSummary::AckEpoch(Some(e), z) => write!(f, "{kind} currentEpoch={e} lastZxid={z}"),
            MsgSummary::AckEpoch(None, z) => write!(f, "{kind} currentEpoch=-1 lastZxid={z}"),
            MsgSummary::Diff(z)
            | MsgSummary::Trunc(z)
            | MsgSummary::Snap(z)
            | MsgSummary::Proposal(z)
            | MsgSummary::Commit(z)
            | MsgSummary::NewLeader(z)
            | MsgSummary::Ack(z)
            | MsgSummary::Inform(z) => write!(f, "{kind} zxid={z}"),
            MsgSummary::UpToDate | MsgSummary::Ping => f.write_str(kind),
            MsgSummary::Request(o) => write!(f, "{kind} from=s{}#{}", o.server, o.request_id),
        }
    }
}
