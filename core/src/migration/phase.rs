//! The migration's phases, their order, their gates and the journal.

use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// Where a migration is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Phase {
    /// Being written: source, target, subtree, transport, policies.
    Draft,
    /// Checking that it can work: both clusters healthy, target empty or conflicts
    /// resolved by policy, versions compatible, the migration record written on both.
    Preflight,
    /// Copying the tree as of a start zxid.
    Seed,
    /// Applying the source's later transactions until the lag is small.
    CatchUp,
    /// Comparing counts and hashes while the source still runs.
    Verify,
    /// The source refuses writes in scope (NOTREADONLY); the fence's zxid is recorded.
    Freeze,
    /// Applying everything up to the fence zxid; the target then equals the source.
    FinalSync,
    /// The target's zxid is raised above everything clients saw; clients move.
    CutOver,
    /// The target serves; a reverse mirror keeps the source current for rollback.
    Soak,
    /// Done: the source is retired. No way back from here.
    Committed,
    /// Undoing: fence the target, drain the mirror, unfence the source, move clients back.
    RollingBack,
    /// Undone: the source serves as before.
    RolledBack,
}

/// The forward order of the phases.
pub const FORWARD: [Phase; 10] = [
    Phase::Draft,
    Phase::Preflight,
    Phase::Seed,
    Phase::CatchUp,
    Phase::Verify,
    Phase::Freeze,
    Phase::FinalSync,
    Phase::CutOver,
    Phase::Soak,
    Phase::Committed,
];

impl Phase {
    /// The phase after this one on the forward path.
    pub fn next(self) -> Option<Phase> {
        let i = FORWARD.iter().position(|&p| p == self)?;
        FORWARD.get(i + 1).copied()
    }

    /// Whether the migration can still be rolled back from here.
    pub fn reversible(self) -> bool {
        !matches!(self, Phase::Committed | Phase::RolledBack | Phase::RollingBack)
    }

    /// Whether the source may accept writes in the migrated subtree in this phase.
    pub fn source_writable(self) -> bool {
        matches!(
            self,
            Phase::Draft
                | Phase::Preflight
                | Phase::Seed
                | Phase::CatchUp
                | Phase::Verify
                | Phase::RolledBack
        )
    }

    /// Whether the target may accept client writes in the migrated subtree.
    pub fn target_writable(self) -> bool {
        matches!(self, Phase::Soak | Phase::Committed)
    }

    /// What must hold to leave this phase forward, in plain words (shown in the UI).
    pub fn gate(self) -> &'static str {
        match self {
            Phase::Draft => "source, target, subtree and transport chosen",
            Phase::Preflight => {
                "both clusters have a leader; target empty (or a conflict policy); record written on both"
            }
            Phase::Seed => "the copy as of the start zxid is complete",
            Phase::CatchUp => "the target's applied zxid is within the lag bound of the source's",
            Phase::Verify => "counts and subtree hashes agree at a common zxid",
            Phase::Freeze => "the write fence is committed on the source and its zxid recorded",
            Phase::FinalSync => {
                "the target has applied every in-scope transaction up to the fence zxid; hashes equal"
            }
            Phase::CutOver => {
                "the target's zxid is above every zxid a client has seen; no client left on the source"
            }
            Phase::Soak => "the soak period passed with no error; the operator commits",
            Phase::Committed | Phase::RolledBack => "final",
            Phase::RollingBack => {
                "the target is fenced, the mirror drained, the source unfenced, clients moved back"
            }
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Draft => "draft",
            Phase::Preflight => "preflight",
            Phase::Seed => "seed",
            Phase::CatchUp => "catch-up",
            Phase::Verify => "verify",
            Phase::Freeze => "freeze",
            Phase::FinalSync => "final sync",
            Phase::CutOver => "cut over",
            Phase::Soak => "soak",
            Phase::Committed => "committed",
            Phase::RollingBack => "rolling back",
            Phase::RolledBack => "rolled back",
        })
    }
}

/// What the controller observed when it asked to leave a phase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// Whether the gate holds.
    pub holds: bool,
    /// What was measured, in one line (e.g. `target applied 0x500000007, source 0x500000007, lag 0`).
    pub detail: String,
}

/// One line of the journal: every transition, with the stamp that authorised it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// The migration stamp of the controller that wrote it.
    pub stamp: u64,
    /// The phase left.
    pub from: Phase,
    /// The phase entered.
    pub to: Phase,
    /// The evidence the gate accepted (or the reason for a rollback).
    pub evidence: String,
}

/// Why a transition was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum TransitionError {
    /// The gate's evidence does not hold.
    #[error("cannot leave {phase}: {gate}; observed: {detail}")]
    GateClosed {
        /// The phase.
        phase: Phase,
        /// Its gate.
        gate: &'static str,
        /// What was observed.
        detail: String,
    },
    /// Nothing comes after this phase.
    #[error("{0} is final")]
    Final(Phase),
    /// Rollback asked for after the point of no return.
    #[error("cannot roll back from {0}: the migration is past its point of no return")]
    Irreversible(Phase),
    /// A controller with an older stamp tried to act (it lost the fence).
    #[error("stale controller: stamp {stale} < current stamp {current}")]
    StaleController {
        /// The stale stamp.
        stale: u64,
        /// The record's stamp.
        current: u64,
    },
}

