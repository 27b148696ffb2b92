//! Who counts in a quorum: ZooKeeper's `QuorumVerifier` behind a small trait.
//!
//! Majority quorums now ([`QuorumMaj`]); the reconfiguration work adds joint quorums
//! (a set is a quorum when it is one in both the old and the new configuration) as
//! another implementation. Observers are members that never count.

use crate::ids::ServerId;
use std::collections::BTreeSet;
use std::fmt::Debug;

/// Decides which sets of servers form a quorum.
pub trait QuorumVerifier: Debug + Send + Sync {
    /// Every member that votes (ZooKeeper's participants), in id order.
    fn voters(&self) -> &BTreeSet<ServerId>;
    /// Members that follow the committed stream but never vote.
    fn observers(&self) -> &BTreeSet<ServerId>;
    /// Whether `set` contains a quorum (servers that are not voters are ignored).
    fn contains_quorum(&self, set: &BTreeSet<ServerId>) -> bool;

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
    voters: BTreeSet<ServerId>,
    observers: BTreeSet<ServerId>,
}

impl QuorumMaj {
    /// A configuration with these voters and observers (disjoint; at least one voter).
    pub fn new(
        voters: impl IntoIterator<Item = ServerId>,
        observers: impl IntoIterator<Item = ServerId>,
    ) -> Self {
        let voters: BTreeSet<ServerId> = voters.into_iter().collect();
        let observers: BTreeSet<ServerId> = observers.into_iter().collect();
        assert!(!voters.is_empty(), "a configuration needs a voter");
        assert!(voters.is_disjoint(&observers), "a server is a voter or an observer, not both");
        QuorumMaj { voters, observers }
    }
}

impl QuorumVerifier for QuorumMaj {
    fn voters(&self) -> &BTreeSet<ServerId> {
        &self.voters
    }
    fn observers(&self) -> &BTreeSet<ServerId> {
        &self.observers
    }
    fn contains_quorum(&self, set: &BTreeSet<ServerId>) -> bool {
        let n = set.iter().filter(|id| self.voters.contains(id)).count();
        2 * n > self.voters.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[u64]) -> BTreeSet<ServerId> {
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
    fn members_and_voters() {
        let q = QuorumMaj::new(ids(&[1, 2, 3]), ids(&[4]));
        assert!(q.is_voter(ServerId(1)) && !q.is_voter(ServerId(4)));
        assert!(q.is_member(ServerId(4)) && !q.is_member(ServerId(9)));
    }
}
