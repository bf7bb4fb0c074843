"""Interop suite: a plain Python rpyc 6 client against the `rpyc-server` binary.

Every test talks to the server exactly as an ordinary Python user would
(`rpyc.connect(host, port)`, no config on either side), or, for the fault
tests, with hand-made frames on a raw socket. The expected behaviour is the
contract in /work/shared/design/test-service.md; wire details follow
/work/shared/design/rpyc-wire-protocol.md (section numbers below refer to it).

Server under test
-----------------
``RPYC_SERVER_BIN`` names the server command (default:
``target/debug/rpyc-server`` relative to the repository root). It may contain
arguments (split with shlex), e.g. the pure-Python reference:

    RPYC_SERVER_BIN="$PWD/.venv/bin/python tests/python/reference_test_service.py"

Two servers are started once per session (fixtures in conftest.py), with
``--service test|calc --host 127.0.0.1 --port 0``; each must print
``listening on HOST:PORT`` within 30 s and exit with code 0 within 10 s of
SIGTERM. The memory check of the zlib-bomb test reads /proc/<pid>/status, so
the command must exec the server directly (no shell wrapper, no `cargo run`).

Nothing is skipped: a missing binary fails every test.
"""
import gc
import itertools
import math
import pickle
import random
import socket
import struct
import subprocess
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest
import rpyc
from rpyc.core import brine, consts

# Every name the `test` service exposes (test-service.md).
TEST_SERVICE_NAMES = {
    "the_answer", "echo", "add", "divide", "fail", "call", "call_n", "sleep",
    "make_counter", "make_map", "blob", "object_count", "connection_count",
    "block", "whoami",
}


# ===========================================================================
# Server process fixtures (`rpyc_test_server`, `rpyc_calc_server`: conftest.py)
# ===========================================================================

@pytest.fixture
def addr(rpyc_test_server):
    """(host, port) of the `test` server; fails the test if it died."""
    rpyc_test_server.assert_alive()
    yield rpyc_test_server.address
    rpyc_test_server.assert_alive()


@pytest.fixture
def conn(addr):
    """A fresh plain-rpyc connection to the `test` service."""
    c = rpyc.connect(*addr)
    yield c
    c.close()


# ===========================================================================
# Helpers
# ===========================================================================

def wait_for(predicate, timeout=5.0, interval=0.05):
    """Poll `predicate` until it is true; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def settled_connection_count(conn, timeout=5.0):
    """connection_count() once it stops changing (closes are asynchronous,
    so connections of earlier tests may still be winding down)."""
    deadline = time.monotonic() + timeout
    last = conn.root.connection_count()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = conn.root.connection_count()
        if now == last:
            return now
        last = now
    return last


def same_value(a, b):
    """Exact equality for brine values: same types all the way down (so 1,
    1.0 and True differ), -0.0 differs from 0.0, and nan equals nan."""
    if type(a) is not type(b):
        return False
    if type(a) is float:
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    if type(a) is complex:
        return same_value(a.real, b.real) and same_value(a.imag, b.imag)
    if type(a) is tuple:
        return len(a) == len(b) and all(map(same_value, a, b))
    if type(a) is slice:
        return same_value((a.start, a.stop, a.step), (b.start, b.stop, b.step))
    if type(a) is frozenset:
        return len(a) == len(b) and all(any(same_value(x, y) for y in b) for x in a)
    return a == b


def vm_kib(pid, field):
    """A memory figure (kB) from /proc/<pid>/status, e.g. VmRSS or VmHWM."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


# ---------------------------------------------------------------------------
# Raw frames (wire spec §1.2, §1.6, §3)
# ---------------------------------------------------------------------------

FRAME_HEADER = struct.Struct("!LB")


def frame(payload, compressed=0):
    """header (u32 BE length, u8 compressed flag) + payload + 0x0A."""
    return FRAME_HEADER.pack(len(payload), compressed) + payload + b"\n"


def message(msg, seq, body):
    """Frame payload: raw msg byte + brine((seq, body))."""
    return bytes([msg]) + brine.dump((seq, body))


