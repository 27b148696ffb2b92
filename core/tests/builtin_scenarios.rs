//! Every built-in scenario (`scenarios/*.zk`) parses, prints canonically, makes a link
//! that opens to itself, and passes all its expectations on the simulator; every saved
//! regression (`core/tests/regressions/*.zk`) still reads and round-trips.
//!
//! `SCENARIO_REPORT=name cargo test -p zoolab-core --test builtin_scenarios -- --nocapture`
//! prints the named scenario's whole report.

use std::fs;
use std::path::{Path, PathBuf};
use zoolab_core::scenario::{self, link, run::Options, sim};

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "zk"))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

#[test]
fn there_are_at_least_eight_built_in_scenarios() {
    assert!(files(&scenarios_dir()).len() >= 8, "scenarios/ holds the library");
}

#[test]
fn every_built_in_scenario_passes_on_the_simulator() {
    let wanted = std::env::var("SCENARIO_REPORT").ok();
    let mut failed = Vec::new();
    for path in files(&scenarios_dir()) {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let text = fs::read_to_string(&path).unwrap();
        let sc = scenario::parse(&text).unwrap_or_else(|e| panic!("{name}.zk: {e}"));
        assert_eq!(scenario::parse(&sc.to_string()).as_ref(), Ok(&sc), "{name}: canonical text reads back");
        assert!(sc.title.is_some(), "{name}: a built-in scenario has a title");
        let l = link::encode(&sc, 0).unwrap();
        assert_eq!(link::decode(&l).unwrap().0, sc, "{name}: link");
        let report = sim::run(&sc, &Options::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let again = sim::run(&sc, &Options::default()).unwrap();
        assert_eq!(report.trace_hash, again.trace_hash, "{name}: deterministic");
        if wanted.as_deref() == Some(name.as_str()) {
            print!("{report}");
        }
        if !report.passed() {
            let why: Vec<String> = report.failures().map(|c| format!("  {}: {}", c.text, c.detail)).collect();
            failed.push(format!(
                "{name} (seed {}):\n{}{}",
                sc.seed,
                why.join("\n"),
                report.violation.as_deref().map(|v| format!("\n  invariant: {v}")).unwrap_or_default()
            ));
        }
    }
    assert!(failed.is_empty(), "built-in scenarios failed:\n{}", failed.join("\n"));
}

#[test]
fn saved_regressions_still_read_and_round_trip() {
    for path in files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions")) {
        let text = fs::read_to_string(&path).unwrap();
        // A regression is an input that once broke a reader: it must now give an error
        // or a scenario that round-trips, never a panic.
        if let Ok(sc) = scenario::parse(&text) {
            assert_eq!(scenario::parse(&sc.to_string()), Ok(sc.clone()), "{}", path.display());
            if let Ok(l) = link::encode(&sc, 1) {
                assert_eq!(link::decode(&l), Ok((sc, 1)), "{}", path.display());
            }
        }
    }
}

#[test]
fn the_compiled_in_library_is_the_folder() {
    let on_disk: Vec<(String, String)> = files(&scenarios_dir())
        .iter()
        .map(|p| (p.file_stem().unwrap().to_string_lossy().to_string(), fs::read_to_string(p).unwrap()))
        .collect();
    let compiled: Vec<(String, String)> =
        scenario::library::LIBRARY.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect();
    assert_eq!(
        compiled, on_disk,
        "register every scenarios/*.zk in core/src/scenario/library.rs, in name order"
    );
    assert!(scenario::library::builtin("one-way-partition").is_some());
}
