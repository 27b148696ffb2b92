//! Round trips through ZooKeeper's formats (written here by a small test encoder that
//! follows the layouts in [`super::snap`] and [`super::log`]), and hostile bytes.
//! `core/tests/zkfiles.rs` reads files a real ZooKeeper wrote.

use super::*;
use crate::jute::Writer;
use crate::tree::node::NodeKind;
use crate::tree::testkit::{self, TestServer, A, B};
use crate::tree::{CreateMode, MultiOp, Txn, WriteRequest};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn acl(w: &mut Writer, list: &[Acl]) {
    w.vec(list, |w, a| {
        w.i32(a.perms.0).string(&a.id.scheme).string(&a.id.id);
    });
}

fn seal_bytes(out: &mut Vec<u8>) {
    let sum = adler32(out);
    let mut w = Writer::new();
    w.i64(i64::from(sum)).string("/");
    out.extend(w.into_bytes());
}

/// A tree as ZooKeeper would snapshot it at its last zxid (ACL indices from 1, in order
/// of first use; the world-open ACL as -1).
pub(crate) fn encode_snapshot(t: &DataTree, digest: bool) -> Vec<u8> {
    let mut w = Writer::new();
    w.i32(snap::SNAP_MAGIC).i32(2).i64(-1);
    w.i32(t.sessions().len() as i32);
    for (s, timeout) in t.sessions() {
        w.i64(s.0).i32(*timeout);
    }
    let mut index: BTreeMap<Vec<Acl>, i64> = BTreeMap::new();
    for (_, n) in t.nodes() {
        let list = t.acl_of(n).to_vec();
        if list != Acl::open_unsafe() && !index.contains_key(&list) {
            let next = index.len() as i64 + 1;
            index.insert(list, next);
        }
    }
    w.i32(index.len() as i32);
    for (list, i) in &index {
        w.i64(*i);
        acl(&mut w, list);
    }
    for (p, n) in t.nodes() {
        let list = t.acl_of(n).to_vec();
        let s = n.stat;
        w.string(if p == "/" { "" } else { p }).data(&n.data);
        w.i64(*index.get(&list).unwrap_or(&snap::OPEN_ACL_INDEX));
        w.i64(s.czxid.0 as i64).i64(s.mzxid.0 as i64).i64(s.ctime).i64(s.mtime);
        w.i32(s.version).i32(s.cversion).i32(s.aversion).i64(s.ephemeral_owner).i64(s.pzxid.0 as i64);
    }
    w.string("/");
    let mut out = w.into_bytes();
    seal_bytes(&mut out);
    if digest {
        let mut w = Writer::new();
        w.i64(t.last_zxid().0 as i64).i32(2).i64(t.digest() as i64);
        out.extend(w.into_bytes());
        seal_bytes(&mut out);
    }
    out
}

fn op_record(w: &mut Writer, op: &TxnOp, session: i64) -> i32 {
    use log::opcode::*;
    match op {
        TxnOp::CreateSession { timeout_ms } => {
            w.i32(*timeout_ms);
            CREATE_SESSION
        }
        TxnOp::CloseSession { paths } => {
            w.vec(paths, |w, p| {
                w.string(p);
            });
            CLOSE_SESSION
        }
        TxnOp::Create { path, data, acl: list, owner, parent_cversion } => {
            w.string(path).data(data);
            acl(w, list);
            match NodeKind::of_owner(*owner) {
                NodeKind::Container => {
                    w.i32(*parent_cversion);
                    CREATE_CONTAINER
                }
                NodeKind::Ttl(ttl) => {
                    w.i32(*parent_cversion).i64(ttl);
                    CREATE_TTL
                }
                kind => {
                    assert!(matches!(kind, NodeKind::Persistent) || *owner == session);
                    w.bool(*owner != 0).i32(*parent_cversion);
                    CREATE2
                }
            }
        }
        TxnOp::Delete { path } => {
            w.string(path);
            DELETE
        }
        TxnOp::DeleteContainer { path } => {
            w.string(path);
            DELETE_CONTAINER
        }
        TxnOp::SetData { path, data, version } => {
            w.string(path).data(data).i32(*version);
            SET_DATA
        }
        TxnOp::SetAcl { path, acl: list, version } => {
            w.string(path);
            acl(w, list);
            w.i32(*version);
            SET_ACL
        }
        TxnOp::Check { path, version } => {
            w.string(path).i32(*version);
            CHECK
        }
        TxnOp::Error(e) => {
            w.i32(e.code());
            ERROR
        }
        TxnOp::Multi(ops) => {
            let subs: Vec<(i32, Vec<u8>)> = ops
                .iter()
                .map(|op| {
                    let mut s = Writer::new();
                    let t = op_record(&mut s, op, session);
                    // Multis log plain creates, never create2.
                    (if t == CREATE2 { CREATE } else { t }, s.into_bytes())
                })
                .collect();
            w.vec(&subs, |w, (t, b)| {
                w.i32(*t).buffer(b);
            });
            MULTI
        }
        TxnOp::Import(_) => unreachable!("a migration's import has no ZooKeeper log record"),
    }
}

