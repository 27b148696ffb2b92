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
/// The migration workload (`migration::workload`, the `migbench` example's): migrates
/// `znodes` znodes by snapshot plus log (`client_api` = 0) or the client API (1);
/// returns the trace hash (0 when it did not commit) to compare with the native run.
#[no_mangle]
pub extern "C" fn migbench(znodes: u32, client_api: u32) -> u64 {
    use zoolab_core::migration::fidelity::Transport;
    use zoolab_core::migration::phase::Phase;
    let t = if client_api == 0 { Transport::SnapshotAndLog } else { Transport::ClientApi { target_is_zoolab: true } };
    let run = zoolab_core::migration::workload::migrate_under_load(znodes as usize, t, |_, _| {});
    if run.phase == Phase::Committed && run.violation.is_none() {
        run.trace_hash
    } else {
        0
    }
}
