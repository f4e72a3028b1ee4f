"""The semantic stage of a running newsbot: the model NEWSBOT_MODEL names, its vectors in the
cache, and every edition of the collection attached to it as it is served.

A bot answers lexically from its first second: an edition's passages are embedded in the
background (bot/semantic/background.py) and join the semantic stage article by article.
`newsbot index`, `ask` and `eval` embed in the foreground instead and answer when complete.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.config import Settings
from bot.retrieval.search import SearchIndex
from bot.semantic.background import Embedder, Progress, embed_all
from bot.semantic.dense import DenseIndex, Space
from bot.semantic.model import ModelError, open_model
from bot.semantic.reranker import open_reranker
from bot.semantic.vectors import VectorStore
from bot.text import default_workers

log = logging.getLogger(__name__)

# A collection this small is embedded before it is served, background or not: it takes
# under a second, and every answer then reads the same stages.
AT_ONCE = 500


class SemanticStage:
    """The model and its vectors; `attach` gives an edition's index its dense side."""

    def __init__(self, space: Space, background: bool) -> None:
        self.space = space
        self.embedder = Embedder() if background else None
        self._last: DenseIndex | None = None

    def attach(self, index: SearchIndex, report: Callable[[Progress], None] | None = None) -> None:
        """Give `index` its dense side; embed what is missing now (no background) or in the
        background (the index answers lexically until its candidates have vectors)."""
        built = index.built
        dense = DenseIndex(self.space, index.collection, built.article_of, built.passage_keys)
        index.dense = dense
        self._last = dense
        if self.embedder is not None and len(dense.rows) > AT_ONCE:
            self.embedder.follow(dense)
        else:
            embed_all(dense, report)

    def progress(self) -> Progress:
        """How far embedding the newest edition is."""
        dense = self._last
        if self.embedder is not None and dense is not None and len(dense.rows) > AT_ONCE:
            return self.embedder.progress
        total = len(dense.rows) if dense is not None else 0
        return Progress(dense.embedded if dense is not None else 0, total)

    def close(self) -> None:
        if self.embedder is not None:
            self.embedder.close()


def open_semantic(settings: Settings, background: bool) -> SemanticStage | None:
    """The semantic stage NEWSBOT_MODEL asks for; None for `none`, or (logged, one line)
    when the model cannot be used: the bot then answers lexically."""
    try:
        encoder = open_model(settings.model, threads=1 if background else default_workers())
    except ModelError as exc:
        log.warning("semantic stage off, answers are lexical: %s", exc)
        return None
    if encoder is None:
        return None
    reranker = None
    if settings.rerank_depth:
        try:
            reranker = open_reranker(settings.reranker, threads=default_workers())
        except ModelError as exc:
            log.warning("no cross-encoder, the rerank reads vectors only: %s", exc)
    store = VectorStore(encoder.dimension, settings.cache_dir / f"vec-{encoder.name}")
    log.info(
        "semantic stage: model %s (%d dimensions), %s vectors in the cache; cross-encoder %s",
        encoder.folder,
        encoder.dimension,
        f"{len(store):,}",
        f"{reranker.folder} reads {settings.rerank_depth}" if reranker else "off",
    )
    space = Space(encoder, store, reranker, settings.rerank_depth)
    return SemanticStage(space, background)
