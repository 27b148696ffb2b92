//! Durability in `dataDir`: a transaction log and snapshots, each with CRCs, and recovery
//! after a crash (kill -9 included): the newest snapshot that checks out, then every
//! logged transaction after it, a torn or corrupt tail truncated.
//!
//! # Files (under `<dataLogDir>/zoolab-1/` and `<dataDir>/zoolab-1/`)
//! - `log.<first zxid, 16 hex digits>`: `"ZLTL"`, version u16 BE = 2, then records:
//!   length u32 BE · crc32 of the payload u32 BE · payload (the [`Txn`] as JSON, null
//!   data as `null`). A new log starts after each snapshot. Version 1 (data never null,
//!   always an array) reads the same way; a newer version is refused, never truncated.
//! - `snapshot.<last zxid, 16 hex digits>`: [`zoolab_core::tree::snapshot`]'s format
//!   (it ends with its own crc32), written to a temporary file, synced, then renamed.
//! - `secret`: 16 random bytes from which session passwords derive, so clients can
//!   resume their sessions after a restart.
//!
//! Appends are synced before anything about them is sent, by group commit: the server
//! holds every outgoing packet while a sync is outstanding and one sync covers every
//! transaction appended before it began (`forceSync=no` skips syncing, as in ZooKeeper). A snapshot is taken every `snapCount` transactions and at startup after a
//! replay; then old files beyond `autopurge.snapRetainCount` (at least 3) are purged.
//! Not yet: reading Apache ZooKeeper's own formats.

use anyhow::{Context, Result};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use tracing::{info, warn};
use zoolab_core::tree::{snapshot, DataTree, Txn};

const LOG_MAGIC: &[u8; 4] = b"ZLTL";
const LOG_VERSION: u16 = 2;
const HEADER: usize = 6;
/// The largest record recovery will believe (a larger length is a torn tail).
const MAX_RECORD: usize = 64 << 20;
const SUBDIR: &str = "zoolab-1";

/// The on-disk state of one server.
pub struct Store {
    snap_dir: PathBuf,
    log_dir: PathBuf,
    log: File,
    since_snapshot: u64,
    snap_count: u64,
    retain: usize,
    force_sync: bool,
    /// The password secret.
    pub secret: [u8; 16],
}

