"""Retrieval, as stages a reader can follow (SearchIndex.find):

1. analyse the question (bot/retrieval/query.py): terms, spelling fixes, names, the kind of answer;
2. rank passages (bot/retrieval/ranking.py): exact BM25Plus, fused with the article's score;
3. gather what each candidate holds (bot/retrieval/evidence.py): term density per sentence, the
   kind of answer asked for, names as written;
4. rerank the candidates and decide once whether the articles answer (bot/retrieval/choice.py);
5. select the passages shown: every one that answers, near-duplicates once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial

import numpy as np

from bot.articles import Article, Collection, Passage
from bot.language.detect import question_language
from bot.lexical.bm25 import BM25Index
from bot.lexical.indexing import Indexes, build_indexes
from bot.retrieval import learned
from bot.retrieval.choice import (
    NOTHING,
    UNKNOWN_SHARE,
    Verdict,
    closest,
    decide,
    further,
    rerank,
    select,
)
from bot.retrieval.choice import (
    answers as answers_lexically,
)
from bot.retrieval.evidence import Candidate, Evidence, SentenceCache, confirm, gather
from bot.retrieval.query import Query, Vocabulary, analyse
from bot.retrieval.ranking import ARTICLE_WEIGHT, CANDIDATES, Ranking
from bot.semantic.dense import DenseIndex
from bot.text import stem, tokenize

# Candidates of the raw ranking whose evidence is gathered and reranked, and of those, the
# leading ones whose names are checked as written (bot/retrieval/names.py) before the decision.
RERANKED = 15
CONFIRMED = 8
# From this many passages on, a question word that no passage uses means the articles do
# not cover the question (bot/retrieval/choice.py: decide).
LARGE_COLLECTION = 1000
# Passages of each word looked at to tell which language's articles use it.
LANGUAGE_SAMPLE = 50
WEIGHTS_KEPT = 100_000
# Passages looked at to tell whether a word is written as a name.
CAPITALISED_SAMPLE = 50


@dataclass(frozen=True, slots=True)
class Hit:
    """One passage shown, with its score and its best sentence (offsets in its text)."""

    rank: int
    passage: Passage
    score: float
    coverage: float
    best_sentence: tuple[int, int]


@dataclass(frozen=True, slots=True)
class Found:
    """What a question finds: the passages to show, and whether they answer it."""

    query: Query
    hits: tuple[Hit, ...] = ()
    verdict: Verdict = NOTHING

    @property
    def answered(self) -> bool:
        return self.verdict.answers


class EmptyCollectionError(ValueError):
    """There is nothing to search."""


class SearchIndex:
    """A collection indexed for BM25Plus, searched in the stages above."""

    def __init__(
        self, collection: Collection, titles: bool = True, built: Indexes | None = None
    ) -> None:
        if not collection.passages:
            raise EmptyCollectionError("no articles with text to search")
        self.collection = collection
        self.passages: Sequence[Passage] = collection.passages
        self.built = built = built or build_indexes(collection, titles)
        self.sparse = built.passages
        self.ranking = Ranking(collection, built)
        self.titles = titles
        self._sentences = SentenceCache()
        self._heads: dict[int, frozenset[str]] = {}
        # The weight of a word the collection lacks: as rare as a word in a single passage.
        self._unknown_idf = math.log(len(self.passages) + 1)
        # Passages per language: a question is read among these languages, and "large"
        # counts the passages of its own (the seed among 1,028 German articles is small).
        self.language_passages = collection.languages()
        self.languages = frozenset(self.language_passages)
        self.mixed = len(self.languages) > 1  # several languages: questions keep to theirs
        self.vocabulary = vocabulary(self.sparse, self.passages, built.spellings, self.mixed)
        self.large = len(self.passages) >= LARGE_COLLECTION
        self._weights_in: dict[tuple[str, str], float] = {}
        # The semantic stage, set when a model is in use (bot/runtime/semantic.py); it joins
        # passage by passage as their vectors are computed.
        self.dense: DenseIndex | None = None
        self.learned: learned.Learned | None = None

    def weight(self, term: str) -> float:
        """IDF of a term; unknown terms weigh as the rarest."""
        return self.sparse.idf.get(term, self._unknown_idf)

    def query(self, question: str, hint: str | None = None) -> Query:
        """Stage 1: the question read as a query (bot/retrieval/query.py), in its language
        among the collection's; `hint` is the reader's language, which decides for short
        questions."""
        covered = partial(self._covered, question)
        language = question_language(question, self.languages, hint, covered)
        return analyse(question, self.vocabulary, language)

    def _covered(self, question: str, language: str) -> float:
        """The share of the question's weight, read in `language`, in words that some of
        that language's passages use (a sample of each word's passages is looked at)."""
        weights = {t: self.weight(t) for t in tokenize(question, language)}
        held = sum(
            w for t, w in weights.items() if _used_in(self.sparse, self.passages, t, language)
        )
        return held / (sum(weights.values()) or 1.0)

    def rank(self, terms: Sequence[str], count: int) -> list[tuple[int, float]]:
        """Stage 2, the raw ranking (retrieval/ranking.py): (passage index, score), best first."""
        return self.ranking.rank(terms, count)

    def find(self, question: str | Query, top_k: int, hint: str | None = None) -> Found:
        """The passages to show for `question` and whether they answer it (`hint`: the
        reader's language)."""
        query = question if isinstance(question, Query) else self.query(question, hint)
        if not query.terms:
            return Found(query)
        unknown = self.unknown_share(query)
        semantic = self.semantic_evidence(query)  # stages 2-3 with the model's similarities
        if semantic is not None:
            ordered, verdict, shows = self._learned(query, semantic, unknown)
        else:
            ordered = rerank(self.evidence(query))  # stages 2-4
            leading = [
                confirm(query, e, self.passages[e.index], self._sentences)
                for e in ordered[:CONFIRMED]
            ]
            ordered = rerank(leading) + ordered[CONFIRMED:]
            verdict, shows = decide(query, ordered, unknown), further
        shown = select(verdict, ordered, top_k, self._terms_of, shows)  # stage 5
        return Found(query, tuple(self._hit(n, e) for n, e in enumerate(shown, 1)), verdict)

    def semantic_evidence(self, query: Query) -> list[Evidence] | None:
        """Stage 3 with the semantic stage: the lexical candidates and the passages closest
        to the question in the model's space, each with its similarities; None without a
        model, or while a candidate has no vector yet (the lexical stages answer then)."""
        dense = self.dense
        if dense is None or not dense.mapped.is_set():
            return None
        if not dense.space.encoder.options.reads(query.language):
            return None  # the lexical stages read questions the model does not
        vector = dense.question(query.text)
        scored = self._in_language(query, self.ranking.scored(query.terms, CANDIDATES))
        chosen = [
            Candidate(i, self.passages[i], p + ARTICLE_WEIGHT * a, p, a, n)
            for n, (i, p, a) in enumerate(scored[:RERANKED])
        ]
        known = {c.index for c in chosen}
        rank = {i: (n, p, a) for n, (i, p, a) in enumerate(scored)}
        for i in dense.candidates(vector):
            if i not in known and self._reads(query, i):
                n, p, a = rank.get(i, (CANDIDATES, 0.0, 0.0))
                chosen.append(Candidate(i, self.passages[i], p + ARTICLE_WEIGHT * a, p, a, n))
                known.add(i)
        found = []
        for evidence in self._gather(query, chosen):
            spans = self._sentences.passage(evidence.index, self.passages[evidence.index]).spans
            similarity = dense.similarity(vector, evidence.index, spans)
            if similarity is None:
                return None
            if not self.titles:  # headlines are not searched: their vectors are not known
                similarity = replace(similarity, title=math.nan)
            found.append(replace(evidence, similarity=similarity))
        return found

    def _learned(
        self, query: Query, evidence: list[Evidence], unknown: float
    ) -> tuple[list[Evidence], Verdict, Callable[[Evidence, Evidence], bool]]:
        """Stage 4 learned (bot/retrieval/learned.py): the rerank, names confirmed as written
        for the leading candidates, the cross-encoder's reading of the first `depth`, and the
        decision."""
        model = self.learned or learned.shipped()
        ordered = learned.rerank(evidence, model)
        leading = [
            confirm(query, e, self.passages[e.index], self._sentences) for e in ordered[:CONFIRMED]
        ]
        ordered = learned.rerank(leading + ordered[CONFIRMED:], model)
        if not ordered:
            return [], NOTHING, further
        ordered, cross = self._cross(query, ordered, model)
        ordered = learned.names_first(ordered)
        threshold = model.threshold if cross is None else model.threshold_cross
        best = ordered[0]
        chance = learned.answer_probability(ordered, unknown, model, cross)
        # The decision was learned on thousands of passages; in a small collection (a
        # newsroom's first articles) the question's share held by the passage decides, as
        # without a model.
        sure = chance >= threshold if self.large_in(query) else answers_lexically(best)
        answers = best.article_names and unknown < UNKNOWN_SHARE and sure
        verdict = Verdict(answers=True) if answers else closest(query, best, unknown)
        verdict = replace(verdict, chance=chance)

        def shows(candidate: Evidence, first: Evidence) -> bool:
            return candidate.article_names and learned.probability(candidate) >= model.further

        return ordered, verdict, shows

    def _cross(
        self, query: Query, ordered: list[Evidence], model: learned.Learned
    ) -> tuple[list[Evidence], tuple[float, float] | None]:
        """The leading candidates read by the cross-encoder and ordered again (the rest
        after them), with its score of the best and the best's margin over the others."""
        space = self.dense.space if self.dense is not None else None
        if space is None or space.reranker is None or not space.depth or model.final is None:
            return ordered, None
        read = ordered[: space.depth]
        scores = space.reranker.scores(query.text, [self.passages[e.index].text for e in read])
        final, cross = learned.read_by_cross(read, scores, model)
        return final + ordered[space.depth :], cross

    def evidence(self, query: Query) -> list[Evidence]:
        """Stage 3: what each of the raw ranking's best candidates holds for the query."""
        return self._gather(query, self.candidates(query))

    def _gather(self, query: Query, candidates: Sequence[Candidate]) -> list[Evidence]:
        weights = self.weights(query)
        return [
            gather(
                query,
                candidate,
                weights,
                self._head(candidate.index),
                self._sentences,
                partial(self._in_article, self.ranking.article_of[candidate.index]),
            )
            for candidate in candidates
        ]

    def candidates(self, query: Query) -> list[Candidate]:
        """The raw ranking's best RERANKED passages for the query, with their score parts."""
        return [
            Candidate(i, self.passages[i], p + ARTICLE_WEIGHT * a, p, a, n)
            for n, (i, p, a) in enumerate(
                self._in_language(query, self.ranking.scored(query.terms, CANDIDATES))[:RERANKED]
            )
        ]

    def _in_language(
        self, query: Query, scored: list[tuple[int, float, float]]
    ) -> list[tuple[int, float, float]]:
        """In a collection of several languages, the candidates in the question's language:
        another language's passage shares only names and numbers with it, which answer
        nothing ("What is the capital of France?" is not answered from a German article)."""
        if not self.mixed:
            return scored
        return [s for s in scored if self._reads(query, s[0])]

    def _reads(self, query: Query, number: int) -> bool:
        """Is passage `number` in the question's language (always, in one language)?"""
        return not self.mixed or self.passages[number].article.lang == query.language

    def search(self, question: str | Query, top_k: int) -> list[Hit]:
        """Top passages that answer `question`, best first; empty when none does."""
        found = self.find(question, top_k)
        return list(found.hits) if found.answered else []

    def unknown_share(self, query: Query) -> float:
        """The share of the question's weight in words no article uses (none counts in a
        collection too small for an absent word to mean anything: LARGE_COLLECTION)."""
        if not self.large_in(query) or not query.unknown:
            return 0.0
        weights = self.weights(query)
        unknown = {t for w in query.unknown for t in tokenize(w, query.language)}
        return sum(w for t, w in weights.items() if t in unknown) / (sum(weights.values()) or 1)

    def large_in(self, query: Query) -> bool:
        """Does the collection hold LARGE_COLLECTION passages in the question's language?"""
        if not self.mixed:
            return self.large
        return self.language_passages.get(query.language, 0) >= LARGE_COLLECTION

    def weights(self, query: Query) -> dict[str, float]:
        """The weight of each content term of the question: its IDF; a word the articles
        never use weighs as the rarest word (it is what the question is about, and no
        article covers it: "Macron", "banana")."""
        terms = query.content or set(query.terms)
        if not self.mixed:
            return {t: self.weight(t) for t in terms}
        # In a mixed collection a word only other languages' articles use is as unknown.
        return {t: self._weight_in(t, query.language) for t in terms}

    def _weight_in(self, term: str, language: str) -> float:
        """The term's weight for a question in `language` (remembered, bounded)."""
        key = (term, language)
        found = self._weights_in.get(key)
        if found is None:
            if len(self._weights_in) >= WEIGHTS_KEPT:
                self._weights_in.clear()
            used = _used_in(self.sparse, self.passages, term, language)
            found = self._weights_in[key] = self.weight(term) if used else self._unknown_idf
        return found

    def _hit(self, rank: int, evidence: Evidence) -> Hit:
        passage = self.passages[evidence.index]
        return Hit(rank, passage, evidence.score, evidence.coverage, evidence.sentence)

    def _head(self, number: int) -> frozenset[str]:
        """The terms of a passage's title and subtitle (when titles are searched)."""
        article: Article = self.passages[number].article
        found = self._heads.get(id(article))
        if found is None:
            head = f"{article.title}\n{article.subtitle or ''}" if self.titles else ""
            found = self._heads[id(article)] = frozenset(tokenize(head, article.lang))
        return found

    def _in_article(self, article: int, term: str) -> bool:
        """Is `term` in article number `article` (its title too, when titles are searched)?"""
        return bool(self.ranking.articles.contains(term, np.array([article], dtype=np.int32))[0])

    def _terms_of(self, number: int) -> frozenset[str]:
        return self._sentences.passage(number, self.passages[number]).all_terms


def vocabulary(
    sparse: BM25Index, passages: Sequence[Passage], spellings: list[str], mixed: bool = False
) -> Vocabulary:
    """What query analysis (bot/retrieval/query.py) asks of the collection. Closures over the
    index's parts, not the SearchIndex: no reference cycle, so a replaced index is freed at once
    (everything loaded is frozen out of the cyclic garbage collector: bot/memory.py). `mixed`:
    the collection holds several languages (a spelling fix must be a word of the question's)."""
    surface = frozenset(spellings)
    return Vocabulary(
        known=sparse.idf.__contains__,
        used=lambda word: word in surface or len(word) <= 2,
        spellings=spellings,
        together=partial(_together, sparse),
        capitalised=partial(_capitalised, sparse, passages),
        count=lambda term: len(sparse.documents(term)),
        in_language=partial(_used_in, sparse, passages) if mixed else None,
    )


def _used_in(sparse: BM25Index, passages: Sequence[Passage], term: str, language: str) -> bool:
    """Do passages in `language` use `term` (among the first LANGUAGE_SAMPLE that hold it)?"""
    found = sparse.documents(term)[:LANGUAGE_SAMPLE].tolist()
    return any(passages[i].article.lang == language for i in found)


def _together(sparse: BM25Index, term: str, others: Sequence[str]) -> float:
    """The share of `others` that share a passage with `term`."""
    ids = sparse.documents(term)
    if len(ids) == 0 or not others:
        return 0.0
    return sum(bool(np.any(sparse.contains(o, ids))) for o in others) / len(others)


def _capitalised(sparse: BM25Index, passages: Sequence[Passage], word: str) -> bool:
    """Is `word` written capitalised (as a name) in the passages that hold it?"""
    ids = sparse.documents(stem(word))
    pattern = re.compile(rf"\b{re.escape(word)}\b", re.IGNORECASE)
    for i in ids[:CAPITALISED_SAMPLE].tolist():
        for match in pattern.finditer(passages[i].text):
            if match.group(0)[0].isupper() and match.start() > 0:
                return True
    return False
