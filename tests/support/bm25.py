"""rank_bm25 as the reference the BM25 engine is compared with: its token lists and checks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rank_bm25 import BM25Plus

from bot.articles import Article, Collection
from bot.lexical.bm25 import BM25Index
from bot.lexical.indexing import LEDE_REPEAT
from bot.text import tokenize


def passage_documents(collection: Collection, titles: bool) -> list[list[str]]:
    """The token lists rank_bm25 is given for the passages (head + passage)."""
    return [head(p.article, titles) + tokenize(p.text) for p in collection.passages]


def article_documents(collection: Collection, titles: bool) -> list[list[str]]:
    """The token lists of whole articles: head, then every passage, the lede twice."""
    documents = {a.id: head(a, titles) for a in collection.articles}
    for p in collection.passages:
        documents[p.article.id] += tokenize(p.text) * (LEDE_REPEAT if p.paragraph == 1 else 1)
    return [documents[a.id] for a in collection.articles]


def head(article: Article, titles: bool) -> list[str]:
    return tokenize(f"{article.title}\n{article.subtitle or ''}") if titles else []


def floor(model: BM25Plus, query: Sequence[str]) -> float:
    total = 0.0
    for term in query:
        total += (model.idf.get(term) or 0) * (model.delta + 0.0)
    return total


def assert_matches(
    model: BM25Plus, index: BM25Index, queries: list[list[str]], ks: Sequence[int] = (10,)
) -> None:
    """top(q, k) is a stable sort of rank_bm25's scores (matching documents only), with the
    same scores above the floor; scores() and contains() agree for every document."""
    everyone = np.arange(index.size)
    for query in queries:
        reference = np.asarray(model.get_scores(query))
        base = floor(model, query)
        order = np.lexsort((np.arange(len(reference)), -reference))
        for k in ks:
            expected = [i for i in order[:k] if reference[i] > base + 1e-12]
            ids, scores = index.top(query, k)
            assert ids.tolist() == expected, (query, k)
            assert np.allclose(scores, reference[ids] - base, rtol=0, atol=1e-9)
        assert np.allclose(index.scores(query, everyone), reference - base, rtol=0, atol=1e-9)
        for term in set(query):
            found = index.contains(term, everyone)
            assert found.tolist() == [term in doc for doc in model.doc_freqs]
