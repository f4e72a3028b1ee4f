"""Choose the reranker's weights (bot/retrieval/choice.py) on the tuning half of the BBC questions.

    .venv/bin/python -m bench.tune_rerank bench/bbc_qa_tune.jsonl bench/bbc_qa_tune2.jsonl \
        ../shared/corpora/bbc-dev

Gathers every candidate's evidence once per question (as SearchIndex.find does), then
scores a coarse grid of the rerank weights on what readers are shown: the share of
answerable questions whose answering paragraph is shown first, plus half the share shown
in the top three, after the answerability decision and every cut (bot/retrieval/choice.py). Each
question file is one writer's; a grid point is judged by its figures on the worse of them,
so that weights suiting one way of asking do not win. It prints the shipped weights'
figures and the best grid points, keeping only points under which the seed QA
(bench/seed_qa.jsonl over seeds/) does no worse than before the reranker. Never run it on
bench/bbc_qa_test.jsonl: that half is for reporting only.
"""

from __future__ import annotations

import argparse
import itertools
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np

from bot.articles import load_collection
from bot.retrieval import choice
from bot.retrieval.evaluate import Case, load_cases
from bot.retrieval.evidence import confirm
from bot.retrieval.search import SearchIndex

ROOT = Path(__file__).resolve().parent.parent
# The seed QA's hit@1 before this reranker (2026-11-24): no weights may do worse.
SEED_FLOOR = 41 / 43
NAMES = [f.name for f in fields(choice.Weights)]


@dataclass(frozen=True, slots=True)
class Prepared:
    """One question's candidates, computed once: their features (one row each, in the
    order of choice.Weights), whether each answers the question (choice.answers), whether
    each holds an expected phrase, and which pairs are near-duplicates."""

    case: Case
    features: np.ndarray
    answers: np.ndarray
    named: np.ndarray  # its article holds the question's names as written
    coverage: np.ndarray
    good: np.ndarray
    duplicate: np.ndarray
    blocked: bool  # the question has a word no article uses (choice.decide)


def prepare(index: SearchIndex, case: Case) -> Prepared:
    query = index.query(case.question)
    evidence = [  # every candidate's names checked as written (find() checks the leaders)
        confirm(query, e, index.passages[e.index], index._sentences)
        for e in (index.evidence(query) if query.terms else [])
    ]
    zero = choice.Weights(**dict.fromkeys(NAMES, 0.0))
    features = np.array(
        [[choice.score(e, replace(zero, **{name: 1.0})) for name in NAMES] for e in evidence]
    ).reshape(len(evidence), len(NAMES))
    terms = [index._terms_of(e.index) for e in evidence]
    duplicate = np.array([[choice.near_duplicate(a, b) for b in terms] for a in terms])
    return Prepared(
        case,
        features,
        np.array([choice.answers(e) for e in evidence], dtype=bool),
        np.array([e.article_names for e in evidence], dtype=bool),
        np.array([e.coverage for e in evidence]),
        np.array(
            [any(p in index.passages[e.index].text for p in case.expect) for e in evidence],
            dtype=bool,
        ),
        duplicate.reshape(len(evidence), len(evidence)),
        index.unknown_share(query) >= choice.UNKNOWN_SHARE,
    )


@dataclass
class Figures:
    hit1: float
    hit3: float
    refused: float
    no_answer_recall: float

    @property
    def objective(self) -> float:
        return self.hit1 + 0.5 * self.hit3

    def __str__(self) -> str:
        return (
            f"hit@1 {self.hit1:.1%}, hit@3 {self.hit3:.1%}, refused {self.refused:.1%}, "
            f"no-answer recall {self.no_answer_recall:.1%}"
        )


def shown(item: Prepared, vector: np.ndarray) -> tuple[bool, list[int]]:
    """Whether the reply presents an answer, and its first three passages (as select())."""
    if not len(item.features):
        return False, []
    scores = item.features @ vector
    order = np.argsort(-scores, kind="stable")
    best = int(order[0])
    if item.blocked or not item.answers[best]:
        return False, []
    picked: list[int] = []
    for n in order.tolist():
        further = (
            item.named[n]
            and scores[n] >= choice.MIN_SCORE_RATIO * scores[best]
            and item.coverage[n]
            >= max(choice.MIN_FURTHER_COVERAGE, choice.FURTHER_SHARE * item.coverage[best])
        )
        if picked and not further:
            continue
        if any(item.duplicate[n, p] for p in picked):
            continue
        picked.append(n)
        if len(picked) == 3:
            break
    return True, picked


def figures(data: list[Prepared], vector: np.ndarray) -> Figures:
    hit1 = hit3 = refused = answerable = right_none = unanswerable = 0
    for item in data:
        answered, picked = shown(item, vector)
        if item.case.expect_none:
            unanswerable += 1
            right_none += not answered
            continue
        answerable += 1
        refused += not answered
        hit1 += bool(picked) and bool(item.good[picked[0]])
        hit3 += any(item.good[n] for n in picked)
    return Figures(
        hit1 / answerable,
        hit3 / answerable,
        refused / answerable,
        right_none / unanswerable if unanswerable else 1.0,
    )


GRID = {
    "article": (1.0, 1.5, 2.0),
    "density": (0.0, 0.25, 0.5),
    "typed": (0.25, 0.5, 0.75),
    "names": (0.0, 0.3, 0.6),
    "held": (0.0, 0.5, 1.0),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "cases", type=Path, nargs="+", help="JSONL files (one per writer), then the articles"
    )
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    *files, articles = args.cases
    if any("test" in f.name for f in files):
        parser.error("the test half is for reporting, not for tuning")
    index = SearchIndex(load_collection(articles))
    sets = [[prepare(index, c) for c in load_cases(f)] for f in files]
    seed = SearchIndex(load_collection(ROOT / "seeds"))
    seed_data = [prepare(seed, c) for c in load_cases(ROOT / "bench" / "seed_qa.jsonl")]
    shipped = asdict(choice.WEIGHTS)
    for name, data in zip(files, sets, strict=True):
        print(f"shipped on {name}: {figures(data, vector(shipped))}")
    print(f"shipped on the seed QA: {figures(seed_data, vector(shipped))}")
    rows = []
    for values in itertools.product(*GRID.values()):
        weights = dict(shipped, **dict(zip(GRID, values, strict=True)))
        if figures(seed_data, vector(weights)).hit1 < SEED_FLOOR:
            continue
        found = [figures(data, vector(weights)) for data in sets]
        rows.append((min(f.objective for f in found), values, found))
    rows.sort(key=lambda row: -row[0])
    for _, values, found in rows[: args.top]:
        print(dict(zip(GRID, values, strict=True)))
        for name, f in zip(files, found, strict=True):
            print(f"    {name}: {f}")


def vector(weights: dict[str, float]) -> np.ndarray:
    return np.array([weights[n] for n in NAMES])


if __name__ == "__main__":
    main()
