#!/usr/bin/env python3
"""zoolab reads Apache ZooKeeper's dataDir: checked against a real ZooKeeper 3.8.

    python3 tests/zkfiles/zkfiles.py --zoolab target/debug/zoolab
        # `make test-zkfiles`: start a real standalone ZooKeeper, build a varied tree with
        # kazoo, restart it, write more, read its `hash`, kill it, then load its dataDir
        # with `zoolab zk-import` (snapshots + logs, and again with the snapshots removed)
        # and compare the digest and every node's data, Stat and ACL with what kazoo read;
        # serve it with `zoolab server --import-zk` and read it back with kazoo. Then the
        # same on a 3-server ensemble, every member's dataDir.
    python3 tests/zkfiles/zkfiles.py --record-fixture core/tests/data/zkfiles
        # `make zkfiles-fixture`: record the small dataDirs the core's unit tests read
        # without ZooKeeper (no 1 MiB node; the logs' zero padding trimmed).

The server is started and killed by its own pid; its session(s) are still open when it
dies, so the loaded tree has live sessions and their ephemerals. The workload pads with
writes until the last zxid is a multiple of 128: ZooKeeper's `hash` only lists the tree
digest at such zxids.
"""

import argparse
import base64
import json
import logging
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pyutil"))
import zkprocs  # noqa: E402  (free ports, four-letter words, starting and stopping servers)

PERMS = {1: "r", 2: "w", 4: "c", 8: "d", 16: "a"}


free_port = zkprocs.free_port
four_letter = zkprocs.four_letter


class ZooKeeper:
    """A standalone Apache ZooKeeper in a temporary directory."""

    def __init__(self, snap_count):
        self.dir = tempfile.mkdtemp(prefix="zoolab-zkfiles-")
        self.data = os.path.join(self.dir, "data")
        self.snap_count = snap_count
        self.proc = None

    def start(self, restart=False):
        for _ in range(5):
            if not restart:
                self.port = free_port()
                zkprocs.data_dir(self.data)
            cfg = os.path.join(self.dir, "zoo.cfg")
            zkprocs.write(cfg, f"tickTime=2000\ndataDir={self.data}\nclientPort={self.port}\n"
                               "clientPortAddress=127.0.0.1\nadmin.enableServer=false\n"
                               f"4lw.commands.whitelist=*\nsnapCount={self.snap_count}\npreAllocSize=16\n")
            props = ["zookeeper.extendedTypesEnabled=true", "znode.container.checkIntervalMs=3600000"]
            if restart:
                # After the restart, gzip-compressed snapshots: the dataDir holds both kinds.
                props.append("zookeeper.snapshot.compression.method=gz")
            cmd = zkprocs.zookeeper_command(self.dir, cfg, props, heap_mb=256, main=zkprocs.STANDALONE_MAIN)
            self.proc = zkprocs.spawn(cmd, os.path.join(self.dir, "stdout.txt"))
            if zkprocs.wait_answer(self.port, "srvr", 30, self.proc, want="Zookeeper version") is not None:
                return
            self.kill()
        raise RuntimeError("ZooKeeper did not start; see " + self.dir)

    def kill(self):
        zkprocs.kill(self.proc)  # its own pid
        self.proc = None


# --- raw requests kazoo has no API for (containers, TTL nodes) ------------------------------
def _int(v):
    return struct.pack("!i", v)


def _string(s):
    b = s.encode()
    return _int(len(b)) + b


def _acl(acl):
    out = _int(len(acl))
    for a in acl:
        out += _int(a.perms) + _string(a.id.scheme) + _string(a.id.id)
    return out


class RawCreate:
    """create with opcode 19 (container) or 21 (TTL), through kazoo's connection."""

    def __init__(self, path, data, acl, flags, ttl=None):
        self.type = 21 if ttl is not None else 19
        body = _string(path) + _int(len(data)) + data + _acl(acl) + _int(flags)
        if ttl is not None:
            body += struct.pack("!q", ttl)
        self.body = body

    def serialize(self):
        return bytearray(self.body)

    def deserialize(self, buf, off):
        return None


