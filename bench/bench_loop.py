"""Event-loop blocking benchmark: retrieval, logging and reloads under load, without Telegram.

    python -m bench.bench_loop --passages 100000 --questions 5000      # synthetic collection
    python -m bench.bench_loop --articles /tmp/newsbot-bench-real/x134 # real text, via the cache

Builds the real SearchIndex over a synthetic collection, then answers questions from many
concurrent tasks the way the handlers do (search in the bot's search threads, turn queued for
the batched SQLite writer) while a LoopWatch measures how late the event loop runs its timers.
Prints the lag with the search off the loop (as the bot does) and, for comparison, on it.

With --articles (a folder such as bench_real's replicas; its index cache in --cache), the
collection is loaded from the cache as `newsbot run` loads it, the questions are article
titles, and more phases run under the same load: an article file is added and the folder is
reloaded as the folder watch does once it has noticed the change (the reload's time, then how
soon a question is answered from the new article), then removed and reloaded again, then a
/reload; and the segments are merged in a background thread (the compaction the bot runs
when the delta has grown).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from itertools import cycle, takewhile
from pathlib import Path
from typing import Any

from bench.corpus import generate, questions
from bot.articles import Article, Collection, passages_of
from bot.collection import snapshots
from bot.collection.cache import load_cached
from bot.collection.segments import remove
from bot.config import load_settings
from bot.conversation.conversation import Conversation, hit_rows
from bot.conversation.replies import Reply
from bot.loopwatch import LoopLag, LoopWatch
from bot.memory import settle_memory
from bot.retrieval.search import SearchIndex
from bot.serving.library import Library
from bot.serving.semantic import open_semantic
from bot.storage import ChatRow, ConversationLog, Turn, UserRow, row_counts
from bot.storage.state import ConversationKey, MemoryState
from bot.text import default_workers

PER_ARTICLE = 10
NEW_ARTICLE = """Zorblax harbour council approves floating tidal farm

