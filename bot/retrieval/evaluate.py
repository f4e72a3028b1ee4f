"""Answer quality as numbers: what readers are shown, the raw ranking, and a plain baseline.

The systems answer every question in the same run:
- `shown`: the passages the bot would send, after every cut and rerank, and whether it
  presents them as the answer (a refusal, or a "closest passages" reply, presents nothing);
- with a model (NEWSBOT_MODEL), `lexical`: the same without the semantic stage (what
  NEWSBOT_MODEL=none shows), and `dense`: the passages closest to the question in the
  model's space alone (bot/semantic/dense.py);
- `ranking`: the raw fused BM25 ranking (bot/retrieval/ranking.py) before any of those steps;
- `baseline`: rank_bm25's BM25Okapi over lower-cased whitespace tokens.
Each system's time per question (mean and 99th percentile) is its stage's latency.
"""

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
from bot.retrieval.search import SearchIndex
from bot.text import plural

DEPTH = 10


@dataclass(frozen=True, slots=True)
class Shown:
    """A system's reply to one question: passages best first, and whether they are
    presented as the answer."""

    passages: Sequence[Passage]
    answered: bool


System = Callable[[str], Shown]


@dataclass(frozen=True, slots=True)
class Case:
    """One question: phrases of the paragraph(s) that answer it, or none expected."""

    question: str
    expect: tuple[str, ...] = ()
    expect_none: bool = False
    article: str | None = None  # the id of the article that answers it, when known


def load_cases(path: Path) -> list[Case]:
    """Read JSONL of {"question", "expect": [...], "article"?} / {"question", "expect_none"};
    ValueError naming the line of the first malformed case."""
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            cases.append(_case(json.loads(line)))
        except ValueError as exc:
            raise ValueError(f"{path}:{number}: {exc}") from None
    return cases


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _case(data: object) -> Case:
    """One case from its JSON; ValueError saying what is wrong with it."""
    if not isinstance(data, dict):
        raise ValueError("not a case (a JSON object with 'question' is expected)")
    expect = data.get("expect", [])
    if not _text(data.get("question")):
        raise ValueError("'question' must be non-blank text")
    if not isinstance(expect, list):  # a string would be taken letter by letter
        raise ValueError("'expect' must be a list of phrases")
    if not all(_text(phrase) for phrase in expect):
        raise ValueError("'expect' phrases must be non-blank text")
    if data.get("article") is not None and not isinstance(data["article"], str):
        raise ValueError("'article' must be text (an article id)")
    case = Case(
        question=data["question"],
        expect=tuple(expect),
        expect_none=data.get("expect_none") is True,
        article=data.get("article"),
    )
    if not case.expect and not case.expect_none:
        raise ValueError("needs 'expect' phrases or 'expect_none'")
    return case


@dataclass
class Metrics:
    """Over answerable questions: the answer paragraph's hit@1/@3 and MRR@10, the answering
    article at rank 1, refusals; over the others: no-answer precision and recall."""

    answerable: int = 0
    hit1: int = 0
    hit3: int = 0
    rr: float = 0.0
    article1: int = 0
    articles_known: int = 0
    refused: int = 0
    unanswerable: int = 0
    said_none: int = 0
    said_none_right: int = 0
    seconds: float = 0.0
    times: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def add(
        self,
        rank: int | None,
        answered: bool,
        expect_none: bool,
        question: str,
        article_first: bool | None = None,
    ) -> None:
        """Count one reply: `rank` of the first answering passage presented as the answer."""
        if expect_none:
            self.unanswerable += 1
            if answered:
                self.misses.append(f"answered but should not: {question}")
        else:
            self.answerable += 1
            self.hit1 += rank == 1
            self.hit3 += rank is not None and rank <= 3
            self.rr += 1 / rank if rank else 0.0
            self.refused += not answered
            if article_first is not None:
                self.articles_known += 1
                self.article1 += article_first
            if rank != 1:
                self.misses.append(f"{'refused' if not answered else f'rank {rank}'}: {question}")
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
            "article@1": share(self.article1, self.articles_known),
            "refused": share(self.refused, self.answerable),
            "no-answer precision": share(self.said_none_right, self.said_none)
            if self.unanswerable
            else None,
            "no-answer recall": share(self.said_none_right, self.unanswerable),
            "ms/question": share(self.seconds * 1000, self.answerable + self.unanswerable),
            "ms p99": float(np.percentile(self.times, 99)) * 1000 if self.times else None,
        }


