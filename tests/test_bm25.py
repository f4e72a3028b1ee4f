"""The BM25 engine against rank_bm25's own get_scores: same top-k, same scores, same fused
ranking, through the live build path (bot.lexical.indexing.build_indexes)."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest
from rank_bm25 import BM25Plus

from bot import text
from bot.articles import Article, Collection, load_collection, passages_of
from bot.lexical import indexing
from bot.lexical.indexing import BM25_B, BM25_DELTA, BM25_K1, Indexes, build_indexes
from bot.retrieval import ranking
from bot.retrieval.ranking import Ranking
from bot.text import tokenize
from tests.support.bm25 import article_documents, assert_matches, floor, passage_documents
from tests.support.paths import BBC, SEEDS


def zipf_collection(docs: int, vocabulary: int, seed: int, copies: int = 1) -> Collection:
    """Articles of three paragraphs of Zipf-distributed words (each repeated `copies` times,
    which makes exact ties, as a replicated archive does)."""
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(vocabulary)]
    lengths = rng.integers(1, 60, size=docs)
    ranks = rng.zipf(1.2, size=int(lengths.sum())) % vocabulary
    paragraphs, start = [], 0
    for length in lengths:
        paragraphs.append(" ".join(words[r] for r in ranks[start : start + length]))
        start += length
    articles = [
        Article(f"a{n}-{c}", f"a{n}-{c}.txt", paragraphs[n][:20], tuple(paragraphs[n : n + 3]))
        for n in range(0, docs, 3)
        for c in range(copies)
    ]
    return Collection(tuple(articles), tuple(p for a in articles for p in passages_of(a)))


def random_queries(corpus: list[list[str]], count: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    queries = []
    for _ in range(count):
        doc = rng.choice([d for d in corpus if d])
        query = rng.sample(doc, min(len(doc), rng.randint(1, 6)))
        if rng.random() < 0.2:
            query.append("never-seen-term")
        if rng.random() < 0.2:
            query.append(query[0])  # rank_bm25 counts a repeated term twice
        queries.append(query)
    return queries


@pytest.mark.slow
def test_synthetic_zipf_corpus_matches_rank_bm25() -> None:
    """2,000 queries over 3,000 Zipf-distributed passages: identical top-k for k = 1, 10, 200
    and 5,000 (more than match), identical scores."""
    collection = zipf_collection(3000, 5000, seed=7)
    corpus = passage_documents(collection, titles=False)
    model = BM25Plus(corpus, k1=BM25_K1, b=BM25_B, delta=BM25_DELTA)
    built = build_indexes(collection, titles=False)
    assert_matches(
        model, built.passages, random_queries(corpus, 2000, seed=11), (1, 10, 200, 5000)
    )


def test_exact_ties_of_copied_articles_order_by_position() -> None:
    """Each article four times (a replicated archive): every tie in the top 200 is broken by
    collection position, as a stable sort of rank_bm25's scores breaks it."""
    collection = zipf_collection(600, 800, seed=5, copies=4)
    corpus = passage_documents(collection, titles=True)
    model = BM25Plus(corpus, k1=BM25_K1, b=BM25_B, delta=BM25_DELTA)
    built = build_indexes(collection)
    assert_matches(model, built.passages, random_queries(corpus, 300, seed=2), (1, 7, 200))


