//! Apache ZooKeeper's on-disk data: its snapshots and transaction logs, read into a
//! zoolab [`DataTree`] — to rehearse a real ensemble's migration on its real data, or to
//! start a zoolab server from a ZooKeeper `dataDir`.
//!
//! - [`snap`] decodes `snapshot.<zxid>` files (and `.gz` ones), [`log`] decodes
//!   `log.<zxid>` files into zoolab [`Txn`](crate::tree::Txn)s.
//! - [`load`] does what a ZooKeeper server does at startup (`FileTxnSnapLog.restore`): it
//!   takes the newest snapshot that decodes and whose checksums match (skipping broken
//!   ones, as ZooKeeper does), then applies every later transaction of the logs, in zxid
//!   order, through the tree's own [`DataTree::apply`]. With no snapshot it starts from a
//!   fresh tree (ZooKeeper itself would want `zookeeper.snapshot.trust.empty`).
//!
//! The result is checked as it goes: each transaction's `TxnDigest` (the tree digest
//! ZooKeeper computed after it) against zoolab's digest, and the snapshot's digest
//! trailer at its zxid. [`Loaded`] reports both.
//!
//! The core does no I/O: [`load`] is given the file names and a function that reads one
//! (the server's `zk-import` passes one over `std::fs`). Every failure names the file
//! and the byte offset ([`FileError`]); no input makes it panic.
//!
//! Supported: the formats of ZooKeeper 3.5–3.9 (`version-2`), digests version 2,
//! gzip-compressed snapshots. Not supported: snappy-compressed snapshots.

pub mod log;
pub mod snap;

use crate::ids::Zxid;
use crate::tree::digest::DigestLog;
use crate::tree::{path, Acl, DataTree, Failure, TxnOp, ZkError};
use std::fmt;

/// A decoding failure at a byte offset of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatError {
    /// Where in the file.
    pub offset: u64,
    /// What was wrong.
    pub reason: String,
}

impl FormatError {
    /// A failure at `offset`.
    pub fn at(offset: u64, reason: String) -> FormatError {
        FormatError { offset, reason }
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.reason)
    }
}

/// A failure naming its file (and the offset, when it is about the bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileError {
    /// The file's name.
    pub file: String,
    /// Where in it, if the failure is about its contents.
    pub offset: Option<u64>,
    /// What was wrong.
    pub reason: String,
}

impl FileError {
    fn format(file: &str, e: FormatError) -> FileError {
        FileError { file: file.to_owned(), offset: Some(e.offset), reason: e.reason }
    }

    fn other(file: &str, reason: String) -> FileError {
        FileError { file: file.to_owned(), offset: None, reason }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.offset {
            Some(o) => write!(f, "{} at byte {}: {}", self.file, o, self.reason),
            None => write!(f, "{}: {}", self.file, self.reason),
        }
    }
}

impl std::error::Error for FileError {}

/// Adler-32 (`java.util.zip.Adler32`), the checksum of snapshots and log records.
pub fn adler32(bytes: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    // The largest run whose sums cannot overflow before the modulo (zlib's NMAX).
    const RUN: usize = 5552;
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in bytes.chunks(RUN) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

/// What a file in a ZooKeeper data directory is, by its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FileKind {
    /// `snapshot.<zxid>`: the tree as of (at least) that zxid.
    Snapshot {
        /// Whether it is gzip-compressed (`.gz`).
        gzip: bool,
    },
    /// `snapshot.<zxid>.snappy`: recognised, not readable here.
    SnappySnapshot,
    /// `log.<zxid>`: transactions from that zxid on.
    Log,
}

