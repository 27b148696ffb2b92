//! Three `zoolab server` processes as an ensemble on loopback, spoken to over TCP with the
//! core's jute codec: an election, writes through followers, sync, ephemerals, a kill -9
//! of the leader, its restart and catch-up. (Real clients and more faults:
//! `make test-ensemble`.) Waits have generous bounds; nothing is timed.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zoolab_core::jute::proto::{
    ConnectRequest, ConnectResponse, OpCode, ReplyHeader, RequestHeader, WireAcl,
};
use zoolab_core::jute::{frame, Reader, Writer};

const LIMIT: usize = 1 << 20;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Ensemble {
    dir: PathBuf,
    client: Vec<u16>,
    quorum: Vec<u16>,
    procs: Vec<Option<Child>>,
}

impl Ensemble {
    fn start() -> Ensemble {
        let dir = std::env::temp_dir().join(format!("zoolab-ensemble-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let client: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let quorum: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let lines: String =
            (1..=3).map(|i| format!("server.{i}=127.0.0.1:{}:{}\n", quorum[i - 1], free_port())).collect();
        for i in 1..=3 {
            let data = dir.join(format!("data{i}"));
            std::fs::create_dir_all(&data).unwrap();
            std::fs::write(data.join("myid"), format!("{i}\n")).unwrap();
            std::fs::write(
                dir.join(format!("zoo{i}.cfg")),
                format!(
                    "tickTime=100\ninitLimit=20\nsyncLimit=10\ndataDir={}\nclientPort={}\n\
                     clientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\n{lines}",
                    data.display(),
                    client[i - 1]
                ),
            )
            .unwrap();
        }
        let mut e = Ensemble { dir, client, quorum, procs: vec![None, None, None] };
        for i in 1..=3 {
            e.launch(i);
        }
        e
    }

    fn launch(&mut self, i: usize) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("zoolab{i}.log")))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_zoolab"))
            .args(["server", "--config"])
            .arg(self.dir.join(format!("zoo{i}.cfg")))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start zoolab server");
        self.procs[i - 1] = Some(child);
    }

    fn kill9(&mut self, i: usize) {
        if let Some(mut c) = self.procs[i - 1].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn four(&self, i: usize, word: &str) -> String {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.client[i - 1])) else { return String::new() };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let _ = s.write_all(word.as_bytes());
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }

    fn mode(&self, i: usize) -> Option<String> {
        self.four(i, "srvr").lines().find_map(|l| l.strip_prefix("Mode: ").map(str::to_string))
    }

    fn mntr(&self, i: usize, key: &str) -> Option<String> {
        self.four(i, "mntr").lines().find_map(|l| l.strip_prefix(&format!("{key}\t")).map(str::to_string))
    }

    /// Waits for one leader and the other running servers following; returns the leader.
    fn settled(&self, running: &[usize]) -> usize {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let modes: Vec<Option<String>> = running.iter().map(|&i| self.mode(i)).collect();
            let leaders: Vec<usize> = running
                .iter()
                .zip(&modes)
                .filter(|(_, m)| m.as_deref() == Some("leader"))
                .map(|(&i, _)| i)
                .collect();
            let following = modes.iter().filter(|m| m.as_deref() == Some("follower")).count();
            if leaders.len() == 1 && following == running.len() - 1 {
                return leaders[0];
            }
            assert!(Instant::now() < deadline, "no settled ensemble: {modes:?}\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn logs(&self) -> String {
        (1..=3)
            .map(|i| std::fs::read_to_string(self.dir.join(format!("zoolab{i}.log"))).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n-----\n")
    }
}

impl Drop for Ensemble {
    fn drop(&mut self) {
        for i in 1..=3 {
            self.kill9(i);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn read_frame(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).ok()?;
    let mut body = vec![0; i32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).ok()?;
    Some(body)
}

struct Client {
    sock: TcpStream,
    session: i64,
    password: Vec<u8>,
    xid: i32,
    /// Watch notifications met while waiting for replies: (type, path).
    events: Vec<(i32, String)>,
}

impl Client {
    fn connect(port: u16) -> Client {
        Client::resume(port, 0, vec![0; 16])
    }

    /// Connects with an existing session (0: a new one).
    fn resume(port: u16, session: i64, password: Vec<u8>) -> Client {
        let mut sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            timeout_ms: 2000,
            session_id: session,
            password,
            read_only: false,
        };
        sock.write_all(&frame(&req.encode())).unwrap();
        let body = read_frame(&mut sock).expect("a connect response");
        let resp = ConnectResponse::decode(&body, LIMIT).unwrap();
        assert_ne!(resp.session_id, 0);
        if session != 0 {
            assert_eq!(resp.session_id, session, "the session did not resume");
        }
        Client { sock, session: resp.session_id, password: resp.password, xid: 0, events: Vec::new() }
    }

    fn call(&mut self, op: OpCode, body: impl FnOnce(&mut Writer)) -> (i32, Vec<u8>) {
        self.xid += 1;
        let mut w = Writer::new();
        RequestHeader { xid: self.xid, op: op.code() }.write(&mut w);
        body(&mut w);
        self.sock.write_all(&frame(&w.into_bytes())).unwrap();
        loop {
            let body = read_frame(&mut self.sock).expect("a reply");
            let mut r = Reader::new(&body, LIMIT);
            let h = ReplyHeader::read(&mut r).unwrap();
            if h.xid == -1 {
                let (kind, _state) = (r.i32("type").unwrap(), r.i32("state").unwrap());
                self.events.push((kind, r.string("path").unwrap()));
            } else if h.xid == self.xid {
                return (h.err, body[16..].to_vec());
            }
        }
    }

    fn create(&mut self, path: &str, flags: i32) -> (i32, String) {
        let (err, body) = self.call(OpCode::Create, |w| create_body(w, path, flags));
        let path = if err == 0 { Reader::new(&body, LIMIT).string("path").unwrap() } else { String::new() };
        (err, path)
    }

    /// Sends a create and reads until the server answers or closes the connection:
    /// `None` when it closed it without a reply.
    fn create_or_closed(&mut self, path: &str) -> Option<i32> {
        self.xid += 1;
        let mut w = Writer::new();
        RequestHeader { xid: self.xid, op: OpCode::Create.code() }.write(&mut w);
        create_body(&mut w, path, 0);
        self.sock.write_all(&frame(&w.into_bytes())).ok()?;
        loop {
            let body = read_frame(&mut self.sock)?;
            let h = ReplyHeader::read(&mut Reader::new(&body, LIMIT)).unwrap();
            if h.xid == self.xid {
                return Some(h.err);
            }
        }
    }

    /// Sends `n` creates of `prefix/nNNNNN` at once, from another thread, without
    /// waiting for replies (as an async client does), and returns each reply's error
    /// code in xid order; panics if the connection closes first.
    fn pipeline_creates(&mut self, prefix: &str, n: i32) -> Vec<i32> {
        let first = self.xid + 1;
        let mut packets = Vec::new();
        for i in 0..n {
            let mut w = Writer::new();
            RequestHeader { xid: first + i, op: OpCode::Create.code() }.write(&mut w);
            create_body(&mut w, &format!("{prefix}/n{i:05}"), 0);
            packets.extend_from_slice(&frame(&w.into_bytes()));
        }
        self.xid += n;
        let mut out = self.sock.try_clone().unwrap();
        let sender = std::thread::spawn(move || out.write_all(&packets).unwrap());
        let mut errs = Vec::new();
        while errs.len() < n as usize {
            let body =
                read_frame(&mut self.sock).expect("the server closed a pipelining client's connection");
            let h = ReplyHeader::read(&mut Reader::new(&body, LIMIT)).unwrap();
            if h.xid != -1 {
                assert_eq!(h.xid, first + errs.len() as i32, "replies out of order");
                errs.push(h.err);
            }
        }
        sender.join().unwrap();
        errs
    }

    fn exists(&mut self, path: &str) -> bool {
        self.call(OpCode::Sync, |w| {
            w.string(path);
        });
        self.call(OpCode::Exists, |w| {
            w.string(path).bool(false);
        })
        .0 == 0
    }

    fn close(mut self) {
        assert_eq!(self.call(OpCode::CloseSession, |_| {}).0, 0);
    }
}

fn create_body(w: &mut Writer, path: &str, flags: i32) {
    w.string(path).buffer(b"d");
    WireAcl::write_list(&[WireAcl { perms: 31, scheme: "world".into(), id: "anyone".into() }], w);
    w.i32(flags);
}

#[test]
fn three_processes_elect_replicate_and_survive_a_kill_9_of_the_leader() {
    let mut e = Ensemble::start();
    let leader = e.settled(&[1, 2, 3]);
    let followers: Vec<usize> = (1..=3).filter(|&i| i != leader).collect();
    let (f1, f2) = (followers[0], followers[1]);

    // Garbage on the leader's quorum port closes that connection only, with a reason.
    let mut junk = TcpStream::connect(("127.0.0.1", e.quorum[leader - 1])).unwrap();
    junk.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    junk.write_all(&[0, 0, 0, 4, 1, 2, 3, 4, 9, 9, 9, 9]).unwrap();
    let mut rest = Vec::new();
    let _ = junk.read_to_end(&mut rest); // returns once the server closes it
    assert!(e.logs().contains("closing a connection: bad CRC"), "{}", e.logs());

    // Writes through followers; one sequence counter; reads elsewhere after sync.
    let mut a = Client::connect(e.client[f1 - 1]);
    let mut b = Client::connect(e.client[f2 - 1]);
    assert_eq!(a.create("/data", 0), (0, "/data".into()));
    assert_eq!(a.create("/data/s-", 2).1, "/data/s-0000000000");
    assert_eq!(b.create("/data/s-", 2).1, "/data/s-0000000001");
    assert_eq!(a.create("/eph", 1).0, 0);
    assert!(b.exists("/eph"));
    assert_ne!(a.session, b.session);
    // a's session moves to the other follower and sets its watches there (setWatches
    // relative to zxid 0): /data changed since, so its event comes at once; /nope is
    // missing, so the exists watch waits, and fires when b creates it.
    let mut moved = Client::resume(e.client[f2 - 1], a.session, a.password.clone());
    moved.call(OpCode::SetWatches, |w| {
        w.i64(0);
        for list in [&["/data"][..], &["/nope"][..], &[][..]] {
            w.i32(list.len() as i32);
            for p in list {
                w.string(p);
            }
        }
    });
    assert_eq!(moved.events, [(3, "/data".to_string())], "NodeDataChanged for a change since zxid 0");
    assert_eq!(b.create("/nope", 0).0, 0);
    moved.exists("/");
    assert_eq!(
        moved.events[1..],
        [(1, "/nope".to_string())],
        "NodeCreated on the member the session moved to"
    );
    // The session moved: its old connection on f1 is stale. A write through it reaches
    // the leader from f1, which no longer owns the session: refused (SESSIONMOVED),
    // never applied, and f1 closes that connection without a reply. The new owner
    // writes as before.
    assert_eq!(a.create_or_closed("/stale"), None, "the old member answered a moved session's write");
    assert!(e.logs().contains("SESSIONMOVED"), "{}", e.logs());
    assert!(!b.exists("/stale"), "a moved session's late write was applied");
    assert_eq!(moved.create("/moved", 0).0, 0);
    drop(a);
    moved.close();
    assert!(!b.exists("/eph"), "an ephemeral outlived its closed session");
    b.close();

    // A client that pipelines more requests than the server holds at once
    // (`globalOutstandingLimit`, 1,000) is slowed down, not refused: every create
    // succeeds, in order, through a follower.
    let mut burst = Client::connect(e.client[f1 - 1]);
    assert_eq!(burst.create("/burst", 0).0, 0);
    let errs = burst.pipeline_creates("/burst", 3000);
    assert!(errs.iter().all(|&e| e == 0), "refused: {:?}", errs.iter().filter(|&&e| e != 0).count());
    assert!(burst.exists("/burst/n02999"));
    burst.close();

    // kill -9 the leader: the others elect, keep the data and take writes.
    e.kill9(leader);
    let new_leader = e.settled(&followers);
    assert_ne!(new_leader, leader);
    let mut c = Client::connect(e.client[f1 - 1]);
    assert!(c.exists("/data/s-0000000001"));
    assert_eq!(c.create("/after", 0).0, 0);
    c.close();

    // The old leader restarts from its disk and catches up.
    e.launch(leader);
    e.settled(&[1, 2, 3]);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let z: Vec<Option<String>> = (1..=3).map(|i| e.mntr(i, "zk_last_zxid")).collect();
        let d: Vec<Option<String>> = (1..=3).map(|i| e.mntr(i, "zk_digest")).collect();
        if z.iter().all(|x| x.is_some() && *x == z[0]) && d.iter().all(|x| x.is_some() && *x == d[0]) {
            break;
        }
        assert!(Instant::now() < deadline, "the servers disagree: {z:?} {d:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut r = Client::connect(e.client[leader - 1]);
    assert!(r.exists("/after"), "the restarted server lacks a write made while it was down");
    r.close();
}
