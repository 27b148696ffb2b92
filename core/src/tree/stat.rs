//! A znode's metadata: what the tree keeps ([`StatPersisted`]) and what a client sees
//! ([`Stat`]).
//!
//! ZooKeeper keeps in `cversion` the number of children ever *created* under a node
//! (which is also the next sequential suffix) and shows clients
//! `2 * cversion - numChildren`, i.e. creates plus deletes. Clients also see `0` as the
//! ephemeral owner of containers and TTL nodes, whose owner field holds a type
//! encoding (see [`super::node::NodeKind`]).

use crate::ids::Zxid;
use serde::{Deserialize, Serialize};

/// The stat the tree stores (ZooKeeper's `StatPersisted`): exactly what the digest and
/// the snapshot cover.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StatPersisted {
    /// The zxid that created the node.
    pub czxid: Zxid,
    /// The zxid that last set its data.
    pub mzxid: Zxid,
    /// Creation time, milliseconds since the epoch, from the creating transaction.
    pub ctime: i64,
    /// Last data change time, from the transaction.
    pub mtime: i64,
    /// The data version.
    pub version: i32,
    /// Children created under this node so far (internal; see the module doc).
    pub cversion: i32,
    /// The ACL version.
    pub aversion: i32,
    /// The raw owner: a session id, 0, or a container/TTL encoding.
    pub ephemeral_owner: i64,
    /// The zxid that last created or deleted a child.
    pub pzxid: Zxid,
}

impl StatPersisted {
    /// The stat of a node created by `zxid` at `time` (ZooKeeper's `DataTree.createStat`).
    pub fn created(zxid: Zxid, time: i64, ephemeral_owner: i64) -> StatPersisted {
        StatPersisted {
            czxid: zxid,
            mzxid: zxid,
            ctime: time,
            mtime: time,
            version: 0,
            cversion: 0,
            aversion: 0,
            ephemeral_owner,
            pzxid: zxid,
        }
    }

    /// The fields that differ from `other`'s, in words: `version 1 vs 2, mzxid 0x… vs 0x…`.
    pub fn differences(&self, other: &StatPersisted) -> String {
        use std::fmt::Write;
        let (a, b) = (self, other);
        // (name, this, other, in hex): zxids and the owner as ZooKeeper prints them.
        let fields: [(&str, i64, i64, bool); 8] = [
            ("czxid", a.czxid.0 as i64, b.czxid.0 as i64, true),
            ("mzxid", a.mzxid.0 as i64, b.mzxid.0 as i64, true),
            ("pzxid", a.pzxid.0 as i64, b.pzxid.0 as i64, true),
            ("ctime", a.ctime, b.ctime, false),
            ("mtime", a.mtime, b.mtime, false),
            ("version", a.version.into(), b.version.into(), false),
            ("cversion", a.cversion.into(), b.cversion.into(), false),
            ("aversion", a.aversion.into(), b.aversion.into(), false),
        ];
        let owner = ("ephemeralOwner", a.ephemeral_owner, b.ephemeral_owner, true);
        let mut out = String::new();
        for (name, x, y, hex) in fields.into_iter().chain([owner]).filter(|f| f.1 != f.2) {
            let sep = if out.is_empty() { "" } else { ", " };
            let _ = if hex {
                write!(out, "{sep}{name} 0x{x:x} vs 0x{y:x}")
            } else {
                write!(out, "{sep}{name} {x} vs {y}")
            };
        }
        out
    }
}

/// The stat a client sees (ZooKeeper's `Stat`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Stat {
    /// The zxid that created the node.
    pub czxid: Zxid,
    /// The zxid that last set its data.
    pub mzxid: Zxid,
    /// Creation time (ms).
    pub ctime: i64,
    /// Last data change time (ms).
    pub mtime: i64,
    /// The data version.
    pub version: i32,
    /// Child version: creates plus deletes of children.
    pub cversion: i32,
    /// The ACL version.
    pub aversion: i32,
    /// The owning session for ephemerals, otherwise 0.
    pub ephemeral_owner: i64,
    /// The data length in bytes.
    pub data_length: i32,
    /// The number of children.
    pub num_children: i32,
    /// The zxid that last created or deleted a child.
    pub pzxid: Zxid,
}

