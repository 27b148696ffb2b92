//! Verifying a copy: a source subtree against its copy on the target, at three levels —
//! counts, a subtree hash, and (for exact transports) ZooKeeper's own digest.
//!
//! Paths are compared relative to each side's root, so `/app` on the source can be
//! checked against `/app` or against a chroot like `/imported/app` on the target. The
//! whole tree (`/`) leaves out `/zookeeper`, which belongs to each cluster.

use crate::tree::{DataTree, Node, NodeKind};
use crate::vecmap::VecMap;
use serde::{Deserialize, Serialize};
use sha1_smol::Sha1;
use std::fmt;

/// How much of a znode a comparison covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fidelity {
    /// Everything: data, ACL, node type, and the whole stored Stat (zxids, times,
    /// versions, the internal cversion, the raw ephemeral owner). What the observer-join
    /// and snapshot transports keep.
    Exact,
    /// What the client API can carry over to any ZooKeeper: path, data, ACL, and whether
    /// the node is ephemeral. Versions, zxids, times and sequence counters restart, and
    /// containers and TTL nodes look persistent.
    Logical,
}

/// Counts and a hash of one subtree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Znodes (the root of the subtree included).
    pub nodes: usize,
    /// Ephemeral znodes.
    pub ephemerals: usize,
    /// Containers.
    pub containers: usize,
    /// TTL nodes.
    pub ttls: usize,
    /// Bytes of data.
    pub data_bytes: u64,
    /// SHA-1 over every node in path order, as the fidelity says (hex).
    pub hash: String,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} znodes ({} ephemeral, {} containers, {} TTL), {} data bytes, hash {}",
            self.nodes,
            self.ephemerals,
            self.containers,
            self.ttls,
            self.data_bytes,
            &self.hash[..12.min(self.hash.len())]
        )
    }
}

/// The path of `path` relative to `root` (`/` for the root itself), or `None` when
/// outside the subtree (and, for the whole tree, inside `/zookeeper`).
pub fn relative<'a>(root: &str, path: &'a str) -> Option<&'a str> {
    if root == "/" {
        if path == "/zookeeper" || path.starts_with("/zookeeper/") {
            return None;
        }
        return Some(path);
    }
    if path == root {
        return Some("/");
    }
    path.strip_prefix(root).filter(|rest| rest.starts_with('/'))
}

fn subtree<'t>(tree: &'t DataTree, root: &'t str) -> impl Iterator<Item = (&'t str, &'t Node)> + 't {
    tree.nodes().filter_map(move |(path, node)| relative(root, path).map(|rel| (rel, node)))
}

/// The bytes of one node that a comparison at `fidelity` covers.
fn fingerprint(tree: &DataTree, rel: &str, node: &Node, fidelity: Fidelity) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + rel.len() + node.data.len());
    let mut field = |bytes: &[u8]| {
        out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
        out.extend_from_slice(bytes);
    };
    field(rel.as_bytes());
    field(&node.data);
    for acl in tree.acl_of(node).iter() {
        field(&acl.perms.0.to_be_bytes());
        field(acl.id.scheme.as_bytes());
        field(acl.id.id.as_bytes());
    }
    match fidelity {
        Fidelity::Logical => {
            field(&[u8::from(matches!(node.kind(), NodeKind::Ephemeral(_)))]);
        }
        Fidelity::Exact => {
            let s = &node.stat;
            for v in
                [s.czxid.0 as i64, s.mzxid.0 as i64, s.pzxid.0 as i64, s.ctime, s.mtime, s.ephemeral_owner]
            {
                field(&v.to_be_bytes());
            }
            for v in [s.version, s.cversion, s.aversion] {
                field(&v.to_be_bytes());
            }
        }
    }
    out
}

/// Counts and hashes the subtree at `root`.
pub fn summarize(tree: &DataTree, root: &str, fidelity: Fidelity) -> Summary {
    let mut sha = Sha1::new();
    let mut s =
        Summary { nodes: 0, ephemerals: 0, containers: 0, ttls: 0, data_bytes: 0, hash: String::new() };
    for (rel, node) in subtree(tree, root) {
        s.nodes += 1;
        s.data_bytes += node.data.len() as u64;
        match node.kind() {
            NodeKind::Ephemeral(_) => s.ephemerals += 1,
            NodeKind::Container => s.containers += 1,
            NodeKind::Ttl(_) => s.ttls += 1,
            NodeKind::Persistent => {}
        }
        sha.update(&fingerprint(tree, rel, node, fidelity));
    }
    s.hash = sha.digest().to_string();
    s
}

