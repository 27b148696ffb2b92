#!/usr/bin/env python3
"""Differential test: the same operation sequences through kazoo against a live Apache
ZooKeeper 3.8 and a live zoolab, answers compared field by field.

    python3 tests/differential/differential.py --zoolab target/debug/zoolab
    python3 tests/differential/differential.py --zoolab target/debug/zoolab --target standalone \\
        --seeds 7 --ops 300                        # one target, one seed, a longer sequence

Targets (each a fresh Apache ZooKeeper and a fresh zoolab, started empty on free loopback
ports, stopped by their own pids):
  standalone        one server each, extendedTypesEnabled=true
  standalone-nottl  one server each, extendedTypesEnabled left at its default (off)
  ensemble          three participants each (sessions spread over the members)

Sequences, run in the same order on both sides of a target:
  - the conformance cases (tests/conformance/cases) that fit a shared, long-lived server:
    those without `wait` steps (timed expiry is compared with the goldens by
    `make test-server-conformance`) and without a session the server ends (AUTHFAILED:
    that session then expires after its timeout, a closeSession transaction at a moment
    the sequence does not fix, which would shift every later zxid on one side only),
    every absolute path moved under `/cN` (N the case's index; `/zookeeper...` paths are
    left alone);
  - seeded random sequences (the seeds of SEEDS below, or --seeds): four sessions creating
    in every mode (sequential, ephemeral, container, TTL), setData and delete with
    versions, multis that fail and succeed, setACL/getACL with digest auth, getChildren2,
    exists, sync, data/child/persistent/recursive watches with their events, sessions
    closed (their ephemerals go) and reconnected.

Compared: every result or error code, every Stat field (ctime and mtime set to 0; an
ephemeralOwner becomes the session's name; zxids exactly, since both sides start empty and
take the same transactions, createSession and closeSession included), every watch event,
and at the end of each sequence the `hash` four-letter word: an admin session writes a
filler node until the zxid is a multiple of 128 (`hash` lists only those), then every
member's digest at that zxid must be the same on both sides. Differences print the target,
the sequence (seed), the step, the operation and both answers.

In an ensemble, reads and `events` are preceded by a `sync` of the same session, so a
member that has not yet applied another member's write cannot make the answers differ by
timing; zxids carry the epoch (1 on both sides after the first election: compared as they
are).
"""

import argparse
import json
import multiprocessing
import os
import random
import re
import shutil
import sys
import struct
import tempfile
import time
import traceback
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "conformance"))
import record  # noqa: E402  (the conformance recorder: jute requests, kazoo runner, cases)
sys.path.insert(0, os.path.join(HERE, "..", "pyutil"))
import zkprocs  # noqa: E402  (free ports, four-letter words, starting and stopping servers)

SEEDS = list(range(1, 11))
OPS_PER_SEED = 160
TICK_TIME = 2000
FILLER = "/diff-filler"


def wait_until(pred, secs, what):
    if not zkprocs.wait_for(pred, secs, ignore=OSError):
        raise RuntimeError(f"timed out waiting for {what}")


