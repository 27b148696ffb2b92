//! Every built-in scenario's trace hash, pinned in `tests/golden/scenario_hashes.txt`.
//!
//! The same file is checked by the web crate's tests in headless Chromium
//! (`web/src/determinism.rs`): equal hashes there and here mean the wasm build runs every
//! built-in scenario exactly as the native one does. A deliberate change in behaviour
//! is accepted with `ZOOLAB_BLESS=1 cargo test -p zoolab-core --test scenario_hashes`.

use std::path::PathBuf;
use zoolab_core::scenario::{self, library::LIBRARY, run::Options};

fn golden() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/scenario_hashes.txt")
}

#[test]
fn every_built_in_scenario_keeps_its_trace_hash() {
    let mut got = String::new();
    for (name, text) in LIBRARY {
        let sc = scenario::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let report = scenario::sim::run(&sc, &Options::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        got.push_str(&format!("{name} {:016x}\n", report.trace_hash));
    }
    if std::env::var("ZOOLAB_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(golden(), &got).expect("write the golden hashes");
        return;
    }
    let want = std::fs::read_to_string(golden()).unwrap_or_default();
    assert_eq!(want, got, "a built-in scenario's run changed; ZOOLAB_BLESS=1 to accept a deliberate change");
}
