"""Admin commands (/stats, /reload), the articles-folder watch, and the chat allowlist."""

from __future__ import annotations

import asyncio
import logging
import time

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.answer import esc
from bot.chat import Changes, Reply
from bot.reload import ReloadError, reload_articles
from bot.stats import chart_png, stats_html
from bot.storage import DatabaseError, read_stats
from handlers.ask import unknown_command
from handlers.common import Context, Services, deliver, get_services, is_group, record, send

log = logging.getLogger(__name__)

NOT_ALLOWED = (
    "Sorry, this bot only answers in the chats its newsroom has allowed. "
    "Ask the people who run it for access."
)
CHART_CAPTION = "Questions per day and the share answered, last 30 days"


async def is_admin_or_pretend_unknown(update: Update, context: Context) -> bool:
    """True for admins; others get exactly what an unknown command gets (nothing in groups)."""
    user = update.effective_user
    if get_services(context).settings.is_admin(user.id if user else None):
        return True
    if not is_group(update.effective_chat):
        await unknown_command(update, context)
    return False


async def stats(update: Update, context: Context) -> None:
    """/stats: the report, then its chart as a photo."""
    if not await is_admin_or_pretend_unknown(update, context):
        return
    started = time.perf_counter()
    services = get_services(context)
    await services.log.flush()  # count the latest turns too
    try:
        report = await asyncio.to_thread(read_stats, services.settings.db_path)
    except DatabaseError as exc:
        await send(
            update,
            context,
            Reply((f"Cannot read the log: {exc}",)),
            kind="command",
            started=started,
        )
        return
    titles = {a.id: a.title for a in services.room.collection.articles}
    text = stats_html(report, titles)
    await send(update, context, Reply((text,)), kind="command", started=started)
    png = await asyncio.to_thread(chart_png, report)
    message = update.effective_message
    assert message is not None
    await deliver(lambda: message.reply_photo(png, caption=CHART_CAPTION, filename="stats.png"))


async def reload(update: Update, context: Context) -> None:
    """/reload: re-read the articles folder; say what changed."""
    if not await is_admin_or_pretend_unknown(update, context):
        return
    started = time.perf_counter()
    try:
        changes = await reload_in_thread(get_services(context))
    except ReloadError as exc:
        text = esc(f"Reload failed, nothing changed: {exc}")
    else:
        log.info("Articles reloaded by /reload: %s", changes.summary())
        text = changes.html()
    await send(update, context, Reply((text,)), kind="command", started=started)


async def reload_in_thread(services: Services, changed: frozenset[str] | None = None) -> Changes:
    """Re-read the articles folder (only `changed` files, if given) off the event loop
    (bot.reload); raises ReloadError."""
    settings = services.settings
    return await asyncio.to_thread(
        reload_articles, services.room, settings.articles_dir, settings.cache_dir, changed
    )


async def reload_from_watch(services: Services, changed: frozenset[str] | None = None) -> None:
    """The folder watch saw article changes: reload them, and log what changed."""
    try:
        changes = await reload_in_thread(services, changed)
    except ReloadError as exc:
        log.warning("Reload after a folder change failed, nothing changed: %s", exc)
        return
    log.info("Articles reloaded by the folder watch: %s", changes.summary())


async def skip_logged_updates(update: Update, context: Context) -> None:
    """Runs first: an update already in the log (Telegram re-sends the last unconfirmed batch
    after a crash) is not answered twice."""
    if update.update_id in get_services(context).log.logged_updates:
        log.info("Update %d was answered before a restart: skipped", update.update_id)
        raise ApplicationHandlerStop


async def allowlist(update: Update, context: Context) -> None:
    """Runs before every handler: chats outside NEWSBOT_ALLOWED_CHATS get one polite refusal."""
    services = get_services(context)
    chat, user = update.effective_chat, update.effective_user
    if services.settings.allows(chat.id if chat else None, user.id if user else None):
        return
    if update.callback_query is not None:
        await update.callback_query.answer(NOT_ALLOWED[:200])
    elif update.inline_query is not None:
        await update.inline_query.answer([], cache_time=0, is_personal=True)
    elif update.message is not None and chat is not None:
        started = time.perf_counter()
        first = chat.id not in services.refused
        services.refused.add(chat.id)
        if first:
            await send(update, context, Reply((NOT_ALLOWED,)), kind="refused", started=started)
        else:  # refused once already: stay quiet, but keep the record
            record(update, context, Reply(("",)), kind="refused", started=started)
    raise ApplicationHandlerStop
