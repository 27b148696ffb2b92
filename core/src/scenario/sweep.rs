//! The client sweep: random client workloads under random faults on the scenario
//! simulator (ZooKeeper's tree under ZAB, simulated clients with sessions, ephemerals
//! and watches), every history judged by the history checker ([`crate::checker`]).
//!
//! For one seed, [`scenario`] writes a scenario: 3–5 servers, 2–4 clients on the whole
//! cluster, sixty random steps (creates of every plain kind, sets, deletes, reads with
//! watches, syncs; crashes, restarts, partitions, pauses, client disconnections), then
//! everything healed and restarted and ten quiet seconds. [`run`] plays it and requires
//! that its expectations and ZAB's invariants hold, that no server keeps an ephemeral of
//! a closed session, and that the checker finds no rule broken in the clients' history.
//! A failure names the seed and the command that replays it.

use super::{parse, sim, Bug};
use crate::checker::Verdict;
use crate::tree::NodeKind;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use std::collections::BTreeMap;
use std::fmt;

/// What one seed's run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Client operations in the checked history.
    pub operations: usize,
    /// Watch and session events in it.
    pub events: usize,
    /// Completions by kind: `ok`, or the error's name (`CONNECTIONLOSS`, …).
    pub tally: BTreeMap<String, u64>,
    /// The checker ran out of budget (no violation found, none excluded).
    pub unknown: Option<String>,
}

/// A seed that broke something.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The seed.
    pub seed: u64,
    /// What broke, explained.
    pub message: String,
    /// The bugs switched on.
    pub bugs: Vec<Bug>,
    /// The client latency it ran with (ms; 0: none).
    pub client_latency_ms: u64,
}

impl Failure {
    /// The command that replays this seed.
    pub fn replay_command(&self) -> String {
        let mut flags: String = self.bugs.iter().map(|b| format!(" --bug {}", b.name())).collect();
        if self.client_latency_ms > 0 {
            flags += &format!(" --client-latency-ms {}", self.client_latency_ms);
        }
        format!("zoolab fuzz --state clients --from {} --seeds 1{flags}", self.seed)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seed {}: {}\nreplay: {}", self.seed, self.message, self.replay_command())
    }
}

fn pick(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    rng.next_u64() % n
}

/// The scenario of one seed (with `bugs` switched on).
pub fn scenario(seed: u64, bugs: &[Bug]) -> String {
    scenario_with(seed, bugs, 0)
}

/// The scenario of one seed, its clients `client_latency_ms` away from the servers
/// (`network client latency …`; 0 writes the same scenario as [`scenario`]).
pub fn scenario_with(seed: u64, bugs: &[Bug], client_latency_ms: u64) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x00c1_1e47);
    let n = 3 + pick(&mut rng, 3);
    let clients = 2 + pick(&mut rng, 3);
    let mut s = format!("seed {seed}\n");
    if client_latency_ms > 0 {
        s += &format!("network client latency {client_latency_ms}ms\n");
    }
    for b in bugs {
        s += &format!("bug {}\n", b.name());
    }
    s += &format!("cluster a with {n} servers\n");
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

/// Plays one seed and judges it.
pub fn run(seed: u64, bugs: &[Bug]) -> Result<Outcome, Failure> {
    run_with(seed, bugs, 0)
}

/// Plays one seed with its clients `client_latency_ms` away (see [`scenario_with`]).
pub fn run_with(seed: u64, bugs: &[Bug], client_latency_ms: u64) -> Result<Outcome, Failure> {
    let fail = |message: String| Failure { seed, message, bugs: bugs.to_vec(), client_latency_ms };
    let text = scenario_with(seed, bugs, client_latency_ms);
    let sc = parse(&text).map_err(|e| fail(format!("the generated scenario does not parse: {e}")))?;
    let mut r = sim::runner(&sc, Default::default()).map_err(fail)?;
    r.run_all();
    let report = r.report();
    if !report.passed() {
        return Err(fail(report.summary()));
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
                    return Err(fail(format!("a{} keeps {path} of closed session 0x{:x}", v.id, owner.0)));
                }
            }
        }
    }
    let (history, checked) = r.driver().check_history_of(0);
    let mut outcome =
        Outcome { operations: history.operations.len(), events: history.events.len(), ..Outcome::default() };
    match checked.verdict {
        Verdict::Ok => {}
        Verdict::Unknown { reason } => outcome.unknown = Some(reason),
        Verdict::Violated(found) => {
            let explained: Vec<String> = found.iter().take(2).map(|v| v.explain(&history)).collect();
            return Err(fail(format!("the history checker: {}", explained.join("\n"))));
        }
    }
    for op in r.driver().history() {
        let word = match &op.result {
            super::run::OpStatus::Ok(_) => "ok".to_string(),
            super::run::OpStatus::Failed(e) => e.clone(),
            super::run::OpStatus::Pending => "pending".to_string(),
        };
        *outcome.tally.entry(word).or_default() += 1;
    }
    Ok(outcome)
}
