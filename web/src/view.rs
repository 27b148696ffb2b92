//! What the page draws, derived from the playground: plain data, computed by the core
//! and only arranged here (no protocol logic). Components take these as properties.

use crate::state::{Playground, SimWorld};
use zoolab_core::ids::{Epoch, ServerId};
use zoolab_core::scenario::sim::ClientMessageKind;
use zoolab_core::scenario::{OpRef, Predicate};
use zoolab_core::sim::{Role, ServerView, TraceKind};
use zoolab_core::vecmap::VecMap;
use zoolab_core::zab::message::{LearnerKind, MsgSummary, PeerState};

/// How many messages in flight a cluster drawing shows at most.
pub const MAX_MESSAGES: usize = 48;
/// How many trace lines the page shows.
pub const TRACE_LINES: usize = 8;
/// How far back (trace records) the "maximum plus one" search looks past the records
/// that are new since the last look.
pub const RULE_LOOKBACK: usize = 20_000;

/// A message in flight, placed on its link.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageView {
    /// Sender's id.
    pub from: u64,
    /// Receiver's id.
    pub to: u64,
    /// ZooKeeper's name of the packet (NOTIFICATION, PROPOSAL, …).
    pub kind: &'static str,
    /// The whole message, for its tooltip.
    pub detail: String,
    /// How far along its link (0 = just sent, 1 = arriving).
    pub progress: f64,
}

/// A client drawn beside a cluster, with its connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientNode {
    /// Its name (`you_a`, `c1`).
    pub name: String,
    /// The id of the server of this cluster it is connected (or connecting) to.
    pub server: Option<u64>,
    /// `connecting`, `connected`, `disconnected` or `expired`.
    pub state: &'static str,
    /// Whether its pings reach its server now (they keep its session alive).
    pub pings: bool,
    /// Whether its network reaches the servers.
    pub reachable: bool,
}

/// A client–server message on its way (with `client latency`), placed on its link.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientMessageView {
    /// The client.
    pub client: String,
    /// The server's id in this cluster.
    pub server: u64,
    /// From the client to the server.
    pub to_server: bool,
    /// `CONNECT`, `CONNECTED`, `REQUEST`, `REPLY`, `WATCH`.
    pub kind: &'static str,
    /// What is drawn on it (`create`, `↩ ok`, `EVENT`).
    pub label: String,
    /// The whole message, for its tooltip.
    pub detail: String,
    /// How far along its link (from its sender).
    pub progress: f64,
}

/// How many clients a cluster drawing shows at most (the corners and sides of its ring).
pub const MAX_CLIENTS_DRAWN: usize = 6;

/// One cluster as drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterView {
    /// Its index in the world.
    pub index: usize,
    /// Its name in the scenario (`a`).
    pub name: String,
    /// Its servers, in id order.
    pub servers: Vec<ServerView>,
    /// Blocked directed links.
    pub cuts: Vec<(u64, u64)>,
    /// Messages in flight.
    pub messages: Vec<MessageView>,
    /// Its clients (those connected to it, or whose connect string names it).
    pub clients: Vec<ClientNode>,
    /// Client–server messages on their way.
    pub client_messages: Vec<ClientMessageView>,
    /// The "maximum plus one" of its latest election, if one is in the trace.
    pub epoch_rule: Option<String>,
    /// The "plus one" of its latest reconfiguration's version, if one was activated.
    pub config_rule: Option<String>,
}

/// The group a client–server message kind is drawn with (colour; the shape is a
/// slanted tag for every client message, and the label says what it is).
pub fn client_message_class(kind: &str) -> &'static str {
    match kind {
        "REQUEST" => "c-request",
        "REPLY" => "c-reply",
        "WATCH" => "c-watch",
        _ => "c-connect",
    }
}

/// Plain-language help for a client–server message kind.
pub fn client_message_help(kind: &str) -> &'static str {
    match kind {
        "CONNECT" => "CONNECT: a client asks a server for a session (or to resume its own)",
        "CONNECTED" => "CONNECTED: the server answers that the session is open; the client may send requests",
        "REQUEST" => "REQUEST: a client's command on its way to its server (writes go on to the leader)",
        "REPLY" => "REPLY: the server's answer to a request; the client's command completes when it arrives",
        "WATCH" => {
            "WATCH: a watch event (a znode the client watches changed); it arrives before any later reply"
        }
        _ => "a message between a client and a server",
    }
}

fn client_label(kind: ClientMessageKind, short: &str) -> String {
    let cut = |s: &str| s.chars().take(9).collect::<String>();
    match kind {
        ClientMessageKind::Connect => "CONNECT".into(),
        ClientMessageKind::Connected => "SESSION".into(),
        ClientMessageKind::Request => cut(short),
        ClientMessageKind::Reply => format!("↩ {}", cut(short)),
        ClientMessageKind::Watch => "EVENT".into(),
    }
}

/// The group a message kind is drawn with (colour and legend).
pub fn message_class(kind: &str) -> &'static str {
    match kind {
        "NOTIFICATION" => "m-vote",
        "PROPOSAL" => "m-proposal",
        "ACK" => "m-ack",
        "COMMIT" | "INFORM" => "m-commit",
        "PING" => "m-ping",
        "REQUEST" => "m-request",
        _ => "m-sync",
    }
}

/// A short label for a message kind, drawn on the message.
pub fn message_label(kind: &str) -> &'static str {
    match kind {
        "NOTIFICATION" => "VOTE",
        "PROPOSAL" => "PROP",
        "ACK" => "ACK",
        "COMMIT" => "COMMIT",
        "INFORM" => "INFORM",
        "PING" => "PING",
        "REQUEST" => "REQ",
        "FOLLOWERINFO" => "F.INFO",
        "OBSERVERINFO" => "O.INFO",
        "LEADERINFO" => "L.INFO",
        "ACKEPOCH" => "ACKEP",
        "NEWLEADER" => "NEWLDR",
        "UPTODATE" => "UP2DATE",
        "DIFF" => "DIFF",
        "TRUNC" => "TRUNC",
        "SNAP" => "SNAP",
        _ => "MSG",
    }
}

