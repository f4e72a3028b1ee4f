"""Stage 3 of retrieval: what each candidate passage holds for the question.

The raw ranking (bot/retrieval/ranking.py) finds the story; within it, the paragraph that answers
is often not the lede, which restates the story. Passage-retrieval studies (Tellex et al.,
"Quantitative evaluation of passage retrieval algorithms for question answering", SIGIR
2003) found the density of question terms within a short window, and the presence of the
kind of answer the question wants, to separate answering passages best. So each candidate
is read sentence by sentence: the share of the question's weight its best sentence holds,
whether that sentence holds the date / amount / name / place / cause asked for
(bot/retrieval/answer_types.py), and whether the question's names occur as written
(bot/retrieval/names.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from bot.articles import Article, Passage
from bot.memory import Settler
from bot.retrieval.answer_types import holds_answer
from bot.retrieval.names import Name, Names, holds, names_of
from bot.retrieval.query import Query
from bot.semantic.dense import Similarity
from bot.text import sentence_spans, tokenize

# The best sentence is the one with most of the question's weight, this much more when it
# holds the kind of answer asked for (a date for "when", an amount for "how many", ...).
TYPED_SENTENCE_BONUS = 0.5


@dataclass(frozen=True, slots=True)
class Candidate:
    """A passage of the raw ranking: its position in the collection and its score parts."""

    index: int
    passage: Passage
    fused: float  # passage + ARTICLE_WEIGHT x article
    passage_score: float  # normalised BM25 of the passage with its title
    article_score: float  # normalised BM25 of its article
    rank: int = 0  # its place in the raw ranking


@dataclass(frozen=True, slots=True)
class Sentences:
    """A passage split into sentences, each with its terms (computed once, then cached)."""

    spans: tuple[tuple[int, int], ...]
    terms: tuple[frozenset[str], ...]
    all_terms: frozenset[str]


@dataclass(frozen=True, slots=True)
class Evidence:
    """One candidate passage, as the question sees it."""

    index: int  # the passage's position in the collection
    fused: float  # the raw ranking's score
    passage: float  # its passage part
    article: float  # its article part
    coverage: float  # share of the question's weight in the passage with its title
    density: float  # ... in its best sentence
    typed: bool  # the best sentence holds the kind of answer asked for
    names: float  # share of the question's names the passage holds as written
    held: tuple[bool, ...]  # per name of the question: does the article hold it as written?
    words: tuple[str, ...]  # the question's words the passage (or its title) holds
    sentence: tuple[int, int]  # offsets of the best sentence
    score: float = 0.0  # the rerank score (bot/retrieval/choice.py, bot/retrieval/learned.py)
    rank: int = 0  # its place in the raw ranking (0: first); a dense candidate's is CANDIDATES
    paragraph: int = 1  # its paragraph in the article (0: the subtitle)
    # Its closeness to the question in the model's space (bot/semantic); None without one.
    similarity: Similarity | None = None

    @property
    def article_names(self) -> bool:
        """Every name of the question occurs, as written, in the passage's article."""
        return all(self.held)

    @property
    def held_share(self) -> float:
        return sum(self.held) / len(self.held) if self.held else 1.0


# After this many new entries the cache's objects are exempted from the cyclic garbage
# collector, like the collection after loading (bot/memory.py): they live
# long, and a full collection pass over them holds the GIL for as long as it walks them
# (bench_loop at 100k passages: event-loop lag max 102-157 ms without, 18-21 ms with).
SETTLE_EVERY = 500
T = TypeVar("T")


class SentenceCache:
    """Sentences and terms of passages, and name keys of articles, computed when first
    needed (thread-safe: searches run in several threads; bounded)."""

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self._passages: dict[int, Sentences] = {}
        self._keys: dict[int, Names] = {}
        self._articles: dict[int, Names] = {}
        self._lock = threading.Lock()
        self._settler = Settler(SETTLE_EVERY)

    def passage(self, number: int, passage: Passage) -> Sentences:
        found = self._passages.get(number)
        if found is None:
            found = self._put(self._passages, number, split(passage))
        return found

    def keys(self, number: int, passage: Passage) -> Names:
        """The capitalised words of the passage's title, then of its own (retrieval/names.py)."""
        found = self._keys.get(number)
        if found is None:
            head = f"{passage.article.title}\n{passage.article.subtitle or ''}"
            found = self._put(self._keys, number, names_of(f"{head}\n{passage.text}"))
        return found

    def article(self, article: Article) -> Names:
        """The capitalised words of the article (title, subtitle, paragraphs)."""
        found = self._articles.get(id(article))
        if found is None:
            text = "\n".join((article.title, article.subtitle or "", *article.paragraphs))
            found = self._put(self._articles, id(article), names_of(text))
        return found

    def _put(self, store: dict[int, T], key: int, value: T) -> T:
        with self._lock:
            if len(store) >= self.size:
                store.clear()
            store[key] = value
        self._settler.kept()
        return value


