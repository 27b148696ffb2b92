//! `zoolab fuzz`: sweeps random clusters, client writes and faults over many seeds.

use anyhow::{bail, Result};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use zoolab_core::scenario::{sweep, Bug};
use zoolab_core::sim::fuzz::{self, FuzzFailure, FuzzOptions};
use zoolab_core::zab::zkdb::ZkDatabase;

/// The scenario language's names for the bugs switched on.
fn scenario_bugs(opts: &FuzzOptions) -> Vec<Bug> {
    let b = opts.bugs;
    [
        (b.commit_without_quorum, Bug::CommitWithoutQuorum),
        (b.skip_trunc, Bug::SkipTrunc),
        (b.elect_by_id, Bug::ElectById),
    ]
    .into_iter()
    .filter_map(|(on, bug)| on.then_some(bug))
    .collect()
}

/// What the replicated state is in each run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum State {
    /// ZooKeeper's data tree, with sessions, ephemerals and sequential nodes.
    Tree,
    /// A toy register map: ZAB alone, fastest.
    Registers,
    /// Simulated ZooKeeper clients (sessions, ephemerals, watches, syncs) on the tree,
    /// under faults, every client history judged by the history checker.
    Clients,
    /// A random migration between two clusters (transport, sessions, subtree, latency)
    /// under client load and faults, every migration rule checked after every step
    /// (`zoolab_core::migration::sweep`).
    Migration,
}

/// The deliberate bugs `--bug` can switch on (to show that the sweep catches them).
pub const BUGS: &[&str] = &["commit_without_quorum", "skip_trunc", "elect_by_id"];

/// Builds the sweep's options from the command line's (bugs as `commit_without_quorum`
/// or as scenarios write them, `commit-without-quorum`).
pub fn options(bug: Option<&str>, fault_ms: Option<u64>) -> Result<FuzzOptions> {
    let mut opts = FuzzOptions::default();
    let bug = bug.map(|b| b.replace('-', "_"));
    match bug.as_deref() {
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

/// The scenario the clients sweep plays for `seed`.
pub fn client_scenario(seed: u64, opts: &FuzzOptions, client_latency_ms: u64) -> String {
    sweep::scenario_with(seed, &scenario_bugs(opts), client_latency_ms)
}

/// Runs seeds `from..from+count` on `jobs` threads; returns the failures, lowest seed
/// first. `client_latency_ms`: with `State::Clients`, the clients' latency to the servers.
pub fn sweep(
    from: u64,
    count: u64,
    jobs: usize,
    (state, client_latency_ms): (State, u64),
    opts: &FuzzOptions,
    progress: bool,
) -> Vec<FuzzFailure> {
    let next = AtomicU64::new(from);
    let done = AtomicU64::new(0);
    let (operations, events, unknown) = (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));
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
                    State::Tree => fuzz::run_with::<ZkDatabase>(seed, opts).map(|_| ()),
                    State::Registers => fuzz::run(seed, opts).map(|_| ()),
                    State::Migration => {
                        let o = zoolab_core::migration::sweep::run(seed);
                        match o.failure {
                            None => Ok(()),
                            Some(why) => {
                                let what = format!("{why} [{}; events {:?}]", o.plan, o.events);
                                eprintln!("seed {seed}: {what}");
                                Err(FuzzFailure {
                                    seed,
                                    step: 0,
                                    what,
                                    tail: Vec::new(),
                                    bugs: opts.bugs,
                                    reconfig: false,
                                })
                            }
                        }
                    }
                    State::Clients => match sweep::run_with(seed, &scenario_bugs(opts), client_latency_ms) {
                        Ok(o) => {
                            operations.fetch_add(o.operations as u64, Ordering::Relaxed);
                            events.fetch_add(o.events as u64, Ordering::Relaxed);
                            if let Some(why) = o.unknown {
                                unknown.fetch_add(1, Ordering::Relaxed);
                                if progress {
                                    eprintln!("seed {seed}: the history checker could not decide: {why}");
                                }
                            }
                            Ok(())
                        }
                        Err(f) => {
                            eprintln!("{f}");
                            let what = f.message;
                            Err(FuzzFailure {
                                seed,
                                step: 0,
                                what,
                                tail: Vec::new(),
                                bugs: opts.bugs,
                                reconfig: false,
                            })
                        }
                    },
                };
                if let Err(f) = outcome {
                    if !matches!(state, State::Clients | State::Migration) {
                        eprintln!("{f}");
                    }
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
    if progress && state == State::Clients {
        eprintln!(
            "fuzz: the history checker judged {} operations and {} events; {} histories undecided (budget)",
            operations.into_inner(),
            events.into_inner(),
            unknown.into_inner()
        );
    }
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
    client_latency_ms: u64,
) -> Result<bool> {
    if state == State::Migration && (bug.is_some() || fault_ms.is_some()) {
        bail!("--state migration draws its own faults and has no --bug (the broken migrations are tested in the core)");
    }
    let opts = options(bug, fault_ms)?;
    if client_latency_ms > 0 && state != State::Clients {
        bail!("--client-latency-ms needs --state clients");
    }
    let failures = sweep(from, count, jobs, (state, client_latency_ms), &opts, true);
    let mut bug_flag = bug.map(|b| format!(" --bug {b}")).unwrap_or_default();
    match state {
        State::Registers => bug_flag.push_str(" --state registers"),
        State::Clients if client_latency_ms > 0 => {
            bug_flag.push_str(&format!(" --state clients --client-latency-ms {client_latency_ms}"));
        }
        State::Clients => bug_flag.push_str(" --state clients"),
        State::Migration => bug_flag.push_str(" --state migration"),
        State::Tree => {}
    }
    for f in &failures {
        println!("seed {} failed: {}", f.seed, f.what);
        println!("  replay: zoolab fuzz --from {} --seeds 1{bug_flag}", f.seed);
        if state == State::Migration {
            println!(
                "  or: ZOOLAB_MIGRATION_SEED={} cargo test -p zoolab-core --test migration_sweep replay -- --nocapture",
                f.seed
            );
        }
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
        assert!(sweep(0, 8, 2, (State::Registers, 0), &ok, false).is_empty());
        assert!(sweep(0, 4, 2, (State::Tree, 0), &ok, false).is_empty());
        assert!(sweep(0, 4, 2, (State::Clients, 0), &ok, false).is_empty());
        assert!(sweep(0, 4, 2, (State::Clients, 20), &ok, false).is_empty());
        assert!(sweep(0, 3, 2, (State::Migration, 0), &ok, false).is_empty());
        let broken = options(Some("commit_without_quorum"), None).unwrap();
        let failures = sweep(0, 40, 2, (State::Registers, 0), &broken, false);
        assert!(!failures.is_empty(), "committing without a quorum must be caught within 40 seeds");
    }

    #[test]
    fn unknown_bugs_are_refused() {
        assert!(options(Some("nonsense"), None).is_err());
    }
}
