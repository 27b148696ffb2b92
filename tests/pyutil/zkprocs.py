"""Process helpers shared by the Python suites that run real servers: free ports, the
four-letter words, zoo.cfg's server lines and dataDirs, Apache ZooKeeper's java command,
starting a server with its log file and stopping it by its own pid.

The suites (tests/conformance/record.py, tests/zkfiles/zkfiles.py, tests/migrate/migrate.py,
tests/differential/differential.py, tests/realclients/*.py) import it as they import each
other:

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pyutil"))
    import zkprocs

Each suite keeps its own zoo.cfg settings, ports policy and timeouts (they pass them in):
what lives here is only how a thing is done, written once. Nothing here stops a process by
its name: `kill` takes the Popen a suite started.
"""

import os
import shutil
import socket
import subprocess
import time

HOST = "127.0.0.1"
ZK_JAR = "/usr/share/java/zookeeper.jar"  # Debian's zookeeper package (3.8)
LOG_JARS = ["/usr/share/java/slf4j-log4j12.jar", "/usr/share/java/log4j-1.2.jar"]
STANDALONE_MAIN = "org.apache.zookeeper.server.ZooKeeperServerMain"
QUORUM_MAIN = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
LOG_PATTERN = "%d{ISO8601} %-5p [%t] - %m%n"


# --- ports and four-letter words -----------------------------------------------------------
def free_port(host=HOST):
    """A port nothing listens on right now (the kernel's pick; another process may take it
    before the server binds it, so the suites that care retry on new ports)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def free_ports(n, host=HOST):
    """n distinct free ports: every socket stays bound until all n are picked."""
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind((host, 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def four_letter(port, word, timeout=2.0, host=HOST):
    """The server's whole answer to a four-letter word (`ruok`, `srvr`, `mntr`, `hash`...);
    raises OSError when nothing answers."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(word.encode())
        out = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return out.decode(errors="replace")
            out += chunk


def four(port, word, host=HOST):
    """`four_letter`, with "" when nothing answers (a server down or still starting)."""
    try:
        return four_letter(port, word, host=host)
    except OSError:
        return ""


def srvr(port, key, host=HOST):
    """One field of the `srvr` answer (`Mode`, `Zxid`, ...), or None."""
    for line in four(port, "srvr", host=host).splitlines():
        if line.startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    return None


# --- waiting -------------------------------------------------------------------------------
def wait_for(pred, secs, interval=0.05, ignore=()):
    """Calls pred every `interval` seconds until it is true (True) or `secs` pass; then its
    last answer. Exceptions of the types in `ignore` count as false while waiting."""
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        try:
            if pred():
                return True
        except ignore:
            pass
        time.sleep(interval)
    return pred()


def wait_answer(port, word, secs, proc=None, want="", interval=0.05, timeout=2.0):
    """Asks `word` every `interval` seconds until the answer contains `want` (any answer when
    want is ""); returns that answer, or None after `secs` or once `proc` has exited.
    `ruok` answers as soon as the port is open; ZooKeeper answers `srvr` only once it serves."""
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline and (proc is None or proc.poll() is None):
        try:
            out = four_letter(port, word, timeout=timeout)
            if want in out:
                return out
        except OSError:
            pass
        time.sleep(interval)
    return None


# --- configuration files -------------------------------------------------------------------
def write(path, text):
    """Writes a whole (small) file: a zoo.cfg, a log4j.properties."""
    with open(path, "w") as f:
        f.write(text)


def data_dir(path, myid=None):
    """An empty dataDir at path (an earlier attempt's removed), with the `myid` file a
    quorum member reads its server id from when myid is given."""
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    if myid is not None:
        write(os.path.join(path, "myid"), f"{myid}\n")
    return path


def server_lines(peers, observers=(), host=HOST):
    """zoo.cfg's `server.N=host:quorumPort:electionPort[:observer]` lines, N from 1, from
    each server's (quorum port, election port); `observers` holds the ids that observe."""
    return "".join(f"server.{i}={host}:{q}:{e}{':observer' if i in observers else ''}\n"
                   for i, (q, e) in enumerate(peers, start=1))


def zookeeper_command(dir, cfg, props=(), heap_mb=192, main=QUORUM_MAIN, n="", level="INFO",
                      pattern=LOG_PATTERN):
    """The java command that runs Debian's Apache ZooKeeper 3.8 on `cfg`, with the system
    properties `props` ("key=value"). Writes `dir/log4j{n}.properties` first: ZooKeeper's
    log goes to `dir/zookeeper{n}.log`. C1 only, the serial GC and a small heap: the suites
    start many short-lived servers on a shared machine."""
    log4j = os.path.join(dir, f"log4j{n}.properties")
    write(log4j, f"log4j.rootLogger={level}, F\nlog4j.appender.F=org.apache.log4j.FileAppender\n"
                 f"log4j.appender.F.File={dir}/zookeeper{n}.log\n"
                 "log4j.appender.F.layout=org.apache.log4j.PatternLayout\n"
                 f"log4j.appender.F.layout.ConversionPattern={pattern}\n")
    return (["java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", f"-Xmx{heap_mb}m",
             "-cp", ":".join([dir, ZK_JAR] + LOG_JARS), f"-Dlog4j.configuration=file:{log4j}"]
            + [f"-D{p}" for p in props] + [main, cfg])


# --- processes -----------------------------------------------------------------------------
def spawn(cmd, log, append=False):
    """Starts cmd with its stdout and stderr in the file `log` (appended to with append, for a
    restart) and no stdin; returns its Popen. Our copy of the file is closed at once."""
    with open(log, "a" if append else "w") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def kill(proc):
    """SIGKILL to this process by its own pid (never by name: other servers run on the
    machine), if it still runs, and reaps it."""
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait()


def kill_all(procs):
    """`kill` for each of procs."""
    for p in procs:
        kill(p)
