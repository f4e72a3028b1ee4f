"""The `newsbot` command line: ask, sources, chat, run, index, eval, stats, export."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from bot.answer import answer, html_to_text, render_text, to_json
from bot.articles import load_collection
from bot.cache import Loaded, open_library, size_on_disk
from bot.chat import Newsroom
from bot.config import ConfigError, Settings, StartupError, configure_logging, load_settings
from bot.index import SearchIndex
from bot.reload import compact_later, settle_memory
from bot.updates import Progress

log = logging.getLogger("newsbot")

NO_TOKEN = (
    "No Telegram token is set: put TELEGRAM_BOT_TOKEN in .env (see .env.example), "
    "or try the bot in this terminal with: newsbot chat"
)


def fail(message: str) -> None:
    """Print one clear line and exit with code 2 (bad setting or input)."""
    click.echo(f"newsbot: {message}", err=True)
    sys.exit(2)


def settings_from(articles: Path | None) -> Settings:
    """Settings from the environment and .env, with a command-line override of the folder."""
    overrides: dict[str, Any] = {}
    if articles is not None:
        overrides["NEWSBOT_ARTICLES_DIR"] = articles
    try:
        settings = load_settings(**overrides)
    except ConfigError as exc:
        fail(str(exc))
        raise  # unreachable: fail() exits
    configure_logging(settings.log_level, settings.token or "")
    return settings


def library_from(
    settings: Settings,
    progress: Progress | None = None,
    force: bool = False,
    compact: bool = True,
) -> Loaded:
    """The articles and their index from the cache, brought up to date with the folder (only
    new and changed files are read), or exit with a clear message when there are none."""
    folder, cache = settings.articles_dir, settings.cache_dir
    loaded = open_library(folder, cache, force=force, progress=progress, compact=compact)
    if loaded.indexes is None:
        fail(
            f"no articles found in {settings.articles_dir}: add .txt or .md files there, "
            "or point NEWSBOT_ARTICLES_DIR at your articles folder"
        )
    return loaded


def newsroom_from(settings: Settings, announce: bool = False, compact: bool = True) -> Newsroom:
    """Load the articles and the index (from the cache, reading only what changed); merge
    its segments first if they call for it, unless `compact` is false."""
    started = time.perf_counter()
    loaded = library_from(settings, compact=compact)
    collection = loaded.collection
    room = Newsroom(
        collection, top_k=settings.top_k, index=SearchIndex(collection, built=loaded.indexes)
    )
    log.log(
        logging.INFO if announce else logging.DEBUG,
        "Loaded %d articles (%d passages, %d skipped) from %s in %.0f ms "
        "(index %s, %d files read)",
        len(collection.articles),
        len(collection.passages),
        len(collection.skipped),
        settings.articles_dir,
        (time.perf_counter() - started) * 1000,
        loaded.status,
        loaded.read,
    )
    return room


articles_option = click.option(
    "--articles",
    type=click.Path(path_type=Path),
    default=None,
    help="Articles folder (overrides NEWSBOT_ARTICLES_DIR).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newsbot")
def main() -> None:
    """newsbot answers questions about news articles with verbatim, sourced passages."""


@main.command()
@click.argument("question", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per question).")
@articles_option
def ask(question: tuple[str, ...], as_json: bool, articles: Path | None) -> None:
    """Answer QUESTION; with "-", answer one question per line of standard input."""
    room = newsroom_from(settings_from(articles))
    text = " ".join(question)
    for q in _questions(text):
        result = answer(room.index, q, room.top_k)
        if as_json:
            click.echo(json.dumps(to_json(result), ensure_ascii=False))
        else:
            if text == "-":
                click.echo(f"Q: {q}")
            click.echo(render_text(result))
            if text == "-":
                click.echo()


def _questions(text: str) -> Iterator[str]:
    if text != "-":
        yield text
        return
    for line in sys.stdin:
        if line.strip():
            yield line.strip()


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@articles_option
def sources(as_json: bool, articles: Path | None) -> None:
    """List the articles: number, id, title, date, passages."""
    room = newsroom_from(settings_from(articles))
    counts: dict[str, int] = {}
    for passage in room.collection.passages:
        counts[passage.article.id] = counts.get(passage.article.id, 0) + 1
    rows = [
        {
            "number": n,
            "id": a.id,
            "title": a.title,
            "published": a.published,
            "passages": counts.get(a.id, 0),
        }
        for n, a in enumerate(room.collection.articles, start=1)
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        date = f"  {row['published']}" if row["published"] else ""
        click.echo(
            f"{row['number']:>4}. {row['title']}  [{row['id']}, {row['passages']} passages]{date}"
        )


@main.command(name="index")
@click.option("--force", is_flag=True, help="Rebuild even if the cache is current.")
@articles_option
def index_command(force: bool, articles: Path | None) -> None:
    """Build the search index cache ahead of time and print a summary."""
    settings = settings_from(articles)
    started = time.perf_counter()
    with Bars() as bars:
        loaded = library_from(settings, progress=bars.update, force=force)
    took = time.perf_counter() - started
    collection, indexes = loaded.collection, loaded.indexes
    assert indexes is not None  # library_from exits when there is no article
    click.echo(
        f"{loaded.status.capitalize()} the index of {len(collection.articles)} articles "
        f"({len(collection.passages)} passages, {len(collection.skipped)} skipped, "
        f"{indexes.passages.term_count} terms) in {took:.2f} s "
        f"({loaded.read} files read); {size_on_disk(loaded.folder) / 1e6:.1f} MB "
        f"in {loaded.folder}"
    )


class Bars:
    """Progress bars on stderr, one per stage of `open_library` (reading, indexing)."""

    def __init__(self) -> None:
        self.bars: dict[str, Any] = {}
        self.labels = {"reading": "Reading articles", "indexing": "Indexing passages"}

    def update(self, stage: str, done: int, total: int) -> None:
        bar = self.bars.get(stage)
        if bar is None:
            label = self.labels.get(stage, stage)
            bar = self.bars[stage] = click.progressbar(length=total, label=label, file=sys.stderr)
            bar.__enter__()
        bar.update(done)

    def __enter__(self) -> Bars:
        return self

    def __exit__(self, *exc: object) -> None:
        for bar in self.bars.values():
            bar.update(max(0, bar.length - bar.pos))
            bar.__exit__(None, None, None)


@main.command(name="eval")
@click.argument("cases_file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--known-items",
    type=click.Path(path_type=Path, file_okay=False),
    help="Also run known-item search over this folder (headline as query).",
)
@click.option("--misses", is_flag=True, help="List the questions newsbot got wrong.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@articles_option
def eval_command(
    cases_file: Path | None,
    known_items: Path | None,
    misses: bool,
    as_json: bool,
    articles: Path | None,
) -> None:
    """Measure answer quality on CASES_FILE (JSONL) and/or known-item search, with a baseline."""
    from bot import evaluate

    if cases_file is None and known_items is None:
        fail("give a CASES_FILE (JSONL) and/or --known-items DIR")
    output: dict[str, Any] = {}
    if cases_file is not None:
        try:
            cases = evaluate.load_cases(cases_file)
        except (OSError, ValueError) as exc:
            fail(str(exc))
        room = newsroom_from(settings_from(articles))
        results = {
            "newsbot": evaluate.evaluate_cases(evaluate.newsbot_system(room.index), cases),
            "baseline": evaluate.evaluate_cases(
                evaluate.baseline_system(room.index.passages, titles=True), cases
            ),
        }
        output["qa"] = evaluate.as_json(results)
        if not as_json:
            answerable = results["newsbot"].answerable
            click.echo(
                evaluate.report(
                    f"QA cases {cases_file} ({answerable} answerable, "
                    f"{len(cases) - answerable} not answerable)",
                    results,
                )
            )
            _print_misses(results["newsbot"], misses)
    if known_items is not None:
        collection = load_collection(known_items)
        if not collection.passages:
            fail(f"no articles found in {known_items}")
        index = SearchIndex(collection, titles=False)
        results = {
            "newsbot": evaluate.evaluate_known_items(evaluate.newsbot_ranking(index), collection),
            "baseline": evaluate.evaluate_known_items(
                evaluate.baseline_system(index.passages, titles=False), collection
            ),
        }
        output["known_items"] = evaluate.as_json(results)
        if not as_json:
            click.echo()
            click.echo(
                evaluate.report(
                    f"Known-item search {known_items} ({len(collection.articles)} articles, "
                    f"{len(collection.passages)} passages)",
                    results,
                )
            )
            _print_misses(results["newsbot"], misses, limit=20)
    if as_json:
        click.echo(json.dumps(output, indent=2))


def _print_misses(metrics: Any, show: bool, limit: int = 100) -> None:
    if show and metrics.misses:
        click.echo("newsbot misses:")
        for line in metrics.misses[:limit]:
            click.echo(f"  {line}")


def _log_path(settings: Settings) -> Path:
    """The log database, migrated to the current schema, or exit when there is none."""
    from bot.storage import ConversationLog, DatabaseError

    path = settings.db_path
    if not path.is_file():
        fail(f"there is no conversation log at {path} yet (set NEWSBOT_DB, or run the bot first)")

    async def migrate() -> None:
        log_db = ConversationLog(path)
        await log_db.open()
        await log_db.close()

    try:
        asyncio.run(migrate())
    except DatabaseError as exc:
        fail(str(exc))
    return path


@main.command()
@click.option(
    "--chart", type=click.Path(path_type=Path, dir_okay=False), help="Write a PNG chart."
)
@click.option("--days", type=click.IntRange(1, 366), default=30, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def stats(chart: Path | None, days: int, as_json: bool) -> None:
    """Questions, share answered, top (unanswered) questions, feedback, cited articles."""
    from bot.stats import chart_png, stats_text
    from bot.storage import DatabaseError, read_stats

    settings = settings_from(None)
    try:
        report = read_stats(_log_path(settings), days=days)
    except DatabaseError as exc:
        fail(str(exc))
    titles = {a.id: a.title for a in load_collection(settings.articles_dir).articles}
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(report), ensure_ascii=False, indent=2))
    else:
        click.echo(stats_text(report, titles))
    if chart is not None:
        try:
            chart.write_bytes(chart_png(report))
        except OSError as exc:
            fail(f"cannot write {chart}: {exc.strerror}")
        click.echo(f"Chart written to {chart}", err=True)


@main.command()
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True
)
@click.option(
    "--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Only turns from DATE on."
)
@click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False), help="Output file (default: stdout)."
)
def export(fmt: str, since: datetime | None, out: Path | None) -> None:
    """Write the conversation log (questions, replies, hits, feedback) as CSV or JSON lines."""
    from bot.storage import EXPORT_FIELDS, DatabaseError, export_rows

    settings = settings_from(None)
    path = _log_path(settings)
    try:
        stream = out.open("w", encoding="utf-8", newline="") if out else sys.stdout
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror}")
    count = 0
    try:
        writer = csv.DictWriter(stream, EXPORT_FIELDS) if fmt == "csv" else None
        if writer is not None:
            writer.writeheader()
        for row in export_rows(path, since.date() if since else None):
            if writer is not None:
                writer.writerow(dict(row, hits=json.dumps(row["hits"], ensure_ascii=False)))
            else:
                stream.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    except DatabaseError as exc:
        fail(str(exc))
    finally:
        if out:
            stream.close()
    click.echo(f"Exported {count} turn(s){f' to {out}' if out else ''}", err=True)


@main.command()
@articles_option
def chat(articles: Path | None) -> None:
    """Talk to the bot in this terminal: questions and /help, /sources, /source N."""
    room = newsroom_from(settings_from(articles))
    _chat_loop(room)


def _chat_loop(room: Newsroom) -> None:
    interactive = sys.stdin.isatty()
    if interactive:
        click.echo(html_to_text(room.start().messages[0]))
        click.echo("(Ctrl-D or /quit to leave.)\n")
    while True:
        try:
            line = input("you> " if interactive else "")
        except (EOFError, KeyboardInterrupt):
            click.echo()
            return
        if line.strip() in ("/quit", "/exit"):
            return
        if not line.strip():
            continue
        for message in room.handle(line, who="terminal").messages:
            click.echo(html_to_text(message))
            click.echo()


@main.command()
@articles_option
def run(articles: Path | None) -> None:
    """Start the Telegram bot (long polling); without a token, the terminal chat."""
    settings = settings_from(articles)
    if settings.token is None:
        if sys.stdin.isatty() and not os.environ.get("CI"):
            click.echo(f"{NO_TOKEN}.\nStarting the terminal chat now.\n", err=True)
            _chat_loop(newsroom_from(settings))
            return
        fail(NO_TOKEN)
    room = newsroom_from(settings, announce=True, compact=False)
    settle_memory()
    compact_later(settings.cache_dir, room.index.built)  # a grown delta: merged meanwhile
    # The composition root: the only place the core hands over to the Telegram layer.
    from handlers.app import run_bot

    try:
        run_bot(settings, room)
    except StartupError as exc:
        fail(str(exc))
