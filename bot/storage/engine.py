"""The two databases the log can live in, behind one small connection interface.

`Sql` runs one statement on one connection, SQLite (aiosqlite) or PostgreSQL (asyncpg);
statements are written once with `?` placeholders and PostgreSQL's `$1, $2...` are made
from them. `Database` is where the log is: it opens, migrates, hands out a connection for a
write transaction or for reading, and closes. The concrete databases are in databases.py;
the statements in schema.py, queries.py, reports.py and instances.py.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import aiosqlite
import asyncpg

Dialect = Literal["sqlite", "postgresql"]
# What the drivers raise when the database cannot be used; the writer turns them into
# DatabaseError (and keeps its rows queued).
DRIVER_ERRORS: tuple[type[BaseException], ...] = (
    sqlite3.Error,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    OSError,
    TimeoutError,
)
# Opening also fails on a URL asyncpg cannot parse.
OPEN_ERRORS: tuple[type[BaseException], ...] = (*DRIVER_ERRORS, ValueError)


class DatabaseError(Exception):
    """The log database cannot be used (not a database, locked, read-only, unreachable...)."""


def is_url(target: str | Path) -> bool:
    """A PostgreSQL URL rather than a SQLite file path."""
    return str(target).startswith(("postgresql://", "postgres://"))


def redact_url(url: str) -> str:
    """The URL without its password, to name the database in messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()


@lru_cache(maxsize=512)
def numbered(sql: str) -> str:
    """`?` placeholders as PostgreSQL's `$1, $2...` (our statements hold no literal `?`)."""
    count = iter(range(1, 1000))
    return re.sub(r"\?", lambda _: f"${next(count)}", sql)


class Sql(ABC):
    """One connection: run a statement, many, or read rows."""

    dialect: Dialect

    @abstractmethod
    async def execute(self, sql: str, *args: object) -> int:
        """Run a statement; the number of rows it changed."""

    @abstractmethod
    async def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        """Run a statement once per row of arguments."""

    @abstractmethod
    async def fetch(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        """All rows of a query."""

    @abstractmethod
    def stream(self, sql: str, *args: object) -> AsyncIterator[dict[str, Any]]:
        """The rows of a query one at a time, by column name."""

    @abstractmethod
    async def script(self, sql: str) -> None:
        """Several statements separated by semicolons (migrations)."""

    async def scalar(self, sql: str, *args: object) -> Any:
        rows = await self.fetch(sql, *args)
        return rows[0][0] if rows else None


class SqliteSql(Sql):
    dialect: Dialect = "sqlite"

    def __init__(self, db: aiosqlite.Connection) -> None:
        self.db = db

    async def execute(self, sql: str, *args: object) -> int:
        cursor = await self.db.execute(sql, args)
        count = cursor.rowcount
        await cursor.close()
        return max(count, 0)

    async def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        if rows:
            await self.db.executemany(sql, rows)

    async def fetch(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        async with self.db.execute(sql, args) as cursor:
            return [tuple(row) for row in await cursor.fetchall()]

    async def stream(self, sql: str, *args: object) -> AsyncIterator[dict[str, Any]]:
        async with self.db.execute(sql, args) as cursor:
            names = [column[0] for column in cursor.description]
            async for row in cursor:
                yield dict(zip(names, row, strict=True))

    async def script(self, sql: str) -> None:
        # One statement at a time: executescript would commit the migration's transaction.
        for statement in sql.split(";"):
            if statement.strip():
                await self.db.execute(statement)


class PostgresSql(Sql):
    dialect: Dialect = "postgresql"

    def __init__(self, db: asyncpg.Connection) -> None:
        self.db = db

    async def execute(self, sql: str, *args: object) -> int:
        status = await self.db.execute(numbered(sql), *args)
        last = str(status).rsplit(" ", 1)[-1]
        return int(last) if last.isdigit() else 0

    async def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        if rows:
            await self.db.executemany(numbered(sql), rows)

    async def fetch(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in await self.db.fetch(numbered(sql), *args)]

    async def stream(self, sql: str, *args: object) -> AsyncIterator[dict[str, Any]]:
        async with self.db.transaction(readonly=True):
            async for row in self.db.cursor(numbered(sql), *args):
                yield dict(row.items())

    async def script(self, sql: str) -> None:
        await self.db.execute(sql)


class Database(ABC):
    """Where the log is. `name` says it in messages (never with a password)."""

    dialect: Dialect
    name: str

    @abstractmethod
    async def open(self) -> list[str]:
        """Connect and migrate (DatabaseError when unusable); the migrations applied."""

    @abstractmethod
    def transaction(self) -> contextlib.AbstractAsyncContextManager[Sql]:
        """A connection inside one write transaction, committed when the block ends."""

    @abstractmethod
    def read(self) -> contextlib.AbstractAsyncContextManager[Sql]:
        """A connection for reading (reports, reader state lookups)."""

    async def after_delete(self) -> None:  # noqa: B027 (most databases keep no copy to drop)
        """After /forget or retention deleted rows: drop copies the database keeps."""

    @abstractmethod
    async def close(self) -> None:
        """Release every connection."""
