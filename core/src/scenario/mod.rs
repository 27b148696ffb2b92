//! Scenarios: one language for tests, exercises, the headless runner and shared links.
//!
//! A run of zoolab is a scenario plus a seed. A scenario is a short text that reads like
//! English: the topology (clusters, observers, clients and their connect strings, the
//! network and the links between clusters), then the steps (client commands in zkCli
//! syntax, faults, runs of the clock, expectations):
//!
//! ```text
//! scenario "a minority cannot commit"
//! seed 7
//! cluster a with 5 servers
//! client c1 connects to a1
//!
//! run until a has a leader
//! partition a1 a2 | a3 a4 a5
//! c1: create /x 1
//! run 5s
//! expect c1 is pending
//! ```
//!
//! - [`parse`] reads a text into a [`Scenario`], or says where and why it cannot
//!   ([`ParseError`]: line, column, what was expected).
//! - [`Scenario`]'s `Display` prints the canonical text: `parse(&s.to_string()) == s`, and
//!   printing a parsed text gives its canonical form.
//! - [`link`] turns a scenario and a position in its run into a URL fragment and back.
//! - [`run`] executes a scenario on a world and reports the trace and each expectation.
//!
//! The language is documented, with every construct, in `docs/scenarios.md`.

use crate::zkcli::ZkCommand;
use serde::{Deserialize, Serialize};

pub mod classroom;
pub mod histlog;
pub mod library;
pub mod link;
pub mod migrate;
mod parse;
mod print;
pub mod run;
pub mod sim;
pub mod sweep;

pub use parse::{parse, parse_predicate, ParseError, MAX_NOTS};

/// The most clusters a scenario may declare.
pub const MAX_CLUSTERS: usize = 5;
/// The most servers (participants and observers together) in one cluster.
pub const MAX_SERVERS_PER_CLUSTER: u8 = 9;
/// The most clients a scenario may declare.
pub const MAX_CLIENTS: usize = 64;
/// The most steps a scenario may have.
pub const MAX_STEPS: usize = 100_000;
/// The longest scenario text accepted, in bytes.
pub const MAX_TEXT_BYTES: usize = 1024 * 1024;

/// A whole scenario: its topology and its steps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scenario {
    /// A title, shown in the scenario library and the page.
    pub title: Option<String>,
    /// The seed of the world's random generator (0 when not given).
    pub seed: u64,
    /// The exercise this run attempts and the teacher's lock (`classroom.rs`).
    #[serde(default)]
    pub classroom: classroom::Classroom,
    /// The default network between any two servers or clients.
    pub network: NetSettings,
    /// Deliberate protocol bugs switched on in every server, in canonical order
    /// (empty for a correct ZooKeeper).
    pub bugs: Vec<Bug>,
    /// The clusters, in declaration order.
    pub clusters: Vec<Cluster>,
    /// Links between clusters with their own network settings.
    pub links: Vec<LinkDecl>,
    /// The clients and their connect strings.
    pub clients: Vec<ClientDecl>,
    /// What happens, in order.
    pub steps: Vec<Action>,
}

/// A deliberate protocol bug (`bug commit-without-quorum` in a scenario's header):
/// exercises ask students to find one by producing a history or a trace that breaks a
/// guarantee, and tests use them to prove the checks can fail. See [`crate::zab::Bugs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Bug {
    /// The leader commits a proposal without waiting for a quorum of ACKs.
    CommitWithoutQuorum,
    /// The leader sends DIFF where it should send TRUNC.
    SkipTrunc,
    /// Leader election orders votes by server id alone.
    ElectById,
    /// A migration's final-sync gate opens without waiting for the fence zxid.
    MigrationSkipsFinalSync,
    /// A migration goes from catch-up straight to cut-over (no verify, freeze or
    /// final sync).
    MigrationCutsOverBeforeVerify,
    /// A migration does not raise the target's zxid at cut-over.
    MigrationNoZxidRaise,
    /// A migration copies ephemerals as persistent nodes (zkcopy's old default).
    MigrationEphemeralsAsPersistent,
}

