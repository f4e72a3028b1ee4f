"""Several instances behind nginx on one PostgreSQL, in webhook mode, one of them killed.

    python -m bench.bench_scale                        # 200 readers, 6,000 questions, a SIGKILL
    python -m bench.bench_scale --rolling              # restart the instances one at a time
    python -m bench.bench_scale --users 30 --questions 450   # the short version CI runs

Two real `newsbot run` processes (NEWSBOT_WEBHOOK_URL pointing at nginx, NEWSBOT_DB at a
throwaway PostgreSQL server with fsync on) behind a real nginx; the Bot API emulator posts
every update to nginx with the secret header and retries failed deliveries, as Telegram
does. Each reader asks, waits for the answer, asks again. Halfway, instance A is killed with
SIGKILL and started again (or, with --rolling, each instance is stopped with SIGTERM and
started again in turn). Some readers ask before the kill and follow up, and press More,
while A is down: the other instance must serve both. At the end: every question answered
exactly once, every reply the readers got is in the log. Prints questions/s, reply latency
p50/p99, lost turns.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np

from bench.bench_load import Run, load_questions, reader
from tests.support.emulator.process import bot_env, kill_newsbot, start_newsbot, stop_newsbot
from tests.support.emulator.server import TOKEN, BotApiEmulator
from tests.support.servers import Nginx, Postgres, ensure_installed, free_port
from tests.support.waiting import healthy

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-webhook-secret"
FOLLOWERS = 10  # readers who ask before the kill, then follow up and press More while it is down
ADMIN = 4242  # sends /reload at the end: every instance must reload
FIRST = "What do the articles say about the Taliban?"
FOLLOW_UP = "and how many prisoners were released?"


@dataclass
class Instance:
    port: int
    env: dict[str, str]
    process: Any = None
    key: int = 0  # its claims.instance
    cpu: float = 0.0  # CPU seconds used by its processes so far
    outputs: list[str] = field(default_factory=list)


async def start(instance: Instance, cwd: Path) -> None:
    instance.process = await start_newsbot(instance.env, cwd)
    instance.key = int((await healthy(instance.port))["instance"])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(root: int) -> float:
    """CPU time of a process and its children (PostgreSQL's backends, nginx's workers),
    counting children that exited (cutime, cstime) too."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        if pid == root or int(fields[1]) == root:
            total += sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return total


async def stop(instance: Instance, sig: int = signal.SIGTERM) -> int:
    instance.cpu += cpu_seconds(instance.process.pid)
    instance.outputs.append(await stop_newsbot(instance.process, sig, timeout=60))
    return int(instance.process.returncode)


async def follow_up_and_more(emulator: BotApiEmulator, chat: int) -> dict[str, Any]:
    """Follow up on the reader's question, then press More under the first answer."""
    first = next(m for m in emulator.sent_to(chat) if not m.get("_edited"))
    count = len(emulator.sent_to(chat))
    await emulator.send_text(FOLLOW_UP, chat_id=chat)
    await emulator.wait_for(chat, count + 1, timeout=60)
    query = await emulator.press_button(chat, first["message_id"], "p:2", chat)
    await emulator.wait_until(lambda: query in emulator.callback_answers, timeout=60)
    return {"follow_up": emulator.sent_to(chat)[count], "more": emulator.callback_answers[query]}