def raw(client, req):
    result = client.handler.async_result()
    client._call(req, result)
    return result.get(timeout=20)


def burst(client, n=300):
    """Many pipelined writes, so snapshots (every ~snapCount txns) are taken while the
    tree changes under them: fuzzy snapshots, which the replay must repair."""
    client.create("/burst")
    pending = []
    for i in range(n):
        p = f"/burst/n{i % 17}"
        if i % 3 == 0:
            pending.append(client.create_async(p + "-", str(i).encode(), sequence=True))
        elif i % 3 == 1:
            pending.append(client.create_async(p, b"x"))
        else:
            pending.append(client.delete_async(p))
    for r in pending:
        try:
            r.get(timeout=20)
        except Exception:
            pass  # NODEEXISTS / NONODE: these take no zxid in 3.8, harmless


def workload(hosts, big):
    """Builds a varied tree; returns the clients (still connected) and the last zxid."""
    from kazoo.client import KazooClient
    from kazoo.security import ACL, Id, OPEN_ACL_UNSAFE, make_digest_acl

    a = KazooClient(hosts=hosts, timeout=30, auth_data=[("digest", "alice:secret")])
    a.start(timeout=20)
    b = KazooClient(hosts=hosts, timeout=30)
    b.start(timeout=20)
    c = KazooClient(hosts=hosts, timeout=30)
    c.start(timeout=20)

    a.create("/app", b"app data")
    a.create("/app/cfg", b"v0", acl=[make_digest_acl("alice", "secret", all=True),
                                     ACL(1, Id("ip", "127.0.0.1")), ACL(1, Id("ip", "10.0.0.0/8"))])
    for i in range(5):
        a.set("/app/cfg", f"v{i + 1}".encode())
    a.set_acls("/app/cfg", [make_digest_acl("alice", "secret", all=True), ACL(31, Id("ip", "127.0.0.1"))])
    for i in range(6):
        a.create("/app/seq-", f"item {i}".encode(), sequence=True)
    for name in sorted(a.get_children("/app"))[:3]:
        if name.startswith("seq-"):
            a.delete("/app/" + name)
    a.create("/app/eph", b"alice's", ephemeral=True)
    a.create("/app/eph-", b"", ephemeral=True, sequence=True)
    b.create("/app/b-eph", b"bob's", ephemeral=True)
    c.create("/app/c-eph", b"carol's", ephemeral=True)
    raw(a, RawCreate("/cont", b"container", OPEN_ACL_UNSAFE, 4))
    a.create("/cont/child", b"x")
    raw(a, RawCreate("/ttl", b"ttl node", OPEN_ACL_UNSAFE, 5, ttl=3_600_000))
    raw(a, RawCreate("/ttl-seq-", b"", OPEN_ACL_UNSAFE, 6, ttl=60_000))
    a.create("/deep/a/b/c", b"deep", makepath=True)
    a.create("/empty", b"")
    a.create("/null", None)  # a -1 buffer, as zkCli's `create /null`: ZooKeeper keeps null
    a.create("/unicode-é", "données".encode())
    a.create("/binary", bytes(range(256)))
    # Deletes so counters run ahead of the children.
    for i in range(4):
        a.create(f"/deep/gone{i}")
    for i in range(4):
        a.delete(f"/deep/gone{i}")
    # A multi that succeeds, and one that fails (an error txn in the log).
    t = a.transaction()
    t.create("/multi", b"m")
    t.create("/multi/x", b"mx")
    t.set_data("/app", b"app data 2")
    t.check("/empty", 0)
    t.delete("/deep/a/b/c")
    t.commit()
    t = a.transaction()
    t.create("/never", b"")
    t.delete("/does-not-exist")
    t.commit()
    try:
        a.delete("/app")  # NOTEMPTY: no txn in 3.8 (errors are local), but harmless
    except Exception:
        pass
    if big:
        burst(a)
        a.create("/big", b"z" * (1024 * 1024 - 200))
        a.set("/big", b"y" * (1024 * 1024 - 300))
    # Carol goes away: closeSession with her ephemeral.
    c.stop()
    c.close()
    # Pad to a zxid multiple of 128 (the `hash` word lists only those).
    a.create("/pad", b"")
    zxid = a.exists("/pad").mzxid
    i = 0
    while zxid % 128 != 0:
        i += 1
        zxid = a.set("/pad", str(i).encode()).mzxid
    return [a, b], zxid


