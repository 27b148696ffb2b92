//! `zoolab exercise` and `zoolab grade`: classroom exercises from the command line.

use anyhow::{bail, Context, Result};
use zoolab_core::exercise::{self, Exercise};
use zoolab_core::scenario;

/// Reads an exercise: a built-in's name or a `.toml` file.
pub fn load(input: &str) -> Result<(String, Exercise)> {
    let (name, text) = match exercise::builtin(input) {
        Some(text) => (input.to_string(), text.to_string()),
        None => {
            let path = std::path::Path::new(input);
            if !path.is_file() {
                let names: Vec<&str> = exercise::LIBRARY.iter().map(|(n, _)| *n).collect();
                bail!("{input}: no such file or built-in exercise (built-ins: {})", names.join(", "));
            }
            let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            (stem, std::fs::read_to_string(path).with_context(|| format!("reading {input}"))?)
        }
    };
    let ex = Exercise::parse(&text).with_context(|| format!("{input} is not a valid exercise"))?;
    Ok((name, ex))
}

/// `zoolab exercise list`.
pub fn list() {
    for (name, text) in exercise::LIBRARY {
        match Exercise::parse(text) {
            Ok(ex) => println!("{name:24} level {}  {}", ex.level, ex.title),
            Err(e) => println!("{name:24} INVALID: {e}"),
        }
    }
}

/// `zoolab exercise check`: validates the file and runs its reference solution and its
/// wrong attempt. Returns whether both behave.
pub fn check(input: &str) -> Result<bool> {
    let (name, ex) = load(input)?;
    println!(
        "{name}: \"{}\" (level {}, {} goals, {} hints)",
        ex.title,
        ex.level,
        ex.goals.len(),
        ex.hints.len()
    );
    match ex.check_reference() {
        Ok((solution, wrong)) => {
            println!("solution:\n{solution}");
            println!("wrong attempt (must fail):\n{wrong}");
            println!("ok: the solution solves it and the wrong attempt does not");
            Ok(true)
        }
        Err(e) => {
            println!("{e}");
            Ok(false)
        }
    }
}

/// One graded submission.
#[derive(Debug, serde::Serialize)]
struct Row {
    student: String,
    solved: bool,
    passed_goals: String,
    failed_goals: String,
    trace_hash: String,
    error: String,
}

/// `zoolab grade`: grades one submitted link per line (`label link`, or just `link`)
/// and writes a CSV to `out` (stdout when `-`). Returns how many were solved.
pub fn grade(links_file: &str, exercise: &str, out: &str) -> Result<usize> {
    let (_, ex) = load(exercise)?;
    let text = std::fs::read_to_string(links_file).with_context(|| format!("reading {links_file}"))?;
    let sink: Box<dyn std::io::Write> = if out == "-" {
        Box::new(std::io::stdout())
    } else {
        Box::new(std::fs::File::create(out).with_context(|| format!("creating {out}"))?)
    };
    let mut csv = csv::Writer::from_writer(sink);
    let mut solved = 0;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (label, link) = match line.rsplit_once(char::is_whitespace) {
            Some((label, link)) => (label.trim().to_string(), link),
            None => (format!("line {}", i + 1), line),
        };
        let row = match scenario::load(link) {
            Err(e) => Row::error(label, format!("bad link: {e}")),
            Ok((sc, _)) => match ex.grade(&sc) {
                Err(e) => Row::error(label, e.to_string()),
                Ok(g) => {
                    let names = |passed: bool| -> String {
                        g.goals
                            .iter()
                            .filter(|r| r.passed == passed)
                            .map(|r| r.expect.as_str())
                            .collect::<Vec<_>>()
                            .join("; ")
                    };
                    solved += usize::from(g.solved());
                    Row {
                        student: label,
                        solved: g.solved(),
                        passed_goals: names(true),
                        failed_goals: names(false),
                        trace_hash: format!("{:016x}", g.trace_hash),
                        error: g
                            .violation
                            .clone()
                            .map(|v| format!("invariant broken: {v}"))
                            .unwrap_or_default(),
                    }
                }
            },
        };
        csv.serialize(row)?;
    }
    csv.flush()?;
    Ok(solved)
}

impl Row {
    fn error(student: String, error: String) -> Row {
        Row {
            student,
            solved: false,
            passed_goals: String::new(),
            failed_goals: String::new(),
            trace_hash: String::new(),
            error,
        }
    }
}
