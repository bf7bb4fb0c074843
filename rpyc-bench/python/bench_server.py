#!/usr/bin/env python3
"""The Python side of the rpyc-bench comparison: a stock RPyC 6 ThreadedServer.

Serves ``BenchService``, the Python equivalent of the members of rpyc-rs's
``TEST`` service that the benchmark uses (``add``, ``echo``, ``make_counter``,
``call(f, *args)``, ``block(seconds)`` and the attribute ``the_answer``; the ping scenario is the
protocol's own ``conn.ping()``, which needs no service member).

Usage::

    bench_server.py [--host 127.0.0.1] [--port 0] [--nodelay]

``--nodelay`` sets ``TCP_NODELAY`` on every accepted socket. Stock rpyc 6.0.2 leaves Nagle's
algorithm on, which caps a pipelining client at a few thousand calls/s (each small reply waits
for the ACK of the previous one); with ``--nodelay`` the server writes every reply at once, so
the client's own costs show.

Prints exactly one line ``listening on HOST:PORT`` (flushed) once the listener
accepts connections, then serves each client in its own thread until SIGTERM
or SIGINT (exit code 0). Only ever bind it to loopback.
"""
import argparse
import logging
import os
import signal
import socket
import sys
import time

import rpyc
from rpyc.utils.server import ThreadedServer


class Counter(object):
    """What ``make_counter`` returns (by reference), like rpyc-rs's Counter."""

    def __init__(self, start=0):
        self._value = start

    @property
    def exposed_value(self):
        return self._value

    def exposed_increment(self, by=1):
        self._value += by
        return self._value


class BenchService(rpyc.Service):
    """Every ``exposed_<x>`` member is reachable as ``<x>``."""

    exposed_the_answer = 42

    def exposed_add(self, a, b):
        return a + b

    def exposed_echo(self, x):
        return x

    def exposed_make_counter(self, start=None):
        return Counter(start or 0)

    def exposed_call(self, f, *args):
        return f(*args)

    def exposed_numbers(self, n):
        # A generator, by reference: what `rpyc-bench --streams` reads lazily.
        return (i for i in range(n))

    def exposed_block(self, seconds):
        time.sleep(seconds)
        return seconds


class NoDelayThreadedServer(ThreadedServer):
    """A ``ThreadedServer`` whose accepted sockets have ``TCP_NODELAY`` on."""

    def _accept_method(self, sock):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super()._accept_method(sock)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--nodelay", action="store_true",
                        help="set TCP_NODELAY on accepted sockets (rpyc leaves Nagle on)")
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the benchmark server binds loopback only")

    logger = logging.getLogger("bench_server")
    logger.setLevel(logging.WARNING)
    server_class = NoDelayThreadedServer if args.nodelay else ThreadedServer
    server = server_class(
        BenchService,
        hostname=args.host,
        port=args.port,
        logger=logger,
        backlog=4096,
    )

    def stop(signum, frame):
        # Worker threads are daemons: leave without waiting for them.
        sys.stdout.flush()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    server._listen()  # listen() now, so the port is connectable once printed
    print(f"listening on {args.host}:{server.port}", flush=True)
    server.start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
