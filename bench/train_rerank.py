"""Fit the learned rerank and answerability decision (bot/retrieval/learned.py).

    .venv/bin/python -m bench.train_rerank /path/to/squad2/dev.jsonl \\
        --tune bench/bbc_qa_tune.jsonl bench/bbc_qa_tune2.jsonl \\
        --articles ../shared/corpora/bbc-dev [--squad-questions 1500] \\
        [--out bot/retrieval/rerank_model.json]

Training data, both passed through the bot's own stages 1-3 (SearchIndex.semantic_evidence),
so the features are exactly those the bot computes:
- SQuAD 2.0 (public; half its questions have no answer in the paragraph they were written
  on): its articles become a collection, one file per article, indexed and embedded as
  newsbot indexes any folder; a sample of its questions, half of them unanswerable;
- the BBC tuning questions (bench/bbc_qa_tune*.jsonl, written by two writers for tuning)
  over bbc-dev: news, and the way readers ask.
bench/bbc_qa_test.jsonl and the fresh questions, which the figures are reported on, are
never read here.

Four logistic regressions (numpy, Newton's method, L2 penalty):
- `rerank`: does this candidate hold the answer? (answerable questions' candidates);
- `final`: the same for the candidates the cross-encoder read, its score among the features;
- `decision` and `decision_cross`: is the question answerable, from its best candidate?
The thresholds are the highest probabilities at which at most REFUSED_AT_MOST of the BBC
tuning questions that have an answer are refused.
"""

from __future__ import annotations

import argparse
import json
import pickle
import random
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bench.semantic_setup import semantic_index
from bot.retrieval import learned
from bot.retrieval.evaluate import Case, load_cases
from bot.retrieval.evidence import Evidence, confirm
from bot.retrieval.search import SearchIndex

ROOT = Path(__file__).resolve().parent.parent
REFUSED_AT_MOST = 0.02
FURTHER = 0.05
PENALTY = 1.0
DEPTH = 20  # candidates the cross-encoder reads in training
RERANK_DEPTH = 8  # ... in the bot (NEWSBOT_RERANK_DEPTH's default): the thresholds are for it


@dataclass(frozen=True, slots=True)
class Question:
    """One training question: its text, whether it has an answer, and which passages hold it."""

    text: str
    answerable: bool
    source: str  # "squad" or "bbc"
    holds: object  # SQuAD: (article, paragraph, answers); BBC: the expected phrases


@dataclass(frozen=True, slots=True)
class Example:
    """One question's candidates as the bot sees them, with labels and cross-encoder scores."""

    question: Question
    evidence: list[Evidence]
    labels: NDArray[np.bool_]
    unknown: float
    order: NDArray[np.int64]  # the candidates by the first-stage rerank (set after fitting it)
    cross: NDArray[np.float32]  # the cross-encoder's scores of order[:DEPTH]


def fit(
    x: NDArray[np.float64],
    y: NDArray[np.bool_],
    names: tuple[str, ...],
    penalty: float = PENALTY,
    weights: NDArray[np.float64] | None = None,
) -> learned.Logistic:
    """L2-penalised logistic regression on standardised features (Newton's method), each
    row counted `weights` times (1 when not given)."""
    weights = np.ones(len(x)) if weights is None else weights
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    target = y.astype(np.float64)
    ridge = np.eye(z.shape[1]) * penalty
    ridge[-1, -1] = 0.0
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(z @ w)))
        gradient = z.T @ (weights * (p - target)) + ridge @ w
        hessian = (z * (weights * p * (1 - p))[:, None]).T @ z + ridge
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return learned.Logistic(names, mean, scale, w[:-1], float(w[-1]))


def squad_questions(path: Path, folder: Path, count: int) -> list[Question]:
    """Write the SQuAD articles as article files; a sample of `count` questions, half of
    them unanswerable."""
    written: dict[str, str] = {}
    answerable, impossible = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        title = str(item["title"]).replace("_", " ")
        if title not in written:
            name = written[title] = f"{len(written):03d}"
            paragraphs = [" ".join(str(p).split()) for p in item["paragraphs"]]
            body = "\n\n".join(paragraphs)
            (folder / f"{name}.txt").write_text(f"{title}\n\n{body}\n", encoding="utf-8")
        article, paragraph = written[title], int(item["source_paragraph"]) + 1
        answers = [" ".join(str(a).split()) for a in item["answers"]]

        question = Question(
            item["question"], not item["is_impossible"], "squad", (article, paragraph, answers)
        )
        (impossible if item["is_impossible"] else answerable).append(question)
    rng = random.Random(2026)
    half = count // 2
    return rng.sample(answerable, min(half, len(answerable))) + rng.sample(
        impossible, min(half, len(impossible))
    )


