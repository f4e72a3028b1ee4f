"""The pending file: log rows that could not be written before shutdown, written on the next
start (`<db>.pending.jsonl` beside a SQLite file). One JSON row per line, owner-only."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from bot.storage.engine import DatabaseError
from bot.storage.rows import Row, row_from_json, row_to_json

log = logging.getLogger(__name__)


def save(path: Path, rows: Sequence[Row]) -> bool:
    """Append `rows` to the file; False (logged) when it cannot be written either."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.writelines(row_to_json(row) + "\n" for row in rows)
    except OSError as exc:
        log.error("Could not write %d log row(s) anywhere: %s", len(rows), exc)
        return False
    log.warning(
        "Log database unwritable: saved %d row(s) to %s; they are written on the next start",
        len(rows),
        path,
    )
    return True


def take(path: Path) -> list[Row]:
    """The rows saved in the file, which is removed; none when there is no readable file."""
    if not path.exists():
        return []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        rows = [row_from_json(line) for line in lines if line.strip()]
        path.unlink()
    except (OSError, ValueError, TypeError, KeyError) as exc:
        log.error("Could not read saved log rows from %s: %s", path, exc)
        return []
    log.info("Restored %d saved log row(s) from %s", len(rows), path)
    return rows


def forget(path: Path, user_id: int) -> int:
    """Drop a user's rows from the file, if one is left (it was unreadable at start): it is
    a copy of the log too. The rows dropped; DatabaseError if it cannot be rewritten."""
    if not path.exists():
        return 0
    kept, dropped = [], 0
    try:
        for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
            try:
                mine = row_from_json(line).user_id == user_id
            except (ValueError, TypeError, KeyError):
                mine = False  # unreadable as a row: kept as it was
            dropped += mine
            if not mine:
                kept.append(line)
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.writelines(kept)
    except OSError as exc:
        raise DatabaseError(f"cannot rewrite {path}: {exc}") from None
    return dropped