/// One way a copy differs from its source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    /// The path, relative to the compared roots.
    pub path: String,
    /// What differs.
    pub what: String,
}

/// Lists up to `limit` differences between the source subtree and its copy.
pub fn diff(
    source: &DataTree,
    source_root: &str,
    target: &DataTree,
    target_root: &str,
    fidelity: Fidelity,
    limit: usize,
) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut a = subtree(source, source_root).peekable();
    let mut b = subtree(target, target_root).peekable();
    while out.len() < limit {
        let d = match (a.peek(), b.peek()) {
            (None, None) => break,
            (Some(&(pa, _)), None) => {
                a.next();
                Difference { path: pa.into(), what: "missing on the target".into() }
            }
            (None, Some(&(pb, _))) => {
                b.next();
                Difference { path: pb.into(), what: "only on the target".into() }
            }
            (Some(&(pa, na)), Some(&(pb, nb))) => match pa.cmp(pb) {
                std::cmp::Ordering::Less => {
                    a.next();
                    Difference { path: pa.into(), what: "missing on the target".into() }
                }
                std::cmp::Ordering::Greater => {
                    b.next();
                    Difference { path: pb.into(), what: "only on the target".into() }
                }
                std::cmp::Ordering::Equal => {
                    a.next();
                    b.next();
                    match describe(source, na, target, nb, fidelity) {
                        Some(what) => Difference { path: pa.into(), what },
                        None => continue,
                    }
                }
            },
        };
        out.push(d);
    }
    out
}

