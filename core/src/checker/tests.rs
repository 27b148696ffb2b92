//! Hand-written histories, named after the rule they exercise: each rule has histories
//! it must accept and histories it must reject, with the rule the rejection cites.

use super::*;
use crate::ids::{SessionId, Zxid};

const A: SessionId = SessionId(0xa);
const B: SessionId = SessionId(0xb);
const C: SessionId = SessionId(0xc);

/// A history written by hand: `op(session, op, invoked, completed, outcome)`.
struct Script {
    recorder: Recorder,
}

fn script() -> Script {
    Script { recorder: Recorder::new() }
}

impl Script {
    fn op(&mut self, session: SessionId, op: Op, invoked: u64, completed: u64, outcome: Outcome) -> OpId {
        let id = self.recorder.invoke(invoked, session, op);
        self.recorder.complete(completed, id, outcome);
        id
    }

    fn pending(&mut self, session: SessionId, op: Op, invoked: u64) -> OpId {
        self.recorder.invoke(invoked, session, op)
    }

    fn event(&mut self, session: SessionId, at: u64, path: &str, kind: EventKind, zxid: u64) {
        self.recorder.event(
            at,
            session,
            EventBody::Watch { path: path.to_string(), kind, zxid: Some(Zxid(zxid)) },
        );
    }

    fn check(self) -> (History, Verdict) {
        let history = self.recorder.finish();
        let verdict = super::check(&history).verdict;
        (history, verdict)
    }
}

fn create(path: &str, data: &str) -> Op {
    Op::Create { path: path.to_string(), data: data.as_bytes().to_vec(), mode: CreateMode::default() }
}

fn create_ephemeral(path: &str, data: &str) -> Op {
    Op::Create {
        path: path.to_string(),
        data: data.as_bytes().to_vec(),
        mode: CreateMode { ephemeral: true, sequential: false },
    }
}

fn set(path: &str, data: &str, version: Option<i32>) -> Op {
    Op::SetData { path: path.to_string(), data: data.as_bytes().to_vec(), version }
}

fn delete(path: &str) -> Op {
    Op::Delete { path: path.to_string(), version: None }
}

fn get(path: &str) -> Op {
    Op::GetData { path: path.to_string(), watch: Watch::No }
}

fn get_watch(path: &str) -> Op {
    Op::GetData { path: path.to_string(), watch: Watch::Set }
}

fn exists(path: &str) -> Op {
    Op::Exists { path: path.to_string(), watch: Watch::No }
}

fn sync() -> Op {
    Op::Sync { path: "/".to_string() }
}

fn stat(version: i32, czxid: u64, mzxid: u64) -> Stat {
    Stat { czxid: Zxid(czxid), mzxid: Zxid(mzxid), version, ephemeral_owner: SessionId(0) }
}

fn zx(zxid: u64) -> Option<Zxid> {
    (zxid != 0).then_some(Zxid(zxid))
}

/// `create` succeeded at `zxid` (0: zxids not recorded).
fn created(path: &str, zxid: u64) -> Outcome {
    Outcome::Ok {
        result: OpResult::Created { path: path.to_string(), stat: Some(stat(0, zxid, zxid)) },
        zxid: zx(zxid),
    }
}

/// `setData` succeeded: new version, at `zxid` of a node created at `czxid`.
fn was_set(version: i32, czxid: u64, zxid: u64) -> Outcome {
    Outcome::Ok { result: OpResult::DataSet { stat: stat(version, czxid, zxid) }, zxid: zx(zxid) }
}

fn deleted(zxid: u64) -> Outcome {
    Outcome::Ok { result: OpResult::Deleted, zxid: zx(zxid) }
}

/// `getData` returned `data` at `version` (mzxid, czxid), from a server at `zxid`.
fn data(text: &str, version: i32, czxid: u64, mzxid: u64, zxid: u64) -> Outcome {
    Outcome::Ok {
        result: OpResult::Data { data: text.as_bytes().to_vec(), stat: stat(version, czxid, mzxid) },
        zxid: zx(zxid),
    }
}

