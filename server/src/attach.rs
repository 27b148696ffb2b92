//! `zoolab play --attach host:port,…`: the playground watching a live ensemble (zoolab's
//! or Apache ZooKeeper's).
//!
//! - **The poller** asks every member, every [`POLL_EVERY`], for `srvr` (role, zxid,
//!   latency, connections, outstanding requests: every ZooKeeper answers it), `mntr`
//!   (zoolab adds the server id, epoch, committed zxid and digest; Apache ZooKeeper the
//!   watch and ephemeral counts, the leader's synced followers) and `conf` (server id, the
//!   `server.N` lines and config version); every [`HASH_EVERY`] polls also `hash` (the
//!   digest every 128 zxids). A member that does not answer is DOWN (since when, and why),
//!   one that answers "not currently serving", LOOKING. Role changes go to a bounded
//!   ensemble log.
//! - **The console** ([`console`]): one session, resumed on another member when its own
//!   dies, running zkCli's language; its watch events and commands are one bounded log
//!   the page reads after a cursor.
//! - **Trees** ([`tree`]): `GET /api/live/tree?member=I&root=/p` walks member I's tree as
//!   that member serves it (a read session on it alone, at most [`tree::TREE_LIMIT`]
//!   znodes); `GET /api/live/compare?a=I&b=J&root=/p` compares two members' walks and
//!   their `hash` digests. At most [`WALKS`] walks run at once; a member's read session
//!   closes after [`READER_IDLE`] unused.
//!
//! `GET /api/live?after=N` answers the picture and the console's lines after N;
//! `POST /api/live/exec` (a body of at most [`zkcli::MAX_LINE_BYTES`]) runs a line.
//! docs/server.md has the JSON.

pub mod console;
pub mod tree;

use crate::zkclient::{four_letter, Client, ConnectOptions};
use anyhow::{bail, Result};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use console::{Console, Line, SessionView, Shared};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zoolab_core::zkcli;

/// How often the members are polled.
pub const POLL_EVERY: Duration = Duration::from_millis(500);
/// `hash` is asked every this many polls.
pub const HASH_EVERY: u64 = 4;
/// Walks (tree, compare) running at once.
pub const WALKS: usize = 2;
/// A member's read session closes after this long unused.
pub const READER_IDLE: Duration = Duration::from_secs(60);
/// Lines of the ensemble log kept.
pub const HISTORY: usize = 100;
/// Console lines one `GET /api/live` carries at most.
pub const LINES_PER_POLL: usize = 300;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One member as the last poll saw it.
#[derive(Clone, Debug, Serialize, PartialEq, Default)]
pub struct Member {
    /// Its place in `--attach`'s list (from 0): what the tree endpoints take.
    pub index: usize,
    /// Where it was asked (its client port).
    pub addr: String,
    /// Its server id (`zk_server_id`, else `conf`'s `serverId`, else its place from 1).
    pub id: u64,
    /// leader, follower, observer, standalone, looking (up but not serving), down or
    /// unknown (answers, but not the words asked).
    pub state: String,
    /// Its current epoch (`zk_current_epoch`, else the last zxid's high half).
    pub epoch: Option<u64>,
    /// Its last zxid, hexadecimal.
    pub zxid: Option<String>,
    /// The last zxid it knows committed (zoolab's `zk_committed_zxid`).
    pub committed: Option<String>,
    /// Transactions behind the most advanced member of the same epoch.
    pub lag: Option<u64>,
    /// Its znode count.
    pub znodes: Option<u64>,
    /// Client connections.
    pub connections: Option<u64>,
    /// Requests queued and not yet answered.
    pub outstanding: Option<u64>,
    /// Request latency min/avg/max in ms, as it reports it.
    pub latency: Option<String>,
    /// Watches set on it.
    pub watches: Option<u64>,
    /// Ephemeral znodes.
    pub ephemerals: Option<u64>,
    /// The leader's followers: `synced/learners` (Apache ZooKeeper's mntr).
    pub followers: Option<String>,
    /// The tree's digest at its last zxid (zoolab's `zk_digest`).
    pub digest: Option<String>,
    /// Its configuration's version (`conf`'s `version=`).
    pub config_version: Option<String>,
    /// Its version line (`zk_version`).
    pub version: Option<String>,
    /// How long it has been down (ms), when it is.
    pub down_for_ms: Option<u64>,
    /// Why it is down (the connection's error) or what it refused.
    pub error: Option<String>,
    /// Its `hash` lines (zxid, digest), kept between the polls that ask.
    #[serde(skip)]
    pub hash: Vec<(u64, i64)>,
    /// Its `conf` text.
    #[serde(skip)]
    pub conf: String,
}