class Cluster:
    """n servers of one kind (ZooKeeper or zoolab) in a temporary directory."""

    def __init__(self, kind, n, ttl, zoolab_bin):
        self.kind, self.n, self.ttl, self.bin = kind, n, ttl, zoolab_bin
        self.dir = tempfile.mkdtemp(prefix=f"zoolab-diff-{kind}-")
        self.procs = []

    def start(self):
        for _ in range(3):
            try:
                self._start()
                return
            except RuntimeError:
                self.stop()  # a port taken meanwhile, or a slow start: once more on new ports
        self._start()

    def _start(self):
        self.ports = [zkprocs.free_port() for _ in range(self.n)]
        peers = [(zkprocs.free_port(), zkprocs.free_port()) for _ in range(self.n)] if self.n > 1 else []
        lines = zkprocs.server_lines(peers)
        for i in range(self.n):
            data = zkprocs.data_dir(os.path.join(self.dir, f"data{i + 1}"), myid=i + 1 if self.n > 1 else None)
            cfg = os.path.join(self.dir, f"zoo{i + 1}.cfg")
            common = (f"tickTime={TICK_TIME}\ninitLimit=10\nsyncLimit=5\ndataDir={data}\n"
                      f"clientPort={self.ports[i]}\nclientPortAddress=127.0.0.1\n"
                      # No fsync per write on either side: the suite compares answers, not
                      # durability, and the machine is shared.
                      "4lw.commands.whitelist=*\nforceSync=no\n" + lines)
            if self.kind == "zookeeper":
                zkprocs.write(cfg, common + "admin.enableServer=false\n")
                props = ["znode.container.checkIntervalMs=3600000",
                         f"zookeeper.DigestAuthenticationProvider.superDigest={record.SUPER_DIGEST}"]
                if self.ttl:
                    props.append("zookeeper.extendedTypesEnabled=true")
                cmd = zkprocs.zookeeper_command(self.dir, cfg, props, n=i + 1)
            else:
                zkprocs.write(cfg, common + "znode.container.checkIntervalMs=3600000\n"
                                   f"DigestAuthenticationProvider.superDigest={record.SUPER_DIGEST}\n"
                                   + ("extendedTypesEnabled=true\n" if self.ttl else ""))
                cmd = [self.bin, "server", "--config", cfg]
            self.procs.append(zkprocs.spawn(cmd, os.path.join(self.dir, f"server{i + 1}.log")))
        want = ("standalone",) if self.n == 1 else ("leader", "follower")

        def up():
            if any(p.poll() is not None for p in self.procs):
                raise RuntimeError(f"a {self.kind} server exited; see {self.dir}")
            return all(zkprocs.srvr(p, "Mode") in want for p in self.ports)
        wait_until(up, 90, f"{self.kind} to serve (logs in {self.dir})")

    def hash_lines(self, i):
        out = {}
        for line in zkprocs.four_letter(self.ports[i], "hash", timeout=1.0).splitlines():
            k, sep, v = line.partition(":")
            if sep and k.strip():
                out[k.strip()] = v.strip()
        return out

    def stop(self):
        zkprocs.kill_all(self.procs)  # each by its own pid
        self.procs = []

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# --- sequences -----------------------------------------------------------------------------
def moved(path, prefix):
    if not isinstance(path, str) or not path.startswith("/") or path.startswith("/zookeeper"):
        return path
    return prefix if path == "/" else prefix + path


def conformance_sequences():
    """(name, steps): each fitting case with its paths moved under its own /cN."""
    out = []
    groups = record.load_groups()
    ends_by_expiry = set()
    for g in groups:
        with open(os.path.join(record.GOLDEN_DIR, g + ".json"), encoding="utf-8") as f:
            for c in json.load(f)["cases"]:
                if any(isinstance(r, dict) and r.get("error") in ("AUTHFAILED", "SESSIONEXPIRED")
                       for r in c["results"]):
                    ends_by_expiry.add(c["name"])
    n = 0
    for g in sorted(groups):
        for case in groups[g]:
            n += 1
            if any(s["op"] == "wait" for s in case["steps"]) or case["name"] in ends_by_expiry:
                continue
            prefix = f"/c{n}"
            steps = [{"session": "_admin", "op": "create", "path": prefix, "data": "", "mode": "persistent"}]
            for s in case["steps"]:
                s = json.loads(json.dumps(s))
                for k in ("path", "prefix"):
                    if k in s:
                        s[k] = moved(s[k], prefix)
                for sub in s.get("ops", []):
                    sub["path"] = moved(sub["path"], prefix)
                steps.append(s)
            out.append((f"case {g}/{case['name']}", steps, prefix, False))
        if out:
            # The digest and the whole tree are compared at the end of each group.
            out[-1] = out[-1][:3] + (True,)
    return out