fn absent(zxid: u64) -> Outcome {
    Outcome::Ok { result: OpResult::Exists { stat: None }, zxid: zx(zxid) }
}

fn synced(zxid: u64) -> Outcome {
    Outcome::Ok { result: OpResult::Synced, zxid: zx(zxid) }
}

fn error(code: ErrorCode) -> Outcome {
    Outcome::Error { code, zxid: None }
}

fn lost() -> Outcome {
    Outcome::Unknown { code: ErrorCode::ConnectionLoss }
}

fn closed(zxid: u64) -> Outcome {
    Outcome::Ok { result: OpResult::Closed, zxid: zx(zxid) }
}

#[track_caller]
fn assert_accepted(history: &History, verdict: &Verdict) {
    let shown: Vec<String> = verdict.violations().iter().map(|v| v.explain(history)).collect();
    assert!(verdict.is_ok(), "expected acceptance, got {verdict:?}\n{}", shown.join("\n"));
}

#[track_caller]
fn assert_rejected(history: &History, verdict: &Verdict, rule: Rule) -> Violation {
    let found = verdict.violations();
    assert!(found.iter().any(|v| v.rule == rule), "expected a violation of {rule}, got {verdict:?}");
    let violation = found.iter().find(|v| v.rule == rule).cloned().expect("found");
    assert!(!violation.ops.is_empty() || !violation.events.is_empty());
    assert!(violation.ops.len() + violation.events.len() <= 4, "minimal: {violation:?}");
    let _ = violation.explain(history);
    violation
}

// ---- Rule 1: writes are linearizable; reads see states the writes produced ----

#[test]
fn rule1_sequential_writes_and_reads_are_accepted() {
    for z in [0, 1] {
        let mut s = script();
        s.op(A, create("/a", "x"), 1, 2, created("/a", z));
        s.op(A, set("/a", "y", Some(0)), 3, 4, was_set(1, z, 2 * z));
        s.op(B, get("/a"), 5, 6, data("y", 1, z, 2 * z, 2 * z));
        s.op(B, delete("/a"), 7, 8, deleted(3 * z));
        s.op(C, exists("/a"), 9, 10, absent(3 * z));
        let (h, v) = s.check();
        assert_accepted(&h, &v);
    }
}

#[test]
fn rule1_concurrent_writes_in_either_order_are_accepted() {
    let mut s = script();
    s.op(A, create("/a", "x"), 1, 2, created("/a", 0));
    // B's write was sent first but took effect second.
    s.op(B, set("/a", "b", None), 3, 9, was_set(2, 0, 0));
    s.op(A, set("/a", "a", None), 4, 8, was_set(1, 0, 0));
    s.op(C, get("/a"), 10, 11, data("b", 2, 0, 0, 0));
    let (h, v) = s.check();
    assert_accepted(&h, &v);
}

#[test]
fn rule1_two_writes_claiming_one_version_are_rejected() {
    let mut s = script();
    s.op(A, create("/a", "x"), 1, 2, created("/a", 0));
    s.op(A, set("/a", "y", None), 3, 4, was_set(1, 0, 0));
    s.op(B, set("/a", "z", None), 5, 6, was_set(1, 0, 0));
    let (h, v) = s.check();
    let violation = assert_rejected(&h, &v, Rule::WritesLinearizable);
    assert_eq!(violation.rule.number(), 1);
}

#[test]
fn rule1_creating_one_path_twice_is_rejected() {
    let mut s = script();
    s.op(A, create("/a", "x"), 1, 2, created("/a", 0));
    s.op(B, create("/a", "y"), 3, 4, created("/a", 0));
    let (h, v) = s.check();
    assert_rejected(&h, &v, Rule::WritesLinearizable);
}

