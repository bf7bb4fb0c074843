#!/usr/bin/env python3
"""Pure-Python reference implementation of the `rpyc-server` built-in services.

It implements the `test` and `calc` services of
/work/shared/design/test-service.md with Python rpyc 6, behind the same command
line as the Rust binary, so that test_server_interop.py can be validated
without the Rust server:

    reference_test_service.py --service test|calc [--host 127.0.0.1] [--port 0]

It prints exactly one line ``listening on HOST:PORT`` (flushed) once
connections are accepted, serves every client in its own thread, and exits
with code 0 on SIGTERM/SIGINT.

A stock rpyc server cannot meet a few points of the contract, so this one adds:

* **concurrent `sleep`** - rpyc serves one connection from one thread, so a
  sleeping handler would block every later request on its connection. While
  `sleep` waits, a helper thread keeps serving the connection (rpyc releases
  the receive lock before dispatching a request, so this is safe). It also
  notices a peer that vanishes mid-call.
* **frame limits** - rpyc would try to read any announced length (up to 4 GiB)
  and inflate any zlib bomb. `LimitedChannel` caps the wire and decompressed
  size of a frame and drops the connection beyond them.
* **malformed frames** close the connection at once (stock rpyc would first
  send CLOSE and wait up to 30 s for an answer that never comes).
* **`dir()`** of the root lists only the exposed names.

Run test_server_interop.py against it with:

    RPYC_SERVER_BIN="$PWD/.venv/bin/python tests/python/reference_test_service.py" \\
        .venv/bin/python -m pytest tests/python/test_server_interop.py
"""
import argparse
import os
import signal
import sys
import threading
import time
import zlib

import rpyc
from rpyc.core.channel import Channel
from rpyc.core.protocol import Connection
from rpyc.core.stream import SocketStream
from rpyc.utils.server import ThreadedServer

# Largest frame payload accepted, as sent and after decompression.
MAX_FRAME_BYTES = 64 * 1024 * 1024
MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024


def log(msg):
    sys.stderr.write(f"reference_test_service: {msg}\n")
    sys.stderr.flush()


class ProtocolViolation(EOFError):
    """A peer broke the framing or the encoding. It derives from EOFError
    because rpyc's serving loop treats EOFError as "connection over" and ends
    quietly, which is exactly what we want."""


# ---------------------------------------------------------------------------
# Transport hardening
# ---------------------------------------------------------------------------

class LimitedChannel(Channel):
    """rpyc's Channel, refusing oversized frames and zlib bombs."""

    __slots__ = ()

    def recv(self):
        header = self.stream.read(self.FRAME_HEADER.size)
        length, compressed = self.FRAME_HEADER.unpack(header)
        if length > MAX_FRAME_BYTES:
            self.close()
            raise ProtocolViolation(f"frame of {length} bytes exceeds {MAX_FRAME_BYTES}")
        data = self.stream.read(length + len(self.FLUSHER))[:-len(self.FLUSHER)]
        if compressed:
            inflater = zlib.decompressobj()
            try:
                # Inflate at most one byte more than allowed: enough to detect
                # a bomb without ever holding it in memory.
                out = inflater.decompress(data, MAX_DECOMPRESSED_BYTES + 1)
            except zlib.error as exc:
                self.close()
                raise ProtocolViolation(f"bad zlib data: {exc}") from None
            if len(out) > MAX_DECOMPRESSED_BYTES or inflater.unconsumed_tail:
                self.close()
                raise ProtocolViolation(
                    f"frame inflates beyond {MAX_DECOMPRESSED_BYTES} bytes")
            if not inflater.eof:
                self.close()
                raise ProtocolViolation("truncated zlib stream")
            data = out
        return data


class StrictConnection(Connection):
    """rpyc's Connection; a frame that cannot be decoded closes the
    connection at once instead of starting a CLOSE handshake."""

    def _dispatch(self, data):
        try:
            super()._dispatch(data)
        except EOFError:
            raise  # the stream is gone (e.g. the peer reset mid-call)
        except Exception as exc:
            if not self.closed:
                log(f"malformed frame, dropping the connection: {exc!r}")
            self._channel.close()
            raise ProtocolViolation(str(exc)) from None


class ReferenceServer(ThreadedServer):
    """ThreadedServer that wraps each client socket in a LimitedChannel."""

    def _serve_client(self, sock, credentials):
        config = dict(self.protocol_config, credentials=credentials,
                      endpoints=(sock.getsockname(), sock.getpeername()),
                      logger=self.logger)
        conn = self.service._connect(LimitedChannel(SocketStream(sock)), config)
        self._handle_connection(conn)


# ---------------------------------------------------------------------------
# Shared bookkeeping
# ---------------------------------------------------------------------------

_open_connections = 0
_open_connections_lock = threading.Lock()


class TrackedService(rpyc.Service):
    """Counts open connections (for `connection_count`)."""

    _protocol = StrictConnection

    def on_connect(self, conn):
        global _open_connections
        self._conn = conn
        self._disconnected = False
        with _open_connections_lock:
            _open_connections += 1

    def on_disconnect(self, conn):
        global _open_connections
        with _open_connections_lock:
            if not self._disconnected:
                self._disconnected = True
                _open_connections -= 1


# ---------------------------------------------------------------------------
# Service `test`
# ---------------------------------------------------------------------------

