"""Stages 4 and 5 of retrieval: the order candidates are shown in, one decision whether the
articles answer the question, and the passages shown.

The decision is taken once, on the best passage after reranking, never passage by passage:
a cut that skipped the best passage used to show lower ones first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from bot.retrieval.evidence import Evidence
from bot.retrieval.query import Query


@dataclass(frozen=True, slots=True)
class Weights:
    """How the rerank score adds up from a candidate's evidence (bot/retrieval/evidence.py).

    Chosen on a coarse grid (bench/tune_rerank.py) for the best figures on the worse of the
    two tuning question sets, each by another writer: weights that suit one writer's way of
    asking (a penalty for first paragraphs, for one who asked only about later ones) lost on
    the other's. README: Answer quality.
    """

    passage: float = 1.0  # the raw ranking's passage part (BM25 of the passage with title)
    article: float = 1.0  # the raw ranking's article part (BM25 of the article)
    density: float = 0.5  # share of the question's weight in the best sentence
    typed: float = 0.75  # the best sentence holds the kind of answer asked for
    names: float = 0.3  # share of the question's names the passage holds as written
    held: float = 1.0  # share of the question's names its article holds as written


WEIGHTS = Weights()
# The best passage answers only if it holds at least this share of the question's weight
# (the IDF of its words; BM25 scores are not comparable across questions, this share is),
MIN_COVERAGE = 0.25
# ... and a further passage is shown only if it holds this share and scores at least
# MIN_SCORE_RATIO of the best.
MIN_FURTHER_COVERAGE = 0.2
FURTHER_SHARE = 0.5
MIN_SCORE_RATIO = 0.35
# A question whose words no article uses weigh this share of it or more is not answered.
UNKNOWN_SHARE = 0.3
# When nothing answers, the closest passages are shown (as such) only if the best holds at
# least this share of the question's weight; below it they would be noise.
CLOSEST_COVERAGE = 0.5
# Passages sharing this much of their vocabulary are the same text (a wire story run twice).
NEAR_DUPLICATE = 0.8


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether the passages shown answer the question; if not, what the closest ones hold.

    `closest`: no passage answers, but some hold part of the question; they are shown as
    the closest passages, never as the answer. `mentioned` are the question's words or names
    they hold, `missing` those no article holds as written.
    """

    answers: bool = False
    closest: bool = False
    mentioned: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    # The learned decision's chance that the best passage answers (None without a model).
    chance: float | None = None


NOTHING = Verdict()


def score(evidence: Evidence, weights: Weights = WEIGHTS) -> float:
    """The rerank score of one candidate."""
    return (
        weights.passage * evidence.passage
        + weights.article * evidence.article
        + weights.density * evidence.density
        + weights.typed * evidence.typed
        + weights.names * evidence.names
        + weights.held * evidence.held_share
    )


def rerank(evidence: Sequence[Evidence], weights: Weights = WEIGHTS) -> list[Evidence]:
    """Candidates by rerank score, best first (ties: the raw ranking's order)."""
    return sorted((replace(e, score=score(e, weights)) for e in evidence), key=lambda e: -e.score)


def answers(evidence: Evidence) -> bool:
    """Does this passage answer: every name of the question as written in its article, and
    enough of the question's weight?"""
    return evidence.article_names and evidence.coverage >= MIN_COVERAGE


def further(evidence: Evidence, best: Evidence) -> bool:
    """May this passage be shown after the best one: the question's names as written in
    its article, a score near the best's, and a fair share of the question's weight
    (MIN_FURTHER_COVERAGE, and at least FURTHER_SHARE of what the best holds)?"""
    return (
        evidence.article_names
        and evidence.score >= MIN_SCORE_RATIO * best.score
        and evidence.coverage >= max(MIN_FURTHER_COVERAGE, FURTHER_SHARE * best.coverage)
    )


def decide(query: Query, ordered: Sequence[Evidence], unknown: float) -> Verdict:
    """One decision per question, on the best passage after reranking: it answers when it
    does (answers()) and words no article uses weigh less than UNKNOWN_SHARE of the
    question (`unknown`: in thousands of news articles, a word none of them uses is what
    the question is about: "banana", "Facebook"; a few paraphrase words are not)."""
    if not ordered:
        return NOTHING
    best = ordered[0]
    if answers(best) and unknown < UNKNOWN_SHARE:
        return Verdict(answers=True)
    return closest(query, best, unknown)


def closest(query: Query, best: Evidence, unknown: float) -> Verdict:
    """When nothing answers: the closest passages are shown as such if the best holds
    CLOSEST_COVERAGE of the question's weight, with what they mention and what is missing."""
    if best.coverage < CLOSEST_COVERAGE:
        return NOTHING
    names = [n.text for n, held in zip(query.names, best.held, strict=True) if not held]
    words = query.unknown if unknown >= UNKNOWN_SHARE else ()
    words = tuple(w for w in words if not any(w in name.split() for name in names))
    missing = tuple(dict.fromkeys((*names, *words)))
    mentioned = tuple(w for w in best.words if w not in missing)
    return Verdict(closest=True, mentioned=mentioned, missing=missing)


def select(
    verdict: Verdict,
    ordered: Sequence[Evidence],
    top_k: int,
    terms_of: Callable[[int], frozenset[str]],
    shows: Callable[[Evidence, Evidence], bool] | None = None,
) -> list[Evidence]:
    """The passages shown, in rerank order: while they answer and score near the best
    (the first that does not ends the list); the closest ones when nothing answers.
    Near-duplicates of a passage already chosen are left out. `shows` tells whether a
    passage may follow the best (further(), unless a learned rerank gives its own)."""
    shows = shows or further
    if not (verdict.answers or verdict.closest):
        return []
    chosen: list[Evidence] = []
    seen: list[frozenset[str]] = []
    for evidence in ordered:
        if verdict.answers and chosen and not shows(evidence, chosen[0]):
            continue
        mine = terms_of(evidence.index)
        if any(near_duplicate(mine, theirs) for theirs in seen):
            continue
        chosen.append(evidence)
        seen.append(mine)
        if len(chosen) == top_k:
            break
    return chosen


def near_duplicate(mine: frozenset[str], theirs: frozenset[str]) -> bool:
    """Two passages sharing NEAR_DUPLICATE of their terms (Jaccard): the same text twice."""
    union = len(mine | theirs)
    return bool(union) and len(mine & theirs) / union >= NEAR_DUPLICATE
