//! The console's session on the attached ensemble: zkCli's language (parsed by the core's
//! `zkcli`) run through one client session, with zkCli's outputs and error words.
//!
//! - **Watches**: `get -w`, `ls -w`, `stat -w`, `config -w`, `addWatch` and `ls -R -w`
//!   leave watches on this session; their events go to the console's [`Log`] as they
//!   arrive (the connection's reader task writes them), and the session's watch table
//!   ([`WatchSet`], as ZooKeeper's client keeps one) drops a one-time watch when it fires.
//! - **Resuming**: when the session's member dies, the session is resumed on another
//!   serving member with its id and password (ephemerals stay), its `addauth`s are sent
//!   again and its watches are set again with `setWatches2` from the last zxid it saw, so
//!   a change made while it was away still fires (no event is lost). An expired session
//!   is reported and a new one opened.
//! - **Bounds**: the log keeps [`LOG_LINES`] lines; an output is cut at [`OUTPUT_MAX`]
//!   bytes; `ls -R` prints at most [`LS_R_MAX`] paths; `deleteall` and `setAcl -R` refuse
//!   a subtree over [`SUBTREE_MAX`] znodes before changing anything; the session holds at
//!   most [`WATCH_MAX`] watches.

use crate::zkclient::{decode_children, decode_data, Client, ConnectOptions, EventSink, Reply, ServerError};
use anyhow::Result;
use serde::Serialize;
use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use zoolab_core::config::compact_config;
use zoolab_core::jute::proto::{OpCode, WatcherEvent, WireAcl, WireStat, XID_AUTH, XID_SET_WATCHES};
use zoolab_core::jute::request::{encode_multi, CreateRequest, MultiOp as WireMultiOp};
use zoolab_core::jute::{Reader, Writer};
use zoolab_core::tree::ZkError;
use zoolab_core::zkcli::{self, AddWatchMode, CreateMode, MultiOp, ReconfigChange, WatcherKind, ZkCommand};

/// Lines the console's log keeps (commands, events, session changes).
pub const LOG_LINES: usize = 1000;
/// The longest output kept for one command, in bytes.
pub const OUTPUT_MAX: usize = 64 * 1024;
/// The most paths `ls -R` prints.
pub const LS_R_MAX: usize = 1000;
/// The largest subtree `deleteall` and `setAcl -R` act on.
pub const SUBTREE_MAX: usize = 10_000;
/// The most watches the console's session keeps.
pub const WATCH_MAX: usize = 10_000;
/// The console's session timeout asked for (ms).
pub const SESSION_MS: i32 = 10_000;
/// Requests kept in flight while listing a subtree.
const PIPELINE: usize = 64;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One line of the console: a command with its answer, a watch event, or a change of
/// the session's state.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Line {
    /// Its place in the log (from 1; the page asks for the lines after the last it has).
    pub seq: u64,
    /// Wall-clock time, `HH:MM:SS` UTC.
    pub at: String,
    /// `command`, `event` or `state`.
    pub kind: &'static str,
    /// The command line, or the event as zkCli prints it.
    pub text: String,
    /// Whether the command succeeded (events: true).
    pub ok: bool,
    /// The command's output or error.
    pub output: String,
}

/// The console's lines, bounded.
#[derive(Debug, Default)]
pub struct Log {
    lines: VecDeque<Line>,
    last: u64,
}

/// `HH:MM:SS` of the wall clock (UTC).
pub fn clock() -> String {
    let s = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    format!("{:02}:{:02}:{:02}", s / 3600 % 24, s / 60 % 60, s % 60)
}

impl Log {
    /// Appends a line; returns its number.
    pub fn push(&mut self, kind: &'static str, text: String, ok: bool, mut output: String) -> u64 {
        if output.len() > OUTPUT_MAX {
            let mut cut = OUTPUT_MAX;
            while !output.is_char_boundary(cut) {
                cut -= 1;
            }
            let total = output.len();
            output.truncate(cut);
            output.push_str(&format!("\n… (output cut at {OUTPUT_MAX} of {total} bytes)"));
        }
        self.last += 1;
        self.lines.push_back(Line { seq: self.last, at: clock(), kind, text, ok, output });
        while self.lines.len() > LOG_LINES {
            self.lines.pop_front();
        }
        self.last
    }

    /// The lines after `after` (at most `max`, the latest), and how many lines after
    /// `after` are not among them (dropped from the log, or beyond `max`).
    pub fn since(&self, after: u64, max: usize) -> (Vec<Line>, u64) {
        let newer: Vec<&Line> = self.lines.iter().filter(|l| l.seq > after).collect();
        let skip = newer.len().saturating_sub(max);
        let first = newer.get(skip).map_or(self.last + 1, |l| l.seq);
        let missed = first.saturating_sub(after.min(self.last) + 1);
        (newer[skip..].iter().map(|l| (*l).clone()).collect(), missed)
    }

    /// The last line's number.
    pub fn last(&self) -> u64 {
        self.last
    }
}

/// The watches the console's session has left, as ZooKeeper's client tracks them (to set
/// them again on another member, and to know which one-time watch an event used up).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WatchSet {
    /// Data watches (`get -w`, `stat -w` of a znode that exists, `config -w`).
    pub data: BTreeSet<String>,
    /// Exist watches (`stat -w` of a znode that does not exist).
    pub exist: BTreeSet<String>,
    /// Child watches (`ls -w`).
    pub child: BTreeSet<String>,
    /// `addWatch -m PERSISTENT`.
    pub persistent: BTreeSet<String>,
    /// `addWatch` (PERSISTENT_RECURSIVE).
    pub recursive: BTreeSet<String>,
}

/// ZooKeeper's `Watcher.Event.EventType` names.
pub fn event_type(kind: i32) -> &'static str {
    match kind {
        -1 | 0 => "None",
        1 => "NodeCreated",
        2 => "NodeDeleted",
        3 => "NodeDataChanged",
        4 => "NodeChildrenChanged",
        5 => "DataWatchRemoved",
        6 => "ChildWatchRemoved",
        7 => "PersistentWatchRemoved",
        _ => "Unknown",
    }
}

