//! `zoolab migrate`: the migration engine against real ensembles over TCP — the core's
//! phase machine ([`zoolab_core::migration::phase`]) with its gates and evidence, the
//! core's verification ([`zoolab_core::migration::verify`]) and fidelity report, driven
//! through the client API of any ZooKeeper (Apache ZooKeeper 3.8 included), with
//! zoolab's exact import path ([`wire`]) when the target is zoolab and the real write
//! fence ([`zoolab_core::migration::fence`]) when the source is zoolab.
//!
//! Every step is idempotent and computed from the two clusters' state, so a killed
//! controller resumes from its journal ([`plan::Journal`]): it sets its persistent
//! recursive watch again, walks both sides and reconciles before going on.

pub mod client;
pub mod plan;
pub mod wire;

use anyhow::{bail, Context, Result};
use client::{CallError, Client, Event};
use plan::{Change, Journal, NodeCopy};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use zoolab_core::ids::Zxid;
use zoolab_core::jute::proto::{OpCode, WireAcl};
use zoolab_core::jute::request::{CreateRequest, MultiOp};
use zoolab_core::migration::fence::FENCE_PATH;
use zoolab_core::migration::fidelity::{self, Transport};
use zoolab_core::migration::phase::{Evidence, Phase};
use zoolab_core::migration::record::{next_stamp, RECORD_PATH};
use zoolab_core::migration::verify::{self, Fidelity};
use zoolab_core::tree::{Data, DataTree, Import, ImportGuard, ImportedNode, StatPersisted};

/// What to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Action {
    /// Do the current phase's work and advance one phase if its gate holds.
    Step,
    /// Step until the soak (the commit is the operator's own `commit`), until `--until`
    /// (`--until committed` goes through the commit), or until a gate stays closed.
    Run,
    /// Soak and commit: the point of no return (the migration must be in its soak).
    Commit,
    /// Print the journal.
    Status,
    /// Roll back (any phase before commit).
    Abort,
}

/// The options of `zoolab migrate`.
#[derive(Clone, Debug, clap::Args)]
pub struct Opts {
    /// The source: host:port[,host:port...][/chroot].
    #[arg(long)]
    pub from: String,
    /// The target: host:port[,host:port...][/chroot].
    #[arg(long)]
    pub to: String,
    /// The subtree to migrate (relative to the chroots).
    #[arg(long, default_value = "/")]
    pub subtree: String,
    /// The journal file (JSON), written after every phase.
    #[arg(long, default_value = "zoolab-migration.json")]
    pub journal: PathBuf,
    /// step (one phase), run (through the soak's start, or --until), commit (soak and
    /// commit: no way back after), status, abort (roll back).
    #[arg(value_enum, default_value = "run")]
    pub action: Action,
    /// With run: stop on reaching this phase, before its work (e.g. freeze).
    #[arg(long, value_parser = parse_phase)]
    pub until: Option<zoolab_core::migration::phase::Phase>,
    /// Digest credentials user:password on the source (its super-user to fence a zoolab source).
    #[arg(long)]
    pub source_auth: Option<String>,
    /// Digest credentials user:password on the target (its super-user for the import path).
    #[arg(long)]
    pub target_auth: Option<String>,
    /// Copy through plain client writes even into zoolab (versions restart).
    #[arg(long)]
    pub logical: bool,
    /// A source without a fence (not zoolab): seconds with no write in scope that make the freeze.
    #[arg(long, default_value_t = 3)]
    pub quiet_secs: u64,
    /// How long the freeze waits for that quiet window before its gate stays closed.
    #[arg(long, default_value_t = 60)]
    pub freeze_wait_secs: u64,
    /// Seconds to soak after the cut-over, before commit.
    #[arg(long, default_value_t = 0)]
    pub soak_secs: u64,
    /// The catch-up gate's bound on the lag, in transactions.
    #[arg(long, default_value_t = 1000)]
    pub max_lag: i64,
    /// With abort after the cut-over: the target's writers are stopped (an Apache
    /// ZooKeeper target, which this controller cannot fence), or roll back although the
    /// copy back could not make the source equal the target (the differences are named).
    /// A zoolab target needs no --force: it is fenced, and its writes are copied back.
    #[arg(long)]
    pub force: bool,
    /// Never re-elect a zoolab ensemble to raise its epoch (at the cut-over, the target
    /// above the source; on an abort after it, the source above the target): the gate
    /// stays closed and says to restart its members with `--min-epoch`. By default the
    /// controller raises it online (zoolab's raise-epoch request to every member).
    #[arg(long)]
    pub no_online_raise: bool,
}

/// Where `run` stops before doing `phase`'s work, if it does: at `--until`, and at the
/// soak unless asked to go through the commit (`--until committed`, or `commit`).
fn stop_before(action: Action, until: Option<Phase>, phase: Phase) -> Option<String> {
    match action {
        Action::Run if until == Some(phase) => Some(format!("stopping at {phase} as asked (its gate: {})", phase.gate())),
        Action::Run if phase == Phase::Soak && until != Some(Phase::Committed) => Some(format!(
            "stopping at {phase}: the target serves; `zoolab migrate … commit` soaks and commits (no way back \
             after), `abort` rolls back (the target's writes are copied back)"
        )),
        _ => None,
    }
}

/// Parses a phase name as printed (`catch-up`, `final-sync`, `cut-over`, ...).
pub fn parse_phase(s: &str) -> Result<Phase, String> {
    let norm = |x: &str| x.replace(['-', '_', ' '], "").to_ascii_lowercase();
    let want = norm(s);
    zoolab_core::migration::phase::FORWARD
        .iter()
        .copied()
        .find(|p| norm(&p.to_string()) == want)
        .ok_or_else(|| format!("unknown phase {s:?} (draft, preflight, seed, catch-up, verify, freeze, final-sync, cut-over, soak, committed)"))
}

/// `HOSTS[/chroot]` split.
fn split_hosts(s: &str) -> (String, String) {
    match s.find('/') {
        Some(i) => {
            let root = s[i..].trim_end_matches('/');
            (s[..i].to_string(), if root.is_empty() { "/".into() } else { root.to_string() })
        }
        None => (s.to_string(), "/".to_string()),
    }
}

fn join(root: &str, rel: &str) -> String {
    match (root, rel) {
        ("/", r) => r.to_string(),
        (r, "/") => r.to_string(),
        (r, x) => format!("{r}{x}"),
    }
}

fn parent(path: &str) -> Option<&str> {
    if path == "/" {
        return None;
    }
    let i = path.rfind('/')?;
    Some(if i == 0 { "/" } else { &path[..i] })
}

/// One side of the migration.
struct Side {
    hosts: String,
    root: String,
    client: Arc<Client>,
    zoolab: bool,
    auth: Option<String>,
    /// The data version of the migration record as this process last wrote it (`None`
    /// until it claims the record). On zoolab every import is guarded by it, so once
    /// another controller writes the record, this one's imports are refused at once
    /// (`BADVERSION`), not only at its next phase's stamp check.
    record: std::sync::Mutex<Option<i32>>,
}

impl Side {
    async fn open(
        spec: &str,
        subtree: &str,
        auth: Option<String>,
        events: mpsc::UnboundedSender<Event>,
    ) -> Result<Side> {
        let (hosts, chroot) = split_hosts(spec);
        let root = join(&chroot, subtree);
        let client = Client::connect(&hosts, events).await?;
        // zoolab says so in `srvr` (its version string); anything else is treated as
        // Apache ZooKeeper (or another implementation of its client API). Every host is
        // asked until one answers; none answering is an error, not a guess.
        let mut zoolab = None;
        for h in hosts.split(',').map(str::trim).filter(|h| !h.is_empty()) {
            if let Ok(s) = client::four_letter(h, "srvr").await {
                zoolab = Some(s.contains("zoolab"));
                break;
            }
        }
        let Some(zoolab) = zoolab else {
            bail!("cannot tell whether {hosts} is zoolab or ZooKeeper: no server answered the `srvr` four-letter word")
        };
        let side = Side { hosts, root, client: Arc::new(client), zoolab, auth, record: Default::default() };
        side.authenticate().await?;
        Ok(side)
    }

