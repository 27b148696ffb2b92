//! The fault sweep: random clusters, random client writes, random faults; then the
//! faults stop and the live servers must converge.
//!
//! For one seed, [`run`] builds a random world (3–7 voters, 0–2 observers, a random
//! network and small snapshot/commit-log sizes so that SNAP and txn-log syncs happen),
//! then for `fault_ms` of simulated time alternates random writes with random faults
//! (crashes, above all of the leader; restarts; pauses; partitions, symmetric and
//! one-way; loss and duplication). Then it heals everything, restarts every server and
//! requires, within `settle_ms`: no invariant broken at any step, an established
//! leader, a new write committed, and every server serving with the same applied zxid
//! and digest. A failure carries the seed and the command that replays it.
//!
//! With [`FuzzOptions::reconfig`] ([`sweep_reconfig`], on the data tree) the world also
//! has spares and the schedule mixes in random reconfigurations (new memberships,
//! servers added, removed, turned into observers or back, the leader included),
//! all proposed through ZAB under the same faults.

use super::{ClientWrite, ClusterSpec, NetConfig, World, WorldConfig};
use crate::ids::{ServerId, SessionId};
use crate::tree::{Acl, AuthInfo, Create, CreateMode, WriteRequest};
use crate::zab::registers::{RegRequest, Registers};
use crate::zab::zkdb::{ReconfigRequest, ZkDatabase, ZkRequest};
use crate::zab::{Bugs, Replicated, ServerConfig};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use std::fmt;

/// A replicated state the sweep can write to: random requests from a seeded stream.
pub trait Fuzzable: Replicated {
    /// The `n`th random write of a run (`draw` is a fresh random number).
    fn random_request(n: u64, draw: u64) -> Self::Request;
    /// The write that proves, once faults stop, that the ensemble commits again.
    fn final_request() -> Self::Request;
    /// A random reconfiguration of a cluster of `servers` servers (with whatever must
    /// precede it, in order), if this state knows configurations.
    fn random_reconfig(_draw: u64, _servers: u64) -> Vec<Self::Request> {
        Vec::new()
    }
    /// Called just before a random request is submitted to server `at`, for what a
    /// client would do first (nothing by default).
    fn before_request(_w: &mut World<Self>, _at: ServerId, _request: &Self::Request) {}
}

impl Fuzzable for Registers {
    fn random_request(n: u64, draw: u64) -> RegRequest {
        let key = (n % 8) as u32;
        if draw.is_multiple_of(2) {
            RegRequest::Set { key, value: (draw >> 1) % 1000 }
        } else {
            RegRequest::Add { key, delta: 1 }
        }
    }

    fn final_request() -> RegRequest {
        RegRequest::Add { key: 99, delta: 1 }
    }
}

/// Sessions the tree sweep writes from (ids 1..=4).
const FUZZ_SESSIONS: u64 = 4;

impl Fuzzable for ZkDatabase {
    /// Session starts and ends, creates (persistent, sequential, ephemeral) and
    /// deletes under `/f`, and data changes with and without versions: the requests
    /// whose preparation depends on outstanding proposals.
    fn random_request(n: u64, draw: u64) -> ZkRequest {
        let session = SessionId(1 + ((draw >> 8) % FUZZ_SESSIONS) as i64);
        let path = format!("/f{}", (draw >> 16) % 6);
        let create = |mode: CreateMode, path: String| {
            WriteRequest::Create(Create {
                path,
                data: n.to_le_bytes().to_vec().into(),
                acl: Acl::open_unsafe(),
                mode,
                ttl: None,
            })
        };
        let request = match draw % 16 {
            0 => WriteRequest::CreateSession { timeout_ms: 4_000 },
            1 => WriteRequest::CloseSession,
            2..=4 => create(CreateMode::Persistent, path),
            5 | 6 => create(CreateMode::Ephemeral, path),
            7 => create(CreateMode::PersistentSequential, format!("{path}/s-")),
            8 => create(CreateMode::EphemeralSequential, "/f0/e-".into()),
            9..=11 => WriteRequest::SetData { path, data: draw.to_le_bytes().to_vec().into(), version: -1 },
            12 => WriteRequest::SetData { path, data: vec![1].into(), version: ((draw >> 24) % 3) as i32 },
            _ => WriteRequest::Delete { path, version: -1 },
        };
        ZkRequest::write(session, AuthInfo::from_ip("10.0.0.1"), request)
    }

