//! A server's durable state: its txn log (after its latest snapshot), the snapshot,
//! `acceptedEpoch`, `currentEpoch` and the committed configuration; and the records ([`PersistOp`]) that change it.
//!
//! The server keeps its own copy, updated as it emits records; the driver keeps the
//! copy that survives a crash, updated only as it acknowledges records.

use super::message::Origin;
use super::Replicated;
use crate::config::QuorumConfig;
use crate::ids::{Epoch, Zxid};
use std::sync::Arc;

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

/// Where a bounded log ([`TxnLog::bound`]) reads back what it no longer holds in memory:
/// the driver's durable copy (the native server's files). The simulator sets none, and
/// its logs hold everything.
pub trait LogSource<R: Replicated>: Send + Sync {
    /// The snapshot the durable log starts from, which must be at `snapshot_zxid`, and
    /// its logged entries up to `upto` inclusive. A driver that cannot read them cannot
    /// go on (ZooKeeper exits when it cannot load its database).
    fn load(&self, snapshot_zxid: Zxid, upto: Zxid) -> (Option<R::Snapshot>, Vec<LogEntry<R>>);
}

/// The bound of a log set with [`TxnLog::bound`].
#[derive(Clone)]
struct Bound<R: Replicated> {
    /// How many entries to keep in memory (fewer only when they are not yet applied and
    /// committed).
    window: usize,
    /// Reads back the shed entries and snapshot.
    source: Arc<dyn LogSource<R>>,
}

/// A txn log with the snapshot it starts from. Zxids strictly increase.
///
/// Unbounded by default: every entry since the snapshot, and the snapshot, stay in
/// memory. A bounded log ([`TxnLog::bound`], the native server) sheds applied and
/// committed entries beyond its window, and the snapshot, when [`TxnLog::shed`] is
/// called; [`TxnLog::replay`] then reads them back from its [`LogSource`].
#[derive(Clone)]
pub struct TxnLog<R: Replicated> {
    snapshot_zxid: Zxid,
    snapshot: Option<R::Snapshot>,
    /// The entries in memory are `entries[head..]`: those before `head` were shed and
    /// are dropped in one go once they are as many as the window, so that shedding one
    /// entry per step does not move the whole window each time.
    entries: Vec<LogEntry<R>>,
    head: usize,
    /// Entries up to this zxid (above the snapshot's) are on disk only.
    shed_upto: Zxid,
    /// The snapshot is on disk only.
    snapshot_shed: bool,
    bound: Option<Bound<R>>,
}

impl<R: Replicated> std::fmt::Debug for TxnLog<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxnLog")
            .field("snapshot_zxid", &self.snapshot_zxid)
            .field("snapshot", &self.snapshot)
            .field("entries", &self.entries())
            .field("shed_upto", &self.shed_upto)
            .field("snapshot_shed", &self.snapshot_shed)
            .field("window", &self.bound.as_ref().map(|b| b.window))
            .finish()
    }
}

