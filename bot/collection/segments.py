"""Segments: immutable slices of the collection, each with its articles and their postings.

A change to the articles folder never rebuilds what did not change: new and changed articles
go to a small segment, removed ones are marked deleted where they live, and segments are
merged later (as Lucene does) by concatenating their postings, without tokenizing again.
A segment is a folder under the cache: the parsed articles (bot/collection/stored.py), the passage
and article postings (bot/lexical/postings.py), where each article's passages start, and the words
used.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bot.articles import Article, passages_of
from bot.collection.stored import ArticleStore, copy_store, write_store
from bot.lexical.indexing import BM25_B, BM25_K1, index_documents
from bot.lexical.postings import Postings, merge_postings, repeat
from bot.text import text_keys, words


@dataclass(frozen=True, slots=True, eq=False)
class Segment:
    """Articles 0..n-1 of this segment, their passages (articles' passages in order: article
    a has passages first_passage[a]..first_passage[a+1]-1) and the postings of both."""

    name: str
    folder: (
        Path  # where it was written: a temporary folder until bot/collection/cache.py publishes it
    )
    store: ArticleStore
    passages: Postings
    articles: Postings
    first_passage: NDArray[np.int64]
    _surface: bytes = field(repr=False)
    # Per passage, the key of its text (bot/text.py text_key): how the semantic stage finds
    # a passage's vector without reading its text (memory-mapped).
    passage_keys: NDArray[np.uint8] = field(
        repr=False, default_factory=lambda: np.zeros((0, 16), dtype=np.uint8)
    )

    @property
    def size(self) -> int:
        return self.store.size

    def surface(self) -> Counter[str]:
        """Case-folded words of the segment's titles and passages, with counts."""
        data = json.loads(self._surface)
        return Counter(dict(zip(data["words"], data["counts"], strict=True)))

    def passage_mask(self, articles: NDArray[np.bool_]) -> NDArray[np.bool_]:
        """Per passage: does its article have the flag set in `articles`?"""
        return repeat(articles, np.diff(self.first_passage))


_NO_KEYS = np.zeros((0, 16), dtype=np.uint8)


