"""Waiting on a condition, never a fixed sleep."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable


async def until(
    predicate: Callable[[], bool | Awaitable[bool]], timeout: float = 20.0, every: float = 0.02
) -> None:
    """Wait until `predicate()` holds (it may be a coroutine function), checking every
    `every` seconds; fail after `timeout` seconds, naming the predicate."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        held = predicate()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        assert loop.time() < deadline, f"timed out after {timeout} s waiting for {predicate}"
        await asyncio.sleep(every)