class RawClient:
    """A hand-rolled rpyc 6 peer on a plain socket."""

    def __init__(self, addr, timeout=10.0):
        self.sock = socket.create_connection(addr, timeout=timeout)
        self._seq = itertools.count()

    def send(self, data):
        self.sock.sendall(data)

    def send_request(self, handler, boxed_args):
        seq = next(self._seq)
        self.send(frame(message(consts.MSG_REQUEST, seq, (handler, boxed_args))))
        return seq

    def _recv_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError("the server closed the connection")
            buf += chunk
        return bytes(buf)

    def recv_message(self):
        """Next (msg, seq, body) from the server."""
        length, compressed = FRAME_HEADER.unpack(self._recv_exact(FRAME_HEADER.size))
        payload = self._recv_exact(length + 1)[:-1]
        if compressed:
            payload = zlib.decompress(payload)
        seq, body = brine.load(payload[1:])
        return payload[0], seq, body

    def request(self, handler, boxed_args):
        """Send a request; return (msg, body) of its answer."""
        seq = self.send_request(handler, boxed_args)
        msg, reply_seq, body = self.recv_message()
        assert msg in (consts.MSG_REPLY, consts.MSG_EXCEPTION), (
            f"expected the answer to request {seq}, got msg {msg} {body!r}")
        assert reply_seq == seq, f"answer carries seq {reply_seq}, expected {seq}"
        return msg, body

    def getroot(self):
        msg, body = self.request(consts.HANDLE_GETROOT, (1, ()))
        assert msg == consts.MSG_REPLY and body[0] == 4, body
        return body[1]

    def ping(self, data="are you there?"):
        msg, body = self.request(consts.HANDLE_PING, (1, (data,)))
        assert (msg, body) == (consts.MSG_REPLY, (1, data))

    def expect_closed(self, timeout=5.0):
        """Assert the server closes the connection within `timeout`; anything
        it sends first is ignored."""
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if not self.sock.recv(65536):
                    return
        except (ConnectionResetError, BrokenPipeError):
            return
        except socket.timeout:
            pass
        pytest.fail(f"the server kept the connection open for {timeout} s")

    def reset(self):
        """Abort the connection with a TCP RST (SO_LINGER 0 close)."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self):
        self.sock.close()


def assert_server_serves(addr):
    """A normal rpyc client can still connect and call."""
    with rpyc.connect(*addr) as c:
        assert c.root.add(20, 22) == 42
        assert c.root.echo("still alive") == "still alive"


def zlib_bomb(inflated_size, chunk=1 << 20):
    """A valid zlib stream that inflates to `inflated_size` zero bytes.

    Compressing 1 GiB takes seconds, so one chunk of zeros is deflated once
    (raw deflate, ending in a full flush: byte aligned and independent of
    any history) and the block is repeated; the zlib header and the Adler-32
    of n zeros ((n mod 65521) << 16 | 1) are added by hand."""
    assert inflated_size % chunk == 0
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = deflater.compress(bytes(chunk)) + deflater.flush(zlib.Z_FULL_FLUSH)
    final_block = b"\x03\x00"  # empty final block, fixed Huffman codes
    adler = ((inflated_size % 65521) << 16) | 1
    return (b"\x78\xda" + block * (inflated_size // chunk) + final_block
            + struct.pack("!L", adler))


# ===========================================================================
# Basics
# ===========================================================================

def test_the_answer(conn):
    answer = conn.root.the_answer
    assert answer == 42 and type(answer) is int


def test_service_name(conn):
    assert conn.root.get_service_name() == "TEST"


def test_ping(conn):
    conn.ping()  # the default 520-char str must come back unchanged
    conn.ping("short")


# ===========================================================================
# echo: every brine type round-trips exactly
# ===========================================================================

ECHO_VALUES = [
    None, True, False,
    0, 1, -1, -48, 159, -49, 160,
    2**31, 2**63 - 1, 2**63, -2**63, -2**63 - 1, 2**64, -(2**100), 10**300, -(10**300),
    0.0, 1.5, -2.25, 1e300, 5e-324, float("inf"), float("-inf"),
    1 + 2j, complex(-0.0, float("inf")), 0j,
    "", "a", "abcd", "hello world", "héllo", "日本語のテキスト", "astral 🐍 \U0010FFFF",
    "x" * 255, "y" * 256, "é" * 300, "long " * 2000,
    b"", b"\x00", b"abcd", b"abcde", bytes(range(256)), b"\xff" * 70000,
    (), (1,), (1, 2), (1, 2, 3, 4), (1, 2, 3, 4, 5), tuple(range(300)),
    ((1, 2), (3, (4, (5, (6, ()))))), (None, True, 1.5, "s", b"b", 2**70, (1j,)),
    frozenset(), frozenset({1, 2, 3}), frozenset({"a", b"a", 1.5, (1, "x")}),
    frozenset({frozenset(), frozenset({1, frozenset({2})})}),
    slice(1, 10, 2), slice(None, None, None), slice("a", (1, 2), 2**80),
    Ellipsis, NotImplemented,
    (Ellipsis, NotImplemented, slice(None, 5, None), frozenset({7})),
]


@pytest.mark.parametrize("value", ECHO_VALUES, ids=lambda v: repr(v)[:40])
def test_echo_roundtrip(conn, value):
    result = conn.root.echo(value)
    assert type(result) is type(value)
    assert same_value(result, value), f"{result!r} != {value!r}"


def test_echo_nan(conn):
    result = conn.root.echo(float("nan"))
    assert type(result) is float and math.isnan(result)
    result = conn.root.echo(complex(float("nan"), 1.0))
    assert type(result) is complex and math.isnan(result.real) and result.imag == 1.0


def test_echo_negative_zero(conn):
    result = conn.root.echo(-0.0)
    assert type(result) is float and result == 0.0
    assert math.copysign(1.0, result) == -1.0


def test_echo_5mb_random_bytes(conn):
    data = random.Random(5).randbytes(5 * 1024 * 1024)
    result = conn.root.echo(data)
    assert type(result) is bytes and result == data


def test_echo_8mb_compressible(conn):
    data = b"\0" * (8 * 1024 * 1024)  # travels as a small zlib frame (~35 KB)
    result = conn.root.echo(data)
    assert type(result) is bytes and result == data


def test_echo_returns_callers_own_objects(conn):
    """References the client sent come back as the client's own objects."""
    items = [1, 2, 3]
    assert conn.root.echo(items) is items

    def local_function():
        return "local"

    assert conn.root.echo(local_function) is local_function
    mapping = {"k": "v"}
    assert conn.root.echo(mapping) is mapping
    # Inside a tuple, the by-reference member is still the original.
    result = conn.root.echo((1, items))
    assert result[0] == 1 and result[1] is items


