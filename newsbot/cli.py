"""The `newsbot` command line: ask, sources, chat, run, index, eval, stats, export,
migrate-log, import, dashboard."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from bot.articles import load_collection
from bot.collection.cache import Loaded, size_on_disk
from bot.collection.snapshots import Progress
from bot.config import Settings, StartupError
from bot.conversation.render import render_text, to_json
from bot.i18n.catalogs import for_reader, languages, locale_language, negotiate
from bot.retrieval.answer import answer
from bot.runtime.library import load_articles, open_library, open_library_to_serve
from bot.runtime.services import terminal_conversation
from bot.serving.library import Library
from bot.text import plural
from newsbot.dashboard import dashboard
from newsbot.log_tools import export, migrate_log, stats
from newsbot.options import Bars, GivenPath, fail, settings_from
from newsbot.terminal import chat_loop

log = logging.getLogger("newsbot")

NO_TOKEN = (
    "No Telegram token is set: put TELEGRAM_BOT_TOKEN in .env (see .env.example), "
    "or try the bot in this terminal with: newsbot chat"
)


def loaded_from(
    settings: Settings,
    progress: Progress | None = None,
    force: bool = False,
    compact: bool = True,
) -> Loaded:
    """`load_articles`, or exit with its one line."""
    try:
        return load_articles(settings, progress=progress, force=force, compact=compact)
    except StartupError as exc:
        fail(str(exc))


def library_from(
    settings: Settings, semantic: str = "now", progress: Progress | None = None
) -> Library:
    """`open_library`, or exit with its one line."""
    try:
        return open_library(settings, semantic=semantic, progress=progress)
    except StartupError as exc:
        fail(str(exc))


articles_option = click.option(
    "--articles",
    type=GivenPath(path_type=Path),
    default=None,
    help="Articles folder (overrides NEWSBOT_ARTICLES_DIR).",
)


lang_option = click.option(
    "--lang",
    default=None,
    metavar="LANG",
    help="Language of the bot's own lines (en, de; de_DE.UTF-8 works too); "
    "default: the locale (LC_ALL, LC_MESSAGES, LANG), else the question's.",
)


def reader_language(lang: str | None) -> str | None:
    """The terminal reader's language: `--lang` (one the bot speaks, or exit 2), else the
    locale's (negotiated like a Telegram reader's language_code)."""
    if lang is None:
        return locale_language()
    if negotiate(lang) is None:
        fail(f"--lang {lang}: newsbot speaks {', '.join(languages())}")
    return lang


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newsbot")
def main() -> None:
    """newsbot answers questions about news articles with verbatim, sourced passages."""


@main.command()
@click.argument("question", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per question).")
@articles_option
@lang_option
def ask(question: tuple[str, ...], as_json: bool, articles: Path | None, lang: str | None) -> None:
    """Answer QUESTION; with "-", answer one question per line of standard input."""
    language = reader_language(lang)
    settings = settings_from(articles)
    index = library_from(settings).current.index
    text = " ".join(question)
    for q in _questions(text):
        result = answer(index, q, settings.top_k, hint=language)
        if as_json:
            click.echo(json.dumps(to_json(result), ensure_ascii=False))
        else:
            tr = for_reader(language, result.language)
            if text == "-":
                # TRANSLATORS: before each question of `newsbot ask -` (Q for question).
                click.echo(tr.gettext("Q: {question}").format(question=q))
            click.echo(render_text(result, tr))
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
    collection = library_from(settings_from(articles), semantic="off").collection
    counts: dict[str, int] = {}
    for passage in collection.passages:
        counts[passage.article.id] = counts.get(passage.article.id, 0) + 1
    rows = [
        {
            "number": n,
            "id": a.id,
            "title": a.title,
            "published": a.published,
            "passages": counts.get(a.id, 0),
        }
        for n, a in enumerate(collection.articles, start=1)
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        date = f"  {row['published']}" if row["published"] else ""
        click.echo(
            f"{row['number']:>4}. {row['title']}  "
            f"[{row['id']}, {plural(int(row['passages'] or 0), 'passage')}]{date}"
        )


@main.command(name="index")
@click.option("--force", is_flag=True, help="Rebuild even if the cache is current.")
@articles_option
def index_command(force: bool, articles: Path | None) -> None:
    """Build the search index cache ahead of time and print a summary."""
    settings = settings_from(articles)
    started = time.perf_counter()
    with Bars() as bars:
        loaded = loaded_from(settings, progress=bars.update, force=force)
        took = time.perf_counter() - started
        library = library_from(settings, progress=bars.update) if loaded.indexes else None
    collection, indexes = loaded.collection, loaded.indexes
    assert indexes is not None  # loaded_from exits without articles
    assert library is not None
    click.echo(
        f"{loaded.status.capitalize()} the index of {plural(len(collection.articles), 'article')} "
        f"({plural(len(collection.passages), 'passage')}, {len(collection.skipped)} skipped, "
        f"{plural(indexes.passages.term_count, 'term')}) in {took:.2f} s "
        f"({plural(loaded.read, 'file')} read); {size_on_disk(loaded.folder) / 1e6:.1f} MB "
        f"in {loaded.folder}"
    )
    semantic = library.semantic
    if semantic is None:
        click.echo(f"No semantic stage (NEWSBOT_MODEL={settings.model}): answers are lexical.")
    else:
        progress, store = semantic.progress(), semantic.space.store
        seconds = time.perf_counter() - started - took
        click.echo(
            f"Semantic stage: {progress.summary()} in {seconds:.1f} s; "
            f"model {semantic.space.encoder.folder}, {len(store):,} vectors "
            f"({store.nbytes / 1e6:.1f} MB)"
        )


@main.command(name="eval")
@click.argument(
    "cases_files", nargs=-1, type=GivenPath(path_type=Path, dir_okay=False, exists=True)
)
@click.option(
    "--known-items",
    type=GivenPath(path_type=Path, file_okay=False),
    help="Also run known-item search over this folder (headline as query).",
)
@click.option("--misses", is_flag=True, help="List the questions newsbot got wrong.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@articles_option
def eval_command(
    cases_files: tuple[Path, ...],
    known_items: Path | None,
    misses: bool,
    as_json: bool,
    articles: Path | None,
) -> None:
    """Measure answer quality on CASES_FILES (JSONL) and/or known-item search: what readers
    are shown, the raw ranking, and a plain BM25 baseline, in the same run."""
    from bot.retrieval import evaluate

    if not cases_files and known_items is None:
        fail("give CASES_FILES (JSONL) and/or --known-items DIR")
    try:
        cases = {path: evaluate.load_cases(path) for path in cases_files}
    except (OSError, ValueError) as exc:
        fail(str(exc))
    reports = []
    library = library_from(settings_from(articles))
    if cases:
        index = library.current.index
        reports += [evaluate.qa_report(path, found, index) for path, found in cases.items()]
    if known_items is not None:
        collection = load_collection(known_items)
        if not collection.passages:
            fail(f"no articles found in {known_items}")
        prepare = library.semantic.attach if library.semantic is not None else None
        reports.append(evaluate.known_item_report(known_items, collection, prepare))
    if as_json:
        click.echo(json.dumps({r.name: r.figures() for r in reports}, indent=2))
        return
    for report in reports:
        click.echo(report.text(misses))
        click.echo()


for command in (stats, export, migrate_log, dashboard):
    main.add_command(command)


@main.command(name="import")
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per article.")
@articles_option
def import_command(sources: tuple[str, ...], as_json: bool, articles: Path | None) -> None:
    """Import articles from web pages, RSS/Atom feeds (URLs) or local .html files."""
    from bot.ingest.imports import run_import, usage_problem

    if problem := usage_problem(sources, articles):
        fail(problem)
    settings = settings_from(articles)

    def report(result: Any) -> None:
        click.echo(json.dumps(result.as_json(), ensure_ascii=False) if as_json else result.line())

    sys.exit(run_import(settings, sources, report))


@main.command()
@articles_option
@lang_option
def chat(articles: Path | None, lang: str | None) -> None:
    """Talk to the bot in this terminal: questions and /help, /sources, /source N."""
    language = reader_language(lang)
    settings = settings_from(articles)
    library = library_from(settings, semantic="background")
    chat_loop(terminal_conversation(settings, library), language)


@main.command()
@articles_option
def run(articles: Path | None) -> None:
    """Start the Telegram bot (long polling, or a webhook); without a token, the terminal chat."""
    settings = settings_from(articles)
    if settings.token is None:
        if sys.stdin.isatty() and not os.environ.get("CI"):
            click.echo(f"{NO_TOKEN}.\nStarting the terminal chat now.\n", err=True)
            library = library_from(settings, semantic="background")
            chat_loop(terminal_conversation(settings, library), locale_language())
            return
        fail(NO_TOKEN)
    # The composition root: the only place the core hands over to the Telegram layer.
    from handlers.app import run_bot

    try:
        run_bot(settings, open_library_to_serve(settings))
    except StartupError as exc:
        fail(str(exc))
