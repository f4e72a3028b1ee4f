"""Webhook mode: Telegram posts each update to NEWSBOT_WEBHOOK_URL; this process serves them,
and `GET /healthz`, on NEWSBOT_WEBHOOK_LISTEN (starlette on uvicorn, in the bot's event loop,
as python-telegram-bot's custom-webhook example does).

An update is answered before its request is: the response (200) says the turn is in the log
and the reply sent. A process killed meanwhile never answers, so Telegram sends the update
again, to whichever instance the load balancer picks; the claims (bot/storage/instances.py)
make sure only one instance answers it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import signal
import socket
from collections.abc import Generator
from urllib.parse import urlsplit

import uvicorn
import uvloop
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Bot, Update
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from bot.config import Settings, StartupError
from bot.storage import DatabaseError, ping
from handlers.services import SERVICES_KEY, NewsApp, get_services_of

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1_000_000  # an update is a few kB; anything this big is not Telegram's
GRACE_S = 30  # on SIGTERM, requests in flight get this long to finish
PING_TIMEOUT_S = 2.0
# Telegram (or nginx) sends a whole update in milliseconds: a client slower than these
# holds a connection for nothing.
HEADER_TIMEOUT_S = 10.0  # from connecting (or the previous response) to the last header
BODY_TIMEOUT_S = 10.0  # from the last header to the end of the body
KEEP_ALIVE_S = 5  # an idle connection between requests (uvicorn's default, said here)
# Telegram's headers are a few hundred bytes; nginx's default buffers hold 32 KB.
MAX_HEAD_BYTES = 16 * 1024  # the request line's URL and the headers, together
HEAD_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-length: 0\r\nconnection: close\r\n\r\n"
)
MIN_CONCURRENCY = 256  # connections (or requests in flight) served at once, at least


class WebhookServer:
    """The HTTP side of webhook mode: the update endpoint and the health check."""

    def __init__(self, app: NewsApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        secret = settings.webhook_secret
        assert secret is not None
        assert settings.webhook_url is not None
        self._secret = secret.get_secret_value().encode()
        self.path = urlsplit(settings.webhook_url).path or "/"
        self.ready = False
        self.asgi = Starlette(
            routes=[
                Route(self.path, self.telegram, methods=["POST"]),
                Route("/healthz", self.health, methods=["GET"]),
            ]
        )

    async def telegram(self, request: Request) -> Response:
        """One update: checked, claimed, answered, then acknowledged."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):  # before reading the body
            return Response(status_code=403)
        if not self.ready:
            return Response(status_code=503)  # Telegram retries: another instance, or us later
        body = await read_body(request)
        update = body if isinstance(body, Response) else parse_update(body, self.app.bot)
        if isinstance(update, Response):
            return update
        services = get_services_of(self.app)
        try:
            claim = await services.claims.claim(update.update_id)
        except DatabaseError as exc:
            log.warning(
                "Update %d not taken, the database is unreachable: %s", update.update_id, exc
            )
            return Response(status_code=503)
        if claim == "busy":  # another instance is answering it: ask Telegram to retry later
            return Response(status_code=503)
        if claim == "mine":
            await self.app.process_update(update)
            with contextlib.suppress(DatabaseError):  # the turn in the log tells it too
                await services.claims.finish(update.update_id)
        return Response(status_code=200)

    async def health(self, request: Request) -> Response:
        """200 with the articles and the database when this instance can answer, else 503."""
        if not self.ready or SERVICES_KEY not in self.app.bot_data:
            return JSONResponse({"status": "starting"}, status_code=503)
        services = get_services_of(self.app)
        body = {
            "status": "ok",
            "articles": len(services.conversation.library.collection.articles),
            "database": services.log.database.dialect,
        }
        if services.instance is not None:
            body["instance"] = services.instance.key  # as claims.instance names it
        try:
            await asyncio.wait_for(ping(services.log), PING_TIMEOUT_S)
        except (DatabaseError, TimeoutError) as exc:
            log.warning("Health check: %s", exc)
            return JSONResponse(dict(body, status="database unreachable"), status_code=503)
        return JSONResponse(body)


async def read_body(request: Request) -> bytes | Response:
    """The request's body, or the error response: 413 past MAX_UPDATE_BYTES however it is
    sent (a chunked body has no Content-Length to check first), 408 when it stops coming."""
    length = request.headers.get("content-length") or "0"
    if not length.isdigit():
        return Response(status_code=400)
    if int(length) > MAX_UPDATE_BYTES:
        return Response(status_code=413)
    body = bytearray()
    try:
        async with asyncio.timeout(BODY_TIMEOUT_S):
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_UPDATE_BYTES:
                    return Response(status_code=413)
    except TimeoutError:
        return Response(status_code=408)
    return bytes(body)


