//! Simulator throughput: message deliveries and committed writes per wall-clock second
//! for one 5-server ensemble under a steady client load, with every invariant checked.
//!
//! `cargo run --release -p zoolab-core --example simbench -- [writes] [window]`

use std::time::Instant;

/// This process's CPU time (user + system) in seconds, from /proc/self/stat (Linux;
/// clock ticks of 1/100 s). On a shared machine it is the fairer figure: wall time
/// also counts the time other processes hold the cores.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}
use zoolab_core::sim::workload;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let writes: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let window: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(100);
    let mut w = workload::bench_ensemble();
    assert!(w.leader(0).is_some(), "a leader after 2 s");
    let mut load = workload::ClosedLoop::new(&w, writes, window);
    let start_stats = load.start;
    let start = Instant::now();
    let cpu_start = cpu_seconds();
    while load.step(&mut w) {
        assert!(w.violation().is_none(), "{:?}", w.violation());
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds().zip(cpu_start).map(|(b, a)| b - a);
    let s = w.stats();
    let deliveries = s.deliveries - start_stats.deliveries;
    let replies = s.replies - start_stats.replies;
    let events = s.events - start_stats.events;
    println!("5-server ensemble, window {window}, {writes} writes, invariants checked");
    println!("wall {secs:.3} s, cpu {:.2} s, simulated {} ms", cpu.unwrap_or(f64::NAN), w.now());
    println!("{:<12}{:>10}  {:>14}  {:>14}", "", "count", "per wall s", "per cpu s");
    for (name, n) in [("events", events), ("deliveries", deliveries), ("committed", replies)] {
        let per_cpu = cpu.map_or(f64::NAN, |c| n as f64 / c);
        println!("{name:<12}{n:>10}  {:>14.0}  {per_cpu:>14.0}", n as f64 / secs);
    }
    println!("trace hash  {:016x}", w.trace_hash());
}
