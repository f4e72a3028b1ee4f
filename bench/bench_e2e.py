"""End-to-end benchmark: `newsbot run` against the local Bot API emulator with simulated readers.

    python -m bench.bench_e2e                    # 100 readers, 3,000 questions, seed article
    python -m bench.bench_e2e --users 200 --questions 10000 --articles ../shared/corpora/bbc-dev

The bot is the real command in its own process (rate limit off: the emulator has no flood
control); the emulator and the readers share this process. Each reader asks, waits for the
answer, asks again. Reports questions/s, reply latency, the bot's event-loop lag, and checks
that every question got exactly one reply and every turn is in the log.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

from tests.support.emulator.process import bot_env, kill_newsbot, start_newsbot, stop_newsbot
from tests.support.emulator.server import BotApiEmulator

ROOT = Path(__file__).resolve().parent.parent


def load_questions() -> list[str]:
    lines = (ROOT / "bench" / "seed_qa.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


async def reader(
    emulator: BotApiEmulator, chat_id: int, asked: list[str], latencies: list[float]
) -> None:
    for question in asked:
        reply = emulator.next_reply(chat_id)
        started = time.perf_counter()
        await emulator.send_text(question, chat_id=chat_id)
        await asyncio.wait_for(reply, 60)
        latencies.append((time.perf_counter() - started) * 1000)


async def main_async(args: argparse.Namespace) -> dict[str, float]:
    emulator = BotApiEmulator()
    await emulator.start()
    questions = load_questions()
    rng = random.Random(1)
    per_user = max(1, args.questions // args.users)
    work = {9000 + u: [rng.choice(questions) for _ in range(per_user)] for u in range(args.users)}
    total = per_user * args.users
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "log.sqlite3"
        env = bot_env(
            emulator.base_url,
            args.articles,
            db,
            NEWSBOT_CACHE_DIR=str(Path(tmp) / "cache"),
            NEWSBOT_RATE_LIMIT="0",
        )
        bot = await start_newsbot(env, Path(tmp))
        try:
            await emulator.wait_until(lambda: bool(emulator.commands), timeout=120)
            latencies: list[float] = []
            started = time.perf_counter()
            await asyncio.gather(*(reader(emulator, c, q, latencies) for c, q in work.items()))
            elapsed = time.perf_counter() - started
            await asyncio.sleep(0.5)
            log = await stop_newsbot(bot, timeout=60)
        finally:
            await kill_newsbot(bot)
        await emulator.stop()
        with sqlite3.connect(db) as conn:
            logged = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
            replies = conn.execute("SELECT count(*) FROM replies").fetchone()[0]
    sent = sum(len(emulator.sent_to(c)) for c in work)
    lag = next((line for line in log.splitlines() if "Event loop:" in line), "")
    lag_max = float(lag.split("max ")[1].split(" ms")[0]) if "max " in lag else float("nan")
    result = {
        "users": args.users,
        "questions": total,
        "seconds": elapsed,
        "questions_per_s": total / elapsed,
        "p50_ms": float(np.percentile(latencies, 50)),
        "p99_ms": float(np.percentile(latencies, 99)),
        "replies_sent": sent,
        "turns_logged": logged,
        "replies_logged": replies,
        "loop_lag_max_ms": lag_max,
        "bot_exit": bot.returncode,
    }
    problems = []
    if sent != total:
        problems.append(f"{sent} replies for {total} questions")
    if logged != total or replies != total:
        problems.append(f"{logged} turns logged for {total} questions")
    if bot.returncode != 0:
        problems.append(f"bot exited with {bot.returncode}: {log[-2000:]}")
    result["ok"] = not problems
    print(json.dumps(result))
    if problems:
        raise SystemExit("; ".join(problems))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--questions", type=int, default=3000)
    parser.add_argument("--articles", type=Path, default=ROOT / "seeds")
    result = asyncio.run(main_async(parser.parse_args()))
    r = result
    print(
        f"{r['users']} readers, {r['questions']} questions in {r['seconds']:.1f} s: "
        f"{r['questions_per_s']:.0f} questions/s, reply p50 {r['p50_ms']:.0f} ms, "
        f"p99 {r['p99_ms']:.0f} ms; bot event loop lag max {r['loop_lag_max_ms']:.0f} ms; "
        f"{r['turns_logged']} of {r['questions']} turns logged"
    )


if __name__ == "__main__":
    main()