    /// The sweep sends a session's requests through random servers: as a client that
    /// reconnected there would, the session moves to `at` first (the leader's
    /// revalidation). Requests of the session still in flight from its previous server
    /// are then refused with SESSIONMOVED, as in ZooKeeper.
    fn before_request(w: &mut World<ZkDatabase>, at: ServerId, request: &ZkRequest) {
        let Some(leader) = w.leader(0) else { return };
        let epoch = w.servers().iter().find(|v| v.id == leader).map(|v| v.epoch);
        if let (Some(epoch), Some(db)) = (epoch, w.state_mut_in(0, leader)) {
            db.revalidate(request.session, at, epoch);
        }
    }

    fn final_request() -> ZkRequest {
        ZkRequest {
            session: SessionId(0),
            auth: AuthInfo::default(),
            request: WriteRequest::SetData { path: "/".into(), data: b"settled".into(), version: -1 },
            reconfig: None,
            ttl_enabled: true,
        }
    }

    /// Half the time a whole new membership (each server a participant, an observer
    /// or out, at least one participant), otherwise one server added (as participant
    /// or observer) or removed.
    fn random_reconfig(draw: u64, servers: u64) -> Vec<ZkRequest> {
        let spec = |id: u64, observer: bool| {
            let role = if observer { ":observer" } else { "" };
            format!("server.{id}=server{id}:2888:3888{role};2181")
        };
        let id = 1 + (draw >> 8) % servers;
        let r = match draw % 4 {
            0 | 1 => {
                let mut members = Vec::new();
                for i in 1..=servers {
                    match (draw >> (16 + 2 * i)) % 4 {
                        0 | 1 => members.push(spec(i, false)),
                        2 => members.push(spec(i, true)),
                        _ => {}
                    }
                }
                if !members.iter().any(|m| !m.ends_with(":observer;2181")) {
                    members.push(spec(id, false));
                }
                ReconfigRequest {
                    members: Some(members.join(",")),
                    from_config: -1,
                    ..ReconfigRequest::default()
                }
            }
            2 => ReconfigRequest {
                joining: Some(spec(id, (draw >> 12).is_multiple_of(3))),
                from_config: -1,
                ..ReconfigRequest::default()
            },
            _ => ReconfigRequest {
                leaving: Some(id.to_string()),
                from_config: -1,
                ..ReconfigRequest::default()
            },
        };
        // Its own session, (re)started just before: the reconfig is not refused for
        // a session the faults closed.
        let session = SessionId(1 + FUZZ_SESSIONS as i64);
        let auth = AuthInfo::from_ip("10.0.0.1");
        vec![
            ZkRequest::write(session, auth.clone(), WriteRequest::CreateSession { timeout_ms: 4_000 }),
            ZkRequest::reconfig(session, auth, r),
        ]
    }
}

/// How hard to shake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FuzzOptions {
    /// Deliberately broken behaviours to switch on.
    pub bugs: Bugs,
    /// How long faults go on (simulated ms).
    pub fault_ms: u64,
    /// How long the world has to converge after them (simulated ms).
    pub settle_ms: u64,
    /// Bound on events for the whole run.
    pub max_steps: u64,
    /// Trace records kept (the tail shown on failure).
    pub trace_capacity: usize,
    /// Spares in the world and random reconfigurations among the faults.
    pub reconfig: bool,
}

impl Default for FuzzOptions {
    fn default() -> Self {
        FuzzOptions {
            bugs: Bugs::default(),
            fault_ms: 20_000,
            settle_ms: 30_000,
            max_steps: 5_000_000,
            trace_capacity: 64,
            reconfig: false,
        }
    }
}

/// A failing seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuzzFailure {
    /// The seed.
    pub seed: u64,
    /// The step at which it failed.
    pub step: u64,
    /// What went wrong.
    pub what: String,
    /// The last trace lines before the failure.
    pub tail: Vec<String>,
    /// The deliberate bugs that were on.
    pub bugs: Bugs,
    /// Whether the sweep reconfigured ([`FuzzOptions::reconfig`]).
    pub reconfig: bool,
}

impl FuzzFailure {
    /// The command that replays this seed.
    pub fn replay_command(&self) -> String {
        let reconfig = if self.reconfig { "ZOOLAB_FUZZ_RECONFIG=1 " } else { "" };
        let bug = match self.bugs {
            Bugs { commit_without_quorum: true, .. } => "ZOOLAB_FUZZ_BUG=commit_without_quorum ",
            Bugs { skip_trunc: true, .. } => "ZOOLAB_FUZZ_BUG=skip_trunc ",
            Bugs { elect_by_id: true, .. } => "ZOOLAB_FUZZ_BUG=elect_by_id ",
            Bugs { skip_joint_quorum: true, .. } => "ZOOLAB_FUZZ_BUG=skip_joint_quorum ",
            _ => "",
        };
        format!(
            "{reconfig}{bug}ZOOLAB_FUZZ_SEED={} cargo test -p zoolab-core --test fuzz replay -- --nocapture",
            self.seed
        )
    }
}

