//! A run stopped at event positions, cloned there and resumed is the run never stopped:
//! the same trace lines, checks and trace hash. The playground keeps such clones as
//! checkpoints to scrub a long run without replaying it from the start, so this is what
//! makes its time travel exact.

use std::path::Path;
use zoolab_core::scenario::run::{Options, Report, Runner};
use zoolab_core::scenario::sim::{runner, SimDriver};
use zoolab_core::scenario::{self, Scenario};

fn scenarios() -> Vec<(String, Scenario)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in [root.join("../scenarios"), root.join("tests/scenarios")] {
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "zk"))
            .collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let sc = scenario::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            out.push((f.file_name().unwrap().to_string_lossy().into_owned(), sc));
        }
    }
    // Every kind of step that runs events, cut anywhere: `run`, `step`, `run until`,
    // `at … : run`, `migration run`.
    let text = "seed 4\ncluster a with 3 servers\ncluster b with 3 servers\nclient c1 connects to a\n\n\
                run until a has a leader\nstep 7\nrun until c1 is connected\nc1: create /app v1\nat 4s: run 300ms\n\
                at 5s: kill leader of b\nrun until b has a leader\nmigrate a -> b via snapshot\n\
                migration run until catch-up\nmigration run\nrun 700ms\nexpect migration committed\n";
    out.push(("every-kind-of-wait".into(), scenario::parse(text).unwrap_or_else(|e| panic!("{e}"))));
    out
}

fn whole(sc: &Scenario) -> Report {
    let mut r = runner(sc, Options::default()).unwrap();
    r.run_all();
    r.report()
}

/// Runs `sc` stopping every `every` events; at each stop the run goes on in a copy
/// (the original dropped), as the playground does with a checkpoint: a clone, or a
/// checkpoint whose world keeps only its last 50 trace records.
fn stopped_every(sc: &Scenario, every: u64) -> (Report, usize) {
    let mut r: Runner<SimDriver> =
        runner(sc, Options { stop_at_events: Some(every), ..Options::default() }).unwrap();
    let mut cuts = 0;
    loop {
        r.run_all();
        let events = zoolab_core::scenario::run::Driver::events(r.driver());
        if r.is_cut() {
            cuts += 1;
        }
        if r.driver().world().violation().is_some()
            || (!r.is_cut() && r.steps_run() >= r.scenario().steps.len())
        {
            break;
        }
        let mut copy = if cuts % 2 == 0 { r.clone() } else { r.checkpoint(|d| d.checkpoint(50)) };
        drop(r);
        copy.resume(Some(events + every));
        r = copy;
    }
    r.resume(None);
    r.run_all();
    (r.report(), cuts)
}

#[test]
fn a_run_stopped_cloned_and_resumed_anywhere_is_the_run_never_stopped() {
    let mut cut_somewhere = 0;
    for (name, sc) in scenarios() {
        let want = whole(&sc);
        // A few long stretches, and (on shorter runs) many short ones.
        for every in [1 + want.events / 7, 1 + want.events / 31, 97] {
            if every > want.events || want.events / every > 400 {
                continue;
            }
            let (got, cuts) = stopped_every(&sc, every);
            cut_somewhere += cuts;
            assert_eq!(got.trace_hash, want.trace_hash, "{name}, stopped every {every} events");
            assert_eq!(got.checks, want.checks, "{name}, stopped every {every} events");
            assert_eq!(got.trace, want.trace, "{name}, stopped every {every} events");
            assert_eq!(
                (got.events, got.time, got.steps_run),
                (want.events, want.time, want.steps_run),
                "{name}"
            );
        }
    }
    assert!(cut_somewhere > 100, "steps were cut short and resumed ({cut_somewhere})");
}

#[test]
fn a_runner_carries_on_with_a_longer_scenario_but_not_another() {
    let sc = scenario::parse("seed 2\ncluster a with 3 servers\n\nrun 1s\nrun 1s\n").unwrap();
    let mut r = runner(&sc, Options { stop_at_events: Some(40), ..Options::default() }).unwrap();
    r.run_all();
    assert!(r.is_cut());
    let began = r.step_began_at();
    assert_eq!(began, 0, "stopped inside the first step");
    let mut longer = sc.clone();
    longer.steps.push(scenario::Action::Run(scenario::Millis(500)));
    assert!(r.clone().continue_as(&longer));
    let mut edited = sc.clone();
    edited.steps[0] = scenario::Action::Step(40);
    assert!(!r.clone().continue_as(&edited), "the step begun differs");
    let mut reseeded = longer.clone();
    reseeded.seed = 3;
    assert!(!r.clone().continue_as(&reseeded), "another header");
    assert!(r.continue_as(&longer));
    r.resume(None);
    r.run_all();
    assert_eq!(r.report().trace_hash, whole(&longer).trace_hash);
}

/// Stops `sc` at `at` events: the scenario so far, run from the start, is the same run;
/// and the stopped run, ended there, goes on with a new step as that one does.
fn ends_there(name: &str, sc: &Scenario, at: u64) -> bool {
    let mut r = runner(sc, Options { stop_at_events: Some(at), ..Options::default() }).unwrap();
    r.run_all();
    let cut = r.is_cut();
    let so_far = r.scenario_so_far();
    let mut fresh = runner(&so_far, Options::default()).unwrap();
    fresh.run_all();
    let events = zoolab_core::scenario::run::Driver::events(r.driver());
    assert_eq!(
        zoolab_core::scenario::run::Driver::events(fresh.driver()),
        events,
        "{name} at {at}: {so_far}"
    );
    assert_eq!(fresh.report().trace_hash, r.report().trace_hash, "{name} at {at}");
    r.end_here();
    assert_eq!(r.scenario(), &so_far, "{name} at {at}");
    assert_eq!(r.report(), fresh.report(), "{name} at {at}: ended here, it is the scenario so far");
    let more = scenario::Action::Run(scenario::Millis(1_500));
    r.append(more.clone()).unwrap();
    fresh.append(more).unwrap();
    assert_eq!(r.report(), fresh.report(), "{name} at {at}: and goes on the same");
    cut
}

#[test]
fn a_run_ended_at_any_position_is_its_scenario_so_far() {
    let mut cuts = 0;
    for (name, sc) in scenarios() {
        let events = whole(&sc).events;
        for at in [events / 5, events / 2 + 1, events.saturating_sub(3)] {
            cuts += usize::from(ends_there(&name, &sc, at));
        }
    }
    assert!(cuts > 20, "most positions cut a step ({cuts})");
}

#[test]
fn a_migration_run_cut_short_is_written_with_its_events() {
    let (_, sc) = scenarios().pop().unwrap();
    let mut r = runner(&sc, Options::default()).unwrap();
    // Stop inside `migration run until catch-up` (the 9th step).
    while r.steps_run() < 8 {
        assert!(r.run_next());
    }
    let began = zoolab_core::scenario::run::Driver::events(r.driver());
    let mut s = runner(&sc, Options { stop_at_events: Some(began + 5), ..Options::default() }).unwrap();
    s.run_all();
    assert!(s.is_cut());
    let text = s.scenario_so_far().to_string();
    assert!(text.ends_with("migration run until catch-up for 5 events\n"), "{text}");
    assert!(ends_there("migration", &sc, began + 5));
    let parsed = scenario::parse(&text).unwrap();
    assert_eq!(parsed, s.scenario_so_far(), "printed and read back");
}
