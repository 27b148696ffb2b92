//! The pure parts of `zoolab migrate`: the journal file, the order changes are applied
//! in, the conversion of a client-visible Stat to the stored one, and the gates'
//! decisions. The phases themselves are the core's ([`zoolab_core::migration::phase`]).

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use zoolab_core::jute::proto::{WireAcl, WireStat};
use zoolab_core::migration::phase::{Evidence, Migration};
use zoolab_core::tree::{Acl, Perms, StatPersisted};

/// The journal: the migration (phase, stamp, every transition with its evidence) and
/// what later phases need from earlier ones. Written after every transition (to a
/// temporary file, then renamed), so a killed controller resumes from the last
/// completed phase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    /// The source's hosts and chroot, as given.
    pub from: String,
    /// The target's hosts and chroot, as given.
    pub to: String,
    /// The migrated subtree (relative to each side's chroot).
    pub subtree: String,
    /// The core's phase machine.
    pub migration: Migration,
    /// The source zxid the seed walk started at (the watch was set before it).
    pub start_zxid: Option<i64>,
    /// The source zxid the copy is known to be complete through.
    pub applied_zxid: Option<i64>,
    /// The source's zxid at the freeze (the fence marker's, on zoolab).
    pub fence_zxid: Option<i64>,
    /// The target's zxid at the cut-over.
    pub raised_zxid: Option<i64>,
    /// An abort after the cut-over: the evidence of the copy back (the target's writes
    /// since the cut-over copied to the source and the two compared), journaled before
    /// the source's epoch is raised and its fence lifted. A resumed abort that finds a
    /// zoolab source already unfenced does not copy again (the source may take writes).
    #[serde(default)]
    pub copied_back: Option<String>,
    /// What the sides are and how the copy travels, fixed by the first run: a resumed
    /// run that sees otherwise refuses to go on (the fence, the record and the copy's
    /// fidelity all depend on them).
    #[serde(default)]
    pub sides: Option<Sides>,
}

/// The journaled kind of each side and the transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sides {
    /// The source answered `srvr` as zoolab (it has the write fence).
    pub source_zoolab: bool,
    /// The target answered `srvr` as zoolab (it has the import path).
    pub target_zoolab: bool,
    /// `--logical`: the copy goes through plain client writes.
    pub logical: bool,
}

impl Journal {
    /// A new journal in draft.
    pub fn new(from: &str, to: &str, subtree: &str, stamp: u64) -> Journal {
        Journal {
            from: from.into(),
            to: to.into(),
            subtree: subtree.into(),
            migration: Migration::new(stamp),
            start_zxid: None,
            applied_zxid: None,
            fence_zxid: None,
            raised_zxid: None,
            copied_back: None,
            sides: None,
        }
    }

    /// Journals `now` on the first run; on a resumed one, refuses a change (say a side
    /// answering as another implementation, or `--logical` added or dropped).
    pub fn check_sides(&mut self, now: Sides) -> Result<()> {
        let Some(was) = self.sides else {
            self.sides = Some(now);
            return Ok(());
        };
        let kind = |z: bool| if z { "zoolab" } else { "ZooKeeper" };
        let mut diff = Vec::new();
        if was.source_zoolab != now.source_zoolab {
            diff.push(format!(
                "the source was {} and is now {}",
                kind(was.source_zoolab),
                kind(now.source_zoolab)
            ));
        }
        if was.target_zoolab != now.target_zoolab {
            diff.push(format!(
                "the target was {} and is now {}",
                kind(was.target_zoolab),
                kind(now.target_zoolab)
            ));
        }
        if was.logical != now.logical {
            diff.push(format!(
                "the journal was started {} --logical",
                if was.logical { "with" } else { "without" }
            ));
        }
        if !diff.is_empty() {
            anyhow::bail!("this journal's migration cannot resume: {}", diff.join("; "));
        }
        Ok(())
    }

