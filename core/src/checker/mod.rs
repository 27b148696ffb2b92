//! The client-history checker: does what the clients saw match ZooKeeper's guarantees?
//!
//! The simulated clients record every operation (invocation, completion), every watch
//! event and every session event into a [`History`] (through a [`Recorder`]). [`check`]
//! judges it against four rules, each named by a [`Rule`]:
//!
//! 1. **Writes are linearizable**, per path (Porcupine's partitioning: each znode is its
//!    own object, modelled as exists? / data / version / zxids / ephemeral owner), and
//!    the reads of a path observe states of that write order
//!    ([`Rule::WritesLinearizable`], [`Rule::ReadsSeeWrites`]). A `getChildren` reply
//!    with zxid `z` lists exactly the children the creates and deletes up to `z` leave
//!    (checked where the history leaves no doubt about them).
//! 2. **Per session**: replies come back in the order the requests were sent
//!    ([`Rule::SessionFifo`]), the zxids the session sees never decrease
//!    ([`Rule::SessionZxids`]), and a read never shows a state older than one the
//!    session has already seen ([`Rule::NoTimeTravel`]).
//! 3. **A read after a completed `sync`** sees every write that completed before the
//!    sync was sent ([`Rule::SyncThenRead`]).
//! 4. **A watch fires at most once per registration** ([`Rule::WatchOnce`]) and the
//!    session sees the event before any reply reflecting the change
//!    ([`Rule::WatchBeforeChange`]).
//!
//! ZooKeeper's reads are served by the connected server and may be stale, so a read is
//! not linearized at its own interval: in the per-path search (`linear.rs`) a read
//! may take effect at any point before it completed, bounded below only by what its
//! session already saw (its earlier operations on the path and the zxids of its
//! replies) and by a preceding `sync`. A write whose reply was lost ([`Outcome::Unknown`])
//! may take effect at any point after it was sent, or never: the search decides from
//! the rest of the history.
//!
//! Recording and checking a history:
//!
//! ```
//! use zoolab_core::checker::{check, CreateMode, Op, OpResult, Outcome, Recorder, Stat};
//! use zoolab_core::{SessionId, Zxid};
//!
//! let mut recorder = Recorder::new();
//! let client = SessionId(0x100);
//! let create = Op::Create { path: "/a".into(), data: b"x".to_vec(), mode: CreateMode::default() };
//! let id = recorder.invoke(10, client, create); // sent at time 10
//! let stat = Stat { czxid: Zxid(1), mzxid: Zxid(1), version: 0, ephemeral_owner: SessionId(0) };
//! recorder.complete(
//!     14, // answered at time 14
//!     id,
//!     Outcome::Ok { result: OpResult::Created { path: "/a".into(), stat: Some(stat) }, zxid: Some(Zxid(1)) },
//! );
//! let report = check(&recorder.finish());
//! assert!(report.verdict.is_ok());
//! ```
//!
//! Every search has a budget ([`CheckConfig::max_states`]); when it runs out the verdict
//! is [`Verdict::Unknown`], never a hang. A violation comes with a short explanation
//! (the rule, the operations involved, one sentence) that a UI can show as it is.

mod children;
mod history;
mod linear;
pub mod reference;
mod session;
mod watches;

#[cfg(test)]
mod tests;

pub use history::{
    CreateMode, ErrorCode, Event, EventBody, EventId, EventKind, History, InitialNode, Op, OpId, OpResult,
    Operation, Outcome, Recorder, Stamp, Stat, Watch,
};

use serde::{Deserialize, Serialize};
use std::fmt;

/// The guarantee a violation breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Rule {
    /// Rule 1: the writes on a path have no order consistent with their real-time
    /// order and their results.
    WritesLinearizable,
    /// Rule 1: a read shows a state of its path that no order of the writes produces
    /// before the read completed.
    ReadsSeeWrites,
    /// Rule 2: a session received replies out of the order it sent the requests.
    SessionFifo,
    /// Rule 2: the zxids a session sees went backwards (or a reply shows a change
    /// newer than its own zxid).
    SessionZxids,
    /// Rule 2: a read shows a state older than one its session had already seen.
    NoTimeTravel,
    /// Rule 3: a read after a completed sync misses a write completed before the sync.
    SyncThenRead,
    /// Rule 4: a watch fired more than once for one registration (or with none).
    WatchOnce,
    /// Rule 4: a session saw a reply reflecting a watched change before the event.
    WatchBeforeChange,
}

impl Rule {
    /// Every rule, in the checker's order.
    pub const ALL: [Rule; 8] = [
        Rule::WritesLinearizable,
        Rule::ReadsSeeWrites,
        Rule::SessionFifo,
        Rule::SessionZxids,
        Rule::NoTimeTravel,
        Rule::SyncThenRead,
        Rule::WatchOnce,
        Rule::WatchBeforeChange,
    ];

