//! How a leader brings a learner up to date: the choice ZooKeeper's
//! `LearnerHandler.syncFollower` and `queueCommittedProposals` make, as a pure function.
//!
//! The leader compares the learner's last zxid (`peerLastZxid`, from ACKEPOCH) with its
//! own history: `lastProcessedZxid`, the in-memory committed log (the last
//! `commitLogCount` proposals, `minCommittedLog..=maxCommittedLog`) and, when enabled,
//! its on-disk txn log. The cases, in ZooKeeper's order:
//!
//! 1. the learner is exactly at `lastProcessedZxid`: an empty DIFF;
//! 2. it is past `maxCommittedLog` (and not at a new epoch's zxid `(e, 0)`): TRUNC to
//!    `maxCommittedLog`; it holds proposals that were never committed;
//! 3. it is within the committed log: walk it. If the learner's zxid is there: DIFF,
//!    then PROPOSAL+COMMIT for everything after it. If not, it holds a proposal the
//!    leader never saw: TRUNC to the leader's previous zxid, then the proposals after
//!    it (TRUNC+DIFF) — unless that would cross an epoch boundary, which needs a SNAP;
//! 4. it is before the committed log: the same walk over the txn log, if the txn log
//!    reaches back to it and joins the committed log without a gap;
//! 5. otherwise: SNAP.

use crate::ids::Zxid;

/// The first packet of a sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncOp {
    /// DIFF, carrying the leader's last committed zxid.
    Diff(Zxid),
    /// TRUNC: the learner drops everything after this zxid.
    Trunc(Zxid),
    /// SNAP: the learner replaces its state with the leader's.
    Snap,
}

/// A leader's decision for one learner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncPlan {
    /// DIFF, TRUNC or SNAP.
    pub op: SyncOp,
    /// After the op, the leader sends PROPOSAL+COMMIT for each committed zxid in
    /// `(send_after, send_upto]` (an empty range sends nothing).
    pub send_after: Zxid,
    /// See `send_after`.
    pub send_upto: Zxid,
}

impl SyncPlan {
    /// Whether any PROPOSAL+COMMIT pairs follow the op.
    pub fn sends_proposals(&self) -> bool {
        self.send_upto > self.send_after
    }

    /// ZooKeeper's names: `DIFF`, `TRUNC`, `TRUNC+DIFF`, `SNAP`.
    pub fn name(&self) -> &'static str {
        match self.op {
            SyncOp::Diff(_) => "DIFF",
            SyncOp::Trunc(_) if self.sends_proposals() => "TRUNC+DIFF",
            SyncOp::Trunc(_) => "TRUNC",
            SyncOp::Snap => "SNAP",
        }
    }
}

/// What the leader has to sync from.
#[derive(Clone, Copy, Debug)]
pub struct LeaderHistory<'a> {
    /// The last zxid applied to the leader's state (`lastProcessedZxid`).
    pub last_processed: Zxid,
    /// The committed log: the last `commitLogCount` committed zxids, ascending.
    pub committed_log: &'a [Zxid],
    /// The txn log's zxids the leader can read (ascending, all applied): in zoolab, the
    /// log it holds in memory, which a bounded log ([`super::log::TxnLog::bound`], the
    /// native server) keeps to a window; `None` when syncing from the txn log is
    /// disabled.
    pub txn_log: Option<&'a [Zxid]>,
    /// The zxid the txn log starts after (its snapshot, or the last entry a bounded log
    /// shed); zero when it holds the whole history.
    pub txn_log_base: Zxid,
}

fn is_new_epoch_zxid(z: Zxid) -> bool {
    z.counter() == 0
}

/// The walk of `queueCommittedProposals`: the op it queues (if it decided one), the
/// last zxid it queued, and whether it gave up (TRUNC across an epoch).
struct Walk {
    op: Option<SyncOp>,
    queued: Zxid,
    aborted: bool,
}