/// One log record's entry bytes.
pub(crate) fn encode_entry(txn: &Txn) -> Vec<u8> {
    let mut rec = Writer::new();
    let t = op_record(&mut rec, &txn.op, txn.session.0);
    let mut w = Writer::new();
    w.i64(txn.session.0).i32(7).i64(txn.zxid.0 as i64).i64(txn.time).i32(t);
    let mut out = w.into_bytes();
    out.extend(rec.into_bytes());
    if let Some(d) = txn.digest {
        let mut w = Writer::new();
        w.i32(2).i64(d as i64);
        out.extend(w.into_bytes());
    }
    out
}

/// A log file holding these transactions, then `padding` zero bytes.
pub(crate) fn encode_log(txns: &[Txn], padding: usize) -> Vec<u8> {
    let mut w = Writer::new();
    w.i32(log::LOG_MAGIC).i32(2).i64(0);
    let mut out = w.into_bytes();
    for txn in txns {
        let entry = encode_entry(txn);
        let mut w = Writer::new();
        w.i64(i64::from(adler32(&entry))).buffer(&entry);
        out.extend(w.into_bytes());
        out.push(log::END_OF_RECORD);
    }
    out.extend(std::iter::repeat_n(0u8, padding));
    out
}

/// A server that ran a varied workload, and every transaction it committed.
fn workload() -> (TestServer, Vec<Txn>) {
    let mut s = TestServer::new();
    // TestServer::new committed the two sessions at zxids 1 and 2.
    let session = |session, zxid| Txn {
        session,
        zxid: Zxid(zxid),
        time: 1000,
        op: TxnOp::CreateSession { timeout_ms: 10000 },
        digest: None,
    };
    let mut txns = vec![session(A, 1), session(B, 2)];
    let mut run = |s: &mut TestServer, session, req: WriteRequest| {
        let txn = s.prepare(session, &req);
        s.commit(&txn);
        txns.push(txn);
    };
    run(&mut s, A, testkit::create("/app", CreateMode::Persistent));
    for _ in 0..4 {
        run(&mut s, A, testkit::create("/app/seq-", CreateMode::PersistentSequential));
    }
    run(&mut s, A, WriteRequest::Delete { path: "/app/seq-0000000001".into(), version: -1 });
    run(&mut s, B, testkit::create("/app/eph", CreateMode::Ephemeral));
    run(&mut s, A, testkit::create("/c", CreateMode::Container));
    run(&mut s, A, testkit::create("/c/x", CreateMode::Persistent));
    run(&mut s, A, testkit::create("/t", CreateMode::PersistentWithTtl));
    run(&mut s, A, WriteRequest::SetData { path: "/app".into(), data: vec![1, 2, 3].into(), version: -1 });
    let digest_acl = vec![Acl::new(Perms::ALL, "digest", "u:x"), Acl::new(Perms::READ, "ip", "10.0.0.0/8")];
    run(&mut s, A, WriteRequest::SetAcl { path: "/t".into(), acl: digest_acl, version: -1 });
    run(
        &mut s,
        A,
        WriteRequest::Multi(vec![
            MultiOp::Create(match testkit::create("/m", CreateMode::Persistent) {
                WriteRequest::Create(c) => c,
                _ => unreachable!(),
            }),
            MultiOp::Check { path: "/app".into(), version: 1 },
            MultiOp::Delete { path: "/c/x".into(), version: -1 },
        ]),
    );
    run(
        &mut s,
        A,
        WriteRequest::Multi(vec![
            MultiOp::Delete { path: "/m".into(), version: -1 },
            MultiOp::Delete { path: "/nope".into(), version: -1 },
        ]),
    );
    // Null data (zkCli's create without data; setData(path, null) from Java): the
    // files hold a -1 buffer, and null must come back as null.
    let null_create = match testkit::create("/nul", CreateMode::Persistent) {
        WriteRequest::Create(c) => crate::tree::Create { data: crate::tree::Data::NULL, ..c },
        _ => unreachable!(),
    };
    run(&mut s, A, WriteRequest::Create(null_create));
    run(&mut s, A, WriteRequest::SetData { path: "/app".into(), data: crate::tree::Data::NULL, version: -1 });
    run(&mut s, B, WriteRequest::CloseSession);
    (s, txns)
}

