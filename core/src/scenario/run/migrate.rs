//! The runner's side of the migration statements.

use super::*;
use crate::migration::phase::Phase;
use crate::scenario::migrate::{phase_word, MigrationAction, MigrationPredicate};

impl<D: Driver> Runner<D> {
    pub(super) fn migration(&mut self, step: usize, m: &MigrationAction) {
        match m {
            MigrationAction::Run { until, within, events } => {
                let deadline = Millis(self.d.now().0.saturating_add(within.unwrap_or(DEFAULT_WITHIN).0));
                self.migration_run(step, (*until, *events), deadline, 0, None);
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

    /// `migration run`: step whenever a gate holds, else wait for an event, until the
    /// phase (or the end) is reached, or (`for N events`) N events have run; `n` events
    /// run so far. `waiting` resumes a run cut short while it waited for an event, with
    /// the gate's refusal.
    pub(super) fn migration_run(
        &mut self,
        step: usize,
        (until, limit): (Option<Phase>, Option<u64>),
        deadline: Millis,
        mut n: u64,
        mut waiting: Option<String>,
    ) {
        loop {
            let refused = match waiting.take() {
                Some(why) => why,
                None => {
                    let phase = self.d.migration_phase();
                    let done = match (phase, until) {
                        (None, _) => {
                            self.check(step, false, "cannot run: no migration".into());
                            return;
                        }
                        (Some(p), Some(u)) => p == u || matches!(p, Phase::Committed | Phase::RolledBack),
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
                    match r {
                        Ok(_) => continue,
                        Err(why) => why,
                    }
                }
            };
            if limit.is_some_and(|m| n >= m) {
                return;
            }
            let resume = |n, why| Unfinished::Migration { until, limit, deadline, n, why };
            if !self.wait_event(step, deadline, &mut n, refused, resume) {
                return;
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
