"""`newsbot migrate-log`: an existing SQLite log copied into PostgreSQL, row for row.

The target is migrated first (the same history), must hold no log yet, and gets every row
with its id in one transaction, so a failed copy leaves it empty; its id sequences then
continue after the copied rows.
"""

from __future__ import annotations

from pathlib import Path

from bot.storage.databases import PostgresDatabase, reader
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
    copied = {}
    for table in COPIED:
        copied[table] = 0
        chunk: list[tuple[object, ...]] = []
        insert = ""
        async for row in old.stream(f"SELECT * FROM {table}"):
            columns = ", ".join(row)
            insert = f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(row))})"
            chunk.append(tuple(row.values()))
            if len(chunk) == CHUNK:
                await new.executemany(insert, chunk)
                copied[table] += len(chunk)
                chunk = []
        await new.executemany(insert, chunk)
        copied[table] += len(chunk)
    for table in SERIAL:
        await new.scalar(RESET_SEQUENCE.format(table=table))
    return copied