#[test]
fn rule1_bad_version_must_disagree_with_the_state() {
    let mut s = script();
    s.op(A, create("/a", "x"), 1, 2, created("/a", 0));
    s.op(B, set("/a", "y", Some(0)), 3, 4, error(ErrorCode::BadVersion));
    let (h, v) = s.check();
    assert_rejected(&h, &v, Rule::WritesLinearizable);

    let mut s = script();
    s.op(A, create("/a", "x"), 1, 2, created("/a", 0));
    s.op(B, set("/a", "y", Some(7)), 3, 4, error(ErrorCode::BadVersion));
    s.op(C, set("/a", "z", Some(0)), 5, 6, was_set(1, 0, 0));
    let (h, v) = s.check();
    assert_accepted(&h, &v);
}

#[test]
fn rule1_create_under_a_missing_parent_is_checked_on_the_parent() {
    let mut s = script();
    s.op(A, create("/a", "x"), 1, 2, created("/a", 0));
    s.op(B, create("/a/b", "y"), 3, 4, error(ErrorCode::NoNode));
    let (h, v) = s.check();
    assert_rejected(&h, &v, Rule::WritesLinearizable);
}

#[test]
fn rule1_a_read_of_a_value_never_written_is_rejected() {
    let mut s = script();
    s.op(A, create("/a", "x"), 1, 2, created("/a", 0));
    s.op(B, get("/a"), 3, 4, data("never", 0, 0, 0, 0));
    let (h, v) = s.check();
    assert_rejected(&h, &v, Rule::ReadsSeeWrites);
}

#[test]
fn rule1_a_read_cannot_see_a_write_sent_after_it_completed() {
    let mut s = script();
    s.op(A, create("/a", "x"), 1, 2, created("/a", 0));
    s.op(B, get("/a"), 3, 4, data("y", 1, 0, 0, 0));
    s.op(A, set("/a", "y", None), 5, 6, was_set(1, 0, 0));
    let (h, v) = s.check();
    assert_rejected(&h, &v, Rule::ReadsSeeWrites);
}

#[test]
fn rule1_lost_reply_that_did_happen_is_accepted() {
    // A's setData lost its reply; B's later read shows it took effect.
    let mut s = script();
    s.op(A, create("/a", "x"), 1, 2, created("/a", 0));
    s.op(A, set("/a", "y", Some(0)), 3, 5, lost());
    s.op(B, get("/a"), 6, 7, data("y", 1, 0, 0, 0));
    s.op(B, set("/a", "z", Some(1)), 8, 9, was_set(2, 0, 0));
    let (h, v) = s.check();
    assert_accepted(&h, &v);
}

#[test]
fn rule1_lost_reply_that_did_not_happen_is_accepted() {
    // A's setData lost its reply; the rest of the history shows it never took effect.
    let mut s = script();
    s.op(A, create("/a", "x"), 1, 2, created("/a", 0));
    s.op(A, set("/a", "y", Some(0)), 3, 5, lost());
    s.op(B, set("/a", "z", Some(0)), 6, 7, was_set(1, 0, 0));
    s.op(C, get("/a"), 8, 9, data("z", 1, 0, 0, 0));
    let (h, v) = s.check();
    assert_accepted(&h, &v);
}

#[test]
fn rule1_lost_reply_may_take_effect_after_the_client_gave_up() {
    let mut s = script();
    s.op(A, create("/a", "x"), 1, 2, created("/a", 0));
    s.op(A, set("/a", "late", None), 3, 4, lost());
    s.op(B, get("/a"), 5, 6, data("x", 0, 0, 0, 0));
    s.op(B, get("/a"), 7, 8, data("late", 1, 0, 0, 0));
    let (h, v) = s.check();
    assert_accepted(&h, &v);
}

#[test]
fn rule1_a_session_moved_write_never_takes_effect() {
    // The same late write as above, refused by the leader because A's session had
    // moved to another server: a definite failure, so no read may see it.
    let history = |outcome: Outcome| {
        let mut s = script();
        s.op(A, create("/a", "x"), 1, 2, created("/a", 0));
        s.op(A, set("/a", "late", None), 3, 4, outcome);
        s.op(B, get("/a"), 5, 6, data("late", 1, 0, 0, 0));
        s.check()
    };
    let (h, v) = history(lost());
    assert_accepted(&h, &v);
    let (h, v) = history(error(ErrorCode::SessionMoved));
    assert_rejected(&h, &v, Rule::ReadsSeeWrites);
    assert!(!ErrorCode::SessionMoved.is_ambiguous());
}

