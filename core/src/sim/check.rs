//! ZAB's invariants, checked incrementally from the servers' observations.
//!
//! - *One leader per epoch*: at most one server is established as leader of an epoch.
//! - *Primary order*: every server commits strictly in zxid order (zxids order by
//!   epoch, then by the counter a leader assigns in proposal order).
//! - *Agreement*: no two servers commit different transactions at one zxid.
//! - *Total order / prefix*: a server never commits a zxid below one already committed
//!   elsewhere that it has not committed, and never skips a committed zxid: every
//!   server's committed history is a prefix of one history.
//! - *Integrity*: no server truncates a transaction it has committed.
//! - *State*: servers that have applied the same zxid have equal digests.
//! - *Configuration agreement*: servers that activate a configuration of the same
//!   version activate the same voters, and each run of a server activates versions in
//!   increasing order
//!   (a reconfiguration is a transaction, so this follows from agreement; it is checked
//!   on its own because membership decides every quorum after it).

use crate::ids::{Epoch, ServerId, Zxid};
use crate::vecmap::VecMap;
use std::ops::Bound::{Excluded, Unbounded};

/// What a server reported, as the checker needs it.
#[derive(Clone, Copy, Debug)]
pub enum Observation {
    /// Established as leader.
    Established(Epoch),
    /// Committed a transaction.
    Committed(Zxid, u64),
    /// Applied up to a zxid, with the digest after it.
    Applied(Zxid, u64),
    /// Truncated its log to a zxid.
    Truncated(Zxid),
    /// Installed a snapshot at a zxid, with its digest.
    Installed(Zxid, u64),
    /// Restarted knowing this much committed.
    Recovered(Zxid),
    /// Learned that everything up to a zxid is committed (a snapshot from SNAP).
    CommittedThrough(Zxid),
    /// Activated a committed configuration: its version and a fingerprint of its voters.
    Activated(u64, u64),
}

/// The invariant checker of one cluster.
#[derive(Clone, Debug, Default)]
pub struct Checker {
    leaders: VecMap<Epoch, ServerId>,
    committed: VecMap<Zxid, u64>,
    last_commit: VecMap<ServerId, Zxid>,
    digests: VecMap<Zxid, u64>,
    configs: VecMap<u64, u64>,
    last_config: VecMap<ServerId, u64>,
}

impl Checker {
    /// The history committed so far anywhere: zxids and transaction fingerprints.
    pub fn committed(&self) -> &VecMap<Zxid, u64> {
        &self.committed
    }

    /// Who was established in each epoch.
    pub fn leaders(&self) -> &VecMap<Epoch, ServerId> {
        &self.leaders
    }