impl Bug {
    /// Every bug, in canonical order.
    pub const ALL: [Bug; 7] = [
        Bug::CommitWithoutQuorum,
        Bug::SkipTrunc,
        Bug::ElectById,
        Bug::MigrationSkipsFinalSync,
        Bug::MigrationCutsOverBeforeVerify,
        Bug::MigrationNoZxidRaise,
        Bug::MigrationEphemeralsAsPersistent,
    ];

    /// Its name in the language.
    pub fn name(self) -> &'static str {
        match self {
            Bug::CommitWithoutQuorum => "commit-without-quorum",
            Bug::SkipTrunc => "skip-trunc",
            Bug::ElectById => "elect-by-id",
            Bug::MigrationSkipsFinalSync => "migration-skips-final-sync",
            Bug::MigrationCutsOverBeforeVerify => "migration-cuts-over-before-verify",
            Bug::MigrationNoZxidRaise => "migration-no-zxid-raise",
            Bug::MigrationEphemeralsAsPersistent => "migration-ephemerals-as-persistent",
        }
    }

    /// Switches it on in ZAB's set of bugs.
    pub fn apply(self, bugs: &mut crate::zab::Bugs) {
        match self {
            Bug::CommitWithoutQuorum => bugs.commit_without_quorum = true,
            Bug::SkipTrunc => bugs.skip_trunc = true,
            Bug::ElectById => bugs.elect_by_id = true,
            _ => {}
        }
    }

    /// Switches it on in a migration's set of broken behaviours.
    pub fn apply_migration(self, broken: &mut crate::migration::sim::Broken) {
        match self {
            Bug::MigrationSkipsFinalSync => broken.skip_final_sync = true,
            Bug::MigrationCutsOverBeforeVerify => broken.cut_over_before_verify = true,
            Bug::MigrationNoZxidRaise => broken.no_zxid_raise = true,
            Bug::MigrationEphemeralsAsPersistent => broken.ephemerals_as_persistent = true,
            _ => {}
        }
    }
}

/// Milliseconds of simulated time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Millis(pub u64);

/// A probability in basis points (1% = 100, 100% = 10,000).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Percent(pub u16);

impl Percent {
    /// The largest value: 100%.
    pub const MAX: Percent = Percent(10_000);
}

/// Network settings; each one left out keeps its current (or default) value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetSettings {
    /// One-way delay of a message, uniformly drawn from `min..=max`.
    pub latency: Option<(Millis, Millis)>,
    /// The chance that a message is lost.
    pub loss: Option<Percent>,
    /// The chance that a message is delivered twice.
    pub duplicate: Option<Percent>,
    /// One-way delay between a client and its server (`client latency 2ms`): requests,
    /// replies, watch events and pings (the network's default only; 0 when not given:
    /// client traffic is instantaneous).
    pub client_latency: Option<Millis>,
}

impl NetSettings {
    /// Whether no setting is given.
    pub fn is_empty(&self) -> bool {
        self.latency.is_none()
            && self.loss.is_none()
            && self.duplicate.is_none()
            && self.client_latency.is_none()
    }
}

/// A cluster (ensemble): `cluster a with 3 servers and 1 observer and 2 spares`.
///
/// Participants are numbered `1..=servers`, observers follow them, then spares; the
/// servers of cluster `a` are called `a1`, `a2`, … Spares run outside the initial
/// configuration (joiners): they follow its leader without a vote until a `reconfig`
/// adds them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cluster {
    /// Its name: letters and `_` only, so that `a3` reads as server 3 of `a`.
    pub name: String,
    /// How many voting participants.
    pub servers: u8,
    /// How many observers.
    pub observers: u8,
    /// How many spares: servers outside the initial configuration.
    #[serde(default)]
    pub spares: u8,
    /// zoo.cfg's timing settings, where they differ from the simulator's defaults.
    pub settings: ClusterSettings,
}

/// A cluster's timing settings (zoo.cfg's names).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSettings {
    /// `tickTime`.
    pub tick_time: Option<Millis>,
    /// `initLimit`, in ticks.
    pub init_limit: Option<u32>,
    /// `syncLimit`, in ticks.
    pub sync_limit: Option<u32>,
    /// `snapCount`: transactions between snapshots (the log before one is purged).
    pub snap_count: Option<u32>,
    /// `zookeeper.commitLogCount`: committed proposals a leader keeps in memory for DIFF.
    pub commit_log_count: Option<u32>,
}

