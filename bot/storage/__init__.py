"""The conversation log in SQLite, split by job.

- `rows`: what is stored (turns, votes, inline searches) as plain values;
- `schema`: opening the database and its migrations (runnable on their own);
- `writer`: the batched, retried writes, /forget and retention (`ConversationLog`);
- `queries`: every statement the writer runs; `reports`: the /stats figures and the export.

All SQL is in `schema`, `queries` and `reports`.
"""

from bot.storage.reports import EXPORT_FIELDS, DayCount, LogStats, export_rows, read_stats
from bot.storage.rows import (
    ChatRow,
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
from bot.storage.schema import DatabaseError, migrate_file, reader
from bot.storage.writer import ConversationLog

__all__ = [
    "EXPORT_FIELDS",
    "ChatRow",
    "ConversationLog",
    "DatabaseError",
    "DayCount",
    "HitRow",
    "InlineSearch",
    "Kind",
    "LogStats",
    "Row",
    "Turn",
    "UserRow",
    "Vote",
    "export_rows",
    "migrate_file",
    "read_stats",
    "reader",
    "row_from_json",
    "row_to_json",
    "utc_now",
]