    async fn authenticate(&self) -> Result<()> {
        if let Some(a) = &self.auth {
            self.client
                .auth("digest", a.as_bytes())
                .await
                .map_err(|e| anyhow::anyhow!("digest authentication on {} failed: {e}", self.hosts))?;
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!("{} ({})", self.hosts, if self.zoolab { "zoolab" } else { "ZooKeeper" })
    }

    /// The record version this process owns, if it claimed the record.
    fn owned_record(&self) -> Option<i32> {
        *self.record.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_owned_record(&self, version: i32) {
        *self.record.lock().unwrap_or_else(|e| e.into_inner()) = Some(version);
    }

    /// The guard of this process's imports: its record at the version it wrote.
    fn import_guard(&self) -> Option<ImportGuard> {
        self.owned_record().map(|v| ImportGuard { path: RECORD_PATH.into(), version: Some(v) })
    }

    /// Reads one node (data, ACL, Stat); `None` if absent. `changed` when the data's and
    /// the ACL's Stat disagree (it changed between the two reads).
    async fn read(&self, path: &str) -> Result<Option<(NodeCopy, bool)>, CallError> {
        let Some((data, stat)) = self.client.get_data(path).await? else { return Ok(None) };
        let Some((acl, astat)) = self.client.get_acl(path).await? else { return Ok(None) };
        let changed =
            astat.mzxid != stat.mzxid || astat.aversion != stat.aversion || astat.pzxid != stat.pzxid;
        Ok(Some((NodeCopy { data, acl, stat: astat }, changed)))
    }

    /// Walks the subtree: every node by path relative to the root (`/zookeeper` and the
    /// migration's own znodes left out); `changed` collects paths read mid-change.
    async fn walk(&self, changed: &mut BTreeSet<String>) -> Result<BTreeMap<String, NodeCopy>, CallError> {
        let mut out = BTreeMap::new();
        let mut todo = vec![self.root.clone()];
        while let Some(path) = todo.pop() {
            if path == "/zookeeper" || path.starts_with("/zookeeper/") {
                continue;
            }
            let Some((node, mid)) = self.read(&path).await? else { continue };
            if mid {
                changed.insert(path.clone());
            }
            if let Some(kids) = self.client.children(&path).await? {
                for k in kids {
                    todo.push(join(&path, &format!("/{k}")));
                }
            }
            let rel = verify::relative(&self.root, &path).unwrap_or("/").to_string();
            let rel = if self.root == "/" { path.clone() } else { rel };
            out.insert(rel, node);
        }
        Ok(out)
    }

    fn abs(&self, rel: &str) -> String {
        join(&self.root, rel)
    }

    fn rel<'a>(&self, abs: &'a str) -> Option<&'a str> {
        if self.root == "/" {
            return (abs != "/zookeeper" && !abs.starts_with("/zookeeper/")).then_some(abs);
        }
        verify::relative(&self.root, abs)
    }
}

/// The controller.
struct Engine {
    opts: Opts,
    src: Side,
    dst: Side,
    events: mpsc::UnboundedReceiver<Event>,
    /// Source paths changed since they were last copied (from the watch).
    dirty: BTreeSet<String>,
    journal: Journal,
    watching: bool,
    exact: bool,
    /// Whether copies are compared exactly (the whole Stat) or logically (data, ACL):
    /// the forward copy's fidelity, kept by the copy back.
    compare_exact: bool,
    /// The copy back of an abort after the cut-over: `src` and `dst` are swapped (the
    /// target is read, the source written); the receiving side's ephemerals are left
    /// alone (their sessions live there).
    reverse: bool,
    /// Persistent source nodes the catch-up saw deleted above the freeze zxid.
    late_deletes: BTreeSet<String>,
}

fn is_ephemeral(n: &NodeCopy) -> bool {
    n.stat.ephemeral_owner != 0
}

fn tree_of(nodes: &BTreeMap<String, NodeCopy>) -> DataTree {
    let mut t = DataTree::new();
    for (rel, n) in nodes {
        let _ = t.import_node(rel, n.data.clone(), &plan::acl(&n.acl), plan::persisted(&n.stat));
    }
    t
}

const BATCH_BYTES: usize = 256 << 10;
/// The largest import packet sent: `jute.maxbuffer`'s default (0xfffff) less headers.
const IMPORT_MAX_BYTES: u64 = 0xfffff - 64;
/// Lost connections in a row, in one phase, before the controller gives up.
const MAX_RECONNECTS: usize = 5;

impl Engine {
    fn fidelity(&self) -> Fidelity {
        if self.compare_exact {
            Fidelity::Exact
        } else {
            Fidelity::Logical
        }
    }

    fn stamp(&self) -> u64 {
        self.journal.migration.stamp()
    }

    fn say(&self, line: &str) {
        println!("migrate: {line}");
    }

    /// Collects watch notifications into the dirty set; true if any arrived.
    fn drain_events(&mut self) -> bool {
        let mut any = false;
        while let Ok(e) = self.events.try_recv() {
            any = true;
            if self.src.rel(&e.path).is_some() {
                // A create or delete also changes the parent's pzxid and cversion.
                if matches!(e.kind, 1 | 2) {
                    if let Some(p) = parent(&e.path) {
                        if self.src.rel(p).is_some() {
                            self.dirty.insert(p.to_string());
                        }
                    }
                }
                self.dirty.insert(e.path);
            }
        }
        any
    }

    /// Reconnects a side whose connection was lost (a new session; the watch is set
    /// again and the caller reconciles by walking both sides).
    async fn reconnect(&mut self) -> Result<()> {
        if !self.src.client.alive() {
            self.say(&format!("source connection lost; reconnecting to {}", self.src.hosts));
            let (tx, rx) = mpsc::unbounded_channel();
            self.src.client = Arc::new(connect_patiently(&self.src.hosts, tx).await?);
            self.src.authenticate().await?;
            // Notifications missed while disconnected are not replayed: the caller
            // sets the watch again and reconciles by walking both sides.
            self.events = rx;
            self.dirty.clear();
            self.watching = false;
        }
        if !self.dst.client.alive() {
            self.say(&format!("target connection lost; reconnecting to {}", self.dst.hosts));
            let (dtx, _) = mpsc::unbounded_channel();
            self.dst.client = Arc::new(connect_patiently(&self.dst.hosts, dtx).await?);
            self.dst.authenticate().await?;
        }
        Ok(())
    }

    /// Sets the persistent recursive watch (before any walk); returns its zxid.
    async fn watch(&mut self) -> Result<i64> {
        let z = self.src.client.add_recursive_watch(&self.src.root).await.map_err(|e| {
            anyhow::anyhow!("addWatch (persistent recursive) on the source's {} failed: {e}", self.src.root)
        })?;
        self.watching = true;
        Ok(z)
    }

    async fn import(&self, side: &Side, imp: &Import) -> Result<i64> {
        self.import_guarded(side, imp, side.import_guard()).await
    }

    async fn import_guarded(&self, side: &Side, imp: &Import, guard: Option<ImportGuard>) -> Result<i64> {
        let size = bincode::serialized_size(imp).unwrap_or(0);
        if size > IMPORT_MAX_BYTES {
            bail!(
                "an import batch of {size} bytes (node {}) is over zoolab's default jute.maxbuffer: \
                 a node this large cannot go through the import path; copy it with --logical",
                imp.nodes.first().map_or("?", |n| n.path.as_str())
            );
        }
        side.client.import(imp, guard.as_ref()).await.map_err(|e| match e {
            CallError::Server(-103) => anyhow::anyhow!(
                "import into {} refused (BADVERSION): the migration record {RECORD_PATH} there is no \
                 longer at the version this controller wrote — another controller took the \
                 migration over; this one stops",
                side.hosts
            ),
            CallError::Server(-102) => anyhow::anyhow!(
                "{} refused zoolab's import request (NOAUTH): it needs the super-user — configure \
                 DigestAuthenticationProvider.superDigest and pass its credentials (--target-auth / \
                 --source-auth super:PASSWORD), or copy logically with --logical",
                side.hosts
            ),
            CallError::Server(client::NONODE) => anyhow::anyhow!(
                "import into {} skipped nodes whose parent is missing there (NONODE), e.g. under {}: the \
                 batch was applied without them",
                side.hosts,
                imp.nodes.first().and_then(|n| parent(&n.path)).unwrap_or("?")
            ),
            e => anyhow::anyhow!("import into {} failed: {e}", side.hosts),
        })
    }

