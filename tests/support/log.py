"""Conversation logs made for the tests and the benchmarks: turns, and a small log to report on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.storage import ChatRow, ConversationLog, HitRow, Turn, UserRow, Vote


def turn(n: int, text: str = "When will US troops leave?") -> Turn:
    return Turn(
        chat=ChatRow(id=10, type="private"),
        user=UserRow(id=20, first_name="Ann", username="ann"),
        text=f"{text} #{n}",
        kind="question",
        reply="<blockquote>…</blockquote>",
        answered=True,
        latency_ms=12.5,
        telegram_message_id=n,
        update_id=100 + n,
        hits=(HitRow(1, "000_x", 6, 4.2), HitRow(2, "000_x", 5, 3.1)),
    )


QUESTION = "When will all US troops leave Afghanistan?"


async def make_log(path: Path) -> None:
    """Three questions over two days (one unanswered), one vote, one /start."""
    log = ConversationLog(path)
    await log.open()
    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat(timespec="milliseconds")
    chat, user = ChatRow(1001, "private"), UserRow(1001, username="reader1001")
    hits = (HitRow(1, "000_e6af9304790c8bd1", 6, 12.5), HitRow(2, "000_e6af9304790c8bd1", 1, 9.0))
    turns = [
        Turn(
            chat,
            user,
            QUESTION,
            "question",
            "<b>…</b>",
            True,
            3.0,
            received_at=yesterday,
            hits=hits,
            bot_message_id=2,
            question=QUESTION,
        ),
        Turn(
            chat,
            user,
            f"/ask {QUESTION}",
            "question",
            "<b>…</b>",
            True,
            2.0,
            hits=hits,
            bot_message_id=4,
            question=QUESTION,
        ),
        Turn(
            chat,
            user,
            'Capital of France, "quoted", ok?',
            "question",
            "not found",
            False,
            1.0,
            bot_message_id=6,
            question='Capital of France, "quoted", ok?',
        ),
        Turn(chat, user, "/start", "command", "Hello!", None, 1.0, bot_message_id=8),
    ]
    for turn in turns:
        log.record(turn)
    log.record(Vote(1001, 4, 1001, 1))
    await log.close()
