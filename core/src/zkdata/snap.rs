//! Apache ZooKeeper's snapshot file (`version-2/snapshot.<zxid in hex>`), as 3.5–3.9
//! write it (`FileSnap`, `SerializeUtils.serializeSnapshot`, `DataTree.serialize`):
//!
//! ```text
//! header     int magic "ZKSN", int version (2), long dbid
//! sessions   int count, then count × (long session id, int timeout ms)
//! ACL cache  int count, then count × (long index, vector<ACL>)   -- ReferenceCountedACLCache
//! nodes      pre-order from the root: string path ("" for the root), buffer data,
//!            long ACL index (-1 = world:anyone all), StatPersisted; ended by the path "/"
//! seal       long Adler-32 of every byte so far, string "/"
//! digest     (3.6+, optional) long zxid, int digest version, long digest; then a second seal
//! ```
//!
//! The snapshot is *fuzzy*: ZooKeeper writes it while it keeps applying transactions, so
//! a node may already reflect transactions after the zxid in the file name; replaying
//! the log from that zxid on repairs it (see [`super::load`]). The digest trailer is
//! the tree digest at the zxid where serialization began.

use super::{adler32, FormatError};
use crate::ids::{SessionId, Zxid};
use crate::jute::{JuteError, Reader};
use crate::tree::{Acl, Data, Perms, StatPersisted};
use std::collections::BTreeMap;

/// `FileSnap.SNAP_MAGIC`: "ZKSN".
pub const SNAP_MAGIC: i32 = 0x5a4b_534e;
/// ZooKeeper's `OPEN_UNSAFE_ACL_ID`: the ACL index that means `world:anyone` with all rights.
pub const OPEN_ACL_INDEX: i64 = -1;
/// The largest string, buffer or vector a snapshot or log may hold: well above
/// `jute.maxbuffer`, bounded anyway by the bytes actually present.
pub const FILE_FIELD_LIMIT: usize = 64 << 20;

/// One node as the snapshot stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapNode {
    /// Its path (`/` for the root, which the file calls `""`).
    pub path: String,
    /// Its data (null when the file's buffer is −1).
    pub data: Data,
    /// Its index in the snapshot's ACL cache ([`OPEN_ACL_INDEX`] for `world:anyone`).
    pub acl: i64,
    /// Its stored stat (the raw ephemeral owner encodes containers and TTL nodes).
    pub stat: StatPersisted,
}

/// The tree digest a snapshot recorded (`DataTree.ZxidDigest`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZxidDigest {
    /// The zxid at which the digest was taken (the start of serialization).
    pub zxid: Zxid,
    /// The digest version (2 in ZooKeeper 3.6–3.9).
    pub version: i32,
    /// The tree digest then (as `hash` prints it, unsigned here).
    pub digest: u64,
}

/// A decoded snapshot file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The header's format version.
    pub version: i32,
    /// The header's database id.
    pub dbid: i64,
    /// Live sessions and their timeouts (ms), in file order.
    pub sessions: Vec<(SessionId, i32)>,
    /// The ACL cache: index → list.
    pub acls: BTreeMap<i64, Vec<Acl>>,
    /// Every node, parents before children.
    pub nodes: Vec<SnapNode>,
    /// The digest trailer, when present and taken at a real zxid (ZooKeeper ignores a 0 one).
    pub digest: Option<ZxidDigest>,
}

/// Reads jute fields and reports failures with the byte offset where the field began.
pub(crate) struct Cursor<'a> {
    pub(crate) r: Reader<'a>,
    len: usize,
    base: u64,
}

impl<'a> Cursor<'a> {
    /// A cursor over `buf`, whose first byte is at offset `base` in its file.
    pub(crate) fn new(buf: &'a [u8], base: u64) -> Cursor<'a> {
        Cursor { r: Reader::new(buf, FILE_FIELD_LIMIT), len: buf.len(), base }
    }

    /// The offset in the file of the next byte to read.
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos() as u64
    }

    /// The position in the buffer.
    pub(crate) fn pos(&self) -> usize {
        self.len - self.r.remaining()
    }