impl Member {
    /// Whether it serves clients.
    pub fn serving(&self) -> bool {
        matches!(self.state.as_str(), "leader" | "follower" | "observer" | "standalone")
    }

    fn zxid_value(&self) -> Option<u64> {
        self.zxid.as_deref().and_then(|z| u64::from_str_radix(z.trim_start_matches("0x"), 16).ok())
    }

    fn name(&self) -> String {
        format!("s{}", self.id)
    }
}

/// The picture every poll leaves (the page's `GET /api/live`, without the lines).
#[derive(Clone, Debug, Serialize, Default)]
pub struct Snapshot {
    /// How many polls have completed.
    pub polls: u64,
    /// The poll interval (ms).
    pub poll_ms: u64,
    /// The members, in `--attach`'s order.
    pub members: Vec<Member>,
    /// `conf` of the leader (else of a serving member): its server.N lines and version.
    pub config: String,
    /// What the members' zxids and digests say: agreement, lag or divergence.
    pub agreement: String,
    /// Whether two members' digests differ at the same zxid.
    pub diverged: bool,
    /// Role changes, oldest first (`HH:MM:SS s2 follower → down: …`).
    pub history: Vec<String>,
    /// The console's session.
    pub session: SessionView,
}

/// What `GET /api/live?after=N` answers: the picture and the console's lines after N.
#[derive(Clone, Debug, Serialize)]
pub struct LiveReply {
    /// The picture.
    #[serde(flatten)]
    pub snapshot: Snapshot,
    /// Console lines after the cursor (at most [`LINES_PER_POLL`]).
    pub lines: Vec<Line>,
    /// Lines after the cursor that are not in `lines` (the log's bound, or this reply's).
    pub missed: u64,
    /// The cursor for the next request.
    pub next: u64,
}

/// What `POST /api/live/exec` answers (the same line is in the log too).
#[derive(Clone, Debug, Serialize)]
pub struct ExecReply {
    /// The command line.
    pub command: String,
    /// Whether it succeeded.
    pub ok: bool,
    /// zkCli's output, or the error.
    pub output: String,
    /// Its line's number in the console's log.
    pub seq: u64,
}

/// What `GET /api/live/tree` answers.
#[derive(Clone, Debug, Serialize, Default)]
pub struct TreeReply {
    /// The member (its place in `--attach`).
    pub member: usize,
    /// Its address.
    pub addr: String,
    /// The root walked.
    pub root: String,
    /// The member's last applied zxid when read (hex).
    pub zxid: Option<String>,
    /// The znodes, depth first.
    pub nodes: Vec<tree::Znode>,
    /// Whether the walk stopped at `limit`.
    pub truncated: bool,
    /// The walk's bound.
    pub limit: usize,
    /// Why the tree could not be read.
    pub error: Option<String>,
}

/// What `GET /api/live/compare` answers.
#[derive(Clone, Debug, Serialize, Default)]
pub struct CompareReply {
    /// The first member's place and name.
    pub a: usize,
    /// The second member's.
    pub b: usize,
    /// `s1`, `s2`, ….
    pub names: (String, String),
    /// The root compared.
    pub root: String,
    /// Each member's last applied zxid when read.
    pub zxids: (Option<String>, Option<String>),
    /// The comparison of the walks.
    #[serde(flatten)]
    pub walks: tree::Comparison,
    /// Whether the walks agreed.
    pub same: bool,
    /// One line: equal, lagging, or different.
    pub verdict: String,
    /// What the `hash` digests say.
    pub digest: String,
    /// Whether the digests agree (`null`: nothing to compare).
    pub digest_same: Option<bool>,
    /// When it was made (`HH:MM:SS` UTC).
    pub at: String,
    /// Why the comparison could not be made.
    pub error: Option<String>,
}

