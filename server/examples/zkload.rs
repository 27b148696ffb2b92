//! A ZooKeeper load generator over the core's jute codec (any ZooKeeper server: zoolab or
//! Apache ZooKeeper), for BENCHMARKS.md:
//!
//! ```text
//! cargo run --release -p zoolab-server --example zkload -- HOST:PORT[,HOST:PORT...] \
//!     [--sessions 32] [--secs 10] [--value 1024] [--reads 0.0] [--window 4] [--keys 1000]
//!     [--create-value 0]
//! ```
//!
//! Sessions are spread round robin over the servers; each keeps `--window` requests in
//! flight on its own connection: getData (with probability `--reads`) or setData of a
//! `--value`-byte value, on keys `/zkload/k<N>` created first. Prints one JSON line:
//! operations per second, p50 and p99 latency (ms), errors, and the generator's own CPU
//! time (user + system seconds), to show whether it was the bottleneck.

use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zoolab_core::jute::proto::{
    ConnectRequest, ConnectResponse, OpCode, ReplyHeader, RequestHeader, WireAcl,
};
use zoolab_core::jute::{frame, Reader, Writer};

const LIMIT: usize = 16 << 20;

struct Opts {
    hosts: Vec<String>,
    sessions: usize,
    secs: f64,
    value: usize,
    reads: f64,
    window: usize,
    keys: usize,
    create_value: usize,
}

fn parse() -> Opts {
    let mut args = std::env::args().skip(1);
    let hosts = args.next().expect("HOST:PORT[,HOST:PORT...]").split(',').map(str::to_string).collect();
    let mut o = Opts {
        hosts,
        sessions: 32,
        secs: 10.0,
        value: 1024,
        reads: 0.0,
        window: 4,
        keys: 1000,
        create_value: 0,
    };
    while let Some(flag) = args.next() {
        let v = args.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--sessions" => o.sessions = v.parse().expect("a number"),
            "--secs" => o.secs = v.parse().expect("a number"),
            "--value" => o.value = v.parse().expect("a number"),
            "--reads" => o.reads = v.parse().expect("a fraction"),
            "--window" => o.window = v.parse().expect("a number"),
            "--keys" => o.keys = v.parse().expect("a number"),
            "--create-value" => o.create_value = v.parse().expect("a number"),
            other => panic!("unknown option {other}"),
        }
    }
    o
}

async fn read_frame(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let len = s.read_i32().await?;
    let mut body = vec![0; len.max(0) as usize];
    s.read_exact(&mut body).await?;
    Ok(body)
}

async fn connect(host: &str) -> std::io::Result<TcpStream> {
    let mut s = TcpStream::connect(host).await?;
    s.set_nodelay(true)?;
    let req = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        timeout_ms: 30_000,
        session_id: 0,
        password: vec![0; 16],
        read_only: false,
    };
    s.write_all(&frame(&req.encode())).await?;
    let body = read_frame(&mut s).await?;
    let resp = ConnectResponse::decode(&body, LIMIT).map_err(|e| std::io::Error::other(format!("{e:?}")))?;
    if resp.session_id == 0 {
        return Err(std::io::Error::other("no session"));
    }
    Ok(s)
}

fn request(xid: i32, op: OpCode, body: impl FnOnce(&mut Writer)) -> Vec<u8> {
    let mut w = Writer::new();
    RequestHeader { xid, op: op.code() }.write(&mut w);
    body(&mut w);
    frame(&w.into_bytes())
}

/// A tiny xorshift: the generator needs no statistical quality, only speed.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

