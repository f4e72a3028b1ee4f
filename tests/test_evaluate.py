"""The evaluation harness, the question sets, and the quality targets it measures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.articles import load_collection
from bot.retrieval import evaluate
from bot.retrieval.search import SearchIndex
from tests.support.cli import newsbot
from tests.support.paths import BBC, ROOT

QA = ROOT / "bench" / "seed_qa.jsonl"
TUNE = ROOT / "bench" / "bbc_qa_tune.jsonl"
TUNE2 = ROOT / "bench" / "bbc_qa_tune2.jsonl"
TEST = ROOT / "bench" / "bbc_qa_test.jsonl"
needs_bbc = pytest.mark.skipif(
    not BBC.is_dir(), reason="the BBC sample (../shared/corpora/bbc-dev) is absent"
)


def test_seed_qa_set_is_large_and_sound() -> None:
    """At least 40 questions, 8 unanswerable; every expected phrase is in the seed article."""
    cases = evaluate.load_cases(QA)
    assert len(cases) >= 40
    assert sum(c.expect_none for c in cases) >= 8
    text = (ROOT / "seeds" / "000_e6af9304790c8bd1.txt").read_text(encoding="utf-8")
    for case in cases:
        assert all(phrase in text for phrase in case.expect), case.question


def test_bbc_question_sets_are_large_and_split() -> None:
    """At least 120 answerable and 60 unanswerable BBC questions, split in two halves that
    share no article: the tuning half asks about even-numbered articles (two writers), the
    test half about odd ones, once per article."""
    tune = evaluate.load_cases(TUNE) + evaluate.load_cases(TUNE2)
    test = evaluate.load_cases(TEST)
    both = tune + test
    assert sum(not c.expect_none for c in both) >= 120
    assert sum(c.expect_none for c in both) >= 60
    for cases, parity in ((tune, 0), (test, 1)):
        answerable = [c for c in cases if not c.expect_none]
        assert all(c.article is not None for c in answerable)
        assert {int(c.article.rsplit("/", 1)[1]) % 2 for c in answerable if c.article} == {parity}
    asked = [c.article for c in test if not c.expect_none]
    assert len(set(asked)) == len(asked)


@needs_bbc
def test_bbc_expected_phrases_are_in_their_articles() -> None:
    """Every expected phrase of an answerable BBC question is in the article it names."""
    for case in evaluate.load_cases(TUNE) + evaluate.load_cases(TUNE2) + evaluate.load_cases(TEST):
        if case.expect_none:
            continue
        text = (BBC / f"{case.article}.txt").read_text(encoding="utf-8")
        assert all(phrase in text for phrase in case.expect), case.question


def test_seed_qa_meets_the_targets_and_beats_the_baseline(seed_index: SearchIndex) -> None:
    """What readers are shown: hit@1 >= 95% of answerable; no-answer precision and recall
    >= 95%; above the plain BM25 baseline."""
    cases = evaluate.load_cases(QA)
    compared = evaluate.systems(seed_index, titles=True)
    ours = evaluate.evaluate_cases(compared["shown"], cases).table()
    base = evaluate.evaluate_cases(compared["baseline"], cases).table()
    assert ours["hit@1"] is not None and ours["hit@1"] >= 0.95
    assert ours["refused"] == 0
    assert ours["no-answer precision"] is not None and ours["no-answer precision"] >= 0.95
    assert ours["no-answer recall"] is not None and ours["no-answer recall"] >= 0.95
    for metric in ("hit@1", "hit@3", "MRR@10", "no-answer precision", "no-answer recall"):
        assert ours[metric] > base[metric], metric  # type: ignore[operator]


def test_metrics_arithmetic() -> None:
    """Ranks turn into hit@k, MRR, article@1, refusals and no-answer precision/recall."""
    metrics = evaluate.Metrics()
    metrics.add(1, True, False, "a", article_first=True)
    metrics.add(2, True, False, "b", article_first=False)
    metrics.add(None, False, False, "c", article_first=False)
    metrics.add(None, False, True, "d")
    metrics.add(None, True, True, "e")
    table = metrics.table()
    assert table["hit@1"] == pytest.approx(1 / 3)
    assert table["hit@3"] == pytest.approx(2 / 3)
    assert table["MRR@10"] == pytest.approx((1 + 0.5) / 3)
    assert table["article@1"] == pytest.approx(1 / 3)
    assert table["refused"] == pytest.approx(1 / 3)
    assert table["no-answer precision"] == pytest.approx(1 / 2)
    assert table["no-answer recall"] == pytest.approx(1 / 2)


def test_only_passages_presented_as_the_answer_count(tmp_path: Path) -> None:
    """A reply that shows the closest passages without presenting them as the answer
    counts as a refusal, not as a hit."""
    shown = evaluate.Shown([], answered=False)
    case = evaluate.Case("q", expect=("x",))
    metrics = evaluate.evaluate_cases(lambda _: shown, [case])
    assert metrics.table()["refused"] == 1.0
    assert metrics.table()["hit@1"] == 0.0


def test_bad_case_file_names_the_line(tmp_path: Path) -> None:
    """A malformed line is reported with its number."""
    path = tmp_path / "cases.jsonl"
    path.write_text('{"question": "ok", "expect": ["x"]}\n{"question": "no expectation"}\n')
    with pytest.raises(ValueError, match=r"cases.jsonl:2"):
        evaluate.load_cases(path)


@pytest.mark.slow
@needs_bbc
def test_bbc_known_item_shown_passages_keep_the_ranking() -> None:
    """Headline as query: the passages readers are shown rank the article as well as the
    raw ranking (MRR@10 within 0.01, or better), refuse at most 1%, beat plain BM25."""
    collection = load_collection(BBC)
    index = SearchIndex(collection, titles=False)
    results = {
        name: evaluate.evaluate_known_items(system, collection).table()
        for name, system in evaluate.systems(index, titles=False).items()
    }
    shown, ranking, base = results["shown"], results["ranking"], results["baseline"]
    assert shown["MRR@10"] >= ranking["MRR@10"] - 0.01  # type: ignore[operator]
    assert shown["refused"] <= 0.01  # type: ignore[operator]
    assert shown["MRR@10"] > base["MRR@10"] + 0.1  # type: ignore[operator]


@pytest.mark.slow
@needs_bbc
def test_bbc_tuning_half_answers_better_than_plain_bm25() -> None:
    """On the tuning half of the BBC questions, readers are shown the answering paragraph
    first more often than the raw ranking and the baseline, and refuse few answerable ones."""
    index = SearchIndex(load_collection(BBC))
    cases = evaluate.load_cases(TUNE) + evaluate.load_cases(TUNE2)
    results = {
        name: evaluate.evaluate_cases(system, cases).table()
        for name, system in evaluate.systems(index, titles=True).items()
    }
    shown = results["shown"]
    assert shown["hit@1"] > results["ranking"]["hit@1"] + 0.05  # type: ignore[operator]
    assert shown["hit@1"] > results["baseline"]["hit@1"] + 0.2  # type: ignore[operator]
    assert shown["refused"] <= 0.03  # type: ignore[operator]
    assert shown["no-answer recall"] > 0.4  # type: ignore[operator]


@pytest.mark.parametrize("model", ["default", "none"])
def test_eval_command_prints_json(tmp_path: Path, model: str) -> None:
    """`newsbot eval FILE --json` prints each system's figures for the file: with a model,
    the semantic stage's own (`dense`) and what readers would see without it (`lexical`)."""
    setting = model
    result = subprocess.run(
        [sys.executable, "-m", "newsbot", "eval", str(QA), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "NEWSBOT_CACHE_DIR": str(tmp_path / "cache"), "NEWSBOT_MODEL": setting},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)[str(QA)]
    semantic = {"lexical", "dense"} if setting == "default" else set()
    assert set(figures) == {"shown", "ranking", "baseline", *semantic}
    assert figures["shown"]["hit@1"] >= 0.95


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"question": "q", "expect": "Sept. 11"}', "'expect' must be a list of phrases"),
        ('{"question": "q", "expect": [""]}', "'expect' phrases must be non-blank text"),
        ('{"question": "q", "expect": ["ok", 11]}', "'expect' phrases must be non-blank text"),
        ('{"question": "", "expect": ["x"]}', "'question' must be non-blank text"),
        ('{"question": "q", "expect": ["x"], "article": 3}', "'article' must be text"),
        ('["q", "x"]', "not a case"),
    ],
)
def test_eval_refuses_a_malformed_case_naming_its_line(
    tmp_path: Path, line: str, problem: str
) -> None:
    """`newsbot eval` on a case file with a malformed case: one line naming the file, the
    line and the problem, exit 2 (a string is not split into one-letter phrases)."""
    path = tmp_path / "cases.jsonl"
    path.write_text(f'{{"question": "ok", "expect": ["x"]}}\n{line}\n', encoding="utf-8")
    result = newsbot("eval", str(path))
    assert result.returncode == 2, result.stdout
    assert result.stderr.startswith(f"newsbot: {path}:2: {problem}"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