/// The attachment: the members, the picture, the console's session and the read sessions.
pub struct Attach {
    members: Vec<String>,
    snapshot: Mutex<Snapshot>,
    down_since: Mutex<Vec<Option<Instant>>>,
    shared: Arc<Shared>,
    console: tokio::sync::Mutex<Console>,
    readers: Mutex<HashMap<usize, (Arc<Client>, Instant)>>,
    walks: tokio::sync::Semaphore,
}

/// Parses `--attach`'s list: `host:port` items separated by commas.
pub fn parse_members(list: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((host, port)) = item.rsplit_once(':') else {
            bail!("--attach: `{item}` is not host:clientPort");
        };
        if host.is_empty() || port.parse::<u16>().is_err() {
            bail!("--attach: `{item}` is not host:clientPort (the port must be a number up to 65535)");
        }
        out.push(item.to_string());
    }
    if out.is_empty() {
        bail!("--attach needs at least one host:clientPort");
    }
    if out.len() > 64 {
        bail!("--attach: at most 64 members");
    }
    Ok(out)
}

/// What one poll of a member got: each word's answer or the connection's error.
#[derive(Clone, Debug, Default)]
pub struct Answers {
    /// `srvr`.
    pub srvr: Option<std::result::Result<String, String>>,
    /// `mntr`.
    pub mntr: Option<std::result::Result<String, String>>,
    /// `conf`.
    pub conf: Option<std::result::Result<String, String>>,
    /// `hash` (not every poll).
    pub hash: Option<std::result::Result<String, String>>,
}

fn refused(text: &str) -> bool {
    text.contains("is not executed because it is not in the whitelist")
}

const NOT_SERVING: &str = "not currently serving";

