"""/forget (with a confirmation button) and the daily retention purge."""

from __future__ import annotations

import logging
import time

from telegram import Update

from bot.storage import DatabaseError
from handlers.common import Context, get_services, send

log = logging.getLogger(__name__)


async def forget(update: Update, context: Context) -> None:
    """Ask for confirmation; the Yes button (handlers.buttons) deletes."""
    started = time.perf_counter()
    user = update.effective_user
    if user is None:
        return
    reply = get_services(context).room.forget_prompt(user.id)
    await send(update, context, reply, kind="command", started=started)


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
