//! Read-only views of a [`World`] for the page: what the playground draws beyond
//! [`ServerView`](super::ServerView) (cut links). Nothing here changes the world.

use super::World;
use crate::ids::ServerId;
use crate::zab::Replicated;

impl<R: Replicated> World<R> {
    /// The directed links of cluster `c` that a partition or a cut blocks, as
    /// `(from, to)` pairs in order.
    pub fn blocked_in(&self, c: usize) -> Vec<(ServerId, ServerId)> {
        self.clusters[c].blocked.iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_shows_as_blocked_links_both_ways() {
        let mut w = World::ensemble(3, 1);
        assert!(w.blocked_in(0).is_empty());
        w.partition(&[&[ServerId(1)]]);
        let b = w.blocked_in(0);
        assert_eq!(b.len(), 4, "{b:?}");
        assert!(b.contains(&(ServerId(1), ServerId(2))) && b.contains(&(ServerId(3), ServerId(1))));
        w.heal();
        assert!(w.blocked_in(0).is_empty());
    }
}
