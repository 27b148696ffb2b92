//! The playground's state and the reducer that changes it.
//!
//! Every user action is an [`Action`]; [`Playground::apply`] is a pure function over
//! the core's world, so it is tested without a browser and replayed identically.

use std::rc::Rc;
use yew::Reducible;
use zoolab_core::ids::ServerId;
use zoolab_core::sim::{ServerView, World};

/// The number of servers in the first-light ensemble.
pub const ENSEMBLE_SIZE: usize = 3;
/// How many trace lines the page keeps on screen.
pub const TRACE_LINES: usize = 12;

/// What the user can do to the world.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Run one step of the simulation.
    Step,
    /// Crash a server.
    Kill(ServerId),
    /// Restart a crashed server.
    Restart(ServerId),
    /// Start over from a fresh world.
    Reset,
}

/// The playground: the core's world plus what the page shows of its past.
#[derive(Clone, Debug)]
pub struct Playground {
    world: World,
    /// The most recent trace lines, newest last.
    pub trace: Vec<String>,
}

impl Default for Playground {
    fn default() -> Self {
        Playground { world: World::new(ENSEMBLE_SIZE), trace: Vec::new() }
    }
}

impl PartialEq for Playground {
    fn eq(&self, other: &Self) -> bool {
        self.servers() == other.servers() && self.trace == other.trace
    }
}

impl Playground {
    /// The servers as the core reports them.
    pub fn servers(&self) -> Vec<ServerView> {
        self.world.servers()
    }

    /// Applies one action and returns the new state.
    pub fn apply(mut self, action: Action) -> Playground {
        let line = match action {
            Action::Step => {
                self.world.step().unwrap_or_else(|| "nothing to do: no election can finish".into())
            }
            Action::Kill(id) => {
                self.world.kill(id);
                format!("s{id} killed")
            }
            Action::Restart(id) => {
                self.world.restart(id);
                format!("s{id} restarted")
            }
            Action::Reset => return Playground::default(),
        };
        self.trace.push(line);
        if self.trace.len() > TRACE_LINES {
            self.trace.remove(0);
        }
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
    use zoolab_core::sim::Role;

    #[test]
    fn a_step_elects_a_leader_computed_by_the_core() {
        let p = Playground::default().apply(Action::Step);
        let leaders: Vec<_> = p.servers().into_iter().filter(|s| s.role == Role::Leading).collect();
        assert_eq!(leaders.len(), 1);
        assert_eq!(p.trace.len(), 1);
    }

    #[test]
    fn the_trace_keeps_a_bounded_window() {
        let mut p = Playground::default();
        for _ in 0..(TRACE_LINES + 5) {
            p = p.apply(Action::Kill(ServerId(1))).apply(Action::Restart(ServerId(1)));
        }
        assert_eq!(p.trace.len(), TRACE_LINES);
    }

    #[test]
    fn reset_forgets_everything() {
        let p = Playground::default().apply(Action::Step).apply(Action::Reset);
        assert_eq!(p, Playground::default());
    }
}
