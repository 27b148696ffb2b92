//! Reads: served by any replica from its own tree, with ZooKeeper's ACL checks
//! (`FinalRequestProcessor`), leaving watches in the server's [`WatchManager`].

use super::acl::{self, Acl, AuthInfo, Perms};
use super::datatree::DataTree;
use super::error::ZkError;
use super::request::ReadRequest;
use super::stat::Stat;
use super::watch::{EventType, WatchManager, WatchMode, WatchedEvent, Watcher};
use crate::ids::SessionId;
use crate::ids::Zxid;
use serde::{Deserialize, Serialize};

/// A read's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReadResponse {
    /// exists.
    Stat(Stat),
    /// getData.
    Data {
        /// The data (may be null).
        data: super::data::Data,
        /// The stat.
        stat: Stat,
    },
    /// getChildren / getChildren2 (stat only for the latter), names in ZooKeeper's
    /// order (see [`DataTree::children_in_server_order`]).
    Children {
        /// Child names.
        children: Vec<String>,
        /// getChildren2's stat.
        stat: Option<Stat>,
    },
    /// getAllChildrenNumber.
    Count(i32),
    /// getEphemerals (sorted).
    Paths(Vec<String>),
    /// getACL.
    Acl {
        /// The ACL (digest ids masked without ADMIN).
        acl: Vec<Acl>,
        /// The stat.
        stat: Stat,
    },
    /// sync: the path.
    Path(String),
    /// addWatch, removeWatches.
    Done,
    /// multiRead: each op's answer or error.
    MultiRead(Vec<Result<ReadResponse, ZkError>>),
    /// whoAmI: `(scheme, user)` per identity, in the server's order (`ClientInfo`).
    WhoAmI(Vec<(String, String)>),
}

/// `setWatches` / `setWatches2`: a reconnecting client re-registers its watches,
/// saying which zxid it had seen.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetWatches {
    /// The last zxid the client saw.
    pub relative_zxid: Zxid,
    /// getData watches.
    pub data: Vec<String>,
    /// exists watches.
    pub exist: Vec<String>,
    /// getChildren watches.
    pub child: Vec<String>,
    /// Persistent watches.
    pub persistent: Vec<String>,
    /// Persistent recursive watches.
    pub persistent_recursive: Vec<String>,
}

impl DataTree {
    /// Re-registers a reconnecting session's watches (`DataTree.setWatches`): a watch
    /// whose event already happened since `relative_zxid` fires at once instead (data:
    /// NodeDeleted if gone, NodeDataChanged if mzxid is newer; exists: NodeCreated if the
    /// node exists; child: NodeDeleted if gone, NodeChildrenChanged if pzxid is newer).
    /// These events are not filtered by ACL. Persistent and recursive watches go in both
    /// tables, as with `addWatch`.
    pub fn set_watches(&self, watches: &mut WatchManager, w: Watcher, req: &SetWatches) -> Vec<WatchedEvent> {
        let mut out = Vec::new();
        let mut fire =
            |event, path: &str| out.push(WatchedEvent { watcher: w, event, path: path.to_owned() });
        for p in &req.data {
            match self.node(p) {
                None => fire(EventType::NodeDeleted, p),
                Some(n) if n.stat.mzxid > req.relative_zxid => fire(EventType::NodeDataChanged, p),
                Some(_) => watches.add_data_watch(p, w),
            }
        }
        for p in &req.exist {
            match self.node(p) {
                Some(_) => fire(EventType::NodeCreated, p),
                None => watches.add_data_watch(p, w),
            }
        }
        for p in &req.child {
            match self.node(p) {
                None => fire(EventType::NodeDeleted, p),
                Some(n) if n.stat.pzxid > req.relative_zxid => fire(EventType::NodeChildrenChanged, p),
                Some(_) => watches.add_child_watch(p, w),
            }
        }
        for p in &req.persistent {
            watches.add_watch(p, w, WatchMode::Persistent);
        }
        for p in &req.persistent_recursive {
            watches.add_watch(p, w, WatchMode::PersistentRecursive);
        }
        out
    }

