//! ZooKeeper's own configuration file (`zoo.cfg`): `key=value` lines, `#` comments, and
//! `myid` in the data directory. Unknown keys are warned about, not fatal (ZooKeeper turns
//! them into `zookeeper.<key>` system properties); a malformed value names its line.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// One `server.N=host:quorumPort:electionPort[:role][;clientAddr]` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerLine {
    /// N.
    pub id: u64,
    /// The host.
    pub host: String,
    /// The quorum port.
    pub quorum_port: u16,
    /// The election port.
    pub election_port: u16,
    /// `observer` or `participant`.
    pub observer: bool,
    /// The client address after `;`, as ZooKeeper prints it in `/zookeeper/config`
    /// (`0.0.0.0:PORT` for a bare port); `None` when the line has none (`clientPort`).
    pub client: Option<String>,
}

/// What a `zoo.cfg` says, with ZooKeeper's defaults.
#[derive(Clone, Debug)]
pub struct Config {
    /// `tickTime` (ms).
    pub tick_time: u32,
    /// `initLimit` (ticks).
    pub init_limit: u32,
    /// `syncLimit` (ticks).
    pub sync_limit: u32,
    /// `dataDir`.
    pub data_dir: Option<PathBuf>,
    /// `dataLogDir` (defaults to `dataDir`).
    pub data_log_dir: Option<PathBuf>,
    /// `clientPort`.
    pub client_port: u16,
    /// `clientPortAddress` (default: every address).
    pub client_port_address: Option<IpAddr>,
    /// `maxClientCnxns` per IP (0: no limit); ZooKeeper's default 60.
    pub max_client_cnxns: usize,
    /// `minSessionTimeout` (ms; default 2 ticks).
    pub min_session_timeout: u32,
    /// `maxSessionTimeout` (ms; default 20 ticks).
    pub max_session_timeout: u32,
    /// `4lw.commands.whitelist`: `None` is ZooKeeper's default (`srvr` only); `*` all.
    pub four_letter_words: Vec<String>,
    /// `jute.maxbuffer` (bytes).
    pub jute_max_buffer: usize,
    /// `autopurge.snapRetainCount`.
    pub autopurge_snap_retain_count: u32,
    /// `autopurge.purgeInterval` (hours; 0 disables).
    pub autopurge_purge_interval: u32,
    /// `server.N` lines.
    pub servers: Vec<ServerLine>,
    /// `myid` (from `dataDir/myid`, if any).
    pub my_id: Option<u64>,
    /// `extendedTypesEnabled` / `zookeeper.extendedTypesEnabled`: TTL nodes.
    pub extended_types: bool,
    /// `DigestAuthenticationProvider.superDigest` (with or without `zookeeper.`).
    pub super_digest: Option<String>,
    /// `znode.container.checkIntervalMs`: the container manager's period (default 60 s).
    pub container_check_interval_ms: u64,
    /// `znode.container.maxNeverUsedIntervalMs` (default 0: never).
    pub container_max_never_used_ms: i64,
    /// `snapCount`: transactions between snapshots (ZooKeeper's default 100000).
    pub snap_count: u64,
    /// `commitLogCount` / `zookeeper.commitLogCount`: how many committed log entries a
    /// member of an ensemble keeps in memory to sync learners with DIFF (ZooKeeper's
    /// default 500); older entries and the snapshot are read back from dataDir when
    /// needed. 0: keep every entry since the last snapshot, and the snapshot, in memory.
    pub commit_log_count: usize,
    /// `forceSync`: sync the log before answering (default yes).
    pub force_sync: bool,
    /// The HTTP status endpoint's address (`admin.enableServer`, `admin.serverAddress`,
    /// `admin.serverPort`): off unless enabled or a port is given.
    pub admin: Option<std::net::SocketAddr>,
    /// Warnings met while reading (unknown keys, ignored settings).
    pub warnings: Vec<String>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            tick_time: 2000,
            init_limit: 10,
            sync_limit: 5,
            data_dir: None,
            data_log_dir: None,
            client_port: 2181,
            client_port_address: None,
            max_client_cnxns: 60,
            min_session_timeout: 0,
            max_session_timeout: 0,
            four_letter_words: vec!["srvr".into()],
            jute_max_buffer: zoolab_core::jute::DEFAULT_MAX_BUFFER,
            autopurge_snap_retain_count: 3,
            autopurge_purge_interval: 0,
            servers: Vec::new(),
            my_id: None,
            extended_types: false,
            super_digest: None,
            container_check_interval_ms: 60_000,
            container_max_never_used_ms: 0,
            admin: None,
            snap_count: 100_000,
            commit_log_count: 500,
            force_sync: true,
            warnings: Vec::new(),
        }
    }
}

