#!/usr/bin/env python3
"""Records a real ZooKeeper 3.8's tree digest for `core/tests/digest.rs`.

    python3 core/tests/data/record_digest.py > core/tests/data/zk_digest.json

Starts a fresh standalone server (tests/conformance/record.py's Server), makes exactly
128 transactions (ZooKeeper logs the digest at zxids that are multiples of 128), reads
the `hash` four-letter word, and dumps every node (data, Stat) so the test can rebuild
the same tree in zoolab and compare digests. Needs kazoo and the Debian zookeeper
package (`make reference-deps`).
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "tests", "conformance"))
import record  # noqa: E402
from kazoo.client import KazooClient  # noqa: E402
from kazoo.security import make_digest_acl  # noqa: E402

server = record.Server()
try:
    server.start()
    zk = KazooClient(hosts=f"127.0.0.1:{server.port}")
    zk.start()  # zxid 1: createSession
    n = 1
    zk.create("/app", b"root of the app")
    zk.create("/app/cfg", b"x" * 300)
    zk.create("/zookeeper/mine", b"not in the digest")
    zk.create("/app/eph", b"an ephemeral: its owner (the session id) is in the digest", ephemeral=True)
    n += 1
    zk.create("/app/locked", b"s", acl=[make_digest_acl("u", "p", all=True)])
    for step in ({"path": "/c", "data": "", "mode": "container"},
                 {"path": "/app/t", "data": "ttl", "mode": "persistent_with_ttl", "ttl": 600000}):
        opcode, body = record.create_body(step)
        res = zk.handler.async_result()
        zk._call(record.Req(opcode, body, lambda r: r.string()), res)
        res.get(timeout=10)
    n += 6
    i = 0
    while n < 127:
        zk.create(f"/app/n{i}", str(i).encode())
        n += 1
        if n < 127 and i % 3 == 0:
            zk.set(f"/app/n{i}", b"changed")
            n += 1
        if n < 127 and i % 5 == 0:
            zk.delete(f"/app/n{i}")
            n += 1
        i += 1
    zk.set("/", b"root data")  # zxid 128
    n += 1
    assert n == 128, n
    time.sleep(0.2)
    digest = record.four_letter(server.port, "hash")
    nodes = []

    def walk(path):
        data, st = zk.get(path)
        nodes.append({
            "path": path, "data": data.decode("latin-1"),
            "czxid": st.czxid, "mzxid": st.mzxid, "pzxid": st.pzxid,
            "ctime": st.ctime, "mtime": st.mtime, "version": st.version,
            "cversion": st.cversion, "aversion": st.aversion,
            "ephemeralOwner": st.ephemeralOwner, "numChildren": st.numChildren,
        })
        for c in sorted(zk.get_children(path)):
            walk(("" if path == "/" else path) + "/" + c)

    zk.add_auth("digest", "u:p")
    walk("/")
    zk.stop()
    print(json.dumps({"server": server.version, "hash": digest, "nodes": nodes}, indent=1))
finally:
    server.cleanup()
