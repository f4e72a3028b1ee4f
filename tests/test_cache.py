"""The index cache: a start reads only what changed (the manifest decides, as git's index
does), reuses nothing stale, survives corruption, and keeps its files private."""

from __future__ import annotations

import logging
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import text
from bot.articles import load_collection
from bot.collection import cache, cache_folder
from bot.collection.cache import load_cached
from bot.lexical import indexing
from bot.retrieval.search import SearchIndex
from tests.support.paths import ROOT, SEEDS

OLD = time.time() - 86_400  # article files last written a day ago


@pytest.fixture
def articles(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    shutil.copytree(SEEDS, folder)
    for n in range(5):
        write(
            folder / "more" / f"{n:02d}.txt",
            f"Harbour news {n}\n\nThe harbour handled {n} ships.\n",
        )
    return folder


def write(path: Path, body: str, when: float = OLD) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    os.utime(path, (when, when))


class Opened:
    """Records which files under a folder the process opens (an audit hook: Python's own
    record of every open, not a stand-in for the code under test)."""

    def __init__(self) -> None:
        self.folder: str | None = None
        self.paths: list[str] = []

    def hook(self, event: str, args: tuple[object, ...]) -> None:
        if event == "open" and self.folder and isinstance(args[0], str | Path):
            path = os.path.abspath(str(args[0]))
            if path.startswith(self.folder):
                self.paths.append(os.path.relpath(path, self.folder))


@pytest.fixture(scope="session")
def recorder() -> Opened:
    found = Opened()
    sys.addaudithook(found.hook)  # audit hooks stay for the session: this one only records
    return found


@pytest.fixture
def opened(recorder: Opened, articles: Path) -> Iterator[Opened]:
    recorder.folder, recorder.paths = str(articles.resolve()) + os.sep, []
    yield recorder
    recorder.folder = None


def answer(loaded: cache.Loaded, question: str) -> list[tuple[str, int, float]]:
    assert loaded.indexes is not None
    hits = SearchIndex(loaded.collection, built=loaded.indexes).search(question, 3)
    return [(h.passage.article.id, h.passage.paragraph, h.score) for h in hits]


def test_built_once_then_loaded_without_opening_an_article(
    articles: Path, tmp_path: Path, opened: Opened
) -> None:
    """The second start opens no article file at all, and answers exactly as the build did."""
    first = load_cached(articles, tmp_path / "cache")
    assert sorted(opened.paths) == sorted(
        p.relative_to(articles).as_posix() for p in articles.rglob("*.txt")
    )
    opened.paths.clear()
    second = load_cached(articles, tmp_path / "cache")
    assert opened.paths == []
    assert (first.status, second.status, second.read) == ("built", "loaded", 0)
    question = "When will all US troops leave Afghanistan?"
    assert answer(first, question) == answer(second, question)
    assert list(second.collection.articles) == list(load_collection(articles).articles)


def test_one_added_file_is_the_only_one_read(
    articles: Path, tmp_path: Path, opened: Opened
) -> None:
    """A new article: only it is read, and the next question is answered from it."""
    load_cached(articles, tmp_path / "cache")
    write(articles / "more" / "new.txt", "Zebras cross the harbour\n\nA herd of zebras swam.\n")
    opened.paths.clear()
    loaded = load_cached(articles, tmp_path / "cache")
    assert opened.paths == ["more/new.txt"]
    assert (loaded.status, loaded.read) == ("updated", 1)
    assert answer(loaded, "zebras")[0][0] == "more/new"


def test_changed_and_removed_files_are_noticed(articles: Path, tmp_path: Path) -> None:
    """Editing one article and deleting another: the stale text is never answered."""
    load_cached(articles, tmp_path / "cache")
    write(articles / "more" / "01.txt", "Harbour news 1\n\nThe harbour handled zebras.\n")
    (articles / "more" / "02.txt").unlink()
    loaded = load_cached(articles, tmp_path / "cache")
    assert loaded.status == "updated"
    assert answer(loaded, "zebras")[0][0] == "more/01"
    ids = loaded.collection.article_ids()
    assert "more/02" not in ids and len(ids) == 5


def test_racily_clean_file_is_checked_by_its_hash(articles: Path, tmp_path: Path) -> None:
    """A file rewritten within the clock's granularity of the scan, same size and same
    modification time, is still noticed: it is read again and its hash differs."""
    path = articles / "more" / "03.txt"
    now = time.time()
    write(path, "Harbour news 3\n\nThe harbour handled 3 ships.\n", when=now)
    load_cached(articles, tmp_path / "cache")
    write(path, "Harbour news 3\n\nThe harbour handled 3 yachts\n", when=now)  # same size
    loaded = load_cached(articles, tmp_path / "cache")
    assert loaded.status == "updated"
    assert answer(loaded, "yachts")[0][0] == "more/03"
    again = load_cached(articles, tmp_path / "cache")  # the hash matches now: not re-indexed
    assert again.status == "loaded"


def test_skipped_files_are_remembered_and_reported(articles: Path, tmp_path: Path) -> None:
    """A binary file is skipped with its reason, and not read again while it is unchanged."""
    (articles / "broken.txt").write_bytes(b"\x00\x01\x02 binary")
    os.utime(articles / "broken.txt", (OLD, OLD))
    first = load_cached(articles, tmp_path / "cache")
    second = load_cached(articles, tmp_path / "cache")
    assert (
        first.collection.skipped
        == second.collection.skipped
        == (("broken.txt", "binary file (NUL bytes)"),)
    )
    assert second.read == 0


def test_cache_files_are_owner_only(articles: Path, tmp_path: Path) -> None:
    """Everything under the cache folder is readable by the owner only."""
    loaded = load_cached(articles, tmp_path / "cache")
    write(articles / "more" / "new.txt", "Zebras\n\nZebras swam.\n")
    load_cached(articles, tmp_path / "cache")
    for path in [loaded.folder, *loaded.folder.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, path


def test_changed_setting_invalidates(
    articles: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A different BM25 parameter or stop list never reuses the old cache."""
    load_cached(articles, tmp_path / "cache")
    monkeypatch.setattr(indexing, "BM25_K1", 2.0)
    assert load_cached(articles, tmp_path / "cache").status == "built"
    monkeypatch.setattr(text, "STOP_WORDS", text.STOP_WORDS | {"harbour"})
    assert load_cached(articles, tmp_path / "cache").status == "built"


def test_changed_code_invalidates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The key covers the source of the modules that parse and index: edited code (a new
    tokenizer rule, a new passage kind) never reads a cache it did not write."""
    before = cache.cache_key()
    copy = tmp_path / "text.py"
    copy.write_text(Path(text.__file__).read_text() + "\n# a changed rule\n")
    monkeypatch.setattr(text, "__file__", str(copy))
    assert cache.cache_key() != before


def test_corrupt_cache_is_rebuilt_with_a_warning(
    articles: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Garbage in a cache file: a warning naming the cache folder, then a clean rebuild."""
    folder = tmp_path / "cache"
    load_cached(articles, folder)
    segment = next(folder.glob("seg-*"))
    (segment / "passages" / "offsets.npy").write_bytes(b"garbage")
    with caplog.at_level(logging.WARNING):
        again = load_cached(articles, folder)
    assert again.status == "rebuilt"
    assert "unreadable" in caplog.text and str(folder) in caplog.text
    assert load_cached(articles, folder).status == "loaded"
    assert not segment.exists()  # the broken segment is gone with the old state


def test_unwritable_cache_folder_still_answers(articles: Path, tmp_path: Path) -> None:
    """If the cache cannot be written, the index is built (in a temporary folder) and used."""
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the folder should be")
    loaded = load_cached(articles, blocker)
    assert loaded.status == "built"
    assert answer(loaded, "How many ships did the harbour handle?")


def test_two_processes_starting_at_once_share_one_cache(articles: Path, tmp_path: Path) -> None:
    """`newsbot ask` twice in parallel on a new cache: both answer, and the cache is whole."""
    env = dict(os.environ)
    env.update(NEWSBOT_ARTICLES_DIR=str(articles), NEWSBOT_CACHE_DIR=str(tmp_path / "cache"))
    command = [sys.executable, "-m", "newsbot", "ask", "How many ships did the harbour handle?"]
    runs = [
        subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert all(run.returncode == 0 for run in runs)
    assert all("harbour handled" in out for out in outputs)
    assert load_cached(articles, tmp_path / "cache").status == "loaded"


def test_only_names_the_cache_wrote_are_removed(articles: Path, tmp_path: Path) -> None:
    """Files someone put into the cache's own folder survive rebuilds; old states go."""
    folder = tmp_path / "cache"
    load_cached(articles, folder)
    first_state = (folder / "current").read_text()
    (folder / "keep.txt").write_text("mine")
    (folder / "notes").mkdir()
    (folder / ".hidden").write_text("mine too")
    load_cached(articles, folder, force=True)
    assert (folder / "keep.txt").read_text() == "mine"
    assert (folder / "notes").is_dir() and (folder / ".hidden").read_text() == "mine too"
    assert not (folder / first_state).exists()


def test_cache_from_before_the_tag_is_adopted(articles: Path, tmp_path: Path) -> None:
    """A cache folder holding only the cache's own names (no tag yet) is used and tagged."""
    folder = tmp_path / "cache"
    load_cached(articles, folder)
    (folder / cache_folder.MARKER).unlink()
    assert load_cached(articles, folder).status == "loaded"
    assert (folder / cache_folder.MARKER).read_text() == cache_folder.MARKER_TEXT


def test_another_tools_cachedir_tag_is_refused_and_kept(articles: Path, tmp_path: Path) -> None:
    """A folder tagged by another tool (a CACHEDIR.TAG without newsbot's line) is that tool's
    cache: refused, and its tag left as it was."""
    folder = tmp_path / "other-cache"
    folder.mkdir()
    tag = (
        "Signature: 8a477f597d28d172789f06886806bc55\n"
        "# This file is a cache directory tag created by another tool.\n"
    )
    (folder / cache_folder.MARKER).write_text(tag)
    with pytest.raises(cache_folder.CacheFolderError, match="another tool"):
        load_cached(articles, folder)
    assert [p.name for p in folder.iterdir()] == [cache_folder.MARKER]
    assert (folder / cache_folder.MARKER).read_text() == tag


def test_untagged_folder_with_other_files_is_refused(articles: Path, tmp_path: Path) -> None:
    """load_cached refuses a folder with files of others (or the articles folder) and
    touches nothing in it."""
    folder = tmp_path / "home"
    (folder / "Documents").mkdir(parents=True)
    (folder / ".bashrc").write_text("x")
    with pytest.raises(cache_folder.CacheFolderError, match=r"'\.bashrc', 'Documents'"):
        load_cached(articles, folder)
    assert sorted(p.name for p in folder.iterdir()) == [".bashrc", "Documents"]
    with pytest.raises(cache_folder.CacheFolderError, match="articles folder"):
        load_cached(articles, articles)
