//! A replicated server's durable state in `dataDir/zoolab-q/`: what the core's
//! [`PersistOp`]s describe (the txn log after the latest snapshot, the snapshot,
//! `acceptedEpoch`, `currentEpoch`), kept as a checkpoint plus a write-ahead log.
//!
//! - `checkpoint`: `"ZQC2"` · length u32 BE · CRC-32 u32 BE · bincode of
//!   [`Checkpoint`] (generation, epochs, snapshot bytes, the log entries after it).
//!   Written to a temporary file, synced, renamed, the directory synced.
//! - `wal`: `"ZQW2"` · generation u64 BE, then records: length u32 BE · CRC-32 u32 BE
//!   · bincode of [`Record`]. Only a log of the checkpoint's generation is replayed (a
//!   crash between writing a checkpoint and starting its log leaves an older log,
//!   whose records the checkpoint already holds).
//! - `wal.next`: the log of the next generation while its checkpoint is being written
//!   (see below); renamed to `wal` once the checkpoint is in place.
//!
//! Format 1 (`"ZLQC"`, `"ZLQW"`: the same but for znode data, a plain byte string, never
//! null; [`super::legacy`]) is still read: a store that holds any of it is rewritten at
//! startup as a checkpoint of the next generation in format 2 with a new log.
//!
//! Appends are queued in memory ([`Wal`]) under the server's lock and written, then
//! synced, by the driver's group commit outside it: one write and one sync for every
//! record queued since the last ([`Wal::sync`]). Recovery replays the newest checkpoint
//! and its log, truncating a torn or corrupt tail (logged).
//!
//! A snapshot or an installed SNAP writes a new checkpoint and starts a new log, once the
//! core's step that asked for it has been carried out ([`QStore::end_of_step`], from the
//! core's own view of its durable state, so the store keeps no second copy of the log).
//! The checkpoint is written **in the background**: the step starts the new generation's
//! log as `wal.next` at once, so later records go there, and a thread syncs the old log,
//! writes the checkpoint (synced, renamed, the directory synced) and renames `wal.next`
//! to `wal`. Recovery picks `wal.next` as the log when its generation is the
//! checkpoint's (a crash after the checkpoint's rename).
//!
//! - A **snapshot**'s step writes its records to the old log too, and `wal.next` starts
//!   with a record saying how many records the old log holds ([`Record::Follows`]).
//!   Records from the snapshot's step on are acknowledged to the core once the old log
//!   is synced (the driver holds their acknowledgements back until then), not once the
//!   checkpoint is written: a crash before the new checkpoint is in place recovers the
//!   old checkpoint, the old log and then `wal.next`, when the old log holds every
//!   record `wal.next` says it follows (otherwise none of `wal.next` was acknowledged),
//!   and writes what it recovered as a checkpoint of a later generation than both logs.
//! - An installed **SNAP** replaces the state: the records of its step after it go into
//!   its checkpoint only, and are acknowledged once the checkpoint and its log are in
//!   place; a crash before that recovers the old checkpoint with its whole log and
//!   removes `wal.next` (its records were never acknowledged).

use super::legacy::{CheckpointV1, RecordV1};
use crate::zk::lock;
use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;
use tracing::{error, info, warn};
use zoolab_core::config::QuorumConfig;
use zoolab_core::ids::{Epoch, Zxid};
use zoolab_core::tree::Txn;
use zoolab_core::zab::log::{Durable, LogEntry, LogSource, PersistOp};
use zoolab_core::zab::zkdb::{ZkDatabase, ZkSnapshot};

const CP_MAGIC: &[u8; 4] = b"ZQC2";
const WAL_MAGIC: &[u8; 4] = b"ZQW2";
/// Format 1's magics (data never null).
const CP_MAGIC_V1: &[u8; 4] = b"ZLQC";
const WAL_MAGIC_V1: &[u8; 4] = b"ZLQW";
const WAL_HEADER: usize = 12;
const MAX_RECORD: usize = 512 << 20;
/// The log grows by this much at a time: written with zeros and synced once, so that
/// the syncs of the records later written over them write only those records, not
/// the file's new size each time (ZooKeeper pads its logs the same way). A zero
/// record header ends the records.
const PREALLOCATE: u64 = 4 << 20;
const WAL: &str = "wal";
const WAL_NEXT: &str = "wal.next";

