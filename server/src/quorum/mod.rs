//! `zoolab server` with two or more `server.N` lines: one member of a replicated
//! ensemble. The core's ZAB server over the data tree ([`Server<ZkDatabase>`]) is driven
//! with tokio: wall-clock timers, the election port carrying Fast Leader Election's
//! notifications and the quorum port carrying the leader–learner packets (one TCP
//! connection per peer, port and direction; frames in [`wire`]), durability through the
//! core's persist records ([`store`], synced by group commit), and the client port
//! served by [`node::Node`] through the same connection code as the standalone server.
//!
//! A TCP connection to a peer that breaks takes the core's leader–learner connections
//! that used it with it: later packets on them are dropped (as a packet on a closed
//! socket would be), so the core never sees a gap in a connection's FIFO stream; it
//! notices the silence and elects again.

mod node;
mod store;
mod wire;

use crate::zk::config::Config;
use crate::zk::lock;
use anyhow::{bail, Context, Result};
use node::{Node, PeerTx};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tracing::{info, warn};
use wire::{buffered_frame, next_frame, read_frame, Frame, MAGIC};
use zoolab_core::config::{MemberRole, QuorumConfig, ServerSpec};
use zoolab_core::ids::ServerId;
use zoolab_core::zab::message::ConnId;
use zoolab_core::zab::server::Server;
use zoolab_core::zab::ServerConfig;

/// Frames kept for a peer that cannot be reached; older ones are dropped.
const MAX_BACKLOG: usize = 100_000;

