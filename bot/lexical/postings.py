"""One segment's inverted index: for each term, the documents that contain it and how often.

A segment is immutable: built once (from (term, document) pairs, or by merging segments) and
saved as flat numpy arrays (CSR by term) that are memory-mapped on load. Scores need the
whole collection's statistics (N, average length, document frequencies), so they are computed
by bot/lexical/bm25.py over all segments; a segment only knows its own documents, plus, per term,
an upper bound of the term-frequency part of BM25 (`max_gain`) that lets a query skip terms that
cannot change its top results.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

FORMAT = 3
_ARRAYS = ("offsets", "doc_ids", "tfs", "impacts", "doc_len", "max_gain")
# Each posting's gain, quantised to 8 bits of its term's maximum (rounded down): what a query
# accumulates first, from one contiguous byte per posting, as lower bounds (Lucene's "impacts"
# serve the same purpose); exact scores come from the term frequencies.
LEVELS = 255
# Document numbers (within a segment or in the collection).
Ids = NDArray[np.int64]


# numpy's cumulative sums hold the GIL for the whole array (~80 ms over the 22 million
# postings of a million passages: a stalled event loop while a merge runs in a thread), so
# long ones are taken in pieces of this many.
CUMSUM_CHUNK = 1 << 20


def repeat(values: NDArray[Any], counts: NDArray[np.integer[Any]]) -> NDArray[Any]:
    """np.repeat(values, counts), by index arithmetic numpy runs without holding the GIL for
    long (np.repeat holds it: ~200 ms over the postings of a million passages)."""
    keep = np.asarray(counts) > 0
    values, counts = np.asarray(values)[keep], np.asarray(counts)[keep]
    ends = cumsum(counts, np.int64)
    total = int(ends[-1]) if len(ends) else 0
    kind = np.int32 if len(values) < 2**31 else np.int64
    marks = np.zeros(total, dtype=kind)
    marks[ends[:-1]] = 1
    return np.asarray(values[cumsum(marks, kind)])


def cumsum(values: NDArray[Any], dtype: type[np.integer[Any]]) -> NDArray[Any]:
    """np.cumsum of integers in pieces of CUMSUM_CHUNK, each continuing the last (exact:
    integer sums do not depend on how they are grouped)."""
    values = np.asarray(values)
    out = np.empty(len(values), dtype=dtype)
    carry = 0
    for start in range(0, len(values), CUMSUM_CHUNK):
        piece = out[start : start + CUMSUM_CHUNK]
        np.cumsum(values[start : start + CUMSUM_CHUNK], dtype=dtype, out=piece)
        if carry:
            piece += carry
        carry = int(piece[-1])
    return out


def gain(
    tf: NDArray[Any], doc_len: NDArray[Any], k1: float, b: float, avgdl: float
) -> NDArray[np.float64]:
    """BM25's term-frequency part, tf * (k1 + 1) / (K + tf) with K = k1 * (1 - b + b |d| / avgdl)
    (rank_bm25's order of operations)."""
    tf = tf.astype(np.int64)
    return np.asarray((tf * (k1 + 1)) / (k1 * (1 - b + b * doc_len / avgdl) + tf))


class Postings:
    """Postings per term (ascending document ids, term frequencies, impacts) and document
    lengths.

    `max_gain[t]` is the largest `gain` over term t's postings at the average length `avgdl`
    the segment was built with, and a posting's impact q says its gain there lies in
    [q, q + 1] * max_gain[t] / LEVELS; `scales` adapts both to another average length.
    """

    def __init__(
        self,
        terms: list[str],
        offsets: NDArray[np.int64],
        doc_ids: NDArray[np.int32],
        tfs: NDArray[np.uint32],
        impacts: NDArray[np.uint8],
        doc_len: NDArray[np.int64],
        max_gain: NDArray[np.float64],
        avgdl: float,
    ) -> None:
        self.terms = terms
        self.term_index = {t: i for i, t in enumerate(terms)}
        # Plain arrays over the memory maps: slicing a np.memmap costs a Python call per slice.
        self.doc_ids, self.tfs = doc_ids.view(np.ndarray), tfs.view(np.ndarray)
        self.impacts = impacts.view(np.ndarray)
        self.offsets, self.doc_len, self.max_gain, self.avgdl = offsets, doc_len, max_gain, avgdl

    @property
    def size(self) -> int:
        """Documents in this segment (deleted ones included)."""
        return len(self.doc_len)

    def postings(self, term: str) -> tuple[NDArray[np.int32], NDArray[np.uint32]]:
        """Document ids (ascending) and term frequencies of one term."""
        i = self.term_index.get(term)
        if i is None:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.uint32)
        start, end = int(self.offsets[i]), int(self.offsets[i + 1])
        return np.asarray(self.doc_ids[start:end]), np.asarray(self.tfs[start:end])

    def df_of(self, term: str) -> int:
        """How many of this segment's documents (deleted ones included) hold `term`."""
        i = self.term_index.get(term)
        return 0 if i is None else int(self.offsets[i + 1] - self.offsets[i])

    def lookup(
        self, term: str, docs: NDArray[np.integer[Any]]
    ) -> tuple[NDArray[np.bool_], NDArray[np.uint32]]:
        """Which of `docs` contain `term`, and its frequency in each (meaningless where
        absent)."""
        ids, tfs = self.postings(term)
        if len(ids) == 0 or len(docs) == 0:
            return np.zeros(len(docs), dtype=bool), np.zeros(len(docs), dtype=np.uint32)
        at = np.searchsorted(ids, docs)
        at[at == len(ids)] = 0
        return ids[at] == docs, tfs[at]

    def impacts_of(self, term: str) -> tuple[NDArray[np.int32], NDArray[np.uint8], float]:
        """Document ids, impacts and the maximum gain (at `self.avgdl`) of one term."""
        i = self.term_index.get(term)
        if i is None:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.uint8), 0.0
        start, end = int(self.offsets[i]), int(self.offsets[i + 1])
        return self.doc_ids[start:end], self.impacts[start:end], float(self.max_gain[i])

    def scales(self, avgdl: float) -> tuple[float, float]:
        """(low, high): each gain at average length `avgdl` lies within low and high times
        its gain at `self.avgdl`.

        K = k1(1 - b) + k1 b |d| / avgdl: with avgdl r times larger (r >= 1) every K is at
        least K / r, so each gain grows by at most r (and does not shrink); with avgdl r times
        smaller (r < 1), K is at most K / r, so each gain shrinks by r at most (and does not
        grow). The margins cover rounding.
        """
        r = avgdl / self.avgdl
        return min(1.0, r) * (1 - 1e-12), max(1.0, r) * (1 + 1e-12)

    def gain_bound(self, term: str, avgdl: float, k1: float) -> float:
        """An upper bound of `gain` over `term`'s postings at average length `avgdl` (gain <
        k1 + 1 always)."""
        i = self.term_index.get(term)
        if i is None:
            return 0.0
        return min(float(self.max_gain[i]) * self.scales(avgdl)[1], (k1 + 1) * (1 + 1e-12))

    # -- building -------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """Write the postings as .npy files, the terms and a JSON header into `folder`."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in _ARRAYS:
            np.save(folder / f"{name}.npy", np.asarray(getattr(self, name)), allow_pickle=False)
        (folder / "terms.txt").write_text("\n".join(self.terms), encoding="utf-8")
        header = {
            "format": FORMAT,
            "avgdl": self.avgdl,
            "documents": self.size,
            "terms": len(self.terms),
            "postings": len(self.doc_ids),
        }
        (folder / "header.json").write_text(json.dumps(header), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> Postings:
        """Open saved postings (memory-mapped); ValueError if the files do not agree."""
        header = json.loads((folder / "header.json").read_text(encoding="utf-8"))
        if header.get("format") != FORMAT:
            raise ValueError(f"index format {header.get('format')}, expected {FORMAT}")
        text = (folder / "terms.txt").read_text(encoding="utf-8")
        terms = text.split("\n") if text else []
        offsets = np.load(folder / "offsets.npy", allow_pickle=False)
        doc_ids = np.load(folder / "doc_ids.npy", mmap_mode="r", allow_pickle=False)
        tfs = np.load(folder / "tfs.npy", mmap_mode="r", allow_pickle=False)
        impacts = np.load(folder / "impacts.npy", mmap_mode="r", allow_pickle=False)
        doc_len = np.load(folder / "doc_len.npy", allow_pickle=False)
        max_gain = np.load(folder / "max_gain.npy", allow_pickle=False)
        # Lengths only: scanning the postings here would read the whole file at every start.
        consistent = (
            len(terms) == header["terms"] == len(offsets) - 1 == len(max_gain)
            and len(doc_ids) == len(tfs) == len(impacts) == header["postings"] == int(offsets[-1])
            and len(doc_len) == header["documents"]
        )
        if not consistent:
            raise ValueError("index files do not agree with each other")
        avgdl = float(header["avgdl"])
        return cls(terms, offsets, doc_ids, tfs, impacts, doc_len, max_gain, avgdl)


def postings_from_pairs(
    terms: Sequence[str],
    term_ids: NDArray[np.integer[Any]],
    docs: NDArray[np.integer[Any]],
    doc_len: NDArray[np.int64],
    k1: float,
    b: float,
    avgdl: float,
) -> Postings:
    """Index one (term id, document) pair per token occurrence, in any order.

    `terms[i]` names term id i; `doc_len` holds each document's token count (what BM25
    normalises by). Terms that occur in no document are dropped.
    """
    n = max(len(doc_len), 1)
    # One key per occurrence; sorted, equal keys are one posting and their count its tf.
    keys = term_ids.astype(np.int64) * n + docs.astype(np.int64)
    keys.sort()
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))[: len(keys)]
    tf = np.diff(np.append(starts, len(keys)))
    keys = keys[starts]
    posting_terms = keys // n  # ascending: postings are grouped by term
    firsts = np.flatnonzero(np.concatenate(([True], posting_terms[1:] != posting_terms[:-1])))
    firsts = firsts[: len(keys)]
    df = np.diff(np.append(firsts, len(keys)))
    offsets = np.zeros(len(firsts) + 1, dtype=np.int64)
    np.cumsum(df, out=offsets[1:])
    return _assemble(
        [terms[i] for i in posting_terms[firsts].tolist()],
        offsets,
        (keys % n).astype(np.int32),
        tf.astype(np.uint32),
        np.asarray(doc_len, dtype=np.int64),
        k1,
        b,
        avgdl,
    )


