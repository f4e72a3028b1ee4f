"""The conversation core: questions, follow-ups, answer pages, votes, /forget and inline mode."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.conversation import replies
from bot.conversation.conversation import Conversation, is_follow_up
from bot.conversation.replies import ForgetAction
from bot.serving.library import Edition
from bot.storage.state import ConversationKey, MessageKey, VoteKey

ANN, BOB = ConversationKey(1, 11), ConversationKey(1, 22)
QUESTION = "When will all US troops leave Afghanistan?"


@pytest.mark.parametrize("text", ["", "   ", "???", "the of and", "\u200b"])
async def test_empty_questions_get_a_hint(seed_room: Conversation, text: str) -> None:
    """Empty or stop-word-only input gets an example, not a search (and is logged as asked)."""
    reply = await seed_room.ask(text, ANN)
    assert reply.answer is None
    assert "Please ask a question" in reply.messages[0]
    assert reply.question == text


async def test_huge_question_is_answered_within_limits(seed_room: Conversation) -> None:
    """A 100 kB question is trimmed and answered without error."""
    reply = await seed_room.ask("Taliban " * 12_500, ANN)
    assert reply.answer is not None
    assert all(len(m) <= 4096 for m in reply.messages)


async def test_follow_up_is_read_with_the_previous_question(seed_room: Conversation) -> None:
    """'and how many were released?' after 'Taliban prisoners' finds the 5,000 released."""
    await seed_room.ask("Taliban prisoners", ANN)
    reply = await seed_room.ask("and how many were released?", ANN)
    assert reply.answer is not None
    assert reply.answer.follows == "Taliban prisoners"
    assert "Following on from" in reply.messages[0]
    start, end = reply.answer.hits[0].best_sentence
    assert "5,000 prisoners already released" in reply.answer.hits[0].passage.text[start:end]


async def test_new_forgets_and_conversations_are_separate(seed_room: Conversation) -> None:
    """/new drops the context; another reader never inherits it."""
    await seed_room.ask("Taliban prisoners", ANN)
    bob = await seed_room.ask("and how many were released?", BOB)
    assert bob.answer is not None and bob.answer.follows is None
    assert (await seed_room.new_topic(ANN)).messages[0].startswith("Fresh start")
    ann = await seed_room.ask("and how many were released?", ANN)
    assert ann.answer is not None and ann.answer.follows is None


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
    assert is_follow_up(text) is expected


async def test_spelling_fix_is_announced(seed_room: Conversation) -> None:
    """A corrected question says what was searched for."""
    reply = await seed_room.ask("Talban prisoners", ANN)
    assert "Showing results for “Taliban prisoners”" in reply.messages[0]


async def test_pages_are_searched_again_from_the_kept_question(seed_room: Conversation) -> None:
    """More/Back show the other pages of a sent answer, re-derived from its question and
    edition; a page that does not exist, an unknown message and a new edition are stale."""
    first = await seed_room.ask(QUESTION, ANN)
    assert first.keep is not None and first.keep.question == QUESTION
    assert [b.data for b in first.buttons[0]] == ["p:2"]
    where = MessageKey(1, 500)
    await seed_room.keep(where, first)
    second = await seed_room.page(where, 2)
    assert second.notice == "Page 2 of 2" and second.messages != first.messages
    assert [b.data for b in second.buttons[0]] == ["p:1"]
    assert (await seed_room.page(where, 1)).messages == first.messages
    assert (await seed_room.page(where, 3)).notice == replies.STALE_BUTTON
    assert (await seed_room.page(MessageKey(1, 501), 2)).notice == replies.STALE_BUTTON
    library = seed_room.library
    same = library.current
    # Another process serving the same articles (another instance): the answer is its too.
    library.current = Edition.of(same.collection, same.index, generation=7)
    assert (await seed_room.page(where, 2)).notice == "Page 2 of 2"
    first_article = same.collection.articles[0]
    edited = replace(first_article, paragraphs=(*first_article.paragraphs, "A new paragraph."))
    changed = replace(same.collection, articles=(edited, *same.collection.articles[1:]))
    library.current = Edition.of(changed, same.index, generation=2)
    assert (await seed_room.page(where, 2)).notice == replies.STALE_BUTTON


async def test_unanswered_questions_have_no_buttons_and_keep_nothing(
    seed_room: Conversation,
) -> None:
    """'I couldn't find that' has no More and no votes."""
    reply = await seed_room.ask("What is the capital of France?", ANN)
    assert reply.buttons == () and reply.keep is None
    assert reply.answer is not None and not reply.answer.answered


async def test_votes_are_acknowledged_and_can_be_changed(seed_room: Conversation) -> None:
    """A vote is thanked; the same again is noted; the other one changes it."""
    key = VoteKey(1, 500, 11)
    assert (await seed_room.vote(key, 1)).notice == "Thanks! Marked as helpful."
    assert (await seed_room.vote(key, 1)).notice == "You already marked this answer as helpful."
    assert (await seed_room.vote(key, -1)).notice == "Vote changed: marked as not helpful."


async def test_forget_needs_the_readers_own_confirmation_once(seed_room: Conversation) -> None:
    """Only the reader who sent /forget can answer it, once; 'no' keeps everything; 'yes'
    also drops their follow-up memory (nothing is logged here: 0 messages)."""
    prompt = await seed_room.forget_prompt(11)
    assert [b.data for b in prompt.buttons[0]] == ["forget:yes:11", "forget:no:11"]
    yes, no = ForgetAction(True, 11), ForgetAction(False, 11)
    assert (await seed_room.answer_forget(yes, 22)).notice == (
        "Only the reader who sent /forget can answer it: send your own."
    )
    assert (await seed_room.answer_forget(no, 11)).messages == ("Nothing was deleted.",)
    assert (await seed_room.answer_forget(yes, 11)).notice == replies.FORGET_EXPIRED
    await seed_room.ask("Taliban prisoners", ANN)
    await seed_room.forget_prompt(11)
    done = await seed_room.answer_forget(yes, 11)
    assert done.notice == "Deleted." and "deleted 0 logged messages" in done.messages[0]
    assert (await seed_room.answer_forget(yes, 11)).notice == replies.FORGET_EXPIRED
    after = await seed_room.ask("and how many were released?", ANN)
    assert after.answer is not None and after.answer.follows is None


async def test_inline_results_are_passages_or_the_newest_articles(seed_room: Conversation) -> None:
    """A question gives up to 5 passages with short stable ids; none gives the articles."""
    found = await seed_room.inline("taliban prisoners released")
    assert 1 <= len(found) <= 5
    assert all(1 <= len(r.id.encode()) <= 64 for r in found)
    assert len({r.id for r in found}) == len(found)
    assert "5,000 prisoners" in " ".join(r.description for r in found)
    (newest,) = await seed_room.inline("   ")
    assert newest.description == "US orders staff to leave Kabul due to threats"
