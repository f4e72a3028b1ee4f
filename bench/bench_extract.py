"""Extraction quality: our fixture pages, and real news pages with ground truth.

    python -m bench.bench_extract                      # the fixture pages (tests/fixtures)
    python -m bench.bench_extract --aeb PATH           # + scrapinghub/article-extraction-benchmark

Fixtures: the share of true body paragraphs kept verbatim, and of boilerplate lines
(navigation, ads, share bars, related links, comments, newsletter boxes, cookie notices)
dropped, over every fixture page.

--aeb PATH: a checkout of github.com/scrapinghub/article-extraction-benchmark (its
`html/*.html.gz` and `ground-truth.json`; never copied into this repository). Each page
goes through newsbot's import extraction (bot.ingest.extract) and the article body is scored
against the ground truth's `articleBody` exactly as that benchmark's evaluate.py does:
4-word shingles of \\w+ tokens, per-page precision and recall (normalised so long pages do
not weigh more), averaged, F1 of the averages. Three rows: the body paragraphs newsbot
extracts; the body as the bot serves it after reading the written .md file back
(bot.articles: boilerplate lines and datelines taken off, a short line may become the
subtitle); and plain `trafilatura.extract` as that benchmark runs it, in the same run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import time
from collections import Counter
from pathlib import Path

import trafilatura

from bot.articles import ArticleError, parse_article
from bot.ingest.extract import ExtractError, extract, extract_bytes
from bot.ingest.files import ArticleFile

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "import"
_TOKEN = re.compile(r"\w+", re.UNICODE | re.MULTILINE | re.IGNORECASE | re.DOTALL)


def fixture_quality(folder: Path = FIXTURES) -> None:
    kept = total = dropped = furniture = 0
    for expected_file in sorted(folder.glob("*.expected.json")):
        expected = json.loads(expected_file.read_text(encoding="utf-8"))
        page = expected_file.with_name(expected_file.name.replace(".expected.json", ".html"))
        found = extract_bytes(page.read_bytes(), None, None)
        text = "\n".join([found.title, found.subtitle or "", *found.paragraphs]).lower()
        page_kept = sum(p in found.paragraphs for p in expected["paragraphs"])
        page_dropped = sum(b.lower() not in text for b in expected["boilerplate"])
        print(
            f"  {page.name:<20} body {page_kept}/{len(expected['paragraphs'])} kept, "
            f"boilerplate {page_dropped}/{len(expected['boilerplate'])} dropped"
        )
        kept, total = kept + page_kept, total + len(expected["paragraphs"])
        dropped, furniture = dropped + page_dropped, furniture + len(expected["boilerplate"])
    print(
        f"fixtures: body paragraphs kept {kept}/{total} ({kept / total:.1%}), "
        f"boilerplate dropped {dropped}/{furniture} ({dropped / furniture:.1%})"
    )


def shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)))


def tp_fp_fn(true: str, pred: str) -> tuple[float, float, float]:
    """The benchmark's string_shingle_matching: counts normalised to sum to 1."""
    t, p = shingles(true), shingles(pred)
    tp = sum(min(t[k], p[k]) for k in t.keys() | p.keys())
    fp = sum(max(0, p[k] - t[k]) for k in t.keys() | p.keys())
    fn = sum(max(0, t[k] - p[k]) for k in t.keys() | p.keys())
    s = tp + fp + fn
    return (tp / s, fp / s, fn / s) if s else (0.0, 0.0, 0.0)


def scores(counts: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    def precision(tp: float, fp: float, fn: float) -> float:
        return 1.0 if fp == fn == 0 else 0.0 if tp == fp == 0 else tp / (tp + fp)

    def recall(tp: float, fp: float, fn: float) -> float:
        return 1.0 if fp == fn == 0 else 0.0 if tp == fn == 0 else tp / (tp + fn)

    p = statistics.mean(precision(*c) for c in counts if c[0] + c[1] > 0)
    r = statistics.mean(recall(*c) for c in counts if c[0] + c[2] > 0)
    return p, r, 2 * p * r / (p + r)


def served_body(markup: str, url: str) -> tuple[str, str]:
    """(extracted body, body as the bot reads it back from the written file)."""
    try:
        found = extract(markup, url)
    except ExtractError:
        return "", ""
    body = "\n\n".join(found.paragraphs)
    file = ArticleFile(found.title, found.paragraphs, found.subtitle, url=found.url)
    try:
        article = parse_article(file.render(), "page.md")
    except ArticleError:
        return body, ""
    first = [f"{article.dateline} — "] if article.dateline else []
    read_back = "\n\n".join([*first, *article.paragraphs])
    return body, read_back


def aeb_quality(path: Path) -> None:
    truth = json.loads((path / "ground-truth.json").read_text(encoding="utf-8"))
    rows: dict[str, list[tuple[float, float, float]]] = {"extracted": [], "served": [], "base": []}
    took = {"ours": 0.0, "base": 0.0}
    for key, item in sorted(truth.items()):
        with gzip.open(path / "html" / f"{key}.html.gz", "rt", encoding="utf8") as handle:
            markup = handle.read()
        started = time.perf_counter()
        body, read_back = served_body(markup, item.get("url"))
        took["ours"] += time.perf_counter() - started
        started = time.perf_counter()
        baseline = trafilatura.extract(markup, include_comments=False) or ""
        took["base"] += time.perf_counter() - started
        true = item.get("articleBody", "")
        rows["extracted"].append(tp_fp_fn(true, body))
        rows["served"].append(tp_fp_fn(true, read_back))
        rows["base"].append(tp_fp_fn(true, baseline))
    print(f"article-extraction-benchmark: {len(truth)} pages, 4-word shingles")
    print(f"  {'':<34} {'precision':>9} {'recall':>7} {'F1':>6}")
    names = {
        "extracted": "newsbot import: extracted body",
        "served": "newsbot import: as the bot reads it",
        "base": f"trafilatura {trafilatura.__version__} extract()",
    }
    for row, counts in rows.items():
        p, r, f1 = scores(counts)
        print(f"  {names[row]:<34} {p:>9.3f} {r:>7.3f} {f1:>6.3f}")
    print(
        f"  time: newsbot {took['ours'] / len(truth) * 1000:.0f} ms/page, "
        f"trafilatura {took['base'] / len(truth) * 1000:.0f} ms/page"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--aeb", type=Path, help="checkout of article-extraction-benchmark")
    args = parser.parse_args()
    fixture_quality()
    if args.aeb is not None:
        aeb_quality(args.aeb)


if __name__ == "__main__":
    main()
