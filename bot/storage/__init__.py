"""The conversation log in SQLite or PostgreSQL, split by job.

- `rows`: what is stored (turns, deliveries, votes, inline searches) as plain values;
- `engine`: one connection interface over both drivers (aiosqlite, asyncpg);
- `schema`: opening the database and its migrations, one history for both dialects;
- `writer`: the batched (group-committed), retried writes, /forget, retention
  (`ConversationLog`);
- `queries`: every statement the writer runs; `reports`: the /stats figures and the export;
- `shared`: what several instances on one PostgreSQL share: update claims, reader state,
  /reload notices, the once-per-period lock.

All SQL is in `schema`, `queries`, `reports` and `shared`.
"""

from bot.storage.engine import Database, DatabaseError, database_for, is_url, redact_url
from bot.storage.reports import EXPORT_FIELDS, DayCount, LogStats, export_rows, read_stats
from bot.storage.rows import (
    ChatRow,
    Delivery,
    HitRow,
    InlineSearch,
    Kind,
    Row,
    Turn,
    UserRow,
    Vote,
    row_from_json,
    row_to_json,
    utc_now,
)
from bot.storage.schema import migrate_database, reader
from bot.storage.writer import ConversationLog, ping, row_counts

__all__ = [
    "EXPORT_FIELDS",
    "ChatRow",
    "ConversationLog",
    "Database",
    "DatabaseError",
    "DayCount",
    "Delivery",
    "HitRow",
    "InlineSearch",
    "Kind",
    "LogStats",
    "Row",
    "Turn",
    "UserRow",
    "Vote",
    "database_for",
    "export_rows",
    "is_url",
    "migrate_database",
    "ping",
    "read_stats",
    "reader",
    "redact_url",
    "row_counts",
    "row_from_json",
    "row_to_json",
    "utc_now",
]
