"""Inline mode: `@botname question` in any chat offers passages to share."""

from __future__ import annotations

import time
from functools import partial

from telegram import InlineQueryResultArticle, InputTextMessageContent, Update
from telegram.constants import ParseMode

from bot.storage import InlineSearch
from handlers.common import Context, deliver, get_services

# Seconds Telegram may cache the results of one query (the same for every user).
CACHE_TIME = 60


async def on_inline_query(update: Update, context: Context) -> None:
    """Up to 5 passages for the query; the newest articles for an empty one. Logged."""
    query = update.inline_query
    if query is None:
        return
    started = time.perf_counter()
    services = get_services(context)
    found = await services.search(partial(services.room.inline, query.query))
    results = [
        InlineQueryResultArticle(
            id=r.id,
            title=r.title,
            description=r.description,
            input_message_content=InputTextMessageContent(r.message, parse_mode=ParseMode.HTML),
        )
        for r in found
    ]
    await deliver(lambda: query.answer(results, cache_time=CACHE_TIME, is_personal=False))
    services.log.record(
        InlineSearch(
            user_id=query.from_user.id,
            query=query.query,
            results=len(results),
            latency_ms=(time.perf_counter() - started) * 1000,
        )
    )