/// ZooKeeper's `Watcher.Event.KeeperState` names.
pub fn keeper_state(state: i32) -> &'static str {
    match state {
        0 => "Disconnected",
        3 => "SyncConnected",
        4 => "AuthFailed",
        5 => "ConnectedReadOnly",
        6 => "SaslAuthenticated",
        -112 => "Expired",
        7 => "Closed",
        _ => "Unknown",
    }
}

/// An event as the console prints it (the simulator's console prints the same).
pub fn event_text(e: &WatcherEvent) -> String {
    format!(
        "WATCHER::WatchedEvent state:{} type:{} path:{}",
        keeper_state(e.state),
        event_type(e.kind),
        e.path
    )
}

impl WatchSet {
    /// How many watches.
    pub fn len(&self) -> usize {
        self.data.len() + self.exist.len() + self.child.len() + self.persistent.len() + self.recursive.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An event arrived: the one-time watches it used up go (persistent ones stay).
    pub fn fired(&mut self, kind: i32, path: &str) {
        match kind {
            1 | 3 => {
                self.data.remove(path);
                self.exist.remove(path);
            }
            2 => {
                self.data.remove(path);
                self.exist.remove(path);
                self.child.remove(path);
            }
            4 => {
                self.child.remove(path);
            }
            _ => {}
        }
    }

    /// Removes the watches of `kind` on `path`; returns the event types zkCli's watcher
    /// is told (DataWatchRemoved, ChildWatchRemoved, PersistentWatchRemoved), empty when
    /// there was none.
    pub fn remove(&mut self, path: &str, kind: WatcherKind) -> Vec<i32> {
        let mut out = Vec::new();
        let data = matches!(kind, WatcherKind::Data | WatcherKind::Any);
        let child = matches!(kind, WatcherKind::Children | WatcherKind::Any);
        let persistent = matches!(kind, WatcherKind::Persistent | WatcherKind::Any);
        let recursive = matches!(kind, WatcherKind::PersistentRecursive | WatcherKind::Any);
        if data && (self.data.remove(path) | self.exist.remove(path)) {
            out.push(5);
        }
        if child && self.child.remove(path) {
            out.push(6);
        }
        if (persistent && self.persistent.remove(path)) | (recursive && self.recursive.remove(path)) {
            out.push(7);
        }
        out
    }

    /// Whether a watch of `kind` is on `path`.
    pub fn has(&self, path: &str, kind: WatcherKind) -> bool {
        self.clone().remove(path, kind).into_iter().next().is_some()
    }

    /// One line per watch (`data /a`), at most `max`.
    pub fn describe(&self, max: usize) -> Vec<String> {
        let kinds = [
            ("data", &self.data),
            ("exist", &self.exist),
            ("child", &self.child),
            ("persistent", &self.persistent),
            ("recursive", &self.recursive),
        ];
        kinds.iter().flat_map(|(k, set)| set.iter().map(move |p| format!("{k} {p}"))).take(max).collect()
    }

    /// The body of `setWatches2` (ZooKeeper 3.6+) from `relative_zxid`.
    pub fn set_watches(&self, relative_zxid: i64, w: &mut Writer) {
        let list = |w: &mut Writer, s: &BTreeSet<String>| {
            let v: Vec<&String> = s.iter().collect();
            w.vec(&v, |w, p| {
                w.string(p);
            });
        };
        w.i64(relative_zxid);
        list(w, &self.data);
        list(w, &self.exist);
        list(w, &self.child);
        list(w, &self.persistent);
        list(w, &self.recursive);
    }
}

/// The console session as the page shows it.
#[derive(Clone, Debug, Serialize, PartialEq, Default)]
pub struct SessionView {
    /// The session id (hex), when there is one.
    pub id: Option<String>,
    /// The member it is connected to.
    pub addr: Option<String>,
    /// CONNECTED, CONNECTING (none yet, or resuming) or the last error.
    pub state: String,
    /// Its watches (`data /a`, …; at most 50).
    pub watches: Vec<String>,
    /// How many watches.
    pub watch_count: usize,
    /// The negotiated session timeout (ms).
    pub timeout_ms: Option<i32>,
    /// Why it is not connected.
    pub error: Option<String>,
}

/// What the console's connection shares with its reader task and with the poller.
#[derive(Default)]
pub struct Shared {
    /// The console's lines.
    pub log: Mutex<Log>,
    /// The session's watches.
    pub watches: Mutex<WatchSet>,
    /// The session as shown.
    pub view: Mutex<SessionView>,
}

impl Shared {
    fn sink(self: &Arc<Self>) -> EventSink {
        let shared = self.clone();
        Arc::new(move |e: WatcherEvent| {
            lock(&shared.watches).fired(e.kind, &e.path);
            lock(&shared.log).push("event", event_text(&e), true, String::new());
        })
    }

    fn state(&self, text: &str, detail: String) {
        lock(&self.log).push("state", format!("WatchedEvent state:{text} type:None path:null"), true, detail);
    }

    fn show(&self, c: Option<&Client>, error: Option<String>) {
        let w = lock(&self.watches);
        let mut v = lock(&self.view);
        *v = SessionView {
            id: c.map(|c| format!("0x{:x}", c.session)),
            addr: c.map(|c| c.addr.clone()),
            state: match (c, &error) {
                (Some(_), _) => "CONNECTED".into(),
                (None, Some(_)) => "DISCONNECTED".into(),
                (None, None) => "CONNECTING".into(),
            },
            watches: w.describe(50),
            watch_count: w.len(),
            timeout_ms: c.map(|c| c.timeout_ms),
            error,
        };
    }
}

/// The console's session and what it needs to resume.
pub struct Console {
    shared: Arc<Shared>,
    client: Option<Client>,
    resume: Option<(i64, Vec<u8>)>,
    last_zxid: i64,
    auths: Vec<(String, Vec<u8>)>,
}

/// A command's answer: the output, or the error as zkCli words it.
pub type Answer = std::result::Result<String, String>;

impl Console {
    /// A console with no session yet.
    pub fn new(shared: Arc<Shared>) -> Console {
        Console { shared, client: None, resume: None, last_zxid: 0, auths: Vec::new() }
    }