/// Network settings between two clusters: `link a <-> b latency 40ms`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkDecl {
    /// One cluster.
    pub a: String,
    /// The other.
    pub b: String,
    /// The settings of messages between them (both ways).
    pub net: NetSettings,
}

/// A client: `client c1 connects to a1,a2` or `client c1 connects to a`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientDecl {
    /// Its name.
    pub name: String,
    /// Its connect string: servers, or whole clusters (every server of it).
    pub connect: Vec<Endpoint>,
}

/// One entry of a connect string.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Endpoint {
    /// One server.
    Server(ServerName),
    /// Every server of a cluster.
    Cluster(String),
}

/// A server by name: cluster `a`, id 3 is `a3`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ServerName {
    /// The cluster.
    pub cluster: String,
    /// The id within it (`server.N`).
    pub id: u8,
}

/// A server as a step refers to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServerRef {
    /// By name.
    Named(ServerName),
    /// `leader of a`: whichever server leads cluster `a` when the step runs.
    LeaderOf(String),
}

/// A client's operation as an expectation refers to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpRef {
    /// The client.
    pub client: String,
    /// `c1#2`: its second command; `None` (`c1`): its latest before the expectation.
    pub nth: Option<u32>,
}

/// One step of a scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// `c1: create /x 1`: a client sends a command (it completes later).
    Client {
        /// The client.
        client: String,
        /// The command.
        command: ZkCommand,
    },
    /// `kill a3`: crash; keeps only what it had persisted.
    Kill(ServerRef),
    /// `restart a3`: a crashed server recovers from its disk.
    Restart(ServerRef),
    /// `pause a3 for 5s`: stops processing for a while (a long GC pause); whatever
    /// reaches it waits, in order, until the pause ends.
    Pause(ServerRef, Millis),
    /// `partition a1 a2 | a3`: messages between servers of different groups are lost.
    Partition(Vec<Vec<ServerRef>>),
    /// `partition a1 -> a2 a3`: messages from the left to the right are lost (one way).
    Cut {
        /// Senders.
        from: Vec<ServerRef>,
        /// Receivers.
        to: Vec<ServerRef>,
    },
    /// `isolate a3`: cut from everyone, both ways.
    Isolate(ServerRef),
    /// `heal`: every partition and cut repaired; `heal a3`: those involving a3.
    Heal(Option<ServerRef>),
    /// `change network latency 5ms loss 1%`: change the default network.
    Network(NetSettings),
    /// `change link a <-> b loss 50%`: change a link between clusters.
    Link(LinkDecl),
    /// `change link a1 -> a2 latency 300ms` (one way), `change link a1 <-> a2 loss 5%`
    /// (both ways), `change link a1 <-> a2 default` (back to the network's settings):
    /// a link between two servers of one cluster.
    ServerLink {
        /// One end (the sender, one way).
        from: ServerRef,
        /// The other end.
        to: ServerRef,
        /// Both directions (`<->`) or only `from` to `to` (`->`).
        both_ways: bool,
        /// Its own settings (over the network's), or `None`: the network's again.
        net: Option<NetSettings>,
    },
    /// `run 500ms`: let simulated time pass.
    Run(Millis),
    /// `run until a has a leader [within 10s]`: fails when the bound passes first.
    RunUntil {
        /// What to wait for.
        condition: Predicate,
        /// The bound ([`run::DEFAULT_WITHIN`] when not given).
        within: Option<Millis>,
    },
    /// `step 10`: run exactly this many events.
    Step(u64),
    /// `deliver a1 -> a2 PROPOSAL`: deliver now, by hand, the earliest message in
    /// flight from a1 to a2 (of that kind, if given), ahead of its time and of every
    /// other message; a connection's messages still arrive in order.
    Deliver {
        /// The sender.
        from: ServerRef,
        /// The receiver.
        to: ServerRef,
        /// ZooKeeper's packet name (`PROPOSAL`, `NOTIFICATION`, …), if it matters.
        kind: Option<String>,
    },
    /// `at 1500ms: kill a3`: run until that time, then act.
    At {
        /// The absolute simulated time.
        time: Millis,
        /// What to do then (not itself an `at`).
        action: Box<Action>,
    },
    /// `expect P`: check a predicate now.
    Expect(Predicate),
    /// `disconnect c1`: the client's network is cut from every server (it loses its
    /// connection; its session lives on until the leader expires it).
    Disconnect(String),
    /// `reconnect c1`: the client's network is back (it reconnects with its session).
    Reconnect(String),
    /// `migrate a -> b via snapshot`, `migration step|run|abort` ([`migrate`]).
    Migration(migrate::MigrationAction),
}

