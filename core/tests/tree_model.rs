//! Property tests of the tree against a deliberately naive model.
//!
//! The model is a map path → node with the rules written the obvious way; the tree is
//! driven as a ZAB leader drives it: requests are prepared in batches (so later ones
//! see earlier ones only through the preparer's outstanding changes), then the batch
//! is applied and committed. Every result, the final tree and its digest must agree,
//! and a snapshot must restore the identical tree and bytes.

use proptest::prelude::*;
use std::collections::BTreeMap;
use zoolab_core::ids::{SessionId, Zxid};
use zoolab_core::tree::{
    snapshot, Acl, AuthInfo, Create, CreateMode, Data, DataTree, MultiOp, OpResult, Origin, Preparer,
    TreeConfig, WriteRequest, ZkError,
};

#[derive(Clone, Debug, PartialEq)]
struct MNode {
    data: Data,
    /// world:anyone:r instead of the open ACL.
    read_only: bool,
    aversion: i32,
    version: i32,
    creates: i32,
    deletes: i32,
    owner: i64,
    czxid: u64,
    mzxid: u64,
    pzxid: u64,
}

/// The naive model: all nodes in one map; children found by scanning.
#[derive(Clone, Debug)]
struct Model {
    nodes: BTreeMap<String, MNode>,
}

fn parent(p: &str) -> String {
    match p.rfind('/') {
        Some(0) => "/".into(),
        Some(i) => p[..i].into(),
        None => unreachable!(),
    }
}

impl Model {
    fn new() -> Model {
        let mut nodes = BTreeMap::new();
        let z = MNode {
            data: Data::empty(),
            read_only: false,
            aversion: 0,
            version: 0,
            creates: 0,
            deletes: 0,
            owner: 0,
            czxid: 0,
            mzxid: 0,
            pzxid: 0,
        };
        // The reserved nodes came without creates: visible cversion = -children.
        nodes.insert("/".to_string(), MNode { deletes: -1, ..z.clone() });
        nodes.insert("/zookeeper".to_string(), MNode { deletes: -2, ..z.clone() });
        nodes.insert("/zookeeper/quota".to_string(), z.clone());
        nodes.insert("/zookeeper/config".to_string(), MNode { read_only: true, aversion: -1, ..z.clone() });
        Model { nodes }
    }

    fn children(&self, p: &str) -> usize {
        self.nodes.keys().filter(|k| k.as_str() != "/" && parent(k) == p).count()
    }

    fn op(&mut self, s: SessionId, zxid: u64, req: &WriteRequest) -> Result<(), ZkError> {
        match req {
            WriteRequest::Create(c) => {
                let par = parent(&c.path);
                let pn = self.nodes.get(&par).ok_or(ZkError::NoNode)?;
                if pn.read_only {
                    return Err(ZkError::NoAuth);
                }
                let path = if c.mode.is_sequential() {
                    format!("{}{:010}", c.path, pn.creates)
                } else {
                    c.path.clone()
                };
                if self.nodes.contains_key(&path) {
                    return Err(ZkError::NodeExists);
                }
                if pn.owner > 0 {
                    return Err(ZkError::NoChildrenForEphemerals);
                }
                let pn = self.nodes.get_mut(&par).unwrap();
                pn.creates += 1;
                pn.pzxid = zxid;
                let owner = match c.mode {
                    CreateMode::Ephemeral | CreateMode::EphemeralSequential => s.0,
                    CreateMode::Container => i64::MIN,
                    _ => 0,
                };
                self.nodes.insert(
                    path,
                    MNode {
                        data: c.data.clone(),
                        read_only: c.acl == Acl::read_unsafe(),
                        aversion: 0,
                        version: 0,
                        creates: 0,
                        deletes: 0,
                        owner,
                        czxid: zxid,
                        mzxid: zxid,
                        pzxid: zxid,
                    },
                );
                Ok(())
            }
            WriteRequest::Delete { path, version } => {
                if self.nodes.get(&parent(path)).ok_or(ZkError::NoNode)?.read_only {
                    return Err(ZkError::NoAuth);
                }
                let n = self.nodes.get(path).ok_or(ZkError::NoNode)?;
                if *version != -1 && *version != n.version {
                    return Err(ZkError::BadVersion);
                }
                if self.children(path) > 0 {
                    return Err(ZkError::NotEmpty);
                }
                self.remove(path, zxid);
                Ok(())
            }
            WriteRequest::SetData { path, data, version } => {
                let n = self.nodes.get_mut(path).ok_or(ZkError::NoNode)?;
                if n.read_only {
                    return Err(ZkError::NoAuth);
                }
                if *version != -1 && *version != n.version {
                    return Err(ZkError::BadVersion);
                }
                n.version += 1;
                n.data = data.clone();
                n.mzxid = zxid;
                Ok(())
            }
            WriteRequest::DeleteContainer { path } => {
                let n = self.nodes.get(path).ok_or(ZkError::NoNode)?;
                if self.children(path) > 0 {
                    return Err(ZkError::NotEmpty);
                }
                if n.owner > 0 {
                    return Err(ZkError::BadVersion);
                }
                self.remove(path, zxid);
                Ok(())
            }
            WriteRequest::SetAcl { path, acl, version } => {
                let n = self.nodes.get_mut(path).ok_or(ZkError::NoNode)?;
                if n.read_only {
                    return Err(ZkError::NoAuth);
                }
                if *version != -1 && *version != n.aversion {
                    return Err(ZkError::BadVersion);
                }
                n.aversion += 1;
                n.read_only = *acl == Acl::read_unsafe();
                Ok(())
            }
            WriteRequest::Multi(ops) => {
                let mut copy = self.clone();
                for op in ops {
                    let r = match op {
                        MultiOp::Create(c) => WriteRequest::Create(c.clone()),
                        MultiOp::Delete { path, version } => {
                            WriteRequest::Delete { path: path.clone(), version: *version }
                        }
                        MultiOp::SetData { path, data, version } => WriteRequest::SetData {
                            path: path.clone(),
                            data: data.clone(),
                            version: *version,
                        },
                        MultiOp::Check { path, version } => {
                            let n = copy.nodes.get(path).ok_or(ZkError::NoNode)?;
                            if *version != -1 && *version != n.version {
                                return Err(ZkError::BadVersion);
                            }
                            continue;
                        }
                    };
                    copy.op(s, zxid, &r)?;
                }
                *self = copy;
                Ok(())
            }
            WriteRequest::CloseSession => {
                let mine: Vec<String> =
                    self.nodes.iter().filter(|(_, n)| n.owner == s.0).map(|(p, _)| p.clone()).collect();
                for p in mine {
                    self.remove(&p, zxid);
                }
                Ok(())
            }
            _ => unreachable!(),
        }
    }

