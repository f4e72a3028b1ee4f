"""Building a collection's search indexes: BM25 postings for passages and for articles."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bot.articles import Collection
from bot.bm25 import BM25Index
from bot.text import encode, tokenize, words

# Why BM25Plus (Lv & Zhai 2011, as rank_bm25 implements it):
# - its IDF, log((N + 1) / df), is positive for every term. BM25Okapi's
#   log((N - df + 0.5) / (df + 0.5)) is zero or negative for a term in half the passages or
#   more; on a one-article collection that erases the very words the article is about
#   ("Taliban" is in 8 of its 10 paragraphs). tests/test_index.py keeps that case.
# - delta lower-bounds the gain of a matching term, so a long paragraph that contains the
#   term is not ranked below a short one that does not.
# k1 and b were chosen on bbc-dev known-item search (bench/README.md has the grid): MRR@10
# moved by less than 0.01 between k1 in 0.9..2.0 and b in 0.5..0.9; the classic 1.2 / 0.75
# sit on that plateau. rank_bm25 adds delta * idf(t) for every query term t to every passage,
# matching or not: a constant per query; bot/bm25.py computes the rest from postings.
BM25_K1 = 1.2
BM25_B = 0.75
BM25_DELTA = 1.0

# An article is one document in which the lede (which in news summarises the story) counts
# this many times; bot/ranking.py fuses a passage's score with its article's.
LEDE_REPEAT = 2


@dataclass(frozen=True, slots=True)
class Indexes:
    """What SearchIndex builds from a collection, and what the cache saves."""

    passages: BM25Index
    articles: BM25Index
    spellings: list[str]


def build_indexes(
    collection: Collection,
    titles: bool = True,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> Indexes:
    """Tokenise every passage once (in worker processes for large collections); index
    passages (title and subtitle prepended) and articles (lede twice); collect spellings.

    The documents are exactly the token lists rank_bm25 would be given
    (`tokenize(head) + tokenize(passage)`); they are assembled as term ids with numpy.
    """
    passages = collection.passages
    articles = collection.articles
    encoded = encode([p.text for p in passages], workers, surface=True, progress=progress)
    terms = encoded.terms
    heads = [
        [terms.setdefault(t, len(terms)) for t in tokenize(f"{a.title}\n{a.subtitle or ''}")]
        if titles
        else []
        for a in articles
    ]
    head_len = np.array([len(h) for h in heads], dtype=np.int64)
    head_ids = np.array([t for h in heads for t in h], dtype=np.int32)
    head_start = np.cumsum(head_len) - head_len
    number = {id(a): n for n, a in enumerate(articles)}
    article_of = np.array([number[id(p.article)] for p in passages], dtype=np.int64)
    text_len = encoded.lengths
    vocabulary = list(terms)

    # Passage documents: their article's head terms, then their own.
    passage_no = np.arange(len(passages), dtype=np.int64)
    own_docs = np.repeat(passage_no, text_len)
    per_head = head_len[article_of]
    head_docs = np.repeat(passage_no, per_head)
    first = np.repeat(np.cumsum(per_head) - per_head, per_head)
    at = np.repeat(head_start[article_of], per_head) + np.arange(len(head_docs)) - first
    passages_index = BM25Index.from_pairs(
        vocabulary,
        np.concatenate((head_ids[at], encoded.ids)),
        np.concatenate((head_docs, own_docs)),
        per_head + text_len,
        BM25_K1,
        BM25_B,
        BM25_DELTA,
    )

    # Article documents: the head, then every passage, the lede LEDE_REPEAT times.
    lede = np.array([p.paragraph == 1 for p in passages], dtype=bool)
    times = np.where(lede, LEDE_REPEAT, 1)
    per_token = np.repeat(times, text_len)
    article_len = head_len + np.bincount(
        article_of, weights=text_len * times, minlength=len(articles)
    ).astype(np.int64)
    articles_index = BM25Index.from_pairs(
        vocabulary,
        np.concatenate((head_ids, np.repeat(encoded.ids, per_token))),
        np.concatenate(
            (
                np.repeat(np.arange(len(articles), dtype=np.int64), head_len),
                np.repeat(article_of[own_docs], per_token),
            )
        ),
        article_len,
        BM25_K1,
        BM25_B,
        BM25_DELTA,
    )
    surface: Counter[str] = Counter()
    for article in articles:
        surface.update(words(article.title))
    surface.update(encoded.surface)
    spellings = [w for w, _ in surface.most_common() if len(w) > 2 and not w.isdigit()]
    return Indexes(passages_index, articles_index, spellings)
