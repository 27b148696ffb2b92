#!/usr/bin/env python3
"""Record golden results: every conformance case against a fresh Apache ZooKeeper 3.8.

    python3 tests/conformance/record.py                 # all groups
    python3 tests/conformance/record.py --group create  # one group (merged into its golden)
    python3 tests/conformance/record.py --case NAME     # one case  (merged into its golden)
    python3 tests/conformance/record.py --check         # only check that the cases are well-formed
    python3 tests/conformance/record.py --zoolab target/debug/zoolab   # run the cases against
        # zoolab's server instead (a fresh `zoolab server` per case) and compare with the goldens;
        # nothing is written. --server HOST:PORT compares against an already-running server
        # (one tree for every case, so only the first case's zxids are comparable; --jobs 1).

Each case runs on its own standalone server (new JVM, new empty dataDir, free loopback port),
so zxids are those of a fresh server. Servers are always stopped by their own pid.
Requests are sent through kazoo's connection (its socket, session and ping handling) but
serialized here, byte for byte as ZooKeeper's jute defines them, so that paths reach the
server unmodified (kazoo's API normalizes paths and lacks TTL/container/addWatch/...).
Watch events are recorded as the server sent them (one entry per notification on the wire).
See README.md for the case format and the normalization of results.
"""

import argparse
import base64
import concurrent.futures
import glob
import hashlib
import json
import logging
import os
import shutil
import struct
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pyutil"))
import zkprocs  # noqa: E402  (free ports, four-letter words, starting and stopping servers)

CASES_DIR = os.path.join(HERE, "cases")
GOLDEN_DIR = os.path.join(HERE, "golden")

# --- server configuration (the replay must configure its tree the same way) ---------------
TICK_TIME = 2000
SUPER_USER = "super"
SUPER_PASSWORD = "superpw"
CONTAINER_CHECK_INTERVAL_MS = 200
OP_TIMEOUT_S = 20.0


def digest_id(user_password):
    """ZooKeeper's DigestAuthenticationProvider.generateDigest: user:base64(sha1(user:password))."""
    user = user_password.split(":", 1)[0]
    return user + ":" + base64.b64encode(hashlib.sha1(user_password.encode()).digest()).decode()


SUPER_DIGEST = digest_id(SUPER_USER + ":" + SUPER_PASSWORD)

# --- ZooKeeper constants -------------------------------------------------------------------
CODE_NAMES = {
    0: "OK", -1: "SYSTEMERROR", -2: "RUNTIMEINCONSISTENCY", -3: "DATAINCONSISTENCY",
    -4: "CONNECTIONLOSS", -5: "MARSHALLINGERROR", -6: "UNIMPLEMENTED", -7: "OPERATIONTIMEOUT",
    -8: "BADARGUMENTS", -12: "UNKNOWNSESSION", -13: "NEWCONFIGNOQUORUM",
    -14: "RECONFIGINPROGRESS", -100: "APIERROR", -101: "NONODE", -102: "NOAUTH",
    -103: "BADVERSION", -108: "NOCHILDRENFOREPHEMERALS", -110: "NODEEXISTS", -111: "NOTEMPTY",
    -112: "SESSIONEXPIRED", -113: "INVALIDCALLBACK", -114: "INVALIDACL", -115: "AUTHFAILED",
    -118: "SESSIONMOVED", -119: "NOTREADONLY", -120: "EPHEMERALONLOCALSESSION",
    -121: "NOWATCHER", -122: "REQUESTTIMEOUT", -123: "RECONFIGDISABLED",
    -124: "SESSIONCLOSEDREQUIRESASLAUTH", -125: "QUOTAEXCEEDED", -127: "THROTTLEDOP",
}
EVENT_NAMES = {1: "NODE_CREATED", 2: "NODE_DELETED", 3: "NODE_DATA_CHANGED", 4: "NODE_CHILDREN_CHANGED"}
MODES = {  # mode -> (CreateMode flag, opcode the Java client uses when it wants the Stat back)
    "persistent": (0, 15),
    "ephemeral": (1, 15),
    "persistent_sequential": (2, 15),
    "ephemeral_sequential": (3, 15),
    "container": (4, 19),
    "persistent_with_ttl": (5, 21),
    "persistent_sequential_with_ttl": (6, 21),
}
PERM_BITS = [("c", 4), ("d", 8), ("r", 1), ("w", 2), ("a", 16)]  # zkCli's order
WATCH_MODES = {"persistent": 0, "persistent_recursive": 1}
WATCHER_TYPES = {"children": 1, "data": 2, "any": 3}
OPEN_ACL = [{"perms": "cdrwa", "scheme": "world", "id": "anyone"}]