    fn remove(&mut self, path: &str, zxid: u64) {
        self.nodes.remove(path);
        let pn = self.nodes.get_mut(&parent(path)).unwrap();
        pn.deletes += 1;
        pn.pzxid = pn.pzxid.max(zxid);
    }
}

fn path_strategy() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["/a", "/b", "/a/x", "/a/y", "/b/x", "/a/x/q", "/c"]).prop_map(str::to_owned)
}

fn mode_strategy() -> impl Strategy<Value = CreateMode> {
    prop::sample::select(vec![
        CreateMode::Persistent,
        CreateMode::Persistent,
        CreateMode::Ephemeral,
        CreateMode::PersistentSequential,
        CreateMode::EphemeralSequential,
        CreateMode::Container,
    ])
}

fn acl_strategy() -> impl Strategy<Value = Vec<Acl>> {
    prop_oneof![4 => Just(Acl::open_unsafe()), 1 => Just(Acl::read_unsafe())]
}

fn create_strategy() -> impl Strategy<Value = Create> {
    (path_strategy(), mode_strategy(), data_strategy(4), acl_strategy())
        .prop_map(|(path, mode, data, acl)| Create { path, data, acl, mode, ttl: None })
}

/// Up to `max - 1` bytes, or null now and then (zkCli's `create /x`).
fn data_strategy(max: usize) -> impl Strategy<Value = Data> {
    prop::option::weighted(0.8, prop::collection::vec(any::<u8>(), 0..max)).prop_map(Data::from)
}

fn version_strategy() -> impl Strategy<Value = i32> {
    prop_oneof![Just(-1), 0..3i32]
}

fn multi_op_strategy() -> impl Strategy<Value = MultiOp> {
    prop_oneof![
        create_strategy().prop_map(MultiOp::Create),
        (path_strategy(), version_strategy()).prop_map(|(path, version)| MultiOp::Delete { path, version }),
        (path_strategy(), version_strategy()).prop_map(|(path, version)| MultiOp::SetData {
            path,
            data: b"m".into(),
            version
        }),
        (path_strategy(), version_strategy()).prop_map(|(path, version)| MultiOp::Check { path, version }),
    ]
}

fn request_strategy() -> impl Strategy<Value = WriteRequest> {
    prop_oneof![
        4 => create_strategy().prop_map(WriteRequest::Create),
        2 => (path_strategy(), version_strategy()).prop_map(|(path, version)| WriteRequest::Delete { path, version }),
        2 => (path_strategy(), version_strategy(), data_strategy(3))
            .prop_map(|(path, version, data)| WriteRequest::SetData { path, data, version }),
        1 => prop::collection::vec(multi_op_strategy(), 0..4).prop_map(WriteRequest::Multi),
        1 => (path_strategy(), acl_strategy(), version_strategy())
            .prop_map(|(path, acl, version)| WriteRequest::SetAcl { path, acl, version }),
        // The server's own cleanup (it would only propose containers and TTL nodes, but
        // the checks must hold for any node).
        1 => path_strategy().prop_map(|path| WriteRequest::DeleteContainer { path }),
    ]
}