/// Plain-language help for a message kind.
pub fn message_help(kind: &str) -> &'static str {
    match kind {
        "NOTIFICATION" => "NOTIFICATION: an election vote — who the sender thinks should lead, and why",
        "PROPOSAL" => "PROPOSAL: the leader asks followers to log a write",
        "ACK" => "ACK: a follower has logged a proposal (or the new leader's history)",
        "COMMIT" => "COMMIT: a quorum acknowledged it; apply the write",
        "INFORM" => "INFORM: a committed write sent to an observer",
        "PING" => "PING: the leader's heartbeat; followers answer",
        "REQUEST" => "REQUEST: a follower forwards a client's write to the leader",
        "FOLLOWERINFO" => "FOLLOWERINFO: a follower tells the new leader its accepted epoch",
        "OBSERVERINFO" => "OBSERVERINFO: an observer tells the new leader its accepted epoch",
        "LEADERINFO" => "LEADERINFO: the new leader announces its epoch = max(accepted epochs) + 1",
        "ACKEPOCH" => "ACKEPOCH: a follower accepts the new epoch and reports its last zxid",
        "NEWLEADER" => "NEWLEADER: the leader's history has been sent; acknowledge it",
        "UPTODATE" => "UPTODATE: synchronised; the learner may serve clients",
        "DIFF" => "DIFF: sync by sending the transactions the learner misses",
        "TRUNC" => "TRUNC: the learner must drop log entries the new leader never committed",
        "SNAP" => "SNAP: the learner is too far behind; send a whole snapshot",
        _ => "a message between servers",
    }
}

/// Plain-language help for a role.
pub fn role_help(s: &ServerView) -> &'static str {
    if s.paused {
        return "PAUSED: a long garbage-collection pause; messages wait until it ends";
    }
    match s.role {
        Role::Looking => "LOOKING: electing a leader; cannot serve writes",
        Role::Following => "FOLLOWING: logs the leader's proposals and acknowledges them; its vote counts",
        Role::Leading => {
            "LEADING: orders every write of its epoch; a write commits once a quorum has logged it"
        }
        Role::Observing => "OBSERVING: receives committed writes but never votes",
        Role::Down => "DOWN: crashed; keeps only what it had written to disk",
    }
}

/// The role word a server card shows (PAUSED over the role while paused).
pub fn role_word(s: &ServerView) -> String {
    if s.paused && s.role != Role::Down {
        "PAUSED".into()
    } else {
        s.role.to_string()
    }
}

fn progress(deliver_at: u64, now: u64, latency_max: u64) -> f64 {
    let span = latency_max.max(1) as f64;
    let left = deliver_at.saturating_sub(now) as f64;
    (1.0 - left / span).clamp(0.3, 0.7)
}

/// The cluster a client is drawn beside: its server's, else the first its connect
/// string names.
fn home_cluster(
    p: &Playground,
    link: &zoolab_core::scenario::sim::ClientLink,
    names: &[String],
) -> Option<usize> {
    if let Some((c, _)) = link.server {
        return Some(c);
    }
    let decl = p.shown().scenario().client(&link.client)?;
    decl.connect.iter().find_map(|e| {
        let n = match e {
            zoolab_core::scenario::Endpoint::Cluster(n) => n,
            zoolab_core::scenario::Endpoint::Server(s) => &s.cluster,
        };
        names.iter().position(|x| x == n)
    })
}

/// The speed reached while playing, for the toolbar (`≈ 87×`, `≈ 8.7×`, `≈ 0.25×`):
/// `None` when paused or not measured yet.
pub fn reached(p: &Playground) -> Option<String> {
    let r = p.reached.filter(|_| p.playing)?;
    Some(match r {
        1_000.. => format!("≈ {}×", r / 100),
        100.. => format!("≈ {}.{}×", r / 100, r % 100 / 10),
        _ => format!("≈ 0.{:02}×", r),
    })
}

/// Every cluster of the world shown.
pub fn clusters(p: &Playground) -> Vec<ClusterView> {
    let w = p.world();
    let names = p.clusters();
    let in_flight = w.in_flight(MAX_MESSAGES * names.len().max(1) * 4);
    let latency_max = w.config().net.latency_max_ms;
    let d = p.shown().driver();
    let links = d.client_links();
    let client_msgs = d.client_messages();
    names
        .iter()
        .enumerate()
        .map(|(c, name)| {
            let messages = in_flight
                .iter()
                .filter(|m| m.from.cluster == c)
                .take(MAX_MESSAGES)
                .map(|m| MessageView {
                    from: m.from.id.0,
                    to: m.to.id.0,
                    kind: m.msg.kind(),
                    detail: format!("s{} → s{} {}", m.from.id, m.to.id, m.msg),
                    progress: progress(m.key.0, w.now(), latency_max),
                })
                .collect();
            let clients: Vec<ClientNode> = links
                .iter()
                .filter(|l| home_cluster(p, l, &names) == Some(c))
                .take(MAX_CLIENTS_DRAWN)
                .map(|l| ClientNode {
                    name: l.client.clone(),
                    server: l.server.map(|(_, id)| id.0),
                    state: l.state,
                    pings: l.pings,
                    reachable: l.reachable,
                })
                .collect();
            let client_messages = client_msgs
                .iter()
                .filter(|m| m.server.0 == c && clients.iter().any(|k| k.name == m.client))
                .take(MAX_MESSAGES)
                .map(|m| {
                    let span = m.due_ms.saturating_sub(m.sent_ms).max(1) as f64;
                    let gone = w.now().saturating_sub(m.sent_ms) as f64;
                    ClientMessageView {
                        client: m.client.clone(),
                        server: m.server.1 .0,
                        to_server: m.to_server,
                        kind: m.kind.word(),
                        label: client_label(m.kind, &m.short),
                        detail: m.detail.clone(),
                        progress: (gone / span).clamp(0.3, 0.75),
                    }
                })
                .collect();
            ClusterView {
                index: c,
                name: name.clone(),
                servers: w.servers_in(c),
                cuts: w.blocked_in(c).into_iter().map(|(a, b)| (a.0, b.0)).collect(),
                messages,
                clients,
                client_messages,
                epoch_rule: p.rules.get(c).cloned().flatten(),
                config_rule: p.config_rules.get(c).cloned().flatten(),
            }
        })
        .collect()
}

/// The network settings of the world shown, as the settings form shows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkView {
    /// Shortest one-way latency between servers (ms).
    pub latency_min_ms: u64,
    /// Longest.
    pub latency_max_ms: u64,
    /// The chance a message is lost, as the language writes it (`5`, `0.5`).
    pub loss_pct: String,
    /// The chance an election message is duplicated.
    pub duplicate_pct: String,
    /// One-way latency between a client and its server (ms; 0: none).
    pub client_latency_ms: u64,
}

/// A chance per million as the language writes a percentage (`5`, `0.25`).
fn pct(ppm: u32) -> String {
    let bp = ppm / 100;
    match bp % 100 {
        0 => format!("{}", bp / 100),
        f if f % 10 == 0 => format!("{}.{}", bp / 100, f / 10),
        f => format!("{}.{f:02}", bp / 100),
    }
}

/// The network settings of the world shown.
pub fn network(p: &Playground) -> NetworkView {
    let net = p.world().config().net;
    NetworkView {
        latency_min_ms: net.latency_min_ms,
        latency_max_ms: net.latency_max_ms,
        loss_pct: pct(net.loss_ppm),
        duplicate_pct: pct(net.duplicate_ppm),
        client_latency_ms: p.shown().driver().client_latency_ms(),
    }
}

