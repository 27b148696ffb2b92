//! Snapshots: the whole replicated state (nodes with their stats and ACLs, the ACL
//! table, the sessions, the last zxid and the digest) as bytes and back, bit-exactly:
//! `decode(encode(t)) == t` and `encode(decode(b)) == b` (for `b` of the current
//! version). For SNAP sync, crash recovery and migration.
//!
//! # Format, version 2
//! All integers are LEB128 varints (signed ones zigzag-encoded) unless said otherwise.
//! ```text
//! "ZLTS" · version: u16 BE = 2
//! last_zxid · digest: u64 BE
//! acl table: last_index, n, n × (index, m, m × (perms, scheme, id))
//! sessions: n, n × (session id: i64 BE, timeout)
//! nodes, in path order: n, n × (shared prefix length with the previous path, rest of
//!   the path, data, acl index + 1 (0: the open ACL), czxid, mzxid, ctime, mtime,
//!   version, cversion, aversion, ephemeral owner, pzxid)
//! crc32 of all the above: u32 BE
//! ```
//! Strings are a length then the bytes; a node's data is 0 for null, else its length
//! plus one, then the bytes. Ephemerals, containers, TTL nodes, children sets and ACL
//! reference counts are rebuilt from the nodes.
//!
//! Version 1 (before null data) is still read: the same but for the data, a length then
//! the bytes, never null.

use super::acl::{Acl, AclTable, Id, Perms};
use super::data::Data;
use super::datatree::DataTree;
use super::node::Node;
use super::path;
use super::stat::StatPersisted;
use crate::ids::{SessionId, Zxid};

const MAGIC: &[u8; 4] = b"ZLTS";
/// The format version this code writes.
pub const VERSION: u16 = 2;
/// The oldest version this code reads (its data is never null).
const OLDEST: u16 = 1;

/// Why bytes are not a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// Not a snapshot, or a version this code cannot read.
    #[error("not a zoolab tree snapshot (version {0})")]
    BadHeader(u16),
    /// The bytes end early.
    #[error("snapshot truncated")]
    Truncated,
    /// The checksum does not match.
    #[error("snapshot checksum mismatch")]
    Checksum,
    /// The content is inconsistent (the reason says how).
    #[error("snapshot corrupt: {0}")]
    Corrupt(&'static str),
}

/// Where an encoding's bytes go: memory ([`encode`]), a count ([`encoded_len`]) or a
/// stream ([`encode_to`]). One encoder for all three, so they cannot disagree.
trait Out {
    fn put(&mut self, b: &[u8]);
    fn byte(&mut self, b: u8) {
        self.put(&[b]);
    }
}

impl Out for Vec<u8> {
    fn put(&mut self, b: &[u8]) {
        self.extend_from_slice(b);
    }
    fn byte(&mut self, b: u8) {
        self.push(b);
    }
}

/// Counts the bytes instead of keeping them.
struct Count(u64);

impl Out for Count {
    fn put(&mut self, b: &[u8]) {
        self.0 += b.len() as u64;
    }
}

/// Streams the bytes to a writer in chunks, with their checksum; the first error stops
/// the writing and is kept.
struct Stream<W> {
    w: W,
    chunk: Vec<u8>,
    crc: crate::crc32::Hasher,
    written: u64,
    error: Option<std::io::Error>,
}

impl<W: std::io::Write> Stream<W> {
    const CHUNK: usize = 64 << 10;

    fn flush_chunk(&mut self) {
        if self.error.is_none() {
            self.crc.update(&self.chunk);
            self.written += self.chunk.len() as u64;
            if let Err(e) = self.w.write_all(&self.chunk) {
                self.error = Some(e);
            }
        }
        self.chunk.clear();
    }
}

impl<W: std::io::Write> Out for Stream<W> {
    fn put(&mut self, b: &[u8]) {
        self.chunk.extend_from_slice(b);
        if self.chunk.len() >= Self::CHUNK {
            self.flush_chunk();
        }
    }
    fn byte(&mut self, b: u8) {
        self.chunk.push(b);
    }
}