def after_restart(zk, clients):
    """Kill ZooKeeper and start it again on the same dataDir (it reloads, snapshots, and
    the clients resume their sessions), then write more: a dataDir with a history."""
    zk.kill()
    zk.start(restart=True)
    a = clients[0]
    deadline = time.monotonic() + 30
    while not a.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    a.create("/after-restart", b"again")
    a.set("/app", b"app data 3")
    zxid = a.set("/pad", b"restart").mzxid
    i = 0
    while zxid % 128 != 0:
        i += 1
        zxid = a.set("/pad", f"r{i}".encode()).mzxid
    # Bob's client must be back too before his session counts as live.
    while not clients[1].connected and time.monotonic() < deadline:
        time.sleep(0.05)
    return zxid


def hash_lines(port):
    """The `hash` word's lines: zxid -> digest (a signed long)."""
    lines = {}
    for line in four_letter(port, "hash").splitlines():
        if ":" in line:
            z, d = line.split(":", 1)
            lines[int(z.strip(), 16)] = int(d.strip())
    return lines


def live_sessions(port):
    """ZooKeeper's session table, from the `dump` word's SessionTracker section."""
    text = four_letter(port, "dump")
    tracker = text.split("ephemeral nodes dump", 1)[0]
    return sorted({int(line.strip(), 16) for line in tracker.splitlines()
                   if line.strip().startswith("0x")})


def dump(client):
    """Every node as kazoo reads it: data, Stat, ACL."""
    out = []
    stack = ["/"]
    while stack:
        path = stack.pop()
        data, stat = client.get(path)
        acl, _ = client.get_acls(path)
        out.append({
            "path": path,
            "data": None if data is None else base64.b64encode(data).decode(),
            "stat": {k: getattr(stat, k) for k in (
                "czxid", "mzxid", "ctime", "mtime", "version", "cversion", "aversion",
                "ephemeralOwner", "dataLength", "numChildren", "pzxid")},
            "acl": [{"perms": a.perms, "scheme": a.id.scheme, "id": a.id.id} for a in acl],
        })
        for child in client.get_children(path):
            stack.append(("" if path == "/" else path) + "/" + child)
    out.sort(key=lambda n: n["path"])
    return out


def close_all(clients):
    """Closes kazoo clients whose server may be gone (killed under them on purpose)."""
    for c in clients:
        try:
            c.stop()
            c.close()
        except Exception:
            pass


def expected_of(zxid, lines, sessions, nodes):
    """What zoolab must reproduce (expected.json): the last zxid, ZooKeeper's `hash` there
    (as an unsigned 64-bit number) and its other lines, the live sessions and every node."""
    return {"zxid": zxid, "hash": lines[zxid] & 0xFFFFFFFFFFFFFFFF, "sessions": sessions, "nodes": nodes,
            "hash_lines": {f"{z:x}": d for z, d in sorted(lines.items())}}


def record(snap_count, big, restart=False):
    """Runs a real ZooKeeper through the workload; returns (the server, expected)."""
    zk = ZooKeeper(snap_count)
    zk.start()
    clients = []
    try:
        clients, zxid = workload(f"127.0.0.1:{zk.port}", big)
        if restart:
            zxid = after_restart(zk, clients)
        lines = hash_lines(zk.port)
        if zxid not in lines:
            raise RuntimeError(f"hash has no line for zxid {zxid:#x}: {lines}")
        nodes = dump(clients[0])
        sessions = live_sessions(zk.port)
        if zxid != max(max(n["stat"]["mzxid"], n["stat"]["pzxid"]) for n in nodes):
            raise RuntimeError("a write after the padding")
    finally:
        zk.kill()
    close_all(clients)
    return zk, expected_of(zxid, lines, sessions, nodes)