class Counter:
    """Returned by `make_counter`; travels by reference."""

    def __init__(self, start):
        self._value = start
        self._label = ""
        self._lock = threading.Lock()

    @property
    def exposed_value(self):
        return self._value

    def exposed_increment(self, by=1):
        with self._lock:
            self._value += by
            return self._value

    @property
    def exposed_label(self):
        return self._label

    # rpyc calls these hooks instead of its default (deny-all) policy.
    def _rpyc_setattr(self, name, value):
        if name != "label":
            raise AttributeError(f"cannot set attribute {name!r}")
        if type(value) is not str:
            raise TypeError(f"label must be a str, not {type(value).__name__}")
        self._label = value

    def _rpyc_delattr(self, name):
        raise AttributeError(f"cannot delete attribute {name!r}")

    def __repr__(self):
        return f"Counter(value={self._value})"

    __str__ = __repr__


class Map:
    """Returned by `make_map`: a mutable str -> value map, by reference."""

    def __init__(self):
        self._items = {"a": 1, "b": 2}

    def __getitem__(self, key):
        return self._items[key]

    def __setitem__(self, key, value):
        if type(key) is not str:
            raise TypeError(f"keys must be str, not {type(key).__name__}")
        self._items[key] = value

    def __delitem__(self, key):
        del self._items[key]

    def __len__(self):
        return len(self._items)

    def __contains__(self, key):
        return key in self._items

    def __iter__(self):
        # Iterate a snapshot; a tuple_iterator is a builtin netref for Python.
        return iter(tuple(self._items))

    def exposed_keys(self):
        return tuple(self._items)

    def exposed_values(self):
        return tuple(self._items.values())

    def exposed_items(self):
        return tuple(self._items.items())

    def __repr__(self):
        return f"Map({self._items!r})"


# Operand types `add` accepts (exact types, as brine sends them).
_ADDABLE = {
    (int, int), (float, float), (int, float), (float, int),
    (str, str), (bytes, bytes), (tuple, tuple),
}


class TestService(TrackedService):
    ALIASES = ["TEST"]

    exposed_the_answer = 42

    def __dir__(self):
        # HANDLE_DIR answers dir(root): list the exposed names only.
        return sorted(name[len("exposed_"):] for name in dir(type(self))
                      if name.startswith("exposed_"))

    def exposed_echo(self, x):
        return x

    def exposed_add(self, a, b):
        if (type(a), type(b)) not in _ADDABLE:
            raise TypeError(f"unsupported operand types for add: "
                            f"{type(a).__name__!r} and {type(b).__name__!r}")
        return a + b

    def exposed_divide(self, a, b):
        if b == 0:
            raise ZeroDivisionError("division by zero")
        return float(a / b)

    def exposed_fail(self, msg):
        raise ValueError(msg)

    def exposed_call(self, f, *args):
        return f(*args)

    def exposed_call_n(self, f, n):
        return tuple(f(i) for i in range(n))

    def exposed_sleep(self, seconds):
        done = threading.Event()
        helper = threading.Thread(target=self._serve_until, args=(done,), daemon=True)
        helper.start()
        try:
            time.sleep(seconds)
        finally:
            done.set()
        return seconds

    def _serve_until(self, done):
        """Serve this connection while a handler sleeps (see module doc)."""
        conn = self._conn
        try:
            while not done.is_set() and not conn.closed:
                conn.serve(0.05)
        except Exception:
            pass  # EOF / reset: serve() already closed the connection

    def exposed_make_counter(self, start=0):
        return Counter(start)

    def exposed_make_map(self):
        return Map()

    def exposed_blob(self, n):
        pattern = bytes(range(256))
        return (pattern * (n // 256 + 1))[:n]

    def exposed_numbers(self, n):
        # A generator travels by reference: a lazy iterator over 0..n.
        if type(n) is not int:
            raise TypeError(f"numbers(n) takes an int, not {type(n).__name__}")
        if not 0 <= n <= 10**9:
            raise ValueError(f"numbers(n) takes 0 <= n <= 1000000000, got {n!r}")
        return (i for i in range(n))

    def exposed_object_count(self):
        return len(self._conn._local_objects._dict)

    def exposed_connection_count(self):
        with _open_connections_lock:
            return _open_connections

    def secret(self):
        # Not exposed: no client may ever reach this.
        log("SECURITY: secret() ran")
        os._exit(3)


# ---------------------------------------------------------------------------
# Service `calc`
# ---------------------------------------------------------------------------

class CalculatorService(TrackedService):
    ALIASES = ["CALCULATOR"]

    def on_connect(self, conn):
        super().on_connect(conn)
        self._history = []

    def _record(self, result):
        self._history.append(result)
        return result

    def exposed_add(self, a, b):
        return self._record(a + b)

    def exposed_multiply(self, a, b):
        return self._record(a * b)

    def exposed_get_history(self):
        return tuple(self._history)


SERVICES = {"test": TestService, "calc": CalculatorService}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", choices=sorted(SERVICES), required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)

    server = ReferenceServer(SERVICES[args.service], hostname=args.host,
                             port=args.port, backlog=512)

    def stop(signum, frame):
        server.close()
        sys.stdout.flush()
        os._exit(0)  # connection threads are daemons: do not wait for them

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    server._listen()  # listen() now, so the port is connectable once printed
    print(f"listening on {args.host}:{server.port}", flush=True)
    server.start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
