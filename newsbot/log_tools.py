"""The `newsbot` commands that read or move the conversation log: stats, export, migrate-log."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import dataclasses
import json
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TextIO

import click

from bot.articles import load_collection
from bot.config import Settings, configure_logging
from bot.text import plural
from newsbot.options import GivenPath, fail, settings_from


def _log_path(settings: Settings) -> str:
    """The log database (a file or a URL), or exit when there is none. Reports read it as
    it is: opened read-only and checked (databases.reader), never created or migrated."""
    if settings.db_url is None and not settings.db_path.is_file():
        fail(
            f"there is no conversation log at {settings.db_path} yet "
            "(set NEWSBOT_DB, or run the bot first)"
        )
    return settings.database


@click.command()
@click.option("--chart", type=GivenPath(path_type=Path, dir_okay=False), help="Write a PNG chart.")
@click.option("--days", type=click.IntRange(1, 366), default=30, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def stats(chart: Path | None, days: int, as_json: bool) -> None:
    """Questions, share answered, top (unanswered) questions, feedback, cited articles."""
    from bot.conversation.report import chart_png, stats_text
    from bot.storage import DatabaseError, LogStats, read_stats, reader

    settings = settings_from(None)
    path = _log_path(settings)

    async def read() -> LogStats:
        async with reader(path) as db:
            return await read_stats(db, days=days)

    try:
        report = asyncio.run(read())
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


@click.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl", "sqlite"]),
    default="csv",
    show_default=True,
    help="sqlite: a snapshot file for `newsbot dashboard` (no names).",
)
@click.option(
    "--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Only turns from DATE on."
)
@click.option(
    "--out", type=GivenPath(path_type=Path, dir_okay=False), help="Output file (default: stdout)."
)
@click.argument("file", type=GivenPath(path_type=Path, dir_okay=False), required=False)
def export(fmt: str, since: datetime | None, out: Path | None, file: Path | None) -> None:
    """Write the conversation log (questions, replies, hits, feedback) as CSV or JSON lines
    to FILE (or --out, or standard output); or, with --format sqlite, a snapshot of the log
    to FILE for `newsbot dashboard`."""
    from bot.storage import DatabaseError

    if file is not None and out is not None:
        fail("give the output file once: FILE or --out FILE")
    out = out or file
    path = _log_path(settings_from(None))
    if fmt == "sqlite":
        _snapshot(path, since, out)
        return
    try:
        with _output(out) as stream:
            count = asyncio.run(_export(path, fmt, since.date() if since else None, stream))
    except DatabaseError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {out or 'to standard output'}: {exc.strerror or exc}")
    click.echo(f"Exported {plural(count, 'turn')}{f' to {out}' if out else ''}", err=True)


def _snapshot(path: str, since: datetime | None, out: Path | None) -> None:
    """`export --format sqlite FILE`: the whole log as a SQLite snapshot, for the dashboard."""
    from bot.storage import DatabaseError, is_url
    from bot.storage.transfer import write_snapshot

    if out is None:
        fail("--format sqlite writes a file: name it (newsbot export --format sqlite FILE)")
    if since is not None:
        fail("--since does not apply to --format sqlite: a snapshot holds the whole log")
    if not out.parent.is_dir():
        fail(f"cannot write {out}: there is no folder {out.parent}")
    if not is_url(path) and out.exists() and out.resolve() == Path(path).resolve():
        fail(f"{out} is the conversation log itself: name another file")
    try:
        copied = asyncio.run(write_snapshot(path, out))
    except DatabaseError as exc:
        fail(str(exc))
    click.echo(f"Exported {plural(copied['messages'], 'message')} to {out}", err=True)


@click.command(name="migrate-log")
@click.option("--to", "target", required=True, help="postgresql://user:password@host:port/db")
@click.option(
    "--from",
    "source",
    type=GivenPath(path_type=Path, dir_okay=False),
    default=None,
    help="The SQLite log to copy (default: NEWSBOT_DB).",
)
def migrate_log(target: str, source: Path | None) -> None:
    """Copy the SQLite conversation log into a PostgreSQL database (before several
    instances share it); the target must hold no log yet."""
    from bot.storage import DatabaseError, redact_url
    from bot.storage.transfer import copy_log

    settings = settings_from(None)
    configure_logging(settings.log_level, *settings.secrets, *_password(target))
    if source is None and settings.db_url is not None:
        fail("NEWSBOT_DB is a PostgreSQL URL already: give the SQLite log with --from FILE")
    path = source or settings.db_path
    if not path.is_file():
        fail(f"there is no conversation log at {path} (give --from FILE)")
    try:
        copied = asyncio.run(copy_log(path, target))
    except DatabaseError as exc:
        fail(str(exc))
    rows = ", ".join(f"{n} {table}" for table, n in copied.items())
    click.echo(f"Copied {rows} from {path} to {redact_url(target)}")
    click.echo("Set NEWSBOT_DB to that URL and start the instances.", err=True)


@contextmanager
def _output(out: Path | None) -> Iterator[TextIO]:
    """Where the export goes: standard output; a FIFO, terminal, device or symbolic link
    as it is (its mode is not ours to change); else a new owner-only file, as the log is
    (it holds what readers wrote), written beside `out` and renamed onto it once complete:
    a failed export leaves an existing file as it was, one replaced keeps no old mode."""
    if out is None:
        yield sys.stdout
        return
    with contextlib.suppress(FileNotFoundError):
        mode = os.lstat(out).st_mode  # a link (/dev/stdout) is the operator's: not replaced
        if stat.S_ISLNK(mode) or not stat.S_ISREG(mode):
            with open(out, "w", encoding="utf-8", newline="") as stream:
                yield stream
            return
    fd, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:  # mkstemp makes it 0600
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
            yield stream
        os.replace(temporary, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


# What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection"), also after
# blanks and line breaks, which spreadsheets skip.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _defused(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula, with a leading single quote
    (which shows it as the text it is); numbers and other cells as they are."""
    if isinstance(value, str) and (
        value.startswith(FORMULA_START) or value.lstrip().startswith(FORMULA_START)
    ):
        return "'" + value
    return value


def _password(url: str) -> list[str]:
    from urllib.parse import urlsplit

    password = urlsplit(url).password if "://" in url else None
    return [password] if password else []


async def _export(path: str, fmt: str, since: date | None, stream: TextIO) -> int:
    """Write every turn from `since` on to `stream`; the number written."""
    from bot.storage import EXPORT_FIELDS, export_rows, reader

    writer = csv.DictWriter(stream, EXPORT_FIELDS) if fmt == "csv" else None
    if writer is not None:
        writer.writeheader()
    count = 0
    async with reader(path) as db:
        async for row in export_rows(db, since):
            if writer is not None:
                row = dict(row, hits=json.dumps(row["hits"], ensure_ascii=False))
                writer.writerow({key: _defused(value) for key, value in row.items()})
            else:
                stream.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count
