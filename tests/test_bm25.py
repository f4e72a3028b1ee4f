"""The inverted-index BM25 against rank_bm25's own get_scores: same top-10, same scores."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Plus

from bot import text
from bot.articles import load_collection
from bot.bm25 import BM25Index
from bot.indexing import BM25_B, BM25_DELTA, BM25_K1, LEDE_REPEAT, build_indexes
from bot.text import tokenize
from tests.conftest import BBC, SEEDS


def zipf_corpus(docs: int, vocabulary: int, seed: int) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(vocabulary)]
    lengths = rng.integers(1, 60, size=docs)
    ranks = rng.zipf(1.2, size=int(lengths.sum())) % vocabulary
    corpus, start = [], 0
    for length in lengths:
        corpus.append([words[r] for r in ranks[start : start + length]])
        start += length
    return corpus


def assert_same_top10(model: BM25Plus, sparse: BM25Index, queries: list[list[str]]) -> None:
    for query in queries:
        reference = np.asarray(model.get_scores(query))
        expected = np.lexsort((np.arange(len(reference)), -reference))[:10]
        expected = [i for i in expected if reference[i] > sparse.floor(query) + 1e-12]
        ids, scores = sparse.top(query, 10)
        assert ids.tolist() == expected, query
        assert np.allclose(scores + sparse.floor(query), reference[ids], rtol=0, atol=1e-9)


def index_of(corpus: list[list[str]], k1: float, b: float, delta: float) -> BM25Index:
    return BM25Index.build(corpus, k1=k1, b=b, delta=delta)


def random_queries(corpus: list[list[str]], count: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    queries = []
    for _ in range(count):
        doc = rng.choice(corpus)
        query = rng.sample(doc, min(len(doc), rng.randint(1, 5)))
        if rng.random() < 0.2:
            query.append("never-seen-term")
        if rng.random() < 0.2:
            query.append(query[0])  # rank_bm25 counts a repeated term twice
        queries.append(query)
    return queries


def test_synthetic_zipf_corpus_matches_rank_bm25() -> None:
    """3,000 queries over 3,000 Zipf-distributed passages: identical top-10 and scores."""
    corpus = zipf_corpus(3000, 5000, seed=7)
    model = BM25Plus(corpus, k1=1.2, b=0.75, delta=1.0)
    assert_same_top10(
        model, index_of(corpus, 1.2, 0.75, 1.0), random_queries(corpus, 3000, seed=11)
    )


@pytest.mark.parametrize(("k1", "b", "delta"), [(0.9, 0.4, 0.5), (2.0, 1.0, 0.0)])
def test_other_parameters_match_too(k1: float, b: float, delta: float) -> None:
    """The equivalence does not depend on the parameters."""
    corpus = zipf_corpus(500, 800, seed=3)
    model = BM25Plus(corpus, k1=k1, b=b, delta=delta)
    assert_same_top10(model, index_of(corpus, k1, b, delta), random_queries(corpus, 500, seed=5))


@pytest.mark.skipif(
    not BBC.is_dir(), reason="the BBC sample (../shared/corpora/bbc-dev) is absent"
)
def test_bbc_sample_matches_rank_bm25() -> None:
    """Real news passages and headline queries: identical top-10 and scores."""
    collection = load_collection(BBC)
    corpus = [tokenize(p.text) for p in collection.passages[:4000]]
    model = BM25Plus(corpus, k1=1.2, b=0.75, delta=1.0)
    queries = [tokenize(a.title) for a in collection.articles[:1000]]
    queries += random_queries(corpus, 1000, seed=13)
    assert_same_top10(model, index_of(corpus, 1.2, 0.75, 1.0), [q for q in queries if q])


def test_boosts_scale_term_contributions() -> None:
    """A boost of 2 on a term equals repeating it."""
    corpus = zipf_corpus(200, 300, seed=1)
    sparse = index_of(corpus, 1.5, 0.75, 1.0)
    query = corpus[0][:2]
    twice, _ = sparse.top([*query, query[0]], 10)
    boosted, _ = sparse.top(query, 10, boosts=[2.0, 1.0])
    assert twice.tolist() == boosted.tolist()


def test_no_matching_term_gives_nothing() -> None:
    """Unknown terms and k=0 return empty arrays."""
    sparse = index_of([["a", "b"], ["c"]], 1.5, 0.75, 1.0)
    assert len(sparse.top(["zzz"], 5)[0]) == 0
    assert len(sparse.top(["a"], 0)[0]) == 0


def test_idf_is_rank_bm25s(tmp_path: Path) -> None:
    """IDF, average length and saved-then-loaded postings agree with rank_bm25's model."""
    corpus = zipf_corpus(300, 400, seed=2)
    model = BM25Plus(corpus, k1=1.2, b=0.75, delta=1.0)
    index = index_of(corpus, 1.2, 0.75, 1.0)
    assert index.idf == model.idf
    assert index.avgdl == model.avgdl
    index.save(tmp_path / "ix")
    loaded = BM25Index.load(tmp_path / "ix")
    assert_same_top10(model, loaded, random_queries(corpus, 200, seed=3))


def test_inconsistent_saved_index_is_refused(tmp_path: Path) -> None:
    """Files that disagree (a truncated postings file) raise ValueError, not garbage."""
    index_of(zipf_corpus(50, 60, seed=4), 1.2, 0.75, 1.0).save(tmp_path / "ix")
    np.save(tmp_path / "ix" / "tfs.npy", np.zeros(3, dtype=np.uint32))
    with pytest.raises(ValueError, match="do not agree"):
        BM25Index.load(tmp_path / "ix")


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
    heads = {a.id: tokenize(f"{a.title}\n{a.subtitle or ''}") for a in collection.articles}
    documents = [heads[p.article.id] + tokenize(p.text) for p in collection.passages]
    model = BM25Plus(documents, k1=BM25_K1, b=BM25_B, delta=BM25_DELTA)
    queries = [tokenize(q) for q in ("Taliban prisoners", "US troops leave", "Qatar accord")]
    built = [build_indexes(collection, workers=w) for w in (1, 2)]
    for indexes in built:
        assert_same_top10(model, indexes.passages, queries)
        article = heads[collection.articles[0].id] + [
            t
            for p in collection.passages
            for t in tokenize(p.text) * (LEDE_REPEAT if p.paragraph == 1 else 1)
        ]
        assert indexes.articles.doc_len.tolist() == [len(article)]
    assert built[0].spellings == built[1].spellings
