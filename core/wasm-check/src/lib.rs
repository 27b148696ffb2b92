//! Runs the simulator in wasm (outside a browser, under Node) to compare its trace
//! hashes and speed with the native build. See BENCHMARKS.md for the commands.

/// The same run as core/tests/behaviour.rs `a_pinned_run_keeps_its_trace_hash`.
#[no_mangle]
pub extern "C" fn pinned_hash() -> u64 {
    zoolab_core::sim::workload::pinned_run().trace_hash()
}
#[no_mangle]
pub extern "C" fn fuzz_hash(seed: u64) -> u64 {
    zoolab_core::sim::fuzz::run(seed, &Default::default()).map(|r| r.trace_hash).unwrap_or(0)
}
/// The simbench loop: returns deliveries (writes committed = `writes`).
#[no_mangle]
pub extern "C" fn bench(writes: u64) -> u64 {
    use zoolab_core::sim::workload;
    let mut w = workload::bench_ensemble();
    let mut load = workload::ClosedLoop::new(&w, writes, 100);
    while load.step(&mut w) {}
    w.stats().deliveries - load.start.deliveries
}
