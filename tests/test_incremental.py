"""Incremental updates: after any sequence of added, changed and removed articles, the index
brought up to date from the cache answers exactly as a fresh build of the folder does."""

from __future__ import annotations

import os
import random
import shutil
import threading
import time
import weakref
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Plus
from watchfiles import Change

from bot.articles import Collection, load_collection
from bot.collection import snapshots
from bot.collection.cache import Loaded, load_cached
from bot.lexical import postings
from bot.lexical.indexing import BM25_B, BM25_DELTA, BM25_K1, build_indexes
from bot.memory import settle_memory
from bot.retrieval.ranking import Ranking
from bot.retrieval.search import SearchIndex
from bot.serving.library import Library
from bot.serving.reload import changed_files, compact_later, is_article_change, reload_articles
from bot.text import tokenize
from tests.support.bm25 import assert_matches, passage_documents

WORDS = [f"word{i}" for i in range(50)] + ["harbour", "council", "ferry", "tidal", "quay"]


class ArticlesFolder:
    """A folder of generated articles, changed at random (old modification times, as in a
    real archive, so the manifest's stat check decides)."""

    def __init__(self, root: Path, seed: int) -> None:
        self.folder = root / "articles"
        self.rng = random.Random(seed)
        self.names: list[str] = []
        self.changed: set[str] = set()  # what a folder watch would report since the last look
        self.clock = time.time() - 100_000

    def text(self) -> str:
        rng = self.rng
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 5))).capitalize()
        paragraphs = [
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 30))) + "."
            for _ in range(rng.randint(1, 4))
        ]
        return title + "\n\n" + "\n\n".join(paragraphs) + "\n"

    def write(self, name: str, body: str | bytes) -> None:
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(body, bytes):
            path.write_bytes(body)
        else:
            path.write_text(body, encoding="utf-8")
        self.clock += 1.5
        os.utime(path, (self.clock, self.clock))
        self.changed.add(name)
        if name not in self.names and name.endswith(".txt") and not name.startswith("bad"):
            self.names.append(name)

    def step(self, n: int) -> str:
        """One random change; returns what it was."""
        rng = self.rng
        action = rng.choice(["add", "add", "change", "remove", "broken", "touch", "copy"])
        if action == "add":
            self.write(f"d{rng.randint(0, 3)}/n{n}.txt", self.text())
        elif action == "change" and self.names:
            self.write(rng.choice(self.names), self.text())
        elif action == "remove" and len(self.names) > 3:
            name = self.names.pop(rng.randrange(len(self.names)))
            (self.folder / name).unlink()
            self.changed.add(name)
        elif action == "broken":
            self.write(f"bad{n}.txt", b"\x00\x01 not text")
        elif action == "touch" and self.names:
            self.clock += 1.5
            name = rng.choice(self.names)
            os.utime(self.folder / name, (self.clock, self.clock))
            self.changed.add(name)
        elif action == "copy" and self.names:  # an identical article: exact ties
            self.write(f"copies/c{n}.txt", (self.folder / rng.choice(self.names)).read_text())
        return action


