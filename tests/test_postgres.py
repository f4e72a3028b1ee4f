"""The log on a real PostgreSQL server: one migration history with SQLite, the same rows and
reports, and what several instances share (claims, /reload notices, once-per-period jobs)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from bot.conversation import replies
from bot.conversation.conversation import Conversation
from bot.conversation.replies import Reply
from bot.serving.library import Edition, Library
from bot.storage import (
    ConversationLog,
    DatabaseError,
    Delivery,
    Vote,
    read_stats,
    reader,
    row_counts,
)
from bot.storage.databases import PostgresDatabase
from bot.storage.instances import INSTANCES, Instance, SharedClaims, SqlState
from bot.storage.reports import export_rows
from bot.storage.schema import MIGRATIONS
from bot.storage.state import ConversationKey, KeptAnswer, MessageKey
from tests.support.cli import newsbot
from tests.support.log import make_log, turn
from tests.support.servers import PASSWORD, Postgres, ensure_installed
from tests.support.waiting import until


async def open_log(target: str | Path, tmp_path: Path) -> ConversationLog:
    log = ConversationLog(target, tmp_path / f"pending-{abs(hash(str(target)))}.jsonl")
    await log.open()
    return log


async def test_migrations_are_the_same_history_as_sqlite(pg_url: str, tmp_path: Path) -> None:
    """Every migration is applied once, by name, and re-opening applies none; two instances
    starting together migrate one at a time."""
    first, second = (ConversationLog(pg_url, tmp_path / f"p{n}.jsonl") for n in (1, 2))
    await asyncio.gather(first.open(), second.open())
    try:
        conn = await asyncpg.connect(pg_url)
        names = [r["name"] for r in await conn.fetch("SELECT name FROM _migrations ORDER BY 1")]
        await conn.close()
        assert names == [name for name, _ in MIGRATIONS]
    finally:
        await first.close()
        await second.close()


async def test_rows_and_reports_match_sqlite(pg_url: str, tmp_path: Path) -> None:
    """The same turns, deliveries and votes give the same counts, /stats figures and export
    on both dialects."""
    rows = [
        replace(turn(1), delivered=False),
        Delivery(101, 20, 555, 40.0),
        turn(2, "Robert'); DROP TABLE messages;--"),
        replace(turn(3), answered=False, hits=()),
        Vote(10, 555, 20, 1),
    ]
    results = []
    for target in (pg_url, tmp_path / "log.sqlite3"):
        log = await open_log(target, tmp_path)
        for row in rows:
            log.record(row)
        assert await log.flush()
        tables = await row_counts(log)
        await log.close()
        async with reader(target) as db:
            stats = await read_stats(db)
            exported = [r async for r in export_rows(db)]
        results.append((tables, stats, exported))
    assert results[0] == results[1]
    tables, stats, exported = results[0]
    assert tables["messages"] == 3 and tables["hits"] == 4
    assert stats.all_time == (3, 2) and stats.votes_up == 1
    assert exported[0]["votes_up"] == 1 and exported[0]["latency_ms"] == 40.0


async def test_forget_and_retention_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    """/forget deletes the reader's rows and keeps the others'; retention purges by age."""
    log = await open_log(pg_url, tmp_path)
    try:
        log.record(turn(1))
        log.record(replace(turn(2, "theirs"), user=replace(turn(2).user, id=21)))  # type: ignore[arg-type]
        assert await log.flush()
        assert await log.forget(20) == 1
        assert (await row_counts(log))["messages"] == 1
        deleted = await log.purge(0)  # everything is older than now
        assert deleted["messages"] == 1 and deleted["users"] == 1
    finally:
        await log.close()


async def test_an_unreachable_server_is_one_error_without_the_password(tmp_path: Path) -> None:
    """A URL nothing listens on: DatabaseError naming the server, never its password."""
    url = f"postgresql://newsbot:{PASSWORD}@127.0.0.1:1/newsbot"
    log = ConversationLog(url, tmp_path / "pending.jsonl")
    with pytest.raises(DatabaseError) as raised:
        await log.open()
    assert "127.0.0.1:1/newsbot" in str(raised.value)
    assert PASSWORD not in str(raised.value)


async def test_one_instance_answers_each_update_and_a_dead_ones_are_taken_over(
    pg_url: str, tmp_path: Path
) -> None:
    """An update claimed by a live instance is busy for the others, done once finished;
    a dead instance's claim is taken over, unless its reply was marked delivered."""
    log = await open_log(pg_url, tmp_path)
    database = log.database
    assert isinstance(database, PostgresDatabase)
    a, b = Instance(database), Instance(database)

    async def nothing() -> None:
        return None

    await a.start(nothing)
    await b.start(nothing)
    claims_a, claims_b = (SharedClaims(database, i, log.record) for i in (a, b))
    try:
        assert await claims_a.claim(1) == "mine"
        assert await claims_b.claim(1) == "busy"
        assert await claims_a.claim(1) == "busy"  # a retry while it is still answering
        await claims_a.finish(1)  # queued with the log
        assert await log.flush()
        assert await claims_b.claim(1) == "done"
        assert await claims_a.claim(2) == "mine"
        assert await claims_a.claim(101) == "mine"
        log.record(turn(1))  # update 101's turn, its reply delivered
        log.record(replace(turn(2), delivered=False))  # 102's: recorded, then killed
        assert await claims_a.claim(102) == "mine"
        assert await log.flush()
        await a.stop()  # killed: the server drops its lock
        assert await claims_b.claim(2) == "mine"
        assert await claims_b.claim(101) == "done"
        assert await claims_b.claim(102) == "mine"  # answered again: never lost
    finally:
        await a.stop()
        await b.stop()
        await log.close()