    /// Makes sure the session is connected, resuming it (or opening one) on the first of
    /// `candidates` that accepts.
    pub async fn ensure(&mut self, candidates: &[String]) -> Result<()> {
        if self.client.as_ref().is_some_and(Client::alive) {
            return Ok(());
        }
        if let Some(dead) = self.client.take() {
            self.last_zxid = self.last_zxid.max(dead.last_zxid());
            let why = dead.why().unwrap_or_default();
            self.shared
                .state("Disconnected", format!("session 0x{:x} lost {}: {why}", dead.session, dead.addr));
        }
        let mut last_error = None;
        let mut tries = 0;
        let mut i = 0;
        while i < candidates.len() && tries < candidates.len() + 1 {
            tries += 1;
            let addr = &candidates[i];
            let opts = ConnectOptions {
                timeout_ms: SESSION_MS,
                resume: self.resume.clone(),
                last_zxid_seen: self.last_zxid,
                ..ConnectOptions::default()
            };
            match Client::connect(addr, &opts, Some(self.shared.sink())).await {
                Ok(c) => {
                    let resumed = self.resume.as_ref().is_some_and(|(id, _)| *id == c.session);
                    let how = if resumed { "resumed" } else { "opened" };
                    self.shared.state("SyncConnected", format!("session 0x{:x} {how} on {addr}", c.session));
                    match self.settle(&c).await {
                        Ok(()) => {
                            self.resume = Some((c.session, c.password.clone()));
                            self.shared.show(Some(&c), None);
                            self.client = Some(c);
                            return Ok(());
                        }
                        Err(e) => {
                            self.shared.state("Disconnected", format!("{addr}: {e:#}"));
                            last_error = Some(e);
                        }
                    }
                }
                Err(e) if e.downcast_ref::<crate::zkclient::SessionExpired>().is_some() => {
                    let (id, _) = self.resume.take().unwrap_or_default();
                    lock(&self.shared.watches).clone_from(&WatchSet::default());
                    self.shared.state(
                        "Expired",
                        format!("session 0x{id:x} expired: its ephemerals are gone and its watches with it; opening a new session"),
                    );
                    continue; // the same member, for a new session
                }
                Err(e) => last_error = Some(e),
            }
            i += 1;
        }
        let e = last_error.unwrap_or_else(|| anyhow::anyhow!("no member to connect to"));
        self.shared.show(None, Some(format!("{e:#}")));
        Err(e)
    }

    /// After a (re)connect: the session's credentials again, then its watches.
    async fn settle(&self, c: &Client) -> Result<()> {
        for (scheme, auth) in &self.auths {
            let p = c
                .call_xid(XID_AUTH, OpCode::Auth, |w| {
                    w.i32(0).string(scheme).buffer(auth);
                })
                .await?;
            if p.header.err != 0 {
                anyhow::bail!("addauth {scheme} was refused again ({})", code_word(p.header.err));
            }
        }
        let watches = lock(&self.shared.watches).clone();
        if !watches.is_empty() {
            let relative = self.last_zxid;
            let p = c
                .call_xid(XID_SET_WATCHES, OpCode::SetWatches2, |w| watches.set_watches(relative, w))
                .await?;
            if p.header.err != 0 {
                anyhow::bail!("setWatches2 was refused ({})", code_word(p.header.err));
            }
        }
        Ok(())
    }

    /// The session's connection (tests break it).
    #[cfg(test)]
    pub fn connection(&self) -> Option<&Client> {
        self.client.as_ref()
    }

    /// The session's client (after [`Console::ensure`]).
    fn client(&self) -> Result<&Client> {
        self.client.as_ref().ok_or_else(|| anyhow::anyhow!("no session"))
    }

    /// Runs one parsed command. `Err` is a broken connection (the command may or may not
    /// have been applied, as zkCli's CONNECTIONLOSS).
    pub async fn run(&mut self, cmd: ZkCommand) -> Result<Answer> {
        let out = self.run_inner(cmd).await;
        if let Some(c) = &self.client {
            self.last_zxid = self.last_zxid.max(c.last_zxid());
            if !c.alive() {
                let dead = self.client.take();
                if let Some(d) = dead {
                    self.shared.state(
                        "Disconnected",
                        format!("session 0x{:x} lost {}: {}", d.session, d.addr, d.why().unwrap_or_default()),
                    );
                }
                self.shared.show(None, Some("the connection was lost".into()));
                return out;
            }
            self.shared.show(Some(c), None);
        }
        out
    }

    fn watches(&self) -> std::sync::MutexGuard<'_, WatchSet> {
        lock(&self.shared.watches)
    }

    fn watch_room(&self) -> std::result::Result<(), String> {
        if self.watches().len() >= WATCH_MAX {
            return Err(format!(
                "this session already holds {WATCH_MAX} watches (live mode's bound); removewatches first"
            ));
        }
        Ok(())
    }

