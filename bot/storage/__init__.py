"""The conversation log and what readers leave behind, in SQLite or PostgreSQL, split by job.

- `rows`: what is stored (turns, deliveries, votes, inline searches) as plain values;
- `engine`: one connection interface over both drivers (aiosqlite, asyncpg);
- `schema`: the migrations, one history for both dialects;
- `databases`: opening a log (SQLite file or PostgreSQL server), migrating it, reading it;
- `writer`: the batched (group-committed), retried writes, /forget, retention
  (`ConversationLog`); `pending`: the side file of rows a stopped writer could not write;
- `queries`: every statement the writer runs; `reports`: the /stats figures and the export;
  `dashboard`: the named queries `newsbot dashboard` serves; `transfer`: copying a SQLite
  log into PostgreSQL (`newsbot migrate-log`), and a snapshot of either into a SQLite file;
- `state`: what the bot remembers of readers between messages (`ReaderState`, in memory);
- `instances`: what several instances on one PostgreSQL share: update claims, reader state
  (`SqlState`), /reload notices, the once-per-period and long-polling locks.

All SQL is in `schema`, `queries`, `reports`, `dashboard`, `transfer` and `instances`.

May import: bot (the base modules).
"""

from bot.storage.databases import database_for, migrate_database, reader
from bot.storage.engine import Database, DatabaseError, is_url, redact_url
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