    /// Reads a journal; `None` if the file does not exist.
    pub fn load(path: &Path) -> Result<Option<Journal>> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(Some(
                serde_json::from_slice(&bytes)
                    .with_context(|| format!("{} is not a migration journal", path.display()))?,
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Writes the journal atomically (temporary file, sync, rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        let tmp = path.with_extension("tmp");
        let bytes = serde_json::to_vec_pretty(self)?;
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
            f.write_all(&bytes)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)
            .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
    }

    /// Takes the journal's exclusive lock (an advisory `flock` on `<journal>.lock`, a
    /// file that stays while the journal itself is replaced by renames): two processes
    /// cannot drive one journal. Held until the returned file is dropped.
    pub fn lock(path: &Path) -> Result<std::fs::File> {
        let mut name = path.as_os_str().to_owned();
        name.push(".lock");
        let lock = std::path::PathBuf::from(name);
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock)
            .with_context(|| format!("opening {}", lock.display()))?;
        match f.try_lock() {
            Ok(()) => Ok(f),
            Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
                "another zoolab migrate process drives {} (it holds {}): one process per journal",
                path.display(),
                lock.display()
            ),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("locking {}", lock.display()))
            }
        }
    }

    /// Whether a journal was written for this same migration: the same subtree and
    /// chroots, and at least one server in common on each side (an ensemble's member
    /// list may change during a migration).
    pub fn same_migration(&self, from: &str, to: &str, subtree: &str) -> bool {
        fn overlap(a: &str, b: &str) -> bool {
            let split = |s: &str| {
                let (hosts, root) = s.split_at(s.find('/').unwrap_or(s.len()));
                (hosts.split(',').map(str::trim).map(str::to_string).collect::<Vec<_>>(), root.to_string())
            };
            let ((ha, ra), (hb, rb)) = (split(a), split(b));
            ra == rb && ha.iter().any(|h| hb.contains(h))
        }
        self.subtree == subtree && overlap(&self.from, from) && overlap(&self.to, to)
    }
}

/// Why an abort must be refused without `--force`, if it must: after the cut-over
/// (`cut`) the target serves clients, and the abort copies its writes back to the
/// source only once the target is fenced — which this controller can do on zoolab, not
/// on Apache ZooKeeper (the operator must stop its writers and say so with `--force`).
pub fn abort_refusal(
    cut: bool,
    target_zoolab: bool,
    force: bool,
    target: &str,
    root: &str,
) -> Option<String> {
    (cut && !target_zoolab && !force).then(|| {
        format!(
            "the target {target} is not zoolab: this controller cannot fence it, and a write it takes during or \
             after the copy back would be lost to the source; stop its writers in {root}, then abort with --force \
             (meaning: the target's writers are stopped; the copy back then runs)"
        )
    })
}

/// The journaled note of a copy back: this pass's, and the first pass's count when an
/// earlier (interrupted, or gate-closed) abort copied back before.
pub fn copy_back_note(this: String, earlier: Option<&str>) -> String {
    const MARK: &str = "first pass: ";
    match earlier {
        Some(e) => {
            let first = match e.find(MARK) {
                Some(i) => &e[i + MARK.len()..],
                None => e.split(';').next().unwrap_or(e),
            };
            format!("{this}; {MARK}{first}")
        }
        None => this,
    }
}

/// Whether a cluster's migration record (as read) belongs to another subtree's
/// migration still in progress — one fence and one record per cluster, so a second
/// migration must wait for it to be committed or rolled back. The reason, naming it.
pub fn overlapping(record: &serde_json::Value, subtree: &str) -> Option<String> {
    let other = record["subtree"].as_str()?;
    let state = record["state"].as_str().unwrap_or("in progress");
    if other == subtree || matches!(state, "committed" | "rolled back") {
        return None;
    }
    Some(format!(
        "holds the record of another migration in progress: subtree {other} ({} -> {}, stamp {}); one migration \
         per cluster at a time: commit or abort it first",
        record["from"].as_str().unwrap_or("?"),
        record["to"].as_str().unwrap_or("?"),
        record["stamp"]
    ))
}

