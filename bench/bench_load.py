"""Load with faults and a restart: many readers, Telegram misbehaving, the bot restarted midway.

    python -m bench.bench_load                      # 200 readers, 10,000 questions
    python -m bench.bench_load --users 20 --questions 300    # the short version CI runs

The bot is the real `newsbot run` in its own process, against the local Bot API emulator in
this one. Each reader asks, waits for the answer, asks again. Between 30% and 70% of the run
the emulator fails `sendMessage` and `getUpdates` at random (429 with retry_after, 500, 502,
dropped connections, responses slower than the bot's timeout); at 50% the bot is stopped with
SIGTERM and started again. At the end: every question got exactly one reply, and every turn
is in the log. Prints questions/s, reply latency p50/p99, and the bot's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tests.support.emulator.process import bot_env, kill_newsbot, start_newsbot, stop_newsbot
from tests.support.emulator.server import TOKEN, BotApiEmulator, Fault

ROOT = Path(__file__).resolve().parent.parent
FAULTS_FROM, RESTART_AT, FAULTS_UNTIL = 0.3, 0.5, 0.7
BOT_TIMEOUT_S = 2.0


def chaos_faults() -> dict[str, tuple[float, list[Fault]]]:
    """What goes wrong, and how often, while faults are on."""
    kinds = [
        Fault(status=429, description="Too Many Requests: retry after 1", retry_after=1),
        Fault(status=500, description="Internal Server Error"),
        Fault(status=502, description="Bad Gateway"),
        Fault(status=0, drop=True),
    ]
    slow = Fault(status=0, delay=BOT_TIMEOUT_S + 0.5)  # acted on, but after the bot gave up
    return {"sendMessage": (0.03, [*kinds, slow]), "getUpdates": (0.05, kinds)}


def load_questions() -> list[str]:
    lines = (ROOT / "bench" / "seed_qa.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set size (VmHWM), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


@dataclass
class Run:
    total: int
    done: int = 0
    latencies: list[float] = field(default_factory=list)
    asked: dict[int, list[int]] = field(default_factory=dict)  # chat -> question message ids


async def reader(emulator: BotApiEmulator, chat: int, questions: list[str], run: Run) -> None:
    for question in questions:
        reply = emulator.next_reply(chat)
        started = time.perf_counter()
        message = await emulator.send_text(question, chat_id=chat)
        run.asked.setdefault(chat, []).append(message["message_id"])
        await asyncio.wait_for(reply, 120)
        run.latencies.append((time.perf_counter() - started) * 1000)
        run.done += 1


async def start_bot(env: dict[str, str], cwd: Path, emulator: BotApiEmulator) -> Any:
    calls = len(emulator.calls)
    bot = await start_newsbot(env, cwd)
    # Ready once it has registered its commands (after getMe and opening the log).
    await emulator.wait_until(
        lambda: any(m == "setMyCommands" for m, _ in emulator.calls[calls:]), timeout=120
    )
    return bot


async def run_load(
    users: int, questions: int, articles: Path, faults: bool = True, restart: bool = True
) -> dict[str, Any]:
    """Run the load; return the figures, with "problems" listing what went wrong."""
    emulator = BotApiEmulator()
    await emulator.start()
    pool = load_questions()
    rng = random.Random(1)
    per_user = max(1, questions // users)
    work = {20_000 + u: [rng.choice(pool) for _ in range(per_user)] for u in range(users)}
    run = Run(total=per_user * users)
    problems: list[str] = []
    rss: list[float] = []
    exits: list[int] = []
    logs: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "log.sqlite3"
        env = bot_env(
            emulator.base_url,
            articles,
            db,
            NEWSBOT_CACHE_DIR=str(Path(tmp) / "cache"),
            NEWSBOT_RATE_LIMIT="0",
            NEWSBOT_TELEGRAM_TIMEOUT=str(BOT_TIMEOUT_S),
        )
        bot = await start_bot(env, Path(tmp), emulator)
        started = time.perf_counter()
        readers = asyncio.gather(*(reader(emulator, c, q, run) for c, q in work.items()))
        phase = "clean"
        restarted_after = 0.0
        try:
            while not readers.done():
                progress = run.done / run.total
                if faults and phase == "clean" and progress >= FAULTS_FROM:
                    emulator.chaos = chaos_faults()
                    phase = "faults"
                if restart and phase == "faults" and progress >= RESTART_AT:
                    rss.append(peak_rss_mb(bot.pid))
                    t0 = time.perf_counter()
                    logs.append(await stop_newsbot(bot, timeout=60))
                    exits.append(int(bot.returncode))
                    bot = await start_bot(env, Path(tmp), emulator)
                    restarted_after = time.perf_counter() - t0
                    phase = "restarted"
                if faults and phase in ("faults", "restarted") and progress >= FAULTS_UNTIL:
                    emulator.chaos = {}
                    phase = "clean-again"
                await asyncio.wait({readers}, timeout=0.05)
            await readers
            elapsed = time.perf_counter() - started
            emulator.chaos = {}
            await emulator.settle(1.5)  # any duplicate reply would show up now
            rss.append(peak_rss_mb(bot.pid))
            logs.append(await stop_newsbot(bot, timeout=60))
            exits.append(int(bot.returncode))
        finally:
            await kill_newsbot(bot)
            if not readers.done():
                readers.cancel()
        await emulator.stop()
        with sqlite3.connect(db) as conn:
            logged = {
                (c, m)
                for c, m in conn.execute("SELECT chat_id, telegram_message_id FROM messages")
            }
            replies = conn.execute("SELECT count(*) FROM replies").fetchone()[0]
            apologies = conn.execute(
                "SELECT count(*) FROM messages WHERE kind = 'error'"
            ).fetchone()[0]
    duplicates = sum(max(0, len(emulator.sent_to(c)) - len(q)) for c, q in work.items())
    unanswered = sum(max(0, len(q) - len(emulator.sent_to(c))) for c, q in work.items())
    asked = {(c, m) for c, ids in run.asked.items() for m in ids}
    if duplicates:
        problems.append(f"{duplicates} duplicate replies")
    if unanswered:
        problems.append(f"{unanswered} questions without a reply")
    if asked - logged:
        problems.append(f"{len(asked - logged)} turns missing from the log")
    if replies != run.total:
        problems.append(f"{replies} replies logged for {run.total} questions")
    if any(TOKEN in log for log in logs):
        problems.append("the bot token appeared in the bot's output")
    if any(exits):
        problems.append(f"bot exit codes {exits}: {logs[-1][-2000:]}")
    return {
        "users": users,
        "questions": run.total,
        "seconds": round(elapsed, 2),
        "questions_per_s": round(run.total / elapsed, 1),
        "p50_ms": round(float(np.percentile(run.latencies, 50)), 1),
        "p99_ms": round(float(np.percentile(run.latencies, 99)), 1),
        "peak_rss_mb": round(max(rss), 1),
        "faults_injected": dict(emulator.chaos_hits),
        "restart_s": round(restarted_after, 2),
        "apologies": apologies,
        "turns_logged": len(logged),
        "problems": problems,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--articles", type=Path, default=ROOT / "seeds")
    parser.add_argument("--no-faults", action="store_true")
    parser.add_argument("--no-restart", action="store_true")
    args = parser.parse_args()
    r = asyncio.run(
        run_load(
            args.users, args.questions, args.articles, not args.no_faults, not args.no_restart
        )
    )
    print(json.dumps(r))
    print(
        f"{r['users']} readers, {r['questions']} questions in {r['seconds']:.1f} s: "
        f"{r['questions_per_s']:.0f} questions/s, reply p50 {r['p50_ms']:.0f} ms, "
        f"p99 {r['p99_ms']:.0f} ms, bot peak RSS {r['peak_rss_mb']:.0f} MB; "
        f"faults injected {r['faults_injected']}, restart took {r['restart_s']:.1f} s, "
        f"{r['apologies']} apologies; {r['turns_logged']} turns logged"
    )
    if r["problems"]:
        raise SystemExit("FAILED: " + "; ".join(r["problems"]))
    print("OK: every question got exactly one reply, and every turn is in the log")


if __name__ == "__main__":
    main()
