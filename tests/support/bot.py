"""A bot running inside a test's event loop against the Bot API emulator: its settings,
starting and stopping it as run_polling does, and waiting for its log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from telegram import Update

from bot.config import Settings, load_settings
from bot.serving.library import Library
from handlers.app import build_application
from handlers.services import NewsApp, get_services_of
from tests.support.emulator.server import TOKEN, BotApiEmulator
from tests.support.paths import SEEDS
from tests.support.waiting import until


def bot_settings(tmp_path: Path, emulator: BotApiEmulator, **extra: Any) -> Settings:
    """Settings pointing the bot at the emulator, the seeds and a fresh data folder;
    `extra` overrides or adds settings by their environment key."""
    values: dict[str, Any] = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": emulator.base_url,
        "NEWSBOT_ARTICLES_DIR": SEEDS,
        "NEWSBOT_DB": tmp_path / "data" / "newsbot.sqlite3",
        "NEWSBOT_CACHE_DIR": tmp_path / "data" / "cache",
    }
    values.update(extra)
    return load_settings(env_file=None, **values)


async def start_bot(settings: Settings, library: Library) -> NewsApp:
    """Start the Application the way run_polling does, inside the test's event loop."""
    app = build_application(settings, library)
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=1, allowed_updates=Update.ALL_TYPES)
    await app.start()
    return app


async def stop_bot(app: NewsApp) -> None:
    """Stop it the way run_polling does on SIGINT/SIGTERM."""
    assert app.updater is not None
    if app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await app.shutdown()
    assert app.post_shutdown is not None
    await app.post_shutdown(app)


async def flushed(app: NewsApp, turns: int = 1) -> None:
    """Wait until `turns` turns reached the log (handlers finish after their reply), flush."""
    log = get_services_of(app).log
    await until(lambda: log.written + log.queued >= turns, timeout=5)
    assert await log.flush()


async def handled(app: NewsApp) -> None:
    """Wait until the bot has no update left to handle (a handler records its reply's
    delivery after sending it), then write the log."""
    processor = app.update_processor
    await until(lambda: app.update_queue.empty() and processor.current_concurrent_updates == 0)
    assert await get_services_of(app).log.flush()
