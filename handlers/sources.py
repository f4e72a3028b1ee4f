"""/sources and /source N."""

from __future__ import annotations

import time

from telegram import Update

from handlers.common import Context, get_services, send


async def sources(update: Update, context: Context) -> None:
    """Numbered list of the articles, paged."""
    started = time.perf_counter()
    reply = get_services(context).room.sources(" ".join(context.args or []))
    await send(update, context, reply, kind="command", started=started)


async def source(update: Update, context: Context) -> None:
    """One article in full, split into messages and paged when long."""
    started = time.perf_counter()
    reply = get_services(context).room.source(" ".join(context.args or []))
    await send(update, context, reply, kind="command", started=started)