/// One znode as read through the client API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeCopy {
    /// Its data (null kept: it is copied as null).
    pub data: zoolab_core::tree::Data,
    /// Its ACL.
    pub acl: Vec<WireAcl>,
    /// Its Stat as clients see it.
    pub stat: WireStat,
}

/// The stored Stat behind a client-visible one (the core's
/// [`StatPersisted::from_client`], which the simulator's logical copy uses too).
pub fn persisted(s: &WireStat) -> StatPersisted {
    StatPersisted::from_client(&zoolab_core::tree::Stat::from(s))
}

/// The Stat a node is imported with. A copy compared logically but sent through the
/// import path (the copy back into a fenced zoolab source after a `--logical`
/// migration: the fence refuses client writes) brings the node's Stat as the sending
/// side has it, except its cversion — the sequence counter of its children — which
/// never goes below the receiving side's (a logical copy restarted it): a sequential
/// create there must not hand out a name again.
pub fn import_stat(node: &WireStat, existing: Option<&WireStat>, exact: bool) -> StatPersisted {
    let mut stat = persisted(node);
    if !exact {
        if let Some(e) = existing {
            stat.cversion = stat.cversion.max(persisted(e).cversion);
        }
    }
    stat
}

/// The core's ACL from the wire's.
pub fn acl(list: &[WireAcl]) -> Vec<Acl> {
    list.iter().map(|a| Acl::new(Perms(a.perms), &a.scheme, &a.id)).collect()
}

/// One change to apply to the target, at the source zxid it was observed at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Create or overwrite the node at this path (relative to the migrated root).
    Upsert {
        /// The relative path.
        rel: String,
        /// The node as the source has it.
        node: NodeCopy,
    },
    /// Remove this path and everything under it (a tombstone).
    Tombstone {
        /// The relative path.
        rel: String,
        /// A source zxid at or after the delete (the parent's pzxid, or the read's).
        zxid: i64,
    },
}

impl Change {
    /// The relative path.
    pub fn rel(&self) -> &str {
        match self {
            Change::Upsert { rel, .. } | Change::Tombstone { rel, .. } => rel,
        }
    }

    /// The source zxid of the state it carries (an upsert's last change to the node).
    pub fn zxid(&self) -> i64 {
        match self {
            Change::Upsert { node, .. } => node.stat.mzxid.max(node.stat.czxid),
            Change::Tombstone { zxid, .. } => *zxid,
        }
    }
}

/// The order changes are applied in: source zxid order, except that an upsert never
/// comes after an upsert of one of its descendants (a parent must exist before its
/// children: the parent's key is the smallest of its subtree's) and a tombstone never
/// comes before a tombstone of one of its descendants (children go first: the
/// parent's key is the largest of its subtree's). Ties: upserts before tombstones,
/// shallower upserts first, deeper tombstones first, then by path.
pub fn order(changes: Vec<Change>) -> Vec<Change> {
    let depth = |p: &str| if p == "/" { 0 } else { p.matches('/').count() };
    let ups = Subtrees::new(&changes, true, i64::min);
    let tombs = Subtrees::new(&changes, false, i64::max);
    let keys: Vec<i64> = changes
        .iter()
        .map(|c| match c {
            Change::Upsert { rel, .. } => ups.fold(rel, c.zxid()),
            Change::Tombstone { rel, .. } => tombs.fold(rel, c.zxid()),
        })
        .collect();
    let mut keyed: Vec<(i64, u8, i64, String, Change)> = changes
        .into_iter()
        .zip(keys)
        .map(|(c, k)| {
            let d = depth(c.rel()) as i64;
            match &c {
                Change::Upsert { .. } => (k, 0, d, c.rel().to_string(), c),
                Change::Tombstone { .. } => (k, 1, -d, c.rel().to_string(), c),
            }
        })
        .collect();
    keyed.sort_by(|a, b| (a.0, a.1, a.2, &a.3).cmp(&(b.0, b.1, b.2, &b.3)));
    keyed.into_iter().map(|k| k.4).collect()
}