MODES = list(record.MODES)
ACLS = [
    record.OPEN_ACL,
    [{"perms": "r", "scheme": "world", "id": "anyone"}],
    [{"perms": "cdrwa", "scheme": "digest", "id": record.digest_id("u1:pw1")},
     {"perms": "r", "scheme": "world", "id": "anyone"}],
    [{"perms": "crw", "scheme": "world", "id": "anyone"}],
    [{"perms": "cdrwa", "scheme": "auth", "id": ""}],
]


def random_sequence(seed, n_ops, ensemble, ttl):
    """A seeded random sequence of steps in the conformance recorder's format."""
    rng = random.Random(seed)
    root = f"/r{seed}"
    sessions = ["s0", "s1", "s2", "s3"]
    steps = [{"session": "_admin", "op": "create", "path": root, "data": "", "mode": "persistent"}]
    open_ = set()
    authed = set()

    def path():
        depth = rng.choice([1, 1, 2, 2, 3])
        return root + "".join("/" + rng.choice("abc") for _ in range(depth))

    def data():
        # None: a null buffer (zkCli's create without data), distinct from "".
        return rng.choice([None, "", "x", "hello", "v" * rng.randint(1, 40)])

    def version():
        return rng.choice([-1, -1, 0, 1, 2])

    def session():
        s = rng.choice(sessions)
        if s not in open_:
            steps.append({"session": s, "op": "connect"})
            open_.add(s)
        return s

    def read(s, step):
        if ensemble:
            steps.append({"session": s, "op": "sync", "path": "/"})
        steps.append(step)

    def create_args():
        mode = rng.choice(MODES)
        a = {"path": path() + rng.choice(["", "", "-"]), "data": data(), "mode": mode}
        if "ttl" in mode:
            a["ttl"] = rng.choice([3_600_000, 3_600_000, 0, -5])
        if rng.random() < 0.15:
            a["acl"] = rng.choice(ACLS)
        return a

    for _ in range(n_ops):
        r = rng.random()
        s = session()
        if r < 0.22:
            steps.append({"session": s, "op": "create", **create_args()})
        elif r < 0.34:
            steps.append({"session": s, "op": "set_data", "path": path(), "data": data(), "version": version()})
        elif r < 0.42:
            steps.append({"session": s, "op": "delete", "path": path(), "version": version()})
        elif r < 0.48:
            read(s, {"session": s, "op": "exists", "path": path(), "watch": rng.random() < 0.5})
        elif r < 0.54:
            read(s, {"session": s, "op": "get_data", "path": path(), "watch": rng.random() < 0.5})
        elif r < 0.60:
            read(s, {"session": s, "op": "get_children", "path": rng.choice([root, path()]),
                     "watch": rng.random() < 0.5, "with_stat": rng.random() < 0.7})
        elif r < 0.68:
            ops = []
            for _ in range(rng.randint(1, 4)):
                k = rng.choice(["check", "create", "delete", "set_data"])
                if k == "check":
                    ops.append({"op": "check", "path": path(), "version": version()})
                elif k == "create":
                    a = create_args()
                    ops.append({"op": "create", **a})
                elif k == "delete":
                    ops.append({"op": "delete", "path": path(), "version": version()})
                else:
                    ops.append({"op": "set_data", "path": path(), "data": data(), "version": version()})
            steps.append({"session": s, "op": "multi", "ops": ops})
        elif r < 0.72:
            read(s, {"session": s, "op": "get_acl", "path": path()})
        elif r < 0.76:
            steps.append({"session": s, "op": "set_acl", "path": path(), "acl": rng.choice(ACLS),
                          "version": rng.choice([-1, -1, 0, 1])})
        elif r < 0.79:
            steps.append({"session": s, "op": "sync", "path": rng.choice([root, path()])})
        elif r < 0.86:
            if ensemble:
                steps.append({"session": s, "op": "sync", "path": "/"})
            steps.append({"session": s, "op": "events"})
        elif r < 0.89:
            read(s, {"session": s, "op": "add_watch", "path": rng.choice([root, path()]),
                     "mode": rng.choice(["persistent", "persistent_recursive"])})
        elif r < 0.91:
            steps.append({"session": s, "op": "remove_watches", "path": path(),
                          "type": rng.choice(["children", "data", "any"])})
        elif r < 0.93:
            if s not in authed:
                steps.append({"session": s, "op": "add_auth", "scheme": "digest", "auth": "u1:pw1"})
                authed.add(s)
        elif r < 0.96:
            read(s, {"session": s, "op": "get_ephemerals", "prefix": root})
        else:
            steps.append({"session": s, "op": "close"})
            open_.discard(s)
            authed.discard(s)
    # Every session's events so far, then close them all (their ephemerals go, watchers told).
    for s in sorted(open_):
        if ensemble:
            steps.append({"session": s, "op": "sync", "path": "/"})
        steps.append({"session": s, "op": "events"})
    for s in sorted(open_):
        steps.append({"session": s, "op": "close"})
    return steps


