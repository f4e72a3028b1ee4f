"""MaxScore (Turtle & Flood, 1995) in numpy: the documents that can make a query's top k.

Terms are taken from the highest possible contribution down, their postings' impacts (8-bit
lower bounds of each gain) accumulated into a dense per-thread array; once the k-th best sum
found so far exceeds what the remaining terms could add together, documents seen only in
those terms cannot make the top k, so their (long, common-word) posting lists are never
accumulated; the survivors are completed term by term instead (by lookup, or by one pass
when they are many), pruned as the bound shrinks, and returned for bot/lexical/bm25.py to score
exactly. Every bound carries a margin for the quantisation and for rounding, so no document
that can make the top k is dropped.
"""

from __future__ import annotations

import math
import threading
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from bot.lexical.postings import LEVELS, Ids, Postings


class BM25Index(Protocol):
    """What MaxScore reads of an index (bot/lexical/bm25.py's `BM25Index`)."""

    parts: list[Postings]
    dead: list[NDArray[np.bool_] | None]
    scales: list[tuple[float, float]]
    scratch: threading.local

    def gain(
        self, n: int, ids: NDArray[np.integer[Any]], tf: NDArray[np.uint32]
    ) -> NDArray[np.float64]:
        """The term-frequency part of BM25Plus for documents `ids` of part `n`."""


# Bounds and partial sums are computed in another order than the exact scores: a document is
# dropped only when its bound is below the threshold by more than this relative margin.
MARGIN = 1e-9
# Added to every accumulated sum, so that 0 always means "not seen yet".
TINY = 1e-15
# A binary search per document costs about this many sequential passes over one posting.
SEARCH_COST = 16


def candidates(
    index: BM25Index, plan: list[tuple[float, str, int, float]], k: int
) -> tuple[Ids, Ids]:
    """(part, local id) of every document that may be in the top k: MaxScore.

    Terms with the highest bounds come first: their impacts (lower bounds of each
    posting's gain) are accumulated until the k-th best sum found exceeds what the
    remaining terms could add together. Only the documents seen so far can then make the
    top k; the remaining terms are added for them, one term at a time, dropping those
    that can no longer reach the k-th best.
    """
    bounds = [step[0] for step in plan]
    rest = [sum(bounds[j:]) for j in range(len(plan) + 1)]
    acc = _accumulators(index)
    touched: list[list[Ids]] = [[] for _ in index.parts]
    try:
        threshold, short, j = _accumulate(index, plan, k, rest, acc, touched)
        parts, local, partial = _gather(index, acc, touched)
        for i in range(j, len(plan) + 1):
            threshold = max(threshold, _kth(partial, k))
            keep = partial + short + rest[i] >= threshold - _slack(threshold)
            parts, local = parts[keep], local[keep]
            if i == len(plan):
                break
            short += _add_term(index, plan[i], acc, parts, local)
            partial = _read(index, acc, parts, local)
        return parts, local
    finally:
        for n, pieces in enumerate(touched):
            for seen_ids in pieces:
                acc[n][seen_ids] = 0.0


def _accumulate(
    index: BM25Index,
    plan: list[tuple[float, str, int, float]],
    k: int,
    rest: list[float],
    acc: list[NDArray[np.float64]],
    touched: list[list[Ids]],
) -> tuple[float, float, int]:
    """Accumulate whole posting lists until the rest cannot reach the k-th best sum:
    (that sum, how far below the true scores sums may be, terms taken)."""
    threshold, short, j = -math.inf, 0.0, 0
    while j < len(plan) and rest[j] >= threshold - _slack(threshold):
        _, term, times, idf = plan[j]
        j += 1
        missing = 0.0
        for n, part in enumerate(index.parts):
            ids, impacts, top = part.impacts_of(term)
            if not len(ids):
                continue
            low, high = index.scales[n]
            step = times * idf * top / LEVELS
            missing = max(missing, step * (LEVELS * (high - low) + high))
            before = acc[n][ids]
            touched[n].append(ids[before == 0.0].astype(np.int64))
            after = before + (impacts * (step * low) + TINY)  # never 0: 0 is "unseen"
            acc[n][ids] = after
            # Any k sums bound the k-th best from below: those of this list's documents,
            # when one of them could end the accumulation.
            if len(after) >= k and after.max() > rest[j]:
                threshold = max(threshold, _kth(after, k))
        short += missing
    return threshold, short, j


def _add_term(
    index: BM25Index,
    step: tuple[float, str, int, float],
    acc: list[NDArray[np.float64]],
    parts: Ids,
    local: Ids,
) -> float:
    """Add a term's contribution to the sums of these documents; how far below the true
    contribution it may be. Few documents: looked up (exact); many: the whole list's
    impacts, added to the documents already seen (no search)."""
    _, term, times, idf = step
    missing = 0.0
    for n, part in enumerate(index.parts):
        mine = local[parts == n]
        ids, impacts, top = part.impacts_of(term)
        if not len(mine) or not len(ids):
            continue
        if len(mine) * SEARCH_COST < len(ids):
            found, tf = part.lookup(term, mine)
            acc[n][mine[found]] += (times * idf) * index.gain(n, mine[found], tf[found])
            continue
        low, high = index.scales[n]
        step_size = times * idf * top / LEVELS
        missing = max(missing, step_size * (LEVELS * (high - low) + high))
        before = acc[n][ids]
        seen = before != 0.0
        acc[n][ids[seen]] = before[seen] + impacts[seen] * (step_size * low)
    return missing


def _read(
    index: BM25Index, acc: list[NDArray[np.float64]], parts: Ids, local: Ids
) -> NDArray[np.float64]:
    values = np.empty(len(local), dtype=np.float64)
    for n in range(len(index.parts)):
        mine = parts == n
        values[mine] = acc[n][local[mine]]
    return values


def _gather(
    index: BM25Index, acc: list[NDArray[np.float64]], touched: list[list[Ids]]
) -> tuple[Ids, Ids, NDArray[np.float64]]:
    """(part, local id, partial sum) of every document touched so far."""
    parts, local, partial = [], [], []
    for n, pieces in enumerate(touched):
        if pieces:
            ids = np.concatenate(pieces)
            parts.append(np.full(len(ids), n, dtype=np.int64))
            local.append(ids)
            partial.append(acc[n][ids])
    if not local:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64)
    return np.concatenate(parts), np.concatenate(local), np.concatenate(partial)


def _accumulators(index: BM25Index) -> list[NDArray[np.float64]]:
    """This thread's score accumulators, one per part: 0 = untouched, -inf = deleted."""
    acc: list[NDArray[np.float64]] | None = getattr(index.scratch, "acc", None)
    if acc is None:
        acc = []
        for part, dead in zip(index.parts, index.dead, strict=True):
            array = np.zeros(part.size, dtype=np.float64)
            if dead is not None:
                array[dead] = -math.inf
            acc.append(array)
        index.scratch.acc = acc
    return acc


def _kth(values: NDArray[np.float64], k: int) -> float:
    """The k-th largest value (-inf when there are fewer than k)."""
    if len(values) < k:
        return -math.inf
    return float(np.partition(values, len(values) - k)[len(values) - k])


def _slack(threshold: float) -> float:
    return MARGIN * (1.0 + abs(threshold)) if math.isfinite(threshold) else 0.0
