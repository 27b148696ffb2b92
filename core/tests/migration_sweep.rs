//! Random migrations under random client load and faults: zero broken rules, and every
//! migration ends committed or rolled back (see `zoolab_core::migration::sweep`).
//!
//! A failing seed prints its replay command; add it to
//! `core/tests/regressions/migration-seeds.txt` so it runs forever after.

use zoolab_core::migration::sweep;

/// Seeds per shard; four shards run in parallel under the test harness.
const PER_SHARD: u64 = 250;

fn shard(k: u64) {
    // ZOOLAB_SWEEP_SEEDS=n runs n seeds per shard instead (quick looks, long soaks).
    let per: u64 = std::env::var("ZOOLAB_SWEEP_SEEDS").ok().and_then(|v| v.parse().ok()).unwrap_or(PER_SHARD);
    let mut failed = Vec::new();
    for seed in k * per..(k + 1) * per {
        let o = sweep::run(seed);
        if let Some(f) = &o.failure {
            failed.push(format!(
                "seed {seed} ({}): {f}\n  events: {:?}\n  replay: ZOOLAB_MIGRATION_SEED={seed} cargo test -p zoolab-core --test migration_sweep replay -- --nocapture",
                o.plan, o.events
            ));
        }
    }
    assert!(failed.is_empty(), "{} of {per} seeds failed:\n{}", failed.len(), failed.join("\n"));
}

#[test]
fn shard_0() {
    shard(0)
}

#[test]
fn shard_1() {
    shard(1)
}

#[test]
fn shard_2() {
    shard(2)
}

#[test]
fn shard_3() {
    shard(3)
}

#[test]
fn saved_regression_seeds() {
    let text = include_str!("regressions/migration-seeds.txt");
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let seed: u64 = line.split_whitespace().next().unwrap().parse().unwrap();
        let o = sweep::run(seed);
        assert_eq!(o.failure, None, "seed {seed}: {:?}", o.events);
    }
}

#[test]
fn replay() {
    let Ok(seed) = std::env::var("ZOOLAB_MIGRATION_SEED") else { return };
    let o = sweep::run(seed.parse().expect("a seed"));
    println!("seed {} plan {}\nevents:\n  {}", o.seed, o.plan, o.events.join("\n  "));
    println!("ended in {} at t={}ms: {:?}", o.phase, o.end_ms, o.failure);
}
