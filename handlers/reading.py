"""Small readings of Telegram objects: who wrote, where, and was it addressed to the bot?"""

from __future__ import annotations

import re

from telegram import Chat, Message, Update, User
from telegram.constants import ChatType, MessageEntityType

from bot.storage import ChatRow, UserRow
from bot.storage.state import ConversationKey
from handlers.services import Context, get_services


def is_group(chat: Chat | None) -> bool:
    return chat is not None and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)


def is_admin(update: Update, context: Context) -> bool:
    user = update.effective_user
    return get_services(context).settings.is_admin(user.id if user else None)


def language_of(update: Update) -> str | None:
    """The reader's language as Telegram says it (`language_code`: "de", "pt-br"), if any."""
    user = update.effective_user
    return user.language_code if user else None


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
