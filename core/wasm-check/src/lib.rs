//! Runs the simulator in wasm (outside a browser, under Node) to compare its trace
//! hashes and speed with the native build. See BENCHMARKS.md for the commands.

use zoolab_core::sim::World;
use zoolab_core::ServerId;
/// The same run as core/tests/behaviour.rs `a_pinned_run_keeps_its_trace_hash`.
#[no_mangle]
pub extern "C" fn pinned_hash() -> u64 {
    let mut w = World::ensemble(5, 2026);
    w.run_until(1_000, 1_000_000);
    for i in 0..10u32 {
        w.write_register(ServerId(1 + u64::from(i) % 5), i, u64::from(i));
    }
    w.run_until(2_000, 1_000_000);
    w.trace_hash()
}
#[no_mangle]
pub extern "C" fn fuzz_hash(seed: u64) -> u64 {
    zoolab_core::sim::fuzz::run(seed, &Default::default()).map(|r| r.trace_hash).unwrap_or(0)
}
/// The simbench loop: returns deliveries (writes committed = `writes`).
#[no_mangle]
pub extern "C" fn bench(writes: u64) -> u64 {
    use zoolab_core::sim::{ClusterSpec, WorldConfig};
    use zoolab_core::zab::registers::RegRequest;
    let cfg = WorldConfig {
        clusters: vec![ClusterSpec { participants: 5, observers: 0 }],
        trace_capacity: 0,
        ..WorldConfig::default()
    };
    let mut w: World = World::new(cfg, 42);
    w.run_until(2_000, 1_000_000);
    let s0 = w.stats();
    let (mut submitted, mut next) = (0u64, 0u64);
    while w.stats().replies - s0.replies < writes {
        let done = w.stats().replies + w.stats().refusals - s0.replies - s0.refusals;
        while submitted - done < 100 && submitted < writes * 2 {
            next += 1;
            w.write(ServerId(1 + next % 5), RegRequest::Add { key: (next % 64) as u32, delta: 1 });
            submitted += 1;
        }
        w.run_for(1, u64::MAX);
    }
    w.stats().deliveries - s0.deliveries
}
