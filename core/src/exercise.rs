//! Classroom exercises: a scenario to start from, instructions, goals checked
//! automatically, hints, and an explanation shown once solved.
//!
//! An exercise is a TOML file in `exercises/` (format: docs/exercises.md):
//!
//! ```toml
//! title = "Make the first write"
//! level = 1
//! instructions = "Markdown for the student."
//! setup = """
//! seed 1
//! cluster a with 3 servers
//! client c1 connects to a1
//! run until a has a leader
//! """
//! goals = [{ expect = "a has /hello = \"world\"", why = "every server holds the write" }]
//! hints = ["The console speaks zkCli: create /path data"]
//! solution = """
//! c1: create /hello world
//! run 1s
//! """
//! wrong = "run 1s"
//! explanation = "Markdown shown once solved."
//! ```
//!
//! A student's attempt is the setup plus the steps they took (the playground records
//! every action into the scenario), so an attempt is a scenario, and a submitted
//! attempt is a share link. Checking runs the attempt on the simulator and evaluates
//! every goal at its end.

use crate::scenario::{self, Scenario};
use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// One goal: a predicate of the scenario language, and why it matters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Goal {
    /// The predicate (`a has a leader`, `c1 failed with NODEEXISTS`, …).
    pub expect: String,
    /// What it shows, in plain words (shown beside the result).
    pub why: String,
}

/// An exercise, as its file says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exercise {
    /// Its title.
    pub title: String,
    /// 1 (first steps) to 5 (hard).
    pub level: u8,
    /// What to do (Markdown).
    pub instructions: String,
    /// The scenario the student starts from.
    pub setup: String,
    /// What a solved run satisfies at its end.
    pub goals: Vec<Goal>,
    /// Hints, revealed one at a time.
    #[serde(default)]
    pub hints: Vec<String>,
    /// Steps that solve it (appended to the setup).
    pub solution: String,
    /// Steps that look plausible but do not solve it.
    pub wrong: String,
    /// Shown once solved (Markdown).
    pub explanation: String,
    /// For an exercise about a deliberately broken system: the run is meant to break
    /// an invariant, and its message starts with this (`"migration: acknowledged
    /// writes lost"`). Without it, any broken invariant fails the attempt.
    #[serde(default)]
    pub breaks: Option<String>,
}

/// Why an exercise file or an attempt is not usable.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ExerciseError {
    /// The file is not valid TOML of the exercise's shape.
    #[error("{0}")]
    Format(String),
    /// Its setup, a goal, the solution or the wrong attempt does not parse.
    #[error("{part}: {message}")]
    Scenario {
        /// Which part.
        part: String,
        /// The parser's message.
        message: String,
    },
    /// The attempt does not start from this exercise's setup.
    #[error("this attempt is not for this exercise: {0}")]
    NotThisExercise(String),
    /// The simulator refused the scenario.
    #[error("cannot run: {0}")]
    Run(String),
}

/// The result of one goal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GoalResult {
    /// The predicate.
    pub expect: String,
    /// Whether it holds at the end of the attempt.
    pub passed: bool,
    /// What the simulator saw.
    pub detail: String,
}

/// The verdict on an attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Grade {
    /// Each goal's result, in the exercise's order.
    pub goals: Vec<GoalResult>,
    /// An invariant the run broke, if any (a run that breaks one fails).
    pub violation: Option<String>,
    /// The attempt's trace hash (two equal hashes are the same run).
    pub trace_hash: u64,
    /// The invariant the exercise means the run to break (see [`Exercise::breaks`]).
    pub breaks: Option<String>,
}

impl Grade {
    /// Whether every goal holds and no invariant broke (or, for an exercise about a
    /// broken system, exactly the one it is about broke).
    pub fn solved(&self) -> bool {
        let run_ok = match (&self.violation, &self.breaks) {
            (None, None) => true,
            (Some(v), Some(b)) => v.starts_with(b.as_str()),
            _ => false,
        };
        run_ok && self.goals.iter().all(|g| g.passed)
    }

