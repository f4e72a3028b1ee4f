"""The index cache: a start reads only what changed in the articles folder.

Under NEWSBOT_CACHE_DIR (owner-only):

    current        the name of the current state (replaced atomically)
    state-<id>/    one state: state.json (cache key, content id, segment names), the manifest
                   (bot/collection/manifest.py), the spelling list, the words of deleted articles
    seg-<id>/      immutable segments (bot/collection/segments.py): parsed articles and their
    postings lock           held (flock) while a process updates, commits and cleans up
    CACHEDIR.TAG   marks the folder as the cache's own (see `_claim`)

A start scans the folder (one stat per file) and compares it with the manifest: an unchanged
collection opens its segments memory-mapped and reads no article file; new and changed files
are read and indexed into the delta (bot/collection/snapshots.py). The key hashes the retrieval
settings, the tokenizer's word lists and the source of the modules that parse and index, so a cache
made with other settings or other code is never used; one that cannot be read is rebuilt
with a warning. Old states and segments are removed once a new state is current: a process
still using them has them open (memory-mapped), which keeps their data. Only names the cache
writes are ever removed, and only in a folder that is its own: one it tagged, or one holding
nothing else (a new or empty folder); any other folder is refused (CacheFolderError).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path

from bot import text
from bot.articles import Article, Collection
from bot.collection import snapshots, views
from bot.collection.cache_folder import CacheFolderError, collect, locked
from bot.collection.manifest import Manifest, Scan, ScanDiff, compare_scan, patch_scan
from bot.collection.segments import Segment, open_segment, owner_only, publish, remove
from bot.collection.snapshots import Applied, Progress, Snapshot, needs_compaction
from bot.language import detect
from bot.lexical import indexing
from bot.lexical.indexing import Indexes

log = logging.getLogger(__name__)

# Bump when the meaning of saved files changes in a way the code hash below would not show.
CACHE_VERSION = "2"
STATE_FORMAT = 1
# The modules whose code decides what is saved: any edit to them makes a new key.
_CODE = (
    "bot.articles", "bot.scan", "bot.text", "bot.lexical.indexing", "bot.lexical.postings",
    "bot.collection.stored", "bot.collection.segments", "bot.collection.manifest",
    "bot.collection.snapshots", "bot.collection.views", "bot.language.analysis",
    "bot.language.detect",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Loaded:
    """A collection from the cache, brought up to date with its folder."""

    collection: Collection
    indexes: Indexes | None  # None: no readable article
    status: str  # "loaded", "updated", "built" or "rebuilt"
    changed: bool  # articles were added, changed or removed since the state it started from
    read: int  # article files read
    folder: Path
    skipped: tuple[tuple[str, str], ...] = ()  # files that are not articles (file, reason)


def cache_key(titles: bool = True) -> str:
    """A hash of the retrieval settings, the tokenizer's lists and the indexing code."""
    digest = hashlib.sha256()
    settings = {
        "version": CACHE_VERSION,
        "k1": indexing.BM25_K1,
        "b": indexing.BM25_B,
        "delta": indexing.BM25_DELTA,
        "lede": indexing.LEDE_REPEAT,
        "titles": titles,
        "stop": sorted(text.STOP_WORDS),
        "demonyms": sorted(text.DEMONYMS.items()),
        "phrases": sorted(text.EQUIVALENT_PHRASES.items()),
        "fields": [f.name for f in fields(Article)],
        "articles_language": detect.articles_language(),
    }
    digest.update(json.dumps(settings).encode())
    for name in _CODE:
        module = importlib.import_module(name)
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class _Request:
    folder: Path
    key: str
    scanned_ns: int  # when the scan began
    scan: Scan | None  # the whole folder scanned, or None: only `changed` is looked at
    changed: frozenset[str] | None
    origin: Indexes | None
    base: Collection | None
    force: bool
    compact: bool
    progress: Progress | None
    ephemeral: bool = False  # a temporary folder: the state in use is updated from as it is


