"""Retrieval: BM25 over passages, reranked, and the decision whether the articles answer."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from bot.articles import Collection, Passage
from bot.indexing import Indexes, build_indexes
from bot.ranking import CANDIDATES, Ranking
from bot.text import QUESTION_FILLER, STOP_WORDS, normalize, sentence_spans, stem, tokenize, words

# A passage answers only if it holds at least this share of the question's weight (the IDF
# of its words). BM25 scores are not comparable across questions; this share is.
MIN_COVERAGE = 0.5
# A word the articles never use weighs as the rarest word when it looks like a name
# ("Macron", "France": a question about something the articles do not cover), and this share
# of that when it is an ordinary word ("still", "date": the reader's phrasing).
UNKNOWN_WORD_SHARE = 0.3
# Further passages are shown only if they score at least this share of the best one.
MIN_SCORE_RATIO = 0.35
# Passages sharing this much of their vocabulary are the same text (a wire story run twice).
NEAR_DUPLICATE = 0.8

# The sentence shown in bold: most of the question's weight, times this when it holds what
# the question type wants (a date for "when", a figure for "how many", a name for "who").
KIND_BONUS = 1.5

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
_SURFACE = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
_FILLER_STEMS = frozenset(stem(w) for w in QUESTION_FILLER)


@dataclass(frozen=True, slots=True)
class Hit:
    """One retrieved passage, with its score and its best sentence (offsets in its text)."""

    rank: int
    passage: Passage
    score: float
    coverage: float
    best_sentence: tuple[int, int]


@dataclass(frozen=True, slots=True)
class Query:
    """A question as searched: its terms, spelling corrections, and name-like unknown terms."""

    text: str
    terms: tuple[str, ...]
    corrections: tuple[tuple[str, str], ...] = ()
    names: frozenset[str] = frozenset()

    @property
    def corrected(self) -> str | None:
        """The question with its corrections applied, when there were any."""
        if not self.corrections:
            return None
        text = self.text
        for wrong, right in self.corrections:
            text = re.sub(rf"\b{re.escape(wrong)}\b", right, text)
        return text


class EmptyCollectionError(ValueError):
    """There is nothing to search."""


class SearchIndex:
    """Passages and articles indexed for BM25Plus, with reranking and an answerability test."""

    def __init__(
        self, collection: Collection, titles: bool = True, built: Indexes | None = None
    ) -> None:
        if not collection.passages:
            raise EmptyCollectionError("no articles with text to search")
        self.collection = collection
        self.passages: Sequence[Passage] = collection.passages
        self.built = built = built or build_indexes(collection, titles)
        self.sparse, self._spellings = built.passages, built.spellings
        self.ranking = Ranking(collection, built)
        # The weight of a word the collection lacks: as rare as a word in a single passage.
        self._unknown_idf = math.log(len(self.passages) + 1)

    @property
    def vocabulary(self) -> Mapping[str, float]:
        """Term -> IDF, for every term of the collection."""
        return self.sparse.idf

    def weight(self, term: str) -> float:
        """IDF of a term; unknown terms weigh as the rarest."""
        return self.sparse.idf.get(term, self._unknown_idf)

    def query(self, question: str) -> Query:
        """Analyse a question: terms, spelling fixes for unknown words, name-like words."""
        corrections: list[tuple[str, str]] = []
        names: set[str] = set()
        terms: list[str] = []
        for position, match in enumerate(_SURFACE.finditer(normalize(question))):
            word = match.group(0)
            for term in tokenize(word):
                if term in self.sparse.idf or term in _FILLER_STEMS:
                    terms.append(term)
                    continue
                fixed = self.spelling(word)
                if fixed is not None:
                    fixed = fixed.upper() if word.isupper() else fixed
                    fixed = fixed.capitalize() if word[0].isupper() and fixed.islower() else fixed
                    corrections.append((word, fixed))
                    terms.extend(tokenize(fixed))
                    continue
                terms.append(term)
                if (word[0].isupper() and position > 0) or (word.isupper() and len(word) > 1):
                    names.add(term)
        return Query(question, tuple(without_filler(terms)), tuple(corrections), frozenset(names))

    def spelling(self, word: str) -> str | None:
        """The collection's most frequent word within one edit (two for long words), if any."""
        lower = word.casefold()
        if len(lower) < 4 or lower in STOP_WORDS or not lower.isalpha():
            return None
        limit = 1 if len(lower) <= 7 else 2
        found = process.extractOne(
            lower, self._spellings, scorer=DamerauLevenshtein.distance, score_cutoff=limit
        )
        return str(found[0]) if found else None

    def rank(self, terms: Sequence[str], count: int) -> list[tuple[int, float]]:
        """The raw ranking (bot/ranking.py): (passage index, score), best first."""
        return self.ranking.rank(terms, count)

    def search(self, question: str | Query, top_k: int) -> list[Hit]:
        """Top passages that answer `question`, best first; empty when none does."""
        query = question if isinstance(question, Query) else self.query(question)
        if not query.terms:
            return []
        wanted = set(query.terms)
        total = sum(self._coverage_weight(t, query) for t in wanted)
        hits: list[Hit] = []
        chosen: list[set[str]] = []  # the words of each passage shown so far
        ranked = self.rank(query.terms, CANDIDATES)
        # The share of the question's weight each candidate covers, one term at a time.
        candidates = np.array([i for i, _ in ranked], dtype=np.int32)
        matched = np.zeros(len(candidates))
        for term in wanted:
            if term in self.sparse.idf:
                found = self.sparse.contains(term, candidates)
                matched += self._coverage_weight(term, query) * found
        for (i, score), covered in zip(ranked, matched.tolist(), strict=True):
            if hits and score < MIN_SCORE_RATIO * hits[0].score:
                break
            coverage = covered / total
            if coverage < MIN_COVERAGE:
                continue
            mine = set(tokenize(self.passages[i].text))
            if any(near_duplicate(mine, theirs) for theirs in chosen):
                continue
            chosen.append(mine)
            passage = self.passages[i]
            sentence = best_sentence(passage.text, query, self)
            hits.append(Hit(len(hits) + 1, passage, score, coverage, sentence))
            if len(hits) == top_k:
                break
        return hits

    def _coverage_weight(self, term: str, query: Query) -> float:
        if term in self.sparse.idf:
            return self.sparse.idf[term]
        share = 1.0 if term in query.names else UNKNOWN_WORD_SHARE
        return share * self._unknown_idf