    /// How many goals hold.
    pub fn passed(&self) -> usize {
        self.goals.iter().filter(|g| g.passed).count()
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for g in &self.goals {
            writeln!(f, "{} {}: {}", if g.passed { "✓" } else { "✗" }, g.expect, g.detail)?;
        }
        match (&self.violation, &self.breaks) {
            (Some(v), Some(b)) if v.starts_with(b.as_str()) => {
                writeln!(f, "✓ invariant broken, as meant: {v}")?
            }
            (Some(v), _) => writeln!(f, "✗ invariant broken: {v}")?,
            (None, Some(b)) => writeln!(f, "✗ the run breaks nothing yet (expected: {b}…)")?,
            (None, None) => {}
        }
        write!(f, "{} of {} goals; trace hash {:016x}", self.passed(), self.goals.len(), self.trace_hash)
    }
}

fn scenario_error(part: &str, e: impl fmt::Display) -> ExerciseError {
    ExerciseError::Scenario { part: part.to_string(), message: e.to_string() }
}

impl Exercise {
    /// Reads an exercise file and checks that every part parses.
    pub fn parse(text: &str) -> Result<Exercise, ExerciseError> {
        let ex: Exercise = toml::from_str(text).map_err(|e| ExerciseError::Format(e.to_string()))?;
        if !(1..=5).contains(&ex.level) {
            return Err(ExerciseError::Format(format!("level {} is not 1 to 5", ex.level)));
        }
        if ex.goals.is_empty() {
            return Err(ExerciseError::Format("an exercise needs at least one goal".into()));
        }
        let setup = ex.setup_scenario()?;
        for (i, g) in ex.goals.iter().enumerate() {
            scenario::parse_predicate(&setup, &g.expect)
                .map_err(|e| scenario_error(&format!("goal {}", i + 1), e))?;
        }
        ex.attempt(&ex.solution).map_err(|e| scenario_error("solution", e))?;
        ex.attempt(&ex.wrong).map_err(|e| scenario_error("wrong", e))?;
        Ok(ex)
    }

    /// The scenario the student starts from.
    pub fn setup_scenario(&self) -> Result<Scenario, ExerciseError> {
        scenario::parse(&self.setup).map_err(|e| scenario_error("setup", e))
    }

    /// The setup followed by `steps` (scenario lines), as one scenario.
    pub fn attempt(&self, steps: &str) -> Result<Scenario, ExerciseError> {
        let text = format!("{}\n{}\n", self.setup.trim_end(), steps);
        scenario::parse(&text).map_err(|e| scenario_error("attempt", e))
    }

    /// Fails unless `attempt` is this exercise's setup plus more steps (same topology,
    /// seed and network; the setup's steps first).
    pub fn check_belongs(&self, attempt: &Scenario) -> Result<(), ExerciseError> {
        let setup = self.setup_scenario()?;
        let same_world = attempt.seed == setup.seed
            && attempt.network == setup.network
            && attempt.clusters == setup.clusters
            && attempt.links == setup.links
            && attempt.clients == setup.clients;
        if !same_world {
            return Err(ExerciseError::NotThisExercise(
                "its clusters, clients, network or seed differ".into(),
            ));
        }
        if !attempt.steps.starts_with(&setup.steps) {
            return Err(ExerciseError::NotThisExercise("it does not start with the exercise's setup".into()));
        }
        check_lock(attempt, setup.steps.len())
    }

    /// Runs an attempt to its end and evaluates every goal.
    pub fn grade(&self, attempt: &Scenario) -> Result<Grade, ExerciseError> {
        self.check_belongs(attempt)?;
        let mut runner =
            scenario::sim::runner(attempt, scenario::run::Options::default()).map_err(ExerciseError::Run)?;
        runner.run_all();
        let report = runner.report();
        let mut goals = Vec::with_capacity(self.goals.len());
        for g in &self.goals {
            let p = scenario::parse_predicate(attempt, &g.expect).map_err(|e| scenario_error("goal", e))?;
            let (passed, detail) = runner.evaluate(&p);
            goals.push(GoalResult { expect: g.expect.clone(), passed, detail });
        }
        Ok(Grade {
            goals,
            violation: report.violation,
            trace_hash: report.trace_hash,
            breaks: self.breaks.clone(),
        })
    }

    /// The teacher's check: the solution solves it and the wrong attempt does not.
    pub fn check_reference(&self) -> Result<(Grade, Grade), String> {
        let run = |part: &str, steps: &str| {
            self.attempt(steps).and_then(|sc| self.grade(&sc)).map_err(|e| format!("{part}: {e}"))
        };
        let solution = run("solution", &self.solution)?;
        let wrong = run("wrong", &self.wrong)?;
        if !solution.solved() {
            return Err(format!("the solution does not solve it:\n{solution}"));
        }
        if wrong.solved() {
            return Err(format!("the wrong attempt solves it too:\n{wrong}"));
        }
        Ok((solution, wrong))
    }
}

