//! Fast Leader Election's pure parts: votes, their total order, and the quorum test.
//!
//! The event handling (the logical clock, the finalize wait, joining an established
//! leader) lives in [`super::server`], because it is driven by the server's inputs.

use super::message::{Notification, PeerState};
use super::quorum::QuorumVerifier;
use crate::ids::{Epoch, ServerId, Zxid};
use crate::vecmap::{VecMap, VecSet};
use serde::{Deserialize, Serialize};

/// A vote: who should lead, and what it knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Vote {
    /// The proposed leader.
    pub leader: ServerId,
    /// Its last zxid.
    pub zxid: Zxid,
    /// The election round the vote was cast in.
    pub election_epoch: u64,
    /// The proposed leader's epoch.
    pub peer_epoch: Epoch,
}

impl Vote {
    /// The vote a notification carries.
    pub fn of(n: &Notification) -> Vote {
        Vote { leader: n.leader, zxid: n.zxid, election_epoch: n.election_epoch, peer_epoch: n.peer_epoch }
    }
}

/// ZooKeeper's `totalOrderPredicate`: whether the vote for `new` beats the vote for
/// `cur`, ordering by (peer epoch, zxid, server id). A candidate that cannot vote
/// (an observer) never wins. With `by_id_only` (a deliberate bug) only ids count.
pub fn beats(new: &Vote, cur: &Vote, quorum: &dyn QuorumVerifier, by_id_only: bool) -> bool {
    if !quorum.is_voter(new.leader) {
        return false;
    }
    if by_id_only {
        return new.leader > cur.leader;
    }
    (new.peer_epoch, new.zxid, new.leader) > (cur.peer_epoch, cur.zxid, cur.leader)
}

/// ZooKeeper's `Vote.equals`: votes from LOOKING servers agree when every field does;
/// votes from servers that already follow or lead agree on the leader and its epoch.
pub fn agree(a: &Vote, a_state: PeerState, b: &Vote, b_state: PeerState) -> bool {
    if a_state == PeerState::Looking || b_state == PeerState::Looking {
        a == b
    } else {
        a.leader == b.leader && a.peer_epoch == b.peer_epoch
    }
}

/// ZooKeeper's `termPredicate`: whether the servers whose recorded vote agrees with
/// `vote` form a quorum.
pub fn has_quorum(
    votes: &VecMap<ServerId, (Vote, PeerState)>,
    vote: &Vote,
    state: PeerState,
    quorum: &dyn QuorumVerifier,
) -> bool {
    let agreeing: VecSet<ServerId> =
        votes.iter().filter(|(_, (v, s))| agree(v, *s, vote, state)).map(|(&id, _)| id).collect();
    quorum.contains_quorum(&agreeing)
}

/// ZooKeeper's `checkLeader`: a vote for another server is only good if that server
/// itself said it is LEADING; a vote for oneself only in the current round.
pub fn leader_confirmed(
    votes: &VecMap<ServerId, (Vote, PeerState)>,
    me: ServerId,
    leader: ServerId,
    election_epoch: u64,
    logical_clock: u64,
) -> bool {
    if leader != me {
        votes.get(&leader).is_some_and(|(_, s)| *s == PeerState::Leading)
    } else {
        logical_clock == election_epoch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zab::quorum::QuorumMaj;

    fn v(leader: u64, zxid: u64, epoch: u32) -> Vote {
        Vote { leader: ServerId(leader), zxid: Zxid(zxid), election_epoch: 1, peer_epoch: Epoch(epoch) }
    }

    #[test]
    fn votes_order_by_epoch_then_zxid_then_id() {
        let q = QuorumMaj::new([1, 2, 3].map(ServerId), []);
        assert!(beats(&v(1, 0, 2), &v(3, 9, 1), &q, false), "a higher epoch wins");
        assert!(beats(&v(1, 9, 1), &v(3, 5, 1), &q, false), "then a higher zxid");
        assert!(beats(&v(3, 5, 1), &v(2, 5, 1), &q, false), "then a higher id");
        assert!(!beats(&v(2, 5, 1), &v(2, 5, 1), &q, false), "a vote does not beat itself");
        assert!(beats(&v(3, 0, 0), &v(1, 9, 1), &q, true), "the bug looks at ids only");
    }

    #[test]
    fn observers_never_win() {
        let q = QuorumMaj::new([1, 2, 3].map(ServerId), [ServerId(4)]);
        assert!(!beats(&v(4, 99, 9), &v(1, 0, 0), &q, false));
    }

    #[test]
    fn followers_agree_on_leader_and_epoch_only() {
        let a = v(3, 5, 1);
        let mut b = a;
        b.zxid = Zxid(7);
        b.election_epoch = 4;
        assert!(agree(&a, PeerState::Following, &b, PeerState::Leading));
        assert!(!agree(&a, PeerState::Looking, &b, PeerState::Following));
    }

    #[test]
    fn a_quorum_of_agreeing_votes() {
        let q = QuorumMaj::new([1, 2, 3].map(ServerId), []);
        let mut votes = crate::vecmap::VecMap::new();
        votes.insert(ServerId(1), (v(3, 5, 1), PeerState::Looking));
        assert!(!has_quorum(&votes, &v(3, 5, 1), PeerState::Looking, &q));
        votes.insert(ServerId(3), (v(3, 5, 1), PeerState::Looking));
        assert!(has_quorum(&votes, &v(3, 5, 1), PeerState::Looking, &q));
        assert!(!leader_confirmed(&votes, ServerId(1), ServerId(3), 1, 1), "3 never said LEADING");
        votes.insert(ServerId(3), (v(3, 5, 1), PeerState::Leading));
        assert!(leader_confirmed(&votes, ServerId(1), ServerId(3), 1, 1));
    }
}
