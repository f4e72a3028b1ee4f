"""Feed import benchmark: a 500-item feed from a local site into a running bot.

    python -m bench.bench_feed                       # 500 items, both kinds of feed
    python -m bench.bench_feed --items 500 --kind pages --delay 0.05

`newsbot run` (its own process) polls a feed on 127.0.0.1 while a reader keeps asking it a
question through the Bot API emulator. Two kinds of feed: `full` items carry their whole
text (as WordPress feeds do: no page is fetched), `pages` items are teasers whose pages
are fetched (NEWSBOT_FETCH_DELAY apart, 0 by default on this local server). The article
texts are real (BBC sample in ../shared/corpora/bbc-dev, else synthetic). Reports the time
from the first feed request to the import's end and to the reload, the reader's reply
latency before and during the import (same run), and checks that the last item answers.
Then `newsbot import FEED` is timed as a command on a fresh folder.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tests.support.emulator.process import bot_env, start_newsbot
from tests.support.emulator.server import BotApiEmulator
from tests.support.websites import NewsSite, rss

ROOT = Path(__file__).resolve().parent.parent
BBC = ROOT.parent / "shared" / "corpora" / "bbc-dev"
QUESTION = "When will all US troops leave Afghanistan?"
PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{title} | Bench News</title>
<meta property="og:site_name" content="Bench News"><meta name="author" content="Bench Reporter">
<meta property="article:published_time" content="2024-06-{day:02d}T08:00:00Z"></head><body>
<nav><a href="/">Home</a> <a href="/world">World</a> <a href="/business">Business</a></nav>
<div class="ad">Advertisement</div><article><h1>{title}</h1>{body}</article>
<aside class="related"><h2>Related</h2><ul><li><a href="/x">Another story</a></li></ul></aside>
<footer>© Bench News. All rights reserved.</footer></body></html>"""


def texts(count: int, folder: Path = BBC) -> list[tuple[str, list[str]]]:
    """(title, paragraphs) of real articles, each made unique by its item number."""
    files = sorted(folder.rglob("*.txt")) if folder.is_dir() else []
    out = []
    for n in range(count):
        if files:
            blocks = [
                b.strip()
                for b in files[n % len(files)].read_text("utf-8", "replace").split("\n\n")
            ]
            blocks = [" ".join(b.split()) for b in blocks if b.strip()]
            title, body = blocks[0], blocks[1:]
        else:
            title = f"Synthetic story {n}"
            body = [
                f"Sentence {k} of a synthetic article about harbours and trains." * 3
                for k in range(6)
            ]
        body = [f"Item {n}: the Zorb{n} council decided the matter on Tuesday.", *body]
        out.append((f"{title} ({n})", body))
    return out


def build_site(site: NewsSite, kind: str, items: int, folder: Path) -> str:
    entries = []
    for n, (title, body) in enumerate(texts(items, folder)):
        content = "".join(f"<p>{html.escape(p)}</p>" for p in body)
        entry = {
            "title": html.escape(title),
            "link": f"{{base}}/pages/item-{n}",
            "guid": f"item-{n}",
        }
        if kind == "full":
            entry["content"] = content
        else:
            site.pages[f"item-{n}"] = PAGE.format(
                title=html.escape(title), body=content, day=1 + n % 28
            ).encode()
        entries.append(entry)
    site.feeds["bench.rss"] = rss(entries, title="Bench News")
    return site.url("/feeds/bench.rss")


async def watch(stream: asyncio.StreamReader, seen: dict[str, float]) -> None:
    """Note when the bot logs the end of the feed round and of the reload."""
    while line := await stream.readline():
        text = line.decode("utf-8", "replace")
        for key in ("Feeds polled", "Articles reloaded after the feed round", "Traceback"):
            if key in text and key not in seen:
                seen[key] = time.monotonic()
                if key != "Traceback":
                    print(f"  bot: {text.strip()[24:]}", flush=True)


async def ask_loop(
    emulator: BotApiEmulator, stop: asyncio.Event, log: list[tuple[float, float]]
) -> None:
    """One reader asking one question after another; (sent at, latency ms)."""
    while not stop.is_set():
        reply = emulator.next_reply(1001)
        sent = time.monotonic()
        await emulator.send_text(QUESTION, chat_id=1001)
        await asyncio.wait_for(reply, 60)
        log.append((sent, (time.monotonic() - sent) * 1000))
        await asyncio.sleep(0.05)


