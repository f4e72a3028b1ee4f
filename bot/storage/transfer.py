"""`newsbot migrate-log`: an existing SQLite log copied into PostgreSQL, row for row; and
`newsbot export --format sqlite`: a snapshot of either into a SQLite file (no names).

The target is migrated first (the same history), must hold no log yet, and gets every row
with its id in one transaction, so a failed copy leaves it empty; its id sequences then
continue after the copied rows.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from pathlib import Path

from bot.storage.databases import PostgresDatabase, SqliteDatabase, reader
from bot.storage.engine import DRIVER_ERRORS, DatabaseError, Sql, is_url

# Parents before children (foreign keys); the reader state and claims of a one-instance
# SQLite log are not worth moving (they live in memory there).
COPIED = ("users", "chats", "messages", "replies", "hits", "feedback", "inline_queries")
SERIAL = ("messages", "replies", "inline_queries")
CHUNK = 1000
RESET_SEQUENCE = (
    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
    "COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
)


async def copy_log(source: Path, target: str) -> dict[str, int]:
    """Copy the SQLite log at `source` into the PostgreSQL database at `target`; the rows
    copied per table. Raises DatabaseError (naming the database, never a password)."""
    if not is_url(target):
        raise DatabaseError(f"--to must be a postgresql:// URL, not {target}")
    postgres = PostgresDatabase(target)
    try:
        # The source is read as it is (read-only, checked first), never migrated.
        async with reader(source) as old:
            await postgres.open()
            async with postgres.transaction() as new:
                return await _copy(old, new, postgres.name)
    except DRIVER_ERRORS as exc:
        raise DatabaseError(f"cannot copy the log to {postgres.name}: {exc}") from None
    finally:
        await postgres.close()


async def _copy(old: Sql, new: Sql, name: str) -> dict[str, int]:
    """Every row of the copied tables from `old` into the empty log `new`."""
    if await new.scalar("SELECT count(*) FROM messages"):
        raise DatabaseError(f"{name} already holds a conversation log")
    copied = {
        table: await _copy_table(old, new, table, f"SELECT * FROM {table}") for table in COPIED
    }
    for table in SERIAL:
        await new.scalar(RESET_SEQUENCE.format(table=table))
    return copied


# `newsbot export --format sqlite`: a snapshot of the log (either dialect) as a SQLite file at
# the current schema, for the dashboard. Readers' names stay behind: users and chats keep
# their ids, kinds and dates (what counts and joins need), never a name, username or title.
SNAPSHOT_SELECTS = {
    "users": "SELECT id, is_bot, NULL AS username, NULL AS first_name, NULL AS last_name, "
    "language_code, first_seen, last_seen FROM users",
    "chats": "SELECT id, type, NULL AS title, NULL AS username, first_seen, last_seen FROM chats",
    **{
        table: f"SELECT * FROM {table}"
        for table in ("messages", "replies", "hits", "feedback", "inline_queries")
    },
}
# Marks a file as a snapshot (SQLite's application_id): only such a file is replaced.
SNAPSHOT_ID = 0x6E627370  # "nbsp"


async def write_snapshot(source: str | Path, target: Path) -> dict[str, int]:
    """Copy the log at `source` into a new SQLite file (owner-only, beside `target`), then
    make it `target`: renamed onto it when new, else copied into it in one transaction, so a
    dashboard serving `target` reads either snapshot whole, never a half-written one. An
    existing `target` must be an earlier snapshot. The rows copied per table."""
    temporary = _new_file_beside(target)
    try:
        new = SqliteDatabase(temporary)
        try:
            async with reader(source) as old:
                await new.open()
                async with new.transaction() as db:
                    copied = await _copy_rows(old, db)
        finally:
            await new.close()
        _deliver(temporary, target)
        return copied
    finally:
        for leftover in (temporary, Path(f"{temporary}-wal"), Path(f"{temporary}-shm")):
            with contextlib.suppress(OSError):
                leftover.unlink(missing_ok=True)


def _new_file_beside(target: Path) -> Path:
    """An empty owner-only file beside `target`, once `target` is known to be replaceable."""
    if target.exists() and not _is_snapshot(target):
        raise DatabaseError(f"{target} exists and is not a newsbot snapshot: name a new file")
    try:
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise DatabaseError(f"cannot write the snapshot {target}: {exc.strerror}") from None
    os.close(fd)
    return Path(name)


def _deliver(temporary: Path, target: Path) -> None:
    """Mark the finished snapshot and make it `target` (see write_snapshot)."""
    try:
        with contextlib.closing(sqlite3.connect(temporary, isolation_level=None)) as db:
            db.execute("PRAGMA journal_mode = DELETE")
            db.execute(f"PRAGMA application_id = {SNAPSHOT_ID}")
            if target.exists():
                with contextlib.closing(sqlite3.connect(target, timeout=30)) as old_snapshot:
                    db.backup(old_snapshot)
                return
        os.replace(temporary, target)
    except (OSError, sqlite3.Error) as exc:
        raise DatabaseError(f"cannot write the snapshot {target}: {exc}") from None


def _is_snapshot(path: Path) -> bool:
    try:
        uri = f"{path.resolve().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
            return bool(db.execute("PRAGMA application_id").fetchone()[0] == SNAPSHOT_ID)
    except sqlite3.Error:
        return False


async def _copy_rows(old: Sql, new: Sql) -> dict[str, int]:
    return {
        table: await _copy_table(old, new, table, select)
        for table, select in SNAPSHOT_SELECTS.items()
    }


async def _copy_table(old: Sql, new: Sql, table: str, select: str) -> int:
    """The rows `select` reads from `old` inserted into `table` of `new`, CHUNK at a time;
    how many."""
    copied = 0
    chunk: list[tuple[object, ...]] = []
    insert = ""
    async for row in old.stream(select):
        insert = f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})"
        chunk.append(tuple(row.values()))
        if len(chunk) == CHUNK:
            await new.executemany(insert, chunk)
            copied += len(chunk)
            chunk = []
    if chunk:
        await new.executemany(insert, chunk)
        copied += len(chunk)
    return copied
