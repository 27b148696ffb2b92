#!/usr/bin/env python3
"""Throughput, latency and memory of a 3-process zoolab ensemble and a 3-process Apache
ZooKeeper 3.8 ensemble, measured in the same run with the same load (BENCHMARKS.md).

    cargo build --release -p zoolab-server --example zkload
    python3 tests/realclients/bench_ensemble.py --zoolab target/release/zoolab \
        --load target/release/examples/zkload [--secs 10] [--sessions 32] [--keys 100000]
    python3 tests/realclients/bench_ensemble.py --zoolab target/release/zoolab \
        --load target/release/examples/zkload --memory-only [--keys 100000]
    ... [--only zoolab]   (one ensemble only, for quick iterations)

Both ensembles run on loopback (free ports, temporary directories, tickTime 2000, fsync on),
one after the other. The load is `zkload` (server/examples/zkload.rs: Rust, tokio, the core's
jute codec): `--sessions` sessions spread over the three servers, each keeping 4 requests in
flight, on `--keys` znodes created first; 1 KB values; first 100% setData, then 90% getData.
It reports operations per second, p50/p99 latency and its own CPU time (to show it was not
the bottleneck); this script adds each server's resident memory (VmRSS) after the write
phase. `--memory-only` runs no throughput load: it creates `--keys` znodes of 1 KB each
(one session, 200 creates in flight), syncs through every server, waits `--settle` seconds
and reads each server's VmRSS (/proc/PID/status), then prints the ratio of the sums.
Apache ZooKeeper is skipped when Debian's `zookeeper` package is not installed.
Every process started is stopped by its own pid.
"""

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pyutil"))
import zkprocs  # noqa: E402  (free ports, four-letter words, starting and stopping servers)

HOST = zkprocs.HOST