async fn session(i: usize, o: std::sync::Arc<Opts>, stop: Instant) -> (Vec<u32>, u64) {
    let host = &o.hosts[i % o.hosts.len()];
    let mut s = connect(host).await.unwrap_or_else(|e| panic!("session {i} to {host}: {e}"));
    let value = vec![b'v'; o.value];
    let mut rng = 0x9e37_79b9_7f4a_7c15u64 ^ (i as u64 + 1);
    let mut sent: HashMap<i32, Instant> = HashMap::new();
    let mut xid = 0;
    let mut lat = Vec::new();
    let mut errors = 0;
    let mut issue = |s_buf: &mut Vec<u8>, sent: &mut HashMap<i32, Instant>, rng: &mut u64| {
        xid += 1;
        let key = format!("/zkload/k{}", next(rng) % o.keys as u64);
        let read = (next(rng) % 10_000) as f64 / 10_000.0 < o.reads;
        let bytes = if read {
            request(xid, OpCode::GetData, |w| {
                w.string(&key).bool(false);
            })
        } else {
            request(xid, OpCode::SetData, |w| {
                w.string(&key).buffer(&value).i32(-1);
            })
        };
        s_buf.extend_from_slice(&bytes);
        sent.insert(xid, Instant::now());
    };
    let mut buf = Vec::new();
    for _ in 0..o.window {
        issue(&mut buf, &mut sent, &mut rng);
    }
    s.write_all(&buf).await.expect("send");
    while !sent.is_empty() {
        let body = match tokio::time::timeout(Duration::from_secs(30), read_frame(&mut s)).await {
            Ok(Ok(b)) => b,
            _ => {
                errors += sent.len() as u64;
                break;
            }
        };
        let h = ReplyHeader::read(&mut Reader::new(&body, LIMIT)).expect("a reply header");
        let Some(at) = sent.remove(&h.xid) else { continue };
        let now = Instant::now();
        if h.err != 0 {
            errors += 1;
        } else if now <= stop {
            lat.push(now.duration_since(at).as_micros().min(u128::from(u32::MAX)) as u32);
        }
        if now < stop {
            let mut buf = Vec::new();
            issue(&mut buf, &mut sent, &mut rng);
            s.write_all(&buf).await.expect("send");
        }
    }
    (lat, errors)
}

fn cpu_seconds() -> f64 {
    // utime + stime of this process, in clock ticks (100 per second on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let t = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0
}

fn main() {
    let o = std::sync::Arc::new(parse());
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio");
    rt.block_on(async {
        // The keys, created once (errors such as NODEEXISTS are fine).
        let mut s = connect(&o.hosts[0]).await.expect("first connection");
        let acl = [WireAcl { perms: 31, scheme: "world".into(), id: "anyone".into() }];
        let mut paths = vec!["/zkload".to_string()];
        paths.extend((0..o.keys).map(|k| format!("/zkload/k{k}")));
        let initial = vec![b'c'; o.create_value];
        for chunk in paths.chunks(200) {
            let mut buf = Vec::new();
            for (j, p) in chunk.iter().enumerate() {
                buf.extend(request(j as i32 + 1, OpCode::Create, |w| {
                    w.string(p).buffer(if p == "/zkload" { &[] } else { &initial[..] });
                    WireAcl::write_list(&acl, w);
                    w.i32(0);
                }));
            }
            s.write_all(&buf).await.expect("create keys");
            for _ in chunk {
                read_frame(&mut s).await.expect("create reply");
            }
        }
        // Every server has the keys before the clock starts (sync through each).
        for h in &o.hosts {
            let mut c = connect(h).await.expect("connect");
            c.write_all(&request(1, OpCode::Sync, |w| {
                w.string("/zkload");
            }))
            .await
            .expect("sync");
            read_frame(&mut c).await.expect("sync reply");
        }
        let cpu0 = cpu_seconds();
        let t0 = Instant::now();
        let stop = t0 + Duration::from_secs_f64(o.secs);
        let tasks: Vec<_> = (0..o.sessions).map(|i| tokio::spawn(session(i, o.clone(), stop))).collect();
        let mut lat = Vec::new();
        let mut errors = 0;
        for t in tasks {
            let (l, e) = t.await.expect("a session task");
            lat.extend(l);
            errors += e;
        }
        let cpu = cpu_seconds() - cpu0;
        lat.sort_unstable();
        let pct = |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied();
        let ms = |v: Option<u32>| v.map_or(0.0, |us| f64::from(us) / 1000.0);
        println!(
            "{{\"ops_per_s\": {:.0}, \"p50_ms\": {:.3}, \"p99_ms\": {:.3}, \"ops\": {}, \"errors\": {errors}, \
             \"sessions\": {}, \"reads\": {}, \"value\": {}, \"secs\": {}, \"loadgen_cpu_s\": {cpu:.2}}}",
            lat.len() as f64 / o.secs,
            ms(pct(0.50)),
            ms(pct(0.99)),
            lat.len(),
            o.sessions,
            o.reads,
            o.value,
            o.secs
        );
    });
}
