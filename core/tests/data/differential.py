#!/usr/bin/env python3
"""Random differential testing of the tree against a real ZooKeeper 3.8.

    python3 core/tests/data/differential.py SEED [CASES] [--acl] [--containers]   # writes /tmp/zoolab-diff-SEED
    ZOOLAB_CONFORMANCE_DIR=/tmp/zoolab-diff-SEED cargo test -p zoolab-core --test conformance -- --nocapture

Generates CASES random cases (two sessions, 40 steps each: creates in every mode but
containers, deletes, setData, setACL, multi, reads with watches, persistent watches,
removeWatches, closes and reconnects), records them with tests/conformance/record.py
against a fresh Apache ZooKeeper per case, and leaves a conformance directory the
replay can be pointed at. `--acl` adds add_auth (digest users, the super user) and
digest/auth/ip ACLs; `--containers` creates containers and waits 1.5 s after every step
that may empty one (the recorder's server checks every 200 ms). Short TTLs are left
out (their expiry would race the steps). Needs what `make reference` needs.
"""
import base64
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RECORD = os.path.join(HERE, "..", "..", "..", "tests", "conformance", "record.py")
PATHS = ["/a", "/b", "/a/x", "/a/y", "/b/x", "/a/x/q", "/s-", "/a/s-"]
MODES = ["persistent", "persistent", "ephemeral", "persistent_sequential", "ephemeral_sequential",
         "persistent_with_ttl"]
READ_ONLY = [{"perms": "r", "scheme": "world", "id": "anyone"}]
OPEN = [{"perms": "cdrwa", "scheme": "world", "id": "anyone"}]


def generate(seed, count):
    rng = random.Random(seed)

    def create(p):
        m = rng.choice(MODES)
        s = {"op": "create", "path": p, "data": rng.choice(["", "d", "data"]), "mode": m}
        if m == "persistent_with_ttl":
            s["ttl"] = 3600000
        if rng.random() < 0.1:
            s["acl"] = READ_ONLY
        return s

    def version():
        return rng.choice([-1, -1, 0, 1, 2])

    cases = []
    for c in range(count):
        steps = [{"session": "a", "op": "connect"}, {"session": "b", "op": "connect"}]
        open_ = {"a": True, "b": True}
        for _ in range(40):
            sess = rng.choice(["a", "b"])
            if not open_[sess]:
                steps.append({"session": sess, "op": "connect"})
                open_[sess] = True
                continue
            p = rng.choice(PATHS)
            r = rng.random()
            if r < 0.25:
                s = create(p)
            elif r < 0.35:
                s = {"op": "delete", "path": p, "version": version()}
            elif r < 0.45:
                s = {"op": "set_data", "path": p, "data": rng.choice(["1", "22", ""]), "version": version()}
            elif r < 0.52:
                s = {"op": "exists", "path": p, "watch": rng.random() < 0.7}
            elif r < 0.58:
                s = {"op": "get_data", "path": p, "watch": rng.random() < 0.7}
            elif r < 0.64:
                s = {"op": "get_children", "path": rng.choice(["/", "/a", "/b", "/a/x"]),
                     "watch": rng.random() < 0.7, "with_stat": rng.random() < 0.5}
            elif r < 0.70:
                s = {"op": "events"}
            elif r < 0.76:
                ops = []
                for _ in range(rng.randint(1, 4)):
                    q = rng.choice(PATHS)
                    k = rng.random()
                    if k < 0.4:
                        o = create(q)
                        o.pop("acl", None)
                        ops.append(o)
                    elif k < 0.6:
                        ops.append({"op": "delete", "path": q, "version": version()})
                    elif k < 0.8:
                        ops.append({"op": "set_data", "path": q, "data": "m", "version": version()})
                    else:
                        ops.append({"op": "check", "path": q, "version": rng.choice([-1, 0, 1])})
                s = {"op": "multi", "ops": ops}
            elif r < 0.79:
                s = {"op": "set_acl", "path": p, "acl": rng.choice([READ_ONLY, OPEN]), "version": version()}
            elif r < 0.82:
                s = {"op": "get_acl", "path": p}
            elif r < 0.85:
                s = {"op": "add_watch", "path": rng.choice(["/", "/a", "/b"]),
                     "mode": rng.choice(["persistent", "persistent_recursive"])}
            elif r < 0.88:
                s = {"op": "remove_watches", "path": p, "type": rng.choice(["data", "children", "any"])}
            elif r < 0.91:
                s = {"op": "get_all_children_number", "path": rng.choice(["/", "/a"])}
            elif r < 0.94:
                s = {"op": "get_ephemerals"}
            elif r < 0.97:
                s = {"op": "close"}
                open_[sess] = False
            else:
                s = {"op": "get_children", "path": "/", "with_stat": True}
            s["session"] = sess
            steps.append(s)
        steps += [{"session": "a", "op": "events"}, {"session": "b", "op": "events"}]
        cases.append({"name": f"random_{seed}_{c}", "doc": "random differential case", "steps": steps})
    return {"cases": cases}


def digest_id(user_password):
    user = user_password.split(":", 1)[0]
    return user + ":" + base64.b64encode(hashlib.sha1(user_password.encode()).digest()).decode()


def with_acls(doc, seed):
    rng = random.Random(seed)
    acls = [READ_ONLY, OPEN,
            [{"perms": "cdrwa", "scheme": "digest", "id": digest_id("alice:pw")}],
            [{"perms": "r", "scheme": "world", "id": "anyone"},
             {"perms": "cdrwa", "scheme": "digest", "id": digest_id("bob:pw")}],
            [{"perms": "cdrwa", "scheme": "auth", "id": ""}],
            [{"perms": "cdrwa", "scheme": "ip", "id": "127.0.0.1"}],
            [{"perms": "rw", "scheme": "ip", "id": "10.0.0.0/8"}, {"perms": "a", "scheme": "world", "id": "anyone"}]]
    for c in doc["cases"]:
        steps = []
        for s in c["steps"]:
            steps.append(s)
            if s["op"] == "connect" and rng.random() < 0.6:
                who = rng.choice(["alice:pw", "bob:pw", "super:superpw", "eve:x"])
                steps.append({"session": s["session"], "op": "add_auth", "scheme": "digest", "auth": who})
            elif s["op"] in ("create", "set_acl") and rng.random() < 0.5:
                s["acl"] = rng.choice(acls)
        c["steps"] = steps


def with_containers(doc):
    for c in doc["cases"]:
        steps = []
        for s in c["steps"]:
            steps.append(s)
            if s["op"] in ("delete", "multi", "close"):
                steps.append({"op": "wait", "ms": 1500})
        c["steps"] = steps


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    seed = int(args[0]) if args else 1
    count = int(args[1]) if len(args) > 1 else 30
    global MODES
    if "--containers" in sys.argv:
        MODES = ["persistent", "container", "container", "ephemeral", "persistent_sequential",
                 "ephemeral_sequential"]
    out = f"/tmp/zoolab-diff-{seed}"
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(os.path.join(out, "cases"))
    shutil.copy(RECORD, out)
    doc = generate(seed, count)
    if "--acl" in sys.argv:
        with_acls(doc, seed)
    if "--containers" in sys.argv:
        with_containers(doc)
    with open(os.path.join(out, "cases", "random.json"), "w") as f:
        json.dump(doc, f, indent=0)
    subprocess.run([sys.executable, os.path.join(out, "record.py")], check=True)
    print(f"ZOOLAB_CONFORMANCE_DIR={out} cargo test -p zoolab-core --test conformance -- --nocapture")


if __name__ == "__main__":
    main()