/// Classifies a file name (`snapshot.1a2b`, `log.100000001`, `snapshot.7d.gz`): its kind
/// and zxid, or `None` for anything else (`acceptedEpoch`, `currentEpoch`, temp files).
pub fn classify(name: &str) -> Option<(FileKind, Zxid)> {
    let (prefix, rest) = name.split_once('.')?;
    let (hex, suffix) = match rest.split_once('.') {
        Some((h, s)) => (h, Some(s)),
        None => (rest, None),
    };
    let zxid = Zxid(u64::from_str_radix(hex, 16).ok()?);
    let kind = match (prefix, suffix) {
        ("snapshot", None) => FileKind::Snapshot { gzip: false },
        ("snapshot", Some("gz")) => FileKind::Snapshot { gzip: true },
        ("snapshot", Some("snappy")) => FileKind::SnappySnapshot,
        ("log", None) => FileKind::Log,
        _ => return None,
    };
    Some((kind, zxid))
}

/// Reads and checks one snapshot file's bytes (gunzipping `.gz` ones).
pub fn decode_snapshot(name: &str, bytes: &[u8]) -> Result<snap::Snapshot, FileError> {
    match classify(name) {
        Some((FileKind::Snapshot { gzip: true }, _)) => {
            let plain = snap::gunzip(bytes).map_err(|e| FileError::format(name, e))?;
            snap::decode(&plain).map_err(|e| FileError::format(&format!("{name} (inflated)"), e))
        }
        Some((FileKind::SnappySnapshot, _)) => {
            Err(FileError::other(name, "snappy-compressed snapshots are not supported".to_owned()))
        }
        _ => snap::decode(bytes).map_err(|e| FileError::format(name, e)),
    }
}

/// Builds the tree a snapshot holds, as of `zxid` (the zxid in its file name). Takes the
/// snapshot by value: its node data moves into the tree (a large tree is not held twice).
pub fn snapshot_tree(name: &str, s: snap::Snapshot, zxid: Zxid) -> Result<DataTree, FileError> {
    let mut tree = DataTree::new();
    for &(session, timeout) in &s.sessions {
        tree.import_session(session, timeout);
    }
    let open = Acl::open_unsafe();
    for n in s.nodes {
        let acl = if n.acl == snap::OPEN_ACL_INDEX {
            &open
        } else {
            s.acls.get(&n.acl).ok_or_else(|| {
                FileError::other(
                    name,
                    format!("node {} refers to ACL {} not in the ACL cache", n.path, n.acl),
                )
            })?
        };
        tree.import_node(&n.path, n.data, acl, n.stat).map_err(|e| {
            let why = match e {
                ZkError::NoNode => "its parent is not in the snapshot before it".to_owned(),
                _ => format!("its path is not valid ({})", e.name()),
            };
            FileError::other(name, format!("node {}: {why}", crate::text::Quoted(&n.path)))
        })?;
    }
    tree.last_zxid = zxid;
    Ok(tree)
}

/// A transaction whose `TxnDigest` differs from zoolab's tree digest after applying it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DigestMismatch {
    /// The transaction.
    pub zxid: Zxid,
    /// ZooKeeper's digest after it.
    pub zookeeper: u64,
    /// zoolab's.
    pub zoolab: u64,
}

/// A ZooKeeper data directory loaded into a tree.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The tree at the last transaction (its sessions are ZooKeeper's live sessions).
    pub tree: DataTree,
    /// The snapshot it started from (name, zxid), if any.
    pub snapshot: Option<(String, Zxid)>,
    /// Newer snapshots that could not be used, and why (ZooKeeper skips them too).
    pub skipped_snapshots: Vec<FileError>,
    /// The logs read, in order.
    pub logs: Vec<String>,
    /// How many transactions were applied after the snapshot.
    pub applied: usize,
    /// How many of those carried a digest that was compared.
    pub digests_checked: usize,
    /// The transactions whose digest differed (the first 16).
    pub digest_mismatches: Vec<DigestMismatch>,
    /// How many differed in all.
    pub digest_mismatch_count: usize,
    /// The snapshot's digest trailer, compared when the tree reached its zxid:
    /// `Some(true)` equal, `Some(false)` different, `None` not checked.
    pub snapshot_digest_ok: Option<bool>,
    /// The tree digest after every replayed zxid that is a multiple of 128: what the
    /// `hash` four-letter word lists ([`DigestLog::render`] gives its text), so lines
    /// for the same zxid can be compared with a real server's.
    pub digest_log: DigestLog,
    /// Things a user should know that did not stop the load (a partial last record, a
    /// zxid going backwards, missing transactions within an epoch).
    pub warnings: Vec<String>,
}

