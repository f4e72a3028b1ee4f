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
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0
BATCH_MAX = 500
LOGGED_UPDATES_KEPT = 1000


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
    bot_message_id: int | None = None  # the reply's message that carries its buttons
    question: str | None = None  # the question as read (without /ask or the @mention)

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user else None


@dataclass(frozen=True, slots=True)
class Vote:
    """A reader's 👍 (+1) or 👎 (-1) on one of the bot's answers; a new vote replaces it."""

    chat_id: int
    message_id: int  # the bot's message the buttons were under
    user_id: int
    vote: int
    at: str = field(default_factory=utc_now)


@dataclass(frozen=True, slots=True)
class InlineSearch:
    """An inline-mode query (`@bot question` typed in any chat) and how many results it got."""

    user_id: int
    query: str
    results: int
    latency_ms: float
    at: str = field(default_factory=utc_now)


Row = Turn | Vote | InlineSearch
ROW_TYPES: dict[str, type[Row]] = {"turn": Turn, "vote": Vote, "inline": InlineSearch}


def row_to_json(row: Row) -> str:
    kind = next(k for k, t in ROW_TYPES.items() if isinstance(row, t))
    return json.dumps({"type": kind, **asdict(row)}, ensure_ascii=False)


def row_from_json(line: str) -> Row:
    data = json.loads(line)
    kind = data.pop("type", "turn")
    if kind == "vote":
        return Vote(**data)
    if kind == "inline":
        return InlineSearch(**data)
    data["chat"] = ChatRow(**data["chat"])
    data["user"] = UserRow(**data["user"]) if data["user"] else None
    data["hits"] = tuple(HitRow(**h) for h in data["hits"])
    return Turn(**data)


def row_user(row: Row) -> int | None:
    return row.user_id


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


async def m002_feedback_inline(db: aiosqlite.Connection) -> None:
    """Votes on answers, inline queries, the reply's message id, and indexes for purging."""
    await db.executescript(
        """
        ALTER TABLE replies ADD COLUMN bot_message_id INTEGER;
        ALTER TABLE messages ADD COLUMN question TEXT;
        CREATE TABLE feedback (
            chat_id INTEGER NOT NULL,
            message_id INTEGER NOT NULL,
            user_id INTEGER NOT NULL,
            vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
            at TEXT NOT NULL,
            PRIMARY KEY (chat_id, message_id, user_id)
        );
        CREATE INDEX feedback_user ON feedback(user_id);
        CREATE TABLE inline_queries (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            user_id INTEGER NOT NULL,
            query TEXT NOT NULL,
            results INTEGER NOT NULL,
            latency_ms REAL NOT NULL,
            at TEXT NOT NULL
        );
        CREATE INDEX inline_queries_user ON inline_queries(user_id);
        CREATE INDEX messages_received ON messages(received_at);
        CREATE INDEX replies_bot_message ON replies(bot_message_id);
        """
    )