def split(passage: Passage) -> Sentences:
    """A passage's sentences and their terms."""
    spans = tuple(sentence_spans(passage.text))
    language = passage.article.lang
    terms = tuple(frozenset(tokenize(passage.text[a:b], language)) for a, b in spans)
    return Sentences(spans, terms, frozenset().union(*terms))


def passage_has_name(passage: Names, article: Names, name: Name) -> bool:
    """The passage names `name`, or writes its last word where its article names it whole
    (news names "Gerard Jugnot" once, then "Jugnot")."""
    return holds(passage, name) or (name.keys[-1] in passage.keys and holds(article, name))


def best_sentence(
    text: str, sentences: Sentences, query: Query, weights: dict[str, float]
) -> tuple[tuple[int, int], float, bool]:
    """The sentence with most of the question's weight, favouring one that holds the kind of
    answer asked for: its offsets, its share of the weight, and whether it holds that."""
    total = sum(weights.values()) or 1.0
    question_words = query.folded
    best, best_value, best_share, best_typed = (0, len(text)), -1.0, 0.0, False
    for span, terms in zip(sentences.spans, sentences.terms, strict=True):
        share = sum(w for t, w in weights.items() if t in terms) / total
        if share == 0 and best_value >= 0:  # holds nothing of the question: never the best
            continue
        is_typed = holds_answer(text[span[0] : span[1]], query.kind, question_words)
        value = share * (1 + TYPED_SENTENCE_BONUS) if is_typed else share
        if value > best_value:
            best, best_value, best_share, best_typed = span, value, share, is_typed
    return best, best_share, best_typed


def gather(
    query: Query,
    candidate: Candidate,
    weights: dict[str, float],
    head_terms: frozenset[str],
    cache: SentenceCache,
    in_article: Callable[[str], bool],
) -> Evidence:
    """The evidence one passage holds for `query`; `weights` are the question terms' weights,
    `head_terms` those of its article's title and subtitle (when they are searched), and
    `in_article` tells whether a term is in its article.

    Names are checked here by their terms only (cheap, for every candidate); confirm()
    checks them as written for the few candidates that lead."""
    total = sum(weights.values()) or 1.0
    number, passage = candidate.index, candidate.passage
    sentences = cache.passage(number, passage)
    terms = sentences.all_terms
    covered = sum(w for t, w in weights.items() if t in terms or t in head_terms)
    sentence, density, is_typed = best_sentence(passage.text, sentences, query, weights)
    in_passage = [all(t in terms or t in head_terms for t in nt) for nt in query.name_terms]
    return Evidence(
        index=number,
        fused=candidate.fused,
        passage=candidate.passage_score,
        article=candidate.article_score,
        coverage=covered / total,
        density=density,
        typed=is_typed,
        names=sum(in_passage) / len(in_passage) if in_passage else 1.0,
        held=tuple(all(in_article(t) for t in nt) for nt in query.name_terms),
        words=tuple(
            word
            for word, stems in query.words
            if stems and all(t in terms or t in head_terms for t in stems)
        ),
        sentence=sentence,
        rank=candidate.rank,
        paragraph=passage.paragraph,
    )


def confirm(query: Query, evidence: Evidence, passage: Passage, cache: SentenceCache) -> Evidence:
    """The evidence with the question's names checked as written (bot/retrieval/names.py), in the
    passage and in its article."""
    if not query.names:
        return evidence
    article_keys = cache.article(passage.article)
    keys = cache.keys(evidence.index, passage)
    in_passage = [passage_has_name(keys, article_keys, n) for n in query.names]
    return replace(
        evidence,
        names=sum(in_passage) / len(in_passage),
        held=tuple(holds(article_keys, n) for n in query.names),
    )