# ===========================================================================
# add / divide / fail
# ===========================================================================

@pytest.mark.parametrize("a, b, expected", [
    (1, 2, 3),
    (2**63 - 1, 1, 2**63),                 # crosses i64
    (-2**63, -1, -2**63 - 1),
    (2**64, 2**64, 2**65),
    (10**40, -(10**40), 0),
    (10**300, 10**300, 2 * 10**300),
    (1.5, 2.25, 3.75),
    (1, 0.5, 1.5),
    (0.5, 1, 1.5),
    ("foo", "bar", "foobar"),
    ("", "é🐍", "é🐍"),
    (b"ab", b"cd", b"abcd"),
    ((1, "a"), ((2,), None), (1, "a", (2,), None)),
    ((), (), ()),
], ids=lambda v: repr(v)[:20])
def test_add(conn, a, b, expected):
    result = conn.root.add(a, b)
    assert type(result) is type(expected)
    assert same_value(result, expected)


@pytest.mark.parametrize("a, b", [
    (1, "a"), ("a", 1), ("a", b"a"), (b"a", "a"), ((1,), 1), (1, (1,)),
    (None, 1), (1, None), (b"x", (1,)), (1.5, "x"),
], ids=repr)
def test_add_mixed_types_raise_type_error(conn, a, b):
    with pytest.raises(TypeError):
        conn.root.add(a, b)


@pytest.mark.parametrize("a, b, expected", [
    (7, 2, 3.5), (6, 3, 2.0), (1, 4, 0.25), (-1, 8, -0.125), (1.5, 0.5, 3.0),
    (1, 3, 1 / 3),
])
def test_divide(conn, a, b, expected):
    result = conn.root.divide(a, b)
    assert type(result) is float and result == expected


@pytest.mark.parametrize("b", [0, 0.0])
def test_divide_by_zero(conn, b):
    with pytest.raises(ZeroDivisionError):
        conn.root.divide(1, b)


def test_fail(conn):
    with pytest.raises(ValueError) as info:
        conn.root.fail("boom")
    assert "boom" in str(info.value)
    # The connection stays usable after an exception.
    assert conn.root.add(1, 1) == 2


# ===========================================================================
# Callbacks: call / call_n
# ===========================================================================

def test_call_lambda(conn):
    assert conn.root.call(lambda a, b: a * b, 6, 7) == 42
    assert conn.root.call(lambda: "no args") == "no args"
    assert conn.root.call(lambda *args: args, 1, "two", (3,)) == (1, "two", (3,))


def test_call_returns_reference(conn):
    items = ["x"]
    assert conn.root.call(lambda: items) is items


@pytest.mark.parametrize("exc_type, raise_it", [
    (KeyError, lambda: {}["missing-key"]),
    (ValueError, lambda: int("not a number")),
    (ZeroDivisionError, lambda: 1 / 0),
    (IndexError, lambda: [][3]),
], ids=["KeyError", "ValueError", "ZeroDivisionError", "IndexError"])
def test_call_exception_comes_back(conn, exc_type, raise_it):
    """What a Python server gives: the caller sees the original builtin type."""
    with pytest.raises(exc_type):
        conn.root.call(raise_it)
    assert conn.root.add(1, 1) == 2


