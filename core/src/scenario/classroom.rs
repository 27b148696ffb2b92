//! The classroom header of a scenario: which exercise a run is an attempt at, and the
//! teacher's lock (docs/exercises.md, "Locked links").
//!
//! ```text
//! exercise "break-the-quorum"
//! lock allowing client, kill, restart
//! ```
//!
//! Both are header lines (before the first step), printed right after `seed`, so they
//! travel in every share link made from the run: a student's own share or submit link
//! keeps the exercise's name and the teacher's lock. Under a lock the topology, the seed
//! and the network are fixed, and only the controls listed after `allowing` may add
//! steps; running the clock (`run`, `step`, `run until`, play) and `expect` are always
//! allowed. A bare `lock` allows nothing but the clock.
//!
//! Kept apart from `parse.rs`/`print.rs` on purpose: [`parse_header_line`] is the one
//! hook the parser calls, [`Classroom`]'s `Display` the one the printer calls.

use super::Action;
use crate::vecmap::VecSet;
use serde::{Deserialize, Serialize};
use std::fmt::{self, Display, Formatter};

/// The longest exercise name a header may carry.
pub const MAX_EXERCISE_NAME: usize = 64;

/// A control a lock may leave to the student.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Control {
    /// `client`: the clients' zkCli commands (`c1: create /x 1`).
    Client,
    /// `kill`: crash a server.
    Kill,
    /// `restart`: restart a crashed server.
    Restart,
    /// `pause`: a long GC pause of a server.
    Pause,
    /// `partition`: partitions, one-way cuts, isolating, healing.
    Partition,
    /// `network`: network and link settings (`change network …`, `change link …`).
    Network,
    /// `connection`: a client's own network (`disconnect c1`, `reconnect c1`).
    Connection,
    /// `migration`: starting, stepping and aborting a migration.
    Migration,
}

impl Control {
    /// Every control, in the canonical order.
    pub const ALL: [Control; 8] = [
        Control::Client,
        Control::Kill,
        Control::Restart,
        Control::Pause,
        Control::Partition,
        Control::Network,
        Control::Connection,
        Control::Migration,
    ];

    /// Its word in the scenario language.
    pub fn word(self) -> &'static str {
        match self {
            Control::Client => "client",
            Control::Kill => "kill",
            Control::Restart => "restart",
            Control::Pause => "pause",
            Control::Partition => "partition",
            Control::Network => "network",
            Control::Connection => "connection",
            Control::Migration => "migration",
        }
    }

    /// The control a word names.
    pub fn from_word(w: &str) -> Option<Control> {
        Control::ALL.into_iter().find(|c| c.word() == w)
    }

    /// The control a step needs, or `None` for steps always allowed (the clock, `expect`).
    pub fn of(step: &Action) -> Option<Control> {
        match step {
            Action::Client { .. } => Some(Control::Client),
            Action::Kill(_) => Some(Control::Kill),
            Action::Restart(_) => Some(Control::Restart),
            Action::Pause(..) => Some(Control::Pause),
            Action::Partition(_) | Action::Cut { .. } | Action::Isolate(_) | Action::Heal(_) => {
                Some(Control::Partition)
            }
            Action::Network(_) | Action::Link(_) | Action::ServerLink { .. } => Some(Control::Network),
            Action::Disconnect(_) | Action::Reconnect(_) => Some(Control::Connection),
            Action::Migration(_) => Some(Control::Migration),
            Action::At { action, .. } => Control::of(action),
            // Delivering one message by hand is stepping the clock message by message.
            Action::Run(_)
            | Action::RunUntil { .. }
            | Action::Step(_)
            | Action::Deliver { .. }
            | Action::Expect(_) => None,
        }
    }
}

/// A teacher's lock: the controls left to the student (everything else is fixed).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    /// The controls the student may use.
    pub allow: VecSet<Control>,
}

impl Lock {
    /// A lock allowing exactly the controls `steps` use (a reference solution's).
    pub fn for_steps(steps: &[Action]) -> Lock {
        Lock { allow: steps.iter().filter_map(Control::of).collect() }
    }