/// Loads a ZooKeeper data directory (the files of `version-2/`): the newest usable
/// snapshot, then every later transaction of the logs. `names` are the files' names
/// (others are ignored); `read` returns a file's bytes.
pub fn load(
    names: &[String],
    mut read: impl FnMut(&str) -> Result<Vec<u8>, String>,
) -> Result<Loaded, FileError> {
    let mut snaps: Vec<(Zxid, &str)> = Vec::new();
    let mut logs: Vec<(Zxid, &str)> = Vec::new();
    for n in names {
        match classify(n) {
            Some((FileKind::Log, z)) => logs.push((z, n)),
            Some((_, z)) => snaps.push((z, n)),
            None => {}
        }
    }
    snaps.sort_by(|a, b| b.cmp(a));
    logs.sort();

    let mut skipped = Vec::new();
    let mut start = None;
    // ZooKeeper tries the 100 newest snapshots.
    for &(zxid, name) in snaps.iter().take(100) {
        let bytes = match read(name) {
            Ok(b) => b,
            Err(e) => {
                skipped.push(FileError::other(name, e));
                continue;
            }
        };
        match decode_snapshot(name, &bytes).and_then(|s| {
            let digest = s.digest;
            Ok((snapshot_tree(name, s, zxid)?, digest))
        }) {
            Ok((tree, digest)) => {
                start = Some((name.to_owned(), zxid, tree, digest));
                break;
            }
            Err(e) => skipped.push(e),
        }
    }
    if start.is_none() && !snaps.is_empty() {
        let newest = skipped.first().map(|e| e.to_string()).unwrap_or_default();
        return Err(FileError::other(
            snaps[0].1,
            format!("none of the {} snapshots is usable; the newest: {newest}", snaps.len()),
        ));
    }
    let (snapshot, mut tree, snap_digest) = match start {
        Some((name, zxid, tree, digest)) => (Some((name, zxid)), tree, digest),
        None => (None, DataTree::new(), None),
    };
    let snap_zxid = tree.last_zxid();
    let mut out = Loaded {
        tree: DataTree::new(),
        snapshot,
        skipped_snapshots: skipped,
        logs: Vec::new(),
        applied: 0,
        digests_checked: 0,
        digest_mismatches: Vec::new(),
        digest_mismatch_count: 0,
        snapshot_digest_ok: None,
        digest_log: DigestLog::new(),
        warnings: Vec::new(),
    };
    // A digest the snapshot took before its file's zxid cannot be checked (ZooKeeper
    // ignores it too); a later one is checked on the way, when the replay reaches its
    // zxid (as ZooKeeper's `compareSnapshotDigests` does).
    let mut pending = snap_digest.filter(|d| d.zxid >= snap_zxid);
    // One at exactly the file's zxid ZooKeeper never compares (no replayed transaction
    // has that zxid). zoolab compares it now, but only an equal one counts: a snapshot is
    // fuzzy, and a node the next transaction changed can be in the file although that
    // transaction had not yet logged its digest when the snapshot's trailer was written.
    // The transactions after it are checked one by one all the same.
    if let Some(d) = pending.filter(|d| d.zxid == snap_zxid) {
        if d.digest == tree.digest() {
            out.snapshot_digest_ok = Some(true);
        } else {
            out.warnings.push(format!(
                "the snapshot's digest at its own zxid {snap_zxid} differs from its nodes' (a fuzzy snapshot: \
                 ZooKeeper does not compare this one); the transactions after it are checked"
            ));
        }
        pending = None;
    }
    let mut check_snapshot_digest = |tree: &DataTree, out: &mut Loaded| {
        if let Some(d) = pending.filter(|d| d.zxid == tree.last_zxid()) {
            out.snapshot_digest_ok = Some(d.digest == tree.digest());
            pending = None;
        }
    };

    // The logs that may hold transactions after the snapshot: the last one starting at or
    // before it, and every later one (`FileTxnLog.getLogFiles`).
    let first = logs.iter().filter(|(z, _)| *z <= snap_zxid).map(|(z, _)| *z).max().unwrap_or(Zxid::ZERO);
    for &(_, name) in logs.iter().filter(|(z, _)| *z >= first) {
        let bytes = read(name).map_err(|e| FileError::other(name, e))?;
        let file = log::decode(&bytes).map_err(|e| FileError::format(name, e))?;
        out.logs.push(name.to_owned());
        if let log::LogEnd::Partial { offset, reason } = &file.end {
            out.warnings.push(format!("{name} at byte {offset}: {reason}; the log ends there"));
        }
        for entry in &file.entries {
            let zxid = entry.txn.zxid;
            if zxid <= tree.last_zxid() {
                if zxid > snap_zxid {
                    out.warnings.push(format!(
                        "{name} at byte {}: zxid {zxid} is not after {}; skipped",
                        entry.offset,
                        tree.last_zxid()
                    ));
                }
                continue;
            }
            let last = tree.last_zxid();
            if zxid.0 >> 32 == last.0 >> 32 && zxid.0 != last.0 + 1 {
                // Within an epoch zxids have no holes: a log file is missing or cut.
                out.warnings.push(format!(
                    "{name} at byte {}: transactions {:#x} to {:#x} are missing",
                    entry.offset,
                    last.0 + 1,
                    zxid.0 - 1
                ));
            }
            replay(&mut tree, entry);
            out.digest_log.record(zxid, tree.digest());
            out.applied += 1;
            if let Some(want) = entry.txn.digest {
                out.digests_checked += 1;
                if want != tree.digest() {
                    out.digest_mismatch_count += 1;
                    if out.digest_mismatches.len() < 16 {
                        out.digest_mismatches.push(DigestMismatch {
                            zxid,
                            zookeeper: want,
                            zoolab: tree.digest(),
                        });
                    }
                }
            }
            check_snapshot_digest(&tree, &mut out);
        }
    }
    out.tree = tree;
    Ok(out)
}