struct Writer<O>(O);

impl<O: Out> Writer<O> {
    fn uv(&mut self, mut v: u64) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.0.byte(b);
                return;
            }
            self.0.byte(b | 0x80);
        }
    }
    fn iv(&mut self, v: i64) {
        self.uv(((v << 1) ^ (v >> 63)) as u64);
    }
    fn bytes(&mut self, b: &[u8]) {
        self.uv(b.len() as u64);
        self.0.put(b);
    }
    /// 0 for null, else the length plus one, then the bytes.
    fn data(&mut self, d: &Data) {
        match d.as_option() {
            None => self.uv(0),
            Some(b) => {
                self.uv(b.len() as u64 + 1);
                self.0.put(b);
            }
        }
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], SnapshotError> {
        let end = self.at.checked_add(n).ok_or(SnapshotError::Truncated)?;
        let s = self.b.get(self.at..end).ok_or(SnapshotError::Truncated)?;
        self.at = end;
        Ok(s)
    }
    fn u64be(&mut self) -> Result<u64, SnapshotError> {
        Ok(u64::from_be_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn uv(&mut self) -> Result<u64, SnapshotError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.take(1)?[0];
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(SnapshotError::Corrupt("varint too long"))
    }
    fn iv(&mut self) -> Result<i64, SnapshotError> {
        let u = self.uv()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }
    fn i32v(&mut self) -> Result<i32, SnapshotError> {
        i32::try_from(self.iv()?).map_err(|_| SnapshotError::Corrupt("int out of range"))
    }
    fn len(&mut self) -> Result<usize, SnapshotError> {
        let n = usize::try_from(self.uv()?).map_err(|_| SnapshotError::Truncated)?;
        if n > self.b.len() {
            return Err(SnapshotError::Truncated);
        }
        Ok(n)
    }
    fn bytes(&mut self) -> Result<Vec<u8>, SnapshotError> {
        let n = self.len()?;
        Ok(self.take(n)?.to_vec())
    }
    fn data(&mut self) -> Result<Data, SnapshotError> {
        match self.len()? {
            0 => Ok(Data::NULL),
            n => Ok(Data::from(self.take(n - 1)?.to_vec())),
        }
    }
    fn string(&mut self) -> Result<String, SnapshotError> {
        String::from_utf8(self.bytes()?).map_err(|_| SnapshotError::Corrupt("string not UTF-8"))
    }
}

/// The snapshot of a tree.
pub fn encode(t: &DataTree) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(t.node_count() * 64));
    encode_body(t, &mut w);
    let crc = crate::crc32::hash(&w.0);
    w.0.extend_from_slice(&crc.to_be_bytes());
    w.0
}

/// The length of [`encode`]'s bytes for `t`, without making them.
pub fn encoded_len(t: &DataTree) -> u64 {
    let mut w = Writer(Count(0));
    encode_body(t, &mut w);
    w.0 .0 + 4
}

/// Writes [`encode`]'s bytes for `t` to `w` as they are made, a chunk at a time, so a
/// large tree's snapshot is never whole in memory (a native server's checkpoint).
/// Returns how many bytes it wrote.
pub fn encode_to<W: std::io::Write>(t: &DataTree, w: W) -> std::io::Result<u64> {
    let mut s = Writer(Stream {
        w,
        chunk: Vec::with_capacity(Stream::<W>::CHUNK + 4096),
        crc: crate::crc32::Hasher::new(),
        written: 0,
        error: None,
    });
    encode_body(t, &mut s);
    let mut s = s.0;
    s.flush_chunk();
    if let Some(e) = s.error {
        return Err(e);
    }
    s.w.write_all(&s.crc.finalize().to_be_bytes())?;
    Ok(s.written + 4)
}

