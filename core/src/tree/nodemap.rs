//! The data tree's path → node map: a B-tree whose keys keep a short path inside
//! the B-tree's own node (most znode paths are short), so a lookup compares bytes
//! already in cache instead of following a pointer to a separate allocation per
//! key it passes, and a short path costs no allocation of its own. Ordered as the
//! paths' bytes (the order of `str`, so iteration is in path order as before).
//!
//! Both B-trees here are **packed** as they grow: keys inserted in order (the usual
//! znode names: `k1`, `k2`, …, sequential nodes) leave the standard library's B-tree
//! nodes a little over half full (each full node splits 6 + 5 and only the right one
//! grows), about 59 bytes per entry of 32; once a map has had as many new keys since
//! it was last packed as half its size, it is rebuilt with full nodes (the standard
//! library's bulk build, without an intermediate copy): about 34 bytes per entry, at
//! an amortized cost of moving each entry a few times (BENCHMARKS.md, memory per
//! 100,000 znodes).
//!
//! In the playground's wasm build both are sorted `Vec`s instead (`vecmap::BrowserMap`,
//! `BrowserSet`: the page's trees are small, and each B-tree type costs about 10 KB of
//! wasm), which need no packing; the order, and so every trace, is the same.

use super::node::Node;
use crate::vecmap::{BrowserMap, BrowserSet};
use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

/// The longest path kept inline (the key is as large as a `String`).
const INLINE: usize = 22;

/// A path as a map key.
#[derive(Clone)]
enum PathKey {
    Inline(u8, [u8; INLINE]),
    Heap(Box<[u8]>),
}

impl PathKey {
    fn new(path: &str) -> PathKey {
        let b = path.as_bytes();
        if b.len() <= INLINE {
            let mut buf = [0; INLINE];
            buf[..b.len()].copy_from_slice(b);
            PathKey::Inline(b.len() as u8, buf)
        } else {
            PathKey::Heap(b.into())
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            PathKey::Inline(n, buf) => &buf[..*n as usize],
            PathKey::Heap(b) => b,
        }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(self.bytes()).expect("a path key is made from a str")
    }
}

impl Borrow<[u8]> for PathKey {
    fn borrow(&self) -> &[u8] {
        self.bytes()
    }
}

impl PartialEq for PathKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes() == other.bytes()
    }
}

impl Eq for PathKey {}

impl PartialOrd for PathKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PathKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.bytes().cmp(other.bytes())
    }
}

impl fmt::Debug for PathKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// A map grown by fewer new keys than this since it was last packed is left as it is
/// (small maps: a node or two).
const PACK_MIN: usize = 256;

/// Whether a map of `len` entries, `loose` of them inserted since it was last packed,
/// is due to be packed again.
fn pack_due(loose: usize, len: usize) -> bool {
    loose >= PACK_MIN && 2 * loose >= len
}

/// Rebuilds a B-tree with full nodes: `append` into a map of one entry bulk-builds
/// the merged entries (moved, not copied) into a new tree.
#[cfg(not(all(target_arch = "wasm32", feature = "browser-maps")))]
fn pack<K: Ord, V>(m: &mut BrowserMap<K, V>) {
    let mut rest = std::mem::take(m);
    if let Some((k, v)) = rest.pop_first() {
        m.insert(k, v);
        m.append(&mut rest);
    }
}

/// [`pack`] for a set.
#[cfg(not(all(target_arch = "wasm32", feature = "browser-maps")))]
fn pack_set<K: Ord>(s: &mut BrowserSet<K>) {
    let mut rest = std::mem::take(s);
    if let Some(k) = rest.pop_first() {
        s.insert(k);
        s.append(&mut rest);
    }
}

/// A sorted `Vec` is always packed.
#[cfg(all(target_arch = "wasm32", feature = "browser-maps"))]
fn pack<K: Ord, V>(_: &mut BrowserMap<K, V>) {}

/// A sorted `Vec` is always packed.
#[cfg(all(target_arch = "wasm32", feature = "browser-maps"))]
fn pack_set<K: Ord>(_: &mut BrowserSet<K>) {}

