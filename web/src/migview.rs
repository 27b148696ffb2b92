//! What the migration panel, the membership buttons and the inspector's sessions and
//! tree comparison draw: plain data read from the core (`SimDriver::migration`,
//! `migration_progress`, `migration_evidence`, `session_tracker`,
//! `migration::verify::diff`), arranged here and tested natively. Kept apart from
//! `view.rs` so the two grow without conflicts.

use crate::state::Playground;
use zoolab_core::ids::ServerId;
use zoolab_core::migration::phase::{Phase, FORWARD};
use zoolab_core::migration::status::{self, Progress, RuleStatus};
use zoolab_core::migration::verify::{self, Fidelity};
use zoolab_core::scenario::migrate::{
    phase_word, MigrationAction, Via, CONFLICT_WORDS, SESSION_WORDS, VIA_WORDS,
};
use zoolab_core::scenario::{Action as Step, ServerName};

/// Where a phase stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhaseState {
    /// Left: its gate held (its evidence is the journal's).
    Done,
    /// The migration is in it (its evidence is measured now).
    Current,
    /// Not reached yet.
    Ahead,
    /// Not reached, and never will be (rolled back).
    Skipped,
}

impl PhaseState {
    /// The CSS class and the text mark (shape, not colour alone).
    pub fn mark(self) -> (&'static str, &'static str) {
        match self {
            PhaseState::Done => ("done", "✓"),
            PhaseState::Current => ("current", "▶"),
            PhaseState::Ahead => ("ahead", "○"),
            PhaseState::Skipped => ("skipped", "–"),
        }
    }
}

/// One phase in the panel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhaseRow {
    /// The language's word (`catch-up`).
    pub word: &'static str,
    /// Its display name (`catch-up`, `final sync`).
    pub label: String,
    /// What must hold to leave it, in plain words.
    pub gate: &'static str,
    /// Where it stands.
    pub state: PhaseState,
    /// The evidence that let it advance (done), or what is measured now (current).
    pub evidence: Option<String>,
    /// Whether the current evidence holds (the gate is open: `migration step` will pass).
    pub open: bool,
}

/// The migration panel's view of a started migration.
#[derive(Clone, Debug, PartialEq)]
pub struct MigrationView {
    /// The statement that started it (`migrate a -> b via snapshot sessions import`).
    pub statement: String,
    /// Source and target cluster names.
    pub source: String,
    /// The target's name.
    pub target: String,
    /// The current phase's display name.
    pub phase: String,
    /// The phase's language word (for `data-phase`).
    pub phase_word: &'static str,
    /// Every phase in order (the rollback's phases after, when one started).
    pub phases: Vec<PhaseRow>,
    /// The measured progress.
    pub progress: Progress,
    /// The migration's rules.
    pub rules: Vec<RuleStatus>,
    /// Whether it has ended (committed or rolled back).
    pub finished: bool,
    /// Whether it can still be aborted.
    pub reversible: bool,
    /// The phases still ahead, in order (the Run button's choices: the first is the
    /// next gate's).
    pub ahead: Vec<(&'static str, String)>,
}

/// The transports the panel offers: the language's word and a plain line, read from the
/// core's list (a transport added there appears here).
pub fn strategies() -> Vec<(&'static str, &'static str)> {
    VIA_WORDS.iter().map(|(v, w)| (*w, v.help())).collect()
}

/// The session policies the panel offers (the language's words).
pub fn session_policies() -> Vec<&'static str> {
    SESSION_WORDS.iter().map(|(_, w)| *w).collect()
}

/// The conflict policies the panel offers (the language's words).
pub fn conflict_policies() -> Vec<&'static str> {
    CONFLICT_WORDS.iter().map(|(_, w)| *w).collect()
}

/// What the panel's form holds: every part of `migrate a -> b via …` (empty: not given).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StartForm {
    /// The source cluster.
    pub source: String,
    /// The target cluster.
    pub target: String,
    /// The transport's word.
    pub via: String,
    /// The subtree (`/` or empty: everything).
    pub subtree: String,
    /// `into /y`: where the subtree goes on the target (empty: the same path).
    pub into: String,
    /// The session policy's word (empty: the transport's default).
    pub sessions: String,
    /// The conflict policy's word (empty: fail).
    pub conflict: String,
}

