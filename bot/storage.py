"""The conversation log in SQLite: every SQL statement of newsbot lives in this module.

Turns are queued in memory and written in batches by one background task, so a slow, locked,
read-only or full database never delays a reply. A batch that fails stays queued and is
retried; whatever is still queued at shutdown and cannot be written is saved beside the
database (`<db>.pending.jsonl`) and written on the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0
BATCH_MAX = 500


def utc_now() -> str:
    """Current time as an ISO 8601 UTC string, the format of every time column."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    is_bot: bool = False
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    language_code: str | None = None


@dataclass(frozen=True, slots=True)
class ChatRow:
    id: int
    type: str
    title: str | None = None
    username: str | None = None


@dataclass(frozen=True, slots=True)
class HitRow:
    rank: int
    article_id: str
    paragraph: int
    score: float


@dataclass(frozen=True, slots=True)
class Turn:
    """One incoming message and the bot's reply to it, with the passages behind the reply."""

    chat: ChatRow
    user: UserRow | None
    text: str
    kind: str  # "question", "command" or "other"
    reply: str
    answered: bool | None  # None when the message was not a question
    latency_ms: float
    telegram_message_id: int | None = None
    update_id: int | None = None
    received_at: str = field(default_factory=utc_now)
    sent_at: str = field(default_factory=utc_now)
    hits: tuple[HitRow, ...] = ()

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> Turn:
        data = json.loads(line)
        data["chat"] = ChatRow(**data["chat"])
        data["user"] = UserRow(**data["user"]) if data["user"] else None
        data["hits"] = tuple(HitRow(**h) for h in data["hits"])
        return cls(**data)


# -- schema: ordered, named migrations, each recorded once applied --------------------------

Migration = Callable[[aiosqlite.Connection], Awaitable[None]]


async def m001_initial(db: aiosqlite.Connection) -> None:
    """Users, chats, incoming messages, replies and the hits behind each reply."""
    await db.executescript(
        """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            is_bot INTEGER NOT NULL DEFAULT 0,
            username TEXT, first_name TEXT, last_name TEXT, language_code TEXT,
            first_seen TEXT NOT NULL, last_seen TEXT NOT NULL
        );
        CREATE TABLE chats (
            id INTEGER PRIMARY KEY,
            type TEXT NOT NULL, title TEXT, username TEXT,
            first_seen TEXT NOT NULL, last_seen TEXT NOT NULL
        );
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            chat_id INTEGER NOT NULL REFERENCES chats(id),
            user_id INTEGER REFERENCES users(id),
            telegram_message_id INTEGER,
            update_id INTEGER,
            kind TEXT NOT NULL,
            text TEXT NOT NULL,
            received_at TEXT NOT NULL
        );
        CREATE INDEX messages_chat ON messages(chat_id, received_at);
        CREATE INDEX messages_user ON messages(user_id);
        CREATE TABLE replies (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            message_id INTEGER NOT NULL UNIQUE REFERENCES messages(id) ON DELETE CASCADE,
            text TEXT NOT NULL,
            answered INTEGER,
            latency_ms REAL NOT NULL,
            sent_at TEXT NOT NULL
        );
        CREATE TABLE hits (
            reply_id INTEGER NOT NULL REFERENCES replies(id) ON DELETE CASCADE,
            rank INTEGER NOT NULL,
            article_id TEXT NOT NULL,
            paragraph INTEGER NOT NULL,
            score REAL NOT NULL,
            PRIMARY KEY (reply_id, rank)
        );
        CREATE INDEX hits_article ON hits(article_id);
        """
    )


MIGRATIONS: tuple[tuple[str, Migration], ...] = (("001_initial", m001_initial),)


async def migrate(db: aiosqlite.Connection) -> list[str]:
    """Apply the migrations not yet recorded, in order; return the names applied."""
    await db.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    async with db.execute("SELECT name FROM _migrations") as cursor:
        done = {row[0] for row in await cursor.fetchall()}
    applied = []
    for name, migration in MIGRATIONS:
        if name in done:
            continue
        await db.execute("BEGIN")
        try:
            await migration(db)
            await db.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (name, utc_now())
            )
            await db.commit()
        except BaseException:
            await db.rollback()
            raise
        applied.append(name)
    return applied


class DatabaseError(Exception):
    """The log database cannot be used at all (e.g. the file is not a database)."""


