"""The `newsbot` command as a user runs it (subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEEDS

CACHE = Path(tempfile.mkdtemp(prefix="newsbot-test-cache-"))


def newsbot(
    *args: str, stdin: str | None = None, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "TELEGRAM_"))
    }
    environment["NEWSBOT_CACHE_DIR"] = str(CACHE)
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        timeout=60,
        check=False,
    )


def test_ask_prints_the_passages_with_sources() -> None:
    """`newsbot ask` prints the Sept. 11 paragraph first, with file and paragraph."""
    result = newsbot("ask", "When will all US troops leave Afghanistan?")
    assert result.returncode == 0, result.stderr
    first = result.stdout.split("\n\n")[0]
    assert first.startswith("[1] Earlier this month, President Biden said")
    assert "000_e6af9304790c8bd1.txt · ¶ 6" in first


def test_ask_json_has_the_documented_shape() -> None:
    """--json prints one object with question, answered, took_ms and hits."""
    result = newsbot("ask", "--json", "What is the capital of France?")
    data = json.loads(result.stdout)
    assert data["question"] == "What is the capital of France?"
    assert data["answered"] is False
    assert data["hits"] == []
    assert isinstance(data["took_ms"], float)


def test_ask_batch_from_stdin_writes_one_json_line_per_question() -> None:
    """`ask --json -` answers every line of stdin, in order."""
    questions = ["When will all US troops leave Afghanistan?", "", "capital of France?", "Taliban"]
    result = newsbot("ask", "--json", "-", stdin="\n".join(questions) + "\n")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [x["question"] for x in lines] == [q for q in questions if q]
    assert [x["answered"] for x in lines] == [True, False, True]
    assert lines[0]["hits"][0]["paragraph"] == 6


def test_sources_json_lists_articles() -> None:
    """`sources --json` gives id, title and passage count."""
    data = json.loads(newsbot("sources", "--json").stdout)
    assert data == [
        {
            "number": 1,
            "id": "000_e6af9304790c8bd1",
            "title": "Taliban Attacks Upsurge as US Eyes Total Exit, Afghan Spy Chief Says",
            "published": None,
            "passages": 11,
        }
    ]


def test_chat_reads_stdin_like_a_conversation() -> None:
    """`newsbot chat` answers commands and questions from piped input as plain text."""
    result = newsbot("chat", stdin="/sources\n/source 99\nTaliban prisoners\n")
    assert result.returncode == 0, result.stderr
    assert "1. Taliban Attacks Upsurge" in result.stdout
    assert "There is no article 99" in result.stdout
    assert "5,000 prisoners" in result.stdout
    assert "<b>" not in result.stdout
    assert "&amp;" not in result.stdout


def test_bad_setting_exits_2_naming_the_key() -> None:
    """NEWSBOT_TOP_K=abc: exit code 2 and one line naming the key."""
    result = newsbot("ask", "Taliban", env={"NEWSBOT_TOP_K": "abc"})
    assert result.returncode == 2
    assert result.stderr.strip().startswith("newsbot: NEWSBOT_TOP_K:")
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_folder_and_empty_folder(tmp_path: Path) -> None:
    """A missing folder and a folder without articles both exit 2 with one clear line."""
    missing = newsbot("ask", "x", env={"NEWSBOT_ARTICLES_DIR": str(tmp_path / "nope")})
    assert missing.returncode == 2
    assert "NEWSBOT_ARTICLES_DIR" in missing.stderr
    empty = newsbot("sources", "--articles", str(tmp_path))
    assert empty.returncode == 2
    assert "no articles found" in empty.stderr
    assert "Traceback" not in empty.stderr


def test_env_file_in_working_directory_is_read(tmp_path: Path) -> None:
    """Settings come from .env in the current folder."""
    (tmp_path / ".env").write_text(f"NEWSBOT_ARTICLES_DIR={SEEDS}\nNEWSBOT_TOP_K=1\n")
    data = json.loads(newsbot("ask", "--json", "Taliban", cwd=tmp_path).stdout)
    assert len(data["hits"]) == 1


def test_run_without_token_names_the_terminal_chat_command() -> None:
    """No token and no terminal: one sentence with the exact command to try instead."""
    result = newsbot("run", stdin="")
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in result.stderr
    assert "newsbot chat" in result.stderr


@pytest.mark.parametrize("content", [b"\x00\x01binary", b"Only a title\n"])
def test_bad_article_files_are_skipped_with_a_warning(tmp_path: Path, content: bytes) -> None:
    """A bad file beside a good one: a warning naming it, and answers from the good one."""
    (tmp_path / "bad.txt").write_bytes(content)
    (tmp_path / "good.txt").write_text("Good headline\n\nZebras escaped from the zoo on Monday.")
    result = newsbot("ask", "--articles", str(tmp_path), "zebras")
    assert result.returncode == 0
    assert "Skipping bad.txt" in result.stderr
    assert "Zebras escaped" in result.stdout


def test_index_command_builds_then_loads(tmp_path: Path) -> None:
    """`newsbot index` builds the cache and prints a summary; the second run loads it."""
    env = {"NEWSBOT_CACHE_DIR": str(tmp_path / "cache")}
    first = newsbot("index", env=env)
    second = newsbot("index", env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("Built the index of 1 article (11 passages, 0 skipped")
    assert "MB in" in first.stdout
    assert second.stdout.startswith("Loaded the index")
