"""Stage 4 with models: the rerank and the answerability decision learned on public QA data
(SQuAD 2.0, which has unanswerable questions) instead of hand-set weights.

All are logistic regressions over what stage 3 gathered (bot/retrieval/evidence.py) and the
semantic stage's similarities (bot/semantic/dense.py):
- `rerank` scores each candidate's chance of holding the answer;
- `final` scores again the leading ones that the cross-encoder read (bot/semantic/reranker.py),
  with its score among the features;
- `decision` (`decision_cross` after the cross-encoder) gives the chance that the best one
  answers the question; below `threshold` the bot says the articles do not answer.
The weights ship in rerank_model.json; bench/train_rerank.py fits them again from the data
and prints the figures they were chosen by. Without a model (NEWSBOT_MODEL=none), or while
a candidate has no vector yet, the hand-set rerank (bot/retrieval/choice.py) is used.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bot.retrieval.evidence import Evidence

MODEL_FILE = "rerank_model.json"
# Candidate features, in the order of the rerank's weights.
CANDIDATE = (
    "passage", "article", "coverage", "density", "typed", "names", "held", "lede", "rank",
    "passage_similarity", "sentence_similarity", "title_similarity", "passage_gap", "sentence_gap",
)  # fmt: skip
# The cross-encoder's features of a candidate it read, and of the question's best.
CROSS = ("cross", "cross_gap", "cross_rank")
CROSS_DECISION = ("cross", "cross_margin")
# Question features (of the best candidate after the rerank), in the order of the decision's.
DECISION = (
    "score", "margin", "coverage", "density", "typed", "held", "names",
    "passage_similarity", "sentence_similarity", "title_similarity", "unknown",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Logistic:
    """A fitted logistic regression over standardised features."""

    names: tuple[str, ...]
    mean: NDArray[np.float64]
    scale: NDArray[np.float64]
    weights: NDArray[np.float64]
    bias: float

    def logit(self, features: NDArray[np.float64]) -> NDArray[np.float64]:
        """The log-odds of each row; a feature not known (NaN) counts as its average."""
        known = np.where(np.isnan(features), self.mean, features)
        return ((known - self.mean) / self.scale) @ self.weights + self.bias

    def as_json(self) -> dict[str, Any]:
        return {
            "names": list(self.names),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "weights": self.weights.tolist(),
            "bias": self.bias,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Logistic:
        return cls(
            tuple(data["names"]),
            np.asarray(data["mean"], dtype=np.float64),
            np.asarray(data["scale"], dtype=np.float64),
            np.asarray(data["weights"], dtype=np.float64),
            float(data["bias"]),
        )


@dataclass(frozen=True, slots=True)
class Learned:
    """The rerank, the decision, and the decision's threshold (a probability); with the
    cross-encoder, its own rerank and decision."""

    rerank: Logistic
    decision: Logistic
    threshold: float
    further: float  # a further passage is shown when its rerank probability is at least this
    final: Logistic | None = None
    decision_cross: Logistic | None = None
    threshold_cross: float = 0.5
    trained_on: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "rerank": self.rerank.as_json(),
            "decision": self.decision.as_json(),
            "threshold": self.threshold,
            "further": self.further,
            "final": self.final.as_json() if self.final else None,
            "decision_cross": self.decision_cross.as_json() if self.decision_cross else None,
            "threshold_cross": self.threshold_cross,
            "trained_on": self.trained_on,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Learned:
        model = cls(
            Logistic.from_json(data["rerank"]),
            Logistic.from_json(data["decision"]),
            float(data["threshold"]),
            float(data["further"]),
            Logistic.from_json(data["final"]) if data.get("final") else None,
            Logistic.from_json(data["decision_cross"]) if data.get("decision_cross") else None,
            float(data.get("threshold_cross", 0.5)),
            str(data.get("trained_on", "")),
        )
        expected = [
            (model.rerank, CANDIDATE),
            (model.decision, DECISION),
            (model.final, CANDIDATE + CROSS),
            (model.decision_cross, DECISION + CROSS_DECISION),
        ]
        if any(m is not None and m.names != names for m, names in expected):
            raise ValueError("the model's features are not this version's")
        return model


@cache
def shipped() -> Learned:
    """The weights that ship with newsbot (bot/retrieval/rerank_model.json)."""
    text = resources.files("bot.retrieval").joinpath(MODEL_FILE).read_text(encoding="utf-8")
    return Learned.from_json(json.loads(text))


def candidate_features(evidence: Sequence[Evidence]) -> NDArray[np.float64]:
    """One row per candidate (all with a similarity), columns as CANDIDATE."""
    sims = [e.similarity for e in evidence]
    if any(s is None for s in sims):
        raise ValueError("every candidate needs its similarity")
    passage = np.array([s.passage for s in sims if s is not None])
    sentence = np.array([s.sentence for s in sims if s is not None])
    title = np.array([s.title for s in sims if s is not None])
    rows = [
        [e.passage for e in evidence],
        [e.article for e in evidence],
        [e.coverage for e in evidence],
        [e.density for e in evidence],
        [float(e.typed) for e in evidence],
        [e.names for e in evidence],
        [e.held_share for e in evidence],
        [float(e.paragraph <= 1) for e in evidence],
        [math.log1p(e.rank) for e in evidence],
        passage,
        sentence,
        title,
        passage - passage.max(),
        sentence - sentence.max(),
    ]
    return np.array(rows, dtype=np.float64).T


def decision_features(ordered: Sequence[Evidence], unknown: float) -> NDArray[np.float64]:
    """The question's row for the decision: its best candidate after the rerank, the margin to
    the next, and the share of its weight in words no article uses."""
    best = ordered[0]
    second = ordered[1].score if len(ordered) > 1 else best.score - 5.0
    sim = best.similarity
    assert sim is not None
    return np.array(
        [
            best.score, best.score - second, best.coverage, best.density, float(best.typed),
            best.held_share, best.names, sim.passage, sim.sentence, sim.title, unknown,
        ],
        dtype=np.float64,
    )  # fmt: skip


def cross_features(cross: NDArray[np.float32]) -> NDArray[np.float64]:
    """The cross-encoder's columns for the candidates it read (CROSS)."""
    order = np.argsort(-cross, kind="stable")
    rank = np.empty(len(cross))
    rank[order] = np.arange(len(cross))
    return np.column_stack([cross, cross - cross.max(), np.log1p(rank)]).astype(np.float64)


