//! The observer-join transport in the simulator (exact): the target's servers join the
//! source ensemble as ZooKeeper observers and separate from it at the cut-over.
//!
//! As ZooKeeper does it (`Observer`, `LearnerHandler`, `QuorumPeer.reconfig`):
//! - **join**: each target server is started with an empty data directory and the
//!   source's dynamic configuration, under an id free in the source's configuration
//!   (target `s1` becomes source `s4` when the source has three servers); as a joiner it
//!   follows the source's leader without a vote and syncs (DIFF, TRUNC or SNAP, chosen
//!   by the leader's LearnerHandler logic in `zab::sync`), then a reconfiguration
//!   `-add server.N=…:observer` names it, committed through the source's own ZAB. From
//!   then on it receives the commit stream (INFORM), so its tree is the source's, byte
//!   for byte: Stat, internal cversions, container and TTL types, ACLs, the session
//!   table, and ZooKeeper's digest;
//! - **separate** (cut-over): after the freeze, a reconfiguration `-remove` takes them
//!   out of the source's configuration (never a forced commit: the source's quorum
//!   commits it), then each goes home with its data directory, its dynamic
//!   configuration rewritten to the target's own membership, and the target elects a
//!   leader in an epoch above every epoch the source and its clients have seen;
//! - **rollback** before the separation: the same `-remove`, and the target's servers
//!   restart from their own data directories, which were put aside untouched.
//!
//! The observers' connections to the source cross the link between the clusters: they
//! take its latency, and a cut link cuts them.

use super::sim::Plan;
use crate::config::{MemberRole, QuorumConfig, ServerSpec};
use crate::ids::{ServerId, SessionId, Zxid};
use crate::sim::{ClientWrite, NetConfig, Role, World};
use crate::tree::{AuthInfo, WriteRequest};
use crate::zab::log::{Durable, TxnLog};
use crate::zab::zkdb::{ReconfigRequest, ZkDatabase, ZkRequest};
use crate::zab::Replicated;

/// Where the target's servers are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Place {
    /// Joining the source (or joined, once the source's configuration names them all).
    Joining,
    /// Leaving the source's configuration; then home, with the source's tree
    /// (`restore: false`, the cut-over) or with their own data (`restore: true`, a
    /// rollback).
    Leaving {
        /// Whether they go home with their own, untouched data directories.
        restore: bool,
    },
    /// Home: the target's servers run as the target again.
    Home {
        /// Whether they came home with their own data (a rollback).
        restored: bool,
    },
}

/// The target's servers while they observe the source.
#[derive(Clone, Debug)]
pub(super) struct ObserverJoin {
    /// (id in the target, id in the source's configuration).
    pub pairs: Vec<(ServerId, ServerId)>,
    /// Their own data directories, put aside.
    own: Vec<(ServerId, Durable<ZkDatabase>)>,
    /// The target's own configuration, for when they come home.
    own_config: QuorumConfig,
    /// The reconfiguration in flight on the source: (request, sent at).
    request: Option<(u64, u64)>,
    /// Where they are.
    pub place: Place,
    /// Whether the observers' links to the source are cut (the link between clusters).
    cut: bool,
}

/// Minimum time between two reconfiguration attempts (ms): a refused one (another
/// reconfiguration in progress, no leader) is retried, not spun on.
const RETRY_MS: u64 = 100;

/// The session the controller's reconfigurations run in (`0x5a4f4f4c…`, "ZOOL", far
/// from the simulator's client sessions).
const ADMIN_SESSION: i64 = 0x5a4f_4f4c_0000_0001;

fn source_config(w: &World<ZkDatabase>, c: usize) -> Option<QuorumConfig> {
    let l = w.leader(c)?;
    Some(w.server(c, l)?.config().clone())
}

/// The servers a configuration names.
fn named(cfg: &QuorumConfig, id: ServerId, role: MemberRole) -> bool {
    cfg.servers.get(&id).is_some_and(|s| s.role == role)
}

/// A data directory separated from the source: the observer's state (its log replayed
/// into a snapshot at its last zxid) with the dynamic configuration rewritten to
/// `config`, as an operator rewrites `zoo.cfg.dynamic` before starting it alone.
fn separated(disk: Durable<ZkDatabase>, config: &QuorumConfig) -> Durable<ZkDatabase> {
    let (mut state, last) = disk.log.replay();
    let config = QuorumConfig { version: last.0, ..config.clone() };
    state.init_membership(&config);
    let mut log = TxnLog::default();
    log.install(last, state.snapshot());
    Durable {
        log,
        accepted_epoch: disk.accepted_epoch,
        current_epoch: disk.current_epoch,
        config: Some(config),
    }
}