/// The step the settings form appends (the parser checks the values).
pub fn network_statement(min_ms: &str, max_ms: &str, loss: &str, duplicate: &str, client_ms: &str) -> String {
    let t = |s: &str| s.trim().trim_end_matches("ms").trim_end_matches('%').trim().to_string();
    format!(
        "change network latency {}ms..{}ms loss {}% duplicate {}% client latency {}ms",
        t(min_ms),
        t(max_ms),
        t(loss),
        t(duplicate),
        t(client_ms)
    )
}

/// The seed article's rule where the latest election of cluster `c` applied it: the
/// leader's new epoch is the maximum of the accepted epochs of a quorum, plus one.
/// Read from the trace: the FOLLOWERINFOs the leader received after it started leading.
/// `lookback` bounds how many of the latest trace records it reads.
pub fn epoch_rule(w: &SimWorld, c: usize, name: &str, lookback: usize) -> Option<String> {
    let trace = w.trace();
    let start = trace.len().saturating_sub(lookback);
    let recent: Vec<_> = trace.range(start..).collect();
    let (pos, leader, epoch) = recent.iter().enumerate().rev().find_map(|(i, e)| match &e.kind {
        TraceKind::Established { at, epoch } if at.cluster == c => Some((i, at.id, *epoch)),
        _ => None,
    })?;
    let began = recent[..pos].iter().rposition(|e| {
        matches!(&e.kind, TraceKind::Role { at, state: PeerState::Leading, .. } if at.cluster == c && at.id == leader)
    })?;
    let voters = w.servers_in(c).iter().filter(|s| !s.observer).count();
    let needed = voters / 2; // followers besides the leader for a majority
    let mut seen: Vec<(ServerId, Epoch)> = Vec::new();
    for e in &recent[began..pos] {
        if let TraceKind::Deliver {
            from,
            to,
            msg: MsgSummary::LearnerInfo(LearnerKind::Follower, accepted),
        } = &e.kind
        {
            if to.cluster == c
                && to.id == leader
                && !seen.iter().any(|(id, _)| *id == from.id)
                && seen.len() < needed
            {
                seen.push((from.id, *accepted));
            }
        }
    }
    let max_followers = seen.iter().map(|(_, e)| e.0).max().unwrap_or(0);
    // The leader's own accepted epoch is at most E - 1; exactly that when no follower's
    // reached it (or when E - 1 is 0).
    let own = if epoch.0 <= 1 || max_followers < epoch.0 - 1 {
        format!("{name}{leader}: {}", epoch.0 - 1)
    } else {
        format!("{name}{leader}: ≤{}", epoch.0.saturating_sub(1))
    };
    let mut parts = vec![own];
    parts.extend(seen.iter().map(|(id, e)| format!("{name}{id}: {e}")));
    Some(format!("new epoch = max({}) + 1 = {}", parts.join(", "), epoch.0))
}

/// The seed article's rule where cluster `c`'s latest reconfiguration applied it: a
/// configuration's version is its reconfig transaction's zxid, the leader's newest
/// zxid plus one (so versions only grow). Read from the trace (the first server to
/// activate it); `lookback` bounds how many of the latest records it reads.
pub fn config_rule(w: &SimWorld, c: usize, name: &str, lookback: usize) -> Option<String> {
    let trace = w.trace();
    let start = trace.len().saturating_sub(lookback);
    let (version, voters) = trace.range(start..).rev().find_map(|e| match &e.kind {
        TraceKind::Activated { at, version, voters } if at.cluster == c => Some((*version, voters)),
        _ => None,
    })?;
    let zxid = zoolab_core::ids::Zxid(version);
    let names: Vec<String> = voters.iter().map(|v| format!("{name}{v}")).collect();
    Some(format!(
        "new config version = reconfig zxid = {} + 1 = {zxid} (voters {})",
        zoolab_core::ids::Zxid(version.saturating_sub(1)),
        names.join(" ")
    ))
}

/// One ZAB invariant on the panel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvariantView {
    /// Its name (the checker's prefix).
    pub name: &'static str,
    /// What it guards, in one plain line.
    pub guards: &'static str,
    /// Whether it holds at the state shown.
    pub holds: bool,
}

/// The invariants the simulator checks after every event.
pub const INVARIANTS: [(&str, &str); 6] = [
    ("one leader per epoch", "At most one server is established as leader of an epoch."),
    ("primary order", "Every server commits its transactions in zxid order."),
    ("agreement", "No two servers commit different transactions at the same zxid."),
    ("total order", "Everyone's committed history is a prefix of one history."),
    ("integrity", "No server skips, or truncates, a committed transaction."),
    ("state", "Servers that applied the same zxid hold identical data (equal digests)."),
];

/// The invariants panel at the state shown.
pub fn invariants(w: &SimWorld) -> Vec<InvariantView> {
    let broken = w.violation().map(|v| v.what.clone()).unwrap_or_default();
    INVARIANTS
        .iter()
        .map(|&(name, guards)| InvariantView { name, guards, holds: !broken.starts_with(name) })
        .collect()
}

/// A broken invariant, for the banner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViolationView {
    /// The event count at which it broke.
    pub step: u64,
    /// Simulated time.
    pub time_ms: u64,
    /// The cluster's name and the server that reported it.
    pub server: String,
    /// What broke, the servers called by their scenario names.
    pub what: String,
    /// The servers involved: the one that reported it and those the check names.
    pub servers: Vec<String>,
    /// The scenario's step that was running (its number in the scenario, its text).
    pub scenario_step: Option<(usize, String)>,
}

/// Renames a cluster's checker's server ids (`s3`) as the scenario does (`a3`), and
/// lists the servers named, in order.
fn name_servers(what: &str, cluster: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(what.len());
    let mut named = Vec::new();
    let mut rest = what;
    while let Some(i) = rest.find('s') {
        let (before, at) = rest.split_at(i);
        out.push_str(before);
        let digits = at[1..].bytes().take_while(u8::is_ascii_digit).count();
        let boundary = !before.chars().next_back().is_some_and(|c| c.is_alphanumeric());
        let after_ok = !at[1 + digits..].chars().next().is_some_and(|c| c.is_alphanumeric());
        if digits > 0 && boundary && after_ok {
            let name = format!("{cluster}{}", &at[1..1 + digits]);
            out.push_str(&name);
            if !named.contains(&name) {
                named.push(name);
            }
        } else {
            out.push_str(&at[..1 + digits]);
        }
        rest = &at[1 + digits..];
    }
    out.push_str(rest);
    (out, named)
}

/// The violation of the world shown, if any.
pub fn violation(p: &Playground) -> Option<ViolationView> {
    let v = p.world().violation()?;
    let cluster = p.clusters().get(v.at.cluster).cloned().unwrap_or_default();
    let server = format!("{cluster}{}", v.at.id);
    let (what, named) = name_servers(&v.what, &cluster);
    let mut servers = vec![server.clone()];
    servers.extend(named.into_iter().filter(|s| *s != server));
    Some(ViolationView {
        step: v.step,
        time_ms: v.time_ms,
        server,
        what,
        servers,
        scenario_step: p.stopping_step(),
    })
}

