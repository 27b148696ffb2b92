#!/usr/bin/env python3
"""Real ZooKeeper clients against `zoolab server`: kazoo (every operation, watches,
ephemerals on session close and expiry, multi, ACLs, sequential nodes) and Debian's zkCli.sh.

    python3 tests/realclients/test_clients.py --zoolab target/debug/zoolab   # starts and stops it
    python3 tests/realclients/test_clients.py --server 127.0.0.1:2181        # an already-running server
    python3 tests/realclients/test_clients.py --zoolab ... -k acl            # tests whose name has "acl"

Each test uses its own top-level path, so they share one server. The server this script
starts is stopped by its own pid. Exit status 0 when every test passed.
"""

import argparse
import os
import re
import shutil
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
PORT = None
SERVER = None  # the zoolab this script started: (restart function) for the restart test
ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"


def four_letter(cmd):
    return zkprocs.four_letter(PORT, cmd, host=HOST)


def client(timeout=10.0):
    from kazoo.client import KazooClient
    zk = KazooClient(hosts=f"{HOST}:{PORT}", timeout=timeout)
    zk.start(timeout=10)
    return zk


def stop(zk):
    zk.stop()
    zk.close()


def wait_for(pred, secs=5.0):
    return zkprocs.wait_for(pred, secs, interval=0.02)


# --- kazoo ---------------------------------------------------------------------------------
def test_crud_and_versions():
    from kazoo.exceptions import BadVersionError, NodeExistsError, NoNodeError, NotEmptyError
    zk = client()
    try:
        assert zk.create("/crud", b"v0") == "/crud"
        data, st = zk.get("/crud")
        assert data == b"v0" and st.version == 0 and st.dataLength == 2
        st = zk.set("/crud", b"v1")
        assert st.version == 1
        try:
            zk.set("/crud", b"v2", version=0)
            raise AssertionError("stale version accepted")
        except BadVersionError:
            pass
        try:
            zk.create("/crud", b"")
            raise AssertionError("duplicate accepted")
        except NodeExistsError:
            pass
        zk.create("/crud/child", b"c")
        try:
            zk.delete("/crud")
            raise AssertionError("non-empty delete accepted")
        except NotEmptyError:
            pass
        assert zk.get_children("/crud") == ["child"]
        children, st = zk.get_children("/crud", include_data=True)
        assert children == ["child"] and st.numChildren == 1
        assert zk.exists("/crud/none") is None
        zk.ensure_path("/crud/a/b/c")
        assert zk.exists("/crud/a/b/c") is not None
        zk.sync("/crud")
        zk.delete("/crud", recursive=True)
        assert zk.exists("/crud") is None
        try:
            zk.get("/crud")
            raise AssertionError("deleted node readable")
        except NoNodeError:
            pass
    finally:
        stop(zk)


def test_sequential_nodes():
    zk = client()
    try:
        zk.create("/seq")
        paths = [zk.create("/seq/n-", b"", sequence=True) for _ in range(3)]
        assert paths == ["/seq/n-0000000000", "/seq/n-0000000001", "/seq/n-0000000002"], paths
        zk.create("/seq/plain")
        assert zk.create("/seq/n-", b"", sequence=True) == "/seq/n-0000000004"
        e = zk.create("/seq/e-", b"", sequence=True, ephemeral=True)
        assert e == "/seq/e-0000000005", e
    finally:
        stop(zk)


def test_ephemerals_go_when_their_session_closes():
    a, b = client(), client()
    try:
        b.ensure_path("/eph")
        a.create("/eph/mine", b"", ephemeral=True)
        st = b.exists("/eph/mine")
        assert st is not None and st.ephemeralOwner == a.client_id[0]
        gone = threading.Event()
        b.exists("/eph/mine", watch=lambda ev: gone.set() if ev.type == "DELETED" else None)
        stop(a)
        assert gone.wait(5), "no NodeDeleted for the ephemeral"
        assert b.exists("/eph/mine") is None
    finally:
        stop(b)


def test_ephemerals_go_when_their_session_expires():
    from kazoo.client import KazooClient
    b = client()
    # A raw session that never pings: it expires after its (minimum) timeout.
    a = KazooClient(hosts=f"{HOST}:{PORT}", timeout=4.0)
    a.start(timeout=10)
    try:
        b.ensure_path("/exp")
        a.create("/exp/e", b"", ephemeral=True)
        # Cut a off without closing its session: stop kazoo's pings by killing its socket.
        a._connection._socket.shutdown(socket.SHUT_RDWR)
        a.stop()
        assert wait_for(lambda: b.exists("/exp/e") is None, 15), "ephemeral outlived its session"
    finally:
        stop(b)
        a.close()


