#!/usr/bin/env python3
"""Write throughput of a 3-process zoolab ensemble and a 3-process Apache ZooKeeper 3.8
ensemble, measured in the same run with the same client load (BENCHMARKS.md).

    cargo build --release -p zoolab-server
    python3 tests/realclients/bench_ensemble.py --zoolab target/release/zoolab [--secs 10] [--clients 4]

Both ensembles run on loopback (free ports, temporary directories, tickTime 2000, fsync on),
one after the other. The load: `--clients` kazoo clients, each connected to one server
(round robin over the three), each keeping `--window` asynchronous creates of 100-byte
znodes in flight for `--secs` seconds; the figure is acknowledged creates per second.
Apache ZooKeeper is skipped when Debian's `zookeeper` package is not installed. Every
process started is stopped by its own pid.
"""

import argparse
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HOST = "127.0.0.1"


def free_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind((HOST, 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def four(port, word):
    try:
        with socket.create_connection((HOST, port), timeout=2) as s:
            s.sendall(word.encode())
            out = b""
            while True:
                c = s.recv(4096)
                if not c:
                    return out.decode()
                out += c
    except OSError:
        return ""


def ensemble(kind, binary, tmp):
    ports = free_ports(9)
    client = [ports[3 * i] for i in range(3)]
    lines = "".join(f"server.{i + 1}={HOST}:{ports[3 * i + 1]}:{ports[3 * i + 2]}\n" for i in range(3))
    procs = []
    for i in range(3):
        data = os.path.join(tmp, f"{kind}{i + 1}")
        os.makedirs(data)
        with open(os.path.join(data, "myid"), "w") as f:
            f.write(f"{i + 1}\n")
        cfg = os.path.join(tmp, f"{kind}{i + 1}.cfg")
        with open(cfg, "w") as f:
            f.write(f"tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir={data}\nclientPort={client[i]}\n"
                    f"clientPortAddress={HOST}\n4lw.commands.whitelist=*\nadmin.enableServer=false\n"
                    f"maxClientCnxns=0\n{lines}")
        log = open(os.path.join(tmp, f"{kind}{i + 1}.log"), "w")
        if kind == "zoolab":
            cmd = [binary, "server", "--config", cfg]
        else:
            cp = ":".join(["/etc/zookeeper/conf"] + sorted(glob.glob("/usr/share/java/*.jar")))
            cmd = ["java", "-Xmx512m", "-cp", cp, "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg]
        procs.append(subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        modes = [m for p in client for m in four(p, "srvr").splitlines() if m.startswith("Mode: ")]
        if sorted(modes) == ["Mode: follower", "Mode: follower", "Mode: leader"]:
            return procs, client
        time.sleep(0.2)
    for p in procs:
        p.kill()
        p.wait()
    raise SystemExit(f"{kind}: the ensemble did not form")


def load(ports, secs, clients, window):
    from kazoo.client import KazooClient
    zks = []
    for i in range(clients):
        zk = KazooClient(hosts=f"{HOST}:{ports[i % len(ports)]}", timeout=30)
        zk.start(timeout=30)
        zks.append(zk)
    zks[0].ensure_path("/bench")
    for zk in zks:
        zk.sync("/bench")
    payload = b"x" * 100
    acked = [0] * clients
    errors = [0] * clients
    stop_at = time.monotonic() + secs

    def run(i):
        zk = zks[i]
        sem = threading.Semaphore(window)
        n = 0

        def done(a, i=i):
            try:
                a.get()
                if time.monotonic() <= stop_at:
                    acked[i] += 1
            except Exception:
                errors[i] += 1
            sem.release()
        while time.monotonic() < stop_at:
            sem.acquire()
            n += 1
            zk.create_async(f"/bench/c{i}-{n}", payload).rawlink(done)
        for _ in range(window):
            sem.acquire(timeout=30)

    t0 = time.monotonic()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = min(time.monotonic() - t0, secs)
    for zk in zks:
        zk.stop()
        zk.close()
    return sum(acked) / elapsed, sum(errors)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zoolab", required=True)
    ap.add_argument("--secs", type=float, default=10)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--window", type=int, default=64)
    args = ap.parse_args()
    import logging
    logging.basicConfig(level=logging.CRITICAL)
    kinds = ["zoolab"]
    if os.path.exists("/usr/share/java/zookeeper.jar"):
        kinds.append("zookeeper")
    else:
        print("Apache ZooKeeper not installed (apt-get install zookeeper): measuring zoolab only")
    results = {}
    for kind in kinds:
        tmp = tempfile.mkdtemp(prefix=f"bench-{kind}-")
        procs = []
        try:
            procs, ports = ensemble(kind, args.zoolab, tmp)
            rate, errors = load(ports, args.secs, args.clients, args.window)
            results[kind] = rate
            print(f"{kind:10} 3 servers: {rate:8.0f} creates/s acknowledged "
                  f"({args.clients} clients x {args.window} in flight, {args.secs:.0f} s, {errors} errors)",
                  flush=True)
        finally:
            for p in procs:
                p.kill()  # by its own pid
                p.wait()
            shutil.rmtree(tmp, ignore_errors=True)
    if len(results) == 2:
        print(f"zoolab / ZooKeeper: {results['zoolab'] / results['zookeeper']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
