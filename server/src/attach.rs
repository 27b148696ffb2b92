//! `zoolab play --attach host:port,…`: the playground watching a live ensemble.
//!
//! A poller asks every member for `mntr` (role, server id, epoch, last and committed
//! zxids, znode count) and one serving member for `conf`, over the client port's
//! four-letter words, and walks the tree through one client session (at most
//! [`TREE_LIMIT`] znodes). The page polls `GET /api/live` for the latest picture and
//! sends console lines to `POST /api/live/exec`, which parses them with the core's zkCli
//! grammar and runs them through the same session. Works against any ZooKeeper whose
//! whitelist allows `mntr` and `conf` (zoolab adds epoch and committed zxid to `mntr`).

use crate::zkclient::{four_letter, Client, ServerError};
use anyhow::{bail, Result};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use zoolab_core::jute::proto::WireStat;
use zoolab_core::tree::ZkError;
use zoolab_core::zkcli::{self, CreateMode, ZkCommand};

/// The most znodes the tree view carries.
pub const TREE_LIMIT: usize = 300;
/// Data longer than this is cut in the tree view.
const DATA_PREVIEW: usize = 64;
/// How often the members are polled.
const POLL_EVERY: Duration = Duration::from_millis(400);
/// The play server's session timeout.
const SESSION_MS: i32 = 10_000;

/// One member as the last poll saw it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Member {
    /// Where it was asked (its client port).
    pub addr: String,
    /// Its server id (`zk_server_id`, else its place in the list, from 1).
    pub id: u64,
    /// leader, follower, observer, standalone, looking (up but not serving) or down.
    pub state: String,
    /// Its current epoch (`zk_current_epoch`, else the last zxid's high half).
    pub epoch: Option<u64>,
    /// Its last zxid, hexadecimal.
    pub zxid: Option<String>,
    /// The last zxid it knows committed (zoolab's `zk_committed_zxid`).
    pub committed: Option<String>,
    /// Its znode count.
    pub znodes: Option<u64>,
    /// Why it is down (the connection's error).
    pub error: Option<String>,
}

/// One znode in the tree view.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Znode {
    /// Its path.
    pub path: String,
    /// Its data as text (cut after 64 characters).
    pub data: String,
    /// How many children it has.
    pub children: i32,
    /// Whether a session owns it (ephemeral).
    pub ephemeral: bool,
}

/// What `GET /api/live` answers.
#[derive(Clone, Debug, Serialize, Default)]
pub struct Snapshot {
    /// How many polls have completed (the page shows it moving).
    pub polls: u64,
    /// The members, in the order given to `--attach`.
    pub members: Vec<Member>,
    /// `conf` of a serving member (its server.N lines and version).
    pub config: String,
    /// The tree, in depth-first order.
    pub tree: Vec<Znode>,
    /// Whether the tree stopped at [`TREE_LIMIT`].
    pub tree_truncated: bool,
    /// Why the tree could not be read, when it could not.
    pub tree_error: Option<String>,
}

/// What `POST /api/live/exec` answers.
#[derive(Clone, Debug, Serialize)]
pub struct ExecReply {
    /// The command line.
    pub command: String,
    /// Whether it succeeded.
    pub ok: bool,
    /// zkCli's output, or the error.
    pub output: String,
}

/// The attachment: the members, the last poll's picture and the session.
pub struct Attach {
    members: Vec<String>,
    snapshot: Mutex<Snapshot>,
    client: tokio::sync::Mutex<Option<Client>>,
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
    Ok(out)
}

