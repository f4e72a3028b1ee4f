"""The evaluation harness and the quality targets it measures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot import evaluate
from bot.articles import load_collection
from bot.index import SearchIndex
from tests.conftest import BBC, ROOT

QA = ROOT / "bench" / "seed_qa.jsonl"


def test_seed_qa_set_is_large_and_sound() -> None:
    """At least 40 questions, 8 unanswerable; every expected phrase is in the seed article."""
    cases = evaluate.load_cases(QA)
    assert len(cases) >= 40
    assert sum(c.expect_none for c in cases) >= 8
    text = (ROOT / "seeds" / "000_e6af9304790c8bd1.txt").read_text(encoding="utf-8")
    for case in cases:
        assert all(phrase in text for phrase in case.expect), case.question


def test_seed_qa_meets_the_targets_and_beats_the_baseline(seed_index: SearchIndex) -> None:
    """hit@1 >= 95% of answerable; no-answer precision and recall >= 95%; above baseline."""
    cases = evaluate.load_cases(QA)
    ours = evaluate.evaluate_cases(evaluate.newsbot_system(seed_index), cases).table()
    base = evaluate.evaluate_cases(
        evaluate.baseline_system(seed_index.passages, titles=True), cases
    ).table()
    assert ours["hit@1"] is not None and ours["hit@1"] >= 0.95
    assert ours["no-answer precision"] is not None and ours["no-answer precision"] >= 0.95
    assert ours["no-answer recall"] is not None and ours["no-answer recall"] >= 0.95
    for metric in ("hit@1", "hit@3", "MRR@10", "no-answer precision", "no-answer recall"):
        assert ours[metric] > base[metric], metric  # type: ignore[operator]


def test_metrics_arithmetic() -> None:
    """Ranks turn into hit@k, MRR and no-answer precision/recall as defined."""
    metrics = evaluate.Metrics()
    metrics.add(1, True, False, "a")
    metrics.add(2, True, False, "b")
    metrics.add(None, False, False, "c")
    metrics.add(None, False, True, "d")
    metrics.add(None, True, True, "e")
    table = metrics.table()
    assert table["hit@1"] == pytest.approx(1 / 3)
    assert table["hit@3"] == pytest.approx(2 / 3)
    assert table["MRR@10"] == pytest.approx((1 + 0.5) / 3)
    assert table["no-answer precision"] == pytest.approx(1 / 2)
    assert table["no-answer recall"] == pytest.approx(1 / 2)


def test_bad_case_file_names_the_line(tmp_path: Path) -> None:
    """A malformed line is reported with its number."""
    path = tmp_path / "cases.jsonl"
    path.write_text('{"question": "ok", "expect": ["x"]}\n{"question": "no expectation"}\n')
    with pytest.raises(ValueError, match=r"cases.jsonl:2"):
        evaluate.load_cases(path)


@pytest.mark.skipif(
    not BBC.is_dir(), reason="the BBC sample (../shared/corpora/bbc-dev) is absent"
)
def test_bbc_known_item_search_beats_the_baseline() -> None:
    """Headline as query, article as target: newsbot's MRR@10 is well above plain BM25."""
    collection = load_collection(BBC)
    index = SearchIndex(collection, titles=False)
    ours = evaluate.evaluate_known_items(evaluate.newsbot_ranking(index), collection).table()
    base = evaluate.evaluate_known_items(
        evaluate.baseline_system(index.passages, titles=False), collection
    ).table()
    assert ours["MRR@10"] > base["MRR@10"] + 0.1  # type: ignore[operator]
    assert ours["hit@1"] > base["hit@1"]  # type: ignore[operator]


def test_eval_command_prints_json(tmp_path: Path) -> None:
    """`newsbot eval FILE --json` prints both systems' figures."""
    result = subprocess.run(
        [sys.executable, "-m", "bot", "eval", str(QA), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "NEWSBOT_CACHE_DIR": str(tmp_path / "cache")},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)["qa"]
    assert set(figures) == {"newsbot", "baseline"}
    assert figures["newsbot"]["hit@1"] >= 0.95