/// The statement the panel's Start button appends. `subtree` empty or `/` means all;
/// `sessions` empty means the transport's default.
pub fn start_statement(
    source: &str,
    target: &str,
    via: &str,
    subtree: &str,
    sessions: &str,
) -> Result<MigrationAction, String> {
    start(&StartForm {
        source: source.into(),
        target: target.into(),
        via: via.into(),
        subtree: subtree.into(),
        sessions: sessions.into(),
        ..StartForm::default()
    })
}

/// The statement of the panel's form (the language's checks then run on it).
pub fn start(f: &StartForm) -> Result<MigrationAction, String> {
    let (source, target, via, subtree, sessions) =
        (f.source.as_str(), f.target.as_str(), f.via.as_str(), f.subtree.as_str(), f.sessions.as_str());
    let via = Via::of_word(via).ok_or_else(|| format!("no transport {via:?}"))?;
    let subtree = subtree.trim();
    let into = f.into.trim();
    if !into.is_empty() && (subtree.is_empty() || subtree == "/") {
        return Err(
            "`into` moves a subtree to another path: give the subtree too (e.g. /app into /moved)".into()
        );
    }
    let conflict = match f.conflict.as_str() {
        "" => None,
        w => Some(
            CONFLICT_WORDS
                .iter()
                .find(|(_, x)| *x == w)
                .map(|(c, _)| *c)
                .ok_or_else(|| format!("no conflict policy {w:?}"))?,
        ),
    };
    let sessions = match sessions {
        "" => None,
        w => Some(
            SESSION_WORDS
                .iter()
                .find(|(_, x)| *x == w)
                .map(|(p, _)| *p)
                .ok_or_else(|| format!("no session policy {w:?}"))?,
        ),
    };
    Ok(MigrationAction::Start {
        source: source.to_string(),
        target: target.to_string(),
        via,
        subtree: (!subtree.is_empty() && subtree != "/").then(|| subtree.to_string()),
        sessions,
        into: (!into.is_empty()).then(|| into.to_string()),
        conflict,
    })
}

/// The statement of the panel's Run button: to a phase (`None`: to the end), within a
/// bound in seconds (empty: the language's default).
pub fn run_statement(until: &str, within_s: &str) -> Result<MigrationAction, String> {
    let until = match until {
        "" => None,
        w => Some(zoolab_core::scenario::migrate::phase_of(w).ok_or_else(|| format!("no phase {w:?}"))?),
    };
    let within = match within_s.trim() {
        "" => None,
        s => {
            let secs: u64 = s.parse().map_err(|_| format!("`{s}`: a whole number of seconds"))?;
            Some(zoolab_core::scenario::Millis(secs.saturating_mul(1_000)))
        }
    };
    Ok(MigrationAction::Run { until, within, events: None })
}

fn row(p: Phase, state: PhaseState, evidence: Option<String>, open: bool) -> PhaseRow {
    let gate = match p {
        Phase::Committed => "nothing: it is final (the source is retired, no way back)",
        Phase::RolledBack => "nothing: it is final (the source serves as before)",
        _ => p.gate(),
    };
    PhaseRow { word: phase_word(p), label: p.to_string(), gate, state, evidence, open }
}

