#!/usr/bin/env python3
"""Real ZooKeeper clients against a `zoolab server` ensemble on loopback: three participant
processes and one observer.

    python3 tests/realclients/test_ensemble.py --zoolab target/debug/zoolab
    python3 tests/realclients/test_ensemble.py --zoolab target/debug/zoolab -k kill
    python3 tests/realclients/test_ensemble.py --zoolab ... --history /tmp/h.json   # keep the load's history
    python3 tests/realclients/test_ensemble.py --zoolab ... --cfg commitLogCount=5   # extra zoo.cfg lines

Each run starts its own ensemble (random free ports, a temporary directory, tickTime 200 ms)
and stops every process it started by its own pid. kazoo does every operation against the
leader and the followers (watches, ephemerals, multi, ACLs, sequential nodes, sync); zkCli.sh
is smoked against a follower; then the faults: kill -9 of the leader under a write load and
its restart, a SIGSTOPped leader, a SIGSTOPped follower. After each fault every write a
client saw acknowledged must be on every server, and the servers must agree (same last zxid
and digest). Exit status 0 when every test passed.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pyutil"))
import zkprocs  # noqa: E402  (free ports, four-letter words, starting and stopping servers)

HOST = zkprocs.HOST
ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"
ENS = None  # the Ensemble
# zookeeper.DigestAuthenticationProvider.superDigest for super:secret: base64(sha1("super:secret")).
SUPER_DIGEST = "super:" + __import__("base64").b64encode(__import__("hashlib").sha1(b"super:secret").digest()).decode()
HISTORY = None  # path to write the load's history to (JSON), if asked
EXTRA_CFG = ""  # extra zoo.cfg lines for every server (--cfg)


def wait_for(pred, secs=10.0):
    return zkprocs.wait_for(pred, secs, ignore=Exception)


class Ensemble:
    """Three zoolab participants (server ids 1..3) and one observer (4)."""

    def __init__(self, binary, n=3, observers=1):
        self.binary = binary
        self.tmp = tempfile.mkdtemp(prefix="zoolab-ensemble-")
        total = n + observers
        ports = zkprocs.free_ports(3 * total + 1)
        self.admin = ports[-1]  # server 1's HTTP status endpoint
        self.client = {i: ports[3 * (i - 1)] for i in range(1, total + 1)}
        self.observers = set(range(n + 1, total + 1))
        self.procs = {}
        self.stopped = set()
        lines = zkprocs.server_lines(list(zip(ports[1:3 * total:3], ports[2:3 * total:3])), self.observers)
        for i in range(1, total + 1):
            data = zkprocs.data_dir(os.path.join(self.tmp, f"data{i}"), myid=i)
            zkprocs.write(self.cfg(i), f"tickTime=200\ninitLimit=10\nsyncLimit=5\ndataDir={data}\n"
                                       f"clientPort={self.client[i]}\nclientPortAddress={HOST}\n"
                                       f"4lw.commands.whitelist=*\nznode.container.checkIntervalMs=300\nsnapCount=100\n"
                                       "extendedTypesEnabled=true\n"
                                       f"DigestAuthenticationProvider.superDigest={SUPER_DIGEST}\n"
                                       + EXTRA_CFG
                                       + (f"admin.serverPort={self.admin}\nadmin.serverAddress={HOST}\n" if i == 1 else "")
                                       + lines)
        for i in range(1, total + 1):
            self.start(i)

    def cfg(self, i):
        return os.path.join(self.tmp, f"zoo{i}.cfg")

    def log(self, i):
        return os.path.join(self.tmp, f"zoolab{i}.log")

    def start(self, i):
        self.procs[i] = zkprocs.spawn([self.binary, "server", "--config", self.cfg(i)], self.log(i), append=True)

    def kill9(self, i):
        zkprocs.kill(self.procs.pop(i))  # SIGKILL, by its own pid

    def sigstop(self, i):
        os.kill(self.procs[i].pid, signal.SIGSTOP)
        self.stopped.add(i)

    def sigcont(self, i):
        os.kill(self.procs[i].pid, signal.SIGCONT)
        self.stopped.discard(i)

    def stop_all(self):
        for i in list(self.stopped):
            self.sigcont(i)
        for i in list(self.procs):
            self.kill9(i)

    def hosts(self, ids=None):
        return ",".join(f"{HOST}:{self.client[i]}" for i in (ids or sorted(self.client)))

    def four(self, i, word):
        return zkprocs.four_letter(self.client[i], word, host=HOST)

    def mode(self, i):
        return zkprocs.srvr(self.client[i], "Mode", host=HOST)

    def mntr(self, i):
        return dict(line.split("\t", 1) for line in self.four(i, "mntr").splitlines() if "\t" in line)

    def leader(self):
        for i in sorted(self.procs):
            if i not in self.stopped and self.mode(i) == "leader":
                return i
        return None

    def followers(self):
        return [i for i in sorted(self.procs) if i not in self.stopped and self.mode(i) == "follower"]

    def settled(self, n=3):
        """At least n participants running: one leader, the others following, the
        observers observing, all serving."""
        ids = [i for i in sorted(self.procs) if i not in self.stopped]
        modes = {i: self.mode(i) for i in ids}
        voters = [m for i, m in modes.items() if i not in self.observers]
        return (len(voters) >= n and voters.count("leader") == 1 and voters.count("follower") == len(voters) - 1
                and all(modes[i] == "observer" for i in ids if i in self.observers))

    def agreed(self):
        """Every running server at the same last zxid with the same digest."""
        ids = [i for i in sorted(self.procs) if i not in self.stopped]
        m = [self.mntr(i) for i in ids]
        return len({(x.get("zk_last_zxid"), x.get("zk_digest")) for x in m}) == 1 and "zk_digest" in m[0]


def client(ids=None, timeout=4.0, **kw):
    from kazoo.client import KazooClient
    from kazoo.retry import KazooRetry
    zk = KazooClient(hosts=ENS.hosts(ids), timeout=timeout,
                     connection_retry=KazooRetry(max_tries=-1, delay=0.05, max_delay=0.5), **kw)
    zk.start(timeout=15)
    return zk


def stop(zk):
    try:
        zk.stop()
        zk.close()
    except Exception:
        pass


def wait_settled(secs=20):
    assert wait_for(ENS.settled, secs), "no settled ensemble: " + str({i: ENS.mode(i) for i in ENS.procs})


# --- the ensemble ---------------------------------------------------------------------------
def test_a_roles_and_four_letter_words():
    wait_settled()
    lid = ENS.leader()
    assert ENS.four(lid, "ruok") == "imok"
    m = ENS.mntr(lid)
    assert m["zk_server_state"] == "leader" and m["zk_server_id"] == str(lid), m
    for f in ENS.followers():
        assert ENS.mntr(f)["zk_server_state"] == "follower"
        stat = ENS.four(f, "stat")
        assert "Mode: follower" in stat and "Zxid: 0x" in stat, stat
    conf = ENS.four(lid, "conf")
    assert all(f"server.{i}=" in conf for i in (1, 2, 3)), conf
    import urllib.request
    with urllib.request.urlopen(f"http://{HOST}:{ENS.admin}/commands/mntr", timeout=5) as r:
        m = json.load(r)
    assert m["server_state"] in ("leader", "follower") and m["server_id"] == 1, m
    zk = client([lid])
    try:
        zk.create("/fourlw", b"", ephemeral=True)
        zk.get("/fourlw", watch=lambda e: None)
        assert f"sid=0x{zk.client_id[0]:x}" in ENS.four(lid, "cons")
        assert "1 connections watching some paths" in ENS.four(lid, "wchs")
        dump = ENS.four(lid, "dump")
        assert "Global Sessions" in dump and "\t/fourlw" in dump, dump
    finally:
        stop(zk)


def test_b_every_operation_against_leader_and_followers():
    from kazoo.exceptions import BadVersionError, NodeExistsError, NoNodeError, NotEmptyError
    lid = ENS.leader()
    f1, f2 = ENS.followers()[:2]
    on_leader, on_f1, on_f2 = client([lid]), client([f1]), client([f2])
    try:
        assert on_f1.create("/ops", b"v0") == "/ops"  # forwarded to the leader
        on_leader.sync("/ops")
        data, st = on_leader.get("/ops")
        assert data == b"v0" and st.version == 0
        assert on_f2.set("/ops", b"v1").version == 1
        on_f1.sync("/ops")
        data, st = on_f1.get("/ops")
        assert data == b"v1" and st.version == 1, (data, st)
        try:
            on_leader.set("/ops", b"x", version=0)
            raise AssertionError("stale version accepted")
        except BadVersionError:
            pass
        try:
            on_f2.create("/ops")
            raise AssertionError("duplicate create accepted")
        except NodeExistsError:
            pass
        on_f1.create("/ops/child", b"c")
        try:
            on_leader.delete("/ops")
            raise AssertionError("deleted a parent")
        except NotEmptyError:
            pass
        on_f2.sync("/ops")
        assert on_f2.get_children("/ops") == ["child"]
        assert on_f2.exists("/ops/child").dataLength == 1
        on_f2.delete("/ops/child")
        try:
            on_f2.get("/ops/child")  # read-your-writes on the same session
            raise AssertionError("deleted node still read")
        except NoNodeError:
            pass
        # Sequential nodes from three servers: one counter.
        names = [c.create("/ops/s-", b"", sequence=True) for c in (on_leader, on_f1, on_f2)]
        assert names == ["/ops/s-0000000001", "/ops/s-0000000002", "/ops/s-0000000003"], names
        # multi
        t = on_f1.transaction()
        t.create("/ops/m1", b"1")
        t.create("/ops/m2", b"2")
        t.check("/ops", 1)
        assert t.commit() == ["/ops/m1", "/ops/m2", True]
        t = on_f2.transaction()
        t.create("/ops/m3")
        t.check("/ops", 99)
        res = t.commit()
        assert isinstance(res[1], BadVersionError), res
        on_leader.sync("/ops")
        assert on_leader.exists("/ops/m3") is None
    finally:
        for c in (on_leader, on_f1, on_f2):
            stop(c)


def test_c_acls_and_digest_auth_on_a_follower():
    from kazoo.exceptions import NoAuthError
    from kazoo.security import make_digest_acl
    f = ENS.followers()[0]
    owner = client([f], auth_data=[("digest", "alice:secret")])
    other = client([ENS.leader()])
    try:
        acl = make_digest_acl("alice", "secret", all=True)
        owner.create("/acl", b"private", acl=[acl])
        assert owner.get("/acl")[0] == b"private"
        other.sync("/acl")
        try:
            other.get("/acl")
            raise AssertionError("read without auth")
        except NoAuthError:
            pass
        other.add_auth("digest", "alice:secret")
        assert other.get("/acl")[0] == b"private"
        root = client([ENS.followers()[-1]], auth_data=[("digest", "super:secret")])
        try:
            root.sync("/acl")
            assert root.get("/acl")[0] == b"private"  # read on a follower
            root.set("/acl", b"by super")  # a write checked by the leader
        finally:
            stop(root)
        assert owner.get_acls("/acl")[0][0].id.id.startswith("alice:")
    finally:
        stop(owner)
        stop(other)


def test_d_watches_fire_on_the_connected_server():
    lid = ENS.leader()
    f = ENS.followers()[0]
    watcher, writer = client([f]), client([lid])
    try:
        writer.create("/w", b"0")
        watcher.sync("/w")
        got = []
        ev = threading.Event()

        def note(e):
            got.append((e.type, e.path))
            ev.set()
        watcher.get("/w", watch=note)
        writer.set("/w", b"1")
        assert ev.wait(5), "data watch did not fire"
        ev.clear()
        watcher.get_children("/w", watch=note)
        writer.create("/w/c")
        assert ev.wait(5), "child watch did not fire"
        ev.clear()
        watcher.exists("/w/none", watch=note)
        writer.create("/w/none")
        assert ev.wait(5), "exists watch did not fire"
        assert got == [("CHANGED", "/w"), ("CHILD", "/w"), ("CREATED", "/w/none")], got
        # The watch event comes before the data: once told, a read sees the new value.
        data = []
        ev2 = threading.Event()
        watcher.get("/w", watch=lambda e: (data.append(watcher.get("/w")[0]), ev2.set()))
        writer.set("/w", b"2")
        assert ev2.wait(5) and data == [b"2"], data
    finally:
        stop(watcher)
        stop(writer)


def test_e_ephemerals_go_when_their_session_closes():
    f1, f2 = ENS.followers()[:2]
    owner, other = client([f1]), client([f2])
    try:
        owner.ensure_path("/eph")
        owner.create("/eph/a", b"", ephemeral=True)
        other.sync("/eph")
        assert other.exists("/eph/a").ephemeralOwner == owner.client_id[0]
        stop(owner)
        assert wait_for(lambda: other.sync("/eph") and other.exists("/eph/a") is None, 5), \
            "ephemeral stayed after its session closed"
    finally:
        stop(other)


def test_f_ephemerals_go_when_their_session_expires_at_the_leader():
    """A client killed without closing: the leader's tracker expires its session."""
    f = ENS.followers()[0]
    code = ("import sys, time\nfrom kazoo.client import KazooClient\n"
            f"zk = KazooClient(hosts='{ENS.hosts([f])}', timeout=1.0)\nzk.start(timeout=15)\n"
            "zk.ensure_path('/exp')\nzk.create('/exp/a', b'', ephemeral=True)\n"
            "print(zk.client_id[0], flush=True)\ntime.sleep(60)\n")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True)
    other = client([ENS.leader()])
    try:
        sid = int(p.stdout.readline())
        other.sync("/exp")
        assert other.exists("/exp/a").ephemeralOwner == sid
        p.kill()  # by its own pid: no closeSession
        p.wait()
        assert wait_for(lambda: other.sync("/exp") and other.exists("/exp/a") is None, 10), \
            "ephemeral stayed after its session's timeout"
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        stop(other)


