"""Runs before every handler: updates answered before a crash, and the chat allowlist."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop, CommandHandler, TypeHandler, filters

from bot.conversation import replies
from bot.conversation.replies import ForgetAction, parse_button
from bot.i18n.catalogs import for_reader
from handlers.delivery import Exchange
from handlers.reading import language_of
from handlers.services import Context, NewsApp, get_chats, get_services

log = logging.getLogger(__name__)


def register(app: NewsApp) -> None:
    app.add_handler(TypeHandler(Update, skip_logged_updates), group=-2)
    app.add_handler(TypeHandler(Update, allowlist), group=-1)


async def skip_logged_updates(update: Update, context: Context) -> None:
    """An update already in the log (Telegram re-sends the last unconfirmed batch after a
    crash) is not answered twice."""
    if update.update_id in get_services(context).log.logged_updates:
        log.info("Update %d was answered before a restart: skipped", update.update_id)
        raise ApplicationHandlerStop


async def allowlist(update: Update, context: Context) -> None:
    """Chats outside NEWSBOT_ALLOWED_CHATS get one polite refusal, then silence; every
    refused message is still logged, so /forget (and its buttons) is open to everyone."""
    services = get_services(context)
    chat, user = update.effective_chat, update.effective_user
    if services.settings.allows(chat.id if chat else None, user.id if user else None):
        return
    if is_forget(update):
        return
    tr = for_reader(language_of(update))
    if update.callback_query is not None:
        await update.callback_query.answer(tr.gettext(replies.NOT_ALLOWED)[:200])
    elif update.inline_query is not None:
        await update.inline_query.answer([], cache_time=0, is_personal=True)
    elif update.message is not None and chat is not None:
        exchange = Exchange(update, context, "refused")
        refused = get_chats(context.bot_data).refused
        if chat.id not in refused:
            refused.add(chat.id)
            await exchange.reply(replies.not_allowed(tr))
        else:  # refused once already: stay quiet, but keep the record
            exchange.record(replies.silence())
    raise ApplicationHandlerStop


# Only to recognise /forget as the command handlers do (its callback is never called).
_FORGET = CommandHandler("forget", skip_logged_updates, filters=filters.UpdateType.MESSAGE)


def is_forget(update: Update) -> bool:
    """/forget, or a press on its confirmation's buttons: what lets a reader delete what
    the log holds about them, whoever they are."""
    if update.callback_query is not None:
        return isinstance(parse_button(update.callback_query.data), ForgetAction)
    return bool(_FORGET.check_update(update))
