//! Newtypes for the identifiers every part of ZooKeeper talks about.
//!
//! A zxid is ZooKeeper's transaction id: the leader's epoch in the high 32 bits and a
//! counter within that epoch in the low 32 bits, so zxids order first by epoch.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A ZAB epoch: the generation of a leader. A new leader's epoch is the maximum
/// epoch a quorum has accepted, plus one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Epoch(pub u32);

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A ZooKeeper transaction id: `(epoch << 32) | counter`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Zxid(pub u64);

impl Zxid {
    /// The zxid before any transaction.
    pub const ZERO: Zxid = Zxid(0);

    /// Builds a zxid from its epoch and its counter within that epoch.
    pub fn new(epoch: Epoch, counter: u32) -> Zxid {
        Zxid((u64::from(epoch.0) << 32) | u64::from(counter))
    }

    /// The epoch of the leader that issued this zxid.
    pub fn epoch(self) -> Epoch {
        Epoch((self.0 >> 32) as u32)
    }

    /// The counter within the epoch.
    pub fn counter(self) -> u32 {
        self.0 as u32
    }
}

impl fmt::Display for Zxid {
    /// ZooKeeper's own rendering: `0x` and lowercase hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}", self.0)
    }
}

/// A server's id within its ensemble (`server.N` in `zoo.cfg`, the `myid` file).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ServerId(pub u64);

impl fmt::Display for ServerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A client session's id, as ZooKeeper allocates it (a signed 64-bit value whose high
/// byte is the id of the server that created it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SessionId(pub i64);

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zxid_splits_into_epoch_and_counter() {
        let z = Zxid::new(Epoch(5), 3);
        assert_eq!(z.0, 0x5_0000_0003);
        assert_eq!(z.epoch(), Epoch(5));
        assert_eq!(z.counter(), 3);
        assert_eq!(z.to_string(), "0x500000003");
    }

    #[test]
    fn zxids_order_by_epoch_first() {
        assert!(Zxid::new(Epoch(2), 0) > Zxid::new(Epoch(1), u32::MAX));
    }
}