#[test]
fn rule1_lost_reply_cannot_take_effect_before_it_was_sent() {
    let mut s = script();
    s.op(A, create("/a", "x"), 1, 2, created("/a", 0));
    s.op(B, get("/a"), 3, 4, data("y", 1, 0, 0, 0));
    s.op(A, set("/a", "y", None), 5, 6, lost());
    let (h, v) = s.check();
    assert_rejected(&h, &v, Rule::ReadsSeeWrites);
}

#[test]
fn rule1_lost_create_is_decided_by_a_later_node_exists() {
    let mut s = script();
    s.op(A, create("/a", "x"), 1, 2, lost());
    s.op(B, create("/a", "y"), 3, 4, error(ErrorCode::NodeExists));
    let (h, v) = s.check();
    assert_accepted(&h, &v);

    let mut s = script();
    s.op(B, create("/a", "y"), 3, 4, error(ErrorCode::NodeExists));
    let (h, v) = s.check();
    assert_rejected(&h, &v, Rule::WritesLinearizable);
}

#[test]
fn rule1_an_outstanding_write_at_the_end_is_ambiguous() {
    let mut s = script();
    s.op(A, create("/a", "x"), 1, 2, created("/a", 0));
    s.pending(A, set("/a", "y", None), 3);
    s.op(B, get("/a"), 5, 6, data("y", 1, 0, 0, 0));
    let (h, v) = s.check();
    assert_accepted(&h, &v);
}

#[test]
fn rule1_ephemeral_goes_with_its_closed_session() {
    let mut s = script();
    s.op(A, create_ephemeral("/e", "x"), 1, 2, created("/e", 0));
    s.op(A, Op::CloseSession, 3, 4, closed(0));
    s.op(B, exists("/e"), 5, 6, absent(0));
    let (h, v) = s.check();
    assert_accepted(&h, &v);

    // A persistent node does not go with the session.
    let mut s = script();
    s.op(A, create("/e", "x"), 1, 2, created("/e", 0));
    s.op(A, Op::CloseSession, 3, 4, closed(0));
    s.op(B, exists("/e"), 5, 6, absent(0));
    s.op(B, sync(), 7, 8, synced(0));
    s.op(B, exists("/e"), 9, 10, absent(0));
    let (_, v) = s.check();
    assert!(!v.is_ok(), "{v:?}");
}

#[test]
fn rule1_lost_sequential_create_may_explain_a_node() {
    let mut s = script();
    s.op(
        A,
        Op::Create {
            path: "/q-".to_string(),
            data: b"x".to_vec(),
            mode: CreateMode { ephemeral: false, sequential: true },
        },
        1,
        2,
        lost(),
    );
    s.op(B, get("/q-0000000001"), 3, 4, data("x", 0, 0, 0, 0));
    let (h, v) = s.check();
    assert_accepted(&h, &v);
}

fn children(names: &[&str], zxid: u64) -> Outcome {
    Outcome::Ok {
        result: OpResult::Children { children: names.iter().map(|n| n.to_string()).collect(), stat: None },
        zxid: zx(zxid),
    }
}

fn get_children(path: &str) -> Op {
    Op::GetChildren { path: path.to_string(), watch: Watch::No }
}

#[test]
fn rule1_child_lists_match_the_creates_and_deletes_up_to_their_zxid() {
    let mut s = script();
    s.op(A, create("/a", "x"), 1, 2, created("/a", 1));
    s.op(A, create("/b", "x"), 3, 4, created("/b", 2));
    // A stale server at zxid 1 lists only /a; an up-to-date one lists both.
    s.op(B, get_children("/"), 5, 6, children(&["a"], 1));
    s.op(C, get_children("/"), 7, 8, children(&["b", "a"], 2));
    s.op(A, delete("/a"), 9, 10, deleted(3));
    s.op(C, get_children("/"), 11, 12, children(&["b"], 3));
    let (h, v) = s.check();
    assert_accepted(&h, &v);
}

