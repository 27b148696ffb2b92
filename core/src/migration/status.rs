//! Read-only views of a running migration, for the playground's migration panel and
//! for reports: the migration's rules with their status, and the progress measured on
//! the live clusters (see [`super::sim::Controller::progress`]). Nothing here changes a
//! migration.

use crate::ids::Zxid;
use serde::{Deserialize, Serialize};

/// One of the migration's rules, checked by the controller after every simulated step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Rule {
    /// Every write the source acknowledged is on the target at cut-over.
    NoLostWrite,
    /// At most one cluster accepts client writes in the subtree, and one controller acts.
    OneWriter,
    /// Sequential znode counters on the target never fall behind the source's.
    SequenceNumbers,
    /// No client sees a zxid older than one it has already seen.
    NoTimeTravel,
    /// Ephemerals stay ephemeral and belong to a live session.
    Ephemerals,
}

/// Every rule with its name and what it guards, in plain words (the panel's tooltip).
pub const RULES: [(Rule, &str, &str); 5] = [
    (
        Rule::NoLostWrite,
        "no acknowledged write lost",
        "Every write the source told a client succeeded is on the target when clients move (checked at cut-over).",
    ),
    (
        Rule::OneWriter,
        "one writer",
        "Never both clusters accepting writes in the subtree at once, and only the controller with the highest stamp acts.",
    ),
    (
        Rule::SequenceNumbers,
        "sequence numbers never reused",
        "A sequential znode created on the target never gets a number the source already handed out.",
    ),
    (
        Rule::NoTimeTravel,
        "clients never back in time",
        "A client that moves never reads an older state than it saw on the source (the target's zxid is raised above it).",
    ),
    (
        Rule::Ephemerals,
        "ephemerals stay ephemeral",
        "An ephemeral znode is never copied as a plain one, and never outlives its session on the target.",
    ),
];

/// The rule a controller's violation message breaks (the message's leading words, as
/// [`super::sim::Controller`] writes them).
pub fn rule_of(violation: &str) -> Rule {
    let v = violation.trim_start_matches("migration: ");
    if v.starts_with("one writer") || v.starts_with("fenced controller") {
        Rule::OneWriter
    } else if v.starts_with("sequence counter") {
        Rule::SequenceNumbers
    } else if v.starts_with("clients went back in time") {
        Rule::NoTimeTravel
    } else if v.starts_with("fake ephemeral") || v.starts_with("orphan ephemeral") {
        Rule::Ephemerals
    } else {
        // "acknowledged writes lost", and anything not named above: a copy that differs.
        Rule::NoLostWrite
    }
}

/// A rule's status at a moment of the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleStatus {
    /// The rule.
    pub rule: Rule,
    /// Its name.
    pub name: &'static str,
    /// What it guards.
    pub guards: &'static str,
    /// The violation, if this rule broke.
    pub broken: Option<String>,
}

/// Every rule's status, given the controller's violation (the first rule broken; the
/// controller stops checking after it).
pub fn rules(violation: Option<&str>) -> Vec<RuleStatus> {
    let broken = violation.map(|v| (rule_of(v), v.to_string()));
    RULES
        .iter()
        .map(|&(rule, name, guards)| RuleStatus {
            rule,
            name,
            guards,
            broken: broken.as_ref().filter(|(r, _)| *r == rule).map(|(_, v)| v.clone()),
        })
        .collect()
}

/// What a migration has done so far, measured on the live clusters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The newest zxid a source server knows committed.
    pub source_committed: Zxid,
    /// The newest zxid a target server has applied.
    pub target_applied: Zxid,
    /// The source zxid whose state the target has acknowledged (while copying).
    pub shipped: Option<Zxid>,
    /// Source transactions committed but not on the target yet (while copying).
    pub lag_txns: Option<u64>,
    /// Paths waiting to be copied (while copying).
    pub queued: usize,
    /// Batches the target has acknowledged.
    pub batches: u64,
    /// Znodes in the subtree on the source's leader (the controller's replica for exact
    /// transports), if it has one.
    pub source_znodes: Option<usize>,
    /// Znodes in the subtree on the target's leader, if it has one.
    pub target_znodes: Option<usize>,
    /// The subtree hashes of source and target (hex; as the transport's fidelity
    /// compares them), when both have a leader.
    pub hashes: Option<(String, String)>,
    /// How many znodes differ between them (at most 64 counted), when both have a leader.
    pub differences: Option<usize>,
    /// ZooKeeper's own digest of both whole trees, for exact copies of `/` with sessions.
    pub digests: Option<(u64, u64)>,
    /// The zxid of the source's write fence, once frozen.
    pub fence: Option<Zxid>,
    /// Clients whose connect string points at the source.
    pub clients_on_source: usize,
    /// Clients whose connect string points at the target.
    pub clients_on_target: usize,
    /// The newest zxid any client has seen.
    pub clients_max_zxid: Zxid,
    /// The migration stamp (0 before preflight).
    pub stamp: u64,
    /// The record stamps the controller saw at preflight: its stamp is their maximum
    /// plus one (the seed article's rule).
    pub stamps_seen: Option<Vec<u64>>,
}