def test_call_exception_keeps_message(conn):
    def f():
        raise KeyError("missing-key")

    with pytest.raises(KeyError) as info:
        conn.root.call(f)
    assert "missing-key" in str(info.value)


def test_nested_callbacks(conn):
    """f calls back into the server, which calls f again, 10 levels deep."""
    depths = []

    def nest(level):
        depths.append(level)
        if level == 0:
            return 0
        return conn.root.call(nest, level - 1) + 1

    assert conn.root.call(nest, 10) == 10
    assert depths == list(range(10, -1, -1))


def test_nested_callback_exception(conn):
    def nest(level):
        if level == 0:
            raise ValueError("deep failure")
        return conn.root.call(nest, level - 1)

    with pytest.raises(ValueError) as info:
        conn.root.call(nest, 10)
    assert "deep failure" in str(info.value)
    assert conn.root.add(2, 2) == 4


def test_call_n(conn):
    calls = []

    def square(i):
        calls.append(i)
        return i * i

    result = conn.root.call_n(square, 5)
    assert type(result) is tuple and result == (0, 1, 4, 9, 16)
    assert calls == [0, 1, 2, 3, 4]
    assert conn.root.call_n(square, 0) == ()


# ===========================================================================
# sleep and concurrency
# ===========================================================================

def test_sleep(conn):
    start = time.monotonic()
    result = conn.root.sleep(0.2)
    elapsed = time.monotonic() - start
    assert result == 0.2 and type(result) is float
    assert elapsed >= 0.19


def test_concurrent_sleeps_on_one_connection(conn):
    """40 x sleep(0.5) on one connection: serial would take 20 s; the server
    must run them concurrently (any figure near 0.5 s, well under 5 s)."""
    async_sleep = rpyc.async_(conn.root.sleep)
    start = time.monotonic()
    results = [async_sleep(0.5) for _ in range(40)]
    values = [r.value for r in results]
    elapsed = time.monotonic() - start
    assert values == [0.5] * 40
    assert elapsed < 5.0, f"40 sleeps took {elapsed:.1f} s: not concurrent"


def test_sleep_does_not_block_same_connection(conn):
    pending = rpyc.async_(conn.root.sleep)(2.0)
    start = time.monotonic()
    assert conn.root.echo("meanwhile") == "meanwhile"
    assert time.monotonic() - start < 1.5
    assert pending.value == 2.0


def test_sleep_does_not_block_other_connections(conn, addr):
    pending = rpyc.async_(conn.root.sleep)(2.0)
    with rpyc.connect(*addr) as other:
        start = time.monotonic()
        assert other.root.add(1, 2) == 3
        assert time.monotonic() - start < 1.5
    assert pending.value == 2.0


# ===========================================================================
# block: a synchronous method that blocks its thread
# ===========================================================================

def test_block_returns_its_argument(conn):
    assert conn.root.block(0) == 0
    result = conn.root.block(0.05)
    assert result == 0.05 and type(result) is float


@pytest.mark.parametrize("bad", [-1, 30.5, 10**30, float("nan"), "1", None])
def test_block_refuses_bad_lengths(conn, bad):
    with pytest.raises(ValueError):
        conn.root.block(bad)


def test_blocked_clients_do_not_stall_another_client(addr):
    """More clients inside `block(...)` than the server has worker threads (the
    server thread blocks in `std::thread::sleep`): another client's calls are
    answered while every one of them still blocks. Only the order of
    completion is checked; the blockers' length only has to outlast the other
    client's two calls."""
    blockers = [rpyc.connect(*addr) for _ in range(6)]
    try:
        pending = [rpyc.async_(c.root.block)(5) for c in blockers]
        with rpyc.connect(*addr) as other:
            assert other.root.add(1, 2) == 3          # an inline method
            assert other.root.echo("x") == "x"        # a synchronous one: its own slots
            still_blocked = [not r.ready for r in pending]
        assert all(still_blocked), "add/echo answered only after a blocker finished"
        assert [r.value for r in pending] == [5] * len(pending)
    finally:
        for c in blockers:
            c.close()


def test_many_async_calls_in_flight(conn):
    async_add = rpyc.async_(conn.root.add)
    results = [async_add(i, 2**64) for i in range(100)]
    assert [r.value for r in results] == [i + 2**64 for i in range(100)]
    assert all(r.ready and not r.error for r in results)


def test_async_result_ready(conn):
    result = rpyc.async_(conn.root.sleep)(0.3)
    assert wait_for(lambda: result.ready, timeout=10.0)
    assert not result.error
    assert result.value == 0.3


