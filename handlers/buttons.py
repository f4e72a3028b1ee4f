"""Inline keyboard presses: More/Back under answers, 👍/👎, and the /forget confirmation."""

from __future__ import annotations

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler

from bot.conversation import replies
from bot.conversation.replies import PageAction, VoteAction, parse_button
from bot.i18n.catalogs import for_reader
from bot.storage import Vote
from bot.storage.state import MessageKey, VoteKey
from handlers.delivery import deliver, keyboard
from handlers.services import Context, NewsApp, get_services


def register(app: NewsApp) -> None:
    app.add_handler(CallbackQueryHandler(on_button))


async def on_button(update: Update, context: Context) -> None:
    """Answer every press (Telegram shows a spinner until then), then act on it."""
    query = update.callback_query
    if query is None:
        return
    message = query.message
    action = parse_button(query.data)
    language = query.from_user.language_code
    if action is None or message is None:
        await query.answer(replies.unknown_button(for_reader(language)))
        return
    services = get_services(context)
    conversation, user_id = services.conversation, query.from_user.id
    if isinstance(action, VoteAction):
        services.log.record(Vote(message.chat.id, message.message_id, user_id, action.vote))
        reply = await conversation.vote(
            VoteKey(message.chat.id, message.message_id, user_id), action.vote, language
        )
    elif isinstance(action, PageAction):
        reply = await conversation.page(
            MessageKey(message.chat.id, message.message_id), action.page, language
        )
    else:
        reply = await conversation.answer_forget(action, user_id, language)
    if reply.messages:
        try:
            await deliver(
                lambda: query.edit_message_text(
                    reply.messages[0], reply_markup=keyboard(reply.buttons)
                )
            )
        except BadRequest as exc:  # pressed twice quickly: the text is already there
            if "not modified" not in exc.message:
                raise
    await query.answer(reply.notice, show_alert=reply.alert)
