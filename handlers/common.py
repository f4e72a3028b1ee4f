"""What every handler shares: the services, sending a reply and logging its turn, and the
small readings of Telegram objects (who, where, addressed to the bot?)."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update, User
from telegram.constants import ChatAction, ChatType, MessageEntityType
from telegram.error import BadRequest, NetworkError, TelegramError, TimedOut
from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

from bot.config import Settings
from bot.conversation.conversation import Conversation, hit_rows
from bot.conversation.replies import Keyboard, Reply
from bot.loopwatch import LoopWatch
from bot.storage import ChatRow, ConversationLog, Delivery, Kind, Turn, UserRow, utc_now
from bot.storage.instances import Claims, Instance
from bot.storage.state import ConversationKey, MessageKey

log = logging.getLogger(__name__)
T = TypeVar("T")

SERVICES_KEY = "services"
SEND_ATTEMPTS = 3
SEND_RETRY_S = 0.5
# "Typing…" only when the reader would notice the wait: a reply within this arrives before
# the indicator could show, and the extra call would halve the bot's capacity.
TYPING_AFTER_S = 0.2
# A turn is committed to the log before its reply is sent; a database slower than this (locked,
# unreachable) no longer holds the reply back: the turn stays queued and is written later.
RECORD_WAIT_S = 1.0

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


@dataclass(slots=True, eq=False)
class Services:
    """What the handlers share, made once in post_init. `refused`, `admin_menus` and `tasks`
    change while the bot runs."""

    room: Conversation
    log: ConversationLog
    settings: Settings
    loop_lag: LoopWatch  # how late the event loop runs its timers (logged at shutdown)
    searches: ThreadPoolExecutor  # the room's search threads, shut down with the bot
    claims: Claims  # which instance answers an update (webhook mode)
    instance: Instance | None = None  # this process among others on PostgreSQL
    refused: set[int] = field(default_factory=set)  # chats already told they are not allowed
    admin_menus: set[int] = field(default_factory=set)  # admins whose command menu is set
    stop: asyncio.Event = field(default_factory=asyncio.Event)  # ends background tasks
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def _services(bot_data: BotData) -> Services:
    services = bot_data[SERVICES_KEY]
    assert isinstance(services, Services)
    return services


def get_services(context: Context) -> Services:
    """The shared services, from a handler's context."""
    return _services(context.bot_data)


def get_services_of(app: NewsApp) -> Services:
    """The shared services, from the Application (start-up, shutdown, tests)."""
    return _services(app.bot_data)


# -- reading Telegram objects -----------------------------------------------------------------


def is_group(chat: Chat | None) -> bool:
    return chat is not None and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)


def is_admin(update: Update, context: Context) -> bool:
    user = update.effective_user
    return get_services(context).settings.is_admin(user.id if user else None)


def conversation_of(update: Update) -> ConversationKey:
    """Follow-ups are per reader and chat."""
    chat, user = update.effective_chat, update.effective_user
    return ConversationKey(chat.id if chat else 0, user.id if user else 0)


def addressed_to_bot(message: Message, context: Context) -> bool:
    """A reply to one of the bot's messages, or a message that mentions the bot."""
    replied = message.reply_to_message
    if replied and replied.from_user is not None and replied.from_user.id == context.bot.id:
        return True
    username = (context.bot.username or "").lower()
    for entity, value in message.parse_entities(
        [MessageEntityType.MENTION, MessageEntityType.TEXT_MENTION]
    ).items():
        if entity.type == MessageEntityType.TEXT_MENTION and entity.user is not None:
            if entity.user.id == context.bot.id:
                return True
        elif value.lstrip("@").lower() == username:
            return True
    return False


def strip_mention(text: str, username: str | None) -> str:
    """The question without the bot's @mention."""
    if not username:
        return text
    return " ".join(re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.IGNORECASE).split())


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


# -- talking to Telegram ----------------------------------------------------------------------


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


async def with_typing(update: Update, context: Context, work: Awaitable[T]) -> T:
    """Await `work`; show "typing…" if it takes longer than TYPING_AFTER_S."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=TYPING_AFTER_S)
    chat = update.effective_chat
    if not done and chat is not None:
        try:
            await context.bot.send_chat_action(chat.id, ChatAction.TYPING)
        except TelegramError as exc:  # a lost chat action is no reason to lose the answer
            log.debug("Chat action failed: %s", exc)
    return await task


class Exchange:
    """One incoming message and the bot's reply: sends the reply and logs the turn, with the
    latency counted from when the handler took the message."""

    def __init__(self, update: Update, context: Context, kind: Kind = "command") -> None:
        self.update = update
        self.context = context
        self.kind: Kind = kind
        self.started = time.perf_counter()

    async def reply(self, reply: Reply) -> None:
        """Record the turn (committed before anything is sent, so a reader never gets a reply
        the log lacks), send the messages (as replies in groups), buttons under the last;
        keep an answer for its buttons; mark the turn delivered; then send the photo."""
        message, chat = self.update.effective_message, self.update.effective_chat
        assert message is not None
        assert chat is not None
        services = get_services(self.context)
        turn = self.turn(reply, delivered=False)
        if turn is not None:
            await services.log.record_now(turn, RECORD_WAIT_S)
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
        user = self.update.effective_user
        services.log.record(  # first: the sooner it commits, the narrower a kill's window
            Delivery(
                update_id=self.update.update_id,
                user_id=user.id if user else None,
                bot_message_id=last.message_id if last is not None else None,
                latency_ms=(time.perf_counter() - self.started) * 1000,
                sent_at=utc_now(),
            )
        )
        if last is not None:
            await services.room.keep(MessageKey(chat.id, last.message_id), reply)
        if reply.photo is not None:
            photo = await reply.photo()
            send = partial(message.reply_photo, photo.png, filename=photo.filename)
            await deliver(partial(send, caption=photo.caption))

    def record(self, reply: Reply, replaces: bool = False) -> None:
        """Queue the turn of a reply that is not sent (silence) or already sent (the
        apology, which `replaces` the turn recorded before the failed send)."""
        turn = self.turn(reply, replaces=replaces)
        if turn is not None:
            get_services(self.context).log.record(turn)

    def turn(self, reply: Reply, delivered: bool = True, replaces: bool = False) -> Turn | None:
        """The turn for the conversation log (a question if the reply says so)."""
        message, chat = self.update.effective_message, self.update.effective_chat
        if message is None or chat is None:
            return None
        result = reply.answer
        return Turn(
            chat=chat_row(chat),
            user=user_row(self.update.effective_user),
            text=describe(message),
            kind="question" if reply.question is not None else self.kind,
            reply=reply.logged,
            answered=result.answered if result else None,
            latency_ms=(time.perf_counter() - self.started) * 1000,
            telegram_message_id=message.message_id,
            update_id=self.update.update_id,
            received_at=message.date.isoformat(timespec="milliseconds"),
            hits=hit_rows(result) if result else (),
            question=reply.question,
            delivered=delivered,
            replaces=replaces,
        )