/// What a server is doing, as expectations name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServerState {
    /// `leading`
    Leading,
    /// `following`
    Following,
    /// `looking`
    Looking,
    /// `observing`
    Observing,
    /// `down` (crashed)
    Down,
    /// `paused`
    Paused,
}

impl ServerState {
    /// The word in the language.
    pub fn word(self) -> &'static str {
        match self {
            ServerState::Leading => "leading",
            ServerState::Following => "following",
            ServerState::Looking => "looking",
            ServerState::Observing => "observing",
            ServerState::Down => "down",
            ServerState::Paused => "paused",
        }
    }

    /// Every state, for parsing and completion.
    pub const ALL: [ServerState; 6] = [
        ServerState::Leading,
        ServerState::Following,
        ServerState::Looking,
        ServerState::Observing,
        ServerState::Down,
        ServerState::Paused,
    ];
}

/// Where a tree expectation looks: one server, or every server of a cluster that is up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    /// One server.
    Server(ServerRef),
    /// Every server of the cluster that is not down.
    Cluster(String),
}

/// What an expectation compares data with, as zkCli prints data: the bare word `null`
/// is null data (`create /x` without data), a string is bytes (`""` empty, `"null"`
/// the four bytes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Value {
    /// Null data.
    Null,
    /// Bytes, as UTF-8 text.
    Text(String),
}

impl Value {
    /// Whether data read as `got` (`None`: null; else its text) is this value.
    pub fn matches(&self, got: Option<&str>) -> bool {
        match self {
            Value::Null => got.is_none(),
            Value::Text(t) => got == Some(t.as_str()),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Text(s.to_owned())
    }
}

/// A condition on the state of a run (for `expect` and `run until`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Predicate {
    /// `not P` (`a has no leader` is `not a has a leader`).
    Not(Box<Predicate>),
    /// `a has a leader`: some server of `a` is LEADING and a quorum follows it.
    HasLeader(String),
    /// `a3 is leading [in epoch 2]`.
    Is {
        /// The server.
        server: ServerRef,
        /// Its state.
        state: ServerState,
        /// Its current epoch, if it matters.
        epoch: Option<u32>,
    },
    /// `a1 has /x [= "v"]`, `a1 has /x = null` (`a1 has no /x` is `not a1 has /x`).
    HasNode {
        /// Where to look.
        target: Target,
        /// The znode.
        path: String,
        /// Its data, if it matters.
        data: Option<Value>,
    },
    /// `a1 has committed 0x100000002`: its last committed zxid is at least this one.
    HasCommitted {
        /// Where to look.
        target: Target,
        /// The zxid.
        zxid: u64,
    },
    /// `a has voters a1 a2 a4`: the committed configuration has exactly these voters.
    HasVoters {
        /// Where to look.
        target: Target,
        /// The voters, in id order.
        voters: Vec<ServerName>,
    },
    /// `a has config version 0x100000003`: the committed configuration's version.
    HasConfigVersion {
        /// Where to look.
        target: Target,
        /// The version (the zxid of the reconfiguration that made it).
        version: u64,
    },
    /// `c1 succeeded`.
    Succeeded(OpRef),
    /// `c1 failed [with NODEEXISTS]`.
    Failed {
        /// The operation.
        op: OpRef,
        /// ZooKeeper's error name, if it matters.
        code: Option<String>,
    },
    /// `c1 is pending`: sent, not answered yet.
    Pending(OpRef),
    /// `c1 returned "/lock/n-0000000001"`: the result as the console prints it;
    /// `c1 returned null`: a read of null data.
    Returned {
        /// The operation.
        op: OpRef,
        /// Its result.
        value: Value,
    },
    /// `invariants hold`: ZAB's invariants held after every step so far.
    InvariantsHold,
    /// `trace contains "SNAP"`: some trace line so far contains the text.
    TraceContains(String),
    /// `history is linearizable` / `history of a is linearizable`: the history checker
    /// accepts what the clients (of every cluster, or of `a`) saw so far, every rule
    /// holding; `history violates sync-then-read`: it finds that rule broken.
    History {
        /// One cluster's clients, or every cluster's.
        cluster: Option<String>,
        /// The rule expected broken; `None`: every rule expected to hold.
        violates: Option<crate::checker::Rule>,
    },
    /// `c1 is connected`: the client has a session and a connection to a server.
    Connected(String),
    /// `c1 saw NodeDataChanged /x` (at least once), `c1 saw NodeDataChanged /x 1 times`
    /// (exactly), `c1 saw Expired`: events the client received (watch events, or
    /// connection states: SyncConnected, Disconnected, Expired).
    Saw {
        /// The client.
        client: String,
        /// The event's name, as ZooKeeper's `EventType` or `KeeperState` spells it.
        event: String,
        /// The path (none for a state).
        path: Option<String>,
        /// Exactly this many times, or at least once.
        times: Option<u32>,
    },
    /// `migration is in cut-over`, `migration committed`, `migration invariants hold`.
    Migration(migrate::MigrationPredicate),
}