class Ensemble:
    """A three-server Apache ZooKeeper ensemble on loopback: zxids with a real epoch."""

    def __init__(self, snap_count, n=3):
        self.dir = tempfile.mkdtemp(prefix="zoolab-zkfiles-ens-")
        self.n = n
        self.snap_count = snap_count
        self.procs = []

    def data(self, i):
        return os.path.join(self.dir, f"data{i}")

    def start(self):
        ports = [(free_port(), free_port(), free_port()) for _ in range(self.n)]
        self.ports = [p[0] for p in ports]
        servers = zkprocs.server_lines([(q, e) for _, q, e in ports])
        for i in range(self.n):
            zkprocs.data_dir(self.data(i + 1), myid=i + 1)
            cfg = os.path.join(self.dir, f"zoo{i + 1}.cfg")
            zkprocs.write(cfg, f"tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir={self.data(i + 1)}\n"
                               f"clientPort={self.ports[i]}\nclientPortAddress=127.0.0.1\n"
                               "admin.enableServer=false\n4lw.commands.whitelist=*\n"
                               f"snapCount={self.snap_count}\npreAllocSize=16\n" + servers)
            cmd = zkprocs.zookeeper_command(
                self.dir, cfg, ["zookeeper.extendedTypesEnabled=true", "znode.container.checkIntervalMs=3600000"],
                n=i + 1)
            self.procs.append(zkprocs.spawn(cmd, os.path.join(self.dir, f"stdout{i + 1}.txt")))
        if not zkprocs.wait_for(lambda: all(self.mode(i) in ("leader", "follower") for i in range(self.n)),
                                90, interval=0.2):
            raise RuntimeError("the ensemble did not form; see " + self.dir)

    def mode(self, i):
        return zkprocs.srvr(self.ports[i], "Mode")

    def zxid(self, i):
        for line in four_letter(self.ports[i], "srvr").splitlines():
            if line.startswith("Zxid:"):
                return int(line.split(":", 1)[1].strip(), 16)
        return -1

    def hosts(self):
        return ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def kill(self):
        zkprocs.kill_all(self.procs)  # each by its own pid
        self.procs = []


def record_ensemble(snap_count):
    """The workload on a real ensemble; returns (ensemble, expected), every server at the
    last zxid when they are killed."""
    ens = Ensemble(snap_count)
    clients = []
    try:
        ens.start()
        clients, zxid = workload(ens.hosts(), big=False)
        deadline = time.monotonic() + 30
        while any(ens.zxid(i) < zxid for i in range(ens.n)):
            if time.monotonic() > deadline:
                raise RuntimeError("the followers did not catch up")
            time.sleep(0.05)
        leader = next(i for i in range(ens.n) if ens.mode(i) == "leader")
        lines = hash_lines(ens.ports[leader])
        if zxid not in lines:
            raise RuntimeError(f"hash has no line for zxid {zxid:#x}: {lines}")
        nodes = dump(clients[0])
        sessions = live_sessions(ens.ports[leader])
    finally:
        ens.kill()
    close_all(clients)
    return ens, expected_of(zxid, lines, sessions, nodes)


def datadirs(zk, into):
    """Two copies of the dataDir: as ZooKeeper left it, and with every snapshot removed."""
    both = os.path.join(into, "snap-and-logs")
    logs = os.path.join(into, "logs-only")
    for d in (both, logs):
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(zk.data, d)
    for name in os.listdir(os.path.join(logs, "version-2")):
        if name.startswith("snapshot."):
            os.remove(os.path.join(logs, "version-2", name))
    return both, logs


