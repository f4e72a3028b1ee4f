"""A local Telegram Bot API emulator (aiohttp) for end-to-end tests of the real library.

The bot side speaks the Bot API over HTTP on 127.0.0.1 (python-telegram-bot's `base_url`
points at it); the user side is a Python API on the same object (`send_text`, `send_command`,
`press_button`, `inline_query`, `sent_to`, `wait_for`...). It validates what Telegram
validates for the methods it serves, and can inject faults per method.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.emulator.telegram_html import HtmlError, parse_html, utf16_len
from tests.support.emulator.webhook import ApiError, WebhookDelivery

TOKEN = "123456789:TEST-token_for-the-emulator"
BOT_USER = {
    "id": 123456789,
    "is_bot": True,
    "first_name": "NewsBot",
    "username": "newsbot_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": True,
}
# Fields sent as plain strings; every other form field is JSON-encoded by the library.
STRING_FIELDS = {
    "text",
    "caption",
    "query",
    "callback_query_id",
    "inline_query_id",
    "parse_mode",
    "url",
    "action",
    "description",
    "next_offset",
    "language_code",
    "data",
    "short_description",
    "name",
    "switch_pm_text",
    "switch_pm_parameter",
}
CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}
MESSAGE_LIMIT = 4096


def unauthorized() -> web.Response:
    """Telegram's answer to a wrong or revoked token."""
    return web.json_response(
        {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
    )


@dataclass
class Fault:
    """Answer the next `times` calls of a method with an error or a delay instead."""

    status: int = 500
    description: str = "Internal Server Error"
    retry_after: int | None = None
    delay: float = 0.0
    drop: bool = False
    times: int = 1


@dataclass(frozen=True)
class Upload:
    """A file the bot uploaded (sendPhoto...)."""

    filename: str
    content_type: str
    data: bytes


PHOTO_MAX_BYTES = 10 * 1024 * 1024
CAPTION_LIMIT = 1024


@dataclass
class Chat:
    id: int
    type: str
    title: str | None = None
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_id: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def as_dict(self) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.title:
            chat["title"] = self.title
        else:
            chat["first_name"] = "Reader"
        return chat


class BotApiEmulator(WebhookDelivery):
    """Bot API server state, the HTTP app serving it, and the user-side API."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._confirmed = 0
        self._new_update = asyncio.Condition()
        self._bot_sent = asyncio.Condition()
        self.chats: dict[int, Chat] = {}
        self.sent: list[dict[str, Any]] = []  # every message the bot sent or edited, in order
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.chat_actions: list[tuple[int, str]] = []
        self.commands: list[dict[str, Any]] = []
        self.scoped_commands: dict[str, list[dict[str, Any]]] = {}  # by JSON of the scope
        # Menus set with a language_code, by (JSON of the scope or "default", language_code).
        self.language_commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        # Each user's Telegram language_code ("en" unless set here; None: Telegram sends none).
        self.languages: dict[int, str | None] = {}
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.inline_answers: dict[str, dict[str, Any]] = {}
        self.errors: list[tuple[str, str]] = []  # (method, description) of refused calls
        self.faults: dict[str, list[Fault]] = {}
        # Chaos: each call of a method fails with a probability, as one of the given faults.
        self.chaos: dict[str, tuple[float, list[Fault]]] = {}
        self.chaos_hits: dict[str, int] = {}
        self._rng = random.Random(7)
        self._query_ids = itertools.count(1)
        self._reply_waiters: dict[int, list[asyncio.Future[dict[str, Any]]]] = {}
        self.base_url = ""
        self._runner: web.AppRunner | None = None
        self._stopping = False  # pending long polls return at once: nothing more will come
        self.revoked = False  # the token was revoked (@BotFather): every call gets a 401
        # Webhook delivery (setWebhook): updates are POSTed to the bot instead of polled.
        self.webhook: dict[str, Any] | None = None
        self.deliveries: list[tuple[int, int | str]] = []  # (update_id, HTTP status or error)
        self.retry_first_s = 0.5  # Telegram-like back-off between failed deliveries
        self._outbox: asyncio.Queue[dict[str, Any]] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._retries: set[asyncio.Task[None]] = set()
        self._client: Any = None
        self._last_error: tuple[int, str] | None = None
        self._undelivered: dict[int, dict[str, Any]] = {}  # posted, no 2xx answer yet

    # -- server lifecycle ---------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sockets = site._server.sockets  # type: ignore[union-attr]
        self.base_url = f"http://{host}:{sockets[0].getsockname()[1]}"
        return self.base_url

    async def stop(self) -> None:
        """Answer every pending long poll now (with no updates), then shut the server down.

        Without the wake-up, shutting down waits for each open getUpdates to reach its
        deadline: a second per test with a 1 s long poll, ten after `newsbot run`.
        """
        self._stopping = True
        async with self._new_update:
            self._new_update.notify_all()
        await self._stop_delivery()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- HTTP -----------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token or self.revoked:
            return unauthorized()
        method = request.match_info["method"]
        params = await self._params(request)
        async with self._bot_sent:  # a waiter may be watching for this call
            self.calls.append((method, params))
            self._bot_sent.notify_all()
        fault = self._take_fault(method)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.drop:
                assert request.transport is not None
                request.transport.close()
                return web.Response()
            if fault.status:
                return self._error(
                    method, ApiError(fault.status, fault.description, fault.retry_after)
                )
        handler = getattr(self, f"api_{method.lower()}", None)
        if handler is None:
            return self._error(method, ApiError(404, "Not Found: method not found"))
        try:
            result = await handler(params)
        except ApiError as exc:
            return self._error(method, exc)
        if self.revoked:  # revoked while the call was in flight (a long poll)
            return unauthorized()
        async with self._bot_sent:  # wake user-side waiters on every call the bot makes
            self._bot_sent.notify_all()
        return web.json_response({"ok": True, "result": result})

    def _error(self, method: str, exc: ApiError) -> web.Response:
        self.errors.append((method, exc.description))
        body: dict[str, Any] = {
            "ok": False,
            "error_code": exc.code,
            "description": exc.description,
        }
        if exc.retry_after is not None:
            body["parameters"] = {"retry_after": exc.retry_after}
        return web.json_response(body, status=exc.code)

    async def _params(self, request: web.Request) -> dict[str, Any]:
        raw: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            raw.update(await request.json())
            return raw
        if request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, str):
                    raw[key] = value
                else:  # an uploaded file (multipart/form-data)
                    raw[key] = Upload(value.filename, value.content_type, value.file.read())
        params: dict[str, Any] = {}
        for key, value in raw.items():
            if key in STRING_FIELDS or not isinstance(value, str):
                params[key] = value
                continue
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
        return params

    def _take_fault(self, method: str) -> Fault | None:
        queue = self.faults.get(method)
        if not queue:
            chance, kinds = self.chaos.get(method, (0.0, []))
            if kinds and self._rng.random() < chance:
                self.chaos_hits[method] = self.chaos_hits.get(method, 0) + 1
                return self._rng.choice(kinds)
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.pop(0)
        return fault

    async def revoke_token(self) -> None:
        """The owner revokes the bot's token: from now on every call, and every long poll
        still open, is answered 401 Unauthorized, as Telegram does."""
        self.revoked = True
        async with self._new_update:
            self._new_update.notify_all()

    def inject(self, method: str, fault: Fault) -> None:
        """Make the next call(s) of `method` fail as `fault` says."""
        self.faults.setdefault(method, []).append(fault)

    # -- Bot API methods ------------------------------------------------------------------------

    async def api_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return dict(BOT_USER)

    async def api_getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        limit = min(int(params.get("limit") or 100), 100)
        timeout = float(params.get("timeout") or 0)
        if offset:
            self._confirmed = max(self._confirmed, offset - 1)
        deadline = time.monotonic() + timeout
        async with self._new_update:
            while True:
                pending = [u for u in self.updates if u["update_id"] > self._confirmed]
                remaining = deadline - time.monotonic()
                if pending or remaining <= 0 or self._stopping or self.revoked:
                    return pending[:limit]
                try:
                    await asyncio.wait_for(self._new_update.wait(), remaining)
                except TimeoutError:
                    return []

    async def api_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        text = self._text(params, "text")
        reply_to = self._reply_to(chat, params)
        message = self._bot_message(chat, text, params, reply_to)
        await self._record_sent(dict(message, _html=params.get("text")))
        return message

    async def api_editmessagetext(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        message = chat.messages.get(int(params.get("message_id") or 0))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if message["from"]["id"] != BOT_USER["id"]:
            raise ApiError(400, "Bad Request: message can't be edited")
        text = self._text(params, "text")
        markup = params.get("reply_markup")
        if text == message.get("text") and markup == message.get("reply_markup"):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message "
                "content and reply markup are exactly the same",
            )
        message.update(text=text, edit_date=int(time.time()))
        message.pop("reply_markup", None)
        if markup:
            message["reply_markup"] = self._markup(markup)
        message["_html"] = params.get("text")
        await self._record_sent(dict(message, _edited=True))
        return {k: v for k, v in message.items() if not k.startswith("_")}

    async def api_sendchataction(self, params: dict[str, Any]) -> bool:
        chat = self._chat(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        self.chat_actions.append((chat.id, params["action"]))
        return True

    async def api_setmycommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands must be a list of at most 100")
        for command in commands:
            name, description = command.get("command", ""), command.get("description", "")
            if not (1 <= len(name) <= 32 and name.replace("_", "").isalnum() and name.islower()):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise ApiError(400, "Bad Request: command description is invalid")
        scope = params.get("scope")
        language = self._language_code(params)
        in_chat = scope.get("chat_id", 0) if scope and scope.get("type") == "chat" else None
        if in_chat is not None and int(in_chat) not in self.chats:
            raise ApiError(400, "Bad Request: chat not found")
        if language:
            self.language_commands[(self._scope_key(scope), language)] = commands
        elif scope and scope.get("type") != "default":
            self.scoped_commands[json.dumps(scope, sort_keys=True)] = commands
        else:
            self.commands = commands
        return True

    async def api_getmycommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """The commands set for exactly this scope and language_code (as Telegram answers)."""
        scope = params.get("scope")
        if language := self._language_code(params):
            return self.language_commands.get((self._scope_key(scope), language), [])
        if scope and scope.get("type") != "default":
            return self.scoped_commands.get(json.dumps(scope, sort_keys=True), [])
        return self.commands

    @staticmethod
    def _scope_key(scope: dict[str, Any] | None) -> str:
        if not scope or scope.get("type") == "default":
            return "default"
        return json.dumps(scope, sort_keys=True)

    @staticmethod
    def _language_code(params: dict[str, Any]) -> str:
        """A menu's language_code: empty, or two lower-case letters (ISO 639-1)."""
        language = str(params.get("language_code") or "")
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise ApiError(400, "Bad Request: invalid language code specified")
        return language

    async def api_sendphoto(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        photo = params.get("photo")
        if not isinstance(photo, Upload):
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        if len(photo.data) > PHOTO_MAX_BYTES:
            raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
        if not photo.data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")):
            raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        caption = None
        if params.get("caption"):
            caption = self._check_text(str(params["caption"]), params.get("parse_mode"))
            if utf16_len(caption) > CAPTION_LIMIT:
                raise ApiError(400, "Bad Request: message caption is too long")
        reply_to = self._reply_to(chat, params)
        message: dict[str, Any] = {
            "message_id": next(chat.next_id),
            "date": int(time.time()),
            "chat": chat.as_dict(),
            "from": dict(BOT_USER),
            "photo": [
                {
                    "file_id": f"photo-{len(self.sent)}",
                    "file_unique_id": f"p{len(self.sent)}",
                    "width": 900,
                    "height": 450,
                    "file_size": len(photo.data),
                }
            ],
        }
        if caption:
            message["caption"] = caption
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        chat.messages[message["message_id"]] = dict(message, _photo=photo.data)
        await self._record_sent(dict(message, _photo=photo.data))
        return message

    async def api_answercallbackquery(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if not any(u.get("callback_query", {}).get("id") == query_id for u in self.updates):
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired "
                "or query ID is invalid",
            )
        if len(str(params.get("text") or "")) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self.callback_answers[query_id] = params
        async with self._bot_sent:
            self._bot_sent.notify_all()
        return True

    async def api_answerinlinequery(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("inline_query_id", ""))
        if not any(u.get("inline_query", {}).get("id") == query_id for u in self.updates):
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired "
                "or query ID is invalid",
            )
        results = params.get("results")
        if not isinstance(results, list) or len(results) > 50:
            raise ApiError(400, "Bad Request: RESULTS_TOO_MUCH")
        ids = [str(r.get("id", "")) for r in results]
        if len(set(ids)) != len(ids) or any(not 1 <= len(i.encode()) <= 64 for i in ids):
            raise ApiError(400, "Bad Request: RESULT_ID_INVALID")
        for result in results:
            if result.get("type") == "article" and not result.get("title"):
                raise ApiError(400, "Bad Request: RESULT_TITLE_EMPTY")
            content = result.get("input_message_content") or {}
            if "message_text" in content:
                self._check_text(content["message_text"], content.get("parse_mode"))
            elif result.get("type") == "article":
                raise ApiError(400, "Bad Request: MESSAGE_EMPTY")
        self.inline_answers[query_id] = params
        async with self._bot_sent:
            self._bot_sent.notify_all()
        return True

    async def api_close(self, params: dict[str, Any]) -> bool:
        return True

    # -- validation helpers ---------------------------------------------------------------------

    def _chat(self, params: dict[str, Any]) -> Chat:
        try:
            chat_id = int(params.get("chat_id"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: chat not found") from None
        chat = self.chats.get(chat_id)
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def _text(self, params: dict[str, Any], key: str) -> str:
        raw = params.get(key)
        if raw is None:
            raise ApiError(400, "Bad Request: message text is empty")
        return self._check_text(str(raw), params.get("parse_mode"))

    def _check_text(self, raw: str, parse_mode: str | None) -> str:
        text = raw
        if parse_mode and parse_mode.upper() == "HTML":
            try:
                text = parse_html(raw)
            except HtmlError as exc:
                raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
        elif parse_mode:
            raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode} in emulator")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text.strip()) > MESSAGE_LIMIT:
            raise ApiError(400, "Bad Request: message is too long")
        return text.strip()

    def _reply_to(self, chat: Chat, params: dict[str, Any]) -> dict[str, Any] | None:
        reply = params.get("reply_parameters")
        message_id = reply.get("message_id") if isinstance(reply, dict) else None
        message_id = message_id or params.get("reply_to_message_id")
        if not message_id:
            return None
        original = chat.messages.get(int(message_id))
        if original is None:
            allow = isinstance(reply, dict) and reply.get("allow_sending_without_reply")
            if allow:
                return None
            raise ApiError(400, "Bad Request: message to be replied not found")
        return {k: v for k, v in original.items() if not k.startswith("_")}

    def _markup(self, markup: Any) -> dict[str, Any]:
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if not button.get("text"):
                    raise ApiError(
                        400, "Bad Request: text buttons are unallowed in the inline keyboard"
                    )
        return markup

    def _bot_message(
        self, chat: Chat, text: str, params: dict[str, Any], reply_to: dict[str, Any] | None
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(chat.next_id),
            "date": int(time.time()),
            "chat": chat.as_dict(),
            "from": dict(BOT_USER),
            "text": text,
        }
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        if params.get("reply_markup"):
            message["reply_markup"] = self._markup(params["reply_markup"])
        chat.messages[message["message_id"]] = dict(message, _html=params.get("text"))
        return message

    async def _record_sent(self, message: dict[str, Any]) -> None:
        message["_at"] = time.monotonic()
        for waiter in self._reply_waiters.pop(message["chat"]["id"], []):
            if not waiter.done():
                waiter.set_result(message)
        async with self._bot_sent:
            self.sent.append(message)
            self._bot_sent.notify_all()

    def next_reply(self, chat_id: int) -> asyncio.Future[dict[str, Any]]:
        """A future for the next message the bot sends to this chat (cheap, for load tests)."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._reply_waiters.setdefault(chat_id, []).append(future)
        return future

    # -- user side ------------------------------------------------------------------------------

    def chat(self, chat_id: int, type: str = "private", title: str | None = None) -> Chat:
        """The chat with this id, created on first use (a private chat by default)."""
        if chat_id not in self.chats:
            self.chats[chat_id] = Chat(chat_id, type, title)
        return self.chats[chat_id]

    async def send_text(
        self,
        text: str,
        *,
        chat_id: int = 1001,
        user_id: int | None = None,
        chat_type: str = "private",
        title: str | None = None,
        reply_to: int | None = None,
        entities: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """A user sends a message; commands and @mentions get their entities automatically."""
        chat = self.chat(chat_id, chat_type, title)
        user = self.user(user_id or (chat_id if chat_type == "private" else 2001))
        message: dict[str, Any] = {
            "message_id": next(chat.next_id),
            "date": int(time.time()),
            "chat": chat.as_dict(),
            "from": user,
        }
        if text:
            message["text"] = text
            message["entities"] = entities if entities is not None else auto_entities(text)
            if not message["entities"]:
                del message["entities"]
        message.update(extra)
        if reply_to is not None:
            original = chat.messages[reply_to]
            message["reply_to_message"] = {
                k: v for k, v in original.items() if not k.startswith("_")
            }
        chat.messages[message["message_id"]] = message
        await self.push_update({"message": message})
        return message

    async def edit_text(self, message: dict[str, Any], text: str) -> dict[str, Any]:
        """The user edits a message they sent: Telegram sends it again, changed, as an
        `edited_message` update."""
        edited = {k: v for k, v in message.items() if k != "entities"}
        edited.update(text=text, edit_date=int(time.time()))
        if entities := auto_entities(text):
            edited["entities"] = entities
        self.chats[message["chat"]["id"]].messages[message["message_id"]] = edited
        await self.push_update({"edited_message": edited})
        return edited

    async def send_command(self, command: str, args: str = "", **kwargs: Any) -> dict[str, Any]:
        """A user sends /command with arguments."""
        text = f"/{command.lstrip('/')}" + (f" {args}" if args else "")
        return await self.send_text(text, **kwargs)

    async def send_photo(self, caption: str | None = None, **kwargs: Any) -> dict[str, Any]:
        photo = [{"file_id": "photo-1", "file_unique_id": "p1", "width": 90, "height": 90}]
        extra = {"photo": photo, **({"caption": caption} if caption else {})}
        return await self.send_text("", **extra, **kwargs)

    async def send_sticker(self, **kwargs: Any) -> dict[str, Any]:
        sticker = {
            "file_id": "sticker-1",
            "file_unique_id": "s1",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
        }
        return await self.send_text("", sticker=sticker, **kwargs)

    async def send_location(self, **kwargs: Any) -> dict[str, Any]:
        return await self.send_text("", location={"latitude": 34.5, "longitude": 69.2}, **kwargs)

    async def send_voice(self, **kwargs: Any) -> dict[str, Any]:
        voice = {"file_id": "voice-1", "file_unique_id": "v1", "duration": 3}
        return await self.send_text("", voice=voice, **kwargs)

    async def send_document(self, **kwargs: Any) -> dict[str, Any]:
        document = {"file_id": "doc-1", "file_unique_id": "d1", "file_name": "a.pdf"}
        return await self.send_text("", document=document, **kwargs)

    async def press_button(
        self, chat_id: int, message_id: int, data: str, user_id: int | None = None
    ) -> str:
        """A user presses an inline button under a bot message; returns the query id."""
        chat = self.chats[chat_id]
        message = {k: v for k, v in chat.messages[message_id].items() if not k.startswith("_")}
        query_id = str(next(self._query_ids))
        await self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self.user(user_id or chat_id),
                    "message": message,
                    "chat_instance": f"ci-{chat_id}",
                    "data": data,
                }
            }
        )
        return query_id

    async def inline_query(self, query: str, user_id: int = 1001, offset: str = "") -> str:
        """A user types `@bot query` in any chat; returns the query id."""
        query_id = str(next(self._query_ids))
        await self.push_update(
            {
                "inline_query": {
                    "id": query_id,
                    "from": self.user(user_id),
                    "query": query,
                    "offset": offset,
                }
            }
        )
        return query_id

    def user(self, user_id: int) -> dict[str, Any]:
        user: dict[str, Any] = {
            "id": user_id,
            "is_bot": False,
            "first_name": f"Reader{user_id}",
            "username": f"reader{user_id}",
        }
        if language := self.languages.get(user_id, "en"):
            user["language_code"] = language
        return user

    async def push_update(self, payload: dict[str, Any]) -> int:
        update = {"update_id": next(self._update_ids), **payload}
        async with self._new_update:
            self.updates.append(update)
            self._new_update.notify_all()
        if self.webhook is not None and self._outbox is not None:
            allowed = self.webhook["allowed_updates"]
            if not allowed or any(kind in payload for kind in allowed):
                self._undelivered[update["update_id"]] = update
                self._outbox.put_nowait(update)
            self._confirmed = update["update_id"]
        return int(update["update_id"])

    # -- reading what the bot did ---------------------------------------------------------------

    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        """Messages the bot sent (or edited) in a chat, in order."""
        return [m for m in self.sent if m["chat"]["id"] == chat_id]

    async def wait_for(
        self, chat_id: int, count: int = 1, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """Wait until the bot has sent at least `count` messages to the chat; return them all."""
        async with self._bot_sent:
            await asyncio.wait_for(
                self._bot_sent.wait_for(lambda: len(self.sent_to(chat_id)) >= count), timeout
            )
        return self.sent_to(chat_id)

    async def wait_until(self, predicate: Any, timeout: float = 10.0) -> None:
        """Wait until `predicate()` is true (checked at each call the bot makes and answer it
        gets)."""
        async with self._bot_sent:
            await asyncio.wait_for(self._bot_sent.wait_for(predicate), timeout)

    async def settle(self, quiet: float = 0.5) -> None:
        """Wait until the bot has been silent for `quiet` seconds."""
        seen = -1
        while seen != len(self.sent):
            seen = len(self.sent)
            await asyncio.sleep(quiet)


def auto_entities(text: str) -> list[dict[str, Any]]:
    """The entities Telegram adds by itself: a leading bot_command, and @mentions."""
    entities: list[dict[str, Any]] = []
    if text.startswith("/"):
        length = len(text.split()[0]) if text.split() else 1
        entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(text[:length])})
    index = 0
    for word in text.split(" "):
        if word.startswith("@") and len(word) > 1:
            start = utf16_len(text[:index])
            name = word.rstrip("?!.,:;")
            entities.append({"type": "mention", "offset": start, "length": utf16_len(name)})
        index += len(word) + 1
    return entities