@pytest.mark.parametrize(("k1", "b", "delta"), [(0.9, 0.4, 0.5), (2.0, 1.0, 0.0)])
def test_other_parameters_match_too(
    k1: float, b: float, delta: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The equivalence, and the early termination's bounds, do not depend on the parameters."""
    for name, value in (("BM25_K1", k1), ("BM25_B", b), ("BM25_DELTA", delta)):
        monkeypatch.setattr(indexing, name, value)
    collection = zipf_collection(600, 800, seed=3)
    corpus = passage_documents(collection, titles=False)
    model = BM25Plus(corpus, k1=k1, b=b, delta=delta)
    built = build_indexes(collection, titles=False)
    assert_matches(model, built.passages, random_queries(corpus, 400, seed=5), (1, 10, 100))


def test_article_index_matches_rank_bm25_over_whole_articles() -> None:
    """Article documents (head, passages, lede twice): identical top-k and scores."""
    collection = zipf_collection(900, 700, seed=9)
    corpus = article_documents(collection, titles=True)
    model = BM25Plus(corpus, k1=BM25_K1, b=BM25_B, delta=BM25_DELTA)
    built = build_indexes(collection)
    assert_matches(model, built.articles, random_queries(corpus, 300, seed=4), (1, 10))


def reference_rank(
    passages: BM25Plus, articles: BM25Plus, article_of: list[int], terms: list[str], count: int
) -> list[tuple[int, float]]:
    """The fused ranking computed from rank_bm25's full score arrays (the formula of
    bot/retrieval/ranking.py, with every article scored)."""
    scores = np.asarray(passages.get_scores(terms)) - floor(passages, terms)
    order = np.lexsort((np.arange(len(scores)), -scores))[: max(count, ranking.CANDIDATES)]
    ids = np.array([i for i in order if scores[i] > 1e-12], dtype=np.int64)
    if not len(ids):
        return []
    by_article = np.asarray(articles.get_scores(terms)) - floor(articles, terms)
    by_article = np.where(by_article > 1e-12, by_article, 0.0) / (by_article.max() or 1.0)
    fused = scores[ids] / (scores[ids].max() or 1.0)
    fused += ranking.ARTICLE_WEIGHT * by_article[np.asarray(article_of)[ids]]
    top = np.lexsort((ids, -fused))[:count]
    return [(int(ids[i]), float(fused[i])) for i in top]


def assert_same_ranking(got: list[tuple[int, float]], expected: list[tuple[int, float]]) -> None:
    assert [i for i, _ in got] == [i for i, _ in expected]
    assert np.allclose([s for _, s in got], [s for _, s in expected], rtol=0, atol=1e-9)


def test_fused_ranking_scores_only_the_articles_that_matter() -> None:
    """Ranking.rank (exact top-1 article as the normaliser, articles of the candidates only)
    equals the fused formula over every article's rank_bm25 score."""
    collection = zipf_collection(1200, 600, seed=13, copies=2)
    built = build_indexes(collection)
    passages = BM25Plus(passage_documents(collection, True), k1=BM25_K1, b=BM25_B, delta=1.0)
    articles = BM25Plus(article_documents(collection, True), k1=BM25_K1, b=BM25_B, delta=1.0)
    number = {a.id: n for n, a in enumerate(collection.articles)}
    article_of = [number[p.article.id] for p in collection.passages]
    rank = Ranking(collection, built)
    for query in random_queries(passage_documents(collection, True), 200, seed=8):
        for count in (3, 200, 400):
            expected = reference_rank(passages, articles, article_of, query, count)
            assert_same_ranking(rank.rank(query, count), expected)


@pytest.mark.slow
@pytest.mark.skipif(
    not BBC.is_dir(), reason="the BBC sample (../shared/corpora/bbc-dev) is absent"
)
def test_bbc_sample_matches_rank_bm25() -> None:
    """Real news passages with their titles, headline and random queries: identical top-k
    and scores, passages and articles."""
    collection = load_collection(BBC)
    built = build_indexes(collection)
    model = BM25Plus(passage_documents(collection, True), k1=BM25_K1, b=BM25_B, delta=1.0)
    queries = [tokenize(a.title) for a in collection.articles[:600]]
    queries += random_queries(model_corpus(collection), 300, seed=13)
    assert_matches(model, built.passages, [q for q in queries if q], (1, 10, 200))
    articles = BM25Plus(article_documents(collection, True), k1=BM25_K1, b=BM25_B, delta=1.0)
    assert_matches(articles, built.articles, [q for q in queries[:300] if q], (1, 10))


def model_corpus(collection: Collection) -> list[list[str]]:
    return passage_documents(collection, True)


def test_no_matching_term_gives_nothing() -> None:
    """Unknown terms and k=0 return empty arrays; scores() gives 0 above the floor."""
    built = build_indexes(zipf_collection(30, 20, seed=1), titles=False)
    assert len(built.passages.top(["zzz"], 5)[0]) == 0
    assert len(built.passages.top(["w1"], 0)[0]) == 0
    assert built.passages.scores(["zzz"], np.arange(3)).tolist() == [0.0, 0.0, 0.0]


def test_idf_and_statistics_are_rank_bm25s() -> None:
    """IDF (for every term), document frequencies and the average length agree with rank_bm25's
    model; a term the collection lacks is not in the IDF mapping."""
    collection = zipf_collection(300, 400, seed=2)
    corpus = passage_documents(collection, titles=False)
    model = BM25Plus(corpus, k1=BM25_K1, b=BM25_B, delta=BM25_DELTA)
    index = build_indexes(collection, titles=False).passages
    assert dict(index.idf) == model.idf
    assert index.avgdl == model.avgdl
    assert {t: index.df(t) for t in model.idf} == Counter(t for d in corpus for t in set(d))
    assert "never-seen-term" not in index.idf and index.df("never-seen-term") == 0


def test_encoded_in_worker_processes_equals_tokenize(monkeypatch: pytest.MonkeyPatch) -> None:
    """encode() (two spawned workers) gives exactly tokenize()'s tokens and word counts."""
    monkeypatch.setattr(text, "PARALLEL_MIN_TEXTS", 10)
    texts = [
        "When will all US troops leave Afghanistan?",
        "The U.S. released 5,000 Taliban prisoners — Biden’s plan.",
        "",
        "the of and",  # stop words only: an empty document
        "Zürich’s café: 3.5% growth, said the Swiss bank's chief.",
    ] * 12
    for workers in (1, 2):
        encoded = text.encode(texts, workers=workers, surface=True)
        vocabulary = list(encoded.terms)
        starts = np.cumsum(encoded.lengths) - encoded.lengths
        for n, sample in enumerate(texts):
            ids = encoded.ids[starts[n] : starts[n] + encoded.lengths[n]]
            assert [vocabulary[i] for i in ids] == tokenize(sample)
        assert encoded.surface == Counter(w for t in texts for w in text.words(t))


def test_build_from_pairs_equals_rank_bm25_with_titles(monkeypatch: pytest.MonkeyPatch) -> None:
    """build_indexes' numpy assembly (head terms + passage terms, lede twice) gives the
    documents rank_bm25 would be given, with one worker or two."""
    monkeypatch.setattr(text, "PARALLEL_MIN_TEXTS", 10)
    collection = load_collection(SEEDS)
    model = BM25Plus(passage_documents(collection, True), k1=BM25_K1, b=BM25_B, delta=1.0)
    queries = [tokenize(q) for q in ("Taliban prisoners", "US troops leave", "Qatar accord")]
    built: list[Indexes] = [build_indexes(collection, workers=w) for w in (1, 2)]
    for indexes in built:
        assert_matches(model, indexes.passages, queries, (1, 10))
        article = article_documents(collection, True)[0]
        assert indexes.articles.parts[0].doc_len.tolist() == [len(article)]
    assert built[0].spellings == built[1].spellings
