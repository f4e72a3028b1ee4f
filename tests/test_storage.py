"""The conversation log against real SQLite files: schema, writes, and faults that lose nothing."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.storage import (
    ConversationLog,
    DatabaseError,
    InlineSearch,
    UserRow,
    migrate_database,
    row_counts,
    row_from_json,
    row_to_json,
)
from tests.support.log import turn
from tests.support.log_scan import find_in_files, find_in_tables
from tests.support.waiting import until

# Row counts of a log holding one reader's turns and nothing else.
ONE_READER = {"users": 1, "chats": 1, "feedback": 0, "inline_queries": 0}


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


async def test_schema_is_migrated_once_in_wal_mode_owner_only(tmp_path: Path) -> None:
    """Migrations are recorded, re-opening applies nothing, WAL and secure delete are on,
    the file is 0600; migrate_file migrates without starting a writer."""
    path = tmp_path / "data" / "log.sqlite3"
    log = ConversationLog(path)
    await log.open()
    assert log._db is not None
    async with log._db.execute("PRAGMA secure_delete") as cursor:
        assert await cursor.fetchone() == (1,)  # deleted rows are zeroed, on every build
    await log.close()
    again = ConversationLog(path)
    await again.open()
    await again.close()
    await migrate_database(path)
    assert rows(path, "SELECT name FROM _migrations") == [
        ("001_initial",),
        ("002_feedback_inline",),
        ("003_shared_state",),
    ]
    assert rows(path, "PRAGMA journal_mode") == [("wal",)]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_turns_are_written_with_their_hits(tmp_path: Path) -> None:
    """A recorded turn lands in users, chats, messages, replies and hits."""
    path = tmp_path / "log.sqlite3"
    log = ConversationLog(path)
    await log.open()
    log.record(turn(1))
    log.record(turn(2, "Robert'); DROP TABLE messages;--"))
    assert await log.flush()
    assert await row_counts(log) == dict(ONE_READER, messages=2, replies=2, hits=4)
    await log.close()
    assert rows(path, "SELECT text FROM messages ORDER BY id DESC LIMIT 1") == [
        ("Robert'); DROP TABLE messages;-- #2",)
    ]


async def test_locked_database_keeps_rows_queued_until_the_lock_clears(tmp_path: Path) -> None:
    """Another writer holding a lock delays the write; nothing is dropped."""
    path = tmp_path / "log.sqlite3"
    log = ConversationLog(path)
    await log.open()
    blocker = sqlite3.connect(path, timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")
    log.record(turn(1))
    assert not await log.flush()
    assert log.queued == 1
    assert log.failures >= 1
    blocker.rollback()
    blocker.close()
    await until(lambda: log.queued == 0, timeout=10)  # the background writer retries by itself
    await log.close()
    assert rows(path, "SELECT count(*) FROM messages") == [(1,)]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
async def test_read_only_file_saves_pending_rows_and_restores_them(tmp_path: Path) -> None:
    """Unwritable at shutdown: rows go to a side file and are written on the next start."""
    await _read_only_round_trip(tmp_path)


async def test_unwritable_database_saves_pending_rows_and_restores_them(tmp_path: Path) -> None:
    """A database that refuses writes (query_only, as a read-only file would) loses nothing."""
    path = tmp_path / "log.sqlite3"
    log = ConversationLog(path)
    await log.open()
    assert log._db is not None
    await log._db.execute("PRAGMA query_only = ON")
    log.record(turn(1))
    log.record(turn(2))
    await log.close()
    assert log.pending_path.exists()
    assert rows(path, "SELECT count(*) FROM messages") == [(0,)]
    again = ConversationLog(path)
    await again.open()
    assert await again.flush()
    assert await row_counts(again) == dict(ONE_READER, messages=2, replies=2, hits=4)
    await again.close()
    assert not again.pending_path.exists()


async def _read_only_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"
    log = ConversationLog(path)
    await log.open()
    await log.close()
    path.chmod(0o400)
    log = ConversationLog(path)
    await log.open()
    log.record(turn(1))
    await log.close()
    path.chmod(0o600)
    again = ConversationLog(path)
    await again.open()
    assert await again.flush()
    assert (await row_counts(again))["messages"] == 1
    await again.close()


async def test_full_disk_keeps_rows_until_space_frees(tmp_path: Path) -> None:
    """A database at its page limit refuses writes; after the limit is raised they land."""
    path = tmp_path / "log.sqlite3"
    log = ConversationLog(path)
    await log.open()
    assert log._db is not None
    async with log._db.execute("PRAGMA page_count") as cursor:
        pages = (await cursor.fetchone())[0]  # type: ignore[index]
    await log._db.execute(f"PRAGMA max_page_count = {pages}")
    for n in range(200):
        log.record(turn(n, "x" * 2000))
    assert not await log.flush()
    assert log.queued == 200
    await log._db.execute("PRAGMA max_page_count = 1000000")
    assert await log.flush()
    await log.close()
    assert rows(path, "SELECT count(*) FROM messages") == [(200,)]


async def test_corrupt_file_is_one_clear_error_naming_it(tmp_path: Path) -> None:
    """A file that is not a database fails to open with its path in the message."""
    path = tmp_path / "log.sqlite3"
    path.write_bytes(b"this is not a database at all" * 100)
    log = ConversationLog(path)
    with pytest.raises(DatabaseError, match=str(path)):
        await log.open()


async def test_turn_round_trips_through_json() -> None:
    """Turns saved to the side file read back equal."""
    original = turn(7)
    assert row_from_json(row_to_json(original)) == original


async def test_flush_while_the_writer_runs_loses_nothing(tmp_path: Path) -> None:
    """flush() and the background writer never open two transactions at once."""
    path = tmp_path / "log.sqlite3"
    log = ConversationLog(path)
    await log.open()
    for n in range(2000):
        log.record(turn(n))
        if n % 100 == 0:
            await asyncio.sleep(0)
    results = await asyncio.gather(log.flush(), log.flush())
    assert all(results)
    await log.close()
    assert rows(path, "SELECT count(*) FROM messages") == [(2000,)]
    assert log.failures == 0


async def test_retention_leaves_no_copy_of_what_it_purged(tmp_path: Path) -> None:
    """Rows older than the retention are gone from every table and from the files; a later
    report turn (logged without the questions it listed) and newer rows stay."""
    path = tmp_path / "data" / "log.sqlite3"
    now = datetime.now(UTC)
    old, new = (now - timedelta(days=40)).isoformat(), (now - timedelta(days=1)).isoformat()
    log = ConversationLog(path)
    await log.open()
    try:
        log.record(replace(turn(1, "Old question about zebras"), received_at=old, sent_at=old))
        log.record(InlineSearch(20, "old inline zebras", 1, 1.0, at=old))
        report = replace(turn(2, "/stats"), kind="command", reply="[stats report]", hits=())
        log.record(replace(report, user=UserRow(30), received_at=new, sent_at=new))
        assert await log.flush()
        assert await log.purge(30) == {
            "messages": 1, "feedback": 0, "inline_queries": 1, "users": 1, "chats": 0,
            "topics": 0, "kept_answers": 0, "forget_prompts": 0,
        }  # fmt: skip
    finally:
        await log.close()
    with sqlite3.connect(path) as db:
        assert find_in_tables(db, ["zebras"]) == []
    assert find_in_files(path.parent, ["zebras"]) == []
    assert rows(path, "SELECT text FROM messages") == [("/stats #2",)]


async def test_forget_also_drops_the_readers_rows_from_a_leftover_pending_file(
    tmp_path: Path,
) -> None:
    """A pending file left unread at start is a copy of the log: /forget removes the
    reader's rows from it and keeps the others'."""
    path = tmp_path / "log.sqlite3"
    log = ConversationLog(path)
    await log.open()
    theirs = replace(turn(2, "their question"), user=UserRow(id=21))
    log.pending_path.write_text(
        "".join(row_to_json(r) + "\n" for r in (turn(1, "my question"), theirs)) + "not json\n"
    )
    try:
        assert await log.forget(20) == 0
        lines = log.pending_path.read_text().splitlines()
    finally:
        await log.close()
    assert [row_from_json(line) for line in lines[:-1]] == [theirs]
    assert lines[-1] == "not json"
