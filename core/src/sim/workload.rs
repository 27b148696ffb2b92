//! Reference workloads, shared by the tests, the benchmarks and the wasm checks, so
//! that "the pinned run" or "the benchmark load" is one piece of code everywhere and a
//! native figure and a wasm figure always measure the same run.

use super::{ClusterSpec, Stats, World, WorldConfig};
use crate::ids::ServerId;
use crate::zab::registers::{RegRequest, Registers};

/// The pinned run: a 5-server ensemble (seed 2026) elects, takes ten writes spread over
/// its servers, and settles. Its trace hash is pinned in
/// `core/tests/golden/pinned_hash.txt` and checked natively and in the browser.
pub fn pinned_run() -> World<Registers> {
    let mut w = World::ensemble(5, 2026);
    w.run_until(1_000, 1_000_000);
    for i in 0..10u32 {
        w.write_register(ServerId(1 + u64::from(i) % 5), i, u64::from(i));
    }
    w.run_until(2_000, 1_000_000);
    w
}

/// The benchmark's world: one 5-server ensemble (seed 42) with no trace kept (the hash
/// still covers every line), run until its first leader is elected.
pub fn bench_ensemble() -> World<Registers> {
    let cfg = WorldConfig {
        clusters: vec![ClusterSpec { participants: 5, observers: 0, spares: 0 }],
        trace_capacity: 0,
        ..WorldConfig::default()
    };
    let mut w = World::new(cfg, 42);
    w.run_until(2_000, 1_000_000);
    w
}

/// A closed-loop client load: keeps `window` writes in flight, round-robin over the five
/// servers (so four in five are forwarded to the leader), until `writes` are answered.
#[derive(Clone, Debug)]
pub struct ClosedLoop {
    /// The world's counters when the load started.
    pub start: Stats,
    writes: u64,
    window: u64,
    submitted: u64,
    next: u64,
}

impl ClosedLoop {
    /// A load of `writes` writes, `window` at a time, starting now.
    pub fn new(w: &World<Registers>, writes: u64, window: u64) -> ClosedLoop {
        ClosedLoop { start: w.stats(), writes, window, submitted: 0, next: 0 }
    }

    /// Tops up the writes in flight and runs one simulated millisecond; `false` once
    /// every write has been answered. Submissions are bounded by twice `writes`.
    pub fn step(&mut self, w: &mut World<Registers>) -> bool {
        let s = w.stats();
        if s.replies - self.start.replies >= self.writes {
            return false;
        }
        let done = s.replies + s.refusals - self.start.replies - self.start.refusals;
        while self.submitted - done < self.window && self.submitted < self.writes * 2 {
            self.next += 1;
            w.write(ServerId(1 + self.next % 5), RegRequest::Add { key: (self.next % 64) as u32, delta: 1 });
            self.submitted += 1;
        }
        w.run_for(1, u64::MAX);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_closed_loop_commits_every_write() {
        let mut w = bench_ensemble();
        assert!(w.leader(0).is_some());
        let mut load = ClosedLoop::new(&w, 200, 20);
        let mut steps = 0;
        while load.step(&mut w) {
            steps += 1;
            assert!(steps < 100_000, "the load finishes");
        }
        assert_eq!(w.violation(), None);
        assert!(w.stats().replies - load.start.replies >= 200);
    }
}
