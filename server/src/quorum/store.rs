//! A replicated server's durable state in `dataDir/zoolab-q/`: what the core's
//! [`PersistOp`]s describe (the txn log after the latest snapshot, the snapshot,
//! `acceptedEpoch`, `currentEpoch`), kept as a checkpoint plus a write-ahead log.
//!
//! - `checkpoint`: `"ZLQC"` · length u32 BE · CRC-32 u32 BE · bincode of
//!   [`Checkpoint`] (generation, epochs, snapshot bytes, the log entries after it).
//!   Written to a temporary file, synced, renamed, the directory synced.
//! - `wal`: `"ZLQW"` · generation u64 BE, then records: length u32 BE · CRC-32 u32 BE
//!   · bincode of [`Record`]. Only a log of the checkpoint's generation is replayed (a
//!   crash between writing a checkpoint and starting its log leaves an older log,
//!   whose records the checkpoint already holds).
//!
//! A snapshot or an installed SNAP writes a new checkpoint and starts a new log, once the
//! core's step that asked for it has been carried out ([`QStore::end_of_step`], from the
//! core's own view of its durable state, so the store keeps no second copy of the log);
//! the records of that step after it go into the checkpoint, not the old log, so a crash
//! before the checkpoint leaves the state from before the step.
//! Appends are written at once and synced by the driver's group commit
//! ([`QStore::log_handle`]); recovery replays the newest checkpoint and its log,
//! truncating a torn or corrupt tail (logged).

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tracing::{error, info, warn};
use zoolab_core::config::QuorumConfig;
use zoolab_core::ids::{Epoch, Zxid};
use zoolab_core::tree::Txn;
use zoolab_core::zab::log::{Durable, LogEntry, LogSource, PersistOp};
use zoolab_core::zab::zkdb::{ZkDatabase, ZkSnapshot};

const CP_MAGIC: &[u8; 4] = b"ZLQC";
const WAL_MAGIC: &[u8; 4] = b"ZLQW";
const WAL_HEADER: usize = 12;
const MAX_RECORD: usize = 512 << 20;

/// The checkpoint's contents.
#[derive(Serialize, Deserialize)]
struct Checkpoint {
    generation: u64,
    accepted_epoch: Epoch,
    current_epoch: Epoch,
    snapshot_zxid: Zxid,
    #[serde(with = "zoolab_core::bytestr::option")]
    snapshot: Option<Vec<u8>>,
    entries: Vec<(Zxid, Txn)>,
    /// The last committed configuration activated here (after a reconfiguration).
    config: Option<QuorumConfig>,
}

/// A [`Checkpoint`] to write, borrowing its large parts (same bincode encoding: a
/// byte string and a sequence of bytes are both a u64 length and the bytes), so a
/// checkpoint of a large tree is not copied several times under the server's lock.
#[derive(Serialize)]
struct CheckpointRef<'a> {
    generation: u64,
    accepted_epoch: Epoch,
    current_epoch: Epoch,
    snapshot_zxid: Zxid,
    snapshot: Option<Raw<'a>>,
    entries: Vec<(Zxid, &'a Txn)>,
    config: &'a Option<QuorumConfig>,
}

/// Bytes written in one piece (bincode's `Vec<u8>` writes them one at a time).
struct Raw<'a>(&'a [u8]);

impl Serialize for Raw<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

/// One logged record.
#[derive(Serialize, Deserialize)]
enum Record {
    Append(Zxid, Txn),
    Truncate(Zxid),
    AcceptedEpoch(Epoch),
    CurrentEpoch(Epoch),
    Config(QuorumConfig),
}

/// The durable state of one replicated server.
pub struct QStore {
    dir: PathBuf,
    wal: File,
    generation: u64,
    /// The recovered state, until the core takes it.
    recovered: Option<Durable<ZkDatabase>>,
    snapshot: Option<ZkSnapshot>,
    /// A snapshot or SNAP was asked for in the current step: checkpoint at its end.
    checkpoint_due: bool,
    /// How many times this server has started (the core's `incarnation`).
    pub incarnation: u32,
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Writes `parts` one after the other as file `name`, atomically and durably.
fn write_atomic(dir: &Path, name: &str, parts: &[&[u8]]) -> Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    let mut f = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    for bytes in parts {
        f.write_all(bytes)?;
    }
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join(name))?;
    sync_dir(dir);
    Ok(())
}