def test_watches_data_children_exists():
    zk, other = client(), client()
    try:
        zk.create("/watch", b"0")
        seen = []
        done = threading.Event()

        def on(ev):
            seen.append((ev.type, ev.path))
            done.set()

        zk.get("/watch", watch=on)
        other.set("/watch", b"1")
        assert done.wait(5) and seen == [("CHANGED", "/watch")], seen
        done.clear()
        zk.get_children("/watch", watch=on)
        other.create("/watch/kid")
        assert done.wait(5) and seen[-1] == ("CHILD", "/watch"), seen
        done.clear()
        zk.exists("/watch/new", watch=on)
        other.create("/watch/new")
        assert done.wait(5) and seen[-1] == ("CREATED", "/watch/new"), seen
        # A one-shot watch fires once.
        other.set("/watch", b"2")
        time.sleep(0.2)
        assert len(seen) == 3, seen
        # kazoo's recipes re-arm watches.
        values = []
        zk.DataWatch("/watch", lambda data, stat: values.append(data))
        other.set("/watch", b"3")
        other.set("/watch", b"4")
        assert wait_for(lambda: values[-1:] == [b"4"]), values
    finally:
        stop(zk)
        stop(other)


def test_multi():
    from kazoo.exceptions import NoNodeError, RolledBackError
    zk = client()
    try:
        zk.create("/multi", b"x")
        t = zk.transaction()
        t.create("/multi/a", b"1")
        t.check("/multi", 0)
        t.set_data("/multi", b"y")
        t.delete("/multi/a")
        results = t.commit()
        assert results[0] == "/multi/a" and results[1] is True and results[3] is True, results
        assert zk.get("/multi")[0] == b"y"
        t = zk.transaction()
        t.create("/multi/b", b"")
        t.delete("/multi/none")
        results = t.commit()
        assert isinstance(results[0], RolledBackError) and isinstance(results[1], NoNodeError), results
        assert zk.exists("/multi/b") is None
    finally:
        stop(zk)


def test_acls_and_digest_auth():
    from kazoo.exceptions import NoAuthError, AuthFailedError
    from kazoo.security import make_digest_acl, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE
    owner = client()
    stranger = client()
    try:
        owner.add_auth("digest", "alice:secret")
        acl = [make_digest_acl("alice", "secret", all=True)]
        owner.create("/acl", b"private", acl=acl)
        assert owner.get("/acl")[0] == b"private"
        got, st = owner.get_acls("/acl")
        assert got[0].id.scheme == "digest" and got[0].perms == 31, got
        try:
            stranger.get("/acl")
            raise AssertionError("read without auth")
        except NoAuthError:
            pass
        owner.set_acls("/acl", READ_ACL_UNSAFE + acl)
        assert stranger.get("/acl")[0] == b"private"
        try:
            stranger.set("/acl", b"mine")
            raise AssertionError("write without auth")
        except NoAuthError:
            pass
        owner.set_acls("/acl", OPEN_ACL_UNSAFE)
        stranger.set("/acl", b"open")
        try:
            stranger.add_auth("nosuchscheme", "x")
            raise AssertionError("unknown scheme accepted")
        except (AuthFailedError, Exception):
            pass
    finally:
        stop(owner)
        try:
            stop(stranger)
        except Exception:
            pass


def test_session_resumes_on_a_new_connection():
    from kazoo.client import KazooClient
    a = client()
    try:
        sid, pw = a.client_id
        b = KazooClient(hosts=f"{HOST}:{PORT}", client_id=(sid, pw))
        b.start(timeout=10)
        assert b.client_id[0] == sid
        b.create("/resume", b"", ephemeral=True)
        assert b.exists("/resume").ephemeralOwner == sid
        stop(b)
    finally:
        try:
            stop(a)
        except Exception:
            pass


def test_four_letter_words():
    assert four_letter("ruok") == "imok"
    assert "Mode: standalone" in four_letter("srvr")
    assert "zk_znode_count" in four_letter("mntr")


def test_zz_kill_9_restart_keeps_sessions_and_watches():
    """kazoo rides out a kill -9 of the server: same session, its ephemeral, its watch."""
    if SERVER is None:
        print("  (needs the server this script starts: skipped)")
        return
    zk, other = client(timeout=10.0), client(timeout=10.0)
    try:
        zk.ensure_path("/restart")
        zk.create("/restart/eph", b"", ephemeral=True)
        sid = zk.client_id[0]
        fired = threading.Event()
        zk.get("/restart", watch=lambda ev: fired.set())
        SERVER()  # kill -9 and start again on the same port and dataDir
        assert wait_for(lambda: zk.connected and other.connected, 15), "clients did not reconnect"
        assert zk.client_id[0] == sid
        assert other.exists("/restart/eph").ephemeralOwner == sid
        other.set("/restart", b"after")
        assert fired.wait(5), "the watch was not re-registered (setWatches)"
    finally:
        stop(zk)
        stop(other)


# --- zkCli.sh ------------------------------------------------------------------------------
def zkcli(*cmd):
    out = subprocess.run([ZKCLI, "-server", f"{HOST}:{PORT}", *cmd], capture_output=True, text=True,
                         timeout=60, stdin=subprocess.DEVNULL)
    return out.stdout + out.stderr


