"""Inline keyboard presses: More/Back under answers, 👍/👎, and the /forget confirmation."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest

from bot.chat import PageAction, VoteAction, parse_button
from bot.storage import DatabaseError, Vote
from handlers.common import Context, deliver, get_services, keyboard

log = logging.getLogger(__name__)

UNKNOWN_BUTTON = "This button no longer works: please ask again."
FORGET_FAILED = "I couldn't delete your data just now: please try /forget again in a minute."


async def on_button(update: Update, context: Context) -> None:
    """Answer every press (Telegram shows a spinner until then), then act on it."""
    query = update.callback_query
    if query is None:
        return
    message = query.message
    action = parse_button(query.data)
    if action is None or message is None:
        await query.answer(UNKNOWN_BUTTON)
        return
    services = get_services(context)
    room = services.room
    where = (message.chat.id, message.message_id)
    if isinstance(action, VoteAction):
        services.log.record(
            Vote(message.chat.id, message.message_id, query.from_user.id, action.vote)
        )
        await query.answer(room.vote((*where, query.from_user.id), action.vote).notice)
        return
    if isinstance(action, PageAction):
        reply = room.page(where, action.page)
    elif action.user_id != query.from_user.id:
        reply = room.not_your_forget()
    elif action.confirmed:
        try:
            deleted = await services.log.forget(query.from_user.id)
        except DatabaseError as exc:
            log.warning("Could not forget user %d: %s", query.from_user.id, exc)
            await query.answer(FORGET_FAILED, show_alert=True)
            return
        reply = room.forgotten(query.from_user.id, deleted)
    else:
        reply = room.forget_cancelled()
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
    await query.answer(reply.notice)
