"""Exact BM25Plus over a collection held in segments, with query work bounded by the answer.

rank_bm25 defines the model: its IDF (`bm25plus_idf`, rank_bm25's formula), k1, b, delta
and document lengths; this module only changes how the sum is computed. BM25Plus as
rank_bm25 implements it gives document d, for the query terms q in order:

    score(d) = sum_q idf(q) * (delta + tf(q,d) * (k1 + 1) / (K(d) + tf(q,d)))
    K(d)     = k1 * (1 - b + b * |d| / avgdl)

(Lv & Zhai, "Lower-bounding term frequency normalization", CIKM 2011). A document without q
still gets idf(q) * delta, the same for all documents: the "floor". Scores are returned above
the floor, and only documents that match a term are ever returned.

The collection is one or more segments (bot/lexical/postings.py) whose documents are placed in the
collection's order by `positions` (-1: deleted); N, the average length and each term's
document frequency are the live collection's, so every score is exactly what rank_bm25 gives
over the current collection, however it was assembled. The arithmetic for a returned score is
rank_bm25's, term by term in query order, so even exact ties order identically (by position).

`top` finds the k best by MaxScore (bot/lexical/maxscore.py) when the query's lists are long, and
scores them exactly here. tests/test_bm25.py compares with rank_bm25's `get_scores` on thousands
of queries; tests/test_incremental.py after incremental updates.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bot.lexical.maxscore import candidates
from bot.lexical.postings import Ids, Postings

# Up to this many postings in all, every matching document is scored (no MaxScore).
FEW = 1000


class BM25Index:
    """BM25Plus scores of the live documents of `parts`, numbered by collection position."""

    def __init__(
        self,
        parts: Sequence[Postings],
        positions: Sequence[Ids] | None,
        k1: float,
        b: float,
        delta: float,
    ) -> None:
        self.parts = list(parts)
        self.k1, self.b, self.delta = k1, b, delta
        if positions is None:  # one segment, every document live, in segment order
            positions = [np.arange(p.size, dtype=np.int64) for p in self.parts]
        self.positions = [np.asarray(p, dtype=np.int64) for p in positions]
        live = [p >= 0 for p in self.positions]
        self.dead = [None if bool(alive.all()) else ~alive for alive in live]
        self.size = sum(int(alive.sum()) for alive in live)
        if self.size == 0:
            raise ValueError("no documents")
        total = sum(int(p.doc_len[alive].sum()) for p, alive in zip(self.parts, live, strict=True))
        self.avgdl = total / self.size  # rank_bm25: num_doc / corpus_size, both integers
        self.norm = [k1 * (1 - b + b * p.doc_len / self.avgdl) for p in self.parts]
        self.scales = [p.scales(self.avgdl) for p in self.parts]
        self.part_of = np.zeros(self.size, dtype=np.int64)
        self.local_of = np.zeros(self.size, dtype=np.int64)
        for n, (where, alive) in enumerate(zip(self.positions, live, strict=True)):
            self.part_of[where[alive]] = n
            self.local_of[where[alive]] = np.flatnonzero(alive)
        self.idf = Idf(self)
        self._df: dict[str, int] = {}
        self._idf: dict[str, float] = {}
        self.scratch = (
            threading.local()
        )  # per search thread: bot/lexical/maxscore.py's accumulators

    # -- collection statistics --------------------------------------------------------------

    def df(self, term: str) -> int:
        """In how many live documents `term` occurs."""
        found = self._df.get(term)
        if found is None:
            found = 0
            for part, dead in zip(self.parts, self.dead, strict=True):
                ids, _ = part.postings(term)
                found += len(ids) - (int(dead[ids].sum()) if dead is not None else 0)
            if found:  # not readers' words the collection lacks: the cache stays bounded
                self._df[term] = found
        return found

    def idf_of(self, term: str) -> float:
        """rank_bm25's IDF of a term of the collection (0.0 for a term it lacks, as
        rank_bm25's `idf.get(q) or 0`)."""
        found = self._idf.get(term)
        if found is None:
            df = self.df(term)
            if not df:
                return 0.0
            found = self._idf[term] = rank_bm25_idf(self.size, {term: df})[term]
        return found

    @property
    def term_count(self) -> int:
        """How many distinct terms the live documents hold."""
        return len(self.idf)

    # -- queries ----------------------------------------------------------------------------

    def scores(self, terms: Sequence[str], docs: NDArray[np.integer[Any]]) -> NDArray[np.float64]:
        """Exact scores (above the floor) of the documents at positions `docs`, in that order."""
        docs = np.asarray(docs, dtype=np.int64)
        return self._exact(terms, self.part_of[docs], self.local_of[docs])

    def contains(self, term: str, docs: NDArray[np.integer[Any]]) -> NDArray[np.bool_]:
        """Which of the documents at positions `docs` contain `term`."""
        docs = np.asarray(docs, dtype=np.int64)
        if len(self.parts) == 1:
            return self.parts[0].lookup(term, self.local_of[docs])[0]
        found = np.zeros(len(docs), dtype=bool)
        parts, local = self.part_of[docs], self.local_of[docs]
        for n, part in enumerate(self.parts):
            mine = np.flatnonzero(parts == n)
            if len(mine):
                found[mine] = part.lookup(term, local[mine])[0]
        return found

    def documents(self, term: str) -> Ids:
        """Positions of the live documents that contain `term`, in collection order."""
        found = []
        for part, positions in zip(self.parts, self.positions, strict=True):
            where = positions[part.postings(term)[0]]
            found.append(where[where >= 0])
        return np.sort(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)

    def top(self, terms: Sequence[str], k: int) -> tuple[Ids, NDArray[np.float64]]:
        """The k best documents that match any term (positions) and their scores above the
        floor, best first; ties by position, as a stable sort of rank_bm25's scores."""
        plan = self._plan(terms)
        if not plan or k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
        sizes = sum(p.df_of(step[1]) for p in self.parts for step in plan)
        if sizes <= FEW:  # few postings: scoring every document they hold costs less
            parts, local, totals, floor = self._every_match(terms, plan)
        else:
            parts, local = candidates(self, plan, k)
            totals, floor = self._totals(terms, parts, local)
        where = np.empty(len(local), dtype=np.int64)
        for n, positions in enumerate(self.positions):
            mine = parts == n
            where[mine] = positions[local[mine]]
        order = np.lexsort((where, -totals))[:k]  # rank_bm25's own sums decide, ties included
        return where[order], totals[order] - floor

    def _every_match(
        self, terms: Sequence[str], plan: list[tuple[float, str, int, float]]
    ) -> tuple[Ids, Ids, NDArray[np.float64], float]:
        """Every live document of the query's lists, with rank_bm25's sums (each term's
        postings placed into the documents, in query order) and the floor."""
        parts, local, totals = [], [], []
        floor = 0.0
        for n, part in enumerate(self.parts):
            lists = {t: part.postings(t) for _, t, _, _ in plan}
            dead = self.dead[n]
            if dead is not None:
                lists = {t: (ids[~dead[ids]], tf[~dead[ids]]) for t, (ids, tf) in lists.items()}
            docs = np.unique(np.concatenate([ids for ids, _ in lists.values()])).astype(np.int64)
            scores = np.zeros(len(docs), dtype=np.float64)
            floor = 0.0
            for term in terms:
                idf = self.idf_of(term)
                base = idf * (self.delta + 0.0)
                floor += base
                if not idf:  # rank_bm25 adds 0.0 for a term the collection lacks
                    continue
                part_scores = np.full(len(docs), base)
                ids, tf = lists[term]
                part_scores[np.searchsorted(docs, ids)] = self.term_scores(n, idf, ids, tf)
                scores += part_scores
            parts.append(np.full(len(docs), n, dtype=np.int64))
            local.append(docs)
            totals.append(scores)
        return np.concatenate(parts), np.concatenate(local), np.concatenate(totals), floor

    def gain(
        self, n: int, ids: NDArray[np.integer[Any]], tf: NDArray[np.uint32]
    ) -> NDArray[np.float64]:
        """The term-frequency part of BM25Plus for documents `ids` of part `n`."""
        q = tf.astype(np.int64)
        return np.asarray((q * (self.k1 + 1)) / (self.norm[n][ids] + q))

    def term_scores(
        self, n: int, idf: float, ids: NDArray[np.integer[Any]], tf: NDArray[np.uint32]
    ) -> NDArray[np.float64]:
        """One term's rank_bm25 score for documents `ids` of part `n` (floor included)."""
        return idf * (self.delta + self.gain(n, ids, tf))

    def _plan(self, terms: Sequence[str]) -> list[tuple[float, str, int, float]]:
        """(bound, term, repeats, idf) of the query's terms that occur, highest bound first."""
        repeats: dict[str, int] = {}
        for term in terms:
            repeats[term] = repeats.get(term, 0) + 1
        plan = []
        for term, times in repeats.items():
            if self.df(term):
                idf = self.idf_of(term)
                gain_bound = max(p.gain_bound(term, self.avgdl, self.k1) for p in self.parts)
                plan.append((times * idf * gain_bound, term, times, idf))
        plan.sort(key=lambda step: -step[0])
        return plan

    def _exact(self, terms: Sequence[str], parts: Ids, local: Ids) -> NDArray[np.float64]:
        """rank_bm25's score of these documents minus the floor."""
        totals, floor = self._totals(terms, parts, local)
        return totals - floor

    def _totals(
        self, terms: Sequence[str], parts: Ids, local: Ids
    ) -> tuple[NDArray[np.float64], float]:
        """rank_bm25's sums for these documents, term by term in query order, and the floor."""
        scores = np.zeros(len(local), dtype=np.float64)
        groups: list[tuple[int, Ids, Ids | None]] = [(0, local, None)]
        if len(self.parts) > 1:
            wheres = [(n, np.flatnonzero(parts == n)) for n in range(len(self.parts))]
            groups = [(n, local[mine], mine) for n, mine in wheres if len(mine)]
        floor = 0.0
        for term in terms:
            idf = self.idf_of(term)
            base = idf * (self.delta + 0.0)
            floor += base
            if not idf:  # rank_bm25 adds 0.0 for a term the collection lacks
                continue
            part_scores = np.full(len(local), base)
            for n, docs, mine in groups:
                found, tf = self.parts[n].lookup(term, docs)
                gains = self.term_scores(n, idf, docs[found], tf[found])
                part_scores[found if mine is None else mine[found]] = gains
            scores += part_scores
        return scores, floor


class Idf(Mapping[str, float]):
    """Term -> rank_bm25's IDF over the live collection, for the terms it holds."""

    def __init__(self, index: BM25Index) -> None:
        self._index: BM25Index = weakref.proxy(index)  # owned by the index: no cycle

    def __getitem__(self, term: str) -> float:
        if not self._index.df(term):
            raise KeyError(term)
        return self._index.idf_of(term)

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and self._index.df(term) > 0

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for part in self._index.parts:
            for term in part.terms:
                if term not in seen and self._index.df(term):
                    seen.add(term)
                    yield term

    def __len__(self) -> int:
        return sum(1 for _ in self)


def bm25plus_idf(corpus_size: int, df: int) -> float:
    """BM25Plus IDF as rank_bm25 computes it: log((N + 1) / df(t)) (Lv & Zhai, CIKM 2011)."""
    return math.log((corpus_size + 1) / df)


def rank_bm25_idf(corpus_size: int, document_frequency: dict[str, int]) -> dict[str, float]:
    """IDF per term, by `bm25plus_idf`; tests/test_bm25.py checks it against rank_bm25's."""
    return {term: bm25plus_idf(corpus_size, df) for term, df in document_frequency.items()}