    async fn run_inner(&mut self, cmd: ZkCommand) -> Result<Answer> {
        if let ZkCommand::AddAuth { scheme, auth } = cmd {
            let p = self
                .client()?
                .call_xid(XID_AUTH, OpCode::Auth, |w| {
                    w.i32(0).string(&scheme).buffer(auth.as_bytes());
                })
                .await?;
            if p.header.err != 0 {
                return Ok(Err(format!(
                    "addauth {scheme}: {} (the server closes the session's connection)",
                    code_word(p.header.err)
                )));
            }
            if !self.auths.iter().any(|(s, a)| *s == scheme && a == auth.as_bytes()) {
                self.auths.push((scheme, auth.into_bytes()));
            }
            return Ok(Ok(String::new()));
        }
        let c = self.client()?;
        Ok(match cmd {
            ZkCommand::Create { mode, path, data, acl } => {
                let (op, flags, ttl) = wire_create(mode);
                let acl = acl.map_or_else(open_acl, |a| wire_acl(&a));
                let p = c
                    .call(op, |w| {
                        w.string(&path);
                        match &data {
                            Some(d) => w.buffer(d.as_bytes()),
                            None => w.null(),
                        };
                        WireAcl::write_list(&acl, w);
                        w.i32(flags);
                        if let Some(t) = ttl {
                            w.i64(t);
                        }
                    })
                    .await?;
                match p.ok() {
                    Ok(body) => Ok(format!("Created {}", Reader::new(&body, body.len()).string("path")?)),
                    Err(e) => Err(refusal(e, &path, ttl.is_some())),
                }
            }
            ZkCommand::Set { stat, version, path, data } => {
                let p = c
                    .call(OpCode::SetData, |w| {
                        w.string(&path).buffer(data.as_bytes()).i32(version.unwrap_or(-1));
                    })
                    .await?;
                match p.ok() {
                    Ok(body) if stat => Ok(stat_text(&read_stat(&body)?)),
                    Ok(_) => Ok(String::new()),
                    Err(e) => Err(error_text(e, &path)),
                }
            }
            ZkCommand::Get { stat, watch, path } => {
                if watch {
                    if let Err(e) = self.watch_room() {
                        return Ok(Err(e));
                    }
                }
                match get_data(c, &path, watch).await? {
                    Ok((data, s)) => {
                        if watch {
                            self.watches().data.insert(path.clone());
                        }
                        let text = data
                            .map_or_else(|| "null".to_string(), |d| String::from_utf8_lossy(&d).into_owned());
                        Ok(if stat { format!("{text}\n{}", stat_text(&s)) } else { text })
                    }
                    Err(e) => Err(error_text(e, &path)),
                }
            }
            ZkCommand::Ls { stat, watch, recursive: true, path } => {
                let _ = stat;
                if watch {
                    if let Err(e) = self.watch_room() {
                        return Ok(Err(e));
                    }
                }
                match subtree(c, &path, LS_R_MAX, watch).await? {
                    Ok((paths, complete)) => {
                        if watch {
                            let mut w = self.watches();
                            for p in &paths {
                                if w.len() < WATCH_MAX {
                                    w.child.insert(p.clone());
                                }
                            }
                        }
                        let mut text = paths.join("\n");
                        if !complete {
                            text.push_str(&format!("\n… (live mode lists at most {LS_R_MAX} paths)"));
                        }
                        Ok(text)
                    }
                    Err(e) => Err(error_text(e, &path)),
                }
            }
            ZkCommand::Ls { stat, watch, recursive: false, path } => {
                if watch {
                    if let Err(e) = self.watch_room() {
                        return Ok(Err(e));
                    }
                }
                let op = if stat { OpCode::GetChildren2 } else { OpCode::GetChildren };
                let p = c
                    .call(op, |w| {
                        w.string(&path).bool(watch);
                    })
                    .await?;
                match p.ok() {
                    Ok(body) => {
                        if watch {
                            self.watches().child.insert(path.clone());
                        }
                        let (names, s) = decode_children(&body)?;
                        let list = format!("[{}]", names.join(", "));
                        Ok(match s {
                            Some(s) if stat => format!("{list}\n{}", stat_text(&s)),
                            _ => list,
                        })
                    }
                    Err(e) => Err(error_text(e, &path)),
                }
            }
            ZkCommand::Stat { watch, path } => {
                if watch {
                    if let Err(e) = self.watch_room() {
                        return Ok(Err(e));
                    }
                }
                match c.exists(&path, watch).await? {
                    Ok(s) => {
                        if watch {
                            self.watches().data.insert(path.clone());
                        }
                        Ok(stat_text(&s))
                    }
                    Err(e) => {
                        if watch && e.0 == ZkError::NoNode.code() {
                            self.watches().exist.insert(path.clone());
                        }
                        Err(error_text(e, &path))
                    }
                }
            }
            ZkCommand::Delete { version, path } => {
                let p = c
                    .call(OpCode::Delete, |w| {
                        w.string(&path).i32(version.unwrap_or(-1));
                    })
                    .await?;
                match p.ok() {
                    Ok(_) => Ok(String::new()),
                    Err(e) => Err(error_text(e, &path)),
                }
            }
            ZkCommand::DeleteAll { path, batch } => {
                delete_all(c, &path, batch.unwrap_or(1000).max(1)).await?
            }
            ZkCommand::Sync { path } => {
                let p = c
                    .call(OpCode::Sync, |w| {
                        w.string(&path);
                    })
                    .await?;
                match p.ok() {
                    Ok(_) => Ok("Sync is OK".into()),
                    Err(e) => Err(format!("Sync has failed. rc={}", e.0)),
                }
            }
            ZkCommand::AddWatch { mode, path } => {
                if let Err(e) = self.watch_room() {
                    return Ok(Err(e));
                }
                let m = match mode {
                    AddWatchMode::Persistent => 0,
                    AddWatchMode::PersistentRecursive => 1,
                };
                let p = c
                    .call(OpCode::AddWatch, |w| {
                        w.string(&path).i32(m);
                    })
                    .await?;
                match p.ok() {
                    Ok(_) => {
                        let mut w = self.watches();
                        match mode {
                            AddWatchMode::Persistent => w.persistent.insert(path.clone()),
                            AddWatchMode::PersistentRecursive => w.recursive.insert(path.clone()),
                        };
                        Ok(String::new())
                    }
                    Err(e) => Err(error_text(e, &path)),
                }
            }
            ZkCommand::RemoveWatches { path, kind, local } => {
                let code = match kind {
                    WatcherKind::Children => 1,
                    WatcherKind::Data => 2,
                    WatcherKind::Any => 3,
                    WatcherKind::Persistent | WatcherKind::PersistentRecursive => {
                        return Ok(Err(
                            "removewatches -p / -r: ZooKeeper 3.8's servers have no such watcher \
                                       type (3.9 added it); -a removes persistent watches too"
                                .to_string(),
                        ));
                    }
                };
                if !self.watches().has(&path, kind) {
                    // ZooKeeper's client checks its own table first.
                    return Ok(Err(format!("KeeperErrorCode = NoWatcher for {path}")));
                }
                let sent = c
                    .call(OpCode::RemoveWatches, |w| {
                        w.string(&path).i32(code);
                    })
                    .await;
                let result = match sent {
                    Ok(p) => p.ok().map(|_| ()),
                    Err(_) if local => Ok(()),
                    Err(e) => return Err(e),
                };
                match result {
                    Ok(()) => {
                        let kinds = self.watches().remove(&path, kind);
                        let mut log = lock(&self.shared.log);
                        for k in kinds {
                            let e = WatcherEvent { kind: k, state: 3, path: path.clone() };
                            log.push("event", event_text(&e), true, String::new());
                        }
                        Ok(String::new())
                    }
                    Err(e) => Err(error_text(e, &path)),
                }
            }
            ZkCommand::GetAcl { stat, path } => {
                let p = c
                    .call(OpCode::GetAcl, |w| {
                        w.string(&path);
                    })
                    .await?;
                match p.ok() {
                    Ok(body) => {
                        let mut r = Reader::new(&body, body.len());
                        let acl = WireAcl::read_list(&mut r)?;
                        let s = WireStat::read(&mut r)?;
                        let mut text = acl_text(&acl);
                        if stat {
                            text.push('\n');
                            text.push_str(&stat_text(&s));
                        }
                        Ok(text)
                    }
                    Err(e) => Err(error_text(e, &path)),
                }
            }
            ZkCommand::SetAcl { stat, version, recursive, path, acl } => {
                let acl = wire_acl(&acl);
                let paths = if recursive {
                    match subtree(c, &path, SUBTREE_MAX + 1, false).await? {
                        Ok((paths, _)) if paths.len() > SUBTREE_MAX => {
                            return Ok(Err(format!(
                                "setAcl -R: {path} has more than {SUBTREE_MAX} znodes below it (live mode's bound); nothing was changed"
                            )));
                        }
                        Ok((paths, _)) => paths,
                        Err(e) => return Ok(Err(error_text(e, &path))),
                    }
                } else {
                    vec![path.clone()]
                };
                let mut last = None;
                for p in &paths {
                    let packet = c
                        .call(OpCode::SetAcl, |w| {
                            w.string(p);
                            WireAcl::write_list(&acl, w);
                            w.i32(version.unwrap_or(-1));
                        })
                        .await?;
                    match packet.ok() {
                        Ok(body) => last = Some(read_stat(&body)?),
                        Err(e) => return Ok(Err(error_text(e, p))),
                    }
                }
                Ok(match last {
                    Some(s) if stat && !recursive => stat_text(&s),
                    _ => String::new(),
                })
            }
            ZkCommand::GetAllChildrenNumber { path } => {
                let p = c
                    .call(OpCode::GetAllChildrenNumber, |w| {
                        w.string(&path);
                    })
                    .await?;
                match p.ok() {
                    Ok(body) => Ok(Reader::new(&body, body.len()).i32("totalNumber")?.to_string()),
                    Err(e) => Err(error_text(e, &path)),
                }
            }
            ZkCommand::GetEphemerals { path } => {
                let prefix = path.unwrap_or_else(|| "/".into());
                let p = c
                    .call(OpCode::GetEphemerals, |w| {
                        w.string(&prefix);
                    })
                    .await?;
                match p.ok() {
                    Ok(body) => Ok(format!("[{}]", decode_children(&body)?.0.join(", "))),
                    Err(e) => Err(error_text(e, &prefix)),
                }
            }
            ZkCommand::Config { compact, watch, stat } => {
                if watch {
                    if let Err(e) = self.watch_room() {
                        return Ok(Err(e));
                    }
                }
                const CONFIG: &str = "/zookeeper/config";
                match get_data(c, CONFIG, watch).await? {
                    Ok((data, s)) => {
                        if watch {
                            self.watches().data.insert(CONFIG.into());
                        }
                        let text = String::from_utf8_lossy(&data.unwrap_or_default()).into_owned();
                        let text = if compact {
                            compact_config(text.trim_end())
                        } else {
                            text.trim_end().to_string()
                        };
                        Ok(if stat { format!("{text}\n{}", stat_text(&s)) } else { text })
                    }
                    Err(e) => Err(error_text(e, CONFIG)),
                }
            }
            ZkCommand::Reconfig { stat, version, change } => {
                let (joining, leaving, members) = match change {
                    ReconfigChange::Incremental { add, remove } => (add, remove, None),
                    ReconfigChange::Members(m) => (None, None, Some(m)),
                    ReconfigChange::File(_) => {
                        return Ok(Err(
                            "reconfig -file reads a file where zkCli runs; the play server has none: use -members".into(),
                        ));
                    }
                };
                let cur = version.map_or(-1, |v| i64::try_from(v).unwrap_or(i64::MAX));
                let p = c
                    .call(OpCode::Reconfig, |w| {
                        for s in [&joining, &leaving, &members] {
                            match s {
                                Some(s) => w.string(s),
                                None => w.null(),
                            };
                        }
                        w.i64(cur);
                    })
                    .await?;
                match p.ok() {
                    Ok(body) => {
                        let (data, s) = decode_data(&body)?;
                        let text = String::from_utf8_lossy(&data.unwrap_or_default()).trim_end().to_string();
                        let mut out = format!("Committed new configuration:\n{text}");
                        if stat {
                            out.push('\n');
                            out.push_str(&stat_text(&s));
                        }
                        Ok(out)
                    }
                    Err(e) => Err(reconfig_refusal(e)),
                }
            }
            ZkCommand::AddAuth { .. } => unreachable!("handled above"),
            ZkCommand::WhoAmI => {
                let p = c.call(OpCode::WhoAmI, |_| {}).await?;
                match p.ok() {
                    Ok(body) => {
                        let mut r = Reader::new(&body, body.len());
                        let ids =
                            r.vec("clientInfo", 8, |r| Ok((r.string("authScheme")?, r.string("user")?)))?;
                        let mut out = String::from("Auth scheme: User");
                        for (s, u) in ids {
                            out.push_str(&format!("\n{s}: {u}"));
                        }
                        Ok(out)
                    }
                    Err(e) => Err(error_text(e, "whoami")),
                }
            }
            ZkCommand::Multi(ops) => multi(c, &ops).await?,
        })
    }
}

