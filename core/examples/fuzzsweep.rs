//! Runs the fault sweep from the command line:
//! `cargo run --release -p zoolab-core --example fuzzsweep -- [from] [count] [bug|-] [fault_ms]`.
//! With `ZOOLAB_FUZZ_RECONFIG=1`: the data tree with spares and reconfigurations.
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
        Some("skip_joint_quorum") => opts.bugs.skip_joint_quorum = true,
        _ => {}
    }
    if let Some(ms) = args.get(4).and_then(|a| a.parse().ok()) {
        opts.fault_ms = ms;
    }
    let reconfig = std::env::var("ZOOLAB_FUZZ_RECONFIG").is_ok();
    let mut failures = 0;
    for seed in from..from + count {
        let result = if reconfig {
            fuzz::sweep_reconfig(seed, 1, &opts).map(|mut r| r.remove(0))
        } else {
            fuzz::run(seed, &opts)
        };
        match result {
            Ok(r) => println!("seed {seed} ok {r:?}"),
            Err(f) => {
                failures += 1;
                println!("{f}");
            }
        }
    }
    println!("{failures} of {count} seeds failed");
}
