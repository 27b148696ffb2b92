//! The simulator's event queue: a binary heap ordered by (time, sequence number), so
//! events at the same time run in the order they were scheduled.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A queued event's key: its time and its scheduling sequence number.
pub type Key = (u64, u64);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Queued {
    key: Key,
    slot: u32,
}

impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap is a max-heap: the earliest key must compare greatest.
        other.key.cmp(&self.key)
    }
}

/// A min-queue of events by key. The heap holds small (key, slot) pairs; the events
/// themselves stay put in a slab, so sifting moves 24 bytes, not whole messages.
#[derive(Clone, Debug)]
pub struct EventQueue<E> {
    heap: BinaryHeap<Queued>,
    slab: Vec<Option<E>>,
    free: Vec<u32>,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue { heap: BinaryHeap::new(), slab: Vec::new(), free: Vec::new() }
    }
}

impl<E> EventQueue<E> {
    /// Adds an event (keys are unique: the sequence number grows).
    pub fn push(&mut self, key: Key, event: E) {
        let slot = match self.free.pop() {
            Some(s) => {
                self.slab[s as usize] = Some(event);
                s
            }
            None => {
                self.slab.push(Some(event));
                u32::try_from(self.slab.len() - 1).expect("fewer than 2^32 queued events")
            }
        };
        self.heap.push(Queued { key, slot });
    }

    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<(Key, E)> {
        let q = self.heap.pop()?;
        self.free.push(q.slot);
        let event = self.slab[q.slot as usize].take().expect("a queued slot holds its event");
        Some((q.key, event))
    }

    /// The earliest key.
    pub fn peek_key(&self) -> Option<Key> {
        self.heap.peek().map(|q| q.key)
    }

    /// How many events are queued.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Every event with its key, earliest first (O(n log n): for views, not for the
    /// hot path).
    pub fn sorted(&self) -> Vec<(Key, &E)> {
        let mut v: Vec<(Key, &E)> =
            self.heap.iter().map(|q| (q.key, self.slab[q.slot as usize].as_ref().expect("queued"))).collect();
        v.sort_by_key(|(k, _)| *k);
        v
    }

    /// Removes the event with this key (O(n)).
    pub fn remove(&mut self, key: Key) -> Option<E> {
        let slot = self.heap.iter().find(|q| q.key == key)?.slot;
        self.heap.retain(|q| q.key != key);
        self.free.push(slot);
        self.slab[slot as usize].take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_then_sequence_order() {
        let mut q = EventQueue::default();
        q.push((5, 1), "b");
        q.push((3, 2), "a");
        q.push((5, 0), "first at 5");
        assert_eq!(q.pop(), Some(((3, 2), "a")));
        assert_eq!(q.remove((5, 1)), Some("b"));
        assert_eq!(q.pop(), Some(((5, 0), "first at 5")));
        assert!(q.is_empty());
    }
}