/// The migration of the run shown, if one was started.
pub fn migration(p: &Playground) -> Option<MigrationView> {
    let d = p.shown().driver();
    let m = d.migration()?;
    let names = p.clusters();
    let name = |c: usize| names.get(c).cloned().unwrap_or_default();
    let phase = m.phase();
    let journal = m.migration().journal();
    let now = d.migration_evidence();
    let left = |q: Phase| journal.iter().rev().find(|j| j.from == q).map(|j| j.evidence.clone());
    let rolled = journal.iter().any(|j| j.to == Phase::RollingBack);
    let reached = |q: Phase| journal.iter().any(|j| j.to == q) || q == Phase::Draft;
    let mut phases: Vec<PhaseRow> = FORWARD
        .iter()
        .map(|&q| {
            if q == phase && q == Phase::Committed {
                row(q, PhaseState::Done, Some("final: the target serves, the source is retired".into()), true)
            } else if q == phase {
                let open = now.as_ref().is_some_and(|e| e.holds);
                row(q, PhaseState::Current, now.as_ref().map(|e| e.detail.clone()), open)
            } else if reached(q) {
                row(q, PhaseState::Done, left(q), true)
            } else if rolled {
                row(q, PhaseState::Skipped, None, false)
            } else {
                row(q, PhaseState::Ahead, None, false)
            }
        })
        .collect();
    if rolled {
        for q in [Phase::RollingBack, Phase::RolledBack] {
            phases.push(if q == phase && q == Phase::RolledBack {
                row(q, PhaseState::Done, Some("final: the source serves as before".into()), true)
            } else if q == phase {
                let open = now.as_ref().is_some_and(|e| e.holds);
                row(q, PhaseState::Current, now.as_ref().map(|e| e.detail.clone()), open)
            } else if reached(q) {
                row(q, PhaseState::Done, left(q).or_else(|| Some("rolled back".into())), true)
            } else {
                row(q, PhaseState::Ahead, None, false)
            });
        }
    }
    let statement = {
        let r = p.shown();
        let steps = &r.scenario().steps[..r.steps_run().min(r.scenario().steps.len())];
        steps
            .iter()
            .rev()
            .find_map(|s| match s {
                Step::Migration(a @ MigrationAction::Start { .. }) => Some(a.to_string()),
                _ => None,
            })
            .unwrap_or_default()
    };
    let plan = m.plan();
    Some(MigrationView {
        statement,
        source: name(plan.source),
        target: name(plan.target),
        phase: phase.to_string(),
        phase_word: phase_word(phase),
        progress: d.migration_progress().unwrap_or_default(),
        rules: status::rules(m.violation()),
        finished: matches!(phase, Phase::Committed | Phase::RolledBack),
        reversible: phase.reversible(),
        ahead: phases
            .iter()
            .skip_while(|r| r.state != PhaseState::Current)
            .skip(1)
            .filter(|r| r.state == PhaseState::Ahead)
            .map(|r| (r.word, r.label.clone()))
            .collect(),
        phases,
    })
}

/// A broken migration rule, for the banner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationViolation {
    /// The rule's name.
    pub rule: &'static str,
    /// What the controller saw.
    pub what: String,
    /// Source and target clusters.
    pub source: String,
    /// The target.
    pub target: String,
    /// The phase it broke in.
    pub phase: String,
    /// The event count and the simulated time the run stopped at.
    pub step: u64,
    /// Simulated ms.
    pub time_ms: u64,
    /// The scenario's step that was running (its number in the scenario, its text).
    pub scenario_step: Option<(usize, String)>,
    /// The servers the broken rule was checked on: each cluster's leader (whose tree
    /// and log the rules read).
    pub servers: Vec<String>,
}

/// The migration rule the run shown broke, if any (the run stops there).
pub fn violation(p: &Playground) -> Option<MigrationViolation> {
    let m = p.shown().driver().migration()?;
    let what = m.violation()?.to_string();
    let names = p.clusters();
    let name = |c: usize| names.get(c).cloned().unwrap_or_default();
    let rule = status::rules(Some(&what)).into_iter().find(|r| r.broken.is_some()).map_or("?", |r| r.name);
    Some(MigrationViolation {
        rule,
        what,
        source: name(m.plan().source),
        target: name(m.plan().target),
        phase: m.phase().to_string(),
        step: p.world().steps(),
        time_ms: p.world().now(),
        scenario_step: p.stopping_step(),
        servers: [(m.plan().source, "source"), (m.plan().target, "target")]
            .into_iter()
            .map(|(c, side)| match p.world().leader(c) {
                Some(l) => format!("{}{} ({side}'s leader)", name(c), l.0),
                None => format!("{} ({side}: no leader)", name(c)),
            })
            .collect(),
    })
}

/// Every server of the world shown, by scenario name (for pickers).
pub fn servers(p: &Playground) -> Vec<ServerName> {
    let w = p.world();
    p.clusters()
        .iter()
        .enumerate()
        .flat_map(|(c, n)| {
            w.servers_in(c).into_iter().map(move |s| ServerName { cluster: n.clone(), id: s.id.0 as u8 })
        })
        .collect()
}

/// Whether a server leads its cluster now.
pub fn leads(p: &Playground, s: &ServerName) -> bool {
    let Some(c) = p.clusters().iter().position(|n| *n == s.cluster) else { return false };
    p.world().leader(c) == Some(ServerId(u64::from(s.id)))
}

