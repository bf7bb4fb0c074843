#!/usr/bin/env python3
"""A real Python rpyc 6 server, for the Rust-client interop tests.

Usage:

    py_server.py [--classic | --classic-peer] [--default-config] [--port PORT]
                 [--host HOST] [--unix PATH] [--certfile CERT --keyfile KEY [--cafile CA]]

Binds HOST (default 127.0.0.1) on PORT (default 0 = any free port), prints
exactly one line ``listening on HOST:PORT`` (flushed) once the listener
accepts connections, then serves every client in its own thread
(``ThreadedServer``) until it is killed. SIGTERM and SIGINT stop it with exit
code 0.

Default mode serves ``PyTestService`` (below). ``--classic`` serves
``rpyc.SlaveService`` instead: classic mode, i.e. the client gets the
server's modules, ``eval``/``exec``, ... (remote code execution by design, so
only ever bind it to loopback). ``--default-config`` serves with RPyC's default
protocol config (no ``allow_public_attrs``), as a stock service runs.

``PyTestService`` also logs the requests of its connection while asked to
(``start_counting``/``stop_counting``) and can hold back the replies to a
given number of ``__getitem__`` requests until all of them have arrived
(``gate_lookups``): a client that waited for a reply before sending the next
lookup would never get one, so a passing fetch proves the lookups went out in
one burst, without timing anything.

``--classic-peer`` serves
``rpyc.ClassicService`` (what ``rpyc_classic.py -m stdio`` serves): classic
mode plus RPyC's ``MasterService``, which reads the client's ``getmodule``,
``eval``, ``execute`` and ``namespace`` while connecting.

``--certfile CERT --keyfile KEY`` serves over TLS (RPyC's
``SSLAuthenticator``); with ``--cafile CA`` it requires client certificates
signed by CA (``SSLAuthenticator(..., ca_certs=CA)``, ``CERT_REQUIRED``), and
``whoami()`` returns the client certificate's subject as RPyC put it in
``conn._config['credentials']``.

``--unix PATH`` listens on a Unix socket at PATH instead of TCP and prints
``listening on PATH``.
"""
import argparse
import contextlib
import os
import signal
import sys
import time

import rpyc
from rpyc.core import consts
from rpyc.utils.server import ThreadedServer

HANDLER_NAMES = {getattr(consts, k): k[len("HANDLE_"):].lower()
                 for k in dir(consts) if k.startswith("HANDLE_")}


