"""The log database itself: opening it (SQLite or PostgreSQL) and migrating it.

Runnable on its own (`migrate_database`), without starting the writer; reports never
migrate: they read a log as it is (`reader`, `check_log`). The migrations are schema.py's.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import asyncpg

from bot.storage.engine import (
    DRIVER_ERRORS,
    OPEN_ERRORS,
    Database,
    DatabaseError,
    Dialect,
    PostgresSql,
    Sql,
    SqliteSql,
    is_url,
    redact_url,
)
from bot.storage.schema import (
    LOCK_NAMESPACE,
    MIGRATIONS,
    migrate,
)

log = logging.getLogger(__name__)


# -- SQLite -----------------------------------------------------------------------------------


def _create_owner_only(path: Path) -> None:
    """A new log file is readable by its owner only: it holds what readers wrote. A folder
    is refused here: aiosqlite's failed open would leave its thread to report into an event
    loop that may be closed by then (a traceback at exit)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "it is a folder", str(path))
    if not path.exists():
        path.touch(mode=0o600)


async def connect(path: Path) -> aiosqlite.Connection:
    """The writer's connection: the file created owner-only if new, migrated, WAL mode.

    Raises DatabaseError naming the file when it cannot be used at all.
    """
    try:
        _create_owner_only(path)
    except OSError as exc:  # under a file, an unwritable folder, a name too long...
        raise DatabaseError(f"cannot create the log database {path}: {exc.strerror}") from None
    db: aiosqlite.Connection | None = None
    try:
        db = await aiosqlite.connect(path, isolation_level=None)
        await db.execute("PRAGMA busy_timeout = 2000")
        await db.execute("PRAGMA foreign_keys = ON")
        # Deleted rows (/forget, retention) are overwritten with zeros, not left in free pages.
        await db.execute("PRAGMA secure_delete = ON")
        with contextlib.suppress(aiosqlite.OperationalError):  # read-only: keep going
            await db.execute("PRAGMA journal_mode = WAL")
        applied = await migrate(SqliteSql(db))
    except aiosqlite.DatabaseError as exc:
        if db is not None:
            with contextlib.suppress(Exception):
                await db.close()
        raise DatabaseError(f"cannot open the log database {path}: {exc}") from None
    if applied:
        log.info("Log database %s: applied %s", path, ", ".join(applied))
    return db


class SqliteDatabase(Database):
    """One file; one writer connection, and a connection of its own for each read (WAL
    lets it read while the writer writes)."""

    dialect: Dialect = "sqlite"

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = path
        self.name = str(path)
        self.raw: aiosqlite.Connection | None = None
        # Reports: every read connection opened read-only by SQLite itself (mode=ro).
        self.readonly = readonly

    async def open(self) -> list[str]:
        self.raw = await connect(self.path)
        return []

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Sql]:
        if self.raw is None:
            raise DatabaseError(f"the log database {self.path} is not open")
        await self.raw.execute("BEGIN IMMEDIATE")
        try:
            yield SqliteSql(self.raw)
            await self.raw.commit()
        except BaseException:
            with contextlib.suppress(Exception):
                await self.raw.rollback()
            raise

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[Sql]:
        if not self.path.is_file():  # connecting would create an empty database
            raise DatabaseError(f"there is no conversation log at {self.path} yet")
        try:
            if self.readonly:
                uri = f"{self.path.resolve().as_uri()}?mode=ro"
                db = await aiosqlite.connect(uri, timeout=5, uri=True)
            else:
                db = await aiosqlite.connect(self.path, timeout=5)
        except aiosqlite.Error as exc:
            raise DatabaseError(f"cannot read the log database {self.path}: {exc}") from None
        try:
            await db.execute("PRAGMA query_only = 1")
            if not self.readonly:  # (reports check the file with check_log)
                # Fails early, with the file named, on a file that is not a migrated log.
                await db.execute("SELECT bot_message_id FROM replies LIMIT 0")
            yield SqliteSql(db)
        except aiosqlite.Error as exc:  # also from the reports run on it
            raise DatabaseError(f"cannot read the log database {self.path}: {exc}") from None
        finally:
            await db.close()

    async def after_delete(self) -> None:
        """Copy the write-ahead log into the file and empty it: after a deletion, the WAL
        still holds the deleted rows' old pages until then."""
        if self.raw is None:
            return
        try:
            await self.raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except aiosqlite.Error as exc:  # e.g. busy: the next checkpoint copies them over
            log.warning("Could not checkpoint the log after a deletion: %s", exc)

    async def close(self) -> None:
        if self.raw is not None:
            with contextlib.suppress(Exception):
                await self.raw.close()
            self.raw = None


