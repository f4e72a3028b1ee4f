"""Starting the real `newsbot run` command as a process pointed at the emulator."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.support.emulator.server import TOKEN


def bot_env(base_url: str, articles: Path, db: Path, **extra: str) -> dict[str, str]:
    """This environment minus any NEWSBOT_/TELEGRAM_ settings, plus the emulator's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "TELEGRAM_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_BASE_URL=base_url,
        NEWSBOT_ARTICLES_DIR=str(articles),
        NEWSBOT_DB=str(db),
    )
    env.update(extra)
    return env


async def start_newsbot(env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    """`python -m newsbot run` with stdout and stderr captured."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "newsbot",
        "run",
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def stop_newsbot(
    process: asyncio.subprocess.Process, sig: int = signal.SIGTERM, timeout: float = 30
) -> str:
    """Send `sig` (SIGTERM: a graceful stop) and wait for the exit; stdout and stderr."""
    process.send_signal(sig)
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    return (stdout + stderr).decode()


async def kill_newsbot(process: asyncio.subprocess.Process) -> None:
    """Kill the process if it still runs: a test or bench that failed before stopping it
    never leaves a bot behind."""
    if process.returncode is None:
        process.kill()
        await process.wait()