/// The zxids of one kind of change by path, folded (min or max) over any subtree in
/// O(log n): a subtree's strict descendants are one contiguous range of the sorted
/// paths (`p/` up to `p0`, `0` being the character after `/`), and a sparse table
/// answers a range's fold. `order` is O(n log n) with it.
struct Subtrees {
    paths: Vec<String>,
    table: Vec<Vec<i64>>,
    op: fn(i64, i64) -> i64,
}

impl Subtrees {
    fn new(changes: &[Change], upserts: bool, op: fn(i64, i64) -> i64) -> Subtrees {
        let mut items: Vec<(String, i64)> = changes
            .iter()
            .filter(|c| matches!(c, Change::Upsert { .. }) == upserts)
            .map(|c| (c.rel().to_string(), c.zxid()))
            .collect();
        items.sort();
        let (paths, base): (Vec<String>, Vec<i64>) = items.into_iter().unzip();
        let mut table = vec![base];
        let mut k = 1;
        while 2 * k <= paths.len() {
            let prev = table.last().expect("the base row");
            let next = (0..=paths.len() - 2 * k).map(|i| op(prev[i], prev[i + k])).collect();
            table.push(next);
            k *= 2;
        }
        Subtrees { paths, table, op }
    }

    /// `own` folded with the zxids of `rel`'s strict descendants (every path, for `/`).
    fn fold(&self, rel: &str, own: i64) -> i64 {
        let (l, r) = if rel == "/" {
            (0, self.paths.len())
        } else {
            let (lo, hi) = (format!("{rel}/"), format!("{rel}0"));
            (self.paths.partition_point(|p| *p < lo), self.paths.partition_point(|p| *p < hi))
        };
        if l >= r {
            return own;
        }
        let j = (usize::BITS - 1 - (r - l).leading_zeros()) as usize;
        let row = &self.table[j];
        (self.op)(own, (self.op)(row[l], row[r - (1 << j)]))
    }
}

/// How far `applied` is behind `source`, in transactions, when both are in the same
/// epoch; `None` when the epochs differ (the lag cannot be counted).
pub fn lag(source: i64, applied: i64) -> Option<i64> {
    ((source >> 32) == (applied >> 32)).then(|| (source - applied).max(0))
}

/// The catch-up gate: the copy is complete through `applied`, within `max_lag`
/// transactions of the source (the `waiting` paths changed after `applied`: they are
/// that lag, shown, not counted twice).
pub fn catch_up_gate(source: i64, applied: i64, waiting: usize, max_lag: i64) -> Evidence {
    let l = lag(source, applied);
    Evidence {
        holds: l.is_some_and(|l| l <= max_lag),
        detail: format!(
            "source zxid 0x{source:x}, applied 0x{applied:x}, lag {}, {waiting} changed paths waiting",
            l.map_or("unknown (epochs differ)".into(), |l| l.to_string())
        ),
    }
}

/// The verify gate: equal counts and hashes, no difference.
pub fn verify_gate(source: &str, target: &str, equal: bool, diffs: &[String], skipped: usize) -> Evidence {
    verify_gate_named(("source", source), ("target", target), equal, diffs, skipped)
}

/// The verify gate with each side named (the copy back compares the target, which
/// sends, with the source, which receives).
pub fn verify_gate_named(
    (sending, source): (&str, &str),
    (receiving, target): (&str, &str),
    equal: bool,
    diffs: &[String],
    skipped: usize,
) -> Evidence {
    let mut detail = format!("{sending} {source}; {receiving} {target}; {} differences", diffs.len());
    if skipped > 0 {
        detail.push_str(&format!(" ({skipped} paths changed during the walk, left to the final sync)"));
    }
    for d in diffs.iter().take(5) {
        detail.push_str(&format!("; {d}"));
    }
    Evidence { holds: equal && diffs.is_empty(), detail }
}