def parse_update(body: bytes, bot: Bot) -> Update | Response:
    """The update in a body, or 400 for anything but a JSON object with a 64-bit update_id
    (the claims store it as a PostgreSQL bigint) that python-telegram-bot can read."""
    try:
        data = json.loads(body)
    except ValueError:
        return Response(status_code=400)
    update_id = data.get("update_id") if isinstance(data, dict) else None
    if type(update_id) is not int or not 0 <= update_id < 2**63:
        return Response(status_code=400)
    try:
        return Update.de_json(data, bot)
    except (ValueError, TypeError, KeyError, AttributeError):
        return Response(status_code=400)


class _Protocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol, hardened against clients that hold connections or memory:
    - a deadline for the request line and headers (uvicorn times out idle keep-alive
      connections only: a client sending nothing, or half a header, would stay forever);
    - at most MAX_HEAD_BYTES of URL and headers (uvicorn keeps them all, unbounded): 431;
    - a response sent before the body has all come (403, 408, 413, uvicorn's own 503)
      closes the connection, which would otherwise stay open as long as bytes trickle in
      (each one cancels uvicorn's keep-alive timer, and the body is never read)."""

    _deadline: asyncio.TimerHandle | None = None
    _head_bytes = 0
    _refused = False  # answered 431: the rest of what the client sends is ignored
    _keep_alive = True  # what the request asked for, granted once its body has come

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if not self._refused:
            super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0
        if self._deadline is None:  # the next request on a kept-alive connection
            self._arm()

    def on_url(self, url: bytes) -> None:
        if self._counted(len(url)):
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._counted(len(name) + len(value) + 4):  # ": " and CRLF: empty ones count
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        if self._refused:
            return
        super().on_headers_complete()
        if self.cycle is not None and self.cycle.scope is self.scope:  # not an upgrade
            self._keep_alive = self.cycle.keep_alive
            self.cycle.keep_alive = False  # until on_message_complete: the body has come

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        if self.cycle is not None and not self.cycle.response_started:
            self.cycle.keep_alive = self._keep_alive  # else it has said "connection: close"
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _counted(self, size: int) -> bool:
        """Add `size` bytes to the request's head; past MAX_HEAD_BYTES, answer 431."""
        self._head_bytes += size
        if self._head_bytes > MAX_HEAD_BYTES and not self._refused:
            self._refused = True
            self.transport.write(HEAD_TOO_LARGE)
            self.transport.close()
        return not self._refused

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(HEADER_TIMEOUT_S, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


class _Server(uvicorn.Server):
    """uvicorn, minus its habit of re-raising SIGTERM after a graceful stop (which would
    end the process before the bot writes its log)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._stop)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    def _stop(self) -> None:
        self.should_exit = True


def run(app: NewsApp, settings: Settings) -> None:
    """Serve the webhook until SIGTERM/SIGINT, on uvloop (libuv's event loop: sockets and
    timers in C; this process does little else than HTTP to nginx, Telegram and the
    database)."""
    uvloop.run(serve(app, settings))


def listen(where: str) -> socket.socket:
    """The listening socket for NEWSBOT_WEBHOOK_LISTEN (host:port, [v6]:port), bound here
    rather than by uvicorn, whose failure to bind ends the process with its own message."""
    host, _, port = where.rpartition(":")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, int(port)), family=family, backlog=2048)
    except OSError as exc:
        raise StartupError(
            f"cannot listen on NEWSBOT_WEBHOOK_LISTEN={where}: {exc.strerror or exc}"
        ) from None


async def serve(app: NewsApp, settings: Settings) -> None:
    """Listen first (/healthz says 503 while starting), start the bot, set the webhook;
    on SIGTERM stop taking requests, finish those in flight, shut the bot down."""
    server = WebhookServer(app, settings)
    sock = listen(settings.webhook_listen)
    http = _Server(
        uvicorn.Config(
            server.asgi,
            http=_Protocol,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=GRACE_S,
            timeout_keep_alive=KEEP_ALIVE_S,
            # Beyond this many connections (or requests in flight) uvicorn answers 503,
            # which Telegram retries: a flood costs retries, not memory or descriptors.
            limit_concurrency=max(MIN_CONCURRENCY, 4 * settings.webhook_max_connections),
        )
    )
    listening = asyncio.create_task(http.serve(sockets=[sock]), name="webhook-server")
    try:
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)
        await app.start()
        while not http.started and not listening.done():  # noqa: ASYNC110 (no event to wait on)
            await asyncio.sleep(0.01)
        if listening.done():
            raise StartupError(
                f"cannot listen on NEWSBOT_WEBHOOK_LISTEN={settings.webhook_listen}"
            )
        await app.bot.set_webhook(
            settings.webhook_url or "",
            secret_token=server._secret.decode(),
            allowed_updates=Update.ALL_TYPES,
            max_connections=settings.webhook_max_connections,
        )
        server.ready = True
        log.info("Serving the webhook %s on %s", server.path, settings.webhook_listen)
        await listening
    finally:
        server.ready = False
        http.should_exit = True
        with contextlib.suppress(BaseException):  # a failed start ends uvicorn with SystemExit
            await listening
        sock.close()
        if app.running:
            await app.stop()
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
