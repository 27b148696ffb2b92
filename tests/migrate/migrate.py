#!/usr/bin/env python3
"""`zoolab migrate` between real ensembles on loopback.

    python3 tests/migrate/migrate.py --zoolab target/debug/zoolab
    python3 tests/migrate/migrate.py --zoolab target/debug/zoolab -k fence   # one test

1. Apache ZooKeeper 3.8 (3 servers) -> zoolab (3 servers), subtree /app, while two kazoo
   writers write to the source: the migrate process is killed (SIGKILL, by its pid) once
   the seed is journaled and resumed from the journal; the writers stop at the freeze
   (the source has no fence: the freeze waits for a quiet watch); after commit every
   acknowledged write is on the target with the same data, and every node has the
   source's Stat (czxid, mzxid, pzxid, ctime, mtime, versions, cversion) and ACL; the
   controller raised the target's epoch online above the source's at the cut-over. Then
   a small /late migration: ephemeral churn after the freeze passes the final sync, a
   write after it closes the cut-over's gate by name. And back (zoolab -> ZooKeeper,
   logical): a controller whose record changes under it mid-seed is refused at its next
   write (a multi guarded by a check on the record) and stops; a new one rolls back.
   Then an abort after a cut-over into zoolab: the target, fenced, has its writes
   copied back to the ZooKeeper source (logical multis) and verified; the gate waits
   for the source's leader to be restarted past the target's epoch. And zoolab ->
   ZooKeeper: the abort after the cut-over needs --force (a ZooKeeper target cannot be
   fenced), then copies back by import into the fenced zoolab source.
2. zoolab -> zoolab with the real fence: after the freeze a write to the source's
   subtree fails with NOTREADONLY (a write outside it succeeds); an abort before commit
   lifts the fence; the import path without the super-user is refused with NOAUTH; a
   stale controller fails fast; another subtree's migration is refused while one is in
   progress; a resumed run claims a new stamp; with --no-online-raise the cut-over
   waits for the target's epoch (restarted with --min-epoch 1); run stops at the soak,
   commit; client writes to the fence and record are refused; a --logical copy that
   takes writes on the target after its cut-over, whose abort copies them back into the
   fenced source and keeps both sides fenced while the source's epoch is behind
   (--no-online-raise), then raises the source's epoch online and rolls back. Last an
   exact migration aborted at its soak while kazoo writers write to the target: every
   write they had acknowledged is on the source, with the target's exact Stat.
3. The whole tree (`/`) between two standalone zoolab servers: the fence and the import
   path without ZAB between processes, a missing target chroot created, and the
   cut-over's gate saying a standalone target cannot raise its epoch.

Every server is started in a temporary directory on free ports and stopped by its pid.
Exit status 0 when every test passed.
"""

import argparse
import base64
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

from kazoo.client import KazooClient
from kazoo.exceptions import BadArgumentsError, NoAuthError, NoNodeError, NotReadOnlyCallError
from kazoo.security import make_digest_acl

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pyutil"))
import zkprocs  # noqa: E402  (free ports, four-letter words, starting and stopping servers)

HOST = zkprocs.HOST
SUPER_DIGEST = "super:" + base64.b64encode(hashlib.sha1(b"super:secret").digest()).decode()
ZOOLAB = None
TMP = None


free_ports = zkprocs.free_ports
four = zkprocs.four
srvr = zkprocs.srvr