def test_async_error(conn):
    result = rpyc.async_(conn.root.fail)("async boom")
    assert wait_for(lambda: result.ready, timeout=10.0)
    assert result.error
    with pytest.raises(ValueError):
        result.value


def test_twenty_clients_at_once(addr):
    def client(n):
        with rpyc.connect(*addr) as c:
            for i in range(25):
                assert c.root.add(n, i) == n + i
                assert c.root.echo((n, "x" * i)) == (n, "x" * i)
            counter = c.root.make_counter(n)
            assert counter.increment() == n + 1
        return n

    with ThreadPoolExecutor(20) as pool:
        assert sorted(pool.map(client, range(20))) == list(range(20))


def test_threads_sharing_one_connection(conn):
    root = conn.root

    def worker(n):
        for i in range(50):
            assert root.add(n * 1000, i) == n * 1000 + i
            assert root.echo((n, i)) == (n, i)
        assert root.call(lambda x: x * 2, n) == n * 2
        return n

    with ThreadPoolExecutor(8) as pool:
        assert sorted(pool.map(worker, range(8))) == list(range(8))


# ===========================================================================
# Counter
# ===========================================================================

def test_counter(conn):
    counter = conn.root.make_counter()
    assert counter.value == 0
    assert counter.increment() == 1
    assert counter.increment(by=5) == 6
    assert counter.increment(2) == 8
    assert counter.value == 8
    assert repr(counter) == "Counter(value=8)"
    assert str(counter) == "Counter(value=8)"


def test_counter_start(conn):
    assert conn.root.make_counter(start=10).value == 10
    assert conn.root.make_counter(-3).value == -3


def test_counters_are_independent(conn):
    first, second = conn.root.make_counter(), conn.root.make_counter(100)
    first.increment()
    assert (first.value, second.value) == (1, 100)


def test_counter_label(conn):
    counter = conn.root.make_counter()
    assert counter.label == ""
    counter.label = "x"
    assert counter.label == "x"
    counter.label = "héllo 🐍"
    assert counter.label == "héllo 🐍"


def test_counter_label_must_be_str(conn):
    counter = conn.root.make_counter()
    for bad in (3, b"bytes", None):
        with pytest.raises(TypeError):
            counter.label = bad
    assert counter.label == ""


@pytest.mark.parametrize("name", ["foo", "value", "increment", "_label"])
def test_counter_other_attributes_are_read_only(conn, name):
    counter = conn.root.make_counter()
    with pytest.raises(AttributeError):
        setattr(counter, name, 1)
    assert counter.value == 0


def test_counter_unknown_attributes(conn):
    counter = conn.root.make_counter()
    with pytest.raises(AttributeError):
        counter.no_such_thing
    for name in ("__dict__", "__class__", "__init__", "secret"):
        with pytest.raises(AttributeError):
            conn.sync_request(consts.HANDLE_GETATTR, counter, name)


# ===========================================================================
# Map
# ===========================================================================

def test_map_read(conn):
    m = conn.root.make_map()
    assert m["a"] == 1 and m["b"] == 2
    assert len(m) == 2
    assert "b" in m and "zz" not in m


def test_map_write_and_delete(conn):
    m = conn.root.make_map()
    m["c"] = 3
    assert m["c"] == 3 and len(m) == 3
    m["a"] = "replaced"
    assert m["a"] == "replaced" and len(m) == 3
    del m["a"]
    assert "a" not in m and len(m) == 2
    m["t"] = (1, (2.5, b"x"))
    assert m["t"] == (1, (2.5, b"x"))


def test_map_iteration(conn):
    m = conn.root.make_map()
    m["c"] = 3
    assert sorted(list(m)) == ["a", "b", "c"]
    seen = []
    for key in m:
        seen.append(key)
    assert sorted(seen) == ["a", "b", "c"]


def test_map_views(conn):
    m = conn.root.make_map()
    m["c"] = 3
    del m["a"]
    assert sorted(m.keys()) == ["b", "c"]
    assert sorted(m.values()) == [2, 3]
    assert sorted(tuple(item) for item in m.items()) == [("b", 2), ("c", 3)]


def test_map_missing_key(conn):
    m = conn.root.make_map()
    with pytest.raises(KeyError):
        m["missing"]
    with pytest.raises(KeyError):
        del m["missing"]
    assert len(m) == 2


def test_maps_are_independent(conn):
    first, second = conn.root.make_map(), conn.root.make_map()
    first["new"] = 1
    assert "new" not in second and len(second) == 2


# ===========================================================================
# blob
# ===========================================================================

