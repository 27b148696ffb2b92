//! A server's durable state: its txn log (after its latest snapshot), the snapshot,
//! `acceptedEpoch`, `currentEpoch` and the committed configuration; and the records ([`PersistOp`]) that change it.
//!
//! The server keeps its own copy, updated as it emits records; the driver keeps the
//! copy that survives a crash, updated only as it acknowledges records.

use super::message::Origin;
use super::Replicated;
use crate::config::QuorumConfig;
use crate::ids::{Epoch, Zxid};

/// One logged proposal.
#[derive(Clone, Debug)]
pub struct LogEntry<R: Replicated> {
    /// Its zxid.
    pub zxid: Zxid,
    /// The transaction.
    pub txn: R::Txn,
    /// Who to answer once it is applied (not meaningful after a restart).
    pub origin: Option<Origin>,
}

/// A txn log with the snapshot it starts from. Zxids strictly increase.
#[derive(Clone, Debug)]
pub struct TxnLog<R: Replicated> {
    snapshot_zxid: Zxid,
    snapshot: Option<R::Snapshot>,
    entries: Vec<LogEntry<R>>,
}

impl<R: Replicated> Default for TxnLog<R> {
    fn default() -> Self {
        TxnLog { snapshot_zxid: Zxid::ZERO, snapshot: None, entries: Vec::new() }
    }
}

impl<R: Replicated> TxnLog<R> {
    /// The snapshot the log starts from, if any.
    pub fn snapshot(&self) -> Option<&R::Snapshot> {
        self.snapshot.as_ref()
    }

    /// The zxid of the snapshot the log starts from (zero: the empty state).
    pub fn snapshot_zxid(&self) -> Zxid {
        self.snapshot_zxid
    }

    /// The last logged zxid (the snapshot's when the log is empty).
    pub fn last_zxid(&self) -> Zxid {
        self.entries.last().map_or(self.snapshot_zxid, |e| e.zxid)
    }

    /// The logged entries after the snapshot.
    pub fn entries(&self) -> &[LogEntry<R>] {
        &self.entries
    }

    /// The index of the first entry with a zxid above `zxid`.
    pub fn index_after(&self, zxid: Zxid) -> usize {
        self.entries.partition_point(|e| e.zxid <= zxid)
    }

    /// The entry with this zxid.
    pub fn get(&self, zxid: Zxid) -> Option<&LogEntry<R>> {
        // Lookups are mostly near the tail (COMMITs of recent proposals).
        let tail = self.entries.len().saturating_sub(8);
        if let Some(i) = self.entries[tail..].iter().position(|e| e.zxid == zxid) {
            return Some(&self.entries[tail + i]);
        }
        self.entries[..tail].binary_search_by_key(&zxid, |e| e.zxid).ok().map(|i| &self.entries[i])
    }

    /// Appends an entry; its zxid must be above the last one.
    pub fn append(&mut self, entry: LogEntry<R>) {
        assert!(
            entry.zxid > self.last_zxid(),
            "log append out of order: {} after {}",
            entry.zxid,
            self.last_zxid()
        );
        self.entries.push(entry);
    }

    /// Drops every entry after `zxid`. Fails (and changes nothing) when `zxid` is
    /// before the snapshot, as ZooKeeper's `truncateLog` does.
    pub fn truncate(&mut self, zxid: Zxid) -> bool {
        if zxid < self.snapshot_zxid {
            return false;
        }
        let keep = self.index_after(zxid);
        self.entries.truncate(keep);
        true
    }

    /// Records a snapshot at `zxid` (an applied, logged point) and purges the entries
    /// it covers.
    pub fn compact(&mut self, zxid: Zxid, snapshot: R::Snapshot) {
        let drop = self.index_after(zxid);
        self.entries.drain(..drop);
        self.snapshot_zxid = zxid;
        self.snapshot = Some(snapshot);
    }

    /// Replaces everything with a snapshot received from a leader (SNAP).
    pub fn install(&mut self, zxid: Zxid, snapshot: R::Snapshot) {
        self.entries.clear();
        self.snapshot_zxid = zxid;
        self.snapshot = Some(snapshot);
    }

