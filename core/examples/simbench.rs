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
use zoolab_core::sim::{ClusterSpec, World, WorldConfig};
use zoolab_core::zab::registers::RegRequest;
use zoolab_core::ServerId;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let writes: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let window: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(100);
    let cfg = WorldConfig {
        clusters: vec![ClusterSpec { participants: 5, observers: 0 }],
        trace_capacity: 0,
        ..WorldConfig::default()
    };
    let mut w: World = World::new(cfg, 42);
    w.run_until(2_000, 1_000_000);
    assert!(w.leader(0).is_some(), "a leader after 2 s");
    let start_stats = w.stats();
    let start = Instant::now();
    let cpu_start = cpu_seconds();
    let mut submitted = 0u64;
    let mut next = 0u64;
    while w.stats().replies - start_stats.replies < writes {
        let done = w.stats().replies + w.stats().refusals - start_stats.replies - start_stats.refusals;
        while submitted - done < window && submitted < writes * 2 {
            next += 1;
            let server = ServerId(1 + next % 5);
            w.write(server, RegRequest::Add { key: (next % 64) as u32, delta: 1 });
            submitted += 1;
        }
        w.run_for(1, u64::MAX);
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
