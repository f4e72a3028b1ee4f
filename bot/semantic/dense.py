"""The semantic side of one edition of the collection: each passage's vector row (filled in
as the background embeds), the question's vector, dense candidates for recall, and the
similarities the rerank reads (bot/retrieval/evidence.py).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bot.articles import Article, Collection, Passage
from bot.semantic.model import Encoder
from bot.semantic.reranker import CrossEncoder
from bot.semantic.vectors import VectorStore
from bot.text import sentence_spans, text_key, text_keys

# Dense candidates added to the lexical ones: this many distinct texts.
DENSE_CANDIDATES = 10


@dataclass(frozen=True, slots=True)
class Similarity:
    """How close a passage is to the question: the passage as a whole, its closest sentence,
    and its article's title (cosines of the model's vectors)."""

    passage: float
    sentence: float
    title: float


class Space:
    """The model and its vectors, shared by every edition of the collection (one per
    process), and the cross-encoder that reads the `depth` leading candidates, if any."""

    def __init__(
        self,
        encoder: Encoder,
        store: VectorStore,
        reranker: CrossEncoder | None = None,
        depth: int = 0,
    ) -> None:
        self.encoder = encoder
        self.store = store
        self.reranker = reranker
        self.depth = depth if reranker is not None else 0
        # Per segment store (immutable), per article: the keys of its passages' texts.
        self._keys: weakref.WeakKeyDictionary[Any, dict[int, NDArray[np.uint8]]]
        self._keys = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def article_keys(
        self, collection: Collection, number: int, passages: Callable[[], Sequence[Passage]]
    ) -> NDArray[np.uint8]:
        """The keys of article `number`'s passages, computed once per stored article (the
        passages are built only then)."""
        locate = getattr(collection.articles, "location", None)
        if locate is None:
            return text_keys(p.text for p in passages())
        store, local = locate(number)
        with self._lock:
            mine = self._keys.setdefault(store, {})
        found = mine.get(local)
        if found is None:
            found = mine[local] = text_keys(p.text for p in passages())
        return found


class DenseIndex:
    """One edition's passages in the model's space. Rows are -1 until embedded; the stage
    joins article by article as the background fills them (bot/semantic/background.py)."""

    def __init__(
        self,
        space: Space,
        collection: Collection,
        article_of: NDArray[np.int64],
        keys: Callable[[], NDArray[np.uint8]] | None = None,
    ) -> None:
        self.space = space
        self.collection = collection
        # The passages' text keys by position, when the segments recorded them (else each
        # article's passages are read and hashed: Space.article_keys).
        self._keys_of = keys
        self._keys: NDArray[np.uint8] | None = None
        # Article a's passages are positions first_passage[a] .. first_passage[a + 1] - 1.
        self.first_passage = np.searchsorted(article_of, np.arange(len(collection.articles) + 1))
        self.rows = np.full(len(collection.passages), -1, dtype=np.int64)
        self.mapped = threading.Event()  # every article's rows looked up in the store
        self.done = threading.Event()  # every passage embedded
        self.embedded = 0  # passages with a vector
        # The distinct passage vectors as float32, for dense candidates; rebuilt when more
        # passages have a vector than when it was built.
        self._matrix: tuple[int, NDArray[np.int64], NDArray[np.float32]] | None = None
        self._first: tuple[int, dict[int, int]] | None = None
        self._lock = threading.Lock()

    @property
    def complete(self) -> bool:
        return self.done.is_set()

    def keys(self, number: int) -> NDArray[np.uint8]:
        """The text keys of article `number`'s passages."""
        if self._keys_of is None:
            return self.space.article_keys(
                self.collection, number, lambda: self.passages_of(number)
            )
        if self._keys is None:
            self._keys = self._keys_of()
        return self._keys[int(self.first_passage[number]) : int(self.first_passage[number + 1])]

    def all_keys(self) -> NDArray[np.uint8] | None:
        """Every passage's key in order, when the segments recorded them."""
        if self._keys is None and self._keys_of is not None:
            self._keys = self._keys_of()
        return self._keys

    def passages_of(self, number: int) -> list[Passage]:
        """Article `number`'s passages."""
        start, stop = int(self.first_passage[number]), int(self.first_passage[number + 1])
        return [self.collection.passages[i] for i in range(start, stop)]

    def question(self, text: str) -> NDArray[np.float32]:
        return self.space.encoder.query(text)

    def candidates(
        self, question: NDArray[np.float32], count: int = DENSE_CANDIDATES
    ) -> list[int]:
        """Positions of the `count` distinct passages closest to the question, closest
        first (of a text filed several times, its first position: the lexical ranking
        brings the copies it finds)."""
        present, matrix = self._distinct()
        if not len(present):
            return []
        similar = matrix @ question
        best = present[np.argsort(-similar, kind="stable")[:count]]
        first = self._first_positions()
        return [first[row] for row in best.tolist()]

    def _first_positions(self) -> dict[int, int]:
        """Per vector row, the first position that holds it (rebuilt as rows fill in)."""
        built = self._first
        if built is None or built[0] != self.embedded:
            known = np.flatnonzero(self.rows >= 0)
            distinct, where = np.unique(self.rows[known], return_index=True)
            firsts = dict(zip(distinct.tolist(), known[where].tolist(), strict=True))
            built = self._first = (self.embedded, firsts)
        return built[1]

    def _distinct(self) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """The distinct rows of the passages with a vector, and their vectors."""
        built = self._matrix
        if built is None or built[0] != self.embedded:
            with self._lock:
                built = self._matrix
                if built is None or built[0] != self.embedded:
                    embedded = self.embedded
                    present = np.unique(self.rows[self.rows >= 0])
                    built = (embedded, present, self.space.store.vectors(present))
                    self._matrix = built
        return built[1], built[2]

    def similarity(
        self,
        question: NDArray[np.float32],
        position: int,
        spans: Sequence[tuple[int, int]] | None = None,
    ) -> Similarity | None:
        """The passage's similarity to the question; None while it has no vector. `spans`:
        its sentences, when the caller has split it already (bot/text.py sentence_spans)."""
        row = int(self.rows[position])
        if row < 0:
            return None
        store = self.space.store
        passage = self.collection.passages[position]
        spans = sentence_spans(passage.text) if spans is None else spans
        texts = [passage.text[a:b] for a, b in spans]
        keys = [text_key(passage.article.title), *(text_key(t) for t in texts)]
        found = store.rows(keys)
        vectors = store.vectors(np.array([row, *found[found >= 0]], dtype=np.int64)) @ question
        title = float(vectors[1]) if found[0] >= 0 else 0.0
        sentences = vectors[2:] if found[0] >= 0 else vectors[1:]
        passage_similarity = float(vectors[0])
        best = float(sentences.max()) if len(sentences) else passage_similarity
        return Similarity(passage_similarity, max(best, passage_similarity), title)


def texts_of(article: Article, passages: Sequence[Passage]) -> list[str]:
    """Every text of an article that gets a vector: its title, its passages, and the
    sentences of passages of more than one sentence."""
    texts = [article.title]
    for passage in passages:
        texts.append(passage.text)
        spans = sentence_spans(passage.text)
        if len(spans) > 1:
            texts.extend(passage.text[a:b] for a, b in spans)
    return texts