/// One log entry in the inspector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// Its zxid.
    pub zxid: String,
    /// The transaction.
    pub txn: String,
    /// Whether the server knows it committed.
    pub committed: bool,
}

/// The inspector's view of one server.
#[derive(Clone, Debug, PartialEq)]
pub struct InspectorView {
    /// Its scenario name (`a3`).
    pub name: String,
    /// As the core reports it.
    pub server: ServerView,
    /// The latest entries of its txn log (oldest first).
    pub log: Vec<LogLine>,
    /// Entries not shown (older).
    pub log_hidden: usize,
    /// The snapshot its log starts from.
    pub snapshot: String,
    /// Its own vote while LOOKING, and the votes it received: (from, for, round, state).
    pub votes: Vec<(String, String, String)>,
    /// Its own current vote.
    pub own_vote: Option<String>,
    /// Its znodes (path = data), a few.
    pub tree: Vec<String>,
}

/// How many log entries the inspector lists.
pub const LOG_LINES: usize = 14;

/// The inspector for the selected server, if any.
pub fn inspector(p: &Playground) -> Option<InspectorView> {
    let sel = p.selected.as_ref()?;
    let c = p.clusters().iter().position(|n| *n == sel.cluster)?;
    let w = p.world();
    let id = ServerId(u64::from(sel.id));
    let server = w.servers_in(c).into_iter().find(|s| s.id == id)?;
    let live = w.server(c, id);
    let log = match live {
        Some(s) => &s.durable().log,
        None => &w.disk(c, id).log,
    };
    let entries = log.entries();
    let committed = server.committed_zxid;
    let skip = entries.len().saturating_sub(LOG_LINES);
    let lines = entries[skip..]
        .iter()
        .map(|e| LogLine {
            zxid: e.zxid.to_string(),
            txn: e.txn.op.to_string(),
            committed: e.zxid <= committed,
        })
        .collect();
    let (votes, own_vote, tree) = match live {
        Some(s) => {
            let votes = s
                .election_votes()
                .into_iter()
                .map(|(from, v, st)| {
                    (
                        format!("s{from} ({st})"),
                        format!("s{}", v.leader),
                        format!("zxid {} epoch {}", v.zxid, v.peer_epoch),
                    )
                })
                .collect();
            let v = s.status().vote;
            let own = Some(format!(
                "s{} (zxid {}, round {}, epoch {})",
                v.leader, v.zxid, v.election_epoch, v.peer_epoch
            ));
            let state = s.state().tree();
            let mut tree = Vec::new();
            let mut stack = vec!["/".to_string()];
            while let Some(path) = stack.pop() {
                if tree.len() >= 12 {
                    break;
                }
                if path != "/" {
                    // Null data (a create without data) shows as zkCli prints it: null.
                    let data = match state.node(&path).map(|n| n.data.as_option()) {
                        Some(None) => "null".to_owned(),
                        Some(Some(b)) => format!("{:?}", String::from_utf8_lossy(b)),
                        None => format!("{:?}", ""),
                    };
                    tree.push(format!("{path} = {data}"));
                }
                let mut kids: Vec<String> = state
                    .node(&path)
                    .map(|n| n.children.iter().map(str::to_owned).collect())
                    .unwrap_or_default();
                kids.reverse();
                for k in kids {
                    stack.push(if path == "/" { format!("/{k}") } else { format!("{path}/{k}") });
                }
            }
            (votes, own, tree)
        }
        None => (Vec::new(), None, Vec::new()),
    };
    Some(InspectorView {
        name: format!("{}{}", sel.cluster, sel.id),
        server,
        log: lines,
        log_hidden: skip,
        snapshot: log.snapshot_zxid().to_string(),
        votes,
        own_vote,
        tree,
    })
}

/// One client command and what became of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientLine {
    /// `you_a#3`.
    pub op: String,
    /// The command as zkCli writes it.
    pub command: String,
    /// `ok "/w-0000000001"`, `pending`, `failed with NONODE`, or why it could not run.
    pub result: String,
    /// `ok`, `pending`, `failed`.
    pub status: &'static str,
}

/// How many client commands the console lists.
pub const CLIENT_LINES: usize = 8;

/// The latest client commands of the run shown, with their results as the core's
/// runner reports them (the same words as `expect c1 succeeded` prints).
pub fn client_log(p: &Playground) -> Vec<ClientLine> {
    let r = p.shown();
    let steps = &r.scenario().steps[..r.steps_run().min(r.scenario().steps.len())];
    let mut sent: VecMap<&str, u32> = VecMap::new();
    let mut lines = Vec::new();
    for s in steps {
        let zoolab_core::scenario::Action::Client { client, command } = s else { continue };
        let n = sent.get(client.as_str()).copied().unwrap_or(0) + 1;
        let op = OpRef { client: client.clone(), nth: Some(n) };
        let (ok, seen) = r.evaluate(&Predicate::Succeeded(op));
        let prefix = format!("{client}#{n} ");
        let line = match seen.strip_prefix(&prefix) {
            Some(result) => {
                sent.insert(client.as_str(), n);
                let status = if ok {
                    "ok"
                } else if result == "pending" {
                    "pending"
                } else {
                    "failed"
                };
                ClientLine {
                    op: format!("{client}#{n}"),
                    command: command.to_string(),
                    result: result.into(),
                    status,
                }
            }
            None => ClientLine {
                op: client.clone(),
                command: command.to_string(),
                result: "not sent: the simulator cannot run it yet".into(),
                status: "failed",
            },
        };
        lines.push(line);
    }
    let skip = lines.len().saturating_sub(CLIENT_LINES);
    lines.split_off(skip)
}

/// One column of the space-time diagram.
#[derive(Clone, Debug, PartialEq)]
pub enum SpaceTimeItem {
    /// A message delivered (or dropped) from one lane to another.
    Message {
        /// Sender's id.
        from: u64,
        /// Receiver's id.
        to: u64,
        /// ZooKeeper's name of the packet.
        kind: &'static str,
        /// Whether it was dropped rather than delivered.
        dropped: bool,
        /// The trace line.
        title: String,
    },
    /// Something that happened at one server (a role change, a crash…).
    Mark {
        /// The server's id.
        at: u64,
        /// A one-letter label (L, F, ?, O, ✕, ↻, ‖, ★).
        label: &'static str,
        /// The trace line.
        title: String,
    },
}

