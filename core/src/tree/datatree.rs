//! The replicated state: every znode, the ACL table, the sessions and the indexes that
//! follow from nodes (ephemerals per session, containers, TTL nodes), plus the digest,
//! kept up to date with every change.
//!
//! Only [`DataTree::apply`](super::apply) (a committed transaction), [`DataTree::import_node`]
//! (migration) and [`super::snapshot`] change it; reads never do.

use super::acl::{Acl, AclTable};
use super::data::Data;
use super::digest;
use super::error::ZkError;
use super::node::{Node, NodeKind};
use super::nodemap::NodeMap;
use super::path::{self, CONFIG, QUOTA, ROOT, ZOOKEEPER};
use super::stat::{Stat, StatPersisted};
use super::watch::{Trigger, TriggerKind};
use crate::ids::{SessionId, Zxid};
use crate::vecmap::StringSet;
use crate::vecmap::VecMap;
use std::sync::Arc;

/// The data tree of one replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataTree {
    /// Shared (`Arc`) so that a copy of the tree (a snapshot to encode elsewhere, a
    /// simulator checkpoint) costs a pointer per node; a change copies a node still
    /// shared with such a copy first ([`Arc::make_mut`]).
    pub(crate) nodes: NodeMap,
    pub(crate) acls: AclTable,
    pub(crate) sessions: VecMap<SessionId, i32>,
    pub(crate) ephemerals: VecMap<SessionId, StringSet>,
    pub(crate) containers: StringSet,
    pub(crate) ttls: StringSet,
    /// Paths with a quota (a `zookeeper_limits` node under `/zookeeper/quota`).
    pub(crate) quotas: StringSet,
    pub(crate) digest: u64,
    pub(crate) last_zxid: Zxid,
}

/// For a `zookeeper_limits` node under `/zookeeper/quota`, the path it limits.
fn quota_target(path: &str) -> Option<&str> {
    if path::name(path) != super::quota::LIMIT_NODE {
        return None;
    }
    path::parent(path)?.strip_prefix(QUOTA)
}

impl Default for DataTree {
    fn default() -> Self {
        DataTree::new()
    }
}

impl DataTree {
    /// A fresh tree as a new ZooKeeper server has it: `/`, `/zookeeper`,
    /// `/zookeeper/quota` and `/zookeeper/config` (world-readable only, aversion -1),
    /// all with zero stats; the root's client cversion is thus -1.
    pub fn new() -> DataTree {
        let mut t = DataTree {
            nodes: NodeMap::default(),
            acls: AclTable::default(),
            sessions: VecMap::new(),
            ephemerals: VecMap::new(),
            containers: StringSet::new(),
            ttls: StringSet::new(),
            quotas: StringSet::new(),
            digest: 0,
            last_zxid: Zxid::ZERO,
        };
        let empty = |children: &[&str]| Node {
            data: Data::empty(),
            acl: AclTable::OPEN,
            stat: StatPersisted::default(),
            children: children.iter().map(|c| (*c).to_owned()).collect(),
        };
        t.insert(ROOT, empty(&["zookeeper"]));
        t.insert(ZOOKEEPER, empty(&["config", "quota"]));
        t.insert(QUOTA, empty(&[]));
        let mut config = empty(&[]);
        config.acl = t.acls.intern(&Acl::read_unsafe());
        config.stat.aversion = -1;
        t.insert(CONFIG, config);
        t
    }

    // --- low-level changes, each keeping the digest exact ---------------------------------

    pub(crate) fn insert(&mut self, path: &str, node: Node) {
        self.account(path, &node);
        self.nodes.insert(path, Arc::new(node));
    }

    /// Adds a node to the digest and the type indexes (not to the map).
    pub(crate) fn account(&mut self, path: &str, node: &Node) {
        self.digest = self.digest.wrapping_add(digest::node_digest(path, &node.data, &node.stat));
        match node.kind() {
            NodeKind::Container => {
                self.containers.insert(path.to_owned());
            }
            NodeKind::Ttl(_) => {
                self.ttls.insert(path.to_owned());
            }
            NodeKind::Ephemeral(s) => {
                self.ephemerals.entry(s).or_default().insert(path.to_owned());
            }
            NodeKind::Persistent => {}
        }
        if let Some(target) = quota_target(path) {
            self.quotas.insert(target.to_owned());
        }
    }