/// Reads `mntr`'s answer into a member.
pub fn member_from_mntr(addr: &str, place: usize, text: &str) -> Member {
    let mut m = Member {
        addr: addr.to_string(),
        id: place as u64 + 1,
        state: "looking".into(),
        epoch: None,
        zxid: None,
        committed: None,
        znodes: None,
        error: None,
    };
    if text.contains("not currently serving") {
        return m;
    }
    if text.contains("not in the whitelist") {
        m.state = "unknown".into();
        m.error = Some(text.trim().to_string());
        return m;
    }
    for line in text.lines() {
        let Some((k, v)) = line.split_once('\t') else { continue };
        match k {
            "zk_server_state" => m.state = v.to_string(),
            "zk_server_id" => m.id = v.parse().unwrap_or(m.id),
            "zk_last_zxid" => m.zxid = Some(v.to_string()),
            "zk_committed_zxid" => m.committed = Some(v.to_string()),
            "zk_current_epoch" => m.epoch = v.parse().ok(),
            "zk_znode_count" => m.znodes = v.parse().ok(),
            _ => {}
        }
    }
    if m.epoch.is_none() {
        m.epoch = m
            .zxid
            .as_deref()
            .and_then(|z| u64::from_str_radix(z.trim_start_matches("0x"), 16).ok())
            .map(|z| z >> 32);
    }
    m
}

fn serving(m: &Member) -> bool {
    matches!(m.state.as_str(), "leader" | "follower" | "observer" | "standalone")
}

impl Attach {
    /// An attachment to these members (nothing polled yet).
    pub fn new(members: Vec<String>) -> Arc<Attach> {
        Arc::new(Attach {
            members,
            snapshot: Mutex::new(Snapshot::default()),
            client: tokio::sync::Mutex::new(None),
        })
    }

    /// The routes the page uses.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/api/live", get(snapshot))
            .route("/api/live/exec", post(exec))
            .with_state(self.clone())
    }

    /// Polls forever (spawn it).
    pub async fn poll_forever(self: Arc<Self>) {
        loop {
            self.poll_once().await;
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    async fn poll_once(&self) {
        let mut tasks = Vec::new();
        for (i, addr) in self.members.iter().enumerate() {
            let addr = addr.clone();
            tasks.push(tokio::spawn(async move {
                match four_letter(&addr, "mntr").await {
                    Ok(text) => member_from_mntr(&addr, i, &text),
                    Err(e) => Member {
                        addr: addr.clone(),
                        id: i as u64 + 1,
                        state: "down".into(),
                        epoch: None,
                        zxid: None,
                        committed: None,
                        znodes: None,
                        error: Some(format!("{e:#}")),
                    },
                }
            }));
        }
        let mut members = Vec::new();
        for t in tasks {
            if let Ok(m) = t.await {
                members.push(m);
            }
        }
        let mut config = String::new();
        for m in members.iter().filter(|m| serving(m)) {
            if let Ok(text) = four_letter(&m.addr, "conf").await {
                config = text;
                break;
            }
        }
        let (tree, truncated, tree_error) = match self.with_client(&members, |c| Box::pin(read_tree(c))).await
        {
            Ok((tree, truncated)) => (tree, truncated, None),
            Err(e) => (Vec::new(), false, Some(format!("{e:#}"))),
        };
        let mut snap = self.snapshot.lock().unwrap_or_else(|e| e.into_inner());
        let polls = snap.polls + 1;
        *snap = Snapshot { polls, members, config, tree, tree_truncated: truncated, tree_error };
    }

    /// Runs `f` on the session, (re)connecting to a serving member first when there is
    /// none; a broken connection is dropped so the next call reconnects.
    async fn with_client<T>(
        &self,
        members: &[Member],
        f: impl for<'c> FnOnce(
            &'c mut Client,
        )
            -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<T>> + Send + 'c>>,
    ) -> Result<T> {
        let mut guard = self.client.lock().await;
        if guard.is_none() {
            let mut last = None;
            let candidates: Vec<&str> = members
                .iter()
                .filter(|m| serving(m))
                .map(|m| m.addr.as_str())
                .chain(self.members.iter().map(String::as_str))
                .collect();
            for addr in candidates {
                match Client::connect(addr, SESSION_MS).await {
                    Ok(c) => {
                        *guard = Some(c);
                        break;
                    }
                    Err(e) => last = Some(e),
                }
            }
            if guard.is_none() {
                return Err(last.unwrap_or_else(|| anyhow::anyhow!("no member to connect to")));
            }
        }
        let Some(client) = guard.as_mut() else { bail!("no session") };
        let out = f(client).await;
        if out.is_err() {
            *guard = None;
        }
        out
    }

    /// Runs one console line against the ensemble.
    pub async fn exec(&self, line: &str) -> ExecReply {
        let command = line.trim().to_string();
        let result = match zkcli::parse(&command) {
            Err(e) => Err(e.to_string()),
            Ok(cmd) => {
                let members = self.snapshot.lock().unwrap_or_else(|e| e.into_inner()).members.clone();
                match self.with_client(&members, |c| Box::pin(run(c, cmd))).await {
                    Ok(r) => r,
                    Err(e) => Err(format!("connection: {e:#}")),
                }
            }
        };
        match result {
            Ok(output) => ExecReply { command, ok: true, output },
            Err(output) => ExecReply { command, ok: false, output },
        }
    }
}