/// Every znode by path, in path order.
#[derive(Clone, Default)]
pub(crate) struct NodeMap {
    map: BrowserMap<PathKey, Arc<Node>>,
    /// Paths inserted since the map was last packed.
    loose: usize,
}

impl PartialEq for NodeMap {
    fn eq(&self, other: &Self) -> bool {
        self.map == other.map
    }
}

impl Eq for NodeMap {}

impl fmt::Debug for NodeMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.map, f)
    }
}

impl NodeMap {
    pub(crate) fn get(&self, path: &str) -> Option<&Arc<Node>> {
        self.map.get(path.as_bytes())
    }

    pub(crate) fn get_mut(&mut self, path: &str) -> Option<&mut Arc<Node>> {
        self.map.get_mut(path.as_bytes())
    }

    pub(crate) fn contains_key(&self, path: &str) -> bool {
        self.map.contains_key(path.as_bytes())
    }

    pub(crate) fn insert(&mut self, path: &str, node: Arc<Node>) -> Option<Arc<Node>> {
        let old = self.map.insert(PathKey::new(path), node);
        if old.is_none() {
            self.loose += 1;
            if pack_due(self.loose, self.map.len()) {
                pack(&mut self.map);
                self.loose = 0;
            }
        }
        old
    }

    pub(crate) fn remove(&mut self, path: &str) -> Option<Arc<Node>> {
        self.map.remove(path.as_bytes())
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn clear(&mut self) {
        self.map.clear();
        self.loose = 0;
    }

    /// Every node, in path order.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = (&str, &Arc<Node>)> + '_ {
        self.map.iter().map(|(k, n)| (k.as_str(), n))
    }

    /// The nodes from `path` on (included), in path order.
    pub(crate) fn range_from<'a>(
        &'a self,
        path: &str,
    ) -> impl Iterator<Item = (&'a str, &'a Arc<Node>)> + 'a {
        use std::ops::Bound;
        self.map
            .range::<[u8], _>((Bound::Included(path.as_bytes()), Bound::Unbounded))
            .map(|(k, n)| (k.as_str(), n))
    }
}

/// A znode's children's names, sorted; a short name is kept inside the set's B-tree
/// (no allocation of its own), as [`NodeMap`]'s paths. A node without children (most
/// of them) holds only a null pointer here: 8 bytes in the node instead of 24.
#[derive(Default)]
pub struct ChildSet(Option<Box<Children>>);

#[derive(Default)]
struct Children {
    names: BrowserSet<PathKey>,
    /// Names inserted since the set was last packed.
    loose: usize,
}

impl Clone for ChildSet {
    /// A copy with full B-tree nodes (a bulk build; a node copied from one shared with a
    /// snapshot, such as a large directory's, is packed on the way).
    fn clone(&self) -> Self {
        ChildSet(
            self.0
                .as_ref()
                .map(|c| Box::new(Children { names: c.names.iter().cloned().collect(), loose: 0 })),
        )
    }
}

impl PartialEq for ChildSet {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for ChildSet {}

impl fmt::Debug for ChildSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl ChildSet {
    /// Adds a name; false if it was there.
    pub fn insert(&mut self, name: impl AsRef<str>) -> bool {
        let c = self.0.get_or_insert_with(Box::default);
        let new = c.names.insert(PathKey::new(name.as_ref()));
        if new {
            c.loose += 1;
            if pack_due(c.loose, c.names.len()) {
                pack_set(&mut c.names);
                c.loose = 0;
            }
        }
        new
    }

    /// Removes a name; false if it was not there.
    pub fn remove(&mut self, name: &str) -> bool {
        let Some(c) = &mut self.0 else { return false };
        let was = c.names.remove(name.as_bytes());
        if c.names.is_empty() {
            self.0 = None;
        }
        was
    }

    /// Whether the name is there.
    pub fn contains(&self, name: &str) -> bool {
        self.0.as_ref().is_some_and(|c| c.names.contains(name.as_bytes()))
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |c| c.names.len())
    }

    /// None.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The names, sorted.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &str> + '_ {
        self.0.iter().flat_map(|c| c.names.iter().map(PathKey::as_str))
    }
}

impl<S: AsRef<str>> FromIterator<S> for ChildSet {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> ChildSet {
        let names: BrowserSet<PathKey> = iter.into_iter().map(|s| PathKey::new(s.as_ref())).collect();
        ChildSet((!names.is_empty()).then(|| Box::new(Children { names, loose: 0 })))
    }
}

