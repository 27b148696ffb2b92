//! `zoolab server` as a real client sees it: the binary started on a free loopback port,
//! spoken to over TCP with the core's own jute codec.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zoolab_core::jute::proto::{
    ConnectRequest, ConnectResponse, OpCode, ReplyHeader, RequestHeader, WatcherEvent, WireAcl, WireStat,
};
use zoolab_core::jute::{frame, Reader, Writer};

const LIMIT: usize = 1 << 20;

struct Server {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Server {
    fn start(extra: &str) -> Server {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("zoolab-srv-test-{}-{port}", std::process::id()));
        Server::start_in(dir, port, extra)
    }

    fn start_in(dir: PathBuf, port: u16, extra: &str) -> Server {
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = dir.join("zoo.cfg");
        std::fs::write(
            &cfg,
            format!(
                "tickTime=100\nclientPort={port}\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\n{extra}"
            ),
        )
        .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_zoolab"))
            .args(["server", "--config"])
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("zoolab.log")).unwrap())
            .spawn()
            .expect("start zoolab server");
        let s = Server { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if s.four("ruok").is_ok_and(|a| a == "imok") {
                return s;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("zoolab server did not answer ruok");
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("zoolab.log")).unwrap_or_default()
    }

    fn four(&self, word: &str) -> std::io::Result<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))?;
        s.write_all(word.as_bytes())?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        Ok(out)
    }

    fn connect(&self) -> Client {
        Client::connect(self.port, 0, vec![0; 16], 0, 4000).expect("handshake")
    }
}

impl Server {
    /// kill -9, keeping the data directory.
    fn crash(mut self) -> PathBuf {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = std::mem::take(&mut self.dir);
        std::mem::forget(self);
        dir
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What the server sent after a header.
enum Packet {
    Reply(ReplyHeader, Vec<u8>),
    Event(WatcherEvent),
}

struct Client {
    sock: TcpStream,
    session: ConnectResponse,
    xid: i32,
    /// Notifications met while waiting for a reply, in order.
    events: Vec<WatcherEvent>,
}

impl Client {
    fn connect(
        port: u16,
        session_id: i64,
        password: Vec<u8>,
        last_zxid: i64,
        timeout: i32,
    ) -> Option<Client> {
        let mut sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: last_zxid,
            timeout_ms: timeout,
            session_id,
            password,
            read_only: false,
        };
        sock.write_all(&frame(&req.encode())).unwrap();
        let body = read_frame(&mut sock)?;
        let session = ConnectResponse::decode(&body, LIMIT).unwrap();
        Some(Client { sock, session, xid: 0, events: Vec::new() })
    }

    fn send(&mut self, op: OpCode, body: impl FnOnce(&mut Writer)) -> i32 {
        self.xid += 1;
        let mut w = Writer::new();
        RequestHeader { xid: self.xid, op: op.code() }.write(&mut w);
        body(&mut w);
        self.sock.write_all(&frame(&w.into_bytes())).unwrap();
        self.xid
    }

    fn next(&mut self) -> Option<Packet> {
        let body = read_frame(&mut self.sock)?;
        let mut r = Reader::new(&body, LIMIT);
        let h = ReplyHeader::read(&mut r).unwrap();
        if h.xid == -1 {
            return Some(Packet::Event(WatcherEvent::read(&mut r).unwrap()));
        }
        Some(Packet::Reply(h, body[16..].to_vec()))
    }

    /// Sends a request and waits for its reply (collecting notifications before it).
    fn call(&mut self, op: OpCode, body: impl FnOnce(&mut Writer)) -> (i32, Vec<u8>) {
        let xid = self.send(op, body);
        loop {
            match self.next().expect("a reply") {
                Packet::Event(e) => self.events.push(e),
                Packet::Reply(h, b) if h.xid == xid => return (h.err, b),
                Packet::Reply(..) => {}
            }
        }
    }

    fn create(&mut self, path: &str, data: &[u8], flags: i32) -> (i32, String) {
        let (err, body) = self.call(OpCode::Create, |w| {
            w.string(path).buffer(data);
            WireAcl::write_list(&[WireAcl { perms: 31, scheme: "world".into(), id: "anyone".into() }], w);
            w.i32(flags);
        });
        let path = if err == 0 { Reader::new(&body, LIMIT).string("path").unwrap() } else { String::new() };
        (err, path)
    }

    fn get(&mut self, path: &str, watch: bool) -> (i32, Vec<u8>, WireStat) {
        let (err, body) = self.call(OpCode::GetData, |w| {
            w.string(path).bool(watch);
        });
        if err != 0 {
            return (err, vec![], WireStat::default());
        }
        let mut r = Reader::new(&body, LIMIT);
        let data = r.buffer("data").unwrap();
        (0, data, WireStat::read(&mut r).unwrap())
    }

    fn set(&mut self, path: &str, data: &[u8]) -> i32 {
        self.call(OpCode::SetData, |w| {
            w.string(path).buffer(data).i32(-1);
        })
        .0
    }

    fn exists(&mut self, path: &str) -> i32 {
        self.call(OpCode::Exists, |w| {
            w.string(path).bool(false);
        })
        .0
    }

    fn close(&mut self) {
        let (err, _) = self.call(OpCode::CloseSession, |_| {});
        assert_eq!(err, 0);
    }
}

fn read_frame(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).ok()?;
    let mut body = vec![0; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).ok()?;
    Some(body)
}