impl fmt::Display for FuzzFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "seed {} failed at step {}: {}", self.seed, self.step, self.what)?;
        writeln!(f, "replay: {}", self.replay_command())?;
        for line in &self.tail {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}

/// What a passing seed did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FuzzReport {
    /// Voters and observers.
    pub servers: (u64, u64),
    /// Events processed.
    pub steps: u64,
    /// Writes answered.
    pub replies: u64,
    /// The trace hash.
    pub trace_hash: u64,
    /// The version of the leader's committed configuration at the end (0 when no
    /// reconfiguration committed).
    pub config_version: u64,
}

fn pick(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    rng.next_u64() % n.max(1)
}

/// The world a seed builds, before any fault (replicating [`Registers`]).
pub fn world_for(seed: u64, bugs: Bugs, trace_capacity: usize) -> World<Registers> {
    world_of(seed, bugs, trace_capacity)
}

/// The world a seed builds, before any fault, replicating any state.
pub fn world_of<R: Replicated>(seed: u64, bugs: Bugs, trace_capacity: usize) -> World<R> {
    world_with::<R>(seed, bugs, trace_capacity, false)
}

fn world_with<R: Replicated>(seed: u64, bugs: Bugs, trace_capacity: usize, spares: bool) -> World<R> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_f022);
    let participants = 3 + pick(&mut rng, 5);
    let observers = pick(&mut rng, 3);
    // (Drawn last, and only with spares, so that other sweeps' worlds stay the same.)
    let mut spares = if spares { Some(0) } else { None };
    let server = ServerConfig {
        snap_count: 5 + pick(&mut rng, 40),
        commit_log_count: 2 + pick(&mut rng, 20) as usize,
        txn_log_sync: pick(&mut rng, 2) == 0,
        bugs,
        ..ServerConfig::default()
    };
    let max_latency = 1 + pick(&mut rng, 20);
    let net = NetConfig {
        latency_min_ms: 1,
        latency_max_ms: max_latency,
        loss_ppm: 0,
        duplicate_ppm: 0,
        reorder: pick(&mut rng, 2) == 0,
        tail_ppm: 0,
        tail_ms: 0,
    };
    if let Some(s) = spares.as_mut() {
        *s = 1 + pick(&mut rng, 3);
    }
    let cfg = WorldConfig {
        clusters: vec![ClusterSpec { participants, observers, spares: spares.unwrap_or(0) }],
        server,
        net,
        trace_capacity,
        ..WorldConfig::default()
    };
    World::new(cfg, seed)
}

fn fail<R: Replicated>(w: &World<R>, what: String) -> FuzzFailure {
    let (step, what) = match w.violation() {
        Some(v) => (v.step, v.what.clone()),
        None => (w.steps(), what),
    };
    FuzzFailure {
        seed: w.seed(),
        step,
        what,
        tail: w.trace().iter().map(|e| e.to_string()).collect(),
        bugs: w.config().server.bugs,
        reconfig: w.config().clusters[0].spares > 0,
    }
}

/// Runs one seed (replicating [`Registers`]).
pub fn run(seed: u64, opts: &FuzzOptions) -> Result<FuzzReport, FuzzFailure> {
    run_with::<Registers>(seed, opts)
}

/// Runs one seed, replicating `R` (e.g. [`ZkDatabase`], the data tree).
pub fn run_with<R: Fuzzable>(seed: u64, opts: &FuzzOptions) -> Result<FuzzReport, FuzzFailure> {
    let mut w = world_with::<R>(seed, opts.bugs, opts.trace_capacity, opts.reconfig);
    drive(&mut w, seed, opts)
}