/// A migration's state: its phase and its journal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Migration {
    phase: Phase,
    stamp: u64,
    journal: Vec<JournalEntry>,
}

/// The most journal entries kept (a migration has a few dozen; the bound is a guard).
pub const MAX_JOURNAL: usize = 10_000;

impl Migration {
    /// A new migration in draft, owned by the controller holding `stamp`.
    pub fn new(stamp: u64) -> Migration {
        Migration { phase: Phase::Draft, stamp, journal: Vec::new() }
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The stamp of the controller that owns it.
    pub fn stamp(&self) -> u64 {
        self.stamp
    }

    /// Every transition so far.
    pub fn journal(&self) -> &[JournalEntry] {
        &self.journal
    }

    /// A controller takes the migration over with a newer stamp (the maximum it saw
    /// plus one); an older stamp is refused.
    pub fn claim(&mut self, stamp: u64) -> Result<(), TransitionError> {
        self.check_stamp(stamp)?;
        self.stamp = stamp;
        Ok(())
    }

    fn check_stamp(&self, stamp: u64) -> Result<(), TransitionError> {
        if stamp < self.stamp {
            return Err(TransitionError::StaleController { stale: stamp, current: self.stamp });
        }
        Ok(())
    }

    fn record(&mut self, stamp: u64, to: Phase, evidence: String) {
        if self.journal.len() < MAX_JOURNAL {
            self.journal.push(JournalEntry { stamp, from: self.phase, to, evidence });
        }
        self.stamp = stamp;
        self.phase = to;
    }

    /// Moves to the next phase if the gate's evidence holds.
    pub fn advance(&mut self, stamp: u64, evidence: Evidence) -> Result<Phase, TransitionError> {
        self.check_stamp(stamp)?;
        let next = match self.phase {
            Phase::RollingBack => Phase::RolledBack,
            p => p.next().ok_or(TransitionError::Final(p))?,
        };
        if !evidence.holds {
            return Err(TransitionError::GateClosed {
                phase: self.phase,
                gate: self.phase.gate(),
                detail: evidence.detail,
            });
        }
        self.record(stamp, next, evidence.detail);
        Ok(next)
    }

    /// Starts a rollback (from any phase before commit), saying why.
    pub fn roll_back(&mut self, stamp: u64, why: &str) -> Result<(), TransitionError> {
        self.check_stamp(stamp)?;
        if !self.phase.reversible() {
            return Err(TransitionError::Irreversible(self.phase));
        }
        // Before anything was copied there is nothing to undo.
        let to = if self.phase <= Phase::Preflight { Phase::RolledBack } else { Phase::RollingBack };
        self.record(stamp, to, why.to_string());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(detail: &str) -> Evidence {
        Evidence { holds: true, detail: detail.into() }
    }

    #[test]
    fn the_forward_path_visits_every_phase_once_and_ends_committed() {
        let mut m = Migration::new(1);
        for p in FORWARD.iter().skip(1) {
            assert_eq!(m.advance(1, ok("gate holds")), Ok(*p));
        }
        assert_eq!(m.phase(), Phase::Committed);
        assert_eq!(m.journal().len(), FORWARD.len() - 1);
        assert_eq!(m.advance(1, ok("")), Err(TransitionError::Final(Phase::Committed)));
    }

    #[test]
    fn a_closed_gate_keeps_the_phase_and_says_why() {
        let mut m = Migration::new(1);
        m.advance(1, ok("")).unwrap();
        let err = m.advance(1, Evidence { holds: false, detail: "target has no leader".into() }).unwrap_err();
        assert_eq!(m.phase(), Phase::Preflight);
        assert!(err.to_string().contains("target has no leader"), "{err}");
    }

    #[test]
    fn rollback_is_possible_from_every_phase_before_commit_and_never_after() {
        for (i, &p) in FORWARD.iter().enumerate() {
            let mut m = Migration::new(1);
            for _ in 0..i {
                m.advance(1, ok("")).unwrap();
            }
            assert_eq!(m.phase(), p);
            if p == Phase::Committed {
                assert_eq!(m.roll_back(1, "operator"), Err(TransitionError::Irreversible(p)));
            } else {
                m.roll_back(1, "operator").unwrap();
                if m.phase() == Phase::RollingBack {
                    m.advance(1, ok("mirror drained, source unfenced")).unwrap();
                }
                assert_eq!(m.phase(), Phase::RolledBack, "from {p}");
            }
        }
    }

    #[test]
    fn one_writer_at_every_phase() {
        for p in FORWARD.iter().chain([Phase::RollingBack, Phase::RolledBack].iter()) {
            assert!(!(p.source_writable() && p.target_writable()), "{p}: two writers");
        }
        assert!(!Phase::Freeze.source_writable() && !Phase::FinalSync.target_writable());
    }

    #[test]
    fn a_stale_controller_is_fenced() {
        let mut m = Migration::new(5);
        assert_eq!(m.advance(4, ok("")), Err(TransitionError::StaleController { stale: 4, current: 5 }));
        assert_eq!(m.phase(), Phase::Draft);
        // A newer controller takes over; the old one is out from then on.
        m.advance(6, ok("")).unwrap();
        assert!(m.roll_back(5, "late").is_err());
    }
}
