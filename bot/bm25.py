"""Exact BM25Plus scores without scanning every document: an inverted index of term weights.

rank_bm25 defines the model (its IDF, k1, b, delta and document lengths); this module only
changes how the sum is computed. rank_bm25's BM25Plus gives document d, for query terms q:

    score(d) = sum_q idf(q) * (delta + tf(q,d) * (k1 + 1) / (K(d) + tf(q,d)))
    K(d)     = k1 * (1 - b + b * |d| / avgdl)

(Lv & Zhai, "Lower-bounding term frequency normalization", CIKM 2011). A document without
q still gets idf(q) * delta. So each posting (q, d) stores its whole contribution, a query
touches only the postings of its terms, every document it does not touch has the same
"floor" score, and the k best are selected without sorting the whole collection. Sums run
term by term in query order, as in rank_bm25, so even exact ties come out the same.
tests/test_bm25.py compares both on thousands of queries: the same top-10, scores within 1e-9.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from rank_bm25 import BM25Plus


class SparseBM25:
    """Postings (document ids, weights) per term, built from a fitted rank_bm25 BM25Plus."""

    def __init__(self, model: BM25Plus) -> None:
        self.size = int(model.corpus_size)
        self.idf: dict[str, float] = dict(model.idf)
        self.delta = float(model.delta)
        k1, b, avgdl = float(model.k1), float(model.b), float(model.avgdl)
        lengths = np.asarray(model.doc_len, dtype=np.float64)
        # Evaluated exactly as rank_bm25 does, so equal scores stay equal to the last bit.
        norm = k1 * (1 - b + b * lengths / avgdl)
        ids: dict[str, list[int]] = {}
        tfs: dict[str, list[int]] = {}
        for doc, freqs in enumerate(model.doc_freqs):
            for term, tf in freqs.items():
                ids.setdefault(term, []).append(doc)
                tfs.setdefault(term, []).append(tf)
        # Per posting: rank_bm25's whole per-term contribution idf * (delta + tf part).
        self.postings: dict[str, tuple[NDArray[np.int32], NDArray[np.float64]]] = {}
        for term, docs in ids.items():
            doc_ids = np.asarray(docs, dtype=np.int32)
            tf = np.asarray(tfs[term], dtype=np.float64)
            contribution = self.idf[term] * (self.delta + (tf * (k1 + 1)) / (norm[doc_ids] + tf))
            self.postings[term] = (doc_ids, contribution)

    def floor(self, terms: Sequence[str]) -> float:
        """What rank_bm25 gives a document that contains none of `terms`."""
        total = 0.0
        for term in terms:
            total += self.idf.get(term, 0.0) * (self.delta + 0.0)
        return total

    def top(
        self, terms: Sequence[str], k: int, boosts: Sequence[float] | None = None
    ) -> tuple[NDArray[np.int32], NDArray[np.float64]]:
        """The k best documents that match any term, and their scores above the floor.

        Scores are summed term by term in query order, as rank_bm25 does, so the order
        (ties broken by document id, as a stable sort) is the same to the last bit.
        `boosts` multiplies each term's contribution (none: rank_bm25's exact scores).
        """
        factors = boosts if boosts is not None else [1.0] * len(terms)
        known = [(t, f) for t, f in zip(terms, factors, strict=True) if t in self.postings]
        if not known or k <= 0:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float64)
        touched = np.unique(np.concatenate([self.postings[t][0] for t, _ in known]))
        scores = np.zeros(len(touched), dtype=np.float64)
        floor = 0.0
        for term, factor in zip(terms, factors, strict=True):
            idf = self.idf.get(term, 0.0)
            base = idf * (self.delta + 0.0)  # a document without the term
            part = np.full(len(touched), base * factor)
            if term in self.postings:
                ids, contribution = self.postings[term]
                part[np.searchsorted(touched, ids)] = contribution * factor
            scores += part
            floor += base * factor
        if len(touched) > k:
            # Keep everything tied with the k-th score, then order by (-score, id).
            kth = np.partition(scores, len(scores) - k)[len(scores) - k]
            keep = scores >= kth
            touched, scores = touched[keep], scores[keep]
        order = np.lexsort((touched, -scores))[:k]
        return touched[order], scores[order] - floor
