//! The scenario language's migration statements (issue 7), kept apart from the rest
//! of the language so that other additions merge without conflicts:
//!
//! ```text
//! link a <-> b latency 40ms                      # header: the controller's copies take it
//! migrate a -> b via observer-join|snapshot|client-api [subtree /app [into /b]]
//!     [sessions import|expire] [on conflict fail|overwrite]
//! migration step                                 # leave the current phase if its gate holds
//! migration run [until PHASE] [within 30s] [for N events]  # step whenever a gate holds
//! migration abort                                # roll back (any phase before commit)
//! expect migration is in cut-over
//! expect migration committed
//! expect migration invariants hold
//! ```
//!
//! Phases are written `draft`, `preflight`, `seed`, `catch-up`, `verify`, `freeze`,
//! `final-sync`, `cut-over`, `soak`, `committed`, `rolling-back`, `rolled-back`.

use super::Millis;
use crate::migration::fidelity::Transport;
use crate::migration::phase::Phase;
use crate::migration::sim::{Conflict, SessionPolicy};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How the data travels, as the language names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Via {
    /// `snapshot`: snapshot plus log (exact).
    Snapshot,
    /// `client-api`: the client API (logical).
    ClientApi,
    /// `observer-join`: the target's servers join the source as observers (exact).
    ObserverJoin,
}

impl Via {
    /// The transport it names (the words are [`Transport::word`]'s).
    pub fn transport(self) -> Transport {
        match self {
            Via::Snapshot => Transport::SnapshotAndLog,
            Via::ClientApi => Transport::ClientApi { target_is_zoolab: true },
            Via::ObserverJoin => Transport::ObserverJoin,
        }
    }

    /// The language's name for a transport.
    pub fn of(t: Transport) -> Via {
        match t {
            Transport::SnapshotAndLog => Via::Snapshot,
            Transport::ClientApi { .. } => Via::ClientApi,
            Transport::ObserverJoin => Via::ObserverJoin,
        }
    }
}

/// Every transport with its word in the language, in the order the page offers them
/// (the words are [`Transport::word`]'s; a test keeps this list and [`Transport::ALL`]
/// the same set). The parser and the printer read the words through [`Via::word`] and
/// [`Via::of_word`], so a transport added to both is written, read and offered by the
/// playground's migration panel without further changes.
pub const VIA_WORDS: [(Via, &str); 3] =
    [(Via::Snapshot, "snapshot"), (Via::ClientApi, "client-api"), (Via::ObserverJoin, "observer-join")];

impl Via {
    /// Its word in the language (`snapshot`).
    pub fn word(self) -> &'static str {
        self.transport().word()
    }

    /// The transport a word names.
    pub fn of_word(word: &str) -> Option<Via> {
        Transport::from_word(word).map(Via::of)
    }

    /// What it does, in one plain line (the playground's tooltip).
    pub fn help(self) -> &'static str {
        match self {
            Via::Snapshot => {
                "snapshot: copy the source leader's snapshot, then replay its transaction log — an exact copy (Stat, node types, ACLs, sessions)"
            }
            Via::ClientApi => {
                "client-api: read the tree with ordinary client calls and a watch, write it on the target — works against any ZooKeeper, but some details are lost (see the fidelity report)"
            }
            Via::ObserverJoin => {
                "observer-join: the target's servers join the source as observers and receive its commits — an exact copy of the whole tree; they separate at cut-over in a new epoch"
            }
        }
    }
}

/// Every session policy with its word in the language.
pub const SESSION_WORDS: [(SessionPolicy, &str); 2] =
    [(SessionPolicy::Import, "import"), (SessionPolicy::Expire, "expire")];

/// Every conflict policy with its word in the language (`on conflict fail|overwrite`).
pub const CONFLICT_WORDS: [(Conflict, &str); 2] =
    [(Conflict::Fail, "fail"), (Conflict::Overwrite, "overwrite")];

/// A migration statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MigrationAction {
    /// `migrate a -> b via snapshot [subtree /x] [sessions import]`: a migration in draft.
    Start {
        /// The source cluster.
        source: String,
        /// The target cluster.
        target: String,
        /// The transport.
        via: Via,
        /// The subtree (`/` when not given).
        subtree: Option<String>,
        /// The session policy (snapshot: import, client API: expire, when not given).
        sessions: Option<SessionPolicy>,
        /// `into /y`: where the subtree goes on the target (the same path when not given).
        #[serde(default)]
        into: Option<String>,
        /// `on conflict fail|overwrite` (fail when not given).
        #[serde(default)]
        conflict: Option<Conflict>,
    },
    /// `migration step`.
    Step,
    /// `migration run [until PHASE] [within 30s] [for N events]`.
    Run {
        /// The phase to stop at (committed or rolled back when not given).
        until: Option<Phase>,
        /// The bound on simulated time ([`super::run::DEFAULT_WITHIN`] when not given).
        within: Option<Millis>,
        /// `for N events`: stop, without judging, once N events have run and no gate
        /// holds (what a run cut short at an event position did: the playground's
        /// time travel writes it when the user acts in the middle of a `migration run`).
        #[serde(default)]
        events: Option<u64>,
    },
    /// `migration abort`.
    Abort,
}

