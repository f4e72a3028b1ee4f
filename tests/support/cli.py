"""The `newsbot` command as a user runs it: a subprocess with a clean environment."""

from __future__ import annotations

import asyncio
import ctypes
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.paths import ROOT

CACHE = Path(tempfile.mkdtemp(prefix="newsbot-test-cache-"))
# The locale variables `newsbot chat` and `ask` read for their language (a test sets them).
LOCALE = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def newsbot(
    *args: str,
    stdin: str | None = None,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    memory_mb: int | None = None,
    obey_modes: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run `newsbot ARGS`; `memory_mb` caps its address space (a runaway fails fast);
    `obey_modes`: file modes bind it even as root (see `drop_mode_overrides`)."""
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NEWSBOT_", "TELEGRAM_")) and k not in LOCALE
    }
    environment["LANG"] = "C.UTF-8"  # the bot's English lines, whatever the machine's locale
    environment["NEWSBOT_CACHE_DIR"] = str(CACHE)
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "newsbot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        timeout=timeout,
        check=False,
        preexec_fn=lambda: limit_child(memory_mb, obey_modes),
    )


def limit_child(memory_mb: int | None, obey_modes: bool) -> None:
    if memory_mb is not None:
        cap_memory(memory_mb)
    if obey_modes:
        drop_mode_overrides()


# Root reads any file through these two capabilities; without them a chmod 000 folder
# refuses root too (prctl PR_CAPBSET_DROP = 24; the capabilities are lost at exec).
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, PR_CAPBSET_DROP = 1, 2, 24


def drop_mode_overrides() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0 and os.geteuid() == 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def cap_memory(megabytes: int) -> None:
    limit = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


async def newsbot_import(tmp_path: Path, *args: str, **settings: str) -> tuple[int, str, str]:
    """`python -m newsbot import ARGS` with a fresh data folder and `settings` added to the
    environment; (exit code, stdout, stderr)."""
    tmp_path.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (before the process starts)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "TELEGRAM_"))}
    env.update(
        NEWSBOT_IMPORT_STATE=str(tmp_path / "data" / "import-state.json"),
        NEWSBOT_CACHE_DIR=str(tmp_path / "data" / "cache"),
        NEWSBOT_FETCH_DELAY="0",
        NEWSBOT_FETCH_TIMEOUT="5",
        **settings,
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "newsbot",
        "import",
        *args,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
