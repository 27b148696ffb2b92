//! Parsers of the migration statements (see [`crate::scenario::migrate`]).

use super::*;
use crate::migration::sim::{Conflict, SessionPolicy};
use crate::scenario::migrate::{phase_of, MigrationAction, MigrationPredicate, Via, PHASE_WORDS};

fn phase(i: &mut &str) -> PResult<crate::migration::phase::Phase> {
    let cp = i.checkpoint();
    let w: &str = preceded(ws, take_while(1.., |c: char| c.is_ascii_alphabetic() || c == '-'))
        .context(desc("a phase like catch-up"))
        .parse_next(i)?;
    match phase_of(w) {
        Some(p) => Ok(p),
        None => {
            i.reset(&cp);
            let _ = PHASE_WORDS;
            cut_err(fail.context(desc(
                "a phase: draft, preflight, seed, catch-up, verify, freeze, final-sync, cut-over, soak, committed, rolling-back, rolled-back",
            )))
            .parse_next(i)
        }
    }
}

/// A transport's word, from [`VIA_WORDS`].
fn via(i: &mut &str) -> PResult<Via> {
    let cp = i.checkpoint();
    let w: &str = preceded(ws, take_while(1.., |c: char| c.is_ascii_alphanumeric() || c == '-'))
        .context(desc("a transport like snapshot"))
        .parse_next(i)?;
    match Via::of_word(w) {
        Some(v) => Ok(v),
        None => {
            i.reset(&cp);
            fail.context(desc("a transport: snapshot, client-api or observer-join")).parse_next(i)
        }
    }
}

/// `migrate a -> b via …` (the word `migrate` not yet read).
pub(super) fn start(i: &mut &str) -> PResult<MigrationAction> {
    kw("migrate").parse_next(i)?;
    let source = cut_err(cluster_name).parse_next(i)?;
    cut_err(sym("->")).parse_next(i)?;
    let target = cut_err(cluster_name).parse_next(i)?;
    cut_err(kw("via")).parse_next(i)?;
    let via = cut_err(via).parse_next(i)?;
    let mut subtree = None;
    let mut sessions = None;
    let mut into = None;
    if opt(kw("subtree")).parse_next(i)?.is_some() {
        subtree = Some(cut_err(path).parse_next(i)?);
        if opt(kw("into")).parse_next(i)?.is_some() {
            into = Some(cut_err(path).parse_next(i)?);
        }
    }
    if opt(kw("sessions")).parse_next(i)?.is_some() {
        sessions = Some(
            cut_err(alt((
                kw("import").value(SessionPolicy::Import),
                kw("expire").value(SessionPolicy::Expire),
            )))
            .parse_next(i)?,
        );
    }
    let mut conflict = None;
    if opt(kw("on")).parse_next(i)?.is_some() {
        cut_err(kw("conflict")).parse_next(i)?;
        conflict = Some(
            cut_err(alt((kw("fail").value(Conflict::Fail), kw("overwrite").value(Conflict::Overwrite))))
                .parse_next(i)?,
        );
    }
    Ok(MigrationAction::Start { source, target, via, subtree, sessions, into, conflict })
}

/// `migration step|run|abort`.
pub(super) fn control(i: &mut &str) -> PResult<MigrationAction> {
    kw("migration").parse_next(i)?;
    if opt(kw("step")).parse_next(i)?.is_some() {
        return Ok(MigrationAction::Step);
    }
    if opt(kw("abort")).parse_next(i)?.is_some() {
        return Ok(MigrationAction::Abort);
    }
    cut_err(kw("run").context(desc("step, run or abort"))).parse_next(i)?;
    let until =
        if opt(kw("until")).parse_next(i)?.is_some() { Some(cut_err(phase).parse_next(i)?) } else { None };
    let within =
        if opt(kw("within")).parse_next(i)?.is_some() { Some(cut_err(millis).parse_next(i)?) } else { None };
    let events = if opt(kw("for")).parse_next(i)?.is_some() {
        let n = cut_err(number::<u64>("a number of events")).parse_next(i)?;
        cut_err(kw("events")).parse_next(i)?;
        Some(n)
    } else {
        None
    };
    Ok(MigrationAction::Run { until, within, events })
}

/// `migration is in PHASE | committed | invariants hold` (the word `migration` read).
pub(super) fn predicate(i: &mut &str) -> PResult<MigrationPredicate> {
    if opt(kw("committed")).parse_next(i)?.is_some() {
        return Ok(MigrationPredicate::Committed);
    }
    if opt(kw("invariants")).parse_next(i)?.is_some() {
        cut_err(kw("hold")).parse_next(i)?;
        return Ok(MigrationPredicate::InvariantsHold);
    }
    cut_err(kw("is").context(desc("is in PHASE, committed, or invariants hold"))).parse_next(i)?;
    cut_err(kw("in")).parse_next(i)?;
    Ok(MigrationPredicate::In(cut_err(phase).parse_next(i)?))
}