/// Every four-letter word this server answers.
pub const ALL_FOUR_LETTER_WORDS: &[&str] =
    &["ruok", "stat", "srvr", "mntr", "conf", "cons", "envi", "wchs", "dump", "isro", "hash"];

fn num<T: std::str::FromStr>(line: usize, key: &str, value: &str) -> Result<T> {
    value.parse().map_err(|_| anyhow::anyhow!("line {line}: {key}={value}: not a valid number"))
}

fn parse_bool(line: usize, key: &str, value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" => Ok(true),
        "false" | "no" => Ok(false),
        _ => bail!("line {line}: {key}={value}: expected true or false"),
    }
}

fn parse_server(line: usize, key: &str, value: &str) -> Result<ServerLine> {
    let id: u64 = num(line, key, &key["server.".len()..])?;
    let (addr, client) = match value.split_once(';') {
        Some((a, c)) => (a, Some(c.trim())),
        None => (value, None),
    };
    let client = match client {
        None | Some("") => None,
        Some(c) if c.contains(':') => Some(c.to_string()),
        Some(port) => Some(format!("0.0.0.0:{}", num::<u16>(line, key, port)?)),
    };
    let parts: Vec<&str> = addr.split(':').collect();
    if parts.len() < 3 {
        bail!("line {line}: {key}={value}: expected host:quorumPort:electionPort[:role]");
    }
    let observer = match parts.get(3) {
        None | Some(&"participant") => false,
        Some(&"observer") => true,
        Some(other) => bail!("line {line}: {key}: unknown role {other:?}"),
    };
    Ok(ServerLine {
        id,
        host: parts[0].to_string(),
        quorum_port: num(line, key, parts[1])?,
        election_port: num(line, key, parts[2])?,
        observer,
        client,
    })
}