    /// Whether the student may add this step.
    pub fn permits(&self, step: &Action) -> bool {
        Control::of(step).is_none_or(|c| self.allow.contains(&c))
    }

    /// Whether a control is left to the student.
    pub fn allows(&self, c: Control) -> bool {
        self.allow.contains(&c)
    }
}

/// The classroom header: the exercise a run attempts, and the teacher's lock.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classroom {
    /// `exercise "NAME"`: the exercise this run is an attempt at.
    pub exercise: Option<String>,
    /// `lock [allowing …]`: the teacher's lock.
    pub lock: Option<Lock>,
}

impl Classroom {
    /// Whether the header has no classroom line.
    pub fn is_empty(&self) -> bool {
        self.exercise.is_none() && self.lock.is_none()
    }

    /// Checks what the parser checks (a scenario built in code).
    pub fn validate(&self) -> Result<(), String> {
        if let Some(name) = &self.exercise {
            check_name(name)?;
        }
        Ok(())
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_EXERCISE_NAME
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "an exercise's name is 1 to {MAX_EXERCISE_NAME} letters, digits, `-` or `_`, not {}",
            crate::text::Quoted(name)
        ))
    }
}

/// One classroom header line, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// `exercise "NAME"`.
    Exercise(String),
    /// `lock [allowing …]`.
    Lock(Lock),
}

/// Reads `line` if it is a classroom header line: `None` when it is not one (its first
/// word is neither `exercise` nor `lock`, or it is a client's command such as
/// `lock: create /x`), else the line or what is wrong with it (a message and the byte
/// offset in `line`).
pub fn parse_header_line(line: &str) -> Option<Result<Line, (usize, String)>> {
    let trimmed = line.trim_start_matches([' ', '\t']);
    let indent = line.len() - trimmed.len();
    let word_end = trimmed.find([' ', '\t']).unwrap_or(trimmed.len());
    let (word, rest) = trimmed.split_at(word_end);
    if word != "exercise" && word != "lock" {
        return None;
    }
    let at = |rest: &str| line.len() - rest.len();
    let rest_t = rest.trim_start_matches([' ', '\t']);
    Some(if word == "exercise" {
        parse_exercise(rest_t).map_err(|m| (at(rest_t).max(indent), m))
    } else {
        parse_lock(rest_t).map_err(|(r, m)| (at(r), m))
    })
}

fn parse_exercise(rest: &str) -> Result<Line, String> {
    let rest = rest.trim_end_matches([' ', '\t']);
    let name = rest
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .ok_or_else(|| format!("expected the exercise's \"quoted name\", found `{rest}`"))?;
    check_name(name)?;
    Ok(Line::Exercise(name.to_string()))
}

fn parse_lock(rest: &str) -> Result<Line, (&str, String)> {
    let body = rest.trim_end_matches([' ', '\t']);
    if body.is_empty() {
        return Ok(Line::Lock(Lock::default()));
    }
    let Some(list) = body.strip_prefix("allowing") else {
        return Err((rest, format!("expected `allowing` or end of line, found `{body}`")));
    };
    let mut allow = VecSet::new();
    for w in list.split(',').map(|w| w.trim_matches([' ', '\t'])) {
        let c = Control::from_word(w).ok_or_else(|| {
            let words: Vec<&str> = Control::ALL.iter().map(|c| c.word()).collect();
            (rest, format!("expected a control ({}), found `{w}`", words.join(", ")))
        })?;
        if !allow.insert(c) {
            return Err((rest, format!("`{w}` is listed twice")));
        }
    }
    Ok(Line::Lock(Lock { allow }))
}

impl Display for Lock {
    /// `lock` or `lock allowing client, kill`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("lock")?;
        let words: Vec<&str> = self.allow.iter().map(|c| c.word()).collect();
        if !words.is_empty() {
            write!(f, " allowing {}", words.join(", "))?;
        }
        Ok(())
    }
}

