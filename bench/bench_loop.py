"""Event-loop blocking benchmark: retrieval and logging under load, without Telegram.

    python -m bench.bench_loop --passages 100000 --questions 5000

Builds the real SearchIndex over a synthetic collection, then answers questions from many
concurrent tasks the way the handlers do (search in a worker thread, turn queued for the
batched SQLite writer) while a LoopWatch measures how late the event loop runs its timers.
Prints the lag with the search off the loop (as the bot does) and, for comparison, on it.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.corpus import generate, questions
from bot.articles import Article, Collection, passages_of
from bot.chat import Newsroom
from bot.library import Library
from bot.loopwatch import LoopWatch
from bot.reload import settle_memory
from bot.state import ConversationKey, MemoryState
from bot.storage import ChatRow, ConversationLog, Turn, UserRow, row_counts
from bot.text import default_workers

PER_ARTICLE = 10


def collection(size: int) -> Collection:
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


class OnTheLoop(Executor):
    """Runs each call at once, in the calling (event loop) thread: the comparison case."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


async def load(
    room: Newsroom, log: ConversationLog, asked: list[str], workers: int
) -> tuple[float, str]:
    watch = LoopWatch()
    watch.start()
    queue = list(asked)

    async def worker(n: int) -> None:
        while queue:
            question = queue.pop()
            started = time.perf_counter()
            reply = await room.ask(question, ConversationKey(n, n))
            result = reply.answer
            log.record(
                Turn(
                    chat=ChatRow(n, "private"),
                    user=UserRow(n),
                    text=question,
                    kind="question",
                    reply="\n".join(reply.messages),
                    answered=bool(result and result.answered),
                    latency_ms=(time.perf_counter() - started) * 1000,
                    hits=result.hit_rows() if result else (),
                )
            )
            await asyncio.sleep(0)

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(workers)))
    elapsed = time.perf_counter() - started
    assert await log.flush()
    return len(asked) / elapsed, str(await watch.stop())


async def main_async(args: argparse.Namespace) -> None:
    built = time.perf_counter()
    corpus = collection(args.passages)
    library = Library.of(corpus)
    settle_memory()  # as `newsbot run` does after loading
    print(f"{len(corpus.passages)} passages indexed in {time.perf_counter() - built:.1f} s")
    # The bot's search threads: one per CPU (as handlers/app.py makes them).
    searches = ThreadPoolExecutor(default_workers(), "search")
    asked = questions([p.text for p in corpus.passages], args.questions)
    with tempfile.TemporaryDirectory() as tmp:
        log = ConversationLog(Path(tmp) / "log.sqlite3")
        await log.open()
        runs: list[tuple[str, Executor]] = [
            ("search in a worker thread (the bot)", searches),
            ("search on the event loop (for comparison)", OnTheLoop()),
        ]
        for label, executor in runs:
            room = Newsroom(library, MemoryState(), searches=executor)
            rate, lag = await load(room, log, asked, args.workers)
            print(f"{label}: {rate:.0f} questions/s; event loop {lag}")
        tables = await row_counts(log)
        await log.close()
    print(f"log rows: {tables['messages']} messages for {2 * len(asked)} questions asked")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--questions", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=50)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