class Ensemble:
    """Three servers on loopback: Apache ZooKeeper (`java`) or zoolab (`binary`)."""

    def __init__(self, name, binary=None):
        self.dir = os.path.join(TMP, name)
        os.makedirs(self.dir)
        self.binary = binary
        ports = free_ports(9)
        self.ports = ports[0::3]
        servers = zkprocs.server_lines(list(zip(ports[1::3], ports[2::3])))
        self.procs = []
        self.cmds = []
        self.dead = set()
        self.first = 0  # listed first in hosts(): the server a new session goes to
        for i in range(3):
            data = zkprocs.data_dir(os.path.join(self.dir, f"data{i + 1}"), myid=i + 1)
            cfg = os.path.join(self.dir, f"zoo{i + 1}.cfg")
            tick = 200 if binary else 500
            zkprocs.write(cfg, f"tickTime={tick}\ninitLimit=20\nsyncLimit=10\ndataDir={data}\n"
                               f"clientPort={self.ports[i]}\nclientPortAddress={HOST}\n"
                               "admin.enableServer=false\n4lw.commands.whitelist=*\n"
                               f"DigestAuthenticationProvider.superDigest={SUPER_DIGEST}\n" + servers)
            if binary:
                cmd = [binary, "server", "--config", cfg]
            else:
                cmd = zkprocs.zookeeper_command(
                    self.dir, cfg, [f"zookeeper.DigestAuthenticationProvider.superDigest={SUPER_DIGEST}"],
                    n=i + 1, level="WARN")
            self.cmds.append(cmd)
            self.procs.append(zkprocs.spawn(cmd, self.log(i)))
        self.wait_formed()

    def log(self, i):
        return os.path.join(self.dir, f"server{i + 1}.log")

    def wait_formed(self):
        name = os.path.basename(self.dir)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            modes = [srvr(p, "Mode") for p in self.ports]
            if sorted(m or "" for m in modes) == ["follower", "follower", "leader"]:
                return
            time.sleep(0.2)
        raise RuntimeError(f"the ensemble {name} did not form; see {self.dir}")

    def hosts(self):
        order = [self.first] + [i for i in range(3) if i != self.first]
        return ",".join(f"{HOST}:{self.ports[i]}" for i in order)

    def a_follower(self):
        return next(i for i, p in enumerate(self.ports) if srvr(p, "Mode") == "follower")

    def zxid(self):
        return max(int(srvr(p, "Zxid") or "0x0", 16) for j, p in enumerate(self.ports) if j not in self.dead)

    def client(self, **kw):
        zk = KazooClient(hosts=self.hosts(), timeout=10, **kw)
        zk.start(timeout=15)
        return zk

    def restart(self, i, extra=()):
        """Kills server i (by its pid) and starts it again, with `extra` arguments."""
        zkprocs.kill(self.procs[i])
        self.procs[i] = zkprocs.spawn(self.cmds[i] + list(extra), self.log(i), append=True)

    def leader(self):
        return next(i for i, p in enumerate(self.ports) if srvr(p, "Mode") == "leader")

    def kill_one(self, i):
        zkprocs.kill(self.procs[i])  # by its own pid
        self.dead.add(i)

    def stop(self):
        zkprocs.kill_all(self.procs)  # each by its own pid
        self.procs = []