def first_rank(passages: Sequence[Passage], matches: Callable[[Passage], bool]) -> int | None:
    """1-based rank of the first passage that matches, within DEPTH."""
    for rank, passage in enumerate(passages[:DEPTH], start=1):
        if matches(passage):
            return rank
    return None


def _contains(phrases: tuple[str, ...]) -> Callable[[Passage], bool]:
    return lambda passage: any(phrase in passage.text for phrase in phrases)


def _answers_in(article: Article, case: Case) -> bool:
    """The case's article, or another that prints an expected phrase (a wire story twice)."""
    return article.id == case.article or any(
        phrase in paragraph for paragraph in article.paragraphs for phrase in case.expect
    )


def _from(article: Article) -> Callable[[Passage], bool]:
    """A passage of the article, or of another file with the same text (a story filed
    twice: the reader sees the same words)."""
    return lambda passage: (
        passage.article is article or (passage.article.paragraphs == article.paragraphs)
    )


def _timed(system: System, question: str, metrics: Metrics) -> Shown:
    started = time.perf_counter()
    shown = system(question)
    took = time.perf_counter() - started
    metrics.seconds += took
    metrics.times.append(took)
    return shown


def evaluate_cases(system: System, cases: Iterable[Case]) -> Metrics:
    """Run every case through `system`; only passages presented as the answer count."""
    metrics = Metrics()
    for case in cases:
        shown = _timed(system, case.question, metrics)
        presented = shown.passages if shown.answered else ()
        rank = first_rank(presented, _contains(case.expect))
        article_first = (
            bool(presented) and _answers_in(presented[0].article, case)
            if case.article is not None
            else None
        )
        metrics.add(rank, shown.answered, case.expect_none, case.question, article_first)
    return metrics


def evaluate_known_items(system: System, collection: Collection) -> Metrics:
    """Each article's headline as the query; any passage of that article is the target."""
    metrics = Metrics()
    for article in collection.articles:
        shown = _timed(system, article.title, metrics)
        presented = shown.passages if shown.answered else ()
        rank = first_rank(presented, _from(article))
        metrics.add(rank, shown.answered, False, article.title, rank == 1)
    return metrics


def shown_system(index: SearchIndex) -> System:
    """newsbot as readers get it: the passages of its reply, presented as the answer or not."""

    def run(question: str) -> Shown:
        found = index.find(question, DEPTH)
        return Shown([h.passage for h in found.hits], found.answered)

    return run


def lexical_system(index: SearchIndex) -> System:
    """What readers are shown without the semantic stage (NEWSBOT_MODEL=none)."""
    return shown_system(SearchIndex(index.collection, titles=index.titles, built=index.built))


def dense_system(index: SearchIndex) -> System:
    """The passages closest to the question in the model's space, nothing else."""
    dense = index.dense
    assert dense is not None

    def run(question: str) -> Shown:
        positions = dense.candidates(dense.question(question), DEPTH)[:DEPTH]
        return Shown([index.passages[i] for i in positions], bool(positions))

    return run


def ranking_system(index: SearchIndex) -> System:
    """newsbot's raw ranking, before the answerability decision, reranking and cuts."""

    def run(question: str) -> Shown:
        ranked = index.rank(index.query(question).terms, DEPTH)
        return Shown([index.passages[i] for i, _ in ranked], bool(ranked))

    return run


