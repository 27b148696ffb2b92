//! Datadriven behaviour tests: every scenario in `scenarios/` (the built-in library)
//! and in `core/tests/scenarios/` (behaviours pinned for the protocol's sake) must pass
//! its expectations, and its trace must equal the golden in
//! `core/tests/golden/traces/<name>.trace`, line by line.
//!
//! The goldens leave out PING deliveries to stay readable; the trace hash, which covers
//! every line, is pinned in `core/tests/golden/scenario_hashes.txt`. Regenerate after a
//! deliberate change with `ZOOLAB_BLESS=1 cargo test -p zoolab-core --test scenario_goldens`
//! and read the diff: it is the change in behaviour.

use std::path::{Path, PathBuf};
use zoolab_core::scenario::{self, run::Options};

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "zk"))
        .collect();
    out.sort();
    out
}

/// The readable part of a trace: everything but PING traffic.
fn readable(trace: &[String]) -> String {
    let mut out = String::new();
    for line in trace.iter().filter(|l| !l.contains(" PING")) {
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[test]
fn every_scenario_passes_and_keeps_its_golden_trace() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let golden_dir = root.join("tests/golden/traces");
    let bless = std::env::var("ZOOLAB_BLESS").is_ok_and(|v| v == "1");
    let mut failures = Vec::new();
    let mut count = 0;
    for file in files(&root.join("../scenarios")).into_iter().chain(files(&root.join("tests/scenarios"))) {
        count += 1;
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&file).unwrap();
        let sc = scenario::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let report = scenario::sim::run(&sc, &Options::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        if !report.passed() {
            failures.push(format!("{name} (seed {}):\n{}", sc.seed, report.summary()));
            continue;
        }
        let got = readable(&report.trace);
        let path = golden_dir.join(format!("{name}.trace"));
        if bless {
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if want != got {
            let first = want
                .lines()
                .zip(got.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(want.lines().count().min(got.lines().count()));
            failures.push(format!(
                "{name}: the trace differs from {} from line {}:\n  want: {}\n  got:  {}",
                path.display(),
                first + 1,
                want.lines().nth(first).unwrap_or("<end>"),
                got.lines().nth(first).unwrap_or("<end>")
            ));
        }
    }
    assert!(count >= 15, "found the scenarios ({count})");
    assert!(
        failures.is_empty(),
        "{} scenario(s) failed (ZOOLAB_BLESS=1 accepts a deliberate trace change):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