def test_zkcli():
    if not os.path.exists(ZKCLI):
        print("  (zkCli.sh not installed: skipped)")
        return
    out = zkcli("create", "/zkcli", "hello")
    assert "Created /zkcli" in out, out
    out = zkcli("get", "/zkcli")
    assert "hello" in out, out
    out = zkcli("set", "/zkcli", "world")
    out = zkcli("stat", "/zkcli")
    assert "dataVersion = 1" in out, out
    out = zkcli("ls", "/")
    assert "zkcli" in out and "zookeeper" in out, out
    out = zkcli("delete", "/zkcli")
    out = zkcli("ls", "/")
    assert "zkcli" not in out.split("\n")[-2], out


def test_zkcli_null_data():
    """zkCli's `create /x` without data sends a -1 buffer: `get` prints null (ZooKeeper keeps
    null data), while `create /x ""` makes empty data, which `get` prints as an empty line."""
    if not os.path.exists(ZKCLI):
        print("  (zkCli.sh not installed: skipped)")
        return
    script = 'create /zkn\nget /zkn\ncreate /zke ""\nget /zke\ndelete /zkn\ndelete /zke\nquit\n'
    out = subprocess.run([ZKCLI, "-server", f"{HOST}:{PORT}"], input=script, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, timeout=60).stdout
    # Without a terminal zkCli echoes no commands: each result follows the previous one.
    lines = [l for l in out.splitlines() if not re.match(r"\d{4}-\d\d-\d\d ", l)]
    at = lines.index("Created /zkn")
    assert lines[at + 1] == "null", out
    at = lines.index("Created /zke")
    assert lines[at + 1] == "", out


def test_zkcli_interactive_session():
    """One zkCli session: node modes, whoami, counts, a recursive watch, deleteall."""
    if not os.path.exists(ZKCLI):
        print("  (zkCli.sh not installed: skipped)")
        return
    script = ("create /zki x\ncreate -c /zki/c\ncreate -t 5000 /zki/t y\ncreate -s /zki/s- z\n"
              "getAllChildrenNumber /zki\nwhoami\naddWatch -m PERSISTENT_RECURSIVE /zki\n"
              "set /zki/t w\ndeleteall /zki\nls /\nquit\n")
    out = subprocess.run([ZKCLI, "-server", f"{HOST}:{PORT}"], input=script, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, timeout=60).stdout
    for want in ["Created /zki/c", "Created /zki/t", "Created /zki/s-0000000002", "\n3\n",
                 "ip: 127.0.0.1", "type:NodeDataChanged path:/zki/t", "type:NodeDeleted path:/zki\n"]:
        assert want in out, f"{want!r} not in:\n{out}"


TESTS = [v for k, v in sorted(globals().items()) if k.startswith("test_")]


def main():
    global PORT, HOST, SERVER
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zoolab", help="the zoolab binary to start (and stop) for the tests")
    ap.add_argument("--server", help="HOST:PORT of an already-running server")
    ap.add_argument("-k", help="only tests whose name contains this")
    args = ap.parse_args()
    import logging
    logging.basicConfig(level=logging.CRITICAL)
    proc, tmp = None, None
    if args.server:
        HOST, _, port = args.server.rpartition(":")
        PORT = int(port)
    elif args.zoolab:
        tmp = tempfile.mkdtemp(prefix="zoolab-clients-")
        PORT = zkprocs.free_port(HOST)
        cfg = os.path.join(tmp, "zoo.cfg")
        zkprocs.write(cfg, f"tickTime=500\nclientPort={PORT}\nclientPortAddress={HOST}\n"
                           f"4lw.commands.whitelist=*\nminSessionTimeout=1000\ndataDir={tmp}/data\n"
                           "extendedTypesEnabled=true\n")  # TTL nodes are off by default, as in ZooKeeper

        def start():
            p = zkprocs.spawn([args.zoolab, "server", "--config", cfg], os.path.join(tmp, "zoolab.log"), append=True)
            if not wait_for(lambda: _ruok(), 10):
                zkprocs.kill(p)
                sys.exit("zoolab server did not start")
            return p

        proc = start()

        def restart():
            nonlocal proc
            zkprocs.kill(proc)  # kill -9, by its own pid
            proc = start()

        SERVER = restart
    else:
        ap.error("give --zoolab BINARY or --server HOST:PORT")
    failed = 0
    t0 = time.monotonic()
    try:
        for t in TESTS:
            if args.k and args.k not in t.__name__:
                continue
            t1 = time.monotonic()
            try:
                t()
                print(f"ok    {t.__name__} ({time.monotonic() - t1:.1f} s)")
            except Exception:
                failed += 1
                print(f"FAIL  {t.__name__}\n{traceback.format_exc()}")
    finally:
        if proc is not None:
            zkprocs.kill(proc)  # by its own pid
            if failed or os.environ.get("ZOOLAB_SHOW_LOG"):
                with open(os.path.join(tmp, "zoolab.log")) as f:
                    print("--- zoolab log tail ---\n" + "".join(f.readlines()[-30:]))
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"real clients: {'all passed' if not failed else f'{failed} failed'} in {time.monotonic() - t0:.1f} s")
    return 1 if failed else 0


def _ruok():
    try:
        return four_letter("ruok") == "imok"
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