    /// Applies changes to the target, in order.
    async fn apply(&self, changes: Vec<Change>, target: &BTreeMap<String, NodeCopy>) -> Result<usize> {
        let changes = plan::order(changes);
        let n = changes.len();
        if changes.iter().any(|c| matches!(c, Change::Upsert { .. })) {
            self.target_parents().await?;
        }
        if self.exact {
            let mut imp = Import::default();
            let mut bytes = 0;
            for c in changes {
                match c {
                    Change::Upsert { rel, node } => {
                        let size = node.data.len() + rel.len() + 100;
                        if bytes + size > BATCH_BYTES && !imp.nodes.is_empty() {
                            self.import(&self.dst, &std::mem::take(&mut imp)).await?;
                            bytes = 0;
                        }
                        bytes += size;
                        let stat = plan::import_stat(
                            &node.stat,
                            target.get(&rel).map(|t| &t.stat),
                            self.compare_exact,
                        );
                        imp.nodes.push(ImportedNode {
                            path: self.dst.abs(&rel),
                            data: node.data,
                            acl: plan::acl(&node.acl),
                            stat,
                        });
                    }
                    Change::Tombstone { rel, .. } => {
                        bytes += rel.len() + 8;
                        // A batch applies its deletes first: send what came before.
                        if !imp.nodes.is_empty() {
                            self.import(&self.dst, &std::mem::take(&mut imp)).await?;
                            bytes = 0;
                        }
                        imp.deletes.push(self.dst.abs(&rel));
                    }
                }
                if bytes > BATCH_BYTES {
                    self.import(&self.dst, &std::mem::take(&mut imp)).await?;
                    bytes = 0;
                }
            }
            if !imp.nodes.is_empty() || !imp.deletes.is_empty() {
                self.import(&self.dst, &imp).await?;
            }
            return Ok(n);
        }
        let c = &self.dst.client;
        for ch in changes {
            match ch {
                Change::Upsert { rel, node } => {
                    let path = self.dst.abs(&rel);
                    match target.get(&rel) {
                        Some(t) if t.data == node.data && t.acl == node.acl => {}
                        _ => {
                            let create = MultiOp::Create(CreateRequest {
                                op: OpCode::Create,
                                path: path.clone(),
                                data: node.data.clone(),
                                acl: node.acl.clone(),
                                flags: 0,
                                ttl: None,
                            });
                            match self.dst_write(create).await {
                                Ok(()) => {}
                                Err(CallError::Server(client::NODEEXISTS)) => {
                                    let set =
                                        MultiOp::SetData { path: path.clone(), data: node.data, version: -1 };
                                    self.dst_write(set)
                                        .await
                                        .map_err(|e| self.write_failed("setData", &path, e))?;
                                    // A multi cannot hold a setACL (ZooKeeper's has no such op):
                                    // the one write that follows its guarded setData unguarded.
                                    c.set_acl(&path, &node.acl).await?;
                                }
                                Err(e) => return Err(self.write_failed("create", &path, e)),
                            }
                        }
                    }
                }
                Change::Tombstone { rel, .. } => {
                    let path = self.dst.abs(&rel);
                    self.delete_tree(&path).await?;
                }
            }
        }
        Ok(n)
    }

    async fn delete_tree(&self, path: &str) -> Result<()> {
        let c = &self.dst.client;
        let mut order = vec![path.to_string()];
        let mut i = 0;
        while i < order.len() {
            if let Some(kids) = c.children(&order[i]).await? {
                for k in kids {
                    order.push(join(&order[i], &format!("/{k}")));
                }
            }
            i += 1;
        }
        for p in order.iter().rev() {
            match self.dst_write(MultiOp::Delete { path: p.clone(), version: -1 }).await {
                Ok(()) | Err(CallError::Server(client::NONODE)) => {}
                Err(e) => return Err(self.write_failed("delete", p, e)),
            }
        }
        Ok(())
    }

    /// One write of a logical copy into the target, as a multi guarded by the target's
    /// migration record at the version this controller wrote (a `check` op first): once
    /// another controller claims the record, this one's writes fail with BADVERSION.
    async fn dst_write(&self, op: MultiOp) -> Result<(), CallError> {
        match self.dst.owned_record() {
            Some(version) => {
                let check = MultiOp::Check { path: RECORD_PATH.into(), version };
                self.dst.client.multi(&[check, op]).await
            }
            None => self.dst.client.multi(&[op]).await,
        }
    }

    fn write_failed(&self, what: &str, path: &str, e: CallError) -> anyhow::Error {
        match e {
            // The writes themselves expect any version: BADVERSION is the guard's.
            CallError::Server(-103) => anyhow::anyhow!(
                "{what} {path} on the target refused (BADVERSION on {RECORD_PATH}): another \
                 controller took the migration over; this one stops"
            ),
            e => anyhow::anyhow!("{what} {path} on the target: {e}"),
        }
    }

    fn differs(&self, s: &NodeCopy, t: &NodeCopy) -> bool {
        s.data != t.data
            || s.acl != t.acl
            || (self.compare_exact && plan::persisted(&s.stat) != plan::persisted(&t.stat))
    }

    /// The receiving side's subtree: all of it, or, in the copy back, its persistent
    /// nodes only (the source's ephemerals belong to sessions there, not to the copy).
    async fn receiving_walk(&self) -> Result<BTreeMap<String, NodeCopy>, CallError> {
        let all = self.dst.walk(&mut BTreeSet::new()).await?;
        Ok(if self.reverse { all.into_iter().filter(|(_, n)| !is_ephemeral(n)).collect() } else { all })
    }

    /// Walks both sides and applies every difference (a seed into an empty target, a
    /// reconciliation after a reconnect or a restart). Returns the source walk.
    async fn reconcile(&mut self) -> Result<(BTreeMap<String, NodeCopy>, usize)> {
        let mut mid = BTreeSet::new();
        let src: BTreeMap<String, NodeCopy> =
            self.src.walk(&mut mid).await?.into_iter().filter(|(_, n)| !is_ephemeral(n)).collect();
        self.dirty.extend(mid);
        let dst = self.receiving_walk().await?;
        let z = self.src.client.last_zxid();
        let mut changes = Vec::new();
        for (rel, n) in &src {
            if rel == "/" && !self.exact && self.dst.root == "/" {
                continue; // `/` exists on both; logically its data is left alone
            }
            if dst.get(rel).is_none_or(|t| self.differs(n, t)) {
                changes.push(Change::Upsert { rel: rel.clone(), node: n.clone() });
            }
        }
        for rel in dst.keys() {
            if !src.contains_key(rel) && rel != "/" {
                changes.push(Change::Tombstone { rel: rel.clone(), zxid: z });
            }
        }
        if self.exact && !self.compare_exact {
            // Compared logically, sent by import: a parent's child list (and counter)
            // changed with each of its children's creation or deletion; it comes too.
            let mut have: BTreeSet<String> = changes
                .iter()
                .filter(|c| matches!(c, Change::Upsert { .. }))
                .map(|c| c.rel().to_string())
                .collect();
            let parents: Vec<String> =
                changes.iter().filter_map(|c| parent(c.rel()).map(str::to_string)).collect();
            for p in parents {
                if let Some(n) = src.get(&p) {
                    if have.insert(p.clone()) {
                        changes.push(Change::Upsert { rel: p, node: n.clone() });
                    }
                }
            }
        }
        let n = self.apply(changes, &dst).await?;
        Ok((src, n))
    }

    /// Re-reads the changed paths and applies them in source zxid order, round after
    /// round: each round starts with a sync whose reply zxid Z is behind every
    /// notification already queued (ZooKeeper sends a session the events of the
    /// transactions up to Z before that reply), so once the round's changed paths are
    /// re-read and applied the copy is complete through Z. Stops when a round finds
    /// nothing changed (fully caught up), when the lag is within `max_lag`, or at
    /// `deadline`. Returns the last complete zxid and the changes applied.
    async fn catch_up(&mut self, deadline: Instant, max_lag: i64) -> Result<(Option<i64>, usize)> {
        let mut applied = 0;
        let mut complete = None;
        loop {
            let z = self.src.client.synced_zxid(&self.src.root).await?;
            self.drain_events();
            if self.dirty.is_empty() {
                return Ok((Some(z), applied));
            }
            if let Some(c) = complete {
                if plan::lag(z, c).is_some_and(|l| l <= max_lag) || Instant::now() > deadline {
                    return Ok((complete, applied));
                }
            }
            let paths: Vec<String> = std::mem::take(&mut self.dirty).into_iter().collect();
            let mut reads: BTreeMap<String, Option<NodeCopy>> = BTreeMap::new();
            for p in &paths {
                let r = self.src.read(p).await?;
                if let Some((_, true)) = &r {
                    self.dirty.insert(p.clone());
                }
                reads.insert(p.clone(), r.map(|x| x.0));
            }
            let now_z = self.src.client.last_zxid();
            let mut changes = Vec::new();
            for (p, r) in &reads {
                let Some(rel) = self.src.rel(p) else { continue };
                match r {
                    Some(n) if !is_ephemeral(n) => {
                        changes.push(Change::Upsert { rel: rel.to_string(), node: n.clone() })
                    }
                    Some(_) => {}
                    None => {
                        let z = parent(p)
                            .and_then(|q| reads.get(q))
                            .and_then(|r| r.as_ref())
                            .map_or(now_z, |n| n.stat.pzxid);
                        // A persistent node (the target holds only those) deleted after
                        // the freeze: a writer the freeze did not stop.
                        if self.journal.fence_zxid.is_some_and(|f| z > f)
                            && self.dst.read(&self.dst.abs(rel)).await?.is_some()
                        {
                            self.late_deletes.insert(p.clone());
                        }
                        changes.push(Change::Tombstone { rel: rel.to_string(), zxid: z });
                    }
                }
            }
            // The logical path needs to know what the target holds for its upserts.
            let dst = if self.exact { BTreeMap::new() } else { self.target_nodes(&changes).await? };
            applied += self.apply(changes, &dst).await?;
            complete = Some(z);
        }
    }

