#!/usr/bin/env python3
"""The Python client driver of rpyc-bench: runs one benchmark scenario with a
stock RPyC 6 client against an RPyC server (Python or rpyc-rs) and prints one
JSON line with the result.

One-shot::

    bench_client.py --host 127.0.0.1 --port 18861 --scenario call [--n 20000] [--seconds 0.5]

Serve mode (what the rpyc-bench harness uses, to pay Python's start-up once)::

    bench_client.py --serve

reads one JSON command per line from stdin (``{"scenario": "call", "host": ...,
"port": ..., "n": ..., "seconds": ...}``) and answers each with one JSON line on
stdout; it exits at end of input. The ``idle`` scenario answers twice: once
``{"holding": n}`` when its connections are open (the harness then reads the
server's memory), and once more after the next input line, when they are closed.

Every loop is bounded in count (``n``) and in time (``seconds``). Only loopback
addresses are accepted.

Scenarios (what a user of RPyC writes):

========== ==============================================================
call       ``conn.root.add(1, 2)``, one at a time (latency, µs)
call_sync  ``conn.root.block(0)``: a synchronous method of the server (µs)
ping       ``conn.ping()`` (latency, µs)
async64    ``rpyc.async_(conn.root.add)(1, 2)``, 64 in flight (calls/s)
callback   ``conn.root.call(f, 1)``: the server calls the client's ``f`` (µs)
echo       ``conn.root.echo(data)``, ``size`` random or zero bytes (µs, MB/s)
getattr    ``conn.root.the_answer`` (latency, µs)
concurrent ``clients`` connections × ``calls`` ``add(1, 2)`` each, in
           ``procs`` processes (total calls/s)
objects    ``c = conn.root.make_counter(); del c``, ``n`` times (objects/s)
idle       ``n`` open connections, each pinged once, held until told (count)
========== ==============================================================
"""
import argparse
import collections
import json
import multiprocessing
import os
import sys
import threading
import time
import traceback

import rpyc

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def check_host(host):
    if host not in LOOPBACK:
        raise ValueError(f"refusing non-loopback host {host!r}")


def connect(host, port):
    check_host(host)
    return rpyc.connect(host, port, config={"sync_request_timeout": 30})