def rerank(evidence: Sequence[Evidence], model: Learned) -> list[Evidence]:
    """Candidates by the learned score (a log-odds), best first; ties keep the raw order."""
    if not evidence:
        return []
    logits = model.rerank.logit(candidate_features(evidence))
    return _sorted(evidence, logits)


def rerank_cross(
    evidence: Sequence[Evidence], cross: NDArray[np.float32], model: Learned
) -> list[Evidence]:
    """The candidates the cross-encoder read (its `cross` scores, in their order), by the
    final model's score, best first."""
    assert model.final is not None
    features = np.hstack([candidate_features(evidence), cross_features(cross)])
    return _sorted(evidence, model.final.logit(features))


def read_by_cross(
    read: Sequence[Evidence], cross: NDArray[np.float32], model: Learned
) -> tuple[list[Evidence], tuple[float, float]]:
    """The candidates the cross-encoder read (`cross`: its scores, in their order) ordered
    by the final model, with the cross-encoder's score of the best and the best's margin
    over the others it read (the decision's CROSS_DECISION features)."""
    final = rerank_cross(read, cross, model)
    scores = {e.index: float(s) for e, s in zip(read, cross, strict=True)}
    top = scores[final[0].index]
    others = [v for i, v in scores.items() if i != final[0].index]
    return final, (top, top - max(others, default=top - 10.0))


def names_first(ordered: Sequence[Evidence]) -> list[Evidence]:
    """The candidates whose article holds every name of the question as written first (a
    passage whose article lacks one cannot answer), each group in its order."""
    return [e for e in ordered if e.article_names] + [e for e in ordered if not e.article_names]


def _sorted(evidence: Sequence[Evidence], logits: NDArray[np.float64]) -> list[Evidence]:
    scored = [replace(e, score=float(s)) for e, s in zip(evidence, logits, strict=True)]
    return sorted(scored, key=lambda e: -e.score)


def answer_probability(
    ordered: Sequence[Evidence],
    unknown: float,
    model: Learned,
    cross: tuple[float, float] | None = None,
) -> float:
    """The chance that the best candidate answers the question; `cross`: the cross-encoder's
    score of the best, and its margin over the next one it read."""
    row = decision_features(ordered, unknown)
    if cross is not None and model.decision_cross is not None:
        logit = float(model.decision_cross.logit(np.concatenate([row, cross])[None, :])[0])
    else:
        logit = float(model.decision.logit(row[None, :])[0])
    return 1.0 / (1.0 + math.exp(-logit))


def probability(evidence: Evidence) -> float:
    return 1.0 / (1.0 + math.exp(-evidence.score))
