#!/usr/bin/env python3
"""brine oracle: Python rpyc 6's own brine codec, driven over stdin/stdout.

A Rust differential test uses this script to compare rpyc-rs's brine codec with
the real one, value by value.

Usage
-----

    brine_oracle.py gen N SEED
        Print N lines; each is the hex of ``brine.dump(v)`` for a random brine
        value ``v``. The output is a deterministic function of N and SEED (the
        script pins PYTHONHASHSEED and keeps address-hashed values such as NaN
        and None out of multi-member frozensets, so even frozenset member order
        is reproducible).
        Every brine type is covered: None, True/False, ints (immediates and
        their boundaries, 64-bit boundaries, big ints including ones long enough
        for TAG_INT_L4), floats (nan, inf, -inf, -0.0, random bit patterns),
        complex, str (ASCII, Latin-1, BMP, astral; every length class), bytes
        (every length class), nested tuples (every length class), frozensets,
        slices, Ellipsis and NotImplemented. N=3000 prints well under 5 MB.

    brine_oracle.py check
        Read hex lines from stdin until EOF. For each line print exactly one
        line: ``brine.dump(brine.load(bytes.fromhex(line))).hex()``, or
        ``ERR <message>`` if decoding the hex, loading or dumping raises.
        Lines are answered in order, one output line per input line, and stdout
        is flushed whenever the input queue runs dry, so a caller may either
        stream lines interactively or write everything first and read after.

Notes for the comparing side
----------------------------

* Python's brine does not detect truncated input and ignores trailing bytes
  after the top-level value; ``check`` reflects that faithfully.
* A frozenset is re-dumped in Python's iteration order, which may differ from
  the member order of the input; compare frozensets order-insensitively.
* Ints longer than 4300 decimal digits are refused by Python (``ERR``).
"""
import os
import queue
import random
import struct
import sys
import threading

from rpyc.core import brine

# ---------------------------------------------------------------------------
# Determinism: the member order of a frozenset of str/bytes depends on the
# string hash seed. Re-exec once with a fixed seed so `gen` is reproducible.
# ---------------------------------------------------------------------------
if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)


# Immediate ints are -48..159; these are the edges of every int encoding class.
INT_EDGES = [
    -49, -48, -47, -1, 0, 1, 158, 159, 160, 161, 255, 256, -255, -256,
    2**31 - 1, 2**31, -2**31, -2**31 - 1, 2**32 - 1, 2**32,
    2**63 - 1, 2**63, 2**63 + 1, -2**63, -2**63 + 1, -2**63 - 1,
    2**64 - 1, 2**64, -2**64, 2**127 - 1, 2**128, -2**127,
    10**254, 10**255, -(10**253), -(10**254),   # 255/256 chars: TAG_INT_L1 vs TAG_INT_L4
]

FLOAT_SPECIALS = [
    float("nan"), float("inf"), float("-inf"), -0.0, 0.0, 1.0, -1.0, 0.5,
    5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
    -1.7976931348623157e308, 1e-300, 3.141592653589793,
]

# Length-class edges shared by bytes, UTF-8 strings and tuples:
# 0 | 1..4 (STR1..4 / TUP1..4) | 5..255 (L1) | 256+ (L4).
LENGTH_EDGES = [0, 1, 2, 3, 4, 5, 6, 254, 255, 256, 257]


