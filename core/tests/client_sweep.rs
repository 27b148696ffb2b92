//! The client sweep (`zoolab_core::scenario::sweep`): random client workloads under
//! random faults on the scenario simulator, every history judged by the history
//! checker. A few seeds here in debug; `make test-sweep` runs 2,000 in release through
//! `zoolab fuzz --state clients`.
//!
//! More seeds: `ZOOLAB_CLIENT_SEEDS=<n>`.

use std::collections::BTreeMap;
use zoolab_core::scenario::{sweep, Bug};

#[test]
fn random_clients_under_random_faults_keep_every_guarantee() {
    let seeds = std::env::var("ZOOLAB_CLIENT_SEEDS").ok().and_then(|v| v.parse().ok()).unwrap_or(40);
    let mut tally: BTreeMap<String, u64> = BTreeMap::new();
    let (mut operations, mut events, mut unknown) = (0, 0, 0);
    for seed in 0..seeds {
        let outcome = sweep::run(seed, &[]).unwrap_or_else(|f| panic!("{f}"));
        for (k, n) in outcome.tally {
            *tally.entry(k).or_default() += n;
        }
        operations += outcome.operations;
        events += outcome.events;
        unknown += usize::from(outcome.unknown.is_some());
    }
    eprintln!(
        "{seeds} seeds: {operations} operations and {events} events checked, {unknown} unknown; {tally:?}"
    );
    // The workload does something: most operations succeed, some meet each failure,
    // and the checker has real histories to judge.
    let count = |k: &str| tally.get(k).copied().unwrap_or(0);
    assert!(count("ok") > seeds * 5, "{tally:?}");
    assert!(count("CONNECTIONLOSS") > 0 && count("SESSIONEXPIRED") > 0 && count("NONODE") > 0, "{tally:?}");
    assert!(operations as u64 > seeds * 20 && events > 0, "{operations} operations, {events} events");
    assert!(unknown * 10 <= seeds as usize, "the checker gave up on {unknown} of {seeds} seeds");
}

#[test]
fn a_leader_that_commits_without_a_quorum_is_caught() {
    // With the bug on, some seed of the first few must fail (the ZAB invariants or
    // the history checker), and name itself for a replay.
    let failure = (0..40).find_map(|seed| sweep::run(seed, &[Bug::CommitWithoutQuorum]).err());
    let failure = failure.expect("commit-without-quorum went unnoticed over 40 seeds");
    assert!(failure.replay_command().contains("--bug commit-without-quorum"), "{failure}");
}

#[test]
fn with_client_latency_clients_keep_every_guarantee() {
    // Requests, replies, watch events and pings take 5 ms each way (and 40 ms for a
    // few seeds): the same workloads, every history still checked.
    let seeds = std::env::var("ZOOLAB_CLIENT_SEEDS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let mut ok = 0;
    for seed in 0..seeds {
        let latency = if seed % 5 == 4 { 40 } else { 5 };
        let outcome = sweep::run_with(seed, &[], latency).unwrap_or_else(|f| panic!("{f}"));
        ok += outcome.tally.get("ok").copied().unwrap_or(0);
    }
    assert!(ok > seeds * 5, "{ok} operations succeeded over {seeds} seeds");
    // Regression: a read answered by a lagging server after the leader committed the
    // session's expiry (the checker had counted the expiry's zxid as seen).
    sweep::run_with(1723, &[], 5).unwrap_or_else(|f| panic!("{f}"));
    let text = sweep::scenario_with(7, &[], 5);
    assert!(
        text.contains("network client latency 5ms") && !sweep::scenario(7, &[]).contains("client latency")
    );
}