    fn remove(&mut self, path: &str) -> Option<Node> {
        let node = self.nodes.remove(path)?;
        self.digest = self.digest.wrapping_sub(digest::node_digest(path, &node.data, &node.stat));
        match node.kind() {
            NodeKind::Container => {
                self.containers.remove(path);
            }
            NodeKind::Ttl(_) => {
                self.ttls.remove(path);
            }
            NodeKind::Ephemeral(s) => {
                if let Some(set) = self.ephemerals.get_mut(&s) {
                    set.remove(path);
                    if set.is_empty() {
                        self.ephemerals.remove(&s);
                    }
                }
            }
            NodeKind::Persistent => {}
        }
        self.acls.release(node.acl);
        if let Some(target) = quota_target(path) {
            self.quotas.remove(target);
        }
        Some(Arc::try_unwrap(node).unwrap_or_else(|shared| (*shared).clone()))
    }

    /// Changes a node in place, keeping the digest (`preChange`/`postChange`).
    fn modify<R>(&mut self, path: &str, f: impl FnOnce(&mut Node) -> R) -> Option<R> {
        let node = Arc::make_mut(self.nodes.get_mut(path)?);
        let before = digest::node_digest(path, &node.data, &node.stat);
        let r = f(node);
        let after = digest::node_digest(path, &node.data, &node.stat);
        self.digest = self.digest.wrapping_sub(before).wrapping_add(after);
        Some(r)
    }