/// The checkpoint's contents.
#[derive(Serialize, Deserialize)]
struct Checkpoint {
    /// Read from a format 1 file (not part of the encoding).
    #[serde(skip)]
    v1: bool,
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

/// A [`Checkpoint`] to write, borrowing its parts: [`write_checkpoint`] streams the
/// snapshot's encoding into the file, so a checkpoint of a large tree is never whole in
/// memory. The bytes are bincode's encoding of the [`Checkpoint`] it is read back as.
struct CheckpointRef<'a> {
    generation: u64,
    accepted_epoch: Epoch,
    current_epoch: Epoch,
    snapshot_zxid: Zxid,
    snapshot: Option<&'a ZkSnapshot>,
    entries: Vec<(Zxid, &'a Txn)>,
    config: &'a Option<QuorumConfig>,
}

/// One logged record.
#[derive(Serialize, Deserialize)]
enum Record {
    Append(Zxid, Txn),
    Truncate(Zxid),
    AcceptedEpoch(Epoch),
    CurrentEpoch(Epoch),
    Config(QuorumConfig),
    /// The first record of a log started by a snapshot's checkpoint: it continues the
    /// previous generation's log, which held this many records when it was started.
    Follows(u64),
}

impl From<RecordV1> for Record {
    fn from(r: RecordV1) -> Record {
        match r {
            RecordV1::Append(z, t) => Record::Append(z, t.into()),
            RecordV1::Truncate(z) => Record::Truncate(z),
            RecordV1::AcceptedEpoch(e) => Record::AcceptedEpoch(e),
            RecordV1::CurrentEpoch(e) => Record::CurrentEpoch(e),
            RecordV1::Config(c) => Record::Config(c),
        }
    }
}

/// A [`Record`] to write, borrowing its transaction (the same bincode encoding).
#[derive(Serialize)]
enum RecordRef<'a> {
    Append(Zxid, &'a Txn),
    Truncate(Zxid),
    AcceptedEpoch(Epoch),
    CurrentEpoch(Epoch),
    Config(&'a QuorumConfig),
    Follows(u64),
}

/// A write-ahead log file of one generation. The server queues records under its own
/// lock ([`Wal::queue`]); the group commit writes what is queued in one piece and syncs
/// it ([`Wal::sync`]) outside that lock, so appends cost neither a system call nor a
/// wait on the disk while the server's lock is held.
pub struct Wal {
    /// Framed records not yet written.
    queued: Mutex<Vec<u8>>,
    /// How many records the file holds, written or queued.
    records: AtomicU64,
    /// The file, where the next record goes, and a spare buffer. Held while writing, so
    /// records reach the file in the order they were queued.
    file: Mutex<WalFile>,
}

struct WalFile {
    file: File,
    /// Where the records end.
    end: u64,
    /// Where the zeros written ahead of them end.
    allocated: u64,
    spare: Vec<u8>,
}

impl WalFile {
    /// Zeros from the allocated end to past `need`, synced.
    fn preallocate(&mut self, need: u64) -> std::io::Result<()> {
        let upto = need.div_ceil(PREALLOCATE) * PREALLOCATE;
        let zeros = vec![0u8; (upto - self.allocated).min(1 << 20) as usize];
        let mut at = self.allocated;
        while at < upto {
            let n = (upto - at).min(zeros.len() as u64) as usize;
            self.file.write_all_at(&zeros[..n], at)?;
            at += n as u64;
        }
        self.file.sync_data()?;
        self.allocated = upto;
        Ok(())
    }
}

impl Wal {
    /// Creates `dir/name` holding only a header for `generation` (not synced: the first
    /// [`Wal::sync`] does, and the directory entry is synced by whoever makes the file
    /// the log of record).
    fn create(dir: &Path, name: &str, generation: u64) -> Result<Wal> {
        let path = dir.join(name);
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        file.write_all(WAL_MAGIC)?;
        file.write_all(&generation.to_be_bytes())?;
        Ok(Wal::at(file, WAL_HEADER as u64, 0))
    }

    fn at(file: File, end: u64, records: u64) -> Wal {
        let file = WalFile { file, end, allocated: end, spare: Vec::new() };
        Wal { queued: Mutex::new(Vec::new()), records: AtomicU64::new(records), file: Mutex::new(file) }
    }

    /// Queues one record.
    fn queue(&self, rec: &RecordRef<'_>) -> Result<()> {
        let mut q = lock(&self.queued);
        let start = q.len();
        q.extend_from_slice(&[0; 8]);
        if let Err(e) = bincode::serialize_into(&mut *q, rec) {
            q.truncate(start);
            return Err(e).context("encoding a record");
        }
        let len = q.len() - start - 8;
        if len > MAX_RECORD {
            q.truncate(start);
            bail!("a record of {len} bytes, over the limit of {MAX_RECORD}");
        }
        let crc = crc32fast::hash(&q[start + 8..]);
        q[start..start + 4].copy_from_slice(&(len as u32).to_be_bytes());
        q[start + 4..start + 8].copy_from_slice(&crc.to_be_bytes());
        self.records.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Writes what is queued (not synced).
    pub fn write_queued(&self) -> std::io::Result<()> {
        let mut f = lock(&self.file);
        let mut buf = std::mem::take(&mut f.spare);
        std::mem::swap(&mut buf, &mut *lock(&self.queued));
        if !buf.is_empty() {
            let need = f.end + buf.len() as u64;
            if need > f.allocated {
                f.preallocate(need)?;
            }
            f.file.write_all_at(&buf, f.end)?;
            f.end = need;
        }
        buf.clear();
        f.spare = buf;
        Ok(())
    }

    /// Writes what is queued and syncs the file: every record queued before the call
    /// is durable when it returns.
    pub fn sync(&self) -> std::io::Result<()> {
        self.write_queued()?;
        lock(&self.file).file.sync_data()
    }
}

/// What the server, the background checkpoint and the reader of shed entries share.
struct Shared {
    /// The log being appended to.
    wal: Mutex<Arc<Wal>>,
    /// Whether a checkpoint is being written in the background.
    writing: Mutex<bool>,
    written: Condvar,
}

impl Shared {
    fn wal(&self) -> Arc<Wal> {
        lock(&self.wal).clone()
    }

    /// Waits until no checkpoint is being written.
    fn wait_for_checkpoint(&self) {
        let mut w = lock(&self.writing);
        while *w {
            w = self.written.wait(w).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// The durable state of one replicated server.
pub struct QStore {
    dir: PathBuf,
    generation: u64,
    shared: Arc<Shared>,
    /// The recovered state, until the core takes it.
    recovered: Option<Durable<ZkDatabase>>,
    /// A snapshot or SNAP was asked for in the current step: checkpoint at its end
    /// (true: an installed SNAP).
    checkpoint_due: Option<(ZkSnapshot, bool)>,
    /// How many times this server has started (the core's `incarnation`).
    pub incarnation: u32,
    /// Called by a background checkpoint at each point where a crash leaves a different
    /// state on disk (tests copy the directory there).
    #[cfg(test)]
    crash_point: Option<Arc<dyn Fn(&'static str) + Send + Sync>>,
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
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

/// A writer that passes bytes on and computes their CRC-32.
struct CrcWriter<W> {
    inner: W,
    crc: crc32fast::Hasher,
}

impl<W: Write> Write for CrcWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes a checkpoint as `dir/checkpoint`, atomically and durably, streaming its
/// encoding to the file: the snapshot is encoded as it is written (when it was not
/// encoded before), so neither it nor the checkpoint is ever whole in memory.
fn write_checkpoint(dir: &Path, cp: &CheckpointRef<'_>) -> Result<u32> {
    // bincode's encoding of a `Checkpoint`, in three parts: the fields before the
    // snapshot, the snapshot (an option of a byte string: a tag, a u64 length, the
    // bytes), the fields after it.
    let head = (cp.generation, cp.accepted_epoch, cp.current_epoch, cp.snapshot_zxid);
    let tail = (&cp.entries, cp.config);
    let snapshot_len = cp.snapshot.map(|s| s.encoded_len());
    let len = bincode::serialized_size(&head).context("sizing the checkpoint")?
        + 1
        + snapshot_len.map_or(0, |n| 8 + n)
        + bincode::serialized_size(&tail).context("sizing the checkpoint")?;
    let len = u32::try_from(len).context("a checkpoint over 4 GB")?;
    let tmp = dir.join("checkpoint.tmp");
    let mut f = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(CP_MAGIC)?;
    f.write_all(&[0; 8])?;
    // The snapshot comes in chunks of 64 KB, written past a buffer of that size.
    let mut w =
        CrcWriter { inner: std::io::BufWriter::with_capacity(64 << 10, &f), crc: crc32fast::Hasher::new() };
    bincode::serialize_into(&mut w, &head).context("encoding the checkpoint")?;
    match (cp.snapshot, snapshot_len) {
        (Some(s), Some(n)) => {
            w.write_all(&[1])?;
            w.write_all(&n.to_le_bytes())?;
            let written = s.write_to(&mut w).context("writing the snapshot")?;
            ensure!(written == n, "the snapshot was {written} bytes, not the {n} it was sized at");
        }
        _ => w.write_all(&[0])?,
    }
    bincode::serialize_into(&mut w, &tail).context("encoding the checkpoint")?;
    w.flush()?;
    let CrcWriter { inner, crc } = w;
    drop(inner);
    let crc = crc.finalize();
    let mut header = [0u8; 8];
    header[..4].copy_from_slice(&len.to_be_bytes());
    header[4..].copy_from_slice(&crc.to_be_bytes());
    f.write_all_at(&header, 4)?;
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join("checkpoint"))?;
    sync_dir(dir);
    Ok(len)
}

fn read_checkpoint(path: &Path) -> Result<Option<Checkpoint>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    if bytes.len() < 12 || (&bytes[..4] != CP_MAGIC && &bytes[..4] != CP_MAGIC_V1) {
        bail!("{}: not a zoolab checkpoint", path.display());
    }
    let len = u32::from_be_bytes(bytes[4..8].try_into().expect("4")) as usize;
    let crc = u32::from_be_bytes(bytes[8..12].try_into().expect("4"));
    let payload = bytes.get(12..12 + len).context("checkpoint shorter than its length")?;
    if crc32fast::hash(payload) != crc {
        bail!("{}: bad CRC", path.display());
    }
    let cp: Checkpoint = if &bytes[..4] == CP_MAGIC_V1 {
        let v1: CheckpointV1 = bincode::deserialize(payload).context("decoding the format 1 checkpoint")?;
        Checkpoint {
            generation: v1.generation,
            accepted_epoch: v1.accepted_epoch,
            current_epoch: v1.current_epoch,
            snapshot_zxid: v1.snapshot_zxid,
            snapshot: v1.snapshot,
            entries: v1.entries.into_iter().map(|(z, t)| (z, t.into())).collect(),
            config: v1.config,
            v1: true,
        }
    } else {
        bincode::deserialize(payload).context("decoding the checkpoint")?
    };
    if let Some(s) = &cp.snapshot {
        zoolab_core::tree::snapshot::decode(s).map_err(|e| anyhow::anyhow!("checkpoint snapshot: {e}"))?;
    }
    Ok(Some(cp))
}

/// What the files under `zoolab-q/` hold.
struct Loaded {
    disk: Durable<ZkDatabase>,
    generation: u64,
    /// The log of the checkpoint's generation, where its valid part ends and how many
    /// records that part holds (none: it is missing, of another generation or has no
    /// valid header).
    keep: Option<(&'static str, usize, u64)>,
    /// `wal.next` of the next generation continued that log (a snapshot's checkpoint
    /// was being written) and was replayed after it.
    chained: bool,
    replayed: usize,
    /// Whether any of it was in format 1 (to be rewritten in format 2).
    v1: bool,
}

/// One log file read: where its valid records end, how many there are, why the rest
/// was cut (if it was), and the record it starts with if that is a [`Record::Follows`].
struct LogRead {
    pos: usize,
    records: u64,
    cut: Option<String>,
    follows: Option<u64>,
}

/// Replays the records of a log file's bytes (after its header) into `disk`.
fn replay(bytes: &[u8], disk: &mut Durable<ZkDatabase>) -> LogRead {
    let v1 = &bytes[..4] == WAL_MAGIC_V1;
    let mut read = LogRead { pos: WAL_HEADER, records: 0, cut: None, follows: None };
    let mut pos = WAL_HEADER;
    let why = loop {
        if pos >= bytes.len() {
            break None;
        }
        if bytes[pos..].len() < 8 && bytes[pos..].iter().all(|&b| b == 0) {
            break None; // zeros written ahead (PREALLOCATE)
        }
        if bytes.len() - pos < 8 {
            break Some("a torn record header".to_string());
        }
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().expect("4")) as usize;
        let crc = u32::from_be_bytes(bytes[pos + 4..pos + 8].try_into().expect("4"));
        if len == 0 && crc == 0 {
            // The zeros written ahead (PREALLOCATE): the end of the records. Anything
            // but zeros after it was never acknowledged (a record written past one that
            // did not reach the disk).
            break bytes[pos..]
                .iter()
                .any(|&b| b != 0)
                .then(|| "bytes after the end of the records".to_string());
        }
        if len > MAX_RECORD || bytes.len() - pos - 8 < len {
            break Some("a torn record".to_string());
        }
        let payload = &bytes[pos + 8..pos + 8 + len];
        if crc32fast::hash(payload) != crc {
            break Some("a record with a bad CRC".to_string());
        }
        let rec = if v1 {
            bincode::deserialize::<RecordV1>(payload).map(Record::from)
        } else {
            bincode::deserialize::<Record>(payload)
        };
        let rec: Record = match rec {
            Ok(r) => r,
            Err(e) => break Some(format!("an undecodable record ({e})")),
        };
        let op = match rec {
            Record::Append(zxid, txn) => {
                if zxid <= disk.log.last_zxid() {
                    break Some(format!("an append out of order ({zxid})"));
                }
                Some(PersistOp::Append(LogEntry { zxid, txn, origin: None }))
            }
            Record::Truncate(z) => Some(PersistOp::Truncate(z)),
            Record::AcceptedEpoch(e) => Some(PersistOp::AcceptedEpoch(e)),
            Record::CurrentEpoch(e) => Some(PersistOp::CurrentEpoch(e)),
            Record::Config(c) => Some(PersistOp::Config(c)),
            Record::Follows(n) => {
                if read.records == 0 {
                    read.follows = Some(n);
                }
                None
            }
        };
        if let Some(op) = op {
            disk.apply(&op);
        }
        read.records += 1;
        pos += 8 + len;
    };
    read.pos = pos;
    read.cut = why;
    read
}

/// A log file's bytes, if it has a valid header: its generation and the bytes.
fn read_log(path: &Path) -> Result<Option<(u64, Vec<u8>)>> {
    match std::fs::read(path) {
        Ok(bytes)
            if bytes.len() >= WAL_HEADER && (&bytes[..4] == WAL_MAGIC || &bytes[..4] == WAL_MAGIC_V1) =>
        {
            Ok(Some((u64::from_be_bytes(bytes[4..12].try_into().expect("8")), bytes)))
        }
        Ok(_) => {
            warn!("{}: no valid header", path.display());
            Ok(None)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Reads the newest checkpoint and its log (changing nothing on disk): the log is
/// `wal`, or `wal.next` when it is of the checkpoint's generation (a crash after a
/// background checkpoint was renamed into place and before its log was); and when a
/// snapshot's checkpoint was still being written, `wal.next` of the next generation
/// after `wal`, if `wal` holds every record `wal.next` says it follows.
fn load(dir: &Path) -> Result<Loaded> {
    let cp = read_checkpoint(&dir.join("checkpoint"))?;
    let mut disk = Durable::<ZkDatabase>::default();
    let generation = cp.as_ref().map_or(0, |c| c.generation);
    let mut v1 = cp.as_ref().is_some_and(|c| c.v1);
    if let Some(cp) = cp {
        disk.accepted_epoch = cp.accepted_epoch;
        disk.current_epoch = cp.current_epoch;
        disk.config = cp.config.clone();
        if let Some(bytes) = cp.snapshot {
            disk.log.install(cp.snapshot_zxid, ZkSnapshot::from_bytes(bytes));
        }
        for (zxid, txn) in cp.entries {
            disk.log.append(LogEntry { zxid, txn, origin: None });
        }
    }
    let mut next = read_log(&dir.join(WAL_NEXT))?;
    let next_generation = next.as_ref().map(|(g, _)| *g);
    let (name, log) = if next_generation == Some(generation) {
        (WAL_NEXT, next.take())
    } else {
        (WAL, read_log(&dir.join(WAL))?)
    };
    let wal_path = dir.join(name);
    let mut replayed = 0usize;
    let mut keep = None;
    match log {
        Some((gen, _)) if gen != generation => {
            info!(
                "{}: generation {gen}, checkpoint {generation}: already in the checkpoint",
                wal_path.display()
            );
        }
        Some((_, bytes)) => {
            v1 |= &bytes[..4] == WAL_MAGIC_V1;
            let read = replay(&bytes, &mut disk);
            if let Some(why) = &read.cut {
                warn!("{}: {why} at byte {}; truncating the log there", wal_path.display(), read.pos);
            }
            replayed += read.records as usize;
            keep = Some((name, read.pos, read.records, read.cut.is_none()));
        }
        None => {}
    }
    let mut chained = false;
    if let (Some((WAL, _, records, true)), Some((g, bytes))) = (keep, &next) {
        if *g == generation + 1 {
            let mut more = disk.clone();
            let read = replay(bytes, &mut more);
            if read.follows == Some(records) {
                if let Some(why) = &read.cut {
                    warn!(
                        "{}: {why} at byte {}; replayed up to there",
                        dir.join(WAL_NEXT).display(),
                        read.pos
                    );
                }
                info!(
                    "{}: continues the log ({records} records); replayed after it",
                    dir.join(WAL_NEXT).display()
                );
                disk = more;
                replayed += read.records as usize;
                chained = true;
            }
        }
    }
    let keep = keep.map(|(name, pos, records, _)| (name, pos, records));
    Ok(Loaded { disk, generation, keep, chained, replayed, v1 })
}

/// Reads back what the core's bounded log shed ([`zoolab_core::zab::log::TxnLog::bound`]):
/// the snapshot and the entries up to a zxid, from the checkpoint and log on disk (once
/// a checkpoint being written is in place, and what is queued is written).
pub struct DiskSource {
    dir: PathBuf,
    shared: Arc<Shared>,
}

impl LogSource<ZkDatabase> for DiskSource {
    fn load(&self, snapshot_zxid: Zxid, upto: Zxid) -> (Option<ZkSnapshot>, Vec<LogEntry<ZkDatabase>>) {
        self.shared.wait_for_checkpoint();
        let loaded =
            self.shared.wal().write_queued().context("writing the log").and_then(|()| load(&self.dir));
        let loaded = loaded.and_then(|l| {
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
                (l.disk.log.snapshot().cloned(), entries)
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

        let Loaded { disk, mut generation, keep, chained, replayed, v1 } = load(&dir)?;
        let wal_path = dir.join(WAL);
        let next_path = dir.join(WAL_NEXT);
        let wal = match keep {
            _ if chained || v1 => {
                // The old checkpoint, its log and the next log, or a store in format 1:
                // all of it in a checkpoint (in format 2) of a generation after both logs
                // (which it makes stale), and a new log.
                generation += 2;
                info!("writing what was recovered as checkpoint generation {generation}");
                write_checkpoint(
                    &dir,
                    &CheckpointRef {
                        generation,
                        accepted_epoch: disk.accepted_epoch,
                        current_epoch: disk.current_epoch,
                        snapshot_zxid: disk.log.snapshot_zxid(),
                        snapshot: disk.log.snapshot(),
                        entries: disk.log.entries().iter().map(|e| (e.zxid, &e.txn)).collect(),
                        config: &disk.config,
                    },
                )?;
                let w = Wal::create(&dir, WAL, generation)?;
                w.sync()?;
                sync_dir(&dir);
                w
            }
            Some((name, pos, records)) => {
                if name == WAL_NEXT {
                    info!(
                        "{}: the log of the checkpoint written last; it is the log now",
                        next_path.display()
                    );
                    std::fs::rename(&next_path, &wal_path)?;
                    sync_dir(&dir);
                }
                let f = OpenOptions::new().write(true).open(&wal_path)?;
                f.set_len(pos as u64)?;
                f.sync_all()?;
                Wal::at(f, pos as u64, records)
            }
            None => {
                let w = Wal::create(&dir, WAL, generation)?;
                w.sync()?;
                sync_dir(&dir);
                w
            }
        };
        if next_path.exists() {
            // A crash while a checkpoint was written: its log was replayed after the
            // old one (and is in the checkpoint just written), or its records were never
            // acknowledged (an installed SNAP's, or the old log was not all on disk).
            info!("{}: a checkpoint that was not completed; removing its log", next_path.display());
            std::fs::remove_file(&next_path)?;
            sync_dir(&dir);
        }
        info!(
            "recovered: snapshot at {}, {} log entries (last {}), {replayed} records replayed, acceptedEpoch {}, currentEpoch {}",
            disk.log.snapshot_zxid(),
            disk.log.entries().len(),
            disk.log.last_zxid(),
            disk.accepted_epoch,
            disk.current_epoch
        );
        let shared = Arc::new(Shared {
            wal: Mutex::new(Arc::new(wal)),
            writing: Mutex::new(false),
            written: Condvar::new(),
        });
        Ok(QStore {
            dir,
            generation,
            shared,
            recovered: Some(disk),
            checkpoint_due: None,
            incarnation,
            #[cfg(test)]
            crash_point: None,
        })
    }

    /// The recovered durable state, for the core (once).
    pub fn take_durable(&mut self) -> Durable<ZkDatabase> {
        self.recovered.take().unwrap_or_default()
    }

    /// Queues one record for the group commit ([`QStore::wal`]). A snapshot or an
    /// install makes the end of the step write a checkpoint and start a new log. The
    /// records of a snapshot's step go to the log as well (recovery may replay the old
    /// checkpoint and both logs); those after an install only to its checkpoint.
    pub fn write(&mut self, op: &PersistOp<ZkDatabase>) -> Result<()> {
        if let Some((_, true)) = self.checkpoint_due {
            return Ok(()); // the checkpoint at the end of this step holds it
        }
        let rec = match op {
            PersistOp::Append(e) => RecordRef::Append(e.zxid, &e.txn),
            PersistOp::Truncate(z) => RecordRef::Truncate(*z),
            PersistOp::AcceptedEpoch(e) => RecordRef::AcceptedEpoch(*e),
            PersistOp::CurrentEpoch(e) => RecordRef::CurrentEpoch(*e),
            PersistOp::Config(c) => RecordRef::Config(c),
            PersistOp::Snapshot(_, s) => {
                self.checkpoint_due = Some((s.clone(), false));
                return Ok(());
            }
            PersistOp::Install(_, s) => {
                self.checkpoint_due = Some((s.clone(), true));
                return Ok(());
            }
        };
        self.shared.wal().queue(&rec)
    }

    /// The end of a core step: `disk` is the core's view of everything written so far
    /// (including what this step asked for). When a snapshot or SNAP of this step asked
    /// for a checkpoint, starts the next generation's log (later records go there) and
    /// writes the checkpoint in the background; `done` is called with its generation
    /// once what this step and the ones before it wrote is where recovery finds it:
    /// for a snapshot, once the old log is synced (recovery replays the old checkpoint,
    /// the old log and the new one, which starts by saying how many records the old one
    /// holds); for an installed SNAP, once the checkpoint and its log are in place.
    /// Until then nothing from this step on may be acknowledged. Returns that generation.
    pub fn end_of_step<D: FnOnce(u64) + Send + 'static>(
        &mut self,
        disk: &Durable<ZkDatabase>,
        done: D,
    ) -> Result<Option<u64>> {
        let Some((snapshot, install)) = self.checkpoint_due.take() else { return Ok(None) };
        let snapshot_zxid = disk.log.snapshot_zxid();
        if disk.log.memory_base() > snapshot_zxid {
            bail!("the core shed log entries after its snapshot at {snapshot_zxid}: cannot checkpoint them");
        }
        // One checkpoint at a time (a second one this soon is rare: a SNAP right after).
        self.shared.wait_for_checkpoint();
        let generation = self.generation + 1;
        let next = Arc::new(Wal::create(&self.dir, WAL_NEXT, generation)?);
        if !install {
            let old = lock(&self.shared.wal).records.load(Ordering::Relaxed);
            next.queue(&RecordRef::Follows(old))?;
        }
        let old = std::mem::replace(&mut *lock(&self.shared.wal), next);
        self.generation = generation;
        *lock(&self.shared.writing) = true;
        let (accepted_epoch, current_epoch) = (disk.accepted_epoch, disk.current_epoch);
        let entries: Vec<(Zxid, Txn)> = disk.log.entries().iter().map(|e| (e.zxid, e.txn.clone())).collect();
        let config = disk.config.clone();
        let (dir, shared) = (self.dir.clone(), self.shared.clone());
        let rt = tokio::runtime::Handle::try_current().ok();
        let rt2 = rt.clone();
        #[cfg(test)]
        let crash_point = self.crash_point.clone();
        let point = move |_at: &'static str| {
            #[cfg(test)]
            if let Some(f) = &crash_point {
                f(_at);
            }
        };
        let mut done = Some(done);
        let job = move |done: &mut Option<D>| -> Result<()> {
            let t0 = Instant::now();
            point("started");
            // Whatever the old log holds must be on disk before a newer generation says so.
            old.sync().context("syncing the old log")?;
            point("old log synced");
            if !install {
                if let Some(done) = done.take() {
                    // On a thread of its own: `done` steps the member, whose next
                    // snapshot would wait for this checkpoint to be written.
                    let rt = rt.clone();
                    std::thread::Builder::new()
                        .name("checkpoint-ack".into())
                        .spawn(move || {
                            let _guard = rt.as_ref().map(|h| h.enter());
                            done(generation);
                        })
                        .context("starting the checkpoint's acknowledgement thread")?;
                }
            }
            let cp = CheckpointRef {
                generation,
                accepted_epoch,
                current_epoch,
                snapshot_zxid,
                snapshot: Some(&snapshot),
                entries: entries.iter().map(|(z, t)| (*z, t)).collect(),
                config: &config,
            };
            let len = write_checkpoint(&dir, &cp)?;
            point("checkpoint in place");
            std::fs::rename(dir.join(WAL_NEXT), dir.join(WAL)).context("renaming wal.next")?;
            sync_dir(&dir);
            point("log in place");
            info!(
                "checkpoint at {snapshot_zxid} (generation {generation}, {} MB) written in the background in {} ms",
                len >> 20,
                t0.elapsed().as_millis()
            );
            Ok(())
        };
        std::thread::Builder::new()
            .name("checkpoint".into())
            .spawn(move || {
                if let Err(e) = job(&mut done) {
                    error!("cannot write a checkpoint: {e:#}; stopping");
                    std::process::exit(3);
                }
                *lock(&shared.writing) = false;
                shared.written.notify_all();
                if let Some(done) = done.take() {
                    let _guard = rt2.as_ref().map(|h| h.enter());
                    done(generation);
                }
            })
            .context("starting the checkpoint thread")?;
        Ok(Some(generation))
    }

    /// Where the core's bounded log reads back what it shed: these files.
    pub fn source(&self) -> Arc<DiskSource> {
        Arc::new(DiskSource { dir: self.dir.clone(), shared: self.shared.clone() })
    }

    /// The log records are queued to: the group commit writes and syncs it
    /// ([`Wal::sync`]).
    pub fn wal(&self) -> Arc<Wal> {
        self.shared.wal()
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

    /// A database of `n` nodes of 1 KB: its snapshot is many of the stream's chunks.
    fn db_of(n: u32) -> ZkDatabase {
        use zoolab_core::tree::{Acl, Data, DataTree};
        let mut tree = DataTree::new();
        for i in 0..n {
            let op = TxnOp::Create {
                path: format!("/n{i:05}"),
                data: if i % 7 == 0 { Data::NULL } else { vec![(i % 251) as u8; 1024].into() },
                acl: Acl::open_unsafe(),
                owner: 0,
                parent_cversion: i as i32 + 1,
            };
            let t = Txn { session: SessionId(1), zxid: Zxid(u64::from(i) + 1), time: 0, op, digest: None };
            assert!(tree.apply(&t).result.is_ok());
        }
        ZkDatabase::from_tree(tree)
    }

    /// What `write_checkpoint` streams is bincode's encoding of the `Checkpoint` it is
    /// read back as, whether its snapshot was encoded before (bytes) or is encoded as it
    /// is written (a copy of a tree), with or without a snapshot.
    #[test]
    fn a_streamed_checkpoint_is_the_owned_ones_encoding() {
        use zoolab_core::zab::Replicated;
        let dir = fresh_dir("stream");
        std::fs::create_dir_all(&dir).unwrap();
        let db = db_of(400);
        let encoded = zoolab_core::tree::snapshot::encode(db.tree());
        assert!(encoded.len() > 4 * (64 << 10), "{} bytes", encoded.len());
        let entries = vec![(Zxid(301), txn(301)), (Zxid(302), txn(302))];
        let snapshots = [None, Some(ZkSnapshot::from_bytes(encoded.clone())), Some(db.snapshot())];
        for snap in &snapshots {
            let owned = Checkpoint {
                generation: 3,
                accepted_epoch: Epoch(2),
                current_epoch: Epoch(1),
                snapshot_zxid: Zxid(300),
                snapshot: snap.as_ref().map(|_| encoded.clone()),
                entries: entries.clone(),
                config: None,
                v1: false,
            };
            let borrowed = CheckpointRef {
                generation: 3,
                accepted_epoch: Epoch(2),
                current_epoch: Epoch(1),
                snapshot_zxid: Zxid(300),
                snapshot: snap.as_ref(),
                entries: entries.iter().map(|(z, t)| (*z, t)).collect(),
                config: &None,
            };
            let len = write_checkpoint(&dir, &borrowed).unwrap();
            let file = std::fs::read(dir.join("checkpoint")).unwrap();
            let payload = bincode::serialize(&owned).unwrap();
            assert_eq!(len as usize, payload.len());
            assert_eq!(&file[12..], &payload[..]);
            let back = read_checkpoint(&dir.join("checkpoint")).unwrap().unwrap();
            assert_eq!((back.snapshot, back.entries.len()), (owned.snapshot, 2));
        }
        // The tree's copy was streamed, not kept as bytes.
        let streamed = snapshots[2].as_ref().unwrap();
        assert!(!streamed.is_encoded());
        assert_eq!(streamed.encoded_len(), encoded.len() as u64);
        assert_eq!(streamed.bytes(), &encoded[..]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A snapshot streamed on one thread while another asks for its bytes (as a
    /// checkpoint and a `restore` could): both get the same bytes, whichever takes the
    /// tree's copy first, and streaming alone keeps no bytes.
    #[test]
    fn a_snapshot_streamed_while_its_bytes_are_asked_for_is_the_same() {
        use zoolab_core::zab::Replicated;
        /// A writer that takes its time, so the other thread asks mid-stream.
        struct Slow(Vec<u8>);
        impl Write for Slow {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                std::thread::sleep(std::time::Duration::from_millis(2));
                self.0.extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let db = db_of(400);
        let expected = zoolab_core::tree::snapshot::encode(db.tree());
        let alone = db.snapshot();
        let mut out = Slow(Vec::new());
        assert_eq!(alone.write_to(&mut out).unwrap(), expected.len() as u64);
        assert_eq!(out.0, expected);
        assert!(!alone.is_encoded(), "streaming made no bytes to keep");
        for stream_first in [true, false] {
            let snap = db.snapshot();
            let (s1, s2) = (snap.clone(), snap.clone());
            let writer = std::thread::spawn(move || {
                let mut out = Slow(Vec::new());
                let n = s1.write_to(&mut out).unwrap();
                (n, out.0)
            });
            if stream_first {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            let asked = s2.bytes().to_vec();
            let (n, written) = writer.join().unwrap();
            assert_eq!((n as usize, &written, &asked), (expected.len(), &expected, &expected));
            assert_eq!(snap.encoded_len(), expected.len() as u64);
        }
    }

    /// An empty directory for one test, under the system's temporary directory.
    fn fresh_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("zoolab-qstore-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// Carries out one core step's records, as the server does: the core's copy first,
    /// then the store's, then the end of the step.
    fn step(s: &mut QStore, d: &mut Durable<ZkDatabase>, ops: &[PersistOp<ZkDatabase>]) -> Option<u64> {
        for op in ops {
            d.apply(op);
            s.write(op).unwrap();
        }
        s.end_of_step(d, |_| {}).unwrap()
    }

    fn append(z: u64) -> PersistOp<ZkDatabase> {
        PersistOp::Append(LogEntry { zxid: Zxid(z), txn: txn(z), origin: None })
    }

    fn snapshot_of(d: &Durable<ZkDatabase>) -> PersistOp<ZkDatabase> {
        let (db, last) = d.log.replay();
        PersistOp::Snapshot(last, zoolab_core::zab::Replicated::snapshot(&db))
    }

    /// The state recovered from a directory: epochs, snapshot zxid, last zxid.
    fn recovered(dir: &Path) -> (Epoch, Zxid, Zxid) {
        let d = QStore::open(dir).unwrap().take_durable();
        (d.current_epoch, d.log.snapshot_zxid(), d.log.last_zxid())
    }

    /// A store written by format 1 (its checkpoint and log, by the format's mirror
    /// types) opens with the same contents, is rewritten in format 2 once, and then
    /// keeps null data.
    #[test]
    fn a_format_1_store_is_read_and_rewritten_in_format_2() {
        use super::super::legacy::v1_of;
        use zoolab_core::tree::{Acl, Data};
        let dir = fresh_dir("v1-rewrite");
        let q = dir.join("zoolab-q");
        std::fs::create_dir_all(&q).unwrap();
        let op = |z: u64, op: TxnOp| Txn { op, ..txn(z) };
        let create = |z: u64, p: &str, d: &[u8]| {
            let (path, data, acl) = (p.to_owned(), Data::from(d), Acl::open_unsafe());
            op(z, TxnOp::Create { path, data, acl, owner: 0, parent_cversion: -1 })
        };
        let in_cp = [(Zxid(5), create(5, "/a", b"x")), (Zxid(6), create(6, "/e", b""))];
        let set = op(7, TxnOp::SetData { path: "/a".into(), data: Data::from(b"yz"), version: 1 });
        let multi = op(8, TxnOp::Multi(vec![create(8, "/m", &[]).op]));
        let cp = CheckpointV1 {
            generation: 4,
            accepted_epoch: Epoch(2),
            current_epoch: Epoch(2),
            snapshot_zxid: Zxid(0),
            snapshot: None,
            entries: in_cp.iter().map(|(z, t)| (*z, v1_of(t))).collect(),
            config: None,
        };
        let payload = bincode::serialize(&cp).unwrap();
        let mut cp_file = CP_MAGIC_V1.to_vec();
        cp_file.extend_from_slice(&frame(&payload));
        std::fs::write(q.join("checkpoint"), cp_file).unwrap();
        let mut wal = WAL_MAGIC_V1.to_vec();
        wal.extend_from_slice(&4u64.to_be_bytes());
        for t in [&set, &multi] {
            wal.extend(frame(&bincode::serialize(&RecordV1::Append(t.zxid, v1_of(t))).unwrap()));
        }
        std::fs::write(q.join("wal"), wal).unwrap();

        let expected: Vec<(Zxid, Txn)> =
            in_cp.iter().cloned().chain([(Zxid(7), set.clone()), (Zxid(8), multi.clone())]).collect();
        let entries = |d: &Durable<ZkDatabase>| -> Vec<(Zxid, Txn)> {
            d.log.entries().iter().map(|e| (e.zxid, e.txn.clone())).collect()
        };
        let mut s = QStore::open(&dir).unwrap();
        let mut core = s.take_durable();
        assert_eq!((core.current_epoch, entries(&core)), (Epoch(2), expected.clone()));
        assert_eq!(&std::fs::read(q.join("checkpoint")).unwrap()[..4], CP_MAGIC);
        assert_eq!(&std::fs::read(q.join("wal")).unwrap()[..4], WAL_MAGIC);
        // Null data is kept from now on.
        let null = op(9, TxnOp::SetData { path: "/e".into(), data: Data::NULL, version: 1 });
        step(
            &mut s,
            &mut core,
            &[PersistOp::Append(LogEntry { zxid: Zxid(9), txn: null.clone(), origin: None })],
        );
        s.wal().sync().unwrap();
        drop(s);
        let again = QStore::open(&dir).unwrap().take_durable();
        let mut all = expected;
        all.push((Zxid(9), null));
        assert_eq!(entries(&again), all);
        let TxnOp::SetData { data, .. } = &all[4].1.op else { unreachable!() };
        assert!(data.is_null());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn records_survive_a_restart_and_a_torn_tail_is_cut() {
        let dir = fresh_dir("restart");
        {
            let mut s = QStore::open(&dir).unwrap();
            let mut core = s.take_durable();
            let mut ops = vec![PersistOp::AcceptedEpoch(Epoch(1)), PersistOp::CurrentEpoch(Epoch(1))];
            ops.extend((1..=3).map(append));
            step(&mut s, &mut core, &ops);
            // Queued, not written yet: the group commit writes and syncs.
            assert_eq!(std::fs::metadata(dir.join("zoolab-q/wal")).unwrap().len(), WAL_HEADER as u64);
            s.wal().sync().unwrap();
            // The file is longer, with zeros written ahead of the records.
            let wal = s.wal();
            let f = lock(&wal.file);
            assert_eq!(f.allocated, PREALLOCATE);
            assert_eq!(std::fs::metadata(dir.join("zoolab-q/wal")).unwrap().len(), PREALLOCATE);
            // Tear the last record: its last 8 bytes were never written.
            f.file.write_all_at(&[0; 8], f.end - 8).unwrap();
        }
        let mut s = QStore::open(&dir).unwrap();
        assert_eq!(s.incarnation, 2);
        let mut d = s.take_durable();
        assert_eq!((d.accepted_epoch, d.current_epoch, d.log.last_zxid()), (Epoch(1), Epoch(1), Zxid(2)));
        // A snapshot and an append in one step: a checkpoint at its end holds both; an
        // append in a later step goes to the new log; all come back.
        let snap = snapshot_of(&d);
        assert_eq!(step(&mut s, &mut d, &[snap, append(3)]), Some(1));
        assert_eq!(step(&mut s, &mut d, &[append(4)]), None);
        s.wal().sync().unwrap();
        s.shared.wait_for_checkpoint();
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

    #[test]
    fn bytes_after_the_zeros_ahead_are_cut() {
        let dir = fresh_dir("ahead");
        {
            let mut s = QStore::open(&dir).unwrap();
            let mut d = s.take_durable();
            step(&mut s, &mut d, &[PersistOp::CurrentEpoch(Epoch(1)), append(1), append(2)]);
            s.wal().sync().unwrap();
        }
        let wal = dir.join("zoolab-q/wal");
        OpenOptions::new().append(true).open(&wal).unwrap().write_all(b"half a record").unwrap();
        assert_eq!(recovered(&dir), (Epoch(1), Zxid(0), Zxid(2)));
        let bytes = std::fs::read(&wal).unwrap();
        assert!(
            bytes.len() < 200 && !bytes.windows(4).any(|w| w == b"half"),
            "cut at the end of the records"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn copy_dir(from: &Path, to: &Path) {
        let _ = std::fs::remove_dir_all(to);
        std::fs::create_dir_all(to.join("zoolab-q")).unwrap();
        for e in std::fs::read_dir(from.join("zoolab-q")).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), to.join("zoolab-q").join(e.file_name())).unwrap();
        }
    }

    /// A store at epoch 1 holding records 1 to 5 (synced), whose checkpoint thread
    /// pauses at each crash point while a test copies the directory: the state a kill -9
    /// there would leave.
    struct CrashRig {
        base: PathBuf,
        dir: PathBuf,
        s: QStore,
        d: Durable<ZkDatabase>,
        /// The crash point reached.
        at: std::sync::mpsc::Receiver<&'static str>,
        /// Lets the checkpoint's thread go on.
        go: std::sync::mpsc::Sender<()>,
    }

    impl CrashRig {
        fn new(name: &str) -> CrashRig {
            let base = fresh_dir(name);
            let dir = base.join("live");
            let mut s = QStore::open(&dir).unwrap();
            let mut d = s.take_durable();
            step(&mut s, &mut d, &[PersistOp::AcceptedEpoch(Epoch(1)), PersistOp::CurrentEpoch(Epoch(1))]);
            for z in 1..=5 {
                step(&mut s, &mut d, &[append(z)]);
            }
            s.wal().sync().unwrap();
            let (tx, at) = std::sync::mpsc::channel::<&'static str>();
            let (go, go_rx) = std::sync::mpsc::channel::<()>();
            let go_rx = Mutex::new(go_rx);
            s.crash_point = Some(Arc::new(move |at| {
                tx.send(at).unwrap();
                lock(&go_rx).recv().unwrap();
            }));
            CrashRig { base, dir, s, d, at, go }
        }

        /// Copies of the directory at each crash point of the checkpoint being written,
        /// to "log in place"; `then` runs (its records synced) once it started.
        fn states(
            &mut self,
            mut then: impl FnMut(&mut QStore, &mut Durable<ZkDatabase>),
        ) -> Vec<(&'static str, PathBuf)> {
            let CrashRig { base, dir, s, d, at: reached, go } = self;
            let mut states = Vec::new();
            for (i, at) in reached.iter().enumerate() {
                if i == 0 {
                    then(s, d);
                    s.wal().sync().unwrap();
                }
                let copy = base.join(format!("crash-{i}"));
                copy_dir(dir, &copy);
                states.push((at, copy));
                go.send(()).unwrap();
                if at == "log in place" {
                    break;
                }
            }
            s.shared.wait_for_checkpoint();
            states
        }
    }

    /// A crash (kill -9) at every point of a background checkpoint recovers either the
    /// old checkpoint with its whole log (and the next log, once the old one is synced),
    /// or the new one with the log after it, and loses nothing that was acknowledged
    /// (`Durability` in `node.rs` acknowledges the records from the snapshot's step on
    /// only once the old log is synced).
    #[test]
    fn a_crash_at_every_point_of_a_background_checkpoint_recovers() {
        let mut rig = CrashRig::new("bg");
        // Record 6 queued (not synced) before the snapshot, in the same step, then 7
        // after it (both in the old log and in the checkpoint); 8 and 9 in later steps
        // go to the next log.
        let snap = {
            let mut e = rig.d.clone();
            e.apply(&append(6));
            snapshot_of(&e)
        };
        assert_eq!(step(&mut rig.s, &mut rig.d, &[append(6), snap, append(7)]), Some(1));
        let states = rig.states(|s, d| {
            step(s, d, &[append(8)]);
            step(s, d, &[append(9)]);
        });
        let points: Vec<_> = states.iter().map(|(at, _)| *at).collect();
        assert_eq!(points, ["started", "old log synced", "checkpoint in place", "log in place"]);
        for (at, copy) in &states {
            let got = recovered(copy);
            let expect = match *at {
                // The old checkpoint (none) and its log up to 5: 6 and 7 (the snapshot's
                // step) were queued to it, not written; 8 and 9, synced in the next log,
                // do not count without them (none of 6 to 9 was acknowledged: they wait
                // for the old log's sync).
                "started" => (Epoch(1), Zxid(0), Zxid(5)),
                // The old log is synced, 6 to 9 may be acknowledged: the old checkpoint,
                // the old log up to 7 and the next log from 8.
                "old log synced" => (Epoch(1), Zxid(0), Zxid(9)),
                _ => (Epoch(1), Zxid(6), Zxid(9)),
            };
            assert_eq!(got, expect, "a crash at {at}");
            assert!(!copy.join("zoolab-q/wal.next").exists(), "{at}: wal.next is used or removed");
            // And once more: what recovery left behind recovers the same.
            assert_eq!(recovered(copy), expect, "a second restart after a crash at {at}");
        }
        drop(rig.s);
        assert_eq!(recovered(&rig.dir), (Epoch(1), Zxid(6), Zxid(9)));
        let _ = std::fs::remove_dir_all(&rig.base);
    }

    /// The callback that releases a snapshot's records steps the member, whose next step
    /// may take another snapshot and wait for this checkpoint to be written: it must not
    /// run on the thread that writes it.
    #[test]
    fn the_acknowledgement_of_a_snapshot_may_wait_for_its_checkpoint() {
        let dir = fresh_dir("ackwait");
        let mut s = QStore::open(&dir).unwrap();
        let mut d = s.take_durable();
        step(&mut s, &mut d, &[PersistOp::CurrentEpoch(Epoch(1)), append(1), append(2)]);
        let snap = snapshot_of(&d);
        d.apply(&snap);
        s.write(&snap).unwrap();
        let shared = s.shared.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let done = move |generation| {
            shared.wait_for_checkpoint();
            tx.send(generation).unwrap();
        };
        assert_eq!(s.end_of_step(&d, done).unwrap(), Some(1));
        let got = rx.recv_timeout(std::time::Duration::from_secs(30));
        assert_eq!(got, Ok(1), "the callback waited for a checkpoint that waited for it");
        drop(s);
        assert_eq!(recovered(&dir), (Epoch(1), Zxid(2), Zxid(2)));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// An installed SNAP replaces the state: a crash before its checkpoint is in place
    /// recovers the old checkpoint with its whole log and nothing of the next log (whose
    /// records wait for the checkpoint), even once the old log is synced.
    #[test]
    fn a_crash_while_an_installed_snap_is_written_recovers_the_old_state_or_the_new() {
        let mut rig = CrashRig::new("snap");
        // A leader's snapshot at 20 (another history), then 21 in the same step.
        let snap = {
            let mut other = Durable::<ZkDatabase>::default();
            for z in 11..=20 {
                other.apply(&append(z));
            }
            let PersistOp::Snapshot(z, snap) = snapshot_of(&other) else { unreachable!() };
            PersistOp::Install(z, snap)
        };
        assert_eq!(step(&mut rig.s, &mut rig.d, &[append(6), snap, append(21)]), Some(1));
        let states = rig.states(|s, d| {
            step(s, d, &[append(22)]);
        });
        for (at, copy) in &states {
            let expect = match *at {
                "started" => (Epoch(1), Zxid(0), Zxid(5)),
                "old log synced" => (Epoch(1), Zxid(0), Zxid(6)),
                _ => (Epoch(1), Zxid(20), Zxid(22)),
            };
            assert_eq!(recovered(copy), expect, "a crash at {at}");
            assert!(!copy.join("zoolab-q/wal.next").exists(), "{at}: wal.next is used or removed");
            assert_eq!(recovered(copy), expect, "a second restart after a crash at {at}");
        }
        drop(rig.s);
        assert_eq!(recovered(&rig.dir), (Epoch(1), Zxid(20), Zxid(22)));
        let _ = std::fs::remove_dir_all(&rig.base);
    }

    /// A copy of `server/tests/data/qstore-v1`: a store written by the code before
    /// values were encoded as byte strings (commit 6695f76): a checkpoint with a
    /// snapshot, and a log with two appends after it.
    fn fixture(name: &str) -> PathBuf {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/qstore-v1/zoolab-q");
        let dir = fresh_dir(name);
        std::fs::create_dir_all(dir.join("zoolab-q")).unwrap();
        for f in ["checkpoint", "wal", "incarnation"] {
            std::fs::copy(src.join(f), dir.join("zoolab-q").join(f)).unwrap();
        }
        dir
    }

    #[test]
    fn files_written_before_still_load_and_records_encode_the_same() {
        use super::super::legacy::v1_of;
        let dir = fixture("v1");
        let wal_before = std::fs::read(dir.join("zoolab-q/wal")).unwrap();
        let cp_before = std::fs::read(dir.join("zoolab-q/checkpoint")).unwrap();
        assert_eq!((&cp_before[..4], &wal_before[..4]), (&CP_MAGIC_V1[..], &WAL_MAGIC_V1[..]));
        let cp = read_checkpoint(&dir.join("zoolab-q/checkpoint")).unwrap().unwrap();
        // Format 1's mirror types encode what was read as the bytes on disk.
        let v1 = CheckpointV1 {
            generation: cp.generation,
            accepted_epoch: cp.accepted_epoch,
            current_epoch: cp.current_epoch,
            snapshot_zxid: cp.snapshot_zxid,
            snapshot: cp.snapshot.clone(),
            entries: cp.entries.iter().map(|(z, t)| (*z, v1_of(t))).collect(),
            config: cp.config.clone(),
        };
        assert_eq!(bincode::serialize(&v1).unwrap(), cp_before[12..]);
        let d = QStore::open(&dir).unwrap().take_durable();
        // Rewritten in format 2, which reads back the same.
        assert_eq!(&std::fs::read(dir.join("zoolab-q/checkpoint")).unwrap()[..4], CP_MAGIC);
        assert_eq!(&std::fs::read(dir.join("zoolab-q/wal")).unwrap()[..4], WAL_MAGIC);
        let d2 = QStore::open(&dir).unwrap().take_durable();
        let txns = |d: &Durable<ZkDatabase>| -> Vec<(Zxid, Txn)> {
            d.log.entries().iter().map(|e| (e.zxid, e.txn.clone())).collect()
        };
        assert_eq!(txns(&d2), txns(&d));
        assert_eq!((d2.current_epoch, d2.log.snapshot_zxid()), (d.current_epoch, d.log.snapshot_zxid()));
        assert_eq!((d.accepted_epoch, d.current_epoch), (Epoch(1), Epoch(1)));
        assert_eq!((d.log.snapshot_zxid(), d.log.last_zxid()), (Zxid(0x1_0000_0003), Zxid(0x1_0000_0005)));
        let (db, _) = d.log.replay();
        let tree = db.tree();
        assert_eq!(tree.node("/a").unwrap().data, (0..=255).collect::<Vec<u8>>());
        assert_eq!(tree.node("/b").unwrap().data, vec![2; 3000]);
        // The log's records, encoded again now, are the bytes on disk.
        let mut again = wal_before[..WAL_HEADER].to_vec();
        for e in d.log.entries() {
            again.extend(frame(&bincode::serialize(&RecordV1::Append(e.zxid, v1_of(&e.txn))).unwrap()));
        }
        assert_eq!(again, wal_before);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