    /// Serves a read for `session` (authenticated as `auth`), registering watches in
    /// `watches`. As ZooKeeper: `exists` on a missing node answers `NONODE` but leaves
    /// its watch; `getData`/`getChildren` leave a watch only when they succeed.
    pub fn read(
        &self,
        watches: &mut WatchManager,
        session: SessionId,
        auth: &AuthInfo,
        req: &ReadRequest,
    ) -> Result<ReadResponse, ZkError> {
        let w: Watcher = session;
        match req {
            ReadRequest::Exists { path, watch } => {
                if path.contains('\0') {
                    return Err(ZkError::BadArguments);
                }
                if *watch {
                    watches.add_data_watch(path, w);
                }
                let n = self.node(path).ok_or(ZkError::NoNode)?;
                Ok(ReadResponse::Stat(n.client_stat()))
            }
            ReadRequest::GetData { path, watch } => {
                let n = self.node(path).ok_or(ZkError::NoNode)?;
                acl::check(&self.acl_of(n), Perms::READ, auth)?;
                if *watch {
                    watches.add_data_watch(path, w);
                }
                Ok(ReadResponse::Data { data: n.data.clone(), stat: n.client_stat() })
            }
            ReadRequest::GetChildren { path, watch, with_stat } => {
                let n = self.node(path).ok_or(ZkError::NoNode)?;
                acl::check(&self.acl_of(n), Perms::READ, auth)?;
                if *watch {
                    watches.add_child_watch(path, w);
                }
                Ok(ReadResponse::Children {
                    children: self.children_in_server_order(path),
                    stat: with_stat.then(|| n.client_stat()),
                })
            }
            ReadRequest::GetAllChildrenNumber { path } => {
                let n = self.node(path).ok_or(ZkError::NoNode)?;
                acl::check(&self.acl_of(n), Perms::READ, auth)?;
                Ok(ReadResponse::Count(self.descendants(path) as i32))
            }
            ReadRequest::GetEphemerals { prefix } => {
                let all = prefix.trim().is_empty() || prefix.trim() == "/";
                let mut paths: Vec<String> = self
                    .ephemerals_of(session)
                    .filter(|p| all || p.starts_with(prefix.as_str()))
                    .map(str::to_owned)
                    .collect();
                paths.sort();
                Ok(ReadResponse::Paths(paths))
            }
            ReadRequest::GetAcl { path } => {
                let n = self.node(path).ok_or(ZkError::NoNode)?;
                let list = self.acl_of(n);
                acl::check(&list, Perms::READ | Perms::ADMIN, auth)?;
                let shown = match acl::check(&list, Perms::ADMIN, auth) {
                    Ok(()) => list.to_vec(),
                    Err(_) => acl::masked_for_reader(&list),
                };
                Ok(ReadResponse::Acl { acl: shown, stat: n.client_stat() })
            }
            ReadRequest::Sync { path } => Ok(ReadResponse::Path(path.clone())),
            ReadRequest::AddWatch { path, mode } => {
                watches.add_watch(path, w, *mode);
                Ok(ReadResponse::Done)
            }
            ReadRequest::MultiRead(ops) => {
                let mut out = Vec::with_capacity(ops.len());
                for op in ops {
                    match op {
                        ReadRequest::GetChildren { path, .. } => {
                            let plain = ReadRequest::GetChildren {
                                path: path.clone(),
                                watch: false,
                                with_stat: false,
                            };
                            out.push(self.read(watches, session, auth, &plain));
                        }
                        ReadRequest::GetData { path, .. } => {
                            let plain = ReadRequest::GetData { path: path.clone(), watch: false };
                            out.push(self.read(watches, session, auth, &plain));
                        }
                        // "Invalid type of readOp": the whole request fails.
                        _ => return Err(ZkError::MarshallingError),
                    }
                }
                Ok(ReadResponse::MultiRead(out))
            }
            ReadRequest::WhoAmI => Ok(ReadResponse::WhoAmI(
                auth.server_order()
                    .into_iter()
                    .map(|id| {
                        let user = match id.scheme.as_str() {
                            "digest" => id.id.split(':').next().unwrap_or("").to_owned(),
                            "ip" => id.id.clone(),
                            _ => String::new(),
                        };
                        (id.scheme.clone(), user)
                    })
                    .collect(),
            )),
            ReadRequest::RemoveWatches { path, kind } => {
                watches.remove_watches(path, w, *kind)?;
                Ok(ReadResponse::Done)
            }
        }
    }

