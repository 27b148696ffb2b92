//! `zoolab zk-import` on the dataDir a real ZooKeeper 3.8 wrote (the core's fixture,
//! recorded by `make zkfiles-fixture`), as a user runs it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn zoolab(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zoolab")).args(args).output().expect("run zoolab");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fixture(which: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/data/zkfiles").join(which)
}

fn expected_hash() -> u64 {
    let text = std::fs::read_to_string(fixture("expected.json")).expect("expected.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    v["hash"].as_u64().expect("hash")
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("zoolab-zkimport-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

#[test]
fn summary_shows_zookeepers_digest_and_writes_a_zoolab_snapshot() {
    let dir = temp("out");
    let out = dir.join("tree.snap");
    let src = fixture("snap-and-logs");
    let (code, stdout, stderr) =
        zoolab(&["zk-import", "--data-dir", src.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let hash = expected_hash();
    assert!(stdout.contains(&format!("digest    {hash} ")), "{stdout}");
    assert!(stdout.contains("zxid      0x80"), "{stdout}");
    assert!(stdout.contains("sessions  2 (3 ephemerals)"), "{stdout}");
    assert!(stdout.contains("0 differed, the snapshot's digest matched"), "{stdout}");
    let tree = zoolab_core::tree::snapshot::decode(&std::fs::read(&out).expect("written"))
        .expect("a zoolab snapshot");
    assert_eq!(tree.digest(), hash);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn json_lists_every_node() {
    let src = fixture("logs-only");
    let (code, stdout, stderr) = zoolab(&["zk-import", "--data-dir", src.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(v["digest"].as_u64(), Some(expected_hash()));
    assert_eq!(v["snapshot"], serde_json::Value::Null);
    let paths: Vec<&str> =
        v["nodes"].as_array().unwrap().iter().map(|n| n["path"].as_str().unwrap()).collect();
    assert!(paths.contains(&"/cont") && paths.contains(&"/app/cfg"), "{paths:?}");
}

#[test]
fn a_corrupt_log_names_the_file_and_offset() {
    let dir = temp("corrupt");
    let src = fixture("logs-only").join("version-2");
    let mut names: Vec<String> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for n in &names {
        std::fs::copy(src.join(n), dir.join(n)).unwrap();
    }
    let victim = dir.join("log.1");
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[100] ^= 0x55;
    std::fs::write(&victim, bytes).unwrap();
    let (code, _, stderr) = zoolab(&["zk-import", "--data-dir", dir.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(stderr.contains("log.1 at byte "), "{stderr}");
    let (code, _, stderr) = zoolab(&["zk-import", "--data-dir", "/nonexistent/zk"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("/nonexistent/zk"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn server_import_refuses_to_overwrite_zoolab_data() {
    let dir = temp("seed");
    std::fs::create_dir_all(dir.join("data/zoolab-1")).unwrap();
    std::fs::write(dir.join("data/zoolab-1/snapshot.0000000000000005"), b"zoolab's own").unwrap();
    let cfg = dir.join("zoo.cfg");
    std::fs::write(&cfg, format!("tickTime=2000\ndataDir={}/data\nclientPort=0\n", dir.display())).unwrap();
    let src = fixture("snap-and-logs");
    let (code, _, stderr) =
        zoolab(&["server", "--config", cfg.to_str().unwrap(), "--import-zk", src.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(stderr.contains("already holds zoolab data"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn logs_may_live_in_a_separate_data_log_dir() {
    let dir = temp("split");
    let src = fixture("snap-and-logs").join("version-2");
    for sub in ["snaps/version-2", "logs/version-2"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    for e in std::fs::read_dir(&src).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        let to = if name.starts_with("log.") { "logs/version-2" } else { "snaps/version-2" };
        std::fs::copy(src.join(&name), dir.join(to).join(&name)).unwrap();
    }
    let snaps = dir.join("snaps");
    let logs = dir.join("logs");
    let (code, stdout, stderr) = zoolab(&[
        "zk-import",
        "--data-dir",
        snaps.to_str().unwrap(),
        "--data-log-dir",
        logs.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(v["digest"].as_u64(), Some(expected_hash()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hash_prints_the_four_letter_words_lines() {
    let src = fixture("logs-only");
    let (code, stdout, stderr) = zoolab(&["zk-import", "--data-dir", src.to_str().unwrap(), "--hash"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, format!("80: {}\n", expected_hash() as i64));
}
