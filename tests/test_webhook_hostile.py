"""The webhook endpoint against hostile or broken HTTP clients, on a real socket: bodies too
big however they are sent, JSON that is not an update, clients too slow to finish a request,
and a listen port that is taken."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.serving.library import Library
from handlers import webhook
from handlers.app import build_application
from tests.support.bot import bot_settings
from tests.support.emulator.process import bot_env, start_newsbot
from tests.support.emulator.server import BotApiEmulator
from tests.support.paths import SEEDS
from tests.support.servers import free_port
from tests.support.waiting import healthy

pytestmark = pytest.mark.e2e
SECRET = "hostile-test-secret"
HOOK = "/telegram/hook"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
QUICK_S = 1.0  # the header and body timeouts for these tests (the defaults are longer)


@pytest.fixture
async def hook_port(
    tmp_path: Path,
    emulator: BotApiEmulator,
    seed_library: Library,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> AsyncIterator[int]:
    """The webhook server, served in this event loop on a free port of 127.0.0.1 (with at
    most `request.param` connections when the test gives one)."""
    monkeypatch.setattr(webhook, "HEADER_TIMEOUT_S", QUICK_S)
    monkeypatch.setattr(webhook, "BODY_TIMEOUT_S", QUICK_S)
    limit = getattr(request, "param", None)
    if limit is not None:
        monkeypatch.setattr(webhook, "MIN_CONCURRENCY", limit)
    port = free_port()
    settings = bot_settings(
        tmp_path,
        emulator,
        NEWSBOT_WEBHOOK_MAX_CONNECTIONS=str(1 if limit else 40),
        NEWSBOT_WEBHOOK_URL=f"http://127.0.0.1:{port}{HOOK}",
        NEWSBOT_WEBHOOK_LISTEN=f"127.0.0.1:{port}",
        NEWSBOT_WEBHOOK_SECRET=SECRET,
    )
    serving = asyncio.create_task(
        webhook.serve(build_application(settings, seed_library), settings)
    )
    try:
        await healthy(port, timeout=60)
        yield port
    finally:
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving


async def raw_request(
    port: int, head: bytes, body: bytes = b""
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection that has sent `head` (and `body`) and nothing more."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head + body)
    await writer.drain()
    return reader, writer


def head(port: int, **extra: str) -> bytes:
    lines = [f"POST {HOOK} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{k}: {v}" for k, v in {**HEADERS, **extra}.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def test_a_chunked_body_over_the_limit_is_refused_while_it_is_read(hook_port: int) -> None:
    """A body sent in chunks (no Content-Length) gets 413 once it passes 1 MB, not read to
    its end."""
    reader, writer = await raw_request(
        hook_port, head(hook_port, **{"Transfer-Encoding": "chunked"})
    )
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b" " * 64 * 1024)

    async def send_forever() -> None:
        with contextlib.suppress(OSError):
            while True:  # endless: only the server's refusal stops it
                writer.write(chunk)
                await writer.drain()

    sending = asyncio.create_task(send_forever())
    try:
        status = await asyncio.wait_for(reader.readline(), 30)
        assert status.startswith(b"HTTP/1.1 413"), status
    finally:
        sending.cancel()
        writer.close()


@pytest.mark.parametrize(
    "body",
    [
        b"[1, 2]",
        b'"text"',
        b"null",
        b"7",
        b'{"update_id": "x"}',
        b'{"update_id": 9223372036854775808}',
        b"{}",
    ],
)
async def test_json_that_is_not_an_update_is_400(hook_port: int, body: bytes) -> None:
    """Valid JSON that is not an update object (an array, a string, no or a bad update_id,
    one beyond 64 bits) is a 400, not a 500."""
    async with httpx.AsyncClient() as client:
        got = await client.post(
            f"http://127.0.0.1:{hook_port}{HOOK}", content=body, headers=HEADERS
        )
    assert got.status_code == 400


async def test_connections_that_never_finish_their_headers_are_closed(
    hook_port: int, emulator: BotApiEmulator
) -> None:
    """Idle connections and ones stalled mid-headers are closed after the header timeout,
    and a real update is answered meanwhile."""
    stalled = [await raw_request(hook_port, b"") for _ in range(20)]
    partial = b"POST /telegram/hook HTTP/1.1\r\nHost: x\r\n"
    stalled += [await raw_request(hook_port, partial) for _ in range(20)]
    await emulator.send_text("When will all US troops leave Afghanistan?")
    (reply,) = await emulator.wait_for(1001, 1, timeout=30)
    assert "Sept. 11" in reply["text"]
    for reader, writer in stalled:
        assert await asyncio.wait_for(reader.read(), QUICK_S + 10) == b""  # closed by the server
        writer.close()


async def test_a_body_that_stops_coming_gets_408(hook_port: int) -> None:
    """Headers promise 100 bytes, 10 arrive, then nothing: 408 after the body timeout."""
    reader, writer = await raw_request(
        hook_port, head(hook_port, **{"Content-Length": "100"}), b"{" * 10
    )
    try:
        status = await asyncio.wait_for(reader.readline(), QUICK_S + 10)
        assert status.startswith(b"HTTP/1.1 408"), status
    finally:
        writer.close()


async def test_a_busy_listen_port_is_one_line_naming_the_setting(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    """Something else listens on NEWSBOT_WEBHOOK_LISTEN: exit 2, one line naming it."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        env = bot_env(
            emulator.base_url,
            SEEDS,
            tmp_path / "log.sqlite3",
            NEWSBOT_WEBHOOK_URL=f"http://127.0.0.1:{port}{HOOK}",
            NEWSBOT_WEBHOOK_LISTEN=f"127.0.0.1:{port}",
            NEWSBOT_WEBHOOK_SECRET=SECRET,
        )
        process = await start_newsbot(env, tmp_path)
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    output = (stdout + stderr).decode()
    assert process.returncode == 2, output
    assert "Traceback" not in output
    (line,) = [x for x in stderr.decode().splitlines() if x.startswith("newsbot:")]
    assert f"NEWSBOT_WEBHOOK_LISTEN=127.0.0.1:{port}" in line
    assert emulator.webhook is None  # no webhook set for a server that is not listening


