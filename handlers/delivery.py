"""Talking to Telegram: a reply sent (with retries, "typing…" and buttons) and its turn logged."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest, NetworkError, TelegramError, TimedOut

from bot.conversation.conversation import hit_rows
from bot.conversation.replies import Keyboard, Reply
from bot.storage import Delivery, Kind, Turn, utc_now
from bot.storage.state import MessageKey
from handlers.reading import chat_row, describe, is_group, user_row
from handlers.services import Context, get_services

log = logging.getLogger(__name__)
T = TypeVar("T")


SEND_ATTEMPTS = 3


SEND_RETRY_S = 0.5


# "Typing…" only when the reader would notice the wait: a reply within this arrives before
# the indicator could show, and the extra call would halve the bot's capacity.
TYPING_AFTER_S = 0.2


# A turn is committed to the log before its reply is sent; a database slower than this (locked,
# unreachable) no longer holds the reply back: the turn stays queued and is written later.
RECORD_WAIT_S = 1.0


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
            await services.conversation.keep(MessageKey(chat.id, last.message_id), reply)
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
