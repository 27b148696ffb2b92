//! `zoolab zk-import` and `zoolab server --import-zk`: Apache ZooKeeper's dataDir
//! (`version-2/snapshot.*` and `log.*`) read into a zoolab tree by the core's
//! [`zoolab_core::zkdata`], then summarised, dumped as JSON, written as a zoolab snapshot,
//! or used to seed `zoolab server`'s store.

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use zoolab_core::tree::{snapshot, DataTree};
use zoolab_core::zkdata::{self, Loaded};

/// The folder `zoolab server` keeps its own snapshots and logs in, under `dataDir`
/// (the same name as in `zk/store.rs`): ZooKeeper's `version-2` is never written.
const STORE_SUBDIR: &str = "zoolab-1";

/// ZooKeeper's files: `DIR/version-2` when it exists, else `DIR` itself.
fn files_dir(dir: &Path) -> PathBuf {
    let v2 = dir.join("version-2");
    if v2.is_dir() {
        v2
    } else {
        dir.to_path_buf()
    }
}

/// The ZooKeeper files in a folder: (name, path), sorted by name.
fn list(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if zkdata::classify(&name).is_some() {
            out.push((name, e.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Loads a ZooKeeper data directory (or its `version-2`); with `log_dir` (ZooKeeper's
/// `dataLogDir`) the logs are taken from there and only the snapshots from `data_dir`.
pub fn load(data_dir: &Path, log_dir: Option<&Path>) -> Result<Loaded> {
    let snaps = files_dir(data_dir);
    let mut files = list(&snaps)?;
    if let Some(logs) = log_dir {
        let logs = files_dir(logs);
        files.retain(|(n, _)| !matches!(zkdata::classify(n), Some((zkdata::FileKind::Log, _))));
        files.extend(
            list(&logs)?
                .into_iter()
                .filter(|(n, _)| matches!(zkdata::classify(n), Some((zkdata::FileKind::Log, _)))),
        );
    }
    if files.is_empty() {
        bail!("{}: no ZooKeeper snapshot.* or log.* files here", snaps.display());
    }
    let names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    let path_of = |name: &str| files.iter().find(|(n, _)| n == name).map(|(_, p)| p.clone());
    zkdata::load(&names, |n| {
        let p = path_of(n).ok_or_else(|| "not listed".to_owned())?;
        std::fs::read(p).map_err(|e| e.to_string())
    })
    .map_err(|e| {
        let dir = path_of(&e.file).and_then(|p| p.parent().map(Path::to_path_buf)).unwrap_or(snaps.clone());
        anyhow::anyhow!("{}/{e}", dir.display())
    })
}

/// Fails when zoolab's digest differed from ZooKeeper's somewhere (unless allowed).
fn check_digests(l: &Loaded, allow: bool) -> Result<()> {
    let mut problems = Vec::new();
    if l.digest_mismatch_count > 0 {
        let first = l.digest_mismatches[0];
        problems.push(format!(
            "{} transaction(s) left a digest different from ZooKeeper's (first: zxid {}, ZooKeeper {}, zoolab {})",
            l.digest_mismatch_count, first.zxid, first.zookeeper as i64, first.zoolab as i64
        ));
    }
    if l.snapshot_digest_ok == Some(false) {
        problems.push("the snapshot's recorded digest differs from zoolab's at its zxid".to_owned());
    }
    if problems.is_empty() || allow {
        for p in &problems {
            eprintln!("warning: {p}");
        }
        return Ok(());
    }
    bail!(
        "{}; the imported tree may differ from ZooKeeper's (--allow-digest-mismatch to go on)",
        problems.join("; ")
    )
}

/// The human summary.
fn summary(l: &Loaded) -> String {
    let t = &l.tree;
    let mut s = String::new();
    let _ = writeln!(s, "zxid      {}", t.last_zxid());
    let _ = writeln!(s, "znodes    {}", t.node_count());
    let _ = writeln!(
        s,
        "sessions  {} ({} ephemerals)",
        t.sessions().len(),
        t.sessions().keys().map(|id| t.ephemerals_of(*id).count()).sum::<usize>()
    );
    let _ = writeln!(s, "digest    {} (as `hash` prints it: {})", t.digest(), t.digest() as i64);
    let from = match &l.snapshot {
        Some((name, z)) => format!("{name} (zxid {z})"),
        None => "no snapshot (an empty tree)".to_owned(),
    };
    let _ = writeln!(s, "from      {from}, then {} transaction(s) from {} log(s)", l.applied, l.logs.len());
    let snap = match l.snapshot_digest_ok {
        Some(true) => ", the snapshot's digest matched",
        Some(false) => ", the snapshot's digest DIFFERED",
        None => "",
    };
    let _ = writeln!(
        s,
        "checked   {} transaction digest(s), {} differed{snap}",
        l.digests_checked, l.digest_mismatch_count
    );
    for e in &l.skipped_snapshots {
        let _ = writeln!(s, "skipped   {e}");
    }
    for w in &l.warnings {
        let _ = writeln!(s, "warning   {w}");
    }
    s
}

fn hex(b: &[u8]) -> String {
    b.iter().fold(String::with_capacity(b.len() * 2), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

/// Everything as JSON: the summary's numbers and every node (data in hex, `null` for null
/// data; the Stat a client sees, the ACL).
fn to_json(l: &Loaded) -> Value {
    let t = &l.tree;
    let nodes: Vec<Value> = t
        .nodes()
        .map(|(path, n)| {
            let s = n.client_stat();
            let acl: Vec<Value> = t
                .acl_of(n)
                .iter()
                .map(|a| json!({"perms": a.perms.0, "scheme": a.id.scheme, "id": a.id.id}))
                .collect();
            json!({
                "path": path,
                "data_hex": n.data.as_option().map(hex),
                "stat": {
                    "czxid": s.czxid.0, "mzxid": s.mzxid.0, "ctime": s.ctime, "mtime": s.mtime,
                    "version": s.version, "cversion": s.cversion, "aversion": s.aversion,
                    "ephemeralOwner": s.ephemeral_owner, "dataLength": s.data_length,
                    "numChildren": s.num_children, "pzxid": s.pzxid.0,
                },
                "acl": acl,
            })
        })
        .collect();
    json!({
        "zxid": t.last_zxid().0,
        "digest": t.digest(),
        "sessions": t.sessions().keys().map(|s| s.0).collect::<Vec<_>>(),
        "snapshot": l.snapshot.as_ref().map(|(n, _)| n.clone()),
        "logs": l.logs,
        "applied": l.applied,
        "digests_checked": l.digests_checked,
        "digest_mismatches": l.digest_mismatch_count,
        "snapshot_digest_ok": l.snapshot_digest_ok,
        "hash": l.digest_log.render(),
        "skipped_snapshots": l.skipped_snapshots.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
        "warnings": l.warnings,
        "nodes": nodes,
    })
}

fn write_snapshot(tree: &DataTree, out: &Path) -> Result<()> {
    std::fs::write(out, snapshot::encode(tree)).with_context(|| format!("writing {}", out.display()))
}

/// What `zk-import` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// The human summary.
    Summary,
    /// Everything as JSON.
    Json,
    /// The `hash` four-letter word's lines for the replayed zxids.
    Hash,
}

/// `zoolab zk-import --data-dir DIR [--data-log-dir DIR] [--out FILE] [--json|--hash]`.
pub fn run(
    data_dir: &Path,
    log_dir: Option<&Path>,
    out: Option<&Path>,
    output: Output,
    allow_mismatch: bool,
) -> Result<()> {
    let loaded = load(data_dir, log_dir)?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    let as_json = output == Output::Json;
    if output == Output::Hash {
        print!("{}", loaded.digest_log.render());
    } else if as_json {
        println!("{}", serde_json::to_string(&to_json(&loaded))?);
    } else {
        print!("{}", summary(&loaded));
    }
    check_digests(&loaded, allow_mismatch)?;
    if let Some(out) = out {
        write_snapshot(&loaded.tree, out)?;
        if output == Output::Summary {
            println!("wrote     {} (a zoolab snapshot)", out.display());
        }
    }
    Ok(())
}

/// `zoolab server --config zoo.cfg --import-zk DIR`: seeds the server's store (under its
/// `dataDir`) with the tree of ZooKeeper's data directory DIR, which may be that same
/// `dataDir` (ZooKeeper's `version-2` is only read). Refuses when the store already
/// holds data, so a restart never replaces newer zoolab writes with the old import.
pub fn seed_server(
    config: &Path,
    zk_dir: &Path,
    zk_log_dir: Option<&Path>,
    allow_mismatch: bool,
) -> Result<()> {
    let cfg = crate::zk::config::Config::load(config)?;
    if !cfg.standalone() {
        bail!(
            "--import-zk seeds a standalone server; for an ensemble, import into one standalone \
             server first (ensemble members do not take an imported tree yet)"
        );
    }
    let Some(data_dir) = cfg.data_dir.as_deref() else {
        bail!("--import-zk needs a dataDir in {} to import into", config.display());
    };
    let log_dir = cfg.data_log_dir.as_deref().unwrap_or(data_dir);
    for dir in [data_dir.join(STORE_SUBDIR), log_dir.join(STORE_SUBDIR)] {
        let used = std::fs::read_dir(&dir).map(|mut it| {
            it.any(|e| {
                e.map(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n.starts_with("snapshot.") || n.starts_with("log.")
                })
                .unwrap_or(false)
            })
        });
        if used.unwrap_or(false) {
            bail!(
                "{} already holds zoolab data: start without --import-zk, or import into an empty dataDir",
                dir.display()
            );
        }
    }
    let loaded = load(zk_dir, zk_log_dir)?;
    eprint!("{}", summary(&loaded));
    check_digests(&loaded, allow_mismatch)?;
    let dir = data_dir.join(STORE_SUBDIR);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(format!("snapshot.{:016x}", loaded.tree.last_zxid().0));
    write_snapshot(&loaded.tree, &path)?;
    eprintln!("seeded    {} from {}", path.display(), zk_dir.display());
    Ok(())
}
