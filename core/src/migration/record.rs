//! The migration record: the fence that makes one controller the only writer.
//!
//! The record lives on both clusters (as a znode). A controller starting or taking over
//! a migration reads the stamps of every record it can see and takes the maximum plus
//! one — the seed article's rule, as for epochs and config versions. Every controller
//! write is a conditional write on the record's version, so a stale or second
//! controller fails fast instead of interleaving with the live one.

use serde::{Deserialize, Serialize};

/// Where the record lives on each cluster.
pub const RECORD_PATH: &str = "/zookeeper/migration";

/// The record as stored: the stamp of its owner and the znode's version when read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The owning controller's stamp.
    pub stamp: u64,
    /// The znode version the owner last read (its conditional writes expect it).
    pub version: i32,
}

/// The stamp a new controller takes: the maximum it has seen, plus one.
pub fn next_stamp(seen: &[u64]) -> u64 {
    seen.iter().copied().max().unwrap_or(0) + 1
}

/// The outcome of a controller's conditional write of the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The write succeeded; this is the record now.
    Owned(Record),
    /// Someone wrote the record since this controller read it.
    Fenced {
        /// The version the controller expected.
        expected: i32,
        /// The version found.
        found: i32,
    },
}

/// Writes `stamp` over `current` if its version is still `expected` (ZooKeeper's
/// `setData(path, data, expected)` semantics), else reports the fence.
pub fn claim(current: Record, expected: i32, stamp: u64) -> Claim {
    if current.version != expected {
        return Claim::Fenced { expected, found: current.version };
    }
    Claim::Owned(Record { stamp, version: current.version + 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_stamp_is_the_maximum_seen_plus_one() {
        assert_eq!(next_stamp(&[]), 1);
        assert_eq!(next_stamp(&[3, 7, 5]), 8);
    }

    #[test]
    fn two_controllers_racing_for_the_record_cannot_both_own_it() {
        let r = Record { stamp: 3, version: 4 };
        let a = claim(r, 4, next_stamp(&[3]));
        let Claim::Owned(after_a) = a else { panic!("first claim wins") };
        // B read the same version 4 before A wrote: its write is fenced.
        assert_eq!(claim(after_a, 4, next_stamp(&[3])), Claim::Fenced { expected: 4, found: 5 });
    }
}