# --- running one side ----------------------------------------------------------------------
class SideRunner(record.Runner):
    """The recorder's runner, with each session connected to a chosen member, an admin
    session, and sessions reused by name across reconnects."""

    def __init__(self, cluster, steps):
        super().__init__({"steps": steps}, None)
        self.cluster = cluster

    def member_of(self, sess):
        return 0 if sess == "_admin" else sum(map(ord, sess)) % self.cluster.n

    def step(self, s):
        if s["op"] == "connect":
            self.server = type("S", (), {"port": self.cluster.ports[self.member_of(s["session"])]})
        res = super().step(s)
        # Containers and TTL nodes show ephemeralOwner 0 to clients, but the digest covers the
        # persisted owner: remember it by czxid and path for `digest_of`.
        if s["op"] == "create":
            note_owner(s, res["path"], res["stat"])
        elif s["op"] == "multi":
            for sub, r in zip(s["ops"], res):
                if sub["op"] == "create" and (sub["mode"] == "container" or "ttl" in sub["mode"]):
                    st = r.get("stat")
                    if st is None:  # a create inside a multi may come back without its Stat
                        st = self.call("_admin", record.Req(3, record.w_string(r["path"]) + record.w_bool(False),
                                                            lambda rd: rd.stat()))
                    if st is not None:
                        note_owner(sub, r["path"], st)
        return res


OWNERS = {}  # (czxid, path) -> persisted ephemeralOwner of a container or TTL node


def note_owner(create, path, stat):
    mode = create["mode"]
    if mode == "container":
        OWNERS[stat["czxid"], path] = -(1 << 63)
    elif "ttl" in mode:
        owner = 0xff00_0000_0000_0000 | create["ttl"]
        OWNERS[stat["czxid"], path] = owner - (1 << 64)


def run_side(kind, n, ttl, zoolab_bin, sequences, out):
    """In a worker process: start the cluster, run every sequence, put the answers on `out`."""
    record.patch_kazoo()
    cluster = Cluster(kind, n, ttl, zoolab_bin)
    admin = None
    try:
        cluster.start()
        admin = SideRunner(cluster, [])
        admin.step({"session": "_admin", "op": "connect"})
        admin.step({"session": "_admin", "op": "add_auth", "scheme": "digest",
                    "auth": f"{record.SUPER_USER}:{record.SUPER_PASSWORD}"})
        admin.step({"session": "_admin", "op": "create", "path": FILLER, "data": "", "mode": "persistent"})
        results = []
        for name, steps, root, checkpoint in sequences:
            runner = SideRunner(cluster, steps)
            runner.clients["_admin"] = admin.clients["_admin"]
            runner.session_names.update(admin.session_names)
            try:
                res = runner.run()
            except Exception as e:
                res = [{"failed": str(e)}]
            finally:
                for sname, c in runner.clients.items():
                    if sname != "_admin":
                        try:
                            c.stop()
                            c.close()
                        except Exception:
                            pass
            if checkpoint:
                point = digest_point(cluster, admin)
                results.append((res, tree_of(admin), point))
            else:
                results.append((res, tree_of(admin, root), None))
        out.put((kind, results, None))
    except Exception:
        out.put((kind, None, traceback.format_exc()))
    finally:
        try:
            for c in (admin.clients.values() if admin else ()):
                c.stop()
                c.close()
        except Exception:
            pass
        cluster.cleanup()