/// `getData` with the data kept null when the znode's is.
async fn get_data(c: &Client, path: &str, watch: bool) -> Result<Reply<(Option<Vec<u8>>, WireStat)>> {
    let p = c
        .call(OpCode::GetData, |w| {
            w.string(path).bool(watch);
        })
        .await?;
    Ok(match p.ok() {
        Ok(body) => Ok(decode_data(&body)?),
        Err(e) => Err(e),
    })
}

fn read_stat(body: &[u8]) -> Result<WireStat> {
    Ok(WireStat::read(&mut Reader::new(body, body.len()))?)
}

/// The paths of `root`'s subtree, depth first (root first, children sorted), at most
/// `max`; and whether that is all of it. `watch` leaves a child watch on each.
async fn subtree(c: &Client, root: &str, max: usize, watch: bool) -> Result<Reply<(Vec<String>, bool)>> {
    // Breadth first, pipelined, then ordered depth first.
    let mut out: Vec<String> = Vec::new();
    let mut queue = VecDeque::from([root.to_string()]);
    while !queue.is_empty() && out.len() < max {
        let take = queue.len().min(PIPELINE).min(max - out.len());
        let batch: Vec<String> = queue.drain(..take).collect();
        let mut pending = Vec::new();
        for p in &batch {
            pending.push(c.send(OpCode::GetChildren, |w| {
                w.string(p).bool(watch);
            })?);
        }
        for (p, rx) in batch.into_iter().zip(pending) {
            match c.wait(rx).await?.ok() {
                Ok(body) => {
                    let (names, _) = decode_children(&body)?;
                    queue.extend(names.iter().map(|n| {
                        if p == "/" {
                            format!("/{n}")
                        } else {
                            format!("{p}/{n}")
                        }
                    }));
                    out.push(p);
                }
                Err(e) if p == root => return Ok(Err(e)),
                Err(_) => {} // gone meanwhile
            }
        }
    }
    let complete = queue.is_empty();
    out.sort_by(|a, b| super::tree::dfs_order(a, b));
    Ok(Ok((out, complete)))
}

