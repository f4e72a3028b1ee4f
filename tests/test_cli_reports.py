"""`newsbot stats` and `newsbot export` on a conversation log."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.storage import ChatRow, ConversationLog, HitRow, Turn, UserRow, Vote
from tests.test_cli import newsbot

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


async def test_stats_prints_tables_and_writes_a_chart(tmp_path: Path) -> None:
    """`newsbot stats` prints the tables and writes the PNG chart; --json has the figures."""
    db = tmp_path / "log.sqlite3"
    await make_log(db)
    chart = tmp_path / "chart.png"
    result = newsbot("stats", "--chart", str(chart), env={"NEWSBOT_DB": str(db)})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].split() == ["today", "2", "1", "50%"]
    assert lines[3].split() == ["all", "time", "3", "2", "67%"]
    assert "feedback: 1 👍 / 0 👎 (100% helpful)" in result.stdout
    assert f"     2  {QUESTION}" in result.stdout  # "/ask" and plain text counted together
    unanswered = result.stdout.split("top unanswered questions")[1].split("most cited")[0]
    assert 'Capital of France, "quoted", ok?' in unanswered and QUESTION not in unanswered
    assert "     4  Taliban Attacks Upsurge" in result.stdout  # titles from the articles
    assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")

    as_json = newsbot("stats", "--json", env={"NEWSBOT_DB": str(db)})
    report = json.loads(as_json.stdout)
    assert report["all_time"] == [3, 2] and len(report["per_day"]) == 30


async def test_export_csv_and_jsonl(tmp_path: Path) -> None:
    """`newsbot export` writes each turn with hits and votes as CSV, or JSON lines since a date."""
    db = tmp_path / "log.sqlite3"
    await make_log(db)
    result = newsbot("export", "--format", "csv", env={"NEWSBOT_DB": str(db)})
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["text"] for r in rows] == [
        QUESTION,
        f"/ask {QUESTION}",
        'Capital of France, "quoted", ok?',
        "/start",
    ]
    assert rows[1]["votes_up"] == "1" and rows[1]["votes_down"] == "0"
    assert json.loads(rows[0]["hits"])[0] == {
        "rank": 1,
        "article_id": "000_e6af9304790c8bd1",
        "paragraph": 6,
        "score": 12.5,
    }
    assert "Exported 4 turn(s)" in result.stderr

    out = tmp_path / "today.jsonl"
    today = datetime.now(UTC).date().isoformat()
    result = newsbot(
        "export",
        "--format",
        "jsonl",
        "--since",
        today,
        "--out",
        str(out),
        env={"NEWSBOT_DB": str(db)},
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["question"] for r in records] == [QUESTION, 'Capital of France, "quoted", ok?', None]
    assert records[0]["answered"] is True and records[0]["username"] == "reader1001"


def test_reports_without_a_log_say_so(tmp_path: Path) -> None:
    """Without a log, stats and export exit 2 with one line, and create no database."""
    missing = tmp_path / "none.sqlite3"
    for command in (["stats"], ["export"]):
        result = newsbot(*command, env={"NEWSBOT_DB": str(missing)})
        assert result.returncode == 2
        assert result.stderr.strip() == (
            f"newsbot: there is no conversation log at {missing} yet "
            "(set NEWSBOT_DB, or run the bot first)"
        )
        assert not missing.exists()