def load_cached(
    articles_dir: Path,
    cache_dir: Path,
    *,
    origin: Indexes | None = None,
    base: Collection | None = None,
    changed: Iterable[str] | None = None,
    scan: Scan | None = None,
    force: bool = False,
    compact: bool = True,
    progress: Progress | None = None,
) -> Loaded:
    """The articles of `articles_dir` and their indexes, from the cache brought up to date.

    `origin` and `base`: the indexes and collection in use (a reload), updated from rather
    than re-read; the new collection then records what changed since `base`. `changed`:
    the only files (paths under the folder) that may have changed, as a folder watch reports
    them; without it the whole folder is scanned (or `scan` is that scan, made already).
    `compact` merges the segments when they call for it (else see `compact_in_place`);
    `force` rebuilds from the files.
    """
    only = frozenset(changed) if changed is not None and origin is not None else None
    if scan is None and only is None:
        scan = Scan.now(articles_dir)
    request = _Request(
        articles_dir,
        cache_key(),
        scan.started_ns if scan is not None else time.time_ns(),
        scan,
        only,
        origin,
        base,
        force,
        compact,
        progress,
    )
    if cache_dir.resolve() == articles_dir.resolve():
        raise CacheFolderError(f"NEWSBOT_CACHE_DIR must not be the articles folder: {cache_dir}")
    try:
        with locked(cache_dir):
            return _open(cache_dir, request)
    except OSError as exc:
        log.warning("Cannot use the index cache in %s (%s): indexing in memory", cache_dir, exc)
    scan = request.scan or Scan.now(articles_dir)
    if (
        origin is not None
        and isinstance(origin.origin, Snapshot)
        and origin.origin.key == request.key
    ):
        # A reload: update the state in use (its segments stay open) instead of rebuilding.
        fresh = dataclasses.replace(request, scan=scan, changed=None, ephemeral=True)
    else:
        fresh = dataclasses.replace(
            request, scan=scan, changed=None, origin=None, base=None, force=True
        )
    with tempfile.TemporaryDirectory(prefix="newsbot-index-") as folder:  # open files survive
        return _open(Path(folder), fresh)


def compact_in_place(cache_dir: Path, indexes: Indexes) -> bool:
    """Merge the segments of the state `indexes` came from, and make that current if it
    still is (a reload may have moved on). Blocking: the bot runs it in a thread."""
    snapshot = indexes.origin
    if not isinstance(snapshot, Snapshot) or not needs_compaction(snapshot):
        return False
    update = snapshots.compact(cache_dir, snapshot)  # immutable inputs: no lock needed yet
    try:
        with locked(cache_dir):
            if _current(cache_dir) != snapshot.name:
                return False
            _commit(cache_dir, update)
            return True
    finally:
        for segment in update.new_segments:
            if segment.folder.name.startswith("."):  # not published
                remove(segment.folder)


def _open(cache_dir: Path, request: _Request) -> Loaded:
    origin, base = request.origin, request.base
    known = origin.origin if origin is not None else None
    in_use = known if isinstance(known, Snapshot) else None
    start, status = _start(cache_dir, request.key, in_use, request.force, request.ephemeral)
    scan, diff, scanned_ns = _scan(request, start)
    update = snapshots.apply(cache_dir, start, scan, diff, scanned_ns, request.progress)
    written = list(update.new_segments)
    try:
        if request.compact and needs_compaction(update.snapshot):
            compacted = snapshots.compact(cache_dir, update.snapshot)
            written += compacted.new_segments
            update = _replace_snapshot(update, compacted)
        if update.rewritten and update.snapshot.manifest.articles().size:
            _commit(cache_dir, update)
    finally:
        for segment in written:
            if segment.folder.name.startswith("."):
                remove(segment.folder)
    same_content = in_use is not None and in_use.content == start.content
    if origin is not None and base is not None and not update.changed and same_content:
        skipped = views.skipped_files(update.snapshot, update)
        same = dataclasses.replace(base, skipped=skipped, lineage=None)  # shares the articles
        return Loaded(same, origin, "loaded", False, update.read, cache_dir, skipped)
    collection, indexes = views.view(
        update.snapshot, base if same_content else None, update if same_content else None
    )
    if not start.segments:
        status = status if status in ("built", "rebuilt") else "built"
    elif update.changed:
        status = "updated"
    changed = update.changed
    return Loaded(collection, indexes, status, changed, update.read, cache_dir, collection.skipped)


def _scan(request: _Request, start: Snapshot) -> tuple[Scan, ScanDiff, int]:
    """The folder against start's manifest: the files the watch reported, or all of them.
    (Looking at a few files only, the manifest keeps the time of the last whole scan: files
    it would still re-check as possibly changed stay so.)"""
    if request.changed is not None and start.segments:
        scan, diff = patch_scan(start.manifest, request.folder, request.changed)
        return scan, diff, start.manifest.scanned_ns
    scan = request.scan or Scan.now(request.folder)
    return scan, compare_scan(start.manifest, scan), request.scanned_ns