async fn snapshot(State(a): State<Arc<Attach>>) -> Json<Snapshot> {
    Json(a.snapshot.lock().unwrap_or_else(|e| e.into_inner()).clone())
}

async fn exec(State(a): State<Arc<Attach>>, body: String) -> Json<ExecReply> {
    Json(a.exec(&body).await)
}

fn preview(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    match text.char_indices().nth(DATA_PREVIEW) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.into_owned(),
    }
}

/// Walks the tree depth first from `/`, at most [`TREE_LIMIT`] znodes. A znode deleted
/// between listing and reading is skipped.
async fn read_tree(c: &mut Client) -> Result<(Vec<Znode>, bool)> {
    let mut out = Vec::new();
    let mut stack = vec!["/".to_string()];
    while let Some(path) = stack.pop() {
        if out.len() >= TREE_LIMIT {
            return Ok((out, true));
        }
        let Ok((data, stat)) = c.get(&path).await? else { continue };
        let Ok((names, _)) = c.children(&path).await? else { continue };
        out.push(Znode {
            path: path.clone(),
            data: preview(&data),
            children: stat.num_children,
            ephemeral: stat.ephemeral_owner != 0,
        });
        for name in names.iter().rev() {
            stack.push(if path == "/" { format!("/{name}") } else { format!("{path}/{name}") });
        }
    }
    Ok((out, false))
}

/// zkCli's words for a server error on `path`.
pub fn error_text(e: ServerError, path: &str) -> String {
    match e.0 {
        -101 => format!("Node does not exist: {path}"),
        -110 => format!("Node already exists: {path}"),
        -111 => format!("Node not empty: {path}"),
        -103 => format!("version No is not valid : {path}"),
        -108 => format!("Ephemerals cannot have children: {path}"),
        code => match ZkError::from_code(code) {
            Some(z) => format!("{} ({code}): {path}", z.name()),
            None => format!("error {code}: {path}"),
        },
    }
}

/// zkCli's Stat printout.
pub fn stat_text(s: &WireStat) -> String {
    format!(
        "cZxid = 0x{:x}\nctime = {}\nmZxid = 0x{:x}\nmtime = {}\npZxid = 0x{:x}\ncversion = {}\n\
         dataVersion = {}\naclVersion = {}\nephemeralOwner = 0x{:x}\ndataLength = {}\nnumChildren = {}",
        s.czxid,
        s.ctime,
        s.mzxid,
        s.mtime,
        s.pzxid,
        s.cversion,
        s.version,
        s.aversion,
        s.ephemeral_owner,
        s.data_length,
        s.num_children
    )
}

const LIVE_COMMANDS: &str = "create [-s] [-e], set, get [-s], ls [-s], stat, delete, sync";

