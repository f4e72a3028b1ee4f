"""A snapshot read as a collection and its indexes: the segments' documents in collection order.

The collection's order is the manifest's (files in path order); each segment's articles and
passages get their collection positions from it (-1: deleted), which is all bot/lexical/bm25.py
needs to score the segments as one collection, and all bot/collection/stored.py needs to build the
articles and passages of a position on first use.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from functools import partial

import numpy as np
from numpy.typing import NDArray

from bot.articles import Collection, Lineage
from bot.collection.segments import Segment
from bot.collection.snapshots import Applied, Snapshot
from bot.collection.stored import StoredArticles, StoredPassages
from bot.lexical.bm25 import BM25Index
from bot.lexical.indexing import BM25_B, BM25_DELTA, BM25_K1, Indexes
from bot.lexical.postings import repeat


def view(
    snapshot: Snapshot, base: Collection | None = None, update: Applied | None = None
) -> tuple[Collection, Indexes | None]:
    """The collection and indexes a snapshot holds (articles are built on first use). With
    `base`, the collection `update` was computed from, the collection records what changed."""
    manifest = snapshot.manifest
    entries = manifest.entries[manifest.articles()]
    part, local = entries[:, 0].copy(), entries[:, 1].copy()
    counts = np.zeros(len(part), dtype=np.int64)
    for n, segment in enumerate(snapshot.segments):
        mine = part == n
        counts[mine] = np.diff(segment.first_passage)[local[mine]]
    first = np.cumsum(counts) - counts
    article_of = repeat(np.arange(len(part), dtype=np.int64), counts)
    article_pos, passage_pos = [], []
    for n, segment in enumerate(snapshot.segments):
        mine = np.flatnonzero(part == n)
        where = np.full(segment.size, -1, dtype=np.int64)
        where[local[mine]] = mine
        article_pos.append(where)
        passage_pos.append(_passage_positions(segment, local[mine], first[mine], counts[mine]))
    stored = StoredArticles([s.store for s in snapshot.segments], part, local)
    skipped = skipped_files(snapshot, update)
    lineage = None
    if base is not None and update is not None:
        lineage = Lineage(weakref.ref(base), update.added, update.updated, update.removed)
    collection = Collection(stored, StoredPassages(stored, article_of), skipped, lineage)
    if not len(part):
        return collection, None
    segments = snapshot.segments
    indexes = Indexes(
        BM25Index([s.passages for s in segments], passage_pos, BM25_K1, BM25_B, BM25_DELTA),
        BM25Index([s.articles for s in segments], article_pos, BM25_K1, BM25_B, BM25_DELTA),
        snapshot.spellings,
        article_of,
        snapshot,
        partial(_passage_keys, segments, passage_pos, len(article_of)),
    )
    return collection, indexes


def _passage_keys(
    segments: Sequence[Segment], positions: Sequence[NDArray[np.int64]], count: int
) -> NDArray[np.uint8]:
    """The segments' passage keys in collection order (deleted passages left out)."""
    keys = np.zeros((count, 16), dtype=np.uint8)
    for segment, where in zip(segments, positions, strict=True):
        live = where >= 0
        keys[where[live]] = segment.passage_keys[live]
    return keys


def skipped_files(snapshot: Snapshot, update: Applied | None) -> tuple[tuple[str, str], ...]:
    """(file, reason) of the files that are not articles, in path order."""
    manifest = snapshot.manifest
    found = [(manifest.paths[row], reason) for row, reason in manifest.reasons.items()]
    found += update.unreadable if update else ()
    return tuple(sorted(found, key=lambda item: item[0].replace("/", "\x00")))


def _passage_positions(
    segment: Segment,
    articles: NDArray[np.int64],
    first: NDArray[np.int64],
    counts: NDArray[np.int64],
) -> NDArray[np.int64]:
    """Each of the segment's passages' collection position (-1: its article is deleted)."""
    where = np.full(segment.passages.size, -1, dtype=np.int64)
    step = np.arange(int(counts.sum())) - repeat(np.cumsum(counts) - counts, counts)
    where[repeat(segment.first_passage[articles], counts) + step] = repeat(first, counts) + step
    return where
