"""What the conversation log stores: one dataclass per kind of row, and their JSON form.

The rows are plain values (no database types), so the writer can queue them, save them to
the pending file and replay them, and so any SQL dialect can write them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Literal

# What an incoming message was: a question, a command, anything else (a photo...), a
# message refused by the allowlist, or one whose reply failed (the apology was logged).
Kind = Literal["question", "command", "other", "refused", "error"]


def utc_now() -> str:
    """Current time as an ISO 8601 UTC string, the format of every time column."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    is_bot: bool = False
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    language_code: str | None = None


@dataclass(frozen=True, slots=True)
class ChatRow:
    id: int
    type: str
    title: str | None = None
    username: str | None = None


@dataclass(frozen=True, slots=True)
class HitRow:
    """A passage behind a reply: its rank, article and paragraph, and its score."""

    rank: int
    article_id: str
    paragraph: int
    score: float


@dataclass(frozen=True, slots=True)
class Turn:
    """One incoming message and the bot's reply to it, with the passages behind the reply."""

    chat: ChatRow
    user: UserRow | None
    text: str
    kind: Kind
    reply: str
    answered: bool | None  # None when the message was not a question
    latency_ms: float
    telegram_message_id: int | None = None
    update_id: int | None = None
    received_at: str = field(default_factory=utc_now)
    sent_at: str = field(default_factory=utc_now)
    hits: tuple[HitRow, ...] = ()
    bot_message_id: int | None = None  # the reply's message that carries its buttons
    question: str | None = None  # the question as read (without /ask or the @mention)
    # False: recorded before sending, not yet known to have reached Telegram (a Delivery
    # row says so once it has).
    delivered: bool = True
    # True: this turn replaces one recorded for the same update (the apology after a send
    # that failed beyond its retries).
    replaces: bool = False

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user else None


@dataclass(frozen=True, slots=True)
class Delivery:
    """A turn recorded before sending reached Telegram: its message id, time and latency."""

    update_id: int
    user_id: int | None
    bot_message_id: int | None
    latency_ms: float
    sent_at: str = field(default_factory=utc_now)


@dataclass(frozen=True, slots=True)
class Topic:
    """Reader state written with the log (PostgreSQL): a conversation's question to follow
    up on, or None when it was dropped (/new)."""

    chat_id: int
    user_id: int
    question: str | None
    at: str = field(default_factory=utc_now)


@dataclass(frozen=True, slots=True)
class Kept:
    """Reader state written with the log (PostgreSQL): the answer behind a message's
    More/Back buttons."""

    chat_id: int
    message_id: int
    user_id: int
    question: str
    follows: str | None
    edition: str
    at: str = field(default_factory=utc_now)


@dataclass(frozen=True, slots=True)
class Finished:
    """An update this instance handled to the end: a retry of it is not answered again."""

    update_id: int
    user_id: int | None = None


@dataclass(frozen=True, slots=True)
class Vote:
    """A reader's 👍 (+1) or 👎 (-1) on one of the bot's answers; a new vote replaces it."""

    chat_id: int
    message_id: int  # the bot's message the buttons were under
    user_id: int
    vote: int
    at: str = field(default_factory=utc_now)


@dataclass(frozen=True, slots=True)
class InlineSearch:
    """An inline-mode query (`@bot question` typed in any chat) and how many results it got."""

    user_id: int
    query: str
    results: int
    latency_ms: float
    at: str = field(default_factory=utc_now)


Row = Turn | Delivery | Vote | InlineSearch | Topic | Kept | Finished
ROW_TYPES: dict[str, type[Row]] = {
    "turn": Turn,
    "delivery": Delivery,
    "vote": Vote,
    "inline": InlineSearch,
    "topic": Topic,
    "kept": Kept,
    "finished": Finished,
}


def row_to_json(row: Row) -> str:
    """One line of the pending file."""
    kind = next(k for k, t in ROW_TYPES.items() if isinstance(row, t))
    return json.dumps({"type": kind, **asdict(row)}, ensure_ascii=False)


def row_from_json(line: str) -> Row:
    """A row read back from a line of the pending file."""
    data = json.loads(line)
    kind = data.pop("type", "turn")
    if kind != "turn":
        return ROW_TYPES[kind](**data)
    data["chat"] = ChatRow(**data["chat"])
    data["user"] = UserRow(**data["user"]) if data["user"] else None
    data["hits"] = tuple(HitRow(**h) for h in data["hits"])
    return Turn(**data)
