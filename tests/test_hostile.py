"""Hostile input: whatever readers type and whatever the article files hold, every reply is
valid Telegram HTML within Telegram's limits, and nothing crashes."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.articles import load_collection
from bot.config import Settings
from bot.conversation.command_table import handle_line
from bot.conversation.conversation import Conversation
from bot.conversation.render import article_messages
from bot.conversation.replies import SORRY, Reply
from bot.markup import MESSAGE_LIMIT, tg_len
from bot.serving.library import Edition, Library
from bot.storage.state import ConversationKey, MemoryState
from handlers.services import NewsApp
from tests.support.emulator.server import BotApiEmulator
from tests.support.emulator.telegram_html import parse_html, utf16_len

# Pieces that break naive bots: markup, entities, Markdown, controls, zero-width and
# right-to-left characters, emoji (two UTF-16 units each), paths and huge numbers.
HOSTILE = [
    "<b>",
    "</i>",
    "<a href='javascript:alert(1)'>x</a>",
    "&",
    "&amp;",
    "&#0;",
    "<",
    ">",
    '"',
    "*bold* _it_ `code` [link](http://x)",
    "\x00",
    "\x1b[31m",
    "\u200b\u200d\ufeff",
    "\u202eevil\u202c",
    "مرحبا بالعالم",
    "שלום",
    "👍🏽👨‍👩‍👧",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "../../etc/passwd",
    "99999999999999999999",
    "-1",
    "Taliban",
    "prisoners",
    "Robert'); DROP TABLE messages;--",
    "\n",
    " ",
]
hostile_text = st.one_of(
    st.text(max_size=400),
    st.lists(st.sampled_from(HOSTILE), max_size=40).map("".join),
    st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=20)), max_size=30).map(" ".join),
)
COMMANDS = ["", "/ask ", "/source ", "/sources ", "/start ", "/new ", "/help ", "/nonsense "]


def assert_valid(reply: Reply) -> None:
    """What Telegram would accept: strict HTML, ≤ 4096 UTF-16 units, buttons ≤ 64 bytes."""
    assert reply.messages or reply.notice
    for message in reply.messages:
        assert tg_len(message) <= MESSAGE_LIMIT
        text = parse_html(message)  # raises on anything Telegram would refuse
        assert text.strip()
        assert utf16_len(text) <= MESSAGE_LIMIT
    for row in reply.buttons:
        for button in row:
            assert button.data is None or 1 <= len(button.data.encode()) <= 64


WHO = ConversationKey(-1, 1)


async def check_conversation(conversation: Conversation, texts: list[str]) -> None:
    """Every line as typed, and as an inline query: replies Telegram would accept."""
    for text in texts:
        assert_valid(await handle_line(conversation, text, WHO))
        for result in await conversation.inline(text):
            assert 1 <= len(result.id.encode()) <= 64 and result.title
            assert tg_len(result.message) <= MESSAGE_LIMIT
            parse_html(result.message)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command=st.sampled_from(COMMANDS), text=hostile_text)
def test_any_user_text_gets_valid_replies(seed_edition: Edition, command: str, text: str) -> None:
    """Any text after any command (or none) gets valid HTML within Telegram's limits."""
    conversation = Conversation(
        Library(seed_edition), MemoryState(), bot_username="newsbot_test_bot"
    )
    asyncio.run(check_conversation(conversation, [command + text]))


