//! `zoolab check-history FILE`: judges a client history recorded outside the simulator
//! (e.g. by `tests/realclients/test_ensemble.py` against real processes) with the core's
//! checker. The file is [`zoolab_core::checker::History`] as JSON (serde's shape).

use anyhow::{Context, Result};
use zoolab_core::checker::{check, History, Verdict};

/// Checks the history in `path`; `Ok(true)` when no guarantee is broken.
pub fn run(path: &str) -> Result<bool> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let history: History = serde_json::from_str(&text).with_context(|| format!("{path}: not a history"))?;
    let report = check(&history);
    let ops = history.operations.len();
    let unknown = history.operations.iter().filter(|o| o.is_unknown()).count();
    match &report.verdict {
        Verdict::Ok => {
            println!(
                "history: {ops} operations ({unknown} with no reply), {} paths, {} states searched: OK",
                report.paths, report.states
            );
            Ok(true)
        }
        Verdict::Unknown { reason } => {
            println!("history: {ops} operations: no verdict ({reason})");
            Ok(true)
        }
        Verdict::Violated(found) => {
            println!("history: {ops} operations: {} violation(s)", found.len());
            for v in found {
                println!("- {}", v.explain(&history));
            }
            Ok(false)
        }
    }
}