# --- case schema ---------------------------------------------------------------------------
# op -> (required args, optional args); "data" and "data_len" are alternatives (exactly one).
OPS = {
    "connect": ((), ("timeout_ms",)),
    "add_auth": (("scheme", "auth"), ()),
    "create": (("path", "mode", "@data"), ("ttl", "acl")),
    "delete": (("path",), ("version",)),
    "exists": (("path",), ("watch",)),
    "get_data": (("path",), ("watch",)),
    "set_data": (("path", "@data"), ("version",)),
    "get_children": (("path",), ("watch", "with_stat")),
    "get_all_children_number": (("path",), ()),
    "get_ephemerals": ((), ("prefix",)),
    "get_acl": (("path",), ()),
    "set_acl": (("path", "acl"), ("version",)),
    "sync": (("path",), ()),
    "multi": (("ops",), ()),
    "add_watch": (("path", "mode"), ()),
    "remove_watches": (("path", "type"), ()),
    "events": ((), ()),
    "wait": (("ms",), ()),
    "close": ((), ()),
}
MULTI_OPS = {
    "check": (("path", "version"), ()),
    "create": (("path", "mode", "@data"), ("ttl", "acl")),
    "delete": (("path",), ("version",)),
    "set_data": (("path", "@data"), ("version",)),
}
SESSIONLESS = {"wait"}


class CaseError(Exception):
    pass


def _check_args(where, step, spec, extra_keys):
    required, optional = spec
    allowed = set(extra_keys) | set(optional)
    for r in required:
        if r == "@data":
            if ("data" in step) == ("data_len" in step):
                raise CaseError(f"{where}: needs exactly one of 'data' and 'data_len'")
            allowed |= {"data", "data_len"}
        else:
            if r not in step:
                raise CaseError(f"{where}: missing required argument '{r}'")
            allowed.add(r)
    unknown = set(step) - allowed
    if unknown:
        raise CaseError(f"{where}: unknown argument(s) {sorted(unknown)}")
    if "data" in step and not (step["data"] is None or isinstance(step["data"], str)):
        raise CaseError(f"{where}: 'data' must be a string or null (a -1 buffer)")
    if "data_len" in step and not (isinstance(step["data_len"], int) and step["data_len"] >= 0):
        raise CaseError(f"{where}: 'data_len' must be a non-negative integer")
    if "mode" in step and step.get("op") != "add_watch" and step["mode"] not in MODES:
        raise CaseError(f"{where}: unknown create mode {step['mode']!r}")
    if "mode" in step and "ttl" in step and not isinstance(step["ttl"], int):
        raise CaseError(f"{where}: 'ttl' must be an integer")
    if "acl" in step:
        acl = step["acl"]
        if not isinstance(acl, list):
            raise CaseError(f"{where}: 'acl' must be a list")
        for a in acl:
            if not (isinstance(a, dict) and set(a) == {"perms", "scheme", "id"}
                    and all(isinstance(a[k], str) for k in a)
                    and all(ch in "cdrwa" for ch in a["perms"])):
                raise CaseError(f"{where}: bad ACL entry {a!r}")
    for k in ("version", "ms", "timeout_ms"):
        if k in step and not isinstance(step[k], int):
            raise CaseError(f"{where}: '{k}' must be an integer")
    for k in ("watch", "with_stat"):
        if k in step and not isinstance(step[k], bool):
            raise CaseError(f"{where}: '{k}' must be a boolean")
    for k in ("path", "prefix", "scheme", "auth"):
        if k in step and not isinstance(step[k], str):
            raise CaseError(f"{where}: '{k}' must be a string")


