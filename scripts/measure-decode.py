#!/usr/bin/env python3
"""Measures what a peer's frames cost an `rpyc-server` (issue 11): a measurement, not a test.

    scripts/measure-decode.py rss     SERVER_BINARY   # peak RSS growth per hostile frame
    scripts/measure-decode.py latency SERVER_BINARY   # add(20, 22) latency under attack

`rss` starts a fresh `SERVER_BINARY --service calc` for each frame and reports how much its
peak RSS (VmHWM) grew while handling it:
  * an 8 MiB frame holding a tuple of 8M small ints;
  * a 16 KB zlib frame inflating to a tuple of ~16M small ints.
Both are requests for handler 99 (unknown: answered with KeyError once decoded, or with
MemoryError when a decode limit refuses them), so no echo adds to the figure.

`latency` runs 4 attackers, each sending, one after the other, zlib frames (~300 KB) that
inflate to 200 MiB of 4300-digit ints, while a Python rpyc client (the repository's .venv)
calls `root.add(20, 22)` in a loop for DURATION seconds (env, default 20); prints the
median and p99 of those calls (a call that times out after 120 s counts as its 120 s), and
the same without attackers.

Loopback only. Linux (reads /proc/PID/status).
"""
import os
import re
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
import zlib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start(binary):
    """Starts `binary --service calc` on a free port: (process, port)."""
    p = subprocess.Popen([binary, "--service", "calc", "--host", "127.0.0.1", "--port", "0"],
                         stdout=subprocess.PIPE, text=True)
    for line in p.stdout:
        m = re.search(r"listening on \S+:(\d+)", line)
        if m:
            return p, int(m.group(1))
    raise SystemExit("the server did not start")


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def frame(payload, level=None):
    """A frame of `payload`, zlib-compressed at `level` when given."""
    if level is None:
        return struct.pack(">IB", len(payload), 0) + payload + b"\n"
    z = zlib.compress(payload, level)
    return struct.pack(">IB", len(z), 1) + z + b"\n"


def unknown_request(seq, items):
    """msg 1, (seq, (99, (2, ((1, (items...)),)))) with `items` already brine-encoded."""
    n, body = items
    return (bytes([1, 0x11, 0x50 + seq, 0x11, 0x50 + 99, 0x11, 0x52, 0x10, 0x11, 0x51, 0x15])
            + struct.pack(">I", n) + body)


def recv_frame(s):
    def exact(n):
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                raise EOFError("connection closed")
            buf += chunk
        return buf
    length, compressed = struct.unpack(">IB", exact(5))
    data = exact(length + 1)[:-1]
    return zlib.decompress(data) if compressed else data


def rss(binary):
    n8 = 8 << 20
    n16 = 16 << 20
    cases = [
        ("8 MiB frame, tuple of 8M small ints", frame(unknown_request(0, (n8, b"\x50" * n8)))),
        ("16 KB zlib frame, tuple of 16M small ints",
         frame(unknown_request(0, (n16, b"\x50" * n16)), 9)),
    ]
    for name, data in cases:
        p, port = start(binary)
        try:
            s = socket.create_connection(("127.0.0.1", port))
            time.sleep(0.3)
            before = status_kib(p.pid, "VmHWM")
            s.sendall(data)
            reply = recv_frame(s)
            after = status_kib(p.pid, "VmHWM")
            kind = {2: "reply", 3: "exception"}.get(reply[0], "?")
            exc = re.search(rb"(KeyError|MemoryError)", reply)
            print(f"{name}: {len(data):,} bytes on the wire; peak RSS +{(after - before) / 1024:.0f} MiB"
                  f" ({kind} {exc.group(1).decode() if exc else ''})")
        finally:
            p.terminate()
            p.wait()


def heavy_frame(seq):
    """~200 MiB of 4300-digit ints, compressed at level 9."""
    count = (200 << 20) // (5 + 4300)
    one = b"\x17" + struct.pack(">I", 4300) + b"7" * 4300
    return frame(unknown_request(seq, (count, one * count)), 9)


def attacker(port, data, stop):
    s = socket.create_connection(("127.0.0.1", port))
    try:
        while not stop.is_set():
            s.sendall(data)
            recv_frame(s)
    except (OSError, EOFError):
        pass  # the server was stopped


def bystander_latencies(port, duration):
    py = os.path.join(REPO, ".venv", "bin", "python")
    code = f"""
import rpyc, time, sys
c = rpyc.connect("127.0.0.1", {port}, config={{"sync_request_timeout": 120}})
root = c.root
lat = []
end = time.monotonic() + {duration}
while time.monotonic() < end:
    t = time.perf_counter()
    try:
        assert root.add(20, 22) == 42
    except TimeoutError:
        print("timeout", file=sys.stderr)
    lat.append(time.perf_counter() - t)
    time.sleep(0.005)
print(" ".join(f"{{x:.6f}}" for x in lat))
"""
    start = time.monotonic()
    run = subprocess.run([py, "-c", code], capture_output=True, text=True)
    if run.returncode != 0:
        last = run.stderr.strip().splitlines()[-1:]
        print(f"  the bystander failed after {time.monotonic() - start:.0f} s: {last}")
        return []
    return [float(x) for x in run.stdout.split()]


def summary(lat):
    if not lat:
        return "no call completed"
    lat = sorted(lat)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    return (f"{len(lat)} calls: median {statistics.median(lat) * 1e3:.2f} ms, "
            f"p99 {p99 * 1e3:.1f} ms, max {lat[-1] * 1e3:.1f} ms")


def latency(binary):
    duration = float(os.environ.get("DURATION", "20"))
    data = heavy_frame(0)
    print(f"heavy frame: {len(data):,} bytes on the wire, 200 MiB inflated")
    p, port = start(binary)
    try:
        print("no attack:  " + summary(bystander_latencies(port, 5)))
        stop = threading.Event()
        threads = [threading.Thread(target=attacker, args=(port, data, stop), daemon=True)
                   for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(1)
        print("4 attackers: " + summary(bystander_latencies(port, duration)))
        print(f"server peak RSS: {status_kib(p.pid, 'VmHWM') / 1024:.0f} MiB")
        stop.set()
    finally:
        p.kill()  # not a graceful stop: it would wait for the attackers' frames
        p.wait()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("rss", "latency"):
        raise SystemExit(__doc__)
    {"rss": rss, "latency": latency}[sys.argv[1]](sys.argv[2])
