"""`newsbot stats` and `newsbot export` on a conversation log."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sqlite3
import stat
import threading
from datetime import UTC, datetime
from pathlib import Path

from bot.storage import ChatRow, ConversationLog, Turn, UserRow
from bot.storage.schema import M001_INITIAL, MIGRATIONS_TABLE
from tests.support.cli import newsbot
from tests.support.log import QUESTION, make_log


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
    assert "Exported 4 turns" in result.stderr

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


def _foreign_database(path: Path) -> None:
    """Another application's SQLite file."""
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        db.execute("INSERT INTO notes (body) VALUES ('not a newsbot log')")
    db.close()


def test_reports_refuse_another_applications_database_and_leave_it_alone(
    tmp_path: Path,
) -> None:
    """stats, export and migrate-log --from on a SQLite file that is not a newsbot log: one
    line, exit 2, and the file is left byte for byte as it was (no tables added)."""
    other = tmp_path / "app.sqlite3"
    _foreign_database(other)
    before = other.read_bytes()
    unreachable = "postgresql://newsbot@127.0.0.1:9/none"
    for command in (
        ["stats"],
        ["export"],
        ["migrate-log", "--from", str(other), "--to", unreachable],
    ):
        result = newsbot(*command, env={"NEWSBOT_DB": str(other)})
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip() == f"newsbot: {other} is not a newsbot conversation log"
        assert other.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.sqlite3"]


def test_reports_read_an_older_log_without_migrating_it(tmp_path: Path) -> None:
    """A log of an older newsbot (first migration only): stats says to start the bot on it
    once, exit 2, and the file is not migrated behind the operator's back."""
    old = tmp_path / "old.sqlite3"
    with sqlite3.connect(old) as db:
        db.executescript(M001_INITIAL)
        db.execute(MIGRATIONS_TABLE)
        db.execute("INSERT INTO _migrations VALUES ('001_initial', '2024-01-01')")
    db.close()
    before = old.read_bytes()
    result = newsbot("stats", env={"NEWSBOT_DB": str(old)})
    assert result.returncode == 2, result.stderr
    assert "is the conversation log of an older newsbot" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert old.read_bytes() == before


FORMULAS = [
    '=HYPERLINK("http://x")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\tx",
    "\rx",
    ' =HYPERLINK("http://x")',  # spreadsheets skip leading blanks and newlines
    "\n=1+1",
    " \t@SUM(A1)",
]


async def test_csv_export_defuses_formulas_and_is_owner_only(tmp_path: Path) -> None:
    """CSV cells a spreadsheet would run as a formula (= + - @, tab or CR first) get a
    leading single quote; numbers stay numbers; the file is owner-only, like the log."""
    db = tmp_path / "log.sqlite3"
    log = ConversationLog(db)
    await log.open()
    group = ChatRow(-1001234, "group", title="=cmd|' /C calc'!A0")
    for text in [*FORMULAS, "plain"]:
        log.record(Turn(group, UserRow(5), text, "question", text, False, 1.0, question=text))
    await log.close()
    out = tmp_path / "export.csv"
    result = newsbot("export", "--out", str(out), env={"NEWSBOT_DB": str(db)})
    assert result.returncode == 0, result.stderr
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    expected = [f"'{t}" for t in FORMULAS] + ["plain"]
    assert [r["text"] for r in rows] == expected
    assert [r["question"] for r in rows] == expected
    assert [r["reply"] for r in rows] == expected
    assert {r["chat_id"] for r in rows} == {"-1001234"}
    assert out.stat().st_mode & 0o777 == 0o600


def test_export_to_a_fifo_leaves_its_mode_alone(tmp_path: Path) -> None:
    """`export --out` naming a FIFO writes into it and leaves its mode as it was (only a
    file the export creates is made owner-only)."""
    db = tmp_path / "log.sqlite3"
    asyncio.run(make_log(db))
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    os.chmod(fifo, 0o644)
    received: list[bytes] = []
    reading = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reading.start()
    result = newsbot("export", "--out", str(fifo), env={"NEWSBOT_DB": str(db)})
    reading.join(30)
    assert result.returncode == 0, result.stderr
    assert received[0].startswith(b"received_at,"), received
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert fifo.stat().st_mode & 0o777 == 0o644


def test_export_replaces_an_existing_file_with_an_owner_only_one(tmp_path: Path) -> None:
    """An existing --out file is replaced by a new owner-only one: its old mode is not kept,
    and another name of the old file (a hard link) keeps its content and mode."""
    db = tmp_path / "log.sqlite3"
    asyncio.run(make_log(db))
    out = tmp_path / "export.csv"
    out.write_text("old export\n")
    out.chmod(0o644)
    other = tmp_path / "other-name"
    os.link(out, other)
    result = newsbot("export", "--out", str(out), env={"NEWSBOT_DB": str(db)})
    assert result.returncode == 0, result.stderr
    assert out.read_text(encoding="utf-8").startswith("received_at,")
    assert out.stat().st_mode & 0o777 == 0o600
    assert other.read_text() == "old export\n" and other.stat().st_mode & 0o777 == 0o644
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_failed_export_keeps_the_existing_file(tmp_path: Path) -> None:
    """An export that fails (the log is another application's database) leaves the
    existing --out file as it was and no temporary file behind."""
    db = tmp_path / "app.sqlite3"
    _foreign_database(db)
    out = tmp_path / "export.csv"
    out.write_text("last month's export\n")
    result = newsbot("export", "--out", str(out), env={"NEWSBOT_DB": str(db)})
    assert result.returncode == 2, result.stderr
    assert out.read_text() == "last month's export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.sqlite3", "export.csv"]
