//! The migration fault sweep: a random migration (transport, session policy, subtree,
//! latency) under random client load and random faults — servers killed on either
//! side mid-phase, the link between the clusters cut, leaders killed, an operator's
//! abort — every rule checked after every step; the run must end committed or rolled
//! back once the faults stop. Everything derives from the seed, so a failing seed
//! replays exactly: `ZOOLAB_MIGRATION_SEED=N cargo test -p zoolab-core --test
//! migration_sweep replay -- --nocapture`.

use super::fidelity::Transport;
use super::phase::Phase;
use super::sim::{Plan, SessionPolicy};
use crate::scenario::run::Driver;
use crate::scenario::sim::SimDriver;
use crate::scenario::{Millis, ServerName};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// What one seed did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The seed.
    pub seed: u64,
    /// The plan, in words.
    pub plan: String,
    /// The faults and aborts injected, in order.
    pub events: Vec<String>,
    /// The phase it ended in.
    pub phase: Phase,
    /// The broken rule (ZAB's or the migration's), or a migration that never finished.
    pub failure: Option<String>,
    /// Simulated time at the end (ms).
    pub end_ms: u64,
}

fn pick(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    rng.next_u64() % n.max(1)
}

fn cmd(d: &mut SimDriver, client: &str, text: &str) {
    if let Ok(c) = crate::zkcli::parse(text) {
        let _ = d.submit(client, &c, &mut Vec::new());
    }
}

fn advance(d: &mut SimDriver, ms: u64) {
    let until = Millis(d.now().0 + ms);
    let mut t = Vec::new();
    while d.step_until(until, &mut t) {
        t.clear();
    }
}

