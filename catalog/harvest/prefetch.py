"""A background thread that reads ahead, so a portal's next page downloads while this one is handled."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

PREFETCH_PAGES = 1
T = TypeVar("T")


def prefetched(items: Iterable[T], depth: int = PREFETCH_PAGES) -> Iterator[T]:
    """Iterate `items` on a background thread, `depth` items ahead, so I/O overlaps the caller's work.

    Errors raised by the producer are re-raised in the consumer; if the consumer stops early the
    producer is told to stop too.
    """
    buffer: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(message: tuple[str, Any]) -> bool:
        """Put unless the consumer has gone: a full queue must never strand this thread."""
        while not stop.is_set():
            try:
                buffer.put(message, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer(("item", item)):
                    return
            offer(("done", None))
        except BaseException as exc:
            offer(("error", exc))

    worker = threading.Thread(target=produce, name="prefetch", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = buffer.get()
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()
