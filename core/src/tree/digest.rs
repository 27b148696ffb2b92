//! ZooKeeper 3.6+'s tree digest (`DigestCalculator`, version 2), so that a replica's
//! digest can be compared with a real server's (`hash` four-letter word).
//!
//! A node's digest is the CRC32 of its path (UTF-8; the root is `""`), its data, and 60
//! bytes of its stored stat, big-endian: czxid, mzxid, pzxid, ctime, mtime (8 bytes
//! each), version, cversion, aversion (4 bytes each), ephemeralOwner (8 bytes). The
//! cversion is the stored one (children created), not the one clients see. The tree's
//! digest is the wrapping 64-bit sum of its nodes' digests (`AdHash`), where every path
//! under `/zookeeper/` counts 0 (but `/zookeeper` itself counts).

use super::path::{ROOT, ZOOKEEPER_SUBTREE};
use super::stat::StatPersisted;
use crate::ids::Zxid;

/// The digest version ZooKeeper 3.6–3.9 put in `TxnDigest`.
pub const DIGEST_VERSION: i32 = 2;

/// Whether a path takes part in the digest.
pub fn covered(path: &str) -> bool {
    !path.starts_with(ZOOKEEPER_SUBTREE)
}

/// One node's digest; 0 for paths the digest leaves out.
pub fn node_digest(path: &str, data: &[u8], stat: &StatPersisted) -> u64 {
    finish(&prefix(path, data), stat)
}

/// The CRC state after a node's path and data (`None` for paths the digest leaves
/// out): with [`finish`], the node's digest for any stat, without reading the data again.
pub fn prefix(path: &str, data: &[u8]) -> Option<crate::crc32::Hasher> {
    if !covered(path) {
        return None;
    }
    let mut crc = crate::crc32::Hasher::new();
    crc.update(if path == ROOT { "" } else { path }.as_bytes());
    crc.update(data);
    Some(crc)
}

/// A node's digest from its [`prefix`] and its stat.
pub fn finish(prefix: &Option<crate::crc32::Hasher>, stat: &StatPersisted) -> u64 {
    let Some(crc) = prefix else { return 0 };
    let mut b = [0u8; 60];
    b[0..8].copy_from_slice(&stat.czxid.0.to_be_bytes());
    b[8..16].copy_from_slice(&stat.mzxid.0.to_be_bytes());
    b[16..24].copy_from_slice(&stat.pzxid.0.to_be_bytes());
    b[24..32].copy_from_slice(&stat.ctime.to_be_bytes());
    b[32..40].copy_from_slice(&stat.mtime.to_be_bytes());
    b[40..44].copy_from_slice(&stat.version.to_be_bytes());
    b[44..48].copy_from_slice(&stat.cversion.to_be_bytes());
    b[48..52].copy_from_slice(&stat.aversion.to_be_bytes());
    b[52..60].copy_from_slice(&stat.ephemeral_owner.to_be_bytes());
    let mut crc = crc.clone();
    crc.update(&b);
    u64::from(crc.finalize())
}

/// ZooKeeper records a digest only at zxids that are multiples of this.
pub const DIGEST_LOG_INTERVAL: u64 = 128;
/// And keeps this many.
pub const DIGEST_LOG_LIMIT: usize = 1024;

/// The digest history the `hash` four-letter word prints (`DataTree.digestLog`): the
/// tree digest after every zxid that is a multiple of 128, the last 1024 of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DigestLog {
    entries: std::collections::VecDeque<(Zxid, u64)>,
}

impl DigestLog {
    /// An empty history.
    pub fn new() -> DigestLog {
        DigestLog::default()
    }

    /// Notes the digest after applying `zxid` (kept only at multiples of 128).
    pub fn record(&mut self, zxid: Zxid, digest: u64) {
        if zxid.0.is_multiple_of(DIGEST_LOG_INTERVAL) {
            self.entries.push_back((zxid, digest));
            if self.entries.len() > DIGEST_LOG_LIMIT {
                self.entries.pop_front();
            }
        }
    }

    /// The entries, oldest first.
    pub fn entries(&self) -> impl Iterator<Item = (Zxid, u64)> + '_ {
        self.entries.iter().copied()
    }

    /// The `hash` four-letter word's answer: `<zxid in hex>: <digest as a signed long>`
    /// per line, e.g. `80: 147511762177`.
    pub fn render(&self) -> String {
        self.entries.iter().map(|(z, d)| format!("{:x}: {}\n", z.0, *d as i64)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_crc32_of_path_data_and_stat() {
        let stat = StatPersisted { czxid: Zxid(1), ..StatPersisted::default() };
        let mut bytes = b"/ax".to_vec();
        bytes.extend_from_slice(&1i64.to_be_bytes());
        bytes.extend_from_slice(&[0u8; 52]);
        assert_eq!(node_digest("/a", b"x", &stat), u64::from(crc32fast::hash(&bytes)));
    }

    #[test]
    fn root_is_digested_as_the_empty_path_and_zookeeper_children_count_zero() {
        let stat = StatPersisted::default();
        assert_eq!(node_digest("/", b"", &stat), u64::from(crc32fast::hash(&[0u8; 60])));
        assert_eq!(node_digest("/zookeeper/quota", b"", &stat), 0);
        assert_ne!(node_digest("/zookeeper", b"", &stat), 0);
    }

    /// `DigestCalculator.calculateDigest` with `data == null` skips `crc.update(data)`:
    /// the CRC of the path then the 60 stat bytes, as for empty data.
    #[test]
    fn null_data_digests_as_zookeeper_computes_it() {
        use crate::tree::testkit::*;
        use crate::tree::{CreateMode, Data, WriteRequest};
        let mut s = TestServer::new();
        let WriteRequest::Create(c) = create("/n", CreateMode::Persistent) else { unreachable!() };
        s.write(A, WriteRequest::Create(crate::tree::Create { data: Data::NULL, ..c })).result.unwrap();
        s.write(A, WriteRequest::SetData { path: "/n".into(), data: Data::NULL, version: -1 })
            .result
            .unwrap();
        let n = s.tree.node("/n").unwrap();
        assert!(n.data.is_null());
        let st = &n.stat;
        assert_eq!(st.version, 1);
        // ZooKeeper's order: path bytes; no data; czxid, mzxid, pzxid, ctime, mtime (8 bytes
        // each), version, cversion, aversion (4), ephemeralOwner (8), big-endian.
        let mut b = b"/n".to_vec();
        for v in [st.czxid.0 as i64, st.mzxid.0 as i64, st.pzxid.0 as i64, st.ctime, st.mtime] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        for v in [st.version, st.cversion, st.aversion] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b.extend_from_slice(&st.ephemeral_owner.to_be_bytes());
        let zk = u64::from(crc32fast::hash(&b));
        assert_eq!(node_digest("/n", &n.data, st), zk);
        assert_eq!(node_digest("/n", &Data::empty(), st), zk, "null and empty digest alike");
        // The incremental tree digest (create, then setData from null to null) agrees.
        assert_eq!(s.tree.digest(), s.tree.recompute_digest());
    }

    #[test]
    fn hash_four_letter_word_lists_every_128th_zxid() {
        let mut log = DigestLog::new();
        for z in 1..=300u64 {
            log.record(Zxid(z), z * 1000);
        }
        assert_eq!(log.render(), "80: 128000\n100: 256000\n");
        for z in 301..=(129 * 1024 + 1000) {
            log.record(Zxid(z), 7);
        }
        assert_eq!(log.entries().count(), DIGEST_LOG_LIMIT);
    }
}