/// Whether a server is in its cluster's configuration, as the core reports it, and the
/// word its card shows: `voter`, `observer`, or `not in config` (a spare, or removed).
pub fn membership(s: &zoolab_core::sim::ServerView) -> (&'static str, &'static str) {
    match (s.member, s.observer) {
        (true, false) => ("voter", "In the configuration with a vote: it counts toward every quorum"),
        (true, true) => ("observer", "In the configuration without a vote: it learns committed writes"),
        (false, _) => (
            "not in config",
            "Outside the configuration (a spare, or removed): it follows the leader without a vote until a reconfig adds it",
        ),
    }
}

/// A session as the inspector lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    /// `0x…`.
    pub session: String,
    /// The scenario client holding it, if any.
    pub client: Option<String>,
    /// Its timeout (ms).
    pub timeout_ms: u64,
    /// The leader's expiry deadline (ms of simulated time) and how far away it is, if
    /// this server is the leader.
    pub deadline: Option<(u64, i64)>,
    /// Whether the leader is closing it.
    pub closing: bool,
    /// Ephemeral znodes it owns on this server.
    pub ephemerals: usize,
}

/// The sessions a server knows (its committed tree's session table), with the leader's
/// deadlines when it is the leader.
pub fn sessions(p: &Playground, sel: &ServerName) -> Vec<SessionRow> {
    let Some(c) = p.clusters().iter().position(|n| *n == sel.cluster) else { return Vec::new() };
    let d = p.shown().driver();
    let w = p.world();
    let id = ServerId(u64::from(sel.id));
    let Some(server) = w.server(c, id) else { return Vec::new() };
    let tree = server.state().tree();
    let tracker = d.session_tracker(c).filter(|(l, _)| *l == id).map(|(_, t)| t);
    tree.sessions()
        .iter()
        .take(32)
        .map(|(&s, &timeout)| {
            let tracked = tracker.as_ref().and_then(|t| t.iter().find(|x| x.session == s));
            SessionRow {
                session: format!("0x{:x}", s.0),
                client: d.client_of(s),
                timeout_ms: u64::try_from(timeout).unwrap_or(0),
                deadline: tracked.map(|t| (t.deadline_ms, t.deadline_ms as i64 - w.now() as i64)),
                closing: tracked.is_some_and(|t| t.closing),
                ephemerals: tree.ephemerals_of(s).count(),
            }
        })
        .collect()
}

/// Two servers' trees compared: the znodes that differ (at most `limit`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeDiff {
    /// `a1`.
    pub left: String,
    /// `b2`.
    pub right: String,
    /// (path, what differs).
    pub differences: Vec<(String, String)>,
    /// Why nothing could be compared (a server down).
    pub error: Option<String>,
}

/// How many differing znodes the comparison lists.
pub const DIFF_LINES: usize = 20;

