//! Property tests of the history checker.
//!
//! The reference system (`checker::reference`) is a correct ZooKeeper-like system:
//! random concurrent sessions, stale servers, pipelined requests, lost replies whose
//! writes may or may not happen, watches. Every history it produces must be accepted;
//! the same history with one result made impossible must be rejected.

use proptest::prelude::*;
use zoolab_core::checker::reference::{generate, ReferenceConfig};
use zoolab_core::checker::{
    check, EventBody, History, Op, OpResult, Operation, Outcome, Rule, Verdict, Watch,
};

fn config() -> impl Strategy<Value = ReferenceConfig> {
    (any::<u64>(), 1usize..=8, 10usize..=200, 1usize..=4, 1usize..=3, 1usize..=3, 0u32..=20).prop_map(
        |(seed, clients, operations, paths, servers, pipeline, loss_per_mille)| ReferenceConfig {
            seed,
            clients,
            operations,
            paths,
            servers,
            pipeline,
            loss_per_mille,
        },
    )
}

fn explain(history: &History, verdict: &Verdict) -> String {
    verdict.violations().iter().map(|v| v.explain(history)).collect::<Vec<_>>().join("\n")
}

fn is_get_data_ok(operation: &Operation) -> bool {
    matches!(operation.op, Op::GetData { .. })
        && matches!(operation.outcome, Outcome::Ok { result: OpResult::Data { .. }, .. })
}

fn shown_mzxid(operation: &Operation) -> Option<u64> {
    match &operation.outcome {
        Outcome::Ok { result: OpResult::Data { stat, .. }, .. } => Some(stat.mzxid.0),
        _ => None,
    }
}