impl StatPersisted {
    /// The stored stat behind a client's view of it, as far as the view tells (a
    /// migration's copy through the client API): the client sees `2 * cversion -
    /// numChildren`, so the stored counter is `(cversion + numChildren) / 2`; the
    /// ephemeral owner is the client's (containers and TTL nodes show 0: persistent).
    pub fn from_client(s: &Stat) -> StatPersisted {
        StatPersisted {
            czxid: s.czxid,
            mzxid: s.mzxid,
            ctime: s.ctime,
            mtime: s.mtime,
            version: s.version,
            cversion: ((i64::from(s.cversion) + i64::from(s.num_children)) / 2) as i32,
            aversion: s.aversion,
            ephemeral_owner: s.ephemeral_owner,
            pzxid: s.pzxid,
        }
    }
}

impl Stat {
    /// The client's view of a stored stat (ZooKeeper's `DataNode.copyStat`).
    pub fn from_persisted(s: &StatPersisted, data_length: usize, num_children: usize) -> Stat {
        let num_children = num_children as i32;
        let special = super::node::NodeKind::of_owner(s.ephemeral_owner).is_special();
        Stat {
            czxid: s.czxid,
            mzxid: s.mzxid,
            ctime: s.ctime,
            mtime: s.mtime,
            version: s.version,
            cversion: s.cversion.wrapping_mul(2).wrapping_sub(num_children),
            aversion: s.aversion,
            ephemeral_owner: if special { 0 } else { s.ephemeral_owner },
            data_length: data_length as i32,
            num_children,
            pzxid: s.pzxid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_each_differing_field() {
        let a = StatPersisted { czxid: Zxid(0x1_0000_0002), version: 1, ..Default::default() };
        assert_eq!(a.differences(&a), "");
        let b = StatPersisted { mzxid: Zxid(0x1f), version: 2, ephemeral_owner: 0x10, ..a };
        assert_eq!(b.differences(&a), "mzxid 0x1f vs 0x0, version 2 vs 1, ephemeralOwner 0x10 vs 0x0");
    }

    #[test]
    fn the_client_view_converts_back_to_the_stored_stat() {
        let s = StatPersisted {
            czxid: Zxid(5),
            mzxid: Zxid(9),
            ctime: 1,
            mtime: 2,
            version: 3,
            cversion: 7,
            aversion: 1,
            ephemeral_owner: 0,
            pzxid: Zxid(12),
        };
        for children in [0, 3, 7] {
            assert_eq!(
                StatPersisted::from_client(&Stat::from_persisted(&s, 4, children)),
                s,
                "{children} children"
            );
        }
    }

    #[test]
    fn client_cversion_counts_creates_and_deletes() {
        // 3 children created, 1 deleted: the client sees 4 changes.
        let s = StatPersisted { cversion: 3, ..StatPersisted::default() };
        assert_eq!(Stat::from_persisted(&s, 0, 2).cversion, 4);
        // The fresh root: /zookeeper was added without a create: cversion -1.
        assert_eq!(Stat::from_persisted(&StatPersisted::default(), 0, 1).cversion, -1);
    }

    #[test]
    fn containers_and_ttl_nodes_show_no_ephemeral_owner() {
        let s = StatPersisted { ephemeral_owner: i64::MIN, ..StatPersisted::default() };
        assert_eq!(Stat::from_persisted(&s, 0, 0).ephemeral_owner, 0);
        let s = StatPersisted { ephemeral_owner: 0x1234, ..StatPersisted::default() };
        assert_eq!(Stat::from_persisted(&s, 0, 0).ephemeral_owner, 0x1234);
    }
}