    /// `DataTree.createNode`. `parent_cversion` is the parent's new stored cversion
    /// (-1: one more than now); it and pzxid only move forward.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn create_node(
        &mut self,
        path: &str,
        data: &Data,
        acl: &[Acl],
        owner: i64,
        parent_cversion: i32,
        zxid: Zxid,
        time: i64,
        triggers: &mut Vec<Trigger>,
    ) -> Result<Stat, ZkError> {
        let parent = path::parent(path).ok_or(ZkError::NoNode)?.to_owned();
        if !self.nodes.contains_key(&parent) {
            return Err(ZkError::NoNode);
        }
        if self.nodes.contains_key(path) {
            return Err(ZkError::NodeExists);
        }
        let name = path::name(path).to_owned();
        self.modify(&parent, |p| {
            let cv = if parent_cversion == -1 { p.stat.cversion.wrapping_add(1) } else { parent_cversion };
            if cv > p.stat.cversion {
                p.stat.cversion = cv;
                p.stat.pzxid = zxid;
            }
            p.children.insert(name);
        });
        let parent_acl = self.acl_of(&self.nodes[&parent]);
        let acl = self.acls.intern(acl);
        let node_acl = self.acls.get(acl);
        let node = Node {
            data: data.clone(),
            acl,
            stat: StatPersisted::created(zxid, time, owner),
            children: Default::default(),
        };
        let stat = node.client_stat();
        self.insert(path, node);
        self.quota_created(path, data.len());
        triggers.push(Trigger { kind: TriggerKind::Created, path: path.to_owned(), acl: node_acl });
        triggers.push(Trigger { kind: TriggerKind::ChildrenChanged, path: parent, acl: parent_acl });
        Ok(stat)
    }

    /// `DataTree.deleteNode`: the parent's pzxid moves (forward only) even when the child
    /// is already gone.
    pub(crate) fn delete_node(
        &mut self,
        path: &str,
        zxid: Zxid,
        triggers: &mut Vec<Trigger>,
    ) -> Result<(), ZkError> {
        let parent = path::parent(path).ok_or(ZkError::NoNode)?.to_owned();
        let name = path::name(path).to_owned();
        self.modify(&parent, |p| {
            p.children.remove(&name);
            if zxid > p.stat.pzxid {
                p.stat.pzxid = zxid;
            }
        })
        .ok_or(ZkError::NoNode)?;
        let acl = self.nodes.get(path).map(|n| self.acl_of(n)).ok_or(ZkError::NoNode)?;
        let gone = self.remove(path).expect("checked above");
        self.quota_deleted(path, gone.data.len());
        let parent_acl = self.acl_of(&self.nodes[&parent]);
        triggers.push(Trigger { kind: TriggerKind::Deleted, path: path.to_owned(), acl });
        triggers.push(Trigger { kind: TriggerKind::ChildrenChanged, path: parent, acl: parent_acl });
        Ok(())
    }

    /// `DataTree.setData`.
    pub(crate) fn set_data(
        &mut self,
        path: &str,
        data: &Data,
        version: i32,
        zxid: Zxid,
        time: i64,
        triggers: &mut Vec<Trigger>,
    ) -> Result<Stat, ZkError> {
        // One lookup (this is the hot path of a write load): `modify`'s digest
        // bookkeeping, inline.
        let shared = self.nodes.get_mut(path).ok_or(ZkError::NoNode)?;
        let acl = self.acls.get(shared.acl);
        let before = shared.data.len() as i64;
        let digest_before = digest::node_digest(path, &shared.data, &shared.stat);
        let n = match Arc::get_mut(shared) {
            Some(n) => n,
            None => {
                // Shared with a copy of the tree: a node of our own, without copying
                // the data about to be replaced.
                let own = Node {
                    data: Data::NULL,
                    acl: shared.acl,
                    stat: shared.stat,
                    children: shared.children.clone(),
                };
                *shared = Arc::new(own);
                Arc::get_mut(shared).expect("just made")
            }
        };
        n.data = data.clone();
        n.stat.mtime = time;
        n.stat.mzxid = zxid;
        n.stat.version = version;
        let stat = n.client_stat();
        let digest_after = digest::node_digest(path, &n.data, &n.stat);
        self.digest = self.digest.wrapping_sub(digest_before).wrapping_add(digest_after);
        self.quota_data_set(path, data.len() as i64 - before);
        triggers.push(Trigger { kind: TriggerKind::DataChanged, path: path.to_owned(), acl });
        Ok(stat)
    }

    /// `DataTree.setACL`.
    pub(crate) fn set_acl(&mut self, path: &str, acl: &[Acl], version: i32) -> Result<Stat, ZkError> {
        let old = self.nodes.get(path).ok_or(ZkError::NoNode)?.acl;
        self.acls.release(old);
        let index = self.acls.intern(acl);
        Ok(self
            .modify(path, |n| {
                n.acl = index;
                n.stat.aversion = version;
                n.client_stat()
            })
            .expect("checked above"))
    }

    // --- queries ----------------------------------------------------------------------------

    /// The node at a path; `""` is the root too (ZooKeeper keeps the root under both
    /// `""` and `"/"`, so reads of `""` see the root).
    pub fn node(&self, path: &str) -> Option<&Node> {
        self.nodes.get(if path.is_empty() { ROOT } else { path }).map(|n| &**n)
    }

    /// A node's children in the order ZooKeeper lists them (its children `HashSet`'s
    /// order: created with 8 buckets, grown with the most children it had — estimated as
    /// the children ever created — insertion order taken from the children's czxid).
    pub fn children_in_server_order(&self, path: &str) -> Vec<String> {
        let Some(n) = self.node(path) else { return Vec::new() };
        let dir = if path.is_empty() { ROOT } else { path };
        let mut kids: Vec<(Zxid, &str)> = n
            .children
            .iter()
            .map(|c| (self.nodes.get(&path::join(dir, c)).map_or(Zxid::ZERO, |k| k.stat.czxid), c))
            .collect();
        kids.sort();
        let max = usize::try_from(n.stat.cversion).unwrap_or(0);
        super::java::grown_set_order(kids.into_iter().map(|(_, c)| c.to_owned()).collect(), 8, max)
    }

    /// Every node, in path order.
    pub fn nodes(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.nodes.iter().map(|(p, n)| (p, &**n))
    }

    /// How many nodes (the root included).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// A node's ACL (shared with every node that has the same list).
    pub fn acl_of(&self, node: &Node) -> Arc<[Acl]> {
        self.acls.get(node.acl)
    }

    /// The ACL table (index → list), for snapshots and inspection.
    pub fn acl_table(&self) -> &AclTable {
        &self.acls
    }

    /// The tree digest, as ZooKeeper's `DataTree.getTreeDigest` (compare with `hash`).
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// The digest recomputed from scratch (for checks; [`DataTree::digest`] is incremental).
    pub fn recompute_digest(&self) -> u64 {
        self.nodes.iter().fold(0u64, |d, (p, n)| d.wrapping_add(digest::node_digest(p, &n.data, &n.stat)))
    }

    /// The zxid of the last transaction applied.
    pub fn last_zxid(&self) -> Zxid {
        self.last_zxid
    }

    /// The live sessions and their timeouts (ms).
    pub fn sessions(&self) -> &VecMap<SessionId, i32> {
        &self.sessions
    }

    /// A session's ephemeral nodes.
    pub fn ephemerals_of(&self, session: SessionId) -> impl Iterator<Item = &str> {
        self.ephemerals.get(&session).into_iter().flatten().map(String::as_str)
    }

    /// Paths of every container.
    pub fn containers(&self) -> &StringSet {
        &self.containers
    }

    /// Paths of every TTL node.
    pub fn ttls(&self) -> &StringSet {
        &self.ttls
    }

    /// Approximate memory the tree's node data holds (paths + data), in bytes.
    pub fn approximate_data_size(&self) -> usize {
        self.nodes.iter().map(|(p, n)| p.len() + n.data.len()).sum()
    }

    // --- migration --------------------------------------------------------------------------

    /// Imports one node exactly as given (data, ACL, stored stat — whose `cversion` is
    /// the count of children ever created, see [`super::stat`] — and node type through
    /// its raw ephemeral owner), for migration. A new node is linked to its parent, which
    /// must exist; an existing one (e.g. `/` or `/zookeeper`) keeps its children and
    /// takes the given data, ACL and stat. Parents' stats are left as they are: import
    /// parents with their final stats; children are linked without touching them.
    pub fn import_node(
        &mut self,
        path: &str,
        data: impl Into<Data>,
        acl: &[Acl],
        stat: StatPersisted,
    ) -> Result<(), ZkError> {
        path::validate(path)?;
        let data = data.into();
        if let Some(mut node) = self.remove(path) {
            // `remove` took it out of the digest, the type indexes and the ACL table.
            node.acl = self.acls.intern(acl);
            node.data = data;
            node.stat = stat;
            self.insert(path, node);
            return Ok(());
        }
        let parent = path::parent(path).ok_or(ZkError::BadArguments)?.to_owned();
        let name = path::name(path).to_owned();
        // Linking a child changes no stat field, so the digest is unchanged.
        Arc::make_mut(self.nodes.get_mut(&parent).ok_or(ZkError::NoNode)?).children.insert(name);
        let acl = self.acls.intern(acl);
        self.insert(path, Node { data, acl, stat, children: Default::default() });
        Ok(())
    }

    /// Removes a node and everything under it (a migration tombstone), leaving its
    /// parent's stat as it is (the import brings the parent's own). Absent: nothing.
    pub fn unimport_node(&mut self, path: &str) {
        if path == ROOT || path == ZOOKEEPER || !self.nodes.contains_key(path) {
            return;
        }
        let under: Vec<String> = self
            .nodes
            .range_from(path)
            .map(|(p, _)| p)
            .take_while(|p| p.starts_with(path))
            .filter(|p| p.len() == path.len() || p.as_bytes()[path.len()] == b'/')
            .map(str::to_owned)
            .collect();
        for p in under.iter().rev() {
            self.remove(p);
        }
        if let Some(parent) = path::parent(path) {
            if let Some(n) = self.nodes.get_mut(parent) {
                Arc::make_mut(n).children.remove(path::name(path));
            }
        }
    }

    /// Registers a session (migration; normally a `createSession` transaction does).
    pub fn import_session(&mut self, session: SessionId, timeout_ms: i32) {
        self.sessions.insert(session, timeout_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_tree_has_the_zookeeper_subtree() {
        let t = DataTree::new();
        let paths: Vec<&str> = t.nodes().map(|(p, _)| p).collect();
        assert_eq!(paths, vec!["/", "/zookeeper", "/zookeeper/config", "/zookeeper/quota"]);
        let root = t.node("/").unwrap().client_stat();
        assert_eq!((root.cversion, root.num_children), (-1, 1));
        let config = t.node(CONFIG).unwrap();
        assert_eq!(&*t.acl_of(config), Acl::read_unsafe().as_slice());
        assert_eq!(config.client_stat().aversion, -1);
        assert_eq!(t.digest(), t.recompute_digest());
    }

    #[test]
    fn import_keeps_exact_stats_types_and_acl_references() {
        let mut t = DataTree::new();
        let stat = StatPersisted {
            czxid: Zxid(7),
            cversion: 5,
            ephemeral_owner: NodeKind::Container.owner(),
            ..StatPersisted::default()
        };
        t.import_node("/c", b"x".to_vec(), &Acl::read_unsafe(), stat).unwrap();
        assert_eq!(t.acl_table().len(), 1, "shares /zookeeper/config's entry");
        assert!(t.containers().contains("/c"));
        assert_eq!(t.node("/c").unwrap().stat, stat);
        let plain = StatPersisted { czxid: Zxid(7), ..StatPersisted::default() };
        t.import_node("/c", b"y".to_vec(), &Acl::open_unsafe(), plain).unwrap();
        assert!(t.containers().is_empty());
        assert_eq!(t.acl_table().len(), 2);
        assert_eq!(t.digest(), t.recompute_digest());
        assert_eq!(t.import_node("/x/y", vec![], &Acl::open_unsafe(), plain), Err(ZkError::NoNode));
    }
}