/// zkCli's `deleteall`: the subtree's znodes deleted leaves first, `batch` per multi.
async fn delete_all(c: &Client, path: &str, batch: u32) -> Result<Answer> {
    let paths = match subtree(c, path, SUBTREE_MAX + 1, false).await? {
        Ok((paths, _)) if paths.len() > SUBTREE_MAX => {
            return Ok(Err(format!(
                "deleteall: {path} has more than {SUBTREE_MAX} znodes below it (live mode's bound); nothing was deleted"
            )));
        }
        Ok((paths, _)) => paths,
        Err(e) => return Ok(Err(error_text(e, path))),
    };
    // Depth first order reversed: every child before its parent.
    for chunk in paths.iter().rev().collect::<Vec<_>>().chunks(batch as usize) {
        let ops: Vec<WireMultiOp> =
            chunk.iter().map(|p| WireMultiOp::Delete { path: (*p).clone(), version: -1 }).collect();
        let p = c.call(OpCode::Multi, |w| encode_multi(&ops, w)).await?;
        let results = decode_multi(&p.body)?;
        if let Some((i, code)) = results.iter().enumerate().find_map(|(i, r)| match r {
            MultiResult::Error(code) if *code != 0 && *code != ZkError::RuntimeInconsistency.code() => {
                Some((i, *code))
            }
            _ => None,
        }) {
            return Ok(Err(error_text(ServerError(code), chunk.get(i).map_or(path, |p| p.as_str()))));
        }
        if p.header.err != 0 && results.is_empty() {
            return Ok(Err(error_text(ServerError(p.header.err), path)));
        }
    }
    Ok(Ok(String::new()))
}

/// One result of a multi.
#[derive(Clone, Debug, PartialEq)]
pub enum MultiResult {
    /// A create: the path made.
    Created(String),
    /// A setData: the new Stat.
    Set(WireStat),
    /// A delete.
    Deleted,
    /// A check.
    Checked,
    /// This op's error (0 or RUNTIMEINCONSISTENCY: rolled back because another failed).
    Error(i32),
}

/// Reads a multi's reply body.
pub fn decode_multi(body: &[u8]) -> Result<Vec<MultiResult>> {
    let mut r = Reader::new(body, body.len());
    let mut out = Vec::new();
    while r.remaining() > 0 && out.len() <= zoolab_core::jute::request::MAX_MULTI_OPS {
        let kind = r.i32("type")?;
        let done = r.bool("done")?;
        let _err = r.i32("err")?;
        if done {
            break;
        }
        out.push(match kind {
            1 => MultiResult::Created(r.string("path")?),
            15 | 19 | 21 => {
                let p = r.string("path")?;
                WireStat::read(&mut r)?;
                MultiResult::Created(p)
            }
            5 => MultiResult::Set(WireStat::read(&mut r)?),
            2 => MultiResult::Deleted,
            13 => MultiResult::Checked,
            -1 => MultiResult::Error(r.i32("err")?),
            other => anyhow::bail!("a multi result of type {other}"),
        });
    }
    Ok(out)
}

/// zoolab's `multi` (one transaction): each op's outcome on its own line.
async fn multi(c: &Client, ops: &[MultiOp]) -> Result<Answer> {
    let mut wire = Vec::new();
    let mut words = Vec::new();
    for op in ops {
        words.push(op_line(op));
        wire.push(match op {
            MultiOp::Create { mode, path, data, acl } => {
                let (op, flags, ttl) = wire_create(*mode);
                WireMultiOp::Create(CreateRequest {
                    op,
                    path: path.clone(),
                    data: data.clone().map(String::into_bytes).into(),
                    acl: acl.as_ref().map_or_else(open_acl, |a| wire_acl(a)),
                    flags,
                    ttl,
                })
            }
            MultiOp::Set { version, path, data } => WireMultiOp::SetData {
                path: path.clone(),
                data: data.clone().into_bytes().into(),
                version: version.unwrap_or(-1),
            },
            MultiOp::Delete { version, path } => {
                WireMultiOp::Delete { path: path.clone(), version: version.unwrap_or(-1) }
            }
            MultiOp::Check { version, path } => WireMultiOp::Check { path: path.clone(), version: *version },
        });
    }
    let p = c.call(OpCode::Multi, |w| encode_multi(&wire, w)).await?;
    let results = decode_multi(&p.body)?;
    if results.is_empty() && p.header.err != 0 {
        return Ok(Err(format!("multi: {}", code_word(p.header.err))));
    }
    let mut failed = false;
    let mut lines = Vec::new();
    for (i, word) in words.iter().enumerate() {
        let path = op_path(&ops[i]);
        let out = match results.get(i) {
            Some(MultiResult::Created(p)) => format!("Created {p}"),
            Some(MultiResult::Set(s)) => format!("ok (version {})", s.version),
            Some(MultiResult::Deleted | MultiResult::Checked) => "ok".into(),
            Some(MultiResult::Error(0)) | Some(MultiResult::Error(-2)) => "rolled back".into(),
            Some(MultiResult::Error(code)) => {
                failed = true;
                error_text(ServerError(*code), path)
            }
            None => "no result".into(),
        };
        lines.push(format!("{word} → {out}"));
    }
    let text = lines.join("\n");
    Ok(if failed { Err(format!("the multi failed, nothing was applied:\n{text}")) } else { Ok(text) })
}