fn read_checkpoint(path: &Path) -> Result<Option<Checkpoint>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    if bytes.len() < 12 || &bytes[..4] != CP_MAGIC {
        bail!("{}: not a zoolab checkpoint", path.display());
    }
    let len = u32::from_be_bytes(bytes[4..8].try_into().expect("4")) as usize;
    let crc = u32::from_be_bytes(bytes[8..12].try_into().expect("4"));
    let payload = bytes.get(12..12 + len).context("checkpoint shorter than its length")?;
    if crc32fast::hash(payload) != crc {
        bail!("{}: bad CRC", path.display());
    }
    let cp: Checkpoint = bincode::deserialize(payload).context("decoding the checkpoint")?;
    if let Some(s) = &cp.snapshot {
        zoolab_core::tree::snapshot::decode(s).map_err(|e| anyhow::anyhow!("checkpoint snapshot: {e}"))?;
    }
    Ok(Some(cp))
}

/// What the files under `zoolab-q/` hold.
struct Loaded {
    disk: Durable<ZkDatabase>,
    snapshot: Option<ZkSnapshot>,
    generation: u64,
    /// Where the valid part of the log of the checkpoint's generation ends (none: it
    /// is missing, of another generation or has no valid header).
    keep: Option<usize>,
    replayed: usize,
}

/// Reads the newest checkpoint and its log (changing nothing on disk).
fn load(dir: &Path) -> Result<Loaded> {
    let cp = read_checkpoint(&dir.join("checkpoint"))?;
    let mut disk = Durable::<ZkDatabase>::default();
    let mut snapshot = None;
    let generation = cp.as_ref().map_or(0, |c| c.generation);
    if let Some(cp) = cp {
        disk.accepted_epoch = cp.accepted_epoch;
        disk.current_epoch = cp.current_epoch;
        disk.config = cp.config.clone();
        if let Some(bytes) = cp.snapshot {
            let s = ZkSnapshot(Arc::new(bytes));
            disk.log.install(cp.snapshot_zxid, s.clone());
            snapshot = Some(s);
        }
        for (zxid, txn) in cp.entries {
            disk.log.append(LogEntry { zxid, txn, origin: None });
        }
    }
    let wal_path = dir.join("wal");
    let mut replayed = 0usize;
    let keep = match std::fs::read(&wal_path) {
        Ok(bytes) if bytes.len() >= WAL_HEADER && &bytes[..4] == WAL_MAGIC => {
            let gen = u64::from_be_bytes(bytes[4..12].try_into().expect("8"));
            if gen != generation {
                info!(
                    "{}: generation {gen}, checkpoint {generation}: already in the checkpoint",
                    wal_path.display()
                );
                None
            } else {
                let mut pos = WAL_HEADER;
                let mut why = None;
                while pos < bytes.len() {
                    if bytes.len() - pos < 8 {
                        why = Some("a torn record header".to_string());
                        break;
                    }
                    let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().expect("4")) as usize;
                    let crc = u32::from_be_bytes(bytes[pos + 4..pos + 8].try_into().expect("4"));
                    if len > MAX_RECORD || bytes.len() - pos - 8 < len {
                        why = Some("a torn record".to_string());
                        break;
                    }
                    let payload = &bytes[pos + 8..pos + 8 + len];
                    if crc32fast::hash(payload) != crc {
                        why = Some("a record with a bad CRC".to_string());
                        break;
                    }
                    let rec: Record = match bincode::deserialize(payload) {
                        Ok(r) => r,
                        Err(e) => {
                            why = Some(format!("an undecodable record ({e})"));
                            break;
                        }
                    };
                    let op = match rec {
                        Record::Append(zxid, txn) => {
                            if zxid <= disk.log.last_zxid() {
                                why = Some(format!("an append out of order ({zxid})"));
                                break;
                            }
                            PersistOp::Append(LogEntry { zxid, txn, origin: None })
                        }
                        Record::Truncate(z) => PersistOp::Truncate(z),
                        Record::AcceptedEpoch(e) => PersistOp::AcceptedEpoch(e),
                        Record::CurrentEpoch(e) => PersistOp::CurrentEpoch(e),
                        Record::Config(c) => PersistOp::Config(c),
                    };
                    disk.apply(&op);
                    replayed += 1;
                    pos += 8 + len;
                }
                if let Some(why) = why {
                    warn!("{}: {why} at byte {pos}; truncating the log there", wal_path.display());
                }
                Some(pos)
            }
        }
        Ok(_) => {
            warn!("{}: no valid header; starting a new log", wal_path.display());
            None
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", wal_path.display())),
    };
    Ok(Loaded { disk, snapshot, generation, keep, replayed })
}

