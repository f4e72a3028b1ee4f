"""Waiting on a condition, never a fixed sleep."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx


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


async def healthy(port: int, timeout: float = 120) -> dict[str, Any]:
    """Wait until the instance's /healthz answers 200; its JSON body."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                got = await client.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                if got.status_code == 200:
                    return dict(got.json())
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"instance on port {port} never became healthy")
