//! The server's own deletions: empty containers and expired TTL nodes
//! (ZooKeeper's `ContainerManager`). They are found on a replica's tree at a time the
//! driver chooses (its check interval, in ticks) and go through ZAB like any write, as
//! [`WriteRequest::DeleteContainer`] requests prepared by the leader.

use super::datatree::DataTree;
use super::node::NodeKind;
use super::request::WriteRequest;

impl DataTree {
    /// The deletions to propose at `now` (ms since the epoch, the leader's clock):
    /// containers without children that once had one (stored cversion > 0) or, if
    /// `max_never_used_ms` is not 0, that never had one for longer than that; TTL nodes
    /// without children whose data has not changed for longer than their TTL
    /// (`now - mtime > ttl`). In the order ZooKeeper's `ContainerManager` proposes them
    /// (its candidate `HashSet`'s), which decides their zxids.
    pub fn cleanup_requests(&self, now: i64, max_never_used_ms: i64) -> Vec<WriteRequest> {
        let mut candidates = Vec::new();
        for p in self.in_creation_hash_order(&self.containers) {
            let Some(n) = self.node(&p) else { continue };
            if !n.children.is_empty() {
                continue;
            }
            let elapsed = now.saturating_sub(n.stat.mtime);
            if n.stat.cversion > 0 || (max_never_used_ms != 0 && elapsed > max_never_used_ms) {
                candidates.push(p);
            }
        }
        for p in self.in_creation_hash_order(&self.ttls) {
            let Some(n) = self.node(&p) else { continue };
            if !n.children.is_empty() {
                continue;
            }
            if let NodeKind::Ttl(ttl) = n.kind() {
                if ttl != 0 && now.saturating_sub(n.stat.mtime) > ttl {
                    candidates.push(p);
                }
            }
        }
        let n = candidates.len();
        super::java::grown_set_order(candidates, 16, n)
            .into_iter()
            .map(|path| WriteRequest::DeleteContainer { path })
            .collect()
    }

    /// A ZooKeeper concurrent key set's iteration order (16 bins to start with) for
    /// paths added in creation (czxid) order.
    fn in_creation_hash_order(&self, set: &crate::vecmap::StringSet) -> Vec<String> {
        let mut by_creation: Vec<(crate::ids::Zxid, &String)> =
            set.iter().map(|p| (self.node(p).map_or(crate::ids::Zxid::ZERO, |n| n.stat.czxid), p)).collect();
        by_creation.sort();
        let n = by_creation.len();
        super::java::grown_set_order(by_creation.into_iter().map(|(_, p)| p.clone()).collect(), 16, n)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::super::*;

    #[test]
    fn container_is_deleted_once_its_last_child_goes() {
        let mut s = TestServer::new();
        s.create("/c", CreateMode::Container).unwrap();
        assert!(s.tree.cleanup_requests(s.now + 10_000, 0).is_empty(), "never had a child");
        s.create("/c/x", CreateMode::Persistent).unwrap();
        assert!(s.tree.cleanup_requests(s.now, 0).is_empty(), "has a child");
        s.write(A, WriteRequest::Delete { path: "/c/x".into(), version: -1 }).result.unwrap();
        let reqs = s.tree.cleanup_requests(s.now, 0);
        assert_eq!(reqs, vec![WriteRequest::DeleteContainer { path: "/c".into() }]);
        let r = s.write(crate::ids::SessionId(0), reqs[0].clone());
        assert_eq!(r.result, Ok(OpResult::Deleted));
        assert!(s.tree.node("/c").is_none());
    }

    #[test]
    fn ttl_node_expires_after_its_ttl_since_mtime() {
        let mut s = TestServer::new();
        s.create("/t", CreateMode::PersistentWithTtl).unwrap(); // ttl 100 ms at now
        assert!(s.tree.cleanup_requests(s.now + 100, 0).is_empty(), "not more than the ttl yet");
        assert_eq!(s.tree.cleanup_requests(s.now + 101, 0).len(), 1);
    }

    #[test]
    fn delete_container_refuses_ephemerals_and_non_empty_nodes() {
        let mut s = TestServer::new();
        s.create("/e", CreateMode::Ephemeral).unwrap();
        let r = s.write(crate::ids::SessionId(0), WriteRequest::DeleteContainer { path: "/e".into() });
        assert_eq!(r.result.unwrap_err().error, ZkError::BadVersion);
        s.create("/p", CreateMode::Persistent).unwrap();
        s.create("/p/c", CreateMode::Persistent).unwrap();
        let r = s.write(crate::ids::SessionId(0), WriteRequest::DeleteContainer { path: "/p".into() });
        assert_eq!(r.result.unwrap_err().error, ZkError::NotEmpty);
    }
}