async def test_reload_notices_reach_the_other_instances(pg_url: str, tmp_path: Path) -> None:
    """announce_reload makes every other instance reload, not the one that announced."""
    log = await open_log(pg_url, tmp_path)
    database = log.database
    assert isinstance(database, PostgresDatabase)
    reloaded: list[str] = []
    instances = [Instance(database) for _ in range(3)]
    for n, instance in enumerate(instances):

        async def reload(n: int = n) -> None:
            reloaded.append(f"instance {n}")

        await instance.start(reload)
    try:
        await instances[0].announce_reload()
        await until(lambda: len(reloaded) == 2, timeout=5)
        assert sorted(reloaded) == ["instance 1", "instance 2"]
    finally:
        for instance in instances:
            await instance.stop()
        await log.close()


async def test_a_periodic_job_runs_once_per_period_across_instances(
    pg_url: str, tmp_path: Path
) -> None:
    """Five instances asking at once: one is told to run the job; the period holds it."""
    logs = [await open_log(pg_url, tmp_path / str(n)) for n in range(5)]
    try:
        answers = await asyncio.gather(*(g.due("retention", timedelta(days=1)) for g in logs))
        assert sorted(answers) == [False, False, False, False, True]
        assert not await logs[0].due("retention", timedelta(days=1))
        assert await logs[1].due("retention", timedelta(0))  # a period of zero is over
    finally:
        for log in logs:
            await log.close()


async def test_migrate_log_copies_a_sqlite_log_into_postgresql(
    pg_url: str, tmp_path: Path
) -> None:
    """`newsbot migrate-log --to URL`: every row with its id, reports unchanged, new turns
    continue after the copied ids; a second copy is refused; the password is never printed."""
    path = tmp_path / "log.sqlite3"
    await make_log(path)
    done = await asyncio.to_thread(
        newsbot, "migrate-log", "--to", pg_url, env={"NEWSBOT_DB": str(path)}
    )
    assert done.returncode == 0, done.stderr
    assert "Copied 1 users, 1 chats, 4 messages, 4 replies, 4 hits, 1 feedback" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr
    reports = []
    for target in (path, pg_url):
        async with reader(target) as db:
            reports.append((await read_stats(db), [r async for r in export_rows(db)]))
    assert reports[0] == reports[1]
    log = await open_log(pg_url, tmp_path)
    log.record(turn(9))
    assert await log.flush()
    await log.close()
    again = await asyncio.to_thread(
        newsbot, "migrate-log", "--to", pg_url, env={"NEWSBOT_DB": str(path)}
    )
    assert again.returncode == 2 and "already holds a conversation log" in again.stderr
    assert PASSWORD not in again.stdout + again.stderr


