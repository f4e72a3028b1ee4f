"""The one place that builds the Telegram Application and wires the handlers to the core."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor

# Opt in to python-telegram-bot's timedelta durations now (RetryAfter.retry_after and
# friends); otherwise every flood-control error also emits a PTBDeprecationWarning.
os.environ.setdefault("PTB_TIMEDELTA", "1")

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError
from telegram.ext import AIORateLimiter, Application, Defaults

from bot.config import Settings, StartupError
from bot.conversation.conversation import Conversation
from bot.logs import install_redaction
from bot.loopwatch import LoopWatch
from bot.serving.library import Library
from bot.serving.poller import FeedPoller
from bot.serving.reload import ReloadError, watch_folder
from bot.storage import ConversationLog, DatabaseError
from bot.storage.databases import PostgresDatabase
from bot.storage.instances import Instance, LocalClaims, SharedClaims, SqlState
from bot.storage.state import MemoryState, ReaderState
from bot.text import default_workers
from handlers import ask, buttons, commands, errors, gate, inline, media, webhook
from handlers import retention as privacy
from handlers.common import SERVICES_KEY, NewsApp, Services, get_services, get_services_of
from handlers.polling import TokenWatch

log = logging.getLogger(__name__)

# HTTP connections for Bot API calls (getUpdates has its own). httpx checks every pooled
# connection on each request, so PTB's default of 256 costs more CPU than it saves under
# load: bench_e2e measured 293 questions/s with 256, 346 with 32, 401-438 with 16, 425 with
# 8, 348 with 4. 16 in flight is far above Telegram's 30 messages/s.
CONNECTIONS = 16

# Registered in this order: the gate first (its own handler groups), commands before text.
HANDLERS = (gate, commands, buttons, inline, ask, media, errors)


def build_application(settings: Settings, library: Library) -> NewsApp:
    """The Application: rate limiter, concurrency, defaults, resources and handlers."""
    token = settings.token
    if token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    install_redaction(token)  # whoever builds the bot: the token never reaches a log
    builder = (
        Application.builder()
        .token(token)
        .rate_limiter(rate_limiter(settings.rate_limit))
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
        .post_init(_make_post_init(settings, library))
        .post_shutdown(_post_shutdown)
    )
    if settings.webhook_url:  # Telegram posts updates: no getUpdates, no deleteWebhook
        builder = builder.updater(None)
    if settings.telegram_base_url:
        base = settings.telegram_base_url.rstrip("/").removesuffix("/bot")
        builder = builder.base_url(f"{base}/bot").base_file_url(f"{base}/file/bot")
    app: NewsApp = builder.build()  # type: ignore[assignment]
    if app.updater is not None:  # long polling: a token revoked mid-run stops the bot
        app.updater = TokenWatch(app.bot, app.update_queue, app.stop_running)
    add_handlers(app)
    return app


def rate_limiter(per_second: float) -> AIORateLimiter:
    """Telegram allows about 30 messages a second overall; 0 lifts the limit (local Bot API
    servers, benchmarks). Retries cover 429s, also for multi-part replies. Below one a
    second, the limit is one message per 1/rate seconds: a bucket smaller than one message
    would refuse every send."""
    if 0 < per_second < 1:
        return AIORateLimiter(
            overall_max_rate=1, overall_time_period=1 / per_second, max_retries=3
        )
    return AIORateLimiter(overall_max_rate=per_second, max_retries=3)


def add_handlers(app: NewsApp) -> None:
    """Every handler module registers its own handlers."""
    for module in HANDLERS:
        module.register(app)


def _make_post_init(settings: Settings, library: Library):  # type: ignore[no-untyped-def]
    async def post_init(app: NewsApp) -> None:
        """Open the log, make the conversation and the services, register the menus."""
        conversation_log = ConversationLog(settings.database, settings.pending_path)
        await conversation_log.open()
        try:
            await conversation_log.check_writable()  # a log that cannot grow: refuse now
        except DatabaseError:
            await conversation_log.close()
            raise
        database = conversation_log.database
        instance = Instance(database) if isinstance(database, PostgresDatabase) else None
        # Several instances share reader state and claims in PostgreSQL; one instance alone
        # (SQLite) keeps them in memory.
        state: ReaderState = (
            SqlState(database, record=conversation_log.record)
            if instance is not None
            else MemoryState()
        )
        loop_lag = LoopWatch()
        loop_lag.start()
        # Searches run here, off the event loop: one thread per CPU. More threads would only
        # fight the event loop for the GIL (bench_loop: lag p99 8 ms with asyncio's default
        # pool, 2-4 ms with this one).
        searches = ThreadPoolExecutor(default_workers(), "search")
        room = Conversation(
            library,
            state,
            top_k=settings.top_k,
            bot_username=app.bot.username,
            log=conversation_log,
            folders=(settings.articles_dir, settings.cache_dir),
            searches=searches,
            peers=instance.announce_reload if instance is not None else None,
        )
        claims = (
            SharedClaims(database, instance, conversation_log.record)
            if instance is not None
            else LocalClaims(lambda: conversation_log.logged_updates)
        )
        services = Services(room, conversation_log, settings, loop_lag, searches, claims, instance)
        app.bot_data[SERVICES_KEY] = services
        if instance is not None:
            # Only one instance may long-poll (Telegram gives each poller every update).
            await instance.start(lambda: _reload_for_peer(room), polling=app.updater is not None)
        await commands.register_menus(app)
        privacy.schedule_jobs(app)
        if settings.watch:
            services.tasks.append(
                asyncio.create_task(
                    watch_folder(
                        settings.articles_dir,
                        lambda changed: _watched(room, changed),
                        services.stop,
                    ),
                    name="articles-watch",
                )
            )
        if settings.feeds:  # new feed articles go through the same reload as /reload
            poller = FeedPoller.from_settings(settings, lambda: room.reload("the feed poller"))
            services.tasks.append(poller.start(services.stop))
        log.info(
            "newsbot is running as @%s with %d articles",
            app.bot.username,
            len(library.collection.articles),
        )

    return post_init


async def _reload_for_peer(room: Conversation) -> None:
    """Another instance reloaded (/reload): read the folder again here too."""
    with contextlib.suppress(ReloadError):
        await room.reload("another instance's /reload")


async def _watched(room: Conversation, changed: frozenset[str] | None) -> None:
    """The folder watch saw article changes (in `changed`, or anywhere when None): reload
    them (room.reload logs what happened)."""
    with contextlib.suppress(ReloadError):
        await room.reload("the folder watch", changed=changed)


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
    if services.instance is not None:
        await services.instance.stop()
    await services.log.close()
    log.info(
        "Conversation log closed (%d turns written this run, in %d commits)",
        services.log.written,
        services.log.commits,
    )
    log.info("Event loop: %s", await services.loop_lag.stop())


def _no_startup_traceback(record: logging.LogRecord) -> bool:
    """PTB logs a refused token or an unreachable server with a traceback; run_bot says it
    in one line instead, so keep PTB's line and drop the traceback."""
    if record.exc_info and isinstance(record.exc_info[1], InvalidToken | NetworkError):
        record.exc_info = None
        record.exc_text = None
    return True


def run_bot(settings: Settings, library: Library) -> None:
    """Run the bot until SIGINT/SIGTERM, then shut down gracefully: long polling, or with
    NEWSBOT_WEBHOOK_URL the webhook server."""
    logging.getLogger("telegram.ext").addFilter(_no_startup_traceback)
    app = build_application(settings, library)
    where = settings.telegram_base_url or "Telegram"
    try:
        if settings.webhook_url:
            webhook.run(app, settings)
        else:
            app.run_polling(allowed_updates=Update.ALL_TYPES)
            if isinstance(app.updater, TokenWatch) and app.updater.refused:
                raise StartupError(
                    f"{where} refused TELEGRAM_BOT_TOKEN while the bot was running "
                    "(revoked?): get a new one from @BotFather"
                )
    except InvalidToken:
        raise StartupError(
            f"{where} refused TELEGRAM_BOT_TOKEN: check it with @BotFather"
        ) from None
    except NetworkError as exc:
        raise StartupError(f"cannot reach {where} ({exc.message}); is the network up?") from None
    except DatabaseError as exc:
        raise StartupError(f"NEWSBOT_DB: {exc}") from None


__all__ = ["build_application", "get_services", "run_bot"]