impl<R: Replicated> Default for TxnLog<R> {
    fn default() -> Self {
        TxnLog {
            snapshot_zxid: Zxid::ZERO,
            snapshot: None,
            entries: Vec::new(),
            head: 0,
            shed_upto: Zxid::ZERO,
            snapshot_shed: false,
            bound: None,
        }
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

    /// The zxid the in-memory entries start after: the snapshot's, or the last entry
    /// shed from a bounded log (every later entry is in [`TxnLog::entries`]).
    pub fn memory_base(&self) -> Zxid {
        self.shed_upto.max(self.snapshot_zxid)
    }

    /// Bounds the log: from the next [`TxnLog::shed`] on, at most `window` entries stay
    /// in memory (more only while they are not yet applied and committed; the memory of
    /// shed entries is freed in batches of at least a window), and the snapshot is
    /// dropped from memory; `source` reads them back when the log is
    /// replayed. The driver must have made durable (written, readable by `source`)
    /// every record it was given before each call to `shed`.
    pub fn bound(&mut self, window: usize, source: Arc<dyn LogSource<R>>) {
        self.bound = Some(Bound { window, source });
    }

    /// The window of a bounded log.
    pub fn window(&self) -> Option<usize> {
        self.bound.as_ref().map(|b| b.window)
    }

    /// A bounded log drops from memory the entries beyond its window that are at or
    /// below `done` (applied and committed), and its snapshot. Does nothing to an
    /// unbounded log.
    pub fn shed(&mut self, done: Zxid) {
        let Some(b) = &self.bound else { return };
        if self.snapshot.is_some() {
            self.snapshot = None;
            self.snapshot_shed = true;
        }
        let excess = self.entries().len().saturating_sub(b.window);
        let n = self.index_after(done).min(excess);
        if n > 0 {
            self.shed_upto = self.entries()[n - 1].zxid;
            self.head += n;
            if self.head >= b.window.max(64) {
                self.entries.drain(..self.head);
                self.head = 0;
            }
        }
    }

    /// The last logged zxid (the snapshot's when the log is empty).
    pub fn last_zxid(&self) -> Zxid {
        self.entries().last().map_or(self.snapshot_zxid, |e| e.zxid)
    }

    /// The logged entries after the snapshot.
    pub fn entries(&self) -> &[LogEntry<R>] {
        &self.entries[self.head..]
    }

    /// The index of the first entry with a zxid above `zxid`.
    pub fn index_after(&self, zxid: Zxid) -> usize {
        self.entries().partition_point(|e| e.zxid <= zxid)
    }

    /// The entry with this zxid.
    pub fn get(&self, zxid: Zxid) -> Option<&LogEntry<R>> {
        // Lookups are mostly near the tail (COMMITs of recent proposals).
        let entries = self.entries();
        let tail = entries.len().saturating_sub(8);
        if let Some(i) = entries[tail..].iter().position(|e| e.zxid == zxid) {
            return Some(&entries[tail + i]);
        }
        entries[..tail].binary_search_by_key(&zxid, |e| e.zxid).ok().map(|i| &entries[i])
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
    /// before the snapshot, as ZooKeeper's `truncateLog` does (or, in a bounded log,
    /// before the entries it holds in memory: those are applied and committed).
    pub fn truncate(&mut self, zxid: Zxid) -> bool {
        if zxid < self.memory_base() {
            return false;
        }
        let keep = self.index_after(zxid);
        self.entries.truncate(self.head + keep);
        true
    }

    /// Records a snapshot at `zxid` (an applied, logged point) and purges the entries
    /// it covers.
    pub fn compact(&mut self, zxid: Zxid, snapshot: R::Snapshot) {
        let drop = self.head + self.index_after(zxid);
        self.entries.drain(..drop);
        self.head = 0;
        self.snapshot_zxid = zxid;
        self.snapshot = Some(snapshot);
        self.snapshot_shed = false;
    }

    /// Replaces everything with a snapshot received from a leader (SNAP).
    pub fn install(&mut self, zxid: Zxid, snapshot: R::Snapshot) {
        self.entries.clear();
        self.head = 0;
        self.snapshot_zxid = zxid;
        self.snapshot = Some(snapshot);
        self.snapshot_shed = false;
        self.shed_upto = Zxid::ZERO;
    }

    /// The state after the snapshot and every logged entry, and its zxid (ZooKeeper's
    /// `loadDataBase`: the whole log is replayed, committed or not).
    /// A bounded log reads what it shed back from its source.
    pub fn replay(&self) -> (R, Zxid) {
        let shed = self.shed_upto > self.snapshot_zxid;
        let mut state = match &self.bound {
            Some(b) if self.snapshot_shed || shed => {
                let upto = if shed { self.shed_upto } else { self.snapshot_zxid };
                let (snapshot, older) = b.source.load(self.snapshot_zxid, upto);
                let mut state = snapshot.as_ref().map_or_else(R::default, R::restore);
                for e in older.iter().filter(|e| e.zxid > self.snapshot_zxid && e.zxid <= upto) {
                    state.apply(e.zxid, &e.txn);
                }
                state
            }
            _ => self.snapshot.as_ref().map_or_else(R::default, R::restore),
        };
        for e in self.entries() {
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

    /// A durable copy that keeps everything, as a driver's files do.
    struct Disk(std::sync::Mutex<TxnLog<Registers>>);

    impl LogSource<Registers> for Disk {
        fn load(&self, snapshot_zxid: Zxid, upto: Zxid) -> (Option<Registers>, Vec<LogEntry<Registers>>) {
            let log = self.0.lock().unwrap();
            assert_eq!(log.snapshot_zxid(), snapshot_zxid);
            let entries = log.entries().iter().filter(|e| e.zxid <= upto).cloned().collect();
            (log.snapshot().cloned(), entries)
        }
    }

    #[test]
    fn a_bounded_log_sheds_applied_entries_beyond_its_window_and_replays_them_from_its_source() {
        let disk = Arc::new(Disk(std::sync::Mutex::new(TxnLog::default())));
        let mut log = TxnLog::<Registers>::default();
        log.bound(3, disk.clone());
        for c in 1..=10 {
            log.append(entry(1, c, u64::from(c) * 7));
            disk.0.lock().unwrap().append(entry(1, c, u64::from(c) * 7));
        }
        let (full, _) = disk.0.lock().unwrap().replay();
        // Only entries at or below `done` may go, and the window stays.
        log.shed(Zxid::new(Epoch(1), 4));
        assert_eq!((log.entries().len(), log.memory_base()), (6, Zxid::new(Epoch(1), 4)));
        log.shed(Zxid::new(Epoch(1), 10));
        assert_eq!((log.entries().len(), log.memory_base()), (3, Zxid::new(Epoch(1), 7)));
        assert_eq!(log.replay().0.get(1), full.get(1));
        assert_eq!(log.replay().1, Zxid::new(Epoch(1), 10));
        // Entries it no longer holds cannot be truncated away; later ones can.
        assert!(!log.truncate(Zxid::new(Epoch(1), 6)));
        assert!(log.truncate(Zxid::new(Epoch(1), 8)));
        assert_eq!(log.replay().0.get(1), Some(8 * 7));
        // A snapshot is shed too, and read back.
        let (state, _) = log.replay();
        log.compact(Zxid::new(Epoch(1), 8), state.snapshot());
        disk.0.lock().unwrap().compact(Zxid::new(Epoch(1), 8), state.snapshot());
        log.append(entry(1, 11, 5));
        disk.0.lock().unwrap().append(entry(1, 11, 5));
        log.shed(Zxid::ZERO);
        assert!(log.snapshot().is_none());
        assert_eq!(log.replay().0.get(1), Some(5));
        assert!(log.truncate(Zxid::new(Epoch(1), 8)));
        assert_eq!(log.replay().0.get(1), Some(8 * 7));
    }

    #[test]
    fn shedding_one_entry_at_a_time_keeps_the_window_exact() {
        let disk = Arc::new(Disk(std::sync::Mutex::new(TxnLog::default())));
        let mut log = TxnLog::<Registers>::default();
        log.bound(100, disk.clone());
        for c in 1..=1000 {
            log.append(entry(1, c, u64::from(c)));
            disk.0.lock().unwrap().append(entry(1, c, u64::from(c)));
            log.shed(Zxid::new(Epoch(1), c));
            let n = c.min(100);
            assert_eq!(log.entries().len(), n as usize);
            assert_eq!(log.entries()[0].zxid, Zxid::new(Epoch(1), c + 1 - n));
            let base = if c > 100 { Zxid::new(Epoch(1), c - 100) } else { Zxid::ZERO };
            assert_eq!(log.memory_base(), base);
            assert!(log.get(Zxid::new(Epoch(1), c + 1 - n)).is_some());
            assert!(c <= 100 || log.get(base).is_none());
            assert!(log.entries.len() <= 200, "shed entries are freed in batches");
        }
        assert!(log.truncate(Zxid::new(Epoch(1), 950)));
        assert_eq!((log.last_zxid(), log.entries().len()), (Zxid::new(Epoch(1), 950), 50));
        log.append(entry(1, 951, 7));
        assert_eq!(log.replay().0.get(1), Some(7));
        let (state, _) = log.replay();
        log.compact(Zxid::new(Epoch(1), 940), state.snapshot());
        assert_eq!(log.entries().len(), 11);
    }

    #[test]
    fn an_unbounded_log_sheds_nothing() {
        let mut log = TxnLog::<Registers>::default();
        for c in 1..=10 {
            log.append(entry(1, c, 1));
        }
        log.shed(Zxid::new(Epoch(1), 10));
        assert_eq!((log.entries().len(), log.memory_base(), log.window()), (10, Zxid::ZERO, None));
    }

    #[test]
    #[should_panic(expected = "out of order")]
    fn appends_must_increase() {
        let mut log = TxnLog::<Registers>::default();
        log.append(entry(1, 2, 0));
        log.append(entry(1, 1, 0));
    }
}