def test_g_a_session_moves_between_servers():
    """The same session resumes on another member (password checked there)."""
    from kazoo.client import KazooClient
    f1, f2 = ENS.followers()[:2]
    a = client([f1])
    try:
        a.create("/move", b"", ephemeral=True)
        sid, pw = a.client_id
        b = KazooClient(hosts=ENS.hosts([f2]), client_id=(sid, pw), timeout=4.0)
        b.start(timeout=15)
        try:
            assert b.client_id[0] == sid
            assert b.exists("/move").ephemeralOwner == sid
        finally:
            b.stop()
    finally:
        stop(a)


def test_i_an_observer_serves_clients():
    """Writes through an observer are forwarded to the leader; its watches fire; it never votes."""
    obs = min(ENS.observers)
    assert ENS.mntr(obs)["zk_server_state"] == "observer"
    o, other = client([obs]), client([ENS.followers()[0]])
    try:
        assert o.create("/obs", b"1") == "/obs"
        fired = threading.Event()
        o.get("/obs", watch=lambda e: fired.set())
        other.set("/obs", b"2")
        assert fired.wait(5), "the observer's watch did not fire"
        assert o.get("/obs")[0] == b"2"
        other.create("/obs/e", ephemeral=True)
        o.sync("/obs")
        assert o.exists("/obs/e") is not None
        stop(other)
        assert wait_for(lambda: o.sync("/obs") and o.exists("/obs/e") is None, 5)
    finally:
        stop(o)
        stop(other)


