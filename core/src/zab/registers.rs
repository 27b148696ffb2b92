//! A small replicated state machine for testing ZAB without the data tree: a map of
//! integer registers.
//!
//! `Add` is prepared against committed state plus outstanding proposals, so it shows
//! why the leader must look at what it has proposed but not yet committed (as
//! ZooKeeper's `outstandingChanges` do for versions and sequence numbers).

use super::{Fnv64, PrepareContext, Replicated};
use crate::ids::Zxid;
use crate::vecmap::VecMap;

/// A client request on the registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegRequest {
    /// Set a register.
    Set {
        /// The register.
        key: u32,
        /// Its new value.
        value: u64,
    },
    /// Add to a register (decided by the leader: becomes a `Set`).
    Add {
        /// The register.
        key: u32,
        /// The amount.
        delta: u64,
    },
}

/// A transaction on the registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegTxn {
    /// Set a register to a value.
    Set {
        /// The register.
        key: u32,
        /// Its new value.
        value: u64,
    },
}

/// Integer registers with an incremental digest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Registers {
    values: VecMap<u32, u64>,
    digest: u64,
    last_zxid: Zxid,
}

impl Registers {
    /// A register's value.
    pub fn get(&self, key: u32) -> Option<u64> {
        self.values.get(&key).copied()
    }

    /// The zxid of the last applied transaction.
    pub fn last_zxid(&self) -> Zxid {
        self.last_zxid
    }

    fn entry_hash(key: u32, value: u64) -> u64 {
        Fnv64::of(&(key, value))
    }
}

impl Replicated for Registers {
    type Request = RegRequest;
    type Txn = RegTxn;
    type Reply = u64;
    type Snapshot = Registers;

    fn prepare(&mut self, outstanding: &[&RegTxn], _ctx: PrepareContext<'_>, request: &RegRequest) -> RegTxn {
        match *request {
            RegRequest::Set { key, value } => RegTxn::Set { key, value },
            RegRequest::Add { key, delta } => {
                let pending = outstanding.iter().rev().find_map(|t| match t {
                    RegTxn::Set { key: k, value } if *k == key => Some(*value),
                    RegTxn::Set { .. } => None,
                });
                let current = pending.or_else(|| self.get(key)).unwrap_or(0);
                RegTxn::Set { key, value: current.wrapping_add(delta) }
            }
        }
    }

    fn apply(&mut self, zxid: Zxid, txn: &RegTxn) -> u64 {
        let RegTxn::Set { key, value } = *txn;
        if let Some(old) = self.values.insert(key, value) {
            self.digest = self.digest.wrapping_sub(Self::entry_hash(key, old));
        }
        self.digest = self.digest.wrapping_add(Self::entry_hash(key, value));
        self.last_zxid = zxid;
        value
    }

    fn snapshot(&self) -> Registers {
        self.clone()
    }

    fn restore(snapshot: &Registers) -> Self {
        snapshot.clone()
    }

    fn digest(&self) -> u64 {
        self.digest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Epoch;

    fn ctx(c: u32) -> PrepareContext<'static> {
        PrepareContext::alone(Zxid::new(Epoch(1), c), 0)
    }

    #[test]
    fn add_is_prepared_against_outstanding_proposals() {
        let mut r = Registers::default();
        r.apply(Zxid::new(Epoch(1), 1), &RegTxn::Set { key: 7, value: 10 });
        let first = r.prepare(&[], ctx(2), &RegRequest::Add { key: 7, delta: 1 });
        assert_eq!(first, RegTxn::Set { key: 7, value: 11 });
        let second = r.prepare(&[&first], ctx(3), &RegRequest::Add { key: 7, delta: 1 });
        assert_eq!(second, RegTxn::Set { key: 7, value: 12 });
    }

    #[test]
    fn digest_depends_on_contents_not_history() {
        let mut a = Registers::default();
        let mut b = Registers::default();
        a.apply(Zxid(1), &RegTxn::Set { key: 1, value: 5 });
        a.apply(Zxid(2), &RegTxn::Set { key: 1, value: 6 });
        b.apply(Zxid(1), &RegTxn::Set { key: 1, value: 6 });
        assert_eq!(a.digest(), b.digest());
        b.apply(Zxid(2), &RegTxn::Set { key: 2, value: 6 });
        assert_ne!(a.digest(), b.digest());
    }
}