def digest_point(cluster, admin):
    """Write the filler until the zxid is a multiple of 128; every member's `hash` there."""
    zxid = admin.step({"session": "_admin", "op": "set_data", "path": FILLER, "data": "f"})["mzxid"]
    while zxid % 128:
        zxid = admin.step({"session": "_admin", "op": "set_data", "path": FILLER, "data": "f"})["mzxid"]
    key_hex, key_dec = f"{zxid:x}", str(zxid)
    per_member = []
    for i in range(cluster.n):
        got = {}

        def has():
            got.update(cluster.hash_lines(i))
            return key_hex in got or key_dec in got
        try:
            wait_until(has, 10, f"member {i + 1}'s hash at zxid {zxid:#x}")
        except RuntimeError:
            per_member.append({"zxid": zxid, "digest": None, "hash": got})
            continue
        per_member.append({"zxid": zxid, "digest": got.get(key_hex, got.get(key_dec))})
    return per_member


def tree_of(admin, root="/"):
    """Every node as the (super) admin session reads it, `/zookeeper`'s children left out:
    {path: (data, normalized Stat, ACL, raw Stat)}. The raw Stat keeps the times and
    the session ids, for the digest."""
    R = record
    out = {}
    admin.step({"session": "_admin", "op": "sync", "path": "/"})  # its member has applied all
    todo = [root]
    while todo:
        p = todo.pop()
        try:
            data, st = admin.call("_admin", R.Req(4, R.w_string(p) + R.w_bool(False),
                                                  lambda r: (r.buffer(), r.stat())))
            acl, _ = admin.call("_admin", R.Req(6, R.w_string(p), lambda r: (r.acl(), r.stat())))
            children = admin.call("_admin", R.Req(8, R.w_string(p) + R.w_bool(False),
                                                  lambda r: r.strings()))
        except Exception as e:  # gone meanwhile (nothing should go: no session is open)
            out[p] = (repr(e), None, None, None)
            continue
        key = (st["czxid"], p)
        raw = dict(st, ephemeralOwner=OWNERS[key]) if key in OWNERS else st
        out[p] = (data, admin.norm_stat(st), acl, raw)
        for ch in children:
            q = ("" if p == "/" else p) + "/" + ch
            if not q.startswith("/zookeeper/"):
                todo.append(q)
    return out


def digest_of(tree, times=None):
    """ZooKeeper's tree digest (DigestCalculator: CRC-32 of path, data and the persisted
    Stat; summed mod 2^64, printed signed) of a tree read by `tree_of`; `times` (another
    tree) supplies ctime and mtime instead of the tree's own."""
    total = 0
    for p, (data, _, _, st) in tree.items():
        if st is None:
            return None
        ctime, mtime = st["ctime"], st["mtime"]
        if times is not None and p in times and times[p][3] is not None:
            ctime, mtime = times[p][3]["ctime"], times[p][3]["mtime"]
        # A Stat's cversion is DataNode.copyStat's 2 * persisted - numChildren; undo that.
        cversion = (st["cversion"] + st["numChildren"]) // 2
        crc = zlib.crc32(("" if p == "/" else p).encode())
        crc = zlib.crc32(data or b"", crc)
        crc = zlib.crc32(struct.pack("!qqqqqiiiq", st["czxid"], st["mzxid"], st["pzxid"], ctime, mtime,
                                     st["version"], cversion, st["aversion"], st["ephemeralOwner"]),
                         crc)
        total = (total + crc) % (1 << 64)
    return total if total < (1 << 63) else total - (1 << 64)


# --- comparing -----------------------------------------------------------------------------
PEER_ADDRESS = re.compile(r"127\.0\.0\.1:\d+:\d+")


def ports_normalized(results):
    """The `server.N` lines of `/zookeeper/config` name each side's own free ports."""
    return json.loads(PEER_ADDRESS.sub("127.0.0.1:QUORUM:ELECTION", json.dumps(results)))