class PyTestService(rpyc.Service):
    """What the Rust client talks to. Every member named ``exposed_<x>`` is
    reachable as ``<x>`` (and as ``exposed_<x>``)."""

    exposed_the_answer = 42

    def on_connect(self, conn):
        self._credentials = conn._config.get("credentials")
        self._events = []      # what the context managers saw
        self._requests = None  # the request log while counting, else None
        self._gate = None      # replies to __getitem__ held back: [expected, seqs, held]
        dispatch, send = conn._dispatch_request, conn._send

        def logged_dispatch(seq, raw_args):
            handler, args = raw_args
            name = HANDLER_NAMES.get(handler, str(handler))
            if handler in (consts.HANDLE_CALLATTR, consts.HANDLE_GETATTR):
                name += " " + str(args[1][1][1])  # (LABEL_TUPLE, (obj, (LABEL_VALUE, name), ...))
            if self._requests is not None and handler != consts.HANDLE_DEL:
                self._requests.append(name)
            if self._gate is not None and name == "callattr __getitem__":
                self._gate[1].add(seq)
            return dispatch(seq, raw_args)

        def gated_send(msg, seq, args):
            gate = self._gate
            if gate is not None and seq in gate[1]:
                gate[2].append((msg, seq, args))
                if len(gate[2]) < gate[0]:
                    return
                self._gate = None
                for held in gate[2]:
                    send(*held)
                return
            send(msg, seq, args)

        conn._dispatch_request = logged_dispatch
        conn._send = gated_send

    def exposed_whoami(self):
        """The client certificate's subject, ``"CN=alice, O=Example"``, or None."""
        cred = self._credentials
        if not cred:
            return None
        short = {"commonName": "CN", "organizationName": "O"}
        return ", ".join(f"{short.get(k, k)}={v}" for rdn in cred["subject"] for k, v in rdn)

    def exposed_start_counting(self):
        self._requests = []

    def exposed_stop_counting(self):
        log, self._requests = self._requests, None
        return tuple(log[:-1])  # without this call itself

    def exposed_gate_lookups(self, n):
        self._gate = [n, set(), []]

    def exposed_numbers_list(self, n):
        return list(range(n))

    def exposed_numbers_set(self, n):
        return set(range(n))

    def exposed_squares_dict(self, n):
        return {f"k{i}": i * i for i in range(n)}

    def exposed_nested(self):
        return {"points": [{"x": 1, "y": 2}, {"x": 3, "y": 4}],
                "tags": {"a", "b"}, "rows": [[1, 2], (3,), []]}

    @contextlib.contextmanager
    def exposed_managed(self, name):
        """A ``@contextmanager``: notes what it sees; suppresses errors if
        ``name == "suppress"``."""
        self._events.append(f"enter {name}")
        try:
            yield f"resource {name}"
        except BaseException as e:
            self._events.append(f"error {type(e).__name__}: {e}")
            if name == "suppress":
                return
            raise
        self._events.append(f"exit {name}")

    def exposed_events(self):
        return tuple(self._events)

    def exposed_add(self, a, b):
        return a + b

    def exposed_greet(self, name, greeting="hello"):
        return f"{greeting}, {name}!"

    def exposed_get_list(self):
        # A list is not brine-dumpable: the client receives a reference.
        return [1, 2, 3]

    def exposed_get_dict(self):
        return {"a": 1, "b": 2}

    def exposed_call_me(self, f, x):
        return f(x)

    def exposed_call_me_twice(self, f, x):
        return f(f(x))

    def exposed_fail(self, msg):
        raise ValueError(msg)

    def exposed_fail_key(self, k):
        raise KeyError(k)

    def exposed_sleep(self, s):
        time.sleep(s)
        return s

    def exposed_echo(self, x):
        return x

    def exposed_scale(self, x, *, factor=1):
        # `factor` is keyword-only: a typed client must send it by name.
        return x * factor


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classic", action="store_true",
                        help="serve rpyc.SlaveService (classic mode)")
    parser.add_argument("--default-config", action="store_true",
                        help="RPyC's default protocol config (no allow_public_attrs)")
    parser.add_argument("--classic-peer", action="store_true",
                        help="serve rpyc.ClassicService (classic mode that also "
                             "installs MasterService on the client's root)")
    parser.add_argument("--certfile", help="serve over TLS with this PEM certificate")
    parser.add_argument("--keyfile", help="the PEM key of --certfile")
    parser.add_argument("--cafile", help="require client certificates signed by this CA")
    parser.add_argument("--unix", metavar="PATH",
                        help="listen on a Unix socket at PATH instead of TCP")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)

    if args.classic_peer:
        service = rpyc.ClassicService
    elif args.classic:
        service = rpyc.SlaveService
    else:
        service = PyTestService
    where = (dict(socket_path=args.unix) if args.unix
             else dict(hostname=args.host, port=args.port))
    if args.certfile:
        from rpyc.utils.authenticators import SSLAuthenticator
        where["authenticator"] = SSLAuthenticator(args.keyfile, args.certfile,
                                                   ca_certs=args.cafile)
    server = ThreadedServer(
        service,
        **where,
        # allow_public_attrs lets the client call e.g. keys() on the dict that
        # get_dict() returns (builtin methods are not "exposed_" names).
        protocol_config={} if args.default_config else {"allow_public_attrs": True},
    )

    def stop(signum, frame):
        # Worker threads are daemons; flush and leave without waiting for them.
        server.close()
        sys.stdout.flush()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    server._listen()  # listen() now, so the port is connectable once printed
    shown = args.unix if args.unix else f"{args.host}:{server.port}"
    print(f"listening on {shown}", flush=True)
    server.start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
