//! The write fence: while a cluster holds the fence marker, its leader refuses every
//! client write in the marked subtree with NOTREADONLY (reads, pings and session
//! traffic are still served). The marker is a znode the controller imports through the
//! cluster's own ZAB ([`FENCE_PATH`], its data the fenced subtree), so the fence has a
//! zxid, survives leader changes, and every request prepared after it is refused —
//! including requests pipelined behind the marker's own (still uncommitted) proposal.
//!
//! zoolab models the refusal at the leader's prepare step: the refused write still
//! takes a zxid as an error transaction (like ZooKeeper's other prepare-time errors);
//! ZooKeeper's read-only mode refuses before that. The client sees the same error.

use crate::tree::{DataTree, MultiOp, Txn, TxnOp, WriteRequest};
use crate::zab::zkdb::ZkRequest;

/// Where the marker lives (under `/zookeeper`, outside every migrated subtree and
/// outside ZooKeeper's digest).
pub const FENCE_PATH: &str = "/zookeeper/migration-fence";

/// Whether `path` lies in the subtree `scope` (`/` covers all but `/zookeeper`).
pub fn in_scope(scope: &str, path: &str) -> bool {
    super::verify::relative(scope, path).is_some()
}

/// The subtree a tree is fenced on, looking at the committed tree and then at the
/// proposals not yet committed (the last one touching the marker wins).
pub fn fenced_scope(tree: &DataTree, outstanding: &[&Txn]) -> Option<String> {
    let mut scope = tree.node(FENCE_PATH).map(|n| String::from_utf8_lossy(&n.data).into_owned());
    for t in outstanding {
        if let TxnOp::Import(i) = &t.op {
            if let Some(n) = i.nodes.iter().find(|n| n.path == FENCE_PATH) {
                scope = Some(String::from_utf8_lossy(&n.data).into_owned());
            } else if i.deletes.iter().any(|p| p == FENCE_PATH) {
                // An unfence pending commit still fences: lifting it early could let a
                // write through before the other side is fenced.
            }
        }
    }
    scope
}

/// The paths a write touches (empty for session traffic and the server's own work).
pub fn written_paths(req: &WriteRequest) -> Vec<&str> {
    match req {
        WriteRequest::Create(c) => vec![c.path.as_str()],
        WriteRequest::Delete { path, .. }
        | WriteRequest::SetData { path, .. }
        | WriteRequest::SetAcl { path, .. } => vec![path.as_str()],
        WriteRequest::Multi(ops) => ops
            .iter()
            .map(|op| match op {
                MultiOp::Create(c) => c.path.as_str(),
                MultiOp::Delete { path, .. }
                | MultiOp::SetData { path, .. }
                | MultiOp::Check { path, .. } => path.as_str(),
            })
            .collect(),
        WriteRequest::CreateSession { .. }
        | WriteRequest::CloseSession
        | WriteRequest::Reconfig { .. }
        | WriteRequest::Invalid(_)
        | WriteRequest::DeleteContainer { .. }
        | WriteRequest::Import(_) => Vec::new(),
    }
}

/// Whether the fence refuses this client request.
pub fn refuses(tree: &DataTree, outstanding: &[&Txn], req: &ZkRequest) -> bool {
    let paths = written_paths(&req.request);
    if paths.is_empty() {
        return false;
    }
    match fenced_scope(tree, outstanding) {
        Some(scope) => paths.iter().any(|p| in_scope(&scope, p)),
        None => false,
    }
}