@pytest.mark.parametrize("n", [0, 1, 4, 5, 255, 256, 257, 3001, 100_000, 3_000_000])
def test_blob(conn, n):
    data = conn.root.blob(n)
    assert type(data) is bytes and len(data) == n
    assert data == bytes(i % 256 for i in range(n))


# ===========================================================================
# Object lifetime and connection accounting
# ===========================================================================

def test_released_references_are_freed(conn):
    baseline = conn.root.object_count()
    make_counter = conn.root.make_counter
    counters = [make_counter(i) for i in range(2000)]
    grown = conn.root.object_count()
    assert grown >= baseline + 2000, (baseline, grown)
    assert counters[1999].value == 1999
    del counters, make_counter
    gc.collect()  # every proxy's __del__ sends its HANDLE_DEL
    conn.root.add(0, 0)  # one more round trip behind the DELs
    final = wait_for(lambda: conn.root.object_count() <= baseline, timeout=10.0)
    assert final, (f"object_count stays at {conn.root.object_count()} "
                   f"(baseline {baseline})")


def test_released_maps_are_freed(conn):
    baseline = conn.root.object_count()
    maps = [conn.root.make_map() for _ in range(50)]
    assert conn.root.object_count() >= baseline + 50
    del maps
    gc.collect()
    conn.root.add(0, 0)
    assert wait_for(lambda: conn.root.object_count() <= baseline, timeout=10.0)


def test_connection_count(conn, addr):
    before = settled_connection_count(conn)
    assert before >= 1
    other = rpyc.connect(*addr)
    other.root  # a round trip: the server has surely registered it
    assert conn.root.connection_count() == before + 1
    assert other.root.connection_count() == before + 1
    other.close()
    assert wait_for(lambda: conn.root.connection_count() == before, timeout=5.0), (
        f"connection_count stays at {conn.root.connection_count()}, expected {before}")


# ===========================================================================
# Access policy / security
# ===========================================================================

def test_secret_is_unreachable(conn):
    root = conn.root
    with pytest.raises(AttributeError):
        root.secret
    with pytest.raises(AttributeError):
        getattr(root, "secret")
    with pytest.raises(AttributeError):
        root.exposed_secret
    with pytest.raises(AttributeError):
        conn.sync_request(consts.HANDLE_CALLATTR, root, "secret", (), ())
    with pytest.raises(AttributeError):
        conn.sync_request(consts.HANDLE_CALLATTR, root, "exposed_secret", (), ())


@pytest.mark.parametrize("name", [
    "__class__", "__dict__", "__init__", "__globals__", "_private", "__module__",
    "__getattribute__", "__subclasses__", "__reduce_ex__", "__call__", "secret",
    "no_such_name",
])
def test_forbidden_getattr(conn, name):
    # Sent as a raw GETATTR: Python proxies answer some of these names locally.
    with pytest.raises(AttributeError):
        conn.sync_request(consts.HANDLE_GETATTR, conn.root, name)


@pytest.mark.parametrize("name", ["__globals__", "_private", "__subclasses__"])
def test_forbidden_getattr_through_proxy(conn, name):
    with pytest.raises(AttributeError):
        getattr(conn.root, name)


def test_setattr_and_delattr_on_root_refused(conn):
    root = conn.root
    with pytest.raises(AttributeError):
        root.the_answer = 41
    with pytest.raises(AttributeError):
        root.brand_new = 1
    with pytest.raises(AttributeError):
        del root.the_answer
    with pytest.raises(AttributeError):
        del root.echo
    assert root.the_answer == 42


def test_pickle_refused(conn):
    with pytest.raises(ValueError):
        pickle.dumps(conn.root)
    with pytest.raises(ValueError):
        conn.root.____conn__.sync_request(consts.HANDLE_PICKLE, conn.root, -1)
    with pytest.raises(ValueError):
        pickle.dumps(conn.root.make_counter())


def test_cmp_cannot_reach_getattribute(conn):
    """CVE-2019-16328: the CMP op name must pass the access policy."""
    with pytest.raises(AttributeError):
        conn.sync_request(consts.HANDLE_CMP, conn.root, 1, "__getattribute__")
    with pytest.raises(AttributeError):
        conn.sync_request(consts.HANDLE_CMP, conn.root, "secret", "__getattr__")


def test_cmp_with_a_missing_operator_raises_attribute_error(conn):
    """An allowed operator the object lacks: AttributeError, as Python's server raises;
    a rich comparison it lacks: NotImplemented, as Python's `object` answers."""
    with pytest.raises(AttributeError):
        conn.sync_request(consts.HANDLE_CMP, conn.root, 1, "__add__")
    assert conn.sync_request(consts.HANDLE_CMP, conn.root, 1, "__lt__") is NotImplemented


