"""Long-lived objects kept out of the cyclic garbage collector's way.

A collection is millions of long-lived objects, and the search caches add more as readers ask;
a full collection pass over them holds the GIL and stalls every thread, the event loop with
them, for tens to hundreds of milliseconds (README: Benchmarks). Frozen objects are never
walked again; reference counting still frees them, which is why the indexes, collections and
caches hold no reference cycle (tests/test_incremental.py checks that a replaced index is
freed at once). Only cyclic garbage alive at a freeze would be kept, so each freeze first
collects what it can.
"""

from __future__ import annotations

import gc
import threading


def settle_memory() -> None:
    """After a start or a reload: collect everything, then freeze what is left (bench_loop at
    100k passages: event-loop lag max 24-27 ms without, 3-5 ms with)."""
    gc.collect()
    gc.freeze()


def settle_young() -> None:
    """While serving, for objects built since the last freeze (built articles, cached
    sentences): collect the young generations only (cheap), then freeze."""
    gc.collect(1)
    gc.freeze()


class Settler:
    """Counts objects kept while serving (thread-safe) and settles them every `every`."""

    def __init__(self, every: int) -> None:
        self.every = every
        self._unsettled = 0
        self._lock = threading.Lock()

    def kept(self) -> None:
        with self._lock:
            self._unsettled += 1
            due = self._unsettled >= self.every
            if due:
                self._unsettled = 0
        if due:
            settle_young()