fn describe(st: &DataTree, a: &Node, tt: &DataTree, b: &Node, fidelity: Fidelity) -> Option<String> {
    if a.data != b.data {
        if a.data.is_null() || b.data.is_null() {
            let size = |d: &crate::tree::Data| {
                if d.is_null() {
                    "null".to_owned()
                } else {
                    format!("{} bytes", d.len())
                }
            };
            return Some(format!("data differs ({} vs {})", size(&a.data), size(&b.data)));
        }
        return Some(format!("data differs ({} vs {} bytes)", a.data.len(), b.data.len()));
    }
    if st.acl_of(a) != tt.acl_of(b) {
        return Some("ACL differs".into());
    }
    let (ka, kb) = (a.kind(), b.kind());
    match fidelity {
        Fidelity::Logical => {
            let eph = |k: NodeKind| matches!(k, NodeKind::Ephemeral(_));
            (eph(ka) != eph(kb)).then(|| format!("node type differs ({ka} vs {kb})"))
        }
        Fidelity::Exact => {
            if ka != kb {
                return Some(format!("node type differs ({ka} vs {kb})"));
            }
            (a.stat != b.stat).then(|| format!("stat differs ({})", a.stat.differences(&b.stat)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Zxid;
    use crate::tree::{Acl, Perms, StatPersisted};

    fn open() -> Vec<Acl> {
        vec![Acl::new(Perms(31), "world", "anyone")]
    }

    fn tree(nodes: &[(&str, &str, i64)]) -> DataTree {
        let mut t = DataTree::new();
        for (i, &(path, data, owner)) in nodes.iter().enumerate() {
            let stat = StatPersisted::created(Zxid(i as u64 + 1), 1_000, owner);
            t.import_node(path, data.as_bytes().to_vec(), &open(), stat).unwrap();
        }
        t
    }

    #[test]
    fn relative_paths_rebase_subtrees_and_skip_zookeeper_for_the_whole_tree() {
        assert_eq!(relative("/app", "/app"), Some("/"));
        assert_eq!(relative("/app", "/app/x"), Some("/x"));
        assert_eq!(relative("/app", "/apple"), None);
        assert_eq!(relative("/", "/zookeeper/config"), None);
        assert_eq!(relative("/", "/a"), Some("/a"));
    }

    #[test]
    fn a_chrooted_copy_matches_its_source() {
        let src = tree(&[("/app", "", 0), ("/app/a", "1", 0), ("/app/b", "2", 0)]);
        let dst = tree(&[
            ("/imported", "", 0),
            ("/imported/app", "", 0),
            ("/imported/app/a", "1", 0),
            ("/imported/app/b", "2", 0),
        ]);
        let (s, d) =
            (summarize(&src, "/app", Fidelity::Logical), summarize(&dst, "/imported/app", Fidelity::Logical));
        assert_eq!(s, d);
        assert_eq!(s.nodes, 3);
        assert!(diff(&src, "/app", &dst, "/imported/app", Fidelity::Logical, 10).is_empty());
        // Exactly, the zxids differ (the copy created them later): the exact level sees it.
        assert_ne!(
            summarize(&src, "/app", Fidelity::Exact).hash,
            summarize(&dst, "/imported/app", Fidelity::Exact).hash
        );
    }

    #[test]
    fn every_kind_of_difference_is_named() {
        let src = tree(&[("/a", "x", 0), ("/b", "", 0), ("/c", "", 0)]);
        let dst = tree(&[("/a", "y", 0), ("/c", "", 0), ("/d", "", 0)]);
        let d = diff(&src, "/", &dst, "/", Fidelity::Logical, 10);
        let lines: Vec<String> = d.iter().map(|d| format!("{} {}", d.path, d.what)).collect();
        assert_eq!(
            lines,
            vec!["/a data differs (1 vs 1 bytes)", "/b missing on the target", "/d only on the target"]
        );
        assert_eq!(diff(&src, "/", &dst, "/", Fidelity::Logical, 2).len(), 2, "the limit bounds the list");
    }

    #[test]
    fn an_ephemeral_copied_as_persistent_is_caught_even_logically() {
        let src = tree(&[("/e", "", 0x1234)]);
        let dst = tree(&[("/e", "", 0)]);
        let d = diff(&src, "/", &dst, "/", Fidelity::Logical, 10);
        assert_eq!(d.len(), 1);
        assert!(d[0].what.contains("node type"), "{:?}", d[0]);
        assert_ne!(
            summarize(&src, "/", Fidelity::Logical).hash,
            summarize(&dst, "/", Fidelity::Logical).hash
        );
    }
}

/// Parents whose next sequential suffix on the target is below the source's (a
/// sequential create there could reuse a name a client already saw). The counter is the
/// stored cversion: the number of children ever created under the parent.
pub fn sequence_counters_behind(
    source: &DataTree,
    source_root: &str,
    target: &DataTree,
    target_root: &str,
) -> Vec<Difference> {
    let targets: VecMap<&str, &Node> = subtree(target, target_root).collect();
    subtree(source, source_root)
        .filter_map(|(rel, src)| {
            let dst = targets.get(rel)?;
            (dst.stat.cversion < src.stat.cversion).then(|| Difference {
                path: rel.to_string(),
                what: format!(
                    "next sequential suffix {:010} on the target, {:010} on the source",
                    dst.stat.cversion, src.stat.cversion
                ),
            })
        })
        .collect()
}

/// Ephemeral znodes whose owner is not a session the tree knows: orphans (the session
/// was not imported) or fakes (an ephemeral copied without its session).
pub fn orphan_ephemerals(tree: &DataTree) -> Vec<String> {
    tree.nodes()
        .filter_map(|(path, node)| match node.kind() {
            NodeKind::Ephemeral(owner) if !tree.sessions().contains_key(&owner) => Some(path.to_string()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod invariant_tests {
    use super::*;
    use crate::ids::{SessionId, Zxid};
    use crate::tree::{Acl, Perms, StatPersisted};

    fn node(t: &mut DataTree, path: &str, cversion: i32, owner: i64) {
        let mut stat = StatPersisted::created(Zxid(1), 0, owner);
        stat.cversion = cversion;
        t.import_node(path, Vec::new(), &[Acl::new(Perms(31), "world", "anyone")], stat).unwrap();
    }

    #[test]
    fn a_sequence_counter_that_went_back_is_reported() {
        let (mut src, mut dst) = (DataTree::new(), DataTree::new());
        node(&mut src, "/locks", 42, 0);
        node(&mut dst, "/locks", 3, 0);
        let d = sequence_counters_behind(&src, "/", &dst, "/");
        assert_eq!(d.len(), 1);
        assert!(d[0].what.contains("0000000003") && d[0].what.contains("0000000042"), "{:?}", d[0]);
        node(&mut dst, "/ok", 0, 0);
        let mut exact = DataTree::new();
        node(&mut exact, "/locks", 42, 0);
        assert!(sequence_counters_behind(&src, "/", &exact, "/").is_empty());
    }

    #[test]
    fn an_ephemeral_without_its_session_is_an_orphan() {
        let mut t = DataTree::new();
        node(&mut t, "/live", 0, 7);
        node(&mut t, "/orphan", 0, 8);
        t.import_session(SessionId(7), 30_000);
        assert_eq!(orphan_ephemerals(&t), vec!["/orphan".to_string()]);
    }
}
