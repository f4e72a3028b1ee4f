"""Reader state, in memory and in PostgreSQL: topics expire, memory is bounded, votes say
what they replace, a /forget prompt is taken once, /forget empties the reader's state."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage import ConversationLog
from bot.storage.instances import SqlState
from bot.storage.state import (
    ConversationKey,
    KeptAnswer,
    MemoryState,
    MessageKey,
    ReaderState,
    VoteKey,
)
from tests.support.waiting import until


@pytest.fixture(params=["memory", "postgresql"])
async def state(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ReaderState]:
    """Each implementation of ReaderState, fresh."""
    if request.param == "memory":
        yield MemoryState()
        return
    log = ConversationLog(request.getfixturevalue("pg_url"), tmp_path / "pending.jsonl")
    await log.open()
    yield SqlState(log.database, seconds=0.3)
    await log.close()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_topics_expire_and_the_oldest_go_first_when_full() -> None:
    """A topic is forgotten after its time; beyond the size, the least recent goes."""
    clock = Clock()
    state = MemoryState(seconds=60, size=2, clock=clock)
    a, b, c = (ConversationKey(1, n) for n in (1, 2, 3))
    await state.set_topic(a, "one")
    clock.now = 61
    assert await state.topic(a) is None
    for key in (a, b, c):
        await state.set_topic(key, f"q{key.user_id}")
    assert await state.topic(a) is None
    assert await state.topic(c) == "q3"
    await state.set_topic(c, None)
    assert await state.topic(c) is None


async def test_topics_in_the_database_expire(state: ReaderState) -> None:
    """A topic older than its time is not followed up on (SqlState: 0.3 s here)."""
    if isinstance(state, MemoryState):
        pytest.skip("the memory state's expiry is tested with a clock above")
    set_at = time.monotonic()
    await state.set_topic(ConversationKey(1, 1), "one")
    assert await state.topic(ConversationKey(1, 1)) == "one"
    await until(lambda: _forgotten(state), timeout=5)
    assert time.monotonic() - set_at >= 0.25  # not before its time (0.3 s, less clock slack)


async def _forgotten(state: ReaderState) -> bool:
    return await state.topic(ConversationKey(1, 1)) is None


async def test_votes_report_the_previous_vote(state: ReaderState) -> None:
    """A vote returns the reader's vote before it, so pressing again can say so."""
    key = VoteKey(1, 10, 7)
    assert await state.vote(key, 1) is None
    assert await state.vote(key, 1) == 1
    assert await state.vote(key, -1) == 1
    assert await state.vote(VoteKey(1, 10, 8), 1) is None  # another reader's vote


async def test_a_forget_confirmation_is_taken_once(state: ReaderState) -> None:
    """take_forget is true once per prompt, and false without one."""
    assert not await state.take_forget(7)
    await state.expect_forget(7)
    assert await state.take_forget(7)
    assert not await state.take_forget(7)


async def test_forget_user_drops_only_that_readers_state(state: ReaderState) -> None:
    """Topics in every chat, kept answers, votes and a pending confirmation of the reader go;
    another reader's stay."""
    for chat in (1, -100):
        await state.set_topic(ConversationKey(chat, 7), "mine")
        await state.set_topic(ConversationKey(chat, 8), "theirs")
    await state.keep_answer(MessageKey(1, 10), KeptAnswer("mine", None, "e1", 7))
    await state.keep_answer(MessageKey(1, 11), KeptAnswer("theirs", None, "e1", 8))
    await state.vote(VoteKey(1, 11, 7), 1)
    await state.vote(VoteKey(1, 10, 8), 1)
    await state.expect_forget(7)
    await state.forget_user(7)
    assert await state.topic(ConversationKey(-100, 7)) is None
    assert await state.topic(ConversationKey(-100, 8)) == "theirs"
    assert await state.kept_answer(MessageKey(1, 10)) is None
    assert await state.kept_answer(MessageKey(1, 11)) == KeptAnswer("theirs", None, "e1", 8)
    assert await state.vote(VoteKey(1, 11, 7), 1) is None
    assert await state.vote(VoteKey(1, 10, 8), 1) == 1
    assert not await state.take_forget(7)