@pytest.mark.parametrize("name", ["a" * (1 << 20), "_" * (1 << 20)], ids=["unknown", "refused"])
def test_error_echoes_a_long_name_once_and_short(conn, name):
    """A 1 MiB name comes back once, cut to 100 characters and an ellipsis."""
    with pytest.raises(AttributeError) as info:
        conn.sync_request(consts.HANDLE_GETATTR, conn.root, name)
    assert info.value.args[0].count(name[:100] + "\u2026") == 1
    assert len(str(info.value)) < 2000


def test_whoami_without_tls_or_authenticator(conn):
    """The credentials a plain TCP connection carries: the peer's address only."""
    peer, subject, sans, auth = conn.root.whoami()
    host, port = conn._channel.stream.sock.getsockname()[:2]
    assert peer == f"{host}:{port}"
    assert (subject, sans, auth) == (None, (), None)


def test_dir_lists_only_exposed_names(conn):
    names = dir(conn.root)
    missing = TEST_SERVICE_NAMES - set(names)
    assert not missing, f"dir() lacks {sorted(missing)}"
    assert "secret" not in names
    assert "exposed_secret" not in names


# ===========================================================================
# Service `calc`
# ===========================================================================

def test_calc_service(rpyc_calc_server):
    calc_server = rpyc_calc_server
    calc_server.assert_alive()
    with rpyc.connect(*calc_server.address) as c:
        assert c.root.get_service_name() == "CALCULATOR"
        assert c.root.get_history() == ()
        assert c.root.add(2, 3) == 5
        assert c.root.multiply(4, 5) == 20
        assert c.root.add(7, -7) == 0
        assert c.root.get_history() == (5, 20, 0)
        with rpyc.connect(*calc_server.address) as other:
            assert other.root.get_history() == ()  # history is per connection
            assert other.root.multiply(3, 3) == 9
            assert other.root.get_history() == (9,)
        assert c.root.get_history() == (5, 20, 0)
    with rpyc.connect(*calc_server.address) as fresh:
        assert fresh.root.get_history() == ()


# ===========================================================================
# Raw frames, bad input and faults
# ===========================================================================

def test_raw_getroot_and_ping(addr):
    """Sanity check of the raw client used below (wire spec §11.5)."""
    raw = RawClient(addr)
    try:
        name_pack, class_id, instance_id = raw.getroot()
        assert type(name_pack) is str and type(class_id) is int and type(instance_id) is int
        assert instance_id != 0
        raw.ping()
        msg, body = raw.request(consts.HANDLE_CALLATTR,
                                (2, ((3, (name_pack, class_id, instance_id)),
                                     (1, "add"), (1, (40, 2)), (1, ()))))
        assert (msg, body) == (consts.MSG_REPLY, (1, 42))
    finally:
        raw.close()


def test_garbage_bytes(addr):
    raw = RawClient(addr)
    raw.send(random.Random(1234).randbytes(4096))
    raw.sock.shutdown(socket.SHUT_WR)
    raw.expect_closed(timeout=10.0)
    raw.close()
    assert_server_serves(addr)


def test_http_request(addr):
    raw = RawClient(addr)
    # "GET " read as a frame length is ~1.2 GB: beyond any sane frame cap.
    raw.send(b"GET / HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n")
    raw.expect_closed(timeout=5.0)
    raw.close()
    assert_server_serves(addr)


def test_frame_announcing_4gb(addr):
    raw = RawClient(addr)
    raw.send(struct.pack("!LB", 0xFFFFFFFF, 0) + b"\x01\x11")
    raw.expect_closed(timeout=5.0)
    raw.close()
    assert_server_serves(addr)


def test_zlib_bomb_refused(rpyc_test_server, addr):
    """A ~1 MB frame inflating to 1 GiB must be refused, not inflated."""
    server_pid = rpyc_test_server.pid
    bomb = zlib_bomb(1 << 30)
    assert len(bomb) < 2 << 20
    hwm_before = vm_kib(server_pid, "VmHWM")
    raw = RawClient(addr)
    try:
        raw.send(frame(bomb, compressed=1))
    except (BrokenPipeError, ConnectionResetError):
        pass  # closed while we were still sending: refused early
    raw.expect_closed(timeout=15.0)
    raw.close()
    assert_server_serves(addr)
    grown_mib = (vm_kib(server_pid, "VmHWM") - hwm_before) / 1024
    assert grown_mib < 512, f"peak memory grew by {grown_mib:.0f} MiB: the bomb was inflated"


