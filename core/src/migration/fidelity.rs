//! The fidelity report: what a transport cannot carry over, stated before the
//! migration starts, counted on the actual source tree.

use super::verify::relative;
use crate::tree::{DataTree, NodeKind};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How the data travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Transport {
    /// The target's servers join the source as observers and receive its transactions:
    /// byte-identical trees (stats, internal counters, node types, ACLs, sessions).
    ObserverJoin,
    /// A source snapshot at zxid Z plus its later transactions: exact, offline.
    SnapshotAndLog,
    /// Reads and writes through the client API, against any ZooKeeper.
    ClientApi {
        /// Whether the target is zoolab, whose import path keeps exact Stat, internal
        /// cversion and node type.
        target_is_zoolab: bool,
    },
}

impl Transport {
    /// Every transport, most exact first (the client API into zoolab): the one list
    /// the scenario language, the command line and the playground name them from.
    pub const ALL: [Transport; 3] =
        [Transport::ObserverJoin, Transport::SnapshotAndLog, Transport::ClientApi { target_is_zoolab: true }];

    /// Its word in the scenario language (`migrate a -> b via WORD`) and on the
    /// command line.
    pub fn word(self) -> &'static str {
        match self {
            Transport::ObserverJoin => "observer-join",
            Transport::SnapshotAndLog => "snapshot",
            Transport::ClientApi { .. } => "client-api",
        }
    }

    /// The transport a word names (the client API into zoolab).
    pub fn from_word(word: &str) -> Option<Transport> {
        Transport::ALL.into_iter().find(|t| t.word() == word)
    }

    /// What it does, in one line.
    pub fn describe(self) -> &'static str {
        match self {
            Transport::ObserverJoin => {
                "exact: the target's servers join the source as observers (reconfig), then separate at cut-over in a new epoch"
            }
            Transport::SnapshotAndLog => {
                "exact: a snapshot of the source at zxid Z, then its txn log after Z, through the target's import path"
            }
            Transport::ClientApi { .. } => {
                "logical: a recursive watch and a walk through the client API; works against any ZooKeeper"
            }
        }
    }
}

impl fmt::Display for Transport {
    /// Its word (`snapshot`); the client API into Apache ZooKeeper says so.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())?;
        match self {
            Transport::ClientApi { target_is_zoolab: false } => f.write_str(" (into ZooKeeper)"),
            _ => Ok(()),
        }
    }
}

/// One thing the transport loses, with how many znodes it touches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loss {
    /// What is lost, in plain words.
    pub what: String,
    /// How many znodes of the source it concerns.
    pub count: usize,
    /// A few of them.
    pub examples: Vec<String>,
}

/// What a transport keeps and loses for one source subtree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The transport.
    pub transport: Transport,
    /// The losses (empty: exact).
    pub losses: Vec<Loss>,
}

impl Report {
    /// Whether nothing is lost.
    pub fn exact(&self) -> bool {
        self.losses.iter().all(|l| l.count == 0)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.exact() {
            return write!(
                f,
                "{}: exact — data, Stat, node types, ACLs and sessions are kept",
                self.transport
            );
        }
        writeln!(f, "{} loses:", self.transport)?;
        for l in self.losses.iter().filter(|l| l.count > 0) {
            writeln!(f, "- {} ({} znodes, e.g. {})", l.what, l.count, l.examples.join(", "))?;
        }
        Ok(())
    }
}

/// The most examples listed per loss.
pub const MAX_EXAMPLES: usize = 3;

