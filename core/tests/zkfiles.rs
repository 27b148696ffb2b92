//! zoolab reads a real Apache ZooKeeper 3.8 data directory. `data/zkfiles/` was recorded by
//! `make zkfiles-fixture` (tests/zkfiles/zkfiles.py): a varied tree built with kazoo on a
//! standalone ZooKeeper with `snapCount=40` (so several snapshots and log files), killed
//! with sessions still open. `snap-and-logs/` is its dataDir as it was left,
//! `logs-only/` the same without snapshots; `expected.json` is the `hash` four-letter
//! word at the last zxid and every node as kazoo read it (data, Stat, ACL).
//! `ensemble-member/` is one member's dataDir of a 3-server ensemble that ran the same
//! workload (`expected-ensemble.json`: the leader's `hash`, kazoo's reads).

use base64::Engine;
use serde_json::Value;
use std::path::Path;
use zoolab_core::tree::{Data, DataTree, Perms};
use zoolab_core::zkdata::{self, Loaded};

fn load_dir(dir: &Path) -> Loaded {
    let v2 = dir.join("version-2");
    let mut names: Vec<String> = std::fs::read_dir(&v2)
        .expect("fixture dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    zkdata::load(&names, |n| std::fs::read(v2.join(n)).map_err(|e| e.to_string())).expect("loads")
}

fn perms(p: Perms) -> i64 {
    i64::from(p.0)
}

fn check(tree: &DataTree, expected: &Value, ensemble: bool) {
    let zxid = expected["zxid"].as_u64().expect("zxid");
    assert_eq!(tree.last_zxid().0, zxid);
    assert_eq!(tree.digest(), expected["hash"].as_u64().expect("hash"), "digest vs ZooKeeper's hash");
    let nodes = expected["nodes"].as_array().expect("nodes");
    // The /zookeeper subtree aside, the same paths.
    assert_eq!(tree.node_count(), nodes.len(), "node count");
    for n in nodes {
        let path = n["path"].as_str().expect("path");
        let node = tree.node(path).unwrap_or_else(|| panic!("{path} missing"));
        // `null`: ZooKeeper answered a -1 buffer (null data).
        let data: Data = match n["data"].as_str() {
            None => Data::NULL,
            Some(b) => base64::engine::general_purpose::STANDARD.decode(b).expect("b64").into(),
        };
        assert_eq!(node.data, data, "{path} data");
        let s = node.client_stat();
        let st = &n["stat"];
        let got = [
            s.czxid.0 as i64,
            s.mzxid.0 as i64,
            s.ctime,
            s.mtime,
            i64::from(s.version),
            i64::from(s.cversion),
            i64::from(s.aversion),
            s.ephemeral_owner,
            i64::from(s.data_length),
            i64::from(s.num_children),
            s.pzxid.0 as i64,
        ];
        let keys = [
            "czxid",
            "mzxid",
            "ctime",
            "mtime",
            "version",
            "cversion",
            "aversion",
            "ephemeralOwner",
            "dataLength",
            "numChildren",
            "pzxid",
        ];
        for (k, g) in keys.iter().zip(got) {
            if ensemble && path == "/zookeeper/config" && *k == "mtime" {
                continue; // each member writes it at startup with its own clock
            }
            assert_eq!(g, st[k].as_i64().expect("stat field"), "{path} {k}");
        }
        let acl: Vec<(i64, String, String)> = tree
            .acl_of(node)
            .iter()
            .map(|a| (perms(a.perms), a.id.scheme.clone(), a.id.id.clone()))
            .collect();
        let want: Vec<(i64, String, String)> = n["acl"]
            .as_array()
            .expect("acl")
            .iter()
            .map(|a| {
                (
                    a["perms"].as_i64().expect("perms"),
                    a["scheme"].as_str().expect("scheme").to_owned(),
                    a["id"].as_str().expect("id").to_owned(),
                )
            })
            .collect();
        assert_eq!(acl, want, "{path} ACL");
    }
    let sessions: Vec<i64> = tree.sessions().keys().map(|s| s.0).collect();
    let want: Vec<i64> =
        expected["sessions"].as_array().expect("sessions").iter().map(|s| s.as_i64().expect("id")).collect();
    assert_eq!(sessions, want, "live sessions");
}

fn fixture_named(json: &str) -> (std::path::PathBuf, Value) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/zkfiles");
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(json)).expect(json)).expect("json");
    (dir, expected)
}

fn fixture() -> (std::path::PathBuf, Value) {
    fixture_named("expected.json")
}

#[test]
fn snapshot_and_logs_load_to_zookeepers_tree_and_hash() {
    let (dir, expected) = fixture();
    let loaded = load_dir(&dir.join("snap-and-logs"));
    assert!(loaded.snapshot.is_some(), "starts from a snapshot");
    assert!(loaded.skipped_snapshots.is_empty(), "{:?}", loaded.skipped_snapshots);
    assert!(loaded.digests_checked > 0);
    assert_eq!(loaded.digest_mismatches, vec![], "every TxnDigest matches");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    check(&loaded.tree, &expected, false);
}