/// Reads one member's answers (`srvr`, `mntr`, `conf`, `hash`) into a member.
pub fn member_from(addr: &str, index: usize, a: &Answers) -> Member {
    let mut m = Member {
        index,
        addr: addr.to_string(),
        id: index as u64 + 1,
        state: "unknown".into(),
        ..Member::default()
    };
    let ok =
        |r: &Option<std::result::Result<String, String>>| r.as_ref().and_then(|r| r.as_ref().ok()).cloned();
    let (srvr, mntr, conf, hash) = (ok(&a.srvr), ok(&a.mntr), ok(&a.conf), ok(&a.hash));
    if srvr.is_none() && mntr.is_none() && conf.is_none() {
        m.state = "down".into();
        m.error = [&a.srvr, &a.mntr]
            .into_iter()
            .find_map(|r| r.as_ref().and_then(|r| r.as_ref().err()).cloned())
            .or_else(|| Some("no answer".into()));
        return m;
    }
    if let Some(c) = &conf {
        for line in c.lines() {
            if let Some(v) = line.strip_prefix("serverId=") {
                m.id = v.trim().parse().ok().filter(|&id| id > 0).unwrap_or(m.id);
            }
            if let Some(v) = line.strip_prefix("version=") {
                m.config_version = Some(v.trim().to_string());
            }
        }
        if !refused(c) && !c.contains(NOT_SERVING) {
            m.conf = c.clone();
        }
    }
    let serving_text =
        |t: &Option<String>| t.as_ref().is_some_and(|t| !t.contains(NOT_SERVING) && !refused(t));
    if srvr.as_ref().is_some_and(|t| t.contains(NOT_SERVING))
        || mntr.as_ref().is_some_and(|t| t.contains(NOT_SERVING))
    {
        m.state = "looking".into();
    }
    if serving_text(&srvr) {
        for line in srvr.as_deref().unwrap_or_default().lines() {
            let Some((k, v)) = line.split_once(':') else { continue };
            let v = v.trim();
            match k {
                "Mode" => m.state = v.to_string(),
                "Zxid" => m.zxid = Some(v.to_string()),
                "Node count" => m.znodes = v.parse().ok(),
                "Connections" => m.connections = v.parse().ok(),
                "Outstanding" => m.outstanding = v.parse().ok(),
                "Latency min/avg/max" => m.latency = Some(v.to_string()),
                "Zookeeper version" => m.version = Some(v.split(',').next().unwrap_or(v).trim().to_string()),
                _ => {}
            }
        }
    }
    if serving_text(&mntr) {
        let mut lat = (None, None, None);
        let (mut synced, mut learners) = (None, None);
        for line in mntr.as_deref().unwrap_or_default().lines() {
            let Some((k, v)) = line.split_once('\t') else { continue };
            let v = v.trim();
            match k {
                "zk_server_state" => m.state = v.to_string(),
                "zk_server_id" => m.id = v.parse().unwrap_or(m.id),
                "zk_last_zxid" => m.zxid = Some(v.to_string()),
                "zk_committed_zxid" => m.committed = Some(v.to_string()),
                "zk_current_epoch" => m.epoch = v.parse().ok(),
                "zk_znode_count" => m.znodes = v.parse().ok(),
                "zk_num_alive_connections" => m.connections = v.parse().ok(),
                "zk_outstanding_requests" => m.outstanding = v.parse().ok(),
                "zk_watch_count" => m.watches = v.parse().ok(),
                "zk_ephemerals_count" => m.ephemerals = v.parse().ok(),
                "zk_digest" => m.digest = Some(v.to_string()),
                "zk_synced_followers" => synced = Some(v.to_string()),
                "zk_learners" | "zk_followers" => learners = Some(v.to_string()),
                "zk_min_latency" => lat.0 = Some(v.to_string()),
                "zk_avg_latency" => lat.1 = Some(v.to_string()),
                "zk_max_latency" => lat.2 = Some(v.to_string()),
                "zk_version" => m.version = Some(v.split(',').next().unwrap_or(v).trim().to_string()),
                _ => {}
            }
        }
        if let (Some(a), Some(b), Some(c)) = lat {
            m.latency = Some(format!("{a}/{b}/{c}"));
        }
        if m.state == "leader" {
            m.followers = match (synced, learners) {
                (Some(s), Some(l)) => Some(format!("{s}/{l}")),
                (Some(s), None) => Some(s),
                _ => None,
            };
        }
    }
    if m.state == "unknown" {
        m.error = [&srvr, &mntr].into_iter().flatten().find(|t| refused(t)).map(|t| t.trim().to_string());
    }
    if m.epoch.is_none() && m.serving() {
        m.epoch = m.zxid_value().map(|z| z >> 32);
    }
    if let Some(h) = hash.filter(|h| !refused(h)) {
        m.hash = tree::parse_hash(&h);
    }
    m
}

