//! Migration: moving one ensemble's data, configuration and clients to another, one
//! visible phase at a time, with no acknowledged write lost.
//!
//! A migration is a journaled state machine ([`phase`]):
//! draft → preflight → seed → catch-up → verify → freeze → final sync → cut over → soak
//! → commit, with rollback from every phase before commit (commit is the explicit point
//! of no return, as in Kafka's KIP-866). A phase advances only when its gate's evidence
//! holds; every transition is a journal entry stamped with the migration's fencing stamp
//! ([`record`]), so a stale or second controller fails fast. [`verify`] compares a
//! source subtree with its copy at three levels: counts, a subtree hash covering data,
//! Stat, node type and ACLs, and ZooKeeper's own digest where the transport is exact.
//!
//! Transports (observer join, snapshot plus log, client API: [`fidelity::Transport`])
//! drive a [`phase::Migration`] in the simulator ([`sim`]).

pub mod fence;
pub mod fidelity;
mod observer;
pub mod phase;
pub mod record;
pub mod sim;
#[cfg(test)]
mod sim_tests;
pub mod status;
pub mod sweep;
pub mod verify;
pub mod workload;
