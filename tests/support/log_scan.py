"""Where a reader's words survive: every column of every table of a log database, found
through the database's own catalog, and every file under a folder.

`find_in_tables` works on any DB-API connection; only the catalog query is per dialect
(`sqlite_columns`, `postgres_columns`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

Columns = Callable[[Any], list[tuple[str, str]]]


def sqlite_columns(db: sqlite3.Connection) -> list[tuple[str, str]]:
    """(table, column) of every table, from sqlite_master and PRAGMA table_info."""
    tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return [(t, column[1]) for t in tables for column in db.execute(f'PRAGMA table_info("{t}")')]


def postgres_columns(db: Any) -> list[tuple[str, str]]:
    """(table, column) of every table of the public schema, from information_schema."""
    cursor = db.cursor()
    cursor.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
    )
    return [(str(t), str(c)) for t, c in cursor.fetchall()]


def find_in_tables(
    db: Any, needles: Iterable[str], columns: Columns = sqlite_columns
) -> list[tuple[str, str, str]]:
    """(table, column, needle) wherever a stored value contains one of `needles`."""
    wanted = list(needles)
    found = []
    for table, column in columns(db):
        cursor = db.cursor()
        cursor.execute(f'SELECT "{column}" FROM "{table}"')
        values = [v for (v,) in cursor.fetchall() if isinstance(v, str | bytes)]
        for needle in wanted:
            if any(needle in (v if isinstance(v, str) else v.decode("utf-8", "replace"))
                   for v in values):  # fmt: skip
                found.append((table, column, needle))
    return found


def find_in_files(folder: Path, needles: Iterable[str]) -> list[tuple[str, str]]:
    """(file, needle) for every file under `folder` whose bytes contain a needle (UTF-8)."""
    wanted = [(n, n.encode("utf-8")) for n in needles]
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found += [(str(path.relative_to(folder)), n) for n, raw in wanted if raw in data]
    return found
