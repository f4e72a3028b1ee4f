"""Event-loop blocking benchmark: retrieval, logging and reloads under load, without Telegram.

    python -m bench.bench_loop --passages 100000 --questions 5000      # synthetic collection
    python -m bench.bench_loop --articles /tmp/newsbot-bench-real/x134 # real text, via the cache

Answers questions from many concurrent tasks the way the handlers do (search in the bot's
search threads, turn queued for the batched SQLite writer) while a LoopWatch measures how late
the event loop runs its timers. Prints the lag with the search off the loop (as the bot does)
and, for comparison, on it.

With --articles (a folder such as bench_real's replicas; its index cache in --cache), the
collection is loaded from the cache as `newsbot run` loads it, and two more phases run under
the same load: an article file is added and the folder is reloaded as the folder watch does
once it has noticed the change (the reload's time, then how soon a question is answered from
the new article), then removed and reloaded again; and the segments are merged in a
background thread (the compaction the bot runs when the delta has grown).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import tempfile
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.corpus import generate, questions
from bot import updates
from bot.articles import Article, Collection, passages_of
from bot.cache import open_library
from bot.chat import Newsroom
from bot.index import SearchIndex
from bot.loopwatch import LoopLag, LoopWatch
from bot.reload import reload_articles, settle_memory
from bot.segments import remove
from bot.storage import ChatRow, ConversationLog, HitRow, Turn, UserRow
from bot.text import default_workers

PER_ARTICLE = 10
NEW_ARTICLE = """Zorblax harbour council approves floating tidal farm

The Zorblax harbour council voted on Tuesday to build a floating tidal farm off the quay.
"""
NEW_QUESTION = "What did the Zorblax harbour council approve?"


def synthetic(size: int) -> Collection:
    texts = generate(size)
    articles = tuple(
        Article(
            id=f"a{n}",
            file_name=f"a{n}.txt",
            title=texts[n * PER_ARTICLE][:60],
            paragraphs=tuple(texts[n * PER_ARTICLE : (n + 1) * PER_ARTICLE]),
        )
        for n in range(size // PER_ARTICLE)
    )
    return Collection(articles, tuple(p for a in articles for p in passages_of(a)))


class Load:
    """Readers asking questions without pause, as the handlers answer them."""

    def __init__(
        self, room: Newsroom, log: ConversationLog, asked: list[str], searches: ThreadPoolExecutor
    ) -> None:
        self.room, self.log, self.asked, self.searches = room, log, asked, searches
        self.answered = 0

    async def reader(self, n: int, stop: asyncio.Event, off_loop: bool) -> None:
        rng = random.Random(n)
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            question = rng.choice(self.asked)
            started = time.perf_counter()
            if off_loop:
                reply = await loop.run_in_executor(self.searches, self.room.ask, question, n)
            else:
                reply = self.room.ask(question, n)
            self.record(n, question, reply, started)
            self.answered += 1
            await asyncio.sleep(0)

    def record(self, n: int, question: str, reply: object, started: float) -> None:
        result = getattr(reply, "answer", None)
        self.log.record(
            Turn(
                chat=ChatRow(n, "private"),
                user=UserRow(n),
                text=question,
                kind="question",
                reply="\n".join(getattr(reply, "messages", ())),
                answered=bool(result and result.answered),
                latency_ms=(time.perf_counter() - started) * 1000,
                hits=tuple(
                    HitRow(h.rank, h.passage.article.id, h.passage.paragraph, h.score)
                    for h in (result.hits if result else ())
                ),
            )
        )

    @contextlib.asynccontextmanager
    async def running(self, readers: int, off_loop: bool = True) -> AsyncIterator[LoopWatch]:
        """Readers ask while the body runs; yields the watch measuring the loop meanwhile."""
        stop = asyncio.Event()
        watch = LoopWatch()
        watch.start()
        tasks = [asyncio.create_task(self.reader(n, stop, off_loop)) for n in range(readers)]
        try:
            yield watch
        finally:
            stop.set()
            await asyncio.gather(*tasks)


async def steady(
    load: Load, readers: int, seconds: float, off_loop: bool
) -> tuple[float, LoopLag]:
    before = load.answered
    async with load.running(readers, off_loop) as watch:
        await asyncio.sleep(seconds)
        lag = await watch.stop()
    return (load.answered - before) / seconds, lag


async def reload_phase(load: Load, folder: Path, cache: Path, readers: int) -> None:
    """Add an article and reload as the folder watch does once it noticed the file (only
    that file is looked at), wait for it to be answered; remove it the same way; then a
    /reload, which compares every file's stat fields with the manifest."""
    name = "zz-bench/harbour.txt"
    new = folder / name
    loop = asyncio.get_running_loop()
    async with load.running(readers) as watch:
        await asyncio.sleep(1)
        new.parent.mkdir(exist_ok=True)
        new.write_text(NEW_ARTICLE, encoding="utf-8")
        started = time.perf_counter()
        changes = await asyncio.to_thread(reload_articles, load.room, folder, cache, {name})
        swapped = time.perf_counter() - started
        reply = await loop.run_in_executor(load.searches, load.room.ask, NEW_QUESTION, 0)
        answered = time.perf_counter() - started
        hits = reply.answer.hits if reply.answer else ()
        if not hits or hits[0].passage.article.file_name != name:
            raise SystemExit("the added article was not answered")
        await asyncio.sleep(1)
        new.unlink()
        new.parent.rmdir()
        started = time.perf_counter()
        removed = await asyncio.to_thread(reload_articles, load.room, folder, cache, {name})
        removed_s = time.perf_counter() - started
        await asyncio.sleep(1)
        started = time.perf_counter()
        manual = await asyncio.to_thread(reload_articles, load.room, folder, cache)
        manual_s = time.perf_counter() - started
        await asyncio.sleep(1)
        lag = await watch.stop()
    print(
        f"watch reload after one added file: swapped in {swapped * 1000:.0f} ms, answered "
        f"from it {answered * 1000:.0f} ms after the reload began ({changes.summary()}); "
        f"removed: {removed_s * 1000:.0f} ms ({removed.summary()}); /reload (every file's "
        f"stat compared): {manual_s * 1000:.0f} ms ({manual.summary()}); "
        f"event loop meanwhile: {lag}",
        flush=True,
    )


