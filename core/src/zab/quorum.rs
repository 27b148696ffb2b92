//! Who counts in a quorum: ZooKeeper's `QuorumVerifier` behind a small trait.
//!
//! Majority quorums ([`QuorumMaj`]) and joint quorums ([`JointQuorum`]: while a
//! reconfiguration is proposed and not yet committed, a set is a quorum only when it is
//! one in both the old and the new configuration, as ZooKeeper's leader asks of every
//! proposal in that window). Observers are members that never count.

use crate::config::QuorumConfig;
use crate::ids::ServerId;
use crate::vecmap::VecSet;
use std::fmt::Debug;

/// Decides which sets of servers form a quorum.
pub trait QuorumVerifier: Debug + Send + Sync {
    /// Every member that votes (ZooKeeper's participants), in id order.
    fn voters(&self) -> &VecSet<ServerId>;
    /// Members that follow the committed stream but never vote.
    fn observers(&self) -> &VecSet<ServerId>;
    /// Whether `set` contains a quorum (servers that are not voters are ignored).
    fn contains_quorum(&self, set: &VecSet<ServerId>) -> bool;

    /// Whether `id` votes (ZooKeeper: `validVoter`, a non-zero weight).
    fn is_voter(&self, id: ServerId) -> bool {
        self.voters().contains(&id)
    }
    /// Whether `id` is a member at all.
    fn is_member(&self, id: ServerId) -> bool {
        self.is_voter(id) || self.observers().contains(&id)
    }
}

/// Majority quorums: more than half of the voters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuorumMaj {
    voters: VecSet<ServerId>,
    observers: VecSet<ServerId>,
}

impl QuorumMaj {
    /// A configuration with these voters and observers (disjoint; at least one voter).
    pub fn new(
        voters: impl IntoIterator<Item = ServerId>,
        observers: impl IntoIterator<Item = ServerId>,
    ) -> Self {
        let voters: VecSet<ServerId> = voters.into_iter().collect();
        let observers: VecSet<ServerId> = observers.into_iter().collect();
        assert!(!voters.is_empty(), "a configuration needs a voter");
        assert!(voters.is_disjoint(&observers), "a server is a voter or an observer, not both");
        QuorumMaj { voters, observers }
    }
}

impl QuorumMaj {
    /// The voters and observers of a dynamic configuration (`None` when it has no
    /// participant: such a configuration is refused before it is ever proposed).
    pub fn of_config(config: &QuorumConfig) -> Option<QuorumMaj> {
        let voters = config.participants();
        if voters.is_empty() {
            return None;
        }
        Some(QuorumMaj::new(voters, config.observers()))
    }
}

/// Joint quorums: a set is a quorum when it holds a majority of the old configuration's
/// voters *and* one of the new configuration's (ZooKeeper: the leader's proposals carry
/// an ack set per configuration while a reconfiguration is pending).
///
/// Its voters are every server that votes in either configuration (elections and the
/// leader's quorum bookkeeping reach all of them); its observers are the members of
/// either that vote in neither.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JointQuorum {
    old: QuorumMaj,
    new: QuorumMaj,
    voters: VecSet<ServerId>,
    observers: VecSet<ServerId>,
}

impl JointQuorum {
    /// The joint configuration of `old` and `new`.
    pub fn new(old: QuorumMaj, new: QuorumMaj) -> JointQuorum {
        let voters: VecSet<ServerId> = old.voters.union(&new.voters).copied().collect();
        let observers: VecSet<ServerId> =
            old.observers.union(&new.observers).filter(|id| !voters.contains(id)).copied().collect();
        JointQuorum { old, new, voters, observers }
    }

    /// The configuration being left.
    pub fn old(&self) -> &QuorumMaj {
        &self.old
    }

    /// The configuration being entered.
    pub fn new_config(&self) -> &QuorumMaj {
        &self.new
    }
}