impl std::ops::Index<&str> for NodeMap {
    type Output = Arc<Node>;
    fn index(&self, path: &str) -> &Arc<Node> {
        self.get(path).expect("no node at this path")
    }
}

impl FromIterator<(String, Arc<Node>)> for NodeMap {
    fn from_iter<I: IntoIterator<Item = (String, Arc<Node>)>>(iter: I) -> NodeMap {
        NodeMap { map: iter.into_iter().map(|(p, n)| (PathKey::new(&p), n)).collect(), loose: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_keeps_every_entry_in_order() {
        // Enough inserts to pack several times, in the order znode names come
        // (`k0`, `k1`, …: not the bytes' order), with removals in between.
        let mut m = NodeMap::default();
        let mut c = ChildSet::default();
        let mut model = std::collections::BTreeSet::new();
        for i in 0..5_000 {
            let name = format!("k{i}");
            let path = format!("/p/{name}");
            assert!(m.insert(&path, Arc::new(Node::default())).is_none());
            assert!(!pack_due(m.loose, m.len()), "packed when due");
            assert!(c.insert(&name));
            assert!(!c.insert(&name));
            model.insert(name);
            if i % 7 == 3 {
                let gone = format!("k{}", i / 2);
                assert_eq!(m.remove(&format!("/p/{gone}")).is_some(), model.contains(&gone));
                assert_eq!(c.remove(&gone), model.remove(&gone));
            }
        }
        let names: Vec<&str> = model.iter().map(String::as_str).collect();
        assert_eq!(c.iter().collect::<Vec<_>>(), names);
        assert_eq!(c.iter().next_back(), names.last().copied());
        assert_eq!(c.len(), names.len());
        let paths: Vec<String> = names.iter().map(|n| format!("/p/{n}")).collect();
        assert_eq!(m.iter().map(|(p, _)| p.to_owned()).collect::<Vec<_>>(), paths);
        assert!(names.iter().all(|n| c.contains(n) && m.contains_key(&format!("/p/{n}"))));
        assert_eq!(c.clone(), c);
        assert_eq!(c.clone().iter().collect::<Vec<_>>(), names);
        let mut copy = m.clone();
        assert_eq!(copy, m);
        copy.insert("/q", Arc::new(Node::default()));
        assert_ne!(copy, m);
    }

    #[test]
    fn a_child_set_emptied_holds_nothing() {
        let mut c: ChildSet = ["b", "a"].into_iter().collect();
        assert_eq!(format!("{c:?}"), r#"{"a", "b"}"#);
        assert!(!c.remove("x"));
        assert!(c.remove("a") && c.remove("b"));
        assert!(c.is_empty() && c.0.is_none());
        assert_eq!(c, ChildSet::default());
        assert_eq!(std::mem::size_of::<ChildSet>(), 8);
        assert!(!c.remove("a") && !c.contains("a") && c.iter().next().is_none());
    }

    #[test]
    fn keys_order_and_find_as_their_paths_inline_or_not() {
        let long = "/a/".to_owned() + &"x".repeat(40);
        let paths = ["/", "/a", "/a/b", long.as_str(), "/a0", "/é", "/zookeeper", "/zookeeper/config"];
        let mut m = NodeMap::default();
        for p in paths.iter().rev() {
            m.insert(p, Arc::new(Node::default()));
        }
        let mut sorted = paths.to_vec();
        sorted.sort();
        assert_eq!(m.iter().map(|(p, _)| p).collect::<Vec<_>>(), sorted);
        for p in paths {
            assert!(m.contains_key(p), "{p}");
        }
        assert!(!m.contains_key("/a/b/c"));
        assert_eq!(m.range_from("/a/c").map(|(p, _)| p).next(), Some(long.as_str()));
        assert_eq!(std::mem::size_of::<PathKey>(), std::mem::size_of::<String>());
        assert_eq!(
            format!("{m:?}"),
            format!(
                "{:?}",
                sorted.iter().map(|p| (*p, Node::default())).collect::<std::collections::BTreeMap<_, _>>()
            )
        );
    }
}
