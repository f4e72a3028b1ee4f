"""The `newsbot` command as a user runs it (subprocesses)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import newsbot
from tests.support.paths import SEEDS


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


def home_like(folder: Path) -> dict[str, bytes]:
    """Fill `folder` with what a home or project folder holds; return {relative path: bytes}."""
    files = {
        "Documents/letter.txt": b"Dear Ann,\n\nThe harbour is open.\n",
        ".bashrc": b"export PS1='$ '\n",
        ".config/app/settings.ini": b"[main]\nkey=1\n",
        "notes.md": b"Notes\n\nBuy milk.\n",
    }
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    return files


def still_there(folder: Path, files: dict[str, bytes]) -> bool:
    return all((folder / rel).read_bytes() == data for rel, data in files.items())


def one_line_exit_2(result: subprocess.CompletedProcess[str], key: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().startswith("newsbot: "), result.stderr
    assert key in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_cache_folder_holding_other_files_is_refused_and_kept(tmp_path: Path) -> None:
    """NEWSBOT_CACHE_DIR at a home-like folder: exit 2 in one line, nothing in it deleted."""
    home = tmp_path / "home"
    files = home_like(home)
    result = newsbot("ask", "Taliban", env={"NEWSBOT_CACHE_DIR": str(home)})
    one_line_exit_2(result, "NEWSBOT_CACHE_DIR")
    assert still_there(home, files)
    names = sorted(p.name for p in home.iterdir())
    assert names == [".bashrc", ".config", "Documents", "notes.md"]


def test_blank_cache_dir_is_refused_and_deletes_nothing(tmp_path: Path) -> None:
    """NEWSBOT_CACHE_DIR= (blank: the current folder) exits 2 naming it; ./seeds, ./.env and
    ./data are untouched."""
    shutil.copytree(SEEDS, tmp_path / "seeds")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "newsbot.sqlite3").write_bytes(b"the conversation log")
    (tmp_path / ".env").write_text("NEWSBOT_TOP_K=2\n")
    before = {str(p.relative_to(tmp_path)): p.stat().st_size for p in tmp_path.rglob("*")}
    for command in (["ask", "Taliban"], ["run"]):
        result = newsbot(*command, cwd=tmp_path, env={"NEWSBOT_CACHE_DIR": ""}, stdin="")
        one_line_exit_2(result, "NEWSBOT_CACHE_DIR")
    after = {str(p.relative_to(tmp_path)): p.stat().st_size for p in tmp_path.rglob("*")}
    assert after == before


@pytest.mark.parametrize("which", ["articles", "log", "current"])
def test_cache_dir_at_the_articles_log_or_current_folder_is_refused(
    tmp_path: Path, which: str
) -> None:
    """NEWSBOT_CACHE_DIR naming the articles folder, the log's folder or the current folder
    (even one holding nothing else): exit 2 in one line, every file kept."""
    articles = tmp_path / "articles"
    shutil.copytree(SEEDS, articles)
    log_folder = tmp_path / "data"
    log_folder.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    cache = {"articles": articles, "log": log_folder, "current": work}[which]
    env = {
        "NEWSBOT_ARTICLES_DIR": str(articles),
        "NEWSBOT_DB": str(log_folder / "newsbot.sqlite3"),
        "NEWSBOT_CACHE_DIR": str(cache),
    }
    result = newsbot("ask", "Taliban", cwd=work, env=env)
    one_line_exit_2(result, "NEWSBOT_CACHE_DIR")
    assert sorted(p.name for p in articles.iterdir()) == sorted(p.name for p in SEEDS.iterdir())
    assert not any(log_folder.iterdir()) and not any(work.iterdir())


def test_blank_articles_dir_is_refused(tmp_path: Path) -> None:
    """NEWSBOT_ARTICLES_DIR= (blank) exits 2 naming it, instead of serving the current folder."""
    (tmp_path / "notes.txt").write_text("Bank\n\nThe PIN of the safe is 4711.\n")
    result = newsbot("ask", "PIN", cwd=tmp_path, env={"NEWSBOT_ARTICLES_DIR": ""})
    one_line_exit_2(result, "NEWSBOT_ARTICLES_DIR")
    assert "4711" not in result.stdout


def test_long_front_matter_fields_are_rendered_promptly(tmp_path: Path) -> None:
    """An article with a 5,000-character url: and outlet: is answered, listed and shown by
    `newsbot chat` within seconds and bounded memory (it once looped forever)."""
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "long.md").write_text(
        f"---\nurl: https://example.com/{'a' * 5000}\noutlet: {'Outlet ' * 715}\n---\n"
        "Harbour reopens\n\nThe harbour reopened on Monday after the storm.\n"
    )
    questions = "When did the harbour reopen?\n/sources\n/source 1\n"
    result = newsbot(
        "chat", "--articles", str(folder), stdin=questions, timeout=30, memory_mb=1500
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("The harbour reopened on Monday") == 2  # the answer, /source
    assert "1. Harbour reopens" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_files_with_a_bom_are_read(tmp_path: Path, encoding: str) -> None:
    """A UTF-16 (or UTF-32) article with a byte order mark is read, not skipped as binary."""
    text = "Café opens\n\nThe café on the quay opened on Monday, serving crème brûlée.\n"
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data  # Python writes the BOM only for the native order
    (tmp_path / "cafe.txt").write_bytes(data)
    result = newsbot("ask", "--articles", str(tmp_path), "When did the café open?")
    assert result.returncode == 0, result.stderr
    assert "Skipping" not in result.stderr
    assert "serving crème brûlée" in result.stdout


def test_unreadable_subfolder_is_named_in_a_warning(tmp_path: Path) -> None:
    """A subfolder newsbot may not read (chmod 000) is skipped with a warning naming it; the
    other articles are answered. (As root, newsbot runs without the capabilities that let
    root read any folder.)"""
    articles = tmp_path / "articles"
    (articles / "locked").mkdir(parents=True)
    (articles / "good.txt").write_text("Zoo news\n\nThe zebras escaped on Monday.\n")
    (articles / "locked" / "secret.txt").write_text("Secret\n\nThe zebras hid here.\n")
    (articles / "locked").chmod(0)
    try:
        env = {"NEWSBOT_CACHE_DIR": str(tmp_path / "cache")}
        result = newsbot("ask", "--articles", str(articles), "zebras", env=env, obey_modes=True)
    finally:
        (articles / "locked").chmod(0o755)
    assert result.returncode == 0, result.stderr
    assert "The zebras escaped on Monday" in result.stdout
    assert "zebras hid here" not in result.stdout  # the folder was really unreadable
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line]
    assert any("locked" in line and "permission" in line.lower() for line in warnings)


def test_two_files_with_one_name_and_two_suffixes_keep_one_id(tmp_path: Path) -> None:
    """`a.md` and `a.txt` would share the id `a` (one's deep link opening the other): the
    first in name order is served, the other skipped with a warning naming both."""
    (tmp_path / "a.md").write_text("Harbour news\n\nThe harbour reopened on Monday.")
    (tmp_path / "a.txt").write_text("Zoo news\n\nZebras escaped from the zoo on Friday.")
    (tmp_path / "b.txt").write_text("Other news\n\nThe bakery sold out of bread.")
    result = newsbot("sources", "--json", "--articles", str(tmp_path))
    assert result.returncode == 0, result.stderr
    ids = [source["id"] for source in json.loads(result.stdout)]
    assert sorted(ids) == ["a", "b"]
    assert "Skipping a.txt: a.md has the same name" in result.stderr


EMPTY_PATH_OPTIONS = [
    (["ask", "--articles", "", "PIN"], "--articles"),
    (["sources", "--articles", ""], "--articles"),
    (["index", "--articles", ""], "--articles"),
    (["chat", "--articles", ""], "--articles"),
    (["run", "--articles", ""], "--articles"),
    (["import", "--articles", "", "page.html"], "--articles"),
    (["eval", "--articles", "", "--known-items", str(SEEDS)], "--articles"),
    (["eval", "--known-items", ""], "--known-items"),
    (["export", "--out", ""], "--out"),
    (["stats", "--chart", ""], "--chart"),
    (["migrate-log", "--from", "", "--to", "postgresql://x@127.0.0.1:9/x"], "--from"),
]


@pytest.mark.parametrize(("args", "option"), EMPTY_PATH_OPTIONS)
def test_an_empty_path_option_is_refused(tmp_path: Path, args: list[str], option: str) -> None:
    """An empty path option (`--articles ''`, `--out ''`...) exits 2 in one line naming the
    option, instead of meaning the current folder."""
    (tmp_path / "notes.txt").write_text("Bank\n\nThe PIN of the safe is 4711.\n")
    (tmp_path / "page.html").write_text("<html><title>PIN</title><p>4711</p></html>")
    result = newsbot(*args, cwd=tmp_path, stdin="PIN\n")
    one_line_exit_2(result, option)
    assert "4711" not in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "page.html"]


def test_chat_speaks_the_locales_language_or_lang() -> None:
    """`newsbot chat --lang de` and LANG=de_DE.UTF-8 print the bot's own lines in German;
    LC_ALL=C.UTF-8 outranks LANG (English)."""
    stdin = "/source 99\nWhat is the capital of France?\n"
    for args, env in ((["--lang", "de"], {}), ([], {"LANG": "de_DE.UTF-8"})):
        result = newsbot("chat", *args, stdin=stdin, env=env)
        assert result.returncode == 0, result.stderr
        assert "Einen Artikel 99 gibt es nicht: Wähl einen von 1 bis 1" in result.stdout
        assert "Dazu habe ich in den Artikeln nichts gefunden." in result.stdout
    english = newsbot("chat", stdin=stdin, env={"LC_ALL": "C.UTF-8", "LANG": "de_DE.UTF-8"})
    assert "There is no article 99" in english.stdout
    assert "I couldn't find that in the articles." in english.stdout


def test_ask_takes_lang_and_refuses_a_language_it_does_not_speak() -> None:
    """`newsbot ask --lang de` says "not found" in German; an
    unknown --lang exits 2 naming the languages there are."""
    german = newsbot("ask", "--lang", "de", "What is the capital of France?")
    assert german.returncode == 0, german.stderr
    assert german.stdout.startswith("Dazu habe ich in den Artikeln nichts gefunden.")
    refused = newsbot("ask", "--lang", "xx", "Taliban")
    assert refused.returncode == 2
    assert refused.stderr.strip() == "newsbot: --lang xx: newsbot speaks en, de"