#[test]
fn rule1_a_child_list_missing_a_created_child_is_rejected() {
    let mut s = script();
    s.op(A, create("/a", "x"), 1, 2, created("/a", 1));
    s.op(A, create("/b", "x"), 3, 4, created("/b", 2));
    s.op(C, get_children("/"), 7, 8, children(&["a"], 2));
    let (h, v) = s.check();
    let violation = assert_rejected(&h, &v, Rule::ReadsSeeWrites);
    assert_eq!(violation.ops.len(), 2, "the read and the create it misses");
}

#[test]
fn rule1_a_child_list_is_not_judged_when_a_child_create_was_lost() {
    let mut s = script();
    s.op(A, create("/a", "x"), 1, 2, created("/a", 1));
    s.op(A, create("/b", "x"), 3, 4, lost());
    s.op(C, get_children("/"), 7, 8, children(&["a", "b"], 2));
    let (h, v) = s.check();
    assert_accepted(&h, &v);
}

// ---- Rule 2: FIFO, monotonic zxids, no time travel ----

#[test]
fn rule2_replies_out_of_order_are_rejected() {
    let mut s = script();
    s.op(A, create("/a", "x"), 1, 5, created("/a", 0));
    s.op(A, get("/a"), 2, 4, data("x", 0, 0, 0, 0));
    let (h, v) = s.check();
    assert_rejected(&h, &v, Rule::SessionFifo);
}

#[test]
fn rule2_pipelined_replies_in_order_are_accepted() {
    let mut s = script();
    s.op(A, create("/a", "x"), 1, 4, created("/a", 1));
    s.op(A, get("/a"), 2, 5, data("x", 0, 1, 1, 1));
    let (h, v) = s.check();
    assert_accepted(&h, &v);
}

#[test]
fn rule2_a_read_after_the_sessions_expiry_may_come_from_a_server_behind_it() {
    // The leader commits the expiry (closeSession at 0x1a) while a lagging server at
    // 0x17 still answers the session's read: the client never saw 0x1a. (Client sweep
    // seed 1723 with 5 ms client latency.)
    let mut s = script();
    s.op(A, create("/a", "x"), 1, 2, created("/a", 0x10));
    s.op(A, Op::CloseSession, 3, 3, closed(0x1a));
    s.op(A, exists("/b"), 4, 6, absent(0x17));
    let (h, v) = s.check();
    assert_accepted(&h, &v);
    // A read older than a reply the session did read is still caught.
    let mut s = script();
    s.op(A, create("/a", "x"), 1, 2, created("/a", 0x10));
    s.op(A, Op::CloseSession, 3, 3, closed(0x1a));
    s.op(A, exists("/b"), 4, 6, absent(0x0f));
    let (h, v) = s.check();
    assert_rejected(&h, &v, Rule::SessionZxids);
}

#[test]
fn rule2_zxids_going_backwards_are_rejected() {
    let mut s = script();
    s.op(A, create("/a", "x"), 1, 2, created("/a", 5));
    s.op(A, exists("/b"), 3, 4, absent(3));
    let (h, v) = s.check();
    assert_rejected(&h, &v, Rule::SessionZxids);
}

#[test]
fn rule2_a_stale_read_by_another_session_is_accepted() {
    for z in [0, 1] {
        let mut s = script();
        s.op(A, create("/a", "x"), 1, 2, created("/a", z));
        s.op(A, set("/a", "y", None), 3, 4, was_set(1, z, 2 * z));
        // B is connected to a server that has not applied the setData yet.
        s.op(B, get("/a"), 5, 6, data("x", 0, z, z, z));
        let (h, v) = s.check();
        assert_accepted(&h, &v);
    }
}

#[test]
fn rule2_reading_older_than_what_the_session_saw_is_rejected() {
    for z in [0, 1] {
        let mut s = script();
        s.op(A, create("/a", "x"), 1, 2, created("/a", z));
        s.op(A, set("/a", "y", None), 3, 4, was_set(1, z, 2 * z));
        s.op(B, get("/a"), 5, 6, data("y", 1, z, 2 * z, 2 * z));
        s.op(B, get("/a"), 7, 8, data("x", 0, z, z, 2 * z));
        let (h, v) = s.check();
        assert_rejected(&h, &v, Rule::NoTimeTravel);
    }
}