/// The persistent nodes written after the freeze: created or changed above the fence
/// zxid. A parent's pzxid is not evidence: ephemeral churn and session closes move it
/// (ZooKeeper's own, harmless after a freeze); a persistent child's creation shows in
/// the child's czxid, its deletion in the watch (the caller adds those).
pub fn late<'a>(persistent: impl IntoIterator<Item = (&'a str, &'a WireStat)>, fence: i64) -> Vec<String> {
    persistent
        .into_iter()
        .filter(|(_, st)| st.czxid.max(st.mzxid) > fence)
        .map(|(p, _)| p.to_string())
        .collect()
}

/// The final-sync gate: the copy equals the source and nothing in scope changed on
/// the source after the freeze (`late`: see [`late`] — a writer the freeze did not
/// stop).
pub fn final_sync_gate(fence: i64, applied: i64, equal: bool, late: &[String], diffs: usize) -> Evidence {
    let mut detail = format!("fence zxid 0x{fence:x}, applied through 0x{applied:x}, {diffs} differences");
    if !late.is_empty() {
        detail.push_str(&format!(
            "; {} paths written after the freeze (e.g. {}): a writer is still running",
            late.len(),
            late.iter().take(3).cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    Evidence { holds: equal && diffs == 0 && late.is_empty() && applied >= fence, detail }
}

/// The cut-over's gate, checked again at the soak: the target's epoch above the
/// source's. The source keeps taking zxids after its freeze (sessions, other subtrees,
/// refused writes take error zxids), so a zxid margin in one epoch does not hold; an
/// epoch above does, for as long as the source stays in its epoch (the soak re-checks).
/// When it fails, the detail says how to restart the target's election above it
/// (`--min-epoch`, after which the next leader's epoch is above the one given).
pub fn cut_over_gate(target: i64, source: i64, target_is_zoolab: bool) -> Evidence {
    let (te, se) = (target >> 32, source >> 32);
    if te > se {
        return Evidence {
            holds: true,
            detail: format!(
                "target zxid 0x{target:x} (epoch {te}) above source zxid 0x{source:x} (epoch {se})"
            ),
        };
    }
    let how = if target_is_zoolab {
        format!(
            "restart every target member with `zoolab server --config … --min-epoch {se}` (a standalone zoolab \
             server has no election: migrate into an ensemble)"
        )
    } else {
        format!("each ZooKeeper leader election adds one to the epoch: restart the target's leader until it passes {se}")
    };
    Evidence {
        holds: false,
        detail: format!(
            "target zxid 0x{target:x} is in epoch {te}, not above the source's 0x{source:x} (epoch {se}): {how}, then step again"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zoolab_core::migration::phase::Phase;

    fn up(rel: &str, czxid: i64, mzxid: i64) -> Change {
        let stat = WireStat { czxid, mzxid, pzxid: czxid, ..WireStat::default() };
        Change::Upsert { rel: rel.into(), node: NodeCopy { data: Default::default(), acl: vec![], stat } }
    }

    #[test]
    fn one_process_per_journal() {
        let dir = std::env::temp_dir().join(format!("zoolab-journal-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let j = dir.join("j.json");
        let held = Journal::lock(&j).unwrap();
        let e = Journal::lock(&j).unwrap_err().to_string();
        assert!(e.contains("another zoolab migrate process"), "{e}");
        drop(held);
        Journal::lock(&j).expect("free again once the holder is gone");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_resumed_journal_refuses_other_sides_or_transport() {
        let mut j = Journal::new("a:1", "b:1", "/app", 1);
        let first = Sides { source_zoolab: false, target_zoolab: true, logical: false };
        j.check_sides(first).unwrap();
        assert_eq!(j.sides, Some(first), "journaled by the first run");
        j.check_sides(first).unwrap();
        let e = j.check_sides(Sides { target_zoolab: false, ..first }).unwrap_err().to_string();
        assert!(e.contains("target was zoolab and is now ZooKeeper"), "{e}");
        let e = j.check_sides(Sides { logical: true, ..first }).unwrap_err().to_string();
        assert!(e.contains("without --logical"), "{e}");
        // A journal written before sides were journaled still loads.
        let old = serde_json::to_value(Journal::new("a:1", "b:1", "/app", 1)).unwrap();
        let mut old = old.as_object().unwrap().clone();
        old.remove("sides");
        let back: Journal = serde_json::from_value(serde_json::Value::Object(old)).unwrap();
        assert_eq!(back.sides, None);
    }

    #[test]
    fn another_subtrees_migration_in_progress_is_refused_until_it_ends() {
        let rec = |subtree: &str, state: Option<&str>| {
            let mut v = serde_json::json!({"stamp": 4, "from": "a:1", "to": "b:1", "subtree": subtree});
            if let Some(s) = state {
                v["state"] = s.into();
            }
            v
        };
        let why = overlapping(&rec("/svc", Some("in progress")), "/app").expect("refused");
        assert!(why.contains("subtree /svc") && why.contains("stamp 4"), "{why}");
        assert!(overlapping(&rec("/svc", None), "/app").is_some(), "a record without state is in progress");
        assert_eq!(overlapping(&rec("/svc", Some("committed")), "/app"), None);
        assert_eq!(overlapping(&rec("/svc", Some("rolled back")), "/app"), None);
        assert_eq!(
            overlapping(&rec("/app", Some("in progress")), "/app"),
            None,
            "a takeover of the same subtree"
        );
    }

    fn is_under(anc: &str, path: &str) -> bool {
        anc == "/" || path.strip_prefix(anc).is_some_and(|r| r.starts_with('/'))
    }

    /// The quadratic definition `order` had: its keys, to check the fast one against.
    fn order_by_definition(changes: Vec<Change>) -> Vec<Change> {
        let depth = |p: &str| if p == "/" { 0 } else { p.matches('/').count() as i64 };
        let key = |c: &Change| {
            let (ups, agg): (bool, fn(i64, i64) -> i64) = match c {
                Change::Upsert { .. } => (true, i64::min),
                Change::Tombstone { .. } => (false, i64::max),
            };
            changes
                .iter()
                .filter(|d| matches!(d, Change::Upsert { .. }) == ups && is_under(c.rel(), d.rel()))
                .map(Change::zxid)
                .fold(c.zxid(), agg)
        };
        let mut keyed: Vec<_> = changes
            .iter()
            .map(|c| match c {
                Change::Upsert { .. } => (key(c), 0u8, depth(c.rel()), c.rel().to_string(), c.clone()),
                Change::Tombstone { .. } => (key(c), 1u8, -depth(c.rel()), c.rel().to_string(), c.clone()),
            })
            .collect();
        keyed.sort_by(|a, b| (a.0, a.1, a.2, &a.3).cmp(&(b.0, b.1, b.2, &b.3)));
        keyed.into_iter().map(|k| k.4).collect()
    }

    #[test]
    fn the_fast_order_equals_its_definition() {
        // A deterministic pseudo-random mix of upserts and tombstones over a small tree,
        // with names that sort between `p` and `p/` (`p-x`, `p.x`).
        let names = ["a", "a-b", "a.c", "b", "z"];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for round in 0..200 {
            let mut changes = Vec::new();
            for _ in 0..(round % 23 + 1) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let depth = (x % 4) as usize;
                let mut rel = String::new();
                for d in 0..depth {
                    rel.push('/');
                    rel.push_str(names[((x >> (8 + 4 * d)) % names.len() as u64) as usize]);
                }
                if rel.is_empty() {
                    rel.push('/');
                }
                let z = ((x >> 40) % 50) as i64;
                changes.push(if x & 1 == 0 { up(&rel, z, z) } else { tomb(&rel, z) });
            }
            assert_eq!(rels(&order(changes.clone())), rels(&order_by_definition(changes)), "round {round}");
        }
    }

    #[test]
    fn late_writes_are_creates_and_changes_not_a_parents_pzxid() {
        let st = |c: i64, m: i64, p: i64| WireStat { czxid: c, mzxid: m, pzxid: p, ..WireStat::default() };
        let (churned, changed, created, quiet) = (st(1, 2, 90), st(1, 60, 3), st(70, 70, 70), st(1, 2, 3));
        let nodes = [("/a", &churned), ("/b", &changed), ("/c", &created), ("/d", &quiet)];
        assert_eq!(late(nodes, 50), vec!["/b".to_string(), "/c".to_string()]);
    }

    #[test]
    fn the_cut_over_needs_the_targets_epoch_above_the_sources() {
        let z = |e: i64, c: i64| (e << 32) | c;
        // A zxid margin inside one epoch is not enough: the source keeps counting.
        let same = cut_over_gate(z(1, 900), z(1, 5), true);
        assert!(!same.holds && same.detail.contains("--min-epoch 1"), "{}", same.detail);
        let behind = cut_over_gate(z(1, 900), z(2, 5), false);
        assert!(!behind.holds && behind.detail.contains("restart the target's leader"), "{}", behind.detail);
        assert!(cut_over_gate(z(3, 1), z(2, 0xffff), true).holds);
    }

    fn tomb(rel: &str, zxid: i64) -> Change {
        Change::Tombstone { rel: rel.into(), zxid }
    }

    fn rels(v: &[Change]) -> Vec<String> {
        v.iter()
            .map(|c| format!("{}{}", if matches!(c, Change::Upsert { .. }) { "+" } else { "-" }, c.rel()))
            .collect()
    }

    #[test]
    fn changes_apply_in_source_zxid_order() {
        let got = order(vec![up("/b", 7, 7), tomb("/c", 5), up("/a", 3, 9), up("/d", 2, 2)]);
        assert_eq!(rels(&got), ["+/d", "-/c", "+/b", "+/a"]);
    }

    #[test]
    fn a_parent_changed_after_its_child_is_still_created_first() {
        // /p created at 2, child at 4, /p's data set at 10: /p's state is from 10, but
        // /p/c cannot be created before /p.
        let got = order(vec![up("/p/c", 4, 4), up("/p", 2, 10), up("/q", 6, 6)]);
        assert_eq!(rels(&got), ["+/p", "+/p/c", "+/q"]);
    }

    #[test]
    fn tombstones_remove_children_before_parents() {
        let got = order(vec![tomb("/p", 8), tomb("/p/c", 9), up("/x", 8, 8)]);
        assert_eq!(rels(&got), ["+/x", "-/p/c", "-/p"]);
    }

    #[test]
    fn the_stored_cversion_is_recovered_from_the_visible_one() {
        // 5 children created, 2 deleted: clients see 7 (creates plus deletes), 3 children.
        let s = WireStat { cversion: 7, num_children: 3, ..WireStat::default() };
        assert_eq!(persisted(&s).cversion, 5);
        let back = zoolab_core::tree::Stat::from_persisted(&persisted(&s), 0, 3);
        assert_eq!(back.cversion, 7);
    }

    #[test]
    fn gates_hold_only_on_their_evidence() {
        let e1 = 1i64 << 32;
        assert!(catch_up_gate(e1 + 10, e1 + 8, 0, 5).holds);
        assert!(!catch_up_gate(e1 + 10, e1 + 2, 0, 5).holds, "lag 8 > 5");
        assert!(
            catch_up_gate(e1 + 10, e1 + 9, 3, 5).holds,
            "paths changed after the applied zxid are the lag"
        );
        assert!(!catch_up_gate(e1 + 10, 0, 0, 5).holds, "nothing complete yet");
        assert!(!catch_up_gate(2 * e1 + 1, e1 + 10, 0, 5).holds, "epochs differ");
        assert!(cut_over_gate(2 * e1, e1 + 99, true).holds);
        assert!(!cut_over_gate(e1 + 99, e1 + 99, true).holds);
        assert!(final_sync_gate(e1 + 5, e1 + 5, true, &[], 0).holds);
        let late = final_sync_gate(e1 + 5, e1 + 5, true, &["/a".into()], 0);
        assert!(!late.holds && late.detail.contains("writer is still running"), "{}", late.detail);
        assert!(!verify_gate("s", "t", true, &["/x data differs".into()], 0).holds);
        assert!(!verify_gate("s", "t", false, &[], 0).holds);
        assert!(verify_gate("s", "s", true, &[], 2).holds);
        let back = verify_gate_named(("target", "t"), ("source", "s"), true, &[], 0);
        assert!(
            back.holds && back.detail.starts_with("target t; source s; 0 differences"),
            "{}",
            back.detail
        );
    }

    #[test]
    fn a_logical_import_never_moves_a_sequence_counter_back() {
        let s = |cversion: i32, version: i32| WireStat {
            cversion,
            version,
            num_children: 1,
            ..WireStat::default()
        };
        let (sent, there) = (s(3, 1), s(25, 7));
        assert_eq!(import_stat(&sent, Some(&there), true), persisted(&sent), "exact: the Stat as sent");
        let logical = import_stat(&sent, Some(&there), false);
        assert_eq!((logical.cversion, logical.version), (persisted(&there).cversion, 1));
        assert_eq!(import_stat(&sent, None, false), persisted(&sent), "a new node");
        assert_eq!(import_stat(&there, Some(&sent), false), persisted(&there), "already ahead");
    }

    #[test]
    fn a_resumed_copy_back_keeps_the_first_passs_count() {
        let one = copy_back_note("copied back 111 differences (imports); verified: x".into(), None);
        let two = copy_back_note("copied back 0 differences (imports); verified: x".into(), Some(&one));
        assert!(two.ends_with("; first pass: copied back 111 differences (imports)"), "{two}");
        let three = copy_back_note("copied back 0 differences (imports); verified: x".into(), Some(&two));
        assert!(three.ends_with("; first pass: copied back 111 differences (imports)"), "{three}");
        assert_eq!(three.matches("first pass").count(), 1, "{three}");
    }

    #[test]
    fn an_abort_after_the_cut_over_needs_force_only_without_a_fence_on_the_target() {
        assert_eq!(abort_refusal(false, false, false, "zk:1", "/app"), None, "before the cut-over");
        assert_eq!(abort_refusal(true, true, false, "zl:1", "/app"), None, "a zoolab target is fenced first");
        let why = abort_refusal(true, false, false, "zk:1", "/app").expect("refused");
        assert!(why.contains("cannot fence") && why.contains("--force") && why.contains("/app"), "{why}");
        assert_eq!(
            abort_refusal(true, false, true, "zk:1", "/app"),
            None,
            "the operator stopped its writers"
        );
    }

    #[test]
    fn the_journal_round_trips_through_its_file() {
        let dir = std::env::temp_dir().join(format!("zoolab-journal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.json");
        assert_eq!(Journal::load(&path).unwrap(), None);
        let mut j = Journal::new("127.0.0.1:2181", "127.0.0.1:3181", "/app", 3);
        j.migration.advance(3, Evidence { holds: true, detail: "ok".into() }).unwrap();
        j.fence_zxid = Some(0x1_0000_0042);
        j.copied_back = Some("verified".into());
        j.save(&path).unwrap();
        let back = Journal::load(&path).unwrap().unwrap();
        assert_eq!(back, j);
        assert_eq!(back.migration.phase(), Phase::Preflight);
        assert!(back.same_migration("127.0.0.1:2181", "127.0.0.1:3181", "/app"));
        assert!(
            back.same_migration("127.0.0.1:2182,127.0.0.1:2181", "127.0.0.1:3181", "/app"),
            "a member added"
        );
        assert!(!back.same_migration("127.0.0.1:2181", "127.0.0.1:3181", "/other"));
        assert!(!back.same_migration("127.0.0.1:2181/chroot", "127.0.0.1:3181", "/app"));
        assert!(!back.same_migration("127.0.0.1:9999", "127.0.0.1:3181", "/app"));
        std::fs::write(&path, b"{not json").unwrap();
        assert!(Journal::load(&path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