/// Applies one logged transaction as ZooKeeper's replay does (`DataTree.processTxn`):
/// failures are ignored (they only happen over a fuzzy snapshot), except that a plain
/// `create` finding its node already there still raises the parent's cversion and pzxid
/// (`setCversionPzxid`), as ZooKeeper repairs a fuzzy snapshot.
pub fn replay(tree: &mut DataTree, entry: &log::LogEntry) {
    let applied = tree.apply(&entry.txn);
    let exists = matches!(&applied.result, Err(Failure { error: ZkError::NodeExists, .. }));
    if entry.opcode != log::opcode::CREATE || !exists {
        return;
    }
    let TxnOp::Create { path: child, parent_cversion, .. } = &entry.txn.op else { return };
    let Some(parent) = path::parent(child) else { return };
    let Some(node) = tree.node(parent) else { return };
    let cversion = if *parent_cversion == -1 { node.stat.cversion.wrapping_add(1) } else { *parent_cversion };
    if cversion > node.stat.cversion {
        let mut stat = node.stat;
        stat.cversion = cversion;
        stat.pzxid = entry.txn.zxid;
        let (data, acl) = (node.data.clone(), tree.acl_of(node).to_vec());
        // Re-importing an existing node keeps its children and the digest exact.
        let _ = tree.import_node(parent, data, &acl, stat);
    }
}

#[cfg(test)]
mod tests;