async def compaction_phase(load: Load, cache: Path, readers: int) -> None:
    """Merge the segments in a background thread under load (as the bot does)."""
    snapshot = load.room.index.built.origin
    assert isinstance(snapshot, updates.Snapshot)

    def merge() -> float:
        started = time.perf_counter()
        result = updates.compact(cache, snapshot)
        for segment in result.new_segments:  # measured, not kept: the state stays as it was
            remove(segment.folder)
        return time.perf_counter() - started

    async with load.running(readers) as watch:
        await asyncio.sleep(1)
        took = await asyncio.to_thread(merge)  # a thread beside the search threads
        await asyncio.sleep(1)
        lag = await watch.stop()
    print(f"segments merged in the background in {took:.1f} s; event loop meanwhile: {lag}")


def real(folder: Path, cache: Path) -> tuple[Newsroom, list[str]]:
    started = time.perf_counter()
    loaded = open_library(folder, cache)
    assert loaded.indexes is not None, f"no articles in {folder}"
    room = Newsroom(loaded.collection, index=SearchIndex(loaded.collection, built=loaded.indexes))
    print(
        f"{len(loaded.collection.passages)} passages loaded ({loaded.status}) in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )
    articles = loaded.collection.articles
    rng = random.Random(3)
    asked = [articles[rng.randrange(len(articles))].title for _ in range(2000)]
    return room, asked


async def main_async(args: argparse.Namespace) -> None:
    cache = args.cache or (
        args.articles and args.articles.with_name(args.articles.name + "-cache")
    )
    if args.articles:
        room, asked = real(args.articles, cache)
    else:
        built = time.perf_counter()
        corpus = synthetic(args.passages)
        room = Newsroom(corpus)
        print(f"{len(corpus.passages)} passages indexed in {time.perf_counter() - built:.1f} s")
        asked = questions([p.text for p in corpus.passages], args.questions)
    settle_memory()  # as `newsbot run` does after loading
    # The bot's search threads: one per CPU (handlers.common.Services.searches).
    searches = ThreadPoolExecutor(default_workers(), "search")
    with tempfile.TemporaryDirectory() as tmp:
        log = ConversationLog(Path(tmp) / "log.sqlite3")
        await log.open()
        load = Load(room, log, asked, searches)
        for label, off_loop in (
            ("search in a worker thread (the bot)", True),
            ("search on the event loop (for comparison)", False),
        ):
            rate, lag = await steady(load, args.workers, args.seconds, off_loop)
            print(f"{label}: {rate:.0f} questions/s; event loop {lag}", flush=True)
        if args.articles:
            await reload_phase(load, args.articles, cache, args.workers)
            await compaction_phase(load, cache, args.workers)
        assert await log.flush()
        counts = await log.counts()
        await log.close()
    print(f"log rows: {counts['messages']} messages for {2 * load.answered} questions asked")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--questions", type=int, default=5000)
    parser.add_argument(
        "--articles", type=Path, help="a real articles folder, loaded via the cache"
    )
    parser.add_argument("--cache", type=Path, help="its index cache (default: FOLDER-cache)")
    parser.add_argument("--workers", type=int, default=50, help="concurrent readers")
    parser.add_argument("--seconds", type=float, default=10.0, help="of steady load per run")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    os.environ.setdefault("NEWSBOT_LOG_LEVEL", "WARNING")
    main()