def ensemble(kind, binary, tmp, extra_cfg=""):
    """Three servers of `kind` ("zoolab" or "zookeeper": Debian's package with its own
    classpath and a 512 MB heap, not the suites' quick JVM) with the settings BENCHMARKS.md's
    figures were measured with; returns (their Popens, their client ports) once they formed."""
    ports = zkprocs.free_ports(9, HOST)
    client = ports[0::3]
    lines = zkprocs.server_lines(list(zip(ports[1::3], ports[2::3])), host=HOST)
    procs = []
    for i in range(3):
        data = zkprocs.data_dir(os.path.join(tmp, f"{kind}{i + 1}"), myid=i + 1)
        cfg = os.path.join(tmp, f"{kind}{i + 1}.cfg")
        zkprocs.write(cfg, f"tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir={data}\nclientPort={client[i]}\n"
                           f"clientPortAddress={HOST}\n4lw.commands.whitelist=*\nadmin.enableServer=false\n"
                           f"maxClientCnxns=0\n{lines}{extra_cfg if kind == 'zoolab' else ''}")
        if kind == "zoolab":
            cmd = [binary, "server", "--config", cfg]
        else:
            cp = ":".join(["/etc/zookeeper/conf"] + sorted(glob.glob("/usr/share/java/*.jar")))
            cmd = ["java", "-Xmx512m", "-cp", cp, zkprocs.QUORUM_MAIN, cfg]
        procs.append(zkprocs.spawn(cmd, os.path.join(tmp, f"{kind}{i + 1}.log")))
    formed = ["follower", "follower", "leader"]
    if zkprocs.wait_for(lambda: sorted(zkprocs.srvr(p, "Mode", HOST) or "" for p in client) == formed, 60,
                        interval=0.2):
        return procs, client
    zkprocs.kill_all(procs)  # each by its own pid
    raise SystemExit(f"{kind}: the ensemble did not form")


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def zkload(binary, ports, secs, sessions, keys, reads, extra=()):
    hosts = ",".join(f"{HOST}:{p}" for p in ports)
    out = subprocess.run([binary, hosts, "--sessions", str(sessions), "--secs", str(secs), "--keys", str(keys),
                          "--reads", str(reads), "--value", "1024", "--window", "4", *extra],
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise SystemExit(f"zkload failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zoolab", required=True)
    ap.add_argument("--load", required=True, help="the zkload binary (server/examples/zkload.rs)")
    ap.add_argument("--secs", type=float, default=10)
    ap.add_argument("--sessions", type=int, default=32)
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--memory-only", action="store_true",
                    help="only load --keys znodes of 1 KB and read each server's resident memory")
    ap.add_argument("--zoolab-cfg", action="append", default=[],
                    help="an extra zoo.cfg line for the zoolab servers (e.g. commitLogCount=0)")
    ap.add_argument("--settle", type=float, default=5.0, help="seconds to wait before reading VmRSS")
    ap.add_argument("--only", choices=["zoolab", "zookeeper"],
                    help="measure one ensemble only (quicker iterations while profiling)")
    args = ap.parse_args()
    import logging
    logging.basicConfig(level=logging.CRITICAL)
    kinds = ["zoolab"]
    if os.path.exists("/usr/share/java/zookeeper.jar"):
        kinds.append("zookeeper")
    else:
        print("Apache ZooKeeper not installed (apt-get install zookeeper): measuring zoolab only")
    if args.only:
        kinds = [k for k in kinds if k == args.only]
    results = {}
    for kind in kinds:
        tmp = tempfile.mkdtemp(prefix=f"bench-{kind}-")
        procs = []
        try:
            procs, ports = ensemble(kind, args.zoolab, tmp, "".join(f"{c}\n" for c in args.zoolab_cfg))
            if args.memory_only:
                before = [rss_mb(p.pid) for p in procs]
                t0 = time.monotonic()
                zkload(args.load, ports, 0, 1, args.keys, 0.0, ("--create-value", "1024", "--window", "1"))
                loaded = time.monotonic() - t0
                time.sleep(args.settle)
                rss = [rss_mb(p.pid) for p in procs]
                results[kind] = rss
                print(f"{kind:10} idle {', '.join(f'{m:.0f}' for m in before)} MB; after {args.keys} creates of "
                      f"1 KB ({loaded:.0f} s): " + ", ".join(f"{m:.0f} MB" for m in rss)
                      + f" (sum {sum(rss):.0f} MB)", flush=True)
                continue
            w = zkload(args.load, ports, args.secs, args.sessions, args.keys, 0.0)
            rss = [rss_mb(p.pid) for p in procs]
            r = zkload(args.load, ports, args.secs, args.sessions, args.keys, 0.9)
            results[kind] = (w, r, rss)
            for name, x in (("100% writes", w), ("90% reads", r)):
                print(f"{kind:10} {name:12} {x['ops_per_s']:8.0f} ops/s  p50 {x['p50_ms']:7.2f} ms  "
                      f"p99 {x['p99_ms']:7.2f} ms  errors {x['errors']}  load generator CPU "
                      f"{x['loadgen_cpu_s']:.1f} s of {args.secs:.0f} s", flush=True)
            print(f"{kind:10} resident memory after the writes ({args.keys} znodes of 1 KB at most): "
                  + ", ".join(f"{m:.0f} MB" for m in rss), flush=True)
        finally:
            zkprocs.kill_all(procs)  # each by its own pid
            shutil.rmtree(tmp, ignore_errors=True)
    if len(results) == 2 and args.memory_only:
        zm, am = results["zoolab"], results["zookeeper"]
        print(f"zoolab / ZooKeeper: memory {sum(zm) / max(sum(am), 1e-9):.2f}x")
    elif len(results) == 2:
        (zw, zr, zm), (aw, ar, am) = results["zoolab"], results["zookeeper"]
        print(f"zoolab / ZooKeeper: writes {zw['ops_per_s'] / aw['ops_per_s']:.2f}x, "
              f"reads {zr['ops_per_s'] / ar['ops_per_s']:.2f}x, "
              f"write p99 {zw['p99_ms'] / max(aw['p99_ms'], 1e-9):.2f}x, "
              f"read p99 {zr['p99_ms'] / max(ar['p99_ms'], 1e-9):.2f}x, "
              f"memory {sum(zm) / max(sum(am), 1e-9):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