def compare(zoolab, data_dir, expected, ensemble=False, replays_all=False):
    out = subprocess.run([zoolab, "zk-import", "--data-dir", data_dir, "--json"],
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        return [f"zk-import failed ({out.returncode}): {out.stderr.strip()}"]
    got = json.loads(out.stdout)
    errors = []
    if got["zxid"] != expected["zxid"]:
        errors.append(f"zxid {got['zxid']:#x} != ZooKeeper's {expected['zxid']:#x}")
    if got["digest"] != expected["hash"]:
        errors.append(f"digest {got['digest']} != ZooKeeper's hash {expected['hash']}")
    if got.get("digest_mismatches", 0) != 0:
        errors.append(f"{got['digest_mismatches']} txn digests differ from ZooKeeper's TxnDigest")
    # zoolab's `hash` lines (the replayed zxids) must be ZooKeeper's for the same zxids.
    compared = 0
    for line in got["hash"].splitlines():
        z, d = line.split(": ")
        if z in expected["hash_lines"]:
            compared += 1
            if int(d) != expected["hash_lines"][z]:
                errors.append(f"hash line {z}: {d} != ZooKeeper's {expected['hash_lines'][z]}")
    # (A snapshot at or after the last multiple of 128 leaves nothing to compare; a
    # replay of every log always has lines.)
    if compared == 0 and replays_all:
        errors.append(f"no hash line to compare: {got['hash']!r} vs {expected['hash_lines']}")
    for w in got["warnings"] + got["skipped_snapshots"]:
        # A member's snapshot written while transactions were applied (fuzzy) can carry
        # the digest of its own zxid over nodes a later transaction already changed:
        # ZooKeeper never compares that digest, zoolab says so and checks the log after it.
        if ensemble and "fuzzy snapshot" in w:
            print(f"note: {data_dir}: {w}")
            continue
        errors.append(f"unexpected: {w}")
    have = {n["path"]: n for n in got["nodes"]}
    for n in expected["nodes"]:
        g = have.pop(n["path"], None)
        if g is None:
            errors.append(f"{n['path']}: missing")
            continue
        data = None if n["data"] is None else base64.b64decode(n["data"]).hex()
        if g["data_hex"] != data:
            errors.append(f"{n['path']}: data {str(g['data_hex'])[:80]} != ZooKeeper's {str(data)[:80]}")
        if ensemble and n["path"] == "/zookeeper/config":
            # Each member writes its own config node at startup, with its own clock (not
            # replicated, outside the digest): kazoo read one member's.
            g["stat"] = dict(g["stat"], mtime=n["stat"]["mtime"])
        for k in ("stat", "acl"):
            if g[k] != n[k]:
                errors.append(f"{n['path']}: {k} {g[k]} != ZooKeeper's {n[k]}")
    for p in have:
        errors.append(f"{p}: not in ZooKeeper")
    live = sorted(int(s) for s in got["sessions"])
    if live != expected["sessions"]:
        errors.append(f"sessions {live} != live sessions {expected['sessions']}")
    return errors


def serve_imported(zoolab, zk_dir, expected):
    """`zoolab server --import-zk`: a real client must read the same tree from it."""
    from kazoo.client import KazooClient

    work = tempfile.mkdtemp(prefix="zoolab-zkfiles-server-")
    errors = []
    proc = None
    try:
        port = free_port()
        cfg = os.path.join(work, "zoo.cfg")
        zkprocs.write(cfg, f"tickTime=2000\ndataDir={work}/data\nclientPort={port}\n"
                           "clientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\n")
        proc = zkprocs.spawn([zoolab, "server", "--config", cfg, "--import-zk", zk_dir],
                             os.path.join(work, "server.log"))
        if zkprocs.wait_answer(port, "srvr", 20, proc) is None:
            with open(os.path.join(work, "server.log")) as f:
                return [f"zoolab server --import-zk did not start: {f.read()[-2000:]}"]
        client = KazooClient(hosts=f"127.0.0.1:{port}", timeout=30, auth_data=[("digest", "alice:secret")])
        client.start(timeout=20)
        try:
            got = {n["path"]: n for n in dump(client)}
        finally:
            client.stop()
            client.close()
        for n in expected["nodes"]:
            g = got.pop(n["path"], None)
            if g is None:
                errors.append(f"served: {n['path']} missing")
            elif g != n:
                errors.append(f"served: {n['path']}: {g} != ZooKeeper's {n}")
        errors.extend(f"served: {p} not in ZooKeeper" for p in got)
    finally:
        zkprocs.kill(proc)  # its own pid
        shutil.rmtree(work, ignore_errors=True)
    return errors


def trim_padding(root):
    """Drops the preallocated zeros after the last record of every log (fixtures stay small)."""
    for dirpath, _, files in os.walk(root):
        for name in files:
            if name.startswith("log."):
                p = os.path.join(dirpath, name)
                with open(p, "rb") as f:
                    b = f.read()
                with open(p, "wb") as f:
                    f.write(b.rstrip(b"\0"))


def report(label, errors, ok, sep=": "):
    """Prints one check's line: `ok   label: ok`, or `FAIL label:` and its first 40 errors.
    Returns whether it failed."""
    if errors:
        print(f"FAIL {label}:")
        for e in errors[:40]:
            print("  " + e)
        return True
    print(f"ok   {label}{sep}{ok}")
    return False


def main():
    # The servers are killed under connected clients on purpose: keep kazoo quiet about it.
    logging.getLogger("kazoo").setLevel(logging.CRITICAL)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zoolab", help="the zoolab binary to check")
    ap.add_argument("--record-fixture", metavar="DIR", help="record small dataDirs and expected.json")
    ap.add_argument("--snap-count", type=int, default=40)
    args = ap.parse_args()
    if args.record_fixture:
        zk, expected = record(args.snap_count, big=False)
        os.makedirs(args.record_fixture, exist_ok=True)
        both, logs = datadirs(zk, args.record_fixture)
        trim_padding(args.record_fixture)
        with open(os.path.join(args.record_fixture, "expected.json"), "w") as f:
            json.dump(expected, f, indent=1, sort_keys=True)
            f.write("\n")
        shutil.rmtree(zk.dir, ignore_errors=True)
        # One member of an ensemble: zxids with an epoch.
        ens, expected = record_ensemble(args.snap_count)
        member = os.path.join(args.record_fixture, "ensemble-member")
        shutil.rmtree(member, ignore_errors=True)
        shutil.copytree(os.path.join(ens.data(1), "version-2"), os.path.join(member, "version-2"))
        trim_padding(member)
        with open(os.path.join(args.record_fixture, "expected-ensemble.json"), "w") as f:
            json.dump(expected, f, indent=1, sort_keys=True)
            f.write("\n")
        shutil.rmtree(ens.dir, ignore_errors=True)
        print(f"recorded {args.record_fixture}: zxid {expected['zxid']:#x}, {len(expected['nodes'])} nodes")
        return 0
    if not args.zoolab:
        ap.error("--zoolab or --record-fixture")
    zk, expected = record(args.snap_count, big=True, restart=True)
    both, logs = datadirs(zk, zk.dir)
    failed = False
    for d in (both, logs):
        snaps = sorted(n for n in os.listdir(os.path.join(d, "version-2")) if n.startswith("snapshot."))
        errors = compare(args.zoolab, d, expected, replays_all=(d == logs))
        gz = sum(1 for n in snaps if n.endswith(".gz"))
        if d == both and not (0 < gz < len(snaps)):
            errors.append(f"expected plain and gzip snapshots, got {snaps}")
        label = f"{os.path.basename(d)} ({len(snaps)} snapshots, {gz} gzip)"
        failed |= report(label, errors, f"zxid {expected['zxid']:#x}, {len(expected['nodes'])} nodes, "
                                        f"digest {expected['hash']} = ZooKeeper's hash (and its lines for replayed zxids)")
    errors = serve_imported(args.zoolab, both, expected)
    failed |= report("zoolab server --import-zk", errors,
                     f"serves the same {len(expected['nodes'])} nodes to kazoo", sep=" ")
    ens, expected = record_ensemble(args.snap_count)
    for i in range(ens.n):
        errors = compare(args.zoolab, ens.data(i + 1), expected, ensemble=True)
        failed |= report(f"ensemble server {i + 1}", errors, f"zxid {expected['zxid']:#x}, "
                         f"{len(expected['nodes'])} nodes, digest {expected['hash']} = the leader's hash")
    if failed:
        print("kept " + zk.dir + " and " + ens.dir)
        return 1
    shutil.rmtree(zk.dir, ignore_errors=True)
    shutil.rmtree(ens.dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