def labels_for(
    index: SearchIndex, question: Question, evidence: Sequence[Evidence]
) -> NDArray[np.bool_]:
    """Which candidates hold the answer."""
    if not question.answerable:
        return np.zeros(len(evidence), dtype=bool)
    passages = [index.passages[e.index] for e in evidence]
    if question.source == "squad":
        article, paragraph, answers = question.holds  # type: ignore[misc]
        return np.array(
            [p.article.id == article and p.paragraph == paragraph
             and any(a in p.text for a in answers) for p in passages]
        )  # fmt: skip
    expect: tuple[str, ...] = question.holds  # type: ignore[assignment]
    return np.array([any(x in p.text for x in expect) for p in passages])


def examples(index: SearchIndex, questions: Sequence[Question]) -> list[Example]:
    found = []
    for question in questions:
        query = index.query(question.text)
        evidence = index.semantic_evidence(query) if query.terms else None
        if not evidence:
            continue
        evidence = [confirm(query, e, index.passages[e.index], index._sentences) for e in evidence]
        labels = labels_for(index, question, evidence)
        found.append(
            Example(question, evidence, labels, index.unknown_share(query),
                    np.arange(len(evidence)), np.zeros(0, dtype=np.float32))
        )  # fmt: skip
    return found


def read_leading(
    index: SearchIndex, found: list[Example], rerank: learned.Logistic
) -> list[Example]:
    """Order each question's candidates by the first stage; the cross-encoder reads the
    first DEPTH."""
    reranker = index.dense.space.reranker if index.dense is not None else None
    assert reranker is not None, "the cross-encoder is needed to train (NEWSBOT_RERANKER)"
    out = []
    for example in found:
        order = np.argsort(
            -rerank.logit(learned.candidate_features(example.evidence)), kind="stable"
        )
        texts = [index.passages[example.evidence[i].index].text for i in order[:DEPTH]]
        cross = reranker.scores(example.question.text, texts)
        out.append(
            Example(
                example.question, example.evidence, example.labels, example.unknown, order, cross
            )
        )
    return out


def final_rows(found: Sequence[Example]) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    xs, ys = [], []
    for example in found:
        if not example.question.answerable:
            continue
        lead = example.order[:DEPTH]
        ev = [example.evidence[i] for i in lead]
        xs.append(
            np.hstack([learned.candidate_features(ev), learned.cross_features(example.cross)])
        )
        ys.append(example.labels[lead])
    return np.vstack(xs), np.concatenate(ys)


