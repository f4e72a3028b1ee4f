"""Every statement the writer runs, each a narrow async function on a connection.

The writer (bot/storage/writer.py) owns the transactions; these functions only say what to
write or read. Statements are portable between SQLite and PostgreSQL (`?` placeholders,
ON CONFLICT upserts); where the dialects differ, both forms are here.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.storage.engine import Sql
from bot.storage.rows import Delivery, Finished, InlineSearch, Kept, Row, Topic, Turn, Vote

PING = "SELECT 1"
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
    "bot_message_id, delivered) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_HIT = (
    "INSERT INTO hits (reply_id, rank, article_id, paragraph, score) VALUES (?, ?, ?, ?, ?)"
)
DELETE_UPDATE = "DELETE FROM messages WHERE update_id = ?"  # replies and hits cascade
LOGGED_UPDATES = (
    "SELECT m.update_id FROM messages m JOIN replies r ON r.message_id = m.id "
    "WHERE m.update_id IS NOT NULL AND r.delivered = 1 ORDER BY m.id DESC LIMIT ?"
)
DELIVERED = (
    "UPDATE replies SET delivered = 1, bot_message_id = ?, sent_at = ?, latency_ms = ? "
    "WHERE message_id IN (SELECT id FROM messages WHERE update_id = ?)"
)
UPSERT_VOTE = (
    "INSERT INTO feedback (chat_id, message_id, user_id, vote, at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT(chat_id, message_id, user_id) DO UPDATE SET vote = excluded.vote, "
    "at = excluded.at"
)
INSERT_INLINE = (
    "INSERT INTO inline_queries (user_id, query, results, latency_ms, at) VALUES (?, ?, ?, ?, ?)"
)
# Reader state and claims, written with the log's group commits (bot/storage/instances.py
# reads them).
SET_TOPIC = (
    "INSERT INTO topics (chat_id, user_id, question, at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (chat_id, user_id) DO UPDATE SET question = excluded.question, at = excluded.at"
)
DROP_TOPIC = "DELETE FROM topics WHERE chat_id = ? AND user_id = ?"
KEEP_ANSWER = (
    "INSERT INTO kept_answers (chat_id, message_id, user_id, question, follows, edition, at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (chat_id, message_id) DO UPDATE SET "
    "user_id = excluded.user_id, question = excluded.question, follows = excluded.follows, "
    "edition = excluded.edition, at = excluded.at"
)
FINISH = "UPDATE claims SET done = 1 WHERE update_id = ?"
# The next AUTOINCREMENT id of a table, inside the write transaction (SQLite: one writer at
# a time, so the ids are contiguous; the table name is one of ours, never input).
NEXT_ID = (
    "SELECT max(COALESCE((SELECT max(id) FROM {table}), 0), COALESCE((SELECT seq "
    "FROM sqlite_sequence WHERE name = '{table}'), 0)) + 1"
)
# PostgreSQL: `count` ids from the table's sequence (other instances draw from it too).
NEXT_IDS = "SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, ?)"

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
# Retention: rows older than a cutoff time; users and chats once nothing refers to them;
# the reader state kept for buttons and follow-ups, which holds questions too.
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
    ("topics", "DELETE FROM topics WHERE at < ?"),
    ("kept_answers", "DELETE FROM kept_answers WHERE at < ?"),
    ("forget_prompts", "DELETE FROM forget_prompts WHERE at < ?"),
)


async def _ids(db: Sql, table: str, count: int) -> list[int]:
    """`count` new ids for rows of `table`."""
    if db.dialect == "postgresql":
        return [int(r[0]) for r in await db.fetch(NEXT_IDS.format(table=table), count)]
    first = int(await db.scalar(NEXT_ID.format(table=table)))
    return list(range(first, first + count))


async def insert_rows(db: Sql, batch: Sequence[Row]) -> None:
    """A batch of rows, one statement per table (executemany): each statement is one hop to
    the database, so a busy event loop delays the log by milliseconds per batch, not per
    turn."""
    turns = [row for row in batch if isinstance(row, Turn)]
    # An apology replaces the turn recorded before its send failed, also in this batch.
    replaced = {t.update_id for t in turns if t.replaces and t.update_id is not None}
    turns = [t for t in turns if t.replaces or t.update_id not in replaced]
    # A turn replaces any recorded for its update: the apology, and the answer to an update
    # re-sent after its first answer was recorded but never marked delivered.
    updates = sorted({t.update_id for t in turns if t.update_id is not None})
    await db.executemany(DELETE_UPDATE, [(u,) for u in updates])
    if turns:
        await insert_turns(db, turns)
    deliveries = [row for row in batch if isinstance(row, Delivery)]
    await db.executemany(
        DELIVERED,
        [(d.bot_message_id, d.sent_at, round(d.latency_ms, 3), d.update_id) for d in deliveries],
    )
    votes = [row for row in batch if isinstance(row, Vote)]
    await db.executemany(
        UPSERT_VOTE, [(v.chat_id, v.message_id, v.user_id, v.vote, v.at) for v in votes]
    )
    searches = [row for row in batch if isinstance(row, InlineSearch)]
    await db.executemany(
        INSERT_INLINE,
        [(q.user_id, q.query, q.results, round(q.latency_ms, 3), q.at) for q in searches],
    )
    await insert_state(db, batch)


async def insert_state(db: Sql, batch: Sequence[Row]) -> None:
    """Topics (the latest per conversation), kept answers and finished claims."""
    topics = {(r.chat_id, r.user_id): r for r in batch if isinstance(r, Topic)}
    ordered = [topics[key] for key in sorted(topics)]
    await db.executemany(
        SET_TOPIC,
        [(t.chat_id, t.user_id, t.question, t.at) for t in ordered if t.question is not None],
    )
    await db.executemany(
        DROP_TOPIC, [(t.chat_id, t.user_id) for t in ordered if t.question is None]
    )
    kept = {(r.chat_id, r.message_id): r for r in batch if isinstance(r, Kept)}
    await db.executemany(
        KEEP_ANSWER,
        [
            (k.chat_id, k.message_id, k.user_id, k.question, k.follows, k.edition, k.at)
            for _, k in sorted(kept.items())
        ],
    )
    finished = sorted({r.update_id for r in batch if isinstance(r, Finished)})
    await db.executemany(FINISH, [(u,) for u in finished])


async def insert_turns(db: Sql, turns: Sequence[Turn]) -> None:
    """Chats and users (latest details win), then messages, replies and hits."""
    # One upsert per chat and user, in key order: instances writing at once on PostgreSQL
    # then lock rows in the same order and cannot deadlock.
    chats = {t.chat.id: t for t in turns}
    await db.executemany(
        UPSERT_CHAT,
        [
            (c.id, c.type, c.title, c.username, t.received_at, t.received_at)
            for _, t in sorted(chats.items())
            if (c := t.chat)
        ],
    )
    users = {t.user.id: t for t in turns if t.user is not None}
    await db.executemany(
        UPSERT_USER,
        [
            (
                *(u.id, int(u.is_bot), u.username, u.first_name, u.last_name, u.language_code),
                *(t.received_at, t.received_at),
            )
            for _, t in sorted(users.items())
            if (u := t.user) is not None
        ],
    )
    # Ids assigned here, so replies and hits can refer to them within one statement each.
    messages = await _ids(db, "messages", len(turns))
    replies = await _ids(db, "replies", len(turns))
    await db.executemany(
        INSERT_MESSAGE,
        [
            (
                *(m, t.chat.id, t.user_id, t.telegram_message_id, t.update_id),
                *(t.kind, t.text, t.received_at, t.question),
            )
            for m, t in zip(messages, turns, strict=True)
        ],
    )
    await db.executemany(
        INSERT_REPLY,
        [
            (
                *(r, m, t.reply),
                None if t.answered is None else int(t.answered),
                *(round(t.latency_ms, 3), t.sent_at, t.bot_message_id, int(t.delivered)),
            )
            for r, m, t in zip(replies, messages, turns, strict=True)
        ],
    )
    await db.executemany(
        INSERT_HIT,
        [
            (r, h.rank, h.article_id, h.paragraph, float(h.score))
            for r, t in zip(replies, turns, strict=True)
            for h in t.hits
        ],
    )


async def logged_updates(db: Sql, limit: int) -> frozenset[int]:
    """Update ids of the latest turns whose reply reached Telegram (one recorded but not
    known delivered is answered again when Telegram re-sends its update)."""
    rows = await db.fetch(LOGGED_UPDATES, limit)
    return frozenset(int(row[0]) for row in rows)


async def forget_user(db: Sql, user_id: int) -> int:
    """Delete every row of a user; the number of their messages deleted."""
    deleted = int(await db.scalar("SELECT count(*) FROM messages WHERE user_id = ?", user_id))
    for _, sql in FORGET_USER:
        await db.execute(sql, user_id)
    return deleted


async def purge_before(db: Sql, cutoff: str) -> dict[str, int]:
    """Delete rows older than `cutoff` (an ISO time); the rows deleted per table."""
    return {table: await db.execute(sql, cutoff) for table, sql in PURGE_BEFORE}


async def table_counts(db: Sql) -> dict[str, int]:
    """Row count of every table of the log."""
    return {t: int(await db.scalar(f"SELECT count(*) FROM {t}")) for t in TABLES}
