"""The one place that builds the Telegram Application and wires the handlers to the core."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from datetime import timedelta

# Opt in to python-telegram-bot's timedelta durations now (RetryAfter.retry_after and
# friends); otherwise every flood-control error also emits a PTBDeprecationWarning.
os.environ.setdefault("PTB_TIMEDELTA", "1")

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.chat import COMMANDS, Newsroom
from bot.config import Settings, StartupError
from bot.logs import install_redaction
from bot.loopwatch import LoopWatch
from bot.reload import watch_folder
from bot.storage import ConversationLog, DatabaseError
from handlers import admin, ask, buttons, errors, inline, media, privacy, sources, start
from handlers.common import SERVICES_KEY, NewsApp, Services, get_services, get_services_of

log = logging.getLogger(__name__)

# HTTP connections for Bot API calls (getUpdates has its own). httpx checks every pooled
# connection on each request, so PTB's default of 256 costs more CPU than it saves under
# load: bench_e2e measured 293 questions/s with 256, 346 with 32, 401-438 with 16, 425 with
# 8, 348 with 4. 16 in flight is far above Telegram's 30 messages/s.
CONNECTIONS = 16

# The retention purge runs this long after start, then daily.
RETENTION_FIRST_S = 2.0

NOT_TEXT = (
    filters.PHOTO
    | filters.Sticker.ALL
    | filters.VOICE
    | filters.AUDIO
    | filters.VIDEO
    | filters.VIDEO_NOTE
    | filters.ANIMATION
    | filters.Document.ALL
    | filters.LOCATION
    | filters.VENUE
    | filters.CONTACT
    | filters.POLL
    | filters.Dice.ALL
)


def build_application(settings: Settings, room: Newsroom) -> NewsApp:
    """The Application: rate limiter, concurrency, defaults, resources and handlers."""
    token = settings.token
    if token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    install_redaction(token)  # whoever builds the bot: the token never reaches a log
    builder = (
        Application.builder()
        .token(token)
        # Telegram allows about 30 messages a second overall; 0 lifts the limit (local
        # Bot API servers, benchmarks). Retries cover 429s, also for multi-part replies.
        .rate_limiter(AIORateLimiter(overall_max_rate=settings.rate_limit, max_retries=3))
        .concurrent_updates(True)
        # One timeout for connecting, sending and reading each Bot API call (getUpdates adds
        # its long-poll time). A timed-out send is not repeated: it may have arrived.
        .connect_timeout(settings.telegram_timeout)
        .read_timeout(settings.telegram_timeout)
        .write_timeout(settings.telegram_timeout)
        .pool_timeout(settings.telegram_timeout)
        .connection_pool_size(CONNECTIONS)
        .get_updates_connect_timeout(settings.telegram_timeout)
        .get_updates_read_timeout(settings.telegram_timeout)
        .get_updates_write_timeout(settings.telegram_timeout)
        .get_updates_pool_timeout(settings.telegram_timeout)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .post_init(_make_post_init(settings, room))
        .post_shutdown(_post_shutdown)
    )
    if settings.telegram_base_url:
        base = settings.telegram_base_url.rstrip("/").removesuffix("/bot")
        builder = builder.base_url(f"{base}/bot").base_file_url(f"{base}/file/bot")
    app: NewsApp = builder.build()  # type: ignore[assignment]
    add_handlers(app)
    return app


def add_handlers(app: NewsApp) -> None:
    """Register every handler, commands first."""
    only_messages = filters.UpdateType.MESSAGES
    app.add_handler(TypeHandler(Update, admin.skip_logged_updates), group=-2)
    app.add_handler(TypeHandler(Update, admin.allowlist), group=-1)
    app.add_handler(CommandHandler("start", start.start, filters=only_messages))
    app.add_handler(CommandHandler("help", start.help_command, filters=only_messages))
    app.add_handler(CommandHandler("sources", sources.sources, filters=only_messages))
    app.add_handler(CommandHandler("source", sources.source, filters=only_messages))
    app.add_handler(CommandHandler("ask", ask.ask_command, filters=only_messages))
    app.add_handler(CommandHandler("new", ask.new_topic, filters=only_messages))
    app.add_handler(CommandHandler("forget", privacy.forget, filters=only_messages))
    app.add_handler(CommandHandler("stats", admin.stats, filters=only_messages))
    app.add_handler(CommandHandler("reload", admin.reload, filters=only_messages))
    app.add_handler(CallbackQueryHandler(buttons.on_button))
    app.add_handler(InlineQueryHandler(inline.on_inline_query))
    app.add_handler(
        MessageHandler(
            filters.COMMAND & filters.ChatType.PRIVATE & only_messages, ask.unknown_command
        )
    )
    app.add_handler(
        MessageHandler(filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGE, ask.ask_text)
    )
    app.add_handler(MessageHandler(NOT_TEXT & filters.UpdateType.MESSAGE, media.not_text))
    app.add_error_handler(errors.on_error)


def _make_post_init(settings: Settings, room: Newsroom):  # type: ignore[no-untyped-def]
    async def post_init(app: NewsApp) -> None:
        """Open the log, share the services, and register the command menu."""
        conversation_log = ConversationLog(settings.db_path)
        await conversation_log.open()
        watch = LoopWatch()
        watch.start()
        services = Services(room=room, log=conversation_log, settings=settings, watch=watch)
        app.bot_data[SERVICES_KEY] = services
        room.bot_username = app.bot.username
        await _register_commands(app, settings)
        if settings.retention_days and app.job_queue is not None:
            app.job_queue.run_repeating(
                privacy.purge_old_rows,
                interval=timedelta(days=1),
                first=RETENTION_FIRST_S,
                name="retention",
            )
        if settings.watch:
            services.tasks.append(
                asyncio.create_task(
                    watch_folder(
                        settings.articles_dir,
                        lambda changed: admin.reload_from_watch(services, changed),
                        services.stop,
                    ),
                    name="articles-watch",
                )
            )
        me = app.bot.username
        log.info("newsbot is running as @%s with %d articles", me, len(room.collection.articles))

    return post_init


async def _register_commands(app: NewsApp, settings: Settings) -> None:
    """The command menu: everyone's commands, plus the admin commands in admins' chats."""
    try:
        await app.bot.set_my_commands([BotCommand(n, d) for n, d in COMMANDS])
    except TelegramError as exc:
        log.warning("Could not register the command menu: %s", exc)
    for admin_id in sorted(settings.admin_ids):
        await start.admin_menu(app.bot, get_services_of(app), admin_id)


async def _post_shutdown(app: NewsApp) -> None:
    """Stop the folder watch; write every queued log row before the process ends."""
    if SERVICES_KEY not in app.bot_data:
        return
    services = get_services_of(app)
    services.stop.set()
    services.searches.shutdown(wait=True)
    for task in services.tasks:
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, timeout=5)
    await services.log.close()
    log.info("Conversation log closed (%d turns written this run)", services.log.written)
    log.info("Event loop: %s", await services.watch.stop())


def _no_startup_traceback(record: logging.LogRecord) -> bool:
    """PTB logs a refused token or an unreachable server with a traceback; run_bot says it
    in one line instead, so keep PTB's line and drop the traceback."""
    if record.exc_info and isinstance(record.exc_info[1], InvalidToken | NetworkError):
        record.exc_info = None
        record.exc_text = None
    return True


def run_bot(settings: Settings, room: Newsroom) -> None:
    """Run the bot with long polling until SIGINT/SIGTERM, then shut down gracefully."""
    logging.getLogger("telegram.ext").addFilter(_no_startup_traceback)
    app = build_application(settings, room)
    where = settings.telegram_base_url or "Telegram"
    try:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
    except InvalidToken:
        raise StartupError(
            f"{where} refused TELEGRAM_BOT_TOKEN: check it with @BotFather"
        ) from None
    except NetworkError as exc:
        raise StartupError(f"cannot reach {where} ({exc.message}); is the network up?") from None
    except DatabaseError as exc:
        raise StartupError(str(exc)) from None


__all__ = ["build_application", "get_services", "run_bot"]
