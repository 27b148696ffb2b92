//! A sweep of random client workloads under random faults on the scenario simulator
//! (the real tree, simulated clients and sessions): no ZAB invariant breaks, no panic,
//! and every session's history is in order — replies in the order the requests were
//! sent (FIFO), the zxids they carry never go backwards, and a watch fires at most
//! once per registration; a read after sync sees every write acknowledged before
//! the sync; no server keeps an ephemeral of a closed session. (The linearizability
//! checker of issue 6 will read the same histories: `SimDriver::history`.)
//!
//! More seeds: `ZOOLAB_CLIENT_SEEDS=<n>`.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use std::collections::BTreeMap;
use zoolab_core::scenario::run::OpStatus;
use zoolab_core::scenario::{parse, sim};
use zoolab_core::tree::NodeKind;

fn pick(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    rng.next_u64() % n
}

fn scenario(seed: u64) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x00c1_1e47);
    let n = 3 + pick(&mut rng, 3);
    let clients = 2 + pick(&mut rng, 3);
    let mut s = format!("seed {seed}\ncluster a with {n} servers\n");
    for c in 1..=clients {
        s += &format!("client c{c} connects to a\n");
    }
    s += "\nrun until a has a leader\n";
    for _ in 0..60 {
        let c = 1 + pick(&mut rng, clients);
        let id = 1 + pick(&mut rng, n);
        let p = pick(&mut rng, 4);
        s += &match pick(&mut rng, 40) {
            0..=5 => format!("c{c}: create /p{p} {}\n", pick(&mut rng, 100)),
            6..=8 => format!("c{c}: create -e /e{p} x\n"),
            9 => format!("c{c}: create -s -e /p0/n- x\n"),
            10..=13 => format!("c{c}: set /p{p} {}\n", pick(&mut rng, 100)),
            14..=17 => format!("c{c}: get -w /p{p}\n"),
            18 => format!("c{c}: ls -w /p0\n"),
            19 => format!("c{c}: sync /p{p}\n"),
            20 => format!("c{c}: delete /e{p}\n"),
            21 => format!("c{c}: stat -w /e{p}\n"),
            22 => format!("kill a{id}\n"),
            23 | 24 => format!("restart a{id}\n"),
            25 => format!("partition a{id} | a{}\n", 1 + (id % n)),
            26 | 27 => "heal\n".to_string(),
            28 => format!("disconnect c{c}\n"),
            29 => format!("reconnect c{c}\n"),
            30 => format!("pause a{id} for {}ms\n", 100 + pick(&mut rng, 1500)),
            _ => format!("run {}ms\n", 10 + pick(&mut rng, 800)),
        };
    }
    s += "heal\n";
    for id in 1..=n {
        s += &format!("restart a{id}\n");
    }
    for c in 1..=clients {
        s += &format!("reconnect c{c}\n");
    }
    s += "run 10s\nexpect a has a leader\nexpect invariants hold\n";
    s
}