def migrate(src, dst, journal, *args, subtree="/app", check=True, timeout=120):
    cmd = [ZOOLAB, "migrate", "--from", src.hosts(), "--to", dst.hosts(), "--subtree", subtree,
           "--journal", journal, *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    print(f"$ zoolab migrate ... {' '.join(args)}  -> exit {r.returncode}")
    for line in (r.stdout + r.stderr).splitlines():
        print("    " + line)
    if check and r.returncode != 0:
        raise AssertionError(f"zoolab migrate {' '.join(args)} exited {r.returncode}")
    return r


def phase(journal):
    try:
        with open(journal) as f:
            return json.load(f)["migration"]["phase"]
    except (OSError, ValueError, KeyError):
        return None


def build_tree(zk, root):
    """A varied tree: nesting, data up to 100 KB and null, versions > 0, an ACL'd subtree,
    a sequential parent whose counter is ahead of its children, ~600 znodes."""
    zk.ensure_path(root)
    for a in range(20):
        zk.create(f"{root}/d{a}", f"dir {a}".encode())
        for b in range(25):
            zk.create(f"{root}/d{a}/n{b}", f"{a}-{b}".encode() * (1 + b))
    zk.create(f"{root}/big", b"x" * 100_000)
    zk.create(f"{root}/versioned", b"v0")
    zk.create(f"{root}/null", None)  # null data (zkCli's create without data), not empty
    for v in range(5):
        zk.set(f"{root}/versioned", f"v{v + 1}".encode())
    acl = make_digest_acl("alice", "pw", all=True)
    zk.create(f"{root}/private", b"secret", acl=[acl])
    zk.create(f"{root}/locks")
    for _ in range(12):
        p = zk.create(f"{root}/locks/lock-", sequence=True)
        zk.delete(p)
    zk.create(f"{root}/locks/lock-", sequence=True)


class Writers:
    """Kazoo writers on the source: set, create and delete keys; each acknowledged
    write is remembered (its path's last acknowledged state)."""

    def __init__(self, ens, root, n=2):
        self.zk = ens.client()
        self.root = root
        self.state = {}
        self.uncertain = set()
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.count = 0
        self.refused = 0
        self.threads = [threading.Thread(target=self.run, args=(t,), daemon=True) for t in range(n)]
        for t in self.threads:
            t.start()

    def run(self, t):
        i = 0
        while not self.stop_flag.is_set():
            i += 1
            path = f"{self.root}/load/w{t}/k{i % 40}"
            data = f"w{t}-{i}".encode()
            try:
                if i % 9 == 0:
                    try:
                        self.zk.delete(path)
                    except NoNodeError:
                        pass
                    val = None
                else:
                    try:
                        self.zk.set(path, data)
                    except NoNodeError:
                        self.zk.create(path, data, makepath=True)
                    val = data
                with self.lock:
                    self.state[path] = val
                    self.count += 1
            except NotReadOnlyCallError:
                # Refused (the side is fenced): not applied, so the path keeps its
                # last acknowledged state.
                with self.lock:
                    self.refused += 1
                time.sleep(0.02)
            except Exception:
                with self.lock:
                    self.uncertain.add(path)
            time.sleep(0.002)

    def finish(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join()
        self.zk.stop()
        self.zk.close()
        return {p: v for p, v in self.state.items() if p not in self.uncertain}


def walk(zk, root):
    out = {}
    todo = [root]
    while todo:
        p = todo.pop()
        data, st = zk.get(p)
        acl, _ = zk.get_acls(p)
        out[p] = (data, st, sorted((a.perms, a.id.scheme, a.id.id) for a in acl))
        todo.extend(f"{p}/{c}" for c in zk.get_children(p))
    return out


STAT_FIELDS = ["czxid", "mzxid", "ctime", "mtime", "version", "cversion", "aversion", "ephemeralOwner",
               "dataLength", "numChildren", "pzxid"]


def assert_acknowledged(zk, acked, where):
    """Every acknowledged write in `acked` (path -> value, None: deleted) is on `where`."""
    for path, val in acked.items():
        if val is None:
            assert zk.exists(path) is None, f"{path} was deleted (acknowledged) but is still on {where}"
        else:
            got = zk.get(path)[0]
            assert got == val, f"{path}: acknowledged {val!r}, {where} has {got!r}"


def assert_same_trees(src_zk, dst_zk, root, exact=True):
    a, b = walk(src_zk, root), walk(dst_zk, root)
    assert sorted(a) == sorted(b), f"paths differ: only source {sorted(set(a) - set(b))[:5]}, only target {sorted(set(b) - set(a))[:5]}"
    for p in a:
        da, sa, acla = a[p]
        db, sb, aclb = b[p]
        assert da == db, f"{p}: data differs"
        assert acla == aclb, f"{p}: ACL differs {acla} vs {aclb}"
        if exact:
            for f in STAT_FIELDS:
                assert getattr(sa, f) == getattr(sb, f), f"{p}: Stat.{f} {getattr(sa, f)} on the source, {getattr(sb, f)} on the target"
    return len(a)


def test_zookeeper_to_zoolab():
    src = Ensemble("zk-source")
    dst = Ensemble("zoolab-target", ZOOLAB)
    try:
        admin = src.client(auth_data=[("digest", "super:secret")])
        build_tree(admin, "/app")
        admin.create("/outside", b"not migrated")
        # A new source leader: the source is in epoch 2, the fresh target in epoch 1, as
        # when a long-lived ensemble moves to a new one.
        src.restart(src.leader())
        src.wait_formed()
        admin.create("/epoch2", b"")
        assert src.zxid() >> 32 == 2, hex(src.zxid())
        # The controller's source server is a follower (killed later: a leader's death
        # would start a new epoch on the source, which the cut-over's raise by writes
        # cannot pass; its gate would ask to restart the target's election).
        src.first = src.a_follower()
        writers = Writers(src, "/app")
        time.sleep(0.5)
        journal = os.path.join(TMP, "zk-to-zoolab.json")
        args = ["--source-auth", "super:secret", "--target-auth", "super:secret", "--quiet-secs", "2"]
        # The first run is killed once the seed is journaled.
        p = subprocess.Popen([ZOOLAB, "migrate", "--from", src.hosts(), "--to", dst.hosts(), "--subtree", "/app",
                              "--journal", journal, *args, "--until", "freeze", "run"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while phase(journal) in (None, "Draft", "Preflight", "Seed") and time.monotonic() < deadline:
            if p.poll() is not None:
                break
            time.sleep(0.01)
        killed_in = phase(journal)
        alive = p.poll() is None
        p.kill()  # by its own pid
        out = p.communicate()[0]
        print("first run (killed in phase %s):\n    %s" % (killed_in, out.replace("\n", "\n    ")))
        assert alive, "the first migrate run ended before it could be interrupted"
        assert killed_in in ("CatchUp", "Verify"), f"killed in {killed_in}"
        assert "fidelity:" in out and "versions restart" not in out, "the fidelity report comes first; exact import keeps versions"
        # The resumed run loses its source server mid-phase: it reconnects to another,
        # sets its watch again and reconciles.
        p = subprocess.Popen([ZOOLAB, "migrate", "--from", src.hosts(), "--to", dst.hosts(), "--subtree", "/app",
                              "--journal", journal, *args, "--until", "freeze", "run"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        while phase(journal) == "CatchUp" and p.poll() is None:
            time.sleep(0.01)
        src.kill_one(src.first)  # the server the controller is connected to (listed first)
        out = p.communicate(timeout=120)[0]
        print("second run (a source follower killed in phase Verify):\n    " + out.replace("\n", "\n    "))
        assert p.returncode == 0, f"the resumed run exited {p.returncode}"
        assert "resuming from" in out, "the second run resumes from the journal"
        assert "reconnecting" in out and "reconciled" in out, "it reconnected and reconciled"
        assert phase(journal) == "Freeze", phase(journal)
        acked = writers.finish()
        print(f"writers stopped at the freeze: {writers.count} acknowledged writes, {len(acked)} keys")
        assert writers.count > 50, "the writers wrote during the migration"
        # The cut-over: the target's epoch (1) is behind the source's (2), so the controller
        # raises it online (every member raises its acceptedEpoch and re-elects).
        r = migrate(src, dst, journal, *args, "--until", "committed", "run")
        assert phase(journal) == "Committed", phase(journal)
        assert "target's epoch raised online above 2" in r.stdout, r.stdout
        assert "target zxid 0x3" in r.stdout, "the target's next leader is in epoch 3"
        dzk = dst.client(auth_data=[("digest", "super:secret")])
        assert_acknowledged(dzk, acked, "the target")
        n = assert_same_trees(admin, dzk, "/app", exact=True)
        print(f"{n} znodes equal with their Stat and ACL; {len(acked)} acknowledged keys checked")
        assert dzk.exists("/outside") is None, "outside the subtree: not migrated"
        assert dst.zxid() > src.zxid(), f"target zxid {dst.zxid():x} not above the source's {src.zxid():x}"
        dzk.create("/app/after-cut-over", b"the target takes writes")
        assert dzk.get("/app/locks")[1].cversion == admin.get("/app/locks")[1].cversion
        seq = dzk.create("/app/locks/lock-", sequence=True)
        assert seq == "/app/locks/lock-0000000013", f"the sequence counter came across: {seq}"
        r = migrate(src, dst, journal, *args, "status")
        assert "committed" in r.stdout
        # The other way, logically (zoolab -> ZooKeeper): every write into a ZooKeeper
        # target is a multi guarded by a check on the target's migration record. Once
        # someone else writes the record (here: the super-user, as a second controller
        # would) the running controller's next write fails, mid-seed, and it stops.
        dzk.ensure_path("/big")
        big = [dzk.create_async(f"/big/n{i:05d}", b"x" * 64) for i in range(3000)]
        for b in big:
            b.get(timeout=30)
        bj = os.path.join(TMP, "big.json")
        p = subprocess.Popen([ZOOLAB, "migrate", "--from", dst.hosts(), "--to", src.hosts(), "--subtree", "/big",
                              "--journal", bj, *args, "--logical", "run"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and p.poll() is None:
            rec = admin.exists("/zookeeper/migration")
            if rec is not None and json.loads(admin.get("/zookeeper/migration")[0]).get("subtree") == "/big":
                break
            time.sleep(0.005)
        data, stat = admin.get("/zookeeper/migration")
        admin.set("/zookeeper/migration", data, version=stat.version)
        out = p.communicate(timeout=120)[0]
        print("a controller whose record changed under it:\n    " + out.replace("\n", "\n    "))
        assert p.returncode != 0, "the controller went on after its record changed"
        assert "BADVERSION on /zookeeper/migration" in out and "took the migration over" in out, out
        copied = len(admin.get_children("/big")) if admin.exists("/big") else 0
        assert copied < 3000, f"the whole seed went through ({copied} nodes) after the record changed"
        # A new process takes over (a new stamp) and rolls the copy back.
        r = migrate(dst, src, bj, *args, "--logical", "abort", subtree="/big")
        assert "claimed stamp" in r.stdout and phase(bj) == "RolledBack", (r.stdout, phase(bj))
        dzk.delete("/big", recursive=True)
        abort_into_a_zookeeper_source(src, dst, admin, dzk, args)
        # A ZooKeeper source has no fence: ephemeral churn after the freeze (a parent's
        # pzxid moves) does not block the final sync, but a persistent write after it is
        # caught at the cut-over, by name.
        admin.create("/late/x", b"1", makepath=True)
        lj = os.path.join(TMP, "late.json")
        migrate(src, dst, lj, *args, "--until", "final-sync", "run", subtree="/late")
        churn = src.client()
        churn.create("/late/session-", ephemeral=True, sequence=True)
        churn.stop()
        migrate(src, dst, lj, *args, "--until", "cut-over", "run", subtree="/late")
        assert phase(lj) == "CutOver", phase(lj)
        admin.set("/late/x", b"written after the freeze")
        r = migrate(src, dst, lj, *args, "run", subtree="/late", check=False)
        assert r.returncode == 2 and phase(lj) == "CutOver", (r.returncode, phase(lj))
        assert "/late/x" in r.stdout and "after the freeze" in r.stdout, r.stdout
        dzk.stop()
        admin.stop()
    finally:
        src.stop()
        dst.stop()


def abort_into_a_zookeeper_source(src, dst, admin, dzk, args):
    """ZooKeeper -> zoolab, then an abort after the cut-over: the zoolab target is fenced,
    its writes are copied back to the ZooKeeper source as logical multis (each guarded by
    a check on the record), and verified; the source's epoch (2) is behind the target's
    (3) and cannot be raised online, so the gate stays closed until its leader is
    restarted past it; then the abort ends, the copy not repeated in vain."""
    admin.create("/rz/a", b"a", makepath=True)
    admin.create("/rz/b/c", b"c", makepath=True)
    admin.create("/rz/d", b"d")
    rj = os.path.join(TMP, "rz.json")
    migrate(src, dst, rj, *args, "run", subtree="/rz")
    assert phase(rj) == "Soak", phase(rj)
    dzk.set("/rz/a", b"changed on the target")
    dzk.delete("/rz/b", recursive=True)
    dzk.create("/rz/e/f", b"created on the target", makepath=True)
    r = migrate(src, dst, rj, *args, "abort", subtree="/rz", check=False)
    assert r.returncode == 2 and "copied back" in r.stdout and "verified" in r.stdout, r.stdout
    assert "restart the source's leader" in r.stdout, r.stdout
    assert admin.get("/rz/a")[0] == b"changed on the target" and admin.exists("/rz/b") is None
    assert admin.get("/rz/e/f")[0] == b"created on the target"
    try:
        dzk.set("/rz/a", b"two writers")
        raise AssertionError("the target took a write while the abort waits for the source's epoch")
    except NotReadOnlyCallError:
        pass
    for i in sorted(src.dead):
        src.restart(i)
    src.dead.clear()
    while True:  # each election of a new ZooKeeper leader adds one to the epoch
        src.wait_formed()
        admin.retry(admin.set, "/epoch2", b"")  # outside the subtree
        if src.zxid() >> 32 > dst.zxid() >> 32:
            break
        src.restart(src.leader())
    r = migrate(src, dst, rj, *args, "abort", subtree="/rz")
    assert phase(rj) == "RolledBack" and "copied back 0 differences" in r.stdout, r.stdout
    admin.retry(admin.set, "/rz/a", b"the source takes writes again")
    assert dzk.get("/rz/e/f")[0] == admin.get("/rz/e/f")[0]
    assert admin.get("/rz/a")[0] == b"the source takes writes again"
    admin.delete("/rz", recursive=True)
    # The other way (zoolab -> ZooKeeper, logical; the ZooKeeper side's epoch is above
    # now): a ZooKeeper target cannot be fenced, so the abort after its cut-over is
    # refused without --force (meaning its writers are stopped); with it, the target's
    # writes go back by import into the fenced zoolab source, whose epoch is raised.
    dzk.create("/zr/a", b"a", makepath=True)
    dzk.create("/zr/locks")
    zj = os.path.join(TMP, "zr.json")
    migrate(dst, src, zj, *args, "run", subtree="/zr")
    assert phase(zj) == "Soak", phase(zj)
    admin.set("/zr/a", b"changed on the ZooKeeper target")
    admin.create("/zr/b", b"created on the ZooKeeper target")
    seq = admin.create("/zr/locks/lock-", sequence=True)
    r = migrate(dst, src, zj, *args, "abort", subtree="/zr", check=False)
    assert r.returncode == 1 and "cannot fence" in r.stderr and "--force" in r.stderr, r.stderr
    r = migrate(dst, src, zj, *args, "--force", "abort", subtree="/zr")
    assert phase(zj) == "RolledBack" and "copied back" in r.stdout and "verified" in r.stdout, r.stdout
    assert dzk.get("/zr/a")[0] == b"changed on the ZooKeeper target" and dzk.exists(seq)
    assert dzk.get("/zr/b")[0] == b"created on the ZooKeeper target"
    dzk.retry(dzk.set, "/zr/a", b"the zoolab source takes writes again")
    again = dzk.create("/zr/locks/lock-", sequence=True)
    assert again > seq, f"the zoolab source's sequence counter went back: {again} after {seq}"


def test_zoolab_to_zoolab_with_the_fence():
    src = Ensemble("zoolab-source", ZOOLAB)
    dst = Ensemble("zoolab-target2", ZOOLAB)
    try:
        szk = src.client(auth_data=[("digest", "super:secret")])
        build_tree(szk, "/svc")
        szk.create("/other", b"")
        # Without the super-user the import path is refused, clearly.
        r = migrate(src, dst, os.path.join(TMP, "noauth.json"), "run", subtree="/svc", check=False)
        assert r.returncode != 0 and "NOAUTH" in r.stderr and "super-user" in r.stderr, r.stderr
        auth = ["--source-auth", "super:secret", "--target-auth", "super:secret"]
        # An aborted migration (after its freeze) lifts the fence.
        aj = os.path.join(TMP, "abort.json")
        szk.create("/tmp2/a", b"1", makepath=True)
        migrate(src, dst, aj, *auth, "--until", "freeze", "run", subtree="/tmp2")
        migrate(src, dst, aj, *auth, "step", subtree="/tmp2")
        try:
            szk.set("/tmp2/a", b"2")
            raise AssertionError("a write to a frozen subtree succeeded")
        except NotReadOnlyCallError:
            pass
        migrate(src, dst, aj, *auth, "abort", subtree="/tmp2")
        assert phase(aj) == "RolledBack", phase(aj)
        szk.set("/tmp2/a", b"3")
        # A second controller on the same subtree takes a higher stamp: the first one,
        # now stale, fails fast (and so does its abort).
        s1, s2 = os.path.join(TMP, "first.json"), os.path.join(TMP, "second.json")
        szk.create("/tmp3/a", b"1", makepath=True)
        migrate(src, dst, s1, *auth, "--until", "freeze", "run", subtree="/tmp3")
        migrate(src, dst, s2, *auth, "step", subtree="/tmp3")
        r = migrate(src, dst, s2, *auth, "step", subtree="/tmp3", check=False)
        assert r.returncode == 2 and "not empty" in r.stdout, "the second controller's preflight: target not empty"
        for action in ("step", "abort"):
            r = migrate(src, dst, s1, *auth, action, subtree="/tmp3", check=False)
            assert r.returncode == 1 and "stale controller" in r.stderr, r.stderr
        assert phase(s1) == "Freeze", phase(s1)
        # The real migration: one record and one fence per cluster, so it waits until
        # /tmp3's migration ends.
        journal = os.path.join(TMP, "zoolab-to-zoolab.json")
        r = migrate(src, dst, journal, *auth, "--until", "freeze", "run", subtree="/svc", check=False)
        assert r.returncode == 2 and "another migration" in r.stdout and "/tmp3" in r.stdout, r.stdout
        migrate(src, dst, s2, *auth, "abort", subtree="/tmp3")
        migrate(src, dst, journal, *auth, "--until", "freeze", "run", subtree="/svc")
        dzk = dst.client()
        try:
            dzk.create("/svc/early", b"")
            raise AssertionError("the target took a write in scope before the cut-over")
        except NotReadOnlyCallError:
            pass
        before = json.loads(szk.get("/zookeeper/migration")[0])["stamp"]
        r = migrate(src, dst, journal, *auth, "step", subtree="/svc")
        assert "write fence" in r.stdout and phase(journal) == "FinalSync"
        after = json.loads(szk.get("/zookeeper/migration")[0])["stamp"]
        assert after > before and f"claimed stamp {after}" in r.stdout, "every process start takes a new stamp"
        try:
            szk.set("/svc/d1", b"late")
            raise AssertionError("a write to the source after the freeze succeeded")
        except NotReadOnlyCallError:
            pass
        szk.set("/other", b"outside the fence")
        # Both ensembles are in epoch 1: a zxid margin in one epoch would not hold (the
        # fenced source still takes zxids), so the cut-over asks for the target's epoch above.
        # With --no-online-raise the operator raises it: the gate says how.
        r = migrate(src, dst, journal, *auth, "--no-online-raise", "run", subtree="/svc", check=False)
        assert r.returncode == 2 and phase(journal) == "CutOver", (r.returncode, phase(journal))
        assert "--min-epoch 1" in r.stdout, r.stdout
        for i in range(3):
            dst.restart(i, ["--min-epoch", "1"])
        dst.wait_formed()
        r = migrate(src, dst, journal, *auth, "run", subtree="/svc")
        assert phase(journal) == "Soak" and "commit" in r.stdout, "run stops before the point of no return"
        migrate(src, dst, journal, *auth, "commit", subtree="/svc")
        assert phase(journal) == "Committed", phase(journal)
        # The controller's own znodes refuse client writes, even the super-user's.
        for call, err in ((lambda: szk.delete("/zookeeper/migration-fence"), BadArgumentsError),
                          (lambda: szk.set("/zookeeper/migration", b"{}"), NoAuthError)):
            try:
                call()
                raise AssertionError("a client wrote the migration's fence or record")
            except err:
                pass
        dzk.stop()
        dzk = dst.client(auth_data=[("digest", "super:secret")])
        n = assert_same_trees(szk, dzk, "/svc", exact=True)
        print(f"{n} znodes equal with their Stat and ACL")
        dzk.create("/svc/after", b"")
        # The logical path (plain client writes; versions restart) on another subtree.
        build_tree(szk, "/logi")
        szk.delete("/logi/private")  # alice's ACL: the controller could not read it back
        lj = os.path.join(TMP, "logical.json")
        r = migrate(src, dst, lj, *auth, "--logical", "run", subtree="/logi")
        assert phase(lj) == "Soak" and "versions restart" in r.stdout, "the logical copy states its losses"
        # The target serves: its writes must come back to the source on an abort.
        dzk.create("/logi/made-on-target/x", b"new", makepath=True)
        dzk.set("/logi/d3/n4", b"changed on the target")
        dzk.delete("/logi/d4", recursive=True)
        target_seq = dzk.create("/logi/locks/lock-", sequence=True)
        # Abort after the cut-over (no --force: a zoolab target is fenced first, its writes
        # copied back by import into the fenced source, which stays fenced while its zxid
        # is not above the target's, epoch 1 < 2)...
        r = migrate(src, dst, lj, *auth, "--logical", "--no-online-raise", "abort", subtree="/logi", check=False)
        assert r.returncode == 2 and "not above the target's" in r.stdout and "--min-epoch 2" in r.stdout, r.stdout
        assert "copied back" in r.stdout and "verified" in r.stdout, r.stdout
        assert szk.get("/logi/d3/n4")[0] == b"changed on the target" and szk.exists("/logi/d4") is None
        assert szk.get("/logi/made-on-target/x")[0] == b"new" and szk.exists(target_seq)
        for zk, side in ((szk, "source"), (dzk, "target")):
            try:
                zk.set("/logi/versioned", b"two writers")
                raise AssertionError(f"the {side} took a write while the abort waits for the source's epoch")
            except NotReadOnlyCallError:
                pass
        n = assert_same_trees(szk, dzk, "/logi", exact=False)
        # ...until the controller may raise the source's epoch online: then the source is
        # above the target, unfenced, and the target stays fenced.
        r = migrate(src, dst, lj, *auth, "--logical", "abort", subtree="/logi")
        assert phase(lj) == "RolledBack" and "source's epoch raised online" in r.stdout, (phase(lj), r.stdout)
        seq = szk.create("/logi/locks/lock-", sequence=True)
        assert seq > target_seq, f"the source's sequence counter went back: {seq} after {target_seq}"
        szk.delete(seq)
        assert src.zxid() > dst.zxid(), (hex(src.zxid()), hex(dst.zxid()))
        szk.set("/logi/versioned", b"the source takes writes again")
        try:
            dzk.set("/logi/versioned", b"two writers")
            raise AssertionError("the target took a write after the abort")
        except NotReadOnlyCallError:
            pass
        assert dzk.get("/logi/versioned")[1].version == 0, "logically, versions restart"
        print(f"{n} znodes equal logically (data and ACL)")
        abort_after_the_cut_over(src, dst, szk, dzk, auth)
        dzk.stop()
        szk.stop()
    finally:
        src.stop()
        dst.stop()


def abort_after_the_cut_over(src, dst, szk, dzk, auth):
    """zoolab -> zoolab (exact): after the cut-over a client changes, creates and deletes
    nodes on the target, and kazoo writers keep writing there while the abort runs. The
    abort (no --force) fences the target, copies every difference back by import into
    the fenced source, verifies, raises the source's epoch and unfences it: every
    acknowledged write is on the source, with the target's exact Stat."""
    build_tree(szk, "/rev")
    rj = os.path.join(TMP, "rev.json")
    migrate(src, dst, rj, *auth, "run", subtree="/rev")
    assert phase(rj) == "Soak", phase(rj)
    dzk.set("/rev/d0/n0", b"changed on the target")
    dzk.set_acls("/rev/d0/n1", [make_digest_acl("bob", "pw", all=True)])
    dzk.delete("/rev/d1/n3")
    dzk.delete("/rev/d2", recursive=True)
    dzk.create("/rev/new/deep/node", b"created on the target", makepath=True)
    target_seq = dzk.create("/rev/locks/lock-", sequence=True)
    writers = Writers(dst, "/rev")
    time.sleep(1.0)
    # The abort is killed (SIGKILL, by its pid) once it has copied back, and run again:
    # nothing is left to copy, and it goes on (the journal, and each step idempotent).
    p = subprocess.Popen([ZOOLAB, "migrate", "--from", src.hosts(), "--to", dst.hosts(), "--subtree", "/rev",
                          "--journal", rj, *auth, "abort"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    first = []
    for line in p.stdout:
        first.append(line)
        if "copied back" in line:
            break
    p.kill()  # by its own pid
    first.append(p.communicate()[0])
    print("first abort (killed after its copy back):\n    " + "".join(first).replace("\n", "\n    "))
    assert any("copied back" in line and "verified" in line for line in first), first
    assert phase(rj) == "RollingBack", phase(rj)
    src.wait_formed()
    r = migrate(src, dst, rj, *auth, "abort", subtree="/rev")
    assert "copied back 0 differences" in r.stdout and "first pass: copied back" in r.stdout, r.stdout
    acked = writers.finish()
    print(f"writers on the target: {writers.count} acknowledged, {writers.refused} refused (fenced)")
    assert writers.count > 20 and writers.refused > 0, "the writers wrote until the target's fence"
    assert phase(rj) == "RolledBack" and "copied back" in r.stdout and "verified" in r.stdout, r.stdout
    assert "target fenced again" in r.stdout and "source unfenced" in r.stdout, r.stdout
    assert_acknowledged(szk, acked, "the source")
    n = assert_same_trees(szk, dzk, "/rev", exact=True)
    print(f"{n} znodes equal with their Stat and ACL after the copy back; {len(acked)} acknowledged keys checked")
    assert szk.exists("/rev/d2") is None and szk.exists("/rev/d1/n3") is None
    assert szk.get("/rev/new/deep/node")[0] == b"created on the target"
    assert szk.get_acls("/rev/d0/n1")[0] == [make_digest_acl("bob", "pw", all=True)]
    assert src.zxid() > dst.zxid(), (hex(src.zxid()), hex(dst.zxid()))
    # The source serves writes again; the target is fenced.
    szk.set("/rev/d0/n0", b"the source takes writes again")
    seq = szk.create("/rev/locks/lock-", sequence=True)
    assert seq > target_seq, f"the source's sequence counter went back: {seq} after {target_seq}"
    try:
        dzk.set("/rev/d0/n0", b"two writers")
        raise AssertionError("the target took a write after the abort")
    except NotReadOnlyCallError:
        pass
    r = migrate(src, dst, rj, *auth, "status", subtree="/rev")
    assert "copy back: copied back" in r.stdout, r.stdout


class Standalone:
    """One `zoolab server` without server.N lines."""

    def __init__(self, name):
        self.dir = os.path.join(TMP, name)
        os.makedirs(self.dir)
        (self.port,) = free_ports(1)
        self.ports = [self.port]
        cfg = os.path.join(self.dir, "zoo.cfg")
        zkprocs.write(cfg, f"tickTime=200\ndataDir={self.dir}\nclientPort={self.port}\nclientPortAddress={HOST}\n"
                           f"4lw.commands.whitelist=*\nDigestAuthenticationProvider.superDigest={SUPER_DIGEST}\n")
        self.proc = zkprocs.spawn([ZOOLAB, "server", "--config", cfg], os.path.join(self.dir, "server.log"))
        if not zkprocs.wait_for(lambda: four(self.port, "ruok") == "imok", 20):
            raise RuntimeError(f"zoolab server {name} did not start; see {self.dir}")

    def hosts(self):
        return f"{HOST}:{self.port}"

    def zxid(self):
        return int(srvr(self.port, "Zxid") or "0x0", 16)

    def client(self, **kw):
        zk = KazooClient(hosts=self.hosts(), timeout=10, **kw)
        zk.start(timeout=15)
        return zk

    def stop(self):
        zkprocs.kill(self.proc)  # by its own pid


def test_the_whole_tree_between_standalone_servers():
    src, dst = Standalone("standalone-source"), Standalone("standalone-target")
    try:
        szk = src.client(auth_data=[("digest", "super:secret")])
        build_tree(szk, "/top")
        szk.create("/second/level", b"2", makepath=True)
        journal = os.path.join(TMP, "whole.json")
        auth = ["--source-auth", "super:secret", "--target-auth", "super:secret"]
        # Into a chroot the target does not have yet: the exact path creates it (an
        # import under a missing parent is refused, not silently dropped).
        class Chrooted:
            def hosts(self):
                return dst.hosts() + "/moved/here"
        cj = os.path.join(TMP, "chroot.json")
        migrate(src, Chrooted(), cj, *auth, "--until", "freeze", "run", subtree="/second")
        dzk = dst.client(auth_data=[("digest", "super:secret")])
        assert dzk.get("/moved/here/second/level")[0] == b"2", "copied under the new chroot"
        migrate(src, Chrooted(), cj, *auth, "abort", subtree="/second")
        dzk.delete("/moved", recursive=True)
        dzk.stop()
        migrate(src, dst, journal, *auth, "--until", "final-sync", "run", subtree="/")
        try:
            szk.create("/new", b"")
            raise AssertionError("a standalone source took a write after its freeze")
        except NotReadOnlyCallError:
            pass
        # Standalone servers stay in epoch 0 and have no election to raise it: the
        # cut-over's gate stays closed and says so (the copy itself is complete).
        r = migrate(src, dst, journal, *auth, "--until", "committed", "run", subtree="/", check=False)
        assert r.returncode == 2 and phase(journal) == "CutOver", (r.returncode, phase(journal))
        assert "standalone" in r.stdout, r.stdout
        dzk = dst.client(auth_data=[("digest", "super:secret")])
        for top in ("/top", "/second"):
            assert_same_trees(szk, dzk, top, exact=True)
        ra, rb = szk.get("/")[1], dzk.get("/")[1]
        for f in STAT_FIELDS:
            assert getattr(ra, f) == getattr(rb, f), f"/: Stat.{f} {getattr(ra, f)} vs {getattr(rb, f)}"
        dzk.stop()
        szk.stop()
    finally:
        src.stop()
        dst.stop()


TESTS = [test_zookeeper_to_zoolab, test_zoolab_to_zoolab_with_the_fence, test_the_whole_tree_between_standalone_servers]


def main():
    global ZOOLAB, TMP
    ap = argparse.ArgumentParser()
    ap.add_argument("--zoolab", required=True)
    ap.add_argument("-k", default="")
    a = ap.parse_args()
    ZOOLAB = os.path.abspath(a.zoolab)
    TMP = tempfile.mkdtemp(prefix="zoolab-migrate-")
    failed = 0
    t0 = time.monotonic()
    for t in TESTS:
        if a.k not in t.__name__:
            continue
        s = time.monotonic()
        try:
            t()
            print(f"PASS {t.__name__} ({time.monotonic() - s:.1f} s)")
        except Exception:
            failed += 1
            traceback.print_exc()
            print(f"FAIL {t.__name__} (servers' logs in {TMP})")
    print(f"{'FAILED' if failed else 'passed'} in {time.monotonic() - t0:.1f} s")
    if not failed:
        shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