fn op_path(op: &MultiOp) -> &str {
    match op {
        MultiOp::Create { path, .. }
        | MultiOp::Set { path, .. }
        | MultiOp::Delete { path, .. }
        | MultiOp::Check { path, .. } => path,
    }
}

fn op_line(op: &MultiOp) -> String {
    // The canonical line of a one-op multi, without the `multi ` in front.
    let line = ZkCommand::Multi(vec![op.clone()]).to_string();
    line.strip_prefix("multi ").unwrap_or(&line).to_string()
}

/// A create's opcode, wire flag and TTL, as ZooKeeper's client sends them.
fn wire_create(mode: CreateMode) -> (OpCode, i32, Option<i64>) {
    let (tree_mode, ttl) = mode.tree_mode();
    let op = if tree_mode.is_container() {
        OpCode::CreateContainer
    } else if ttl.is_some() {
        OpCode::CreateTtl
    } else {
        OpCode::Create
    };
    (op, tree_mode.flag(), ttl)
}

fn open_acl() -> Vec<WireAcl> {
    vec![WireAcl { perms: 31, scheme: "world".into(), id: "anyone".into() }]
}

fn wire_acl(acl: &[zkcli::Acl]) -> Vec<WireAcl> {
    acl.iter()
        .map(|a| WireAcl { perms: a.perms.bits(), scheme: a.scheme.clone(), id: a.id.clone() })
        .collect()
}