/// The server closed the connection (EOF or reset) within a few seconds.
fn is_closed(s: &mut TcpStream) -> bool {
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 64];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return false
            }
            Err(_) => return true,
        }
    }
}

const NONODE: i32 = -101;
const NODEEXISTS: i32 = -110;

#[test]
fn handshake_then_create_get_set_delete() {
    let srv = Server::start("");
    let mut c = srv.connect();
    assert_ne!(c.session.session_id, 0);
    assert_eq!(c.session.password.len(), 16);
    assert_eq!(c.session.timeout_ms, 2000, "clamped to 20 ticks");
    assert_eq!(c.create("/a", b"one", 0), (0, "/a".to_string()));
    assert_eq!(c.create("/a", b"two", 0).0, NODEEXISTS);
    let (err, data, stat) = c.get("/a", false);
    assert_eq!((err, data.as_slice(), stat.version), (0, &b"one"[..], 0));
    assert_eq!(c.set("/a", b"uno"), 0);
    assert_eq!(c.get("/a", false).2.version, 1);
    let (seq, path) = c.create("/a/s-", b"", 2);
    assert_eq!((seq, path.as_str()), (0, "/a/s-0000000000"));
    let (err, _) = c.call(OpCode::Delete, |w| {
        w.string("/a").i32(-1);
    });
    assert_eq!(err, -111, "NOTEMPTY");
    let (err, _) = c.call(OpCode::Delete, |w| {
        w.string("/a/s-0000000000").i32(-1);
    });
    assert_eq!(err, 0);
    let (err, _) = c.call(OpCode::Delete, |w| {
        w.string("/a").i32(5);
    });
    assert_eq!(err, -103, "BADVERSION");
    // Pings are answered with xid -2.
    let mut w = Writer::new();
    RequestHeader { xid: -2, op: OpCode::Ping.code() }.write(&mut w);
    c.sock.write_all(&frame(&w.into_bytes())).unwrap();
    match c.next() {
        Some(Packet::Reply(h, _)) => assert_eq!((h.xid, h.err), (-2, 0)),
        _ => panic!("no ping reply"),
    }
    c.close();
    assert!(is_closed(&mut c.sock));
}

#[test]
fn a_watch_fires_before_the_next_reply_and_ephemerals_go_with_their_session() {
    let srv = Server::start("");
    let mut a = srv.connect();
    let mut b = srv.connect();
    assert_eq!(a.create("/w", b"", 0).0, 0);
    assert_eq!(a.get("/w", true).0, 0);
    assert_eq!(b.set("/w", b"changed"), 0);
    // a's next reply comes after the notification.
    assert_eq!(a.exists("/w"), 0);
    assert_eq!(a.events.len(), 1);
    assert_eq!((a.events[0].kind, a.events[0].path.as_str()), (3, "/w"));
    // An ephemeral of b goes when b closes; a's exists watch hears NodeCreated then NodeDeleted.
    let (err, _) = a.call(OpCode::Exists, |w| {
        w.string("/e").bool(true);
    });
    assert_eq!(err, NONODE);
    assert_eq!(b.create("/e", b"", 1).0, 0);
    a.call(OpCode::Exists, |w| {
        w.string("/e").bool(true);
    });
    b.close();
    assert_eq!(a.exists("/e"), NONODE);
    let kinds: Vec<i32> = a.events.iter().skip(1).map(|e| e.kind).collect();
    assert_eq!(kinds, vec![1, 2], "NodeCreated, then NodeDeleted");
}