/// The space-time diagram of one cluster: a lane per server, the latest trace records
/// in order from left to right.
#[derive(Clone, Debug, PartialEq)]
pub struct SpaceTime {
    /// The cluster's name.
    pub cluster: String,
    /// The lanes' server ids.
    pub lanes: Vec<u64>,
    /// The columns, oldest first.
    pub items: Vec<SpaceTimeItem>,
    /// Simulated time of the first and last column.
    pub span_ms: (u64, u64),
}

/// How many records the space-time diagram shows.
pub const SPACETIME_COLUMNS: usize = 90;

/// The space-time diagram of the selected server's cluster (else the first).
pub fn spacetime(p: &Playground) -> SpaceTime {
    let names = p.clusters();
    let c = p.selected.as_ref().and_then(|s| names.iter().position(|n| *n == s.cluster)).unwrap_or(0);
    let w = p.world();
    let mut items = Vec::new();
    let mut times = Vec::new();
    for e in w.trace().iter().rev() {
        if items.len() >= SPACETIME_COLUMNS {
            break;
        }
        let item = match &e.kind {
            TraceKind::Deliver { from, to, msg } if from.cluster == c => Some(SpaceTimeItem::Message {
                from: from.id.0,
                to: to.id.0,
                kind: msg.kind(),
                dropped: false,
                title: e.to_string(),
            }),
            TraceKind::Drop { from, to, msg, .. } if from.cluster == c => Some(SpaceTimeItem::Message {
                from: from.id.0,
                to: to.id.0,
                kind: msg.kind(),
                dropped: true,
                title: e.to_string(),
            }),
            TraceKind::Role { at, state, .. } if at.cluster == c => Some(SpaceTimeItem::Mark {
                at: at.id.0,
                label: match state {
                    PeerState::Looking => "?",
                    PeerState::Following => "F",
                    PeerState::Leading => "L",
                    PeerState::Observing => "O",
                },
                title: e.to_string(),
            }),
            TraceKind::Established { at, .. } if at.cluster == c => {
                Some(SpaceTimeItem::Mark { at: at.id.0, label: "★", title: e.to_string() })
            }
            TraceKind::Crash { at } if at.cluster == c => {
                Some(SpaceTimeItem::Mark { at: at.id.0, label: "✕", title: e.to_string() })
            }
            TraceKind::Restart { at } if at.cluster == c => {
                Some(SpaceTimeItem::Mark { at: at.id.0, label: "↻", title: e.to_string() })
            }
            TraceKind::Pause { at, .. } if at.cluster == c => {
                Some(SpaceTimeItem::Mark { at: at.id.0, label: "‖", title: e.to_string() })
            }
            _ => None,
        };
        if let Some(i) = item {
            items.push(i);
            times.push(e.time_ms);
        }
    }
    items.reverse();
    SpaceTime {
        cluster: names.get(c).cloned().unwrap_or_default(),
        lanes: w.servers_in(c).iter().map(|s| s.id.0).collect(),
        items,
        span_ms: (times.last().copied().unwrap_or(0), times.first().copied().unwrap_or(0)),
    }
}

/// The latest trace lines of the world shown (oldest first), with the servers called
/// by their scenario names (`b4` for the core's `c1.s4`).
pub fn trace_tail(w: &SimWorld, n: usize, clusters: &[String]) -> Vec<String> {
    let t = w.trace();
    t.range(t.len().saturating_sub(n)..).map(|e| rename(&e.to_string(), clusters)).collect()
}

/// Rewrites the core's server addresses (`s3` in the first cluster, `c1.s4` in the
/// second) as scenario names (`a3`, `b4`). Other text is left as it is, and so are the
/// bare `s1` of network lines when there are several clusters (they do not say which).
pub fn rename(line: &str, clusters: &[String]) -> String {
    let bare_ok = clusters.len() == 1 || !line.contains("network:");
    // Bare ids (`from=s3#1`) belong to the cluster of the line's addresses.
    let home = (1..clusters.len()).find(|c| line.contains(&format!("c{c}.s"))).unwrap_or(0);
    let b = line.as_bytes();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    let digits = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    while i < b.len() {
        let boundary = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'.');
        if boundary && b[i] == b'c' {
            let n = digits(i + 1);
            if n > 0 && b.get(i + 1 + n) == Some(&b'.') && b.get(i + 2 + n) == Some(&b's') {
                let m = digits(i + 3 + n);
                let c: usize = line[i + 1..i + 1 + n].parse().unwrap_or(usize::MAX);
                let end = i + 3 + n + m;
                if m > 0 && !b.get(end).is_some_and(|x| x.is_ascii_alphanumeric()) {
                    if let Some(name) = clusters.get(c) {
                        out.push_str(name);
                        out.push_str(&line[i + 3 + n..end]);
                        i = end;
                        continue;
                    }
                }
            }
        }
        if bare_ok && boundary && b[i] == b's' {
            let m = digits(i + 1);
            let end = i + 1 + m;
            if m > 0 && !b.get(end).is_some_and(|x| x.is_ascii_alphanumeric()) {
                if let Some(name) = clusters.get(home) {
                    out.push_str(name);
                    out.push_str(&line[i + 1..end]);
                    i = end;
                    continue;
                }
            }
        }
        let ch = line[i..].chars().next().expect("in bounds");
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// How many lines a client console shows (the latest).
pub const CONSOLE_LINES: usize = 40;
/// How many operations the history table lists (the latest).
pub const HISTORY_ROWS: usize = 30;
/// How many completions a Tab lists.
pub const MAX_COMPLETIONS: usize = 24;

/// One line of a client's console: a command with its outcome, or an event it received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleLine {
    /// Simulated time (ms): the command's invocation, or the event's arrival.
    pub time_ms: u64,
    /// `command` or `event`.
    pub kind: &'static str,
    /// The command as zkCli writes it, or the event (`WATCHER::NodeDataChanged /x`).
    pub text: String,
    /// The command's outcome (empty for an event).
    pub result: String,
    /// `ok`, `failed`, `pending` or `event`.
    pub status: &'static str,
}

/// One client operation as the history table shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryRow {
    /// The client.
    pub client: String,
    /// The command.
    pub command: String,
    /// Invocation time (ms).
    pub invoked_ms: u64,
    /// Completion time (ms), if it completed.
    pub completed_ms: Option<u64>,
    /// Its result or error (`…` while pending).
    pub result: String,
    /// `ok`, `failed` or `pending`.
    pub status: &'static str,
    /// The zxid the reply carried, in hex.
    pub zxid: Option<String>,
}

/// A cluster's client console as the page draws it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleView {
    /// The cluster.
    pub cluster: String,
    /// The clients that connect to it (the chooser).
    pub clients: Vec<String>,
    /// The client typing.
    pub client: String,
    /// zkCli's prompt: `[zk: a1(CONNECTED) 3] you_a>`.
    pub prompt: String,
    /// The console's latest lines.
    pub lines: Vec<ConsoleLine>,
    /// The latest operations of every client of the cluster.
    pub history: Vec<HistoryRow>,
    /// Operations not listed (older).
    pub history_hidden: usize,
    /// The history checker's verdict on this cluster's clients' history: whether it
    /// held, and one line (the first violation explained, when one broke).
    pub verdict: (bool, String),
}

