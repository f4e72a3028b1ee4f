"""BM25 retrieval over passages, and the decision whether the articles answer at all."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rank_bm25 import BM25Plus

from bot.articles import Collection, Passage
from bot.text import QUESTION_FILLER, sentence_spans, stem, tokenize, words

# Why BM25Plus (Lv & Zhai 2011, as rank_bm25 implements it):
# - its IDF, log((N + 1) / df), is positive for every term. BM25Okapi's
#   log((N - df + 0.5) / (df + 0.5)) is zero or negative for a term in half the passages or
#   more; on a one-article collection that erases the very words the article is about
#   ("Taliban" is in 8 of its 10 paragraphs). tests/test_index.py keeps that case.
# - delta lower-bounds the gain of a matching term, so a long paragraph that contains the
#   term is not ranked below a short one that does not (BM25's long-document penalty).
# k1 = 1.2, b = 0.75 are the classic defaults (Robertson et al., TREC); news paragraphs are
# short and fairly even in length, so the usual length normalisation suits them.
# rank_bm25 adds delta * idf(t) for every query term t to every passage, matching or not:
# a constant per query that does not change the order; `_floor` removes it from the scores.
BM25_K1 = 1.2
BM25_B = 0.75
BM25_DELTA = 1.0

# A passage answers only if it holds at least this share of the question's weight (the IDF
# of its words; a word the collection has never seen weighs as the rarest word). BM25 scores
# are not comparable across questions, coverage is.
MIN_COVERAGE = 0.5
# Further passages are shown only if they score at least this share of the best one.
MIN_SCORE_RATIO = 0.35
CANDIDATES = 50

_MONTHS = (
    r"jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sept?(ember)?"
    r"|oct(ober)?|nov(ember)?|dec(ember)?|monday|tuesday|wednesday|thursday|friday"
    r"|saturday|sunday|today|yesterday|tomorrow|week|month|year"
)
_DATE = re.compile(rf"\b({_MONTHS})\b|\b(1[89]|20)\d\d\b", re.IGNORECASE)
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|dozens?|hundreds?|thousands?"
    r"|millions?|billions?|percent)\b",
    re.IGNORECASE,
)
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:\s[A-Z][a-z]+)+")


@dataclass(frozen=True, slots=True)
class Hit:
    """One retrieved passage, with its score and its best sentence (offsets in its text)."""

    rank: int
    passage: Passage
    score: float
    coverage: float
    best_sentence: tuple[int, int]


class EmptyCollectionError(ValueError):
    """There is nothing to search."""


class SearchIndex:
    """BM25Plus over passage contexts (title + subtitle + text), with an answerability test."""

    def __init__(self, collection: Collection) -> None:
        if not collection.passages:
            raise EmptyCollectionError("no articles with text to search")
        self.collection = collection
        self.passages: Sequence[Passage] = collection.passages
        corpus = [tokenize(p.context) for p in self.passages]
        self._terms = [set(doc) for doc in corpus]
        self.bm25 = BM25Plus(corpus, k1=BM25_K1, b=BM25_B, delta=BM25_DELTA)
        # The weight of a word the collection lacks: as rare as a word in a single passage.
        self._unknown_idf = math.log(len(self.passages) + 1)

    @property
    def vocabulary(self) -> dict[str, float]:
        """Term -> IDF, for every term of the collection."""
        return self.bm25.idf  # type: ignore[no-any-return]

    def weight(self, term: str) -> float:
        """IDF of a term; unknown terms weigh as the rarest."""
        return float(self.bm25.idf.get(term, self._unknown_idf))

    def search(self, question: str, top_k: int) -> list[Hit]:
        """Top passages that answer `question`, best first; empty when none does."""
        terms = query_terms(question)
        if not terms or not any(t in self.bm25.idf for t in terms):
            return []
        scores = np.asarray(self.bm25.get_scores(terms), dtype=float) - self._floor(terms)
        wanted = set(terms)
        total = sum(self.weight(t) for t in wanted)
        count = min(CANDIDATES, len(scores))
        candidates = np.argpartition(-scores, count - 1)[:count]
        ranked = sorted(candidates.tolist(), key=lambda i: (-scores[i], i))
        hits: list[Hit] = []
        for i in ranked:
            if scores[i] <= 0 or (hits and scores[i] < MIN_SCORE_RATIO * hits[0].score):
                break
            coverage = sum(self.weight(t) for t in wanted & self._terms[i]) / total
            if coverage < MIN_COVERAGE:
                continue
            passage = self.passages[i]
            sentence = best_sentence(passage.text, question, self)
            hits.append(Hit(len(hits) + 1, passage, float(scores[i]), coverage, sentence))
            if len(hits) == top_k:
                break
        return hits

    def _floor(self, terms: list[str]) -> float:
        """The score rank_bm25's BM25Plus gives a passage that matches none of `terms`."""
        return float(sum(self.bm25.idf.get(t, 0.0) for t in terms) * BM25_DELTA)


_FILLER_STEMS = frozenset(stem(w) for w in QUESTION_FILLER)


def query_terms(question: str) -> list[str]:
    """The question's tokens, minus conversational filler unless nothing else is left."""
    terms = tokenize(question)
    content = [t for t in terms if t not in _FILLER_STEMS]
    return content or terms


def question_kind(question: str) -> str | None:
    """'when', 'number' or 'who' for questions that want a date, a count or a name."""
    lead = " ".join(words(question)[:4])
    if re.search(r"\bhow (many|much)\b|\bwhat (number|percentage)\b", lead):
        return "number"
    if re.search(r"\bwhen\b|\bwhat (date|time|year|day)\b|\bhow long\b", lead):
        return "when"
    if re.search(r"\bwho(m|se)?\b", lead):
        return "who"
    return None


def best_sentence(text: str, question: str, index: SearchIndex) -> tuple[int, int]:
    """Offsets of the sentence of `text` that best answers `question`."""
    wanted = set(query_terms(question))
    kind = question_kind(question)
    best, best_score = (0, len(text)), -1.0
    for start, end in sentence_spans(text):
        sentence = text[start:end]
        score = sum(index.weight(t) for t in wanted & set(tokenize(sentence)))
        if (kind == "when" and _DATE.search(sentence)) or (
            kind == "number" and _NUMBER.search(sentence)
        ):
            score *= 1.5
        elif kind == "who" and _NAME.search(sentence):
            score *= 1.25
        if score > best_score:
            best, best_score = (start, end), score
    return best