def test_g2_a_client_ahead_of_the_server_is_refused():
    """A connect request whose lastZxidSeen is ahead of the server's tree is refused
    without an answer (the client must try another server); one at the server's zxid is
    answered."""
    import struct
    f = ENS.followers()[0]

    def connect(last_zxid):
        body = struct.pack(">iqiqi16s?", 0, last_zxid, 4000, 0, 16, b"\0" * 16, False)
        with socket.create_connection((HOST, ENS.client[f]), timeout=5) as s:
            s.sendall(struct.pack(">i", len(body)) + body)
            return s.recv(4096)
    zxid = int(ENS.mntr(f)["zk_last_zxid"], 16)
    assert connect(zxid) != b"", "a client at the server's zxid was refused"
    got = connect(zxid + (100 << 32))
    assert got == b"", f"a client ahead of the server was answered: {got!r}"


def test_h_zkcli_against_a_follower():
    """zkCli.sh against a follower; its container and TTL nodes go by the leader's
    container manager."""
    if not os.path.exists(ZKCLI):
        print("  (zkCli.sh not installed: skipped)")
        return
    f = ENS.followers()[0]
    script = ("create /zkcli hello\nget /zkcli\nset /zkcli world\nstat /zkcli\nls /\ndelete /zkcli\n"
              "create -c /zkc\ncreate /zkc/x\ndelete /zkc/x\ncreate -t 300 /zkt v\nquit\n")
    out = subprocess.run([ZKCLI, "-server", f"{HOST}:{ENS.client[f]}"], input=script, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, timeout=60).stdout
    for want in ["Created /zkcli", "hello", "dataVersion = 1", "zookeeper", "Created /zkc/x", "Created /zkt"]:
        assert want in out, f"{want!r} not in:\n{out}"
    zk = client([ENS.leader()])
    try:
        assert wait_for(lambda: zk.sync("/") and zk.exists("/zkc") is None and zk.exists("/zkt") is None, 10), \
            "the empty container or the expired TTL node stayed"
    finally:
        stop(zk)


