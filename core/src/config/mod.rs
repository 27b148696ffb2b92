//! Cluster configuration as ZooKeeper 3.5+ writes it: the dynamic configuration that
//! lives in `/zookeeper/config` and in `zoo.cfg.dynamic.<version>` files.
//!
//! ```text
//! server.1=10.0.0.1:2888:3888:participant;0.0.0.0:2181
//! server.2=10.0.0.2:2888:3888;2181
//! server.4=10.0.0.4:2888:3888:observer;2181
//! version=100000003
//! ```
//!
//! Each `server.N` line names the server's quorum port, its election port, its role
//! (participant when absent) and, after `;`, its client address. The version is the zxid
//! of the reconfiguration that made this configuration, in hex.
//!
//! [`planner`] turns a current membership into a desired one as a sequence of single
//! reconfiguration steps, each proven safe.

pub mod planner;

use crate::ids::ServerId;
use crate::text::Quoted;
use crate::vecmap::VecMap;
use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// Whether a server votes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MemberRole {
    /// Votes in elections and in every quorum.
    Participant,
    /// Receives the committed stream but never votes.
    Observer,
}

impl fmt::Display for MemberRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MemberRole::Participant => "participant",
            MemberRole::Observer => "observer",
        })
    }
}

/// One `server.N=...` line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerSpec {
    /// N.
    pub id: ServerId,
    /// The host of the quorum and election ports.
    pub host: String,
    /// The port followers connect to the leader on.
    pub quorum_port: u16,
    /// The port Fast Leader Election uses.
    pub election_port: u16,
    /// Participant or observer.
    pub role: MemberRole,
    /// The client address (`[host:]port` after the `;`), if given.
    pub client: Option<String>,
}

impl ServerSpec {
    /// A spec with ZooKeeper's customary ports on `host`, for plans and tests.
    pub fn local(id: u64, role: MemberRole) -> ServerSpec {
        ServerSpec {
            id: ServerId(id),
            host: format!("server{id}"),
            quorum_port: 2888,
            election_port: 3888,
            role,
            client: Some("2181".into()),
        }
    }

    /// The same server with another role.
    pub fn with_role(&self, role: MemberRole) -> ServerSpec {
        ServerSpec { role, ..self.clone() }
    }
}

impl fmt::Display for ServerSpec {
    /// The `server.N=...` line, as ZooKeeper prints it in `/zookeeper/config`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "server.{}={}:{}:{}:{}",
            self.id, self.host, self.quorum_port, self.election_port, self.role
        )?;
        if let Some(client) = &self.client {
            write!(f, ";{client}")?;
        }
        Ok(())
    }
}

/// A cluster's membership and its version.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuorumConfig {
    /// The servers, by id.
    pub servers: VecMap<ServerId, ServerSpec>,
    /// The configuration's version (the zxid of the reconfig that made it); 0 if none.
    pub version: u64,
}

/// Why a configuration text could not be read.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("line {line}: {message}")]
pub struct ConfigError {
    /// The 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// The most servers a configuration may hold (bounds the planner's proofs).
pub const MAX_SERVERS: usize = 255;

fn port(text: &str, what: &str) -> Result<u16, String> {
    text.parse::<u16>()
        .ok()
        .filter(|&p| p > 0)
        .ok_or_else(|| format!("{what} {} is not a port (1–65535)", Quoted(text)))
}

/// `config -c`: the configuration's version and its client connect string (ZooKeeper's
/// `ConfigUtils.getClientConfigStr`); a text that does not parse comes back as it is.
pub fn compact_config(text: &str) -> String {
    let Ok(c) = QuorumConfig::parse(text) else { return text.to_string() };
    let clients: Vec<String> = c
        .servers
        .values()
        .filter_map(|s| {
            let client = s.client.as_ref()?;
            Some(if client.contains(':') { client.clone() } else { format!("{}:{client}", s.host) })
        })
        .collect();
    format!("{:x} {}", c.version, clients.join(","))
}

/// Parses one `server.N=...` line's key and value.
pub fn parse_server(key: &str, value: &str) -> Result<ServerSpec, String> {
    let id = key
        .strip_prefix("server.")
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| format!("{} is not server.N with a number N", Quoted(key)))?;
    let (addr, client) = match value.split_once(';') {
        Some((a, c)) => (a.trim(), Some(c.trim().to_string()).filter(|c| !c.is_empty())),
        None => (value.trim(), None),
    };
    let parts: Vec<&str> = addr.split(':').collect();
    let (host, qp, ep, role) = match parts.as_slice() {
        [h, q, e] => (*h, *q, *e, MemberRole::Participant),
        [h, q, e, r] => {
            let role = match *r {
                "participant" => MemberRole::Participant,
                "observer" => MemberRole::Observer,
                other => return Err(format!("role {} is neither participant nor observer", Quoted(other))),
            };
            (*h, *q, *e, role)
        }
        _ => {
            return Err(format!(
                "{} is not host:quorumPort:electionPort[:role][;[clientHost:]clientPort]",
                Quoted(value)
            ))
        }
    };
    if host.is_empty() {
        return Err("the host is empty".into());
    }
    if let Some(c) = &client {
        let p = c.rsplit_once(':').map_or(c.as_str(), |(_, p)| p);
        port(p, "client port")?;
    }
    Ok(ServerSpec {
        id: ServerId(id),
        host: host.to_string(),
        quorum_port: port(qp, "quorum port")?,
        election_port: port(ep, "election port")?,
        role,
        client,
    })
}

