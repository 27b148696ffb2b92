//! The tree digest equals a real ZooKeeper 3.8's (`hash` four-letter word) for the same
//! tree. `data/zk_digest.json` was recorded by `data/record_digest.py`: 128 transactions
//! (containers, TTL nodes, an ephemeral owned by a real session id, `/zookeeper` children)
//! on a fresh server, its `hash` at zxid 0x80, and every node with its Stat. The test
//! rebuilds that tree with `DataTree::import_node` and compares.

use serde_json::Value;
use zoolab_core::ids::Zxid;
use zoolab_core::tree::digest::DigestLog;
use zoolab_core::tree::{Acl, DataTree, NodeKind, StatPersisted};

#[test]
fn digest_matches_zookeeper_hash_four_letter_word() {
    let dump: Value = serde_json::from_str(include_str!("data/zk_digest.json")).expect("json");
    // "80: 147511762177": zxid in hex, the digest as Java prints a long.
    let hash = dump["hash"].as_str().expect("hash");
    let (zxid, digest) = hash.trim().split_once(": ").expect("zxid: digest");
    assert_eq!(zxid, "80");
    let want = digest.parse::<i64>().expect("a long") as u64;

    let mut tree = DataTree::new();
    for n in dump["nodes"].as_array().expect("nodes") {
        let path = n["path"].as_str().expect("path");
        let num = |k: &str| n[k].as_i64().unwrap_or_else(|| panic!("{k}"));
        // Clients see 0 as the owner of containers and TTL nodes; the test knows which.
        let owner = match path {
            "/c" => NodeKind::Container.owner(),
            "/app/t" => NodeKind::Ttl(600_000).owner(),
            _ => num("ephemeralOwner"),
        };
        let stat = StatPersisted {
            czxid: Zxid(num("czxid") as u64),
            mzxid: Zxid(num("mzxid") as u64),
            ctime: num("ctime"),
            mtime: num("mtime"),
            version: num("version") as i32,
            // Stored cversion = children created = (visible cversion + numChildren) / 2.
            cversion: ((num("cversion") + num("numChildren")) / 2) as i32,
            aversion: num("aversion") as i32,
            ephemeral_owner: owner,
            pzxid: Zxid(num("pzxid") as u64),
        };
        let data: Vec<u8> = n["data"].as_str().expect("data").chars().map(|c| c as u32 as u8).collect();
        tree.import_node(path, data, &Acl::open_unsafe(), stat).expect("imports");
    }
    assert_eq!(tree.digest(), tree.recompute_digest());
    assert_eq!(tree.digest(), want, "zoolab {:#x} vs ZooKeeper {:#x}", tree.digest(), want);
    let mut log = DigestLog::new();
    log.record(Zxid(0x80), tree.digest());
    assert_eq!(log.render(), hash, "the hash four-letter word's text");
}