/// zkCli's `create /x` sends a -1 buffer: ZooKeeper keeps null, answers getData (and a
/// multiRead's getData) with a -1 buffer and a dataLength of 0; an empty buffer stays
/// empty. Null survives a restart from the log and from a snapshot.
#[test]
fn null_data_is_kept_and_answered_as_a_minus_one_buffer() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = std::env::temp_dir().join(format!("zoolab-srv-null-{}-{port}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let extra = format!("dataDir={}\nsnapCount=4\n", dir.join("data").display());
    let srv = Server::start_in(dir.clone(), port, &extra);
    let mut c = srv.connect();
    let create = |c: &mut Client, path: &str, data: Option<&[u8]>| {
        c.call(OpCode::Create, |w| {
            w.string(path);
            match data {
                Some(d) => w.buffer(d),
                None => w.null(),
            };
            WireAcl::write_list(&[WireAcl { perms: 31, scheme: "world".into(), id: "anyone".into() }], w);
            w.i32(0);
        })
        .0
    };
    // The raw getData body: the data's length field, then the rest.
    let length_of = |c: &mut Client, path: &str| {
        let (err, body) = c.call(OpCode::GetData, |w| {
            w.string(path).bool(false);
        });
        assert_eq!(err, 0);
        let mut r = Reader::new(&body, LIMIT);
        let data = r.buffer_opt("data").unwrap();
        (data.as_ref().map(Vec::len), WireStat::read(&mut r).unwrap().data_length)
    };
    assert_eq!(create(&mut c, "/null", None), 0);
    assert_eq!(create(&mut c, "/empty", Some(b"")), 0);
    assert_eq!(length_of(&mut c, "/null"), (None, 0));
    assert_eq!(length_of(&mut c, "/empty"), (Some(0), 0));
    // setData with null (the Java API allows it) makes null again.
    assert_eq!(c.set("/empty", b"x"), 0);
    let (err, _) = c.call(OpCode::SetData, |w| {
        w.string("/empty").null().i32(-1);
    });
    assert_eq!(err, 0);
    assert_eq!(length_of(&mut c, "/empty"), (None, 0));
    // multiRead: a getData op's result carries the -1 buffer too.
    let (err, body) = c.call(OpCode::MultiRead, |w| {
        w.i32(OpCode::GetData.code()).bool(false).i32(-1).string("/null");
        w.i32(-1).bool(true).i32(-1);
    });
    assert_eq!(err, 0);
    let mut r = Reader::new(&body, LIMIT);
    let head = (r.i32("type").unwrap(), r.bool("done").unwrap(), r.i32("err").unwrap());
    assert_eq!(head, (OpCode::GetData.code(), false, 0));
    assert_eq!(r.buffer_opt("data").unwrap(), None);
    // Through a restart (snapCount 4: a snapshot, then the log after it).
    assert_eq!(create(&mut c, "/later", None), 0);
    let dir = srv.crash();
    let srv = Server::start_in(dir, port, &extra);
    let mut c = srv.connect();
    for p in ["/null", "/empty", "/later"] {
        assert_eq!(length_of(&mut c, p), (None, 0), "{p}");
    }
    c.close();
}

#[test]
fn multi_commits_all_or_nothing() {
    let srv = Server::start("");
    let mut c = srv.connect();
    let create = |w: &mut Writer, path: &str| {
        w.i32(OpCode::Create.code()).bool(false).i32(-1);
        w.string(path).buffer(b"");
        WireAcl::write_list(&[WireAcl { perms: 31, scheme: "world".into(), id: "anyone".into() }], w);
        w.i32(0);
    };
    let (err, body) = c.call(OpCode::Multi, |w| {
        create(w, "/m1");
        create(w, "/m2");
        w.i32(-1).bool(true).i32(-1);
    });
    assert_eq!(err, 0);
    let mut r = Reader::new(&body, LIMIT);
    assert_eq!(r.i32("type").unwrap(), 1);
    // A failing multi: nothing applied, each op's error in the results.
    let (err, body) = c.call(OpCode::Multi, |w| {
        create(w, "/m3");
        create(w, "/m1");
        w.i32(-1).bool(true).i32(-1);
    });
    assert_eq!(err, 0);
    let mut r = Reader::new(&body, LIMIT);
    let first = (r.i32("t").unwrap(), r.bool("d").unwrap(), r.i32("e").unwrap(), r.i32("body").unwrap());
    assert_eq!(first, (-1, false, 0, 0), "rolled back");
    let second = (r.i32("t").unwrap(), r.bool("d").unwrap(), r.i32("e").unwrap());
    assert_eq!(second, (-1, false, NODEEXISTS));
    assert_eq!(c.exists("/m3"), NONODE);
}

#[test]
fn a_malformed_packet_closes_only_its_connection() {
    let srv = Server::start("");
    let mut good = srv.connect();
    let mut bad = srv.connect();
    // A getData whose path length runs past the packet.
    let mut w = Writer::new();
    RequestHeader { xid: 1, op: OpCode::GetData.code() }.write(&mut w);
    w.i32(1000).i32(0);
    bad.sock.write_all(&frame(&w.into_bytes())).unwrap();
    assert!(is_closed(&mut bad.sock));
    // Garbage before any handshake.
    let mut raw = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    raw.write_all(&[0, 0, 0, 3, 1, 2, 3]).unwrap();
    assert!(is_closed(&mut raw));
    // An unknown opcode.
    let (err, _) = good.call(OpCode::Exists, |w| {
        w.string("/").bool(false);
    });
    assert_eq!(err, 0);
    let mut w = Writer::new();
    RequestHeader { xid: 9, op: 4242 }.write(&mut w);
    let mut other = srv.connect();
    other.sock.write_all(&frame(&w.into_bytes())).unwrap();
    assert!(is_closed(&mut other.sock));
    assert_eq!(good.create("/still", b"fine", 0).0, 0);
    assert_eq!(srv.four("ruok").unwrap(), "imok");
}

#[test]
fn an_oversized_packet_closes_its_connection() {
    let srv = Server::start("jute.maxbuffer=1024\n");
    let mut good = srv.connect();
    let mut big = srv.connect();
    // The announced length alone is over the limit.
    big.sock.write_all(&(1_000_000u32).to_be_bytes()).unwrap();
    assert!(is_closed(&mut big.sock));
    // A write just under the frame limit whose data is over it: refused, closed, no zxid.
    let mut big = srv.connect();
    big.send(OpCode::Create, |w| {
        w.string("/big").buffer(&[b'x'; 1000]);
        WireAcl::write_list(&[WireAcl { perms: 31, scheme: "world".into(), id: "anyone".into() }], w);
        w.i32(0);
    });
    assert!(is_closed(&mut big.sock) || big.exists("/big") == NONODE);
    assert_eq!(good.create("/small", b"ok", 0).0, 0);
}

#[test]
fn sessions_reconnect_expire_and_refuse_a_client_from_the_future() {
    let srv = Server::start("");
    let mut a = Client::connect(srv.port, 0, vec![0; 16], 0, 400).unwrap();
    assert_eq!(a.session.timeout_ms, 400);
    assert_eq!(a.create("/eph", b"", 1).0, 0);
    // Same id and password on a new connection: the same session; the old connection closes.
    let mut a2 = Client::connect(srv.port, a.session.session_id, a.session.password.clone(), 0, 400).unwrap();
    assert_eq!(a2.session.session_id, a.session.session_id);
    assert!(is_closed(&mut a.sock));
    // A wrong password: told the session is gone (timeout 0, id 0).
    let bad = Client::connect(srv.port, a.session.session_id, vec![7; 16], 0, 400).unwrap();
    assert_eq!((bad.session.timeout_ms, bad.session.session_id), (0, 0));
    // A client that has seen a later zxid than the server is refused without an answer.
    assert!(Client::connect(srv.port, 0, vec![0; 16], 1 << 40, 400).is_none());
    // Silence for longer than the timeout: the session expires, its ephemeral goes.
    let mut b = srv.connect();
    assert_eq!(b.exists("/eph"), 0);
    std::thread::sleep(Duration::from_millis(900));
    assert_eq!(b.exists("/eph"), NONODE);
    assert!(is_closed(&mut a2.sock));
    let again = Client::connect(srv.port, a.session.session_id, a.session.password.clone(), 0, 400).unwrap();
    assert_eq!(again.session.timeout_ms, 0, "an expired session cannot come back");
}

#[test]
fn four_letter_words_and_their_whitelist() {
    let srv = Server::start("");
    let mut c = srv.connect();
    c.create("/x", b"", 0);
    assert_eq!(srv.four("ruok").unwrap(), "imok");
    let srvr = srv.four("srvr").unwrap();
    assert!(srvr.starts_with("Zookeeper version: 3.8.0"), "{srvr}");
    assert!(srvr.contains("Mode: standalone") && srvr.contains("Zxid: 0x2"), "{srvr}");
    assert!(srv.four("stat").unwrap().contains("Clients:"));
    let mntr = srv.four("mntr").unwrap();
    assert!(mntr.contains("zk_server_state\tstandalone") && mntr.contains("zk_znode_count\t"), "{mntr}");
    assert!(srv.four("conf").unwrap().contains(&format!("clientPort={}", srv.port)));
    assert!(srv.four("cons").unwrap().contains("sid=0x"));
    assert!(srv.four("envi").unwrap().starts_with("Environment:"));
    assert!(srv.four("wchs").unwrap().contains("Total watches:0"));
    assert!(srv.four("dump").unwrap().contains("SessionTracker dump:"));
    assert_eq!(srv.four("isro").unwrap(), "rw");
    srv.four("hash").unwrap();
    drop(srv);
    let only_srvr = Server::start("4lw.commands.whitelist=srvr, ruok\n");
    assert_eq!(only_srvr.four("dump").unwrap(), "dump is not executed because it is not in the whitelist.\n");
}

#[test]
fn max_client_cnxns_limits_connections_per_ip() {
    let srv = Server::start("maxClientCnxns=2\n");
    let _a = srv.connect();
    let mut b = srv.connect();
    let mut third = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    third
        .write_all(&frame(
            &ConnectRequest {
                protocol_version: 0,
                last_zxid_seen: 0,
                timeout_ms: 4000,
                session_id: 0,
                password: vec![0; 16],
                read_only: false,
            }
            .encode(),
        ))
        .unwrap();
    assert!(is_closed(&mut third));
    b.close();
    let _ = b.sock.shutdown(Shutdown::Both);
    std::thread::sleep(Duration::from_millis(100));
    let mut c = srv.connect();
    assert_eq!(c.exists("/"), 0);
}

#[test]
fn the_tree_and_sessions_survive_kill_9_and_a_torn_log_tail() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = std::env::temp_dir().join(format!("zoolab-srv-durable-{}-{port}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = dir.join("data");
    let extra = format!("dataDir={}\nsnapCount=5\n", data.display());
    let srv = Server::start_in(dir.clone(), port, &extra);
    let mut c = srv.connect();
    for i in 0..8 {
        assert_eq!(c.create(&format!("/n{i}"), b"v", 0).0, 0);
    }
    assert_eq!(c.set("/n3", b"changed"), 0);
    assert_eq!(c.create("/eph", b"", 1).0, 0);
    let (sid, pw) = (c.session.session_id, c.session.password.clone());
    let srvr = srv.four("srvr").unwrap();
    let dir = srv.crash();
    // A torn append at the end of the newest log.
    let logs = data.join("zoolab-1");
    let mut newest: Vec<_> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("log."))
        .collect();
    newest.sort();
    let mut f = std::fs::OpenOptions::new().append(true).open(newest.last().unwrap()).unwrap();
    f.write_all(&[0, 0, 1, 0, 9, 9, 9]).unwrap();
    drop(f);
    let srv = Server::start_in(dir, port, &extra);
    let zxid_line = |s: &str| s.lines().find(|l| l.starts_with("Zxid:")).unwrap().to_string();
    assert_eq!(zxid_line(&srv.four("srvr").unwrap()), zxid_line(&srvr));
    // The session resumes with its password; its ephemeral is still there.
    let mut again = Client::connect(port, sid, pw, 0, 4000).unwrap();
    assert_eq!(again.session.session_id, sid);
    assert_eq!(again.exists("/eph"), 0);
    let (err, data, stat) = again.get("/n3", false);
    assert_eq!((err, data.as_slice(), stat.version), (0, &b"changed"[..], 1));
    assert_eq!(again.create("/after", b"", 0).0, 0);
    again.close();
    let mut other = srv.connect();
    assert_eq!(other.exists("/eph"), NONODE, "closed with its session");
    assert_eq!(other.exists("/n7"), 0);
}

#[test]
fn sasl_is_refused_cleanly_and_unknown_auth_schemes_fail() {
    let srv = Server::start("");
    let mut c = srv.connect();
    let (err, _) = c.call(OpCode::Sasl, |w| {
        w.buffer(b"token");
    });
    assert_eq!(err, -115, "AUTHFAILED");
    assert!(is_closed(&mut c.sock));
    let mut d = srv.connect();
    let mut w = Writer::new();
    RequestHeader { xid: -4, op: OpCode::Auth.code() }.write(&mut w);
    w.i32(0).string("nosuchscheme").buffer(b"x");
    d.sock.write_all(&frame(&w.into_bytes())).unwrap();
    match d.next() {
        Some(Packet::Reply(h, _)) => assert_eq!((h.xid, h.err), (-4, -115)),
        _ => panic!("no auth reply"),
    }
    assert!(is_closed(&mut d.sock));
    let mut e = srv.connect();
    assert_eq!(e.exists("/"), 0);
}

#[test]
fn random_packets_never_take_the_server_down() {
    let srv = Server::start("");
    let mut keeper = srv.connect();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let ops = [
        1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 100, 101, 102, 103, 104,
        105, 106, 107, -10, -11, 999,
    ];
    for _ in 0..60 {
        let mut c = srv.connect();
        for _ in 0..5 {
            let mut w = Writer::new();
            RequestHeader { xid: 1, op: ops[(rnd() % ops.len() as u64) as usize] }.write(&mut w);
            let mut body = w.into_bytes();
            let n = (rnd() % 48) as usize;
            body.extend((0..n).map(|_| rnd() as u8));
            if c.sock.write_all(&frame(&body)).is_err() {
                break;
            }
        }
        let _ = c.sock.shutdown(Shutdown::Write);
        is_closed(&mut c.sock);
    }
    assert_eq!(keeper.create("/alive", b"", 0).0, 0);
    assert_eq!(srv.four("ruok").unwrap(), "imok");
    let log = srv.log();
    assert!(!log.contains("panicked"), "{log}");
    assert!(log.contains("closing connection: malformed request"), "each bad packet is logged:\n{log}");
}

#[test]
fn a_client_that_never_reads_is_dropped_before_it_exhausts_memory() {
    let srv = Server::start("");
    let mut writer = srv.connect();
    assert_eq!(writer.create("/big", &vec![b'x'; 900_000], 0).0, 0);
    let mut slow = srv.connect();
    for _ in 0..120 {
        slow.send(OpCode::GetData, |w| {
            w.string("/big").bool(false);
        });
    }
    // The slow client reads nothing until the server has given up on it: reading earlier
    // would drain the queue the server measures (on a loaded machine the server may not
    // have queued enough yet), and the test would race the server instead of testing it.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !srv.log().contains("client too slow") && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = srv.log();
    assert!(log.contains("client too slow"), "{log}");
    assert!(is_closed(&mut slow.sock));
    assert_eq!(writer.exists("/big"), 0);
}

#[test]
fn a_read_only_client_is_served_read_write_and_old_clients_without_the_flag_too() {
    let srv = Server::start("");
    for (read_only, with_flag) in [(true, true), (false, false)] {
        let mut sock = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            timeout_ms: 4000,
            session_id: 0,
            password: vec![0; 16],
            read_only,
        };
        let mut bytes = req.encode();
        if !with_flag {
            bytes.pop();
        }
        sock.write_all(&frame(&bytes)).unwrap();
        let resp = ConnectResponse::decode(&read_frame(&mut sock).unwrap(), LIMIT).unwrap();
        assert!(resp.session_id != 0 && !resp.read_only);
    }
    let srvr = srv.four("srvr").unwrap();
    assert!(srvr.contains("Latency min/avg/max: "), "{srvr}");
}

