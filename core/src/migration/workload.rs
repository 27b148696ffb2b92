//! The reference migration workload, shared by the `migbench` example (native) and the
//! wasm check (`core/wasm-check`, under Node and Chromium), so both measure the same
//! run: N znodes loaded into cluster a (3 servers) migrate to cluster b (3 servers,
//! 40 ms away) from draft to commit under a steady client write load. The core reads no
//! clock: callers time [`migrate_under_load`] themselves.

use crate::migration::fidelity::Transport;
use crate::migration::phase::Phase;
use crate::migration::sim::{Plan, SessionPolicy};
use crate::scenario::run::Driver;
use crate::scenario::sim::SimDriver;
use crate::scenario::Millis;
use crate::tree::{Acl, Data, Import, ImportedNode, StatPersisted};

/// What one run of the workload did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationRun {
    /// Znodes on the source's leader once loaded (the imported ones plus `/` and
    /// `/zookeeper`'s).
    pub loaded: usize,
    /// The phase the migration ended in (committed, unless something broke).
    pub phase: Phase,
    /// Simulated milliseconds from draft to the end.
    pub simulated_ms: u64,
    /// Client writes submitted to the source while it copied (until the freeze).
    pub writes: u64,
    /// The first migration rule or invariant broken, if any.
    pub violation: Option<String>,
    /// The trace hash at the end (equal natively and in wasm).
    pub trace_hash: u64,
}

fn advance(d: &mut SimDriver, ms: u64) {
    let until = Millis(d.now().0 + ms);
    let mut t = Vec::new();
    while d.step_until(until, &mut t) {
        t.clear();
    }
}

/// Loads `/data` with 100 parents of `n / 100` children each into cluster a through
/// its ZAB (the import path, in chunks of 5,000 nodes), then migrates it to b with
/// `transport` (batches of 2,000 paths, soak 1 s), one client create or set every
/// 10 ms of simulated time until the freeze. `on_phase` is called at each new phase
/// with the simulated milliseconds since draft.
pub fn migrate_under_load(
    n: usize,
    transport: Transport,
    mut on_phase: impl FnMut(Phase, u64),
) -> MigrationRun {
    let text = "scenario \"migbench\"\nseed 1\ncluster a with 3 servers\ncluster b with 3 servers\n\
                link a <-> b latency 40ms\nclient c1 connects to a\n";
    let sc = crate::scenario::parse(text).expect("the workload's scenario parses");
    let mut d = SimDriver::new(&sc).expect("the workload's scenario builds");
    advance(&mut d, 1_000);
    let leader = d.world().leader(0).expect("a has a leader a second after its start");
    let open = Acl::open_unsafe();
    let stat = |z: u64| StatPersisted::created(crate::ids::Zxid(z), 1_000, 0);
    let mut nodes = Vec::with_capacity(n + 101);
    nodes.push(ImportedNode { path: "/data".into(), data: Data::empty(), acl: open.clone(), stat: stat(1) });
    let per = (n / 100).max(1);
    for p in 0..100.min(n) {
        let parent = format!("/data/p{p:02}");
        let mut s = stat(1);
        s.cversion = per as i32;
        nodes.push(ImportedNode { path: parent.clone(), data: Data::empty(), acl: open.clone(), stat: s });
        for c in 0..per {
            nodes.push(ImportedNode {
                path: format!("{parent}/n{c:06}"),
                data: format!("value-{p}-{c}").into_bytes().into(),
                acl: open.clone(),
                stat: stat(1),
            });
        }
    }
    for chunk in nodes.chunks(5_000) {
        d.import_into(0, Import { nodes: chunk.to_vec(), ..Import::default() });
    }
    advance(&mut d, 2_000);
    let loaded = d.world().server(0, leader).map_or(0, |s| s.state().tree().node_count());

    let mut plan = Plan::new(0, 1, "/", transport, SessionPolicy::Expire);
    plan.latency_ms = d.link_latency(0, 1);
    plan.batch = 2_000;
    plan.soak_ms = 1_000;
    let t0 = d.now().0;
    let mut writes = 0u64;
    let mut last = None;
    let mut violation = d.start_migration(plan).err();
    while violation.is_none() {
        let Some(phase) = d.migration().map(|m| m.phase()) else { break };
        if last != Some(phase) {
            on_phase(phase, d.now().0 - t0);
            last = Some(phase);
        }
        if matches!(phase, Phase::Committed | Phase::RolledBack) {
            break;
        }
        if let Some(v) = d.violation() {
            violation = Some(v);
            break;
        }
        if d.now().0 > t0 + 600_000 {
            let evidence = d.migration_evidence().map_or_else(|| "none".to_string(), |e| e.detail);
            violation = Some(format!("did not finish in 600 s simulated: evidence {evidence}"));
            break;
        }
        // Steady writes until the freeze (afterwards the fence would refuse them).
        if phase < Phase::Freeze {
            writes += 1;
            let line = if writes.is_multiple_of(2) {
                format!("create /data/p{:02}/w{writes} x", writes % 100)
            } else {
                format!("set /data/p{:02}/n{:06} v{writes}", writes % 100, writes % per as u64)
            };
            let command = crate::zkcli::parse(&line).expect("the workload's commands parse");
            let _ = d.submit("c1", &command, &mut Vec::new());
        }
        if d.migration_step().is_err() {
            advance(&mut d, 10);
        }
    }
    MigrationRun {
        loaded,
        phase: d.migration().map_or(Phase::Draft, |m| m.phase()),
        simulated_ms: d.now().0 - t0,
        writes,
        violation,
        trace_hash: d.trace_hash(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_run_commits_every_transport_and_repeats_itself() {
        for t in [Transport::SnapshotAndLog, Transport::ClientApi { target_is_zoolab: true }] {
            let mut phases = Vec::new();
            let run = migrate_under_load(2_000, t, |p, _| phases.push(p));
            assert_eq!(run.violation, None, "{t:?}");
            assert_eq!(run.phase, Phase::Committed, "{t:?}");
            assert!(run.loaded >= 2_101, "{run:?}");
            assert!(run.writes > 0, "{run:?}");
            assert_eq!(phases.first(), Some(&Phase::Draft));
            assert!(phases.contains(&Phase::Freeze) && phases.contains(&Phase::CutOver), "{phases:?}");
            let again = migrate_under_load(2_000, t, |_, _| {});
            assert_eq!(again, run, "the same workload must give the same run");
        }
    }
}
