"""The error handler: log the failure, tell the user briefly, never show a traceback."""

from __future__ import annotations

import logging
import time

from telegram import Update
from telegram.error import Forbidden, NetworkError, RetryAfter, TelegramError

from bot.chat import Reply
from handlers.common import SERVICES_KEY, Context, deliver, record

log = logging.getLogger(__name__)

SORRY = "Sorry, something went wrong on my side. Please try again in a moment."


async def on_error(update: object, context: Context) -> None:
    """Log the exception; apologise to the user when there is a chat to answer in."""
    error = context.error
    if isinstance(error, NetworkError | RetryAfter) and not isinstance(update, Update):
        # Polling hiccups: PTB retries by itself; one line, no traceback.
        log.warning("Telegram connection problem: %s", error)
        return
    log.error("Error while handling an update: %s", error, exc_info=error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if isinstance(error, Forbidden):  # blocked by the user or removed from the group
        return
    started = time.perf_counter()
    try:
        chat_id = update.effective_chat.id
        await deliver(lambda: context.bot.send_message(chat_id, SORRY))
    except TelegramError as exc:
        log.warning("Could not send the apology either: %s", exc)
    if SERVICES_KEY in context.bot_data and update.effective_message is not None:
        record(update, context, Reply((SORRY,)), kind="error", started=started)
