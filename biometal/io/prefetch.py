"""Run an iterator on a background thread, a bounded number of items ahead of its consumer.

The FASTQ reader (:mod:`biometal.io.fastx`) overlaps decompression with parsing this way.
It pays off when the producer's work releases the GIL (ISA-L/zlib inflate, numba ``nogil``
kernels).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_END = object()


class _Failure:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def prefetch(
    items: Iterable[T],
    depth: int = 2,
    *,
    name: str = "biometal-prefetch",
    on_exit: Callable[[], None] | None = None,
) -> Iterator[T]:
    """Yield the items of ``items``, produced by a daemon thread at most ``depth`` ahead.

    An exception in the producer is re-raised here, in the consumer, after the items
    before it. When the consumer stops early (``break``, an exception, garbage
    collection), the producer stops at its next item. The producer thread closes ``items``
    (when it is a generator) and calls ``on_exit`` when it ends, whatever the reason.
    Memory is bounded by ``depth`` + 2 items.
    """
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    box: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        it = iter(items)
        try:
            for item in it:
                if not put(item):
                    return
            put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            put(_Failure(exc))
        finally:
            close = getattr(it, "close", None)
            try:
                if close is not None:
                    close()
            finally:
                if on_exit is not None:
                    on_exit()

    threading.Thread(target=work, name=name, daemon=True).start()
    try:
        while True:
            # wake up now and then: a Ctrl-C that the OS delivered to another thread (numba's
            # workers, this producer) is handled only when the main thread runs bytecode
            try:
                item = box.get(timeout=0.2)
            except queue.Empty:
                continue
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stop.set()