async def trickle(writer: asyncio.StreamWriter) -> None:
    """A client that keeps sending one more byte of its body, slowly, until cut off."""
    with contextlib.suppress(OSError):
        while not writer.is_closing():
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(0.2)  # the client's pace, not a wait for the server


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    """Whether the server closes the connection (EOF or reset) within 10 s."""
    try:
        await asyncio.wait_for(reader.read(), 10)
    except ConnectionResetError:
        pass
    except TimeoutError:
        return False
    return True


EARLY_ANSWERS = {
    "403": {"X-Telegram-Bot-Api-Secret-Token": "wrong", "Content-Length": "100"},
    "413": {"Content-Length": "2000000"},
    "408": {"Content-Length": "100"},
}


@pytest.mark.parametrize("status", sorted(EARLY_ANSWERS))
async def test_an_answer_before_the_body_closes_the_connection(
    hook_port: int, status: str
) -> None:
    """A request answered before its body has come (403, 408, 413) has its connection
    closed, however slowly the rest of the body keeps trickling in."""
    reader, writer = await raw_request(hook_port, head(hook_port, **EARLY_ANSWERS[status]))
    sending = asyncio.create_task(trickle(writer))
    try:
        line = await asyncio.wait_for(reader.readline(), QUICK_S + 10)
        assert line.startswith(f"HTTP/1.1 {status}".encode()), line
        assert b"connection: close" in await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert await closed_by_server(reader)
    finally:
        sending.cancel()
        writer.close()


@pytest.mark.parametrize("hook_port", [4], indirect=True)
async def test_slow_clients_without_the_secret_leave_room_for_deliveries(
    hook_port: int, emulator: BotApiEmulator
) -> None:
    """With room for 4 connections, 4 clients without the secret trickling their bodies
    are answered 403 and cut off, and a real delivery is answered."""
    slow = [
        await raw_request(hook_port, head(hook_port, **EARLY_ANSWERS["403"])) for _ in range(4)
    ]
    sending = [asyncio.create_task(trickle(writer)) for _, writer in slow]
    try:
        for reader, _ in slow:
            line = await asyncio.wait_for(reader.readline(), 10)
            assert line.startswith(b"HTTP/1.1 403"), line
            assert await closed_by_server(reader)
        await emulator.send_text("When will all US troops leave Afghanistan?")
        (reply,) = await emulator.wait_for(1001, 1, timeout=20)
        assert "Sept. 11" in reply["text"]
    finally:
        for task in sending:
            task.cancel()
        for _, writer in slow:
            writer.close()


@pytest.mark.parametrize("where", ["headers", "url"])
async def test_a_flood_of_headers_or_url_is_cut_off(
    hook_port: int, emulator: BotApiEmulator, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """1 MB of headers (or of URL) is answered 431 and the connection closed long before
    the header timeout, without holding the bytes; a real delivery is answered after."""
    monkeypatch.setattr(webhook, "HEADER_TIMEOUT_S", 60.0)  # only the size cap may end it
    if where == "url":
        flood = b"POST /" + b"a" * 1_000_000
    else:
        line = b"X-Padding: " + b"a" * 1000 + b"\r\n"
        flood = f"POST {HOOK} HTTP/1.1\r\nHost: x\r\n".encode() + line * 1000
    reader, writer = await asyncio.open_connection("127.0.0.1", hook_port)

    async def send() -> None:
        with contextlib.suppress(OSError):
            for start in range(0, len(flood), 16_384):
                writer.write(flood[start : start + 16_384])
                await writer.drain()

    sending = asyncio.create_task(send())
    try:
        try:
            status = await asyncio.wait_for(reader.readline(), 10)
            assert status.startswith(b"HTTP/1.1 431"), status
        except ConnectionResetError:
            pass  # cut off while still sending: the 431 may be lost with the reset
        assert await closed_by_server(reader)
    finally:
        sending.cancel()
        writer.close()
    await emulator.send_text("When will all US troops leave Afghanistan?")
    (reply,) = await emulator.wait_for(1001, 1, timeout=20)
    assert "Sept. 11" in reply["text"]