fn op_result(r: &zoolab_core::scenario::run::OpStatus) -> (String, &'static str) {
    use zoolab_core::scenario::run::OpStatus;
    match r {
        OpStatus::Pending => ("…".into(), "pending"),
        OpStatus::Ok(v) => (v.clone(), "ok"),
        OpStatus::Failed(e) => (e.clone(), "failed"),
    }
}

/// The clients of the run that connect to `cluster`.
pub fn clients_of(p: &Playground, cluster: &str) -> Vec<String> {
    p.shown()
        .scenario()
        .clients
        .iter()
        .filter(|c| {
            c.connect.iter().any(|e| match e {
                zoolab_core::scenario::Endpoint::Cluster(n) => n == cluster,
                zoolab_core::scenario::Endpoint::Server(s) => s.cluster == cluster,
            })
        })
        .map(|c| c.name.clone())
        .collect()
}

/// The most operations the console checks on every redraw (the checker is fast, but a
/// very long run is better checked once, with `zoolab run`).
const CHECK_LIVE_MAX: usize = 2_000;

/// The history checker's verdict on the clients of `cluster`.
fn verdict(p: &Playground, cluster: &str, operations: usize) -> (bool, String) {
    use zoolab_core::scenario::run::Driver;
    if operations > CHECK_LIVE_MAX {
        return (
            true,
            format!("{operations} operations: too many to check live; `zoolab run LINK` checks them"),
        );
    }
    match p.shown().driver().check_history(Some(cluster)) {
        Ok(checks) => match checks.into_iter().next() {
            Some(c) => (!matches!(c.verdict, zoolab_core::checker::Verdict::Violated(_)), c.summary),
            None => (true, String::new()),
        },
        Err(e) => (true, e),
    }
}

/// The console of `cluster` for `client` (its first client when `client` is not one of
/// the cluster's), or `None` when no client connects to the cluster.
pub fn console(p: &Playground, cluster: &str, client: Option<&str>) -> Option<ConsoleView> {
    let clients = clients_of(p, cluster);
    let client = client
        .filter(|c| clients.iter().any(|x| x == c))
        .map_or_else(|| clients.first().cloned(), |c| Some(c.to_string()))?;
    let d = p.shown().driver();
    let history = d.history();
    let mut lines: Vec<ConsoleLine> = history
        .iter()
        .filter(|o| o.client == client)
        .map(|o| {
            let (result, status) = op_result(&o.result);
            ConsoleLine { time_ms: o.invoked_ms, kind: "command", text: o.command.clone(), result, status }
        })
        .collect();
    for e in d.client_events(&client) {
        let text = if e.path.is_empty() {
            format!("WatchedEvent state:{}", e.event)
        } else {
            format!("WATCHER::WatchedEvent state:SyncConnected type:{} path:{}", e.event, e.path)
        };
        lines.push(ConsoleLine {
            time_ms: e.time_ms,
            kind: "event",
            text,
            result: String::new(),
            status: "event",
        });
    }
    lines.sort_by_key(|l| l.time_ms);
    let skip = lines.len().saturating_sub(CONSOLE_LINES);
    let lines = lines.split_off(skip);
    let view = d.client_views().into_iter().find(|v| v.name == client);
    let sent = history.iter().filter(|o| o.client == client).count();
    let prompt = match &view {
        Some(v) => format!(
            "[zk: {}({}) {sent}] {client}>",
            v.server.clone().unwrap_or_else(|| "-".into()),
            v.state.to_ascii_uppercase()
        ),
        None => format!("[zk: - {sent}] {client}>"),
    };
    let ours: Vec<_> = history.into_iter().filter(|o| clients.contains(&o.client)).collect();
    let history_hidden = ours.len().saturating_sub(HISTORY_ROWS);
    let history = ours[history_hidden..]
        .iter()
        .map(|o| {
            let (result, status) = op_result(&o.result);
            HistoryRow {
                client: o.client.clone(),
                command: o.command.clone(),
                invoked_ms: o.invoked_ms,
                completed_ms: o.completed_ms,
                result,
                status,
                zxid: o.zxid.map(|z| format!("0x{z:x}")),
            }
        })
        .collect();
    Some(ConsoleView {
        cluster: cluster.to_string(),
        clients,
        client,
        prompt,
        lines,
        history,
        history_hidden,
        verdict: verdict(p, cluster, ours.len()),
    })
}

/// What a Tab completes a path to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Completion {
    /// The line with its last word completed as far as it is unambiguous.
    pub line: String,
    /// The paths that match, when more than one does (to list under the prompt).
    pub candidates: Vec<String>,
}

/// Completes the path being typed at the end of `line` from the tree of the server
/// `client` is connected to (zkCli completes from the server's children), or, while
/// it is not connected, from its cluster's leader's.
pub fn complete(p: &Playground, client: &str, line: &str) -> Completion {
    let unchanged = Completion { line: line.to_string(), candidates: Vec::new() };
    let start = line.rfind([' ', '\t']).map_or(0, |i| i + 1);
    let word = &line[start..];
    if !word.starts_with('/') {
        return unchanged;
    }
    let Some((c, id)) = completion_server(p, client) else { return unchanged };
    let Some(server) = p.world().server(c, id) else { return unchanged };
    let tree = server.state().tree();
    let (parent, prefix) = match word.rfind('/') {
        Some(0) => ("/".to_string(), &word[1..]),
        Some(i) => (word[..i].to_string(), &word[i + 1..]),
        None => return unchanged,
    };
    let Some(node) = tree.node(&parent) else { return unchanged };
    let base = if parent == "/" { String::new() } else { parent.clone() };
    let mut matches: Vec<String> =
        node.children.iter().filter(|k| k.starts_with(prefix)).map(|k| format!("{base}/{k}")).collect();
    matches.sort();
    match matches.len() {
        0 => unchanged,
        1 => Completion { line: format!("{}{}", &line[..start], matches[0]), candidates: Vec::new() },
        _ => {
            let first = matches[0].clone();
            let mut common = matches.iter().skip(1).fold(first.len(), |n, m| {
                first.bytes().zip(m.bytes()).take(n).take_while(|(a, b)| a == b).count()
            });
            while !first.is_char_boundary(common) {
                common -= 1;
            }
            matches.truncate(MAX_COMPLETIONS);
            let done = format!("{}{}", &line[..start], &first[..common.max(word.len())]);
            Completion { line: done, candidates: matches }
        }
    }
}