use crate::tree::Perms;

type NodeView = (String, crate::tree::Data, Vec<Acl>, crate::tree::StatPersisted, Vec<String>);

/// The same tree as clients and the digest see it (ACL table indices may differ).
fn same(a: &DataTree, b: &DataTree) {
    let view = |t: &DataTree| -> Vec<NodeView> {
        t.nodes()
            .map(|(p, n)| {
                (
                    p.to_owned(),
                    n.data.clone(),
                    t.acl_of(n).to_vec(),
                    n.stat,
                    n.children.iter().map(str::to_owned).collect(),
                )
            })
            .collect()
    };
    assert_eq!(view(a), view(b));
    assert_eq!(a.sessions(), b.sessions());
    assert_eq!((a.digest(), a.last_zxid()), (b.digest(), b.last_zxid()));
    assert_eq!((a.containers(), a.ttls()), (b.containers(), b.ttls()));
    assert_eq!(a.digest(), a.recompute_digest());
}

fn load_files<N: AsRef<str>>(files: &[(N, Vec<u8>)]) -> Result<Loaded, FileError> {
    let names: Vec<String> = files.iter().map(|(n, _)| n.as_ref().to_owned()).collect();
    load(&names, |n| {
        files.iter().find(|(m, _)| m.as_ref() == n).map(|(_, b)| b.clone()).ok_or_else(|| "gone".to_owned())
    })
}

#[test]
fn adler32_matches_zlib() {
    assert_eq!(adler32(b""), 1);
    assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
    let long = vec![0xffu8; 100_000];
    // Reference value from zlib.adler32(b"\xff" * 100000).
    assert_eq!(adler32(&long), 0x149a_302c);
}

#[test]
fn file_names_give_kind_and_zxid() {
    assert_eq!(classify("snapshot.7d"), Some((FileKind::Snapshot { gzip: false }, Zxid(0x7d))));
    assert_eq!(
        classify("snapshot.100000002.gz"),
        Some((FileKind::Snapshot { gzip: true }, Zxid(0x1_0000_0002)))
    );
    assert_eq!(classify("log.1"), Some((FileKind::Log, Zxid(1))));
    assert_eq!(classify("snapshot.1.snappy"), Some((FileKind::SnappySnapshot, Zxid(1))));
    assert_eq!(classify("acceptedEpoch"), None);
    assert_eq!(classify("log.xyz"), None);
    assert_eq!(classify("log.1.tmp"), None);
}

#[test]
fn a_snapshot_round_trips_with_sessions_types_and_acls() {
    let (s, _) = workload();
    let bytes = encode_snapshot(&s.tree, true);
    let decoded = decode_snapshot("snapshot.x", &bytes).unwrap();
    assert_eq!(decoded.digest.map(|d| d.digest), Some(s.tree.digest()));
    let tree = snapshot_tree("snapshot.x", decoded, s.tree.last_zxid()).unwrap();
    same(&tree, &s.tree);
    assert!(tree.ttls().contains("/t") && tree.containers().contains("/c"));
    assert!(tree.node("/nul").unwrap().data.is_null() && tree.node("/app").unwrap().data.is_null());
    assert!(!tree.node("/t").unwrap().data.is_null());
}

