"""The one place that builds the Telegram Application and wires the handlers to the core."""

from __future__ import annotations

import logging
import os

# Opt in to python-telegram-bot's timedelta durations now (RetryAfter.retry_after and
# friends); otherwise every flood-control error also emits a PTBDeprecationWarning.
os.environ.setdefault("PTB_TIMEDELTA", "1")

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError
from telegram.ext import AIORateLimiter, Application, Defaults

from bot.config import Settings, StartupError
from bot.logs import install_redaction
from bot.runtime.services import close_services, open_services
from bot.serving.library import Library
from bot.storage import DatabaseError
from bot.text import plural
from handlers import ask, buttons, commands, errors, gate, inline, media, retention, webhook
from handlers.polling import TokenWatch
from handlers.services import SERVICES_KEY, NewsApp, get_services, get_services_of

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
        """Open the services (bot/runtime), then register the menus and the periodic jobs."""
        services = await open_services(
            settings, library, bot_username=app.bot.username, polling=app.updater is not None
        )
        app.bot_data[SERVICES_KEY] = services
        await commands.register_menus(app)
        retention.schedule_jobs(app)
        log.info(
            "newsbot is running as @%s with %s",
            app.bot.username,
            plural(len(library.collection.articles), "article"),
        )

    return post_init


async def _post_shutdown(app: NewsApp) -> None:
    """Close the services: every queued log row is written before the process ends."""
    if SERVICES_KEY in app.bot_data:
        await close_services(get_services_of(app))


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
