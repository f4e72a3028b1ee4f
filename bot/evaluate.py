"""Answer quality as numbers: QA cases and known-item search, against a plain BM25 baseline."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rank_bm25 import BM25Okapi

from bot.articles import Article, Collection, Passage
from bot.index import SearchIndex, query_terms

# A system answers a question with passages, best first, and whether it answered at all.
System = Callable[[str], tuple[Sequence[Passage], bool]]
DEPTH = 10


@dataclass(frozen=True, slots=True)
class Case:
    """One question: phrases an answering passage contains, or none expected."""

    question: str
    expect: tuple[str, ...] = ()
    expect_none: bool = False


def load_cases(path: Path) -> list[Case]:
    """Read a JSONL file of {"question", "expect": [...]} / {"question", "expect_none": true}."""
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            case = Case(
                question=str(data["question"]),
                expect=tuple(data.get("expect", ())),
                expect_none=bool(data.get("expect_none", False)),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: not a case ({exc})") from None
        if not case.expect and not case.expect_none:
            raise ValueError(f"{path}:{number}: needs 'expect' phrases or 'expect_none'")
        cases.append(case)
    return cases


@dataclass
class Metrics:
    """hit@1, hit@3, MRR@10 over answerable cases; no-answer precision and recall."""

    answerable: int = 0
    hit1: int = 0
    hit3: int = 0
    rr: float = 0.0
    unanswerable: int = 0
    said_none: int = 0
    said_none_right: int = 0
    seconds: float = 0.0
    misses: list[str] = field(default_factory=list)

    def add(self, rank: int | None, answered: bool, expect_none: bool, question: str) -> None:
        if expect_none:
            self.unanswerable += 1
            if answered:
                self.misses.append(f"answered but should not: {question}")
        else:
            self.answerable += 1
            self.hit1 += rank == 1
            self.hit3 += rank is not None and rank <= 3
            self.rr += 1 / rank if rank else 0.0
            if rank != 1:
                self.misses.append(f"rank {rank}: {question}")
        if not answered:
            self.said_none += 1
            self.said_none_right += expect_none

    def table(self) -> dict[str, float | None]:
        def share(a: float, b: int) -> float | None:
            return a / b if b else None

        return {
            "hit@1": share(self.hit1, self.answerable),
            "hit@3": share(self.hit3, self.answerable),
            "MRR@10": share(self.rr, self.answerable),
            "no-answer precision": share(self.said_none_right, self.said_none)
            if self.unanswerable
            else None,
            "no-answer recall": share(self.said_none_right, self.unanswerable),
            "ms/question": share(self.seconds * 1000, self.answerable + self.unanswerable),
        }


def first_rank(passages: Sequence[Passage], matches: Callable[[Passage], bool]) -> int | None:
    """1-based rank of the first passage that matches, within DEPTH."""
    for rank, passage in enumerate(passages[:DEPTH], start=1):
        if matches(passage):
            return rank
    return None


def _contains(phrases: tuple[str, ...]) -> Callable[[Passage], bool]:
    return lambda passage: any(phrase in passage.text for phrase in phrases)


def _from(article: Article) -> Callable[[Passage], bool]:
    return lambda passage: passage.article is article


def evaluate_cases(system: System, cases: Iterable[Case]) -> Metrics:
    """Run every case through `system`."""
    metrics = Metrics()
    for case in cases:
        started = time.perf_counter()
        passages, answered = system(case.question)
        metrics.seconds += time.perf_counter() - started
        rank = first_rank(passages, _contains(case.expect))
        metrics.add(rank, answered, case.expect_none, case.question)
    return metrics


def evaluate_known_items(system: System, collection: Collection) -> Metrics:
    """Each article's headline as the query; any passage of that article is the target."""
    metrics = Metrics()
    for article in collection.articles:
        started = time.perf_counter()
        passages, answered = system(article.title)
        metrics.seconds += time.perf_counter() - started
        rank = first_rank(passages, _from(article))
        metrics.add(rank, answered, False, article.title)
    return metrics


def newsbot_system(index: SearchIndex) -> System:
    """newsbot as readers get it: the answer's passages, or none."""

    def run(question: str) -> tuple[Sequence[Passage], bool]:
        hits = index.search(question, DEPTH)
        return [h.passage for h in hits], bool(hits)

    return run


def newsbot_ranking(index: SearchIndex) -> System:
    """newsbot's ranking without the answerability cut (for known-item search)."""

    def run(question: str) -> tuple[Sequence[Passage], bool]:
        ranked = index.rank(query_terms(question), DEPTH)
        return [index.passages[i] for i, _ in ranked], bool(ranked)

    return run


def baseline_system(passages: Sequence[Passage], titles: bool) -> System:
    """Plain rank_bm25.BM25Okapi over lower-cased whitespace tokens; answers if any score > 0."""
    texts = [p.context if titles else p.text for p in passages]
    bm25 = BM25Okapi([t.lower().split() for t in texts])

    def run(question: str) -> tuple[Sequence[Passage], bool]:
        scores = np.asarray(bm25.get_scores(question.lower().split()))
        order = np.argsort(-scores, kind="stable")[:DEPTH]
        ranked = [passages[i] for i in order if scores[i] > 0]
        return ranked, bool(ranked)

    return run


def report(title: str, results: dict[str, Metrics]) -> str:
    """A text table: one row per metric, one column per system."""
    names = list(results)
    rows = [f"{title}", f"{'':<22}" + "".join(f"{n:>12}" for n in names)]
    tables = {n: m.table() for n, m in results.items()}
    for metric in tables[names[0]]:
        cells = []
        for n in names:
            value = tables[n][metric]
            if value is None:
                cells.append(f"{'-':>12}")
            elif metric == "ms/question":
                cells.append(f"{value:>12.2f}")
            elif metric == "MRR@10":
                cells.append(f"{value:>12.3f}")
            else:
                cells.append(f"{value:>11.1%} ")
        rows.append(f"{metric:<22}" + "".join(cells))
    return "\n".join(rows)


def as_json(results: dict[str, Metrics]) -> dict[str, Any]:
    return {name: metrics.table() for name, metrics in results.items()}