#[test]
fn a_fuzzy_snapshot_whose_digest_at_its_own_zxid_differs_still_loads() {
    // The file holds the next transaction's change, but its trailer still carries the
    // digest of the zxid it is named after (the transaction had not logged its digest
    // yet): ZooKeeper never compares that digest; zoolab warns and checks the log.
    let (s, txns) = workload();
    let (a, b) = txns.split_at(9);
    let mut mid = TestServer::new();
    mid.tree = DataTree::new();
    for t in a {
        mid.tree.apply(t);
    }
    let mut ahead = mid.tree.clone();
    ahead.apply(&b[0]);
    let mut snapshot = encode_snapshot(&ahead, false);
    let mut w = Writer::new();
    w.i64(mid.tree.last_zxid().0 as i64).i32(2).i64(mid.tree.digest() as i64);
    snapshot.extend(w.into_bytes());
    seal_bytes(&mut snapshot);
    let files = vec![
        (format!("snapshot.{:x}", mid.tree.last_zxid().0), snapshot),
        (format!("log.{:x}", b[0].zxid.0), encode_log(b, 300)),
    ];
    let loaded = load_files(&files).unwrap();
    assert_eq!(loaded.snapshot_digest_ok, None, "{:?}", loaded.warnings);
    assert!(loaded.warnings.iter().any(|w| w.contains("fuzzy snapshot")), "{:?}", loaded.warnings);
    assert_eq!(loaded.digest_mismatch_count, 0, "{:?}", loaded.digest_mismatches);
    same(&loaded.tree, &s.tree);
    // The same file with the digest of what it holds: checked, equal.
    let files = vec![
        (format!("snapshot.{:x}", mid.tree.last_zxid().0), encode_snapshot(&mid.tree, true)),
        (format!("log.{:x}", b[0].zxid.0), encode_log(b, 300)),
    ];
    assert_eq!(load_files(&files).unwrap().snapshot_digest_ok, Some(true));
}

#[test]
fn logs_replay_to_the_same_tree_from_any_snapshot() {
    let (s, txns) = workload();
    let fresh = encode_snapshot(&DataTree::new(), false);
    // Split the transactions over two logs; a snapshot part-way through too.
    let (a, b) = txns.split_at(9);
    let mut mid = TestServer::new();
    mid.tree = DataTree::new();
    for t in a {
        mid.tree.apply(t);
    }
    let files = vec![
        ("snapshot.0".to_owned(), fresh),
        (format!("snapshot.{:x}", a[a.len() - 1].zxid.0), encode_snapshot(&mid.tree, true)),
        ("log.1".to_owned(), encode_log(a, 0)),
        (format!("log.{:x}", b[0].zxid.0), encode_log(b, 300)),
    ];
    let loaded = load_files(&files).unwrap();
    assert_eq!(loaded.snapshot.as_ref().map(|(_, z)| *z), Some(a[a.len() - 1].zxid));
    assert_eq!(loaded.applied, b.len());
    assert_eq!(loaded.snapshot_digest_ok, Some(true));
    assert_eq!(loaded.digest_mismatch_count, 0);
    same(&loaded.tree, &s.tree);
    // Logs only (every transaction), and the old snapshot only.
    let logs_only: Vec<_> = files.iter().filter(|(n, _)| n.starts_with("log")).cloned().collect();
    same(&load_files(&logs_only).unwrap().tree, &s.tree);
    let old = vec![files[0].clone(), files[2].clone(), files[3].clone()];
    let loaded = load_files(&old).unwrap();
    assert_eq!(loaded.applied, txns.len());
    same(&loaded.tree, &s.tree);
}

#[test]
fn a_missing_log_is_reported() {
    let (_, txns) = workload();
    let (a, rest) = txns.split_at(5);
    let (_, c) = rest.split_at(4);
    let files =
        vec![("log.1".to_owned(), encode_log(a, 0)), (format!("log.{:x}", c[0].zxid.0), encode_log(c, 0))];
    let loaded = load_files(&files).unwrap();
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    assert!(loaded.warnings[0].contains("transactions 0x6 to 0x9 are missing"), "{:?}", loaded.warnings);
}

