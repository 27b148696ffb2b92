//! The runner's side of the migration statements.

use super::*;
use crate::migration::phase::Phase;
use crate::scenario::migrate::{phase_word, MigrationAction, MigrationPredicate};

impl<D: Driver> Runner<D> {
    pub(super) fn migration(&mut self, step: usize, m: &MigrationAction) {
        match m {
            MigrationAction::Run { until, within } => {
                let deadline = Millis(self.d.now().0.saturating_add(within.unwrap_or(DEFAULT_WITHIN).0));
                let mut n = 0;
                loop {
                    let phase = self.d.migration_phase();
                    let done = match (phase, until) {
                        (None, _) => {
                            self.check(step, false, "cannot run: no migration".into());
                            return;
                        }
                        (Some(p), Some(u)) => p == *u || matches!(p, Phase::Committed | Phase::RolledBack),
                        (Some(p), None) => matches!(p, Phase::Committed | Phase::RolledBack),
                    };
                    let word = phase.map_or("none", phase_word);
                    if done {
                        let reached = until.is_none_or(|u| phase == Some(u));
                        self.check(
                            step,
                            reached,
                            format!("migration is in {word} at t={}ms", self.d.now().0),
                        );
                        return;
                    }
                    if let Some(v) = self.d.violation() {
                        self.check(step, false, format!("stopped in {word}: {v}"));
                        return;
                    }
                    let r = self.d.migration(&MigrationAction::Step, &mut self.buf);
                    self.flush();
                    if r.is_ok() {
                        continue;
                    }
                    if n >= self.opts.max_events_per_step || !self.event(Some(deadline)) {
                        if !self.stopped {
                            let why = r.err().unwrap_or_default();
                            self.check(step, false, format!("not reached by t={}ms: {why}", self.d.now().0));
                        }
                        return;
                    }
                    n += 1;
                }
            }
            _ => {
                let r = self.d.migration(m, &mut self.buf);
                self.flush();
                match r {
                    Ok(what) => self.push(format!("  {what}")),
                    Err(why) => self.check(step, false, format!("cannot run: {why}")),
                }
            }
        }
    }

    pub(super) fn eval_migration(&self, m: &MigrationPredicate) -> (bool, String) {
        let phase = self.d.migration_phase();
        let word = phase.map_or("none", phase_word);
        match m {
            MigrationPredicate::In(p) => (phase == Some(*p), format!("migration is in {word}")),
            MigrationPredicate::Committed => {
                (phase == Some(Phase::Committed), format!("migration is in {word}"))
            }
            MigrationPredicate::InvariantsHold => match self.d.violation() {
                Some(v) if v.starts_with("migration:") => (false, v),
                _ => (phase.is_some(), format!("migration is in {word}; no migration rule broken")),
            },
        }
    }
}