def build_segment(
    root: Path,
    articles: Sequence[Article],
    avgdl: tuple[float, float] | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> Segment:
    """Index `articles` (titles included) as a new segment saved under `root`; `progress` is
    called with (passages done since the last call, passages in all)."""
    per_article = [tuple(passages_of(a)) for a in articles]
    passages = [p for mine in per_article for p in mine]
    counts = [len(mine) for mine in per_article]
    article_of = np.repeat(np.arange(len(articles), dtype=np.int64), counts)
    step = (lambda done: progress(done, len(passages))) if progress else None
    documents = index_documents(articles, passages, article_of, True, step, workers, avgdl)
    first = np.zeros(len(articles) + 1, dtype=np.int64)
    np.cumsum(counts, out=first[1:])
    return _save(
        root,
        lambda folder: write_store(folder, articles, per_article),
        documents.passages,
        documents.articles,
        first,
        documents.surface,
        text_keys(p.text for p in passages),
    )


def merge_segments(
    root: Path,
    parts: Sequence[tuple[Segment, NDArray[np.bool_] | None]],
    avgdl: tuple[float, float],
    dead_surface: Counter[str] | None = None,
) -> tuple[Segment, list[NDArray[np.int64]]]:
    """One segment holding the live articles of `parts` (segment, deleted articles or None),
    in order, and per part each article's new number (-1: deleted); `dead_surface` is the
    word counts of the deleted articles."""
    article_maps, passage_maps = [], []
    articles_done = passages_done = 0
    for segment, dead in parts:
        alive = np.ones(segment.size, dtype=bool) if dead is None else ~dead
        article_maps.append(_renumber(alive, articles_done))
        passage_alive = segment.passage_mask(alive)
        passage_maps.append(_renumber(passage_alive, passages_done))
        articles_done += int(alive.sum())
        passages_done += int(passage_alive.sum())
    passages = merge_postings(
        [(s.passages, m) for (s, _), m in zip(parts, passage_maps, strict=True)],
        passages_done,
        BM25_K1,
        BM25_B,
        avgdl[0],
    )
    articles = merge_postings(
        [(s.articles, m) for (s, _), m in zip(parts, article_maps, strict=True)],
        articles_done,
        BM25_K1,
        BM25_B,
        avgdl[1],
    )
    counts = [
        np.diff(s.first_passage)[m >= 0] for (s, _), m in zip(parts, article_maps, strict=True)
    ]
    first = np.zeros(articles_done + 1, dtype=np.int64)
    np.cumsum(np.concatenate(counts) if counts else [], out=first[1:])
    surface: Counter[str] = Counter()
    for segment, _ in parts:
        surface.update(segment.surface())
    surface.subtract(dead_surface or Counter())
    stores = [(s.store, m >= 0) for (s, _), m in zip(parts, article_maps, strict=True)]
    keys = [s.passage_keys[m >= 0] for (s, _), m in zip(parts, passage_maps, strict=True)]
    merged = _save(
        root,
        lambda folder: copy_store(folder, stores),
        passages,
        articles,
        first,
        surface,
        np.concatenate(keys) if keys else _NO_KEYS,
    )
    for (segment, _), new in zip(parts, article_maps, strict=True):  # keep what was built
        for old in np.flatnonzero(new >= 0).tolist():
            merged.store.adopt(int(new[old]), segment.store, old)
    return merged, article_maps


def article_words(article: Article) -> Counter[str]:
    """The words an article adds to the spelling vocabulary (its title and passages)."""
    counts = Counter(words(article.title))
    for passage in passages_of(article):
        counts.update(words(passage.text))
    return counts


def _renumber(keep: NDArray[np.bool_], start: int) -> NDArray[np.int64]:
    """New ids start, start+1, ... for the kept items, in order; -1 for the others."""
    ids = np.full(len(keep), -1, dtype=np.int64)
    ids[keep] = np.arange(start, start + int(keep.sum()))
    return ids


def _save(
    root: Path,
    write: Callable[[Path], None],
    passages: Postings,
    articles: Postings,
    first: NDArray[np.int64],
    surface: Counter[str],
    keys: NDArray[np.uint8],
) -> Segment:
    """Write a segment, owner-only, into a temporary folder under `root` (see `publish`)."""
    name = f"seg-{uuid.uuid4().hex[:16]}"
    temporary = root / f".{name}.{os.getpid()}.tmp"
    write(temporary / "store")
    passages.save(temporary / "passages")
    articles.save(temporary / "articles")
    np.save(temporary / "first_passage.npy", first, allow_pickle=False)
    np.save(temporary / "passage_keys.npy", keys, allow_pickle=False)
    kept = {w: n for w, n in surface.items() if n > 0}
    data = json.dumps({"words": list(kept), "counts": list(kept.values())}).encode()
    (temporary / "surface.json").write_bytes(data)
    owner_only(temporary)
    return open_segment(temporary, name)


def publish(segment: Segment, root: Path) -> None:
    """Give a newly written segment its name under `root` (its files stay open)."""
    final = root / segment.name
    if segment.folder != final and not final.exists():
        os.replace(segment.folder, final)


def open_segment(folder: Path, name: str | None = None) -> Segment:
    """A saved segment; ValueError (or OSError) if it is incomplete or inconsistent."""
    store = ArticleStore(folder / "store")
    passages = Postings.load(folder / "passages")
    articles = Postings.load(folder / "articles")
    first = np.load(folder / "first_passage.npy", allow_pickle=False)
    surface = (folder / "surface.json").read_bytes()
    keys = np.load(folder / "passage_keys.npy", mmap_mode="r", allow_pickle=False)
    if not (len(first) == store.size + 1 == articles.size + 1 and first[-1] == passages.size):
        raise ValueError(f"segment {folder.name} does not agree with itself")
    if keys.shape != (passages.size, 16):
        raise ValueError(f"segment {folder.name}: passage keys do not match its passages")
    return Segment(name or folder.name, folder, store, passages, articles, first, surface, keys)


def owner_only(folder: Path) -> None:
    """Make `folder` and everything in it readable by the owner only."""
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o700 if path.is_dir() else 0o600)


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
