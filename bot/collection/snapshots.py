"""Bringing a saved collection up to date with its folder, without rebuilding it.

A snapshot holds the collection in two segments at most: the main one and a delta. An update
reads only the files the manifest says changed (bot/collection/manifest.py). The articles they held
are deleted where they live (a deleted article is one no manifest row points to); the new and
changed articles are indexed into a small segment, merged with the delta's live articles
(postings concatenated, bot/lexical/postings.py). When the delta or the main segment's deleted part
outgrows its share, `compact` merges everything into one main segment (the bot does it in
the background). Statistics are always the whole live collection's (bot/lexical/bm25.py), so every
score equals a fresh build's.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bot.articles import (
    Article,
    ArticleError,
    UnreadableError,
    changes_between,
    decode_article_bytes,
    parse_article,
    read_bytes,
)
from bot.collection.manifest import SKIPPED, Manifest, Scan, ScanDiff, digest
from bot.collection.segments import Segment, article_words, build_segment, merge_segments
from bot.lexical.indexing import spellings

log = logging.getLogger(__name__)

# The delta is merged into the main segment (`compact`) when it holds more than this share of
# the main segment's live passages, or when this share of the main segment is deleted. Until
# then every update rewrites the delta, so it must stay small.
DELTA_SHARE = 0.05
DEAD_SHARE = 0.05
# A collection up to this many passages is merged whole at every change: it costs little.
SMALL = 5_000

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True, slots=True, eq=False)
class Snapshot:
    """One state of the cache: segments (main, then the delta), the manifest that maps the
    folder's files to their articles, the spelling list and the words of deleted articles.
    `content` names what the articles are: compaction keeps it, updates change it."""

    name: str
    key: str
    content: str
    segments: tuple[Segment, ...]
    manifest: Manifest
    spellings: list[str]
    dead_surface: Counter[str] = field(default_factory=Counter)

    @classmethod
    def empty(cls, key: str) -> Snapshot:
        return cls(new_name("state"), key, new_name("content"), (), Manifest.empty(), [])

    def alive(self) -> list[NDArray[np.bool_]]:
        """Per segment: which of its articles the manifest points to."""
        alive = [np.zeros(s.size, dtype=bool) for s in self.segments]
        entries = self.manifest.entries[self.manifest.articles()]
        for n in range(len(self.segments)):
            alive[n][entries[entries[:, 0] == n, 1]] = True
        return alive


@dataclass(frozen=True, slots=True)
class Applied:
    """What `apply` made of a folder scan."""

    snapshot: Snapshot
    new_segments: tuple[Segment, ...]
    changed: bool  # articles were added, changed or removed
    rewritten: bool  # the manifest changed (to be saved), articles or not
    read: int  # files read
    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unreadable: tuple[tuple[str, str], ...] = ()  # files that could not be read this time


@dataclass
class _Reads:
    fresh: list[tuple[int, Article]] = field(default_factory=list)  # (scan number, article)
    skipped: dict[int, str] = field(default_factory=dict)  # scan number -> reason
    digests: dict[int, bytes] = field(default_factory=dict)
    unreadable: dict[int, str] = field(default_factory=dict)  # not kept: read next time
    unchanged: set[int] = field(default_factory=set)  # racy files whose hash did not change


def new_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def apply(
    root: Path,
    start: Snapshot,
    scan: Scan,
    diff: ScanDiff,
    scanned_ns: int,
    progress: Progress | None = None,
) -> Applied:
    """Bring `start` up to date with a scan of its folder (begun at `scanned_ns`; `diff`:
    the scan against start's manifest). New segments are written under `root`, unpublished
    (bot/collection/cache.py publishes them)."""
    manifest = start.manifest
    reads = _read_files(scan, diff, manifest, progress)
    stale = {int(diff.rows[n]) for n in np.flatnonzero(diff.read) if n not in reads.unchanged}
    killed_rows = sorted((stale - {-1}) | set(diff.gone.tolist()))
    killed = [(int(p), int(n)) for p, n in manifest.entries[killed_rows] if p != SKIPPED]
    fresh = [a for _, a in reads.fresh]
    changed = bool(fresh or killed)
    unreadable = tuple((scan.paths[n], reason) for n, reason in reads.unreadable.items())
    if not (changed or reads.skipped or reads.unchanged or len(diff.gone)):
        return Applied(start, (), False, False, len(reads.unreadable), unreadable=unreadable)
    segments, dead = list(start.segments), start.dead_surface
    moved: list[NDArray[np.int64] | None] = []
    written: list[Segment] = []
    if changed:
        segments, moved, dead, written = _resegment(root, start, killed, fresh, progress)
    snapshot = Snapshot(
        new_name("state"),
        start.key,
        new_name("content") if changed else start.content,
        tuple(segments),
        _manifest(scan, scanned_ns, diff, manifest, reads, moved, segments),
        spellings(_surface(segments, dead)) if changed else start.spellings,
        dead,
    )
    before = [start.segments[p].store.article(n) for p, n in killed]
    added, updated, removed = changes_between(before, fresh)
    read = len(np.flatnonzero(diff.read))
    return Applied(
        snapshot, tuple(written), changed, True, read, added, updated, removed, unreadable
    )


def _read_files(
    scan: Scan, diff: ScanDiff, manifest: Manifest, progress: Progress | None
) -> _Reads:
    """Read the files that may have changed, in path order."""
    reads = _Reads()
    which = np.flatnonzero(diff.read).tolist()
    for done, n in enumerate(which, start=1):
        info = scan.info(n)
        if progress is not None and (done % 500 == 0 or done == len(which)):
            progress("reading", (done - 1) % 500 + 1, len(which))
        try:
            data = read_bytes(info)
        except UnreadableError as exc:
            log.warning("Skipping %s: %s", info.rel, exc)
            reads.unreadable[n] = str(exc)
            continue
        except ArticleError as exc:  # too large
            log.warning("Skipping %s: %s", info.rel, exc)
            reads.skipped[n] = str(exc)
            continue
        reads.digests[n] = digest(data)
        if diff.racy[n] and reads.digests[n] == manifest.digests[diff.rows[n]].tobytes():
            reads.unchanged.add(n)
            continue
        try:
            article = parse_article(decode_article_bytes(data), info.rel)
        except ArticleError as exc:
            log.warning("Skipping %s: %s", info.rel, exc)
            reads.skipped[n] = str(exc)
            continue
        reads.fresh.append((n, replace(article, modified=info.mtime)))
    return reads


def _resegment(
    root: Path,
    start: Snapshot,
    killed: Sequence[tuple[int, int]],
    fresh: list[Article],
    progress: Progress | None,
) -> tuple[list[Segment], list[NDArray[np.int64] | None], Counter[str], list[Segment]]:
    """Segments after deleting `killed` and adding `fresh`: the main segment keeps its deleted
    articles (their words are counted in the deleted words), the delta is rebuilt from its
    live articles and the new ones. Returns the segments, per old segment the new numbers of
    its articles (None: unchanged), the deleted words and the segments written."""
    segments = list(start.segments)
    alive = start.alive()
    for part, local in killed:
        alive[part][local] = False
    moved: list[NDArray[np.int64] | None] = [None] * len(segments)
    step = (lambda done, total: progress("indexing", done, total)) if progress else None
    tiny = build_segment(root, fresh, progress=step) if fresh else None
    written = [tiny] if tiny else []
    if not segments:
        return written, moved, Counter(), written
    dead = Counter(start.dead_surface)
    for part, local in killed:
        if part == 0:
            dead.update(article_words(segments[0].store.article(local)))
    delta = segments[1] if len(segments) > 1 else None
    if delta is None or (alive[1].all() and tiny is None):  # the delta stays as it is
        return [segments[0], *([delta] if delta else []), *written], moved, dead, written
    if delta is not None and not alive[1].any() and tiny is None:
        return [segments[0]], [None, np.full(delta.size, -1)], dead, written
    parts: list[tuple[Segment, NDArray[np.bool_] | None]] = []
    gone: Counter[str] = Counter()
    if delta is not None:
        parts.append((delta, ~alive[1]))
        for local in np.flatnonzero(~alive[1]).tolist():
            gone.update(article_words(delta.store.article(local)))
    parts += [(tiny, None)] if tiny else []
    live = [(segments[0], alive[0]), *([(delta, alive[1])] if delta else [])]
    averages = average_lengths([*live, *((s, None) for s in written)])
    merged, maps = merge_segments(root, parts, averages, gone)
    if delta is not None:
        moved[1] = maps[0]
    return [segments[0], merged], moved, dead, [*written, merged]


def _manifest(
    scan: Scan,
    scanned_ns: int,
    diff: ScanDiff,
    manifest: Manifest,
    reads: _Reads,
    moved: Sequence[NDArray[np.int64] | None],
    segments: Sequence[Segment],
) -> Manifest:
    """The manifest after an update: one row per scanned file (unreadable ones left out)."""
    count = len(scan.paths)
    entries = np.full((count, 2), SKIPPED, dtype=np.int64)
    kept = ~diff.read
    kept[list(reads.unchanged)] = True
    old = manifest.entries[diff.rows[kept]]
    for n, new in enumerate(moved):
        if new is not None:
            mine = old[:, 0] == n
            old[mine, 1] = new[old[mine, 1]]
    entries[kept] = old
    if reads.fresh:
        last = len(segments) - 1
        numbers = np.arange(segments[last].size - len(reads.fresh), segments[last].size)
        entries[[n for n, _ in reads.fresh]] = np.stack([np.full(len(numbers), last), numbers], 1)
    digests = np.zeros((count, 16), dtype=np.uint8)
    known = diff.rows >= 0
    digests[known] = manifest.digests[diff.rows[known]]
    for n, value in reads.digests.items():
        digests[n] = np.frombuffer(value, dtype=np.uint8)
    keep = np.ones(count, dtype=bool)
    keep[list(reads.unreadable)] = False
    rows = np.cumsum(keep) - 1
    # Old reasons follow their rows (a handful: no pass over every file in Python).
    new_row = np.full(len(manifest.paths), -1, dtype=np.int64)
    new_row[diff.rows[kept]] = rows[kept]
    reasons = {int(new_row[r]): why for r, why in manifest.reasons.items() if new_row[r] >= 0}
    reasons.update({int(rows[n]): reason for n, reason in reads.skipped.items()})
    paths = scan.paths
    if reads.unreadable:
        paths = [p for p, k in zip(paths, keep.tolist(), strict=True) if k]
    return Manifest(
        paths,
        scan.stats[keep],
        digests[keep],
        entries[keep],
        reasons,
        scanned_ns,
    )


def compact(root: Path, snapshot: Snapshot) -> Applied:
    """Merge every segment of `snapshot` into one, deleted articles dropped (same content)."""
    alive = snapshot.alive()
    parts = [(s, ~a) for s, a in zip(snapshot.segments, alive, strict=True)]
    averages = average_lengths(list(zip(snapshot.segments, alive, strict=True)))
    merged, maps = merge_segments(root, parts, averages, snapshot.dead_surface)
    entries = snapshot.manifest.entries.copy()
    articles = entries[:, 0] != SKIPPED
    for n, new in enumerate(maps):
        mine = entries[:, 0] == n
        entries[mine, 1] = new[entries[mine, 1]]
    entries[articles, 0] = 0
    compacted = replace(
        snapshot,
        name=new_name("state"),
        segments=(merged,),
        manifest=replace(snapshot.manifest, entries=entries),
        dead_surface=Counter(),
    )
    return Applied(compacted, (merged,), False, True, 0)


def needs_compaction(snapshot: Snapshot) -> bool:
    """Has the delta, or the main segment's deleted part, outgrown its share?"""
    if not snapshot.segments:
        return False
    main = snapshot.segments[0]
    live = int(main.passage_mask(snapshot.alive()[0]).sum())
    dead = main.passages.size - live
    delta = sum(s.passages.size for s in snapshot.segments[1:])
    if not (delta or dead):
        return False
    if live + delta <= SMALL:
        return True
    return delta > DELTA_SHARE * live or dead > DEAD_SHARE * main.passages.size


def _surface(segments: Sequence[Segment], dead: Counter[str]) -> Counter[str]:
    words: Counter[str] = Counter()
    for segment in segments:
        words.update(segment.surface())
    words.subtract(dead)
    return words


def average_lengths(
    parts: Sequence[tuple[Segment, NDArray[np.bool_] | None]],
) -> tuple[float, float]:
    """Average passage and article lengths over the live articles of `parts` (segment, which
    of its articles are live; None: all)."""
    totals = [0, 0, 0, 0]
    for segment, alive in parts:
        live = np.ones(segment.size, dtype=bool) if alive is None else alive
        passages = segment.passage_mask(live)
        totals[0] += int(segment.passages.doc_len[passages].sum())
        totals[1] += int(passages.sum())
        totals[2] += int(segment.articles.doc_len[live].sum())
        totals[3] += int(live.sum())
    return totals[0] / max(totals[1], 1), totals[2] / max(totals[3], 1)