/// Fills in each member's lag, and says what the zxids and digests show together:
/// (the line, whether two members diverged).
pub fn agreement(members: &mut [Member]) -> (String, bool) {
    let serving: Vec<(usize, u64)> = members
        .iter()
        .enumerate()
        .filter(|(_, m)| m.serving())
        .filter_map(|(i, m)| Some((i, m.zxid_value()?)))
        .collect();
    let Some(&(_, newest)) = serving.iter().max_by_key(|(_, z)| *z) else {
        return ("no member serves: nothing to compare".into(), false);
    };
    for &(i, z) in &serving {
        members[i].lag = (z >> 32 == newest >> 32).then(|| newest - z);
    }
    // Same zxid, different digest (zoolab's mntr): divergence now.
    for (x, &(i, zi)) in serving.iter().enumerate() {
        for &(j, zj) in &serving[x + 1..] {
            let (a, b) = (&members[i], &members[j]);
            if zi == zj && a.digest.is_some() && b.digest.is_some() && a.digest != b.digest {
                return (
                    format!(
                        "{} and {} DIVERGED: both at zxid 0x{zi:x} with different digests ({} vs {})",
                        a.name(),
                        b.name(),
                        a.digest.as_deref().unwrap_or_default(),
                        b.digest.as_deref().unwrap_or_default()
                    ),
                    true,
                );
            }
        }
    }
    // Different digests at a zxid both list in `hash`: divergence then.
    for (x, &(i, _)) in serving.iter().enumerate() {
        for &(j, _) in &serving[x + 1..] {
            let (a, b) = (&members[i], &members[j]);
            if let (Some(false), text) = tree::digest_verdict(&a.name(), &a.hash, &b.name(), &b.hash) {
                return (text, true);
            }
        }
    }
    // Right after an election the new epoch has no transaction yet: a member whose last
    // zxid is of the old epoch may hold everything (Apache ZooKeeper's followers report
    // their last transaction's zxid, not the epoch they follow in).
    let fresh_epoch = newest & 0xffff_ffff == 0;
    let behind: Vec<String> = serving
        .iter()
        .filter_map(|&(i, _)| {
            let m = &members[i];
            match m.lag {
                Some(0) => None,
                Some(n) => Some(format!("{} {n} behind", m.name())),
                None if fresh_epoch => None,
                None => Some(format!("{} in an older epoch", m.name())),
            }
        })
        .collect();
    let digests = serving.iter().filter(|(i, _)| members[*i].digest.is_some()).count();
    let mut text = if behind.is_empty() {
        format!("{} serving members at zxid 0x{newest:x}", serving.len())
    } else {
        format!("newest zxid 0x{newest:x}; {}", behind.join(", "))
    };
    if digests >= 2 && behind.is_empty() {
        text.push_str("; digests equal");
    }
    if fresh_epoch && serving.iter().any(|&(i, _)| members[i].lag.is_none()) {
        text.push_str(&format!("; epoch {} has no transaction yet", newest >> 32));
    }
    (text, false)
}

/// The role changes between two polls, as ensemble log lines.
pub fn changes(before: &[Member], now: &[Member]) -> Vec<String> {
    let mut out = Vec::new();
    for m in now {
        let old = before.iter().find(|b| b.index == m.index);
        let was = old.map_or("", |o| o.state.as_str());
        if was == m.state {
            continue;
        }
        let mut line = if was.is_empty() {
            format!("{} {}", m.name(), m.state)
        } else {
            format!("{} {was} → {}", m.name(), m.state)
        };
        if m.state == "leader" {
            if let Some(e) = m.epoch {
                line.push_str(&format!(" (epoch {e})"));
            }
        }
        if m.state == "down" {
            if let Some(e) = &m.error {
                line.push_str(&format!(": {e}"));
            }
        }
        out.push(line);
    }
    out
}

async fn poll_member(addr: String, index: usize, with_hash: bool) -> Member {
    let word = |w: &'static str| {
        let addr = addr.clone();
        async move { Some(four_letter(&addr, w).await.map_err(|e| format!("{e:#}"))) }
    };
    let hash = async {
        if with_hash {
            word("hash").await
        } else {
            None
        }
    };
    let (srvr, mntr, conf, hash) = tokio::join!(word("srvr"), word("mntr"), word("conf"), hash);
    member_from(&addr, index, &Answers { srvr, mntr, conf, hash })
}

impl Attach {
    /// An attachment to these members (nothing polled yet).
    pub fn new(members: Vec<String>) -> Arc<Attach> {
        let shared = Arc::new(Shared::default());
        let n = members.len();
        Arc::new(Attach {
            members,
            snapshot: Mutex::new(Snapshot { poll_ms: POLL_EVERY.as_millis() as u64, ..Snapshot::default() }),
            down_since: Mutex::new(vec![None; n]),
            console: tokio::sync::Mutex::new(Console::new(shared.clone())),
            shared,
            readers: Mutex::new(HashMap::new()),
            walks: tokio::sync::Semaphore::new(WALKS),
        })
    }