    /// Runs one read, mapping a jute error to a [`FormatError`] at the field's offset.
    pub(crate) fn read<T>(
        &mut self,
        f: impl FnOnce(&mut Reader<'a>) -> Result<T, JuteError>,
    ) -> Result<T, FormatError> {
        let at = self.offset();
        f(&mut self.r).map_err(|e| FormatError::at(at, e.to_string()))
    }
}

pub(crate) fn read_acl(r: &mut Reader<'_>) -> Result<Acl, JuteError> {
    let perms = r.i32("acl perms")?;
    let scheme = r.string("acl scheme")?;
    let id = r.string("acl id")?;
    Ok(Acl::new(Perms(perms), &scheme, &id))
}

pub(crate) fn read_acls(r: &mut Reader<'_>) -> Result<Vec<Acl>, JuteError> {
    r.vec("acl", 12, read_acl)
}

fn read_stat(r: &mut Reader<'_>) -> Result<StatPersisted, JuteError> {
    Ok(StatPersisted {
        czxid: Zxid(r.i64("czxid")? as u64),
        mzxid: Zxid(r.i64("mzxid")? as u64),
        ctime: r.i64("ctime")?,
        mtime: r.i64("mtime")?,
        version: r.i32("version")?,
        cversion: r.i32("cversion")?,
        aversion: r.i32("aversion")?,
        ephemeral_owner: r.i64("ephemeralOwner")?,
        pzxid: Zxid(r.i64("pzxid")? as u64),
    })
}

/// Checks a seal: the Adler-32 of everything before it, then the string `/`.
fn seal(c: &mut Cursor<'_>, bytes: &[u8]) -> Result<(), FormatError> {
    let want = adler32(&bytes[..c.pos()]);
    let at = c.offset();
    let got = c.read(|r| r.i64("checksum"))?;
    let end = c.offset();
    // ZooKeeper always writes "/" here (and checks it on the file's last seal).
    if c.read(|r| r.string("seal"))? != "/" {
        return Err(FormatError::at(end, "the seal after the checksum is not \"/\"".to_owned()));
    }
    if got as u64 != u64::from(want) {
        return Err(FormatError::at(
            at,
            format!("checksum mismatch: the file says {:#x}, the bytes give {want:#x}", got as u64),
        ));
    }
    Ok(())
}

/// Decodes a whole (uncompressed) snapshot file, checking its magic and checksums.
pub fn decode(bytes: &[u8]) -> Result<Snapshot, FormatError> {
    let mut c = Cursor::new(bytes, 0);
    let magic = c.read(|r| r.i32("magic"))?;
    if magic != SNAP_MAGIC {
        return Err(FormatError::at(0, format!("not a ZooKeeper snapshot (magic {magic:#010x}, want ZKSN)")));
    }
    let version = c.read(|r| r.i32("version"))?;
    let dbid = c.read(|r| r.i64("dbid"))?;
    let count = c.read(|r| r.i32("session count"))?;
    if count < 0 || count as usize > c.r.remaining() / 12 {
        return Err(FormatError::at(c.offset() - 4, format!("bad session count {count}")));
    }
    let mut sessions = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let id = c.read(|r| r.i64("session id"))?;
        let timeout = c.read(|r| r.i32("session timeout"))?;
        sessions.push((SessionId(id), timeout));
    }
    let count = c.read(|r| r.i32("ACL cache size"))?;
    if count < 0 || count as usize > c.r.remaining() / 12 {
        return Err(FormatError::at(c.offset() - 4, format!("bad ACL cache size {count}")));
    }
    let mut acls = BTreeMap::new();
    for _ in 0..count {
        let index = c.read(|r| r.i64("ACL index"))?;
        let list = c.read(read_acls)?;
        acls.insert(index, list);
    }
    let mut nodes = Vec::new();
    loop {
        let at = c.offset();
        let path = c.read(|r| r.string("path"))?;
        if path == "/" {
            break;
        }
        let data = c.read(|r| r.data("data"))?;
        let acl = c.read(|r| r.i64("acl"))?;
        let stat = c.read(read_stat)?;
        let path = if path.is_empty() {
            if !nodes.is_empty() {
                return Err(FormatError::at(at, "a second root node".to_owned()));
            }
            "/".to_owned()
        } else {
            if nodes.is_empty() {
                return Err(FormatError::at(
                    at,
                    format!("node {} before the root", crate::text::Quoted(&path)),
                ));
            }
            path
        };
        nodes.push(SnapNode { path, data, acl, stat });
    }
    seal(&mut c, bytes)?;
    let mut digest = None;
    if c.r.remaining() > 0 {
        let zxid = c.read(|r| r.i64("digest zxid"))?;
        let version = c.read(|r| r.i32("digest version"))?;
        let value = if version >= 2 {
            c.read(|r| r.i64("digest"))? as u64
        } else {
            // Version 1 wrote the digest as a hex string.
            let at = c.offset();
            let s = c.read(|r| r.string_opt("digest"))?.unwrap_or_default();
            u64::from_str_radix(&s, 16)
                .map_err(|_| FormatError::at(at, format!("bad digest {}", crate::text::Quoted(&s))))?
        };
        seal(&mut c, bytes)?;
        if zxid > 0 {
            digest = Some(ZxidDigest { zxid: Zxid(zxid as u64), version, digest: value });
        }
    }
    // Later versions may append more sealed sections (3.9: the last processed zxid);
    // ZooKeeper 3.8 ignores what follows, and so do we.
    Ok(Snapshot { version, dbid, sessions, acls, nodes, digest })
}

/// Inflates a gzip-compressed snapshot (`snapshot.<zxid>.gz`, written when ZooKeeper runs
/// with `zookeeper.snapshot.compression.method=gz`).
pub fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, FormatError> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    if bytes.len() < 18 || bytes[0] != 0x1f || bytes[1] != 0x8b || bytes[2] != 8 {
        return Err(FormatError::at(0, "not a gzip stream".to_owned()));
    }
    let flags = bytes[3];
    let mut pos = 10usize;
    let truncated = |pos: usize| FormatError::at(pos as u64, "gzip header truncated".to_owned());
    if flags & FEXTRA != 0 {
        let n = bytes.get(pos..pos + 2).ok_or_else(|| truncated(pos))?;
        pos += 2 + usize::from(u16::from_le_bytes([n[0], n[1]]));
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let end = bytes
                .get(pos..)
                .and_then(|b| b.iter().position(|&x| x == 0))
                .ok_or_else(|| truncated(pos))?;
            pos += end + 1;
        }
    }
    if flags & FHCRC != 0 {
        pos += 2;
    }
    let body = bytes.get(pos..bytes.len().saturating_sub(8)).ok_or_else(|| truncated(pos))?;
    let out = miniz_oxide::inflate::decompress_to_vec_with_limit(body, usize::MAX)
        .map_err(|e| FormatError::at(pos as u64, format!("bad deflate data (status {})", e.status as i32)))?;
    let tail = &bytes[bytes.len() - 8..];
    let crc = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
    if crate::crc32::hash(&out) != crc {
        return Err(FormatError::at(bytes.len() as u64 - 8, "gzip CRC mismatch".to_owned()));
    }
    Ok(out)
}
