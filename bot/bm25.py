"""Exact BM25Plus scores without scanning every document: an inverted index of term postings.

rank_bm25 defines the model: its IDF (computed here by rank_bm25's own `_calc_idf`), k1, b,
delta and document lengths; this module only changes how the sum is computed. BM25Plus as
rank_bm25 implements it gives document d, for the query terms q in order:

    score(d) = sum_q idf(q) * (delta + tf(q,d) * (k1 + 1) / (K(d) + tf(q,d)))
    K(d)     = k1 * (1 - b + b * |d| / avgdl)

(Lv & Zhai, "Lower-bounding term frequency normalization", CIKM 2011). A document without
q still gets idf(q) * delta, the same for all of them. So a query reads only the postings
(document ids and term frequencies) of its own terms, every document it does not touch has
the same "floor" score, and the k best are selected without sorting the whole collection.
The arithmetic is rank_bm25's, term by term in query order, so even exact ties come out the
same. tests/test_bm25.py compares both on thousands of queries: same top-10, scores within
1e-9.

The index is a few flat numpy arrays (CSR by term), saved as .npy files and memory-mapped
on load, so a cached million-passage index opens in well under a second.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rank_bm25 import BM25Plus

FORMAT = 1


class BM25Index:
    """Postings per term (document ids, term frequencies) and document lengths."""

    def __init__(
        self,
        terms: list[str],
        offsets: NDArray[np.int64],
        doc_ids: NDArray[np.int32],
        tfs: NDArray[np.uint32],
        doc_len: NDArray[np.int64],
        k1: float,
        b: float,
        delta: float,
    ) -> None:
        self.terms = terms
        self.term_index = {t: i for i, t in enumerate(terms)}
        self.offsets, self.doc_ids, self.tfs, self.doc_len = offsets, doc_ids, tfs, doc_len
        self.k1, self.b, self.delta = k1, b, delta
        self.size = len(doc_len)
        df = np.diff(offsets)
        self.idf: dict[str, float] = rank_bm25_idf(
            self.size, dict(zip(terms, df.tolist(), strict=True))
        )
        # rank_bm25: self.k1 * (1 - self.b + self.b * doc_len / self.avgdl), doc_len int64.
        self.avgdl = int(doc_len.sum()) / self.size
        self.norm = k1 * (1 - b + b * doc_len / self.avgdl)

    @classmethod
    def build(
        cls, corpus: Iterable[Sequence[str]], k1: float, b: float, delta: float
    ) -> BM25Index:
        """Index tokenised documents (as rank_bm25 would be given them)."""
        vocabulary: dict[str, int] = {}
        flat: list[int] = []
        lengths: list[int] = []
        for doc in corpus:
            lengths.append(len(doc))
            flat.extend([vocabulary.setdefault(t, len(vocabulary)) for t in doc])
        if not lengths:
            raise ValueError("no documents")
        doc_len = np.asarray(lengths, dtype=np.int64)
        return cls.from_pairs(
            list(vocabulary),
            np.asarray(flat, dtype=np.int64),
            np.repeat(np.arange(len(lengths), dtype=np.int64), doc_len),
            doc_len,
            k1,
            b,
            delta,
        )

    @classmethod
    def from_pairs(
        cls,
        terms: Sequence[str],
        term_ids: NDArray[np.integer[Any]],
        docs: NDArray[np.integer[Any]],
        doc_len: NDArray[np.int64],
        k1: float,
        b: float,
        delta: float,
    ) -> BM25Index:
        """Index one (term id, document) pair per token occurrence, in any order.

        `terms[i]` names term id i; `doc_len` holds each document's token count (what
        rank_bm25 normalises by). Terms that occur in no document are dropped.
        """
        if len(doc_len) == 0:
            raise ValueError("no documents")
        n = len(doc_len)
        # One key per occurrence; sorted, equal keys are one posting and their count its tf.
        keys = term_ids.astype(np.int64) * n + docs.astype(np.int64)
        keys.sort()
        if len(keys):
            starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
            tf = np.diff(np.append(starts, len(keys)))
            keys = keys[starts]
        else:
            tf = np.empty(0, dtype=np.int64)
        posting_terms = keys // n  # ascending: postings are grouped by term
        firsts = np.flatnonzero(np.concatenate(([True], posting_terms[1:] != posting_terms[:-1])))
        used = posting_terms[firsts] if len(keys) else posting_terms
        df = np.diff(np.append(firsts, len(keys))) if len(keys) else posting_terms
        offsets = np.zeros(len(used) + 1, dtype=np.int64)
        np.cumsum(df, out=offsets[1:])
        return cls(
            [terms[i] for i in used.tolist()],
            offsets,
            (keys % n).astype(np.int32),
            tf.astype(np.uint32),
            np.asarray(doc_len, dtype=np.int64),
            k1,
            b,
            delta,
        )

    # -- persistence ----------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """Write the index as .npy files and a JSON header into `folder`."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("offsets", "doc_ids", "tfs", "doc_len"):
            np.save(folder / f"{name}.npy", getattr(self, name), allow_pickle=False)
        (folder / "terms.txt").write_text("\n".join(self.terms), encoding="utf-8")
        header = {
            "format": FORMAT,
            "k1": self.k1,
            "b": self.b,
            "delta": self.delta,
            "documents": self.size,
            "terms": len(self.terms),
            "postings": len(self.doc_ids),
        }
        (folder / "header.json").write_text(json.dumps(header), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> BM25Index:
        """Open a saved index (postings memory-mapped); ValueError if it is not consistent."""
        header = json.loads((folder / "header.json").read_text(encoding="utf-8"))
        if header.get("format") != FORMAT:
            raise ValueError(f"index format {header.get('format')}, expected {FORMAT}")
        terms_text = (folder / "terms.txt").read_text(encoding="utf-8")
        terms = terms_text.split("\n") if terms_text else []
        offsets = np.load(folder / "offsets.npy", allow_pickle=False)
        doc_ids = np.load(folder / "doc_ids.npy", mmap_mode="r", allow_pickle=False)
        tfs = np.load(folder / "tfs.npy", mmap_mode="r", allow_pickle=False)
        doc_len = np.load(folder / "doc_len.npy", allow_pickle=False)
        consistent = (
            len(terms) == header["terms"] == len(offsets) - 1
            and len(doc_ids) == len(tfs) == header["postings"] == int(offsets[-1])
            and len(doc_len) == header["documents"]
            and (len(doc_ids) == 0 or int(doc_ids.max()) < len(doc_len))
        )
        if not consistent:
            raise ValueError("index files do not agree with each other")
        return cls(
            terms,
            offsets,
            doc_ids,
            tfs,
            doc_len,
            float(header["k1"]),
            float(header["b"]),
            float(header["delta"]),
        )

    # -- queries --------------------------------------------------------------------------

    def postings(self, term: str) -> tuple[NDArray[np.int32], NDArray[np.uint32]]:
        """Document ids (ascending) and term frequencies of one term."""
        i = self.term_index.get(term)
        if i is None:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.uint32)
        start, end = int(self.offsets[i]), int(self.offsets[i + 1])
        return np.asarray(self.doc_ids[start:end]), np.asarray(self.tfs[start:end])

    def contribution(
        self, term: str, ids: NDArray[np.int32], tf: NDArray[np.uint32]
    ) -> NDArray[np.float64]:
        """rank_bm25's per-term score part for these postings, in its order of operations."""
        q_freq = tf.astype(np.int64)
        return self.idf[term] * (self.delta + (q_freq * (self.k1 + 1)) / (self.norm[ids] + q_freq))

    def floor(self, terms: Sequence[str]) -> float:
        """What rank_bm25 gives a document that contains none of `terms`."""
        total = 0.0
        for term in terms:
            total += (self.idf.get(term) or 0) * (self.delta + 0.0)
        return total

    def top(
        self, terms: Sequence[str], k: int, boosts: Sequence[float] | None = None
    ) -> tuple[NDArray[np.int32], NDArray[np.float64]]:
        """The k best documents that match any term, and their scores above the floor.

        Ties are broken by document id, as a stable sort of rank_bm25's scores would.
        `boosts` multiplies each term's contribution (none: rank_bm25's exact scores).
        """
        factors = list(boosts) if boosts is not None else [1.0] * len(terms)
        lists = {t: self.postings(t) for t in set(terms) if t in self.term_index}
        if not lists or k <= 0:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float64)
        if len(lists) == 1:
            touched = next(iter(lists.values()))[0]
        else:
            touched = np.unique(np.concatenate([ids for ids, _ in lists.values()]))
        scores = np.zeros(len(touched), dtype=np.float64)
        floor = 0.0
        for term, factor in zip(terms, factors, strict=True):
            base = (self.idf.get(term) or 0) * (self.delta + 0.0)
            floor += base * factor
            if term not in lists:
                scores += base * factor
                continue
            ids, tf = lists[term]
            part = np.full(len(touched), base)
            part[np.searchsorted(touched, ids)] = self.contribution(term, ids, tf)
            scores += part if factor == 1.0 else part * factor
        if len(touched) > k:
            # Keep everything tied with the k-th score, then order by (-score, id).
            kth = np.partition(scores, len(scores) - k)[len(scores) - k]
            keep = scores >= kth
            touched, scores = touched[keep], scores[keep]
        order = np.lexsort((touched, -scores))[:k]
        return touched[order].astype(np.int32), scores[order] - floor

    def contains(self, term: str, docs: NDArray[np.int32]) -> NDArray[np.bool_]:
        """Which of `docs` contain `term`."""
        ids, _ = self.postings(term)
        if len(ids) == 0:
            return np.zeros(len(docs), dtype=bool)
        at = np.searchsorted(ids, docs)
        at[at == len(ids)] = len(ids) - 1
        return np.asarray(ids[at] == docs)


def rank_bm25_idf(corpus_size: int, document_frequency: dict[str, int]) -> dict[str, float]:
    """IDF per term, computed by rank_bm25's own BM25Plus code."""
    model = BM25Plus.__new__(BM25Plus)
    model.corpus_size = corpus_size
    model.idf = {}
    model._calc_idf(document_frequency)
    return dict(model.idf)
