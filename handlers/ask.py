"""Questions: /ask, plain text in private chats, and messages addressed to the bot in groups."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from functools import partial

from telegram import Message, Update
from telegram.constants import ChatAction, MessageEntityType
from telegram.error import TelegramError

from handlers.common import Context, get_services, is_group, send

log = logging.getLogger(__name__)

TYPING_AFTER_S = 0.2


async def ask_command(update: Update, context: Context) -> None:
    """/ask QUESTION."""
    question = " ".join(context.args or [])
    if not question:
        started = time.perf_counter()
        await send(
            update,
            context,
            get_services(context).room.ask_usage(),
            kind="command",
            started=started,
        )
        return
    await answer(update, context, question)


async def ask_text(update: Update, context: Context) -> None:
    """Plain text: always in private chats; in groups only when addressed to the bot."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    if is_group(update.effective_chat):
        if not addressed_to_bot(message, context):
            return
        question = strip_mention(message.text, context.bot.username)
    else:
        question = message.text
    await answer(update, context, question)


async def answer(update: Update, context: Context, question: str) -> None:
    """Show "typing…", search off the event loop, reply with the passages, log the turn."""
    started = time.perf_counter()
    chat = update.effective_chat
    assert chat is not None
    services = get_services(context)
    search = asyncio.ensure_future(
        services.search(partial(services.room.ask, question, conversation(update)))
    )
    # "Typing…" only when the reader would notice the wait: a reply within TYPING_AFTER_S
    # arrives before the indicator could show, and the call would halve the bot's capacity.
    done, _ = await asyncio.wait({search}, timeout=TYPING_AFTER_S)
    if not done:
        try:
            await context.bot.send_chat_action(chat.id, ChatAction.TYPING)
        except TelegramError as exc:  # a lost chat action is no reason to lose the answer
            log.debug("Chat action failed: %s", exc)
    reply = await search
    await send(update, context, reply, kind="question", started=started, question=question)


async def new_topic(update: Update, context: Context) -> None:
    """/new: forget the previous question of this conversation."""
    started = time.perf_counter()
    reply = get_services(context).room.new(conversation(update))
    await send(update, context, reply, kind="command", started=started)


def conversation(update: Update) -> tuple[int, int]:
    """Follow-ups are per reader and chat: (chat id, user id)."""
    chat, user = update.effective_chat, update.effective_user
    return (chat.id if chat else 0, user.id if user else 0)


async def unknown_command(update: Update, context: Context) -> None:
    """A command the bot does not have (private chats only)."""
    started = time.perf_counter()
    text = (update.effective_message.text if update.effective_message else None) or "/"
    name = text[1:].split(maxsplit=1)[0].split("@", 1)[0] if len(text) > 1 else ""
    reply = get_services(context).room.unknown_command(name)
    await send(update, context, reply, kind="command", started=started)


def addressed_to_bot(message: Message, context: Context) -> bool:
    """A reply to one of the bot's messages, or a message that mentions the bot."""
    replied = message.reply_to_message
    if (
        replied is not None
        and replied.from_user is not None
        and replied.from_user.id == context.bot.id
    ):
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