#[test]
fn a_corrupt_newest_snapshot_is_skipped_for_an_older_one() {
    let (s, txns) = workload();
    let mut bad = encode_snapshot(&s.tree, true);
    let mid = bad.len() / 2;
    bad[mid] ^= 0x40;
    let files = vec![
        ("snapshot.0", encode_snapshot(&DataTree::new(), false)),
        ("snapshot.ff", bad),
        ("log.1", encode_log(&txns, 0)),
    ];
    let loaded = load_files(&files).unwrap();
    assert_eq!(loaded.snapshot.as_ref().map(|(n, _)| n.as_str()), Some("snapshot.0"));
    assert_eq!(loaded.skipped_snapshots.len(), 1);
    assert_eq!(loaded.skipped_snapshots[0].file, "snapshot.ff");
    same(&loaded.tree, &s.tree);
    // With no usable snapshot at all: an error naming the newest.
    let err = load_files(&files[1..2]).unwrap_err();
    assert_eq!(err.file, "snapshot.ff");
    assert!(err.reason.contains("none of the 1 snapshots"), "{err}");
}

#[test]
fn a_cut_log_ends_at_its_last_whole_record_and_a_bad_checksum_is_an_error() {
    let (s, txns) = workload();
    let full = encode_log(&txns, 0);
    let cut = &full[..full.len() - 5];
    let file = log::decode(cut).unwrap();
    assert_eq!(file.entries.len(), txns.len() - 1);
    assert!(matches!(file.end, log::LogEnd::Partial { .. }));
    let loaded = load_files(&[("log.1", cut.to_vec())]).unwrap();
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    assert!(loaded.warnings[0].starts_with("log.1 at byte "), "{:?}", loaded.warnings);
    assert_ne!(loaded.tree.digest(), s.tree.digest());
    // A flipped byte inside a record: the record's checksum fails.
    let mut bad = full.clone();
    let at = bad.len() - 10;
    bad[at] ^= 1;
    let err = load_files(&[("log.1", bad)]).unwrap_err();
    assert_eq!(err.file, "log.1");
    assert!(err.reason.contains("checksum"), "{err}");
    assert!(err.to_string().starts_with("log.1 at byte "), "{err}");
}

#[test]
fn a_fuzzy_snapshot_is_repaired_by_the_replay() {
    // The snapshot already holds a child created after its zxid; replaying that create
    // finds NODEEXISTS and still raises the parent's cversion and pzxid, as ZooKeeper does.
    let (s, txns) = workload();
    let cut = txns
        .iter()
        .position(|t| matches!(&t.op, TxnOp::Create { path, .. } if path == "/app/seq-0000000002"))
        .unwrap();
    let mut early = DataTree::new();
    for t in &txns[..cut] {
        early.apply(t);
    }
    let mut fuzzy = early.clone();
    let child = match &txns[cut].op {
        TxnOp::Create { path, data, acl, owner, .. } => {
            let stat = crate::tree::StatPersisted::created(txns[cut].zxid, txns[cut].time, *owner);
            fuzzy.import_node(path, data.clone(), acl, stat).unwrap();
            path.clone()
        }
        op => panic!("expected a create, got {op}"),
    };
    let mut entry = log::decode_entry(&encode_entry(&txns[cut]), 0, 0).unwrap();
    entry.opcode = log::opcode::CREATE;
    let parent = path::parent(&child).unwrap();
    replay(&mut fuzzy, &entry);
    let mut exact = early;
    exact.apply(&txns[cut]);
    assert_eq!(fuzzy.node(parent).unwrap().stat, exact.node(parent).unwrap().stat);
    assert_eq!(fuzzy.digest(), exact.digest());
    let _ = s;
}

