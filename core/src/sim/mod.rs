//! The simulated world the playground and the headless runner drive.
//!
//! **First light.** This is the smallest world that lets the browser show servers
//! whose roles are computed by the core: a single ensemble whose election is reduced
//! to one rule (the live server with the highest id leads once a majority is up, in
//! epoch `max(epochs) + 1`). The ZAB issue replaces the election with Fast Leader
//! Election, messages, a network and a seeded clock; the view types below are the
//! contract the drivers rely on.

use crate::ids::{Epoch, ServerId, Zxid};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A server's role, as ZooKeeper names its states (plus `Down` for a crashed server).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Electing a leader.
    Looking,
    /// Following an established leader; votes in its quorum.
    Following,
    /// The established leader of its epoch.
    Leading,
    /// Receives the committed stream but never votes.
    Observing,
    /// Crashed: holds only what it had persisted.
    Down,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Looking => "LOOKING",
            Role::Following => "FOLLOWING",
            Role::Leading => "LEADING",
            Role::Observing => "OBSERVING",
            Role::Down => "DOWN",
        })
    }
}

/// What a driver may show of one server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerView {
    /// The server's id in its ensemble.
    pub id: ServerId,
    /// Its current role.
    pub role: Role,
    /// The epoch it currently follows or leads (its `currentEpoch`).
    pub epoch: Epoch,
    /// The last zxid in its log.
    pub last_zxid: Zxid,
    /// The last zxid it knows to be committed.
    pub committed_zxid: Zxid,
}

#[derive(Clone, Debug)]
struct Server {
    id: ServerId,
    role: Role,
    epoch: Epoch,
}

/// One ensemble of servers under the first-light election rule.
#[derive(Clone, Debug)]
pub struct World {
    servers: Vec<Server>,
    steps: u64,
}

impl World {
    /// A world with one ensemble of `servers` servers (ids 1..=n), all LOOKING.
    pub fn new(servers: usize) -> World {
        assert!((1..=9).contains(&servers), "an ensemble has 1 to 9 servers");
        World {
            servers: (1..=servers as u64)
                .map(|id| Server { id: ServerId(id), role: Role::Looking, epoch: Epoch(0) })
                .collect(),
            steps: 0,
        }
    }

    /// The servers as a driver shows them, in id order.
    pub fn servers(&self) -> Vec<ServerView> {
        self.servers
            .iter()
            .map(|s| ServerView {
                id: s.id,
                role: s.role,
                epoch: s.epoch,
                last_zxid: Zxid::new(s.epoch, 0),
                committed_zxid: Zxid::new(s.epoch, 0),
            })
            .collect()
    }

    /// How many steps have run.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Runs one step and returns its trace line, or `None` when nothing can happen.
    pub fn step(&mut self) -> Option<String> {
        let live: Vec<usize> =
            (0..self.servers.len()).filter(|&i| self.servers[i].role != Role::Down).collect();
        let has_leader = live.iter().any(|&i| self.servers[i].role == Role::Leading);
        if has_leader || live.len() * 2 <= self.servers.len() {
            return None;
        }
        let new_epoch = Epoch(live.iter().map(|&i| self.servers[i].epoch.0).max().unwrap_or(0) + 1);
        let leader = *live.iter().max_by_key(|&&i| self.servers[i].id).expect("a majority is live");
        for &i in &live {
            self.servers[i].role = if i == leader { Role::Leading } else { Role::Following };
            self.servers[i].epoch = new_epoch;
        }
        self.steps += 1;
        Some(format!("s{} LEADING epoch={} (= max of live epochs + 1)", self.servers[leader].id, new_epoch))
    }

    /// Crashes a server. Its followers lose their leader and start LOOKING.
    pub fn kill(&mut self, id: ServerId) {
        let Some(i) = self.servers.iter().position(|s| s.id == id) else { return };
        let was_leader = self.servers[i].role == Role::Leading;
        self.servers[i].role = Role::Down;
        let live = self.servers.iter().filter(|s| s.role != Role::Down).count();
        if was_leader || live * 2 <= self.servers.len() {
            for s in self.servers.iter_mut().filter(|s| s.role != Role::Down) {
                s.role = Role::Looking;
            }
        }
    }

    /// Restarts a crashed server; it comes back LOOKING.
    pub fn restart(&mut self, id: ServerId) {
        if let Some(s) = self.servers.iter_mut().find(|s| s.id == id && s.role == Role::Down) {
            s.role = Role::Looking;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(w: &World) -> Vec<Role> {
        w.servers().iter().map(|s| s.role).collect()
    }

    #[test]
    fn highest_live_id_leads_in_a_new_epoch() {
        let mut w = World::new(3);
        assert_eq!(roles(&w), vec![Role::Looking; 3]);
        assert!(w.step().is_some());
        assert_eq!(roles(&w), vec![Role::Following, Role::Following, Role::Leading]);
        assert_eq!(w.servers()[2].epoch, Epoch(1));
        assert_eq!(w.step(), None, "an established leader stays");
    }

    #[test]
    fn killing_the_leader_elects_another_with_a_higher_epoch() {
        let mut w = World::new(3);
        w.step();
        w.kill(ServerId(3));
        assert_eq!(roles(&w), vec![Role::Looking, Role::Looking, Role::Down]);
        w.step();
        assert_eq!(roles(&w), vec![Role::Following, Role::Leading, Role::Down]);
        assert_eq!(w.servers()[1].epoch, Epoch(2));
    }

    #[test]
    fn a_minority_cannot_elect() {
        let mut w = World::new(3);
        w.kill(ServerId(1));
        w.kill(ServerId(2));
        assert_eq!(w.step(), None);
        assert_eq!(roles(&w)[2], Role::Looking);
    }
}
