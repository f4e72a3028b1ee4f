"""The index cache: built once, saved under the data folder, reloaded on start.

The cache key is a hash of everything the index depends on: the articles' text as parsed,
the retrieval settings and the tokenizer's word lists. Any change gives a new key, so a
stale cache is never used; a cache that cannot be read is rebuilt with a warning.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot import indexing, text
from bot.articles import Collection
from bot.bm25 import BM25Index

log = logging.getLogger(__name__)

# Bump when the meaning of a saved index changes (tokenizer code, index layout).
CACHE_VERSION = "1"


@dataclass(frozen=True, slots=True)
class CacheResult:
    indexes: indexing.Indexes
    status: str  # "loaded", "built" or "rebuilt"
    folder: Path


def cache_key(collection: Collection, titles: bool = True) -> str:
    """A hash of the articles as parsed, the retrieval settings and the tokenizer lists."""
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
    }
    digest.update(json.dumps(settings).encode())
    for article in collection.articles:
        digest.update(json.dumps([article.id, article.title, article.subtitle]).encode())
    for passage in collection.passages:
        digest.update(f"\x00{passage.paragraph}\x00{passage.text}".encode())
    return digest.hexdigest()[:32]


def load_or_build(
    collection: Collection,
    folder: Path,
    titles: bool = True,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
) -> CacheResult:
    """The indexes for `collection`: from the cache if it is there and sound, else built."""
    key = cache_key(collection, titles)
    target = folder / key
    status = "built"
    if target.is_dir() and not force:
        try:
            loaded = _load(target, collection)
            return CacheResult(loaded, "loaded", target)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("Index cache %s is unreadable (%s): rebuilding it", target, exc)
            status = "rebuilt"
    built = indexing.build_indexes(collection, titles, progress)
    try:
        _save(built, folder, key)
    except OSError as exc:
        log.warning("Could not save the index cache in %s: %s", folder, exc)
    return CacheResult(built, status, target)


def _load(target: Path, collection: Collection) -> indexing.Indexes:
    passages = BM25Index.load(target / "passages")
    articles = BM25Index.load(target / "articles")
    if passages.size != len(collection.passages) or articles.size != len(collection.articles):
        raise ValueError("cache does not match the collection")
    spellings = (target / "spellings.txt").read_text(encoding="utf-8").split("\n")
    return indexing.Indexes(passages, articles, [s for s in spellings if s])


def _save(built: indexing.Indexes, folder: Path, key: str) -> None:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = folder / f".{key}.{os.getpid()}.tmp"
    shutil.rmtree(temporary, ignore_errors=True)
    built.passages.save(temporary / "passages")
    built.articles.save(temporary / "articles")
    (temporary / "spellings.txt").write_text("\n".join(built.spellings), encoding="utf-8")
    for path in [temporary, *temporary.rglob("*")]:
        path.chmod(0o700 if path.is_dir() else 0o600)
    target = folder / key
    shutil.rmtree(target, ignore_errors=True)
    os.replace(temporary, target)  # appears whole or not at all
    for old in folder.iterdir():  # one collection, one cache: drop the stale ones
        if old.name != key and old.is_dir() and not old.name.startswith("."):
            shutil.rmtree(old, ignore_errors=True)


def size_on_disk(folder: Path) -> int:
    """Bytes used by the files under `folder`."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