def _assemble(
    terms: list[str],
    offsets: NDArray[np.int64],
    doc_ids: NDArray[np.int32],
    tfs: NDArray[np.uint32],
    doc_len: NDArray[np.int64],
    k1: float,
    b: float,
    avgdl: float,
) -> Postings:
    """Postings from CSR arrays, with each term's largest gain and each posting's impact
    computed at `avgdl`."""
    if len(doc_ids):
        gains = gain(tfs, doc_len[doc_ids], k1, b, avgdl)
        max_gain = np.maximum.reduceat(gains, offsets[:-1])
        top = repeat(max_gain, np.diff(offsets))
        impacts = np.floor(gains / top * LEVELS * (1 - 1e-12)).astype(np.uint8)
    else:
        max_gain = np.empty(0, dtype=np.float64)
        impacts = np.empty(0, dtype=np.uint8)
    return Postings(terms, offsets, doc_ids, tfs, impacts, doc_len, max_gain, avgdl)


def merge_postings(
    parts: Sequence[tuple[Postings, NDArray[np.int64]]],
    size: int,
    k1: float,
    b: float,
    avgdl: float,
) -> Postings:
    """Several segments' postings as one segment of `size` documents.

    Each part pairs a segment with the new id of each of its documents (-1: dropped).
    New ids must increase within a part and exceed those of earlier parts, so each term's
    merged list is its parts' lists one after the other: no sort, one pass per array.
    """
    vocabulary: dict[str, int] = {}
    kept, per_term = [], []
    for postings, new_id in parts:
        remap = np.array(
            [vocabulary.setdefault(t, len(vocabulary)) for t in postings.terms],
            dtype=np.int64,
        )
        df = np.diff(postings.offsets)
        keep = new_id[postings.doc_ids] >= 0
        terms = repeat(remap, df)[keep]
        kept.append((terms, new_id[postings.doc_ids[keep]], postings.tfs[keep]))
        # Kept postings per term (np.bincount would hold the GIL for the whole pass).
        survivors = (
            np.add.reduceat(keep.astype(np.int64), postings.offsets[:-1])
            if len(keep)
            else np.zeros(len(remap), dtype=np.int64)
        )
        per_term.append((remap, survivors))
    counts = []
    for remap, survivors in per_term:
        count = np.zeros(len(vocabulary), dtype=np.int64)
        count[remap] = survivors
        counts.append(count)
    total = np.sum(counts, axis=0) if counts else np.zeros(0, dtype=np.int64)
    offsets = np.zeros(len(vocabulary) + 1, dtype=np.int64)
    np.cumsum(total, out=offsets[1:])
    doc_ids = np.empty(int(offsets[-1]), dtype=np.int32)
    tfs = np.empty(int(offsets[-1]), dtype=np.uint32)
    base = offsets[:-1].copy()
    for (terms, docs, tf), count in zip(kept, counts, strict=True):
        if len(terms):
            starts = np.flatnonzero(np.concatenate(([True], terms[1:] != terms[:-1])))
            lengths = np.diff(np.append(starts, len(terms)))
            rank = np.arange(len(terms)) - repeat(starts, lengths)
            at = base[terms] + rank
            doc_ids[at], tfs[at] = docs, tf
        base += count
    doc_len = np.zeros(size, dtype=np.int64)
    for postings, new_id in parts:
        alive = new_id >= 0
        doc_len[new_id[alive]] = postings.doc_len[alive]
    used = total > 0  # terms left only in dropped documents go
    names = list(vocabulary)
    offsets = np.concatenate(([0], offsets[1:][used]))
    return _assemble(
        [names[i] for i in np.flatnonzero(used).tolist()],
        offsets,
        doc_ids,
        tfs,
        doc_len,
        k1,
        b,
        avgdl,
    )


# -- persistence ----------------------------------------------------------------------
