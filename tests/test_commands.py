"""The command table and the commands' replies, as the terminal chat and Telegram get them."""

from __future__ import annotations

import pytest

from bot.articles import Collection, parse_article, passages_of
from bot.conversation.command_table import COMMANDS, Request, handle_line, menu, visible
from bot.conversation.conversation import Conversation
from bot.conversation.replies import reloaded
from bot.serving.library import Changes, Library
from bot.storage.state import ConversationKey, MemoryState
from tests.support.emulator.telegram_html import parse_html

WHO = ConversationKey(1, 1)


async def line(conversation: Conversation, text: str) -> list[str]:
    """What the terminal chat shows for one typed line (HTML)."""
    return list((await handle_line(conversation, text, WHO)).messages)


async def test_start_offers_examples_that_find_answers(seed_room: Conversation) -> None:
    """/start shows three example questions, each answered by the collection."""
    command = next(c for c in COMMANDS if c.name == "start")
    (message,) = (await command.call(seed_room, Request("", WHO, first_name="Ann"))).messages
    assert "Hello, Ann!" in message
    assert len(seed_room.edition.examples) == 3
    for example in seed_room.edition.examples:
        assert example in parse_html(message)
        reply = await seed_room.ask(example, WHO)
        assert reply.answer is not None and reply.answer.answered


async def test_help_lists_what_the_reader_may_use_there(seed_room: Conversation) -> None:
    """/help lists the table's commands: /forget only on Telegram, admin ones only to admins."""
    (terminal,) = await line(seed_room, "/help")
    for name in ("ask", "new", "sources", "source", "help", "start"):
        assert f"/{name} — " in terminal
    assert "/forget" not in terminal and "/stats" not in terminal
    assert await line(seed_room, "/forget") == [
        "I don't know /forget. See /help for what I can do."
    ]
    help_command = next(c for c in COMMANDS if c.name == "help")
    (reader,) = (await help_command.call(seed_room, Request("", WHO))).messages
    (admin,) = (await help_command.call(seed_room, Request("", WHO, admin=True))).messages
    assert "/forget — " in reader and "/stats" not in reader
    assert "<b>Admin commands</b>\n/stats — " in admin and "/reload — " in admin
    parse_html(admin)


def test_menus_and_visibility_come_from_the_table() -> None:
    """Everyone's menu has no admin command; an admin's has all; the terminal has no /forget."""
    assert [n for n, _ in menu(admin=False)] == [
        "ask", "new", "sources", "source", "forget", "help", "start"
    ]  # fmt: skip
    assert [n for n, _ in menu(admin=True)][-2:] == ["stats", "reload"]
    terminal = Request("", WHO, admin=True, surface="terminal")
    assert "forget" not in {c.name for c in visible(terminal)}


async def test_sources_lists_numbered_articles(seed_room: Conversation) -> None:
    """/sources numbers the articles and says how to open one."""
    (message,) = await line(seed_room, "/sources")
    assert "1. Taliban Attacks Upsurge" in message
    assert "/source N" in message


async def test_source_shows_the_whole_article(seed_room: Conversation) -> None:
    """/source 1 has title, subtitle, dateline and every paragraph; so does its deep link."""
    text = "\n".join(parse_html(m) for m in await line(seed_room, "/source 1"))
    article = seed_room.edition.collection.articles[0]
    assert article.title in text
    assert "US orders staff to leave Kabul" in text
    assert "KABUL — The Afghan Taliban" in text
    for paragraph in article.paragraphs:
        assert paragraph in text
    assert await line(seed_room, "/start source_1") == await line(seed_room, "/source 1")


@pytest.mark.parametrize("arg", ["abc", "0", "999", "../etc/passwd", "-1", "1e9", "", "９"])
async def test_bad_source_numbers_get_a_clear_reply(seed_room: Conversation, arg: str) -> None:
    """Nonsense, zero, too large, paths and signs are refused politely."""
    (message,) = await line(seed_room, f"/source {arg}")
    assert "/source" in message
    assert "/sources" in message
    assert "Traceback" not in message


def big_conversation(articles: int, paragraphs: int) -> Conversation:
    found = []
    for n in range(articles):
        body = "\n\n".join(
            f"Paragraph {i} about topic{n} " + "word " * 150 for i in range(paragraphs)
        )
        found.append(parse_article(f"Title {n}\n\n{body}", f"{n:03}.txt"))
    collection = Collection(tuple(found), tuple(p for a in found for p in passages_of(a)))
    return Conversation(Library.of(collection), MemoryState())


async def test_long_article_is_split_and_paged() -> None:
    """A long article spans several messages under 4096 characters, with a next-page hint."""
    conversation = big_conversation(1, 60)
    first = await line(conversation, "/source 1")
    assert len(first) == 4
    assert all(len(m) <= 4096 for m in first)
    assert "/source 1 2" in first[-1]
    (last_page,) = await line(conversation, "/source 1 99")
    assert last_page.startswith("Article 1 has ")
    assert last_page.endswith(" pages: try /source 1 1.")


async def test_long_source_list_is_paged() -> None:
    """More than 20 articles: /sources pages, /sources 2 continues."""
    conversation = big_conversation(45, 1)
    assert "/sources 2" in (await line(conversation, "/sources"))[-1]
    assert "21. Title 20" in (await line(conversation, "/sources 2"))[0]
    assert "pages of sources" in (await line(conversation, "/sources 9"))[0]


async def test_terminal_routes_commands_like_telegram(seed_room: Conversation) -> None:
    """Commands (with @botname, any case), unknown ones, /ask alone, and questions."""
    assert await line(seed_room, "/Sources@newsbot_test_bot") == await line(seed_room, "/sources")
    assert "I don't know /nope" in (await line(seed_room, "/nope"))[0]
    assert "Put your question after the command: /ask" in (await line(seed_room, "/ask"))[0]
    reply = await handle_line(seed_room, "/ask When will all US troops leave Afghanistan?", WHO)
    assert reply.answer is not None and reply.answer.answered
    assert reply.question == "When will all US troops leave Afghanistan?"
    assert (await handle_line(seed_room, "Taliban prisoners", WHO)).question == "Taliban prisoners"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (Changes(total=1), "No changes: 1 article, as before."),
        (Changes(added=("A",), total=1), "<b>Articles reloaded</b>: 1 article now."),
        (Changes(skipped=(("x.bin", "binary"),), total=2), "Skipped 1 unreadable file: x.bin"),
        (Changes(skipped=(("x", "a"), ("y", "b")), total=2), "Skipped 2 unreadable files: x"),
    ],
)
def test_the_reload_reply_counts_in_words(changes: Changes, expected: str) -> None:
    """/reload's reply says "1 article", "1 unreadable file", "2 unreadable files", never
    "(s)" or "1 articles"."""
    text = "\n".join(reloaded(changes).messages)
    assert expected in text
    assert "(s)" not in text and "1 articles" not in text
