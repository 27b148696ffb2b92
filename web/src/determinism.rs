//! Same scenario + same seed ⇒ the same trace hash, natively and in wasm.
//!
//! These tests run in headless Chromium (`make test-wasm`) and compare the wasm build's
//! trace hashes with the golden values the native test suite pins
//! (`core/tests/golden/pinned_hash.txt` and `scenario_hashes.txt`, checked natively by
//! `core/tests/behaviour.rs` and `core/tests/scenario_hashes.rs`).
//! A difference means the core's behaviour depends on the platform.

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use wasm_bindgen_test::*;

    wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    fn the_pinned_run_has_the_native_trace_hash_in_the_browser() {
        // The same run as `a_pinned_run_keeps_its_trace_hash` in core/tests/behaviour.rs.
        let w = zoolab_core::sim::workload::pinned_run();
        let native = include_str!("../../core/tests/golden/pinned_hash.txt").trim();
        assert_eq!(format!("{:016x}", w.trace_hash()), native);
    }

    #[wasm_bindgen_test]
    fn every_built_in_scenario_has_its_native_trace_hash_in_the_browser() {
        use zoolab_core::scenario::{self, library::LIBRARY, run::Options};
        // Pinned natively by core/tests/scenario_hashes.rs.
        let golden = include_str!("../../core/tests/golden/scenario_hashes.txt");
        let mut got = String::new();
        for (name, text) in LIBRARY {
            let sc = scenario::parse(text).expect("built-ins parse");
            let report = scenario::sim::run(&sc, &Options::default()).expect("built-ins run");
            got.push_str(&format!("{name} {:016x}\n", report.trace_hash));
        }
        assert_eq!(got, golden);
    }
}
