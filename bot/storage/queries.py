"""Every statement the writer runs, each a narrow async function on a connection.

The writer (bot/storage/writer.py) owns the transactions; these functions only say what to
write or read. A second SQL dialect replaces this module, schema.py and reports.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite

from bot.storage.rows import InlineSearch, Row, Turn, Vote

TABLES = ("users", "chats", "messages", "replies", "hits", "feedback", "inline_queries")

UPSERT_CHAT = (
    "INSERT INTO chats (id, type, title, username, first_seen, last_seen) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET type = excluded.type, "
    "title = excluded.title, username = excluded.username, last_seen = excluded.last_seen"
)
UPSERT_USER = (
    "INSERT INTO users (id, is_bot, username, first_name, last_name, language_code, "
    "first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO "
    "UPDATE SET username = excluded.username, first_name = excluded.first_name, "
    "last_name = excluded.last_name, language_code = excluded.language_code, "
    "last_seen = excluded.last_seen"
)
INSERT_MESSAGE = (
    "INSERT INTO messages (id, chat_id, user_id, telegram_message_id, update_id, "
    "kind, text, received_at, question) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_REPLY = (
    "INSERT INTO replies (id, message_id, text, answered, latency_ms, sent_at, "
    "bot_message_id) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
INSERT_HIT = (
    "INSERT INTO hits (reply_id, rank, article_id, paragraph, score) VALUES (?, ?, ?, ?, ?)"
)
UPSERT_VOTE = (
    "INSERT INTO feedback (chat_id, message_id, user_id, vote, at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT(chat_id, message_id, user_id) DO UPDATE SET vote = excluded.vote, "
    "at = excluded.at"
)
INSERT_INLINE = (
    "INSERT INTO inline_queries (user_id, query, results, latency_ms, at) VALUES (?, ?, ?, ?, ?)"
)
# The next AUTOINCREMENT id of a table, inside the write transaction (the table name is one
# of ours, never input).
NEXT_ID = (
    "SELECT max(COALESCE((SELECT max(id) FROM {table}), 0), COALESCE((SELECT seq "
    "FROM sqlite_sequence WHERE name = '{table}'), 0)) + 1"
)

# /forget: every row of the user, in an order that leaves no dangling reference.
FORGET_USER = (
    ("messages", "DELETE FROM messages WHERE user_id = ?"),  # replies and hits cascade
    ("feedback", "DELETE FROM feedback WHERE user_id = ?"),
    ("inline_queries", "DELETE FROM inline_queries WHERE user_id = ?"),
    ("users", "DELETE FROM users WHERE id = ?"),
    (
        "chats",
        "DELETE FROM chats WHERE id = ? AND type = 'private' AND NOT EXISTS "
        "(SELECT 1 FROM messages WHERE chat_id = chats.id)",
    ),
)
# Retention: rows older than a cutoff time; users and chats once nothing refers to them.
PURGE_BEFORE = (
    ("messages", "DELETE FROM messages WHERE received_at < ?"),
    ("feedback", "DELETE FROM feedback WHERE at < ?"),
    ("inline_queries", "DELETE FROM inline_queries WHERE at < ?"),
    (
        "users",
        "DELETE FROM users WHERE last_seen < ? AND NOT EXISTS "
        "(SELECT 1 FROM messages WHERE user_id = users.id)",
    ),
    (
        "chats",
        "DELETE FROM chats WHERE last_seen < ? AND NOT EXISTS "
        "(SELECT 1 FROM messages WHERE chat_id = chats.id)",
    ),
)


async def _scalar(db: aiosqlite.Connection, sql: str, *args: object) -> int:
    async with db.execute(sql, args) as cursor:
        row = await cursor.fetchone()
    return int(row[0] or 0) if row else 0


async def insert_rows(db: aiosqlite.Connection, batch: Sequence[Row]) -> None:
    """A batch of rows, one statement per table (executemany): each statement is one hop to
    the database thread, so a busy event loop delays the log by milliseconds per batch, not
    per turn."""
    turns = [row for row in batch if isinstance(row, Turn)]
    if turns:
        await insert_turns(db, turns)
    votes = [row for row in batch if isinstance(row, Vote)]
    if votes:
        await db.executemany(
            UPSERT_VOTE, [(v.chat_id, v.message_id, v.user_id, v.vote, v.at) for v in votes]
        )
    searches = [row for row in batch if isinstance(row, InlineSearch)]
    if searches:
        await db.executemany(
            INSERT_INLINE,
            [(q.user_id, q.query, q.results, round(q.latency_ms, 3), q.at) for q in searches],
        )


async def insert_turns(db: aiosqlite.Connection, turns: Sequence[Turn]) -> None:
    """Chats and users (latest details win), then messages, replies and hits."""
    await db.executemany(
        UPSERT_CHAT,
        [
            (t.chat.id, t.chat.type, t.chat.title, t.chat.username, t.received_at, t.received_at)
            for t in turns
        ],
    )
    await db.executemany(
        UPSERT_USER,
        [
            (
                *(u.id, int(u.is_bot), u.username, u.first_name, u.last_name, u.language_code),
                *(t.received_at, t.received_at),
            )
            for t in turns
            if (u := t.user) is not None
        ],
    )
    # Ids assigned here, so replies and hits can refer to them within one statement each.
    message = await _scalar(db, NEXT_ID.format(table="messages"))
    reply = await _scalar(db, NEXT_ID.format(table="replies"))
    await db.executemany(
        INSERT_MESSAGE,
        [
            (
                *(message + n, t.chat.id, t.user_id, t.telegram_message_id, t.update_id),
                *(t.kind, t.text, t.received_at, t.question),
            )
            for n, t in enumerate(turns)
        ],
    )
    await db.executemany(
        INSERT_REPLY,
        [
            (
                *(reply + n, message + n, t.reply),
                None if t.answered is None else int(t.answered),
                *(round(t.latency_ms, 3), t.sent_at, t.bot_message_id),
            )
            for n, t in enumerate(turns)
        ],
    )
    await db.executemany(
        INSERT_HIT,
        [
            (reply + n, h.rank, h.article_id, h.paragraph, h.score)
            for n, t in enumerate(turns)
            for h in t.hits
        ],
    )


async def logged_updates(db: aiosqlite.Connection, limit: int) -> frozenset[int]:
    """Update ids of the latest logged turns."""
    async with db.execute(
        "SELECT update_id FROM messages WHERE update_id IS NOT NULL ORDER BY id DESC LIMIT ?",
        (limit,),
    ) as cursor:
        return frozenset(int(row[0]) for row in await cursor.fetchall())


async def forget_user(db: aiosqlite.Connection, user_id: int) -> int:
    """Delete every row of a user; the number of their messages deleted."""
    deleted = await _scalar(db, "SELECT count(*) FROM messages WHERE user_id = ?", user_id)
    for _, sql in FORGET_USER:
        await db.execute(sql, (user_id,))
    return deleted


async def purge_before(db: aiosqlite.Connection, cutoff: str) -> dict[str, int]:
    """Delete rows older than `cutoff` (an ISO time); the rows deleted per table."""
    deleted = {}
    for table, sql in PURGE_BEFORE:
        cursor = await db.execute(sql, (cutoff,))
        deleted[table] = cursor.rowcount
    return deleted


async def checkpoint(db: aiosqlite.Connection) -> None:
    """Copy the write-ahead log into the database file and empty it: after a deletion, the
    WAL still holds the deleted rows' old pages until then."""
    await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


async def table_counts(db: aiosqlite.Connection) -> dict[str, int]:
    """Row count of every table of the log."""
    return {t: await _scalar(db, f"SELECT count(*) FROM {t}") for t in TABLES}
