"""Shared services and the one way handlers send a reply and log the turn."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update, User
from telegram.constants import ChatType
from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

from bot.chat import Keyboard, Newsroom, Reply
from bot.config import Settings
from bot.loopwatch import LoopWatch
from bot.storage import ChatRow, ConversationLog, HitRow, Kind, Turn, UserRow
from bot.text import default_workers

log = logging.getLogger(__name__)
T = TypeVar("T")

SERVICES_KEY = "services"

BotData = dict[object, object]
Context = CallbackContext[ExtBot[None], dict[object, object], dict[object, object], BotData]
NewsApp = Application[
    ExtBot[None],
    Context,
    dict[object, object],
    dict[object, object],
    BotData,
    JobQueue[Context],
]


@dataclass(frozen=True, slots=True)
class Services:
    """What handlers need: the articles, the log and the settings."""

    room: Newsroom
    log: ConversationLog
    settings: Settings
    watch: LoopWatch
    refused: set[int] = field(default_factory=set)  # chats already told they are not allowed
    stop: asyncio.Event = field(default_factory=asyncio.Event)  # ends background tasks
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    admin_menus: set[int] = field(default_factory=set)  # admins whose command menu is set
    # Searches run here, off the event loop: one thread per CPU. More threads would only
    # fight the event loop for the GIL (bench_loop: lag p99 8 ms with asyncio's default
    # pool, 2-4 ms with this one).
    searches: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(default_workers(), "search")
    )

    async def search(self, call: Callable[[], T]) -> T:
        """Run a search (or another CPU-bound core call) in the search threads."""
        return await asyncio.get_running_loop().run_in_executor(self.searches, call)


def _services(bot_data: BotData) -> Services:
    """The shared services, put in bot_data by post_init."""
    services = bot_data[SERVICES_KEY]
    assert isinstance(services, Services)
    return services


def get_services(context: Context) -> Services:
    """The shared services, from a handler's context."""
    return _services(context.bot_data)


def get_services_of(app: NewsApp) -> Services:
    """The shared services, from the Application (start-up, shutdown, tests)."""
    return _services(app.bot_data)


def is_group(chat: Chat | None) -> bool:
    return chat is not None and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)


def chat_row(chat: Chat) -> ChatRow:
    return ChatRow(id=chat.id, type=str(chat.type), title=chat.title, username=chat.username)


def user_row(user: User | None) -> UserRow | None:
    if user is None:
        return None
    return UserRow(
        id=user.id,
        is_bot=user.is_bot,
        username=user.username,
        first_name=user.first_name,
        last_name=user.last_name,
        language_code=user.language_code,
    )


SEND_ATTEMPTS = 3
SEND_RETRY_S = 0.5


async def deliver(call: Callable[[], Awaitable[T]], attempts: int = SEND_ATTEMPTS) -> T:
    """Make a Bot API call, retrying connection failures and 5xx answers with backoff.

    Flood control (429) is the rate limiter's to retry. A timeout is not retried: Telegram
    may have delivered the message already, and a reader must never get it twice.
    """
    for attempt in range(attempts):
        try:
            return await call()
        except NetworkError as exc:
            if isinstance(exc, BadRequest | TimedOut) or attempt + 1 == attempts:
                raise
            log.warning(
                "Telegram call failed (%s): retry %d of %d", exc, attempt + 1, attempts - 1
            )
            await asyncio.sleep(SEND_RETRY_S * 2**attempt)
    raise AssertionError("unreachable")


def keyboard(buttons: Keyboard) -> InlineKeyboardMarkup | None:
    """The core's buttons as Telegram's inline keyboard."""
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.text, callback_data=b.data, url=b.url) for b in row]
            for row in buttons
        ]
    )


async def send(
    update: Update,
    context: Context,
    reply: Reply,
    *,
    kind: Kind,
    started: float,
    text: str | None = None,
    question: str | None = None,
) -> None:
    """Send the reply's messages (as replies in groups) and queue the turn for the log.

    The buttons go under the last message; an answer is kept for its More/Back buttons.
    """
    message = update.effective_message
    chat = update.effective_chat
    assert message is not None
    assert chat is not None
    quote = is_group(chat)
    last: Message | None = None
    try:
        for n, part in enumerate(reply.messages, start=1):
            markup = keyboard(reply.buttons) if n == len(reply.messages) else None
            last = await deliver(
                partial(message.reply_html, part, do_quote=quote, reply_markup=markup)
            )
    except TimedOut as exc:  # probably delivered: log the turn, don't apologise twice
        log.warning("Sending a reply timed out (it may still arrive): %s", exc)
    if last is not None and reply.answer is not None and reply.buttons:
        get_services(context).room.keep((chat.id, last.message_id), reply.answer)
    record(
        update,
        context,
        reply,
        kind=kind,
        started=started,
        text=text,
        question=question,
        bot_message_id=last.message_id if last is not None else None,
    )


def record(
    update: Update,
    context: Context,
    reply: Reply,
    *,
    kind: Kind,
    started: float,
    text: str | None = None,
    question: str | None = None,
    bot_message_id: int | None = None,
) -> None:
    """Queue one turn for the conversation log."""
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None:
        return
    result = reply.answer
    hits = tuple(
        HitRow(h.rank, h.passage.article.id, h.passage.paragraph, round(h.score, 6))
        for h in (result.hits if result else ())
    )
    get_services(context).log.record(
        Turn(
            chat=chat_row(chat),
            user=user_row(update.effective_user),
            text=text if text is not None else describe(message),
            kind=kind,
            reply="\n\n".join(reply.messages),
            answered=result.answered if result else None,
            latency_ms=(time.perf_counter() - started) * 1000,
            telegram_message_id=message.message_id,
            update_id=update.update_id,
            received_at=message.date.isoformat(timespec="milliseconds"),
            hits=hits,
            bot_message_id=bot_message_id,
            question=question,
        )
    )


def describe(message: Message) -> str:
    """The message's text, or what kind of message it was ("[photo]")."""
    if message.text is not None:
        return message.text
    kind = message.effective_attachment
    name = type(kind).__name__.lower() if kind is not None else "message"
    if isinstance(kind, tuple):
        name = "photo"
    caption = f" {message.caption}" if message.caption else ""
    return f"[{name}]{caption}"