def compare(target, sequences, zk, zl, show):
    diffs = []
    for (name, steps, _, _), (zr, zt, zd), (lr, lt, ld) in zip(sequences, zk, zl):
        zr, lr = ports_normalized(zr), ports_normalized(lr)
        broken = [f"{k}: {r[0]['failed']}" for k, r in (("zookeeper", zr), ("zoolab", lr))
                  if r and "failed" in r[0]]
        if broken:  # a sequence that could not run is a failure even if both sides broke alike
            diffs.append(f"[{target}] {name} did not run: " + "; ".join(broken))
            continue
        if zr != lr:
            for i in range(max(len(zr), len(lr))):
                a = zr[i] if i < len(zr) else None
                b = lr[i] if i < len(lr) else None
                if a != b:
                    # zr/lr are answers to `steps` in order (a failure ends them early).
                    step = steps[i] if i < len(steps) else None
                    diffs.append(f"[{target}] {name}, step {i}: {json.dumps(step, sort_keys=True)}\n"
                                 f"    zookeeper: {json.dumps(a, sort_keys=True)}\n"
                                 f"    zoolab:    {json.dumps(b, sort_keys=True)}")
                    break
        if zt != lt:
            for p in sorted(set(zt) | set(lt)):
                a, b = zt.get(p), lt.get(p)
                if (a and a[:3]) != (b and b[:3]):
                    diffs.append(f"[{target}] {name}: after it, node {p} differs (data, Stat, ACL)\n"
                                 f"    zookeeper: {show_node(a)}\n    zoolab:    {show_node(b)}")
                    break
        if zd is not None:
            diffs += digests(target, name, zt, zd, lt, ld)
    # Not a vacuous pass: the answers compared include errors and watch events.
    answers = [r for res, _, _ in zk for r in res]
    errors = sum(1 for r in answers if "error" in r)
    events = sum(len(r["ok"]) for r in answers if isinstance(r.get("ok"), list)
                 and r["ok"] and isinstance(r["ok"][0], dict) and set(r["ok"][0]) == {"type", "path"})
    if not errors or (not events and target != "standalone-nottl"):
        diffs.append(f"[{target}] only {errors} error answer(s) and {events} watch event(s): nothing was tested")
    for d in diffs[:show]:
        print("DIFFERENCE " + d, file=sys.stderr)
    if len(diffs) > show:
        print(f"... and {len(diffs) - show} more difference(s) in {target}", file=sys.stderr)
    return len(diffs)


def show_node(n):
    if n is None:
        return "absent"
    data, st, acl, _ = n
    shown = data if data is None or len(data) <= 64 else data[:64] + b"..."
    return f"data {shown!r} stat {json.dumps(st, sort_keys=True)} acl {json.dumps(acl)}"


def digests(target, name, zt, zd, lt, ld):
    """The `hash` checks at the end of a sequence (see the module doc)."""
    out = []
    where = f"[{target}] {name}: `hash`"
    if [m["zxid"] for m in zd] != [m["zxid"] for m in ld]:
        return [f"{where} taken at different zxids: zookeeper {zd}, zoolab {ld}"]
    zk_own, zl_own, zl_zk_times = digest_of(zt), digest_of(lt), digest_of(lt, times=zt)
    for i, (a, b) in enumerate(zip(zd, ld)):
        za = None if a["digest"] is None else int(a["digest"])
        lb = None if b["digest"] is None else int(b["digest"])
        if za != zk_own:
            out.append(f"{where} of ZooKeeper's member {i + 1} at zxid {a['zxid']:#x} is {za}, but its "
                       f"tree digests to {zk_own} (the suite's digest or tree read is wrong)")
        if lb != zl_own:
            out.append(f"{where} of zoolab's member {i + 1} at zxid {b['zxid']:#x} is {lb}, but its "
                       f"tree digests to {zl_own} by ZooKeeper's DigestCalculator")
        if za is not None and zl_zk_times != za:
            out.append(f"{where}: zoolab's tree with ZooKeeper's ctime/mtime digests to {zl_zk_times}, "
                       f"ZooKeeper's member {i + 1} says {za} (zoolab's own: {lb})")
    return out