impl QuorumConfig {
    /// A configuration of the given servers, version 0.
    pub fn of(servers: impl IntoIterator<Item = ServerSpec>) -> QuorumConfig {
        QuorumConfig { servers: servers.into_iter().map(|s| (s.id, s)).collect(), version: 0 }
    }

    /// Parses ZooKeeper's dynamic configuration text (blank lines and `#` comments allowed).
    pub fn parse(text: &str) -> Result<QuorumConfig, ConfigError> {
        let mut config = QuorumConfig::default();
        for (i, raw) in text.lines().enumerate() {
            let err = |message: String| ConfigError { line: i + 1, message };
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) =
                line.split_once('=').ok_or_else(|| err(format!("{} is not key=value", Quoted(line))))?;
            let key = key.trim();
            if key == "version" {
                config.version = u64::from_str_radix(value.trim(), 16)
                    .map_err(|_| err(format!("version {} is not hex", Quoted(value))))?;
            } else if key.starts_with("server.") {
                let spec = parse_server(key, value).map_err(err)?;
                if config.servers.contains_key(&spec.id) {
                    return Err(err(format!("server.{} is listed twice", spec.id)));
                }
                if config.servers.len() >= MAX_SERVERS {
                    return Err(err(format!("more than {MAX_SERVERS} servers")));
                }
                config.servers.insert(spec.id, spec);
            } else {
                return Err(err(format!("unknown key {} in a dynamic configuration", Quoted(key))));
            }
        }
        Ok(config)
    }

    /// The voting servers.
    pub fn participants(&self) -> Vec<ServerId> {
        self.servers.values().filter(|s| s.role == MemberRole::Participant).map(|s| s.id).collect()
    }

    /// The observers.
    pub fn observers(&self) -> Vec<ServerId> {
        self.servers.values().filter(|s| s.role == MemberRole::Observer).map(|s| s.id).collect()
    }

    /// How many participants make a quorum (a strict majority).
    pub fn quorum_size(&self) -> usize {
        self.participants().len() / 2 + 1
    }
}

impl fmt::Display for QuorumConfig {
    /// The text ZooKeeper keeps in `/zookeeper/config`: the server lines, then the version.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in self.servers.values() {
            writeln!(f, "{s}")?;
        }
        write!(f, "version={:x}", self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "server.1=10.0.0.1:2888:3888:participant;0.0.0.0:2181\n\
                          server.2=10.0.0.2:2888:3888;2181\n\
                          server.4=10.0.0.4:2888:3888:observer;2181\n\
                          version=100000003";

    #[test]
    fn zookeepers_dynamic_config_text_round_trips() {
        let c = QuorumConfig::parse(SAMPLE).unwrap();
        assert_eq!(c.participants(), vec![ServerId(1), ServerId(2)]);
        assert_eq!(c.observers(), vec![ServerId(4)]);
        assert_eq!(c.version, 0x1_0000_0003);
        assert_eq!(c.servers[&ServerId(2)].role, MemberRole::Participant, "no role means participant");
        let printed = c.to_string();
        assert!(printed.contains("server.2=10.0.0.2:2888:3888:participant;2181"), "{printed}");
        assert!(printed.ends_with("version=100000003"));
        assert_eq!(QuorumConfig::parse(&printed).unwrap(), c);
    }

    #[test]
    fn bad_lines_are_named() {
        for (text, line, needle) in [
            ("server.1=h:2888:3888\nserver.x=h:1:2", 2, "server.N"),
            ("server.1=h:2888", 1, "host:quorumPort"),
            ("server.1=h:2888:3888:voter", 1, "neither participant"),
            ("server.1=h:0:3888", 1, "quorum port"),
            ("server.1=h:1:2;99999", 1, "client port"),
            ("server.1=h:1:2\nserver.1=h:1:2", 2, "twice"),
            ("version=xyz", 1, "hex"),
            ("tickTime=2000", 1, "unknown key"),
            ("garbage", 1, "key=value"),
        ] {
            let e = QuorumConfig::parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text}: {e}");
            assert!(e.message.contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn a_quorum_is_a_strict_majority_of_participants() {
        let c = QuorumConfig::parse(SAMPLE).unwrap();
        assert_eq!(c.quorum_size(), 2, "2 participants need both");
        let five = QuorumConfig::of((1..=5).map(|i| ServerSpec::local(i, MemberRole::Participant)));
        assert_eq!(five.quorum_size(), 3);
    }
}
