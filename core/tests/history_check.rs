//! The simulator's client history as the checker reads it
//! (`zoolab_core::scenario::histlog`): what is kept, what is left out, and verdicts on
//! built-in scenarios.

use zoolab_core::checker::{EventBody, Op, Outcome, Rule, Verdict};
use zoolab_core::scenario::{library, parse, sim};

fn played(text: &str) -> sim::SimDriver {
    let sc = parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let mut r = sim::runner(&sc, Default::default()).expect("runs");
    r.run_all();
    assert!(r.report().passed(), "{}", r.report().summary());
    r.into_driver()
}

const HEADER: &str = "seed 2\ncluster a with 3 servers\nclient c1 connects to a1\nclient c2 connects to a2\n\nrun until a has a leader\nrun until c1 is connected\nrun until c2 is connected\n";

#[test]
fn paths_written_outside_the_model_are_left_out_with_their_parents_listings() {
    let d = played(&format!(
        "{HEADER}c1: multi create /a 1 ; create /b 2\nrun 200ms\nc1: get /a\nc1: create /c 3\nc1: ls /\nrun 200ms\nc2: get /c\nc2: create -c /box x\nc2: stat /box\nrun 500ms\nexpect c2#1 returned \"3\"\n"
    ));
    let h = d.checker_history(0);
    let paths: Vec<&str> = h.operations.iter().filter_map(|o| o.op.path()).collect();
    // The multi's paths, the container and `ls /` (whose children include them) are out;
    // the plain create and the reads of /c stay.
    assert_eq!(paths, vec!["/c", "/c"], "{:?}", h.operations);
    assert!(matches!(h.operations[0].outcome, Outcome::Ok { .. }));
}

#[test]
fn an_expiry_is_the_leaders_closesession_in_the_expired_sessions_history() {
    let d = played(library::builtin("ephemeral-removed-on-expiry").expect("built in"));
    let h = d.checker_history(0);
    let closes: Vec<_> = h.operations.iter().filter(|o| o.op == Op::CloseSession).collect();
    assert_eq!(closes.len(), 1, "{:?}", h.operations);
    assert!(closes[0].outcome.zxid().is_some());
    assert!(h.events.iter().any(|e| e.body == EventBody::Expired && e.session == closes[0].session));
    let (_, report) = d.check_history_of(0);
    assert_eq!(report.verdict, Verdict::Ok);
}

#[test]
fn watch_events_reach_the_checker() {
    let d = played(library::builtin("watch-fires-once").expect("built in"));
    let h = d.checker_history(0);
    let watches = h.events.iter().filter(|e| matches!(e.body, EventBody::Watch { .. })).count();
    assert_eq!(watches, 2, "{:?}", h.events);
    assert!(d.check_history_of(0).1.verdict.is_ok());
}

#[test]
fn a_cut_off_client_whose_network_returns_in_time_gets_what_it_missed_in_order() {
    // c1's watch fires while it is cut off; the network comes back before its read
    // timeout (1.3 s): the event arrives on the same connection, before the reply of
    // its next request, and the history keeps rule 4.
    let d = played(&format!(
        "{HEADER}c2: create /x 1\nrun 200ms\nc1: get -w /x\nrun 100ms\ndisconnect c1\nc2: set /x 2\nc1: get /x\nrun 500ms\nexpect c1 is pending\nreconnect c1\nrun 200ms\nexpect c1 returned \"2\"\nexpect c1 saw NodeDataChanged /x 1 times\nexpect not c1 saw Disconnected\nexpect history is linearizable\n"
    ));
    assert!(d.check_history_of(0).1.verdict.is_ok());
}

#[test]
fn the_checker_catches_the_lost_write_of_a_leader_that_commits_alone() {
    let d = played(library::builtin("commit-without-quorum-loses-a-write").expect("built in"));
    let (history, report) = d.check_history_of(0);
    let found = report.verdict.violations();
    assert!(found.iter().any(|v| v.rule == Rule::SyncThenRead), "{:?}", report.verdict);
    let text = found[0].explain(&history);
    assert!(text.contains("create(/x"), "the explanation names the lost write: {text}");
}
