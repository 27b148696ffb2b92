//! Parsers of the migration statements (see [`crate::scenario::migrate`]).

use super::*;
use crate::migration::sim::{Conflict, SessionPolicy};
use crate::scenario::migrate::{phase_of, MigrationAction, MigrationPredicate, Via, PHASE_WORDS};

fn phase(c: &mut Cur) -> R<crate::migration::phase::Phase> {
    c.ws();
    let at = c.pos;
    let w = c.take(|b| b.is_ascii_alphabetic() || b == b'-');
    if w.is_empty() {
        return c.fail("a phase like catch-up");
    }
    match phase_of(w) {
        Some(p) => Ok(p),
        None => {
            let _ = PHASE_WORDS;
            c.fail_at(
                at,
                "a phase: draft, preflight, seed, catch-up, verify, freeze, final-sync, cut-over, soak, committed, rolling-back, rolled-back",
            )
        }
    }
}

/// A transport's word, from [`VIA_WORDS`].
fn via(c: &mut Cur) -> R<Via> {
    c.ws();
    let at = c.pos;
    let w = c.take(|b| b.is_ascii_alphanumeric() || b == b'-');
    if w.is_empty() {
        return c.fail("a transport like snapshot");
    }
    match Via::of_word(w) {
        Some(v) => Ok(v),
        None => c.fail_at(at, "a transport: snapshot, client-api or observer-join"),
    }
}

/// `migrate a -> b via …` (the word `migrate` not yet read).
pub(super) fn start(c: &mut Cur) -> R<MigrationAction> {
    c.kw("migrate")?;
    let source = c.cluster_name()?;
    c.sym("->")?;
    let target = c.cluster_name()?;
    c.kw("via")?;
    let via = via(c)?;
    let mut subtree = None;
    let mut sessions = None;
    let mut into = None;
    if c.eat_kw("subtree") {
        subtree = Some(c.path()?);
        if c.eat_kw("into") {
            into = Some(c.path()?);
        }
    }
    if c.eat_kw("sessions") {
        sessions = Some(if c.eat_kw("import") {
            SessionPolicy::Import
        } else {
            c.kw("expire")?;
            SessionPolicy::Expire
        });
    }
    let mut conflict = None;
    if c.eat_kw("on") {
        c.kw("conflict")?;
        conflict = Some(if c.eat_kw("fail") {
            Conflict::Fail
        } else {
            c.kw("overwrite")?;
            Conflict::Overwrite
        });
    }
    Ok(MigrationAction::Start { source, target, via, subtree, sessions, into, conflict })
}

/// `migration step|run|abort`.
pub(super) fn control(c: &mut Cur) -> R<MigrationAction> {
    c.kw("migration")?;
    if c.eat_kw("step") {
        return Ok(MigrationAction::Step);
    }
    if c.eat_kw("abort") {
        return Ok(MigrationAction::Abort);
    }
    c.kw("run").map_err(|f| f.ctx("step, run or abort"))?;
    let until = if c.eat_kw("until") { Some(phase(c)?) } else { None };
    let within = if c.eat_kw("within") { Some(c.millis()?) } else { None };
    let events = if c.eat_kw("for") {
        let n = c.number(u64::MAX, "a number of events")?;
        c.kw("events")?;
        Some(n)
    } else {
        None
    };
    Ok(MigrationAction::Run { until, within, events })
}

/// `migration is in PHASE | committed | invariants hold` (the word `migration` read).
pub(super) fn predicate(c: &mut Cur) -> R<MigrationPredicate> {
    if c.eat_kw("committed") {
        return Ok(MigrationPredicate::Committed);
    }
    if c.eat_kw("invariants") {
        c.kw("hold")?;
        return Ok(MigrationPredicate::InvariantsHold);
    }
    c.kw("is").map_err(|f| f.ctx("is in PHASE, committed, or invariants hold"))?;
    c.kw("in")?;
    Ok(MigrationPredicate::In(phase(c)?))
}