/// Two reads of one session on one path, the first showing an older change.
fn older_then_newer(history: &History) -> Option<(usize, usize)> {
    let ops = &history.operations;
    for (i, first) in ops.iter().enumerate() {
        if !is_get_data_ok(first) {
            continue;
        }
        let later =
            ops.iter().enumerate().skip(i + 1).find(|(_, o)| {
                o.session == first.session && is_get_data_ok(o) && o.op.path() == first.op.path()
            });
        if let Some((j, second)) = later {
            if shown_mzxid(first) < shown_mzxid(second) {
                return Some((i, j));
            }
        }
    }
    None
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn histories_of_a_correct_system_are_accepted(config in config()) {
        let history = generate(config);
        let report = check(&history);
        prop_assert!(report.verdict.is_ok(), "{config:?}\n{}", explain(&history, &report.verdict));
    }

    #[test]
    fn a_read_of_data_never_written_is_rejected(config in config(), pick in any::<prop::sample::Index>()) {
        let mut history = generate(config);
        let reads: Vec<usize> = (0..history.operations.len())
            .filter(|i| is_get_data_ok(&history.operations[*i]))
            .collect();
        prop_assume!(!reads.is_empty());
        let target = reads[pick.index(reads.len())];
        if let Outcome::Ok { result: OpResult::Data { data, .. }, .. } =
            &mut history.operations[target].outcome
        {
            *data = b"never written".to_vec();
        }
        let verdict = check(&history).verdict;
        prop_assert!(
            verdict.violations().iter().any(|v| v.rule == Rule::ReadsSeeWrites),
            "{verdict:?}"
        );
    }

    #[test]
    fn going_back_in_time_is_rejected(config in config(), whole in any::<bool>()) {
        let mut history = generate(config);
        let found = older_then_newer(&history);
        prop_assume!(found.is_some());
        let (i, j) = found.expect("assumed");
        if whole {
            // The two replies, zxids and all, delivered in the other order.
            let first = history.operations[i].outcome.clone();
            history.operations[i].outcome = history.operations[j].outcome.clone();
            history.operations[j].outcome = first;
        } else {
            // Only the data and stats swapped: the later read shows the older state.
            let result = |o: &Outcome| match o {
                Outcome::Ok { result, .. } => result.clone(),
                _ => unreachable!("reads found ok"),
            };
            let (a, b) = (result(&history.operations[i].outcome), result(&history.operations[j].outcome));
            if let Outcome::Ok { result, .. } = &mut history.operations[i].outcome { *result = b; }
            if let Outcome::Ok { result, .. } = &mut history.operations[j].outcome { *result = a; }
        }
        let verdict = check(&history).verdict;
        prop_assert!(!verdict.is_ok(), "swap of ops {i} and {j} accepted");
        let rules: Vec<Rule> = verdict.violations().iter().map(|v| v.rule).collect();
        prop_assert!(
            rules.iter().any(|r| matches!(r, Rule::SessionZxids | Rule::NoTimeTravel | Rule::ReadsSeeWrites)),
            "{rules:?}"
        );
    }

    #[test]
    fn replies_out_of_order_are_rejected(config in config(), pick in any::<prop::sample::Index>()) {
        let mut history = generate(config);
        // Two consecutive answered requests of one session.
        let pairs: Vec<(usize, usize)> = (0..history.operations.len())
            .filter_map(|i| {
                let a = &history.operations[i];
                let j = (i + 1..history.operations.len())
                    .find(|j| history.operations[*j].session == a.session)?;
                let b = &history.operations[j];
                // closeSession is exempt from FIFO (it also records an expiry, the
                // leader's decision rather than a request in the session's queue).
                let requests = a.op != Op::CloseSession && b.op != Op::CloseSession;
                (requests && a.completed.is_some() && b.completed.is_some()).then_some((i, j))
            })
            .collect();
        prop_assume!(!pairs.is_empty());
        let (i, j) = pairs[pick.index(pairs.len())];
        let first = history.operations[i].completed;
        history.operations[i].completed = history.operations[j].completed;
        history.operations[j].completed = first;
        let verdict = check(&history).verdict;
        prop_assert!(
            verdict.violations().iter().any(|v| v.rule == Rule::SessionFifo),
            "{verdict:?}"
        );
    }

    #[test]
    fn a_skipped_version_is_rejected(
        config in config().prop_map(|c| ReferenceConfig { loss_per_mille: 0, ..c }),
        pick in any::<prop::sample::Index>(),
    ) {
        let mut history = generate(config);
        // A setData on a path where no write lost its reply (else a lost write could
        // explain the gap).
        let sets: Vec<usize> = (0..history.operations.len())
            .filter(|i| {
                let o = &history.operations[*i];
                matches!(o.outcome, Outcome::Ok { result: OpResult::DataSet { .. }, .. })
                    && !history.operations.iter().any(|w| {
                        w.is_unknown() && w.op.is_write()
                            && (w.op.path() == o.op.path() || matches!(w.op, Op::CloseSession | Op::Create { .. }))
                    })
            })
            .collect();
        prop_assume!(!sets.is_empty());
        let target = sets[pick.index(sets.len())];
        if let Outcome::Ok { result: OpResult::DataSet { stat }, .. } =
            &mut history.operations[target].outcome
        {
            stat.version += 1;
        }
        let verdict = check(&history).verdict;
        prop_assert!(!verdict.is_ok(), "version skip at op {target} accepted");
    }

    #[test]
    fn a_watch_event_delivered_twice_is_rejected(config in config(), pick in any::<prop::sample::Index>()) {
        let mut history = generate(config);
        // A watch event for a session with no lost watch-setting read on that path.
        let events: Vec<usize> = (0..history.events.len())
            .filter(|e| {
                let event = &history.events[*e];
                let EventBody::Watch { path, .. } = &event.body else { return false };
                !history.operations.iter().any(|o| {
                    o.session == event.session
                        && o.is_unknown()
                        && o.op.path() == Some(path.as_str())
                        && matches!(
                            o.op,
                            Op::GetData { watch: Watch::Set, .. }
                                | Op::Exists { watch: Watch::Set, .. }
                                | Op::GetChildren { watch: Watch::Set, .. }
                        )
                })
            })
            .collect();
        prop_assume!(!events.is_empty());
        let copy = history.events[events[pick.index(events.len())]].clone();
        history.events.push(copy);
        let verdict = check(&history).verdict;
        prop_assert!(
            verdict.violations().iter().any(|v| v.rule == Rule::WatchOnce),
            "{verdict:?}"
        );
    }
}