/// Runs one seed.
pub fn run(seed: u64) -> Outcome {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x006d_6967_7261_7465);
    let latency = [0, 5, 20, 40][pick(&mut rng, 4) as usize];
    let text = format!(
        "scenario \"sweep\"\nseed {seed}\ncluster a with 3 servers\ncluster b with 3 servers\n\
         link a <-> b latency {latency}ms\nclient c1 connects to a\nclient c2 connects to a\n"
    );
    let sc = crate::scenario::parse(&text).expect("the sweep's world parses");
    let mut d = SimDriver::new(&sc).expect("the sweep's world builds");
    let mut events = Vec::new();
    advance(&mut d, 1_000);
    // Data that breaks copy tools: counters ahead of children, ephemerals, containers,
    // versions, ACLs.
    cmd(&mut d, "c1", "create /app x");
    cmd(&mut d, "c1", "create /app/locks x");
    cmd(&mut d, "c1", "create /other o");
    for _ in 0..pick(&mut rng, 4) + 1 {
        cmd(&mut d, "c1", "create -s /app/locks/n- x");
    }
    cmd(&mut d, "c1", "delete /app/locks/n-0000000000");
    cmd(&mut d, "c1", "create -e /app/member c1");
    cmd(&mut d, "c2", "create -c /app/jobs x");
    cmd(&mut d, "c2", "create /app/acl x world:anyone:cdrwa");
    cmd(&mut d, "c2", "setAcl /app/acl world:anyone:cdrwa");
    advance(&mut d, 500);
    let transport = Transport::ALL[pick(&mut rng, Transport::ALL.len() as u64) as usize];
    let sessions = match transport {
        Transport::ClientApi { .. } => SessionPolicy::Expire,
        // Observers replicate the session table.
        Transport::ObserverJoin => SessionPolicy::Import,
        _ if pick(&mut rng, 2) == 0 => SessionPolicy::Import,
        _ => SessionPolicy::Expire,
    };
    let subtree = if pick(&mut rng, 2) == 0 || transport == Transport::ObserverJoin { "/" } else { "/app" };
    let mut plan = Plan::new(0, 1, subtree, transport, sessions);
    plan.latency_ms = latency;
    plan.batch = [20, 50, 500][pick(&mut rng, 3) as usize];
    plan.soak_ms = 200;
    let plan_text =
        format!("{subtree} via {transport}, sessions {sessions}, latency {latency}ms, batch {}", plan.batch);
    d.start_migration(plan).expect("a fresh migration starts");
    let abort_at = if pick(&mut rng, 4) == 0 { Some(pick(&mut rng, 9)) } else { None };
    let mut down: Option<(String, u8, u64)> = None;
    let mut cut_until: Option<u64> = None;
    let fault_budget = pick(&mut rng, 4);
    let mut faults = 0;
    let t0 = d.now().0;
    let mut n = 0u64;
    let mut aborted = false;
    loop {
        let now = d.now().0;
        let phase = d.migration().map_or(Phase::Draft, |m| m.phase());
        if matches!(phase, Phase::Committed | Phase::RolledBack) || d.violation().is_some() {
            break;
        }
        if now > t0 + 60_000 {
            break;
        }
        n += 1;
        // Load: one client command every ~30 ms.
        if n.is_multiple_of(3) {
            let c = if pick(&mut rng, 2) == 0 { "c1" } else { "c2" };
            let k = pick(&mut rng, 6);
            let line = match pick(&mut rng, 6) {
                0 => format!("create /app/k{k} v{n}"),
                1 => format!("set /app/k{k} w{n}"),
                2 => format!("delete /app/k{k}"),
                3 => "create -s /app/locks/n- x".to_string(),
                4 => format!("set /other o{n}"),
                _ => format!("get /app/k{k}"),
            };
            cmd(&mut d, c, &line);
        }
        // Faults, mid-phase, while the migration runs (the last ones heal).
        let in_flight = now < t0 + 20_000;
        if in_flight
            && faults < fault_budget
            && down.is_none()
            && cut_until.is_none()
            && pick(&mut rng, 40) == 0
        {
            faults += 1;
            match pick(&mut rng, 3) {
                0 | 1 => {
                    let cluster = if pick(&mut rng, 2) == 0 { "a" } else { "b" };
                    let id = match d.leader(cluster) {
                        Some(l) if pick(&mut rng, 2) == 0 => l.id,
                        _ => pick(&mut rng, 3) as u8 + 1,
                    };
                    let s = ServerName { cluster: cluster.into(), id };
                    events.push(format!("t={now} {phase}: kill {s}"));
                    let _ = d.act(&crate::scenario::run::Fault::Kill(s), &mut Vec::new());
                    down = Some((cluster.to_string(), id, now + 200 + pick(&mut rng, 1_500)));
                }
                _ => {
                    events.push(format!("t={now} {phase}: cut the link between a and b"));
                    d.set_migration_link(false);
                    cut_until = Some(now + 100 + pick(&mut rng, 1_000));
                }
            }
        }
        if let Some((c, id, until)) = down.clone() {
            if now >= until {
                let s = ServerName { cluster: c, id };
                events.push(format!("t={now} restart {s}"));
                let _ = d.act(&crate::scenario::run::Fault::Restart(s), &mut Vec::new());
                down = None;
            }
        }
        if cut_until.is_some_and(|u| now >= u) {
            events.push(format!("t={now} restore the link"));
            d.set_migration_link(true);
            cut_until = None;
        }
        if !aborted && abort_at.is_some_and(|k| phase == super::phase::FORWARD[k as usize]) {
            aborted = true;
            events.push(format!("t={now} {phase}: abort"));
            let _ = d.migration_abort("sweep");
            continue;
        }
        if d.migration_step().is_err() {
            advance(&mut d, 10);
        }
    }
    let phase = d.migration().map_or(Phase::Draft, |m| m.phase());
    let failure = d.violation().or_else(|| {
        (!matches!(phase, Phase::Committed | Phase::RolledBack)).then(|| {
            let e = d.migration_evidence().map(|e| e.detail).unwrap_or_default();
            format!("did not finish: still in {phase}: {e}")
        })
    });
    Outcome { seed, plan: plan_text, events, phase, failure, end_ms: d.now().0 }
}