async def test_state_written_with_the_log_is_seen_after_its_commit(
    pg_url: str, tmp_path: Path
) -> None:
    """With the log's queue, a topic and a kept answer land with the next group commit;
    /forget drops the reader's queued ones too."""
    log = await open_log(pg_url, tmp_path)
    state = SqlState(log.database, record=log.record)
    try:
        await state.set_topic(ConversationKey(1, 7), "mine")
        await state.keep_answer(MessageKey(1, 10), KeptAnswer("mine", None, "e1", 7))
        assert await state.topic(ConversationKey(1, 7)) is None  # not committed yet
        assert await log.flush()
        assert await state.topic(ConversationKey(1, 7)) == "mine"
        assert await state.kept_answer(MessageKey(1, 10)) == KeptAnswer("mine", None, "e1", 7)
        await state.set_topic(ConversationKey(2, 7), "queued, then forgotten")
        await log.forget(7)
        await state.forget_user(7)
        assert await log.flush()
        assert await state.topic(ConversationKey(2, 7)) is None
        assert await state.kept_answer(MessageKey(1, 10)) is None
    finally:
        await log.close()


async def test_a_more_press_on_another_instance_needs_the_same_articles(
    pg_url: str, tmp_path: Path, seed_edition: Edition
) -> None:
    """An answer kept by instance A is paged by instance B when B serves the same articles
    (another process, its own edition counter), and is stale when B's articles differ."""
    log = await open_log(pg_url, tmp_path)
    try:
        shared = SqlState(log.database, record=log.record)
        a = Conversation(Library(seed_edition), shared)
        reply = await a.ask("What do the articles say about the Taliban?", ConversationKey(1, 7))
        await a.keep(MessageKey(1, 500), reply)
        assert await log.flush()
        same = Edition.of(seed_edition.collection, seed_edition.index, generation=9)
        b = Conversation(Library(same), SqlState(log.database))
        assert (await b.page(MessageKey(1, 500), 2)).notice == reply_notice(reply, 2)
        article = seed_edition.collection.articles[0]
        edited = replace(article, paragraphs=(*article.paragraphs, "A late correction."))
        changed = replace(seed_edition.collection, articles=(edited,))
        other = Conversation(
            Library(Edition.of(changed, seed_edition.index)), SqlState(log.database)
        )
        assert (await other.page(MessageKey(1, 500), 2)).notice == replies.STALE_BUTTON
    finally:
        await log.close()


def reply_notice(reply: Reply, page: int) -> str:
    """The pop-up a More press to `page` shows: "Page 2 of N"."""
    assert reply.notice is not None
    return reply.notice.replace("Page 1", f"Page {page}")


async def test_instances_rejoin_after_the_server_restarts(tmp_path: Path) -> None:
    """After the server restarts, each instance takes its liveness lock again and hears
    /reload notices again, by itself."""
    reason = ensure_installed("postgresql")
    if reason:
        pytest.skip(reason)
    server = Postgres()
    await asyncio.to_thread(server.start)
    log = await open_log(server.database(), tmp_path)
    database = log.database
    assert isinstance(database, PostgresDatabase)
    reloaded: list[str] = []

    async def nothing() -> None:
        return None

    async def reload() -> None:
        reloaded.append("b")

    a, b = Instance(database), Instance(database)
    try:
        await a.start(nothing)
        await b.start(reload)
        await asyncio.to_thread(server.halt)  # an outage: every connection drops
        await asyncio.to_thread(server.resume)
        await until(lambda: _holds_their_locks(database, (a.key, b.key)), timeout=30)
        await a.announce_reload()
        await until(lambda: reloaded == ["b"], timeout=10)
    finally:
        await a.stop()
        await b.stop()
        await log.close()
        await asyncio.to_thread(server.stop)


async def _holds_their_locks(database: PostgresDatabase, keys: tuple[int, ...]) -> bool:
    """Whether the instances' liveness locks are held (False while the server is away)."""
    try:
        async with database.read() as db:
            rows = await db.fetch(
                "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND classid = ?",
                INSTANCES,
            )
    except DatabaseError:
        return False
    return {int(objid) for (objid,) in rows} >= set(keys)