async def run_bot(kind: str, items: int, delay: float, folder: Path) -> dict[str, float]:
    emulator, site = BotApiEmulator(), NewsSite()
    await emulator.start()
    await site.start()
    feed = build_site(site, kind, items, folder)
    with tempfile.TemporaryDirectory() as tmp:
        articles = Path(tmp) / "articles"
        shutil.copytree(ROOT / "seeds", articles)
        env = bot_env(
            emulator.base_url,
            articles,
            Path(tmp) / "log.sqlite3",
            NEWSBOT_FEEDS=feed,
            NEWSBOT_FEED_INTERVAL="60",
            NEWSBOT_FETCH_DELAY=str(delay),
            NEWSBOT_RATE_LIMIT="0",
            NEWSBOT_CACHE_DIR=str(Path(tmp) / "cache"),
            NEWSBOT_IMPORT_STATE=str(Path(tmp) / "state.json"),
        )
        process = await start_newsbot(env, Path(tmp))
        seen: dict[str, float] = {}
        assert process.stderr is not None
        watcher = asyncio.create_task(watch(process.stderr, seen))
        stop, asked = asyncio.Event(), []
        try:
            await emulator.wait_until(lambda: bool(emulator.commands), timeout=60)
            reader = asyncio.create_task(ask_loop(emulator, stop, asked))
            for _ in range(1200):
                if "Articles reloaded after the feed round" in seen or "Traceback" in seen:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)
            stop.set()
            await reader
            last = emulator.next_reply(1002)
            await emulator.send_text(f"What did the Zorb{items - 1} council decide?", chat_id=1002)
            answer = await asyncio.wait_for(last, 30)
        finally:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 30)
            watcher.cancel()
            await site.stop()
            await emulator.stop()
        files = len(list(articles.rglob("*.md")))
    start = site.requests_to("/feeds/")[0].at
    end, reloaded = seen["Feeds polled"], seen["Articles reloaded after the feed round"]
    before = [ms for at, ms in asked if at < start]
    during = [ms for at, ms in asked if start <= at <= reloaded]
    return {
        "files": files,
        "import_s": end - start,
        "reload_s": reloaded - end,
        "before_p50": float(np.percentile(before, 50)) if before else float("nan"),
        "during_n": len(during),
        "during_p50": float(np.percentile(during, 50)) if during else float("nan"),
        "during_max": max(during) if during else float("nan"),
        "answered": float(f"Zorb{items - 1} council" in str(answer.get("text"))),
    }


async def run_cli(kind: str, items: int, delay: float, folder: Path) -> tuple[float, int, str]:
    site = NewsSite()
    await site.start()
    feed = build_site(site, kind, items, folder)
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "TELEGRAM_"))}
        env.update(NEWSBOT_FETCH_DELAY=str(delay), NEWSBOT_IMPORT_STATE=str(Path(tmp) / "s.json"))
        times = []
        for _ in range(2):  # the second run: the feed answers 304, nothing is written
            started = time.monotonic()
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "newsbot",
                "import",
                feed,
                "--articles",
                str(Path(tmp) / "a"),
                env=env,
                cwd=tmp,
                stdout=asyncio.subprocess.PIPE,
            )
            out, _ = await process.communicate()
            times.append(time.monotonic() - started)
        summary = re.sub(r"\s+", " ", out.decode()[:60])
        count = len(list((Path(tmp) / "a").rglob("*.md")))
    await site.stop()
    return times[0], count, f"second run {times[1]:.1f} s: {summary}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--kind", choices=["full", "pages", "both"], default="both")
    parser.add_argument("--delay", type=float, default=0.0, help="NEWSBOT_FETCH_DELAY (s)")
    parser.add_argument("--texts", type=Path, default=BBC, help="folder of .txt articles")
    args = parser.parse_args()
    kinds = ["full", "pages"] if args.kind == "both" else [args.kind]
    source = args.texts if args.texts.is_dir() else "a generator"
    print(f"{args.items}-item feed, texts from {source}")
    for kind in kinds:
        r = asyncio.run(run_bot(kind, args.items, args.delay, args.texts))
        print(
            f"{kind:>5} (newsbot run): {r['files']} files, import {r['import_s']:.1f} s, "
            f"reload {r['reload_s']:.1f} s; replies before p50 {r['before_p50']:.0f} ms, during "
            f"({r['during_n']:.0f}) p50 {r['during_p50']:.0f} ms max {r['during_max']:.0f} ms "
            f"({r['during_p50'] / r['before_p50']:.1f}x); "
            f"last item answered: {bool(r['answered'])}"
        )
        took, count, second = asyncio.run(run_cli(kind, args.items, args.delay, args.texts))
        print(f"{kind:>5} (newsbot import): {count} files in {took:.1f} s; {second}")


if __name__ == "__main__":
    main()