impl ObserverJoin {
    /// Puts the target's data directories aside and starts its servers as joiners of
    /// the source. `None`: the source has no leader to read its configuration from, or
    /// no room for more ids.
    pub fn start(w: &mut World<ZkDatabase>, p: &Plan, lines: &mut Vec<String>) -> Option<ObserverJoin> {
        let cfg = source_config(w, p.source)?;
        let ids: Vec<ServerId> = w.servers_in(p.target).iter().map(|v| v.id).collect();
        if w.servers_in(p.source).len() + ids.len() > 255 {
            return None;
        }
        let own_config = ids
            .iter()
            .find_map(|&i| w.server(p.target, i).map(|s| s.config().clone()))
            .or_else(|| w.config().clusters.get(p.target).map(|s| s.initial_config()))
            .unwrap_or_default();
        let mut o = ObserverJoin {
            pairs: Vec::new(),
            own: Vec::new(),
            own_config,
            request: None,
            place: Place::Joining,
            cut: false,
        };
        for i in ids {
            o.own.push((i, w.take_disk_in(p.target, i)));
            let j = w.add_server_in(p.source, cfg.clone())?;
            o.pairs.push((i, j));
        }
        // Their connections to the source cross the link between the clusters.
        if p.latency_ms > 0 {
            let net = w.config().net;
            let slow = NetConfig {
                latency_min_ms: net.latency_min_ms + p.latency_ms,
                latency_max_ms: net.latency_max_ms + p.latency_ms,
                ..net
            };
            let all: Vec<ServerId> = w.servers_in(p.source).iter().map(|v| v.id).collect();
            for &(_, j) in &o.pairs {
                for &x in all.iter().filter(|&&x| !o.pairs.iter().any(|&(_, k)| k == x)) {
                    w.set_link_in(p.source, j, x, Some(slow));
                    w.set_link_in(p.source, x, j, Some(slow));
                }
            }
        }
        lines.push(format!(
            "migration: cluster {}'s servers {} join cluster {} as {} (empty data directories, the source's configuration version {:#x})",
            p.target,
            o.pairs.iter().map(|(i, _)| format!("s{i}")).collect::<Vec<_>>().join(","),
            p.source,
            o.pairs.iter().map(|(_, j)| format!("s{j}")).collect::<Vec<_>>().join(","),
            cfg.version
        ));
        Some(o)
    }

    /// The observers' views in the source cluster.
    pub fn views(&self, w: &World<ZkDatabase>, source: usize) -> Vec<crate::sim::ServerView> {
        w.servers_in(source).into_iter().filter(|v| self.pairs.iter().any(|&(_, j)| j == v.id)).collect()
    }

    /// Whether the source's committed configuration names every one as an observer.
    pub fn joined(&self, w: &World<ZkDatabase>, source: usize) -> bool {
        self.place == Place::Joining
            && source_config(w, source)
                .is_some_and(|c| self.pairs.iter().all(|&(_, j)| named(&c, j, MemberRole::Observer)))
    }

    /// Whether they are home.
    pub fn home(&self) -> bool {
        matches!(self.place, Place::Home { .. })
    }

    /// Starts the separation: out of the source's configuration, then home.
    pub fn leave(&mut self, restore: bool, lines: &mut Vec<String>) {
        match self.place {
            Place::Joining => {
                self.request = None;
                self.place = Place::Leaving { restore };
                lines.push(format!(
                    "migration: the observers leave the source's configuration ({})",
                    if restore { "rollback: their own data comes back" } else { "cut-over" }
                ));
            }
            // A rollback during the separation: they come home with their own data.
            Place::Leaving { .. } => self.place = Place::Leaving { restore },
            Place::Home { .. } => {}
        }
    }