async def first_claimants(url: str, chats: list[int]) -> dict[int, int]:
    """The instance that answered each reader's first question."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT m.chat_id, c.instance FROM messages m JOIN claims c "
            "ON c.update_id = m.update_id WHERE m.chat_id = ANY($1::bigint[])",
            chats,
        )
    finally:
        await conn.close()
    return {int(r["chat_id"]): int(r["instance"]) for r in rows}


def instance_env(
    emulator: BotApiEmulator, articles: Path, url: str, port: int, nginx_port: int, tmp: Path
) -> dict[str, str]:
    return bot_env(
        emulator.base_url,
        articles,
        url,  # type: ignore[arg-type]
        NEWSBOT_WEBHOOK_URL=f"http://127.0.0.1:{nginx_port}/telegram/hook",
        NEWSBOT_WEBHOOK_LISTEN=f"127.0.0.1:{port}",
        NEWSBOT_WEBHOOK_SECRET=SECRET,
        NEWSBOT_WEBHOOK_MAX_CONNECTIONS="100",
        NEWSBOT_RATE_LIMIT="0",
        NEWSBOT_CACHE_DIR=str(tmp / f"cache-{port}"),
        NEWSBOT_ADMIN_IDS=str(ADMIN),
    )


async def run_scale(
    users: int, questions: int, articles: Path, rolling: bool = False, fsync: bool = True
) -> dict[str, Any]:
    """Run the load; return the figures, with "problems" listing what went wrong."""
    for what in ("postgresql", "nginx"):
        if problem := ensure_installed(what):
            raise RuntimeError(problem)
    postgres = Postgres(fsync=fsync)
    postgres.start()
    emulator = BotApiEmulator()
    await emulator.start()
    ports = [free_port(), free_port()]
    nginx = Nginx(ports)
    nginx.start()
    tmp = Path(tempfile.mkdtemp(prefix="newsbot-scale-"))
    url = postgres.database()
    instances = [
        Instance(p, instance_env(emulator, articles, url, p, nginx.port, tmp)) for p in ports
    ]
    pool = load_questions()
    rng = random.Random(1)
    per_user = max(1, questions // users)
    work = {30_000 + u: [rng.choice(pool) for _ in range(per_user)] for u in range(users)}
    followers = [40_000 + n for n in range(FOLLOWERS)]
    run = Run(total=per_user * users)
    problems: list[str] = []
    served: dict[str, Any] = {}
    exits: list[int] = []
    try:
        await asyncio.gather(*(start(i, tmp) for i in instances))
        for chat in followers:
            await emulator.send_text(FIRST, chat_id=chat)
        for chat in followers:
            await emulator.wait_for(chat, 1, timeout=60)
        started = time.perf_counter()
        cpu_before = (
            time.process_time(),
            tree_cpu_seconds(postgres.pid()),
            [cpu_seconds(i.process.pid) for i in instances],
            tree_cpu_seconds(nginx.pid()),
        )
        readers = asyncio.gather(*(reader(emulator, c, q, run) for c, q in work.items()))
        event = "none"
        while not readers.done():
            if event == "none" and run.done >= run.total // 2:
                event = "restarting"
                if rolling:
                    for instance in instances:
                        exits.append(await stop(instance))
                        await start(instance, tmp)
                else:
                    first = await first_claimants(url, followers)
                    victim = max(instances, key=lambda i: list(first.values()).count(i.key))
                    exits.append(await stop(victim, signal.SIGKILL))
                    theirs = [c for c, key in first.items() if key == victim.key]
                    answers = await asyncio.gather(
                        *(follow_up_and_more(emulator, c) for c in theirs)
                    )
                    served = dict(zip(theirs, answers, strict=True))
                    await start(victim, tmp)
                event = "done"
            await asyncio.wait({readers}, timeout=0.05)
        await readers
        elapsed = time.perf_counter() - started
        cpu = {
            "emulator_and_readers": time.process_time() - cpu_before[0],
            "postgresql": tree_cpu_seconds(postgres.pid()) - cpu_before[1],
            "instances": sum(i.cpu + cpu_seconds(i.process.pid) for i in instances)
            - sum(cpu_before[2]),
            "nginx": tree_cpu_seconds(nginx.pid()) - cpu_before[3],
        }
        await emulator.send_command("reload", chat_id=ADMIN)
        await emulator.wait_for(ADMIN, 1, timeout=60)
        await emulator.settle(1.5)  # a duplicate reply would show up now; the reload spreads
        for instance in instances:
            exits.append(await stop(instance))
    finally:
        for instance in instances:
            if instance.process is not None:
                await kill_newsbot(instance.process)
        nginx.stop()
        await emulator.stop()
    conn = await asyncpg.connect(url)
    try:
        logged = {
            (r["chat_id"], r["telegram_message_id"])
            for r in await conn.fetch("SELECT chat_id, telegram_message_id FROM messages")
        }
        undelivered = await conn.fetchval("SELECT count(*) FROM replies WHERE delivered = 0")
        claimants = {
            r["chat_id"]: [int(x) for x in r["instances"]]
            for r in await conn.fetch(
                "SELECT m.chat_id, array_agg(c.instance ORDER BY m.id) AS instances "
                "FROM messages m JOIN claims c ON c.update_id = m.update_id "
                "WHERE m.chat_id >= 40000 GROUP BY m.chat_id"
            )
        }
    finally:
        await conn.close()
        postgres.stop()
    failed = [d for d in emulator.deliveries if d[1] not in range(200, 300)]  # type: ignore[operator]
    retried = len({update_id for update_id, _ in failed})
    figures = check(emulator, work, run, logged, problems, retried)
    if not rolling:
        check_cross_instance(served, claimants, followers, problems)
    reloads = [
        "".join(i.outputs).count("reloaded by another instance's /reload") for i in instances
    ]
    if (
        sorted(reloads) != [0, 1]
        or "".join(i.outputs[-1] for i in instances).count("Articles reloaded by /reload") != 1
    ):
        problems.append(f"/reload did not reach the other instance once: {reloads}")
    if any(TOKEN in out or SECRET in out for i in instances for out in i.outputs):
        problems.append("the bot token or the webhook secret appeared in an instance's output")
    if [code for code in exits if code not in (0, -signal.SIGKILL)]:
        problems.append(f"exit codes {exits}: {instances[0].outputs[-1][-1500:]}")
    return {
        "users": users,
        "questions": run.total,
        "mode": "rolling restart" if rolling else "SIGKILL of one instance",
        "seconds": round(elapsed, 2),
        "questions_per_s": round(run.total / elapsed, 1),
        "p50_ms": round(float(np.percentile(run.latencies, 50)), 1),
        "p99_ms": round(float(np.percentile(run.latencies, 99)), 1),
        "cpu_ms_per_question": {k: round(v * 1000 / run.total, 2) for k, v in cpu.items()},
        "deliveries_failed": len(failed),
        "updates_retried": retried,
        "undelivered_marks": int(undelivered),
        **figures,
        "instance_logs": [
            line
            for i in instances
            for out in i.outputs
            for line in out.splitlines()
            if "Conversation log closed" in line
        ],
        "problems": problems,
    }


def check(
    emulator: BotApiEmulator,
    work: dict[int, list[str]],
    run: Run,
    logged: set[tuple[int, int]],
    problems: list[str],
    retried: int,
) -> dict[str, int]:
    """One reply per question, and every question replied to is in the log. A reply may be
    sent twice only for an update the killed instance held (Telegram re-sent it): one
    whose reply went out in the milliseconds before it was marked delivered."""
    replies = {c: [m for m in emulator.sent_to(c) if not m.get("_edited")] for c in work}
    duplicates = sum(max(0, len(replies[c]) - len(q)) for c, q in work.items())
    unanswered = sum(max(0, len(q) - len(replies[c])) for c, q in work.items())
    asked = {(c, m) for c, ids in run.asked.items() for m in ids}
    lost = len(asked - logged)
    if duplicates > retried:
        problems.append(f"{duplicates} duplicate replies, only {retried} updates re-sent")
    if unanswered:
        problems.append(f"{unanswered} questions without a reply")
    if lost:
        problems.append(f"{lost} turns replied to but missing from the log")
    return {"duplicates": duplicates, "unanswered": unanswered, "lost_turns": lost}


def check_cross_instance(
    served: dict[int, Any],
    claimants: dict[int, list[int]],
    followers: list[int],
    problems: list[str],
) -> None:
    """The follow-up was read with the first question, More showed page 2, and both came
    from the other instance than the first answer."""
    if not served:
        problems.append("no reader's first answer came from the killed instance")
    for chat in served:
        got = served.get(chat)
        if got is None or "Taliban" not in got["follow_up"]["text"]:
            problems.append(f"reader {chat}: the follow-up was not answered in context")
        elif not str(got["more"].get("text") or "").startswith("Page 2 of"):
            problems.append(f"reader {chat}: More did not show page 2 ({got['more']})")
        who = claimants.get(chat, [])
        if len(who) < 2 or who[0] == who[1]:
            problems.append(f"reader {chat}: the follow-up was served by the same instance")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--questions", type=int, default=6000)
    parser.add_argument("--articles", type=Path, default=ROOT / "seeds")
    parser.add_argument("--rolling", action="store_true", help="Restart one at a time instead.")
    args = parser.parse_args()
    r = asyncio.run(run_scale(args.users, args.questions, args.articles, args.rolling))
    print(json.dumps(r))
    print(*r["instance_logs"], sep="\n")
    print(
        f"2 instances behind nginx on PostgreSQL, {r['mode']}: {r['users']} readers, "
        f"{r['questions']} questions in {r['seconds']:.1f} s: {r['questions_per_s']:.0f} "
        f"questions/s, reply p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms; "
        f"{r['updates_retried']} updates re-sent; {r['lost_turns']} lost turns, "
        f"{r['duplicates']} duplicates, {r['unanswered']} unanswered; CPU per question "
        f"(ms): {r['cpu_ms_per_question']}"
    )
    if r["problems"]:
        raise SystemExit("FAILED: " + "; ".join(r["problems"]))
    print(
        "OK: every question answered, every turn in the log; "
        f"{r['duplicates']} sent twice (of the {r['updates_retried']} updates re-sent)"
    )


if __name__ == "__main__":
    main()
