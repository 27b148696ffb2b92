//! The simulator's side of a migration: it runs a [`Controller`] after every step, tells
//! it about the clients, carries out its requests (clients' connect strings switched
//! at cut-over, moved back on rollback), and exposes the migration to the scenario
//! runner.

use super::{Conn, SimDriver};
use crate::ids::{ServerId, Zxid};
use crate::migration::phase::Phase;
use crate::migration::sim::{Clients, Controller, Plan, Request};

impl SimDriver {
    /// The migration, if one was started.
    pub fn migration(&self) -> Option<&Controller> {
        self.migration.as_ref()
    }

    /// The index of a cluster by name.
    pub fn cluster_index(&self, name: &str) -> Option<usize> {
        self.clusters.iter().position(|c| c == name)
    }

    /// The link latency between two clusters (`link a <-> b latency …`; 0 if none).
    pub fn link_latency(&self, a: usize, b: usize) -> u64 {
        self.links.get(&(a.min(b), a.max(b))).copied().unwrap_or(0)
    }

    /// Whether cluster `c`'s leader holds its sessions' clocks: the target of a
    /// migration before its clients move holds imported sessions whose clients are still
    /// on the source; expiring them there would delete their ephemerals behind the
    /// copy's back. Their timeouts restart at cut-over (research §4.4, S-import).
    pub(super) fn sessions_held(&self, c: usize) -> bool {
        self.migration
            .as_ref()
            .is_some_and(|m| m.plan().target == c && m.phase() >= Phase::Preflight && m.phase() < Phase::Soak)
    }

    /// Loads nodes into a cluster in bulk through its leader's ZAB (benchmarks, big
    /// fixtures): the migration import path, without a migration. `None`: no leader.
    pub fn import_into(&mut self, cluster: usize, imp: crate::tree::Import) -> Option<u64> {
        let leader = self.world.leader(cluster)?;
        let request = crate::zab::zkdb::ZkRequest::write(
            crate::ids::SessionId(0),
            crate::tree::AuthInfo::from_ip("127.0.0.1"),
            crate::tree::WriteRequest::Import(imp),
        );
        Some(self.world.write_in(cluster, leader, request))
    }

    /// Cuts or restores the link between the migration's clusters.
    pub fn set_migration_link(&mut self, up: bool) {
        if let Some(m) = self.migration.as_mut() {
            m.set_link(up);
        }
        self.pump();
    }

    /// Starts a migration in draft (replacing none: one migration per run).
    pub fn start_migration(&mut self, mut plan: Plan) -> Result<(), String> {
        let b = self.broken_migration;
        plan.broken.skip_final_sync |= b.skip_final_sync;
        plan.broken.cut_over_before_verify |= b.cut_over_before_verify;
        plan.broken.no_zxid_raise |= b.no_zxid_raise;
        plan.broken.ephemerals_as_persistent |= b.ephemerals_as_persistent;
        if self.migration.as_ref().is_some_and(|m| m.phase().reversible()) {
            return Err("a migration is already running".into());
        }
        let now = self.world.now();
        self.lines.push(format!(
            "t={now} migration of {} from {} to {} via {} (sessions {})",
            plan.subtree,
            self.clusters[plan.source],
            self.clusters[plan.target],
            plan.transport,
            plan.sessions
        ));
        self.migration = Some(Controller::new(plan));
        self.pump();
        Ok(())
    }

    fn clients_info(&self, m: &Controller) -> Clients {
        let p = m.plan();
        let mut info = Clients::default();
        for cl in &self.clients {
            info.max_zxid = info.max_zxid.max(cl.last_zxid);
            if cl.servers.iter().any(|s| s.0 == p.source) {
                info.on_source += 1;
            }
            if cl.servers.iter().any(|s| s.0 == p.target) {
                info.on_target += 1;
            }
        }
        info
    }

    /// Runs the controller's background work and checks; called after every step.
    pub(super) fn pump_migration(&mut self) {
        let Some(mut m) = self.migration.take() else { return };
        let info = self.clients_info(&m);
        let requests = m.tick(&mut self.world, info);
        let now = self.world.now();
        for line in m.take_lines() {
            self.lines.push(format!("t={now} {line}"));
        }
        self.migration = Some(m);
        for r in requests {
            match r {
                Request::MoveClients { from, to, expire } => self.move_clients(from, to, expire),
            }
        }
    }

    fn move_clients(&mut self, from: usize, to: usize, expire: bool) {
        // Every server of the cluster but the slots an observer join left behind (down,
        // outside the configuration).
        let servers: Vec<(usize, ServerId)> = self
            .world
            .servers_in(to)
            .iter()
            .filter(|v| v.member || v.role != crate::sim::Role::Down)
            .map(|v| (to, v.id))
            .collect();
        let now = self.world.now();
        for k in 0..self.clients.len() {
            if !self.clients[k].servers.iter().any(|s| s.0 == from) {
                continue;
            }
            self.clients[k].servers = servers.clone();
            self.clients[k].next = 0;
            let name = self.clients[k].name.clone();
            self.lines.push(format!("t={now} {name}'s connect string now points at {}", self.clusters[to]));
            if matches!(self.clients[k].conn, Conn::Connected { .. } | Conn::Creating { .. }) {
                self.disconnect(k, "connect string changed");
            }
            if expire {
                // The application opens a new handle: a new session on the target.
                self.event(k, "Expired", "");
                let cl = &mut self.clients[k];
                cl.session = None;
                cl.last_zxid = Zxid::ZERO;
                cl.conn = Conn::Disconnected { retry_at: now };
            }
        }
    }

