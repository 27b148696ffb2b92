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

use crate::tree::{DataTree, MultiOp, Txn, TxnOp, WriteRequest, ZkError};
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
        | WriteRequest::Import(_)
        | WriteRequest::GuardedImport { .. } => Vec::new(),
    }
}

/// Whether `path` is one of the controller's own znodes: the fence marker and the
/// migration record (`/zookeeper/migration…`). Only the controller's import changes
/// them; a client write to them is refused as ZooKeeper refuses `/zookeeper/config`
/// (BADARGUMENTS to delete, NOAUTH to change), so no client can lift a fence or take a
/// migration over.
pub fn is_controller_path(path: &str) -> bool {
    path.starts_with(super::record::RECORD_PATH)
}

/// The error a client write gets from the migration machinery, if any: the
/// controller's own znodes refuse every client write (see [`is_controller_path`]); a
/// fenced subtree refuses writes with NOTREADONLY. Import requests are never refused
/// (they are the controller's). The one check the simulator's leader and zoolab's
/// server both apply.
pub fn refusal(tree: &DataTree, outstanding: &[&Txn], write: &WriteRequest) -> Option<ZkError> {
    let paths = written_paths(write);
    if paths.is_empty() {
        return None;
    }
    // A multi's `check` reads: a controller guards its own writes with a check on its
    // record, and a client may check it too.
    let changes_controller_path = match write {
        WriteRequest::Multi(ops) => ops.iter().any(|op| match op {
            MultiOp::Check { .. } => false,
            MultiOp::Create(c) => is_controller_path(&c.path),
            MultiOp::Delete { path, .. } | MultiOp::SetData { path, .. } => is_controller_path(path),
        }),
        _ => paths.iter().any(|p| is_controller_path(p)),
    };
    if changes_controller_path {
        return Some(match write {
            WriteRequest::Delete { .. } => ZkError::BadArguments,
            _ => ZkError::NoAuth,
        });
    }
    let scope = fenced_scope(tree, outstanding)?;
    paths.iter().any(|p| in_scope(&scope, p)).then_some(ZkError::NotReadOnly)
}

/// Whether the fence refuses this client request ([`refusal`] says with what).
pub fn refuses(tree: &DataTree, outstanding: &[&Txn], req: &ZkRequest) -> bool {
    refusal(tree, outstanding, &req.request).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Zxid;
    use crate::tree::{Acl, Create, CreateMode, Import, ImportedNode, StatPersisted};

    fn fenced_on(scope: &str) -> DataTree {
        let mut t = DataTree::new();
        let node = ImportedNode {
            path: FENCE_PATH.into(),
            data: scope.as_bytes().into(),
            acl: vec![Acl::new(crate::tree::Perms(1), "world", "anyone")],
            stat: StatPersisted::created(Zxid(1), 0, 0),
        };
        let _ = t.import_node(FENCE_PATH, node.data.clone(), &node.acl, node.stat);
        t
    }

    #[test]
    fn client_writes_to_the_fence_and_the_record_are_refused_even_unfenced() {
        let t = DataTree::new();
        let del = |p: &str| WriteRequest::Delete { path: p.into(), version: -1 };
        let set = |p: &str| WriteRequest::SetData { path: p.into(), data: Default::default(), version: -1 };
        assert_eq!(refusal(&t, &[], &del(FENCE_PATH)), Some(ZkError::BadArguments));
        assert_eq!(refusal(&t, &[], &set(super::super::record::RECORD_PATH)), Some(ZkError::NoAuth));
        let create = WriteRequest::Create(Create {
            path: super::super::record::RECORD_PATH.into(),
            data: Default::default(),
            acl: Acl::open_unsafe(),
            mode: CreateMode::Persistent,
            ttl: None,
        });
        assert_eq!(refusal(&t, &[], &create), Some(ZkError::NoAuth));
        assert_eq!(refusal(&t, &[], &set("/app")), None, "other paths are not refused");
        assert_eq!(refusal(&t, &[], &WriteRequest::Import(Import::default())), None);
        // A multi that only checks the record (a controller's guard) is not refused; one
        // that also changes it is.
        let record = super::super::record::RECORD_PATH;
        let check = MultiOp::Check { path: record.into(), version: 3 };
        let guarded = |op: MultiOp| WriteRequest::Multi(vec![check.clone(), op]);
        let set_app = MultiOp::SetData { path: "/app".into(), data: Default::default(), version: -1 };
        assert_eq!(refusal(&t, &[], &guarded(set_app)), None);
        let set_record = MultiOp::SetData { path: record.into(), data: Default::default(), version: -1 };
        assert_eq!(refusal(&t, &[], &guarded(set_record)), Some(ZkError::NoAuth));
    }

    #[test]
    fn the_fence_refuses_its_scope_only() {
        let t = fenced_on("/app");
        let set = |p: &str| WriteRequest::SetData { path: p.into(), data: Default::default(), version: -1 };
        assert_eq!(refusal(&t, &[], &set("/app/x")), Some(ZkError::NotReadOnly));
        assert_eq!(refusal(&t, &[], &set("/other")), None);
        assert_eq!(refusal(&t, &[], &set(FENCE_PATH)), Some(ZkError::NoAuth));
    }
}
