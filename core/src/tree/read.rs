//! Reads: served by any replica from its own tree, with ZooKeeper's ACL checks
//! (`FinalRequestProcessor`), leaving watches in the server's [`WatchManager`].

use super::acl::{self, Acl, AuthInfo, Perms};
use super::datatree::DataTree;
use super::error::ZkError;
use super::request::ReadRequest;
use super::stat::Stat;
use super::watch::{WatchManager, Watcher};
use crate::ids::SessionId;
use serde::{Deserialize, Serialize};

/// A read's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReadResponse {
    /// exists.
    Stat(Stat),
    /// getData.
    Data {
        /// The data.
        data: Vec<u8>,
        /// The stat.
        stat: Stat,
    },
    /// getChildren / getChildren2 (stat only for the latter). Names are sorted.
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
}

impl DataTree {
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
                    children: n.children.iter().cloned().collect(),
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
                    Ok(()) => list,
                    Err(_) => acl::masked_for_reader(&list),
                };
                Ok(ReadResponse::Acl { acl: shown, stat: n.client_stat() })
            }
            ReadRequest::Sync { path } => Ok(ReadResponse::Path(path.clone())),
            ReadRequest::AddWatch { path, mode } => {
                watches.add_watch(path, w, *mode);
                Ok(ReadResponse::Done)
            }
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
        self.nodes.range(prefix.clone()..).take_while(|(p, _)| p.starts_with(&prefix)).count()
    }
}
