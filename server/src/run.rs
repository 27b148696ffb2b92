//! `zoolab run`: runs a scenario headless and reports each expectation.

use anyhow::{bail, Context, Result};
use std::io::Write as _;
use zoolab_core::scenario::run::Options;
use zoolab_core::scenario::{self, library, Millis};

/// Parses a duration as scenarios write it: `500ms`, `3s`, `2m` (a bare number is ms).
pub fn parse_duration(text: &str) -> Result<Millis> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().with_context(|| format!("{text:?} is not a duration like 500ms or 3s"))?;
    let factor = match unit {
        "" | "ms" => 1,
        "s" => 1_000,
        "m" | "min" => 60_000,
        _ => bail!("{text:?}: unknown unit {unit:?} (use ms, s or m)"),
    };
    n.checked_mul(factor).map(Millis).with_context(|| format!("{text:?} is too long"))
}

/// Reads the scenario: a built-in's name, a file, or a link (a URL or its fragment).
fn read_input(input: &str) -> Result<String> {
    if let Some(text) = library::builtin(input) {
        return Ok(text.to_string());
    }
    let path = std::path::Path::new(input);
    if path.is_file() {
        return std::fs::read_to_string(path).with_context(|| format!("reading {input}"));
    }
    if input.contains('#') || input.starts_with('z') {
        return Ok(input.to_string());
    }
    let names: Vec<&str> = library::LIBRARY.iter().map(|(n, _)| *n).collect();
    bail!("{input}: no such file, link or built-in scenario (built-ins: {})", names.join(", "))
}

/// Runs the scenario; returns whether every expectation held.
pub fn run(input: &str, until: Option<&str>, trace: bool, json: bool) -> Result<bool> {
    let text = read_input(input)?;
    let (sc, position) = scenario::load(&text).map_err(|e| anyhow::anyhow!("{input}: {e}"))?;
    let opts = Options {
        stop_at_time: until.map(parse_duration).transpose()?,
        stop_at_events: position,
        ..Options::default()
    };
    let report = scenario::sim::run(&sc, &opts).map_err(|e| anyhow::anyhow!("{input}: {e}"))?;
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        if trace {
            for line in &report.trace {
                writeln!(out, "{line}")?;
            }
            if report.trace_dropped > 0 {
                writeln!(out, "… {} more trace lines", report.trace_dropped)?;
            }
        }
        write!(out, "{}", report.summary())?;
    }
    Ok(report.passed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_scenarios_write_them() {
        assert_eq!(parse_duration("500ms").unwrap(), Millis(500));
        assert_eq!(parse_duration("3s").unwrap(), Millis(3_000));
        assert_eq!(parse_duration("2m").unwrap(), Millis(120_000));
        assert_eq!(parse_duration("42").unwrap(), Millis(42));
        assert!(parse_duration("3h").is_err());
        assert!(parse_duration("ms").is_err());
        assert!(parse_duration("99999999999999999999s").is_err());
    }

    #[test]
    fn an_unknown_input_names_the_built_ins() {
        let err = read_input("no-such-thing").unwrap_err().to_string();
        assert!(err.contains("leader-crash-during-broadcast"), "{err}");
    }
}
