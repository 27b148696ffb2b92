//! `zoolab fuzz`: sweeps random clusters, client writes and faults over many seeds.

use anyhow::{bail, Result};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use zoolab_core::sim::fuzz::{self, FuzzFailure, FuzzOptions};
use zoolab_core::zab::zkdb::ZkDatabase;

/// What the replicated state is in each run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum State {
    /// ZooKeeper's data tree, with sessions, ephemerals and sequential nodes.
    Tree,
    /// A toy register map: ZAB alone, fastest.
    Registers,
}

/// The deliberate bugs `--bug` can switch on (to show that the sweep catches them).
pub const BUGS: &[&str] = &["commit_without_quorum", "skip_trunc", "elect_by_id"];

/// Builds the sweep's options from the command line's.
pub fn options(bug: Option<&str>, fault_ms: Option<u64>) -> Result<FuzzOptions> {
    let mut opts = FuzzOptions::default();
    match bug {
        None => {}
        Some("commit_without_quorum") => opts.bugs.commit_without_quorum = true,
        Some("skip_trunc") => opts.bugs.skip_trunc = true,
        Some("elect_by_id") => opts.bugs.elect_by_id = true,
        Some(other) => bail!("unknown bug {other:?} (known: {})", BUGS.join(", ")),
    }
    if let Some(ms) = fault_ms {
        opts.fault_ms = ms;
    }
    Ok(opts)
}

/// Runs seeds `from..from+count` on `jobs` threads; returns the failures, lowest seed first.
pub fn sweep(
    from: u64,
    count: u64,
    jobs: usize,
    state: State,
    opts: &FuzzOptions,
    progress: bool,
) -> Vec<FuzzFailure> {
    let next = AtomicU64::new(from);
    let done = AtomicU64::new(0);
    let failures = Mutex::new(Vec::new());
    let end = from.saturating_add(count);
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed >= end {
                    break;
                }
                let outcome = match state {
                    State::Tree => fuzz::run_with::<ZkDatabase>(seed, opts),
                    State::Registers => fuzz::run(seed, opts),
                };
                if let Err(f) = outcome {
                    eprintln!("{f}");
                    failures.lock().expect("no panics while held").push(f);
                }
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if progress && (n.is_multiple_of(500) || n == count) {
                    eprintln!("fuzz: {n} of {count} seeds run");
                }
            });
        }
    });
    let mut failures = failures.into_inner().expect("no panics while held");
    failures.sort_by_key(|f| f.seed);
    failures
}

/// `zoolab fuzz`: returns whether every seed passed.
pub fn run(
    from: u64,
    count: u64,
    jobs: usize,
    state: State,
    bug: Option<&str>,
    fault_ms: Option<u64>,
) -> Result<bool> {
    let opts = options(bug, fault_ms)?;
    let failures = sweep(from, count, jobs, state, &opts, true);
    let mut bug_flag = bug.map(|b| format!(" --bug {b}")).unwrap_or_default();
    if state == State::Registers {
        bug_flag.push_str(" --state registers");
    }
    for f in &failures {
        println!("seed {} failed: {}", f.seed, f.what);
        println!("  replay: zoolab fuzz --from {} --seeds 1{bug_flag}", f.seed);
    }
    println!("{} passed, {} failed", count - failures.len() as u64, failures.len());
    Ok(failures.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_sweep_passes_and_a_broken_protocol_is_caught() {
        let ok = options(None, Some(5_000)).unwrap();
        assert!(sweep(0, 8, 2, State::Registers, &ok, false).is_empty());
        assert!(sweep(0, 4, 2, State::Tree, &ok, false).is_empty());
        let broken = options(Some("commit_without_quorum"), None).unwrap();
        let failures = sweep(0, 40, 2, State::Registers, &broken, false);
        assert!(!failures.is_empty(), "committing without a quorum must be caught within 40 seeds");
    }

    #[test]
    fn unknown_bugs_are_refused() {
        assert!(options(Some("nonsense"), None).is_err());
    }
}