/// Runs one seed on a world made by [`world_for`] or [`world_of`], leaving it for
/// inspection.
pub fn drive<R: Fuzzable>(
    w: &mut World<R>,
    seed: u64,
    opts: &FuzzOptions,
) -> Result<FuzzReport, FuzzFailure> {
    let w = &mut *w;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xfa17_5eed);
    let spec = w.config().clusters[0];
    let n = spec.participants + spec.observers + spec.spares;
    let base_net = w.config().net;
    let mut budget = opts.max_steps;
    let mut n_writes = 0u64;
    while w.now() < opts.fault_ms {
        if opts.reconfig && pick(&mut rng, 8) == 0 {
            let at = ServerId(1 + pick(&mut rng, n));
            for r in R::random_reconfig(rng.next_u64(), n) {
                w.write(at, r);
            }
        }
        let id = ServerId(1 + pick(&mut rng, n));
        match pick(&mut rng, 100) {
            0..=49 => {
                // A burst of writes to random servers: pipelined proposals.
                for _ in 0..1 + pick(&mut rng, 6) {
                    n_writes += 1;
                    let request = R::random_request(n_writes, rng.next_u64());
                    let at = ServerId(1 + pick(&mut rng, n));
                    R::before_request(w, at, &request);
                    w.write(at, request);
                }
            }
            50..=59 => {
                // Crash the leader most of the time: recovery is where ZAB is subtle.
                let victim = match w.leader(0) {
                    Some(l) if pick(&mut rng, 3) > 0 => l,
                    _ => id,
                };
                w.kill(victim);
            }
            60..=71 => w.restart(id),
            72..=75 => w.pause(id, 100 + pick(&mut rng, 2_000)),
            76..=81 => {
                let mut a = Vec::new();
                let mut b = Vec::new();
                for i in 1..=n {
                    if pick(&mut rng, 2) == 0 {
                        a.push(ServerId(i));
                    } else {
                        b.push(ServerId(i));
                    }
                }
                w.partition(&[&a, &b]);
            }
            82..=84 => {
                let to = ServerId(1 + pick(&mut rng, n));
                if to != id {
                    w.block(id, to);
                }
            }
            85..=91 => w.heal(),
            92..=95 => {
                let mut net = base_net;
                net.loss_ppm = pick(&mut rng, 30_000) as u32;
                net.duplicate_ppm = pick(&mut rng, 20_000) as u32;
                net.tail_ppm = pick(&mut rng, 50_000) as u32;
                net.tail_ms = pick(&mut rng, 1_000);
                w.set_network(net);
            }
            _ => w.set_network(base_net),
        }
        let until = w.now() + 20 + pick(&mut rng, 400);
        budget = budget.saturating_sub(w.run_until(until, budget));
        if w.violation().is_some() || budget == 0 {
            return Err(fail(w, "step budget exhausted during faults".into()));
        }
    }
    // Faults stop.
    w.heal();
    w.set_network(base_net);
    for i in 1..=n {
        w.restart(ServerId(i));
    }
    let deadline = w.now() + opts.settle_ms;
    let mut final_write = None;
    while w.now() < deadline {
        budget = budget.saturating_sub(w.run_for(200, budget));
        if w.violation().is_some() || budget == 0 {
            return Err(fail(w, "step budget exhausted while settling".into()));
        }
        let Some(leader) = w.leader(0) else { continue };
        match final_write.and_then(|r| w.write_status(r)) {
            None | Some(ClientWrite::Refused) => {
                final_write = Some(w.write(leader, R::final_request()));
            }
            Some(ClientWrite::Pending) => {}
            Some(ClientWrite::Ok(_)) => {
                let views = w.servers();
                let l = views.iter().find(|v| v.id == leader).expect("the leader");
                if views.iter().all(|v| v.serving && v.applied_zxid == l.applied_zxid && v.digest == l.digest)
                {
                    return Ok(FuzzReport {
                        servers: (spec.participants, spec.observers),
                        steps: w.steps(),
                        replies: w.stats().replies,
                        trace_hash: w.trace_hash(),
                        config_version: w.server(0, leader).map_or(0, |s| s.config().version),
                    });
                }
            }
        }
    }
    let views: Vec<String> = w
        .servers()
        .iter()
        .map(|v| {
            let config = w.server(0, v.id).map_or(String::new(), |s| {
                let pending =
                    s.pending_config().map_or(String::new(), |p| format!(" pending={:x}", p.version));
                let voters: Vec<String> = s.quorum().voters().iter().map(ToString::to_string).collect();
                format!(" config={:x}{pending} voters={}", s.config().version, voters.join(","))
            });
            format!("s{} {} applied={} digest={:x}{config}", v.id, v.role, v.applied_zxid, v.digest)
        })
        .collect();
    Err(fail(
        w,
        format!("no convergence {} ms after the faults stopped: {}", opts.settle_ms, views.join("; ")),
    ))
}

/// Runs seeds `from..from + count`, stopping at the first failure.
pub fn sweep(from: u64, count: u64, opts: &FuzzOptions) -> Result<Vec<FuzzReport>, FuzzFailure> {
    (from..from + count).map(|seed| run(seed, opts)).collect()
}

/// [`sweep`] over the data tree with spares and random reconfigurations.
pub fn sweep_reconfig(from: u64, count: u64, opts: &FuzzOptions) -> Result<Vec<FuzzReport>, FuzzFailure> {
    let opts = FuzzOptions { reconfig: true, ..*opts };
    (from..from + count).map(|seed| run_with::<ZkDatabase>(seed, &opts)).collect()
}

/// [`sweep`] over the data tree ([`ZkDatabase`]).
pub fn sweep_tree(from: u64, count: u64, opts: &FuzzOptions) -> Result<Vec<FuzzReport>, FuzzFailure> {
    (from..from + count).map(|seed| run_with::<ZkDatabase>(seed, opts)).collect()
}