def validate_case(case):
    name = case.get("name")
    if not isinstance(name, str) or not name:
        raise CaseError(f"case without a name: {json.dumps(case)[:200]}")
    if set(case) != {"name", "doc", "steps"}:
        raise CaseError(f"case {name}: keys must be name, doc, steps (got {sorted(case)})")
    if not isinstance(case["doc"], str) or not case["doc"].strip():
        raise CaseError(f"case {name}: 'doc' must say which rule the case pins")
    if not isinstance(case["steps"], list) or not case["steps"]:
        raise CaseError(f"case {name}: 'steps' must be a non-empty list")
    state = {}  # session -> "open" | "closed"
    for i, step in enumerate(case["steps"]):
        where = f"case {name}, step {i}"
        if not isinstance(step, dict):
            raise CaseError(f"{where}: a step must be an object")
        op = step.get("op")
        if op not in OPS:
            raise CaseError(f"{where}: unknown op {op!r}")
        extra = ["op"]
        if op not in SESSIONLESS:
            sess = step.get("session")
            if not isinstance(sess, str) or not sess:
                raise CaseError(f"{where}: op {op} needs a 'session'")
            extra.append("session")
            if op == "connect":
                if state.get(sess) == "open":
                    raise CaseError(f"{where}: session {sess} is already connected")
                state[sess] = "open"
            elif op == "events":
                if sess not in state:
                    raise CaseError(f"{where}: session {sess} never connected")
            elif state.get(sess) != "open":
                raise CaseError(f"{where}: session {sess} is not connected")
            if op == "close":
                state[sess] = "closed"
        _check_args(where, step, OPS[op], extra)
        if op == "add_watch" and step["mode"] not in WATCH_MODES:
            raise CaseError(f"{where}: add_watch mode must be one of {sorted(WATCH_MODES)}")
        if op == "remove_watches" and step["type"] not in WATCHER_TYPES:
            raise CaseError(f"{where}: remove_watches type must be one of {sorted(WATCHER_TYPES)}")
        if op == "multi":
            if not isinstance(step["ops"], list):
                raise CaseError(f"{where}: 'ops' must be a list")
            for j, sub in enumerate(step["ops"]):
                w2 = f"{where}, multi op {j}"
                if not isinstance(sub, dict) or sub.get("op") not in MULTI_OPS:
                    raise CaseError(f"{w2}: unknown multi op {sub.get('op') if isinstance(sub, dict) else sub!r}")
                _check_args(w2, sub, MULTI_OPS[sub["op"]], ["op"])


def load_groups():
    groups = {}
    names = {}
    for fn in sorted(glob.glob(os.path.join(CASES_DIR, "*.json"))):
        group = os.path.splitext(os.path.basename(fn))[0]
        try:
            with open(fn, encoding="utf-8") as f:
                doc = json.load(f)
        except json.JSONDecodeError as e:
            raise CaseError(f"{fn}: not valid JSON: {e}")
        if set(doc) != {"cases"} or not isinstance(doc["cases"], list):
            raise CaseError(f"{fn}: must be {{\"cases\": [...]}}")
        for case in doc["cases"]:
            validate_case(case)
            if case["name"] in names:
                raise CaseError(f"case {case['name']}: defined in both {names[case['name']]} and {group}")
            names[case["name"]] = group
        groups[group] = doc["cases"]
    return groups


# --- jute serialization --------------------------------------------------------------------
_int = struct.Struct("!i")
_long = struct.Struct("!q")
_stat = struct.Struct("!qqqqiiiqiiq")
_multi_header = struct.Struct("!iBi")


def w_int(v):
    return _int.pack(v)


def w_long(v):
    return _long.pack(v)


def w_bool(v):
    return b"\x01" if v else b"\x00"


def w_string(s):
    # jute ustring: length + UTF-8 bytes; "" is length 0 (kazoo would send null for "").
    b = s.encode("utf-8")
    return w_int(len(b)) + b


def w_buffer(b):
    """A jute buffer; None is null (length -1, as BinaryOutputArchive.writeBuffer(null))."""
    if b is None:
        return w_int(-1)
    return w_int(len(b)) + b


def perms_to_int(p):
    return sum(bit for ch, bit in PERM_BITS if ch in p)


def perms_to_str(v):
    return "".join(ch for ch, bit in PERM_BITS if v & bit)


def w_acl(acl):
    out = w_int(len(acl))
    for a in acl:
        out += w_int(perms_to_int(a["perms"])) + w_string(a["scheme"]) + w_string(a["id"])
    return out