def baseline_system(passages: Sequence[Passage], titles: bool) -> System:
    """Plain rank_bm25.BM25Okapi over lower-cased whitespace tokens; answers if any score > 0."""
    texts = [p.context if titles else p.text for p in passages]
    bm25 = BM25Okapi([t.lower().split() for t in texts])

    def run(question: str) -> Shown:
        scores = np.asarray(bm25.get_scores(question.lower().split()))
        order = np.argsort(-scores, kind="stable")[:DEPTH]
        ranked = [passages[i] for i in order if scores[i] > 0]
        return Shown(ranked, bool(ranked))

    return run


def systems(index: SearchIndex, titles: bool) -> dict[str, System]:
    """The systems every evaluation compares, in the order reported (`lexical` and `dense`
    only with a model)."""
    semantic = {}
    if index.dense is not None:
        semantic = {"lexical": lexical_system(index), "dense": dense_system(index)}
    return {
        "shown": shown_system(index),
        **semantic,
        "ranking": ranking_system(index),
        "baseline": baseline_system(index.passages, titles),
    }


_PERCENT = {"hit@1", "hit@3", "article@1", "refused", "no-answer precision", "no-answer recall"}


def report(title: str, results: dict[str, Metrics]) -> str:
    """A text table: one row per metric, one column per system."""
    names = list(results)
    rows = [f"{title}", f"{'':<22}" + "".join(f"{n:>12}" for n in names)]
    tables = {n: m.table() for n, m in results.items()}
    for metric in tables[names[0]]:
        if all(tables[n][metric] is None for n in names):
            continue
        cells = []
        for n in names:
            value = tables[n][metric]
            if value is None:
                cells.append(f"{'-':>12}")
            elif metric in _PERCENT:
                cells.append(f"{value:>11.1%} ")
            elif metric == "MRR@10":
                cells.append(f"{value:>12.3f}")
            else:
                cells.append(f"{value:>12.2f}")
        rows.append(f"{metric:<22}" + "".join(cells))
    return "\n".join(rows)


def as_json(results: dict[str, Metrics]) -> dict[str, Any]:
    return {name: metrics.table() for name, metrics in results.items()}


@dataclass(frozen=True, slots=True)
class Report:
    """One evaluation of the three systems (systems()), as `newsbot eval` prints it."""

    name: str  # the case file, or "known_items"
    title: str
    results: dict[str, Metrics]
    misses_shown: int = 100

    def figures(self) -> dict[str, Any]:
        return as_json(self.results)

    def text(self, misses: bool = False) -> str:
        """The table; with `misses`, the questions readers were not shown an answer for."""
        lines = [report(self.title, self.results)]
        shown = self.results["shown"]
        if misses and shown.misses:
            lines.append("newsbot misses:")
            lines += [f"  {line}" for line in shown.misses[: self.misses_shown]]
        return "\n".join(lines)


def qa_report(path: Path, cases: list[Case], index: SearchIndex) -> Report:
    """The three systems on one file of questions."""
    results = {name: evaluate_cases(s, cases) for name, s in systems(index, True).items()}
    answerable = results["shown"].answerable
    title = f"QA cases {path} ({answerable} answerable, {len(cases) - answerable} not answerable)"
    return Report(str(path), title, results)


def known_item_report(
    folder: Path, collection: Collection, prepare: Callable[[SearchIndex], None] | None = None
) -> Report:
    """Known-item search over `collection` (headlines not searchable); `prepare` gives the
    index its semantic stage."""
    index = SearchIndex(collection, titles=False)
    if prepare is not None:
        prepare(index)
    results = {
        name: evaluate_known_items(s, collection) for name, s in systems(index, False).items()
    }
    title = (
        f"Known-item search {folder} ({plural(len(collection.articles), 'article')}, "
        f"{plural(len(collection.passages), 'passage')}; headline as query)"
    )
    return Report("known_items", title, results, misses_shown=20)