impl Progress {
    /// The "maximum plus one" of the stamp, once taken: `stamp = max(0, 0) + 1 = 1`.
    pub fn stamp_rule(&self) -> Option<String> {
        let seen = self.stamps_seen.as_ref()?;
        let parts: Vec<String> = seen.iter().map(u64::to_string).collect();
        let max = seen.iter().copied().max().unwrap_or(0);
        let rule = if parts.is_empty() {
            format!("stamp = max() + 1 = {}", max + 1)
        } else {
            format!("stamp = max({}) + 1 = {}", parts.join(", "), max + 1)
        };
        Some(if self.stamp > max + 1 {
            format!("{rule} (kept {}: already higher)", self.stamp)
        } else {
            rule
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_violation_the_controller_writes_names_its_rule() {
        let cases = [
            ("one writer: the source accepted a client write in / at 0x1 while fenced (x)", Rule::OneWriter),
            ("fenced controller: cluster 1's record has stamp 3 > ours 2", Rule::OneWriter),
            ("acknowledged writes lost: the target differs", Rule::NoLostWrite),
            ("sequence counter behind at /a: x", Rule::SequenceNumbers),
            ("clients went back in time: a client saw 0x5 but", Rule::NoTimeTravel),
            ("fake ephemeral: /e is ephemeral on the source", Rule::Ephemerals),
            ("orphan ephemerals on the target: [\"/e\"]", Rule::Ephemerals),
            ("migration: clients went back in time: …", Rule::NoTimeTravel),
        ];
        for (v, want) in cases {
            assert_eq!(rule_of(v), want, "{v}");
            let rs = rules(Some(v));
            assert_eq!(rs.iter().filter(|r| r.broken.is_some()).count(), 1, "{v}");
            assert_eq!(rs.iter().find(|r| r.broken.is_some()).map(|r| r.rule), Some(want));
        }
        assert!(rules(None).iter().all(|r| r.broken.is_none()));
    }

    #[test]
    fn the_stamp_rule_is_the_maximum_seen_plus_one() {
        let p = Progress { stamp: 4, stamps_seen: Some(vec![3, 1]), ..Progress::default() };
        assert_eq!(p.stamp_rule().as_deref(), Some("stamp = max(3, 1) + 1 = 4"));
        let p = Progress { stamp: 1, stamps_seen: Some(vec![]), ..Progress::default() };
        assert_eq!(p.stamp_rule().as_deref(), Some("stamp = max() + 1 = 1"));
        assert_eq!(Progress::default().stamp_rule(), None);
    }
}

#[cfg(test)]
mod on_a_run {
    use crate::scenario::{self, library, run::Options, sim::runner};

    #[test]
    fn a_committed_copy_shows_no_lag_no_difference_and_its_stamp_rule() {
        let sc = scenario::parse(library::builtin("migrate-copy-and-cut-over").unwrap()).unwrap();
        let mut r = runner(&sc, Options::default()).unwrap();
        assert!(r.driver().migration_progress().is_none(), "no migration yet");
        r.run_all();
        let p = r.driver().migration_progress().expect("a migration ran");
        assert_eq!(p.stamp_rule().as_deref(), Some("stamp = max(0, 0) + 1 = 1"), "{p:?}");
        assert_eq!(p.differences, Some(0), "{p:?}");
        let (s, t) = p.hashes.clone().unwrap();
        assert_eq!(s, t);
        assert_eq!(p.clients_on_source, 0, "every client moved: {p:?}");
        assert!(p.target_applied >= p.clients_max_zxid, "{p:?}");
        assert!(p.source_znodes.unwrap() >= 5 && p.source_znodes == p.target_znodes, "{p:?}");
        let tracker = r.driver().session_tracker(1).expect("b's leader tracks the moved sessions");
        assert!(tracker.1.iter().any(|s| s.client.as_deref() == Some("c1")), "{tracker:?}");
    }

    #[test]
    fn a_subtree_moved_into_another_path_is_measured_where_it_went() {
        let text = "seed 3\ncluster a with 3 servers\ncluster b with 3 servers\nclient c1 connects to a\n\n\
                    run until c1 is connected\nrun until b has a leader\nc1: create /app v\nc1: create /app/x 1\n\
                    run 500ms\nmigrate a -> b via snapshot subtree /app into /moved\nmigration run\n\
                    expect migration committed\n";
        let sc = scenario::parse(text).unwrap();
        let mut r = runner(&sc, Options::default()).unwrap();
        r.run_all();
        assert!(r.report().passed(), "{}", r.report().summary());
        let p = r.driver().migration_progress().unwrap();
        assert_eq!((p.source_znodes, p.target_znodes), (Some(2), Some(2)), "{p:?}");
        let (s, t) = p.hashes.clone().unwrap();
        assert_eq!(s, t, "the same subtree, at another path");
        assert_eq!(p.differences, Some(0));
    }
}