fn check(seed: u64, tally: &mut BTreeMap<String, u64>) -> Result<(), String> {
    let text = scenario(seed);
    let sc = parse(&text).map_err(|e| format!("seed {seed}: {e}\n{text}"))?;
    let mut r = sim::runner(&sc, Default::default())?;
    r.run_all();
    let report = r.report();
    if !report.passed() {
        return Err(format!("seed {seed}:\n{}\n{text}", report.summary()));
    }
    // Every ephemeral on every server belongs to a session that server knows as live
    // (closeSession, by a client or by expiry, deleted the others).
    let world = r.driver().world();
    for v in world.servers() {
        let Some(server) = world.server(0, v.id) else { continue };
        let tree = server.state().tree();
        for (path, node) in tree.nodes() {
            if let NodeKind::Ephemeral(owner) = node.kind() {
                if !tree.sessions().contains_key(&owner) {
                    return Err(format!(
                        "seed {seed}: s{} keeps {path} of closed session 0x{:x}",
                        v.id, owner.0
                    ));
                }
            }
        }
    }
    // A watch fires at most once per registration: a client's watch events on a path
    // are at most its watch-setting reads of it (get/stat/ls -w) that reached a server.
    let history = r.driver().history();
    for v in r.driver().client_views() {
        let mut registered: BTreeMap<String, usize> = BTreeMap::new();
        for op in history.iter().filter(|o| o.client == v.name) {
            let mut words = op.command.split_whitespace();
            let (verb, flag, path) = (words.next(), words.next(), words.next());
            let reached =
                matches!(&op.result, OpStatus::Ok(_)) || op.result == OpStatus::Failed("NONODE".into());
            if matches!(verb, Some("get" | "stat" | "ls")) && flag == Some("-w") && reached {
                *registered.entry(path.unwrap_or_default().to_string()).or_default() += 1;
            }
        }
        let mut fired: BTreeMap<String, usize> = BTreeMap::new();
        for e in r.driver().client_events(&v.name).iter().filter(|e| e.event.starts_with("Node")) {
            *fired.entry(e.path.clone()).or_default() += 1;
        }
        for (path, n) in fired {
            let reg = registered.get(&path).copied().unwrap_or(0);
            if n > reg {
                return Err(format!("seed {seed}: {} saw {n} events on {path} for {reg} watches", v.name));
            }
        }
    }
    // A read right after a sync reflects every write acknowledged before the sync was
    // sent: the zxid it carries is at least theirs.
    let acked = |before: u64| {
        history
            .iter()
            .filter(|o| matches!(o.command.split(' ').next(), Some("create" | "set" | "delete")))
            .filter(|o| o.completed_ms.is_some_and(|t| t < before) && matches!(o.result, OpStatus::Ok(_)))
            .filter_map(|o| o.zxid)
            .max()
            .unwrap_or(0)
    };
    for (i, sync) in history.iter().enumerate() {
        if !sync.command.starts_with("sync ") || !matches!(sync.result, OpStatus::Ok(_)) {
            continue;
        }
        let next = history[i + 1..].iter().find(|o| o.client == sync.client && o.session == sync.session);
        if let Some(read) =
            next.filter(|o| o.command.starts_with("get ") && matches!(o.result, OpStatus::Ok(_)))
        {
            *tally.entry("(read after sync)".to_string()).or_default() += 1;
            let need = acked(sync.invoked_ms);
            if read.zxid.unwrap_or(0) < need {
                return Err(format!(
                    "seed {seed}: {read:?} after {sync:?} misses a write of zxid 0x{need:x}"
                ));
            }
        }
    }
    let mut by_session: BTreeMap<(String, i64), Vec<_>> = BTreeMap::new();
    for op in history {
        let outcome = match &op.result {
            OpStatus::Ok(_) => "ok".to_string(),
            OpStatus::Failed(e) => e.clone(),
            OpStatus::Pending => "pending".to_string(),
        };
        *tally.entry(outcome).or_default() += 1;
        if op.session != 0 {
            by_session.entry((op.client.clone(), op.session)).or_default().push(op);
        }
    }
    for ((client, session), ops) in by_session {
        let mut last_done = 0;
        let mut last_zxid = 0;
        for op in &ops {
            let Some(done) = op.completed_ms else { continue };
            if done < last_done {
                return Err(format!("seed {seed}: {client} (0x{session:x}) answered out of order: {op:?}"));
            }
            last_done = done;
            if let (OpStatus::Ok(_), Some(z)) = (&op.result, op.zxid) {
                if z < last_zxid {
                    return Err(format!(
                        "seed {seed}: {client} saw zxid 0x{z:x} after 0x{last_zxid:x}: {op:?}"
                    ));
                }
                last_zxid = z;
            }
        }
    }
    Ok(())
}

#[test]
fn random_clients_under_random_faults_keep_their_sessions_in_order() {
    let seeds = std::env::var("ZOOLAB_CLIENT_SEEDS").ok().and_then(|v| v.parse().ok()).unwrap_or(40);
    let mut tally = BTreeMap::new();
    for seed in 0..seeds {
        if let Err(e) = check(seed, &mut tally) {
            panic!("{e}");
        }
    }
    eprintln!("outcomes over {seeds} seeds: {tally:?}");
    // The workload does something: most operations succeed, some meet each failure.
    let count = |k: &str| tally.get(k).copied().unwrap_or(0);
    assert!(count("ok") > seeds * 5, "{tally:?}");
    assert!(count("CONNECTIONLOSS") > 0 && count("SESSIONEXPIRED") > 0 && count("NONODE") > 0, "{tally:?}");
}