/// The server whose tree completes a client's paths: the one it is connected to, else
/// the leader of the cluster it connects to.
fn completion_server(p: &Playground, client: &str) -> Option<(usize, ServerId)> {
    let names = p.clusters();
    let d = p.shown().driver();
    let at = d.client_views().into_iter().find(|v| v.name == client).and_then(|v| v.server);
    if let Some(s) = at {
        let split = s.find(|ch: char| ch.is_ascii_digit())?;
        let c = names.iter().position(|n| *n == s[..split])?;
        return Some((c, ServerId(s[split..].parse().ok()?)));
    }
    let cluster = names.iter().position(|n| clients_of(p, n).iter().any(|x| x == client))?;
    Some((cluster, p.world().leader(cluster)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{name, Action, Source};

    #[test]
    fn the_speed_reached_reads_as_the_menu_does() {
        let mut p = Playground::open(&Source::Fresh).unwrap();
        p.playing = true;
        let label = |p: &mut Playground, r| {
            p.reached = Some(r);
            reached(p).unwrap()
        };
        assert_eq!(label(&mut p, 8_749), "≈ 87×");
        assert_eq!(label(&mut p, 870), "≈ 8.7×");
        assert_eq!(label(&mut p, 100), "≈ 1.0×");
        assert_eq!(label(&mut p, 25), "≈ 0.25×");
        assert_eq!(label(&mut p, 0), "≈ 0.00×");
        p.playing = false;
        assert_eq!(reached(&p), None, "not shown when paused");
    }

    #[test]
    fn an_election_shows_its_maximum_plus_one() {
        let mut p = Playground::open(&Source::Fresh).unwrap();
        p.apply(Action::RunFor(1_000));
        let rule = epoch_rule(p.world(), 0, "a", usize::MAX).expect("an election happened");
        assert!(rule.starts_with("new epoch = max(a3: 0, "), "{rule}");
        assert!(rule.ends_with(") + 1 = 1"), "{rule}");
        let l = p.world().leader(0).unwrap();
        p.apply(Action::Kill(name("a", l)));
        p.apply(Action::RunFor(3_000));
        let rule = epoch_rule(p.world(), 0, "a", usize::MAX).unwrap();
        assert!(rule.ends_with("+ 1 = 2"), "{rule}");
    }

    #[test]
    fn the_console_lists_each_command_with_its_result() {
        let mut p = Playground::open(&Source::Fresh).unwrap();
        // Clients connect once their cluster has a leader; a command sent before fails
        // with CONNECTIONLOSS, as ZooKeeper's client reports a failed connection attempt.
        p.apply(Action::RunFor(1_000));
        p.apply(Action::Command("you_a: create /x hello".into()));
        p.apply(Action::RunFor(1_500));
        p.apply(Action::Command("you_a: get /x".into()));
        p.apply(Action::Command("you_a: addWatch /x".into()));
        p.apply(Action::Command("you_b: delete /nothing".into()));
        p.apply(Action::RunFor(500));
        let log = client_log(&p);
        let seen: Vec<(&str, &str)> = log.iter().map(|l| (l.op.as_str(), l.status)).collect();
        assert_eq!(
            seen,
            [("you_a#1", "ok"), ("you_a#2", "ok"), ("you_a#3", "ok"), ("you_b#1", "failed")],
            "{log:#?}"
        );
        assert_eq!(log[1].result, "ok \"hello\"");
        assert_eq!(log[3].result, "failed with NONODE");
    }

    #[test]
    fn trace_lines_name_servers_as_the_scenario_does() {
        let names = ["a".to_string(), "b".to_string()];
        assert_eq!(rename("t=3 c1.s4 → c1.s5 PING", &names), "t=3 b4 → b5 PING");
        assert_eq!(
            rename("t=9 s2 syncs s3 with DIFF zxid=0x1", &names),
            "t=9 a2 syncs a3 with DIFF zxid=0x1"
        );
        assert_eq!(rename("network: partition {s1,s2}", &names), "network: partition {s1,s2}");
        assert_eq!(rename("t=1 c1.s3 → c1.s5 REQUEST from=s3#1", &names), "t=1 b3 → b5 REQUEST from=b3#1");
        assert_eq!(rename("network: partition {s1,s2}", &names[..1]), "network: partition {a1,a2}");
        assert_eq!(
            rename("client → c1.s2 write #1 · sessions s", &names),
            "client → b2 write #1 · sessions s"
        );
    }

    #[test]
    fn clusters_show_servers_messages_and_cuts() {
        let mut p = Playground::open(&Source::Fresh).unwrap();
        p.apply(Action::StepEvent);
        let cs = clusters(&p);
        assert_eq!(cs.len(), 2);
        assert!(cs[0].messages.iter().all(|m| m.kind == "NOTIFICATION"));
        assert!(!cs[0].messages.is_empty() || !cs[1].messages.is_empty());
        p.apply(Action::Isolate(name("a", ServerId(1))));
        assert_eq!(clusters(&p)[0].cuts.len(), 4);
        assert!(invariants(p.world()).iter().all(|i| i.holds));
        assert_eq!(violation(&p), None);
    }

    #[test]
    fn with_client_latency_the_clients_messages_are_drawn_on_their_way() {
        let mut p = Playground::open(&Source::Fresh).unwrap();
        p.apply(Action::RunFor(1_000));
        let a = &clusters(&p)[0];
        assert_eq!(a.clients.len(), 1);
        let you = &a.clients[0];
        assert_eq!((you.name.as_str(), you.state, you.pings), ("you_a", "connected", true), "{you:?}");
        assert!(a.servers.iter().any(|s| Some(s.id.0) == you.server));
        assert!(a.client_messages.is_empty(), "no client latency: client traffic takes no time");
        // Turned on from the network settings, as a step of the run.
        p.apply(Action::Command(network_statement("1", "5", "0", "0", "20")));
        assert!(!matches!(p.banner, Some(crate::state::Banner::Error(_))), "{:?}", p.banner);
        assert_eq!(network(&p).client_latency_ms, 20);
        p.apply(Action::Command("you_a: create /x 1".into()));
        let mut seen = Vec::new();
        for _ in 0..400 {
            p.apply(Action::StepEvent);
            for m in &clusters(&p)[0].client_messages {
                assert!((0.3..=0.75).contains(&m.progress), "{m:?}");
                if !seen.contains(&(m.kind, m.to_server, m.label.clone())) {
                    seen.push((m.kind, m.to_server, m.label.clone()));
                }
            }
            if seen.iter().any(|(k, ..)| *k == "REPLY") {
                break;
            }
        }
        assert!(seen.contains(&("REQUEST", true, "create".into())), "{seen:?}");
        assert!(seen.contains(&("REPLY", false, "↩ ok".into())), "{seen:?}");
        // A watch event travels too.
        p.apply(Action::Command("you_a: get -w /x".into()));
        p.apply(Action::RunFor(200));
        p.apply(Action::Command("you_b: create /y 1".into()));
        p.apply(Action::Command("you_a: set /x 2".into()));
        let mut event = false;
        for _ in 0..600 {
            p.apply(Action::StepEvent);
            event |= clusters(&p)[0].client_messages.iter().any(|m| m.kind == "WATCH" && !m.to_server);
            if event {
                break;
            }
        }
        assert!(event, "the NodeDataChanged event was drawn on its way");
        // Client b is drawn beside its cluster.
        assert_eq!(clusters(&p)[1].clients.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["you_b"]);
    }

    #[test]
    fn a_broken_invariant_names_the_scenario_step_and_the_servers() {
        let text = zoolab_core::scenario::library::builtin("trunc-uncommitted-proposal").unwrap().replacen(
            "\ncluster ",
            "\nbug skip-trunc\ncluster ",
            1,
        );
        let p = Playground::open(&Source::Text(text)).unwrap();
        let v = violation(&p).expect("skip-trunc breaks an invariant");
        let (n, stmt) = v.scenario_step.clone().expect("a step was running");
        assert_eq!(
            p.scenario().steps[n - 1].to_string(),
            stmt,
            "step {n} of the scenario as the page shows it"
        );
        assert_eq!(v.servers[0], v.server);
        assert!(v.servers.iter().all(|s| s.starts_with('a')), "{v:?}");
        assert!(
            !v.what
                .split_whitespace()
                .any(|w| w.starts_with('s') && w[1..].starts_with(|c: char| c.is_ascii_digit())),
            "{v:?}"
        );
    }

    #[test]
    fn a_violation_names_its_servers_as_the_scenario_does() {
        assert_eq!(
            name_servers("one leader per epoch: s2 and s13 both established epoch 3", "b"),
            (
                "one leader per epoch: b2 and b13 both established epoch 3".to_string(),
                vec!["b2".into(), "b13".into()]
            )
        );
        assert_eq!(name_servers("state: s1 applied s1's", "a").1, ["a1"]);
        assert_eq!(name_servers("sessions s3x as2 s", "a"), ("sessions s3x as2 s".to_string(), vec![]));
    }

    #[test]
    fn the_network_form_writes_a_step_of_the_language() {
        let mut p = Playground::open(&Source::Fresh).unwrap();
        let n = network(&p);
        assert_eq!(
            (n.latency_min_ms, n.latency_max_ms, n.loss_pct.as_str(), n.client_latency_ms),
            (1, 5, "0", 0)
        );
        let step = network_statement(" 10 ", "40ms", "2.5", "0.25%", "3");
        assert_eq!(step, "change network latency 10ms..40ms loss 2.5% duplicate 0.25% client latency 3ms");
        p.apply(Action::Command(step));
        assert!(!matches!(p.banner, Some(crate::state::Banner::Error(_))), "{:?}", p.banner);
        let n = network(&p);
        assert_eq!(
            (
                n.latency_min_ms,
                n.latency_max_ms,
                n.loss_pct.as_str(),
                n.duplicate_pct.as_str(),
                n.client_latency_ms
            ),
            (10, 40, "2.5", "0.25", 3)
        );
        p.apply(Action::Command(network_statement("1", "x", "0", "0", "0")));
        assert!(matches!(p.banner, Some(crate::state::Banner::Error(_))), "a bad value says why");
    }

    #[test]
    fn the_inspector_shows_the_log_with_its_committed_mark_and_votes() {
        let mut p = Playground::open(&Source::Fresh).unwrap();
        p.apply(Action::StepEvent);
        p.apply(Action::Select(Some(name("a", ServerId(1)))));
        let v = inspector(&p).unwrap();
        assert!(v.own_vote.is_some());
        p.apply(Action::RunFor(1_000));
        p.apply(Action::Write("a".into()));
        p.apply(Action::RunFor(500));
        let v = inspector(&p).unwrap();
        assert_eq!(v.name, "a1");
        assert_eq!(v.log.len(), 2, "{v:?}");
        assert!(v.log[0].committed && v.log[0].txn.starts_with("createSession"), "{v:?}");
        assert!(v.log[1].committed && v.log[1].txn.starts_with("create /w-"), "{v:?}");
        assert_eq!(v.tree.iter().filter(|t| t.starts_with("/w-")).count(), 1, "{v:?}");
        assert!(!trace_tail(p.world(), 5, &p.clusters()).is_empty());
        let st = spacetime(&p);
        assert_eq!((st.cluster.as_str(), st.lanes.len()), ("a", 3));
        assert_eq!(st.items.len(), SPACETIME_COLUMNS);
        assert!(
            st.items.iter().any(|i| matches!(i, SpaceTimeItem::Message { kind: "COMMIT", .. })),
            "{st:?}"
        );
    }

    #[test]
    fn the_console_completes_paths_and_shows_results_watch_events_and_the_history() {
        let mut p = Playground::open(&crate::state::Source::Fresh).unwrap();
        p.apply(Action::RunFor(1_000));
        for line in ["you_a: create /app x", "you_a: create /apple y", "you_a: create /app/conf z"] {
            p.apply(Action::Command(line.into()));
        }
        p.apply(Action::RunFor(500));
        let c = complete(&p, "you_a", "get -w /a");
        assert_eq!(
            (c.line.as_str(), c.candidates.clone()),
            ("get -w /app", vec!["/app".into(), "/apple".into()])
        );
        assert_eq!(complete(&p, "you_a", "get /appl").line, "get /apple");
        assert_eq!(complete(&p, "you_a", "ls /app/c").line, "ls /app/conf");
        assert_eq!(complete(&p, "you_a", "ls /zz").line, "ls /zz", "nothing to complete");
        assert_eq!(complete(&p, "you_a", "ls").line, "ls");
        p.apply(Action::Command("you_a: get -w /app".into()));
        p.apply(Action::RunFor(300));
        p.apply(Action::Command("you_b: create /elsewhere 1".into()));
        p.apply(Action::Command("you_a: set /app y".into()));
        p.apply(Action::RunFor(500));
        let v = console(&p, "a", None).unwrap();
        assert_eq!(v.client, "you_a");
        assert!(v.prompt.starts_with("[zk: a") && v.prompt.ends_with("you_a>"), "{}", v.prompt);
        let cmds: Vec<_> = v.lines.iter().filter(|l| l.kind == "command").collect();
        assert_eq!(cmds.len(), 5);
        assert!(cmds.iter().all(|l| l.status == "ok"), "{cmds:?}");
        assert!(
            v.lines
                .iter()
                .any(|l| l.kind == "event" && l.text.contains("NodeDataChanged") && l.text.contains("/app")),
            "{:?}",
            v.lines
        );
        assert_eq!(v.history.len(), 5, "only cluster a's clients");
        assert!(v.history.iter().all(|r| r.zxid.is_some() && r.completed_ms.is_some()));
        let b = console(&p, "b", Some("nobody")).unwrap();
        assert_eq!((b.client.as_str(), b.history.len()), ("you_b", 1));
    }
}