class Generator:
    """Deterministic random brine values."""

    MAX_DEPTH = 4

    def __init__(self, seed):
        self.rng = random.Random(seed)

    # -- scalars ----------------------------------------------------------

    def length(self):
        """A length that hits every encoding class, with edges favoured."""
        rng = self.rng
        r = rng.random()
        if r < 0.25:
            return rng.choice(LENGTH_EDGES)
        if r < 0.50:
            return rng.randint(0, 4)
        if r < 0.75:
            return rng.randint(5, 32)
        if r < 0.95:
            return rng.randint(33, 255)
        if r < 0.99:
            return rng.randint(256, 1000)
        return rng.randint(1001, 4000)

    def int_(self):
        rng = self.rng
        r = rng.random()
        if r < 0.30:
            return rng.randint(-48, 159)
        if r < 0.50:
            return rng.choice(INT_EDGES)
        if r < 0.70:
            return rng.randint(-2**64, 2**64)
        if r < 0.90:
            # Big ints of up to ~300 digits.
            digits = rng.randint(20, 300)
            v = rng.randint(10 ** (digits - 1), 10 ** digits - 1)
            return -v if rng.random() < 0.5 else v
        # 256+ characters of decimal text: TAG_INT_L4.
        digits = rng.randint(256, 400)
        v = rng.randint(10 ** (digits - 1), 10 ** digits - 1)
        return -v if rng.random() < 0.5 else v

    def float_(self, hashable=False):
        rng = self.rng
        while True:
            r = rng.random()
            if r < 0.35:
                v = rng.choice(FLOAT_SPECIALS)
            elif r < 0.70:
                v = rng.uniform(-1e6, 1e6)
            else:
                # Any bit pattern: NaNs with payloads, subnormals, huge exponents.
                v = struct.unpack("!d", rng.getrandbits(64).to_bytes(8, "big"))[0]
            # hash(nan) depends on the object's address (Python >= 3.10), which
            # would make frozenset member order, hence `gen`, nondeterministic.
            if not (hashable and v != v):
                return v

    def complex_(self, hashable=False):
        return complex(self.float_(hashable), self.float_(hashable))

    def bytes_(self):
        n = self.length()
        return self.rng.randbytes(n)

    def char(self, pool):
        rng = self.rng
        if pool == "ascii":
            return chr(rng.randint(0, 127))
        if pool == "latin1":
            return chr(rng.randint(0x80, 0xFF))
        if pool == "bmp":
            while True:
                c = rng.randint(0x100, 0xFFFF)
                if not 0xD800 <= c <= 0xDFFF:    # lone surrogates cannot be UTF-8 encoded
                    return chr(c)
        return chr(rng.randint(0x10000, 0x10FFFF))  # astral (4 UTF-8 bytes)

    def str_(self):
        rng = self.rng
        r = rng.random()
        if r < 0.35:
            # ASCII: the UTF-8 length equals the char count, so this hits
            # every length class (and its edges) exactly.
            return "".join(self.char("ascii") for _ in range(self.length()))
        # Mixed scripts; the UTF-8 length is 1..4 bytes per char.
        pools = rng.choice([["latin1"], ["bmp"], ["astral"],
                            ["ascii", "latin1", "bmp", "astral"]])
        n = self.length() // 2
        return "".join(self.char(rng.choice(pools)) for _ in range(n))

    def singleton(self, hashable=False):
        if hashable:
            # On Python 3.11 hash(None), hash(Ellipsis) and hash(NotImplemented)
            # are address-based (ASLR), which would make frozenset member order
            # nondeterministic; frozenset_() adds them as sole members instead.
            return self.rng.choice([True, False])
        return self.rng.choice([None, True, False, Ellipsis, NotImplemented])

    def small_scalar(self, hashable):
        """A cheap scalar, used to fill wide tuples without bloating the output."""
        rng = self.rng
        kind = rng.randrange(6)
        if kind == 0:
            return self.singleton(hashable)
        if kind == 1:
            return rng.randint(-48, 159)
        if kind == 2:
            return rng.choice(INT_EDGES[:-4])
        if kind == 3:
            return self.float_(hashable)
        if kind == 4:
            return "".join(self.char("ascii") for _ in range(rng.randint(0, 6)))
        return rng.randbytes(rng.randint(0, 6))

    # -- composites -------------------------------------------------------

    def tuple_(self, depth, hashable=False):
        rng = self.rng
        r = rng.random()
        if r < 0.55:
            n = rng.randint(0, 4)
        elif r < 0.95:
            n = rng.randint(5, 12) if rng.random() < 0.8 else rng.randint(13, 255)
        else:
            n = rng.randint(256, 300)
        if n > 12:
            # Wide tuples only get cheap scalar members, to keep the output small.
            return tuple(self.small_scalar(hashable) for _ in range(n))
        return tuple(self.value(depth + 1, hashable) for _ in range(n))

    def frozenset_(self, depth, hashable=False):
        n = self.rng.choice([0, 1, 2, 3, 4, 5, 8, 20])
        if n == 1 and not hashable and self.rng.random() < 0.3:
            # A sole member has only one possible order: safe for any hashable
            # (but the set's own hash would then be address-based, so not when
            # it is itself a member of a set).
            return frozenset([self.rng.choice([None, Ellipsis, NotImplemented])])
        return frozenset(self.value(depth + 1, hashable=True) for _ in range(n))

    def slice_(self, depth):
        def part():
            r = self.rng.random()
            if r < 0.3:
                return None
            if r < 0.8:
                return self.int_()
            return self.value(depth + 1)
        return slice(part(), part(), part())

    def value(self, depth=0, hashable=False):
        """One random value. `hashable` excludes slices (unhashable on 3.11)
        so the value can be a frozenset member."""
        kinds = [
            ("singleton", 6), ("int", 22), ("float", 10), ("complex", 4),
            ("str", 14), ("bytes", 12),
        ]
        if depth < self.MAX_DEPTH:
            kinds += [("tuple", 18), ("frozenset", 5)]
            if not hashable:
                kinds += [("slice", 4)]
        names = [k for k, _ in kinds]
        weights = [w for _, w in kinds]
        kind = self.rng.choices(names, weights)[0]
        if kind == "singleton":
            return self.singleton(hashable)
        if kind == "int":
            return self.int_()
        if kind == "float":
            return self.float_(hashable)
        if kind == "complex":
            return self.complex_(hashable)
        if kind == "str":
            return self.str_()
        if kind == "bytes":
            return self.bytes_()
        if kind == "tuple":
            return self.tuple_(depth, hashable)
        if kind == "frozenset":
            return self.frozenset_(depth, hashable)
        return self.slice_(depth)


def cmd_gen(n, seed):
    gen = Generator(seed)
    out = sys.stdout
    for _ in range(n):
        out.write(brine.dump(gen.value()).hex())
        out.write("\n")
    out.flush()


def answer(line):
    """The oracle's verdict for one hex line."""
    try:
        value = brine.load(bytes.fromhex(line.strip()))
        return brine.dump(value).hex()
    except Exception as exc:  # any failure becomes an ERR line
        msg = f"{type(exc).__name__}: {exc}".replace("\n", " ").replace("\r", " ")
        return f"ERR {msg}"


def cmd_check():
    # A reader thread drains stdin into a queue so that a caller writing all of
    # its input before reading our output can never deadlock on full pipes.
    lines = queue.Queue()

    def reader():
        for line in sys.stdin:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=reader, daemon=True).start()
    out = sys.stdout
    while True:
        line = lines.get()
        if line is None:
            break
        out.write(answer(line))
        out.write("\n")
        if lines.empty():
            out.flush()
    out.flush()


def main(argv):
    if len(argv) == 4 and argv[1] == "gen":
        cmd_gen(int(argv[2]), int(argv[3]))
        return 0
    if len(argv) == 2 and argv[1] == "check":
        cmd_check()
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
