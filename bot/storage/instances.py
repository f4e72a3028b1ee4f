"""What several instances on one database share: which of them answers an update, the reader
state behind buttons and follow-ups, /reload notices, and jobs run once per period.

- `Instance`: this process among the others on PostgreSQL. It holds an advisory lock on a
  connection of its own for as long as it lives, so the others can tell that a claim was
  left by a dead instance (the server drops the lock the moment the process dies), and it
  listens on a channel for /reload notices from the others.
- `SharedClaims`: one instance answers each update; a retry of it (Telegram re-sends an
  update whose webhook request failed) is answered only when its first claimant died before
  its reply was marked delivered. Killed between sending and marking, a reply can so reach
  the reader twice (at least once, never lost: the window is milliseconds wide).
  `LocalClaims` is the same for one instance alone (SQLite).
- `SqlState`: `bot.storage.state.ReaderState` in the database.
- `due`: whether a periodic job (retention) should run now, once per period across all
  instances, whichever asks first.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Literal

import asyncpg

from bot.storage.databases import PostgresDatabase
from bot.storage.engine import DRIVER_ERRORS, Database, DatabaseError, Sql
from bot.storage.queries import insert_state
from bot.storage.rows import Finished, Kept, Row, Topic, utc_now
from bot.storage.schema import LOCK_NAMESPACE
from bot.storage.state import MEMORY_SECONDS, ConversationKey, KeptAnswer, MessageKey, VoteKey

log = logging.getLogger(__name__)

# Advisory lock keys: (INSTANCES, instance key) is held by each live instance; jobs lock
# (LOCK_NAMESPACE, JOB_LOCKS[name]) while deciding whether they are due.
INSTANCES = LOCK_NAMESPACE + 1
JOB_LOCKS = {"retention": 2, "claims": 3}
# Held by the one instance that long-polls: Telegram hands each update to whoever calls
# getUpdates, so two pollers on one log would each answer every update they both fetch.
POLLER_LOCK = 4
RELOAD_CHANNEL = "newsbot_reload"
CLAIMS_KEPT = timedelta(days=2)  # Telegram gives up on an update after 24 hours

Claim = Literal["mine", "done", "busy"]
# A claim fails with the driver's errors, or with DatabaseError from database.read(), which
# wraps them (catching only the first left every request of an outage waiting forever).
CLAIM_ERRORS: tuple[type[BaseException], ...] = (DatabaseError, *DRIVER_ERRORS)

# Several updates in one statement: new ones are inserted, and one whose claimant's lock is
# gone (it died) and that is not done is taken over; returned with whether a delivered
# reply to it is in the log already.
CLAIM = (
    "INSERT INTO claims (update_id, instance, claimed_at) "
    "SELECT u, ?, ? FROM unnest(?::bigint[]) AS u "
    "ON CONFLICT (update_id) DO UPDATE SET instance = excluded.instance, "
    "claimed_at = excluded.claimed_at WHERE claims.done = 0 AND NOT EXISTS ("
    "SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.classid = ? "
    "AND l.objid::bigint = claims.instance AND l.objsubid = 2 AND l.granted) "
    "RETURNING update_id, (SELECT count(*) FROM messages m JOIN replies r "
    "ON r.message_id = m.id WHERE m.update_id = claims.update_id AND r.delivered = 1)"
)
# Of updates not taken: those answered already (done, or a delivered reply logged).
CLAIMS_DONE = (
    "SELECT c.update_id FROM claims c WHERE c.update_id = ANY(?::bigint[]) AND (c.done = 1 "
    "OR EXISTS (SELECT 1 FROM messages m JOIN replies r ON r.message_id = m.id "
    "WHERE m.update_id = c.update_id AND r.delivered = 1))"
)
PURGE_CLAIMS = "DELETE FROM claims WHERE claimed_at < ?"

TOPIC = "SELECT question FROM topics WHERE chat_id = ? AND user_id = ? AND at >= ?"
KEPT_ANSWER = (
    "SELECT question, follows, edition, user_id FROM kept_answers "
    "WHERE chat_id = ? AND message_id = ?"
)
OLD_VOTE = "SELECT vote FROM feedback WHERE chat_id = ? AND message_id = ? AND user_id = ?"
VOTE = (
    "INSERT INTO feedback (chat_id, message_id, user_id, vote, at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (chat_id, message_id, user_id) DO UPDATE SET vote = excluded.vote, "
    "at = excluded.at"
)
EXPECT_FORGET = (
    "INSERT INTO forget_prompts (user_id, at) VALUES (?, ?) "
    "ON CONFLICT (user_id) DO UPDATE SET at = excluded.at"
)
TAKE_FORGET = "DELETE FROM forget_prompts WHERE user_id = ?"
FORGET_STATE = (
    "DELETE FROM feedback WHERE user_id = ?",  # the reader's votes (the log's /forget too)
    "DELETE FROM topics WHERE user_id = ?",
    "DELETE FROM kept_answers WHERE user_id = ?",
    "DELETE FROM forget_prompts WHERE user_id = ?",
)
LAST_RUN = "SELECT ran_at FROM job_runs WHERE name = ?"
RAN = (
    "INSERT INTO job_runs (name, ran_at) VALUES (?, ?) "
    "ON CONFLICT (name) DO UPDATE SET ran_at = excluded.ran_at"
)
TRY_LOCK = "SELECT pg_try_advisory_xact_lock(?, ?)"
# An instance cut off from the server tries to join again after this, doubling up to the max.
REJOIN_FIRST_S = 0.5
REJOIN_MAX_S = 30.0


def _ago(seconds: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat(timespec="milliseconds")


class Instance:
    """This process on a shared PostgreSQL database: its liveness lock and /reload channel."""

    def __init__(self, database: PostgresDatabase) -> None:
        self.database = database
        self.key = secrets.randbelow(2**31 - 2) + 1
        self._conn: asyncpg.Connection | None = None
        self._on_reload: Callable[[], Coroutine[object, object, None]] | None = None
        self._polling = False
        self._stopping = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(
        self, on_reload: Callable[[], Coroutine[object, object, None]], polling: bool = False
    ) -> None:
        """Take the liveness lock and listen for /reload notices (on a connection outside
        the pool: returning a connection to the pool releases its advisory locks); when
        `polling`, also the poller's lock, or DatabaseError when another instance holds it.
        A connection lost later (the server restarted) is made again, locks and all."""
        self._on_reload, self._polling = on_reload, polling
        try:
            sole = await self._join()
        except DRIVER_ERRORS as exc:
            raise DatabaseError(
                f"cannot join the instances on {self.database.name}: {exc}"
            ) from None
        if not sole:
            await self.stop()
            raise DatabaseError(
                f"another instance is long-polling Telegram with {self.database.name}: only one "
                "may poll; several instances need webhook mode (NEWSBOT_WEBHOOK_URL)"
            )
        log.info("Instance %d joined %s", self.key, self.database.name)

    async def _join(self) -> bool:
        """Connect, take the locks, listen; False (connection kept, nothing listened to)
        when polling and another instance holds the poller's lock."""
        self._conn = conn = await asyncpg.connect(self.database.url, timeout=10)
        await conn.execute("SELECT pg_advisory_lock($1, $2)", INSTANCES, self.key)
        sole = not self._polling or await conn.fetchval(
            "SELECT pg_try_advisory_lock($1, $2)", LOCK_NAMESPACE, POLLER_LOCK
        )
        if sole:
            await conn.add_listener(RELOAD_CHANNEL, self._notified)
            conn.add_termination_listener(self._lost)
        return bool(sole)

    def _lost(self, conn: object) -> None:
        """The connection holding the locks dropped (a restart, an outage): join again."""
        if self._stopping or conn is not self._conn:
            return
        log.warning(
            "Instance %d lost its connection to %s: rejoining", self.key, self.database.name
        )
        task = asyncio.get_running_loop().create_task(self._rejoin(), name="instance-rejoin")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _rejoin(self) -> None:
        """Join again until it works, backing off up to REJOIN_MAX_S between tries."""
        wait = REJOIN_FIRST_S
        while not self._stopping:
            await asyncio.sleep(wait)
            await self._drop()  # the connection that was lost
            try:
                if await self._join():
                    log.info("Instance %d rejoined %s", self.key, self.database.name)
                    return
                log.error(
                    "Another instance took the long-polling lock on %s while this one was cut "
                    "off: both may answer every update until one stops",
                    self.database.name,
                )
            except DRIVER_ERRORS as exc:
                log.debug("Rejoining %s failed: %s", self.database.name, exc)
            wait = min(wait * 2, REJOIN_MAX_S)

    def _notified(self, conn: object, pid: int, channel: str, payload: str) -> None:
        if payload == str(self.key) or self._on_reload is None:
            return  # our own notice: this instance has reloaded already
        log.info("Another instance reloaded its articles: reloading")
        task = asyncio.get_running_loop().create_task(self._on_reload())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def announce_reload(self) -> None:
        """Tell the other instances to reload their articles too."""
        async with self.database.read() as db:
            await db.execute("SELECT pg_notify(?, ?)", RELOAD_CHANNEL, str(self.key))

    async def stop(self) -> None:
        self._stopping = True
        for task in list(self._tasks):
            task.cancel()
        await self._drop()

    async def _drop(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                await asyncio.wait_for(conn.close(), 5)
            except Exception:  # closing politely failed: just drop it
                conn.terminate()


class LocalClaims:
    """Claims for one instance alone (SQLite): the updates in the log, those being answered
    and those answered since start are known in this process."""

    def __init__(self, logged: Callable[[], frozenset[int]], kept: int = 100_000) -> None:
        self._logged = logged
        self._busy: set[int] = set()
        self._done: OrderedDict[int, None] = OrderedDict()
        self._kept = kept

    async def claim(self, update_id: int) -> Claim:
        if update_id in self._done or update_id in self._logged():
            return "done"
        if update_id in self._busy:
            return "busy"
        self._busy.add(update_id)
        return "mine"

    async def finish(self, update_id: int) -> None:
        self._busy.discard(update_id)
        self._done[update_id] = None
        while len(self._done) > self._kept:
            self._done.popitem(last=False)


class SharedClaims:
    """Claims in the shared database: one instance answers each update."""

    def __init__(
        self, database: Database, instance: Instance, record: Callable[[Row], None]
    ) -> None:
        self.database = database
        self.instance = instance
        self._record = record  # the log's queue: a finish joins its next group commit
        self._asked: dict[int, asyncio.Future[Claim]] = {}
        self._claiming: asyncio.Task[None] | None = None

    async def claim(self, update_id: int) -> Claim:
        """ "mine" to answer the update, "done" when it was answered already, "busy" while a
        live instance is on it. Claims arriving together share one statement (like the
        log's group commits): under load, one round trip serves many updates."""
        if update_id in self._asked:
            return "busy"  # the same update twice at once: the first one answers it
        answer: asyncio.Future[Claim] = asyncio.get_running_loop().create_future()
        self._asked[update_id] = answer
        if self._claiming is None or self._claiming.done():
            self._claiming = asyncio.create_task(self._claim_asked(), name="claims")
        return await answer

    async def _claim_asked(self) -> None:
        """Claim what was asked meanwhile, in rounds; every caller gets an answer or an
        error (a request left waiting would hang until Telegram gives up on it)."""
        while self._asked:
            asked, self._asked = self._asked, {}
            failed: Exception
            try:
                outcome = await self._claim_many(list(asked))
            except CLAIM_ERRORS as exc:
                failed = DatabaseError(f"cannot claim updates: {exc}")
            except Exception as exc:  # a bug: still no caller waits forever
                failed = exc
            except BaseException:  # cancelled at shutdown
                for answer in asked.values():
                    answer.cancel()
                raise
            else:
                for update_id, answer in asked.items():
                    answer.set_result(outcome[update_id])
                continue
            for answer in asked.values():
                answer.set_exception(failed)

    async def _claim_many(self, updates: list[int]) -> dict[int, Claim]:
        async with self.database.read() as db:
            rows = await db.fetch(CLAIM, self.instance.key, utc_now(), updates, INSTANCES)
            taken = {int(u): int(delivered) for u, delivered in rows}
            rest = [u for u in updates if u not in taken]
            done = {int(r[0]) for r in await db.fetch(CLAIMS_DONE, rest)} if rest else set()
        outcome: dict[int, Claim] = {}
        for update_id in updates:
            if taken.get(update_id) == 0:
                outcome[update_id] = "mine"
            elif update_id in taken or update_id in done:
                outcome[update_id] = "done"  # e.g. its claimant died after delivering it
                self._record(Finished(update_id))
            else:
                outcome[update_id] = "busy"
        return outcome

    async def finish(self, update_id: int) -> None:
        """The update was handled: a retry of it is not answered again (queued with the log:
        until it commits, a retry finds the claimant alive, or its turn delivered)."""
        self._record(Finished(update_id))


Claims = LocalClaims | SharedClaims


async def due(db: Sql, job: str, period: timedelta) -> bool:
    """True (to one caller) when `job` last ran more than `period` ago, or never; its run is
    recorded at once, so the other instances asking in this period get False. Runs inside
    the caller's write transaction."""
    now = datetime.now(UTC)
    if db.dialect == "postgresql" and not await db.scalar(
        TRY_LOCK, LOCK_NAMESPACE, JOB_LOCKS[job]
    ):
        return False  # another instance is deciding right now
    last = await db.scalar(LAST_RUN, job)
    if last is not None and datetime.fromisoformat(last) > now - period:
        return False
    await db.execute(RAN, job, now.isoformat(timespec="milliseconds"))
    return True


async def purge_claims(db: Sql) -> int:
    """Forget claims older than Telegram keeps updates."""
    return await db.execute(PURGE_CLAIMS, _ago(CLAIMS_KEPT.total_seconds()))


class SqlState:
    """Reader state in the shared database, so any instance serves any button or follow-up.

    Reads are one short statement on a pooled connection (a vote: two, in one
    transaction). With `record` (the log's queue), topics and kept answers are written with
    the log's next group commit instead of a statement each: a topic is so committed before
    the reply it belongs to is sent, a kept answer milliseconds after. /forget deletes the
    reader's rows (`forget_user`, and the log drops their queued ones), retention old ones.
    """

    def __init__(
        self,
        database: Database,
        seconds: float = MEMORY_SECONDS,
        record: Callable[[Row], None] | None = None,
    ) -> None:
        self.database = database
        self.seconds = seconds
        self._record = record

    async def _write(self, row: Topic | Kept) -> None:
        if self._record is not None:
            self._record(row)
            return
        async with self.database.transaction() as db:
            await insert_state(db, [row])

    async def _run(self, sql: str, *args: object) -> int:
        async with self.database.read() as db:
            return await db.execute(sql, *args)

    async def _fetch(self, sql: str, *args: object) -> list[tuple[object, ...]]:
        async with self.database.read() as db:
            return await db.fetch(sql, *args)

    async def topic(self, key: ConversationKey) -> str | None:
        rows = await self._fetch(TOPIC, key.chat_id, key.user_id, _ago(self.seconds))
        return str(rows[0][0]) if rows else None

    async def set_topic(self, key: ConversationKey, question: str | None) -> None:
        await self._write(Topic(key.chat_id, key.user_id, question))

    async def keep_answer(self, where: MessageKey, answer: KeptAnswer) -> None:
        await self._write(
            Kept(
                *(where.chat_id, where.message_id, answer.user_id),
                *(answer.question, answer.follows, answer.edition),
            )
        )

    async def kept_answer(self, where: MessageKey) -> KeptAnswer | None:
        rows = await self._fetch(KEPT_ANSWER, where.chat_id, where.message_id)
        if not rows:
            return None
        question, follows, edition, user_id = rows[0]
        return KeptAnswer(
            str(question),
            None if follows is None else str(follows),
            str(edition),
            int(str(user_id)),
        )

    async def vote(self, key: VoteKey, vote: int) -> int | None:
        async with self.database.transaction() as db:
            before = await db.scalar(OLD_VOTE, key.chat_id, key.message_id, key.user_id)
            await db.execute(VOTE, key.chat_id, key.message_id, key.user_id, vote, utc_now())
        return None if before is None else int(before)

    async def expect_forget(self, user_id: int) -> None:
        await self._run(EXPECT_FORGET, user_id, utc_now())

    async def take_forget(self, user_id: int) -> bool:
        return await self._run(TAKE_FORGET, user_id) > 0

    async def forget_user(self, user_id: int) -> None:
        async with self.database.transaction() as db:
            for sql in FORGET_STATE:
                await db.execute(sql, user_id)