fn walk(zxids: &[Zxid], peer_last: Zxid, max: Option<Zxid>, last_committed: Zxid, need_op: bool) -> Walk {
    let new_epoch = is_new_epoch_zxid(peer_last);
    let mut w = Walk { op: None, queued: peer_last, aborted: false };
    let mut need_op = need_op;
    let mut prev = Zxid::ZERO;
    for &z in zxids {
        if max.is_some_and(|m| z > m) {
            break;
        }
        if z < peer_last {
            prev = z;
            continue;
        }
        if need_op {
            if z == peer_last {
                w.op = Some(SyncOp::Diff(last_committed));
                need_op = false;
                continue;
            }
            if new_epoch {
                w.op = Some(SyncOp::Diff(last_committed));
                need_op = false;
            } else if z > peer_last {
                if z.epoch() != peer_last.epoch() {
                    w.aborted = true;
                    return w;
                }
                w.op = Some(SyncOp::Trunc(prev));
                need_op = false;
            }
        }
        if z <= w.queued {
            continue;
        }
        w.queued = z;
    }
    if need_op && new_epoch {
        w.op = Some(SyncOp::Diff(last_committed));
    }
    w
}

/// Chooses how to sync a learner whose last zxid is `peer_last`.
pub fn choose(peer_last: Zxid, h: &LeaderHistory<'_>) -> SyncPlan {
    let (min, max) = match (h.committed_log.first(), h.committed_log.last()) {
        (Some(&a), Some(&b)) => (a, b),
        _ => (h.last_processed, h.last_processed),
    };
    let snap = SyncPlan { op: SyncOp::Snap, send_after: h.last_processed, send_upto: h.last_processed };
    if h.last_processed == peer_last {
        return SyncPlan { op: SyncOp::Diff(peer_last), send_after: peer_last, send_upto: peer_last };
    }
    if peer_last > max && !is_new_epoch_zxid(peer_last) {
        return SyncPlan { op: SyncOp::Trunc(max), send_after: max, send_upto: max };
    }
    if min <= peer_last && peer_last <= max {
        let w = walk(h.committed_log, peer_last, None, max, true);
        return match w.op {
            Some(op) if !w.aborted => {
                SyncPlan { op, send_after: peer_last, send_upto: w.queued.max(peer_last) }
            }
            _ => snap,
        };
    }
    if peer_last < min {
        if let Some(txn_log) = h.txn_log {
            // `getProposalsFromTxnLog` is empty when the log starts after the peer.
            let reaches = txn_log.first().is_some_and(|&f| f <= peer_last)
                || (peer_last == h.txn_log_base && h.txn_log_base == Zxid::ZERO && !txn_log.is_empty());
            if reaches {
                let w = walk(txn_log, peer_last, Some(min), max, true);
                if w.aborted || w.queued < min || w.op.is_none() {
                    return snap;
                }
                let rest = walk(h.committed_log, w.queued, None, max, false);
                let op = w.op.expect("checked above");
                return SyncPlan { op, send_after: peer_last, send_upto: rest.queued.max(w.queued) };
            }
        }
    }
    snap
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Epoch;

    fn z(e: u32, c: u32) -> Zxid {
        Zxid::new(Epoch(e), c)
    }

    fn hist<'a>(last: Zxid, committed: &'a [Zxid], txn_log: Option<&'a [Zxid]>) -> LeaderHistory<'a> {
        LeaderHistory { last_processed: last, committed_log: committed, txn_log, txn_log_base: Zxid::ZERO }
    }

    #[test]
    fn a_learner_in_sync_gets_an_empty_diff() {
        let log = [z(1, 1), z(1, 2)];
        let p = choose(z(1, 2), &hist(z(1, 2), &log, None));
        assert_eq!(p.op, SyncOp::Diff(z(1, 2)));
        assert!(!p.sends_proposals());
        assert_eq!(p.name(), "DIFF");
    }

    #[test]
    fn a_learner_behind_within_the_committed_log_gets_a_diff() {
        let log = [z(1, 1), z(1, 2), z(1, 3), z(2, 1)];
        let p = choose(z(1, 2), &hist(z(2, 1), &log, None));
        assert_eq!(p.op, SyncOp::Diff(z(2, 1)));
        assert_eq!((p.send_after, p.send_upto), (z(1, 2), z(2, 1)));
    }

    #[test]
    fn a_learner_ahead_of_the_committed_log_is_truncated() {
        let log = [z(1, 1), z(1, 2)];
        let p = choose(z(1, 3), &hist(z(1, 2), &log, None));
        assert_eq!(p.op, SyncOp::Trunc(z(1, 2)));
        assert_eq!(p.name(), "TRUNC");
    }

    #[test]
    fn a_proposal_the_leader_never_saw_gets_trunc_then_diff() {
        // The learner logged (2,2), which the leader never saw; the leader's next
        // zxid, (2,3), is in the same epoch.
        let log = [z(2, 1), z(2, 3), z(3, 1)];
        let p = choose(z(2, 2), &hist(z(3, 1), &log, None));
        assert_eq!(p, SyncPlan { op: SyncOp::Trunc(z(2, 1)), send_after: z(2, 2), send_upto: z(3, 1) });
        assert_eq!(p.name(), "TRUNC+DIFF");
    }

    #[test]
    fn a_trunc_across_an_epoch_boundary_becomes_a_snap() {
        // The learner's (2,5) is unknown, and the leader's next zxid is in epoch 3.
        let log = [z(2, 1), z(2, 4), z(3, 1)];
        let p = choose(z(2, 5), &hist(z(3, 1), &log, None));
        assert_eq!(p.op, SyncOp::Snap);
    }

    #[test]
    fn a_learner_far_behind_gets_a_snap() {
        let committed = [z(1, 90), z(1, 100)];
        let p = choose(z(1, 3), &hist(z(1, 100), &committed, None));
        assert_eq!(p.op, SyncOp::Snap);
        let txn_log = [z(1, 50), z(1, 90), z(1, 100)];
        let p = choose(z(1, 3), &hist(z(1, 100), &committed, Some(&txn_log)));
        assert_eq!(p.op, SyncOp::Snap, "the txn log does not reach back far enough");
    }

    #[test]
    fn the_txn_log_extends_the_diff_range() {
        let committed = [z(1, 90), z(1, 100)];
        let txn_log: Vec<Zxid> = (1..=100).map(|c| z(1, c)).collect();
        let p = choose(z(1, 3), &hist(z(1, 100), &committed, Some(&txn_log)));
        assert_eq!(p, SyncPlan { op: SyncOp::Diff(z(1, 100)), send_after: z(1, 3), send_upto: z(1, 100) });
    }

    #[test]
    fn an_empty_learner_syncs_from_a_complete_txn_log() {
        let committed = [z(1, 2)];
        let txn_log = [z(1, 1), z(1, 2)];
        let p = choose(Zxid::ZERO, &hist(z(1, 2), &committed, Some(&txn_log)));
        assert_eq!(p.op, SyncOp::Diff(z(1, 2)));
        assert_eq!(p.send_upto, z(1, 2));
    }

    #[test]
    fn a_bounded_log_diffs_a_learner_just_inside_its_window_and_snaps_one_just_outside() {
        // The leader keeps (1,901)..=(1,1000) in memory (a window of 100 entries); it
        // shed (1,1)..=(1,900), and its committed log is the last 10.
        let window: Vec<Zxid> = (901..=1000).map(|c| z(1, c)).collect();
        let committed = &window[90..];
        let h = LeaderHistory {
            last_processed: z(1, 1000),
            committed_log: committed,
            txn_log: Some(&window),
            txn_log_base: z(1, 900),
        };
        let inside = choose(z(1, 901), &h);
        assert_eq!(
            inside,
            SyncPlan { op: SyncOp::Diff(z(1, 1000)), send_after: z(1, 901), send_upto: z(1, 1000) }
        );
        assert_eq!(
            choose(z(1, 900), &h).op,
            SyncOp::Snap,
            "the entry after (1,900) is in memory, (1,900) is not"
        );
        assert_eq!(choose(z(1, 899), &h).op, SyncOp::Snap);
        assert_eq!(choose(Zxid::ZERO, &h).op, SyncOp::Snap, "an empty learner needs the shed history");
        // The same learners against the unbounded log (every entry since the start).
        let full: Vec<Zxid> = (1..=1000).map(|c| z(1, c)).collect();
        let h = LeaderHistory { txn_log: Some(&full), txn_log_base: Zxid::ZERO, ..h };
        assert_eq!(choose(z(1, 900), &h).op, SyncOp::Diff(z(1, 1000)));
        assert_eq!(choose(Zxid::ZERO, &h).op, SyncOp::Diff(z(1, 1000)));
    }

    #[test]
    fn a_leader_with_an_empty_committed_log_compares_with_its_last_processed_zxid() {
        let p = choose(z(1, 3), &hist(z(1, 2), &[], None));
        assert_eq!(p.op, SyncOp::Trunc(z(1, 2)));
        let p = choose(z(1, 1), &hist(z(1, 2), &[], None));
        assert_eq!(p.op, SyncOp::Snap);
    }
}
