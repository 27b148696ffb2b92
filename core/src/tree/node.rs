//! A znode: its data, its ACL (an index into the tree's ACL table), its stat and the
//! names of its children, kept sorted.

use super::nodemap::ChildSet;
use super::stat::{Stat, StatPersisted};
use crate::ids::SessionId;
use serde::{Deserialize, Serialize};

/// ZooKeeper's `CONTAINER_EPHEMERAL_OWNER`: the owner field of every container.
pub const CONTAINER_OWNER: i64 = i64::MIN;
/// The high byte that marks an extended owner (TTL), as `EphemeralType.EXTENDED_MASK`.
const EXTENDED_MASK: u64 = 0xff00_0000_0000_0000;
/// The reserved bits between the mask and the value (the TTL type is 0 there).
const RESERVED_BITS_MASK: u64 = 0x00ff_ff00_0000_0000;
/// The largest TTL ZooKeeper accepts, in milliseconds (about 34 years).
pub const MAX_TTL_MS: i64 = !(EXTENDED_MASK | RESERVED_BITS_MASK) as i64;

/// What a node is, as its raw `ephemeralOwner` encodes it (`EphemeralType`).
///
/// The TTL encoding is always recognised (as ZooKeeper does with
/// `zookeeper.extendedTypesEnabled=true`); session ids never have `0xff` as high byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NodeKind {
    /// A persistent node (owner 0; ZooKeeper's `VOID`).
    Persistent,
    /// An ephemeral owned by a session (`NORMAL`).
    Ephemeral(SessionId),
    /// A container: deleted by the server once its last child is gone.
    Container,
    /// A persistent node with a TTL in milliseconds.
    Ttl(i64),
}

impl NodeKind {
    /// Decodes a raw owner field.
    pub fn of_owner(owner: i64) -> NodeKind {
        if owner == CONTAINER_OWNER {
            NodeKind::Container
        } else if (owner as u64) & EXTENDED_MASK == EXTENDED_MASK {
            NodeKind::Ttl(owner & MAX_TTL_MS)
        } else if owner == 0 {
            NodeKind::Persistent
        } else {
            NodeKind::Ephemeral(SessionId(owner))
        }
    }

    /// Encodes the raw owner field. A TTL must be in `1..=MAX_TTL_MS`.
    pub fn owner(self) -> i64 {
        match self {
            NodeKind::Persistent => 0,
            NodeKind::Ephemeral(s) => s.0,
            NodeKind::Container => CONTAINER_OWNER,
            NodeKind::Ttl(ms) => (EXTENDED_MASK as i64) | (ms & MAX_TTL_MS),
        }
    }

    /// Containers and TTL nodes: the types whose owner clients see as 0.
    pub fn is_special(self) -> bool {
        matches!(self, NodeKind::Container | NodeKind::Ttl(_))
    }
}

impl std::fmt::Display for NodeKind {
    /// In words: `persistent`, `ephemeral of session 0x…`, `container`, `TTL 5000 ms`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeKind::Persistent => f.write_str("persistent"),
            NodeKind::Ephemeral(s) => write!(f, "ephemeral of session {s}"),
            NodeKind::Container => f.write_str("container"),
            NodeKind::Ttl(ms) => write!(f, "TTL {ms} ms"),
        }
    }
}

/// One znode.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Node {
    /// The data (null or bytes).
    pub data: super::data::Data,
    /// Index of its ACL in the tree's ACL table.
    pub acl: u64,
    /// Its stored stat.
    pub stat: StatPersisted,
    /// Its children's names (not paths), sorted.
    pub children: ChildSet,
}

impl Node {
    /// The stat a client sees.
    pub fn client_stat(&self) -> Stat {
        Stat::from_persisted(&self.stat, self.data.len(), self.children.len())
    }

    /// What kind of node this is.
    pub fn kind(&self) -> NodeKind {
        NodeKind::of_owner(self.stat.ephemeral_owner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ephemeral_type_encodings_match_zookeeper() {
        assert_eq!(NodeKind::Container.owner(), i64::MIN);
        assert_eq!(NodeKind::Ttl(100).owner() as u64, 0xff00_0000_0000_0064);
        assert_eq!(NodeKind::of_owner(NodeKind::Ttl(100).owner()), NodeKind::Ttl(100));
        assert_eq!(NodeKind::of_owner(0), NodeKind::Persistent);
        assert_eq!(NodeKind::of_owner(7), NodeKind::Ephemeral(SessionId(7)));
        assert_eq!(MAX_TTL_MS, 0x0000_00ff_ffff_ffff);
    }
}