    /// The evidence for leaving the current phase, measured now.
    pub fn migration_evidence(&self) -> Option<crate::migration::phase::Evidence> {
        let m = self.migration.as_ref()?;
        Some(m.evidence(&self.world, self.clients_info(m)))
    }

    /// What the migration has done so far (see [`Controller::progress`]), if one was started.
    pub fn migration_progress(&self) -> Option<crate::migration::status::Progress> {
        let m = self.migration.as_ref()?;
        Some(m.progress(&self.world, self.clients_info(m)))
    }

    /// Tries to leave the current phase once (`migration step`).
    pub fn migration_step(&mut self) -> Result<Phase, String> {
        let Some(mut m) = self.migration.take() else { return Err("no migration".into()) };
        let info = self.clients_info(&m);
        let r = m.step(&self.world, info);
        self.migration = Some(m);
        self.pump();
        r
    }

    /// Starts the rollback (`migration abort`).
    pub fn migration_abort(&mut self, why: &str) -> Result<Phase, String> {
        let Some(mut m) = self.migration.take() else { return Err("no migration".into()) };
        let r = m.abort(&self.world, why);
        self.migration = Some(m);
        self.pump();
        r
    }

    /// Runs the world and advances the migration until it reaches `until` (or a final
    /// phase), for at most `within_ms` of simulated time. Returns the phase reached.
    pub fn migration_run(&mut self, until: Option<Phase>, within_ms: u64) -> Result<Phase, String> {
        let deadline = self.world.now() + within_ms;
        loop {
            let Some(m) = self.migration.as_ref() else { return Err("no migration".into()) };
            let phase = m.phase();
            if Some(phase) == until || matches!(phase, Phase::Committed | Phase::RolledBack) {
                return Ok(phase);
            }
            if self.world.violation().is_some() || m.violation().is_some() {
                let why = m
                    .violation()
                    .map(str::to_string)
                    .or_else(|| self.world.violation().map(|v| v.to_string()));
                return Err(format!("stopped in {phase}: {}", why.unwrap_or_default()));
            }
            if self.migration_step().is_ok() {
                continue;
            }
            if self.world.now() >= deadline {
                let Some(m) = self.migration.take() else { return Err("no migration".into()) };
                let info = self.clients_info(&m);
                let e = m.evidence(&self.world, info);
                let phase = m.phase();
                self.migration = Some(m);
                return Err(format!("still in {phase} after {within_ms} ms: {}", e.detail));
            }
            // Let 10 ms of simulated time pass.
            let t = self.world.now() + 10;
            while self.world.now() < t {
                let ran = self.world.run_until(t, 1) == 1;
                self.pump();
                if !ran {
                    break;
                }
            }
        }
    }
}

/// The scenario language's migration statements on the simulator.
pub(super) fn statement(
    d: &mut SimDriver,
    a: &crate::scenario::migrate::MigrationAction,
) -> Result<String, String> {
    use crate::migration::fidelity::Transport;
    use crate::migration::sim::SessionPolicy;
    use crate::scenario::migrate::{phase_word, MigrationAction};
    match a {
        MigrationAction::Start { source, target, via, subtree, sessions, into, conflict } => {
            let s = d.cluster_index(source).ok_or(format!("no cluster {source}"))?;
            let t = d.cluster_index(target).ok_or(format!("no cluster {target}"))?;
            let transport = via.transport();
            // The client API cannot read the session table; the exact transports carry it.
            let default = match transport {
                Transport::ClientApi { .. } => SessionPolicy::Expire,
                Transport::SnapshotAndLog | Transport::ObserverJoin => SessionPolicy::Import,
            };
            let mut plan =
                Plan::new(s, t, subtree.as_deref().unwrap_or("/"), transport, sessions.unwrap_or(default));
            plan.latency_ms = d.link_latency(s, t);
            if let Some(y) = into {
                plan.target_subtree = y.clone();
            }
            plan.conflict = conflict.unwrap_or_default();
            d.start_migration(plan)?;
            Ok(match into {
                Some(y) => format!(
                    "migration of {} from {source} to {target} (into {y}) in draft",
                    subtree.as_deref().unwrap_or("/")
                ),
                None => format!(
                    "migration of {} from {source} to {target} in draft",
                    subtree.as_deref().unwrap_or("/")
                ),
            })
        }
        MigrationAction::Step => {
            let from = d.migration().map(|m| m.phase()).ok_or("no migration")?;
            let to = d.migration_step()?;
            let detail =
                d.migration().and_then(|m| m.migration().journal().last().map(|j| j.evidence.clone()));
            Ok(format!("{} -> {}: {}", phase_word(from), phase_word(to), detail.unwrap_or_default()))
        }
        MigrationAction::Abort => {
            let to = d.migration_abort("operator abort")?;
            Ok(format!("rollback started: {}", phase_word(to)))
        }
        MigrationAction::Run { .. } => Err("the runner runs `migration run` step by step".into()),
    }
}