fn named(dir: &Path, prefix: &str) -> Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(hex) = name.strip_prefix(prefix) {
            if let Ok(z) = u64::from_str_radix(hex, 16) {
                out.push((z, e.path()));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Reads a log's valid records; truncates the file after the last good one.
fn read_log(path: &Path, mut each: impl FnMut(Txn) -> bool) -> Result<()> {
    let mut bytes = Vec::new();
    File::open(path)?.read_to_end(&mut bytes)?;
    if bytes.len() < HEADER || &bytes[..4] != LOG_MAGIC {
        warn!("{}: no valid log header; truncating it to an empty log", path.display());
        return truncate(path, 0);
    }
    let version = u16::from_be_bytes([bytes[4], bytes[5]]);
    if version > LOG_VERSION {
        anyhow::bail!("{}: log format {version}, newer than this zoolab's {LOG_VERSION}", path.display());
    }
    let mut pos = HEADER;
    let mut why = None;
    while pos < bytes.len() {
        if bytes.len() - pos < 8 {
            why = Some("a torn record header");
            break;
        }
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_be_bytes(bytes[pos + 4..pos + 8].try_into().expect("4 bytes"));
        if len > MAX_RECORD || bytes.len() - pos - 8 < len {
            why = Some("a torn record");
            break;
        }
        let payload = &bytes[pos + 8..pos + 8 + len];
        if crc32fast::hash(payload) != crc {
            why = Some("a record whose CRC does not match");
            break;
        }
        let Ok(txn) = serde_json::from_slice::<Txn>(payload) else {
            why = Some("a record that does not decode");
            break;
        };
        if !each(txn) {
            why = Some("a gap in the zxids");
            break;
        }
        pos += 8 + len;
    }
    if let Some(why) = why {
        warn!("{}: {why} at byte {pos} of {}; truncating the log there", path.display(), bytes.len());
        truncate(path, pos)?;
    }
    Ok(())
}

fn truncate(path: &Path, len: usize) -> Result<()> {
    let f = OpenOptions::new().write(true).open(path)?;
    f.set_len(len as u64)?;
    f.sync_all()?;
    Ok(())
}

fn new_log(dir: &Path, first: u64) -> Result<File> {
    let path = dir.join(format!("log.{first:016x}"));
    let mut f = OpenOptions::new().create(true).append(true).read(true).open(&path)?;
    if f.metadata()?.len() < HEADER as u64 {
        f.set_len(0)?;
        f.write_all(LOG_MAGIC)?;
        f.write_all(&LOG_VERSION.to_be_bytes())?;
        f.sync_all()?;
        sync_dir(dir);
    }
    Ok(f)
}

/// Settings the store takes from `zoo.cfg`.
pub struct StoreConfig<'a> {
    /// `dataDir`.
    pub data_dir: &'a Path,
    /// `dataLogDir` (or `dataDir`).
    pub log_dir: &'a Path,
    /// `snapCount`.
    pub snap_count: u64,
    /// `autopurge.snapRetainCount`.
    pub retain: usize,
    /// `forceSync`.
    pub force_sync: bool,
}

impl Store {
    /// Opens (creating if needed) the store and recovers the tree it holds.
    pub fn open(cfg: &StoreConfig<'_>) -> Result<(Store, DataTree)> {
        let snap_dir = cfg.data_dir.join(SUBDIR);
        let log_dir = cfg.log_dir.join(SUBDIR);
        std::fs::create_dir_all(&snap_dir).with_context(|| format!("creating {}", snap_dir.display()))?;
        std::fs::create_dir_all(&log_dir).with_context(|| format!("creating {}", log_dir.display()))?;
        let secret = Self::secret(&snap_dir)?;
        let mut tree = DataTree::new();
        for (z, path) in named(&snap_dir, "snapshot.")?.into_iter().rev() {
            match std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| snapshot::decode(&b).map_err(|e| e.to_string()))
            {
                Ok(t) => {
                    info!("loaded snapshot {} (zxid 0x{z:x})", path.display());
                    tree = t;
                    break;
                }
                Err(e) => warn!("{}: {e}; trying an older snapshot", path.display()),
            }
        }
        let from = tree.last_zxid().0;
        let mut replayed = 0u64;
        for (_, path) in named(&log_dir, "log.")? {
            read_log(&path, |txn| {
                let last = tree.last_zxid().0;
                if txn.zxid.0 <= last {
                    return true; // already in the snapshot
                }
                if txn.zxid.0 != last + 1 {
                    return false;
                }
                tree.apply(&txn);
                replayed += 1;
                true
            })?;
        }
        if replayed > 0 {
            info!(
                "replayed {replayed} transaction(s) from the log: zxid 0x{from:x} to 0x{:x}",
                tree.last_zxid().0
            );
        }
        let log = new_log(&log_dir, tree.last_zxid().0 + 1)?;
        let mut store = Store {
            snap_dir,
            log_dir,
            log,
            since_snapshot: 0,
            snap_count: cfg.snap_count.max(1),
            retain: cfg.retain.max(3),
            force_sync: cfg.force_sync,
            secret,
        };
        if replayed > 0 {
            store.snapshot(&tree)?;
        }
        Ok((store, tree))
    }

    fn secret(dir: &Path) -> Result<[u8; 16]> {
        let path = dir.join("secret");
        if let Ok(b) = std::fs::read(&path) {
            if let Ok(s) = <[u8; 16]>::try_from(b.as_slice()) {
                return Ok(s);
            }
        }
        let mut s = [0u8; 16];
        for (i, chunk) in s.chunks_mut(8).enumerate() {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_usize(i);
            chunk.copy_from_slice(&h.finish().to_be_bytes());
        }
        std::fs::write(&path, s).with_context(|| format!("writing {}", path.display()))?;
        Ok(s)
    }

    /// Logs a transaction (synced unless `forceSync=no`) before its reply goes out.
    pub fn append(&mut self, txn: &Txn) -> Result<()> {
        let payload = serde_json::to_vec(txn)?;
        let mut rec = Vec::with_capacity(payload.len() + 8);
        rec.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        rec.extend_from_slice(&crc32fast::hash(&payload).to_be_bytes());
        rec.extend_from_slice(&payload);
        self.log.write_all(&rec)?;
        self.since_snapshot += 1;
        Ok(())
    }

    /// Does the server sync the log before answering (`forceSync`)?
    pub fn force_sync(&self) -> bool {
        self.force_sync
    }

    /// A handle on the current log for the group-commit syncer (which syncs outside
    /// the server's lock); earlier logs were covered by the snapshot that rolled them.
    pub fn log_handle(&self) -> Result<File> {
        Ok(self.log.try_clone()?)
    }

    /// Takes a snapshot if `snapCount` transactions were logged since the last.
    pub fn maybe_snapshot(&mut self, tree: &DataTree) -> Result<()> {
        if self.since_snapshot >= self.snap_count {
            self.snapshot(tree)?;
        }
        Ok(())
    }

    /// Writes a snapshot of `tree`, starts a new log after it, and purges old files.
    pub fn snapshot(&mut self, tree: &DataTree) -> Result<()> {
        let z = tree.last_zxid().0;
        let path = self.snap_dir.join(format!("snapshot.{z:016x}"));
        let tmp = self.snap_dir.join(format!(".snapshot.{z:016x}.tmp"));
        {
            let mut f = File::create(&tmp)?;
            f.write_all(&snapshot::encode(tree))?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        sync_dir(&self.snap_dir);
        self.log = new_log(&self.log_dir, z + 1)?;
        self.since_snapshot = 0;
        info!("snapshot {} written", path.display());
        self.purge()
    }

    fn purge(&self) -> Result<()> {
        let snaps = named(&self.snap_dir, "snapshot.")?;
        if snaps.len() <= self.retain {
            return Ok(());
        }
        let keep_from = snaps[snaps.len() - self.retain].0;
        for (_, p) in &snaps[..snaps.len() - self.retain] {
            let _ = std::fs::remove_file(p);
        }
        // A log whose successor starts at or before the oldest kept snapshot is covered.
        let logs = named(&self.log_dir, "log.")?;
        for w in logs.windows(2) {
            if w[1].0 <= keep_from + 1 {
                let _ = std::fs::remove_file(&w[0].1);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zoolab_core::ids::SessionId;
    use zoolab_core::ids::Zxid;
    use zoolab_core::tree::{Data, Preparer, TreeConfig, WriteRequest};

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("zoolab-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn write(tree: &mut DataTree, store: &mut Store, req: WriteRequest) {
        let mut prep = Preparer::new(TreeConfig { check_sessions: false, ..TreeConfig::default() });
        let auth = Default::default();
        let origin = zoolab_core::tree::Origin {
            session: SessionId(0),
            auth: &auth,
            zxid: zoolab_core::ids::Zxid(tree.last_zxid().0 + 1),
            time: 1,
        };
        let txn = prep.prepare(tree, &req, &origin);
        tree.apply(&txn);
        store.append(&txn).unwrap();
    }

    fn create(path: &str) -> WriteRequest {
        WriteRequest::Create(zoolab_core::tree::Create {
            path: path.into(),
            data: b"d".into(),
            acl: zoolab_core::tree::Acl::open_unsafe(),
            mode: zoolab_core::tree::CreateMode::Persistent,
            ttl: None,
        })
    }

    #[test]
    fn recovery_replays_the_log_and_truncates_a_torn_tail() {
        let d = dir("torn");
        let cfg = StoreConfig { data_dir: &d, log_dir: &d, snap_count: 1000, retain: 3, force_sync: false };
        let (mut store, mut tree) = Store::open(&cfg).unwrap();
        for p in ["/a", "/b", "/c"] {
            write(&mut tree, &mut store, create(p));
        }
        let digest = tree.digest();
        drop(store);
        // A torn append: half a record at the end.
        let log = d.join(SUBDIR).join(format!("log.{:016x}", 1));
        let mut f = OpenOptions::new().append(true).open(&log).unwrap();
        f.write_all(&[0, 0, 0, 40, 1, 2]).unwrap();
        drop(f);
        let (_, recovered) = Store::open(&cfg).unwrap();
        assert_eq!(recovered.last_zxid().0, 3);
        assert_eq!(recovered.digest(), digest);
        assert!(recovered.node("/c").is_some());
        // The replay took a snapshot: a second recovery starts from it.
        let (mut store, mut again) = Store::open(&cfg).unwrap();
        assert_eq!(again.digest(), digest);
        write(&mut again, &mut store, create("/d"));
        drop(store);
        let (_, last) = Store::open(&cfg).unwrap();
        assert_eq!(last.last_zxid().0, 4);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn null_data_survives_the_log_and_the_snapshot_and_version_1_logs_still_read() {
        let d = dir("null");
        let cfg = StoreConfig { data_dir: &d, log_dir: &d, snap_count: 1000, retain: 3, force_sync: false };
        let (mut store, mut tree) = Store::open(&cfg).unwrap();
        write(&mut tree, &mut store, create("/a"));
        let null = |p: &str| match create(p) {
            WriteRequest::Create(c) => {
                WriteRequest::Create(zoolab_core::tree::Create { data: Data::NULL, ..c })
            }
            _ => unreachable!(),
        };
        write(&mut tree, &mut store, null("/n"));
        drop(store);
        // Recovered from the log, then (after the snapshot the replay took) from it.
        for _ in 0..2 {
            let (_, recovered) = Store::open(&cfg).unwrap();
            assert!(recovered.node("/n").unwrap().data.is_null());
            assert_eq!(recovered.node("/a").unwrap().data, *b"d");
            assert_eq!(recovered.digest(), tree.digest());
        }
        // A log written by version 1: its header says 1, its data are JSON arrays.
        let v1 = dir("log-v1");
        let sub = v1.join(SUBDIR);
        std::fs::create_dir_all(&sub).unwrap();
        let mut log = LOG_MAGIC.to_vec();
        log.extend_from_slice(&1u16.to_be_bytes());
        let (mut t, mut s) = (DataTree::new(), None::<Store>);
        let mut prep = Preparer::new(TreeConfig { check_sessions: false, ..TreeConfig::default() });
        let auth = Default::default();
        let origin = zoolab_core::tree::Origin { session: SessionId(0), auth: &auth, zxid: Zxid(1), time: 1 };
        let txn = prep.prepare(&t, &create("/old"), &origin);
        t.apply(&txn);
        let json = serde_json::to_vec(&txn).unwrap();
        assert!(String::from_utf8_lossy(&json).contains("\"data\":[100]"));
        log.extend_from_slice(&(json.len() as u32).to_be_bytes());
        log.extend_from_slice(&crc32fast::hash(&json).to_be_bytes());
        log.extend_from_slice(&json);
        std::fs::write(sub.join(format!("log.{:016x}", 1)), &log).unwrap();
        let cfg = StoreConfig { data_dir: &v1, log_dir: &v1, snap_count: 1000, retain: 3, force_sync: false };
        let (store, recovered) = Store::open(&cfg).unwrap();
        s.replace(store);
        assert_eq!(recovered.node("/old").unwrap().data, *b"d");
        assert_eq!(recovered.digest(), t.digest());
        // A log of a newer format is refused, not truncated.
        drop(s);
        log[5] = 9;
        let newer = sub.join(format!("log.{:016x}", 2));
        std::fs::write(&newer, &log).unwrap();
        assert!(Store::open(&cfg).is_err());
        assert_eq!(std::fs::read(&newer).unwrap(), log);
        let _ = std::fs::remove_dir_all(&d);
        let _ = std::fs::remove_dir_all(&v1);
    }

    #[test]
    fn a_corrupt_record_ends_the_replay_there() {
        let d = dir("crc");
        let cfg = StoreConfig { data_dir: &d, log_dir: &d, snap_count: 1000, retain: 3, force_sync: false };
        let (mut store, mut tree) = Store::open(&cfg).unwrap();
        write(&mut tree, &mut store, create("/a"));
        write(&mut tree, &mut store, create("/b"));
        drop(store);
        let log = d.join(SUBDIR).join(format!("log.{:016x}", 1));
        let mut bytes = std::fs::read(&log).unwrap();
        let n = bytes.len();
        bytes[n - 3] ^= 0xff; // inside the last record's payload
        std::fs::write(&log, &bytes).unwrap();
        let (_, recovered) = Store::open(&cfg).unwrap();
        assert_eq!(recovered.last_zxid().0, 1);
        assert!(recovered.node("/b").is_none());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn snapshots_roll_the_log_and_old_files_are_purged() {
        let d = dir("purge");
        let cfg = StoreConfig { data_dir: &d, log_dir: &d, snap_count: 2, retain: 3, force_sync: false };
        let (mut store, mut tree) = Store::open(&cfg).unwrap();
        for i in 0..12 {
            write(&mut tree, &mut store, create(&format!("/n{i}")));
            store.maybe_snapshot(&tree).unwrap();
        }
        let sub = d.join(SUBDIR);
        assert_eq!(named(&sub, "snapshot.").unwrap().len(), 3);
        assert!(named(&sub, "log.").unwrap().len() <= 4);
        drop(store);
        let (_, recovered) = Store::open(&cfg).unwrap();
        assert_eq!(recovered.digest(), tree.digest());
        let _ = std::fs::remove_dir_all(&d);
    }
}
