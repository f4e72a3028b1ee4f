"""Webhook mode through the real `newsbot run`: the emulator posts updates with the secret
header and retries failed deliveries; /healthz; the secret is checked before the body."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from pathlib import Path

import httpx
import pytest

from handlers.webhook import SECRET_HEADER
from tests.support.emulator.process import bot_env, kill_newsbot, start_newsbot, stop_newsbot
from tests.support.emulator.server import TOKEN, BotApiEmulator
from tests.support.paths import SEEDS
from tests.support.servers import PASSWORD, Postgres, ensure_installed, free_port
from tests.support.waiting import healthy, until

pytestmark = pytest.mark.e2e
SECRET = "test-secret_123"


def webhook_env(emulator: BotApiEmulator, db: str | Path, port: int) -> dict[str, str]:
    return bot_env(
        emulator.base_url,
        SEEDS,
        db,  # type: ignore[arg-type]
        NEWSBOT_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram/hook",
        NEWSBOT_WEBHOOK_LISTEN=f"127.0.0.1:{port}",
        NEWSBOT_WEBHOOK_SECRET=SECRET,
        NEWSBOT_LOG_LEVEL="DEBUG",
    )


async def test_webhook_mode_answers_checks_the_secret_and_reports_health(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    """setWebhook with secret, allowed updates and connections; never getUpdates or
    deleteWebhook; a question answered and logged; 403 without the secret, even for a body
    that is not JSON; /healthz 200 with articles and database; SIGTERM exits 0."""
    port = free_port()
    db = tmp_path / "log.sqlite3"
    process = await start_newsbot(webhook_env(emulator, db, port), tmp_path)
    try:
        health = await healthy(port, timeout=60)
        assert health == {"status": "ok", "articles": 1, "database": "sqlite"}  # no instance key
        assert emulator.webhook is not None
        assert emulator.webhook["secret_token"] == SECRET
        assert emulator.webhook["max_connections"] == 40
        assert "callback_query" in emulator.webhook["allowed_updates"]
        await emulator.send_text("When will all US troops leave Afghanistan?")
        (reply,) = await emulator.wait_for(1001, 1, timeout=30)
        assert "Sept. 11" in reply["text"]
        hook = f"http://127.0.0.1:{port}/telegram/hook"
        async with httpx.AsyncClient() as client:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                got = await client.post(hook, content=b"\x00 not json", headers=headers)
                assert got.status_code == 403
            right = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            assert (await client.post(hook, content=b"{oops", headers=right)).status_code == 400
        await until(lambda: _delivered(db) == [("question", 1)])  # the reply marked delivered
        output = await stop_newsbot(process)
    finally:
        await kill_newsbot(process)
    assert process.returncode == 0, output[-3000:]
    methods = {method for method, _ in emulator.calls}
    assert "getUpdates" not in methods and "deleteWebhook" not in methods
    assert TOKEN not in output and SECRET not in output
    with sqlite3.connect(db) as conn:
        kinds = "SELECT kind, delivered FROM messages JOIN replies r ON r.message_id = messages.id"
        assert conn.execute(kinds).fetchall() == [("question", 1)]


async def test_failed_deliveries_are_retried_and_answered_once(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    """Updates posted while the bot is down are retried until it is up, then answered once;
    a retry of an update already answered (a lost 200) is not answered again."""
    port = free_port()
    emulator.retry_first_s = 0.2
    await emulator.api_setwebhook(
        {"url": f"http://127.0.0.1:{port}/telegram/hook", "secret_token": SECRET}
    )
    await emulator.send_text("Taliban prisoners")  # nobody listens yet: delivery fails
    await emulator.wait_until(lambda: bool(emulator.deliveries), timeout=10)
    process = await start_newsbot(webhook_env(emulator, tmp_path / "log.sqlite3", port), tmp_path)
    try:
        await emulator.wait_for(1001, 1, timeout=60)
        update = emulator.updates[-1]
        await emulator._post(update)  # Telegram re-sends it, as after a lost response
        await emulator.settle(0.5)
        assert len(emulator.sent_to(1001)) == 1
        assert isinstance(emulator.deliveries[0][1], str)  # nobody listened: a connection error
        info = await emulator.api_getwebhookinfo({})
        # The last failure: no listener yet, or 503 while the bot was starting.
        assert info["last_error_message"].startswith(("Connection failed", "Wrong response"))
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), 30)


async def test_health_is_503_when_the_database_is_unreachable(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    """On PostgreSQL: /healthz 200 with the instance's key; the server stopped, 503."""
    if problem := ensure_installed("postgresql"):
        pytest.skip(problem)
    server = Postgres()
    server.start()
    port = free_port()
    process = await start_newsbot(webhook_env(emulator, server.database(), port), tmp_path)
    try:
        health = await healthy(port, timeout=60)
        assert health["database"] == "postgresql" and health["instance"] > 0
        server.stop()
        async with httpx.AsyncClient() as client:
            got = await client.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
        assert got.status_code == 503
        assert got.json()["status"] == "database unreachable"
    finally:
        server.stop()
        output = await stop_newsbot(process, timeout=60)
    assert PASSWORD not in output


async def test_a_database_outage_is_503_then_every_update_is_answered(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    """On PostgreSQL, updates posted while the server is down get a prompt 503 (not a hung
    request); Telegram's retries after the outage are answered, once each; SIGTERM then
    stops the bot promptly. An update_id beyond 64 bits is a 400, not a hung request."""
    if problem := ensure_installed("postgresql"):
        pytest.skip(problem)
    server = Postgres()
    server.start()
    port = free_port()
    emulator.retry_first_s = 0.2
    process = await start_newsbot(webhook_env(emulator, server.database(), port), tmp_path)
    try:
        await healthy(port, timeout=60)
        async with httpx.AsyncClient() as client:  # a forged id no bigint holds: refused
            forged = b'{"update_id": 18446744073709551616}'
            hook, right = f"http://127.0.0.1:{port}/telegram/hook", {SECRET_HEADER: SECRET}
            got = await client.post(hook, content=forged, headers=right, timeout=10)
        assert got.status_code == 400
        server.halt()
        readers = (2001, 2002, 2003, 2004, 2005)
        for reader in readers:
            await emulator.send_text("Taliban prisoners", chat_id=reader)
        asked = {update["update_id"] for update in emulator.updates[-len(readers) :]}
        refused = lambda: {u for u, status in emulator.deliveries if status == 503}  # noqa: E731
        await emulator.wait_until(lambda: asked <= refused(), timeout=30)
        server.resume()
        for reader in readers:
            await emulator.wait_for(reader, 1, timeout=60)
        await emulator.settle(0.5)
        assert all(len(emulator.sent_to(reader)) == 1 for reader in readers)
        output = await stop_newsbot(process, timeout=10)
    finally:
        await kill_newsbot(process)
        server.stop()
    assert process.returncode == 0, output[-3000:]
    assert PASSWORD not in output


def _delivered(db: Path) -> list[tuple[str, int]]:
    """(kind, delivered) of every logged turn (the log is read beside the running bot)."""
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        kinds = "SELECT kind, delivered FROM messages JOIN replies r ON r.message_id = messages.id"
        return conn.execute(kinds).fetchall()
