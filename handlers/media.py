"""Photos, stickers, voice, documents, locations...: one polite line."""

from __future__ import annotations

import time

from telegram import Update

from bot.chat import Reply
from handlers.ask import addressed_to_bot
from handlers.common import Context, is_group, send

TEXT_ONLY = (
    "I can only read text: send me a question about the articles in words, "
    "or see what they cover with /sources."
)


async def not_text(update: Update, context: Context) -> None:
    """Say politely that only text questions are answered; in groups only when addressed."""
    message = update.effective_message
    if message is None or (
        is_group(update.effective_chat) and not addressed_to_bot(message, context)
    ):
        return
    await send(update, context, Reply((TEXT_ONLY,)), kind="other", started=time.perf_counter())
