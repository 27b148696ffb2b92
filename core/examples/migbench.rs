//! Benchmark: a simulated migration of N znodes (default 100,000) from cluster a to
//! cluster b (3 servers each, 40 ms apart) by snapshot plus log, under a steady write
//! load (one create or set every 10 ms of simulated time until the freeze), from draft
//! to commit. Prints wall-clock and CPU time, simulated time, and the phases.
//!
//! `cargo run --release -p zoolab-core --example migbench -- [znodes] [transport: snapshot|client-api]`

use zoolab_core::migration::fidelity::Transport;
use zoolab_core::migration::phase::Phase;
use zoolab_core::migration::sim::{Plan, SessionPolicy};
use zoolab_core::scenario::run::Driver;
use zoolab_core::scenario::sim::SimDriver;
use zoolab_core::scenario::Millis;
use zoolab_core::tree::{Acl, Import, ImportedNode, StatPersisted};

fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn advance(d: &mut SimDriver, ms: u64) {
    let until = Millis(d.now().0 + ms);
    let mut t = Vec::new();
    while d.step_until(until, &mut t) {
        t.clear();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let transport = match args.get(2).map(String::as_str) {
        Some("client-api") => Transport::ClientApi { target_is_zoolab: true },
        _ => Transport::SnapshotAndLog,
    };
    let text = "scenario \"migbench\"\nseed 1\ncluster a with 3 servers\ncluster b with 3 servers\n\
                link a <-> b latency 40ms\nclient c1 connects to a\n";
    let sc = zoolab_core::scenario::parse(text).unwrap();
    let mut d = SimDriver::new(&sc).unwrap();
    advance(&mut d, 1_000);
    // Load the source: /data with 100 parents of n/100 children each, through a's ZAB
    // (the import path, in chunks of 5,000 nodes).
    let leader = d.world().leader(0).expect("a has a leader");
    let open = Acl::open_unsafe();
    let mut nodes = Vec::with_capacity(n + 101);
    let stat = |z: u64| StatPersisted::created(zoolab_core::ids::Zxid(z), 1_000, 0);
    nodes.push(ImportedNode { path: "/data".into(), data: vec![], acl: open.clone(), stat: stat(1) });
    let per = (n / 100).max(1);
    for p in 0..100.min(n) {
        let parent = format!("/data/p{p:02}");
        let mut s = stat(1);
        s.cversion = per as i32;
        nodes.push(ImportedNode { path: parent.clone(), data: vec![], acl: open.clone(), stat: s });
        for c in 0..per {
            nodes.push(ImportedNode {
                path: format!("{parent}/n{c:06}"),
                data: format!("value-{p}-{c}").into_bytes(),
                acl: open.clone(),
                stat: stat(1),
            });
        }
    }
    let total = nodes.len();
    for chunk in nodes.chunks(5_000) {
        d.import_into(0, Import { nodes: chunk.to_vec(), ..Import::default() });
    }
    advance(&mut d, 2_000);
    let loaded = d.world().server(0, leader).unwrap().state().tree().node_count();
    println!("source loaded: {loaded} znodes ({total} imported)");

    let mut plan = Plan::new(0, 1, "/", transport, SessionPolicy::Expire);
    plan.latency_ms = d.link_latency(0, 1);
    plan.batch = 2_000;
    plan.soak_ms = 1_000;
    let wall = std::time::Instant::now();
    let cpu0 = cpu_seconds();
    let t0 = d.now().0;
    d.start_migration(plan).unwrap();
    let mut k = 0u64;
    let mut last = Phase::Draft;
    loop {
        let phase = d.migration().unwrap().phase();
        if phase != last {
            println!(
                "  t=+{:>6} ms  wall {:>6.2} s  {}",
                d.now().0 - t0,
                wall.elapsed().as_secs_f64(),
                phase
            );
            last = phase;
        }
        if matches!(phase, Phase::Committed | Phase::RolledBack) || d.violation().is_some() {
            break;
        }
        if d.now().0 > t0 + 600_000 {
            println!("did not finish: {:?}", d.migration_evidence());
            break;
        }
        // Steady writes until the freeze (afterwards they would be refused).
        if phase < Phase::Freeze {
            k += 1;
            let line = if k.is_multiple_of(2) {
                format!("create /data/p{:02}/w{k} x", k % 100)
            } else {
                format!("set /data/p{:02}/n{:06} v{k}", k % 100, k % per as u64)
            };
            let c = zoolab_core::zkcli::parse(&line).unwrap();
            let _ = d.submit("c1", &c, &mut Vec::new());
        }
        if d.migration_step().is_err() {
            advance(&mut d, 10);
        }
    }
    let wall = wall.elapsed().as_secs_f64();
    let cpu = cpu_seconds().zip(cpu0).map(|(a, b)| a - b);
    let m = d.migration().unwrap();
    println!(
        "migrated {loaded} znodes via {transport:?}: {} in {:.2} s wall, {} CPU, {:.1} s simulated, {k} client writes during the copy, violation {:?}",
        m.phase(),
        wall,
        cpu.map_or("?".into(), |c| format!("{c:.2} s")),
        (d.now().0 - t0) as f64 / 1000.0,
        d.violation()
    );
}
