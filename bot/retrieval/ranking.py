"""The raw ranking: exact BM25Plus passage candidates, fused with their article's score.

This is what `newsbot eval` reports as "ranking": the order before any answerability test,
passage choice or cut (bot/retrieval/search.py does those).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bot.articles import Collection
from bot.lexical.indexing import Indexes

# A passage inherits part of its article's BM25 score, the article being one document in
# which the lede counts twice (bot/lexical/indexing.py); measured with `newsbot eval` (README).
CANDIDATES = 200
ARTICLE_WEIGHT = 1.0


class Ranking:
    """Passages ranked for a list of query terms: passage BM25 fused with article BM25."""

    def __init__(self, collection: Collection, indexes: Indexes) -> None:
        self.passages, self.articles = indexes.passages, indexes.articles
        self.article_of = indexes.article_of  # passage position -> article position
        if len(self.article_of) != len(collection.passages):
            raise ValueError("the indexes are not the collection's")

    def rank(self, terms: Sequence[str], count: int) -> list[tuple[int, float]]:
        """(passage index, score) of the `count` best passages for `terms`, best first.

        Exact BM25Plus candidates (bot/lexical/bm25.py), reranked: the normalised passage score
        plus ARTICLE_WEIGHT x the normalised score of the passage's article. Passages matching no
        term are left out. Only the candidates' articles are scored, and the best article
        (the normaliser) comes from an exact top-1.
        """
        return [(i, p + ARTICLE_WEIGHT * a) for i, p, a in self.scored(terms, count)]

    def scored(self, terms: Sequence[str], count: int) -> list[tuple[int, float, float]]:
        """The same ranking with its two parts: (passage index, normalised passage score,
        normalised article score), best first."""
        ids, scores = self.passages.top(terms, max(count, CANDIDATES))
        if len(ids) == 0:
            return []
        _, best = self.articles.top(terms, 1)
        articles, at = np.unique(self.article_of[ids], return_inverse=True)
        by_article = self.articles.scores(terms, articles) / (float(best[0]) or 1.0)
        own = scores / (scores.max() or 1.0)
        article = by_article[at]
        order = np.lexsort((ids, -(own + ARTICLE_WEIGHT * article)))[:count]
        return [(int(ids[i]), float(own[i]), float(article[i])) for i in order]
