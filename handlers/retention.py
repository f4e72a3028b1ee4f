"""Periodic jobs: the daily purge of log rows older than NEWSBOT_RETENTION_DAYS, and of old
update claims. Every instance checks hourly; the database lets one of them run each job
once per period.

(/forget is in the command table; its confirmation buttons are in handlers/buttons.py.)
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.storage import DatabaseError
from handlers.services import Context, NewsApp, get_services

log = logging.getLogger(__name__)

# The jobs are first checked this long after start, then hourly.
JOBS_FIRST_S = 2.0
CHECK_EVERY = timedelta(hours=1)
RETENTION_EVERY = timedelta(days=1)


def schedule_jobs(app: NewsApp) -> None:
    """Check the periodic jobs soon after start, then hourly (python-telegram-bot's job queue)."""
    if app.job_queue is not None:
        app.job_queue.run_repeating(
            run_due_jobs, interval=CHECK_EVERY, first=JOBS_FIRST_S, name="periodic-jobs"
        )


async def run_due_jobs(context: Context) -> None:
    """Job: retention (when set) once a day, forgetting old claims hourly, on one instance."""
    services = get_services(context)
    try:
        if services.settings.retention_days and await services.log.due(
            "retention", RETENTION_EVERY
        ):
            await purge_old_rows(context)
        if services.instance is not None and await services.log.due("claims", CHECK_EVERY):
            await services.log.purge_claims()
    except DatabaseError as exc:
        log.warning("Periodic jobs failed (retried within the hour): %s", exc)


async def purge_old_rows(context: Context) -> None:
    """Delete log rows older than NEWSBOT_RETENTION_DAYS."""
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
