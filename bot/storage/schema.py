"""The log database itself: opening it, and its schema as ordered, named migrations.

Runnable on its own (`migrate_file`): the command line migrates a log without starting the
writer. Every CREATE and ALTER of newsbot is in this module.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiosqlite

from bot.storage.rows import utc_now

log = logging.getLogger(__name__)


class DatabaseError(Exception):
    """The log database cannot be used (not a database, locked, read-only...)."""


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


def _create_owner_only(path: Path) -> None:
    """A new log file is readable by its owner only: it holds what readers wrote."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.touch(mode=0o600)


def _must_exist(path: Path) -> None:
    if not path.is_file():  # connecting would create an empty database
        raise DatabaseError(f"there is no conversation log at {path} yet")


async def connect(path: Path) -> aiosqlite.Connection:
    """The writer's connection: the file created owner-only if new, migrated, WAL mode.

    Raises DatabaseError naming the file when it cannot be used at all.
    """
    _create_owner_only(path)
    db: aiosqlite.Connection | None = None
    try:
        db = await aiosqlite.connect(path, isolation_level=None)
        await db.execute("PRAGMA busy_timeout = 2000")
        await db.execute("PRAGMA foreign_keys = ON")
        # Deleted rows (/forget, retention) are overwritten with zeros, not left in free pages.
        await db.execute("PRAGMA secure_delete = ON")
        with contextlib.suppress(sqlite3.OperationalError):  # read-only: keep going
            await db.execute("PRAGMA journal_mode = WAL")
        applied = await migrate(db)
    except sqlite3.DatabaseError as exc:
        if db is not None:
            with contextlib.suppress(Exception):
                await db.close()
        raise DatabaseError(f"cannot open the log database {path}: {exc}") from None
    if applied:
        log.info("Log database %s: applied %s", path, ", ".join(applied))
    return db


async def migrate_file(path: Path) -> None:
    """Bring an existing log to the current schema, and nothing else (no writer)."""
    db = await connect(path)
    await db.close()


@contextlib.asynccontextmanager
async def reader(path: Path) -> AsyncIterator[aiosqlite.Connection]:
    """A read-only connection for reports: WAL lets it read while the writer writes."""
    _must_exist(path)
    try:
        db = await aiosqlite.connect(path, timeout=5)
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot read the log database {path}: {exc}") from None
    try:
        await db.execute("PRAGMA query_only = 1")
        # Fails early, with the file named, on a file that is not a migrated log.
        await db.execute("SELECT bot_message_id FROM replies LIMIT 0")
        yield db
    except sqlite3.Error as exc:  # also from the reports run on it
        raise DatabaseError(f"cannot read the log database {path}: {exc}") from None
    finally:
        await db.close()
