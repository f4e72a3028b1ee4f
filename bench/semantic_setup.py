"""A collection indexed with the semantic stage complete, for the benchmarks and training."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.collection.cache import load_cached
from bot.config import load_settings
from bot.retrieval.search import SearchIndex
from bot.serving.semantic import open_semantic


def semantic_index(folder: Path, cache: Path, model: str = "default") -> SearchIndex:
    """`folder` loaded through the cache at `cache`, every passage embedded (progress on
    stderr)."""
    cache.mkdir(parents=True, exist_ok=True)
    loaded = load_cached(folder, cache)
    assert loaded.indexes is not None, f"no articles in {folder}"
    index = SearchIndex(loaded.collection, built=loaded.indexes)
    settings = load_settings(
        None, NEWSBOT_ARTICLES_DIR=folder, NEWSBOT_CACHE_DIR=cache, NEWSBOT_MODEL=model
    )
    stage = open_semantic(settings, background=False)
    if stage is not None:
        stage.attach(index, lambda p: print(f"\r{p.summary()}", end="", file=sys.stderr))
        print(file=sys.stderr)
    return index