class Reader:
    def __init__(self, buf, off):
        self.buf, self.off = buf, off

    def int(self):
        v = _int.unpack_from(self.buf, self.off)[0]
        self.off += 4
        return v

    def long(self):
        v = _long.unpack_from(self.buf, self.off)[0]
        self.off += 8
        return v

    def bool(self):
        v = self.buf[self.off]
        self.off += 1
        return v != 0

    def buffer(self):
        n = self.int()
        if n < 0:
            return None
        v = bytes(self.buf[self.off:self.off + n])
        self.off += n
        return v

    def string(self):
        b = self.buffer()
        return None if b is None else b.decode("utf-8")

    def stat(self):
        f = _stat.unpack_from(self.buf, self.off)
        self.off += _stat.size
        keys = ("czxid", "mzxid", "ctime", "mtime", "version", "cversion", "aversion",
                "ephemeralOwner", "dataLength", "numChildren", "pzxid")
        return dict(zip(keys, f))

    def strings(self):
        return [self.string() for _ in range(self.int())]

    def acl(self):
        out = []
        for _ in range(self.int()):
            perms = self.int()
            scheme = self.string()
            ident = self.string()
            out.append({"perms": perms_to_str(perms), "scheme": scheme, "id": ident})
        return out


class Req:
    """A request kazoo's connection can send: .type, .serialize(), .deserialize(buf, off)."""

    def __init__(self, type_, body, parse=None):
        self.type = type_
        self.body = body
        self.parse = parse

    def serialize(self):
        return bytearray(self.body)

    def deserialize(self, buf, off):
        return self.parse(Reader(buf, off)) if self.parse else None


def data_of(step):
    """The step's data: data_len bytes of x, data's UTF-8, or None for "data": null."""
    if "data_len" in step:
        return b"x" * step["data_len"]
    if step["data"] is None:
        return None
    return step["data"].encode("utf-8")


def create_body(step):
    flag, opcode = MODES[step["mode"]]
    body = w_string(step["path"]) + w_buffer(data_of(step)) + w_acl(step.get("acl", OPEN_ACL)) + w_int(flag)
    if opcode == 21:
        body += w_long(step.get("ttl", -1))
    elif "ttl" in step:
        # A TTL with a non-TTL mode: send it as the Java client would have to, through createTTL.
        opcode = 21
        body += w_long(step["ttl"])
    return opcode, body


def parse_multi(r):
    results = []
    while True:
        t, done, err = _multi_header.unpack_from(r.buf, r.off)
        r.off += _multi_header.size
        if done:
            return results
        if t == 1:  # plain creates inside a multi come back without a Stat
            results.append({"type": "create", "path": r.string(), "stat": None})
        elif t == 15:
            path = r.string()
            results.append({"type": "create", "path": path, "stat": r.stat()})
        elif t == 2:
            results.append({"type": "delete"})
        elif t == 5:
            results.append({"type": "set_data", "stat": r.stat()})
        elif t == 13:
            results.append({"type": "check"})
        elif t == -1:
            results.append({"error_code": r.int()})
        else:
            raise RuntimeError(f"unexpected multi result type {t}")


def multi_body(ops):
    body = b""
    for sub in ops:
        op = sub["op"]
        if op == "create":
            opcode, b = create_body(sub)
        elif op == "delete":
            opcode, b = 2, w_string(sub["path"]) + w_int(sub.get("version", -1))
        elif op == "set_data":
            opcode, b = 5, w_string(sub["path"]) + w_buffer(data_of(sub)) + w_int(sub.get("version", -1))
        elif op == "check":
            opcode, b = 13, w_string(sub["path"]) + w_int(sub["version"])
        body += _multi_header.pack(opcode, 0, -1) + b
    return body + _multi_header.pack(-1, 1, -1)


# --- the server ----------------------------------------------------------------------------
free_port = zkprocs.free_port


def four_letter(port, cmd, timeout=1.0, host="127.0.0.1"):
    return zkprocs.four_letter(port, cmd, timeout=timeout, host=host)


ZOOLAB_BIN = None      # --zoolab: run cases on `zoolab server` instead of Java
EXTERNAL_SERVER = None  # --server HOST:PORT: an already-running server


