//! Runs the fault sweep from the command line:
//! `cargo run --release -p zoolab-core --example fuzzsweep -- [from] [count] [bug|-] [fault_ms]`.
use zoolab_core::sim::fuzz::{self, FuzzOptions};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let from: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(0);
    let count: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(100);
    let mut opts = FuzzOptions::default();
    match args.get(3).map(String::as_str) {
        Some("commit_without_quorum") => opts.bugs.commit_without_quorum = true,
        Some("skip_trunc") => opts.bugs.skip_trunc = true,
        Some("elect_by_id") => opts.bugs.elect_by_id = true,
        _ => {}
    }
    if let Some(ms) = args.get(4).and_then(|a| a.parse().ok()) {
        opts.fault_ms = ms;
    }
    let mut failures = 0;
    for seed in from..from + count {
        match fuzz::run(seed, &opts) {
            Ok(r) => println!("seed {seed} ok {r:?}"),
            Err(f) => {
                failures += 1;
                println!("{f}");
            }
        }
    }
    println!("{failures} of {count} seeds failed");
}
