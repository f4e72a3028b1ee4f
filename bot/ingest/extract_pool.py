"""Page extraction in a worker process with a time limit: a page that takes too long is
given up and its worker killed (a thread could not be stopped, nor could a pool's task).

trafilatura on a 7.7 MB page took 23 s, holding an import and, in the bot, its shutdown.
One extraction runs at a time, so the limit measures that page alone and killing the worker
loses nothing else; a new worker starts for the next page.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import multiprocessing.pool
from collections.abc import Callable
from typing import Any, TypeVar

from bot.ingest.extract import ExtractError

T = TypeVar("T")
EXTRACT_TIMEOUT_S = 30.0


def _warm() -> bool:
    """Import the extractor once in a new worker, before the clock of a page starts."""
    import trafilatura  # noqa: F401

    return True


class ExtractorPool:
    """Runs extraction calls in one worker process, each within `timeout` seconds."""

    def __init__(self, timeout: float = EXTRACT_TIMEOUT_S) -> None:
        self.timeout = timeout
        self._pool: multiprocessing.pool.Pool | None = None
        self._one = asyncio.Lock()

    async def run(self, call: Callable[..., T], *args: Any) -> T:
        """`call(*args)` in the worker; raises ExtractError when it takes too long."""
        async with self._one:
            if self._pool is None:
                self._pool = multiprocessing.get_context("spawn").Pool(1)
                await self._wait(self._pool, _warm, (), None)
            try:
                return await self._wait(self._pool, call, args, self.timeout)
            except TimeoutError:
                self.close()
                raise ExtractError(
                    f"extraction took over {self.timeout:g} s (page too complex)"
                ) from None
            except BaseException:  # cancelled (shutting down): the worker must not linger
                self.close()
                raise

    @staticmethod
    async def _wait(
        pool: multiprocessing.pool.Pool,
        call: Callable[..., T],
        args: tuple[Any, ...],
        limit_s: float | None,
    ) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def settle(value: Any, failed: bool) -> None:
            if future.done():
                return
            if failed:
                future.set_exception(value)
            else:
                future.set_result(value)

        def back(value: Any, failed: bool) -> None:  # in the pool's result thread
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(settle, value, failed)

        pool.apply_async(
            call,
            args,
            callback=lambda v: back(v, False),
            error_callback=lambda e: back(e, True),
        )
        async with asyncio.timeout(limit_s):
            return await future

    def close(self) -> None:
        """Kill the worker now (a page being extracted is dropped)."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None