/// Counts what `transport` would lose of the subtree at `root`.
pub fn report(tree: &DataTree, root: &str, transport: Transport) -> Report {
    let target_is_zoolab = match transport {
        Transport::ObserverJoin | Transport::SnapshotAndLog => {
            return Report { transport, losses: Vec::new() };
        }
        Transport::ClientApi { target_is_zoolab } => target_is_zoolab,
    };
    type Test = fn(&crate::tree::Node) -> bool;
    // What every client-API copy loses, into zoolab too: the reader sees a client
    // `Stat`, whose ephemeralOwner is 0 for containers and TTL nodes (ZooKeeper's
    // `DataTree.copyStat`), so they arrive as persistent nodes; ephemerals belong to
    // the source's sessions, which the client API cannot read.
    let mut checks: Vec<(&str, Test)> = vec![
        (
            "ephemerals belong to the source's sessions; they are recreated only when their clients reconnect to the target",
            |n| matches!(n.kind(), NodeKind::Ephemeral(_)),
        ),
        (
            "containers look persistent through the client API and are copied as persistent nodes",
            |n| matches!(n.kind(), NodeKind::Container),
        ),
        ("TTL nodes look persistent through the client API and lose their TTL", |n| {
            matches!(n.kind(), NodeKind::Ttl(_))
        }),
    ];
    if !target_is_zoolab {
        // zoolab's import path keeps exact versions and the internal cversion.
        checks.extend([
            (
                "sequential counters restart: the parent's next suffix goes back to the target's own count",
                (|n| n.stat.cversion > i32::try_from(n.children.len()).unwrap_or(i32::MAX)) as Test,
            ),
            ("versions restart at 0 (conditional writes with old versions will fail)", |n| {
                n.stat.version > 0 || n.stat.aversion > 0
            }),
        ]);
    }
    let losses = checks
        .into_iter()
        .map(|(what, test)| {
            let hits: Vec<&str> = tree
                .nodes()
                .filter(|(path, node)| relative(root, path).is_some() && test(node))
                .map(|(path, _)| path)
                .collect();
            Loss {
                what: what.to_string(),
                count: hits.len(),
                examples: hits.iter().take(MAX_EXAMPLES).map(|p| p.to_string()).collect(),
            }
        })
        .collect();
    Report { transport, losses }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Zxid;
    use crate::tree::node::CONTAINER_OWNER;
    use crate::tree::{Acl, Perms, StatPersisted};

    fn tree() -> DataTree {
        let mut t = DataTree::new();
        let open = [Acl::new(Perms(31), "world", "anyone")];
        let mut seq = StatPersisted::created(Zxid(1), 0, 0);
        seq.cversion = 9; // 9 children created, all since deleted
        t.import_node("/locks", Vec::new(), &open, seq).unwrap();
        t.import_node("/jobs", Vec::new(), &open, StatPersisted::created(Zxid(2), 0, CONTAINER_OWNER))
            .unwrap();
        let mut versioned = StatPersisted::created(Zxid(3), 0, 0);
        versioned.version = 4;
        t.import_node("/config", b"v4".to_vec(), &open, versioned).unwrap();
        t
    }

    #[test]
    fn every_transport_has_a_word_that_names_it_back() {
        for t in Transport::ALL {
            assert_eq!(Transport::from_word(t.word()), Some(t));
            assert!(!t.describe().is_empty());
        }
        assert_eq!(Transport::from_word("zkcopy"), None);
    }

    #[test]
    fn exact_transports_lose_nothing() {
        assert!(report(&tree(), "/", Transport::ObserverJoin).exact());
        assert!(report(&tree(), "/", Transport::SnapshotAndLog).exact());
    }

    #[test]
    fn the_client_api_states_each_loss_with_its_znodes() {
        let r = report(&tree(), "/", Transport::ClientApi { target_is_zoolab: false });
        assert!(!r.exact());
        let text = r.to_string();
        assert!(text.contains("containers") && text.contains("/jobs"), "{text}");
        assert!(text.contains("sequential counters") && text.contains("/locks"), "{text}");
        assert!(text.contains("versions restart") && text.contains("/config"), "{text}");
        assert!(!text.contains("TTL nodes"), "no TTL node, so no TTL loss listed: {text}");
        // Into zoolab, the import path keeps counters and versions, but the reader sees
        // a client Stat: the container still arrives persistent.
        let z = report(&tree(), "/", Transport::ClientApi { target_is_zoolab: true }).to_string();
        assert!(z.contains("containers") && z.contains("/jobs"), "{z}");
        assert!(!z.contains("sequential counters") && !z.contains("versions restart"), "{z}");
        let mut t = tree();
        let ttl = NodeKind::Ttl(60_000).owner();
        t.import_node(
            "/cache",
            Vec::new(),
            &[Acl::new(Perms(31), "world", "anyone")],
            StatPersisted::created(Zxid(4), 0, ttl),
        )
        .unwrap();
        let z = report(&t, "/", Transport::ClientApi { target_is_zoolab: true }).to_string();
        assert!(z.contains("TTL nodes") && z.contains("/cache"), "{z}");
        assert!(report(&t, "/", Transport::SnapshotAndLog).exact());
    }
}
