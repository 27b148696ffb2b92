#!/usr/bin/env python3
"""What a write costs a 3-process zoolab ensemble, in counts that a shared machine's load
disturbs less than throughput does (BENCHMARKS.md, Ensemble over TCP): the three servers'
CPU time and context switches per write (`perf stat`'s software counters), their
instructions per write (callgrind), their system calls per write (`strace -c -f`), or a
profile of the three (`perf record` with DWARF call graphs, into --record-out: read it
with `perf report -i FILE --no-children --sort symbol`).

    cargo build --release -p zoolab-server --example zkload --bin zoolab
    python3 tests/realclients/ensemble_cost.py --zoolab BINARY --load target/release/examples/zkload \\
        [--secs 10] [--keys 100000] [--sessions 32] [--reads 0.0] [--mode perf|callgrind|strace|record]

The ensemble and the load are bench_ensemble.py's (same configuration, 1 KB values); the
counters cover the load phase only (after the keys are created). Under callgrind the
servers run about 50 times slower, so its default is 2,000 keys and 20 s; valgrind's own
memmove is a simple loop, so copies weigh more there than on the machine. Compare two
binaries by running them one after the other, alternating. Prints one JSON line. Every
process started is stopped by its own pid.
"""

import argparse
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_ensemble as bench  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pyutil"))
import zkprocs  # noqa: E402  (stopping the servers by their own pids)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zoolab", required=True)
    ap.add_argument("--load", required=True, help="the zkload binary (server/examples/zkload.rs)")
    ap.add_argument("--mode", choices=["perf", "callgrind", "strace", "record"], default="perf")
    ap.add_argument("--secs", type=float)
    ap.add_argument("--keys", type=int)
    ap.add_argument("--sessions", type=int, default=32)
    ap.add_argument("--reads", type=float, default=0.0)
    ap.add_argument("--record-out", default="perf.data", help="with --mode record: where perf record writes")
    args = ap.parse_args()
    cg = args.mode == "callgrind"
    secs = args.secs if args.secs is not None else (20 if cg else 10)
    keys = args.keys if args.keys is not None else (2000 if cg else 100_000)
    binary = os.path.abspath(args.zoolab)
    tmp = tempfile.mkdtemp(prefix="ensemble-cost-")
    procs, mon = [], None
    result = {"mode": args.mode, "binary": binary}
    try:
        server = binary
        if cg:
            server = os.path.join(tmp, "callgrind.sh")
            with open(server, "w") as f:
                f.write(f"#!/bin/sh\nexec valgrind --tool=callgrind --dump-instr=no --collect-jumps=no "
                        f"--callgrind-out-file={tmp}/cg.%p {binary} \"$@\"\n")
            os.chmod(server, 0o755)
        procs, ports = bench.ensemble("zoolab", server, tmp)
        bench.zkload(args.load, ports, 0, 1, keys, 0.0)  # the keys
        pids = [str(p.pid) for p in procs]
        if args.mode == "perf":
            mon = subprocess.Popen(["perf", "stat", "-x", ",", "-e", "task-clock,context-switches",
                                    "-p", ",".join(pids)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        elif args.mode == "record":
            out = os.path.abspath(args.record_out)
            mon = subprocess.Popen(["perf", "record", "-F", "199", "--call-graph", "dwarf,16384", "-o", out, "-p", ",".join(pids)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            result["perf_data"] = out
        elif args.mode == "strace":
            mon = subprocess.Popen(["strace", "-c", "-f", "-o", os.path.join(tmp, "strace.txt")]
                                   + [a for p in pids for a in ("-p", p)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        else:
            subprocess.run(["callgrind_control", "--zero"], capture_output=True)
        time.sleep(0.5)
        w = bench.zkload(args.load, ports, secs, args.sessions, keys, args.reads)
        ops = max(w["ops"], 1)
        result.update(ops=w["ops"], ops_per_s=w["ops_per_s"], p99_ms=w["p99_ms"],
                      load_average=round(os.getloadavg()[0], 1))
        if cg:
            subprocess.run(["callgrind_control", "--dump"], capture_output=True)
            time.sleep(2)
        else:
            mon.send_signal(signal.SIGINT)  # by its own pid
            _, err = mon.communicate()
            mon = None
            if args.mode == "record":
                time.sleep(1)
            elif args.mode == "perf":
                for line in err.splitlines():
                    f = line.split(",")
                    if len(f) > 2 and f[0][:1].isdigit():
                        result[f"{f[2]}_per_write"] = round(float(f[0]) / ops, 4)
            else:
                time.sleep(1)
                with open(os.path.join(tmp, "strace.txt")) as f:
                    for line in f:
                        cols = line.split()
                        if len(cols) >= 5 and cols[0][:1].isdigit() and cols[-1] != "total":
                            result[f"{cols[-1]}_per_write"] = round(int(cols[3]) / ops, 3)
    finally:
        if mon is not None:
            mon.kill()
            mon.wait()
        zkprocs.kill_all(procs)  # each by its own pid
    if cg:
        total = 0
        for path in glob.glob(os.path.join(tmp, "cg.*")):
            with open(path) as f:
                for line in f:
                    if line.startswith("summary:"):
                        total += int(line.split()[1])
                        break
        result["instructions_per_write"] = round(total / ops)
    shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
