"""Photos, stickers, voice, documents, locations...: one polite line."""

from __future__ import annotations

from telegram import Update
from telegram.ext import MessageHandler, filters

from bot.conversation import replies
from bot.i18n.catalogs import for_reader
from handlers.delivery import Exchange
from handlers.reading import addressed_to_bot, is_group, language_of
from handlers.services import Context, NewsApp

NOT_TEXT = (
    filters.PHOTO
    | filters.Sticker.ALL
    | filters.VOICE
    | filters.AUDIO
    | filters.VIDEO
    | filters.VIDEO_NOTE
    | filters.ANIMATION
    | filters.Document.ALL
    | filters.LOCATION
    | filters.VENUE
    | filters.CONTACT
    | filters.POLL
    | filters.Dice.ALL
)


def register(app: NewsApp) -> None:
    app.add_handler(MessageHandler(NOT_TEXT & filters.UpdateType.MESSAGE, not_text))


async def not_text(update: Update, context: Context) -> None:
    """Say politely that only text questions are answered; in groups only when addressed."""
    message = update.effective_message
    if message is None or (
        is_group(update.effective_chat) and not addressed_to_bot(message, context)
    ):
        return
    tr = for_reader(language_of(update))
    await Exchange(update, context, "other").reply(replies.text_only(tr))