    /// The rule's name in the scenario language (`sync-then-read`).
    pub fn slug(self) -> &'static str {
        match self {
            Rule::WritesLinearizable => "writes-linearizable",
            Rule::ReadsSeeWrites => "reads-see-writes",
            Rule::SessionFifo => "session-fifo",
            Rule::SessionZxids => "session-zxids",
            Rule::NoTimeTravel => "no-time-travel",
            Rule::SyncThenRead => "sync-then-read",
            Rule::WatchOnce => "watch-once",
            Rule::WatchBeforeChange => "watch-before-change",
        }
    }

    /// The rule a slug names.
    pub fn from_slug(slug: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.slug() == slug)
    }

    /// The rule's number in the checker's list (1 to 4).
    pub fn number(self) -> u8 {
        match self {
            Rule::WritesLinearizable | Rule::ReadsSeeWrites => 1,
            Rule::SessionFifo | Rule::SessionZxids | Rule::NoTimeTravel => 2,
            Rule::SyncThenRead => 3,
            Rule::WatchOnce | Rule::WatchBeforeChange => 4,
        }
    }

    /// The guarantee in a few words.
    pub fn title(self) -> &'static str {
        match self {
            Rule::WritesLinearizable => "writes are linearizable",
            Rule::ReadsSeeWrites => "reads see states the writes produced",
            Rule::SessionFifo => "replies arrive in the order requests were sent",
            Rule::SessionZxids => "a session's zxids never go backwards",
            Rule::NoTimeTravel => "a session never reads an older state than it saw",
            Rule::SyncThenRead => "a read after sync sees every write completed before it",
            Rule::WatchOnce => "a watch fires at most once per registration",
            Rule::WatchBeforeChange => "a watch event arrives before the change is seen",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule {} ({})", self.number(), self.title())
    }
}

/// A broken guarantee, explained: the rule, the few operations and events involved,
/// and one sentence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// The guarantee broken.
    pub rule: Rule,
    /// The operations involved, the offending one first.
    pub ops: Vec<OpId>,
    /// The events involved.
    pub events: Vec<EventId>,
    /// One sentence for the user.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.rule, self.message)
    }
}

impl Violation {
    /// The explanation with every operation and event involved spelled out.
    pub fn explain(&self, history: &History) -> String {
        let mut text = format!("{self}");
        for &id in &self.ops {
            text.push_str(&format!("\n  op {}: {}", id.0, history.op(id)));
        }
        for &id in &self.events {
            text.push_str(&format!("\n  event {}: {}", id.0, history.event(id)));
        }
        text
    }
}

/// The checker's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// Every rule holds.
    Ok,
    /// At least one rule is broken (the first violations found, at most
    /// [`CheckConfig::max_violations`]).
    Violated(Vec<Violation>),
    /// No violation found, but a search ran out of budget: the history may or may not
    /// be correct.
    Unknown {
        /// Why (`"unknown: budget exceeded on /path"`).
        reason: String,
    },
}

impl Verdict {
    /// True for [`Verdict::Ok`].
    pub fn is_ok(&self) -> bool {
        matches!(self, Verdict::Ok)
    }

    /// The violations, if any.
    pub fn violations(&self) -> &[Violation] {
        match self {
            Verdict::Violated(found) => found,
            Verdict::Ok | Verdict::Unknown { .. } => &[],
        }
    }
}

/// Bounds on the checker's work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckConfig {
    /// The most search states (steps of the linearizability search, over all paths)
    /// explored before the verdict becomes [`Verdict::Unknown`].
    pub max_states: u64,
    /// The most violations reported.
    pub max_violations: usize,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig { max_states: 20_000_000, max_violations: 8 }
    }
}

/// The verdict with a little accounting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The answer.
    pub verdict: Verdict,
    /// Search states explored (all paths).
    pub states: u64,
    /// Paths (partitions) searched.
    pub paths: usize,
}

/// Checks a history with the default budget.
pub fn check(history: &History) -> Report {
    check_with(history, &CheckConfig::default())
}

/// Checks a history against the four rules.
///
/// The cheap per-session and watch rules run first; then the per-path search. The
/// first violations found are reported; with none, a search that ran out of budget
/// makes the verdict [`Verdict::Unknown`].
pub fn check_with(history: &History, config: &CheckConfig) -> Report {
    let index = session::Index::new(history);
    let mut found = Vec::new();
    session::check_fifo_and_zxids(history, &index, &mut found);
    if found.is_empty() {
        // The read rules assume FIFO order; a FIFO violation explains itself.
        session::check_reads(history, &index, &mut found);
        children::check(history, &mut found);
    }
    watches::check(history, &index, &mut found);
    let mut outcome = linear::SearchTotals::default();
    if found.len() < config.max_violations {
        outcome = linear::check_paths(history, &index, config, &mut found);
    }
    found.truncate(config.max_violations);
    let verdict = if !found.is_empty() {
        Verdict::Violated(found)
    } else if let Some(path) = outcome.exceeded {
        Verdict::Unknown { reason: format!("unknown: budget exceeded on {path}") }
    } else {
        Verdict::Ok
    };
    Report { verdict, states: outcome.states, paths: outcome.paths }
}