/// Reads back what the core's bounded log shed ([`zoolab_core::zab::log::TxnLog::bound`]):
/// the snapshot and the entries up to a zxid, from the checkpoint and log on disk.
pub struct DiskSource {
    dir: PathBuf,
}

impl LogSource<ZkDatabase> for DiskSource {
    fn load(&self, snapshot_zxid: Zxid, upto: Zxid) -> (Option<ZkSnapshot>, Vec<LogEntry<ZkDatabase>>) {
        let loaded = load(&self.dir).and_then(|l| {
            if l.disk.log.snapshot_zxid() != snapshot_zxid {
                bail!(
                    "the checkpoint's snapshot is at {}, the server's at {snapshot_zxid}",
                    l.disk.log.snapshot_zxid()
                );
            }
            if l.disk.log.last_zxid() < upto {
                bail!("the log on disk ends at {}, before {upto}", l.disk.log.last_zxid());
            }
            Ok(l)
        });
        match loaded {
            Ok(l) => {
                let entries: Vec<_> =
                    l.disk.log.entries().iter().filter(|e| e.zxid <= upto).cloned().collect();
                info!(
                    "read back from disk: the snapshot at {snapshot_zxid} and {} entries up to {upto}",
                    entries.len()
                );
                (l.snapshot, entries)
            }
            Err(e) => {
                error!("cannot read back the log from {}: {e:#}; stopping", self.dir.display());
                std::process::exit(3);
            }
        }
    }
}

impl QStore {
    /// Opens (or creates) the store under `data_dir`, recovering what it holds.
    pub fn open(data_dir: &Path) -> Result<QStore> {
        let dir = data_dir.join("zoolab-q");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let inc_path = dir.join("incarnation");
        let incarnation =
            std::fs::read_to_string(&inc_path).ok().and_then(|t| t.trim().parse::<u32>().ok()).unwrap_or(0)
                + 1;
        write_atomic(&dir, "incarnation", &[incarnation.to_string().as_bytes()])?;

        let Loaded { disk, snapshot, generation, keep, replayed } = load(&dir)?;
        let wal_path = dir.join("wal");
        let wal = match keep {
            Some(pos) => {
                let f = OpenOptions::new().write(true).open(&wal_path)?;
                f.set_len(pos as u64)?;
                f.sync_all()?;
                let mut f = OpenOptions::new().append(true).open(&wal_path)?;
                f.flush()?;
                f
            }
            None => Self::new_wal(&dir, generation)?,
        };
        info!(
            "recovered: snapshot at {}, {} log entries (last {}), {replayed} records replayed, acceptedEpoch {}, currentEpoch {}",
            disk.log.snapshot_zxid(),
            disk.log.entries().len(),
            disk.log.last_zxid(),
            disk.accepted_epoch,
            disk.current_epoch
        );
        // The core holds the recovered snapshot (and sheds it when its log is bounded);
        // the store needs a snapshot only to write the next checkpoint, which a new one
        // brings.
        drop(snapshot);
        Ok(QStore {
            dir,
            wal,
            generation,
            recovered: Some(disk),
            snapshot: None,
            checkpoint_due: false,
            incarnation,
        })
    }

    fn new_wal(dir: &Path, generation: u64) -> Result<File> {
        let mut header = WAL_MAGIC.to_vec();
        header.extend_from_slice(&generation.to_be_bytes());
        write_atomic(dir, "wal", &[&header])?;
        Ok(OpenOptions::new().append(true).open(dir.join("wal"))?)
    }

    /// The recovered durable state, for the core (once).
    pub fn take_durable(&mut self) -> Durable<ZkDatabase> {
        self.recovered.take().unwrap_or_default()
    }

    /// Writes one record (not synced: see [`QStore::log_handle`]). A snapshot or an
    /// install writes a checkpoint (synced) and starts a new log.
    pub fn write(&mut self, op: &PersistOp<ZkDatabase>) -> Result<()> {
        if self.checkpoint_due {
            return Ok(()); // the checkpoint at the end of this step holds it
        }
        let rec = match op {
            PersistOp::Append(e) => Record::Append(e.zxid, e.txn.clone()),
            PersistOp::Truncate(z) => Record::Truncate(*z),
            PersistOp::AcceptedEpoch(e) => Record::AcceptedEpoch(*e),
            PersistOp::CurrentEpoch(e) => Record::CurrentEpoch(*e),
            PersistOp::Config(c) => Record::Config(c.clone()),
            PersistOp::Snapshot(_, s) | PersistOp::Install(_, s) => {
                self.snapshot = Some(s.clone());
                self.checkpoint_due = true;
                return Ok(());
            }
        };
        let payload = bincode::serialize(&rec).context("encoding a record")?;
        self.wal.write_all(&frame(&payload)).context("appending to the log")?;
        Ok(())
    }

