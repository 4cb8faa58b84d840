"""biometal.io.prefetch: order, errors in the consumer, early stop, bounded read-ahead."""

from __future__ import annotations

import threading
import time

import pytest

from biometal.io.prefetch import prefetch


def test_items_in_order_then_end():
    assert list(prefetch(range(1000), depth=3)) == list(range(1000))
    assert list(prefetch([], depth=1)) == []


def test_producer_error_reaches_the_consumer_after_earlier_items():
    def gen():
        yield 1
        yield 2
        raise ValueError("bad record 3")

    got = []
    with pytest.raises(ValueError, match="bad record 3"):
        for x in prefetch(gen(), depth=4):
            got.append(x)
    assert got == [1, 2]


def test_early_stop_closes_the_source_and_calls_on_exit():
    closed = threading.Event()
    exited = threading.Event()
    produced = []

    def gen():
        try:
            for i in range(10**9):
                produced.append(i)
                yield i
        finally:
            closed.set()

    it = prefetch(gen(), depth=2, on_exit=exited.set)
    assert next(it) == 0
    it.close()  # the consumer stops
    assert closed.wait(5) and exited.wait(5)
    # read-ahead is bounded: the producer never ran far past the consumer
    assert len(produced) <= 2 + 3


def test_read_ahead_is_bounded_while_the_consumer_is_slow():
    produced = []

    def gen():
        for i in range(100):
            produced.append(i)
            yield i

    it = prefetch(gen(), depth=3)
    assert next(it) == 0
    time.sleep(0.3)
    assert len(produced) <= 1 + 3 + 1  # taken + queued + one waiting to be queued
    assert list(it) == list(range(1, 100))


def test_depth_must_be_positive():
    with pytest.raises(ValueError, match="depth"):
        next(prefetch([1], depth=0))
