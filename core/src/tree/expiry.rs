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