/// Runs this ensemble member until it is killed.
pub fn run(config: Config, min_epoch: Option<u32>) -> Result<()> {
    let Some(my_id) = config.my_id else {
        bail!("{} server.N lines but no myid in dataDir: which server is this?", config.servers.len());
    };
    let Some(me) = config.servers.iter().find(|s| s.id == my_id).cloned() else {
        bail!("myid is {my_id} but there is no server.{my_id} line");
    };
    if config.servers.iter().all(|s| s.observer) {
        bail!("no participant among the server.N lines");
    }
    let store = match &config.data_dir {
        Some(dir) => Some(store::QStore::open(config.data_log_dir.as_deref().unwrap_or(dir))?),
        None => {
            warn!("no dataDir: this member keeps its log in memory only");
            None
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")?;
    rt.block_on(serve(Arc::new(config), me, store, min_epoch))
}

async fn bind(host: &str, port: u16, what: &str) -> Result<TcpListener> {
    TcpListener::bind((host, port)).await.with_context(|| format!("binding the {what} port {host}:{port}"))
}

async fn serve(
    config: Arc<Config>,
    me: crate::zk::config::ServerLine,
    store: Option<store::QStore>,
    min_epoch: Option<u32>,
) -> Result<()> {
    let my = ServerId(me.id);
    let client_ip = config.client_port_address.unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    let client = TcpListener::bind(SocketAddr::new(client_ip, config.client_port))
        .await
        .with_context(|| format!("binding the client port {}", config.client_port))?;
    let election = bind(&me.host, me.election_port, "election").await?;
    let quorum = bind(&me.host, me.quorum_port, "quorum").await?;
    let role = if me.observer { "observer" } else { "participant" };
    info!(
        "zoolab ensemble member {} ({role}) of {}: client port {}, quorum {}, election {}",
        me.id,
        config.servers.len(),
        client.local_addr()?,
        quorum.local_addr()?,
        election.local_addr()?
    );
    let tick = u64::from(config.tick_time);
    let write_timeout = Duration::from_millis((tick * u64::from(config.sync_limit)).max(1_000));
    let mut peers = BTreeMap::new();
    for s in config.servers.iter().filter(|s| s.id != me.id) {
        let (etx, erx) = mpsc::unbounded_channel();
        let (qtx, qrx) = mpsc::unbounded_channel();
        tokio::spawn(peer_sender(me.id, s.id, format!("{}:{}", s.host, s.election_port), erx, write_timeout));
        tokio::spawn(peer_sender(me.id, s.id, format!("{}:{}", s.host, s.quorum_port), qrx, write_timeout));
        peers.insert(ServerId(s.id), PeerTx { election: etx, quorum: qtx });
    }
    let zcfg = ServerConfig {
        tick_ms: tick,
        init_limit: u64::from(config.init_limit),
        sync_limit: u64::from(config.sync_limit),
        snap_count: staggered_snap_count(config.snap_count, me.id),
        commit_log_count: if config.commit_log_count > 0 {
            config.commit_log_count
        } else {
            ServerConfig::default().commit_log_count
        },
        // `Output::Committed`'s fingerprint is for the simulator's traces: nothing
        // here reads it, and it would hash every value once more.
        txn_fingerprints: false,
        // Clients are throttled at the socket (`zk::GLOBAL_OUTSTANDING_LIMIT` per member,
        // as ZooKeeper does); the core's own bound, which refuses, is only a backstop:
        // room for every member's clients plus a migration's imports.
        max_outstanding: 64 * crate::zk::GLOBAL_OUTSTANDING_LIMIT,
        ..ServerConfig::default()
    };
    // The static configuration, as ZooKeeper's `/zookeeper/config` spells it (version 0;
    // a client address only where the `server.N` line gives one).
    let qcfg = QuorumConfig::of(config.servers.iter().map(|s| ServerSpec {
        id: ServerId(s.id),
        host: s.host.clone(),
        quorum_port: s.quorum_port,
        election_port: s.election_port,
        role: if s.observer { MemberRole::Observer } else { MemberRole::Participant },
        client: s.client.clone(),
    }));
    let mut store = store;
    let (mut durable, incarnation) = match &mut store {
        Some(s) => (s.take_durable(), s.incarnation),
        None => (Default::default(), 1),
    };
    // `commitLogCount`: the log entries kept in memory for DIFF syncs; older ones (and
    // the snapshot) are read back from dataDir when needed, and a learner further
    // behind gets SNAP. Without a dataDir, or with 0, everything stays in memory.
    match (&store, config.commit_log_count) {
        (Some(s), n) if n > 0 => durable.log.bound(n, s.source()),
        _ => info!("the log since the last snapshot, and the snapshot, stay in memory"),
    }
    if let Some(e) = min_epoch.map(zoolab_core::ids::Epoch) {
        // Only acceptedEpoch: the election's votes (currentEpoch, zxid, id) are unchanged,
        // and a leader's new epoch is above every accepted one, so it skips past `e`.
        if durable.accepted_epoch < e {
            info!("acceptedEpoch raised from {} to {} (--min-epoch)", durable.accepted_epoch.0, e.0);
            durable.accepted_epoch = e;
        }
    }
    let mut out = Vec::new();
    let zab =
        Server::recover(my, zcfg, qcfg, durable, incarnation, crate::zk::state::wall_ms() as u64, &mut out);
    let node =
        Arc::new_cyclic(|weak| Mutex::new(Node::new(config.clone(), my, zab, store, peers, weak.clone())));
    lock(&node).boot(out);

    if let Some(addr) = config.admin {
        let l = TcpListener::bind(addr).await.with_context(|| format!("binding the admin port {addr}"))?;
        info!("HTTP status endpoint: http://{}/commands/mntr and /metrics", l.local_addr()?);
        let app = crate::zk::admin::router(node.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(l, app).await {
                warn!("the HTTP status endpoint stopped: {e}");
            }
        });
    }
    let members: BTreeSet<u64> = config.servers.iter().map(|s| s.id).collect();
    tokio::spawn(accept_peers(election, node.clone(), members.clone(), "election"));
    tokio::spawn(accept_peers(quorum, node.clone(), members, "quorum"));

    let wake = lock(&node).sync_wake.clone();
    crate::zk::spawn_group_commit(node.clone(), wake);
    let n = node.clone();
    let period = Duration::from_millis((tick / 4).clamp(10, 500));
    tokio::spawn(async move {
        let mut t = tokio::time::interval(period);
        loop {
            t.tick().await;
            lock(&n).periodic();
        }
    });
    crate::zk::accept_clients(client, node).await
}

/// The number of transactions between this member's snapshots. ZooKeeper takes one
/// after `snapCount/2 + rand(snapCount/2)`, so that the members of an ensemble do not
/// all write theirs at the same time; here the choice is per member and deterministic:
/// `snapCount/2` plus that times the fractional part of `myid` × the golden ratio
/// (members 1, 2, 3 at 0.81, 0.62 and 0.93 × `snapCount`).
fn staggered_snap_count(snap_count: u64, myid: u64) -> u64 {
    let half = snap_count / 2;
    let frac = (myid as f64 * 0.618_033_988_749_895).fract();
    (half + (half as f64 * frac) as u64).max(1)
}

/// Reads frames from peers that connect to one of our ports.
async fn accept_peers(
    listener: TcpListener,
    node: Arc<Mutex<Node>>,
    members: BTreeSet<u64>,
    what: &'static str,
) {
    loop {
        let (stream, addr) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                warn!("{what} port: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let node = node.clone();
        let members = members.clone();
        tokio::spawn(async move {
            let mut rd = tokio::io::BufReader::with_capacity(256 << 10, stream);
            let from = match tokio::time::timeout(Duration::from_secs(5), read_frame(&mut rd)).await {
                Ok(Ok(Some(Frame::Hello { magic: MAGIC, from }))) if members.contains(&from) => from,
                Ok(Ok(Some(Frame::Hello { magic: MAGIC, from }))) => {
                    return warn!(%addr, "{what} port: closing a connection from server {from}, not a member");
                }
                Ok(Err(why)) => return warn!(%addr, "{what} port: closing a connection: {why}"),
                Ok(Ok(_)) => return warn!(%addr, "{what} port: closing a connection that did not say hello"),
                Err(_) => return warn!(%addr, "{what} port: closing a connection silent for 5 s"),
            };
            // Every frame already read is handled under one lock (a leader's burst of
            // ACKs after a follower's sync is one step batch, not one lock each).
            let mut frames = Vec::new();
            loop {
                let why = match next_frame(&mut rd).await {
                    Ok(Some(f)) => {
                        frames.push(f);
                        loop {
                            match buffered_frame(&mut rd) {
                                Some(Ok(f)) if frames.len() < 1024 => frames.push(f),
                                Some(Ok(f)) => {
                                    lock(&node).on_frames(ServerId(from), std::mem::take(&mut frames));
                                    frames.push(f);
                                }
                                Some(Err(why)) => break Some(why),
                                None => break None,
                            }
                        }
                    }
                    Ok(None) => break,
                    Err(why) => Some(why),
                };
                if !frames.is_empty() {
                    lock(&node).on_frames(ServerId(from), std::mem::take(&mut frames));
                }
                if let Some(why) = why {
                    warn!(%addr, "{what} port: closing the connection from server {from}: {why}");
                    break;
                }
            }
        });
    }
}

fn take(
    rx: &mut mpsc::UnboundedReceiver<Frame>,
    backlog: &mut VecDeque<Frame>,
    broken: &mut BTreeSet<ConnId>,
) -> bool {
    loop {
        match rx.try_recv() {
            Ok(f) => {
                backlog.push_back(f);
                if backlog.len() > MAX_BACKLOG {
                    if let Some(c) = backlog.pop_front().and_then(|f| f.conn()) {
                        broken.insert(c);
                    }
                }
            }
            Err(mpsc::error::TryRecvError::Empty) => return true,
            Err(mpsc::error::TryRecvError::Disconnected) => return false,
        }
    }
}

/// Sends one peer's frames on one port, reconnecting as needed. The leader–learner
/// connections that used a broken TCP connection are broken for good.
async fn peer_sender(
    me: u64,
    to: u64,
    addr: String,
    mut rx: mpsc::UnboundedReceiver<Frame>,
    write_timeout: Duration,
) {
    let mut backlog = VecDeque::new();
    let mut broken: BTreeSet<ConnId> = BTreeSet::new();
    let mut warned = false;
    loop {
        let mut stream = loop {
            if !take(&mut rx, &mut backlog, &mut broken) {
                return;
            }
            match tokio::time::timeout(Duration::from_secs(1), TcpStream::connect(&addr)).await {
                Ok(Ok(s)) => break s,
                _ => {
                    if !warned {
                        info!("cannot reach server {to} at {addr} yet; retrying");
                        warned = true;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        warned = false;
        let _ = stream.set_nodelay(true);
        let hello = Frame::Hello { magic: MAGIC, from: me }.encode();
        if stream.write_all(&hello).await.is_err() {
            continue;
        }
        let mut used = BTreeSet::new();
        let mut buf = Vec::new();
        loop {
            if !take(&mut rx, &mut backlog, &mut broken) {
                return;
            }
            if backlog.is_empty() {
                match rx.recv().await {
                    Some(f) => backlog.push_back(f),
                    None => return,
                }
                continue;
            }
            buf.clear();
            while let Some(f) = backlog.pop_front() {
                if let Some(c) = f.conn() {
                    if broken.contains(&c) {
                        continue;
                    }
                    used.insert(c);
                }
                f.encode_into(&mut buf);
                if buf.len() > 1 << 20 {
                    break;
                }
            }
            match tokio::time::timeout(write_timeout, stream.write_all(&buf)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    warn!("connection to server {to} at {addr} lost: {e}");
                    break;
                }
                Err(_) => {
                    warn!("connection to server {to} at {addr}: a write blocked for {write_timeout:?}; dropping it");
                    break;
                }
            }
        }
        broken.extend(used);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::staggered_snap_count;

    #[test]
    fn members_snapshot_at_different_counts_between_half_and_all_of_snap_count() {
        let counts: Vec<u64> = (1..=5).map(|id| staggered_snap_count(100_000, id)).collect();
        assert_eq!(counts, [80_901, 61_803, 92_705, 73_606, 54_508]);
        assert!(counts.iter().all(|&c| (50_000..100_000).contains(&c)));
        assert_eq!(staggered_snap_count(1, 1), 1);
        assert_eq!(staggered_snap_count(100, 3), 92);
    }
}
