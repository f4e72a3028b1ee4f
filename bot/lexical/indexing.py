"""Building search indexes: BM25 postings for passages and for articles, and the spellings."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from bot.articles import Article, Collection, Passage
from bot.lexical.bm25 import BM25Index
from bot.lexical.postings import Postings, postings_from_pairs
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
# matching or not: a constant per query; bot/lexical/bm25.py computes the rest from postings.
BM25_K1 = 1.2
BM25_B = 0.75
BM25_DELTA = 1.0

# An article is one document in which the lede (which in news summarises the story) counts
# this many times; bot/retrieval/ranking.py fuses a passage's score with its article's.
LEDE_REPEAT = 2


@dataclass(frozen=True, slots=True)
class Indexes:
    """What SearchIndex searches: passage and article BM25, the passage -> article map (by
    collection position) and the spellings. `origin` is what bot/collection/cache.py built them
    from."""

    passages: BM25Index
    articles: BM25Index
    spellings: list[str]
    article_of: NDArray[np.int64]
    origin: Hashable | None = None
    # The key of each passage's text by collection position (bot/text.py text_key), when
    # the segments recorded them: gathered on first call, no text read.
    passage_keys: Callable[[], NDArray[np.uint8]] | None = None


@dataclass(frozen=True, slots=True)
class Documents:
    """The BM25 documents of some articles: postings of their passages and of the articles
    themselves, and the words they use (case-folded, with counts) for spelling fixes."""

    passages: Postings
    articles: Postings
    surface: Counter[str]


def build_indexes(
    collection: Collection,
    titles: bool = True,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> Indexes:
    """Index a collection held in memory: one segment, documents in collection order."""
    number = {id(a): n for n, a in enumerate(collection.articles)}
    article_of = np.array([number[id(p.article)] for p in collection.passages], dtype=np.int64)
    built = index_documents(
        collection.articles, collection.passages, article_of, titles, progress, workers
    )
    return Indexes(
        BM25Index([built.passages], None, BM25_K1, BM25_B, BM25_DELTA),
        BM25Index([built.articles], None, BM25_K1, BM25_B, BM25_DELTA),
        spellings(built.surface),
        article_of,
    )


def index_documents(
    articles: Sequence[Article],
    passages: Sequence[Passage],
    article_of: NDArray[np.int64],
    titles: bool = True,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
    avgdl: tuple[float, float] | None = None,
) -> Documents:
    """Tokenise every passage once (in worker processes for large inputs); index passages
    (title and subtitle prepended) and articles (lede LEDE_REPEAT times).

    `article_of[i]` is the number (in `articles`) of passage i's article. The documents are
    exactly the token lists rank_bm25 would be given (`tokenize(head) + tokenize(passage)`),
    assembled as term ids with numpy. `avgdl` (passages, articles) is the average length the
    gain bounds are computed for (default: these documents').
    """
    # Each passage is read in its article's language (all English: the one fast path).
    tags = [a.lang for a in articles]
    languages = None if all(t == "en" for t in tags) else [tags[n] for n in article_of.tolist()]
    encoded = encode(
        [p.text for p in passages], workers, surface=True, progress=progress, languages=languages
    )
    terms = encoded.terms
    heads = [
        [
            terms.setdefault(t, len(terms))
            for t in tokenize(f"{a.title}\n{a.subtitle or ''}", a.lang)
        ]
        if titles
        else []
        for a in articles
    ]
    head_len = np.array([len(h) for h in heads], dtype=np.int64)
    head_ids = np.array([t for h in heads for t in h], dtype=np.int32)
    head_start = np.cumsum(head_len) - head_len
    text_len = encoded.lengths
    vocabulary = list(terms)

    # Passage documents: their article's head terms, then their own.
    passage_no = np.arange(len(passages), dtype=np.int64)
    own_docs = np.repeat(passage_no, text_len)
    per_head = head_len[article_of]
    head_docs = np.repeat(passage_no, per_head)
    first = np.repeat(np.cumsum(per_head) - per_head, per_head)
    at = np.repeat(head_start[article_of], per_head) + np.arange(len(head_docs)) - first
    passage_len = per_head + text_len
    passage_postings = postings_from_pairs(
        vocabulary,
        np.concatenate((head_ids[at], encoded.ids)),
        np.concatenate((head_docs, own_docs)),
        passage_len,
        BM25_K1,
        BM25_B,
        avgdl[0] if avgdl else _mean(passage_len),
    )

    # Article documents: the head, then every passage, the lede LEDE_REPEAT times.
    lede = np.array([p.paragraph == 1 for p in passages], dtype=bool)
    times = np.where(lede, LEDE_REPEAT, 1)
    per_token = np.repeat(times, text_len)
    article_len = head_len + np.bincount(
        article_of, weights=text_len * times, minlength=len(articles)
    ).astype(np.int64)
    article_postings = postings_from_pairs(
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
        avgdl[1] if avgdl else _mean(article_len),
    )
    surface: Counter[str] = Counter()
    for article in articles:
        surface.update(words(article.title))
    surface.update(encoded.surface)
    return Documents(passage_postings, article_postings, surface)


def spellings(surface: Mapping[str, int]) -> list[str]:
    """The words spelling fixes may suggest: most frequent first, ties alphabetically (an
    order that does not depend on how the collection was assembled). Sorted by numpy, which
    does not hold the GIL while it sorts (a reload runs this beside the searches)."""
    found = [w for w, n in surface.items() if n > 0 and len(w) > 2 and not w.isdigit()]
    if not found:
        return []
    counts = np.array([surface[w] for w in found], dtype=np.int64)
    order = np.lexsort((np.array(found), -counts))
    ordered: list[str] = np.array(found, dtype=object)[order].tolist()
    return ordered


def _mean(lengths: NDArray[np.int64]) -> float:
    return int(lengths.sum()) / len(lengths) if len(lengths) and lengths.sum() else 1.0
