"""A plain Python rpyc 6 client passes its containers to our `test` service,
and uses our by-reference maps and iterators like Python's own.

* Lists, sets, dicts, ranges and generators travel by reference (RPyC sends
  only brine's immutable types by value). `total(xs)` and `sum_values(d)` take
  Rust `Vec`/mapping parameters: the server fetches the content in bulk. The
  client's own request handlers are counted to show how: one `__iter__`, then
  BUFFITER batches of 1024 (a fixed number, never one request per item), and
  for a dict one `__getitem__` per key.
* `make_map()` returns a map by reference whose `keys()`, `values()` and
  `items()` are live dict views, and whose iterators are iterators (their
  `__iter__` returns themselves).

Nothing is skipped; the server comes from the session fixture in conftest.py.
"""
import collections
import collections.abc
from contextlib import contextmanager

import pytest
import rpyc
from rpyc.core import consts


@pytest.fixture
def conn(rpyc_test_server):
    rpyc_test_server.assert_alive()
    c = rpyc.connect(*rpyc_test_server.address)
    yield c
    c.close()
    rpyc_test_server.assert_alive()


@contextmanager
def counting(conn):
    """Counts the requests the server sends to this client, by handler name,
    and the largest BUFFITER batch it asked for."""
    counts = collections.Counter()
    asked = []
    names = {v: k for k, v in vars(consts).items() if k.startswith("HANDLE_")}
    saved = dict(conn._HANDLERS)

    def wrap(handler, fn):
        def counted(*args):
            counts[names[handler]] += 1
            if handler == consts.HANDLE_BUFFITER:
                asked.append(args[-1])
            if handler == consts.HANDLE_CALLATTR:
                counts["CALLATTR " + str(args[2])] += 1
            return fn(*args)
        return counted

    for h, fn in saved.items():
        conn._HANDLERS[h] = wrap(h, fn)
    try:
        yield counts, asked
    finally:
        conn._HANDLERS.clear()
        conn._HANDLERS.update(saved)


# ---------------------------------------------------------------------------
# §2: containers as arguments
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: [1, 2, 3, 4],
    lambda: (1, 2, 3, 4),
    lambda: {1, 2, 3, 4},
    lambda: frozenset({1, 2, 3, 4}),
    lambda: {1: "a", 2: "b", 3: "c", 4: "d"},
    lambda: range(1, 5),
    lambda: (x for x in [1, 2, 3, 4]),
    lambda: collections.deque([1, 2, 3, 4]),
    lambda: iter([1, 2, 3, 4]),
], ids=["list", "tuple", "set", "frozenset", "dict-keys", "range", "generator",
        "deque", "iterator"])
def test_total_accepts_every_iterable(conn, make):
    assert conn.root.total(make()) == 10


def test_total_of_empty_and_big_ints(conn):
    assert conn.root.total([]) == 0
    assert conn.root.total([2**70, 1]) == 2**70 + 1


def test_total_names_the_bad_index(conn):
    with pytest.raises(TypeError, match=r"argument 'xs': item 2: expected int, got str"):
        conn.root.total([1, 2, "three"])


def test_total_by_keyword(conn):
    assert conn.root.total(xs=[5, 6]) == 11


@pytest.mark.parametrize("n", [0, 1, 1023, 1024, 1025, 5000])
def test_list_is_fetched_in_batches(conn, n):
    with counting(conn) as (counts, asked):
        assert conn.root.total(list(range(n))) == n * (n - 1) // 2
    # One __iter__, then batches of 1024 until a short one: never one per item.
    assert counts["CALLATTR __iter__"] == 1
    assert counts["HANDLE_BUFFITER"] == n // 1024 + 1
    assert set(asked) == {1024}
    assert counts["CALLATTR __getitem__"] == 0


def test_dict_is_fetched_as_keys_then_values(conn):
    d = {f"k{i}": i for i in range(3000)}
    with counting(conn) as (counts, _):
        assert conn.root.sum_values(d) == sum(range(3000))
    assert counts["CALLATTR __iter__"] == 1
    assert counts["HANDLE_BUFFITER"] == 3
    assert counts["CALLATTR __getitem__"] == 3000


def test_sum_values_of_dicts(conn):
    assert conn.root.sum_values({"a": 1, "b": 2}) == 3
    assert conn.root.sum_values({}) == 0
    assert conn.root.sum_values(collections.OrderedDict(x=4, y=5)) == 9
    assert conn.root.sum_values(collections.defaultdict(int, {1: 7})) == 7


def test_sum_values_names_the_bad_key(conn):
    with pytest.raises(TypeError, match=r"argument 'd': value of key 'b': expected int, got str"):
        conn.root.sum_values({"a": 1, "b": "two"})


