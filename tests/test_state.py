"""Reader state kept in memory: topics expire, everything is bounded, /forget empties it."""

from __future__ import annotations

from bot.state import ConversationKey, KeptAnswer, MemoryState, MessageKey, VoteKey


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


async def test_votes_report_the_previous_vote() -> None:
    """A vote returns the reader's vote before it, so pressing again can say so."""
    state = MemoryState()
    key = VoteKey(1, 10, 7)
    assert await state.vote(key, 1) is None
    assert await state.vote(key, 1) == 1
    assert await state.vote(key, -1) == 1
    assert await state.vote(VoteKey(1, 10, 8), 1) is None  # another reader's vote


async def test_a_forget_confirmation_is_taken_once() -> None:
    """take_forget is true once per prompt, and false without one."""
    state = MemoryState()
    assert not await state.take_forget(7)
    await state.expect_forget(7)
    assert await state.take_forget(7)
    assert not await state.take_forget(7)


async def test_forget_user_drops_only_that_readers_state() -> None:
    """Topics in every chat, kept answers, votes and a pending confirmation of the reader go;
    another reader's stay."""
    state = MemoryState()
    for chat in (1, -100):
        await state.set_topic(ConversationKey(chat, 7), "mine")
        await state.set_topic(ConversationKey(chat, 8), "theirs")
    await state.keep_answer(MessageKey(1, 10), KeptAnswer("mine", None, 1, 7))
    await state.keep_answer(MessageKey(1, 11), KeptAnswer("theirs", None, 1, 8))
    await state.vote(VoteKey(1, 11, 7), 1)
    await state.vote(VoteKey(1, 10, 8), 1)
    await state.expect_forget(7)
    await state.forget_user(7)
    assert await state.topic(ConversationKey(-100, 7)) is None
    assert await state.topic(ConversationKey(-100, 8)) == "theirs"
    assert await state.kept_answer(MessageKey(1, 10)) is None
    assert await state.kept_answer(MessageKey(1, 11)) == KeptAnswer("theirs", None, 1, 8)
    assert await state.vote(VoteKey(1, 11, 7), 1) is None
    assert await state.vote(VoteKey(1, 10, 8), 1) == 1
    assert not await state.take_forget(7)