/// Under a teacher's lock (`lock allowing …` in the attempt's header), every step the
/// student added after the setup's first `setup_steps` must use an allowed control.
fn check_lock(attempt: &Scenario, setup_steps: usize) -> Result<(), ExerciseError> {
    let Some(lock) = &attempt.classroom.lock else { return Ok(()) };
    for (i, step) in attempt.steps.iter().enumerate().skip(setup_steps) {
        if !lock.permits(step) {
            return Err(ExerciseError::NotThisExercise(format!(
                "step {} (`{step}`) uses a control the teacher's lock does not allow ({lock})",
                i + 1
            )));
        }
    }
    Ok(())
}

/// The built-in exercises (`exercises/*.toml`), compiled in, easiest first.
pub const LIBRARY: &[(&str, &str)] = &[
    ("first-write", include_str!("../../exercises/first-write.toml")),
    ("leader-and-epoch", include_str!("../../exercises/leader-and-epoch.toml")),
    ("kill-the-leader", include_str!("../../exercises/kill-the-leader.toml")),
    ("break-the-quorum", include_str!("../../exercises/break-the-quorum.toml")),
    ("minority-partition", include_str!("../../exercises/minority-partition.toml")),
    ("far-behind-gets-snap", include_str!("../../exercises/far-behind-gets-snap.toml")),
    ("stale-read-then-sync", include_str!("../../exercises/stale-read-then-sync.toml")),
    ("ephemeral-vanishes", include_str!("../../exercises/ephemeral-vanishes.toml")),
    ("provoke-a-trunc", include_str!("../../exercises/provoke-a-trunc.toml")),
    ("lock-without-herd", include_str!("../../exercises/lock-without-herd.toml")),
    ("find-the-protocol-bug", include_str!("../../exercises/find-the-protocol-bug.toml")),
    ("reconfig-3-to-5", include_str!("../../exercises/reconfig-3-to-5.toml")),
    ("migrate-under-load", include_str!("../../exercises/migrate-under-load.toml")),
    ("faulty-migration", include_str!("../../exercises/faulty-migration.toml")),
];

/// A built-in exercise's text, by name.
pub fn builtin(name: &str) -> Option<&'static str> {
    LIBRARY.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_exercise_parses_and_its_references_behave() {
        for (name, text) in LIBRARY {
            let ex = Exercise::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            if let Err(e) = ex.check_reference() {
                panic!("{name}: {e}");
            }
        }
    }

    #[test]
    fn an_attempt_from_another_world_is_refused() {
        let ex = Exercise::parse(LIBRARY[0].1).unwrap();
        let other = scenario::parse("seed 99\ncluster a with 3 servers\nclient c1 connects to a1\n").unwrap();
        assert!(matches!(ex.grade(&other), Err(ExerciseError::NotThisExercise(_))));
    }

    #[test]
    fn a_locked_attempt_may_use_only_the_allowed_controls() {
        let ex = Exercise::parse(builtin("break-the-quorum").unwrap()).unwrap();
        let mut good = ex.attempt(&ex.solution).unwrap();
        good.classroom.lock = Some(scenario::classroom::Lock::for_steps(&good.steps[1..]));
        assert!(ex.grade(&good).unwrap().solved());
        let mut bad = ex.attempt(&format!("{}\npartition a1 | a2\n", ex.solution)).unwrap();
        bad.classroom.lock = good.classroom.lock.clone();
        match ex.grade(&bad) {
            Err(ExerciseError::NotThisExercise(m)) => assert!(m.contains("partition a1 | a2"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_malformed_file_names_the_part_that_is_wrong() {
        let good = LIBRARY[0].1;
        assert!(matches!(Exercise::parse("title = 3"), Err(ExerciseError::Format(_))));
        let bad_goal = good.replace("expect = \"", "expect = \"a9 is leading and ");
        match Exercise::parse(&bad_goal) {
            Err(ExerciseError::Scenario { part, .. }) => assert_eq!(part, "goal 1"),
            other => panic!("{other:?}"),
        }
        let unknown = format!("{good}\nsurprise = 1\n");
        assert!(matches!(Exercise::parse(&unknown), Err(ExerciseError::Format(_))));
    }
}