    /// The routes the page uses.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/api/live", get(live))
            .route("/api/live/exec", post(exec).layer(DefaultBodyLimit::max(zkcli::MAX_LINE_BYTES + 1024)))
            .route("/api/live/tree", get(tree_route))
            .route("/api/live/compare", get(compare_route))
            .with_state(self.clone())
    }

    /// Polls forever, and keeps the console's session connected (spawn it).
    pub async fn poll_forever(self: Arc<Self>) {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                me.keep_console().await;
                tokio::time::sleep(POLL_EVERY).await;
            }
        });
        let mut t = tokio::time::interval(POLL_EVERY);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            t.tick().await;
            self.poll_once().await;
        }
    }

    /// Where the console may connect: the serving members, then the others.
    fn candidates(&self) -> Vec<String> {
        let snap = lock(&self.snapshot);
        let mut out: Vec<String> =
            snap.members.iter().filter(|m| m.serving()).map(|m| m.addr.clone()).collect();
        for m in &self.members {
            if !out.contains(m) {
                out.push(m.clone());
            }
        }
        out
    }

    /// Reconnects (resumes) the console's session when it is down and no command runs.
    async fn keep_console(&self) {
        let Ok(mut c) = self.console.try_lock() else { return };
        let candidates = self.candidates();
        let _ = c.ensure(&candidates).await;
    }

    /// One poll of every member.
    pub async fn poll_once(&self) {
        let polls = lock(&self.snapshot).polls + 1;
        let with_hash = polls % HASH_EVERY == 1;
        let tasks: Vec<_> = self
            .members
            .iter()
            .enumerate()
            .map(|(i, addr)| tokio::spawn(poll_member(addr.clone(), i, with_hash)))
            .collect();
        let mut members = Vec::new();
        for (i, t) in tasks.into_iter().enumerate() {
            members.push(t.await.unwrap_or_else(|e| Member {
                index: i,
                addr: self.members[i].clone(),
                id: i as u64 + 1,
                state: "unknown".into(),
                error: Some(format!("the poll failed: {e}")),
                ..Member::default()
            }));
        }
        let before = lock(&self.snapshot).members.clone();
        {
            let now = Instant::now();
            let mut since = lock(&self.down_since);
            for m in &mut members {
                if !with_hash {
                    if let Some(b) = before.iter().find(|b| b.index == m.index) {
                        m.hash.clone_from(&b.hash);
                    }
                }
                let s = &mut since[m.index];
                if m.state == "down" {
                    let t = *s.get_or_insert(now);
                    m.down_for_ms = Some(now.duration_since(t).as_millis() as u64);
                } else {
                    *s = None;
                }
            }
        }
        let (agreement, diverged) = agreement(&mut members);
        let config = members
            .iter()
            .find(|m| m.state == "leader" && !m.conf.is_empty())
            .or_else(|| members.iter().find(|m| m.serving() && !m.conf.is_empty()))
            .map(|m| m.conf.clone())
            .unwrap_or_default();
        self.close_idle_readers();
        let session = self.session();
        let mut snap = lock(&self.snapshot);
        let stamp = console::clock();
        for line in changes(&before, &members) {
            snap.history.push(format!("{stamp} {line}"));
        }
        let extra = snap.history.len().saturating_sub(HISTORY);
        snap.history.drain(..extra);
        snap.polls = polls;
        snap.members = members;
        snap.config = config;
        snap.agreement = agreement;
        snap.diverged = diverged;
        snap.session = session;
    }

    fn close_idle_readers(&self) {
        let idle: Vec<Arc<Client>> = {
            let mut r = lock(&self.readers);
            let gone: Vec<usize> = r
                .iter()
                .filter(|(_, (c, used))| !c.alive() || used.elapsed() > READER_IDLE)
                .map(|(i, _)| *i)
                .collect();
            gone.into_iter().filter_map(|i| r.remove(&i)).map(|(c, _)| c).collect()
        };
        for c in idle {
            tokio::spawn(async move { c.close().await });
        }
    }

    /// The console's session now, with its watches as they are (events use them up).
    fn session(&self) -> SessionView {
        let mut v = lock(&self.shared.view).clone();
        let w = lock(&self.shared.watches);
        v.watches = w.describe(50);
        v.watch_count = w.len();
        v
    }

    /// The picture and the console's lines after `after`.
    pub fn live(&self, after: u64) -> LiveReply {
        let mut snapshot = lock(&self.snapshot).clone();
        snapshot.session = self.session();
        let log = lock(&self.shared.log);
        let (lines, missed) = log.since(after, LINES_PER_POLL);
        LiveReply { snapshot, lines, missed, next: log.last() }
    }

    /// Runs one console line against the ensemble; the line and its answer go to the log.
    pub async fn exec(&self, line: &str) -> ExecReply {
        let command = line.trim().to_string();
        let result = match zkcli::parse(&command) {
            Err(e) => Err(e.to_string()),
            Ok(cmd) => {
                let candidates = self.candidates();
                let mut console = self.console.lock().await;
                match console.ensure(&candidates).await {
                    Err(e) => Err(format!("no session on the ensemble: {e:#}")),
                    Ok(()) => match console.run(cmd).await {
                        Ok(r) => r,
                        Err(e) => Err(format!(
                            "KeeperErrorCode = ConnectionLoss: {e:#} (the command may or may not have been applied; \
                             the session resumes on another member)"
                        )),
                    },
                }
            }
        };
        let (ok, output) = match result {
            Ok(o) => (true, o),
            Err(e) => (false, e),
        };
        let seq = lock(&self.shared.log).push("command", command.clone(), ok, output.clone());
        ExecReply { command, ok, output, seq }
    }

    /// A read session on member `i` (kept for the next walks).
    async fn reader(&self, i: usize) -> Result<Arc<Client>> {
        if let Some((c, used)) = lock(&self.readers).get_mut(&i) {
            if c.alive() {
                *used = Instant::now();
                return Ok(c.clone());
            }
        }
        let opts = ConnectOptions { timeout_ms: console::SESSION_MS, ..ConnectOptions::default() };
        let c = Arc::new(Client::connect(&self.members[i], &opts, None).await?);
        lock(&self.readers).insert(i, (c.clone(), Instant::now()));
        Ok(c)
    }

    async fn walk(&self, i: usize, root: &str) -> Result<tree::Walk> {
        let c = self.reader(i).await?;
        let w = tree::walk(&c, root, tree::TREE_LIMIT).await;
        if w.is_err() && !c.alive() {
            lock(&self.readers).remove(&i);
        }
        w
    }

    fn checked(&self, i: usize, root: Option<&str>) -> std::result::Result<String, String> {
        if i >= self.members.len() {
            return Err(format!("no member {i} (there are {})", self.members.len()));
        }
        let root = root.unwrap_or("/").trim();
        let root = if root.is_empty() { "/" } else { root };
        zkcli::validate_path(root, false).map_err(|e| e.to_string())?;
        Ok(root.to_string())
    }

    fn name(&self, i: usize) -> String {
        lock(&self.snapshot).members.get(i).map_or_else(|| format!("s{}", i + 1), Member::name)
    }

    /// Member `i`'s tree from `root`, as it serves it.
    pub async fn tree(&self, i: usize, root: Option<&str>) -> TreeReply {
        let mut out = TreeReply { member: i, limit: tree::TREE_LIMIT, ..TreeReply::default() };
        let root = match self.checked(i, root) {
            Ok(r) => r,
            Err(e) => {
                out.error = Some(e);
                return out;
            }
        };
        out.addr = self.members[i].clone();
        out.root = root.clone();
        let _permit = self.walks.acquire().await;
        match self.walk(i, &root).await {
            Ok(w) => {
                out.zxid = Some(format!("0x{:x}", w.zxid));
                if w.no_root {
                    out.error = Some(format!("Node does not exist: {root}"));
                }
                out.nodes = w.nodes;
                out.truncated = w.truncated;
            }
            Err(e) => out.error = Some(format!("{} ({}): {e:#}", self.name(i), self.members[i])),
        }
        out
    }

    /// Members `a` and `b` compared from `root`.
    pub async fn compare(&self, a: usize, b: usize, root: Option<&str>) -> CompareReply {
        let mut out = CompareReply { a, b, at: console::clock(), ..CompareReply::default() };
        let root = match self.checked(a, root).and_then(|r| self.checked(b, Some(&r))) {
            Ok(r) if a != b => r,
            Ok(_) => {
                out.error = Some("pick two different members".into());
                return out;
            }
            Err(e) => {
                out.error = Some(e);
                return out;
            }
        };
        out.root = root.clone();
        let (na, nb) = (self.name(a), self.name(b));
        out.names = (na.clone(), nb.clone());
        let (wa, wb, ha, hb) = {
            let _permit = self.walks.acquire_many(2).await;
            tokio::join!(
                self.walk(a, &root),
                self.walk(b, &root),
                four_letter(&self.members[a], "hash"),
                four_letter(&self.members[b], "hash")
            )
        };
        let hash = |h: Result<String>| {
            h.ok().filter(|t| !refused(t)).map(|t| tree::parse_hash(&t)).unwrap_or_default()
        };
        let (digest_same, digest) = tree::digest_verdict(&na, &hash(ha), &nb, &hash(hb));
        out.digest = digest;
        out.digest_same = digest_same;
        let (wa, wb) = match (wa, wb) {
            (Ok(x), Ok(y)) => (x, y),
            (Err(e), _) => {
                out.error = Some(format!("{na}: {e:#}"));
                return out;
            }
            (_, Err(e)) => {
                out.error = Some(format!("{nb}: {e:#}"));
                return out;
            }
        };
        out.zxids = (Some(format!("0x{:x}", wa.zxid)), Some(format!("0x{:x}", wb.zxid)));
        out.walks = tree::compare(&wa, &wb);
        out.same = out.walks.same();
        let behind = |x: i64, y: i64| (x >> 32 == y >> 32 && y > x).then(|| y - x);
        let lag = match (behind(wa.zxid, wb.zxid), behind(wb.zxid, wa.zxid)) {
            (Some(n), _) => format!("; {na} was {n} transactions behind {nb} when read"),
            (_, Some(n)) => format!("; {nb} was {n} transactions behind {na} when read"),
            _ if wa.zxid == wb.zxid => format!("; both at zxid 0x{:x}", wa.zxid),
            _ => format!("; {na} at 0x{:x}, {nb} at 0x{:x} (different epochs)", wa.zxid, wb.zxid),
        };
        let scope = if out.walks.truncated {
            format!("the first {} znodes of each", tree::TREE_LIMIT)
        } else {
            "every znode".to_string()
        };
        out.verdict = if out.same {
            format!("{na} and {nb} serve the same tree under {root} ({scope} compared{lag})")
        } else {
            let n = out.walks.only_a.len() + out.walks.only_b.len() + out.walks.differ.len() + out.walks.more;
            format!("{na} and {nb} differ under {root}: {n} znodes ({scope} compared{lag})")
        };
        out
    }
}

#[derive(Deserialize)]
struct After {
    after: Option<u64>,
}

async fn live(State(a): State<Arc<Attach>>, Query(q): Query<After>) -> Json<LiveReply> {
    Json(a.live(q.after.unwrap_or(0)))
}

async fn exec(State(a): State<Arc<Attach>>, body: String) -> Json<ExecReply> {
    Json(a.exec(&body).await)
}

#[derive(Deserialize)]
struct TreeQuery {
    member: usize,
    root: Option<String>,
}

async fn tree_route(State(a): State<Arc<Attach>>, Query(q): Query<TreeQuery>) -> Json<TreeReply> {
    Json(a.tree(q.member, q.root.as_deref()).await)
}

#[derive(Deserialize)]
struct CompareQuery {
    a: usize,
    b: usize,
    root: Option<String>,
}

async fn compare_route(State(a): State<Arc<Attach>>, Query(q): Query<CompareQuery>) -> Json<CompareReply> {
    Json(a.compare(q.a, q.b, q.root.as_deref()).await)
}

#[cfg(test)]
mod tests;