class Server:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="zoolab-ref-")
        self.proc = None
        self.port = None

    def start(self):
        if EXTERNAL_SERVER is not None:
            host, port = EXTERNAL_SERVER
            self.host, self.port = host, port
            self.version = "external " + four_letter(port, "srvr", host=host).splitlines()[0]
            return
        if ZOOLAB_BIN is not None:
            return self.start_zoolab()
        for attempt in range(5):
            self.port = free_port()
            data = zkprocs.data_dir(os.path.join(self.dir, "data"))
            cfg = os.path.join(self.dir, "zoo.cfg")
            zkprocs.write(cfg, f"tickTime={TICK_TIME}\ndataDir={data}\nclientPort={self.port}\n"
                               "clientPortAddress=127.0.0.1\nadmin.enableServer=false\n"
                               "4lw.commands.whitelist=*\n")
            cmd = zkprocs.zookeeper_command(
                self.dir, cfg, heap_mb=256, main=zkprocs.STANDALONE_MAIN,
                pattern="%d{ISO8601} %-5p [%t:%C{1}@%L] - %m%n",
                props=["zookeeper.extendedTypesEnabled=true",
                       f"znode.container.checkIntervalMs={CONTAINER_CHECK_INTERVAL_MS}",
                       f"zookeeper.DigestAuthenticationProvider.superDigest={SUPER_DIGEST}"])
            self.proc = zkprocs.spawn(cmd, os.path.join(self.dir, "stdout.txt"))
            # "ruok" answers before the server serves; "srvr" only once it does.
            out = zkprocs.wait_answer(self.port, "srvr", 30, self.proc, want="Zookeeper version:",
                                      interval=0.02, timeout=1.0)
            if out is not None:
                line = next(l for l in out.splitlines() if l.startswith("Zookeeper version:"))
                self.version = "Apache ZooKeeper " + line.split(":", 1)[1].strip().split("-", 1)[0]
                return
            self.stop()  # port taken by a parallel worker, or a slow start: try again
        raise RuntimeError("ZooKeeper did not start; see " + self.log_tail())

    def start_zoolab(self):
        """The same settings as the Java server's, in zoo.cfg (zoolab reads them there)."""
        for attempt in range(5):
            self.port = free_port()
            cfg = os.path.join(self.dir, "zoo.cfg")
            zkprocs.write(cfg, f"tickTime={TICK_TIME}\nclientPort={self.port}\nclientPortAddress=127.0.0.1\n"
                               f"dataDir={self.dir}/data\n"
                               "4lw.commands.whitelist=*\nextendedTypesEnabled=true\n"
                               f"znode.container.checkIntervalMs={CONTAINER_CHECK_INTERVAL_MS}\n"
                               f"DigestAuthenticationProvider.superDigest={SUPER_DIGEST}\n")
            self.proc = zkprocs.spawn([ZOOLAB_BIN, "server", "--config", cfg],
                                      os.path.join(self.dir, "zookeeper.log"))
            out = zkprocs.wait_answer(self.port, "srvr", 10, self.proc, want=":", interval=0.01, timeout=1.0)
            if out is not None:
                self.version = "zoolab " + out.splitlines()[0].split(":", 1)[1].strip()
                return
            self.stop()
        raise RuntimeError("zoolab did not start; see " + self.log_tail())

    def log_tail(self, n=40):
        try:
            with open(os.path.join(self.dir, "zookeeper.log"), errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return "(no log)"

    def stop(self):
        zkprocs.kill(self.proc)  # its own pid only; the data directory is thrown away anyway
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# --- running a case ------------------------------------------------------------------------
_kazoo_patched = False
_negotiated = {}  # session id -> negotiated timeout


def patch_kazoo():
    """Record watch notifications as they arrive on the wire, and negotiated timeouts."""
    global _kazoo_patched
    if _kazoo_patched:
        return
    from kazoo.protocol import connection, serialization

    original_read_watch_event = connection.ConnectionHandler._read_watch_event

    def read_watch_event(self, buffer, offset):
        ev, _ = serialization.Watch.deserialize(buffer, offset)
        events = getattr(self.client, "_zoolab_events", None)
        if events is not None:
            events.append({"type": EVENT_NAMES.get(ev.type, f"TYPE_{ev.type}"), "path": ev.path})
        return original_read_watch_event(self, buffer, offset)

    connection.ConnectionHandler._read_watch_event = read_watch_event
    original_connect_deserialize = serialization.Connect.deserialize.__func__

    def connect_deserialize(cls, buf, off):
        result, off = original_connect_deserialize(cls, buf, off)
        _negotiated[result.session_id] = result.time_out
        return result, off

    serialization.Connect.deserialize = classmethod(connect_deserialize)
    logging.getLogger("kazoo").setLevel(logging.CRITICAL)
    _kazoo_patched = True


class Runner:
    def __init__(self, case, server):
        self.case = case
        self.server = server
        self.clients = {}      # session name -> KazooClient
        self.session_names = {}  # session id -> name

    def call(self, sess, req):
        client = self.clients[sess]
        async_result = client.handler.async_result()
        client._call(req, async_result)
        return async_result.get(timeout=OP_TIMEOUT_S)

    def norm_stat(self, st):
        if st is None:
            return None
        out = dict(st)
        out["ctime"] = 0
        out["mtime"] = 0
        owner = st["ephemeralOwner"]
        if owner == 0:
            out["ephemeralOwner"] = 0
        elif owner in self.session_names:
            out["ephemeralOwner"] = self.session_names[owner]
        else:
            out["ephemeralOwner"] = str(owner)
        return out

    def run(self):
        from kazoo.exceptions import ZookeeperError
        results = []
        for i, step in enumerate(self.case["steps"]):
            try:
                results.append({"ok": self.step(step)})
            except ZookeeperError as e:
                code = getattr(e, "code", None)
                if code not in CODE_NAMES:
                    raise RuntimeError(f"step {i}: unexpected kazoo error {e!r}")
                results.append({"error": CODE_NAMES[code]})
            except MultiFailed as e:
                results.append({"error": e.name, "results": e.results})
            except Exception as e:
                raise RuntimeError(f"step {i} ({json.dumps(step)[:200]}): {e!r}") from e
        return results

    def step(self, s):
        op = s["op"]
        sess = s.get("session")
        if op == "connect":
            from kazoo.client import KazooClient
            client = KazooClient(hosts=f"{getattr(self.server, 'host', '127.0.0.1')}:{self.server.port}",
                                 timeout=s.get("timeout_ms", 10000) / 1000.0,
                                 connection_retry={"max_tries": -1, "delay": 0.05, "max_delay": 0.2,
                                                   "backoff": 1},
                                 command_retry=None)
            client._zoolab_events = []
            client.start(timeout=OP_TIMEOUT_S)
            self.clients[sess] = client
            self.session_names[client._session_id] = sess
            return {"timeout_ms": _negotiated[client._session_id]}
        if op == "wait":
            time.sleep(s["ms"] / 1000.0)
            return None
        if op == "events":
            client = self.clients[sess]
            if not client._stopped.is_set():
                # A round trip: everything the server queued for this session before it
                # answers has been read (and recorded) when the answer arrives.
                self.call(sess, Req(3, w_string("/") + w_bool(False), lambda r: r.stat()))
            events = list(client._zoolab_events)
            del client._zoolab_events[:]
            return events
        if op == "close":
            client = self.clients[sess]
            client.stop()
            client.close()
            return None
        if op == "add_auth":
            self.clients[sess].add_auth(s["scheme"], s["auth"])
            return None
        if op == "create":
            opcode, body = create_body(s)
            res = self.call(sess, Req(opcode, body, lambda r: {"path": r.string(), "stat": r.stat()}))
            return {"path": res["path"], "stat": self.norm_stat(res["stat"])}
        if op == "delete":
            self.call(sess, Req(2, w_string(s["path"]) + w_int(s.get("version", -1))))
            return None
        if op == "exists":
            st = self.call(sess, Req(3, w_string(s["path"]) + w_bool(s.get("watch", False)),
                                     lambda r: r.stat()))
            return self.norm_stat(st)  # kazoo turns NONODE on exists into None
        if op == "get_data":
            res = self.call(sess, Req(4, w_string(s["path"]) + w_bool(s.get("watch", False)),
                                      lambda r: (r.buffer(), r.stat())))
            data, st = res
            if data is not None and len(data) > 4096:
                raise CaseError("get_data of more than 4096 bytes: check dataLength with exists instead")
            return {"data": None if data is None else data.decode("utf-8", errors="backslashreplace"),
                    "stat": self.norm_stat(st)}
        if op == "set_data":
            st = self.call(sess, Req(5, w_string(s["path"]) + w_buffer(data_of(s)) + w_int(s.get("version", -1)),
                                     lambda r: r.stat()))
            return self.norm_stat(st)
        if op == "get_children":
            if s.get("with_stat", False):
                res = self.call(sess, Req(12, w_string(s["path"]) + w_bool(s.get("watch", False)),
                                          lambda r: (r.strings(), r.stat())))
                return {"children": sorted(res[0]), "stat": self.norm_stat(res[1])}
            res = self.call(sess, Req(8, w_string(s["path"]) + w_bool(s.get("watch", False)),
                                      lambda r: r.strings()))
            return {"children": sorted(res), "stat": None}
        if op == "get_all_children_number":
            return self.call(sess, Req(104, w_string(s["path"]), lambda r: r.int()))
        if op == "get_ephemerals":
            return sorted(self.call(sess, Req(103, w_string(s.get("prefix", "/")), lambda r: r.strings())))
        if op == "get_acl":
            res = self.call(sess, Req(6, w_string(s["path"]), lambda r: (r.acl(), r.stat())))
            return {"acl": res[0], "stat": self.norm_stat(res[1])}
        if op == "set_acl":
            st = self.call(sess, Req(7, w_string(s["path"]) + w_acl(s["acl"]) + w_int(s.get("version", -1)),
                                     lambda r: r.stat()))
            return self.norm_stat(st)
        if op == "sync":
            return self.call(sess, Req(9, w_string(s["path"]), lambda r: r.string()))
        if op == "add_watch":
            self.call(sess, Req(106, w_string(s["path"]) + w_int(WATCH_MODES[s["mode"]]), lambda r: None))
            return None
        if op == "remove_watches":
            self.call(sess, Req(18, w_string(s["path"]) + w_int(WATCHER_TYPES[s["type"]])))
            return None
        if op == "multi":
            res = self.call(sess, Req(14, multi_body(s["ops"]), parse_multi))
            errors = [r.get("error_code") for r in res]
            if any(c is not None for c in errors):
                per_op = [CODE_NAMES[r["error_code"]] for r in res]
                first = next((c for c in errors if c not in (None, 0)), None)
                raise MultiFailed(CODE_NAMES[first], per_op)
            out = []
            for r in res:
                r = dict(r)
                if "stat" in r:
                    r["stat"] = self.norm_stat(r["stat"])
                out.append(r)
            return out
        raise CaseError(f"op {op} not implemented")

    def close_all(self):
        for client in self.clients.values():
            try:
                client.stop()
                client.close()
            except Exception:
                pass


class MultiFailed(Exception):
    def __init__(self, name, results):
        super().__init__(name)
        self.name = name
        self.results = results


def run_case(case):
    """Runs in a worker process: returns (name, results, server version, seconds)."""
    patch_kazoo()
    t0 = time.monotonic()
    server = Server()
    runner = None
    try:
        server.start()
        version = server.version
        runner = Runner(case, server)
        try:
            results = runner.run()
        finally:
            runner.close_all()
        return case["name"], results, version, time.monotonic() - t0
    except Exception as e:
        raise RuntimeError(f"case {case['name']} failed: {e}\n{traceback.format_exc()}\n"
                           f"--- ZooKeeper log tail ---\n{server.log_tail()}") from None
    finally:
        server.cleanup()


# --- golden files --------------------------------------------------------------------------
def dump(obj):
    return json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=True) + "\n"