/// Why [`load`] could not read its input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// A scenario text that does not parse.
    #[error("{0}")]
    Text(#[from] ParseError),
    /// A link that does not open.
    #[error("{0}")]
    Link(#[from] link::LinkError),
}

/// Reads what a user hands over, a scenario's text or a link (a URL with a `#z…`
/// fragment, or the fragment alone), as `zoolab run FILE|URL` and the page do; a link
/// also gives the position to replay to.
pub fn load(input: &str) -> Result<(Scenario, Option<u64>), LoadError> {
    let trimmed = input.trim();
    let fragment = trimmed.rsplit_once('#').map_or(trimmed, |(_, f)| f);
    let looks_like_link = !trimmed.contains('\n')
        && fragment.starts_with('z')
        && fragment
            .split_once('.')
            .is_some_and(|(v, _)| v.len() > 1 && v[1..].bytes().all(|b| b.is_ascii_digit()));
    if looks_like_link {
        let (sc, position) = link::decode(trimmed)?;
        Ok((sc, Some(position)))
    } else {
        Ok((parse(input)?, None))
    }
}

impl Cluster {
    /// How many servers it runs: participants, observers and spares.
    pub fn total(&self) -> u8 {
        self.servers.saturating_add(self.observers).saturating_add(self.spares)
    }
}

impl Scenario {
    /// Gives every `create` without data an empty data argument (`create /x ""`): what
    /// such a create meant before it made null data as zkCli does (links of format 1).
    pub fn creates_without_data_make_empty_data(&mut self) {
        use crate::zkcli::MultiOp;
        for step in &mut self.steps {
            let Action::Client { command, .. } = step else { continue };
            match command {
                ZkCommand::Create { data, .. } => {
                    data.get_or_insert_with(String::new);
                }
                ZkCommand::Multi(ops) => {
                    for op in ops {
                        if let MultiOp::Create { data, .. } = op {
                            data.get_or_insert_with(String::new);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// The cluster called `name`.
    pub fn cluster(&self, name: &str) -> Option<&Cluster> {
        self.clusters.iter().find(|c| c.name == name)
    }

    /// The client called `name`.
    pub fn client(&self, name: &str) -> Option<&ClientDecl> {
        self.clients.iter().find(|c| c.name == name)
    }

    /// How many user actions (steps) the scenario has.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether it has no steps.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

#[cfg(test)]
mod tests;
