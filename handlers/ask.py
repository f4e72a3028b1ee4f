"""Questions in plain text: always in private chats; in groups when addressed to the bot.

(/ask is in the command table, handlers/commands.py.)
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import MessageHandler, filters

from handlers.delivery import Exchange, with_typing
from handlers.reading import (
    addressed_to_bot,
    conversation_of,
    is_group,
    language_of,
    strip_mention,
)
from handlers.services import Context, NewsApp, get_services


def register(app: NewsApp) -> None:
    app.add_handler(
        MessageHandler(filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGE, ask_text)
    )


async def ask_text(update: Update, context: Context) -> None:
    """Answer the message as a question: the passages, or a plain 'not found'."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    if is_group(update.effective_chat):
        if not addressed_to_bot(message, context):
            return
        question = strip_mention(message.text, context.bot.username)
    else:
        question = message.text
    exchange = Exchange(update, context, "question")
    conversation = get_services(context).conversation
    asked = conversation.ask(question, conversation_of(update), language_of(update))
    reply = await with_typing(update, context, asked)
    await exchange.reply(reply)