    /// The end of a core step: `disk` is the core's view of everything written so far
    /// (including what this step asked for). Writes the checkpoint a snapshot or SNAP of
    /// this step asked for, and starts a new log.
    pub fn end_of_step(&mut self, disk: &Durable<ZkDatabase>) -> Result<()> {
        if !self.checkpoint_due {
            return Ok(());
        }
        self.checkpoint_due = false;
        // Whatever the old log holds must be on disk before a newer generation says so.
        self.wal.sync_data()?;
        let generation = self.generation + 1;
        let snapshot_zxid = disk.log.snapshot_zxid();
        if disk.log.memory_base() > snapshot_zxid {
            bail!("the core shed log entries after its snapshot at {snapshot_zxid}: cannot checkpoint them");
        }
        let snapshot = self.snapshot.take();
        let cp = CheckpointRef {
            generation,
            accepted_epoch: disk.accepted_epoch,
            current_epoch: disk.current_epoch,
            snapshot_zxid,
            snapshot: snapshot.as_ref().map(|s| Raw(&s.0[..])),
            entries: disk.log.entries().iter().map(|e| (e.zxid, &e.txn)).collect(),
            config: &disk.config,
        };
        let payload = bincode::serialize(&cp).context("encoding the checkpoint")?;
        let len = u32::try_from(payload.len()).context("a checkpoint over 4 GB")?.to_be_bytes();
        let crc = crc32fast::hash(&payload).to_be_bytes();
        write_atomic(&self.dir, "checkpoint", &[CP_MAGIC, &len, &crc, &payload])?;
        self.wal = Self::new_wal(&self.dir, generation)?;
        self.generation = generation;
        info!("checkpoint at {snapshot_zxid} (generation {generation})");
        Ok(())
    }

    /// Where the core's bounded log reads back what it shed: these files.
    pub fn source(&self) -> Arc<DiskSource> {
        Arc::new(DiskSource { dir: self.dir.clone() })
    }