    /// Creates the subtree's missing parents on the target (a chroot, or a deeper
    /// subtree), for both transports: an import under a missing parent is refused.
    async fn target_parents(&self) -> Result<()> {
        let c = &self.dst.client;
        let mut up = parent(&self.dst.root);
        let mut missing = Vec::new();
        while let Some(p) = up.filter(|p| *p != "/") {
            if c.get_data(p).await?.is_some() {
                break;
            }
            missing.push(p.to_string());
            up = parent(p);
        }
        let open = [WireAcl { perms: 31, scheme: "world".into(), id: "anyone".into() }];
        for p in missing.iter().rev() {
            match c.create(p, &Data::empty(), &open, 0).await {
                Ok(_) | Err(CallError::Server(client::NODEEXISTS)) => {}
                Err(e) => bail!("create the subtree's parent {p} on the target: {e}"),
            }
        }
        Ok(())
    }

    async fn target_nodes(&self, changes: &[Change]) -> Result<BTreeMap<String, NodeCopy>> {
        let mut out = BTreeMap::new();
        for c in changes {
            if let Some((n, _)) = self.dst.read(&self.dst.abs(c.rel())).await? {
                out.insert(c.rel().to_string(), n);
            }
        }
        Ok(out)
    }

    /// Walks both sides and compares them: counts, subtree hashes, differences.
    /// Paths the watch reports changed meanwhile are left out (and say so).
    async fn compare(&mut self) -> Result<(Evidence, BTreeMap<String, NodeCopy>, usize)> {
        let before = self.dirty.len();
        let mut mid = BTreeSet::new();
        let src: BTreeMap<String, NodeCopy> =
            self.src.walk(&mut mid).await?.into_iter().filter(|(_, n)| !is_ephemeral(n)).collect();
        let dst = self.receiving_walk().await?;
        self.drain_events();
        self.dirty.extend(mid);
        let moving: BTreeSet<String> =
            self.dirty.iter().filter_map(|p| self.src.rel(p).map(str::to_string)).collect();
        let keep = |m: &BTreeMap<String, NodeCopy>| -> BTreeMap<String, NodeCopy> {
            m.iter()
                .filter(|(rel, _)| {
                    !moving.iter().any(|d| rel.as_str() == d || rel.starts_with(&format!("{d}/")))
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        let (s, mut t) = (keep(&src), keep(&dst));
        if !self.exact && self.dst.root == "/" {
            // Logically `/` is not copied (it exists on both sides).
            if let Some(r) = s.get("/") {
                t.insert("/".into(), r.clone());
            }
        }
        let (st, tt) = (tree_of(&s), tree_of(&t));
        let f = self.fidelity();
        let (ss, ts) = (verify::summarize(&st, "/", f), verify::summarize(&tt, "/", f));
        let diffs: Vec<String> = verify::diff(&st, "/", &tt, "/", f, 20)
            .into_iter()
            .map(|d| format!("{} {}", d.path, d.what))
            .collect();
        let (equal, ss, ts) = (ss == ts, ss.to_string(), ts.to_string());
        let ev = if self.reverse {
            plan::verify_gate_named(("target", &ss), ("source", &ts), equal, &diffs, moving.len())
        } else {
            plan::verify_gate(&ss, &ts, equal, &diffs, moving.len())
        };
        let _ = before;
        Ok((ev, src, diffs.len()))
    }

    async fn read_record(&self, side: &Side) -> Result<Option<(u64, i32)>> {
        Ok(self.read_record_json(side).await?.map(|(v, version)| (v["stamp"].as_u64().unwrap_or(0), version)))
    }

    async fn read_record_json(&self, side: &Side) -> Result<Option<(serde_json::Value, i32)>> {
        match side.client.get_data(RECORD_PATH).await? {
            None => Ok(None),
            Some((data, stat)) => Ok(Some((serde_json::from_slice(&data).unwrap_or_default(), stat.version))),
        }
    }

    /// One record (and one fence) per cluster: refuses to start while a side's record
    /// belongs to another subtree's migration that is neither committed nor rolled back.
    async fn other_migration(&self) -> Result<Option<String>> {
        for side in [&self.src, &self.dst] {
            if let Some((v, _)) = self.read_record_json(side).await? {
                if let Some(why) = plan::overlapping(&v, &self.journal.subtree) {
                    return Ok(Some(format!("{} {why}", side.hosts)));
                }
            }
        }
        Ok(None)
    }

    /// Marks the record on both sides with the migration's end (`committed`,
    /// `rolled back`), so another subtree's migration may start.
    async fn end_record(&self, state: &str) -> Result<()> {
        for side in [&self.src, &self.dst] {
            let version = match side.owned_record() {
                Some(v) => Some(v),
                None => self.read_record(side).await?.map(|x| x.1),
            };
            self.write_record_state(side, self.stamp(), version, state).await?;
        }
        Ok(())
    }

    async fn write_record(&self, side: &Side, stamp: u64, expected: Option<i32>) -> Result<String> {
        self.write_record_state(side, stamp, expected, "in progress").await
    }

    async fn write_record_state(
        &self,
        side: &Side,
        stamp: u64,
        expected: Option<i32>,
        state: &str,
    ) -> Result<String> {
        let data: Data = serde_json::to_vec(&serde_json::json!({
            "stamp": stamp,
            "from": self.journal.from,
            "to": self.journal.to,
            "subtree": self.journal.subtree,
            "state": state,
        }))?
        .into();
        if side.zoolab {
            // zoolab refuses client writes to its controller znodes: the record goes
            // through the import path (a super-user session) even for a logical copy,
            // guarded like a conditional setData: applied only while the record is at
            // the version read (absent: `None`), and written one version up.
            let z = side.client.last_zxid();
            let version = expected.map_or(0, |v| v + 1);
            let stat = StatPersisted { version, ..StatPersisted::created(Zxid(z as u64), now_ms(), 0) };
            let node = ImportedNode { path: RECORD_PATH.into(), data, acl: read_only_acl(), stat };
            let guard = ImportGuard { path: RECORD_PATH.into(), version: expected };
            let imp = Import { nodes: vec![node], ..Import::default() };
            self.import_guarded(side, &imp, Some(guard)).await?;
            side.set_owned_record(version);
            return Ok(format!("{RECORD_PATH} imported (version {version})"));
        }
        // Apache ZooKeeper cannot refuse writes under /zookeeper: the record is readable by
        // all and writable only by the controller's own identity when it authenticated.
        let mut open = vec![WireAcl { perms: 1, scheme: "world".into(), id: "anyone".into() }];
        if side.auth.is_some() {
            open.push(WireAcl { perms: 31, scheme: "auth".into(), id: String::new() });
        } else {
            open[0].perms = 31;
        }
        let r = match expected {
            None => side.client.create(RECORD_PATH, &data, &open, 0).await.map(|_| 0),
            Some(v) => side.client.set_data(RECORD_PATH, &data, v).await.map(|s| s.version),
        };
        match r {
            Ok(version) => {
                side.set_owned_record(version);
                Ok(format!("{RECORD_PATH} written"))
            }
            Err(CallError::Server(-103)) | Err(CallError::Server(client::NODEEXISTS)) => {
                bail!(
                    "the migration record on {} changed under this controller: another controller owns it",
                    side.hosts
                )
            }
            Err(e) => bail!("cannot write the migration record {RECORD_PATH} on {}: {e}", side.hosts),
        }
    }

    /// Every process start takes a new stamp (the maximum seen plus one) once it has
    /// checked that no newer controller owns the migration: a controller that was
    /// replaced meanwhile then fails its next per-phase stamp check instead of
    /// interleaving with this one. The journal is saved before the records say so (a
    /// crash between leaves the journal ahead, never behind).
    async fn reclaim(&mut self) -> Result<()> {
        self.check_stamp().await?;
        let (stamp, _) = self.claim_stamp().await?;
        self.say(&format!("claimed stamp {stamp}"));
        Ok(())
    }

    /// Takes the next stamp (the maximum of this journal's and both records' plus one),
    /// journals it, then writes it into both records (conditional on the versions just
    /// read). Journaled before the records say so: a crash or a closed gate after it
    /// still leaves a journal that owns the records (to resume or abort with). Returns
    /// the stamp and what each record write noted.
    async fn claim_stamp(&mut self) -> Result<(u64, Vec<String>)> {
        let mut seen = vec![self.stamp()];
        let mut versions = Vec::new();
        for side in [&self.src, &self.dst] {
            let r = self.read_record(side).await?;
            seen.extend(r.map(|x| x.0));
            versions.push(r.map(|x| x.1));
        }
        let stamp = next_stamp(&seen);
        self.journal.migration.claim(stamp)?;
        self.journal.save(&self.opts.journal)?;
        let notes = vec![
            self.write_record(&self.src, stamp, versions[0]).await?,
            self.write_record(&self.dst, stamp, versions[1]).await?,
        ];
        Ok((stamp, notes))
    }

    /// Fails fast when a newer controller took the migration over.
    async fn check_stamp(&self) -> Result<()> {
        for side in [&self.src, &self.dst] {
            if let Some((s, _)) = self.read_record(side).await? {
                if s > self.stamp() {
                    bail!(
                        "stale controller: {} holds migration stamp {s} > this journal's {}",
                        side.hosts,
                        self.stamp()
                    );
                }
            }
        }
        Ok(())
    }

    async fn set_fence(&self, side: &Side, on: bool) -> Result<i64> {
        let imp = if on {
            Import {
                nodes: vec![ImportedNode {
                    path: FENCE_PATH.into(),
                    data: side.root.as_bytes().into(),
                    acl: read_only_acl(),
                    stat: StatPersisted::created(Zxid(side.client.last_zxid() as u64), now_ms(), 0),
                }],
                ..Import::default()
            }
        } else {
            Import { deletes: vec![FENCE_PATH.into()], ..Import::default() }
        };
        self.import(side, &imp).await
    }

    /// The fidelity report, printed before anything is copied.
    fn fidelity_report(&self, src: &BTreeMap<String, NodeCopy>, ephemerals: &[String]) {
        let tree = tree_of(src);
        let r = fidelity::report(&tree, "/", Transport::ClientApi { target_is_zoolab: self.exact });
        println!(
            "fidelity: transport client API, {}",
            if self.exact {
                "into zoolab through its import path (exact Stat: zxids, times, versions, cversion; ACLs)"
            } else {
                "logical copy (data and ACLs)"
            }
        );
        // The core's report counts what the transport loses on the tree as read; the
        // lines after it are what the client API cannot even see.
        if r.exact() && self.exact {
            println!(
                "fidelity: kept exactly: data, ACLs, and every Stat field (czxid, mzxid, pzxid, ctime, mtime, \
                 version, cversion, aversion)"
            );
        } else if r.exact() {
            // A logical copy writes through the client API: the target gives every node
            // its own zxids and times; versions and counters only matter where the
            // source's are above 0, and none is here.
            println!(
                "fidelity: kept: data and ACLs; versions, cversions and sequence counters (all still at their \
                 start here); not kept: czxid, mzxid, pzxid, ctime, mtime (the target's own)"
            );
        } else {
            for line in r.to_string().lines().skip(1) {
                println!("fidelity: {line}");
            }
        }
        let some: Vec<String> = ephemerals.iter().take(3).cloned().collect();
        println!(
            "fidelity: - ephemerals are not copied (sessions are not migrated; they end with the source): {} on the \
             source now{}; their owners re-create them when they reconnect to the target",
            ephemerals.len(),
            if some.is_empty() { String::new() } else { format!(" (e.g. {})", some.join(", ")) }
        );
        println!(
            "fidelity: - containers and TTL nodes look persistent through the client API (ephemeralOwner 0): they \
             arrive as persistent nodes"
        );
        if self.src.zoolab {
            println!(
                "fidelity: - freeze: zoolab's write fence ({FENCE_PATH}): writes in scope are refused with NOTREADONLY"
            );
        } else {
            println!(
                "fidelity: - freeze: the source is not zoolab, so it has no server-side write fence; the freeze requires the \
                 writers to be stopped and holds when the watch sees no write in scope for {} s; a write after the freeze \
                 is caught by the final sync (any node with a zxid above the freeze zxid) and closes its gate",
                self.opts.quiet_secs
            );
        }
        println!(
            "fidelity: - cut-over: the target's epoch must be above the source's (its zxids then pass every zxid \
             the source gives out in its epoch: sessions, other subtrees, refused writes); the gate says how to \
             restart the target's election above it, and the soak checks it again"
        );
    }

    /// Does the current phase's work; returns the evidence for its gate.
    async fn work(&mut self, phase: Phase) -> Result<Evidence> {
        if phase > Phase::Preflight && phase < Phase::Committed {
            self.check_stamp().await?;
        }
        let unfenced_cut = phase == Phase::CutOver && !self.src.zoolab;
        if (unfenced_cut
            || matches!(
                phase,
                Phase::Seed | Phase::CatchUp | Phase::Verify | Phase::Freeze | Phase::FinalSync
            ))
            && !self.watching
        {
            let z = self.watch().await?;
            if phase > Phase::Seed {
                // A restarted (or reconnected) controller: anything may have changed
                // while nobody watched. Reconcile by walking both sides.
                let (_, n) = self.reconcile().await?;
                self.say(&format!("watch set again at 0x{z:x}; reconciled {n} differences"));
            }
        }
        match phase {
            Phase::Draft => Ok(Evidence {
                holds: true,
                detail: format!(
                    "source {} root {}, target {} root {}, {}",
                    self.src.describe(),
                    self.src.root,
                    self.dst.describe(),
                    self.dst.root,
                    if self.exact { "exact import path" } else { "logical client-API copy" }
                ),
            }),
            Phase::Preflight => {
                if let Some(other) = self.other_migration().await? {
                    return Ok(Evidence { holds: false, detail: other });
                }
                let (stamp, mut notes) = self.claim_stamp().await?;
                let mut mid = BTreeSet::new();
                let all = self.src.walk(&mut mid).await?;
                let ephemerals: Vec<String> =
                    all.iter().filter(|(_, n)| is_ephemeral(n)).map(|(r, _)| self.src.abs(r)).collect();
                let src: BTreeMap<String, NodeCopy> =
                    all.into_iter().filter(|(_, n)| !is_ephemeral(n)).collect();
                self.fidelity_report(&src, &ephemerals);
                let target = self.dst.walk(&mut BTreeSet::new()).await?;
                let occupied: Vec<&String> = target.keys().filter(|k| k.as_str() != "/").collect();
                if !occupied.is_empty() {
                    return Ok(Evidence {
                        holds: false,
                        detail: format!(
                            "the target's {} is not empty ({} znodes, e.g. {}): this controller migrates into an empty subtree only",
                            self.dst.root,
                            occupied.len(),
                            occupied[0]
                        ),
                    });
                }
                if self.dst.zoolab && !self.opts.logical {
                    let z = self.set_fence(&self.dst, true).await?;
                    notes.push(format!("target fenced on {} at 0x{z:x} until the cut-over", self.dst.root));
                }
                Ok(Evidence {
                    holds: true,
                    detail: format!(
                        "stamp {stamp}; {}; target subtree empty; source {} znodes ({} ephemeral)",
                        notes.join("; "),
                        src.len() + ephemerals.len(),
                        ephemerals.len()
                    ),
                })
            }
            Phase::Seed => {
                let start = self.src.client.last_zxid();
                let (src, n) = self.reconcile().await?;
                self.journal.start_zxid = Some(start);
                Ok(Evidence {
                    holds: true,
                    detail: format!(
                        "watch set at 0x{start:x} before the walk; seeded {} znodes ({n} writes to the target); {} paths changed during the walk",
                        src.len(),
                        self.dirty.len()
                    ),
                })
            }
            Phase::CatchUp => {
                let (applied, n) =
                    self.catch_up(Instant::now() + Duration::from_secs(10), self.opts.max_lag).await?;
                let source = self.src.client.synced_zxid(&self.src.root).await?;
                self.drain_events();
                let applied_z = applied.unwrap_or(0);
                if applied.is_some() {
                    self.journal.applied_zxid = Some(applied_z);
                }
                let mut ev = plan::catch_up_gate(source, applied_z, self.dirty.len(), self.opts.max_lag);
                ev.detail.push_str(&format!("; {n} changes applied in source zxid order"));
                Ok(ev)
            }
            Phase::Verify => {
                let mut last = None;
                for _ in 0..5 {
                    self.catch_up(Instant::now() + Duration::from_secs(5), 0).await?;
                    let (ev, _, _) = self.compare().await?;
                    if ev.holds {
                        return Ok(ev);
                    }
                    last = Some(ev);
                }
                Ok(last.unwrap_or(Evidence { holds: false, detail: "no comparison".into() }))
            }
            Phase::Freeze => {
                if self.src.zoolab {
                    let z = self.set_fence(&self.src, true).await?;
                    self.journal.fence_zxid = Some(z);
                    return Ok(Evidence {
                        holds: true,
                        detail: format!(
                            "write fence {FENCE_PATH} on {} committed on the source at 0x{z:x}: writes in scope get NOTREADONLY",
                            self.src.root
                        ),
                    });
                }
                let deadline = Instant::now() + Duration::from_secs(self.opts.freeze_wait_secs);
                let quiet = Duration::from_secs(self.opts.quiet_secs);
                let mut since = Instant::now();
                self.catch_up(Instant::now() + Duration::from_secs(5), 0).await?;
                loop {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    if self.drain_events() {
                        since = Instant::now();
                        self.catch_up(Instant::now() + Duration::from_secs(5), 0).await?;
                    }
                    if since.elapsed() >= quiet {
                        let z = self.src.client.synced_zxid(&self.src.root).await?;
                        if self.drain_events() {
                            since = Instant::now();
                            continue;
                        }
                        self.journal.fence_zxid = Some(z);
                        return Ok(Evidence {
                            holds: true,
                            detail: format!(
                                "no write in {} for {} s through the watch (the source has no fence: writers must be stopped); freeze zxid 0x{z:x}",
                                self.src.root, self.opts.quiet_secs
                            ),
                        });
                    }
                    if Instant::now() > deadline {
                        return Ok(Evidence {
                            holds: false,
                            detail: format!(
                                "writes in {} kept arriving for {} s: stop the writers (the source is not zoolab and has no write fence)",
                                self.src.root, self.opts.freeze_wait_secs
                            ),
                        });
                    }
                }
            }
            Phase::FinalSync => {
                let fence = self.journal.fence_zxid.context("the journal has no freeze zxid")?;
                let (applied, _) = self.catch_up(Instant::now() + Duration::from_secs(10), 0).await?;
                let (mut ev, src, diffs) = self.compare().await?;
                let late = self.late(&src, fence);
                let applied = applied.unwrap_or(0);
                let mut g = plan::final_sync_gate(fence, applied, ev.holds, &late, diffs);
                if self.exact {
                    let (st, tt) = (tree_of(&src), tree_of(&self.dst.walk(&mut BTreeSet::new()).await?));
                    let behind = verify::sequence_counters_behind(&st, "/", &tt, "/");
                    if !behind.is_empty() {
                        g.holds = false;
                        g.detail.push_str(&format!("; sequence counters behind at {}", behind[0].path));
                    }
                }
                self.journal.applied_zxid = Some(applied);
                g.detail.push_str(&format!("; {}", ev.detail));
                ev = g;
                Ok(ev)
            }
            Phase::CutOver => self.cut_over().await,
            Phase::Soak => {
                tokio::time::sleep(Duration::from_secs(self.opts.soak_secs)).await;
                if let Some(ev) = self.unfenced_source_check(false).await? {
                    return Ok(ev);
                }
                // The source may have elected a new leader (a new epoch) since the cut-over.
                let source = self.src.client.synced_zxid("/").await?;
                let target = self.dst.client.synced_zxid("/").await?;
                let (target, raised) = self.raise_target_epoch(target, source).await?;
                let mut ev = plan::cut_over_gate(target, source, self.dst.zoolab);
                if let Some(note) = raised {
                    ev.detail = format!("{note}; {}", ev.detail);
                }
                if ev.holds {
                    ev.detail = format!(
                        "soaked {} s; {}; the operator commits (no way back after)",
                        self.opts.soak_secs, ev.detail
                    );
                }
                Ok(ev)
            }
            Phase::Committed | Phase::RolledBack => bail!("the migration is {phase}: nothing left to do"),
            Phase::RollingBack => self.roll_back_work().await,
        }
    }

    /// The persistent paths written on the source after the freeze (`src`: its walk).
    fn late(&self, src: &BTreeMap<String, NodeCopy>, fence: i64) -> Vec<String> {
        let mut late: Vec<String> = plan::late(src.iter().map(|(r, n)| (r.as_str(), &n.stat)), fence)
            .iter()
            .map(|r| self.src.abs(r))
            .collect();
        late.extend(self.late_deletes.iter().map(|p| format!("{p} (deleted)")));
        late
    }

    /// A source without a fence (Apache ZooKeeper): nothing stops its writers but the
    /// operator, so the cut-over and the soak check again that none wrote after the
    /// freeze (the cut-over after one more catch-up round, while the target is fenced).
    async fn unfenced_source_check(&mut self, catch_up: bool) -> Result<Option<Evidence>> {
        if self.src.zoolab {
            return Ok(None);
        }
        let fence = self.journal.fence_zxid.context("the journal has no freeze zxid")?;
        if catch_up {
            self.catch_up(Instant::now() + Duration::from_secs(10), 0).await?;
        }
        let src: BTreeMap<String, NodeCopy> = self
            .src
            .walk(&mut BTreeSet::new())
            .await?
            .into_iter()
            .filter(|(_, n)| !is_ephemeral(n))
            .collect();
        let late = self.late(&src, fence);
        if late.is_empty() {
            return Ok(None);
        }
        Ok(Some(Evidence {
            holds: false,
            detail: format!(
                "{} paths in {} written on the source after the freeze at 0x{fence:x} (e.g. {}): the source has no \
                 fence and a writer is still running; stop it, then abort and migrate again",
                late.len(),
                self.src.root,
                late.iter().take(3).cloned().collect::<Vec<_>>().join(", ")
            ),
        }))
    }

    async fn cut_over(&mut self) -> Result<Evidence> {
        if let Some(ev) = self.unfenced_source_check(true).await? {
            return Ok(ev);
        }
        let source = self.src.client.synced_zxid("/").await?;
        let source = source.max(self.journal.fence_zxid.unwrap_or(0));
        let target = self.dst.client.synced_zxid("/").await?;
        let (target, raised) = self.raise_target_epoch(target, source).await?;
        let mut ev = plan::cut_over_gate(target, source, self.dst.zoolab);
        if let Some(note) = raised {
            ev.detail = format!("{note}; {}", ev.detail);
        }
        if ev.holds {
            self.journal.raised_zxid = Some(target);
            // Journaled before the target may take a write: an abort after a crash here
            // knows the cut-over happened, and copies the target's writes back.
            self.journal.save(&self.opts.journal)?;
            if self.dst.zoolab && !self.opts.logical {
                let z = self.set_fence(&self.dst, false).await?;
                ev.detail
                    .push_str(&format!("; target unfenced at 0x{z:x}: clients move to {}", self.dst.hosts));
            }
        }
        Ok(ev)
    }

    /// When a zoolab target's epoch is not above the source's, raises it online (every
    /// member asked to raise its `acceptedEpoch` and re-elect: zoolab's raise-epoch
    /// request) and takes a zxid in the new epoch; returns the target's zxid and what
    /// was done. A standalone target (no election) or a ZooKeeper one is left as it is:
    /// the gate then says how to raise it.
    async fn raise_target_epoch(&mut self, target: i64, source: i64) -> Result<(i64, Option<String>)> {
        if !self.dst.zoolab || (target >> 32) > (source >> 32) {
            return Ok((target, None));
        }
        let floor = (source >> 32) as u32;
        match self.raise_epoch_online(false, floor).await? {
            Some(z) => {
                Ok((z, Some(format!("target's epoch raised online above {floor} (each member re-elected)"))))
            }
            None => Ok((target, None)),
        }
    }

    /// Asks every member of a zoolab side (`source`, or the target) to raise its
    /// `acceptedEpoch` to `floor` and re-elect, then waits (60 s at most) for the side
    /// to take a zxid above that epoch (an empty import). `None` when no member can
    /// (standalone servers answer UNIMPLEMENTED).
    async fn raise_epoch_online(&mut self, source: bool, floor: u32) -> Result<Option<i64>> {
        if self.opts.no_online_raise {
            return Ok(None);
        }
        let side = if source { &self.src } else { &self.dst };
        let hosts: Vec<String> =
            side.hosts.split(',').map(str::trim).filter(|h| !h.is_empty()).map(String::from).collect();
        // Every member's session first, while the ensemble has a leader: a member that
        // starts looking closes its connections and accepts none until a leader is
        // elected. Then the followers are asked, the leader last: the next leader's
        // epoch is one above the highest acceptedEpoch of the quorum that elects it,
        // and every quorum meets a majority of raised members, so a leader that stops
        // leading before it is asked changes nothing.
        let mut members = Vec::new();
        for h in &hosts {
            let (tx, _) = mpsc::unbounded_channel();
            match Client::connect(h, tx).await {
                Ok(c) => {
                    if let Some(a) = &side.auth {
                        c.auth("digest", a.as_bytes())
                            .await
                            .map_err(|e| anyhow::anyhow!("digest auth on {h}: {e}"))?;
                    }
                    let leading =
                        client::four_letter(h, "srvr").await.is_ok_and(|s| s.contains("Mode: leader"));
                    members.push((leading, h.clone(), c));
                }
                Err(_) => {
                    self.say(&format!("raise epoch: {h} does not answer (it joins above {floor} later)"))
                }
            }
        }
        members.sort_by_key(|m| m.0);
        let mut asked = 0;
        for (_, h, c) in &members {
            match c.raise_epoch(floor).await {
                Ok(()) => asked += 1,
                Err(CallError::Server(-6)) => {}
                Err(CallError::Server(-102)) => bail!(
                    "{h} refused the raise-epoch request (NOAUTH): it needs the super-user (--target-auth / \
                     --source-auth super:PASSWORD)"
                ),
                Err(e) => self.say(&format!("raise epoch on {h}: {e} (it may have started looking already)")),
            }
        }
        if asked == 0 {
            return Ok(None);
        }
        self.say(&format!(
            "raised acceptedEpoch to {floor} on {asked} of {} members; waiting for a new leader",
            hosts.len()
        ));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let side = if source { &self.src } else { &self.dst };
            if side.client.alive() {
                if let Ok(z) = self.import(side, &Import::default()).await {
                    if (z >> 32) > i64::from(floor) {
                        return Ok(Some(z));
                    }
                }
            }
            if Instant::now() > deadline {
                bail!("the ensemble {} did not elect a leader above epoch {floor} within 60 s", side.hosts);
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            if !side.client.alive() {
                self.reconnect().await?;
            }
        }
    }

    /// The copy back (the simulator's reverse drain, as one full pass): with the sides
    /// swapped, the forward machinery walks the (fenced) target and the source and
    /// applies every difference in scope to the source, deletions included — through the
    /// import path guarded by the record when the source is zoolab (its fence refuses
    /// client writes; the Stat comes across exactly unless the migration is logical), as
    /// logical multis guarded by a check on the record when it is Apache ZooKeeper — then
    /// compares the two as the verify gate does (counts, hashes, differences; and on the
    /// import path, no sequence counter behind). Returns that evidence and the writes.
    async fn copy_back(&mut self) -> Result<(Evidence, usize)> {
        let (exact, compare_exact, reverse) = (self.exact, self.compare_exact, self.reverse);
        std::mem::swap(&mut self.src, &mut self.dst);
        // Into a zoolab source by import; the comparison is exact only when both ways
        // are (logical writes into a ZooKeeper source give its nodes their own Stat).
        self.exact = self.dst.zoolab;
        self.compare_exact = compare_exact && self.exact;
        self.reverse = true;
        self.dirty.clear();
        let r = self.copy_back_pass().await;
        std::mem::swap(&mut self.src, &mut self.dst);
        (self.exact, self.compare_exact, self.reverse) = (exact, compare_exact, reverse);
        self.dirty.clear();
        r
    }

    async fn copy_back_pass(&mut self) -> Result<(Evidence, usize)> {
        let (_, n) = self.reconcile().await?;
        let (mut ev, target, _) = self.compare().await?;
        if !self.dirty.is_empty() {
            // The verify gate leaves paths read mid-change to the final sync; the copy
            // back has none after it: a fenced target does not change.
            ev.holds = false;
            ev.detail.push_str(&format!(
                "; {} changed on the target during the copy back (a writer not stopped, or a closing \
                 session's ephemerals)",
                self.dirty.iter().next().map_or("?", String::as_str)
            ));
        }
        if self.exact {
            let source = self.receiving_walk().await?;
            let behind = verify::sequence_counters_behind(&tree_of(&target), "/", &tree_of(&source), "/");
            if let Some(b) = behind.first() {
                ev.holds = false;
                ev.detail.push_str(&format!("; sequence counter behind at {}", b.path));
            }
        }
        Ok((ev, n))
    }

    /// Whether a zoolab side holds the fence marker on its migrated subtree.
    async fn is_fenced(&self, side: &Side) -> Result<bool> {
        Ok(side.client.get_data(FENCE_PATH).await?.is_some_and(|(data, _)| data == *side.root.as_bytes()))
    }

    /// Undoes the migration. After the cut-over the order is the simulator's
    /// (`sim.rs` `roll`): fence the target (zoolab; an Apache ZooKeeper target only with
    /// `--force`: its writers stopped), wait for that fence's zxid, copy everything in
    /// scope that differs back to the source and verify the two equal (the reverse
    /// drain; the evidence journaled), require the source's zxid above the target's
    /// (else its gate stays closed, saying how), and only then unfence the source —
    /// never two writable sides at once.
    async fn roll_back_work(&mut self) -> Result<Evidence> {
        let mut notes = Vec::new();
        let cut = self.journal.raised_zxid.is_some();
        if cut {
            let target = if self.dst.zoolab {
                let z = self.set_fence(&self.dst, true).await?;
                notes.push(format!("target fenced again at 0x{z:x}"));
                self.dst.client.synced_zxid("/").await?.max(z)
            } else {
                // `drive` lets this through only with --force.
                notes.push(format!(
                    "the target {} cannot be fenced (not zoolab): its writers in {} are stopped (--force)",
                    self.dst.hosts, self.dst.root
                ));
                self.dst.client.synced_zxid("/").await?
            };
            let unfenced = self.src.zoolab && !self.is_fenced(&self.src).await?;
            match &self.journal.copied_back {
                Some(done) if unfenced => {
                    // A resumed abort that had lifted the source's fence: the source may
                    // take writes already, which a second pass would overwrite.
                    notes.push(format!("copied back before the source was unfenced: {done}"));
                }
                _ => {
                    let (ev, n) = self.copy_back().await?;
                    let how = if self.src.zoolab {
                        "imports into the fenced source"
                    } else {
                        "logical writes into the source"
                    };
                    if !ev.holds && !self.opts.force {
                        return Ok(Evidence {
                            holds: false,
                            detail: format!(
                                "{}; copy back: {n} writes ({how}), but the source does not equal the target: {}; \
                                 abort again (the pass is redone), or with --force to roll back without those \
                                 differences",
                                notes.join("; "),
                                ev.detail
                            ),
                        });
                    }
                    let done = if ev.holds {
                        format!("copied back {n} differences ({how}); verified: {}", ev.detail)
                    } else {
                        format!(
                            "copied back {n} differences ({how}); NOT equal, rolled back anyway (--force): {}",
                            ev.detail
                        )
                    };
                    // A resumed abort's pass finds what the first one left; the first
                    // one's count stays in the evidence.
                    let done = plan::copy_back_note(done, self.journal.copied_back.as_deref());
                    // Journaled first: once it is printed, a resumed abort knows of it.
                    self.journal.copied_back = Some(done.clone());
                    self.journal.save(&self.opts.journal)?;
                    self.say(&done);
                    notes.push(done);
                }
            }
            let mut source = self.src.client.synced_zxid("/").await?;
            if source <= target && self.src.zoolab {
                if let Some(z) = self.raise_epoch_online(true, (target >> 32) as u32).await? {
                    notes.push(format!(
                        "source's epoch raised online above {} (each member re-elected)",
                        target >> 32
                    ));
                    source = z;
                }
            }
            if source <= target {
                return Ok(Evidence {
                    holds: false,
                    detail: format!(
                        "{}; the source's zxid 0x{source:x} is not above the target's 0x{target:x}: {}, then abort again",
                        notes.join("; "),
                        if self.src.zoolab {
                            format!(
                                "restart every source member with `zoolab server --config … --min-epoch {}`",
                                target >> 32
                            )
                        } else {
                            "restart the source's leader until its epoch passes the target's".into()
                        }
                    ),
                });
            }
        } else if self.dst.zoolab && !self.opts.logical {
            let z = self.set_fence(&self.dst, false).await?;
            notes.push(format!("target's migration fence lifted at 0x{z:x} (its copy is left in place)"));
        }
        if self.src.zoolab {
            let z = self.set_fence(&self.src, false).await?;
            notes.push(format!("source unfenced at 0x{z:x}"));
        } else {
            notes.push("the source had no fence: its writers may start again".to_string());
        }
        if cut {
            notes.push(format!("clients move back to {}", self.src.hosts));
        }
        Ok(Evidence { holds: true, detail: notes.join("; ") })
    }
}

/// Connects, retrying for half a minute (an ensemble electing a leader refuses sessions).
async fn connect_patiently(hosts: &str, events: mpsc::UnboundedSender<Event>) -> Result<Client> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match Client::connect(hosts, events.clone()).await {
            Ok(c) => return Ok(c),
            Err(e) if Instant::now() > deadline => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    }
}

/// The ACL of the fence marker and the record on zoolab: world-readable only (as
/// `/zookeeper/config`); the server refuses client writes to them anyway.
fn read_only_acl() -> Vec<zoolab_core::tree::Acl> {
    vec![zoolab_core::tree::Acl::new(zoolab_core::tree::Perms(1), "world", "anyone")]
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn print_status(j: &Journal) {
    println!("migration {} -> {} subtree {}", j.from, j.to, j.subtree);
    println!("phase: {} (stamp {})", j.migration.phase(), j.migration.stamp());
    for e in j.migration.journal() {
        println!("  {} -> {} [stamp {}]: {}", e.from, e.to, e.stamp, e.evidence);
    }
    for (k, v) in [
        ("start", j.start_zxid),
        ("applied", j.applied_zxid),
        ("fence", j.fence_zxid),
        ("raised", j.raised_zxid),
    ] {
        if let Some(z) = v {
            println!("{k} zxid: 0x{z:x}");
        }
    }
    if let Some(c) = &j.copied_back {
        println!("copy back: {c}");
    }
    println!("gate of {}: {}", j.migration.phase(), j.migration.phase().gate());
}

/// Exit status: 0 done (or the phase asked for reached), 2 a gate is closed.
pub fn run(opts: Opts) -> Result<bool> {
    if !opts.subtree.starts_with('/') {
        bail!("--subtree must be an absolute path, got {:?}", opts.subtree);
    }
    let existing = Journal::load(&opts.journal)?;
    if let Some(j) = &existing {
        if !j.same_migration(&opts.from, &opts.to, &opts.subtree) {
            bail!(
                "{} belongs to another migration ({} -> {} subtree {}); use another --journal",
                opts.journal.display(),
                j.from,
                j.to,
                j.subtree
            );
        }
    }
    if opts.action == Action::Status {
        match &existing {
            Some(j) => print_status(j),
            None => println!("no journal at {}: nothing started", opts.journal.display()),
        }
        return Ok(true);
    }
    let _lock = Journal::lock(&opts.journal)?;
    // Read again under the lock: another process may have advanced it meanwhile.
    let existing = Journal::load(&opts.journal)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(drive(opts, existing))
}

async fn drive(opts: Opts, existing: Option<Journal>) -> Result<bool> {
    let (tx, rx) = mpsc::unbounded_channel();
    let src = Side::open(&opts.from, &opts.subtree, opts.source_auth.clone(), tx)
        .await
        .context("connecting to the source")?;
    let (dtx, _drx) = mpsc::unbounded_channel();
    let dst = Side::open(&opts.to, &opts.subtree, opts.target_auth.clone(), dtx)
        .await
        .context("connecting to the target")?;
    let exact = dst.zoolab && !opts.logical;
    let resumed = existing.is_some();
    let mut journal = existing.unwrap_or_else(|| Journal::new(&opts.from, &opts.to, &opts.subtree, 0));
    journal.check_sides(plan::Sides {
        source_zoolab: src.zoolab,
        target_zoolab: dst.zoolab,
        logical: opts.logical,
    })?;
    let mut e = Engine {
        opts,
        src,
        dst,
        events: rx,
        dirty: BTreeSet::new(),
        journal,
        watching: false,
        exact,
        compare_exact: exact,
        reverse: false,
        late_deletes: BTreeSet::new(),
    };
    if resumed {
        e.say(&format!(
            "resuming from {} in phase {}",
            e.opts.journal.display(),
            e.journal.migration.phase()
        ));
        let phase = e.journal.migration.phase();
        if e.stamp() > 0 && !matches!(phase, Phase::Committed | Phase::RolledBack) {
            e.reclaim().await?;
        }
    }
    if e.opts.action == Action::Abort {
        e.check_stamp().await?;
        let stamp = e.stamp();
        // After the cut-over: its zxid journaled (a rollback from any phase), or the soak.
        let phase = e.journal.migration.phase();
        let cut = e.journal.raised_zxid.is_some() || phase == Phase::Soak;
        let undoable = phase.reversible() || phase == Phase::RollingBack;
        if let Some(why) =
            plan::abort_refusal(cut && undoable, e.dst.zoolab, e.opts.force, &e.dst.hosts, &e.dst.root)
        {
            bail!("{why}");
        }
        if e.journal.migration.phase() != Phase::RollingBack {
            e.journal.migration.roll_back(stamp, "aborted by the operator")?;
            e.journal.save(&e.opts.journal)?;
        }
        if e.journal.migration.phase() == Phase::RollingBack {
            let ev = e.roll_back_work().await?;
            if !ev.holds {
                println!("abort: gate closed: {}", ev.detail);
                return Ok(false);
            }
            e.journal.migration.advance(stamp, ev.clone())?;
            e.journal.save(&e.opts.journal)?;
            e.end_record("rolled back").await?;
            e.say(&format!("rolled back: {}", ev.detail));
        } else {
            e.end_record("rolled back").await?;
            e.say("rolled back (nothing had been copied)");
        }
        return Ok(true);
    }
    loop {
        let phase = e.journal.migration.phase();
        if matches!(phase, Phase::Committed | Phase::RolledBack) {
            e.say(&format!("the migration is {phase}"));
            return Ok(true);
        }
        if let Some(why) = stop_before(e.opts.action, e.opts.until, phase) {
            e.say(&why);
            return Ok(true);
        }
        if e.opts.action == Action::Commit && phase != Phase::Soak {
            bail!("commit needs the migration in its soak; it is in {phase}: `run` it there first");
        }
        let t0 = Instant::now();
        let mut lost = 0;
        let ev = loop {
            match e.work(phase).await {
                Ok(ev) => break ev,
                Err(err)
                    if lost < MAX_RECONNECTS
                        && (err.downcast_ref::<CallError>() == Some(&CallError::Lost)
                            || !e.src.client.alive()
                            || !e.dst.client.alive()) =>
                {
                    lost += 1;
                    e.say(&format!("{phase}: {err:#}; reconnecting and reconciling"));
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    e.reconnect().await?;
                }
                Err(err) => return Err(err),
            }
        };
        let stamp = e.stamp();
        match e.journal.migration.advance(stamp, ev.clone()) {
            Ok(next) => {
                e.journal.save(&e.opts.journal)?;
                if next == Phase::Committed {
                    e.end_record("committed").await?;
                }
                println!("phase {phase} -> {next} ({} ms): {}", t0.elapsed().as_millis(), ev.detail);
            }
            Err(err) => {
                println!("phase {phase}: gate closed: {err}");
                return Ok(false);
            }
        }
        if e.opts.action == Action::Step {
            return Ok(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_chroots_and_paths() {
        assert_eq!(split_hosts("a:1,b:2/app/x"), ("a:1,b:2".to_string(), "/app/x".to_string()));
        assert_eq!(split_hosts("a:1"), ("a:1".to_string(), "/".to_string()));
        assert_eq!(split_hosts("a:1/"), ("a:1".to_string(), "/".to_string()));
        assert_eq!(join("/", "/app"), "/app");
        assert_eq!(join("/c", "/"), "/c");
        assert_eq!(join("/c", "/app"), "/c/app");
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(parent("/a"), Some("/"));
        assert_eq!(parent("/"), None);
    }

    #[test]
    fn run_stops_before_the_commit_unless_asked_to_go_through() {
        assert!(stop_before(Action::Run, None, Phase::Soak).is_some_and(|w| w.contains("commit")));
        assert!(stop_before(Action::Run, Some(Phase::Freeze), Phase::Soak).is_some());
        assert_eq!(stop_before(Action::Run, Some(Phase::Committed), Phase::Soak), None);
        assert_eq!(stop_before(Action::Commit, None, Phase::Soak), None);
        assert_eq!(stop_before(Action::Run, None, Phase::CutOver), None);
        assert_eq!(stop_before(Action::Step, None, Phase::Soak), None);
        assert!(stop_before(Action::Run, Some(Phase::Freeze), Phase::Freeze)
            .is_some_and(|w| w.contains("as asked")));
    }

    #[test]
    fn phases_parse_as_printed_and_with_dashes() {
        assert_eq!(parse_phase("freeze"), Ok(Phase::Freeze));
        assert_eq!(parse_phase("final-sync"), Ok(Phase::FinalSync));
        assert_eq!(parse_phase("cut over"), Ok(Phase::CutOver));
        assert_eq!(parse_phase("catch-up"), Ok(Phase::CatchUp));
        assert!(parse_phase("thaw").unwrap_err().contains("unknown phase"));
    }
}
