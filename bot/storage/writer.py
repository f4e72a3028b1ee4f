"""The conversation log's writer: rows queued in memory, written in batches (group commits).

A turn can be recorded before its reply is sent (`record_now`): the caller waits for the
batch holding it to commit, at most a bounded time, so a healthy database has every reply in
the log before the reader sees it, and a slow, locked, read-only or full one delays a reply
by that bound at most. A batch that fails stays queued and is retried with back-off;
whatever is still queued at shutdown and cannot be written is saved to the pending file
(`<db>.pending.jsonl` beside a SQLite file) and written on the next start. Every write
(batches, /forget, retention) goes through one transaction helper, one at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import aiosqlite

from bot.storage import instances as shared
from bot.storage import pending, queries
from bot.storage.databases import SqliteDatabase, database_for
from bot.storage.engine import DRIVER_ERRORS, Database, DatabaseError, Sql
from bot.storage.rows import Delivery, Row, Turn
from bot.text import plural

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0
BATCH_MAX = 500
LOGGED_UPDATES_KEPT = 1000
# A write every database of ours takes, to learn whether it takes writes (rolled back).
WRITE_PROBE = "INSERT INTO job_runs (name, ran_at) VALUES ('write check', '')"


def fold_deliveries(queue: list[Row], waiting: dict[int, asyncio.Future[bool]]) -> list[Row]:
    """The queue with each delivery folded into its turn when that is queued too: one row to
    write, and one line in the pending file, not two (a turn's waiter follows it)."""
    turns = {r.update_id: n for n, r in enumerate(queue) if isinstance(r, Turn)}
    folds = [r for r in queue if isinstance(r, Delivery) and r.update_id in turns]
    if not folds:
        return queue
    queue = list(queue)
    for delivery in folds:
        n = turns[delivery.update_id]
        turn = queue[n]
        assert isinstance(turn, Turn)
        queue[n] = folded = replace(
            turn,
            delivered=True,
            bot_message_id=delivery.bot_message_id,
            sent_at=delivery.sent_at,
            latency_ms=delivery.latency_ms,
        )
        if (waiter := waiting.pop(id(turn), None)) is not None:
            waiting[id(folded)] = waiter
    folded_ids = {id(d) for d in folds}
    return [r for r in queue if id(r) not in folded_ids]


class ConversationLog:
    """Queued, batched, retried writes of turns, votes and inline searches; /forget; retention."""

    def __init__(self, target: Path | str, pending_path: Path | None = None) -> None:
        self.database: Database = database_for(target)
        if pending_path is None:
            if not isinstance(self.database, SqliteDatabase):
                raise ValueError("a PostgreSQL log needs a pending_path")
            pending_path = self.database.path.with_name(self.database.path.name + ".pending.jsonl")
        self.pending_path = pending_path
        self._open = False
        self._queue: list[Row] = []
        # Callers of record_now waiting for their row's batch to commit, by id of the row.
        self._waiting: dict[int, asyncio.Future[bool]] = {}
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        self._writing = asyncio.Lock()  # one transaction at a time
        self.written = 0
        self.commits = 0  # batches written (a turn and its delivery are often two)
        self.failures = 0
        # Update ids of the latest logged turns, read at open: Telegram re-sends updates that
        # were fetched but not confirmed when the bot was killed; these were answered already.
        self.logged_updates: frozenset[int] = frozenset()

    @property
    def name(self) -> str:
        """The database, as messages name it (a file, or a URL without its password)."""
        return self.database.name

    @property
    def _db(self) -> aiosqlite.Connection | None:
        """The SQLite writer connection (tests set PRAGMAs on it to make faults)."""
        return self.database.raw if isinstance(self.database, SqliteDatabase) else None

    async def open(self) -> None:
        """Open and migrate the database (DatabaseError if unusable); start the writer."""
        await self.database.open()
        self._open = True
        try:
            async with self.database.read() as db:
                self.logged_updates = await queries.logged_updates(db, LOGGED_UPDATES_KEPT)
        except (DatabaseError, *DRIVER_ERRORS) as exc:  # type: ignore[misc]
            await self._close_db()
            raise DatabaseError(f"cannot open the log database {self.name}: {exc}") from None
        if saved := pending.take(self.pending_path):  # rows an earlier run could not write
            self._queue[:0] = saved
            self.logged_updates |= {
                r.update_id for r in saved if isinstance(r, Turn) and r.update_id is not None
            }
            self._wake.set()
        self._writer = asyncio.create_task(self._write_loop(), name="conversation-log-writer")

    async def check_writable(self) -> None:
        """Raise DatabaseError unless the database takes a write now (a read-only file, a
        read-only server): one probe row, rolled back."""

        class RolledBack(Exception):
            pass

        try:
            async with self._writing, self.database.transaction() as db:
                await db.execute(WRITE_PROBE)
                raise RolledBack
        except RolledBack:
            return
        except DRIVER_ERRORS as exc:
            raise DatabaseError(f"cannot write to the log database {self.name}: {exc}") from None

    def record(self, row: Row) -> None:
        """Queue a turn (or a vote, or an inline search) for writing; never blocks or raises."""
        self._queue.append(row)
        self._wake.set()

    def _compact(self) -> None:
        self._queue = fold_deliveries(self._queue, self._waiting)

    async def record_now(self, row: Row, within: float) -> bool:
        """Queue a row and wait until it is committed, `within` seconds at most; True when
        it was. It stays queued either way (written later, or saved at shutdown)."""
        done = asyncio.get_running_loop().create_future()
        self._waiting[id(row)] = done
        self.record(row)
        try:
            return await asyncio.wait_for(asyncio.shield(done), within)
        except TimeoutError:
            return False

    def _settle(self, rows: list[Row], committed: bool) -> None:
        for row in rows:
            waiter = self._waiting.pop(id(row), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(committed)

    @property
    def queued(self) -> int:
        """Turns waiting to be written."""
        return sum(isinstance(row, Turn) for row in self._queue)

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
        if (self._open and not await self.flush(attempts=3)) or (not self._open and self._queue):
            self._compact()
            saved = pending.save(self.pending_path, self._queue) if self._queue else False
            self._settle(self._queue, False)
            if saved:
                self._queue.clear()
        await self._close_db()

    async def forget(self, user_id: int) -> int:
        """Delete everything logged about a user (queued rows too); the messages deleted.

        Raises DatabaseError when the database cannot be changed now; the queued rows of
        the user are dropped all the same.
        """
        async with self._writing:
            theirs = [row for row in self._queue if row.user_id == user_id]
            self._queue = [row for row in self._queue if row.user_id != user_id]
            self._settle(theirs, True)  # gone on purpose: nobody should wait for them
            dropped = len(theirs) + pending.forget(self.pending_path, user_id)
            deleted = await self._transaction(lambda db: queries.forget_user(db, user_id))
            await self.database.after_delete()
        log.info(
            "Forgot user %d: %s, %s",
            user_id,
            plural(deleted, "logged message"),
            plural(dropped, "queued row"),
        )
        return deleted

    async def purge(self, days: int, now: datetime | None = None) -> dict[str, int]:
        """Delete rows older than `days` days (retention); the rows deleted per table."""
        cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
        stamp = cutoff.isoformat(timespec="milliseconds")
        async with self._writing:
            deleted = await self._transaction(lambda db: queries.purge_before(db, stamp))
            await self.database.after_delete()
        return deleted

    async def due(self, job: str, period: timedelta) -> bool:
        """Whether periodic `job` should run now (once per period across all instances)."""
        return await self._write(lambda db: shared.due(db, job, period))

    async def purge_claims(self) -> int:
        """Forget update claims older than Telegram keeps updates."""
        return await self._write(shared.purge_claims)

    # -- the one write path ---------------------------------------------------------------

    async def _write(self, job: Callable[[Sql], Awaitable[T]]) -> T:
        """Run `job` in one write transaction, after any other write."""
        async with self._writing:
            return await self._transaction(job)

    async def _transaction(self, job: Callable[[Sql], Awaitable[T]]) -> T:
        """Run `job` in one write transaction (the caller holds `_writing`)."""
        if not self._open:
            raise DatabaseError(f"the log database {self.name} is not open")
        try:
            async with self.database.transaction() as db:
                return await job(db)
        except DRIVER_ERRORS as exc:
            raise DatabaseError(f"cannot write to {self.name}: {exc}") from None

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
            self._compact()
            batch = self._queue[:BATCH_MAX]
            if not batch:
                return True
            try:
                await self._transaction(lambda db: queries.insert_rows(db, batch))
            except DatabaseError as exc:
                self.failures += 1
                log.warning(
                    "Log write failed (%s); %s kept queued", exc, plural(len(self._queue), "row")
                )
                return False
            del self._queue[: len(batch)]
            self.written += sum(isinstance(row, Turn) for row in batch)
            self.commits += 1
            self._settle(batch, True)
            return True

    async def _close_db(self) -> None:
        self._open = False
        with contextlib.suppress(Exception):
            await self.database.close()


async def row_counts(log: ConversationLog) -> dict[str, int]:
    """Row count of every table of the log."""
    async with log.database.read() as db:
        return await queries.table_counts(db)


async def ping(log: ConversationLog) -> None:
    """Raise DatabaseError unless the log's database answers now."""
    try:
        async with log.database.read() as db:
            await db.scalar(queries.PING)
    except DRIVER_ERRORS as exc:
        raise DatabaseError(f"the log database {log.name} does not answer: {exc}") from None
