"""Shared services and the one way handlers send a reply and log the turn."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from telegram import Chat, Message, Update, User
from telegram.constants import ChatType
from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

from bot.chat import Newsroom, Reply
from bot.config import Settings
from bot.loopwatch import LoopWatch
from bot.storage import ChatRow, ConversationLog, HitRow, Turn, UserRow

log = logging.getLogger(__name__)

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


def get_services(context: Context) -> Services:
    """The shared services, put in bot_data by post_init."""
    services = context.bot_data[SERVICES_KEY]
    assert isinstance(services, Services)
    return services


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


async def send(
    update: Update,
    context: Context,
    reply: Reply,
    *,
    kind: str,
    started: float,
    text: str | None = None,
) -> None:
    """Send the reply's messages (as replies in groups) and queue the turn for the log."""
    message = update.effective_message
    assert message is not None
    assert update.effective_chat is not None
    quote = is_group(update.effective_chat)
    for part in reply.messages:
        await message.reply_html(part, do_quote=quote)
    record(update, context, reply, kind=kind, started=started, text=text)


def record(
    update: Update,
    context: Context,
    reply: Reply,
    *,
    kind: str,
    started: float,
    text: str | None = None,
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