# --- faults ---------------------------------------------------------------------------------
class Load:
    """Writer threads, each with its own kazoo client (connect string: every server): unique
    creates, setData and getData on a few shared keys, sync then getData. Every operation is
    recorded as the core checker's history (`zoolab_core::checker::History` as JSON):
    invocation and completion stamps, results with their stats; a lost reply is unknown."""

    KEYS = 3

    def __init__(self, name, writers=4):
        self.base = f"/load-{name}"
        self.name = name
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked = []
        self.ops = []
        self.seq = 0
        self.t0 = time.monotonic()
        self.clients = [client() for _ in range(writers)]
        c0 = self.clients[0]
        c0.ensure_path(self.base)
        self.initial = {"/": {"data": [], "version": 0}, self.base: {"data": [], "version": 0}}
        for k in range(self.KEYS):
            c0.create(f"{self.base}/k{k}", b"0")
            self.initial[f"{self.base}/k{k}"] = {"data": [48], "version": 0}
        self.threads = [threading.Thread(target=self.run, args=(w,), daemon=True) for w in range(writers)]
        for t in self.threads:
            t.start()

    def stamp(self):
        with self.lock:
            self.seq += 1
            return {"time": int((time.monotonic() - self.t0) * 1e6), "seq": self.seq}

    @staticmethod
    def stat(st):
        return {"czxid": st.czxid, "mzxid": st.mzxid, "version": st.version, "ephemeral_owner": st.ephemeralOwner}

    def run(self, w):
        import random
        from kazoo.exceptions import BadVersionError, NodeExistsError, NoNodeError
        rnd = random.Random(w)
        zk = self.clients[w]
        k = 0
        session = zk.client_id[0]
        while not self.stop.is_set():
            k += 1
            r = rnd.random()
            key = f"{self.base}/k{rnd.randrange(self.KEYS)}"
            if r < 0.4:
                path = f"{self.base}/w{w}-{k:06d}"
                op = {"Create": {"path": path, "data": list(b"x"), "mode": {"ephemeral": False, "sequential": False}}}
                call = lambda: zk.create(path, b"x", include_data=True)
                done = lambda res: {"Created": {"path": res[0], "stat": self.stat(res[1])}}
            elif r < 0.7:
                value = f"{w}-{k}".encode()
                op = {"SetData": {"path": key, "data": list(value), "version": None}}
                call = lambda: zk.set(key, value)
                done = lambda st: {"DataSet": {"stat": self.stat(st)}}
            elif r < 0.95:
                op = {"GetData": {"path": key, "watch": "No"}}
                call = lambda: zk.get(key)
                done = lambda res: {"Data": {"data": list(res[0]), "stat": self.stat(res[1])}}
            else:
                op = {"Sync": {"path": key}}
                call = lambda: zk.sync(key)
                done = lambda res: "Synced"
            if zk.client_id and zk.client_id[0]:
                session = zk.client_id[0]  # a new one only after an expiry
            entry = {"session": session, "op": op, "invoked": self.stamp(), "completed": None,
                     "outcome": {"Unknown": {"code": "ConnectionLoss"}}}
            with self.lock:
                self.ops.append(entry)
            try:
                res = call()
                entry["outcome"] = {"Ok": {"result": done(res), "zxid": None}}
                entry["completed"] = self.stamp()
                if "Create" in op:
                    with self.lock:
                        self.acked.append(op["Create"]["path"])
            except (NodeExistsError, NoNodeError, BadVersionError) as e:
                code = {"NodeExistsError": "NodeExists", "NoNodeError": "NoNode", "BadVersionError": "BadVersion"}
                entry["outcome"] = {"Error": {"code": code[type(e).__name__], "zxid": None}}
                entry["completed"] = self.stamp()
            except Exception:  # connection loss, timeouts, expiry while reconnecting: no answer
                entry["completed"] = self.stamp()  # when the client gave up on it
                time.sleep(0.05)

    def count(self):
        with self.lock:
            return len(self.acked)

    def finish(self):
        """Stops the load; checks its history with `zoolab check-history`."""
        self.stop.set()
        for t in self.threads:
            t.join(20)
        for c in self.clients:
            stop(c)
        history = {"initial": self.initial, "operations": self.ops, "events": []}
        path = HISTORY.replace(".json", f"-{self.name}.json") if HISTORY else os.path.join(ENS.tmp, f"{self.name}.json")
        with open(path, "w") as f:
            json.dump(history, f)
        out = subprocess.run([ENS.binary, "check-history", path], capture_output=True, text=True, timeout=120)
        print("  " + (out.stdout + out.stderr).strip().replace("\n", "\n  "))
        assert out.returncode == 0, f"the checker found a violation in {path}"
        return list(self.acked)