def compare(todo, recorded, failures, version, secs, show):
    """--zoolab/--server: each case's results against its golden (exactly, as recorded)."""
    goldens = {}
    for g in sorted({g for g, _ in todo}):
        path = os.path.join(GOLDEN_DIR, g + ".json")
        with open(path, encoding="utf-8") as f:
            for c in json.load(f)["cases"]:
                goldens[c["name"]] = c["results"]
    matched, mismatched = [], []
    for g, c in todo:
        name = c["name"]
        if name not in recorded:
            continue
        if recorded[name] == goldens.get(name):
            matched.append(name)
        else:
            mismatched.append((g, name))
    for g, name in mismatched[:show]:
        want, got = goldens.get(name) or [], recorded[name]
        print(f"MISMATCH {g}/{name}", file=sys.stderr)
        for i in range(max(len(want), len(got))):
            w = want[i] if i < len(want) else None
            r = got[i] if i < len(got) else None
            if w != r:
                print(f"  step {i}: golden {json.dumps(w, sort_keys=True)}\n"
                      f"  step {i}: server {json.dumps(r, sort_keys=True)}", file=sys.stderr)
    for g, name in mismatched[show:]:
        print(f"MISMATCH {g}/{name}", file=sys.stderr)
    print(f"{version}: {len(matched)} of {len(todo)} case(s) match the goldens, {len(mismatched)} differ, "
          f"{len(failures)} failed to run, in {secs:.1f} s")
    return 0 if not mismatched and not failures else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--group", action="append", help="record only this group (repeatable)")
    ap.add_argument("--case", action="append", help="record only this case (repeatable)")
    ap.add_argument("--check", action="store_true", help="only check that the cases are well-formed")
    ap.add_argument("--jobs", type=int, default=3,
                    help="servers run in parallel (each case still gets its own server)")
    ap.add_argument("--zoolab", metavar="BINARY",
                    help="run the cases on `BINARY server` (a fresh process per case) and compare "
                         "with the goldens instead of recording")
    ap.add_argument("--server", metavar="HOST:PORT",
                    help="run the cases against this already-running server and compare with the goldens")
    ap.add_argument("--show", type=int, default=5, help="with --zoolab/--server: mismatches to print in full")
    args = ap.parse_args()
    global ZOOLAB_BIN, EXTERNAL_SERVER
    if args.zoolab:
        ZOOLAB_BIN = os.path.abspath(args.zoolab)
    if args.server:
        host, _, port = args.server.rpartition(":")
        EXTERNAL_SERVER = (host or "127.0.0.1", int(port))
        args.jobs = 1

    try:
        groups = load_groups()
    except CaseError as e:
        print(f"record.py: malformed case: {e}", file=sys.stderr)
        return 2
    if args.check:
        print(f"{sum(len(c) for c in groups.values())} cases in {len(groups)} groups are well-formed")
        return 0
    selected_groups = set(args.group or groups)
    unknown = selected_groups - set(groups)
    if unknown:
        print(f"record.py: unknown group(s) {sorted(unknown)}", file=sys.stderr)
        return 2
    todo = []
    for g in sorted(selected_groups):
        for c in groups[g]:
            if not args.case or c["name"] in args.case:
                todo.append((g, c))
    if args.case:
        missing = set(args.case) - {c["name"] for _, c in todo}
        if missing:
            print(f"record.py: unknown case(s) {sorted(missing)}", file=sys.stderr)
            return 2

    t0 = time.monotonic()
    recorded = {}
    version = None
    failures = []
    import multiprocessing
    # Workers are reused across cases: a case leaves nothing behind (its clients are stopped,
    # its server killed), and the parent starts no threads before forking.
    ctx = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(max_workers=args.jobs, mp_context=ctx) as pool:
        futures = {pool.submit(run_case, c): (g, c["name"]) for g, c in todo}
        for fut in concurrent.futures.as_completed(futures):
            g, name = futures[fut]
            try:
                name, results, version, secs = fut.result()
                recorded[name] = results
            except Exception as e:
                failures.append(str(e))
                print(str(e), file=sys.stderr)
    if ZOOLAB_BIN is not None or EXTERNAL_SERVER is not None:
        return compare(todo, recorded, failures, version, time.monotonic() - t0, args.show)
    if failures:
        print(f"record.py: {len(failures)} case(s) failed; golden files left unchanged", file=sys.stderr)
        return 1

    os.makedirs(GOLDEN_DIR, exist_ok=True)
    touched = sorted({g for g, _ in todo})
    for g in touched:
        path = os.path.join(GOLDEN_DIR, g + ".json")
        old = {}
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                old = {c["name"]: c["results"] for c in json.load(f)["cases"]}
        out = []
        for c in groups[g]:
            if c["name"] in recorded:
                out.append({"name": c["name"], "results": recorded[c["name"]]})
            elif c["name"] in old:
                out.append({"name": c["name"], "results": old[c["name"]]})
            else:
                print(f"record.py: case {c['name']} has no golden yet; record its group", file=sys.stderr)
                return 1
        with open(path, "w", encoding="utf-8") as f:
            f.write(dump({"server": version, "cases": out}))
    print(f"recorded {len(recorded)} case(s) in {len(touched)} group(s) in {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