def queries(seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    found = [
        tokenize(" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))) for _ in range(40)
    ]
    return [q + q[:1] if n % 7 == 0 else q for n, q in enumerate(found)]  # some repeat a term


def assert_same_as_fresh(loaded: Loaded, folder: Path, asked: list[list[str]]) -> None:
    """Collection (articles, passages, skipped, order), spellings and every primitive of the
    passage and article indexes equal a fresh build's, bit for bit."""
    fresh = load_collection(folder)
    reference = build_indexes(fresh)
    got, indexes = loaded.collection, loaded.indexes
    assert indexes is not None
    assert list(got.articles) == list(fresh.articles)
    assert list(got.passages) == list(fresh.passages)
    assert got.skipped == fresh.skipped
    assert list(got.article_ids()) == [a.id for a in fresh.articles]
    assert indexes.spellings == reference.spellings
    assert np.array_equal(indexes.article_of, reference.article_of)
    for name in ("passages", "articles"):
        mine, theirs = getattr(indexes, name), getattr(reference, name)
        assert (mine.size, mine.avgdl) == (theirs.size, theirs.avgdl)
        everyone = np.arange(theirs.size)
        for query in asked:
            for k in (1, 5, 200):
                ids, scores = mine.top(query, k)
                expected_ids, expected = theirs.top(query, k)
                assert ids.tolist() == expected_ids.tolist(), (name, query, k)
                assert np.array_equal(scores, expected)
            assert np.array_equal(mine.scores(query, everyone), theirs.scores(query, everyone))
            for term in query:
                assert mine.idf.get(term) == theirs.idf.get(term)
                assert np.array_equal(
                    mine.contains(term, everyone), theirs.contains(term, everyone)
                )
    for query in asked:
        assert Ranking(got, indexes).rank(query, 50) == Ranking(fresh, reference).rank(query, 50)


@pytest.mark.parametrize("seed", [1, 2])
def test_random_changes_then_updates_equal_a_fresh_build(tmp_path: Path, seed: int) -> None:
    """40 random adds, changes, removals, broken files, touches and copies, each followed by
    an update from the cache (sometimes merged, sometimes left as main + delta + deletions,
    sometimes from the saved state, sometimes from the one in use, sometimes looking only at
    the files a folder watch would report): equal to a fresh build."""
    room = ArticlesFolder(tmp_path, seed)
    for n in range(25):
        room.write(f"d{n % 3}/a{n:03d}.txt", room.text())
    cache = tmp_path / "cache"
    asked = queries(seed)
    loaded = load_cached(room.folder, cache, compact=False)
    assert loaded.status == "built"
    assert_same_as_fresh(loaded, room.folder, asked)
    kinds = set()
    for n in range(40):
        action = room.step(n)
        in_use = loaded.indexes if room.rng.random() < 0.5 else None
        base = loaded.collection if in_use is not None else None
        compact = room.rng.random() < 0.25
        watched = room.changed if in_use is not None and room.rng.random() < 0.5 else None
        loaded = load_cached(
            room.folder, cache, origin=in_use, base=base, changed=watched, compact=compact
        )
        room.changed = set()
        assert loaded.indexes is not None
        snapshot = loaded.indexes.origin
        assert isinstance(snapshot, snapshots.Snapshot)
        kinds.add(
            (action, len(snapshot.segments), bool((~np.concatenate(snapshot.alive())).any()))
        )
        assert_same_as_fresh(loaded, room.folder, asked)
    assert any(segments == 2 for _, segments, _ in kinds)  # a delta was exercised
    assert any(dead for _, _, dead in kinds)  # and deleted articles in the main segment


def test_updated_index_matches_rank_bm25_directly(tmp_path: Path) -> None:
    """After changes, scores and top-k equal rank_bm25's over the current collection."""
    room = ArticlesFolder(tmp_path, 9)
    for n in range(30):
        room.write(f"a{n:03d}.txt", room.text())
    cache = tmp_path / "cache"
    load_cached(room.folder, cache, compact=False)
    for n in range(12):
        room.step(n)
        loaded = load_cached(room.folder, cache, compact=False)
    assert loaded.indexes is not None and len(loaded.indexes.origin.segments) == 2  # type: ignore[union-attr]
    corpus = passage_documents(loaded.collection, titles=True)
    model = BM25Plus(corpus, k1=BM25_K1, b=BM25_B, delta=BM25_DELTA)
    assert_matches(model, loaded.indexes.passages, queries(9), (1, 10, 100))


def test_compaction_keeps_the_answers_and_leaves_one_segment(tmp_path: Path) -> None:
    """Merging main, delta and deletions gives one segment with the same answers, on disk."""
    room = ArticlesFolder(tmp_path, 4)
    for n in range(20):
        room.write(f"a{n:03d}.txt", room.text())
    cache = tmp_path / "cache"
    load_cached(room.folder, cache, compact=False)
    for n in range(8):
        room.step(n)
    before = load_cached(room.folder, cache, compact=False)
    after = load_cached(room.folder, cache, compact=True)
    assert after.read == 0 and after.status == "loaded"
    assert after.indexes is not None and len(after.indexes.origin.segments) == 1  # type: ignore[union-attr]
    assert_same_as_fresh(after, room.folder, queries(4))
    reopened = load_cached(room.folder, cache)
    assert reopened.indexes.origin.segments[0].name == after.indexes.origin.segments[0].name  # type: ignore[union-attr]
    assert [p.name for p in cache.iterdir() if p.name.startswith("seg-")] == [
        reopened.indexes.origin.segments[0].name  # type: ignore[union-attr]
    ]
    assert before.collection.article_ids() == reopened.collection.article_ids()


def cached_room(folder: Path, cache: Path) -> Library:
    loaded = load_cached(folder, cache)
    assert loaded.indexes is not None
    return Library.of(loaded.collection, SearchIndex(loaded.collection, built=loaded.indexes))


def built_articles(collection: Collection) -> int:
    """How many of a stored collection's articles have been built from the store."""
    stores = {id(s): s for s in collection.articles._stores}  # type: ignore[attr-defined]
    return sum(a is not None for s in stores.values() for a in s._articles)


def test_reload_reads_and_builds_only_what_changed(tmp_path: Path) -> None:
    """/reload after one added, one changed and one removed file of 300: the reply names
    them, the new article is answered, and only a handful of articles were ever built."""
    room_folder = ArticlesFolder(tmp_path, 5)
    for n in range(300):
        room_folder.write(f"a{n:03d}.txt", room_folder.text())
    cache = tmp_path / "cache"
    room = cached_room(room_folder.folder, cache)
    old_title = room.collection.articles[7].title
    (room_folder.folder / "a007.txt").unlink()
    room_folder.write(
        "a010.txt", "Quay ferry timetable changed\n\nThe zorblax ferry leaves at noon.\n"
    )
    room_folder.write("new.txt", "Zorblax harbour opens\n\nThe zorblax harbour opened today.\n")
    changes = reload_articles(room, room_folder.folder, cache)
    assert changes.added == ("Zorblax harbour opens",)
    assert changes.updated == ("Quay ferry timetable changed",)
    assert changes.removed == (old_title,)
    assert changes.total == 300 and room.generation == 2
    hits = room.current.index.search("When did the zorblax harbour open?", 3)
    assert hits and hits[0].passage.article.id == "new"
    assert built_articles(room.collection) < 30
    assert reload_articles(room, room_folder.folder, cache).changed is False


def test_background_compaction_then_reload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reload that leaves a large delta merges the segments in a background thread; the
    next reload starts from the merged segment and still answers exactly."""
    monkeypatch.setattr(snapshots, "SMALL", 0)
    monkeypatch.setattr(snapshots, "DELTA_SHARE", 0.01)
    room_folder = ArticlesFolder(tmp_path, 6)
    for n in range(60):
        room_folder.write(f"a{n:03d}.txt", room_folder.text())
    cache = tmp_path / "cache"
    room = cached_room(room_folder.folder, cache)
    for n in range(3):
        room_folder.write(f"b{n}.txt", room_folder.text())
    merged = threading.Event()
    original = snapshots.compact

    def compact_and_tell(root: Path, snapshot: snapshots.Snapshot) -> snapshots.Applied:
        result = original(root, snapshot)
        merged.set()
        return result

    monkeypatch.setattr(snapshots, "compact", compact_and_tell)
    reload_articles(room, room_folder.folder, cache)
    assert merged.wait(30)
    for thread in threading.enumerate():
        if thread.name == "newsbot-compact":
            thread.join(30)
    room_folder.write("c.txt", room_folder.text())
    reload_articles(room, room_folder.folder, cache)
    snapshot = room.current.index.built.origin
    assert isinstance(snapshot, snapshots.Snapshot)
    assert snapshot.segments[0].size == 63  # the merged segment, then the new article's
    loaded = load_cached(room_folder.folder, cache)
    assert_same_as_fresh(loaded, room_folder.folder, queries(6))
    assert compact_later(cache, loaded.indexes) is None  # type: ignore[arg-type]


def test_emptied_folder_keeps_the_cache(tmp_path: Path) -> None:
    """A folder with no readable article gives no index, and the saved state stays as it was."""
    room_folder = ArticlesFolder(tmp_path, 7)
    for n in range(5):
        room_folder.write(f"a{n}.txt", room_folder.text())
    cache = tmp_path / "cache"
    first = load_cached(room_folder.folder, cache)
    shutil.rmtree(room_folder.folder)
    room_folder.folder.mkdir()
    assert load_cached(room_folder.folder, cache).indexes is None
    assert (cache / "current").read_text() == first.indexes.origin.name  # type: ignore[union-attr]


def test_watch_reports_become_paths_under_the_folder(tmp_path: Path) -> None:
    """The folder watch's events give article paths under the folder; anything else (a
    folder moved in, a path outside) asks for a whole scan, and swap files are ignored."""
    folder = tmp_path / "articles"
    (folder / "sub").mkdir(parents=True)
    inside = [str(folder / "a.txt"), str(folder / "sub" / "b.md")]
    assert changed_files(folder, inside) == frozenset({"a.txt", "sub/b.md"})
    assert changed_files(folder, [*inside, str(folder / "moved-in")]) is None
    assert changed_files(folder, [str(tmp_path / "elsewhere.txt")]) is None
    assert is_article_change(Change.added, str(folder / "new-folder"))
    assert not is_article_change(Change.added, str(folder / ".a.txt.swp"))
    assert not is_article_change(Change.modified, str(folder / "a.txt~"))


def test_reload_of_watched_files_reads_only_them(tmp_path: Path) -> None:
    """A reload given the watch's files stats and reads only those: a change the watch did
    not report (a stale stat) is left for the next whole scan, which then finds it."""
    folder = ArticlesFolder(tmp_path, 8)
    for n in range(40):
        folder.write(f"a{n:03d}.txt", folder.text())
    cache = tmp_path / "cache"
    room = cached_room(folder.folder, cache)
    folder.write("a001.txt", "Ferry news\n\nThe zorblax ferry sank.\n")
    folder.write("new.txt", "Zorblax harbour opens\n\nThe zorblax harbour opened today.\n")
    changes = reload_articles(room, folder.folder, cache, frozenset({"new.txt"}))
    assert changes.added == ("Zorblax harbour opens",) and not changes.updated
    assert "Ferry news" not in [a.title for a in room.collection.articles]
    changes = reload_articles(room, folder.folder, cache)
    assert changes.updated == ("Ferry news",)
    assert_same_as_fresh(load_cached(folder.folder, cache), folder.folder, queries(8))


def test_a_replaced_index_is_freed_at_once(tmp_path: Path) -> None:
    """Everything loaded is frozen out of the cyclic garbage collector (settle_memory), so an
    index or collection caught in a reference cycle would outlive its reload: a newsroom
    reloading all day would keep every old one. Reference counting frees them instead."""
    folder = ArticlesFolder(tmp_path, 9)
    for n in range(20):
        folder.write(f"a{n:03d}.txt", folder.text())
    cache = tmp_path / "cache"
    room = cached_room(folder.folder, cache)
    settle_memory()  # as `newsbot run` does after loading
    old = room.current.index
    for question in ("When did the Harbour Council meet?", "How many ferries sailed?"):
        old.search(question, 3)
    refs = [weakref.ref(old), weakref.ref(old.sparse), weakref.ref(old.ranking)]
    refs.append(weakref.ref(room.collection))
    del old
    folder.write("new.txt", "Zorblax harbour opens\n\nThe zorblax harbour opened today.\n")
    assert reload_articles(room, folder.folder, cache).added == ("Zorblax harbour opens",)
    assert [r() for r in refs] == [None] * len(refs)


def test_reload_after_another_process_merged_the_segments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Instances sharing one cache: another process adds articles and merges the segments
    (removing the ones this bot still has open); this bot's next reload starts from the saved
    state, and what it saves opens in a fresh process without a rebuild."""
    monkeypatch.setattr(snapshots, "SMALL", 0)
    monkeypatch.setattr(snapshots, "DELTA_SHARE", 0.01)
    folder = ArticlesFolder(tmp_path, 10)
    for n in range(30):
        folder.write(f"a{n:03d}.txt", folder.text())
    cache = tmp_path / "cache"
    room = cached_room(folder.folder, cache)
    in_use = room.current.index.built.origin
    assert isinstance(in_use, snapshots.Snapshot)
    folder.write("b.txt", folder.text())
    other = load_cached(folder.folder, cache, compact=True)  # `newsbot ask` elsewhere
    assert other.indexes is not None
    assert not any((cache / s.name).exists() for s in in_use.segments)  # removed by it
    folder.write("c.txt", "Zorblax harbour opens\n\nThe zorblax harbour opened today.\n")
    changes = reload_articles(room, folder.folder, cache)
    assert set(changes.added) == {"Zorblax harbour opens", other.collection.articles[-1].title}
    fresh = load_cached(folder.folder, cache)
    assert fresh.status == "loaded"
    assert fresh.read == 0
    assert_same_as_fresh(fresh, folder.folder, queries(10))


def test_postings_cumsum_and_repeat_in_pieces_are_numpys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The merge's cumulative sums run in pieces (numpy holds the GIL for a whole one); the
    pieces add up to np.cumsum exactly, and repeat() to np.repeat, at every boundary."""
    monkeypatch.setattr(postings, "CUMSUM_CHUNK", 7)
    rng = np.random.default_rng(3)
    for n in (0, 1, 6, 7, 8, 14, 15, 500):
        values = rng.integers(0, 5, n).astype(np.int32)
        assert np.array_equal(postings.cumsum(values, np.int32), np.cumsum(values, dtype=np.int32))
        counts = rng.integers(0, 4, n)
        floats = rng.random(n)
        assert np.array_equal(postings.repeat(floats, counts), np.repeat(floats, counts))


def test_reload_when_the_cache_cannot_be_written_reads_only_what_changed(tmp_path: Path) -> None:
    """A cache that became unusable (disk full, a file in its place) while the bot runs: a
    reload updates the index in use in a temporary folder, reading only the changed file,
    instead of rebuilding everything; the answers are a fresh build's."""
    folder = ArticlesFolder(tmp_path, 11)
    for n in range(30):
        folder.write(f"a{n:03d}.txt", folder.text())
    cache = tmp_path / "cache"
    room = cached_room(folder.folder, cache)
    shutil.rmtree(cache)
    cache.write_text("a file where the cache folder was")
    folder.write("new.txt", "Zorblax harbour opens\n\nThe zorblax harbour opened today.\n")
    in_use = room.current.index.built
    loaded = load_cached(folder.folder, cache, origin=in_use, base=room.collection)
    assert loaded.read == 1
    assert loaded.status == "updated"
    changes = reload_articles(room, folder.folder, cache)
    assert changes.added == ("Zorblax harbour opens",)
    hits = room.current.index.search("When did the zorblax harbour open?", 3)
    assert hits and hits[0].passage.article.id == "new"
    assert_same_as_fresh(loaded, folder.folder, queries(11))