class ReadOnlyMap(collections.abc.Mapping):
    """A mapping of the client's own (not a dict): iteration and [] only."""

    def __init__(self, data):
        self._data = dict(data)

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return len(self._data)


def test_sum_values_of_a_mapping_of_the_clients_own(conn):
    assert conn.root.sum_values(ReadOnlyMap({"x": 10, "y": 20})) == 30


def test_sum_values_of_the_servers_own_map(conn):
    m = conn.root.make_map()
    assert conn.root.sum_values(m) == 3
    m["c"] = 10
    assert conn.root.sum_values(m) == 13


def test_the_servers_own_map_values_and_items_as_arguments(conn):
    m = conn.root.make_map()
    assert conn.root.total(m.values()) == 3
    with pytest.raises(TypeError, match=r"item 0: expected int, got str"):
        conn.root.total(m)  # iterating a map gives its keys


def test_not_a_container(conn):
    with pytest.raises(TypeError):
        conn.root.total(conn.root.make_counter())
    with pytest.raises(TypeError):
        conn.root.total(5)


def test_fetched_references_are_released(conn):
    before = conn.root.object_count()
    for _ in range(20):
        conn.root.total([1, 2, 3])
        conn.root.sum_values({"a": 1})
    assert conn.root.object_count() == before


# ---------------------------------------------------------------------------
# §3: iterators and dict views of our maps
# ---------------------------------------------------------------------------

def test_iterator_iter_returns_itself(conn):
    m = conn.root.make_map()
    it = iter(m)
    assert iter(it) == it
    assert next(it) == "a"
    assert list(it) == ["b"]
    with pytest.raises(StopIteration):
        next(it)


def test_iteration_of_the_map(conn):
    m = conn.root.make_map()
    assert list(m) == ["a", "b"]
    assert sorted(m) == ["a", "b"]
    assert [k for k in m] == ["a", "b"]


def test_views_work_like_dict_views(conn):
    m = conn.root.make_map()
    assert sorted(m.keys()) == ["a", "b"]
    assert list(m.values()) == [1, 2]
    assert list(m.items()) == [("a", 1), ("b", 2)]
    assert dict(m) == {"a": 1, "b": 2}
    assert dict(m.items()) == {"a": 1, "b": 2}
    assert {k: v for k, v in m.items()} == {"a": 1, "b": 2}
    pairs = []
    for k, v in m.items():
        pairs.append((k, v))
    assert pairs == [("a", 1), ("b", 2)]


def test_views_are_iterable_more_than_once_and_have_len_and_in(conn):
    m = conn.root.make_map()
    keys, values, items = m.keys(), m.values(), m.items()
    for _ in range(2):
        assert list(keys) == ["a", "b"]
        assert list(values) == [1, 2]
        assert list(items) == [("a", 1), ("b", 2)]
    assert len(keys) == len(values) == len(items) == 2
    assert "a" in keys and "z" not in keys
    assert 2 in values and 3 not in values
    assert ("a", 1) in items and ("a", 2) not in items and ("z", 1) not in items


def test_views_are_live(conn):
    m = conn.root.make_map()
    keys, items = m.keys(), m.items()
    m["c"] = 3
    assert "c" in keys
    assert len(keys) == 3
    assert ("c", 3) in items
    del m["a"]
    assert list(keys) == ["b", "c"]


# ---------------------------------------------------------------------------
# §4: numbers(n), a lazy iterator served by reference
# ---------------------------------------------------------------------------

def test_numbers_with_for_buffiter_and_islice(conn):
    import itertools
    seen = []
    for x in conn.root.numbers(10**6):
        seen.append(x)
        if len(seen) == 100:
            break
    assert seen == list(range(100))
    assert sum(rpyc.buffiter(conn.root.numbers(10**5))) == sum(range(10**5))
    assert list(itertools.islice(conn.root.numbers(10**9), 3, 6)) == [3, 4, 5]


def test_numbers_is_an_iterator_read_once(conn):
    it = conn.root.numbers(3)
    assert iter(it) == it
    assert list(it) == [0, 1, 2]
    assert list(it) == []
    with pytest.raises(StopIteration):
        next(it)


@pytest.mark.parametrize("bad,exc", [(-1, ValueError), (10**9 + 1, ValueError),
                                     (2**80, ValueError), ("3", TypeError)])
def test_numbers_out_of_range(conn, bad, exc):
    with pytest.raises(exc):
        conn.root.numbers(bad)


def test_numbers_buffiter_takes_the_count_asked(conn):
    it = conn.root.numbers(10**9)
    assert conn.sync_request(consts.HANDLE_BUFFITER, it, 7) == tuple(range(7))
    assert next(it) == 7
    baseline = conn.root.object_count()
    del it
    assert conn.root.object_count() == baseline - 1
