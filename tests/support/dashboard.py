"""`newsbot dashboard` as an editor starts it: a subprocess on a free port of 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.paths import ROOT
from tests.support.servers import free_port

PASSWORD = "a dashboard secret, for tests"
USER = "newsroom"


@dataclass
class Dashboard:
    port: int
    process: subprocess.Popen[str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, auth: tuple[str, str] | None = (USER, PASSWORD)) -> httpx.Response:
        return httpx.get(self.url + path, auth=auth, timeout=30)


def environment(db: Path | None = None, **extra: str) -> dict[str, str]:
    """A clean environment for `newsbot` with the dashboard's password."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "TELEGRAM_"))}
    env.update(NEWSBOT_DASHBOARD_PASSWORD=PASSWORD, NEWSBOT_ARTICLES_DIR=str(ROOT / "seeds"))
    if db is not None:
        env["NEWSBOT_DB"] = str(db)
    env.update(extra)
    return env


@contextmanager
def dashboard(db: Path, *args: str, **env: str) -> Iterator[Dashboard]:
    """`newsbot dashboard` serving `db` until the block ends; waits until it listens."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "newsbot", "dashboard", "--port", str(port), *args],
        cwd=ROOT,
        env=environment(db, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.communicate()[1]
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "the dashboard did not start listening"
            time.sleep(0.05)
        yield Dashboard(port, process)
    finally:
        process.terminate()
        try:
            process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
