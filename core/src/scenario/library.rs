//! The built-in scenarios (`scenarios/*.zk`), compiled in, so that the page and the
//! runner can open them by name. A test keeps this list and the folder the same.

/// Every built-in scenario: its name (the file's stem) and its text.
pub const LIBRARY: &[(&str, &str)] = &[
    (
        "commit-without-quorum-loses-a-write",
        include_str!("../../../scenarios/commit-without-quorum-loses-a-write.zk"),
    ),
    ("ephemeral-removed-on-expiry", include_str!("../../../scenarios/ephemeral-removed-on-expiry.zk")),
    ("follower-far-behind-gets-snap", include_str!("../../../scenarios/follower-far-behind-gets-snap.zk")),
    ("leader-crash-during-broadcast", include_str!("../../../scenarios/leader-crash-during-broadcast.zk")),
    ("leader-gc-pause", include_str!("../../../scenarios/leader-gc-pause.zk")),
    ("lossy-network-converges", include_str!("../../../scenarios/lossy-network-converges.zk")),
    ("lost-quorum-stale-reads", include_str!("../../../scenarios/lost-quorum-stale-reads.zk")),
    (
        "lost-reply-during-leader-change",
        include_str!("../../../scenarios/lost-reply-during-leader-change.zk"),
    ),
    ("migrate-copy-and-cut-over", include_str!("../../../scenarios/migrate-copy-and-cut-over.zk")),
    ("migrate-observer-join", include_str!("../../../scenarios/migrate-observer-join.zk")),
    ("migrate-rollback-after-freeze", include_str!("../../../scenarios/migrate-rollback-after-freeze.zk")),
    ("migrate-target-leader-crash", include_str!("../../../scenarios/migrate-target-leader-crash.zk")),
    ("minority-cannot-commit", include_str!("../../../scenarios/minority-cannot-commit.zk")),
    ("observer-reads-lag", include_str!("../../../scenarios/observer-reads-lag.zk")),
    ("one-way-partition", include_str!("../../../scenarios/one-way-partition.zk")),
    ("reconfig-3-to-5", include_str!("../../../scenarios/reconfig-3-to-5.zk")),
    ("reconfig-grow-and-shrink", include_str!("../../../scenarios/reconfig-grow-and-shrink.zk")),
    ("reconfig-leader-removes-itself", include_str!("../../../scenarios/reconfig-leader-removes-itself.zk")),
    (
        "reconfig-refused-without-quorum",
        include_str!("../../../scenarios/reconfig-refused-without-quorum.zk"),
    ),
    (
        "reconnect-to-behind-server-refused",
        include_str!("../../../scenarios/reconnect-to-behind-server-refused.zk"),
    ),
    (
        "sequential-names-across-leader-change",
        include_str!("../../../scenarios/sequential-names-across-leader-change.zk"),
    ),
    (
        "session-moves-late-write-refused",
        include_str!("../../../scenarios/session-moves-late-write-refused.zk"),
    ),
    ("slow-link-follower-lags", include_str!("../../../scenarios/slow-link-follower-lags.zk")),
    ("stale-read-then-sync", include_str!("../../../scenarios/stale-read-then-sync.zk")),
    ("trunc-uncommitted-proposal", include_str!("../../../scenarios/trunc-uncommitted-proposal.zk")),
    ("watch-fires-once", include_str!("../../../scenarios/watch-fires-once.zk")),
];

/// A built-in scenario's text, by name.
pub fn builtin(name: &str) -> Option<&'static str> {
    LIBRARY.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}