    /// The state after the snapshot and every logged entry, and its zxid (ZooKeeper's
    /// `loadDataBase`: the whole log is replayed, committed or not).
    pub fn replay(&self) -> (R, Zxid) {
        let mut state = self.snapshot.as_ref().map_or_else(R::default, R::restore);
        for e in &self.entries {
            state.apply(e.zxid, &e.txn);
        }
        (state, self.last_zxid())
    }
}

/// A record the server asks its driver to make durable.
#[derive(Clone, Debug)]
pub enum PersistOp<R: Replicated> {
    /// Append a proposal to the txn log.
    Append(LogEntry<R>),
    /// Drop the log after this zxid (TRUNC).
    Truncate(Zxid),
    /// Write a snapshot at this zxid and purge the log it covers.
    Snapshot(Zxid, R::Snapshot),
    /// Replace everything with this snapshot (SNAP).
    Install(Zxid, R::Snapshot),
    /// Write `acceptedEpoch`.
    AcceptedEpoch(Epoch),
    /// Write `currentEpoch`.
    CurrentEpoch(Epoch),
    /// Write the committed configuration (ZooKeeper's dynamic configuration file,
    /// rewritten when a reconfiguration commits).
    Config(QuorumConfig),
}

/// What survives a crash.
#[derive(Clone, Debug)]
pub struct Durable<R: Replicated> {
    /// The txn log and its snapshot.
    pub log: TxnLog<R>,
    /// The last epoch this server accepted in discovery (LEADERINFO).
    pub accepted_epoch: Epoch,
    /// The epoch of the last NEWLEADER it acknowledged (or led).
    pub current_epoch: Epoch,
    /// The last committed configuration it activated, if a reconfiguration ever
    /// committed here (otherwise its static configuration holds).
    pub config: Option<QuorumConfig>,
}

impl<R: Replicated> Default for Durable<R> {
    fn default() -> Self {
        Durable { log: TxnLog::default(), accepted_epoch: Epoch(0), current_epoch: Epoch(0), config: None }
    }
}

impl<R: Replicated> Durable<R> {
    /// Carries out one record.
    pub fn apply(&mut self, op: &PersistOp<R>) {
        match op {
            PersistOp::Append(e) => self.log.append(e.clone()),
            PersistOp::Truncate(z) => {
                let ok = self.log.truncate(*z);
                debug_assert!(ok, "truncation below the snapshot was refused by the server first");
            }
            PersistOp::Snapshot(z, s) => self.log.compact(*z, s.clone()),
            PersistOp::Install(z, s) => self.log.install(*z, s.clone()),
            PersistOp::AcceptedEpoch(e) => self.accepted_epoch = *e,
            PersistOp::CurrentEpoch(e) => self.current_epoch = *e,
            PersistOp::Config(c) => self.config = Some(c.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zab::registers::{RegTxn, Registers};

    fn entry(e: u32, c: u32, v: u64) -> LogEntry<Registers> {
        LogEntry { zxid: Zxid::new(Epoch(e), c), txn: RegTxn::Set { key: 1, value: v }, origin: None }
    }

    #[test]
    fn truncate_keeps_the_prefix_and_refuses_to_cut_into_the_snapshot() {
        let mut log = TxnLog::<Registers>::default();
        for c in 1..=4 {
            log.append(entry(1, c, u64::from(c)));
        }
        assert!(log.truncate(Zxid::new(Epoch(1), 2)));
        assert_eq!(log.last_zxid(), Zxid::new(Epoch(1), 2));
        let (state, _) = log.replay();
        log.compact(Zxid::new(Epoch(1), 2), state.snapshot());
        assert!(log.entries().is_empty());
        assert!(!log.truncate(Zxid::new(Epoch(1), 1)));
        assert_eq!(log.replay().0.get(1), Some(2));
    }

    #[test]
    #[should_panic(expected = "out of order")]
    fn appends_must_increase() {
        let mut log = TxnLog::<Registers>::default();
        log.append(entry(1, 2, 0));
        log.append(entry(1, 1, 0));
    }
}