MIGRATIONS: tuple[tuple[str, Migration], ...] = (
    ("001_initial", m001_initial),
    ("002_feedback_inline", m002_feedback_inline),
)


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
        self._queue: list[Row] = []
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        self._writing = asyncio.Lock()  # one transaction at a time: the writer and flush()
        self.written = 0
        self.failures = 0
        # Update ids of the latest logged turns, read at open: Telegram re-sends updates that
        # were fetched but not confirmed when the bot was killed; these were answered already.
        self.logged_updates: frozenset[int] = frozenset()

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
            async with self._db.execute(
                "SELECT update_id FROM messages WHERE update_id IS NOT NULL "
                "ORDER BY id DESC LIMIT ?",
                (LOGGED_UPDATES_KEPT,),
            ) as cursor:
                self.logged_updates = frozenset(int(r[0]) for r in await cursor.fetchall())
        except sqlite3.DatabaseError as exc:
            await self._close_db()
            raise DatabaseError(f"cannot open the log database {self.path}: {exc}") from None
        if applied:
            log.info("Log database %s: applied %s", self.path, ", ".join(applied))
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
                await self._insert_batch(batch)
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

    async def _next_id(self, table: str) -> int:
        """The next AUTOINCREMENT id of `table` (inside the write transaction)."""
        assert self._db is not None
        async with self._db.execute(
            f"SELECT max(COALESCE((SELECT max(id) FROM {table}), 0), COALESCE((SELECT seq "
            f"FROM sqlite_sequence WHERE name = '{table}'), 0))"
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0] if row else 0) + 1

    async def _insert_batch(self, batch: list[Row]) -> None:
        """A batch of rows, one statement per table (executemany): each statement is one hop
        to the database thread, so a busy event loop delays the log by milliseconds per
        batch, not per turn."""
        assert self._db is not None
        db = self._db
        turns = [row for row in batch if isinstance(row, Turn)]
        if turns:
            await db.executemany(
                "INSERT INTO chats (id, type, title, username, first_seen, last_seen) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET type = excluded.type, "
                "title = excluded.title, username = excluded.username, "
                "last_seen = excluded.last_seen",
                [
                    (
                        t.chat.id,
                        t.chat.type,
                        t.chat.title,
                        t.chat.username,
                        t.received_at,
                        t.received_at,
                    )
                    for t in turns
                ],
            )
            await db.executemany(
                "INSERT INTO users (id, is_bot, username, first_name, last_name, language_code, "
                "first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO "
                "UPDATE SET username = excluded.username, first_name = excluded.first_name, "
                "last_name = excluded.last_name, language_code = excluded.language_code, "
                "last_seen = excluded.last_seen",
                [
                    (
                        u.id,
                        int(u.is_bot),
                        u.username,
                        u.first_name,
                        u.last_name,
                        u.language_code,
                        t.received_at,
                        t.received_at,
                    )
                    for t in turns
                    if (u := t.user) is not None
                ],
            )
            first_message = await self._next_id("messages")
            first_reply = await self._next_id("replies")
            await db.executemany(
                "INSERT INTO messages (id, chat_id, user_id, telegram_message_id, update_id, "
                "kind, text, received_at, question) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        first_message + n,
                        t.chat.id,
                        t.user_id,
                        t.telegram_message_id,
                        t.update_id,
                        t.kind,
                        t.text,
                        t.received_at,
                        t.question,
                    )
                    for n, t in enumerate(turns)
                ],
            )
            await db.executemany(
                "INSERT INTO replies (id, message_id, text, answered, latency_ms, sent_at, "
                "bot_message_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        first_reply + n,
                        first_message + n,
                        t.reply,
                        None if t.answered is None else int(t.answered),
                        round(t.latency_ms, 3),
                        t.sent_at,
                        t.bot_message_id,
                    )
                    for n, t in enumerate(turns)
                ],
            )
            await db.executemany(
                "INSERT INTO hits (reply_id, rank, article_id, paragraph, score) "
                "VALUES (?, ?, ?, ?, ?)",
                [
                    (first_reply + n, h.rank, h.article_id, h.paragraph, h.score)
                    for n, t in enumerate(turns)
                    for h in t.hits
                ],
            )
        votes = [row for row in batch if isinstance(row, Vote)]
        if votes:
            await db.executemany(
                "INSERT INTO feedback (chat_id, message_id, user_id, vote, at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(chat_id, message_id, user_id) DO UPDATE "
                "SET vote = excluded.vote, at = excluded.at",
                [(v.chat_id, v.message_id, v.user_id, v.vote, v.at) for v in votes],
            )
        searches = [row for row in batch if isinstance(row, InlineSearch)]
        if searches:
            await db.executemany(
                "INSERT INTO inline_queries (user_id, query, results, latency_ms, at) "
                "VALUES (?, ?, ?, ?, ?)",
                [(q.user_id, q.query, q.results, round(q.latency_ms, 3), q.at) for q in searches],
            )

    # -- privacy ------------------------------------------------------------------------------

    async def forget(self, user_id: int) -> int:
        """Delete everything logged about a user (queued rows too); the messages deleted.

        Raises DatabaseError when the database cannot be changed now; the queued rows of
        the user are dropped all the same.
        """
        assert self._db is not None
        async with self._writing:
            before = len(self._queue)
            self._queue = [row for row in self._queue if row_user(row) != user_id]
            dropped = before - len(self._queue)  # queued turns, votes and searches
            db = self._db
            try:
                await db.execute("BEGIN IMMEDIATE")
                async with db.execute(
                    "SELECT count(*) FROM messages WHERE user_id = ?", (user_id,)
                ) as cursor:
                    row = await cursor.fetchone()
                deleted = int(row[0]) if row else 0
                await db.execute("DELETE FROM messages WHERE user_id = ?", (user_id,))
                await db.execute("DELETE FROM feedback WHERE user_id = ?", (user_id,))
                await db.execute("DELETE FROM inline_queries WHERE user_id = ?", (user_id,))
                await db.execute("DELETE FROM users WHERE id = ?", (user_id,))
                await db.execute(
                    "DELETE FROM chats WHERE id = ? AND type = 'private' AND NOT EXISTS "
                    "(SELECT 1 FROM messages WHERE chat_id = chats.id)",
                    (user_id,),
                )
                await db.commit()
            except sqlite3.Error as exc:
                with contextlib.suppress(Exception):
                    await db.rollback()
                raise DatabaseError(f"cannot delete from {self.path}: {exc}") from None
        log.info(
            "Forgot user %d: %d logged message(s), %d queued row(s)", user_id, deleted, dropped
        )
        return deleted

    async def purge(self, days: int, now: datetime | None = None) -> dict[str, int]:
        """Delete rows older than `days` days (retention); the rows deleted per table."""
        assert self._db is not None
        cutoff = ((now or datetime.now(UTC)) - timedelta(days=days)).isoformat(
            timespec="milliseconds"
        )
        deleted: dict[str, int] = {}
        statements = {
            "messages": "DELETE FROM messages WHERE received_at < ?",
            "feedback": "DELETE FROM feedback WHERE at < ?",
            "inline_queries": "DELETE FROM inline_queries WHERE at < ?",
            "users": "DELETE FROM users WHERE last_seen < ? AND NOT EXISTS "
            "(SELECT 1 FROM messages WHERE user_id = users.id)",
            "chats": "DELETE FROM chats WHERE last_seen < ? AND NOT EXISTS "
            "(SELECT 1 FROM messages WHERE chat_id = chats.id)",
        }
        async with self._writing:
            db = self._db
            try:
                await db.execute("BEGIN IMMEDIATE")
                for table, sql in statements.items():
                    cursor = await db.execute(sql, (cutoff,))
                    deleted[table] = cursor.rowcount
                await db.commit()
            except sqlite3.Error as exc:
                with contextlib.suppress(Exception):
                    await db.rollback()
                raise DatabaseError(f"cannot purge {self.path}: {exc}") from None
        return deleted

    def _save_pending(self) -> None:
        if not self._queue:
            return
        try:
            fd = os.open(self.pending_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as out:
                out.writelines(row_to_json(row) + "\n" for row in self._queue)
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
            turns = [row_from_json(line) for line in lines if line.strip()]
            self.pending_path.unlink()
        except (OSError, ValueError, TypeError, KeyError) as exc:
            log.error("Could not read saved log turns from %s: %s", self.pending_path, exc)
            return
        self._queue[:0] = turns
        self.logged_updates |= {
            t.update_id for t in turns if isinstance(t, Turn) and t.update_id is not None
        }
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


# -- reports: synchronous reads for `newsbot stats`, `newsbot export` and /stats ----------------
# (the bot runs them in a worker thread, on their own connection: WAL lets them read while the
# writer writes.)


@dataclass(frozen=True, slots=True)
class DayCount:
    day: str  # YYYY-MM-DD (UTC)
    questions: int
    answered: int


@dataclass(frozen=True, slots=True)
class LogStats:
    """What readers asked, what the articles answered, and how readers rated the answers."""

    today: tuple[int, int]  # (questions, answered)
    week: tuple[int, int]
    all_time: tuple[int, int]
    top_questions: tuple[tuple[str, int], ...]
    top_unanswered: tuple[tuple[str, int], ...]
    votes_up: int
    votes_down: int
    top_articles: tuple[tuple[str, int], ...]  # (article id, passages cited)
    per_day: tuple[DayCount, ...]
    readers: int
    inline_queries: int


def _read(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise DatabaseError(f"there is no conversation log at {path} yet")
    try:
        db = sqlite3.connect(path, timeout=5)
        db.execute("PRAGMA query_only = 1")
        db.execute("SELECT count(*) FROM replies WHERE bot_message_id IS NULL").fetchone()
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(f"cannot read the log database {path}: {exc}") from None
    return db


def _one(db: sqlite3.Connection, sql: str, *args: Any) -> tuple[int, int]:
    row = db.execute(sql, args).fetchone()
    return (int(row[0] or 0), int(row[1] or 0)) if row else (0, 0)


QUESTION = "COALESCE(m.question, m.text)"


def read_stats(path: Path, now: datetime | None = None, days: int = 30, top: int = 10) -> LogStats:
    """The report behind /stats and `newsbot stats`, for the `days` days up to `now`."""
    now = now or datetime.now(UTC)
    today = now.date()
    db = _read(path)
    try:
        base = (
            "SELECT count(*), COALESCE(sum(r.answered), 0) FROM messages m "
            "JOIN replies r ON r.message_id = m.id WHERE m.kind = 'question'"
        )
        since = base + " AND m.received_at >= ?"

        def ranked(where: str) -> tuple[tuple[str, int], ...]:
            rows = db.execute(
                f"SELECT max({QUESTION}), count(*) AS n FROM messages m "
                f"JOIN replies r ON r.message_id = m.id WHERE m.kind = 'question' {where} "
                f"GROUP BY lower({QUESTION}) ORDER BY n DESC, lower({QUESTION}) LIMIT ?",
                (top,),
            ).fetchall()
            return tuple((str(q), int(n)) for q, n in rows)

        first = today - timedelta(days=days - 1)
        by_day = {
            d: (int(n), int(a or 0))
            for d, n, a in db.execute(
                "SELECT substr(m.received_at, 1, 10) AS d, count(*), sum(r.answered) "
                "FROM messages m JOIN replies r ON r.message_id = m.id "
                "WHERE m.kind = 'question' AND m.received_at >= ? GROUP BY d",
                (first.isoformat(),),
            )
        }
        per_day = tuple(
            DayCount(d, *by_day.get(d, (0, 0)))
            for d in ((first + timedelta(days=i)).isoformat() for i in range(days))
        )
        up, down = _one(db, "SELECT sum(vote > 0), sum(vote < 0) FROM feedback")
        articles = db.execute(
            "SELECT article_id, count(*) AS n FROM hits GROUP BY article_id "
            "ORDER BY n DESC, article_id LIMIT ?",
            (top,),
        ).fetchall()
        readers = db.execute(
            "SELECT count(DISTINCT user_id) FROM messages WHERE kind = 'question'"
        ).fetchone()
        inline = db.execute("SELECT count(*) FROM inline_queries").fetchone()
        return LogStats(
            today=_one(db, since, today.isoformat()),
            week=_one(db, since, (today - timedelta(days=6)).isoformat()),
            all_time=_one(db, base),
            top_questions=ranked(""),
            top_unanswered=ranked("AND r.answered = 0"),
            votes_up=up,
            votes_down=down,
            top_articles=tuple((str(a), int(n)) for a, n in articles),
            per_day=per_day,
            readers=int(readers[0]) if readers else 0,
            inline_queries=int(inline[0]) if inline else 0,
        )
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot read the log database {path}: {exc}") from None
    finally:
        db.close()


EXPORT_FIELDS = (
    "received_at",
    "chat_id",
    "chat_type",
    "user_id",
    "username",
    "kind",
    "text",
    "question",
    "answered",
    "latency_ms",
    "reply",
    "sent_at",
    "hits",
    "votes_up",
    "votes_down",
)


def export_rows(path: Path, since: date | None = None) -> Iterator[dict[str, Any]]:
    """Every logged turn (oldest first) with its hits and votes, for `newsbot export`."""
    db = _read(path)
    db.row_factory = sqlite3.Row
    try:
        cursor = db.execute(
            "SELECT m.received_at, m.chat_id, c.type AS chat_type, m.user_id, u.username, "
            "m.kind, m.text, m.question, r.answered, r.latency_ms, r.text AS reply, r.sent_at, "
            "(SELECT json_group_array(json_object('rank', h.rank, 'article_id', h.article_id, "
            "'paragraph', h.paragraph, 'score', h.score)) FROM (SELECT * FROM hits "
            "WHERE reply_id = r.id ORDER BY rank) AS h) AS hits, "
            "(SELECT count(*) FROM feedback f WHERE f.chat_id = m.chat_id "
            "AND f.message_id = r.bot_message_id AND f.vote > 0) AS votes_up, "
            "(SELECT count(*) FROM feedback f WHERE f.chat_id = m.chat_id "
            "AND f.message_id = r.bot_message_id AND f.vote < 0) AS votes_down "
            "FROM messages m JOIN replies r ON r.message_id = m.id "
            "LEFT JOIN chats c ON c.id = m.chat_id LEFT JOIN users u ON u.id = m.user_id "
            "WHERE m.received_at >= ? ORDER BY m.id",
            ((since.isoformat() if since else ""),),
        )
        for row in cursor:
            record = dict(row)
            record["hits"] = json.loads(record["hits"] or "[]")
            if record["answered"] is not None:
                record["answered"] = bool(record["answered"])
            yield record
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot read the log database {path}: {exc}") from None
    finally:
        db.close()
