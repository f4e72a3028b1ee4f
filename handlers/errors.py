"""The error handler: log the failure, tell the user briefly, never show a traceback."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError, RetryAfter, TelegramError

from bot.conversation import replies
from bot.i18n.catalogs import for_reader
from handlers.delivery import Exchange, deliver
from handlers.reading import language_of
from handlers.services import SERVICES_KEY, Context, NewsApp

log = logging.getLogger(__name__)


def register(app: NewsApp) -> None:
    app.add_error_handler(on_error)


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
    exchange = Exchange(update, context, "error")
    sorry = replies.sorry(for_reader(language_of(update)))
    try:
        chat_id = update.effective_chat.id
        await deliver(lambda: context.bot.send_message(chat_id, sorry.messages[0]))
    except TelegramError as exc:
        log.warning("Could not send the apology either: %s", exc)
    if SERVICES_KEY in context.bot_data and update.effective_message is not None:
        exchange.record(sorry, replaces=True)
