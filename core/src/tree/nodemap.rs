//! The data tree's path → node map: a B-tree whose keys keep a short path inside
//! the B-tree's own node (most znode paths are short), so a lookup compares bytes
//! already in cache instead of following a pointer to a separate allocation per
//! key it passes, and a short path costs no allocation of its own. Ordered as the
//! paths' bytes (the order of `str`, so iteration is in path order as before).
//! In the playground's wasm build both are sorted `Vec`s instead (`vecmap::BrowserMap`,
//! `BrowserSet`: the page's trees are small, and each B-tree type costs about 10 KB of
//! wasm); the order, and so every trace, is the same.

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

/// Every znode by path, in path order.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct NodeMap(BrowserMap<PathKey, Arc<Node>>);

impl fmt::Debug for NodeMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl NodeMap {
    pub(crate) fn get(&self, path: &str) -> Option<&Arc<Node>> {
        self.0.get(path.as_bytes())
    }

    pub(crate) fn get_mut(&mut self, path: &str) -> Option<&mut Arc<Node>> {
        self.0.get_mut(path.as_bytes())
    }

    pub(crate) fn contains_key(&self, path: &str) -> bool {
        self.0.contains_key(path.as_bytes())
    }

    pub(crate) fn insert(&mut self, path: &str, node: Arc<Node>) -> Option<Arc<Node>> {
        self.0.insert(PathKey::new(path), node)
    }

    pub(crate) fn remove(&mut self, path: &str) -> Option<Arc<Node>> {
        self.0.remove(path.as_bytes())
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    /// Every node, in path order.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = (&str, &Arc<Node>)> + '_ {
        self.0.iter().map(|(k, n)| (k.as_str(), n))
    }

    /// The nodes from `path` on (included), in path order.
    pub(crate) fn range_from<'a>(
        &'a self,
        path: &str,
    ) -> impl Iterator<Item = (&'a str, &'a Arc<Node>)> + 'a {
        use std::ops::Bound;
        self.0
            .range::<[u8], _>((Bound::Included(path.as_bytes()), Bound::Unbounded))
            .map(|(k, n)| (k.as_str(), n))
    }
}

/// A znode's children's names, sorted; a short name is kept inside the set's B-tree
/// (no allocation of its own), as [`NodeMap`]'s paths.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ChildSet(BrowserSet<PathKey>);

impl fmt::Debug for ChildSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl ChildSet {
    /// Adds a name; false if it was there.
    pub fn insert(&mut self, name: impl AsRef<str>) -> bool {
        self.0.insert(PathKey::new(name.as_ref()))
    }

    /// Removes a name; false if it was not there.
    pub fn remove(&mut self, name: &str) -> bool {
        self.0.remove(name.as_bytes())
    }

    /// Whether the name is there.
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains(name.as_bytes())
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// None.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The names, sorted.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &str> + '_ {
        self.0.iter().map(PathKey::as_str)
    }
}

impl<S: AsRef<str>> FromIterator<S> for ChildSet {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> ChildSet {
        ChildSet(iter.into_iter().map(|s| PathKey::new(s.as_ref())).collect())
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
        NodeMap(iter.into_iter().map(|(p, n)| (PathKey::new(&p), n)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