class ConversationLog:
    """Queued, batched, retried writes of turns; the reads the operators need."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pending_path = path.with_name(path.name + ".pending.jsonl")
        self._db: aiosqlite.Connection | None = None
        self._queue: list[Turn] = []
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        self._writing = asyncio.Lock()  # one transaction at a time: the writer and flush()
        self.written = 0
        self.failures = 0

    async def open(self) -> None:
        """Open (creating if needed, owner-only) and migrate the database; start the writer."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            self.path.touch(mode=0o600)
        try:
            self._db = await aiosqlite.connect(self.path, isolation_level=None)
            await self._db.execute("PRAGMA busy_timeout = 2000")
            await self._db.execute("PRAGMA foreign_keys = ON")
            with contextlib.suppress(sqlite3.OperationalError):  # read-only: keep going
                await self._db.execute("PRAGMA journal_mode = WAL")
            applied = await migrate(self._db)
        except sqlite3.DatabaseError as exc:
            await self._close_db()
            raise DatabaseError(f"cannot open the log database {self.path}: {exc}") from None
        if applied:
            log.info("Log database %s: applied %s", self.path, ", ".join(applied))
        self._restore_pending()
        self._writer = asyncio.create_task(self._write_loop(), name="conversation-log-writer")

    def record(self, turn: Turn) -> None:
        """Queue a turn for writing; never blocks, never raises."""
        self._queue.append(turn)
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

    async def _close_db(self) -> None:
        if self._db is not None:
            with contextlib.suppress(Exception):
                await self._db.close()
            self._db = None

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
            return await self._write_batch_locked()

    async def _write_batch_locked(self) -> bool:
        batch = self._queue[:BATCH_MAX]
        if not batch:
            return True
        assert self._db is not None
        try:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                for turn in batch:
                    await self._insert(turn)
                await self._db.commit()
            except BaseException:
                with contextlib.suppress(Exception):
                    await self._db.rollback()
                raise
        except sqlite3.Error as exc:
            self.failures += 1
            log.warning(
                "Log write failed (%s); %d turn(s) kept queued for retry", exc, len(self._queue)
            )
            return False
        del self._queue[: len(batch)]
        self.written += len(batch)
        return True

    async def _insert(self, turn: Turn) -> None:
        assert self._db is not None
        db = self._db
        chat = turn.chat
        await db.execute(
            "INSERT INTO chats (id, type, title, username, first_seen, last_seen) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET type = excluded.type, "
            "title = excluded.title, username = excluded.username, last_seen = excluded.last_seen",
            (chat.id, chat.type, chat.title, chat.username, turn.received_at, turn.received_at),
        )
        user = turn.user
        if user is not None:
            await db.execute(
                "INSERT INTO users (id, is_bot, username, first_name, last_name, language_code, "
                "first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO "
                "UPDATE SET username = excluded.username, first_name = excluded.first_name, "
                "last_name = excluded.last_name, language_code = excluded.language_code, "
                "last_seen = excluded.last_seen",
                (
                    user.id,
                    int(user.is_bot),
                    user.username,
                    user.first_name,
                    user.last_name,
                    user.language_code,
                    turn.received_at,
                    turn.received_at,
                ),
            )
        cursor = await db.execute(
            "INSERT INTO messages (chat_id, user_id, telegram_message_id, update_id, kind, text, "
            "received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                chat.id,
                user.id if user else None,
                turn.telegram_message_id,
                turn.update_id,
                turn.kind,
                turn.text,
                turn.received_at,
            ),
        )
        cursor = await db.execute(
            "INSERT INTO replies (message_id, text, answered, latency_ms, sent_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (
                cursor.lastrowid,
                turn.reply,
                None if turn.answered is None else int(turn.answered),
                round(turn.latency_ms, 3),
                turn.sent_at,
            ),
        )
        reply_id = cursor.lastrowid
        await db.executemany(
            "INSERT INTO hits (reply_id, rank, article_id, paragraph, score) "
            "VALUES (?, ?, ?, ?, ?)",
            [(reply_id, h.rank, h.article_id, h.paragraph, h.score) for h in turn.hits],
        )

    def _save_pending(self) -> None:
        if not self._queue:
            return
        try:
            fd = os.open(self.pending_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as out:
                out.writelines(turn.to_json() + "\n" for turn in self._queue)
        except OSError as exc:
            log.error("Could not write %d log turn(s) anywhere: %s", len(self._queue), exc)
            return
        log.warning(
            "Log database unwritable: saved %d turn(s) to %s; they are written on the next start",
            len(self._queue),
            self.pending_path,
        )
        self._queue.clear()

    def _restore_pending(self) -> None:
        if not self.pending_path.exists():
            return
        try:
            lines = self.pending_path.read_text(encoding="utf-8").splitlines()
            turns = [Turn.from_json(line) for line in lines if line.strip()]
            self.pending_path.unlink()
        except (OSError, ValueError, TypeError, KeyError) as exc:
            log.error("Could not read saved log turns from %s: %s", self.pending_path, exc)
            return
        self._queue[:0] = turns
        self._wake.set()
        log.info("Restored %d saved log turn(s) from %s", len(turns), self.pending_path)

    # -- reads ----------------------------------------------------------------------------

    async def counts(self) -> dict[str, int]:
        """Row count of every table of the log."""
        assert self._db is not None
        result = {}
        for table in ("users", "chats", "messages", "replies", "hits"):
            async with self._db.execute(f"SELECT count(*) FROM {table}") as cursor:
                row = await cursor.fetchone()
            result[table] = int(row[0]) if row else 0
        return result

    async def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        """The latest turns: question, reply, answered, latency."""
        assert self._db is not None
        self._db.row_factory = aiosqlite.Row
        try:
            async with self._db.execute(
                "SELECT m.received_at, m.chat_id, m.user_id, m.kind, m.text AS question, "
                "r.answered, r.latency_ms, r.text AS reply FROM messages m "
                "JOIN replies r ON r.message_id = m.id ORDER BY m.id DESC LIMIT ?",
                (limit,),
            ) as cursor:
                return [dict(row) for row in await cursor.fetchall()]
        finally:
            self._db.row_factory = None