The Zorblax harbour council voted on Tuesday to build a floating tidal farm off the quay.
"""
NEW_QUESTION = "What did the Zorblax harbour council approve?"
ASKER = ConversationKey(-1, -1)  # who asks NEW_QUESTION: none of the readers


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


def real(folder: Path, cache: Path, model: str) -> tuple[Library, str]:
    """The articles of `folder` from its index cache, as `newsbot run` loads them; with a
    model (`--model`, NEWSBOT_MODEL's values), its semantic stage, every passage embedded
    first (the vectors are kept in the cache: run `newsbot index` on the folder first)."""
    loaded = load_cached(folder, cache)
    if loaded.indexes is None:
        raise SystemExit(f"no articles in {folder}")
    index = SearchIndex(loaded.collection, built=loaded.indexes)
    settings = load_settings(
        None, NEWSBOT_ARTICLES_DIR=folder, NEWSBOT_CACHE_DIR=cache, NEWSBOT_MODEL=model
    )
    semantic = open_semantic(settings, background=False)
    if semantic is not None:
        semantic.attach(index)
    library = Library.of(loaded.collection, index, semantic)
    stage = "semantic stage on" if semantic is not None else "lexical only"
    return library, f"loaded ({loaded.status}, {stage})"


def titles(collection: Collection, count: int) -> list[str]:
    """Questions about real articles: their titles, picked at random."""
    rng = random.Random(3)
    return [rng.choice(collection.articles).title for _ in range(count)]


class OnTheLoop(Executor):
    """Runs each call at once, in the calling (event loop) thread: the comparison case."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


class Load:
    """Readers asking questions without pause, as the handlers answer them: each turn is
    queued for the conversation log."""

    def __init__(self, log: ConversationLog, asked: list[str]) -> None:
        self.log, self.asked = log, asked
        self.answered = 0

    async def reader(self, conversation: Conversation, n: int, questions: Iterator[str]) -> None:
        for question in questions:
            started = time.perf_counter()
            reply = await conversation.ask(question, ConversationKey(n, n))
            self.record(n, question, reply, started)
            self.answered += 1
            await asyncio.sleep(0)

    def record(self, n: int, question: str, reply: Reply, started: float) -> None:
        result = reply.answer
        self.log.record(
            Turn(
                chat=ChatRow(n, "private"),
                user=UserRow(n),
                text=question,
                kind="question",
                reply="\n".join(reply.messages),
                answered=bool(result and result.answered),
                latency_ms=(time.perf_counter() - started) * 1000,
                hits=hit_rows(result) if result else (),
            )
        )

    async def answer_all(self, conversation: Conversation, readers: int) -> tuple[float, LoopLag]:
        """Every question asked once, shared among the readers: questions/s, and the lag."""
        watch = LoopWatch()
        watch.start()
        shared = iter(self.asked)
        started = time.perf_counter()
        await asyncio.gather(*(self.reader(conversation, n, shared) for n in range(readers)))
        elapsed = time.perf_counter() - started
        assert await self.log.flush()
        return len(self.asked) / elapsed, await watch.stop()

    @contextlib.asynccontextmanager
    async def running(self, conversation: Conversation, readers: int) -> AsyncIterator[LoopWatch]:
        """Readers ask while the body runs; yields the watch measuring the loop meanwhile."""
        stop = asyncio.Event()
        endless = takewhile(lambda _: not stop.is_set(), cycle(self.asked))
        watch = LoopWatch()
        watch.start()
        tasks = [
            asyncio.create_task(self.reader(conversation, n, endless)) for n in range(readers)
        ]
        try:
            yield watch
        finally:
            stop.set()
            await asyncio.gather(*tasks)
            assert await self.log.flush()


async def reload_phase(load: Load, conversation: Conversation, readers: int) -> None:
    """Add an article and reload as the folder watch does once it noticed the file (only
    that file is looked at), wait for it to be answered; remove it the same way; then a
    /reload, which compares every file's stat fields with the manifest."""
    assert conversation.folders is not None
    name = "zz-bench/harbour.txt"
    new = conversation.folders[0] / name
    async with load.running(conversation, readers) as watch:
        await asyncio.sleep(1)
        new.parent.mkdir(exist_ok=True)
        new.write_text(NEW_ARTICLE, encoding="utf-8")
        started = time.perf_counter()
        added = await conversation.reload("the folder watch", changed=frozenset({name}))
        swapped = time.perf_counter() - started
        reply = await conversation.ask(NEW_QUESTION, ASKER)
        answered = time.perf_counter() - started
        hits = reply.answer.hits if reply.answer else ()
        if not hits or hits[0].passage.article.file_name != name:
            raise SystemExit("the added article was not answered")
        await asyncio.sleep(1)
        new.unlink()
        new.parent.rmdir()
        started = time.perf_counter()
        removed = await conversation.reload("the folder watch", changed=frozenset({name}))
        removed_s = time.perf_counter() - started
        await asyncio.sleep(1)
        started = time.perf_counter()
        manual = await conversation.reload("/reload")
        manual_s = time.perf_counter() - started
        await asyncio.sleep(1)
        lag = await watch.stop()
    print(
        f"watch reload after one added file: swapped in {swapped * 1000:.0f} ms, answered "
        f"from it {answered * 1000:.0f} ms after the reload began ({added.summary()}); "
        f"removed: {removed_s * 1000:.0f} ms ({removed.summary()}); /reload (every file's "
        f"stat compared): {manual_s * 1000:.0f} ms ({manual.summary()}); "
        f"event loop meanwhile: {lag}",
        flush=True,
    )


async def compaction_phase(load: Load, conversation: Conversation, readers: int) -> None:
    """Merge the segments in a background thread under load (as the bot does)."""
    assert conversation.folders is not None
    cache = conversation.folders[1]
    snapshot = conversation.library.current.index.built.origin
    assert isinstance(snapshot, snapshots.Snapshot)

    def merge() -> float:
        started = time.perf_counter()
        result = snapshots.compact(cache, snapshot)
        for segment in result.new_segments:  # measured, not kept: the state stays as it was
            remove(segment.folder)
        return time.perf_counter() - started

    async with load.running(conversation, readers) as watch:
        await asyncio.sleep(1)
        took = await asyncio.to_thread(merge)  # a thread beside the search threads
        await asyncio.sleep(1)
        lag = await watch.stop()
    print(f"segments merged in the background in {took:.1f} s; event loop meanwhile: {lag}")


async def main_async(args: argparse.Namespace) -> None:
    folders = None
    if args.articles:
        folders = (
            args.articles,
            args.cache or args.articles.with_name(args.articles.name + "-cache"),
        )
    started = time.perf_counter()
    if folders is not None:
        library, done = real(*folders, args.model)
    else:
        library, done = Library.of(synthetic(args.passages)), "indexed"
    settle_memory()  # as `newsbot run` does after loading
    passages = library.collection.passages
    print(f"{len(passages)} passages {done} in {time.perf_counter() - started:.1f} s", flush=True)
    # The bot's search threads: one per CPU (as handlers/app.py makes them).
    searches = ThreadPoolExecutor(default_workers(), "search")
    if folders is not None:
        asked = titles(library.collection, args.questions)
    else:
        asked = questions([p.text for p in passages], args.questions)
    with tempfile.TemporaryDirectory() as tmp:
        log = ConversationLog(Path(tmp) / "log.sqlite3")
        await log.open()
        load = Load(log, asked)
        runs: list[tuple[str, Executor]] = [
            ("search in a worker thread (the bot)", searches),
            ("search on the event loop (for comparison)", OnTheLoop()),
        ]
        for label, executor in runs:
            conversation = Conversation(library, MemoryState(), searches=executor)
            rate, lag = await load.answer_all(conversation, args.workers)
            print(f"{label}: {rate:.0f} questions/s; event loop {lag}", flush=True)
        if folders is not None:
            conversation = Conversation(library, MemoryState(), folders=folders, searches=searches)
            await reload_phase(load, conversation, args.workers)
            await compaction_phase(load, conversation, args.workers)
        tables = await row_counts(log)
        await log.close()
    print(f"log rows: {tables['messages']} messages for {load.answered} questions asked")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--questions", type=int, default=5000)
    parser.add_argument(
        "--articles", type=Path, help="a real articles folder, loaded via the cache"
    )
    parser.add_argument("--cache", type=Path, help="its index cache (default: FOLDER-cache)")
    parser.add_argument("--workers", type=int, default=50, help="concurrent readers")
    parser.add_argument(
        "--model", default="none", help="with --articles: NEWSBOT_MODEL (default: none)"
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
