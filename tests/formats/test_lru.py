"""The one LRU cache of the server (tilesets/formats/lru.py)."""

import itertools
import threading

import numpy as np
import pytest

from tests.builders.helpers import in_threads
from tilesets.formats.lru import LRU


def test_count_bound_evicts_the_least_recently_used():
    cache = LRU(max_items=3)
    for key in "abc":
        cache.put(key, key.upper())
    assert cache.get("a") == "A"  # now the most recent
    cache.put("d", "D")
    assert list(cache._items) == ["c", "a", "d"] and len(cache) == 3
    assert cache.get("b") is None and cache.get("b", "absent") == "absent"


def test_byte_bound_counts_size_of_each_value():
    cache = LRU(max_bytes=1000, size_of=lambda a: a.nbytes)
    for key in range(5):
        cache.get_or_load(key, lambda: np.zeros(50))  # 400 bytes each
    assert list(cache._items) == [3, 4] and cache.bytes == 800
    assert cache.get_or_load(3, lambda: pytest.fail("reloaded")) is cache._items[3]


def test_replacing_a_value_recounts_its_size():
    cache = LRU(max_bytes=100, size_of=len)
    cache.put("k", "x" * 60)
    cache.put("k", "y" * 30)
    assert cache.bytes == 30 and cache.get("k") == "y" * 30
    cache.put("j", "z" * 70)
    assert cache.bytes == 100 and len(cache) == 2


def test_a_value_larger_than_the_bound_is_not_kept():
    cache = LRU(max_bytes=100, size_of=len)
    cache.put("small", "s" * 10)
    big = "b" * 101
    assert cache.put("big", big) is big  # handed back, not stored ...
    assert cache.get("big") is None and cache.get("small") == "s" * 10  # ... and nothing evicted for it
    assert cache.get_or_load("big", lambda: big) is big and len(cache) == 1 and cache.bytes == 10


def test_both_bounds_at_once():
    cache = LRU(max_items=2, max_bytes=100, size_of=len)
    cache.put("a", "a" * 10)
    cache.put("b", "b" * 10)
    cache.put("c", "c" * 10)
    assert list(cache._items) == ["b", "c"] and cache.bytes == 20
    cache.put("d", "d" * 95)
    assert list(cache._items) == ["d"] and cache.bytes == 95


def test_a_byte_bound_needs_size_of():
    with pytest.raises(ValueError):
        LRU(max_bytes=10)


def test_setdefault_keeps_the_first_value():
    cache = LRU(max_items=4)
    first, second = object(), object()
    assert cache.setdefault("k", first) is first
    assert cache.setdefault("k", second) is first


def test_get_or_load_loads_once_per_key():
    cache = LRU(max_items=4)
    calls = []
    for _ in range(3):
        assert cache.get_or_load("k", lambda: calls.append(1) or "v") == "v"
    assert calls == [1]


def test_discard_where_and_clear():
    cache = LRU(max_bytes=1000, size_of=len)
    for key in ("a1", "a2", "b1"):
        cache.put(key, key * 10)
    removed = cache.discard_where(lambda key: key.startswith("a"))
    assert sorted(removed) == ["a1" * 10, "a2" * 10]
    assert list(cache._items) == ["b1"] and cache.bytes == 20
    cache.clear()
    assert len(cache) == 0 and cache.bytes == 0 and cache.get("b1") is None


def test_thread_safety_keeps_the_bounds_and_the_byte_count():
    cache = LRU(max_items=50, max_bytes=4000, size_of=len)
    start = threading.Barrier(8)
    workers = itertools.count()

    def work():
        worker = next(workers)
        start.wait()
        for n in range(2000):
            key = (worker * 7 + n) % 97
            value = cache.get_or_load(key, lambda: "x" * (key % 80 + 1))
            assert value == "x" * (key % 80 + 1)
            if n % 50 == 0:
                cache.discard_where(lambda k: k % 13 == worker)
        return True

    assert in_threads(work, 8) == [True] * 8
    assert len(cache) <= 50 and cache.bytes <= 4000
    assert cache.bytes == sum(len(value) for value in cache._items.values())
    assert set(cache._sizes) == set(cache._items)