def near_duplicate(mine: set[str], theirs: set[str]) -> bool:
    """Two passages sharing NEAR_DUPLICATE of their words (Jaccard): the same text twice."""
    union = len(mine | theirs)
    return bool(union) and len(mine & theirs) / union >= NEAR_DUPLICATE


def query_terms(question: str) -> list[str]:
    """The question's tokens, minus conversational filler unless nothing else is left."""
    return without_filler(tokenize(question))


def without_filler(terms: list[str]) -> list[str]:
    """Terms minus conversational filler, unless nothing else is left."""
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


def best_sentence(text: str, question: str | Query, index: SearchIndex) -> tuple[int, int]:
    """Offsets of the sentence of `text` that best answers `question`."""
    query = question if isinstance(question, Query) else index.query(question)
    wanted = set(query.terms)
    kind = question_kind(query.text)
    best, best_score = (0, len(text)), -1.0
    for start, end in sentence_spans(text):
        sentence = text[start:end]
        score = sum(index.weight(t) for t in wanted & set(tokenize(sentence)))
        wanted_pattern = {"when": _DATE, "number": _NUMBER, "who": _NAME}.get(kind or "")
        if wanted_pattern is not None and wanted_pattern.search(sentence):
            score *= KIND_BONUS
        if score > best_score:
            best, best_score = (start, end), score
    return best