def check_all_present(load, acked, label):
    """Every acknowledged create is on every running server (read after sync)."""
    assert acked, f"{label}: no write was acknowledged"
    for i in sorted(ENS.procs):
        if i in ENS.stopped:
            continue
        c = client([i])
        try:
            c.sync(load.base)
            have = set(c.get_children(load.base))
            missing = [p for p in acked if p.rsplit("/", 1)[1] not in have]
            assert not missing, f"{label}: server {i} lacks {len(missing)} acknowledged writes, e.g. {missing[:3]}"
        finally:
            stop(c)
    assert wait_for(ENS.agreed, 10), f"{label}: servers disagree: " + str(
        {i: (ENS.mntr(i).get("zk_last_zxid"), ENS.mntr(i).get("zk_digest")) for i in ENS.procs})
    print(f"  {len(acked)} acknowledged creates, all present on every server")


def test_u_a_torn_log_tail_is_truncated_on_restart():
    """kill -9 a follower, tear its write-ahead log's tail (half a record), restart it:
    recovery cuts the tail (logged) and the leader brings it up to date."""
    wait_settled()
    f = ENS.followers()[0]
    zk = client([ENS.leader()])
    try:
        zk.ensure_path("/torn")
        for k in range(20):
            zk.create(f"/torn/n{k}", b"v")
        ENS.kill9(f)
        wal = os.path.join(ENS.tmp, f"data{f}", "zoolab-q", "wal")
        with open(wal, "ab") as w:
            w.write(b"\x00\x00\x01\x00\xde\xad\xbe\xefhalf a record")
        zk.create("/torn/while-down", b"v")
        ENS.start(f)
        assert wait_for(lambda: ENS.settled(3), 30), "the follower did not come back"
        assert wait_for(ENS.agreed, 15), "the follower did not catch up"
        with open(ENS.log(f)) as log:
            assert "truncating the log there" in log.read(), "the torn tail was not reported"
        c = client([f])
        try:
            assert c.exists("/torn/while-down") is not None and len(c.get_children("/torn")) == 21
        finally:
            stop(c)
    finally:
        stop(zk)