    /// Takes one observation; an `Err` names the broken invariant.
    pub fn observe(&mut self, id: ServerId, o: Observation) -> Result<(), String> {
        match o {
            Observation::Established(epoch) => {
                if let Some(&other) = self.leaders.get(&epoch) {
                    if other != id {
                        return Err(format!(
                            "one leader per epoch: s{id} and s{other} both established epoch {epoch}"
                        ));
                    }
                }
                self.leaders.insert(epoch, id);
            }
            Observation::Committed(zxid, hash) => {
                let prev = self.last_commit.get(&id).copied().unwrap_or(Zxid::ZERO);
                if zxid <= prev {
                    return Err(format!("primary order: s{id} committed {zxid} after {prev}"));
                }
                match self.committed.get(&zxid) {
                    Some(&h) if h != hash => {
                        return Err(format!("agreement: s{id} committed another transaction at {zxid}"));
                    }
                    Some(_) => {}
                    None => {
                        if let Some((&later, _)) = self.committed.range((Excluded(zxid), Unbounded)).next() {
                            return Err(format!(
                                "total order: s{id} committed {zxid}, which no one had, after {later} was committed"
                            ));
                        }
                    }
                }
                if let Some((&gap, _)) = self.committed.range((Excluded(prev), Excluded(zxid))).next() {
                    return Err(format!(
                        "integrity: s{id} committed {zxid} after {prev}, skipping committed {gap}"
                    ));
                }
                self.committed.insert(zxid, hash);
                self.last_commit.insert(id, zxid);
            }
            Observation::Applied(zxid, digest) | Observation::Installed(zxid, digest) => {
                match self.digests.get(&zxid) {
                    Some(&d) if d != digest => {
                        return Err(format!("state: s{id} applied up to {zxid} with a digest that differs from another server's"));
                    }
                    Some(_) => {}
                    None => {
                        self.digests.insert(zxid, digest);
                    }
                }
            }
            Observation::Truncated(to) => {
                let prev = self.last_commit.get(&id).copied().unwrap_or(Zxid::ZERO);
                if to < prev {
                    return Err(format!(
                        "integrity: s{id} truncated to {to}, dropping committed transactions up to {prev}"
                    ));
                }
            }
            Observation::Recovered(committed) => {
                self.last_commit.insert(id, committed);
                // An activation whose record the crash lost happens again.
                self.last_config.remove(&id);
            }
            Observation::CommittedThrough(zxid) => {
                let prev = self.last_commit.entry(id).or_insert(Zxid::ZERO);
                *prev = (*prev).max(zxid);
            }
            Observation::Activated(version, voters) => {
                if let Some(&other) = self.configs.get(&version) {
                    if other != voters {
                        return Err(format!(
                            "configuration agreement: s{id} activated other voters at version {version:x}"
                        ));
                    }
                }
                let prev = self.last_config.get(&id).copied().unwrap_or(0);
                if version <= prev {
                    return Err(format!(
                        "configuration agreement: s{id} activated version {version:x} after {prev:x}"
                    ));
                }
                self.configs.insert(version, voters);
                self.last_config.insert(id, version);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn z(c: u32) -> Zxid {
        Zxid::new(Epoch(1), c)
    }

    #[test]
    fn each_invariant_can_fail() {
        let mut c = Checker::default();
        c.observe(ServerId(1), Observation::Established(Epoch(1))).unwrap();
        assert!(c.observe(ServerId(2), Observation::Established(Epoch(1))).is_err());

        let mut c = Checker::default();
        c.observe(ServerId(1), Observation::Committed(z(1), 7)).unwrap();
        assert!(c
            .observe(ServerId(2), Observation::Committed(z(1), 8))
            .unwrap_err()
            .starts_with("agreement"));
        c.observe(ServerId(1), Observation::Committed(z(2), 9)).unwrap();
        assert!(c
            .observe(ServerId(3), Observation::Committed(z(2), 9))
            .unwrap_err()
            .starts_with("integrity"));
        assert!(c
            .observe(ServerId(1), Observation::Committed(z(2), 9))
            .unwrap_err()
            .starts_with("primary order"));
        let mut d = Checker::default();
        d.observe(ServerId(1), Observation::Committed(z(5), 1)).unwrap();
        assert!(d
            .observe(ServerId(2), Observation::Committed(z(4), 1))
            .unwrap_err()
            .starts_with("total order"));
        assert!(c.observe(ServerId(1), Observation::Truncated(z(1))).unwrap_err().starts_with("integrity"));

        let mut c = Checker::default();
        c.observe(ServerId(1), Observation::Applied(z(1), 5)).unwrap();
        assert!(c.observe(ServerId(2), Observation::Applied(z(1), 6)).unwrap_err().starts_with("state"));

        let mut c = Checker::default();
        c.observe(ServerId(1), Observation::Activated(0x1_0000_0002, 77)).unwrap();
        c.observe(ServerId(2), Observation::Activated(0x1_0000_0002, 77)).unwrap();
        assert!(c
            .observe(ServerId(3), Observation::Activated(0x1_0000_0002, 78))
            .unwrap_err()
            .starts_with("configuration agreement"));
        assert!(c
            .observe(ServerId(1), Observation::Activated(0x1_0000_0001, 70))
            .unwrap_err()
            .starts_with("configuration agreement"));
    }
}
