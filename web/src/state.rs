//! The playground's state and the reducer that changes it.
//!
//! Every user action is an [`Action`]; [`Playground::apply`] is a pure function over
//! the core's simulated world, so it is tested without a browser and replays
//! identically from the same seed.

use std::rc::Rc;
use yew::Reducible;
use zoolab_core::ids::ServerId;
use zoolab_core::sim::{Role, ServerView, World};

/// The number of servers in the playground's ensemble.
pub const ENSEMBLE_SIZE: u64 = 3;
/// The seed of a fresh playground.
pub const DEFAULT_SEED: u64 = 1;
/// How many trace lines the page keeps on screen.
pub const TRACE_LINES: usize = 14;
/// The most simulation steps one "Run" click may take (a tab never spins forever).
pub const MAX_STEPS_PER_RUN: u64 = 200_000;

/// What the user can do to the world.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Run one simulation event (a message delivery or a timer).
    Step,
    /// Run the simulation for this many simulated milliseconds.
    Run(u64),
    /// Submit a client write to a serving server (the leader if there is one).
    Write,
    /// Crash a server.
    Kill(ServerId),
    /// Restart a crashed server from what it had persisted.
    Restart(ServerId),
    /// Start over from a fresh world with the same seed.
    Reset,
}

/// The playground: the core's world plus what the page shows of its past.
#[derive(Clone, Debug)]
pub struct Playground {
    world: World,
    writes: u64,
    /// The most recent trace lines, newest last.
    pub trace: Vec<String>,
}

impl Default for Playground {
    fn default() -> Self {
        Playground { world: World::ensemble(ENSEMBLE_SIZE, DEFAULT_SEED), writes: 0, trace: Vec::new() }
    }
}

impl PartialEq for Playground {
    fn eq(&self, other: &Self) -> bool {
        self.world.trace_hash() == other.world.trace_hash()
            && self.world.steps() == other.world.steps()
            && self.servers() == other.servers()
            && self.trace == other.trace
    }
}

impl Playground {
    /// The servers as the core reports them.
    pub fn servers(&self) -> Vec<ServerView> {
        self.world.servers()
    }

    /// Simulated time, in milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.world.now()
    }

    /// The hash of everything that has happened so far: equal runs have equal hashes.
    pub fn trace_hash(&self) -> u64 {
        self.world.trace_hash()
    }

    /// The invariant the world broke, if any, in one line.
    pub fn violation(&self) -> Option<String> {
        self.world.violation().map(|v| v.to_string())
    }

    fn note(&mut self, line: String) {
        self.trace.push(line);
        if self.trace.len() > TRACE_LINES {
            let extra = self.trace.len() - TRACE_LINES;
            self.trace.drain(..extra);
        }
    }

    fn note_recent(&mut self, before: u64) {
        let lines: Vec<String> = self
            .world
            .trace()
            .iter()
            .filter(|e| e.step > before)
            .rev()
            .take(TRACE_LINES)
            .map(|e| e.to_string())
            .collect();
        for line in lines.into_iter().rev() {
            self.note(line);
        }
    }

    /// Applies one action and returns the new state.
    pub fn apply(mut self, action: Action) -> Playground {
        let before = self.world.steps();
        match action {
            Action::Step => {
                if self.world.step().is_none() {
                    self.note("nothing to do: no message or timer is pending".into());
                }
            }
            Action::Run(ms) => {
                self.world.run_for(ms, MAX_STEPS_PER_RUN);
            }
            Action::Write => {
                let servers = self.servers();
                let target = servers
                    .iter()
                    .find(|s| s.role == Role::Leading)
                    .or_else(|| servers.iter().find(|s| s.role != Role::Down))
                    .map(|s| s.id);
                match target {
                    Some(id) => {
                        self.writes += 1;
                        let request = self.world.write_register(id, 0, self.writes);
                        self.note(format!("client → s{id}: set r0 = {} (request #{request})", self.writes));
                    }
                    None => self.note("no live server to write to".into()),
                }
            }
            Action::Kill(id) => self.world.kill(id),
            Action::Restart(id) => self.world.restart(id),
            Action::Reset => return Playground::default(),
        }
        self.note_recent(before);
        self
    }
}

impl Reducible for Playground {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        Rc::new((*self).clone().apply(action))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaders(p: &Playground) -> Vec<ServerView> {
        p.servers().into_iter().filter(|s| s.role == Role::Leading).collect()
    }

    #[test]
    fn running_a_second_elects_one_leader_computed_by_the_core() {
        let p = Playground::default();
        assert!(p.servers().iter().all(|s| s.role == Role::Looking));
        let p = p.apply(Action::Run(1_000));
        assert_eq!(leaders(&p).len(), 1);
        assert!(!p.trace.is_empty());
        assert!(p.trace.len() <= TRACE_LINES);
    }

    #[test]
    fn killing_the_leader_elects_another_in_a_higher_epoch() {
        let p = Playground::default().apply(Action::Run(1_000));
        let old = leaders(&p).remove(0);
        let p = p.apply(Action::Kill(old.id)).apply(Action::Run(3_000));
        let new = leaders(&p).remove(0);
        assert_ne!(new.id, old.id);
        assert!(new.epoch > old.epoch, "new epoch {} > old {}", new.epoch, old.epoch);
        assert_eq!(p.violation(), None);
    }

    #[test]
    fn a_write_commits_on_every_live_server() {
        let p = Playground::default().apply(Action::Run(1_000)).apply(Action::Write).apply(Action::Run(500));
        let servers = p.servers();
        let committed = servers[0].committed_zxid;
        assert!(committed.counter() >= 1, "the write committed");
        assert!(servers.iter().all(|s| s.applied_zxid == committed), "{servers:?}");
    }

    #[test]
    fn the_same_actions_give_the_same_world() {
        let run =
            || Playground::default().apply(Action::Run(700)).apply(Action::Write).apply(Action::Run(300));
        assert_eq!(run().trace_hash(), run().trace_hash());
    }

    #[test]
    fn reset_forgets_everything() {
        let p = Playground::default().apply(Action::Run(1_000)).apply(Action::Reset);
        assert_eq!(p, Playground::default());
    }
}
