"""What the dashboard page costs to render, over a made-up log; and its screenshot.

    python -m bench.bench_dashboard                         # 60 days x 50 questions a day
    python -m bench.bench_dashboard --days 14 --per-day 12 --screenshot docs/img/dashboard.png

Writes a log through ConversationLog (questions over the last DAYS days, about PER_DAY a day,
a quarter of them unanswered, the passages behind the answers, answer times, votes), then
renders `/` in this process as `newsbot dashboard` serves it (the named queries and the four
charts): the first render, matplotlib's import included, and the median of the next ones.
With --screenshot, also serves the log with `newsbot dashboard` and saves the page as headless
Chromium (Playwright, /usr/bin/chromium) shows it, 1200 px wide, the full page.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.storage import ChatRow, ConversationLog, HitRow, Turn, UserRow, Vote
from newsbot.dashboard_site import configure, dashboard_page
from tests.support.dashboard import PASSWORD, USER, dashboard

ANSWERED = (
    "When will all US troops leave Afghanistan?",
    "Who signed the agreement in Doha?",
    "What did the Taliban promise?",
    "How many soldiers are still in Kabul?",
    "Is the airport in Kabul still open?",
    "What happens to the prisoners?",
)
UNANSWERED = (
    "What happened in Kabul yesterday?",
    "Who won the election in Germany?",
    "What is the capital of France?",
    "Will fuel prices go up?",
)
ARTICLES = ("000_e6af9304790c8bd1", "001_kabul_airport", "002_qatar_accord", "003_prisoners")


async def write_log(path: Path, days: int, per_day: int, seed: int = 7) -> int:
    """About `per_day` questions on each of the last `days` days (more on weekdays); returns
    how many were written."""
    rng = random.Random(seed)
    log = ConversationLog(path)
    await log.open()
    now = datetime.now(UTC)
    written = 0
    for back in range(days - 1, -1, -1):
        day = now - timedelta(days=back)
        if rng.random() < 0.1:
            continue  # a day without questions
        weekend = day.weekday() >= 5
        count = max(1, round(rng.gauss(per_day * (0.6 if weekend else 1.0), per_day / 4)))
        for _ in range(count):
            at = day.replace(hour=rng.randrange(7, 23), minute=rng.randrange(60))
            if at > now:  # today: some time since midnight
                since = now - now.replace(hour=0, minute=0, second=0, microsecond=0)
                at = now - since * rng.random()
            reader = rng.randrange(1, 200)
            answered = rng.random() < 0.75
            question = rng.choice(ANSWERED if answered else UNANSWERED)
            hits: tuple[HitRow, ...] = ()
            if answered:
                cited = rng.sample(ARTICLES, k=rng.choice((1, 2)))
                weights = [rng.random() + (1.5 if a == ARTICLES[0] else 0) for a in cited]
                cited = [a for _, a in sorted(zip(weights, cited, strict=True), reverse=True)]
                hits = tuple(
                    HitRow(rank, article, rng.randrange(1, 12), round(rng.uniform(4, 15), 1))
                    for rank, article in enumerate(cited, start=1)
                )
            written += 1
            message = 2 * written
            log.record(
                Turn(
                    ChatRow(1000 + reader, "private"),
                    UserRow(1000 + reader, username=f"reader{reader}"),
                    question,
                    "question",
                    "<b>…</b>" if answered else "Nothing in the articles answers that.",
                    answered,
                    round(rng.lognormvariate(4.3, 0.5), 1),
                    received_at=at.isoformat(timespec="milliseconds"),
                    hits=hits,
                    bot_message_id=message,
                    question=question,
                )
            )
            if answered and rng.random() < 0.15:
                vote = 1 if rng.random() < 0.8 else -1
                log.record(Vote(1000 + reader, message, 1000 + reader, vote))
    await log.close()
    return written


async def time_page(path: Path, repeat: int) -> dict[str, Any]:
    """The first render of `/` and the median of `repeat` more, in milliseconds."""
    datasette = configure(path, USER, PASSWORD)
    await datasette.invoke_startup()
    timings = []
    size = 0
    for _ in range(repeat + 1):
        started = time.perf_counter()
        response = await dashboard_page(datasette)
        timings.append((time.perf_counter() - started) * 1000)
        size = len(response.body)
    return {
        "first_ms": round(timings[0], 1),
        "median_ms": round(statistics.median(timings[1:]), 1),
        "page_kb": round(size / 1024, 1),
    }


async def screenshot(path: Path, out: Path) -> None:
    from playwright.async_api import async_playwright

    with dashboard(path) as site:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium")
            try:
                context = await browser.new_context(
                    http_credentials={"username": USER, "password": PASSWORD},
                    viewport={"width": 1200, "height": 900},
                )
                page = await context.new_page()
                await page.goto(site.url + "/")
                await page.screenshot(path=out, full_page=True)
            finally:
                await browser.close()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.sqlite3"
        questions = await write_log(path, args.days, args.per_day)
        result = {"days": args.days, "questions": questions, **await time_page(path, args.repeat)}
        if args.screenshot:
            await screenshot(path, args.screenshot)
            result["screenshot_kb"] = round(args.screenshot.stat().st_size / 1024, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--per-day", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=10, help="renders after the first")
    parser.add_argument("--screenshot", type=Path, help="also save the page here as a PNG")
    print(json.dumps(asyncio.run(run(parser.parse_args()))))


if __name__ == "__main__":
    main()
