//! # zoolab-core
//!
//! The protocol core of zoolab: ZooKeeper's data tree, its replication protocol (ZAB with
//! Fast Leader Election) and a deterministic simulator that drives them.
//!
//! The core is *sans-IO*: it never touches a socket, a clock, a thread or an ambient
//! random source. Every component is a state machine stepped by its driver (the
//! simulator, the browser, or the native tokio server) with typed inputs, returning
//! typed outputs. Time is a value passed in; randomness comes from a seeded generator
//! owned by the driver. A `tidy` test (`core/tests/tidy.rs`) enforces this.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod bytestr;
pub mod checker;
pub mod config;
pub mod crc32;
pub mod exercise;
pub mod ids;
pub mod jute;
pub mod migration;
pub mod scenario;
pub mod sim;
pub mod text;
pub mod tree;
pub mod vecmap;
pub mod zab;
pub mod zkcli;
pub mod zkdata;

pub use ids::{Epoch, ServerId, SessionId, Zxid};