#[test]
fn rule2_a_session_reads_its_own_writes() {
    for z in [0, 1] {
        let mut s = script();
        s.op(A, create("/a", "x"), 1, 2, created("/a", z));
        s.op(B, set("/a", "y", None), 3, 4, was_set(1, z, 2 * z));
        s.op(B, get("/a"), 5, 6, data("x", 0, z, z, 2 * z));
        let (h, v) = s.check();
        assert_rejected(&h, &v, Rule::NoTimeTravel);
    }
}

#[test]
fn rule2_no_time_travel_across_paths_by_zxid() {
    // B saw /b's change at zxid 3, so its server has applied /a's change at zxid 2.
    let mut s = script();
    s.op(A, create("/a", "x"), 1, 2, created("/a", 1));
    s.op(A, set("/a", "y", None), 3, 4, was_set(1, 1, 2));
    s.op(A, create("/b", "x"), 5, 6, created("/b", 3));
    s.op(B, get("/b"), 7, 8, data("x", 0, 3, 3, 3));
    s.op(B, get("/a"), 9, 10, data("x", 0, 1, 1, 3));
    let (h, v) = s.check();
    assert_rejected(&h, &v, Rule::NoTimeTravel);
}

// ---- Rule 3: a read after a completed sync sees every earlier completed write ----

#[test]
fn rule3_read_after_sync_sees_completed_writes() {
    for z in [0, 1] {
        let mut s = script();
        s.op(A, create("/a", "x"), 1, 2, created("/a", z));
        s.op(A, set("/a", "y", None), 3, 4, was_set(1, z, 2 * z));
        s.op(B, sync(), 5, 6, synced(2 * z));
        s.op(B, get("/a"), 7, 8, data("y", 1, z, 2 * z, 2 * z));
        let (h, v) = s.check();
        assert_accepted(&h, &v);
    }
}

#[test]
fn rule3_read_after_sync_missing_a_completed_write_is_rejected() {
    for z in [0, 1] {
        let mut s = script();
        s.op(A, create("/a", "x"), 1, 2, created("/a", z));
        s.op(A, set("/a", "y", None), 3, 4, was_set(1, z, 2 * z));
        s.op(B, sync(), 5, 6, synced(z));
        s.op(B, get("/a"), 7, 8, data("x", 0, z, z, z));
        let (h, v) = s.check();
        assert_rejected(&h, &v, Rule::SyncThenRead);
    }
}

#[test]
fn rule3_a_write_concurrent_with_the_sync_may_be_missed() {
    let mut s = script();
    s.op(A, create("/a", "x"), 1, 2, created("/a", 0));
    s.op(A, set("/a", "y", None), 3, 7, was_set(1, 0, 0));
    s.op(B, sync(), 5, 6, synced(0));
    s.op(B, get("/a"), 8, 9, data("x", 0, 0, 0, 0));
    let (h, v) = s.check();
    assert_accepted(&h, &v);
}

// ---- Rule 4: one event per registration, before the change is seen ----

#[test]
fn rule4_a_watch_fires_once_per_registration() {
    let mut s = script();
    s.op(A, create("/a", "x"), 1, 2, created("/a", 1));
    s.op(B, get_watch("/a"), 3, 4, data("x", 0, 1, 1, 1));
    s.op(A, set("/a", "y", None), 5, 6, was_set(1, 1, 2));
    s.event(B, 7, "/a", EventKind::NodeDataChanged, 2);
    s.op(B, get_watch("/a"), 8, 9, data("y", 1, 1, 2, 2));
    s.op(A, set("/a", "z", None), 10, 11, was_set(2, 1, 3));
    s.event(B, 12, "/a", EventKind::NodeDataChanged, 3);
    let (h, v) = s.check();
    assert_accepted(&h, &v);
}