/// A condition on the migration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MigrationPredicate {
    /// `migration is in PHASE`.
    In(Phase),
    /// `migration committed`.
    Committed,
    /// `migration invariants hold`: no migration rule broken so far.
    InvariantsHold,
}

/// Every phase with its word in the language.
pub const PHASE_WORDS: [(Phase, &str); 12] = [
    (Phase::Draft, "draft"),
    (Phase::Preflight, "preflight"),
    (Phase::Seed, "seed"),
    (Phase::CatchUp, "catch-up"),
    (Phase::Verify, "verify"),
    (Phase::Freeze, "freeze"),
    (Phase::FinalSync, "final-sync"),
    (Phase::CutOver, "cut-over"),
    (Phase::Soak, "soak"),
    (Phase::Committed, "committed"),
    (Phase::RollingBack, "rolling-back"),
    (Phase::RolledBack, "rolled-back"),
];

/// A phase's word.
pub fn phase_word(p: Phase) -> &'static str {
    PHASE_WORDS.iter().find(|(q, _)| *q == p).map_or("?", |(_, w)| w)
}

/// The phase a word names.
pub fn phase_of(word: &str) -> Option<Phase> {
    PHASE_WORDS.iter().find(|(_, w)| *w == word).map(|(p, _)| *p)
}

impl fmt::Display for MigrationAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MigrationAction::Start { source, target, via, subtree, sessions, into, conflict } => {
                write!(f, "migrate {source} -> {target} via {}", via.word())?;
                if let Some(s) = subtree {
                    f.write_str(" subtree ")?;
                    super::print::write_path(f, s)?;
                }
                if let Some(s) = into {
                    f.write_str(" into ")?;
                    super::print::write_path(f, s)?;
                }
                if let Some(s) = sessions {
                    write!(f, " sessions {s}")?;
                }
                if let Some(c) = conflict {
                    write!(f, " on conflict {c}")?;
                }
                Ok(())
            }
            MigrationAction::Step => f.write_str("migration step"),
            MigrationAction::Run { until, within, events } => {
                f.write_str("migration run")?;
                if let Some(p) = until {
                    write!(f, " until {}", phase_word(*p))?;
                }
                if let Some(w) = within {
                    write!(f, " within {w}")?;
                }
                if let Some(n) = events {
                    write!(f, " for {n} events")?;
                }
                Ok(())
            }
            MigrationAction::Abort => f.write_str("migration abort"),
        }
    }
}

impl fmt::Display for MigrationPredicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MigrationPredicate::In(p) => write!(f, "migration is in {}", phase_word(*p)),
            MigrationPredicate::Committed => f.write_str("migration committed"),
            MigrationPredicate::InvariantsHold => f.write_str("migration invariants hold"),
        }
    }
}

/// Checks a statement against the scenario's topology.
pub(crate) fn check_action(sc: &super::Scenario, a: &MigrationAction) -> Result<(), String> {
    if let MigrationAction::Start { source, target, subtree, into, .. } = a {
        for c in [source, target] {
            sc.cluster(c).ok_or_else(|| format!("no cluster {c}"))?;
        }
        if source == target {
            return Err("a migration goes from one cluster to another".into());
        }
        for s in [subtree, into].into_iter().flatten() {
            crate::zkcli::validate_path(s, false).map_err(|e| e.to_string())?;
            if s.starts_with("/zookeeper") {
                return Err("/zookeeper belongs to each cluster: it is never migrated".into());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_offers_every_transport_once_by_its_word() {
        let mut offered: Vec<&str> = VIA_WORDS
            .iter()
            .map(|(v, w)| {
                assert_eq!(v.word(), *w);
                assert_eq!(Via::of_word(w), Some(*v));
                *w
            })
            .collect();
        let mut all: Vec<&str> = Transport::ALL.iter().map(|t| t.word()).collect();
        offered.sort_unstable();
        all.sort_unstable();
        assert_eq!(offered, all);
    }

    #[test]
    fn the_conflict_words_are_the_printers() {
        for (c, w) in CONFLICT_WORDS {
            assert_eq!(c.to_string(), w);
        }
    }
}