def test_v_a_follower_far_behind_is_synced_by_snap():
    """snapCount=100: while a follower is down the others snapshot and compact their logs
    past it, so on its return the leader sends its whole tree (SNAP) over TCP."""
    wait_settled()
    f = ENS.followers()[0]
    ENS.kill9(f)
    zk = client([ENS.leader()])
    try:
        zk.ensure_path("/snap")
        for k in range(300):
            zk.create_async(f"/snap/n{k:04d}", b"v").get(timeout=30)
        ENS.start(f)
        assert wait_for(lambda: ENS.settled(3), 30), "the follower did not come back"
        assert wait_for(ENS.agreed, 15), "the follower did not catch up"
        with open(ENS.log(f)) as log:
            text = log.read()
        assert "installed the leader's snapshot" in text, "no SNAP: " + text[-2000:]
        c = client([f])
        try:
            assert len(c.get_children("/snap")) == 300
        finally:
            stop(c)
    finally:
        stop(zk)


def test_w_kill_9_every_server_under_load_and_restart_them():
    """A whole-ensemble crash: every acknowledged write was synced to a quorum's disks."""
    wait_settled()
    load = Load("crashall", writers=3)
    try:
        assert wait_for(lambda: load.count() >= 50, 20), "the load did not start"
        for i in sorted(ENS.procs):
            ENS.kill9(i)
        acked_at_crash = load.count()
        time.sleep(0.3)
        for i in sorted(ENS.client):
            ENS.start(i)
        assert wait_for(lambda: ENS.settled(3), 30), "the ensemble did not come back"
        assert wait_for(lambda: load.count() >= acked_at_crash + 30, 30), "clients did not carry on"
    finally:
        acked = load.finish()
    check_all_present(load, acked, "kill -9 of every server")


