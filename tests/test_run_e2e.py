"""`newsbot run` as a process against the emulator: answers, logs, stops cleanly, leaks nothing."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from pathlib import Path

import pytest

from bot.storage import ConversationLog
from tests.support.emulator.process import bot_env, kill_newsbot, start_newsbot, stop_newsbot
from tests.support.emulator.server import TOKEN, BotApiEmulator
from tests.support.paths import ROOT, SEEDS
from tests.support.servers import PASSWORD

pytestmark = pytest.mark.e2e


async def test_newsbot_run_answers_logs_and_shuts_down_on_sigterm(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    """The real command: reply to a question, then SIGTERM flushes the log; no token in output."""
    db = tmp_path / "data" / "log.sqlite3"
    env = bot_env(
        emulator.base_url,
        SEEDS,
        db,
        NEWSBOT_LOG_LEVEL="DEBUG",  # httpx logs every request URL at this level
    )
    process = await start_newsbot(env, tmp_path)
    try:
        await emulator.wait_until(lambda: bool(emulator.commands), timeout=30)
        await emulator.send_command("start")
        await emulator.send_text("When will all US troops leave Afghanistan?")
        await emulator.send_command("source", "1")
        messages = await emulator.wait_for(1001, 3, timeout=30)
        assert any("Sept. 11" in m["text"] for m in messages)
        # SIGTERM now: a graceful stop finishes the handlers and writes their rows.
        output = await stop_newsbot(process)
    finally:
        await kill_newsbot(process)
    assert process.returncode == 0, output
    assert "getUpdates" in output  # the httpx request lines were logged...
    assert TOKEN not in output  # ...without the token
    assert "Traceback" not in output
    with sqlite3.connect(db) as conn:
        kinds = [k for (k,) in conn.execute("SELECT kind FROM messages ORDER BY id")]
        assert sorted(kinds) == ["command", "command", "question"]
        assert conn.execute("SELECT count(*) FROM replies").fetchone() == (3,)
    assert TOKEN.encode() not in db.read_bytes()
    assert ROOT.exists()


def run_env(emulator: BotApiEmulator, tmp_path: Path, **extra: str) -> dict[str, str]:
    return bot_env(emulator.base_url, SEEDS, tmp_path / "log.sqlite3", **extra)


async def run_to_exit(env: dict[str, str], cwd: Path) -> tuple[int, str]:
    process = await start_newsbot(env, cwd)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, (stdout + stderr).decode()


async def test_refused_token_is_one_clear_line(emulator: BotApiEmulator, tmp_path: Path) -> None:
    """Telegram answering 401 to getMe: exit 2 and a sentence, not a traceback or the token."""
    wrong = "999:WRONG-token"
    code, output = await run_to_exit(
        run_env(emulator, tmp_path, TELEGRAM_BOT_TOKEN=wrong), tmp_path
    )
    assert code == 2
    assert "refused TELEGRAM_BOT_TOKEN" in output
    assert "Traceback" not in output
    assert wrong not in output


async def test_corrupt_database_is_one_clear_line(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    """A log file that is not a database: exit 2 naming the file."""
    (tmp_path / "log.sqlite3").write_bytes(b"not a database" * 200)
    code, output = await run_to_exit(run_env(emulator, tmp_path), tmp_path)
    assert code == 2
    assert f"{tmp_path / 'log.sqlite3'}" in output
    assert "Traceback" not in output


async def test_revoked_token_while_running_exits_2_with_the_queued_turns_saved(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    """The token is revoked while the bot runs and its log is locked: it exits 2 on its own,
    promptly, with one line, and the turns it could not write wait in the pending file."""
    db = tmp_path / "log.sqlite3"
    process = await start_newsbot(run_env(emulator, tmp_path), tmp_path)
    blocker: sqlite3.Connection | None = None
    try:
        await emulator.wait_until(lambda: bool(emulator.commands), timeout=30)
        blocker = sqlite3.connect(db, timeout=0)
        blocker.execute("BEGIN EXCLUSIVE")
        for chat in (1001, 1002):
            await emulator.send_text("When will all US troops leave Afghanistan?", chat_id=chat)
            await emulator.wait_for(chat)
        await emulator.revoke_token()
        stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    finally:
        await kill_newsbot(process)
        if blocker is not None:
            blocker.rollback()
            blocker.close()
    output = (stdout + stderr).decode()
    assert process.returncode == 2, output
    assert "refused TELEGRAM_BOT_TOKEN while the bot was running" in output
    assert "Traceback" not in output
    assert TOKEN not in output
    saved = (tmp_path / "log.sqlite3.pending.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(saved) == 2


def _unwritable(folder: Path) -> Path:
    """A folder nobody may write in (for root too: the process runs without the
    capability that lets root ignore permissions, see `as_unprivileged`)."""
    folder.mkdir()
    folder.chmod(0o555)
    return folder


BAD_DBS = {
    "under a file": lambda t: _file(t / "plain") / "log.sqlite3",
    "a folder": lambda t: _folder(t / "folder"),
    "in a read-only folder": lambda t: _unwritable(t / "ro") / "log.sqlite3",
    "under a read-only folder": lambda t: _unwritable(t / "ro") / "new" / "log.sqlite3",
    "a name too long": lambda t: t / ("x" * 300) / "log.sqlite3",
}


def _file(path: Path) -> Path:
    path.write_text("not a folder")
    return path


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


def as_unprivileged() -> tuple[str, ...]:
    """Run a command so that file permissions bind it: as root, without CAP_DAC_OVERRIDE."""
    if os.geteuid() != 0:
        return ()
    return ("setpriv", "--bounding-set=-dac_override,-dac_read_search")


@pytest.mark.parametrize("case", sorted(BAD_DBS))
async def test_an_unusable_log_path_is_one_line_naming_newsbot_db(
    emulator: BotApiEmulator, tmp_path: Path, case: str
) -> None:
    """A NEWSBOT_DB that cannot hold a log: exit 2 with one line naming NEWSBOT_DB."""
    await refused_with_one_line(emulator, BAD_DBS[case](tmp_path), tmp_path)


async def test_a_read_only_log_is_refused_at_start(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    """A log file that takes no writes (a read-only copy): exit 2 naming NEWSBOT_DB,
    not a bot that answers without logging."""
    db = tmp_path / "log.sqlite3"
    log = ConversationLog(db)
    await log.open()
    await log.close()
    db.chmod(0o444)
    line = await refused_with_one_line(emulator, db, tmp_path)
    assert "read" in line and str(db) in line


async def refused_with_one_line(emulator: BotApiEmulator, db: Path, tmp_path: Path) -> str:
    """Run `newsbot run` on `db` (file permissions binding it); its one `newsbot:` line."""
    env = bot_env(emulator.base_url, SEEDS, db)
    process = await asyncio.create_subprocess_exec(
        *as_unprivileged(),
        *(sys.executable, "-m", "newsbot", "run"),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    output = (stdout + stderr).decode()
    assert process.returncode == 2, output
    assert "Traceback" not in output
    (line,) = [line for line in stderr.decode().splitlines() if line.startswith("newsbot:")]
    assert line.startswith("newsbot: NEWSBOT_DB: ")
    return line


async def test_a_rate_limit_below_one_message_a_second_still_sends(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    """NEWSBOT_RATE_LIMIT=0.5 means one message every two seconds, not no messages at all."""
    process = await start_newsbot(run_env(emulator, tmp_path, NEWSBOT_RATE_LIMIT="0.5"), tmp_path)
    try:
        await emulator.wait_until(lambda: bool(emulator.commands), timeout=60)
        await emulator.send_text("When will all US troops leave Afghanistan?")
        (reply,) = await emulator.wait_for(1001, 1, timeout=30)
        assert "Sept. 11" in reply["text"]
        output = await stop_newsbot(process)
    finally:
        await kill_newsbot(process)
    assert process.returncode == 0, output[-3000:]
    assert "maximum capacity" not in output and "Traceback" not in output


async def test_a_second_long_polling_instance_on_one_postgresql_is_refused(
    emulator: BotApiEmulator, tmp_path: Path, pg_url: str
) -> None:
    """Two long-polling instances on one PostgreSQL log would both answer every update:
    the second exits 2 with one line saying so, the first keeps answering."""
    first = await start_newsbot(run_env(emulator, tmp_path, NEWSBOT_DB=pg_url), tmp_path)
    try:
        await emulator.wait_until(lambda: bool(emulator.commands), timeout=60)
        code, output = await run_to_exit(run_env(emulator, tmp_path, NEWSBOT_DB=pg_url), tmp_path)
        assert code == 2, output[-3000:]
        assert "Traceback" not in output and PASSWORD not in output
        (line,) = [x for x in output.splitlines() if x.startswith("newsbot:")]
        assert "NEWSBOT_DB" in line and "long-polling" in line and "NEWSBOT_WEBHOOK_URL" in line
        await emulator.send_text("When will all US troops leave Afghanistan?")
        await emulator.wait_for(1001, 1, timeout=30)
        await stop_newsbot(first)
    finally:
        await kill_newsbot(first)
    assert first.returncode == 0
