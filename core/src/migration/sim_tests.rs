//! End-to-end migrations on the simulator.

use super::fidelity::Transport;
use super::phase::Phase;
use super::sim::{Broken, Plan, SessionPolicy};
use crate::scenario::run::Driver;
use crate::scenario::sim::SimDriver;
use crate::zkcli::ZkCommand;

pub(crate) const WORLD: &str = "scenario \"two clusters\"
seed 7
cluster a with 3 servers
cluster b with 3 servers
link a <-> b latency 40ms
client c1 connects to a
client c2 connects to a
client c3 connects to a3
";

pub(crate) fn driver(seed: u64) -> SimDriver {
    let mut sc = crate::scenario::parse(WORLD).unwrap();
    sc.seed = seed;
    let mut d = SimDriver::new(&sc).unwrap();
    run_for(&mut d, 2_000);
    d
}

pub(crate) fn run_for(d: &mut SimDriver, ms: u64) {
    let until = d.now().0 + ms;
    let mut trace = Vec::new();
    while d.step_until(crate::scenario::Millis(until), &mut trace) {
        trace.clear();
    }
}

pub(crate) fn cmd(d: &mut SimDriver, client: &str, text: &str) -> u64 {
    let c: ZkCommand = crate::zkcli::parse(text).unwrap();
    d.submit(client, &c, &mut Vec::new()).unwrap()
}

pub(crate) fn plan(d: &SimDriver, transport: Transport, sessions: SessionPolicy) -> Plan {
    let mut p = Plan::new(0, 1, "/", transport, sessions);
    p.latency_ms = d.link_latency(0, 1);
    p
}

fn populate(d: &mut SimDriver) {
    cmd(d, "c1", "create /app a");
    cmd(d, "c1", "create /app/locks x");
    for i in 0..5 {
        cmd(d, "c1", "create -s /app/locks/n- x");
        let _ = i;
    }
    cmd(d, "c1", "delete /app/locks/n-0000000000");
    cmd(d, "c1", "create -e /app/member c1");
    cmd(d, "c1", "create -c /app/jobs x");
    cmd(d, "c1", "set /app b");
    run_for(d, 1_000);
}

fn migrate(transport: Transport, sessions: SessionPolicy, broken: Broken) -> SimDriver {
    let mut d = driver(7);
    populate(&mut d);
    let mut p = plan(&d, transport, sessions);
    p.broken = broken;
    d.start_migration(p).unwrap();
    d.migration_run(Some(Phase::CatchUp), 20_000).unwrap();
    // Writes during the tail.
    for i in 0..10 {
        cmd(&mut d, "c2", &format!("create /app/t{i} {i}"));
        run_for(&mut d, 15);
    }
    let _ = d.migration_run(None, 30_000);
    d
}

#[test]
fn snapshot_plus_log_migrates_exactly_and_commits() {
    let mut d = migrate(Transport::SnapshotAndLog, SessionPolicy::Import, Broken::default());
    let m = d.migration().unwrap();
    assert_eq!(m.violation(), None);
    assert_eq!(m.phase(), Phase::Committed, "{:?}", m.migration().journal());
    assert_eq!(d.violation(), None);
    // The final sync's evidence: an exact copy of `/` has ZooKeeper's own digest.
    let fs = m.migration().journal().iter().find(|j| j.from == Phase::FinalSync).unwrap();
    assert!(fs.evidence.contains("(equal)"), "{}", fs.evidence);
    // Clients moved: c1 keeps its session and its ephemeral on the target.
    run_for(&mut d, 2_000);
    assert!(d.connected("c1") && d.connected("c2"));
    let b1 = crate::scenario::ServerName { cluster: "b".into(), id: 1 };
    assert_eq!(d.read(&b1, "/app/member").unwrap().as_deref(), Some("c1"));
    assert_eq!(d.read(&b1, "/app/t9").unwrap().as_deref(), Some("9"));
    // The next sequential name continues the source's counter.
    let h = cmd(&mut d, "c1", "create -s /app/locks/n- x");
    run_for(&mut d, 1_000);
    assert_eq!(d.op(h), crate::scenario::run::OpStatus::Ok("/app/locks/n-0000000005".into()));
}

#[test]
fn client_api_migrates_logically_and_commits() {
    let mut d =
        migrate(Transport::ClientApi { target_is_zoolab: true }, SessionPolicy::Expire, Broken::default());
    let m = d.migration().unwrap();
    assert_eq!(m.violation(), None);
    assert_eq!(m.phase(), Phase::Committed, "{:?}", m.migration().journal());
    run_for(&mut d, 2_000);
    assert!(d.connected("c1"));
    let b1 = crate::scenario::ServerName { cluster: "b".into(), id: 1 };
    assert_eq!(d.read(&b1, "/app/member").unwrap(), None, "ephemerals are not copied with sessions expire");
    assert_eq!(d.read(&b1, "/app/t9").unwrap().as_deref(), Some("9"));
}

