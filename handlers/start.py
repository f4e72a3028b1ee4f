"""/start and /help."""

from __future__ import annotations

import time

from telegram import Update

from handlers.common import Context, get_services, send


async def start(update: Update, context: Context) -> None:
    """Greet the reader, say how to ask, and offer example questions."""
    started = time.perf_counter()
    user = update.effective_user
    reply = get_services(context).room.start(user.first_name if user else None)
    await send(update, context, reply, kind="command", started=started)


async def help_command(update: Update, context: Context) -> None:
    """List the commands and tips."""
    started = time.perf_counter()
    await send(update, context, get_services(context).room.help(), kind="command", started=started)