/// Compares two servers' whole trees (data, Stat, node types, ACLs; `/zookeeper` left
/// out), with the core's verifier.
pub fn compare(p: &Playground, a: &ServerName, b: &ServerName) -> TreeDiff {
    let names = p.clusters();
    let w = p.world();
    let tree = |s: &ServerName| {
        let c = names.iter().position(|n| *n == s.cluster)?;
        w.server(c, ServerId(u64::from(s.id))).map(|x| x.state().tree())
    };
    let (left, right) = (format!("{}{}", a.cluster, a.id), format!("{}{}", b.cluster, b.id));
    match (tree(a), tree(b)) {
        (Some(x), Some(y)) => TreeDiff {
            differences: verify::diff(x, "/", y, "/", Fidelity::Exact, DIFF_LINES)
                .into_iter()
                .map(|d| (d.path, d.what))
                .collect(),
            left,
            right,
            error: None,
        },
        (l, _) => {
            let down = if l.is_none() { &left } else { &right };
            TreeDiff {
                error: Some(format!("{down} is down: its tree is not in memory")),
                left,
                right,
                differences: vec![],
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Action, Source};

    fn copy_run() -> Playground {
        let mut p = Playground::open(&Source::BuiltinTopology("migrate-copy-and-cut-over".into())).unwrap();
        p.apply(Action::Command("run until a has a leader".into()));
        p.apply(Action::Command("run until b has a leader".into()));
        p.apply(Action::Command("run until c1 is connected".into()));
        p.apply(Action::Command("c1: create /app v1".into()));
        p.apply(Action::Command("c1: create -e /app/member c1".into()));
        p.apply(Action::RunFor(500));
        p
    }

    #[test]
    fn compaction_stops_merging_once_a_migration_runs() {
        let sc = zoolab_core::scenario::parse(
            "cluster a with 1 server\ncluster b with 1 server\n\nrun 1ms\nrun 1ms\nmigrate a -> b via snapshot\nrun 1ms\nrun 1ms\n",
        )
        .unwrap();
        let text = crate::state::compact(&sc).to_string();
        assert!(text.ends_with("run 2ms\nmigrate a -> b via snapshot\nrun 1ms\nrun 1ms\n"), "{text}");
    }

    #[test]
    fn the_panel_offers_every_transport_of_the_language() {
        let words: Vec<&str> = strategies().iter().map(|(w, _)| *w).collect();
        assert_eq!(words, VIA_WORDS.iter().map(|(_, w)| *w).collect::<Vec<_>>());
        assert!(words.contains(&"snapshot") && words.contains(&"client-api"));
        assert!(strategies().iter().all(|(_, help)| !help.is_empty()));
        assert_eq!(
            start_statement("a", "b", "client-api", " /app ", "expire").unwrap().to_string(),
            "migrate a -> b via client-api subtree /app sessions expire"
        );
        assert_eq!(
            start_statement("a", "b", "snapshot", "/", "").unwrap().to_string(),
            "migrate a -> b via snapshot"
        );
        assert!(start_statement("a", "b", "carrier-pigeon", "", "").is_err());
        let full = StartForm {
            source: "a".into(),
            target: "b".into(),
            via: "snapshot".into(),
            subtree: "/app".into(),
            into: " /moved ".into(),
            sessions: "import".into(),
            conflict: "overwrite".into(),
        };
        assert_eq!(
            start(&full).unwrap().to_string(),
            "migrate a -> b via snapshot subtree /app into /moved sessions import on conflict overwrite"
        );
        assert_eq!(conflict_policies(), ["fail", "overwrite"]);
        assert!(start(&StartForm { conflict: "merge".into(), ..full.clone() }).is_err());
        assert!(start(&StartForm { subtree: "/".into(), ..full }).is_err(), "into needs a subtree");
        assert_eq!(run_statement("", "").unwrap().to_string(), "migration run");
        assert_eq!(
            run_statement("cut-over", "12").unwrap().to_string(),
            "migration run until cut-over within 12s"
        );
        assert!(run_statement("", "soon").is_err());
    }

    #[test]
    fn stepping_a_migration_from_the_panel_walks_every_phase_in_order_and_is_recorded() {
        let mut p = copy_run();
        assert!(migration(&p).is_none());
        p.apply(Action::Migrate(start_statement("a", "b", "snapshot", "", "import").unwrap()));
        let v = migration(&p).expect("started");
        assert_eq!((v.phase_word, v.source.as_str(), v.target.as_str()), ("draft", "a", "b"));
        assert_eq!(v.phases.len(), 10);
        assert_eq!(v.phases[0].state, PhaseState::Current);
        assert!(v.phases[1..].iter().all(|r| r.state == PhaseState::Ahead));
        let mut seen = vec!["draft"];
        for _ in 0..400 {
            let v = migration(&p).unwrap();
            if v.finished {
                break;
            }
            if v.phases.iter().any(|r| r.state == PhaseState::Current && r.open) {
                p.apply(Action::Migrate(MigrationAction::Step));
                let w = migration(&p).unwrap().phase_word;
                if seen.last() != Some(&w) {
                    seen.push(w);
                }
            } else {
                p.apply(Action::RunFor(50));
            }
        }
        assert_eq!(
            seen,
            FORWARD.iter().map(|&q| phase_word(q)).collect::<Vec<_>>(),
            "every phase in order: {}",
            p.scenario()
        );
        let v = migration(&p).unwrap();
        assert!(v.phases.iter().all(|r| r.state == PhaseState::Done), "{:?}", v.phases);
        assert!(v.phases.iter().filter(|r| r.state == PhaseState::Done).all(|r| r.evidence.is_some()));
        assert!(v.rules.iter().all(|r| r.broken.is_none()), "{:?}", v.rules);
        assert_eq!(v.progress.stamp_rule().as_deref(), Some("stamp = max(0, 0) + 1 = 1"));
        assert_eq!(v.progress.differences, Some(0));
        let text = p.scenario().to_string();
        assert!(text.contains("migrate a -> b via snapshot sessions import\n"), "{text}");
        assert!(text.contains("migration step\n"), "{text}");
        // The link reopens the same run; scrubbing back shows an earlier phase.
        p.apply(Action::Share);
        let q = Playground::open(&Source::Link(p.link.clone().unwrap())).unwrap();
        assert_eq!(q.trace_hash(), p.trace_hash());
        assert_eq!(migration(&q).unwrap().phase_word, "committed");
        let start = p.head_events() / 2;
        p.apply(Action::Scrub(start));
        assert_ne!(migration(&p).map(|v| v.phase_word), Some("committed"));
        let fork = Playground::open(&Source::Link(p.make_link().unwrap())).unwrap();
        assert_eq!(fork.trace_hash(), p.trace_hash(), "a link made in the past reopens that state");
        assert_eq!(migration(&fork).map(|v| v.phase_word), migration(&p).map(|v| v.phase_word));
    }

    #[test]
    fn a_subtree_moves_into_another_path_and_run_stops_at_the_next_gate() {
        let mut p = copy_run();
        let form = StartForm {
            source: "a".into(),
            target: "b".into(),
            via: "snapshot".into(),
            subtree: "/app".into(),
            into: "/moved".into(),
            conflict: "overwrite".into(),
            ..StartForm::default()
        };
        p.apply(Action::Migrate(start(&form).unwrap()));
        let v = migration(&p).unwrap();
        assert_eq!(v.ahead.first().map(|(w, _)| *w), Some("preflight"), "the next gate's phase first");
        assert_eq!(v.ahead.len(), 9);
        // Run to the next gate: one phase further, as a statement.
        p.apply(Action::Migrate(run_statement(v.ahead[0].0, "").unwrap()));
        assert_eq!(migration(&p).unwrap().phase_word, "preflight", "{:?}", p.checks);
        p.apply(Action::Migrate(run_statement("", "20").unwrap()));
        let v = migration(&p).unwrap();
        assert_eq!(v.phase_word, "committed", "{:?}", p.checks);
        assert!(v.ahead.is_empty());
        let b = p
            .world()
            .leader(1)
            .map(|l| p.world().server(1, l).unwrap().state().tree().node("/moved").is_some());
        assert_eq!(b, Some(true), "the subtree went into /moved on the target");
        let text = p.scenario().to_string();
        assert!(text.contains("migrate a -> b via snapshot subtree /app into /moved on conflict overwrite\nmigration run until preflight\nmigration run within 20s\n"), "{text}");
    }

    #[test]
    fn run_and_abort_are_statements_too_and_a_rollback_shows_its_phases() {
        let mut p = copy_run();
        p.apply(Action::Migrate(start_statement("a", "b", "snapshot", "/app", "").unwrap()));
        p.apply(Action::Migrate(MigrationAction::Run {
            until: Some(Phase::Freeze),
            within: None,
            events: None,
        }));
        assert_eq!(migration(&p).unwrap().phase_word, "freeze", "{:?}", p.checks);
        p.apply(Action::Migrate(MigrationAction::Abort));
        p.apply(Action::Migrate(MigrationAction::Run { until: None, within: None, events: None }));
        let v = migration(&p).unwrap();
        assert_eq!(v.phase_word, "rolled-back", "{:?}", p.checks);
        assert!(v.finished && !v.reversible);
        assert_eq!(v.phases.len(), 12);
        assert_eq!(v.phases.iter().filter(|r| r.state == PhaseState::Skipped).count(), 4, "{:?}", v.phases);
        let text = p.scenario().to_string();
        assert!(text.contains("migration run until freeze\nmigration abort\nmigration run\n"), "{text}");
    }

    #[test]
    fn a_broken_migration_turns_its_rule_red() {
        let text = library_with_bug("migrate-copy-and-cut-over", "migration-no-zxid-raise");
        let p = Playground::open(&Source::Text(text)).unwrap();
        let v = migration(&p).unwrap();
        let broken: Vec<&str> = v.rules.iter().filter(|r| r.broken.is_some()).map(|r| r.name).collect();
        assert_eq!(broken, ["clients never back in time"], "{:?}", v.rules);
        let b = violation(&p).expect("the banner's view");
        assert_eq!((b.rule, b.source.as_str(), b.target.as_str()), ("clients never back in time", "a", "b"));
        let (n, stmt) = b.scenario_step.clone().expect("the step that was running");
        assert_eq!(p.scenario().steps[n - 1].to_string(), stmt);
        assert!(stmt.starts_with("migration"), "{stmt}");
        assert_eq!(b.servers.len(), 2, "{:?}", b.servers);
        assert!(b.servers[0].starts_with('a') && b.servers[1].starts_with('b'), "{:?}", b.servers);
        let mut p = p;
        p.apply(Action::Play);
        assert!(!p.playing, "a broken migration rule stops the run");
    }

    fn library_with_bug(name: &str, bug: &str) -> String {
        let text = zoolab_core::scenario::library::builtin(name).unwrap();
        text.replacen("\ncluster ", &format!("\nbug {bug}\ncluster "), 1)
    }

    #[test]
    fn reconfig_buttons_add_a_spare_as_a_voter_and_remove_one() {
        let mut p =
            Playground::open(&Source::Text("seed 5\ncluster a with 3 servers and 1 spare\n".into())).unwrap();
        p.apply(Action::Command("run until a has a leader".into()));
        p.apply(Action::Command("run until you_a is connected".into()));
        let a4 = ServerName { cluster: "a".into(), id: 4 };
        assert_eq!(membership(&p.world().servers_in(0)[3]).0, "not in config");
        p.apply(Action::AddToConfig(a4.clone()));
        p.apply(Action::Command("run until a has voters a1 a2 a3 a4 within 5s".into()));
        assert!(p.checks.iter().all(|c| c.passed), "{:?}", p.checks);
        assert_eq!(membership(&p.world().servers_in(0)[3]).0, "voter");
        let rule = crate::view::clusters(&p)[0].config_rule.clone().expect("the reconfig's version rule");
        let version = p.world().server(0, ServerId(4)).unwrap().config().version;
        assert!(
            rule.ends_with(&format!("+ 1 = {} (voters a1 a2 a3 a4)", zoolab_core::ids::Zxid(version))),
            "{rule}"
        );
        p.apply(Action::RemoveFromConfig(ServerName { cluster: "a".into(), id: 1 }));
        p.apply(Action::Command("run until a has voters a2 a3 a4 within 5s".into()));
        assert!(p.checks.iter().all(|c| c.passed), "{:?}", p.checks);
        let rule = crate::view::clusters(&p)[0].config_rule.clone().unwrap();
        assert!(rule.ends_with("(voters a2 a3 a4)"), "the latest: {rule}");
        let text = p.scenario().to_string();
        assert!(
            text.contains("you_a: reconfig -add server.4=server4:2888:3888:participant;2181\n"),
            "{text}"
        );
        assert!(text.contains("you_a: reconfig -remove 1\n"), "{text}");
    }

    #[test]
    fn the_inspector_lists_sessions_with_the_leaders_deadlines_and_compares_trees() {
        let p = copy_run();
        let leader = p.world().leader(0).unwrap();
        let l = ServerName { cluster: "a".into(), id: leader.0 as u8 };
        let rows = sessions(&p, &l);
        let c1 = rows.iter().find(|r| r.client.as_deref() == Some("c1")).expect("c1's session");
        assert_eq!(c1.ephemerals, 1);
        let (deadline, left) = c1.deadline.expect("the leader tracks it");
        assert!(deadline > p.world().now() && left > 0 && left as u64 <= c1.timeout_ms, "{c1:?}");
        let follower = ServerName { cluster: "a".into(), id: if leader.0 == 1 { 2 } else { 1 } };
        assert!(sessions(&p, &follower).iter().all(|r| r.deadline.is_none()), "only the leader tracks");
        let same = compare(&p, &l, &follower);
        assert_eq!((same.differences.len(), same.error.is_none()), (0, true), "{same:?}");
        let other = compare(&p, &l, &ServerName { cluster: "b".into(), id: 1 });
        let paths: Vec<&str> = other.differences.iter().map(|(p, _)| p.as_str()).collect();
        assert!(paths.contains(&"/app") && paths.contains(&"/app/member"), "{other:?}");
    }
}