    /// Background work after every step: cut or restore their links with the link
    /// between the clusters, and drive the reconfiguration (join or leave) until the
    /// source's committed configuration shows it; then, when leaving, take them home.
    /// Returns the zxid the target's servers came home at (the cut-over's separation).
    pub fn tick(
        &mut self,
        w: &mut World<ZkDatabase>,
        p: &Plan,
        link_up: bool,
        lines: &mut Vec<String>,
    ) -> Option<Zxid> {
        if self.home() {
            return None;
        }
        if self.cut == link_up {
            self.cut = !link_up;
            let all: Vec<ServerId> = w.servers_in(p.source).iter().map(|v| v.id).collect();
            for &(_, j) in &self.pairs {
                for &x in all.iter().filter(|&&x| !self.pairs.iter().any(|&(_, k)| k == x)) {
                    if self.cut {
                        w.block_in(p.source, j, x);
                        w.block_in(p.source, x, j);
                    } else {
                        w.unblock_in(p.source, j, x);
                        w.unblock_in(p.source, x, j);
                    }
                }
            }
        }
        let now = w.now();
        let cfg = source_config(w, p.source)?;
        let want = matches!(self.place, Place::Joining);
        let todo: Vec<ServerId> = self
            .pairs
            .iter()
            .map(|&(_, j)| j)
            .filter(|&j| {
                named(&cfg, j, MemberRole::Observer) != want && (want || cfg.servers.contains_key(&j))
            })
            .collect();
        if todo.is_empty() {
            if let Place::Leaving { restore } = self.place {
                return Some(self.go_home(w, p, restore, lines));
            }
            return None;
        }
        if let Some((r, _)) = self.request {
            if let Some(reply) = w.take_reply(r) {
                if let Err(e) = reply.result {
                    lines.push(format!("migration: the reconfiguration was refused: {}", e.error));
                }
            }
        }
        let waiting = self.request.is_some_and(|(r, at)| {
            (w.write_status(r) == Some(ClientWrite::Pending) && now < at + p.resend_ms) || now < at + RETRY_MS
        });
        if waiting {
            return None;
        }
        let l = w.leader(p.source)?;
        // The operator's session on the source (ZooKeeper refuses a reconfiguration
        // outside a live session): opened first, like zkCli's.
        let session = SessionId(ADMIN_SESSION);
        let live = w.server(p.source, l).is_some_and(|s| s.state().tree().sessions().contains_key(&session));
        if !live {
            let open = ZkRequest::write(
                session,
                AuthInfo::from_ip("127.0.0.1"),
                WriteRequest::CreateSession { timeout_ms: 30_000 },
            );
            self.request = Some((w.write_in(p.source, l, open), now));
            return None;
        }
        let list = |f: &dyn Fn(ServerId) -> String| todo.iter().map(|&j| f(j)).collect::<Vec<_>>().join(",");
        let r = if want {
            let specs = list(&|j| ServerSpec::local(j.0, MemberRole::Observer).to_string());
            lines.push(format!("migration: reconfig -add {specs} on cluster {}", p.source));
            ReconfigRequest { joining: Some(specs), from_config: -1, ..ReconfigRequest::default() }
        } else {
            let ids = list(&|j| j.0.to_string());
            lines.push(format!("migration: reconfig -remove {ids} on cluster {}", p.source));
            ReconfigRequest { leaving: Some(ids), from_config: -1, ..ReconfigRequest::default() }
        };
        let req = ZkRequest::reconfig(session, AuthInfo::from_ip("127.0.0.1"), r);
        self.request = Some((w.write_in(p.source, l, req), now));
        None
    }

    fn go_home(
        &mut self,
        w: &mut World<ZkDatabase>,
        p: &Plan,
        restore: bool,
        lines: &mut Vec<String>,
    ) -> Zxid {
        let mut last = Zxid::ZERO;
        for &(i, j) in &self.pairs {
            let disk = w.take_disk_in(p.source, j);
            let own = self.own.iter().position(|(k, _)| *k == i).map(|k| self.own.remove(k).1);
            let home = if restore {
                own.unwrap_or_default()
            } else {
                last = last.max(disk.log.last_zxid());
                separated(disk, &self.own_config)
            };
            w.put_disk_in(p.target, i, home);
        }
        if !restore {
            // The target's history is now the source's, up to the separation.
            w.reset_history_in(p.target);
        }
        self.place = Place::Home { restored: restore };
        lines.push(if restore {
            format!("migration: cluster {}'s servers restart from their own data directories", p.target)
        } else {
            format!(
                "migration: cluster {}'s servers go home with the source's tree through {last}, as their own ensemble",
                p.target
            )
        });
        last
    }

    /// Evidence for the seed and catch-up gates: every observer named and synced, and
    /// the lag between the slowest and the source's committed zxid. Returns (joined
    /// and all serving, the slowest applied zxid, detail).
    pub fn progress(&self, w: &World<ZkDatabase>, p: &Plan) -> (bool, Zxid, String) {
        let views = self.views(w, p.source);
        let joined = self.joined(w, p.source);
        let synced =
            views.len() == self.pairs.len() && views.iter().all(|v| v.serving && v.role == Role::Observing);
        let slowest = views
            .iter()
            .map(|v| if v.serving { v.applied_zxid } else { Zxid::ZERO })
            .min()
            .unwrap_or(Zxid::ZERO);
        let detail = format!(
            "observers {} in the source's configuration: {}; {}",
            if joined { "named" } else { "not yet named" },
            views
                .iter()
                .map(|v| format!("s{} {} applied {}", v.id, v.role, v.applied_zxid))
                .collect::<Vec<_>>()
                .join(", "),
            if synced { "synced" } else { "syncing" }
        );
        (joined && synced, slowest, detail)
    }
}