def decisions(
    found: Sequence[Example], model: learned.Learned, cross: bool
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Each question's decision row (its best candidate after the rerank) and label."""
    rows, labels = [], []
    for example in found:
        ordered, extra = ordered_for(example, model, cross)
        row = learned.decision_features(ordered, example.unknown)
        rows.append(np.concatenate([row, extra]) if cross else row)
        labels.append(example.question.answerable)
    return np.array(rows), np.array(labels)


def ordered_for(
    example: Example, model: learned.Learned, cross: bool
) -> tuple[list[Evidence], NDArray[np.float64]]:
    """The candidates as the bot orders them, and the cross-encoder's decision features."""
    first = learned.rerank(example.evidence, model)
    if not cross:
        return learned.names_first(first), np.zeros(0)
    lead = [example.evidence[i] for i in example.order[:DEPTH]]
    final, (top, margin) = learned.read_by_cross(lead, example.cross, model)
    read = {e.index for e in lead}
    rest = [e for e in first if e.index not in read]
    return learned.names_first(final + rest), np.array([top, margin])


def hit_at_1(found: Sequence[Example], model: learned.Learned, cross: bool) -> float:
    answered = [e for e in found if e.question.answerable]
    good = 0
    for example in answered:
        ordered, _ = ordered_for(example, model, cross)
        holding = {
            e.index for e, label in zip(example.evidence, example.labels, strict=True) if label
        }
        good += ordered[0].index in holding
    return good / len(answered)


def threshold(
    index: SearchIndex, cases: Sequence[Case], model: learned.Learned, depth: int
) -> float:
    """The highest decision probability at which at most REFUSED_AT_MOST of the answerable
    BBC tuning questions are refused, the bot's own gates (names, unknown words) included,
    with the cross-encoder reading `depth` candidates: each question through the bot's stages."""
    assert index.dense is not None
    index.dense.space.depth = depth
    index.learned = replace(model, threshold=0.0, threshold_cross=0.0)
    chances = []
    for case in cases:
        if case.expect_none:
            continue
        found = index.find(case.question, 3)
        chances.append(found.verdict.chance if found.answered else -1.0)
    index.learned = None
    allowed = int(REFUSED_AT_MOST * len(chances))
    return max(0.0, float(sorted(chances)[allowed]) - 1e-6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("squad", type=Path)
    parser.add_argument("--tune", type=Path, nargs="+", required=True)
    parser.add_argument("--articles", type=Path, required=True)
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "newsbot-train-cache"
    )
    parser.add_argument("--squad-questions", type=int, default=1500)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bot" / "retrieval" / learned.MODEL_FILE
    )
    parser.add_argument(
        "--examples",
        type=Path,
        help="keep the computed features in this file (pickle), and read them from it when "
        "it exists: refitting then takes seconds",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    if args.examples and args.examples.exists():
        with args.examples.open("rb") as file:
            found, found_bbc, rerank = pickle.load(file)
        return finish(args, found, found_bbc, rerank, started)
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp) / "squad"
        folder.mkdir()
        questions = squad_questions(args.squad, folder, args.squad_questions)
        squad = semantic_index(folder, args.cache / "squad")
        found = examples(squad, questions)
    bbc = semantic_index(args.articles, args.cache / "bbc")
    cases = [c for path in args.tune for c in load_cases(path)]
    tune = [Question(c.question, not c.expect_none, "bbc", c.expect) for c in cases]
    found_bbc = examples(bbc, tune)
    took = time.perf_counter() - started
    print(f"{len(found)} SQuAD + {len(found_bbc)} BBC questions: features in {took:.0f} s")
    everything = found + found_bbc
    x = np.vstack(
        [learned.candidate_features(e.evidence) for e in everything if e.question.answerable]
    )
    y = np.concatenate([e.labels for e in everything if e.question.answerable])
    rerank = fit(x, y, learned.CANDIDATE)
    found, found_bbc = read_leading(squad, found, rerank), read_leading(bbc, found_bbc, rerank)
    if args.examples:
        with args.examples.open("wb") as file:
            pickle.dump((found, found_bbc, rerank), file)
    finish(args, found, found_bbc, rerank, started)


def finish(
    args: argparse.Namespace,
    found: list[Example],
    found_bbc: list[Example],
    rerank: learned.Logistic,
    started: float,
) -> None:
    bbc = semantic_index(args.articles, args.cache / "bbc")
    cases = [c for path in args.tune for c in load_cases(path)]
    """Fit the cross-encoder's rerank and the decisions; choose the thresholds; write."""
    everything = found + found_bbc
    final = fit(*final_rows(everything), learned.CANDIDATE + learned.CROSS)
    model = learned.Learned(rerank, rerank, 0.5, FURTHER, final=final)
    # Each source counts as much in the decision: SQuAD's unanswerable questions are written
    # against one paragraph, the tuning sets' are a news reader's traps.
    weight = np.array([1.0] * len(found) + [len(found) / max(1, len(found_bbc))] * len(found_bbc))
    decision = fit(*decisions(everything, model, False), learned.DECISION, weights=weight)
    decision_cross = fit(
        *decisions(everything, model, True),
        learned.DECISION + learned.CROSS_DECISION,
        weights=weight,
    )
    model = learned.Learned(rerank, decision, 0.5, FURTHER, final, decision_cross)
    model = learned.Learned(
        rerank, decision, threshold(bbc, cases, model, 0), FURTHER, final, decision_cross,
        threshold(bbc, cases, model, RERANK_DEPTH),
        trained_on=f"SQuAD 2.0 dev ({len(found)} questions) + BBC tuning ({len(found_bbc)})",
    )  # fmt: skip
    for name, part in (("SQuAD", found), ("BBC tuning", found_bbc)):
        print(f"{name} hit@1 (training data): rerank {hit_at_1(part, model, False):.1%}, "
              f"with the cross-encoder {hit_at_1(part, model, True):.1%}")  # fmt: skip
    args.out.write_text(json.dumps(model.as_json(), indent=1) + "\n", encoding="utf-8")
    for name, weights in (
        ("rerank", rerank),
        ("final", final),
        ("decision", decision),
        ("decision_cross", decision_cross),
    ):
        print(
            name,
            ", ".join(
                f"{n} {w:+.2f}" for n, w in zip(weights.names, weights.weights, strict=True)
            ),
        )
    print(
        f"thresholds {model.threshold:.3f} without the cross-encoder, {model.threshold_cross:.3f}"
        f" with it (at most {REFUSED_AT_MOST:.0%} of the BBC tuning questions with an answer "
        "refused, the gates included)"
    )
    print(f"wrote {args.out} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