#[test]
fn logs_alone_load_to_the_same_tree() {
    let (dir, expected) = fixture();
    let loaded = load_dir(&dir.join("logs-only"));
    assert_eq!(loaded.snapshot, None);
    assert_eq!(loaded.digest_mismatches, vec![], "every TxnDigest matches");
    assert!(loaded.digests_checked + 4 >= loaded.applied, "most txns carry a digest");
    // Replaying every transaction gives the `hash` word's text itself.
    let zxid = expected["zxid"].as_u64().expect("zxid");
    let hash = expected["hash"].as_u64().expect("hash");
    assert!(loaded.digest_log.render().ends_with(&format!("{zxid:x}: {}\n", hash as i64)));
    check(&loaded.tree, &expected, false);
}

#[test]
fn an_ensemble_members_data_dir_loads_to_the_leaders_hash() {
    let (dir, expected) = fixture_named("expected-ensemble.json");
    let loaded = load_dir(&dir.join("ensemble-member"));
    let zxid = loaded.tree.last_zxid();
    assert!(zxid.0 >> 32 >= 1, "an elected epoch: {zxid}");
    assert!(loaded.snapshot.is_some());
    assert_eq!(loaded.digest_mismatches, vec![]);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    check(&loaded.tree, &expected, true);
}

/// The fixture's files, name and bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let v2 = dir.join("version-2");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&v2)
        .expect("fixture dir")
        .map(|e| {
            let e = e.expect("entry");
            (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).expect("read"))
        })
        .collect();
    out.sort();
    out
}

fn load_files(files: &[(String, Vec<u8>)]) -> Result<Loaded, zkdata::FileError> {
    let names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    zkdata::load(&names, |n| Ok(files.iter().find(|(m, _)| m == n).expect("listed").1.clone()))
}

#[test]
fn a_damaged_newest_snapshot_falls_back_to_an_older_one_and_the_same_tree() {
    let (dir, expected) = fixture();
    let good = files(&dir.join("snap-and-logs"));
    let newest = good
        .iter()
        .filter_map(|(n, _)| {
            zkdata::classify(n).filter(|(k, _)| *k != zkdata::FileKind::Log).map(|(_, z)| (z, n.clone()))
        })
        .max()
        .expect("a snapshot")
        .1;
    let len = good.iter().find(|(n, _)| *n == newest).expect("newest").1.len();
    // Cut it at many places, or flip a byte: always skipped (checksums), never a panic.
    for step in 0..40 {
        let at = len * step / 40;
        for damage in [0, 1] {
            let mut files = good.clone();
            let bytes = &mut files.iter_mut().find(|(n, _)| *n == newest).expect("newest").1;
            if damage == 0 {
                bytes.truncate(at);
            } else {
                bytes[at] ^= 0x20;
            }
            let loaded = load_files(&files).unwrap_or_else(|e| panic!("cut/flip at {at}: {e}"));
            // Cut just before the digest trailer (33 bytes), it is a whole pre-3.6 snapshot.
            let whole = damage == 0 && at == len - 33;
            assert_eq!(loaded.skipped_snapshots.len(), usize::from(!whole), "at {at}");
            if !whole {
                assert_eq!(loaded.skipped_snapshots[0].file, newest);
            }
            assert_eq!(loaded.tree.digest(), expected["hash"].as_u64().expect("hash"), "at {at}");
        }
    }
}

#[test]
fn a_torn_last_log_record_ends_the_log_with_a_warning() {
    let (dir, _) = fixture();
    let mut files = files(&dir.join("logs-only"));
    let (name, last) = files.last_mut().expect("a log");
    let name = name.clone();
    let full = last.len();
    last.truncate(full - 3);
    let loaded = load_files(&files).expect("loads");
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    assert!(loaded.warnings[0].starts_with(&format!("{name} at byte ")), "{:?}", loaded.warnings);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(150))]

    /// Any file of the real dataDir damaged (bytes flipped, or cut): the load never
    /// panics; a failure names one of the files; a success that differs from
    /// ZooKeeper's tree says why (a skipped snapshot or a warning), or stops at an earlier
    /// zxid (a log cut exactly between records, or a length zeroed, reads as a shorter
    /// log: ZooKeeper cannot tell either).
    #[test]
    fn damaged_real_files_never_panic(
        which in 0usize..100,
        flips in proptest::collection::vec((0usize..1_000_000, 1u8..=255), 0..3),
        cut in proptest::option::of(0usize..1_000_000),
    ) {
        let (dir, expected) = fixture();
        let mut files = files(&dir.join("snap-and-logs"));
        let i = which % files.len();
        let name = files[i].0.clone();
        let bytes = &mut files[i].1;
        for (at, x) in flips {
            let at = at % bytes.len();
            bytes[at] ^= x;
        }
        if let Some(c) = cut {
            let c = c % (bytes.len() + 1);
            bytes.truncate(c);
        }
        match load_files(&files) {
            Ok(l) => {
                let same = l.tree.digest() == expected["hash"].as_u64().expect("hash");
                let explained = !l.skipped_snapshots.is_empty() || !l.warnings.is_empty() || l.digest_mismatch_count > 0;
                let shorter = l.tree.last_zxid().0 < expected["zxid"].as_u64().expect("zxid");
                proptest::prop_assert!(same || explained || shorter, "{name}: a different tree, silently");
            }
            Err(e) => proptest::prop_assert!(files.iter().any(|(n, _)| *n == e.file), "{e}"),
        }
    }
}