def test_x_kill_9_the_leader_under_load_and_restart_it():
    wait_settled()
    load = Load("kill")
    try:
        assert wait_for(lambda: load.count() >= 50, 20), "the load did not start"
        lid = ENS.leader()
        before = load.count()
        ENS.kill9(lid)
        # The others elect a new leader; the clients carry on.
        assert wait_for(lambda: ENS.settled(2), 20), "no new leader"
        assert wait_for(lambda: load.count() >= before + 50, 30), "clients did not carry on after re-election"
        ENS.start(lid)
        assert wait_for(lambda: ENS.settled(3), 30), "the old leader did not rejoin"
        mid = load.count()
        assert wait_for(lambda: load.count() >= mid + 30, 30), "writes stopped after the restart"
    finally:
        acked = load.finish()
    check_all_present(load, acked, "kill -9 of the leader")


def test_y_sigstop_the_leader():
    wait_settled()
    load = Load("stopleader", writers=3)
    try:
        assert wait_for(lambda: load.count() >= 30, 20), "the load did not start"
        lid = ENS.leader()
        ENS.sigstop(lid)
        before = load.count()
        assert wait_for(lambda: ENS.settled(2), 20), "no new leader while the old one is stopped"
        assert wait_for(lambda: load.count() >= before + 30, 30), "clients did not carry on"
        ENS.sigcont(lid)
        assert wait_for(lambda: ENS.settled(3), 30), "the stopped leader did not come back as a follower"
    finally:
        acked = load.finish()
    check_all_present(load, acked, "SIGSTOP of the leader")