impl QuorumVerifier for JointQuorum {
    fn voters(&self) -> &VecSet<ServerId> {
        &self.voters
    }
    fn observers(&self) -> &VecSet<ServerId> {
        &self.observers
    }
    fn contains_quorum(&self, set: &VecSet<ServerId>) -> bool {
        self.old.contains_quorum(set) && self.new.contains_quorum(set)
    }
}

impl QuorumVerifier for QuorumMaj {
    fn voters(&self) -> &VecSet<ServerId> {
        &self.voters
    }
    fn observers(&self) -> &VecSet<ServerId> {
        &self.observers
    }
    fn contains_quorum(&self, set: &VecSet<ServerId>) -> bool {
        let n = set.iter().filter(|id| self.voters.contains(id)).count();
        2 * n > self.voters.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[u64]) -> VecSet<ServerId> {
        v.iter().map(|&i| ServerId(i)).collect()
    }

    #[test]
    fn majority_needs_more_than_half_of_the_voters() {
        let q = QuorumMaj::new(ids(&[1, 2, 3, 4, 5]), ids(&[6, 7]));
        assert!(!q.contains_quorum(&ids(&[1, 2])));
        assert!(q.contains_quorum(&ids(&[1, 2, 3])));
        assert!(!q.contains_quorum(&ids(&[1, 2, 6, 7])), "observers never count");
        let even = QuorumMaj::new(ids(&[1, 2, 3, 4]), ids(&[]));
        assert!(!even.contains_quorum(&ids(&[1, 2])), "half is not a majority");
        assert!(even.contains_quorum(&ids(&[1, 2, 3])));
    }

    #[test]
    fn a_joint_quorum_needs_a_majority_of_both_configurations() {
        // 3 → 5: {1,2,3} then {1,2,3,4,5}.
        let j = JointQuorum::new(
            QuorumMaj::new(ids(&[1, 2, 3]), ids(&[])),
            QuorumMaj::new(ids(&[1, 2, 3, 4, 5]), ids(&[])),
        );
        assert_eq!(j.voters(), &ids(&[1, 2, 3, 4, 5]));
        assert!(!j.contains_quorum(&ids(&[1, 4, 5])), "a majority of the new only");
        assert!(!j.contains_quorum(&ids(&[1, 2])), "a majority of the old only");
        assert!(j.contains_quorum(&ids(&[1, 2, 4])));
        // Removing the leader 3 of {1,2,3}: the new {1,2} needs both.
        let j = JointQuorum::new(
            QuorumMaj::new(ids(&[1, 2, 3]), ids(&[])),
            QuorumMaj::new(ids(&[1, 2]), ids(&[3])),
        );
        assert!(!j.contains_quorum(&ids(&[1, 3])));
        assert!(j.contains_quorum(&ids(&[1, 2])));
        assert!(!j.observers().contains(&ServerId(3)), "3 still votes in the old configuration");
        assert!(j.is_voter(ServerId(3)));
    }

    #[test]
    fn a_configuration_without_participants_has_no_verifier() {
        use crate::config::{MemberRole, ServerSpec};
        let only_observers = QuorumConfig::of([ServerSpec::local(1, MemberRole::Observer)]);
        assert!(QuorumMaj::of_config(&only_observers).is_none());
        let c = QuorumConfig::of([
            ServerSpec::local(1, MemberRole::Participant),
            ServerSpec::local(2, MemberRole::Observer),
        ]);
        let q = QuorumMaj::of_config(&c).unwrap();
        assert!(q.is_voter(ServerId(1)) && q.observers().contains(&ServerId(2)));
    }

    #[test]
    fn members_and_voters() {
        let q = QuorumMaj::new(ids(&[1, 2, 3]), ids(&[4]));
        assert!(q.is_voter(ServerId(1)) && !q.is_voter(ServerId(4)));
        assert!(q.is_member(ServerId(4)) && !q.is_member(ServerId(9)));
    }
}