impl Config {
    /// Parses the text of a `zoo.cfg` (without reading `myid`).
    pub fn parse(text: &str) -> Result<Config> {
        let mut c = Config::default();
        let mut min_set = false;
        let mut max_set = false;
        let mut seen = BTreeMap::new();
        let (mut admin_on, mut admin_ip, mut admin_port) = (false, IpAddr::from([0, 0, 0, 0]), None::<u16>);
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let Some((key, value)) = trimmed.split_once('=') else {
                bail!("line {line}: {trimmed:?}: expected key=value");
            };
            let (key, value) = (key.trim(), value.trim());
            if let Some(prev) = seen.insert(key.to_string(), line) {
                c.warnings.push(format!("line {line}: {key} repeats line {prev}; the last one wins"));
            }
            match key {
                "tickTime" => c.tick_time = num(line, key, value)?,
                "initLimit" => c.init_limit = num(line, key, value)?,
                "syncLimit" => c.sync_limit = num(line, key, value)?,
                "dataDir" => c.data_dir = Some(PathBuf::from(value)),
                "dataLogDir" => c.data_log_dir = Some(PathBuf::from(value)),
                "clientPort" => c.client_port = num(line, key, value)?,
                "clientPortAddress" => {
                    c.client_port_address = Some(
                        value
                            .parse()
                            .map_err(|_| anyhow::anyhow!("line {line}: {key}={value}: not an IP address"))?,
                    )
                }
                "maxClientCnxns" => c.max_client_cnxns = num(line, key, value)?,
                "minSessionTimeout" => {
                    c.min_session_timeout = num(line, key, value)?;
                    min_set = true;
                }
                "maxSessionTimeout" => {
                    c.max_session_timeout = num(line, key, value)?;
                    max_set = true;
                }
                "4lw.commands.whitelist" => {
                    c.four_letter_words =
                        value.split(',').map(|w| w.trim().to_string()).filter(|w| !w.is_empty()).collect();
                    for w in &c.four_letter_words {
                        if w != "*" && !ALL_FOUR_LETTER_WORDS.contains(&w.as_str()) {
                            c.warnings.push(format!("line {line}: four-letter word {w:?} is not supported"));
                        }
                    }
                }
                "jute.maxbuffer" | "zookeeper.jute.maxbuffer" => c.jute_max_buffer = num(line, key, value)?,
                "autopurge.snapRetainCount" => c.autopurge_snap_retain_count = num(line, key, value)?,
                "autopurge.purgeInterval" => c.autopurge_purge_interval = num(line, key, value)?,
                "extendedTypesEnabled" | "zookeeper.extendedTypesEnabled" => {
                    c.extended_types = parse_bool(line, key, value)?
                }
                "DigestAuthenticationProvider.superDigest"
                | "zookeeper.DigestAuthenticationProvider.superDigest" => {
                    c.super_digest = Some(value.to_string())
                }
                "znode.container.checkIntervalMs" => c.container_check_interval_ms = num(line, key, value)?,
                "znode.container.maxNeverUsedIntervalMs" => {
                    c.container_max_never_used_ms = num(line, key, value)?
                }
                "admin.enableServer" => admin_on = parse_bool(line, key, value)?,
                "admin.serverPort" => admin_port = Some(num(line, key, value)?),
                "admin.serverAddress" => {
                    admin_ip = value
                        .parse()
                        .map_err(|_| anyhow::anyhow!("line {line}: {key}={value}: not an IP address"))?
                }
                "snapCount" | "zookeeper.snapCount" => c.snap_count = num(line, key, value)?,
                "commitLogCount" | "zookeeper.commitLogCount" => c.commit_log_count = num(line, key, value)?,
                "forceSync" | "zookeeper.forceSync" => c.force_sync = parse_bool(line, key, value)?,
                k if k.starts_with("server.") => c.servers.push(parse_server(line, k, value)?),
                // Accepted and not (yet) acted on by this server.
                "dynamicConfigFile"
                | "standaloneEnabled"
                | "reconfigEnabled"
                | "preAllocSize"
                | "globalOutstandingLimit"
                | "clientPortListenBacklog"
                | "electionAlg"
                | "peerType"
                | "syncEnabled"
                | "quorumListenOnAllIPs"
                | "metricsProvider.className" => {
                    c.warnings.push(format!("line {line}: {key} is accepted but has no effect in zoolab"))
                }
                k => c.warnings.push(format!("line {line}: unknown key {k:?} ignored")),
            }
        }
        if admin_on || admin_port.is_some() {
            c.admin = Some(std::net::SocketAddr::new(admin_ip, admin_port.unwrap_or(8080)));
        }
        if c.tick_time == 0 {
            bail!("tickTime must be positive");
        }
        if !min_set {
            c.min_session_timeout = 2 * c.tick_time;
        }
        if !max_set {
            c.max_session_timeout = 20 * c.tick_time;
        }
        if c.min_session_timeout > c.max_session_timeout {
            bail!(
                "minSessionTimeout {} is larger than maxSessionTimeout {}",
                c.min_session_timeout,
                c.max_session_timeout
            );
        }
        let mut ids: Vec<u64> = c.servers.iter().map(|s| s.id).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            bail!("a server.N id appears twice");
        }
        Ok(c)
    }

    /// Reads a `zoo.cfg` and the `myid` beside its data.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut c = Config::parse(&text).with_context(|| format!("in {}", path.display()))?;
        if let Some(dir) = &c.data_dir {
            let myid = dir.join("myid");
            if let Ok(text) = std::fs::read_to_string(&myid) {
                c.my_id = Some(
                    text.trim()
                        .parse()
                        .map_err(|_| anyhow::anyhow!("{}: not a number: {text:?}", myid.display()))?,
                );
            }
        }
        Ok(c)
    }

    /// Standalone unless two or more servers are configured.
    pub fn standalone(&self) -> bool {
        self.servers.len() <= 1
    }

    /// Is this four-letter word allowed?
    pub fn allows(&self, word: &str) -> bool {
        self.four_letter_words.iter().any(|w| w == "*" || w == word)
    }

    /// ZooKeeper's negotiation: the client's request clamped to `[min, max]`.
    pub fn negotiate_timeout(&self, asked: i32) -> i32 {
        (asked.max(0) as u32).clamp(self.min_session_timeout, self.max_session_timeout) as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_zookeepers_sample_config() {
        let c = Config::parse(
            "# sample\ntickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir=/tmp/zk\nclientPort=2182\n\
             clientPortAddress=127.0.0.1\nmaxClientCnxns=7\n4lw.commands.whitelist=ruok, srvr\n\
             jute.maxbuffer=4096\nautopurge.purgeInterval=1\nserver.1=localhost:2888:3888\n",
        )
        .unwrap();
        assert_eq!((c.tick_time, c.client_port, c.max_client_cnxns), (2000, 2182, 7));
        assert_eq!((c.min_session_timeout, c.max_session_timeout), (4000, 40000));
        assert!(c.allows("ruok") && c.allows("srvr") && !c.allows("dump"));
        assert_eq!(c.jute_max_buffer, 4096);
        assert!(c.standalone());
        assert_eq!(c.negotiate_timeout(100), 4000);
        assert_eq!(c.negotiate_timeout(1_000_000), 40000);
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn commit_log_count_bounds_the_in_memory_log() {
        assert_eq!(Config::parse("tickTime=100\n").unwrap().commit_log_count, 500);
        assert_eq!(Config::parse("commitLogCount=0\n").unwrap().commit_log_count, 0);
        assert_eq!(Config::parse("zookeeper.commitLogCount=42\n").unwrap().commit_log_count, 42);
        let e = Config::parse("commitLogCount=-1\n").unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("commitLogCount"), "{e}");
    }

    #[test]
    fn unknown_keys_warn_and_bad_values_name_their_line() {
        let c = Config::parse("tickTime=100\nfrobnicate=yes\n").unwrap();
        assert!(c.warnings[0].contains("line 2") && c.warnings[0].contains("frobnicate"));
        let e = Config::parse("tickTime=100\nclientPort=http\n").unwrap_err();
        assert!(format!("{e:#}").contains("line 2"), "{e:#}");
        let e = Config::parse("tickTime=100\njust words\n").unwrap_err();
        assert!(format!("{e:#}").contains("line 2"), "{e:#}");
        let e = Config::parse("server.1=a:1:2\nserver.1=b:1:2\n").unwrap_err();
        assert!(format!("{e:#}").contains("twice"));
    }

    #[test]
    fn ensembles_are_read() {
        let c = Config::parse("server.1=a:2888:3888\nserver.2=b:2888:3888:observer;0.0.0.0:2181\n").unwrap();
        assert!(!c.standalone());
        assert!(c.servers[1].observer);
        assert_eq!(c.servers[1].election_port, 3888);
        // Only a line that names a client address puts one in /zookeeper/config.
        assert_eq!(c.servers[0].client, None);
        assert_eq!(c.servers[1].client.as_deref(), Some("0.0.0.0:2181"));
        let c = Config::parse(
            "server.1=a:2888:3888;2181
server.2=b:2888:3888
",
        )
        .unwrap();
        assert_eq!(c.servers[0].client.as_deref(), Some("0.0.0.0:2181"));
        assert!(Config::parse(
            "server.1=a:2888:3888;http
"
        )
        .is_err());
    }

    #[test]
    fn ttl_nodes_are_off_unless_extended_types_are_enabled_as_in_zookeeper() {
        assert!(
            !Config::parse(
                "tickTime=2000
"
            )
            .unwrap()
            .extended_types
        );
        for line in ["extendedTypesEnabled=true", "zookeeper.extendedTypesEnabled=true"] {
            assert!(Config::parse(line).unwrap().extended_types, "{line}");
        }
        assert!(!Config::parse("extendedTypesEnabled=false").unwrap().extended_types);
        assert!(Config::parse("extendedTypesEnabled=maybe").is_err());
    }
}
