"""Opening and closing what a running bot shares: made once at start, closed at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bot.config import Settings
from bot.conversation.conversation import Conversation
from bot.loopwatch import LoopWatch
from bot.serving.library import Library
from bot.serving.poller import FeedPoller
from bot.serving.reload import ReloadError, watch_folder
from bot.storage import ConversationLog, DatabaseError
from bot.storage.databases import PostgresDatabase
from bot.storage.instances import Claims, Instance, LocalClaims, SharedClaims, SqlState
from bot.storage.state import MemoryState, ReaderState
from bot.text import default_workers

log = logging.getLogger(__name__)


@dataclass(slots=True, eq=False)
class Services:
    """What the handlers share, made once at start. `tasks` change while the bot runs."""

    conversation: Conversation
    log: ConversationLog
    settings: Settings
    loop_lag: LoopWatch  # how late the event loop runs its timers (logged at shutdown)
    searches: ThreadPoolExecutor  # the conversation's search threads, shut down with the bot
    claims: Claims  # which instance answers an update (webhook mode)
    instance: Instance | None = None  # this process among others on PostgreSQL
    stop: asyncio.Event = field(default_factory=asyncio.Event)  # ends background tasks
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def terminal_conversation(settings: Settings, library: Library) -> Conversation:
    """The conversation without Telegram (`newsbot chat`): nothing is logged, so nothing to
    /forget, and reader state stays in memory."""
    return Conversation(library, MemoryState(), top_k=settings.top_k)


async def open_services(
    settings: Settings, library: Library, bot_username: str | None, polling: bool
) -> Services:
    """Open the log, make the reader state, the conversation and the claims; on PostgreSQL
    join the other instances (only one may long-poll); start the folder watch and the feed
    poller when the settings ask for them."""
    conversation_log = ConversationLog(settings.database, settings.pending_path)
    await conversation_log.open()
    try:
        await conversation_log.check_writable()  # a log that cannot grow: refuse now
    except DatabaseError:
        await conversation_log.close()
        raise
    database = conversation_log.database
    instance = Instance(database) if isinstance(database, PostgresDatabase) else None
    # Several instances share reader state and claims in PostgreSQL; one instance alone
    # (SQLite) keeps them in memory.
    state: ReaderState = (
        SqlState(database, record=conversation_log.record)
        if instance is not None
        else MemoryState()
    )
    loop_lag = LoopWatch()
    loop_lag.start()
    # Searches run here, off the event loop: one thread per CPU. More threads would only
    # fight the event loop for the GIL (bench_loop: lag p99 8 ms with asyncio's default
    # pool, 2-4 ms with this one).
    searches = ThreadPoolExecutor(default_workers(), "search")
    conversation = Conversation(
        library,
        state,
        top_k=settings.top_k,
        bot_username=bot_username,
        log=conversation_log,
        folders=(settings.articles_dir, settings.cache_dir),
        searches=searches,
        peers=instance.announce_reload if instance is not None else None,
    )
    claims = (
        SharedClaims(database, instance, conversation_log.record)
        if instance is not None
        else LocalClaims(lambda: conversation_log.logged_updates)
    )
    services = Services(
        conversation, conversation_log, settings, loop_lag, searches, claims, instance
    )
    if instance is not None:
        # Only one instance may long-poll (Telegram gives each poller every update).
        await instance.start(lambda: _reload_for_peer(conversation), polling=polling)
    _start_background(services)
    return services


def _start_background(services: Services) -> None:
    """The folder watch and the feed poller, as the settings ask; both stop on `stop`."""
    settings, conversation = services.settings, services.conversation
    if settings.watch:
        watch = watch_folder(
            settings.articles_dir, lambda changed: _watched(conversation, changed), services.stop
        )
        services.tasks.append(asyncio.create_task(watch, name="articles-watch"))
    if settings.feeds:  # new feed articles go through the same reload as /reload
        poller = FeedPoller.from_settings(settings, lambda: conversation.reload("the feed poller"))
        services.tasks.append(poller.start(services.stop))


async def _reload_for_peer(conversation: Conversation) -> None:
    """Another instance reloaded (/reload): read the folder again here too."""
    with contextlib.suppress(ReloadError):
        await conversation.reload("another instance's /reload")


async def _watched(conversation: Conversation, changed: frozenset[str] | None) -> None:
    """The folder watch saw article changes (in `changed`, or anywhere when None): reload
    them (the conversation's reload logs what happened)."""
    with contextlib.suppress(ReloadError):
        await conversation.reload("the folder watch", changed=changed)


async def close_services(services: Services) -> None:
    """Stop the folder watch and the poller; write every queued log row before the process
    ends."""
    services.stop.set()
    services.searches.shutdown(wait=True)
    semantic = services.conversation.library.semantic
    if semantic is not None:  # the embedding thread ends after its current chunk
        await asyncio.to_thread(semantic.close)
    for task in services.tasks:
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, timeout=5)
    if services.instance is not None:
        await services.instance.stop()
    await services.log.close()
    log.info(
        "Conversation log closed (%d turns written this run, in %d commits)",
        services.log.written,
        services.log.commits,
    )
    log.info("Event loop: %s", await services.loop_lag.stop())