def test_z_sigstop_a_follower():
    wait_settled()
    load = Load("stopfollower", writers=3)
    try:
        assert wait_for(lambda: load.count() >= 30, 20), "the load did not start"
        f = ENS.followers()[0]
        ENS.sigstop(f)
        before = load.count()
        assert wait_for(lambda: load.count() >= before + 50, 30), "clients did not carry on"
        ENS.sigcont(f)
        assert wait_for(lambda: ENS.settled(3), 30), "the stopped follower did not come back"
    finally:
        acked = load.finish()
    check_all_present(load, acked, "SIGSTOP of a follower")


def soak(rounds, seed):
    """Random faults for `rounds` rounds under a load (not part of the default run): each
    round kills -9, SIGSTOPs or leaves alone a random member (leader or not), waits,
    brings it back; then every acknowledged create must be everywhere, the members must
    agree, and the history must check out."""
    import random
    rnd = random.Random(seed)
    wait_settled()
    load = Load(f"soak{seed}", writers=4)
    try:
        for r in range(rounds):
            running = [i for i in sorted(ENS.procs) if i not in ENS.stopped]
            victim = ENS.leader() if rnd.random() < 0.5 else rnd.choice(running)
            if victim is None:
                victim = rnd.choice(running)
            fault = rnd.choice(["kill", "stop", "none"])
            before = load.count()
            print(f"  round {r}: {fault} server {victim} ({ENS.mode(victim)}), {before} acked so far", flush=True)
            if fault == "kill":
                ENS.kill9(victim)
            elif fault == "stop":
                ENS.sigstop(victim)
            time.sleep(rnd.uniform(0.2, 3.0))
            if fault == "kill":
                ENS.start(victim)
            elif fault == "stop":
                ENS.sigcont(victim)
            assert wait_for(lambda: ENS.settled(3), 40), f"round {r}: no settled ensemble " + str(
                {i: ENS.mode(i) for i in ENS.procs})
            assert wait_for(lambda: load.count() > before, 30), f"round {r}: no progress"
    finally:
        acked = load.finish()
    check_all_present(load, acked, f"soak seed {seed}")


TESTS = [v for k, v in sorted(globals().items()) if k.startswith("test_")]


def main():
    global ENS, HISTORY, EXTRA_CFG
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zoolab", required=True, help="the zoolab binary")
    ap.add_argument("-k", help="only tests whose name contains this")
    ap.add_argument("--history", help="keep the fault loads' client histories as FILE-<test>.json")
    ap.add_argument("--soak", type=int, metavar="ROUNDS", help="run only random fault rounds (not in make test)")
    ap.add_argument("--seed", type=int, default=1, help="the soak's seed")
    ap.add_argument("--cfg", action="append", default=[], metavar="LINE",
                    help="an extra zoo.cfg line for every server (e.g. commitLogCount=5)")
    args = ap.parse_args()
    EXTRA_CFG = "".join(f"{c}\n" for c in args.cfg)
    HISTORY = args.history
    import logging
    logging.basicConfig(level=logging.CRITICAL)
    ENS = Ensemble(args.zoolab)
    failed = 0
    t0 = time.monotonic()
    try:
        wait_settled(30)
        tests = [lambda: soak(args.soak, args.seed)] if args.soak else TESTS
        if args.soak:
            tests[0].__name__ = f"soak_{args.soak}_rounds_seed_{args.seed}"
        for t in tests:
            if args.k and args.k not in t.__name__:
                continue
            t1 = time.monotonic()
            try:
                t()
                print(f"ok    {t.__name__} ({time.monotonic() - t1:.1f} s)", flush=True)
            except Exception:
                failed += 1
                print(f"FAIL  {t.__name__}\n{traceback.format_exc()}", flush=True)
    finally:
        ENS.stop_all()
        if failed or os.environ.get("ZOOLAB_SHOW_LOG"):
            for i in sorted(ENS.client):
                with open(ENS.log(i)) as f:
                    print(f"--- zoolab {i} log tail ---\n" + "".join(f.readlines()[-25:]))
        shutil.rmtree(ENS.tmp, ignore_errors=True)
    print(f"ensemble: {'all passed' if not failed else f'{failed} failed'} in {time.monotonic() - t0:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
