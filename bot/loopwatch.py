"""How long the event loop is blocked: a timer that notes how late it wakes up."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass

INTERVAL_S = 0.02
KEEP = 50_000


@dataclass(frozen=True, slots=True)
class LoopLag:
    ticks: int
    p99_ms: float
    max_ms: float

    def __str__(self) -> str:
        return f"{self.ticks} ticks, lag p99 {self.p99_ms:.1f} ms, max {self.max_ms:.1f} ms"


class LoopWatch:
    """Wakes every INTERVAL_S; any extra delay is time the loop could not run callbacks."""

    def __init__(self, interval: float = INTERVAL_S) -> None:
        self.interval = interval
        self._lags: deque[float] = deque(maxlen=KEEP)
        self._ticks = 0
        self._max = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="loop-watch")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            planned = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            lag = max(0.0, loop.time() - planned)
            self._lags.append(lag)
            self._ticks += 1
            self._max = max(self._max, lag)

    def summary(self) -> LoopLag:
        lags = sorted(self._lags)
        p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))] if lags else 0.0
        return LoopLag(self._ticks, p99 * 1000, self._max * 1000)

    async def stop(self) -> LoopLag:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        return self.summary()