impl Display for Classroom {
    /// Its header lines, each ending in a newline (nothing when empty).
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.exercise {
            writeln!(f, "exercise \"{name}\"")?;
        }
        if let Some(lock) = &self.lock {
            writeln!(f, "{lock}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{link, parse};

    const LOCKED: &str =
        "scenario \"q\"\nseed 3\nexercise \"break-the-quorum\"\nlock allowing client, kill\n\
        cluster a with 5 servers\nclient c1 connects to a1\n\nrun 1s\nkill a1\n";

    #[test]
    fn the_header_round_trips_through_text_and_links() {
        let sc = parse(LOCKED).unwrap();
        assert_eq!(sc.classroom.exercise.as_deref(), Some("break-the-quorum"));
        let lock = sc.classroom.lock.clone().unwrap();
        assert_eq!(lock.allow, [Control::Client, Control::Kill].into_iter().collect());
        assert_eq!(sc.to_string(), LOCKED, "canonical text");
        assert_eq!(parse(&sc.to_string()).unwrap(), sc);
        let l = link::encode(&sc, 42).unwrap();
        assert_eq!(link::decode(&l).unwrap(), (sc, 42));
    }

    #[test]
    fn a_bare_lock_and_any_order_of_controls_print_canonically() {
        let sc = parse("seed 1\nlock\ncluster a with 3 servers\n").unwrap();
        assert_eq!(sc.classroom.lock, Some(Lock::default()));
        assert_eq!(sc.to_string(), "seed 1\nlock\ncluster a with 3 servers\n");
        let sc = parse("lock allowing restart,client\ncluster a with 3 servers\n").unwrap();
        assert_eq!(sc.to_string(), "seed 0\nlock allowing client, restart\ncluster a with 3 servers\n");
        let none = parse("cluster a with 3 servers\n").unwrap();
        assert!(none.classroom.is_empty());
        assert!(!none.to_string().contains("lock"));
    }

    #[test]
    fn malformed_classroom_lines_say_what_was_expected() {
        let bad = |text: &str| parse(text).unwrap_err().to_string();
        assert!(bad("lock allowing kill, fly\ncluster a with 3 servers\n").contains("expected a control"));
        assert!(bad("lock everything\ncluster a with 3 servers\n").contains("`allowing`"));
        assert!(bad("lock allowing kill, kill\ncluster a with 3 servers\n").contains("twice"));
        assert!(bad("exercise first\ncluster a with 3 servers\n").contains("quoted name"));
        assert!(bad("exercise \"no spaces\"\ncluster a with 3 servers\n").contains("name"));
        let late = bad("cluster a with 3 servers\nrun 1s\nlock\n");
        assert!(late.contains("before the first step"), "{late}");
        assert!(bad("lock\nlock\ncluster a with 3 servers\n").contains("once"));
    }

    #[test]
    fn a_client_called_lock_or_exercise_still_speaks_zkcli() {
        let sc = parse(
            "cluster a with 3 servers\nclient lock connects to a\nclient exercise connects to a\n\
                        lock: create /x 1\nexercise: get /x\n",
        )
        .unwrap();
        assert!(sc.classroom.is_empty());
        assert_eq!(sc.steps.len(), 2);
    }

    #[test]
    fn a_lock_permits_the_clock_and_its_controls_only() {
        let sc = parse(LOCKED).unwrap();
        let lock = sc.classroom.lock.unwrap();
        let step = |line: &str| {
            let mut s =
                parse(&format!("cluster a with 5 servers\nclient c1 connects to a1\n{line}\n")).unwrap();
            s.steps.pop().unwrap()
        };
        for ok in
            ["run 1s", "step 3", "run until a has a leader", "expect a has a leader", "kill a2", "c1: ls /"]
        {
            assert!(lock.permits(&step(ok)), "{ok}");
        }
        for no in ["restart a2", "partition a1 | a2", "heal", "change network loss 5%", "at 3s: restart a1"] {
            assert!(!lock.permits(&step(no)), "{no}");
        }
        let sol =
            parse("cluster a with 5 servers\nclient c1 connects to a1\nkill a3\nc1: create /x 1\nrun 1s\n")
                .unwrap();
        assert_eq!(Lock::for_steps(&sol.steps).to_string(), "lock allowing client, kill");
    }
}
