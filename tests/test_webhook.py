"""The webhook endpoint before the bot is ready: 503 for updates (Telegram retries) and for
/healthz, and the secret checked first, through the ASGI app itself."""

from __future__ import annotations

from pathlib import Path

import httpx

from bot.serving.library import Library
from handlers.app import build_application
from handlers.webhook import SECRET_HEADER, WebhookServer
from tests.support.bot import bot_settings
from tests.support.emulator.server import BotApiEmulator


async def test_while_starting_updates_and_health_get_503_and_the_secret_comes_first(
    tmp_path: Path, emulator: BotApiEmulator, seed_library: Library
) -> None:
    """Not ready yet: /healthz 503 "starting", an update with the secret 503, without it 403."""
    settings = bot_settings(
        tmp_path,
        emulator,
        NEWSBOT_WEBHOOK_URL="https://bot.example/telegram/hook",
        NEWSBOT_WEBHOOK_SECRET="s3cret",
    )
    server = WebhookServer(build_application(settings, seed_library), settings)
    transport = httpx.ASGITransport(app=server.asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        health = await client.get("/healthz")
        assert (health.status_code, health.json()) == (503, {"status": "starting"})
        update = b'{"update_id": 1}'
        hook = "/telegram/hook"
        assert (await client.post(hook, content=update)).status_code == 403
        right = {SECRET_HEADER: "s3cret"}
        assert (await client.post(hook, content=update, headers=right)).status_code == 503
        assert (await client.get(hook)).status_code == 405  # only POST is served there
