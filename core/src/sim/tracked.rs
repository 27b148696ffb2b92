//! What the world remembers of client writes, by request id, forgetting the oldest.
//!
//! [`World`](super::World) tracks at most [`MAX_TRACKED_WRITES`](super::MAX_TRACKED_WRITES)
//! writes' fates and replies: past it, each new one forgets the oldest. In the page the
//! map is a sorted `Vec` ([`BrowserMap`]), where removing the first entry moves all the
//! others (about 0.1 ms per write at 100,000 entries). [`Tracked`] forgets in O(1)
//! amortized instead: [`Tracked::forget_oldest`] only moves a boundary (entries with
//! request ids up to it are forgotten, though still stored) and the forgotten entries
//! are dropped together once there are [`Tracked::batch`] of them. Every operation
//! answers exactly as a map that removed its first entry at once would (a unit test
//! runs both side by side), so which writes are tracked, and the traces, do not change.

use std::fmt;

/// The map underneath: the page's (a sorted `Vec` in its wasm build, a B-tree natively).
/// The unit tests use the sorted `Vec` natively, so they test the page's code.
#[cfg(not(test))]
type BrowserMap<K, V> = crate::vecmap::BrowserMap<K, V>;
#[cfg(test)]
type BrowserMap<K, V> = crate::vecmap::VecMap<K, V>;

/// A map from request ids, whose oldest entries can be forgotten in O(1) amortized.
#[derive(Clone)]
pub struct Tracked<V> {
    /// The entries, forgotten ones included.
    map: BrowserMap<u64, V>,
    /// Stored entries with keys up to this one are forgotten.
    forgotten_upto: Option<u64>,
    /// How many stored entries are forgotten.
    forgotten: usize,
    /// Forgotten entries stored before they are dropped together.
    batch: usize,
}

impl<V> Tracked<V> {
    /// An empty map that drops forgotten entries `batch` at a time (at least one).
    pub fn new(batch: usize) -> Tracked<V> {
        Tracked { map: BrowserMap::new(), forgotten_upto: None, forgotten: 0, batch: batch.max(1) }
    }

    /// Forgotten entries stored before they are dropped together.
    pub fn batch(&self) -> usize {
        self.batch
    }

    fn is_forgotten(&self, key: u64) -> bool {
        self.forgotten_upto.is_some_and(|f| key <= f)
    }

    /// How many entries are remembered.
    pub fn len(&self) -> usize {
        self.map.len() - self.forgotten
    }

    /// Whether none is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of `key`, if remembered.
    pub fn get(&self, key: u64) -> Option<&V> {
        if self.is_forgotten(key) {
            return None;
        }
        self.map.get(&key)
    }

    /// Remembers `value` for `key` (again, if it was forgotten); returns the value it
    /// replaced, if remembered.
    pub fn insert(&mut self, key: u64, value: V) -> Option<V> {
        if self.is_forgotten(key) {
            // Among the forgotten: drop them first, so that they stay the smallest keys.
            self.drop_forgotten();
        }
        self.map.insert(key, value)
    }

    /// Removes and returns the value of `key`, if remembered.
    pub fn remove(&mut self, key: u64) -> Option<V> {
        if self.is_forgotten(key) {
            return None;
        }
        self.map.remove(&key)
    }

    /// Forgets the entry with the smallest key, if any.
    pub fn forget_oldest(&mut self) {
        let next = match self.forgotten_upto {
            None => self.map.keys().next(),
            Some(f) => f.checked_add(1).and_then(|from| self.map.range(from..).next().map(|(k, _)| k)),
        };
        let Some(&k) = next else { return };
        self.forgotten_upto = Some(k);
        self.forgotten += 1;
        if self.forgotten >= self.batch {
            self.drop_forgotten();
        }
    }

    /// Drops the forgotten entries from storage (one move of the others).
    fn drop_forgotten(&mut self) {
        if let Some(f) = self.forgotten_upto.take() {
            self.map = match f.checked_add(1) {
                Some(from) => self.map.split_off(&from),
                None => BrowserMap::new(),
            };
        }
        self.forgotten = 0;
    }

    /// The remembered entries, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&u64, &V)> {
        // (Nothing is remembered after u64::MAX forgotten.)
        let from = self.forgotten_upto.map_or(Some(0), |f| f.checked_add(1));
        from.into_iter().flat_map(move |from| self.map.range(from..))
    }
}

/// As the map of the remembered entries prints.
impl<V: fmt::Debug> fmt::Debug for Tracked<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::Tracked;
    use std::collections::BTreeMap;

    /// Runs a `Tracked` and a `BTreeMap` that pops its first entry at once side by side
    /// through random inserts (new ids, and old ones again), removes, lookups and
    /// forgetting: they must answer alike all the way.
    #[test]
    fn forgetting_in_batches_answers_as_forgetting_one_at_a_time() {
        let mut x = 0x9e37_79b9u32;
        let mut rand = move |n: u32| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x % n
        };
        for (limit, batch) in [(50usize, 5usize), (64, 1), (100, 10), (10, 64)] {
            let (mut t, mut b) = (Tracked::new(batch), BTreeMap::new());
            let mut next = 0u64;
            for i in 0..20_000u32 {
                match rand(10) {
                    // A new write, the oldest forgotten past the limit (World::write_in).
                    0..=4 => {
                        next += 1;
                        assert_eq!(t.insert(next, i), b.insert(next, i));
                        if t.len() > limit {
                            t.forget_oldest();
                        }
                        if b.len() > limit {
                            b.pop_first();
                        }
                    }
                    // An answer to an earlier write, perhaps forgotten meanwhile.
                    5 | 6 => {
                        let k = next.saturating_sub(u64::from(rand(3 * limit as u32)));
                        assert_eq!(t.insert(k, i), b.insert(k, i), "insert {k}");
                    }
                    7 => {
                        let k = next.saturating_sub(u64::from(rand(2 * limit as u32)));
                        assert_eq!(t.remove(k), b.remove(&k), "remove {k}");
                    }
                    _ => {
                        let k = next.saturating_sub(u64::from(rand(2 * limit as u32)));
                        assert_eq!(t.get(k), b.get(&k), "get {k}");
                    }
                }
                assert_eq!(t.len(), b.len());
                assert!(t.map.len() - t.len() < batch.max(1), "at most a batch stored forgotten");
            }
            assert!(t.iter().eq(b.iter()));
            assert_eq!(format!("{t:?}"), format!("{b:?}"));
        }
    }

    #[test]
    fn the_oldest_are_forgotten_and_the_newest_kept() {
        let (limit, batch) = (1_000usize, 100usize);
        let mut t = Tracked::new(batch);
        for id in 1..=5_000u64 {
            t.insert(id, id * 2);
            if t.len() > limit {
                t.forget_oldest();
            }
        }
        assert_eq!(t.len(), limit);
        assert_eq!(t.get(4_000), None, "the oldest forgotten");
        assert_eq!(t.get(1), None);
        assert_eq!((t.get(4_001), t.get(5_000)), (Some(&8_002), Some(&10_000)), "the newest kept");
        assert!(t.map.len() < limit + batch, "forgotten entries are dropped in batches");
        assert_eq!(t.remove(3_999), None, "a forgotten entry cannot be taken");
        assert_eq!(t.remove(4_500), Some(9_000));
        // A forgotten id answered again is remembered again, the others stay forgotten.
        assert_eq!(t.insert(17, 0), None);
        assert_eq!((t.get(17), t.get(18)), (Some(&0), None));
        assert_eq!(t.len(), limit);
    }
}