/// Everything but the checksum at the end.
fn encode_body<O: Out>(t: &DataTree, w: &mut Writer<O>) {
    w.0.put(MAGIC);
    w.0.put(&VERSION.to_be_bytes());
    w.0.put(&t.last_zxid.0.to_be_bytes());
    w.0.put(&t.digest.to_be_bytes());
    w.uv(t.acls.last_index);
    w.uv(t.acls.by_index.len() as u64);
    for (index, (list, _)) in &t.acls.by_index {
        w.uv(*index);
        w.uv(list.len() as u64);
        for a in list.iter() {
            w.iv(i64::from(a.perms.0));
            w.bytes(a.id.scheme.as_bytes());
            w.bytes(a.id.id.as_bytes());
        }
    }
    w.uv(t.sessions.len() as u64);
    for (s, timeout) in &t.sessions {
        w.0.put(&s.0.to_be_bytes());
        w.iv(i64::from(*timeout));
    }
    w.uv(t.nodes.len() as u64);
    let mut prev: &str = "";
    for (p, n) in t.nodes.iter() {
        let shared = prev.bytes().zip(p.bytes()).take_while(|(a, b)| a == b).count();
        // Never split a UTF-8 character.
        let shared = (0..=shared).rev().find(|&i| p.is_char_boundary(i)).unwrap_or(0);
        w.uv(shared as u64);
        w.bytes(&p.as_bytes()[shared..]);
        w.data(&n.data);
        w.uv(if n.acl == AclTable::OPEN { 0 } else { n.acl + 1 });
        let s = &n.stat;
        w.uv(s.czxid.0);
        w.uv(s.mzxid.0);
        w.iv(s.ctime);
        w.iv(s.mtime);
        w.iv(i64::from(s.version));
        w.iv(i64::from(s.cversion));
        w.iv(i64::from(s.aversion));
        w.iv(s.ephemeral_owner);
        w.uv(s.pzxid.0);
        prev = p;
    }
}