    /// Every node below `path`, at any depth (`getAllChildrenNumber`).
    /// For `""` (the root's alias) ZooKeeper counts every path starting with `/`: all
    /// nodes, the root included.
    pub fn descendants(&self, path: &str) -> usize {
        if path == super::path::ROOT {
            return self.node_count() - 1;
        }
        if path.is_empty() {
            return self.node_count();
        }
        let prefix = format!("{path}/");
        self.nodes.range_from(&prefix).take_while(|(p, _)| p.starts_with(&prefix)).count()
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::super::*;

    fn read(s: &mut TestServer, auth: &AuthInfo, req: ReadRequest) -> Result<ReadResponse, ZkError> {
        s.tree.read(&mut s.watches, A, auth, &req)
    }

    #[test]
    fn exists_on_a_missing_node_leaves_a_watch() {
        let mut s = TestServer::new();
        let auth = s.auth.clone();
        assert_eq!(
            read(&mut s, &auth, ReadRequest::Exists { path: "/x".into(), watch: true }),
            Err(ZkError::NoNode)
        );
        let txn = s.prepare(A, &create("/x", CreateMode::Persistent));
        let (_, events) = s.commit(&txn);
        assert_eq!(events[0].event, EventType::NodeCreated);
    }

    #[test]
    fn get_data_needs_read_and_sets_no_watch_when_refused() {
        let mut s = TestServer::new();
        let secret = vec![Acl::new(Perms::ALL, "digest", &acl::digest_id("u:p"))];
        s.write(
            A,
            WriteRequest::Create(Create {
                path: "/s".into(),
                data: Default::default(),
                acl: secret,
                mode: CreateMode::Persistent,
                ttl: None,
            }),
        )
        .result
        .unwrap();
        let auth = s.auth.clone();
        assert_eq!(
            read(&mut s, &auth, ReadRequest::GetData { path: "/s".into(), watch: true }),
            Err(ZkError::NoAuth)
        );
        assert!(s.watches.is_empty());
        // getACL needs READ or ADMIN; exists needs nothing.
        assert_eq!(read(&mut s, &auth, ReadRequest::GetAcl { path: "/s".into() }), Err(ZkError::NoAuth));
        assert!(read(&mut s, &auth, ReadRequest::Exists { path: "/s".into(), watch: false }).is_ok());
    }

    #[test]
    fn get_acl_masks_digest_ids_without_admin() {
        let mut s = TestServer::new();
        let acl = vec![
            Acl::new(Perms::READ, "world", "anyone"),
            Acl::new(Perms::ALL, "digest", &acl::digest_id("u:p")),
        ];
        s.write(
            A,
            WriteRequest::Create(Create {
                path: "/m".into(),
                data: Default::default(),
                acl,
                mode: CreateMode::Persistent,
                ttl: None,
            }),
        )
        .result
        .unwrap();
        let auth = s.auth.clone();
        match read(&mut s, &auth, ReadRequest::GetAcl { path: "/m".into() }).unwrap() {
            ReadResponse::Acl { acl, .. } => assert_eq!(acl[1].id.id, "u:x"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn get_all_children_number_counts_every_descendant() {
        let mut s = TestServer::new();
        for p in ["/a", "/a/b", "/a/b/c", "/ab"] {
            s.create(p, CreateMode::Persistent).unwrap();
        }
        let auth = s.auth.clone();
        let n = |s: &mut TestServer, p: &str| {
            read(s, &auth, ReadRequest::GetAllChildrenNumber { path: p.into() })
        };
        assert_eq!(n(&mut s, "/a"), Ok(ReadResponse::Count(2)));
        // The root: every node but itself, /zookeeper's three included.
        assert_eq!(n(&mut s, "/"), Ok(ReadResponse::Count(7)));
        assert_eq!(n(&mut s, "/nope"), Err(ZkError::NoNode));
    }

    #[test]
    fn get_ephemerals_lists_the_sessions_own_by_prefix() {
        let mut s = TestServer::new();
        s.create("/e1", CreateMode::Ephemeral).unwrap();
        s.create("/f1", CreateMode::Ephemeral).unwrap();
        s.write(B, create("/e2", CreateMode::Ephemeral)).result.unwrap();
        let auth = s.auth.clone();
        let r = read(&mut s, &auth, ReadRequest::GetEphemerals { prefix: "/e".into() });
        assert_eq!(r, Ok(ReadResponse::Paths(vec!["/e1".into()])));
        let r = read(&mut s, &auth, ReadRequest::GetEphemerals { prefix: "/".into() });
        assert_eq!(r, Ok(ReadResponse::Paths(vec!["/e1".into(), "/f1".into()])));
    }

    #[test]
    fn set_watches_fires_what_was_missed_and_rearms_the_rest() {
        let mut s = TestServer::new();
        s.create("/kept", CreateMode::Persistent).unwrap();
        let seen = crate::ids::Zxid(s.zxid);
        s.create("/new", CreateMode::Persistent).unwrap();
        let req = SetWatches {
            relative_zxid: seen,
            data: vec!["/kept".into(), "/gone".into()],
            exist: vec!["/new".into(), "/later".into()],
            child: vec!["/".into()],
            ..SetWatches::default()
        };
        let events = s.tree.set_watches(&mut s.watches, A, &req);
        let got: Vec<(EventType, &str)> = events.iter().map(|e| (e.event, e.path.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (EventType::NodeDeleted, "/gone"),
                (EventType::NodeCreated, "/new"),
                (EventType::NodeChildrenChanged, "/")
            ]
        );
        assert_eq!(s.watches.len(), 2, "data watch on /kept, exists watch on /later");
    }

    #[test]
    fn multi_read_answers_each_op_and_sets_no_watch() {
        let mut s = TestServer::new();
        s.create("/a", CreateMode::Persistent).unwrap();
        let auth = s.auth.clone();
        let req = ReadRequest::MultiRead(vec![
            ReadRequest::GetData { path: "/a".into(), watch: true },
            ReadRequest::GetChildren { path: "/nope".into(), watch: true, with_stat: false },
        ]);
        match read(&mut s, &auth, req).unwrap() {
            ReadResponse::MultiRead(r) => {
                assert!(matches!(r[0], Ok(ReadResponse::Data { .. })));
                assert_eq!(r[1], Err(ZkError::NoNode));
            }
            other => panic!("{other:?}"),
        }
        assert!(s.watches.is_empty());
        let bad = ReadRequest::MultiRead(vec![ReadRequest::Sync { path: "/".into() }]);
        assert_eq!(read(&mut s, &auth, bad), Err(ZkError::MarshallingError));
    }

    #[test]
    fn who_am_i_lists_schemes_and_users() {
        let mut s = TestServer::new();
        let mut auth = s.auth.clone();
        auth.add("digest", b"bob:pw", None).unwrap();
        let r = read(&mut s, &auth, ReadRequest::WhoAmI).unwrap();
        let ReadResponse::WhoAmI(ids) = r else { panic!("{r:?}") };
        assert!(ids.contains(&("ip".to_string(), "127.0.0.1".to_string())));
        assert!(ids.contains(&("digest".to_string(), "bob".to_string())));
    }
}