def test_zlib_bomb_generator_is_valid():
    """The bomb must be a valid zlib stream, or the test above proves nothing."""
    small = zlib_bomb(8 << 20)
    assert zlib.decompress(small) == bytes(8 << 20)


@pytest.mark.parametrize("payload", [
    b"\x01\xf5",                          # invalid brine tag
    b"\x01\x07",                          # unused tag 0x07
    b"\x01\x11\x50",                      # (seq, <missing body>): truncated
    b"\x01\x11\x50\x08\x0a\xff",          # str that is not UTF-8
    b"\x09" + brine.dump((0, (1, ()))),   # msg type 9 does not exist
], ids=["tag-f5", "tag-07", "truncated", "bad-utf8", "msg-9"])
def test_malformed_frame_closes_connection(addr, payload):
    raw = RawClient(addr)
    raw.send(frame(payload))
    raw.expect_closed(timeout=5.0)
    raw.close()
    assert_server_serves(addr)


def test_unknown_handler(addr):
    raw = RawClient(addr)
    try:
        seq = raw.send_request(99, (1, ()))
        msg, reply_seq, body = raw.recv_message()
        assert msg == consts.MSG_EXCEPTION and reply_seq == seq
        (module, cls), args, attrs, traceback_text = body
        assert (module, cls) == ("builtins", "KeyError")
        raw.ping()  # same socket, still usable
    finally:
        raw.close()
    assert_server_serves(addr)


def test_unknown_object_reference(addr):
    raw = RawClient(addr)
    try:
        seq = raw.send_request(consts.HANDLE_GETATTR,
                               (2, ((3, ("x.Y", 1, 999999)), (1, "x"))))
        msg, reply_seq, body = raw.recv_message()
        assert msg == consts.MSG_EXCEPTION and reply_seq == seq
        (module, cls), args, attrs, traceback_text = body
        assert type(module) is str and type(cls) is str
        raw.ping()
    finally:
        raw.close()
    assert_server_serves(addr)


def test_half_frame_then_silence(addr):
    """A client stalled in the middle of a frame blocks nobody else, and its
    frame is still understood when the rest finally arrives."""
    slow = RawClient(addr)
    whole = frame(message(consts.MSG_REQUEST, 0, (consts.HANDLE_PING, (1, ("late",)))))
    slow.send(whole[:len(whole) // 2])
    try:
        start = time.monotonic()
        assert_server_serves(addr)
        other = RawClient(addr)
        other.ping()
        other.close()
        assert time.monotonic() - start < 5.0
        time.sleep(0.5)
        slow.send(whole[len(whole) // 2:])
        msg, seq, body = slow.recv_message()
        assert (msg, seq, body) == (consts.MSG_REPLY, 0, (1, "late"))
    finally:
        slow.close()


def test_clients_resetting_mid_call(conn, addr):
    """200 clients start sleep(1.0) and abort with RST; the server drops
    them all and keeps serving."""
    baseline = settled_connection_count(conn)
    clients = []
    try:
        for _ in range(200):
            raw = RawClient(addr)
            clients.append(raw)
            root = raw.getroot()
            msg, body = raw.request(consts.HANDLE_GETATTR, (2, ((3, root), (1, "sleep"))))
            assert msg == consts.MSG_REPLY and body[0] == 4, body
            raw.send_request(consts.HANDLE_CALL, (2, ((3, body[1]), (1, (1.0,)), (1, ()))))
        assert wait_for(lambda: conn.root.connection_count() >= baseline + 200, timeout=5.0)
    finally:
        for raw in clients:
            raw.reset()
    assert wait_for(lambda: conn.root.connection_count() == baseline, timeout=10.0), (
        f"connection_count stays at {conn.root.connection_count()}, expected {baseline}")
    assert_server_serves(addr)


KILLED_CLIENT = """
import sys, rpyc
conn = rpyc.connect(sys.argv[1], int(sys.argv[2]))
counters = [conn.root.make_counter(i) for i in range(100)]
maps = [conn.root.make_map() for i in range(20)]
print("ready", flush=True)
conn.root.sleep(30.0)
"""


def test_killed_client_mid_call_is_released(conn, addr):
    baseline = settled_connection_count(conn)
    child = subprocess.Popen([sys.executable, "-c", KILLED_CLIENT, addr[0], str(addr[1])],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.3)  # let the sleep(30) request reach the server
        assert conn.root.connection_count() == baseline + 1
    finally:
        child.kill()
        child.wait()
    assert wait_for(lambda: conn.root.connection_count() == baseline, timeout=10.0), (
        f"connection_count stays at {conn.root.connection_count()}, expected {baseline}")
    assert_server_serves(addr)