TARGETS = {  # name -> (servers, extendedTypesEnabled)
    "standalone": (1, True),
    "standalone-nottl": (1, False),
    "ensemble": (3, True),
}


def sequences_for(target, seeds, n_ops, cases):
    n, ttl = TARGETS[target]
    seqs = []
    if cases:
        conf = conformance_sequences()
        if target == "standalone-nottl":
            # TTL refusal is what differs here: the cases that create TTL nodes.
            conf = [(nm, st, r, True) for nm, st, r, _ in conf
                    if any("ttl" in s.get("mode", "") or "ttl" in s for s in st)
                    or any("ttl" in o.get("mode", "") for s in st for o in s.get("ops", []))]
        elif n > 1:
            conf = [(nm, with_syncs(st), r, c) for nm, st, r, c in conf]
        seqs += conf
    for seed in seeds:
        seqs.append((f"seed {seed}", random_sequence(seed, n_ops, n > 1, ttl), f"/r{seed}", True))
    return seqs


READS = {"exists", "get_data", "get_children", "get_acl", "get_all_children_number", "get_ephemerals",
         "events", "add_watch"}


def with_syncs(steps):
    """In an ensemble: a sync of the same session before each read (see the module doc)."""
    out = []
    for s in steps:
        if s["op"] in READS and s.get("session") in open_sessions(out):
            out.append({"session": s["session"], "op": "sync", "path": "/"})
        out.append(s)
    return out


def open_sessions(steps):
    st = {"_admin"}
    for s in steps:
        if s["op"] == "connect":
            st.add(s["session"])
        elif s["op"] == "close":
            st.discard(s["session"])
    return st


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zoolab", required=True, metavar="BINARY")
    ap.add_argument("--target", action="append", choices=sorted(TARGETS),
                    help="run only this target (repeatable; default all)")
    ap.add_argument("--seeds", type=int, nargs="*", help=f"random sequences' seeds (default {SEEDS})")
    ap.add_argument("--ops", type=int, default=OPS_PER_SEED, help="operations per random sequence")
    ap.add_argument("--no-cases", action="store_true", help="skip the conformance cases")
    ap.add_argument("--case", help="only the conformance cases whose group/name contains this "
                                   "(the digest is then compared after each)")
    ap.add_argument("--show", type=int, default=10, help="differences to print per target")
    args = ap.parse_args()
    zoolab = os.path.abspath(args.zoolab)
    seeds = SEEDS if args.seeds is None else args.seeds
    t0 = time.monotonic()
    total = 0
    ctx = multiprocessing.get_context("fork")
    for target in args.target or ["standalone", "standalone-nottl", "ensemble"]:
        t1 = time.monotonic()
        n, ttl = TARGETS[target]
        seqs = sequences_for(target, seeds, args.ops, not args.no_cases)
        if args.case:
            seqs = [q[:3] + (True,) for q in seqs if not q[0].startswith("case ") or args.case in q[0]]
        out = ctx.Queue()
        procs = [ctx.Process(target=run_side, args=(kind, n, ttl, zoolab, seqs, out))
                 for kind in ("zookeeper", "zoolab")]
        for p in procs:
            p.start()
        got = {}
        for _ in procs:
            kind, results, err = out.get(timeout=600)
            if err:
                print(f"[{target}] {kind} side failed:\n{err}", file=sys.stderr)
                total += 1
            got[kind] = results
        for p in procs:
            p.join()
        if all(got.get(k) is not None for k in ("zookeeper", "zoolab")):
            d = compare(target, seqs, got["zookeeper"], got["zoolab"], args.show)
            total += d
            steps = sum(len(s[1]) for s in seqs)
            print(f"[{target}] {len(seqs)} sequence(s), {steps} steps, {d} difference(s), "
                  f"in {time.monotonic() - t1:.1f} s")
    print(f"differential: {'PASS' if total == 0 else 'FAIL'} in {time.monotonic() - t0:.1f} s")
    return 0 if total == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
