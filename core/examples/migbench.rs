//! Benchmark: a simulated migration of N znodes (default 100,000) from cluster a to
//! cluster b (3 servers each, 40 ms apart), under a steady write load (one create or set
//! every 10 ms of simulated time until the freeze), from draft to commit: the workload
//! `migration::workload::migrate_under_load`, which `core/wasm-check` also runs in wasm.
//! Prints wall-clock and CPU time, simulated time, and the phases.
//!
//! `cargo run --release -p zoolab-core --example migbench -- [znodes] [transport: snapshot|client-api]`

use zoolab_core::migration::fidelity::Transport;
use zoolab_core::migration::workload::migrate_under_load;

fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let transport = match args.get(2).map(String::as_str) {
        Some("client-api") => Transport::ClientApi { target_is_zoolab: true },
        _ => Transport::SnapshotAndLog,
    };
    let wall = std::time::Instant::now();
    let cpu0 = cpu_seconds();
    let run = migrate_under_load(n, transport, |phase, sim_ms| {
        println!("  t=+{sim_ms:>6} ms  wall {:>6.2} s  {phase}", wall.elapsed().as_secs_f64());
    });
    let wall = wall.elapsed().as_secs_f64();
    let cpu = cpu_seconds().zip(cpu0).map(|(a, b)| a - b);
    println!(
        "migrated {} znodes via {}: {} in {wall:.2} s wall (loading included), {} CPU, {:.1} s simulated, {} client writes during the copy, violation {:?}, trace hash {:016x}",
        run.loaded,
        transport.word(),
        run.phase,
        cpu.map_or("?".into(), |c| format!("{c:.2} s")),
        run.simulated_ms as f64 / 1000.0,
        run.writes,
        run.violation,
        run.trace_hash,
    );
}
