"""Reports on the log: the /stats figures and the export, read on their own connection.

Used by /stats (in the bot), `newsbot stats` and `newsbot export`. They run on a reading
connection (Database.read, databases.reader): on SQLite one of its own, which WAL lets read
while the writer writes. The statements are the same on both dialects but the export's.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.storage.engine import Sql


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


QUESTION = "COALESCE(m.question, m.text)"
# Readers' questions with their replies (the dashboard's named queries read them too).
QUESTIONS = "FROM messages m JOIN replies r ON r.message_id = m.id WHERE m.kind = 'question'"
ASKED = f"SELECT count(*), COALESCE(sum(r.answered), 0) {QUESTIONS} AND m.received_at >= ?"
RANKED = (
    f"SELECT max({QUESTION}), count(*) AS n {QUESTIONS} {{where}} "
    f"GROUP BY lower({QUESTION}) ORDER BY n DESC, lower({QUESTION}) LIMIT ?"
)
PER_DAY = (
    "SELECT substr(m.received_at, 1, 10) AS d, count(*), sum(r.answered) "
    f"{QUESTIONS} AND m.received_at >= ? GROUP BY d"
)
VOTES = (
    "SELECT COALESCE(sum(CASE WHEN vote > 0 THEN 1 ELSE 0 END), 0), "
    "COALESCE(sum(CASE WHEN vote < 0 THEN 1 ELSE 0 END), 0) FROM feedback"
)
CITED = (
    "SELECT article_id, count(*) AS n FROM hits GROUP BY article_id "
    "ORDER BY n DESC, article_id LIMIT ?"
)
READERS = "SELECT count(DISTINCT user_id) FROM messages WHERE kind = 'question'"
INLINE = "SELECT count(*) FROM inline_queries"
# The hits as a JSON list, per dialect.
HITS_JSON = {
    "sqlite": "json_group_array(json_object('rank', h.rank, 'article_id', h.article_id, "
    "'paragraph', h.paragraph, 'score', h.score))",
    "postgresql": "json_agg(json_build_object('rank', h.rank, 'article_id', h.article_id, "
    "'paragraph', h.paragraph, 'score', h.score) ORDER BY h.rank)",
}
EXPORT = (
    "SELECT m.received_at, m.chat_id, c.type AS chat_type, m.user_id, u.username, "
    "m.kind, m.text, m.question, r.answered, r.latency_ms, r.text AS reply, r.sent_at, "
    "(SELECT {hits_json} FROM (SELECT * FROM hits "
    "WHERE reply_id = r.id ORDER BY rank) AS h) AS hits, "
    "(SELECT count(*) FROM feedback f WHERE f.chat_id = m.chat_id "
    "AND f.message_id = r.bot_message_id AND f.vote > 0) AS votes_up, "
    "(SELECT count(*) FROM feedback f WHERE f.chat_id = m.chat_id "
    "AND f.message_id = r.bot_message_id AND f.vote < 0) AS votes_down "
    "FROM messages m JOIN replies r ON r.message_id = m.id "
    "LEFT JOIN chats c ON c.id = m.chat_id LEFT JOIN users u ON u.id = m.user_id "
    "WHERE m.received_at >= ? ORDER BY m.id"
)
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


async def _rows(db: Sql, sql: str, *args: object) -> list[Any]:
    return await db.fetch(sql, *args)


async def _pair(db: Sql, sql: str, *args: object) -> tuple[int, int]:
    (row,) = await _rows(db, sql, *args)
    return int(row[0] or 0), int(row[1] or 0)


async def _ranked(db: Sql, where: str, top: int) -> tuple[tuple[str, int], ...]:
    rows = await _rows(db, RANKED.format(where=where), top)
    return tuple((str(q), int(n)) for q, n in rows)


async def read_stats(
    db: Sql, now: datetime | None = None, days: int = 30, top: int = 10
) -> LogStats:
    """The report behind /stats and `newsbot stats`, for the `days` days up to `now`."""
    today = (now or datetime.now(UTC)).date()
    first = today - timedelta(days=days - 1)
    by_day = {d: (int(n), int(a or 0)) for d, n, a in await _rows(db, PER_DAY, first.isoformat())}
    dates = ((first + timedelta(days=i)).isoformat() for i in range(days))
    up, down = await _pair(db, VOTES)
    ((readers,),) = await _rows(db, READERS)
    ((inline,),) = await _rows(db, INLINE)
    return LogStats(
        today=await _pair(db, ASKED, today.isoformat()),
        week=await _pair(db, ASKED, (today - timedelta(days=6)).isoformat()),
        all_time=await _pair(db, ASKED, ""),
        top_questions=await _ranked(db, "", top),
        top_unanswered=await _ranked(db, "AND r.answered = 0", top),
        votes_up=up,
        votes_down=down,
        top_articles=tuple((str(a), int(n)) for a, n in await _rows(db, CITED, top)),
        per_day=tuple(DayCount(d, *by_day.get(d, (0, 0))) for d in dates),
        readers=int(readers),
        inline_queries=int(inline),
    )


async def export_rows(db: Sql, since: date | None = None) -> AsyncIterator[dict[str, Any]]:
    """Every logged turn (oldest first) with its hits and votes, for `newsbot export`."""
    sql = EXPORT.format(hits_json=HITS_JSON[db.dialect])
    async for record in db.stream(sql, since.isoformat() if since else ""):
        record["hits"] = json.loads(record["hits"] or "[]")
        if record["answered"] is not None:
            record["answered"] = bool(record["answered"])
        yield record