#[test]
fn a_snapshot_without_its_digest_trailer_is_whole_but_a_cut_seal_is_not() {
    let (s, _) = workload();
    let snap = encode_snapshot(&s.tree, true);
    let old_format = decode_snapshot("snapshot.5", &snap[..snap.len() - 33]).unwrap();
    assert_eq!(old_format.digest, None);
    for cut in [snap.len() - 34, snap.len() - 32, snap.len() - 1] {
        assert!(decode_snapshot("snapshot.5", &snap[..cut]).is_err(), "cut at {cut}");
    }
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    for bytes in [&b""[..], b"ZKSN", b"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", &[0xff; 40]] {
        assert!(decode_snapshot("snapshot.1", bytes).is_err());
        assert!(log::decode(bytes).is_err());
    }
    let err = decode_snapshot("snapshot.1", b"XXXXXXXXXXXXXXXXXXXX").unwrap_err();
    assert_eq!(
        err.to_string(),
        "snapshot.1 at byte 0: not a ZooKeeper snapshot (magic 0x58585858, want ZKSN)"
    );
    assert!(decode_snapshot("snapshot.1.gz", b"not gzip at all, no").is_err());
    assert!(decode_snapshot("snapshot.1.snappy", b"").unwrap_err().reason.contains("snappy"));
}

fn fixtures() -> (Vec<u8>, Vec<u8>) {
    let (s, txns) = workload();
    (encode_snapshot(&s.tree, true), encode_log(&txns, 64))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn truncated_snapshots_fail_cleanly(cut in 0usize..2000) {
        let (snap, _) = fixtures();
        let cut = cut % snap.len();
        // Without its digest trailer (zxid, version, digest: 20 bytes; its seal: 13) a
        // snapshot is still whole: the format before ZooKeeper 3.6.
        let before_trailer = snap.len() - 33;
        match decode_snapshot("snapshot.5", &snap[..cut]) {
            Ok(s) => {
                prop_assert_eq!(cut, before_trailer);
                prop_assert_eq!(s.digest, None);
            }
            Err(err) => {
                prop_assert_eq!(err.file.as_str(), "snapshot.5");
                prop_assert!(err.offset.unwrap_or(0) <= cut as u64);
            }
        }
    }

    #[test]
    fn flipped_or_truncated_files_never_panic(
        which in any::<bool>(),
        flips in proptest::collection::vec((any::<usize>(), 1u8..=255), 0..4),
        cut in any::<Option<usize>>(),
    ) {
        let (snap, log) = fixtures();
        let mut bytes = if which { snap } else { log };
        for (at, x) in flips {
            let i = at % bytes.len();
            bytes[i] ^= x;
        }
        if let Some(c) = cut {
            bytes.truncate(c % (bytes.len() + 1));
        }
        let name = if which { "snapshot.10" } else { "log.1" };
        let _ = load_files(&[(name, bytes.clone())]);
        let _ = decode_snapshot("snapshot.10", &bytes);
        let _ = log::decode(&bytes);
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), magic in any::<bool>()) {
        let mut bytes = bytes;
        if magic && bytes.len() >= 4 {
            bytes[..4].copy_from_slice(b"ZKSN");
        }
        let _ = decode_snapshot("snapshot.1", &bytes);
        let _ = decode_snapshot("snapshot.1.gz", &bytes);
        if magic && bytes.len() >= 4 {
            bytes[..4].copy_from_slice(b"ZKLG");
        }
        let _ = log::decode(&bytes);
    }
}

#[test]
fn gzip_snapshots_are_inflated_and_checked() {
    let (s, _) = workload();
    let plain = encode_snapshot(&s.tree, true);
    let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    gz.extend(miniz_oxide::deflate::compress_to_vec(&plain, 6));
    gz.extend(crc32fast::hash(&plain).to_le_bytes());
    gz.extend((plain.len() as u32).to_le_bytes());
    let decoded = decode_snapshot("snapshot.11.gz", &gz).unwrap();
    same(&snapshot_tree("snapshot.11.gz", decoded, s.tree.last_zxid()).unwrap(), &s.tree);
    let n = gz.len();
    gz[n - 9] ^= 0xff; // the last deflate byte: bad data or a CRC mismatch
    assert!(decode_snapshot("snapshot.11.gz", &gz).is_err());
}
