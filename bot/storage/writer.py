"""The conversation log's writer: rows queued in memory, written in batches off the reply path.

A slow, locked, read-only or full database never delays a reply. A batch that fails stays
queued and is retried with back-off; whatever is still queued at shutdown and cannot be
written is saved beside the database (`<db>.pending.jsonl`) and written on the next start.
Every write (batches, /forget, retention) goes through one transaction helper, one at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import aiosqlite

from bot.storage import queries
from bot.storage.rows import Row, Turn, row_from_json, row_to_json
from bot.storage.schema import DatabaseError, connect

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0
BATCH_MAX = 500
LOGGED_UPDATES_KEPT = 1000


class ConversationLog:
    """Queued, batched, retried writes of turns, votes and inline searches; /forget; retention."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pending_path = path.with_name(path.name + ".pending.jsonl")
        self._db: aiosqlite.Connection | None = None
        self._queue: list[Row] = []
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        self._writing = asyncio.Lock()  # one transaction at a time
        self.written = 0
        self.failures = 0
        # Update ids of the latest logged turns, read at open: Telegram re-sends updates that
        # were fetched but not confirmed when the bot was killed; these were answered already.
        self.logged_updates: frozenset[int] = frozenset()

    async def open(self) -> None:
        """Open and migrate the database (DatabaseError if unusable); start the writer."""
        self._db = await connect(self.path)
        try:
            self.logged_updates = await queries.logged_updates(self._db, LOGGED_UPDATES_KEPT)
        except sqlite3.Error as exc:
            await self._close_db()
            raise DatabaseError(f"cannot open the log database {self.path}: {exc}") from None
        self._restore_pending()
        self._writer = asyncio.create_task(self._write_loop(), name="conversation-log-writer")

    def record(self, row: Row) -> None:
        """Queue a turn (or a vote, or an inline search) for writing; never blocks or raises."""
        self._queue.append(row)
        self._wake.set()

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def flush(self, attempts: int = 1) -> bool:
        """Write everything queued now; True when the queue is empty afterwards."""
        for attempt in range(attempts):
            while self._queue:
                if not await self._write_batch():
                    break
            if not self._queue:
                return True
            if attempt + 1 < attempts:
                await asyncio.sleep(RETRY_FIRST_S)
        return not self._queue

    async def close(self) -> None:
        """Stop the writer, write what is queued, and save anything unwritable to a file."""
        self._closing = True
        if self._writer is not None:
            self._wake.set()
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        if (self._db is not None and not await self.flush(attempts=3)) or (
            self._db is None and self._queue
        ):
            self._save_pending()
        await self._close_db()

    async def forget(self, user_id: int) -> int:
        """Delete everything logged about a user (queued rows too); the messages deleted.

        Raises DatabaseError when the database cannot be changed now; the queued rows of
        the user are dropped all the same.
        """
        async with self._writing:
            before = len(self._queue)
            self._queue = [row for row in self._queue if row.user_id != user_id]
            dropped = before - len(self._queue)  # queued turns, votes and searches
            dropped += self._forget_pending(user_id)
            deleted = await self._transaction(lambda db: queries.forget_user(db, user_id))
            await self._checkpoint()
        log.info(
            "Forgot user %d: %d logged message(s), %d queued row(s)", user_id, deleted, dropped
        )
        return deleted

    async def purge(self, days: int, now: datetime | None = None) -> dict[str, int]:
        """Delete rows older than `days` days (retention); the rows deleted per table."""
        cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
        stamp = cutoff.isoformat(timespec="milliseconds")
        async with self._writing:
            deleted = await self._transaction(lambda db: queries.purge_before(db, stamp))
            await self._checkpoint()
        return deleted

    async def counts(self) -> dict[str, int]:
        """Row count of every table of the log."""
        assert self._db is not None
        return await queries.table_counts(self._db)

    # -- the one write path ---------------------------------------------------------------

    async def _transaction(self, job: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        """Run `job` in one immediate transaction (the caller holds `_writing`)."""
        db = self._db
        if db is None:
            raise DatabaseError(f"the log database {self.path} is not open")
        try:
            await db.execute("BEGIN IMMEDIATE")
            try:
                result = await job(db)
                await db.commit()
            except BaseException:
                with contextlib.suppress(Exception):
                    await db.rollback()
                raise
        except sqlite3.Error as exc:
            raise DatabaseError(f"cannot write to {self.path}: {exc}") from None
        return result

    async def _checkpoint(self) -> None:
        """After a deletion: no copy of the deleted rows is left in the write-ahead log."""
        assert self._db is not None
        try:
            await queries.checkpoint(self._db)
        except sqlite3.Error as exc:  # e.g. busy: the next checkpoint copies them over
            log.warning("Could not checkpoint the log after a deletion: %s", exc)

    async def _write_loop(self) -> None:
        delay = RETRY_FIRST_S
        while not self._closing:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                if await self._write_batch():
                    delay = RETRY_FIRST_S
                    continue
                await asyncio.sleep(delay)  # the fault may clear: retry with backoff
                delay = min(delay * 2, RETRY_MAX_S)

    async def _write_batch(self) -> bool:
        async with self._writing:
            batch = self._queue[:BATCH_MAX]
            if not batch:
                return True
            try:
                await self._transaction(lambda db: queries.insert_rows(db, batch))
            except DatabaseError as exc:
                self.failures += 1
                log.warning("Log write failed (%s); %d row(s) kept queued", exc, len(self._queue))
                return False
            del self._queue[: len(batch)]
            self.written += len(batch)
            return True

    async def _close_db(self) -> None:
        if self._db is not None:
            with contextlib.suppress(Exception):
                await self._db.close()
            self._db = None

    # -- the pending file ---------------------------------------------------------------------

    def _save_pending(self) -> None:
        if not self._queue:
            return
        try:
            fd = os.open(self.pending_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as out:
                out.writelines(row_to_json(row) + "\n" for row in self._queue)
        except OSError as exc:
            log.error("Could not write %d log row(s) anywhere: %s", len(self._queue), exc)
            return
        log.warning(
            "Log database unwritable: saved %d row(s) to %s; they are written on the next start",
            len(self._queue),
            self.pending_path,
        )
        self._queue.clear()

    def _forget_pending(self, user_id: int) -> int:
        """Drop a user's rows from the pending file, if one is left (it was unreadable at
        start): it is a copy of the log too. The rows dropped."""
        if not self.pending_path.exists():
            return 0
        kept, dropped = [], 0
        try:
            for line in self.pending_path.read_text(encoding="utf-8").splitlines(keepends=True):
                try:
                    mine = row_from_json(line).user_id == user_id
                except (ValueError, TypeError, KeyError):
                    mine = False  # unreadable as a row: kept as it was
                dropped += mine
                if not mine:
                    kept.append(line)
            fd = os.open(self.pending_path, os.O_WRONLY | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.writelines(kept)
        except OSError as exc:
            raise DatabaseError(f"cannot rewrite {self.pending_path}: {exc}") from None
        return dropped

    def _restore_pending(self) -> None:
        if not self.pending_path.exists():
            return
        try:
            lines = self.pending_path.read_text(encoding="utf-8").splitlines()
            rows = [row_from_json(line) for line in lines if line.strip()]
            self.pending_path.unlink()
        except (OSError, ValueError, TypeError, KeyError) as exc:
            log.error("Could not read saved log rows from %s: %s", self.pending_path, exc)
            return
        self._queue[:0] = rows
        self.logged_updates |= {
            r.update_id for r in rows if isinstance(r, Turn) and r.update_id is not None
        }
        self._wake.set()
        log.info("Restored %d saved log row(s) from %s", len(rows), self.pending_path)
