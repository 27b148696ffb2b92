//! Four-letter words on the client port, shaped like ZooKeeper 3.8's answers
//! (`org.apache.zookeeper.server.command.*`). Only whitelisted words are answered.

use super::config::ALL_FOUR_LETTER_WORDS;
use super::state::State;
use std::fmt::Write;

/// The version string ZooKeeper's clients and scripts parse (`Zookeeper version: ...`).
pub const VERSION: &str = concat!("3.8.0-zoolab-", env!("CARGO_PKG_VERSION"), ", built on zoolab");

fn hex(z: i64) -> String {
    format!("0x{z:x}")
}

fn connections(st: &State, out: &mut String) {
    for c in st.conns.values() {
        let sid = c.session.map(|s| s.0).unwrap_or(0);
        let timeout = c.session.and_then(|s| st.sessions.get(&s)).map(|s| s.timeout_ms).unwrap_or(0);
        let _ = writeln!(
            out,
            " /{}[1](queued=0,recved={},sent={},sid=0x{sid:x},lop=NA,est={},to={timeout},lzxid={},lresp=0,llat=0,minlat=0,avglat=0,maxlat=0)",
            c.peer,
            c.received,
            c.sent,
            c.since.elapsed().as_millis(),
            hex(c.last_zxid)
        );
    }
}

fn srvr(st: &State, with_clients: bool) -> String {
    let mut out = format!("Zookeeper version: {VERSION}\n");
    if with_clients {
        out.push_str("Clients:\n");
        connections(st, &mut out);
        out.push('\n');
    }
    let (min, avg, max) = st.counters.latency();
    let _ = write!(
        out,
        "Latency min/avg/max: {min:.3}/{avg:.3}/{max:.3}\nReceived: {}\nSent: {}\nConnections: {}\nOutstanding: 0\n\
         Zxid: {}\nMode: standalone\nNode count: {}\n",
        st.counters.received,
        st.counters.sent,
        st.conns.len(),
        hex(st.zxid()),
        st.zk.tree().node_count()
    );
    out
}

fn mntr(st: &State) -> String {
    let tree = st.zk.tree();
    let lat = st.counters.latency();
    let ephemerals: usize = tree.sessions().keys().map(|&s| tree.ephemerals_of(s).count()).sum();
    let rows: Vec<(&str, String)> = vec![
        ("zk_version", VERSION.to_string()),
        ("zk_server_state", "standalone".into()),
        ("zk_avg_latency", format!("{:.4}", lat.1)),
        ("zk_max_latency", format!("{:.3}", lat.2)),
        ("zk_min_latency", format!("{:.3}", lat.0)),
        ("zk_packets_received", st.counters.received.to_string()),
        ("zk_packets_sent", st.counters.sent.to_string()),
        ("zk_num_alive_connections", st.conns.len().to_string()),
        ("zk_outstanding_requests", "0".into()),
        ("zk_znode_count", tree.node_count().to_string()),
        ("zk_watch_count", st.zk.watches().len().to_string()),
        ("zk_ephemerals_count", ephemerals.to_string()),
        ("zk_approximate_data_size", tree.approximate_data_size().to_string()),
        ("zk_global_sessions", st.sessions.len().to_string()),
        ("zk_uptime", st.started.elapsed().as_millis().to_string()),
        ("zk_last_zxid", hex(st.zxid())),
    ];
    rows.iter().map(|(k, v)| format!("{k}\t{v}\n")).collect()
}

fn conf(st: &State) -> String {
    conf_of(&st.config)
}

/// `conf`'s answer for these settings (an ensemble member adds its `server.N` lines).
pub(crate) fn conf_of(c: &super::config::Config) -> String {
    let dir = |p: Option<&std::path::PathBuf>| p.map(|p| p.display().to_string()).unwrap_or_default();
    let addr = c.client_port_address.map(|a| a.to_string()).unwrap_or_else(|| "0.0.0.0".into());
    format!(
        "clientPort={}\nsecureClientPort=-1\ndataDir={}\ndataDirSize=0\ndataLogDir={}\ndataLogSize=0\n\
         tickTime={}\nmaxClientCnxns={}\nminSessionTimeout={}\nmaxSessionTimeout={}\n\
         clientPortListenBacklog=-1\nserverId={}\nclientPortAddress={addr}\njute.maxbuffer={}\n",
        c.client_port,
        dir(c.data_dir.as_ref()),
        dir(c.data_log_dir.as_ref().or(c.data_dir.as_ref())),
        c.tick_time,
        c.max_client_cnxns,
        c.min_session_timeout,
        c.max_session_timeout,
        c.my_id.unwrap_or(0),
        c.jute_max_buffer,
    )
}

pub(crate) fn envi() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
    let cwd = std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_default();
    format!(
        "Environment:\nzookeeper.version={VERSION}\nhost.name={host}\njava.version=none (zoolab is Rust)\n\
         os.name={}\nos.arch={}\nuser.dir={cwd}\n",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

fn dump(st: &State) -> String {
    let tree = st.zk.tree();
    let mut out = format!("SessionTracker dump:\nGlobal Sessions({}):\n", st.sessions.len());
    for (sid, s) in &st.sessions {
        let _ = writeln!(out, "0x{:x}\t{}ms", sid.0, s.timeout_ms);
    }
    let with: Vec<_> = tree.sessions().keys().filter(|&&s| tree.ephemerals_of(s).next().is_some()).collect();
    let _ = writeln!(out, "ephemeral nodes dump:\nSessions with Ephemerals ({}):", with.len());
    for &s in &with {
        let _ = writeln!(out, "0x{:x}:", s.0);
        for p in tree.ephemerals_of(*s) {
            let _ = writeln!(out, "\t{p}");
        }
    }
    out.push_str("Connections dump:\nConnections Sets (1)/(");
    let _ = writeln!(out, "{}):", st.conns.len());
    for c in st.conns.values() {
        if let Some(s) = c.session {
            let _ = writeln!(out, "0x{:x}", s.0);
        }
    }
    out
}

fn wchs(st: &State) -> String {
    let watching =
        st.conns.values().filter(|c| c.session.is_some_and(|s| st.zk.watches().has_watches(s))).count();
    format!("{watching} connections watching some paths\nTotal watches:{}\n", st.zk.watches().len())
}

/// The answer to a four-letter word (empty for an unknown word: the connection closes).
pub fn answer(st: &State, word: &str) -> String {
    if !ALL_FOUR_LETTER_WORDS.contains(&word) {
        return String::new();
    }
    if !st.config.allows(word) {
        return format!("{word} is not executed because it is not in the whitelist.\n");
    }
    answer_any(st, word).unwrap_or_default()
}

/// Any word's answer, whitelist or not (`None` for an unknown word): the HTTP endpoint's.
pub fn answer_any(st: &State, word: &str) -> Option<String> {
    Some(match word {
        "ruok" => "imok".into(),
        "srvr" => srvr(st, false),
        "stat" => srvr(st, true),
        "mntr" => mntr(st),
        "conf" => conf(st),
        "cons" => {
            let mut out = String::new();
            connections(st, &mut out);
            out.push('\n');
            out
        }
        "envi" => envi(),
        "wchs" => wchs(st),
        "dump" => dump(st),
        "isro" => "rw".into(),
        "hash" => st.digests.render(),
        _ => return None,
    })
}