#[test]
fn rule4_a_watch_firing_twice_is_rejected() {
    let mut s = script();
    s.op(A, create("/a", "x"), 1, 2, created("/a", 1));
    s.op(B, get_watch("/a"), 3, 4, data("x", 0, 1, 1, 1));
    s.op(A, set("/a", "y", None), 5, 6, was_set(1, 1, 2));
    s.event(B, 7, "/a", EventKind::NodeDataChanged, 2);
    s.op(A, set("/a", "z", None), 8, 9, was_set(2, 1, 3));
    s.event(B, 10, "/a", EventKind::NodeDataChanged, 3);
    let (h, v) = s.check();
    let violation = assert_rejected(&h, &v, Rule::WatchOnce);
    assert_eq!(violation.events.len(), 2);
}

#[test]
fn rule4_an_event_without_a_watch_is_rejected() {
    let mut s = script();
    s.op(A, create("/a", "x"), 1, 2, created("/a", 1));
    s.event(B, 3, "/a", EventKind::NodeDataChanged, 2);
    let (h, v) = s.check();
    assert_rejected(&h, &v, Rule::WatchOnce);
}

#[test]
fn rule4_seeing_the_change_before_the_event_is_rejected() {
    let mut s = script();
    s.op(A, create("/a", "x"), 1, 2, created("/a", 1));
    s.op(B, get_watch("/a"), 3, 4, data("x", 0, 1, 1, 1));
    s.op(A, set("/a", "y", None), 5, 6, was_set(1, 1, 2));
    s.op(B, exists("/other"), 7, 8, absent(2));
    s.event(B, 9, "/a", EventKind::NodeDataChanged, 2);
    let (h, v) = s.check();
    assert_rejected(&h, &v, Rule::WatchBeforeChange);

    // The event first, then the reply: fine.
    let mut s = script();
    s.op(A, create("/a", "x"), 1, 2, created("/a", 1));
    s.op(B, get_watch("/a"), 3, 4, data("x", 0, 1, 1, 1));
    s.op(A, set("/a", "y", None), 5, 6, was_set(1, 1, 2));
    s.event(B, 7, "/a", EventKind::NodeDataChanged, 2);
    s.op(B, exists("/other"), 8, 9, absent(2));
    let (h, v) = s.check();
    assert_accepted(&h, &v);
}

#[test]
fn rule4_expiry_drops_the_watches() {
    let mut s = script();
    s.op(A, create("/a", "x"), 1, 2, created("/a", 1));
    s.op(B, get_watch("/a"), 3, 4, data("x", 0, 1, 1, 1));
    s.recorder.event(5, B, EventBody::Expired);
    s.op(A, set("/a", "y", None), 6, 7, was_set(1, 1, 2));
    s.event(B, 8, "/a", EventKind::NodeDataChanged, 2);
    let (h, v) = s.check();
    assert_rejected(&h, &v, Rule::WatchOnce);
}

// ---- Budget ----

#[test]
fn an_exhausted_budget_gives_unknown_never_a_hang() {
    let mut s = script();
    s.op(A, create("/a", "x"), 1, 2, created("/a", 0));
    for i in 0..20u64 {
        s.op(B, set("/a", "y", None), 10 * i + 3, 10 * i + 4, was_set(i as i32 + 1, 0, 0));
    }
    let history = s.recorder.finish();
    let config = CheckConfig { max_states: 5, ..CheckConfig::default() };
    let report = check_with(&history, &config);
    match report.verdict {
        Verdict::Unknown { reason } => assert!(reason.contains("budget exceeded"), "{reason}"),
        other => panic!("expected unknown, got {other:?}"),
    }
}

#[test]
fn the_reference_system_is_accepted() {
    for seed in 0..100 {
        let history = reference::generate(reference::ReferenceConfig { seed, ..Default::default() });
        let report = check(&history);
        let shown: Vec<String> = report.verdict.violations().iter().map(|v| v.explain(&history)).collect();
        assert!(report.verdict.is_ok(), "seed {seed}: {:?}\n{}", report.verdict, shown.join("\n"));
    }
}