# -- PostgreSQL -------------------------------------------------------------------------------

POOL_SIZE = 8


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Return a connection to the pool as it is. asyncpg's default reset (unlock advisory
    locks, UNLISTEN, RESET ALL) costs a round trip per statement run through the pool
    (8% of an instance's CPU in bench_scale), and the pool's connections hold no session
    state: locks are transaction-scoped there, LISTEN is on the instance's own connection."""


class PostgresDatabase(Database):
    """A server shared by every instance: a small pool of connections per instance."""

    dialect: Dialect = "postgresql"

    def __init__(self, url: str, pool_size: int = POOL_SIZE) -> None:
        self.url = url
        self.name = redact_url(url)
        self.pool_size = pool_size
        self.pool: asyncpg.Pool | None = None

    async def open(self) -> list[str]:
        try:
            self.pool = await asyncpg.create_pool(
                self.url,
                min_size=1,
                max_size=self.pool_size,
                timeout=10,
                command_timeout=30,
                reset=_keep_session,
            )
            async with self.pool.acquire() as conn:
                await conn.execute("SELECT pg_advisory_lock($1, $2)", LOCK_NAMESPACE, 1)
                try:
                    applied = await migrate(PostgresSql(conn))
                finally:
                    await conn.execute("SELECT pg_advisory_unlock($1, $2)", LOCK_NAMESPACE, 1)
        except OPEN_ERRORS as exc:
            await self.close()
            raise DatabaseError(f"cannot open the log database {self.name}: {exc}") from None
        if applied:
            log.info("Log database %s: applied %s", self.name, ", ".join(applied))
        return applied

    def _pool(self) -> asyncpg.Pool:
        if self.pool is None:
            raise DatabaseError(f"the log database {self.name} is not open")
        return self.pool

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Sql]:
        async with self._pool().acquire() as conn, conn.transaction():
            yield PostgresSql(conn)

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[Sql]:
        try:
            async with self._pool().acquire() as conn:
                yield PostgresSql(conn)
        except DRIVER_ERRORS as exc:
            raise DatabaseError(f"cannot read the log database {self.name}: {exc}") from None

    async def close(self) -> None:
        if self.pool is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.pool.close(), 10)
            self.pool = None


async def migrate_database(target: str | Path) -> None:
    """Bring an existing log to the current schema, and nothing else (no writer)."""
    database = database_for(target)
    try:
        await database.open()
    finally:
        await database.close()


async def check_log(db: Sql, name: str) -> None:
    """Raise DatabaseError unless `db` is a newsbot log at the current schema: reports and
    copies read a log as it is, they never create tables in it or migrate it."""
    try:
        applied = {row[0] for row in await db.fetch("SELECT name FROM _migrations")}
    except DRIVER_ERRORS:
        applied = set()
    if MIGRATIONS[0][0] not in applied:
        raise DatabaseError(f"{name} is not a newsbot conversation log")
    if any(migration not in applied for migration, _ in MIGRATIONS):
        raise DatabaseError(
            f"{name} is the conversation log of an older newsbot: "
            "start the bot on it once (newsbot run) to update it"
        )


@contextlib.asynccontextmanager
async def reader(target: str | Path) -> AsyncIterator[Sql]:
    """A read-only connection for reports, on a newsbot log at the current schema (checked):
    nothing is created, migrated or written (SQLite mode=ro; read-only PostgreSQL
    transactions)."""
    database = database_for(target)
    if isinstance(database, PostgresDatabase):
        try:
            database.pool = await asyncpg.create_pool(
                database.url,
                min_size=1,
                max_size=1,
                server_settings={"default_transaction_read_only": "on"},
            )
        except OPEN_ERRORS as exc:
            raise DatabaseError(f"cannot read the log database {database.name}: {exc}") from None
    elif isinstance(database, SqliteDatabase):
        database.readonly = True
    try:
        async with database.read() as db:
            await check_log(db, database.name)
            yield db
    finally:
        await database.close()


def database_for(target: str | Path) -> Database:
    """The database a NEWSBOT_DB value names: a PostgreSQL URL, else a SQLite file."""
    if is_url(target):
        return PostgresDatabase(str(target))
    return SqliteDatabase(Path(target))
