"""The index cache: reused when current, rebuilt when articles or settings change or it breaks."""

from __future__ import annotations

import logging
import shutil
import stat
from pathlib import Path

import pytest

from bot import cache, indexing
from bot.articles import load_collection
from bot.index import SearchIndex
from tests.conftest import SEEDS


@pytest.fixture
def articles(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    shutil.copytree(SEEDS, folder)
    return folder


def test_built_once_then_loaded_with_the_same_answers(articles: Path, tmp_path: Path) -> None:
    """The second start loads the cache, and answers exactly as the fresh build did."""
    collection = load_collection(articles)
    first = cache.load_or_build(collection, tmp_path / "cache")
    second = cache.load_or_build(collection, tmp_path / "cache")
    assert (first.status, second.status) == ("built", "loaded")
    question = "When will all US troops leave Afghanistan?"
    fresh = SearchIndex(collection, built=first.indexes).search(question, 3)
    cached = SearchIndex(collection, built=second.indexes).search(question, 3)
    assert [(h.passage.paragraph, h.score) for h in fresh] == [
        (h.passage.paragraph, h.score) for h in cached
    ]


def test_cache_files_are_owner_only(articles: Path, tmp_path: Path) -> None:
    """Everything under the cache folder is readable by the owner only."""
    result = cache.load_or_build(load_collection(articles), tmp_path / "cache")
    for path in [result.folder, *result.folder.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, path


def test_changed_article_invalidates(articles: Path, tmp_path: Path) -> None:
    """Editing an article gives a new key: rebuilt, and the stale folder is removed."""
    first = cache.load_or_build(load_collection(articles), tmp_path / "cache")
    path = next(articles.glob("*.txt"))
    path.write_text(path.read_text(encoding="utf-8") + "\n\nA new paragraph about zebras.\n")
    second = cache.load_or_build(load_collection(articles), tmp_path / "cache")
    assert second.status == "built"
    assert second.folder != first.folder
    assert not first.folder.exists()
    assert SearchIndex(load_collection(articles), built=second.indexes).search("zebras", 1)


def test_changed_setting_invalidates(
    articles: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A different BM25 parameter never reuses the old cache."""
    collection = load_collection(articles)
    first = cache.load_or_build(collection, tmp_path / "cache")
    monkeypatch.setattr(indexing, "BM25_K1", 2.0)
    second = cache.load_or_build(collection, tmp_path / "cache")
    assert second.status == "built"
    assert second.folder != first.folder


def test_corrupt_cache_is_rebuilt_with_a_warning(
    articles: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Garbage in a cache file: a warning naming the folder, then a clean rebuild."""
    collection = load_collection(articles)
    first = cache.load_or_build(collection, tmp_path / "cache")
    (first.folder / "passages" / "offsets.npy").write_bytes(b"garbage")
    with caplog.at_level(logging.WARNING):
        again = cache.load_or_build(collection, tmp_path / "cache")
    assert again.status == "rebuilt"
    assert "unreadable" in caplog.text and str(first.folder) in caplog.text
    assert cache.load_or_build(collection, tmp_path / "cache").status == "loaded"


def test_unwritable_cache_folder_still_answers(articles: Path, tmp_path: Path) -> None:
    """If the cache cannot be saved, the index is still built and used."""
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the folder should be")
    result = cache.load_or_build(load_collection(articles), blocker)
    assert result.status == "built"
    assert result.indexes.passages.size == 11  # the subtitle and ten paragraphs