/// The tree a snapshot holds; its digest is recomputed and checked.
pub fn decode(bytes: &[u8]) -> Result<DataTree, SnapshotError> {
    if bytes.len() < 10 {
        return Err(SnapshotError::Truncated);
    }
    let version = u16::from_be_bytes([bytes[4], bytes[5]]);
    if &bytes[..4] != MAGIC || !(OLDEST..=VERSION).contains(&version) {
        return Err(SnapshotError::BadHeader(version));
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    if crate::crc32::hash(body).to_be_bytes() != crc {
        return Err(SnapshotError::Checksum);
    }
    let mut r = Reader { b: body, at: 6 };
    let mut t = DataTree::new();
    t.nodes.clear();
    t.acls = AclTable::default();
    t.digest = 0;
    t.last_zxid = Zxid(r.u64be()?);
    let digest = r.u64be()?;
    t.acls.last_index = r.uv()?;
    for _ in 0..r.len()? {
        let index = r.uv()?;
        let mut list = Vec::new();
        for _ in 0..r.len()? {
            let perms = Perms(i32::try_from(r.iv()?).map_err(|_| SnapshotError::Corrupt("perms"))?);
            let scheme = r.string()?;
            let id = r.string()?;
            list.push(Acl { perms, id: Id { scheme, id } });
        }
        let list: std::sync::Arc<[Acl]> = list.into();
        if index > t.acls.last_index || t.acls.by_list.insert(list.clone(), index).is_some() {
            return Err(SnapshotError::Corrupt("acl table"));
        }
        t.acls.by_index.insert(index, (list, 0));
    }
    for _ in 0..r.len()? {
        let s = SessionId(r.u64be()? as i64);
        let timeout = r.i32v()?;
        t.sessions.insert(s, timeout);
    }
    // Nodes come in path order, so a parent always comes before its children and
    // both maps can be bulk-built (full B-tree nodes: less memory than inserting).
    let count = r.len()?;
    // A node takes at least 14 bytes: never reserve more than the bytes can hold.
    let reserve = count.min(body.len() / 14);
    let mut entries: Vec<(String, Node)> = Vec::with_capacity(reserve);
    let mut kids: Vec<Vec<String>> = Vec::with_capacity(reserve);
    for _ in 0..count {
        let shared = r.len()?;
        let rest = r.bytes()?;
        let prev = entries.last().map_or("", |e| e.0.as_str());
        if shared > prev.len() || !prev.is_char_boundary(shared) {
            return Err(SnapshotError::Corrupt("path prefix"));
        }
        let mut p = prev.as_bytes()[..shared].to_vec();
        p.extend_from_slice(&rest);
        let p = String::from_utf8(p).map_err(|_| SnapshotError::Corrupt("path not UTF-8"))?;
        let data = if version == OLDEST { Data::from(r.bytes()?) } else { r.data()? };
        let acl = match r.uv()? {
            0 => AclTable::OPEN,
            i => i - 1,
        };
        let stat = StatPersisted {
            czxid: Zxid(r.uv()?),
            mzxid: Zxid(r.uv()?),
            ctime: r.iv()?,
            mtime: r.iv()?,
            version: r.i32v()?,
            cversion: r.i32v()?,
            aversion: r.i32v()?,
            ephemeral_owner: r.iv()?,
            pzxid: Zxid(r.uv()?),
        };
        if !entries.is_empty() && p.as_str() <= prev {
            return Err(SnapshotError::Corrupt("paths out of order"));
        }
        if acl != AclTable::OPEN {
            t.acls.by_index.get_mut(&acl).ok_or(SnapshotError::Corrupt("unknown acl index"))?.1 += 1;
        }
        if p != path::ROOT {
            let parent = path::parent(&p).ok_or(SnapshotError::Corrupt("bad path"))?;
            let at = entries
                .binary_search_by(|e| e.0.as_str().cmp(parent))
                .map_err(|_| SnapshotError::Corrupt("orphan node"))?;
            kids[at].push(path::name(&p).to_owned());
        } else if !entries.is_empty() {
            return Err(SnapshotError::Corrupt("root not first"));
        }
        let node = Node { data, acl, stat, children: Default::default() };
        t.account(&p, &node);
        entries.push((p, node));
        kids.push(Vec::new());
    }
    for (e, k) in entries.iter_mut().zip(kids) {
        e.1.children = k.into_iter().collect();
    }
    t.nodes = entries.into_iter().map(|(p, n)| (p, std::sync::Arc::new(n))).collect();
    if r.at != body.len() {
        return Err(SnapshotError::Corrupt("trailing bytes"));
    }
    if t.acls.by_index.values().any(|e| e.1 == 0) {
        return Err(SnapshotError::Corrupt("unused acl entry"));
    }
    if t.digest != digest {
        return Err(SnapshotError::Corrupt("digest mismatch"));
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::super::*;
    use super::*;

    fn busy_tree() -> DataTree {
        busy_server().tree
    }

    fn busy_server() -> TestServer {
        let mut s = TestServer::new();
        s.create("/app", CreateMode::Persistent).unwrap();
        s.create("/app/é-ü", CreateMode::Persistent).unwrap();
        s.create("/app/q-", CreateMode::PersistentSequential).unwrap();
        s.create("/app/e", CreateMode::Ephemeral).unwrap();
        s.create("/c", CreateMode::Container).unwrap();
        s.create("/t", CreateMode::PersistentWithTtl).unwrap();
        let acl = vec![Acl::new(Perms::READ, "digest", &acl::digest_id("u:p"))];
        s.write(A, WriteRequest::SetAcl { path: "/c".into(), acl, version: -1 }).result.unwrap();
        s.write(A, WriteRequest::Delete { path: "/app/q-0000000001".into(), version: -1 }).result.unwrap();
        s
    }

    #[test]
    fn snapshot_restores_the_identical_tree_and_bytes() {
        let tree = busy_tree();
        let bytes = encode(&tree);
        let back = decode(&bytes).unwrap();
        assert_eq!(back, tree);
        assert_eq!(back.digest(), tree.digest());
        assert_eq!(encode(&back), bytes);
        assert_eq!(back.ephemerals_of(A).collect::<Vec<_>>(), vec!["/app/e"]);
        assert!(back.containers().contains("/c") && back.ttls().contains("/t"));
        assert_eq!(back.sessions().len(), 2);
    }

    #[test]
    fn snapshot_refuses_damaged_bytes() {
        let bytes = encode(&busy_tree());
        let mut flipped = bytes.clone();
        flipped[20] ^= 1;
        assert_eq!(decode(&flipped), Err(SnapshotError::Checksum));
        assert_eq!(decode(&bytes[..bytes.len() - 1]), Err(SnapshotError::Checksum));
        assert_eq!(decode(&bytes[..5]), Err(SnapshotError::Truncated));
        let mut v3 = bytes.clone();
        v3[5] = 3;
        assert_eq!(decode(&v3), Err(SnapshotError::BadHeader(3)));
    }

    /// A tree whose snapshot spans several of [`encode_to`]'s chunks.
    fn large_tree() -> DataTree {
        let mut s = busy_server();
        for i in 0..300 {
            let mut req = create(&format!("/big{i:03}"), CreateMode::Persistent);
            if let WriteRequest::Create(c) = &mut req {
                c.data = vec![b'a' + (i % 26) as u8; 1000 + i].into();
            }
            s.write(A, req).result.unwrap();
        }
        s.tree
    }

    #[test]
    fn streamed_snapshot_is_the_same_bytes_and_length() {
        for tree in [DataTree::new(), busy_tree(), large_tree()] {
            let bytes = encode(&tree);
            assert_eq!(encoded_len(&tree), bytes.len() as u64);
            let mut streamed = Vec::new();
            assert_eq!(encode_to(&tree, &mut streamed).unwrap(), bytes.len() as u64);
            assert_eq!(streamed, bytes);
        }
        assert!(encode(&large_tree()).len() > 4 * Stream::<Vec<u8>>::CHUNK);
    }

    #[test]
    fn streamed_snapshot_reports_the_writers_error() {
        /// Accepts `room` bytes, then fails.
        struct Full {
            room: usize,
        }
        impl std::io::Write for Full {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                if self.room == 0 {
                    return Err(std::io::Error::other("disk full"));
                }
                let n = b.len().min(self.room);
                self.room -= n;
                Ok(n)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let tree = large_tree();
        let e = encode_to(&tree, Full { room: 100_000 }).unwrap_err();
        assert_eq!(e.to_string(), "disk full");
        let len = encoded_len(&tree) as usize;
        assert_eq!(encode_to(&tree, Full { room: len }).unwrap(), len as u64);
        assert!(encode_to(&tree, Full { room: len - 1 }).is_err());
    }

    #[test]
    fn snapshot_of_a_fresh_tree_is_small() {
        let bytes = encode(&DataTree::new());
        assert!(bytes.len() < 160, "{} bytes", bytes.len());
        assert_eq!(decode(&bytes).unwrap(), DataTree::new());
    }

    proptest::proptest! {
        #[test]
        fn decoding_damaged_or_random_bytes_never_panics(
            at in 0usize..4096, bit in 0u8..8, junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)
        ) {
            let bytes = encode(&busy_tree());
            let mut damaged = bytes.clone();
            let i = at % damaged.len();
            damaged[i] ^= 1 << bit;
            proptest::prop_assert!(decode(&damaged).is_err());
            let _ = decode(&junk);
            // Re-sealed with a valid checksum, damage must still be caught or be harmless.
            let body = &damaged[..damaged.len() - 4];
            let mut sealed = body.to_vec();
            sealed.extend_from_slice(&crate::crc32::hash(body).to_be_bytes());
            if let Ok(t) = decode(&sealed) {
                proptest::prop_assert_eq!(t.digest(), t.recompute_digest());
            }
        }
    }
}