def stats(samples_ns, elapsed):
    """Latency statistics (µs) of per-operation samples in nanoseconds."""
    s = sorted(samples_ns)
    n = len(s)
    if n == 0:
        return {"n": 0, "elapsed_s": elapsed}
    return {
        "n": n,
        "elapsed_s": elapsed,
        "median_us": s[n // 2] / 1e3 if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2e3,
        "mean_us": sum(s) / n / 1e3,
        "min_us": s[0] / 1e3,
        "p99_us": s[min(n - 1, (n * 99) // 100)] / 1e3,
    }


def timed_loop(op, n, seconds, warmup):
    """Runs ``op`` ``warmup`` times, then up to ``n`` times or ``seconds``."""
    for _ in range(warmup):
        op()
    clock = time.perf_counter_ns
    samples = []
    append = samples.append
    start = clock()
    deadline = start + int(seconds * 1e9)
    for _ in range(n):
        t0 = clock()
        op()
        t1 = clock()
        append(t1 - t0)
        if t1 > deadline:
            break
    return stats(samples, (clock() - start) / 1e9)


def latency_scenario(cmd, make_op):
    conn = connect(cmd["host"], cmd["port"])
    try:
        op = make_op(conn)
        return timed_loop(op, cmd.get("n", 20000), cmd.get("seconds", 0.5),
                          cmd.get("warmup", 50))
    finally:
        conn.close()


def sc_call(cmd):
    return latency_scenario(cmd, lambda conn: lambda: conn.root.add(1, 2))


def sc_call_sync(cmd):
    return latency_scenario(cmd, lambda conn: lambda: conn.root.block(0))


def sc_ping(cmd):
    return latency_scenario(cmd, lambda conn: conn.ping)


def sc_getattr(cmd):
    return latency_scenario(cmd, lambda conn: lambda: conn.root.the_answer)


def sc_callback(cmd):
    def f(x):
        return x

    return latency_scenario(cmd, lambda conn: lambda: conn.root.call(f, 1))


def sc_echo(cmd):
    size = cmd.get("size", 1 << 20)
    data = os.urandom(size) if cmd.get("kind", "rand") == "rand" else bytes(size)

    def make(conn):
        def op():
            r = conn.root.echo(data)
            if len(r) != size:
                raise RuntimeError("echo returned %d bytes" % len(r))
        return op

    out = latency_scenario(cmd, make)
    if out.get("n"):
        out["mb_per_s"] = size / (out["median_us"] / 1e6) / 1e6
    return out


def sc_async64(cmd):
    window = cmd.get("window", 64)
    n = cmd.get("n", 100000)
    seconds = cmd.get("seconds", 0.5)
    conn = connect(cmd["host"], cmd["port"])
    try:
        aadd = rpyc.async_(conn.root.add)
        for _ in range(cmd.get("warmup", 2)):
            for r in [aadd(1, 2) for _ in range(window)]:
                r.value
        clock = time.perf_counter
        start = clock()
        deadline = start + seconds
        pending = collections.deque(aadd(1, 2) for _ in range(window))
        sent = window
        done = 0
        while pending:
            if pending.popleft().value != 3:
                raise RuntimeError("bad result")
            done += 1
            if sent < n and clock() < deadline:
                pending.append(aadd(1, 2))
                sent += 1
        elapsed = clock() - start
        return {"n": done, "elapsed_s": elapsed, "rate": done / elapsed}
    finally:
        conn.close()


def sc_objects(cmd):
    n = cmd.get("n", 10000)
    seconds = cmd.get("seconds", 60)
    conn = connect(cmd["host"], cmd["port"])
    try:
        root = conn.root
        for _ in range(cmd.get("warmup", 10)):
            c = root.make_counter()
            del c
        clock = time.perf_counter
        start = clock()
        deadline = start + seconds
        done = 0
        while done < n:
            c = root.make_counter()
            del c
            done += 1
            if clock() > deadline:
                break
        conn.ping()  # the last DEL has been handled
        elapsed = clock() - start
        return {"n": done, "elapsed_s": elapsed, "rate": done / elapsed}
    finally:
        conn.close()


def _concurrent_worker(host, port, threads, calls, barrier, results, deadline):
    """One client process: ``threads`` connections, each making ``calls`` calls."""
    try:
        conns = [connect(host, port) for _ in range(threads)]
        roots = [c.root for c in conns]

        def run(root):
            try:
                barrier.wait(timeout=60)
                done = 0
                clock = time.perf_counter
                for i in range(calls):
                    root.add(1, 2)
                    done += 1
                    if i % 64 == 0 and clock() > deadline:
                        break
                results.put(("ok", clock(), done))
            except Exception:
                results.put(("error", traceback.format_exc(), 0))

        ts = [threading.Thread(target=run, args=(r,)) for r in roots]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        for c in conns:
            try:
                c.close()
            except Exception:
                pass
    except Exception:
        for _ in range(threads):
            results.put(("error", traceback.format_exc(), 0))
    finally:
        results.close()
        results.join_thread()  # what was put is delivered before we leave
        os._exit(0)


def sc_concurrent(cmd):
    clients = cmd.get("clients", 100)
    calls = cmd.get("calls", 1000)
    procs = max(1, min(cmd.get("procs", clients), clients))
    seconds = cmd.get("seconds", 60)
    check_host(cmd["host"])
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(clients + 1)
    results = ctx.Queue()
    deadline = time.perf_counter() + seconds + 30
    workers = []
    per = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    for threads in per:
        p = ctx.Process(target=_concurrent_worker,
                        args=(cmd["host"], cmd["port"], threads, calls, barrier, results,
                              deadline))
        p.daemon = True
        p.start()
        workers.append(p)
    try:
        barrier.wait(timeout=60)
        start = time.perf_counter()
        ends = []
        total = 0
        errors = []
        for _ in range(clients):
            kind, val, done = results.get(timeout=seconds + 60)
            if kind == "ok":
                ends.append(val)
                total += done
            else:
                errors.append(val)
        if errors:
            raise RuntimeError("client failed: " + errors[0])
        elapsed = max(ends) - start
        return {"n": total, "elapsed_s": elapsed, "rate": total / elapsed,
                "clients": clients, "calls": calls, "procs": procs}
    finally:
        for p in workers:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()
                p.join()


def sc_idle(cmd, inp, out):
    n = cmd.get("n", 1000)
    conns = []
    try:
        start = time.perf_counter()
        for _ in range(n):
            c = connect(cmd["host"], cmd["port"])
            c.ping()
            conns.append(c)
        emit(out, {"ok": True, "holding": len(conns),
                   "open_s": time.perf_counter() - start})
        inp.readline()  # hold until the harness has measured
    finally:
        for c in conns:
            try:
                c.close()
            except Exception:
                pass
    return {"n": len(conns)}


SCENARIOS = {
    "call": sc_call,
    "call_sync": sc_call_sync,
    "ping": sc_ping,
    "getattr": sc_getattr,
    "callback": sc_callback,
    "echo": sc_echo,
    "async64": sc_async64,
    "objects": sc_objects,
    "concurrent": sc_concurrent,
}


def emit(out, obj):
    out.write(json.dumps(obj) + "\n")
    out.flush()


def run_command(cmd, inp, out):
    try:
        name = cmd["scenario"]
        if name == "idle":
            res = sc_idle(cmd, inp, out)
        else:
            res = SCENARIOS[name](cmd)
        res = dict(res, ok=True, scenario=name)
    except Exception as e:  # reported, never fatal: the harness decides
        res = {"ok": False, "scenario": cmd.get("scenario"), "error": repr(e),
               "traceback": traceback.format_exc()}
    emit(out, res)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true",
                        help="read JSON commands from stdin, one per line")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int)
    parser.add_argument("--scenario", choices=sorted(list(SCENARIOS) + ["idle"]))
    parser.add_argument("--n", type=int)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--kind", choices=["rand", "zero"])
    parser.add_argument("--size", type=int)
    parser.add_argument("--clients", type=int)
    parser.add_argument("--calls", type=int)
    parser.add_argument("--procs", type=int)
    args = parser.parse_args(argv)

    if args.serve:
        for line in sys.stdin:
            line = line.strip()
            if line:
                run_command(json.loads(line), sys.stdin, sys.stdout)
        return 0
    if args.port is None or args.scenario is None:
        parser.error("--port and --scenario are required (or --serve)")
    cmd = {k: v for k, v in vars(args).items() if v is not None and k != "serve"}
    run_command(cmd, sys.stdin, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
