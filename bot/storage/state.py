"""What the bot remembers about readers between messages, behind one small interface.

Follow-up memory (a conversation's last question), the answers behind More/Back buttons,
the readers' votes, and pending /forget confirmations. Keys and values are plain numbers and
strings, so an implementation can keep them anywhere: `MemoryState` keeps them in this
process; `bot.storage.instances.SqlState` keeps them in PostgreSQL, shared by every instance.
Kept answers are stored as the question that produced them (and the fingerprint of the
edition it was answered from), not as passages: a page is re-derived by searching again,
which gives the same hits in any process serving the same articles.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

MEMORY_SECONDS = 30 * 60  # a follow-up reads with a question asked at most this long ago
KEPT = 20_000  # entries of each kind MemoryState keeps (least recently used go first)


@dataclass(frozen=True, slots=True)
class ConversationKey:
    """Follow-ups are per reader and chat."""

    chat_id: int
    user_id: int


@dataclass(frozen=True, slots=True)
class MessageKey:
    """One of the bot's messages (the one carrying an answer's buttons)."""

    chat_id: int
    message_id: int


@dataclass(frozen=True, slots=True)
class VoteKey:
    """A reader's vote on one answer."""

    chat_id: int
    message_id: int
    user_id: int


@dataclass(frozen=True, slots=True)
class KeptAnswer:
    """Enough to show any page of a sent answer again: the search is repeated."""

    question: str
    follows: str | None  # the earlier question it was read with, for a follow-up
    edition: str  # the edition's fingerprint: answered from other articles, it is stale
    user_id: int  # who asked: /forget removes it


class ReaderState(Protocol):
    """Reader state the conversation needs. Implementations must be safe to call from the
    event loop at any time (async: a database can answer without blocking it)."""

    async def topic(self, key: ConversationKey) -> str | None:
        """The conversation's last question, if recent enough to follow up on."""

    async def set_topic(self, key: ConversationKey, question: str | None) -> None:
        """Remember the conversation's question (None: forget it, as /new does)."""

    async def keep_answer(self, where: MessageKey, answer: KeptAnswer) -> None:
        """Remember the answer sent as `where`, for its More/Back buttons."""

    async def kept_answer(self, where: MessageKey) -> KeptAnswer | None:
        """The answer sent as `where`, if still kept."""

    async def vote(self, key: VoteKey, vote: int) -> int | None:
        """Record a vote (+1 or -1); return the reader's previous vote on it, if any."""

    async def expect_forget(self, user_id: int) -> None:
        """The reader was asked to confirm /forget."""

    async def take_forget(self, user_id: int) -> bool:
        """True (once) if the reader has an unanswered /forget confirmation."""

    async def forget_user(self, user_id: int) -> None:
        """Drop everything kept about the reader (after /forget)."""


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Lru(Generic[K, V]):
    """A bounded mapping that forgets the least recently used entries."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    def pop(self, key: K) -> V | None:
        return self._items.pop(key, None)

    def drop(self, which: Callable[[K, V], bool]) -> None:
        for key in [k for k, v in self._items.items() if which(k, v)]:
            del self._items[key]


class MemoryState:
    """ReaderState in this process's memory, bounded; lost on restart (buttons then say so).

    Used from the event loop only, so it needs no locks.
    """

    def __init__(
        self,
        seconds: float = MEMORY_SECONDS,
        size: int = KEPT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self._clock = clock
        self._topics: Lru[ConversationKey, tuple[str, float]] = Lru(size)
        self._answers: Lru[MessageKey, KeptAnswer] = Lru(size)
        self._votes: Lru[VoteKey, int] = Lru(size)
        self._forgets: Lru[int, bool] = Lru(size)

    async def topic(self, key: ConversationKey) -> str | None:
        found = self._topics.get(key)
        if found is None or self._clock() - found[1] > self.seconds:
            return None
        return found[0]

    async def set_topic(self, key: ConversationKey, question: str | None) -> None:
        if question is None:
            self._topics.pop(key)
        else:
            self._topics.put(key, (question, self._clock()))

    async def keep_answer(self, where: MessageKey, answer: KeptAnswer) -> None:
        self._answers.put(where, answer)

    async def kept_answer(self, where: MessageKey) -> KeptAnswer | None:
        return self._answers.get(where)

    async def vote(self, key: VoteKey, vote: int) -> int | None:
        before = self._votes.get(key)
        self._votes.put(key, vote)
        return before

    async def expect_forget(self, user_id: int) -> None:
        self._forgets.put(user_id, True)

    async def take_forget(self, user_id: int) -> bool:
        return self._forgets.pop(user_id) is not None

    async def forget_user(self, user_id: int) -> None:
        self._topics.drop(lambda key, _: key.user_id == user_id)
        self._answers.drop(lambda _, answer: answer.user_id == user_id)
        self._votes.drop(lambda key, _: key.user_id == user_id)
        self._forgets.pop(user_id)