article_text = st.tuples(
    hostile_text.filter(lambda t: t.strip() != ""),
    st.lists(hostile_text, min_size=1, max_size=6),
).map(lambda parts: parts[0].replace("\n", " ") + "\n\n" + "\n\n".join(parts[1]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=article_text, question=hostile_text)
def test_any_article_file_gives_valid_replies(
    tmp_path_factory: pytest.TempPathFactory, content: str, question: str
) -> None:
    """Any article file: its /source pages, answers and inline results are valid HTML."""
    folder = tmp_path_factory.mktemp("articles")
    (folder / "hostile.txt").write_bytes(content.encode("utf-8", "surrogatepass"))
    (folder / "plain.txt").write_text("Plain title\n\nPlain body about Taliban prisoners.\n")
    collection = load_collection(folder)  # a file it cannot read is skipped, never raised
    conversation = Conversation(
        Library.of(collection), MemoryState(), bot_username="newsbot_test_bot"
    )
    for article in collection.articles:
        for message in article_messages(article):
            assert tg_len(message) <= MESSAGE_LIMIT
            parse_html(message)
    words = " ".join(collection.articles[0].paragraphs)[:200]
    texts = [question, words, "", "/sources", "/source 1", "/source 2", "/start source_1"]
    asyncio.run(check_conversation(conversation, texts))


async def test_ten_megabytes_of_text_nul_bytes_html_and_duplicate_titles(tmp_path: Path) -> None:
    """10 MB of text, a NUL byte, HTML and twin titles: read or skipped, escaped, told apart."""
    folder = tmp_path / "articles"
    folder.mkdir()
    paragraph = (
        "The council met on Monday and agreed a budget of 3,000 pounds for the harbour. " * 12
    )
    big = "Huge article\n\n" + "\n\n".join(paragraph for _ in range(10_600))
    (folder / "big.txt").write_text(big, encoding="utf-8")
    assert (folder / "big.txt").stat().st_size > 10_000_000
    (folder / "nul.txt").write_bytes(b"Title\n\nBody with a NUL \x00 byte in it.\n")
    (folder / "html.txt").write_text(
        "<script>alert(1)</script> Markup title\n\n"
        "<b>Not bold</b> & <i>not italic</i>: the harbour opens in <2026>.\n"
    )
    (folder / "twin1.txt").write_text("Same title\n\nThe first twin talks about zebras.\n")
    (folder / "twin2.txt").write_text("Same title\n\nThe second twin talks about lions.\n")
    started = time.perf_counter()
    collection = load_collection(folder)
    conversation = Conversation(Library.of(collection), MemoryState())
    took = time.perf_counter() - started
    names = [a.file_name for a in collection.articles]
    assert names == ["big.txt", "html.txt", "twin1.txt", "twin2.txt"]
    assert dict(collection.skipped)["nul.txt"]  # binary-looking: skipped with a reason
    assert took < 120  # sanity only; speed is measured in bench/

    markup = await conversation.ask("When does the harbour open?", WHO)
    assert_valid(markup)
    assert "&lt;b&gt;Not bold&lt;/b&gt; &amp;" in markup.messages[0]
    for n, (question, file_name) in enumerate((("zebras", "twin1.txt"), ("lions", "twin2.txt"))):
        reply = await conversation.ask(
            f"What about {question}?", ConversationKey(-2, n)
        )  # no follow-up
        assert file_name in reply.messages[0]  # same titles, told apart by their files
    sources = await handle_line(conversation, "/sources", WHO)
    assert sources.messages[0].count("Same title") == 2
    pages = await handle_line(conversation, "/source 1", WHO)
    assert_valid(pages)
    assert "Page 1 of" in pages.messages[-1]


HOSTILE_MESSAGES = [
    "x" * 100_000,
    "\u202eTaliban prisoners\u202c released?",
    "Tali\u200bban pri\u200dsoners?",
    "\x07\x1b[2J Taliban \x00 prisoners",
    "👍🏽" * 3000,
    "*Taliban* _prisoners_ `released` [x](http://y)",
]


@pytest.mark.e2e
async def test_hostile_messages_through_telegram(
    bot: NewsApp, emulator: BotApiEmulator, settings: Settings
) -> None:
    """100 kB, right-to-left, zero-width, control, emoji and Markdown messages: the emulator
    refuses anything Telegram would, and every reply got through; each text stored verbatim."""
    for n, text in enumerate(HOSTILE_MESSAGES, start=1):
        await emulator.send_text(text)
        assert (await emulator.wait_for(1001, n))[-1]["text"]
    assert emulator.errors == []
    assert len(emulator.sent_to(1001)) == len(HOSTILE_MESSAGES)  # one reply each
    from tests.support.bot import flushed

    await flushed(bot, len(HOSTILE_MESSAGES))
    with sqlite3.connect(settings.db_path) as db:
        stored = db.execute("SELECT text FROM messages ORDER BY telegram_message_id").fetchall()
    assert stored == [(text,) for text in HOSTILE_MESSAGES]


def outsized_articles(folder: Path) -> None:
    """Article files with fields far beyond any real article's: a 2,100-emoji title, a
    5,000-character url: and outlet:, a 240-emoji path, a paragraph of emoji."""
    folder.mkdir()
    (folder / "emoji.txt").write_text(
        "🎉" * 2100
        + "\n\nThe harbour reopened on Monday after the storm.\n\n"
        + "🚢" * 3000
        + "\n"
    )
    (folder / "long.md").write_text(
        f"---\nurl: https://example.com/{'a&' * 2500}\noutlet: {'Outlet ' * 715}\n"
        f"published: {'2024-01-01 ' * 500}\n---\n"
        "Zebras escape\n\nThe zebras escaped from the zoo on Tuesday.\n"
    )
    deep = folder.joinpath(*["🦓" * 60] * 3)  # a name holds 255 bytes: 60 emoji
    deep.mkdir(parents=True)
    (deep / ("🦓" * 60 + ".txt")).write_text("Lions\n\nThe lions slept through the storm.\n")


@pytest.mark.e2e
async def test_outsized_article_fields_through_telegram(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    """/source, /sources and answers for articles with outsized titles, URLs, outlets and
    file names all reach Telegram (limits counted in UTF-16 units, as the emulator does)."""
    from tests.support.bot import bot_settings, start_bot, stop_bot

    folder = tmp_path / "articles"
    outsized_articles(folder)
    settings = bot_settings(tmp_path, emulator, NEWSBOT_ARTICLES_DIR=folder)
    app = await start_bot(settings, Library.of(load_collection(folder)))
    try:
        texts = [
            "/source 1", "/source 2", "/source 3", "/sources",
            "When did the harbour reopen?", "zebras escaped", "lions slept",
        ]  # fmt: skip
        for n, text in enumerate(texts, start=1):
            await emulator.send_text(text)
            await emulator.wait_for(1001, n)
        await emulator.settle()
    finally:
        await stop_bot(app)
    assert emulator.errors == []
    sent = [m["text"] for m in emulator.sent_to(1001)]
    assert all(SORRY not in text for text in sent)
    assert sum("🎉" * 100 in text for text in sent) >= 1  # the title, cut to fit
    assert any("The zebras escaped from the zoo" in text for text in sent)
    assert any("The lions slept" in text for text in sent)