    /// A handle on the log to sync outside the server's lock.
    pub fn log_handle(&self) -> Result<File> {
        Ok(self.wal.try_clone()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zoolab_core::ids::SessionId;
    use zoolab_core::tree::TxnOp;

    fn txn(z: u64) -> Txn {
        Txn {
            session: SessionId(1),
            zxid: Zxid(z),
            time: 0,
            op: TxnOp::CreateSession { timeout_ms: 4000 },
            digest: None,
        }
    }

    #[test]
    fn a_borrowed_checkpoint_encodes_as_the_owned_one() {
        let snapshot: Vec<u8> = (0..=255).chain(0..7).collect();
        let entries = vec![(Zxid(5), txn(5)), (Zxid(6), txn(6))];
        for snap in [None, Some(snapshot)] {
            let owned = Checkpoint {
                generation: 3,
                accepted_epoch: Epoch(2),
                current_epoch: Epoch(1),
                snapshot_zxid: Zxid(4),
                snapshot: snap.clone(),
                entries: entries.clone(),
                config: None,
            };
            let borrowed = CheckpointRef {
                generation: 3,
                accepted_epoch: Epoch(2),
                current_epoch: Epoch(1),
                snapshot_zxid: Zxid(4),
                snapshot: snap.as_deref().map(Raw),
                entries: entries.iter().map(|(z, t)| (*z, t)).collect(),
                config: &None,
            };
            let bytes = bincode::serialize(&borrowed).unwrap();
            assert_eq!(bytes, bincode::serialize(&owned).unwrap());
            let back: Checkpoint = bincode::deserialize(&bytes).unwrap();
            assert_eq!((back.snapshot, back.entries.len()), (snap, 2));
        }
    }

    #[test]
    fn records_survive_a_restart_and_a_torn_tail_is_cut() {
        let dir = std::env::temp_dir().join(format!("zoolab-qstore-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let mut s = QStore::open(&dir).unwrap();
            let mut core = s.take_durable();
            for op in [PersistOp::AcceptedEpoch(Epoch(1)), PersistOp::CurrentEpoch(Epoch(1))] {
                core.apply(&op);
                s.write(&op).unwrap();
            }
            for z in 1..=3 {
                let op = PersistOp::Append(LogEntry { zxid: Zxid(z), txn: txn(z), origin: None });
                core.apply(&op);
                s.write(&op).unwrap();
            }
            s.end_of_step(&core).unwrap();
        }
        // Tear the last record.
        let wal = dir.join("zoolab-q/wal");
        let len = std::fs::metadata(&wal).unwrap().len();
        OpenOptions::new().write(true).open(&wal).unwrap().set_len(len - 3).unwrap();
        let mut s = QStore::open(&dir).unwrap();
        assert_eq!(s.incarnation, 2);
        let mut d = s.take_durable();
        assert_eq!((d.accepted_epoch, d.current_epoch, d.log.last_zxid()), (Epoch(1), Epoch(1), Zxid(2)));
        // A snapshot and an append in one step: a checkpoint at its end holds both; an
        // append in a later step goes to the new log; all come back.
        let (db, _) = d.log.replay();
        let step = [
            PersistOp::Snapshot(Zxid(2), zoolab_core::zab::Replicated::snapshot(&db)),
            PersistOp::Append(LogEntry { zxid: Zxid(3), txn: txn(3), origin: None }),
        ];
        for op in &step {
            d.apply(op);
            s.write(op).unwrap();
        }
        s.end_of_step(&d).unwrap();
        let op = PersistOp::Append(LogEntry { zxid: Zxid(4), txn: txn(4), origin: None });
        d.apply(&op);
        s.write(&op).unwrap();
        s.end_of_step(&d).unwrap();
        drop(s);
        let d = QStore::open(&dir).unwrap().take_durable();
        assert_eq!((d.log.snapshot_zxid(), d.log.last_zxid(), d.log.entries().len()), (Zxid(2), Zxid(4), 2));
        // What a bounded log shed is read back from these files: the snapshot at 2 and
        // the entries up to the zxid asked for.
        let s = QStore::open(&dir).unwrap();
        let (snap, entries) = s.source().load(Zxid(2), Zxid(3));
        assert!(snap.is_some());
        assert_eq!(entries.iter().map(|e| e.zxid).collect::<Vec<_>>(), [Zxid(3)]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A copy of `server/tests/data/qstore-v1`: a store written by the code before
    /// values were encoded as byte strings (commit 6695f76): a checkpoint with a
    /// snapshot, and a log with two appends after it.
    fn fixture(name: &str) -> PathBuf {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/qstore-v1/zoolab-q");
        let dir = std::env::temp_dir().join(format!("zoolab-qstore-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("zoolab-q")).unwrap();
        for f in ["checkpoint", "wal", "incarnation"] {
            std::fs::copy(src.join(f), dir.join("zoolab-q").join(f)).unwrap();
        }
        dir
    }

    #[test]
    fn files_written_before_still_load_and_records_encode_the_same() {
        let dir = fixture("v1");
        let wal_before = std::fs::read(dir.join("zoolab-q/wal")).unwrap();
        let cp_before = std::fs::read(dir.join("zoolab-q/checkpoint")).unwrap();
        let cp = read_checkpoint(&dir.join("zoolab-q/checkpoint")).unwrap().unwrap();
        assert_eq!(bincode::serialize(&cp).unwrap(), cp_before[12..]);
        let d = QStore::open(&dir).unwrap().take_durable();
        assert_eq!((d.accepted_epoch, d.current_epoch), (Epoch(1), Epoch(1)));
        assert_eq!((d.log.snapshot_zxid(), d.log.last_zxid()), (Zxid(0x1_0000_0003), Zxid(0x1_0000_0005)));
        let (db, _) = d.log.replay();
        let tree = db.tree();
        assert_eq!(tree.node("/a").unwrap().data, (0..=255).collect::<Vec<u8>>());
        assert_eq!(tree.node("/b").unwrap().data, vec![2; 3000]);
        // The log's records, encoded again now, are the bytes on disk.
        let mut again = wal_before[..WAL_HEADER].to_vec();
        for e in d.log.entries() {
            again.extend(frame(&bincode::serialize(&Record::Append(e.zxid, e.txn.clone())).unwrap()));
        }
        assert_eq!(again, wal_before);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
