"""Inline mode: `@botname question` in any chat offers passages to share."""

from __future__ import annotations

import time

from telegram import InlineQueryResultArticle, InputTextMessageContent, Update
from telegram.constants import ParseMode
from telegram.ext import InlineQueryHandler

from bot.storage import InlineSearch
from handlers.delivery import deliver
from handlers.services import Context, NewsApp, get_services

# Seconds Telegram may cache the results of one query: for every user, or with an
# allowlist for the asking user only (is_personal), so that a reader outside the
# allowlist is never shown results cached for one inside it.
CACHE_TIME = 60


def register(app: NewsApp) -> None:
    app.add_handler(InlineQueryHandler(on_inline_query))


async def on_inline_query(update: Update, context: Context) -> None:
    """Up to 5 passages for the query; the newest articles for an empty one. Logged."""
    query = update.inline_query
    if query is None:
        return
    started = time.perf_counter()
    services = get_services(context)
    results = [
        InlineQueryResultArticle(
            id=r.id,
            title=r.title,
            description=r.description,
            input_message_content=InputTextMessageContent(r.message, parse_mode=ParseMode.HTML),
        )
        for r in await services.conversation.inline(query.query, query.from_user.language_code)
    ]
    personal = bool(services.settings.allowed_chats)
    await deliver(lambda: query.answer(results, cache_time=CACHE_TIME, is_personal=personal))
    services.log.record(
        InlineSearch(
            user_id=query.from_user.id,
            query=query.query,
            results=len(results),
            latency_ms=(time.perf_counter() - started) * 1000,
        )
    )