/// A batch of (session index, request) prepared before any of them commits; a batch
/// that closes a session closes it last (ZooKeeper's close leaves the parent's child
/// count of its outstanding record unchanged, which a naive model would not).
/// Requests by session index, and maybe a session to close at the end.
type Batch = (Vec<(usize, WriteRequest)>, Option<usize>);

fn batches() -> impl Strategy<Value = Vec<Batch>> {
    prop::collection::vec(
        (
            prop::collection::vec((0..2usize, request_strategy()), 1..6),
            prop::option::weighted(0.15, 0..2usize),
        ),
        1..12,
    )
}

fn check_tree_matches_model(tree: &DataTree, model: &Model) -> Result<(), TestCaseError> {
    let paths: Vec<&str> = tree.nodes().map(|(p, _)| p).collect();
    let mpaths: Vec<&str> = model.nodes.keys().map(String::as_str).collect();
    prop_assert_eq!(paths, mpaths);
    for (p, n) in tree.nodes() {
        let m = &model.nodes[p];
        let s = n.client_stat();
        prop_assert_eq!(&n.data, &m.data, "{}", p);
        prop_assert_eq!(s.aversion, m.aversion, "aversion of {}", p);
        let read_only = &*tree.acl_of(n) == Acl::read_unsafe().as_slice();
        prop_assert_eq!(read_only, m.read_only, "acl of {}", p);
        prop_assert_eq!(s.version, m.version, "{}", p);
        prop_assert_eq!(s.cversion, m.creates + m.deletes, "cversion of {}", p);
        prop_assert_eq!(n.stat.cversion, m.creates, "stored cversion of {}", p);
        prop_assert_eq!(s.num_children as usize, model.children(p), "{}", p);
        prop_assert_eq!(n.stat.ephemeral_owner, m.owner, "{}", p);
        prop_assert_eq!((s.czxid.0, s.mzxid.0, s.pzxid.0), (m.czxid, m.mzxid, m.pzxid), "zxids of {}", p);
    }
    Ok(())
}

fn ok_or_code(r: &Result<OpResult, zoolab_core::tree::Failure>) -> Result<(), ZkError> {
    r.as_ref().map(|_| ()).map_err(|f| f.error)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn apply_of_prepare_matches_a_naive_model(batches in batches()) {
        let mut tree = DataTree::new();
        let mut prep = Preparer::new(TreeConfig::default());
        let mut model = Model::new();
        let auth = AuthInfo::default();
        let mut zxid = 0u64;
        let mut sessions = [SessionId(0x10), SessionId(0x11)];
        let mut next_session = 0x12;
        let mut run = |tree: &mut DataTree, prep: &mut Preparer, model: &mut Model, batch: &[(SessionId, WriteRequest)]|
            -> Result<(), TestCaseError> {
            let mut txns = Vec::new();
            for (s, req) in batch {
                zxid += 1;
                txns.push(prep.prepare(tree, req, &Origin { session: *s, auth: &auth, zxid: Zxid(zxid), time: zxid as i64 }));
            }
            for ((s, req), txn) in batch.iter().zip(&txns) {
                let applied = tree.apply(txn);
                prep.committed(txn.zxid);
                let want = match req {
                    WriteRequest::CreateSession { .. } => Ok(()),
                    _ => model.op(*s, txn.zxid.0, req),
                };
                prop_assert_eq!(ok_or_code(&applied.result), want, "{:?} as {:?}", req, txn);
                prop_assert_eq!(applied.digest_mismatch, None, "precalculated digest of {:?}", txn);
            }
            prop_assert_eq!(prep.outstanding(), 0);
            Ok(())
        };
        let opening: Vec<(SessionId, WriteRequest)> =
            sessions.iter().map(|s| (*s, WriteRequest::CreateSession { timeout_ms: 10000 })).collect();
        run(&mut tree, &mut prep, &mut model, &opening)?;
        for (batch, close) in &batches {
            let mut b: Vec<(SessionId, WriteRequest)> = batch.iter().map(|(i, r)| (sessions[*i], r.clone())).collect();
            if let Some(i) = close {
                b.push((sessions[*i], WriteRequest::CloseSession));
            }
            run(&mut tree, &mut prep, &mut model, &b)?;
            if let Some(i) = close {
                sessions[*i] = SessionId(next_session);
                next_session += 1;
                run(&mut tree, &mut prep, &mut model, &[(sessions[*i], WriteRequest::CreateSession { timeout_ms: 10000 })])?;
            }
            check_tree_matches_model(&tree, &model)?;
        }
        prop_assert_eq!(tree.digest(), tree.recompute_digest());

        // Snapshot → restore: the same tree, digest and bytes.
        let bytes = snapshot::encode(&tree);
        let restored = snapshot::decode(&bytes).expect("decodes");
        prop_assert_eq!(restored.digest(), tree.digest());
        prop_assert!(restored == tree);
        prop_assert_eq!(snapshot::encode(&restored), bytes);
    }
}
