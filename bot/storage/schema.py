"""The log's schema as ordered, named migrations, one history for both dialects.

Every CREATE and ALTER of newsbot is in this module (opening a database and running them is
databases.py's). Migrations are written in SQLite's words; `postgres()` turns them into
PostgreSQL's (64-bit ids, serial keys, doubles).
"""

from __future__ import annotations

import contextlib
import logging
import re

from bot.storage.engine import DRIVER_ERRORS, Sql
from bot.storage.rows import utc_now

log = logging.getLogger(__name__)

M001_INITIAL = """
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
    CREATE INDEX hits_article ON hits(article_id)
"""
M002_FEEDBACK_INLINE = """
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
    CREATE INDEX replies_bot_message ON replies(bot_message_id)
"""
# Several instances on one database: a reply is recorded before it is sent (`delivered` 0)
# and marked once Telegram took it; updates are claimed by one instance; what readers'
# buttons and follow-ups need is shared; periodic jobs record when they last ran.
M003_SHARED_STATE = """
    ALTER TABLE replies ADD COLUMN delivered INTEGER NOT NULL DEFAULT 1;
    CREATE INDEX messages_update ON messages(update_id);
    CREATE TABLE claims (
        update_id INTEGER PRIMARY KEY,
        instance INTEGER NOT NULL,
        claimed_at TEXT NOT NULL,
        done INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX claims_claimed ON claims(claimed_at);
    CREATE TABLE topics (
        chat_id INTEGER NOT NULL,
        user_id INTEGER NOT NULL,
        question TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (chat_id, user_id)
    );
    CREATE INDEX topics_user ON topics(user_id);
    CREATE TABLE kept_answers (
        chat_id INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        user_id INTEGER NOT NULL,
        question TEXT NOT NULL,
        follows TEXT,
        edition TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (chat_id, message_id)
    );
    CREATE INDEX kept_answers_user ON kept_answers(user_id);
    CREATE INDEX kept_answers_at ON kept_answers(at);
    CREATE TABLE forget_prompts (
        user_id INTEGER PRIMARY KEY,
        at TEXT NOT NULL
    );
    CREATE TABLE job_runs (
        name TEXT PRIMARY KEY,
        ran_at TEXT NOT NULL
    )
"""

MIGRATIONS: tuple[tuple[str, str], ...] = (
    ("001_initial", M001_INITIAL),
    ("002_feedback_inline", M002_FEEDBACK_INLINE),
    ("003_shared_state", M003_SHARED_STATE),
)
MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
)
# Instances starting together migrate one at a time (PostgreSQL advisory lock keys).
LOCK_NAMESPACE = 0x6E62  # "nb"
MIGRATION_LOCK = 1


def postgres(sql: str) -> str:
    """A migration in PostgreSQL's words: 64-bit integers (Telegram ids), serial keys."""
    sql = sql.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY")
    sql = re.sub(r"\bINTEGER\b", "BIGINT", sql)
    return re.sub(r"\bREAL\b", "DOUBLE PRECISION", sql)


async def migrate(db: Sql) -> list[str]:
    """Apply the migrations not yet recorded, in order, in one transaction each; return the
    names applied. The caller holds the connection (and, on PostgreSQL, the lock)."""
    await db.execute(MIGRATIONS_TABLE)
    done = {row[0] for row in await db.fetch("SELECT name FROM _migrations")}
    applied = []
    for name, script in MIGRATIONS:
        if name in done:
            continue
        await db.execute("BEGIN")
        try:
            await db.script(postgres(script) if db.dialect == "postgresql" else script)
            await db.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", name, utc_now()
            )
            await db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(*DRIVER_ERRORS):
                await db.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied
