"""The conversation core shared by Telegram and the terminal: commands and their bad input."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bot.articles import Collection, load_collection, parse_article, passages_of
from bot.chat import Newsroom
from bot.reload import reload_articles
from tests.emulator.telegram_html import parse_html


def test_start_offers_examples_that_find_answers(seed_room: Newsroom) -> None:
    """/start shows three example questions, each answered by the collection."""
    (message,) = seed_room.start("Ann").messages
    assert "Hello, Ann!" in message
    assert len(seed_room.examples) == 3
    for example in seed_room.examples:
        assert example in parse_html(message)
        assert seed_room.ask(example).answer is not None
        assert seed_room.ask(example).answer.answered  # type: ignore[union-attr]


def test_help_lists_every_command(seed_room: Newsroom) -> None:
    """/help names each command."""
    (message,) = seed_room.help().messages
    for command in ("/ask", "/sources", "/source", "/help", "/start"):
        assert command in message
    parse_html(message)


def test_sources_lists_numbered_articles(seed_room: Newsroom) -> None:
    """/sources numbers the articles and says how to open one."""
    (message,) = seed_room.sources().messages
    assert "1. Taliban Attacks Upsurge" in message
    assert "/source N" in message


def test_source_shows_the_whole_article(seed_room: Newsroom) -> None:
    """/source 1 has title, subtitle, dateline and every paragraph."""
    text = "\n".join(parse_html(m) for m in seed_room.source("1").messages)
    article = seed_room.collection.articles[0]
    assert article.title in text
    assert "US orders staff to leave Kabul" in text
    assert "KABUL — The Afghan Taliban" in text
    for paragraph in article.paragraphs:
        assert paragraph in text


@pytest.mark.parametrize("arg", ["abc", "0", "999", "../etc/passwd", "-1", "1e9", "", "９"])
def test_bad_source_numbers_get_a_clear_reply(seed_room: Newsroom, arg: str) -> None:
    """Nonsense, zero, too large, paths and signs are refused politely."""
    (message,) = seed_room.source(arg).messages
    assert "/source" in message
    assert "/sources" in message
    assert "Traceback" not in message


def big_room(articles: int, paragraphs: int) -> Newsroom:
    found = []
    for n in range(articles):
        body = "\n\n".join(
            f"Paragraph {i} about topic{n} " + "word " * 150 for i in range(paragraphs)
        )
        found.append(parse_article(f"Title {n}\n\n{body}", f"{n:03}.txt"))
    return Newsroom(Collection(tuple(found), tuple(p for a in found for p in passages_of(a))))


def test_long_article_is_split_and_paged() -> None:
    """A long article spans several messages under 4096 characters, with a next-page hint."""
    room = big_room(1, 60)
    first = room.source("1").messages
    assert len(first) == 4
    assert all(len(m) <= 4096 for m in first)
    assert "/source 1 2" in first[-1]
    last_page = room.source("1 99").messages
    assert "has" in last_page[0]
    assert "pages" in last_page[0]


def test_long_source_list_is_paged() -> None:
    """More than 20 articles: /sources pages, /sources 2 continues."""
    room = big_room(45, 1)
    assert "/sources 2" in room.sources().messages[-1]
    assert "21. Title 20" in room.sources("2").messages[0]
    assert "pages of sources" in room.sources("9").messages[0]


def test_handle_routes_commands_like_telegram(seed_room: Newsroom) -> None:
    """The terminal routes /commands (with @botname) and questions."""
    assert seed_room.handle("/sources@newsbot_test_bot").messages == seed_room.sources().messages
    assert "I don't know /nope" in seed_room.handle("/nope").messages[0]
    assert seed_room.handle("/ask").messages == seed_room.ask_usage().messages
    reply = seed_room.handle("/ask When will all US troops leave Afghanistan?")
    assert reply.answer is not None
    assert reply.answer.answered


@pytest.mark.parametrize("text", ["", "   ", "???", "the of and", "\u200b"])
def test_empty_questions_get_a_hint(seed_room: Newsroom, text: str) -> None:
    """Empty or stop-word-only input gets an example, not a search."""
    reply = seed_room.ask(text)
    assert reply.answer is None
    assert "Please ask a question" in reply.messages[0]


def test_huge_question_is_answered_within_limits(seed_room: Newsroom) -> None:
    """A 100 kB question is trimmed and answered without error."""
    reply = seed_room.ask("Taliban " * 12_500)
    assert reply.answer is not None
    assert all(len(m) <= 4096 for m in reply.messages)


def test_follow_up_is_read_with_the_previous_question(seed_room: Newsroom) -> None:
    """'and how many were released?' after 'Taliban prisoners' finds the 5,000 released."""
    who = ("chat", 1)
    seed_room.new(who)
    seed_room.ask("Taliban prisoners", who)
    reply = seed_room.ask("and how many were released?", who)
    assert reply.answer is not None
    assert reply.answer.follows == "Taliban prisoners"
    assert "Following on from" in reply.messages[0]
    start, end = reply.answer.hits[0].best_sentence
    assert "5,000 prisoners already released" in reply.answer.hits[0].passage.text[start:end]


def test_new_forgets_and_conversations_are_separate(seed_room: Newsroom) -> None:
    """/new drops the context; another reader never inherits it."""
    seed_room.ask("Taliban prisoners", "ann")
    assert seed_room.ask("and how many were released?", "bob").answer.follows is None  # type: ignore[union-attr]
    seed_room.handle("/new", "ann")
    assert seed_room.ask("and how many were released?", "ann").answer.follows is None  # type: ignore[union-attr]


def test_memory_expires_and_stays_bounded() -> None:
    """Topics are forgotten after their time and the oldest go first when full."""
    from bot.chat import Memory

    memory = Memory(seconds=0.0, size=2)
    memory.remember("a", "one")
    assert memory.topic("a") is None
    memory = Memory(seconds=60, size=2)
    for who in "abc":
        memory.remember(who, who)
    assert memory.topic("a") is None
    assert memory.topic("c") == "c"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("and how many were released?", True),
        ("what about Doha?", True),
        ("when did they leave?", True),
        ("Taliban prisoners", False),
        ("How many prisoners were released by the Afghan government last year?", False),
    ],
)
def test_follow_up_detection(text: str, expected: bool) -> None:
    """Short questions that start with 'and'/'what about' or point back are follow-ups."""
    from bot.chat import is_follow_up

    assert is_follow_up(text) is expected


def test_spelling_fix_is_announced(seed_room: Newsroom) -> None:
    """A corrected question says what was searched for."""
    reply = seed_room.ask("Talban prisoners")
    assert "Showing results for “Taliban prisoners”" in reply.messages[0]


def test_questions_during_a_reload_are_answered_from_one_whole_collection(
    tmp_path: Path,
) -> None:
    """A reload in another thread while questions are answered: every answer comes from
    the old or the new collection, never from a mix, and none fails."""
    folder = tmp_path / "articles"
    folder.mkdir()
    for n in range(300):
        (folder / f"{n:03}.txt").write_text(
            f"Harbour report {n}\n\nThe harbour of town {n} handled {n * 7} ships in May.\n"
            "Dockers said the new cranes worked well.\n",
            encoding="utf-8",
        )
    room = Newsroom(load_collection(folder))
    old = {id(a) for a in room.collection.articles}
    (folder / "999.txt").write_text(
        "Quokka census\n\nRangers counted 12,000 quokkas on the island.\n", encoding="utf-8"
    )
    reload = threading.Thread(target=reload_articles, args=(room, folder, tmp_path / "cache"))
    reload.start()
    answers = []
    while reload.is_alive() or len(answers) < 5:
        reply = room.ask("How many ships did the harbour handle?")
        assert reply.answer is not None and reply.answer.answered
        answers.append(reply)
    reload.join()
    assert room.generation == 2
    new = {id(a) for a in room.collection.articles}
    for reply in answers:
        assert reply.answer is not None
        cited = {id(hit.passage.article) for hit in reply.answer.hits}
        assert cited <= old or cited <= new
    assert "12,000 quokkas" in room.ask("How many quokkas were counted?").messages[0]