/// Runs one parsed command through the session: `Ok(Ok(output))`, `Ok(Err(message))`
/// for the server's refusal or a command live mode does not run, `Err` for a broken
/// connection.
async fn run(c: &mut Client, cmd: ZkCommand) -> Result<std::result::Result<String, String>> {
    let unsupported = |what: &str| {
        Ok(Err(format!("{what} is not available when attached (live mode runs {LIVE_COMMANDS})")))
    };
    Ok(match cmd {
        ZkCommand::Create { mode, path, data, acl } => {
            if acl.is_some() {
                return unsupported("an ACL on create");
            }
            let flags = match mode {
                CreateMode::Persistent => 0,
                CreateMode::Ephemeral => 1,
                CreateMode::PersistentSequential => 2,
                CreateMode::EphemeralSequential => 3,
                CreateMode::Container => 4,
                _ => return unsupported("a TTL node"),
            };
            match c.create(&path, data.unwrap_or_default().as_bytes(), flags).await? {
                Ok(created) => Ok(format!("Created {created}")),
                Err(e) => Err(error_text(e, &path)),
            }
        }
        ZkCommand::Set { stat, version, path, data } => {
            match c.set(&path, data.as_bytes(), version.unwrap_or(-1)).await? {
                Ok(s) if stat => Ok(stat_text(&s)),
                Ok(_) => Ok(String::new()),
                Err(e) => Err(error_text(e, &path)),
            }
        }
        ZkCommand::Get { stat, watch, path } => {
            if watch {
                return unsupported("a watch");
            }
            match c.get(&path).await? {
                Ok((data, s)) => {
                    let text = String::from_utf8_lossy(&data).into_owned();
                    Ok(if stat { format!("{text}\n{}", stat_text(&s)) } else { text })
                }
                Err(e) => Err(error_text(e, &path)),
            }
        }
        ZkCommand::Ls { stat, watch, recursive, path } => {
            if watch || recursive {
                return unsupported("ls -w / -R");
            }
            match c.children(&path).await? {
                Ok((names, s)) => {
                    let list = format!("[{}]", names.join(", "));
                    Ok(if stat { format!("{list}\n{}", stat_text(&s)) } else { list })
                }
                Err(e) => Err(error_text(e, &path)),
            }
        }
        ZkCommand::Stat { watch, path } => {
            if watch {
                return unsupported("a watch");
            }
            match c.exists(&path).await? {
                Ok(s) => Ok(stat_text(&s)),
                Err(e) => Err(error_text(e, &path)),
            }
        }
        ZkCommand::Delete { version, path } => match c.delete(&path, version.unwrap_or(-1)).await? {
            Ok(()) => Ok(String::new()),
            Err(e) => Err(error_text(e, &path)),
        },
        ZkCommand::Sync { path } => match c.sync(&path).await? {
            Ok(()) => Ok("Sync is OK".into()),
            Err(e) => Err(error_text(e, &path)),
        },
        other => {
            let word = format!("{other:?}");
            let word = word.split([' ', '{', '(']).next().unwrap_or("this command").to_lowercase();
            return unsupported(&format!("`{word}`"));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attach_lists_are_checked() {
        assert_eq!(
            parse_members("127.0.0.1:2181, localhost:2182").unwrap(),
            ["127.0.0.1:2181", "localhost:2182"]
        );
        for bad in ["", "127.0.0.1", ":2181", "h:99999", "h:x"] {
            assert!(parse_members(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn mntr_answers_become_members() {
        let text = "zk_version\tx\nzk_server_state\tleader\nzk_server_id\t3\nzk_last_zxid\t0x200000005\n\
                    zk_current_epoch\t2\nzk_committed_zxid\t0x200000004\nzk_znode_count\t7\n";
        let m = member_from_mntr("h:1", 0, text);
        assert_eq!((m.id, m.state.as_str(), m.epoch, m.znodes), (3, "leader", Some(2), Some(7)));
        assert_eq!(m.committed.as_deref(), Some("0x200000004"));
        // Apache ZooKeeper's mntr has no id nor epoch: the place and the zxid's high half.
        let m = member_from_mntr("h:1", 1, "zk_server_state\tfollower\nzk_last_zxid\t0x500000001\n");
        assert_eq!((m.id, m.epoch), (2, Some(5)));
        let m = member_from_mntr("h:1", 0, "This ZooKeeper instance is not currently serving requests\n");
        assert_eq!(m.state, "looking");
        let m = member_from_mntr("h:1", 0, "mntr is not executed because it is not in the whitelist.\n");
        assert_eq!(m.state, "unknown");
        assert!(m.error.is_some());
    }

    #[test]
    fn errors_read_like_zkcli() {
        assert_eq!(error_text(ServerError(-101), "/a"), "Node does not exist: /a");
        assert_eq!(
            error_text(ServerError(-102), "/a"),
            format!("{} (-102): /a", ZkError::from_code(-102).unwrap().name())
        );
        assert!(preview(&[b'x'; 100]).ends_with('…'));
        assert_eq!(preview(b"short"), "short");
    }
}