#[test]
fn a_bad_config_names_its_line_and_an_ensemble_needs_its_myid() {
    let dir = std::env::temp_dir().join(format!("zoolab-badcfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |text: &str| {
        let cfg = dir.join("zoo.cfg");
        std::fs::write(&cfg, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_zoolab"))
            .args(["server", "--config"])
            .arg(&cfg)
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (ok, err) = run("tickTime=2000\nclientPort=twenty\n");
    assert!(!ok && err.contains("line 2"), "{err}");
    let (ok, err) = run("clientPort=0\nserver.1=a:1:2\nserver.2=b:1:2\n");
    assert!(!ok && err.contains("no myid"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn http_get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn the_http_endpoint_gives_json_status_and_prometheus_metrics() {
    let admin = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let srv = Server::start(&format!("admin.serverAddress=127.0.0.1\nadmin.serverPort={admin}\n"));
    let mut c = srv.connect();
    c.create("/x", b"", 0);
    let mntr = http_get(admin, "/commands/mntr");
    assert!(mntr.starts_with("HTTP/1.1 200"), "{mntr}");
    assert!(mntr.contains("\"server_state\":\"standalone\"") && mntr.contains("\"znode_count\":"), "{mntr}");
    let ruok = http_get(admin, "/commands/ruok");
    assert!(ruok.contains("\"output\":\"imok\""), "{ruok}");
    assert!(http_get(admin, "/commands/nope").starts_with("HTTP/1.1 404"));
    let metrics = http_get(admin, "/metrics");
    assert!(
        metrics.contains("\nznode_count ") && metrics.contains("# TYPE num_alive_connections gauge"),
        "{metrics}"
    );
}

#[test]
fn clients_cannot_write_the_migration_fence_or_record() {
    // Only a migration controller's import may create, move or delete them: a client
    // that could would lift a fence or take a migration over.
    let srv = Server::start("");
    let mut c = srv.connect();
    assert_eq!(c.create("/zookeeper/migration-fence", b"/", 0).0, -102, "NOAUTH");
    assert_eq!(c.create("/zookeeper/migration", b"{}", 0).0, -102, "NOAUTH");
    assert_eq!(c.set("/zookeeper/migration", b"{}"), -102, "NOAUTH");
    let (err, _) = c.call(OpCode::Delete, |w| {
        w.string("/zookeeper/migration-fence").i32(-1);
    });
    assert_eq!(err, -8, "BADARGUMENTS, as for /zookeeper/config");
    assert_eq!(c.exists("/zookeeper/migration-fence"), NONODE);
    assert_eq!(c.create("/zookeeper/other", b"", 0).0, 0, "the rest of /zookeeper is as before");
    c.close();
}

/// zoolab's import request (opcode 0x7a6e), written by hand as a controller sends it:
/// the bincode batch, then the optional guard (path, exists, version).
fn import_packet(xid: i32, imp: &zoolab_core::tree::Import, guard: Option<(&str, Option<i32>)>) -> Vec<u8> {
    let mut w = Writer::new();
    RequestHeader { xid, op: 0x7a6e }.write(&mut w);
    w.buffer(&bincode::serialize(imp).unwrap());
    if let Some((path, version)) = guard {
        w.string(path).bool(version.is_some()).i32(version.unwrap_or(-1));
    }
    frame(&w.into_bytes())
}

#[test]
fn a_guarded_import_is_refused_once_another_controller_wrote_the_record() {
    use zoolab_core::ids::Zxid;
    use zoolab_core::tree::{Acl, Import, ImportedNode, Perms, StatPersisted};
    let srv = Server::start("DigestAuthenticationProvider.superDigest=super:lK75jTNcA+U9vtVEw5vB51mj/w4=\n");
    let controller = || {
        let mut c = srv.connect();
        let mut w = Writer::new();
        RequestHeader { xid: -4, op: OpCode::Auth.code() }.write(&mut w);
        w.i32(0).string("digest").buffer(b"super:secret");
        c.sock.write_all(&frame(&w.into_bytes())).unwrap();
        match c.next() {
            Some(Packet::Reply(h, _)) => assert_eq!((h.xid, h.err), (-4, 0), "super-user auth"),
            _ => panic!("no auth reply"),
        }
        c
    };
    let import = |c: &mut Client, imp: &Import, guard: Option<(&str, Option<i32>)>| {
        c.xid += 1;
        let xid = c.xid;
        c.sock.write_all(&import_packet(xid, imp, guard)).unwrap();
        loop {
            match c.next().expect("a reply") {
                Packet::Reply(h, _) if h.xid == xid => return h.err,
                _ => {}
            }
        }
    };
    let record = |stamp: u8, version: i32| Import {
        nodes: vec![ImportedNode {
            path: "/zookeeper/migration".into(),
            data: vec![stamp].into(),
            acl: vec![Acl::new(Perms(1), "world", "anyone")],
            stat: StatPersisted { version, ..StatPersisted::created(Zxid(1), 0, 0) },
        }],
        ..Import::default()
    };
    let data = |path: &str| Import {
        nodes: vec![ImportedNode {
            path: path.into(),
            data: b"v".into(),
            acl: vec![Acl::new(Perms(31), "world", "anyone")],
            stat: StatPersisted::created(Zxid(2), 0, 0),
        }],
        ..Import::default()
    };
    const REC: &str = "/zookeeper/migration";
    let (mut a, mut b) = (controller(), controller());
    // A claims the record (it was absent); B, having read "absent" too, is refused.
    assert_eq!(import(&mut a, &record(1, 0), Some((REC, None))), 0);
    assert_eq!(import(&mut b, &record(1, 0), Some((REC, None))), -103, "BADVERSION");
    // A imports under its guard; an unguarded import (an older controller) still works.
    assert_eq!(import(&mut a, &data("/one"), Some((REC, Some(0)))), 0);
    assert_eq!(import(&mut b, &data("/plain"), None), 0);
    // B takes the migration over (a higher stamp, conditional on version 0)…
    assert_eq!(import(&mut b, &record(2, 1), Some((REC, Some(0)))), 0);
    // …and A's next batch, in the middle of its phase, is refused: nothing of it applied.
    assert_eq!(import(&mut a, &data("/two"), Some((REC, Some(0)))), -103, "BADVERSION");
    let mut c = srv.connect();
    assert_eq!(c.exists("/one"), 0);
    assert_eq!(c.exists("/two"), NONODE);
    assert_eq!(c.get(REC, false).1, vec![2]);
    assert_eq!(import(&mut b, &data("/three"), Some((REC, Some(1)))), 0);
    // A malformed guard closes only that connection.
    let mut bad = import_packet(99, &data("/x"), Some((REC, Some(1))));
    bad.truncate(bad.len() - 2);
    let len = (bad.len() - 4) as u32;
    bad[..4].copy_from_slice(&len.to_be_bytes());
    a.sock.write_all(&bad).unwrap();
    assert!(is_closed(&mut a.sock));
    assert_eq!(c.exists("/three"), 0);
}

#[test]
fn a_standalone_server_has_no_epoch_to_raise() {
    // zoolab's raise-epoch request (opcode 0x7a6d): ensemble members re-elect above the
    // epoch (tests/migrate exercises that); a standalone server answers UNIMPLEMENTED.
    let srv = Server::start("");
    let mut c = srv.connect();
    c.xid += 1;
    let mut w = Writer::new();
    RequestHeader { xid: c.xid, op: 0x7a6d }.write(&mut w);
    w.i32(3);
    c.sock.write_all(&frame(&w.into_bytes())).unwrap();
    match c.next() {
        Some(Packet::Reply(h, _)) => assert_eq!(h.err, -6, "UNIMPLEMENTED"),
        _ => panic!("no reply"),
    }
    assert_eq!(c.exists("/"), 0, "the connection goes on");
    // A negative epoch is malformed: that connection closes, the server goes on.
    let mut w = Writer::new();
    RequestHeader { xid: 99, op: 0x7a6d }.write(&mut w);
    w.i32(-1);
    c.sock.write_all(&frame(&w.into_bytes())).unwrap();
    assert!(is_closed(&mut c.sock));
    assert_eq!(srv.connect().exists("/"), 0);
}
