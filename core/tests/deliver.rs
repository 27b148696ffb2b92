//! `deliver a3 -> a1 PROPOSAL`: a message delivered by hand, ahead of its time.

use zoolab_core::scenario::{parse, sim};

const SETUP: &str = "seed 1\ncluster a with 3 servers\nclient c1 connects to a3\n\nrun until a has a leader\nexpect a3 is leading\nrun until c1 is connected\nrun 1s\nc1: create /x 1\nstep\n";

fn run(steps: &str) -> (bool, String) {
    let sc = parse(&format!("{SETUP}{steps}")).expect("parses");
    let mut r = sim::runner(&sc, Default::default()).expect("runs");
    r.run_all();
    let report = r.report();
    (report.passed(), report.summary())
}

#[test]
fn a_proposal_delivered_by_hand_reaches_one_follower_before_the_other() {
    // The leader has just proposed: both copies are in flight. a1 gets its copy now;
    // a2's is still on the wire.
    let (ok, summary) = run(
        "deliver a3 -> a1 PROPOSAL\nexpect trace contains \"s3 → s1 PROPOSAL zxid=0x100000002\"\nexpect not trace contains \"s3 → s2 PROPOSAL zxid=0x100000002\"\nrun 1s\nexpect a has /x\nexpect invariants hold\n",
    );
    assert!(ok, "{summary}");
}

#[test]
fn nothing_to_deliver_is_a_failed_step_with_a_reason() {
    let (ok, summary) = run("deliver a3 -> a2 NOTIFICATION\n");
    assert!(!ok && summary.contains("no NOTIFICATION in flight from a3 to a2"), "{summary}");
    let (ok, summary) = run("deliver a3 -> a1 PROPOSAL\ndeliver a3 -> a1 PROPOSAL\n");
    assert!(!ok && summary.contains("no PROPOSAL in flight"), "{summary}");
    let e = parse(&format!("{SETUP}deliver a3 -> a3\n")).expect_err("a server sends nothing to itself");
    assert!(e.to_string().contains("itself"), "{e}");
    let e = parse(&format!("{SETUP}deliver a3 -> a1 PROPOSALS\n")).expect_err("no such kind");
    assert!(e.to_string().contains("a message kind"), "{e}");
}
