"""The Bot API emulator itself: it accepts what Telegram accepts and rejects what it rejects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
)
from telegram.error import BadRequest, InvalidToken

from tests.support.emulator.server import TOKEN, BotApiEmulator

CHAT = 1001


@pytest.fixture
async def api(emulator: BotApiEmulator) -> AsyncIterator[Bot]:
    """A plain python-telegram-bot Bot talking to the emulator."""
    emulator.chat(CHAT)
    async with Bot(TOKEN, base_url=f"{emulator.base_url}/bot") as bot:
        yield bot


async def test_get_me_is_a_bot(api: Bot) -> None:
    """getMe answers a bot user that PTB accepts."""
    me = await api.get_me()
    assert me.is_bot and me.username == "newsbot_test_bot"


async def test_wrong_token_is_unauthorized(emulator: BotApiEmulator) -> None:
    """Another token gets 401, which PTB reports as InvalidToken."""
    with pytest.raises(InvalidToken):
        async with Bot("1:other", base_url=f"{emulator.base_url}/bot"):
            pass


@pytest.mark.parametrize(
    "markup",
    [
        "<b>unclosed",
        "<b>a</i>",
        "<script>x</script>",
        "a < b",
        "AT&T",
        "<span>x</span>",
        "<a>no href</a>",
        "<blockquote><blockquote>x</blockquote></blockquote>",
    ],
)
async def test_malformed_html_is_rejected(api: Bot, markup: str) -> None:
    """parse_mode=HTML with bad markup: 400 can't parse entities."""
    with pytest.raises(BadRequest, match="parse entities"):
        await api.send_message(CHAT, markup, parse_mode="HTML")


async def test_valid_html_and_its_plain_text(api: Bot, emulator: BotApiEmulator) -> None:
    """Valid markup is accepted and the message text has the entities resolved."""
    message = await api.send_message(
        CHAT,
        '<blockquote><b>5 &lt; 6</b> &amp; <a href="https://x.org">x</a></blockquote>',
        parse_mode="HTML",
    )
    assert message.text == "5 < 6 & x"


async def test_too_long_and_empty_text_are_rejected(api: Bot) -> None:
    """Over 4096 characters (after entities) or empty: 400."""
    await api.send_message(CHAT, "é" * 4096)
    with pytest.raises(BadRequest, match="too long"):
        await api.send_message(CHAT, "x" * 4097)
    with pytest.raises(BadRequest, match="too long"):
        await api.send_message(CHAT, "🙂" * 2049)  # 4098 UTF-16 code units
    with pytest.raises(BadRequest, match="empty"):
        await api.send_message(CHAT, "   ")
    with pytest.raises(BadRequest, match="empty"):
        await api.send_message(CHAT, "<b> </b>", parse_mode="HTML")


async def test_unknown_chat_is_rejected(api: Bot) -> None:
    """A chat nobody wrote from: chat not found."""
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await api.send_message(424242, "hello")


async def test_edit_message_text(api: Bot) -> None:
    """Edits replace the text; an identical edit is 'not modified'."""
    sent = await api.send_message(CHAT, "one")
    edited = await api.edit_message_text("two", chat_id=CHAT, message_id=sent.message_id)
    assert not isinstance(edited, bool)
    assert edited.text == "two"
    with pytest.raises(BadRequest, match="not modified"):
        await api.edit_message_text("two", chat_id=CHAT, message_id=sent.message_id)
    with pytest.raises(BadRequest, match="not found"):
        await api.edit_message_text("x", chat_id=CHAT, message_id=999)


async def test_callback_data_over_64_bytes_is_rejected(api: Bot) -> None:
    """Inline buttons carry at most 64 bytes of callback data."""
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="x" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await api.send_message(CHAT, "text", reply_markup=markup)


async def test_updates_offset_and_long_poll(api: Bot, emulator: BotApiEmulator) -> None:
    """getUpdates waits up to `timeout` for news; an offset confirms earlier updates."""
    waiting = asyncio.create_task(api.get_updates(timeout=5))
    await emulator.wait_until(lambda: any(m == "getUpdates" for m, _ in emulator.calls))
    await emulator.send_command("start")
    (update,) = await asyncio.wait_for(waiting, 5)
    assert update.message is not None and update.message.text == "/start"
    assert update.message.entities[0].type == "bot_command"
    assert len(await api.get_updates(timeout=0)) == 1  # not yet confirmed
    assert await api.get_updates(offset=update.update_id + 1, timeout=0) == ()


async def test_callback_and_inline_queries(api: Bot, emulator: BotApiEmulator) -> None:
    """Callback and inline queries arrive as updates and can be answered once known."""
    sent = await api.send_message(CHAT, "pick")
    await emulator.press_button(CHAT, sent.message_id, "more:1")
    await emulator.inline_query("taliban")
    updates = await api.get_updates(timeout=0)
    callback, inline = updates[0].callback_query, updates[1].inline_query
    assert callback is not None and callback.data == "more:1" and callback.chat_instance
    assert inline is not None and inline.query == "taliban"
    assert await api.answer_callback_query(callback.id, text="ok")
    result = InlineQueryResultArticle(
        "r1", "Title", InputTextMessageContent("<b>x</b>", parse_mode="HTML")
    )
    assert await api.answer_inline_query(inline.id, [result])
    with pytest.raises(BadRequest, match=r"(?i)query id is invalid"):
        await api.answer_callback_query("nope")
    assert emulator.inline_answers[inline.id]["results"][0]["id"] == "r1"


async def test_chat_action_and_commands_are_validated(api: Bot, emulator: BotApiEmulator) -> None:
    """Only known chat actions; command names must be lower-case words."""
    assert await api.send_chat_action(CHAT, "typing")
    assert emulator.chat_actions == [(CHAT, "typing")]
    with pytest.raises(BadRequest):
        await api.set_my_commands([("Bad-Name", "x")])
    assert await api.set_my_commands([("ask", "Ask")])
    assert [c.command for c in await api.get_my_commands()] == ["ask"]


async def test_injected_fault(api: Bot, emulator: BotApiEmulator) -> None:
    """A fault injected for a method answers that method's next call."""
    from tests.support.emulator.server import Fault

    emulator.inject("sendMessage", Fault(status=400, description="Bad Request: injected"))
    with pytest.raises(BadRequest, match=r"(?i)injected"):
        await api.send_message(CHAT, "x")
    assert (await api.send_message(CHAT, "x")).text == "x"


async def test_stop_answers_a_pending_long_poll_at_once(
    api: Bot, emulator: BotApiEmulator
) -> None:
    """Stopping the emulator ends an open getUpdates with no updates, not at its deadline."""
    waiting = asyncio.create_task(api.get_updates(timeout=60, read_timeout=90))
    await emulator.wait_until(lambda: any(m == "getUpdates" for m, _ in emulator.calls))
    await asyncio.wait_for(emulator.stop(), 5)
    assert await asyncio.wait_for(waiting, 5) == ()
