"""The pending file: log rows that could not be written before shutdown, written on the next
start (`<db>.pending.jsonl` beside a SQLite file). One JSON row per line, owner-only."""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bot.storage.engine import DatabaseError
from bot.storage.rows import Row, row_from_json, row_to_json
from bot.text import plural

log = logging.getLogger(__name__)


def save(path: Path, rows: Sequence[Row]) -> bool:
    """Append `rows` to the file; False (logged) when it cannot be written either."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.writelines(row_to_json(row) + "\n" for row in rows)
    except OSError as exc:
        log.error("Could not write %s anywhere: %s", plural(len(rows), "log row"), exc)
        return False
    log.warning(
        "Log database unwritable: saved %s to %s; they are written on the next start",
        plural(len(rows), "row"),
        path,
    )
    return True


def take(path: Path) -> list[Row]:
    """The rows saved in the file, which is removed; none when there is no readable file.

    A line that is not a whole row (a power cut mid-write) costs only itself: it is moved to
    a side file of its own (`<db>.pending.bad-<time>.jsonl`) and the other rows are kept.
    """
    if not path.exists():
        return []
    try:
        rows, bad = _parse(path.read_bytes())
        if bad:
            aside = _set_aside(path, bad)
            log.error(
                "Pending log rows in %s: set %s aside in %s",
                path,
                plural(len(bad), "unreadable line"),
                aside,
            )
        path.unlink()
    except OSError as exc:
        log.error("Could not read saved log rows from %s: %s", path, exc)
        return []
    log.info("Restored %s from %s", plural(len(rows), "saved log row"), path)
    return rows


def _parse(data: bytes) -> tuple[list[Row], list[bytes]]:
    """The rows of the file, and the lines that are not rows (each read on its own: a
    broken one, even mid-character, spoils no other)."""
    rows, bad = [], []
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            rows.append(row_from_json(line.decode("utf-8")))
        except (ValueError, TypeError, KeyError, AttributeError):
            bad.append(line)
    return rows, bad


def _set_aside(path: Path, lines: list[bytes]) -> Path:
    """Write `lines` to a new owner-only side file beside `path` (never over another
    file); its path."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for n in itertools.count():
        aside = path.with_name(f"{path.stem}.bad-{stamp}{f'-{n}' if n else ''}.jsonl")
        try:
            fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as out:
            out.writelines(line + b"\n" for line in lines)
        return aside
    raise AssertionError("unreachable")


def forget(path: Path, user_id: int) -> int:
    """Drop a user's rows from the file, if one is left (it was unreadable at start): it is
    a copy of the log too. The rows dropped; DatabaseError if it cannot be rewritten."""
    if not path.exists():
        return 0
    kept: list[bytes] = []
    dropped = 0
    try:
        for line in path.read_bytes().splitlines(keepends=True):
            try:
                mine = row_from_json(line.decode("utf-8")).user_id == user_id
            except (ValueError, TypeError, KeyError, AttributeError):
                mine = False  # unreadable as a row: kept as it was
            dropped += mine
            if not mine:
                kept.append(line)
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.writelines(kept)
    except OSError as exc:
        raise DatabaseError(f"cannot rewrite {path}: {exc}") from None
    return dropped
