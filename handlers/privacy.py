"""Retention: the daily purge of log rows older than NEWSBOT_RETENTION_DAYS.

(/forget is in the command table; its confirmation buttons are in handlers/buttons.py.)
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.storage import DatabaseError
from handlers.common import Context, NewsApp, get_services

log = logging.getLogger(__name__)

# The purge runs this long after start, then daily.
RETENTION_FIRST_S = 2.0


def schedule_retention(app: NewsApp) -> None:
    """Purge old rows soon after start, then daily (python-telegram-bot's job queue)."""
    if app.job_queue is not None:
        app.job_queue.run_repeating(
            purge_old_rows, interval=timedelta(days=1), first=RETENTION_FIRST_S, name="retention"
        )


async def purge_old_rows(context: Context) -> None:
    """Job: delete log rows older than NEWSBOT_RETENTION_DAYS."""
    services = get_services(context)
    days = services.settings.retention_days
    try:
        deleted = await services.log.purge(days)
    except DatabaseError as exc:
        log.warning("Retention purge failed (retried tomorrow): %s", exc)
        return
    log.info(
        "Retention: deleted rows older than %d days: %s",
        days,
        ", ".join(f"{table} {n}" for table, n in deleted.items()),
    )
