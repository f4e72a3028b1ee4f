"""The emulator's webhook side: setWebhook, getWebhookInfo, and delivering updates by POST
with the secret header, max_connections at a time, retrying failures with back-off as
Telegram does (mixed into BotApiEmulator, whose state it uses)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from typing import Any

import aiohttp


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


class WebhookDelivery:
    """Posting updates to the bot's webhook instead of handing them to getUpdates."""

    updates: list[dict[str, Any]]
    webhook: dict[str, Any] | None
    deliveries: list[tuple[int, int | str]]
    retry_first_s: float
    _confirmed: int
    _update_ids: Any
    _outbox: asyncio.Queue[dict[str, Any]] | None
    _workers: list[asyncio.Task[None]]
    _retries: set[asyncio.Task[None]]
    _client: aiohttp.ClientSession | None
    _last_error: tuple[int, str] | None
    _undelivered: dict[int, dict[str, Any]]
    _bot_sent: asyncio.Condition

    async def api_deletewebhook(self, params: dict[str, Any]) -> bool:
        if params.get("drop_pending_updates"):
            self._confirmed = next(self._update_ids) - 1
            self._undelivered.clear()
        elif self._undelivered:  # not delivered: getUpdates hands them out again
            self._confirmed = min(self._confirmed, min(self._undelivered) - 1)
        await self._stop_delivery()
        self.webhook = None
        return True

    async def api_setwebhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return await self.api_deletewebhook(params)
        if not url.startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: bad webhook: invalid URL")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        connections = int(params.get("max_connections") or 40)
        if not 1 <= connections <= 100:
            raise ApiError(400, "Bad Request: bad webhook: max_connections must be 1-100")
        if params.get("drop_pending_updates"):
            self._confirmed = next(self._update_ids) - 1
        await self._stop_delivery()
        self.webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": connections,
            "allowed_updates": params.get("allowed_updates") or [],
        }
        await self._start_delivery()
        return True

    async def api_getwebhookinfo(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.webhook is None:
            return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        info: dict[str, Any] = {
            "url": self.webhook["url"],
            "has_custom_certificate": False,
            "pending_update_count": len(self._undelivered),
            "max_connections": self.webhook["max_connections"],
            "allowed_updates": self.webhook["allowed_updates"],
        }
        if self._last_error is not None:
            info["last_error_date"], info["last_error_message"] = self._last_error
        return info

    # -- webhook delivery -----------------------------------------------------------------------

    async def _start_delivery(self) -> None:
        """Deliver every unconfirmed update, then each new one, with max_connections at once."""
        assert self.webhook is not None
        connections = self.webhook["max_connections"]
        self._client = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections),
            timeout=aiohttp.ClientTimeout(total=60),
        )
        self._outbox = asyncio.Queue()
        for update in self.updates:
            if update["update_id"] > self._confirmed:
                self._undelivered[update["update_id"]] = update
        for update_id in sorted(self._undelivered):  # a new setWebhook keeps what was pending
            self._outbox.put_nowait(self._undelivered[update_id])
        self._confirmed = max([self._confirmed, *(u["update_id"] for u in self.updates)])
        self._workers = [
            asyncio.create_task(self._deliver_forever(), name=f"webhook-{n}")
            for n in range(connections)
        ]

    async def _stop_delivery(self) -> None:
        for task in [*self._workers, *self._retries]:
            task.cancel()
        for task in [*self._workers, *self._retries]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers, self._retries = [], set()
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def _deliver_forever(self) -> None:
        assert self._outbox is not None
        while True:
            update = await self._outbox.get()
            if not await self._post(update):
                retry = asyncio.create_task(self._retry(update, update.get("_attempt", 0) + 1))
                self._retries.add(retry)
                retry.add_done_callback(self._retries.discard)

    async def _post(self, update: dict[str, Any]) -> bool:
        """One delivery: True when the bot answered 2xx."""
        assert self.webhook is not None
        headers = {"Content-Type": "application/json"}
        if self.webhook["secret_token"]:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook["secret_token"]
        body = json.dumps({k: v for k, v in update.items() if not k.startswith("_")})
        try:
            async with self._client.post(self.webhook["url"], data=body, headers=headers) as got:
                await got.read()
                self.deliveries.append((update["update_id"], got.status))
                if 200 <= got.status < 300:
                    self._undelivered.pop(update["update_id"], None)
                    return True
                error = f"Wrong response from the webhook: {got.status} {got.reason}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.deliveries.append((update["update_id"], type(exc).__name__))
            error = f"Connection failed: {type(exc).__name__}"
        self._last_error = (int(time.time()), error)
        async with self._bot_sent:  # wait_until may be watching the deliveries
            self._bot_sent.notify_all()
        return False

    async def _retry(self, update: dict[str, Any], attempt: int) -> None:
        """Telegram retries a failed delivery later, waiting longer each time (up to 30 s)."""
        await asyncio.sleep(min(self.retry_first_s * 2 ** (attempt - 1), 30.0))
        assert self._outbox is not None
        self._outbox.put_nowait(dict(update, _attempt=attempt))

    def delivered(self, update_id: int) -> bool:
        """Whether an update was delivered to the webhook with a 2xx answer."""
        return any(u == update_id and s in range(200, 300) for u, s in self.deliveries)  # type: ignore[operator]
