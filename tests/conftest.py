"""Fixtures: paths, settings, the Bot API emulator and a bot running against it."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.articles import load_collection
from bot.config import Settings
from bot.conversation.conversation import Conversation
from bot.retrieval.search import SearchIndex
from bot.serving.library import Edition, Library
from bot.storage.state import MemoryState
from handlers.services import NewsApp
from tests.support.bot import bot_settings, start_bot, stop_bot
from tests.support.emulator.server import TOKEN, BotApiEmulator
from tests.support.paths import SEEDS
from tests.support.servers import Postgres, ensure_installed
from tests.support.websites import NewsSite


@pytest.fixture(autouse=True)
def no_token_leaks(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    """Every end-to-end test: all its log records, at DEBUG (httpx logs request URLs there),
    and every message the bot sent, are scanned for the bot token."""
    if request.node.get_closest_marker("e2e") is None:
        yield
        return
    caplog.set_level(logging.DEBUG)
    emulator = request.getfixturevalue("emulator") if "emulator" in request.fixturenames else None
    yield
    assert TOKEN not in caplog.text, "the bot token reached a log record"
    if emulator is not None:
        sent = json.dumps(emulator.sent, default=str, ensure_ascii=False)
        assert TOKEN not in sent, "the bot token reached a message"


@pytest.fixture(scope="session")
def seed_edition() -> Edition:
    """The shipped seed collection, indexed once for the session (immutable)."""
    collection = load_collection(SEEDS)
    return Edition.of(collection, SearchIndex(collection))


@pytest.fixture(scope="session")
def seed_index(seed_edition: Edition) -> SearchIndex:
    """The seed collection's search index (immutable)."""
    return seed_edition.index


@pytest.fixture
def seed_library(seed_edition: Edition) -> Library:
    """The seed edition in a library of this test's own (a reload here touches no other)."""
    return Library(seed_edition)


@pytest.fixture
def seed_room(seed_library: Library) -> Conversation:
    """A conversation over the seeds with fresh reader state, as the terminal chat has."""
    return Conversation(seed_library, MemoryState())


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    """A Bot API emulator listening on 127.0.0.1."""
    emu = BotApiEmulator()
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture
def settings(tmp_path: Path, emulator: BotApiEmulator) -> Settings:
    """Settings pointing the bot at the emulator, the seeds and a fresh database."""
    return bot_settings(tmp_path, emulator)


@pytest.fixture
async def bot(settings: Settings, seed_library: Library) -> AsyncIterator[NewsApp]:
    """The real Application, long-polling the emulator."""
    app = await start_bot(settings, seed_library)
    yield app
    await stop_bot(app)


@pytest.fixture
async def site() -> AsyncIterator[NewsSite]:
    """A news site on 127.0.0.1: fixture pages, feeds and misbehaving URLs
    (tests/support/websites.py).
    """
    server = NewsSite()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Postgres]:
    """A real PostgreSQL server for the session (Debian's package, run as `postgres`);
    each test takes a database of its own on it (`pg_url`)."""
    problem = ensure_installed("postgresql")
    if problem:
        pytest.skip(problem)
    server = Postgres()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def pg_url(postgres_server: Postgres) -> str:
    """The URL of a fresh, empty PostgreSQL database."""
    return postgres_server.database()