/// Runs to `upto`, issues writes just as the source freezes, then runs to the end.
fn migrate_racing_the_freeze(broken: Broken, sessions: SessionPolicy) -> SimDriver {
    let mut d = driver(11);
    populate(&mut d);
    let mut p = plan(&d, Transport::SnapshotAndLog, sessions);
    p.broken = broken;
    d.start_migration(p).unwrap();
    let _ = d.migration_run(Some(Phase::Verify), 20_000);
    // The moment verification passes, c3 (on the source's leader) writes, and the
    // controller freezes at once: the writes commit just before the fence, so only
    // the final sync brings them over.
    assert_eq!(d.leader("a").map(|l| l.id), Some(3));
    for _ in 0..1_000 {
        if d.migration_evidence().is_some_and(|e| e.holds) {
            break;
        }
        run_for(&mut d, 5);
    }
    for i in 0..5 {
        cmd(&mut d, "c3", &format!("create /app/late{i} {i}"));
    }
    let _ = d.migration_step();
    let _ = d.migration_run(None, 30_000);
    d
}

fn violation(d: &SimDriver) -> String {
    d.migration().and_then(|m| m.violation()).unwrap_or("").to_string()
}

#[test]
fn the_same_race_without_a_broken_switch_keeps_every_rule() {
    let d = migrate_racing_the_freeze(Broken::default(), SessionPolicy::Import);
    assert_eq!(violation(&d), "");
    assert_eq!(d.migration().unwrap().phase(), Phase::Committed);
    let b1 = crate::scenario::ServerName { cluster: "b".into(), id: 1 };
    assert_eq!(d.read(&b1, "/app/late4").unwrap().as_deref(), Some("4"));
}

#[test]
fn skipping_the_final_sync_loses_acknowledged_writes() {
    let d = migrate_racing_the_freeze(
        Broken { skip_final_sync: true, ..Broken::default() },
        SessionPolicy::Import,
    );
    assert!(violation(&d).contains("acknowledged writes lost"), "{}", violation(&d));
}

#[test]
fn cutting_over_before_verify_leaves_two_writers() {
    let d = migrate_racing_the_freeze(
        Broken { cut_over_before_verify: true, ..Broken::default() },
        SessionPolicy::Import,
    );
    let v = violation(&d);
    assert!(v.contains("one writer") || v.contains("acknowledged writes lost"), "{v}");
}

#[test]
fn without_the_zxid_raise_clients_go_back_in_time() {
    let d =
        migrate_racing_the_freeze(Broken { no_zxid_raise: true, ..Broken::default() }, SessionPolicy::Import);
    assert!(violation(&d).contains("clients went back in time"), "{}", violation(&d));
}

#[test]
fn ephemerals_copied_as_persistent_are_fakes() {
    for sessions in [SessionPolicy::Import, SessionPolicy::Expire] {
        let d = migrate_racing_the_freeze(
            Broken { ephemerals_as_persistent: true, ..Broken::default() },
            sessions,
        );
        assert!(violation(&d).contains("fake ephemeral"), "{sessions}: {}", violation(&d));
    }
}

#[test]
fn rollback_from_every_phase_before_commit_gives_the_source_back() {
    use super::phase::FORWARD;
    for &upto in &FORWARD[..FORWARD.len() - 1] {
        let mut d = driver(5);
        populate(&mut d);
        let p = plan(&d, Transport::SnapshotAndLog, SessionPolicy::Import);
        d.start_migration(p).unwrap();
        if upto != Phase::Draft {
            d.migration_run(Some(upto), 30_000).unwrap();
        }
        if upto == Phase::Soak {
            // The target took writes while it served: the reverse mirror brings them back.
            run_for(&mut d, 1_000);
            let h = cmd(&mut d, "c2", "create /app/on-target t");
            run_for(&mut d, 1_000);
            assert!(matches!(d.op(h), crate::scenario::run::OpStatus::Ok(_)), "{:?}", d.op(h));
        }
        d.migration_abort("operator").unwrap();
        let end = d.migration_run(None, 30_000);
        assert_eq!(end, Ok(Phase::RolledBack), "from {upto}");
        assert_eq!(violation(&d), "", "from {upto}");
        run_for(&mut d, 2_000);
        let h = cmd(&mut d, "c1", "set /app back");
        run_for(&mut d, 1_000);
        assert!(matches!(d.op(h), crate::scenario::run::OpStatus::Ok(_)), "from {upto}: {:?}", d.op(h));
        let a1 = crate::scenario::ServerName { cluster: "a".into(), id: 1 };
        assert_eq!(d.read(&a1, "/app").unwrap().as_deref(), Some("back"), "from {upto}");
        if upto == Phase::Soak {
            assert_eq!(d.read(&a1, "/app/on-target").unwrap().as_deref(), Some("t"));
        }
        assert_eq!(d.violation(), None, "from {upto}");
    }
}