/// zkCli's ACL printout: `'world,'anyone` then `: cdrwa`, per entry.
pub fn acl_text(acl: &[WireAcl]) -> String {
    acl.iter()
        .map(|a| {
            let perms: String = [(4, 'c'), (8, 'd'), (1, 'r'), (2, 'w'), (16, 'a')]
                .iter()
                .filter(|(bit, _)| a.perms & bit != 0)
                .map(|(_, c)| *c)
                .collect();
            format!("'{},'{}\n: {perms}", a.scheme, a.id)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// ZooKeeper's words for an error code (`KeeperException.Code`'s message).
pub fn code_word(code: i32) -> String {
    let word = match code {
        -4 => "ConnectionLoss",
        -6 => "Unimplemented",
        -7 => "OperationTimeout",
        -8 => "BadArguments",
        -13 => "NewConfigNoQuorum",
        -14 => "ReconfigInProgress",
        -101 => "NoNode",
        -102 => "NoAuth",
        -103 => "BadVersion",
        -108 => "NoChildrenForEphemerals",
        -110 => "NodeExists",
        -111 => "Directory not empty",
        -112 => "Session expired",
        -114 => "InvalidACL",
        -115 => "AuthFailed",
        -118 => "Session moved",
        -119 => "Not a read-only call",
        -121 => "No such watcher",
        -123 => "Reconfig is disabled",
        _ => {
            return ZkError::from_code(code).map_or_else(|| format!("error {code}"), |z| z.name().to_string())
        }
    };
    format!("KeeperErrorCode = {word}")
}

/// zkCli's words for a server error on `path` (its `CliWrapperException` messages).
pub fn error_text(e: ServerError, path: &str) -> String {
    match e.0 {
        -101 => format!("Node does not exist: {path}"),
        -110 => format!("Node already exists: {path}"),
        -111 => format!("Node not empty: {path}"),
        -103 => format!("version No is not valid : {path}"),
        -102 => format!("Insufficient permission : {path}"),
        -108 => format!("Ephemerals cannot have children: {path}"),
        -114 => format!("Acl is not valid : {path}"),
        -115 => format!("Authentication is not valid : {path}"),
        -8 => format!("Arguments are not valid : {path}"),
        -119 => format!(
            "{} for {path} (a read-only server, or a migration's write fence refused the write)",
            code_word(-119)
        ),
        code => format!("{} for {path}", code_word(code)),
    }
}

/// A refused create: zkCli's words, with why a server refuses a TTL node.
fn refusal(e: ServerError, path: &str, ttl: bool) -> String {
    let text = error_text(e, path);
    if ttl && e.0 == ZkError::Unimplemented.code() {
        format!("{text} (TTL nodes need extendedTypesEnabled=true on the servers)")
    } else {
        text
    }
}

fn reconfig_refusal(e: ServerError) -> String {
    match e.0 {
        -14 => "Another reconfiguration is in progress -- concurrent reconfigs not supported (yet)".into(),
        -13 => {
            "No quorum of new config is connected and up-to-date with the leader of last commmitted config - \
                try invoking reconfiguration after new servers are connected and synced"
                .into()
        }
        -123 => format!("{} (the servers need reconfigEnabled=true)", code_word(-123)),
        -6 => format!(
            "{} (this server does not reconfigure; zoolab ensembles do not run dynamic reconfiguration yet)",
            code_word(-6)
        ),
        -102 => format!("{} (reconfig needs the super user: addauth digest …)", code_word(-102)),
        code => code_word(code),
    }
}

/// A date as Java's `Date.toString` prints it (in UTC): `Wed Nov 25 17:02:34 UTC 2026`.
pub fn java_date(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} UTC {y}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        d,
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    )
}

/// zkCli's Stat printout.
pub fn stat_text(s: &WireStat) -> String {
    format!(
        "cZxid = 0x{:x}\nctime = {}\nmZxid = 0x{:x}\nmtime = {}\npZxid = 0x{:x}\ncversion = {}\n\
         dataVersion = {}\naclVersion = {}\nephemeralOwner = 0x{:x}\ndataLength = {}\nnumChildren = {}",
        s.czxid,
        java_date(s.ctime),
        s.mzxid,
        java_date(s.mtime),
        s.pzxid,
        s.cversion,
        s.version,
        s.aversion,
        s.ephemeral_owner,
        s.data_length,
        s.num_children
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_is_bounded_and_read_after_a_cursor() {
        let mut log = Log::default();
        for i in 0..(LOG_LINES + 5) {
            log.push("command", format!("ls /{i}"), true, String::new());
        }
        assert_eq!(log.last(), LOG_LINES as u64 + 5);
        let (lines, missed) = log.since(0, 300);
        assert_eq!(lines.len(), 300);
        assert_eq!(missed, LOG_LINES as u64 + 5 - 300, "older lines and those past the page's bound");
        assert_eq!(lines.last().unwrap().seq, log.last());
        let (lines, missed) = log.since(log.last() - 2, 300);
        assert_eq!((lines.len(), missed), (2, 0));
        let (lines, missed) = log.since(log.last(), 300);
        assert_eq!((lines.len(), missed), (0, 0));
        // A cursor from before the play server restarted (ahead of the log).
        let (lines, missed) = log.since(log.last() + 10, 300);
        assert_eq!((lines.len(), missed), (0, 0));
        let big = "x".repeat(OUTPUT_MAX + 10);
        let seq = log.push("command", "get /big".into(), true, big);
        let (lines, _) = log.since(seq - 1, 1);
        assert!(lines[0].output.len() < OUTPUT_MAX + 100 && lines[0].output.ends_with("bytes)"));
    }

    #[test]
    fn watches_fire_once_unless_persistent() {
        let mut w = WatchSet::default();
        w.data.insert("/a".into());
        w.exist.insert("/b".into());
        w.child.insert("/a".into());
        w.recursive.insert("/".into());
        w.persistent.insert("/p".into());
        w.fired(3, "/a");
        assert!(!w.data.contains("/a") && w.child.contains("/a"));
        w.fired(1, "/b");
        assert!(w.exist.is_empty());
        w.fired(2, "/a");
        assert!(w.child.is_empty());
        w.fired(3, "/p");
        w.fired(4, "/");
        assert_eq!(w.len(), 2, "persistent watches stay: {w:?}");
        assert_eq!(w.describe(10), ["persistent /p", "recursive /"]);
        assert!(w.has("/", WatcherKind::Any) && !w.has("/", WatcherKind::Data));
        assert_eq!(w.remove("/", WatcherKind::Any), [7]);
        w.data.insert("/d".into());
        w.child.insert("/d".into());
        assert_eq!(w.remove("/d", WatcherKind::Any), [5, 6]);
        assert_eq!(w.remove("/d", WatcherKind::Any), Vec::<i32>::new());
    }

    #[test]
    fn set_watches_lists_every_kind() {
        let mut w = WatchSet::default();
        w.data.insert("/a".into());
        w.recursive.insert("/r".into());
        let mut out = Writer::new();
        w.set_watches(0x105, &mut out);
        let bytes = out.into_bytes();
        let mut r = Reader::new(&bytes, bytes.len());
        assert_eq!(r.i64("z").unwrap(), 0x105);
        let lists: Vec<Vec<String>> = (0..5).map(|_| r.vec("l", 4, |r| r.string("p")).unwrap()).collect();
        assert_eq!(lists, [vec!["/a".to_string()], vec![], vec![], vec![], vec!["/r".to_string()]]);
    }

    #[test]
    fn outputs_read_like_zkcli() {
        assert_eq!(error_text(ServerError(-101), "/a"), "Node does not exist: /a");
        assert_eq!(error_text(ServerError(-6), "/a"), "KeeperErrorCode = Unimplemented for /a");
        assert!(refusal(ServerError(-6), "/t", true).contains("extendedTypesEnabled"));
        assert!(reconfig_refusal(ServerError(-123)).contains("reconfigEnabled"));
        assert_eq!(code_word(-120), ZkError::from_code(-120).map_or("?", |z| z.name()));
        let acl = [
            WireAcl { perms: 31, scheme: "world".into(), id: "anyone".into() },
            WireAcl { perms: 1, scheme: "digest".into(), id: "u:x=".into() },
        ];
        assert_eq!(acl_text(&acl), "'world,'anyone\n: cdrwa\n'digest,'u:x=\n: r");
        assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(java_date(1_795_000_000_000), "Wed Nov 18 11:06:40 UTC 2026");
        let s = stat_text(&WireStat { czxid: 0x100000002, num_children: 3, ..WireStat::default() });
        assert!(s.starts_with("cZxid = 0x100000002\nctime = Thu Jan 01") && s.ends_with("numChildren = 3"));
        let e = WatcherEvent { kind: 3, state: 3, path: "/x".into() };
        assert_eq!(event_text(&e), "WATCHER::WatchedEvent state:SyncConnected type:NodeDataChanged path:/x");
        assert_eq!(
            compact_config("server.1=h:1:2:participant;h:2181\nserver.2=h:3:4:participant;0.0.0.0:2182\nversion=100000000\n"),
            "100000000 h:2181,0.0.0.0:2182"
        );
    }

    #[test]
    fn multi_replies_are_read() {
        let mut w = Writer::new();
        w.i32(1).bool(false).i32(0).string("/a");
        w.i32(5).bool(false).i32(0);
        WireStat { version: 4, ..WireStat::default() }.write(&mut w);
        w.i32(-1).bool(false).i32(-103).i32(-103);
        w.i32(-1).bool(true).i32(-1);
        let body = w.into_bytes();
        let r = decode_multi(&body).unwrap();
        assert_eq!(r[0], MultiResult::Created("/a".into()));
        assert!(matches!(r[1], MultiResult::Set(s) if s.version == 4));
        assert_eq!(r[2], MultiResult::Error(-103));
        assert_eq!(r.len(), 3);
        let line = op_line(&MultiOp::Check { version: 3, path: "/c".into() });
        assert_eq!(line, "check -v 3 /c");
    }
}
