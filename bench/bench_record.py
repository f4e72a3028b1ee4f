"""What recording a turn before sending its reply costs: the wait for its group commit.

    python -m bench.bench_record                 # SQLite, and PostgreSQL when installed
    python -m bench.bench_record --handlers 200 --seconds 5

`--handlers` tasks each record a turn and wait for it to be committed (`record_now`, as a
reply does before it is sent), over and over, on a real SQLite file (WAL) and a throwaway
PostgreSQL server (fsync on); the baseline, in the same run, is queuing the turn without
waiting (`record`, as before). Prints turns/s, the wait p50/p99 and turns per commit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bot.storage import ConversationLog
from tests.support.log import turn
from tests.support.servers import Postgres, ensure_installed


async def measure(
    target: str | Path, pending: Path, handlers: int, seconds: float
) -> dict[str, Any]:
    log = ConversationLog(target, pending)
    await log.open()
    waits: list[float] = []
    deadline = time.perf_counter() + seconds
    counter = iter(range(10**9))

    async def handler() -> None:
        while time.perf_counter() < deadline:
            n = next(counter)
            started = time.perf_counter()
            await log.record_now(replace(turn(n), update_id=n, delivered=False), 5.0)
            waits.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(handler() for _ in range(handlers)))
    elapsed = time.perf_counter() - started
    commits = log.commits
    queued_started = time.perf_counter()
    for n in range(len(waits)):  # the baseline: the same number of turns, only queued
        log.record(replace(turn(n), update_id=10**9 + n))
    queued_s = time.perf_counter() - queued_started
    assert await log.flush()
    await log.close()
    return {
        "database": "postgresql" if isinstance(target, str) else "sqlite",
        "turns_per_s": round(len(waits) / elapsed),
        "wait_p50_ms": round(float(np.percentile(waits, 50)), 2),
        "wait_p99_ms": round(float(np.percentile(waits, 99)), 2),
        "turns_per_commit": round(len(waits) / max(commits, 1), 1),
        "queue_only_us_per_turn": round(queued_s * 1e6 / len(waits), 2),
    }


async def run(handlers: int, seconds: float) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results.append(await measure(folder / "log.sqlite3", folder / "p1", handlers, seconds))
        if ensure_installed("postgresql") is None:
            server = Postgres(fsync=True)
            server.start()
            try:
                url = server.database()
                results.append(await measure(url, folder / "p2", handlers, seconds))
            finally:
                server.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--handlers", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    for r in asyncio.run(run(args.handlers, args.seconds)):
        print(json.dumps(r))
        print(
            f"{r['database']}: {args.handlers} replies at once, each waiting for its turn's "
            f"commit: {r['turns_per_s']} turns/s, wait p50 {r['wait_p50_ms']} ms, p99 "
            f"{r['wait_p99_ms']} ms, {r['turns_per_commit']} turns per commit "
            f"(queueing alone: {r['queue_only_us_per_turn']} µs a turn)"
        )


if __name__ == "__main__":
    main()