def _replace_snapshot(update: Applied, compacted: Applied) -> Applied:
    return Applied(
        compacted.snapshot,
        update.new_segments + compacted.new_segments,
        update.changed,
        True,
        update.read,
        update.added,
        update.updated,
        update.removed,
        update.unreadable,
    )


def _start(
    cache_dir: Path, key: str, origin: Snapshot | None, force: bool, ephemeral: bool = False
) -> tuple[Snapshot, str]:
    """The state to update from: the one in use, or the saved one if it has moved on (in a
    temporary folder, `ephemeral`, always the one in use)."""
    if force:
        return Snapshot.empty(key), "built"
    if ephemeral and origin is not None:
        return origin, "loaded"
    if origin is not None and origin.key == key and _current(cache_dir) == origin.name:
        return origin, "loaded"  # the saved state is the one in use
    known = {s.name: s for s in origin.segments} if origin else {}
    # The state in use can be updated from only while its segments are still saved: another
    # process may have merged them and removed them (their data stays open here, but a new
    # state naming them would be unreadable).
    usable = origin is not None and origin.key == key and _saved(cache_dir, origin)
    try:
        saved = _load(cache_dir, key, known)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("Index cache %s is unreadable (%s): rebuilding it", cache_dir, exc)
        if origin is not None and usable:
            return origin, "loaded"
        return Snapshot.empty(key), "rebuilt"
    moved_on = saved is not None and origin is not None and saved.content == origin.content
    if origin is not None and usable and not moved_on:
        return origin, "loaded"
    if saved is None:
        return Snapshot.empty(key), "built"
    return saved, "loaded"


def _saved(cache_dir: Path, snapshot: Snapshot) -> bool:
    """Are all of the state's segments saved under `cache_dir`?"""
    return all((cache_dir / segment.name).is_dir() for segment in snapshot.segments)


def _current(cache_dir: Path) -> str | None:
    try:
        return (cache_dir / "current").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None


def _load(cache_dir: Path, key: str, known: dict[str, Segment]) -> Snapshot | None:
    """The current saved state if it was made with this key, else None."""
    name = _current(cache_dir)
    if name is None:
        return None
    folder = cache_dir / name
    state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    if state.get("format") != STATE_FORMAT or state.get("key") != key:
        return None
    segments = tuple(known.get(n) or open_segment(cache_dir / n) for n in state["segments"])
    manifest = Manifest.load(folder / "manifest")
    entries = manifest.entries[manifest.articles()]
    for n, segment in enumerate(segments):
        mine = entries[entries[:, 0] == n, 1]
        if len(mine) and (mine.min() < 0 or mine.max() >= segment.size):
            raise ValueError(f"manifest does not match segment {segment.name}")
    if len(entries) and entries[:, 0].max() >= len(segments):
        raise ValueError("manifest names a missing segment")
    spellings = (folder / "spellings.txt").read_text(encoding="utf-8").split("\n")
    dead = Counter(json.loads((folder / "dead_surface.json").read_text(encoding="utf-8")))
    return Snapshot(
        name, key, str(state["content"]), segments, manifest, [s for s in spellings if s], dead
    )


def _commit(cache_dir: Path, update: Applied) -> None:
    """Save the state, make it current, then remove what no state uses any more."""
    snapshot = update.snapshot
    for segment in update.new_segments:
        if segment in snapshot.segments:
            publish(segment, cache_dir)
    temporary = cache_dir / f".{snapshot.name}.{os.getpid()}.tmp"
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    state = {
        "format": STATE_FORMAT,
        "key": snapshot.key,
        "content": snapshot.content,
        "segments": [s.name for s in snapshot.segments],
    }
    (temporary / "state.json").write_text(json.dumps(state), encoding="utf-8")
    snapshot.manifest.save(temporary / "manifest")
    (temporary / "spellings.txt").write_text("\n".join(snapshot.spellings), encoding="utf-8")
    dead = {w: n for w, n in snapshot.dead_surface.items() if n > 0}
    (temporary / "dead_surface.json").write_text(json.dumps(dead), encoding="utf-8")
    owner_only(temporary)
    os.replace(temporary, cache_dir / snapshot.name)
    pointer = cache_dir / f".current.{os.getpid()}.tmp"
    pointer.write_text(snapshot.name, encoding="utf-8")
    pointer.chmod(0o600)
    os.replace(pointer, cache_dir / "current")  # the new state appears whole or not at all
    collect(cache_dir, {snapshot.name, *(s.name for s in snapshot.segments)})


def size_on_disk(folder: Path) -> int:
    """Bytes used by the files under `folder`."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
