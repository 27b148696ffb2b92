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
    /// (`now - mtime > ttl`). In path order.
    pub fn cleanup_requests(&self, now: i64, max_never_used_ms: i64) -> Vec<WriteRequest> {
        let mut out = Vec::new();
        for p in &self.containers {
            let Some(n) = self.node(p) else { continue };
            if !n.children.is_empty() {
                continue;
            }
            let elapsed = now.saturating_sub(n.stat.mtime);
            if n.stat.cversion > 0 || (max_never_used_ms != 0 && elapsed > max_never_used_ms) {
                out.push(WriteRequest::DeleteContainer { path: p.clone() });
            }
        }
        for p in &self.ttls {
            let Some(n) = self.node(p) else { continue };
            if !n.children.is_empty() {
                continue;
            }
            if let NodeKind::Ttl(ttl) = n.kind() {
                if ttl != 0 && now.saturating_sub(n.stat.mtime) > ttl {
                    out.push(WriteRequest::DeleteContainer { path: p.clone() });
                }
            }
        }
        out.sort_by(|a, b| match (a, b) {
            (WriteRequest::DeleteContainer { path: x }, WriteRequest::DeleteContainer { path: y }) => {
                x.cmp(y)
            }
            _ => std::cmp::Ordering::Equal,
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::super::*;

    #[test]
    fn container_is_deleted_once_its_last_child_goes() {
        let mut s = Standalone::new();
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
        let mut s = Standalone::new();
        s.create("/t", CreateMode::PersistentWithTtl).unwrap(); // ttl 100 ms at now
        assert!(s.tree.cleanup_requests(s.now + 100, 0).is_empty(), "not more than the ttl yet");
        assert_eq!(s.tree.cleanup_requests(s.now + 101, 0).len(), 1);
    }

    #[test]
    fn delete_container_refuses_ephemerals_and_non_empty_nodes() {
        let mut s = Standalone::new();
        s.create("/e", CreateMode::Ephemeral).unwrap();
        let r = s.write(crate::ids::SessionId(0), WriteRequest::DeleteContainer { path: "/e".into() });
        assert_eq!(r.result.unwrap_err().error, ZkError::BadVersion);
        s.create("/p", CreateMode::Persistent).unwrap();
        s.create("/p/c", CreateMode::Persistent).unwrap();
        let r = s.write(crate::ids::SessionId(0), WriteRequest::DeleteContainer { path: "/p".into() });
        assert_eq!(r.result.unwrap_err().error, ZkError::NotEmpty);
    }
}
