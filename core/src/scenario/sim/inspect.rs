//! Read-only views of the simulated ZooKeeper sessions, for the playground's inspector:
//! the leader's session tracker with its expiry deadlines, which client owns a
//! session, and the client–server messages on their way (with `client latency`).
//! Nothing here changes the run.

use super::{Arrival, Conn, OpState, SimDriver};
use crate::ids::{ServerId, SessionId};
use crate::scenario::run::OpStatus;

/// One session in a leader's tracker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackedSession {
    /// The session.
    pub session: SessionId,
    /// Its negotiated timeout (ms).
    pub timeout_ms: u64,
    /// When the leader expires it unless its client is heard from (simulated ms).
    pub deadline_ms: u64,
    /// Whether the leader has proposed closing it (expired, closeSession in flight).
    pub closing: bool,
    /// The scenario client holding it, if any.
    pub client: Option<String>,
}

impl SimDriver {
    /// The session tracker of cluster `c`'s leader: the leader it belongs to and its
    /// sessions in id order (`None`: no leader tracks sessions right now).
    pub fn session_tracker(&self, c: usize) -> Option<(ServerId, Vec<TrackedSession>)> {
        let t = self.trackers.get(c)?;
        let (leader, _) = t.leader?;
        let sessions = t
            .sessions
            .iter()
            .map(|(&session, &(timeout_ms, deadline_ms, closing))| TrackedSession {
                session,
                timeout_ms,
                deadline_ms,
                closing: closing.is_some(),
                client: self.client_of(session),
            })
            .collect();
        Some((leader, sessions))
    }

    /// The scenario client whose current session this is.
    pub fn client_of(&self, session: SessionId) -> Option<String> {
        self.clients.iter().find(|c| c.session.is_some_and(|(s, _)| s == session)).map(|c| c.name.clone())
    }
}

/// What a client–server message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientMessageKind {
    /// The client's connection request (ZooKeeper's `ConnectRequest`).
    Connect,
    /// The server's answer that the session is open (`ConnectResponse`).
    Connected,
    /// A request (`create`, `getData`, `sync`, …).
    Request,
    /// The reply to a request.
    Reply,
    /// A watch event (`WatcherEvent`).
    Watch,
}

impl ClientMessageKind {
    /// Its name in capitals, as the page labels it.
    pub fn word(self) -> &'static str {
        match self {
            ClientMessageKind::Connect => "CONNECT",
            ClientMessageKind::Connected => "CONNECTED",
            ClientMessageKind::Request => "REQUEST",
            ClientMessageKind::Reply => "REPLY",
            ClientMessageKind::Watch => "WATCH",
        }
    }
}

/// A message between a client and a server on its way (only with `client latency`:
/// otherwise client traffic takes no time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientMessage {
    /// The client.
    pub client: String,
    /// The server at the other end: (cluster index, id).
    pub server: (usize, ServerId),
    /// Whether it goes from the client to the server.
    pub to_server: bool,
    /// What it is.
    pub kind: ClientMessageKind,
    /// For a request, its command's first word (`create`); for a reply, `ok` or the
    /// error; for a watch event, its type.
    pub short: String,
    /// The whole of it in one line (`create /x 1`, `ok "/x"`, `NodeDataChanged /x`).
    pub detail: String,
    /// When it left (simulated ms).
    pub sent_ms: u64,
    /// When it arrives.
    pub due_ms: u64,
}

/// A client's connection as drawn: where it is connected (or connecting) and whether
/// its pings reach the server now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientLink {
    /// The client.
    pub client: String,
    /// Its server, if it has (or is opening) a connection.
    pub server: Option<(usize, ServerId)>,
    /// `connecting`, `connected`, `disconnected` or `expired` (as [`super::ClientView`]).
    pub state: &'static str,
    /// Whether its network reaches the servers.
    pub reachable: bool,
    /// Whether its pings reach its server now (they keep its session alive).
    pub pings: bool,
}

impl SimDriver {
    /// The one-way client–server latency (ms; 0: client traffic takes no time).
    pub fn client_latency_ms(&self) -> u64 {
        self.client_ms
    }

    /// Every client's connection, in the scenario's order of clients.
    pub fn client_links(&self) -> Vec<ClientLink> {
        self.clients
            .iter()
            .enumerate()
            .map(|(k, c)| {
                let (state, server) = match &c.conn {
                    Conn::Disconnected { .. } => ("disconnected", None),
                    Conn::Dialing { at, .. } | Conn::Creating { at, .. } => ("connecting", Some(*at)),
                    Conn::Connected { at, .. } => ("connected", Some(*at)),
                    Conn::Expired => ("expired", None),
                };
                ClientLink {
                    client: c.name.clone(),
                    server,
                    state,
                    reachable: c.up,
                    pings: state == "connected" && self.pings_arrive(k),
                }
            })
            .collect()
    }

    /// The client–server messages on their way now (none without client latency), in
    /// the order they were sent per client.
    pub fn client_messages(&self) -> Vec<ClientMessage> {
        let now = self.world.now();
        let l = self.client_ms;
        let mut out = Vec::new();
        if l == 0 {
            return out;
        }
        for (k, c) in self.clients.iter().enumerate() {
            let msg = |server, to_server, kind, short: String, detail: String, due: u64| ClientMessage {
                client: c.name.clone(),
                server,
                to_server,
                kind,
                short,
                detail,
                sent_ms: due.saturating_sub(l),
                due_ms: due,
            };
            match &c.conn {
                Conn::Dialing { at, arrive } if *arrive > now => out.push(msg(
                    *at,
                    true,
                    ClientMessageKind::Connect,
                    "connect".into(),
                    format!("{} asks {} for a session", c.name, self.name(*at)),
                    *arrive,
                )),
                Conn::Connected { at, .. } if c.usable_at > now => out.push(msg(
                    *at,
                    false,
                    ClientMessageKind::Connected,
                    "session".into(),
                    format!("{} tells {} its session is open", self.name(*at), c.name),
                    c.usable_at,
                )),
                _ => {}
            }
            if let Conn::Connected { at, .. } = c.conn {
                for &i in &c.open {
                    let op = &self.ops[i];
                    if let (OpState::Queued, Some(due)) = (&op.state, op.arrives) {
                        if due > now {
                            let command = op.command.to_string();
                            let verb = command.split_whitespace().next().unwrap_or("").to_string();
                            out.push(msg(at, true, ClientMessageKind::Request, verb, command, due));
                        }
                    }
                }
            }
            for (due, to, arrival) in &self.inbox {
                if *to != k {
                    continue;
                }
                match arrival {
                    Arrival::Reply { op, status, .. } => {
                        let Conn::Connected { at, .. } = c.conn else { continue };
                        let (short, result) = match status {
                            OpStatus::Ok(v) => ("ok".to_string(), format!("ok {v}")),
                            OpStatus::Failed(e) => (e.clone(), e.clone()),
                            OpStatus::Pending => ("…".to_string(), "…".to_string()),
                        };
                        let detail = format!("{} → {}: {}", self.ops[*op].command, c.name, result);
                        out.push(msg(at, false, ClientMessageKind::Reply, short, detail, *due));
                    }
                    Arrival::Watch { at, event, path } => {
                        let detail = format!("{} {path} → {}", event.java_name(), c.name);
                        out.push(msg(
                            *at,
                            false,
                            ClientMessageKind::Watch,
                            event.java_name().to_string(),
                            detail,
                            *due,
                        ));
                    }
                }
            }
        }
        out
    }
}
