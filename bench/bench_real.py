"""Speed on real text: bbc-dev replicated to a newsroom-sized archive, real questions,
rank_bm25 in the same run.

    python -m bench.bench_real                                  # x34 (~254k passages), x134 (~1M)
    python -m bench.bench_real --copies 34 --workdir /tmp/nb    # one size
    python -m bench.bench_real --questions bench/bbc_qa_test.jsonl

The articles of ../shared/corpora/bbc-dev (1,328 articles, 7,467 passages) are copied N times
into WORKDIR/xN/rNNN/<category>/<file> (never into the repository); copies make every posting
list N times longer, a hard case for early termination. Questions: every bbc-dev headline, the
natural questions of bench/seed_qa.jsonl and bench/bbc_qa_*.jsonl when present, or the JSONL
files given with --questions (one {"question": ...} per line).

Per size it reports, each from a fresh process as a user would meet it:
- the cold build (`newsbot index --force`) and the cached start (`newsbot ask` of one question);
- the raw ranking, the search (question analysis + search, the `took_ms` of `newsbot ask`) and
  the whole `ask` per question (`newsbot ask --json -` batch: wall time over the questions,
  the start subtracted), p50/p99, and the serving process's peak RSS;
- rank_bm25's `get_scores` over the same passage documents (title and subtitle + passage, as
  newsbot indexes them) for a sample of the questions, with the top-10 checked to be identical;
- the start after one article file is added (answered from it) and after it is removed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BBC = ROOT.parent / "shared" / "corpora" / "bbc-dev"
NEWSBOT = [sys.executable, "-m", "newsbot"]
NEW_ARTICLE = """Zorblax harbour council approves floating tidal farm

The Zorblax harbour council voted on Tuesday to build a floating tidal farm off the quay, \
the first of its kind in the region, at a cost of 41 million quatloos.

Councillor Mirela Vantongeren said the turbines would power nine thousand homes by 2027.
"""
NEW_QUESTION = "How many homes will the Zorblax tidal farm power?"


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def memory_mb(field: str) -> float:
    """A memory figure of this process from /proc (VmHWM: peak resident; RssAnon: resident
    heap; RssFile: resident pages of mapped files, the index and the stored articles)."""
    status = Path("/proc/self/status").read_text()
    return int(status.split(f"{field}:")[1].split()[0]) / 1024


def replicate(source: Path, target: Path, copies: int) -> Path:
    """`copies` copies of the article files of `source` under `target` (made once)."""
    done = target.with_name(target.name + ".done")
    if done.exists() and done.read_text() == str(copies):
        return target
    shutil.rmtree(target, ignore_errors=True)
    files = [p for p in sorted(source.rglob("*.txt")) if p.parent != source]
    for copy in range(copies):
        for path in files:
            dest = target / f"r{copy:03d}" / path.relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
    # Old modification times, as in a real archive (a fresh copy is "racily clean").
    old = time.time() - 86_400
    for path in target.rglob("*.txt"):
        os.utime(path, (old, old))
    done.write_text(str(copies))
    return target


def load_questions(bbc: Path, files: list[Path]) -> list[str]:
    """Every bbc-dev headline, then the questions of the JSONL files."""
    asked = []
    for path in sorted(bbc.rglob("*.txt")):
        if path.parent != bbc:
            asked.append(path.read_text(encoding="utf-8").split("\n", 1)[0].strip())
    for file in files:
        for line in file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                asked.append(json.loads(line)["question"])
    return [q for q in asked if q]


def env_for(articles: Path, cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        NEWSBOT_ARTICLES_DIR=str(articles),
        NEWSBOT_CACHE_DIR=str(cache),
        NEWSBOT_LOG_LEVEL="WARNING",
        TELEGRAM_BOT_TOKEN="",
    )
    return env


def timed(command: list[str], env: dict[str, str], stdin: str = "") -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        command, input=stdin, capture_output=True, text=True, env=env, check=True, cwd=ROOT
    )
    return time.perf_counter() - started, done.stdout


def serve(articles: Path, cache: Path, questions_file: Path) -> None:
    """Child process: start as `newsbot ask` does, then time ranking and search per question."""
    os.environ.update(env_for(articles, cache))
    from bot.retrieval.ranking import CANDIDATES
    from bot.runtime.library import open_library
    from newsbot.options import settings_from

    started = time.perf_counter()
    settings = settings_from(None)
    edition = open_library(settings).current
    start_s = time.perf_counter() - started
    rss_start = memory_mb("VmRSS")
    index = edition.index
    asked = json.loads(questions_file.read_text())
    rank_ms, search_ms = [], []
    for question in asked:
        t = time.perf_counter()
        query = index.query(question)
        index.search(query, settings.top_k)
        search_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        index.rank(query.terms, CANDIDATES)
        rank_ms.append((time.perf_counter() - t) * 1000)
    figures = {
        "start_s": start_s,
        "passages": len(edition.collection.passages),
        "articles": len(edition.collection.articles),
        "rank_p50_ms": percentile(rank_ms, 50),
        "rank_p99_ms": percentile(rank_ms, 99),
        "search_p50_ms": percentile(search_ms, 50),
        "search_p99_ms": percentile(search_ms, 99),
        "rss_start_mb": rss_start,
        "rss_mb": memory_mb("VmHWM"),
        "rss_anon_mb": memory_mb("RssAnon"),
        "rss_file_mb": memory_mb("RssFile"),
    }
    print(json.dumps(figures))


def baseline(articles: Path, cache: Path, questions_file: Path) -> None:
    """Child process: rank_bm25 over the same passage documents; top-10 checked identical."""
    os.environ.update(env_for(articles, cache))
    from rank_bm25 import BM25Plus

    from bot.lexical.indexing import BM25_B, BM25_DELTA, BM25_K1
    from bot.runtime.library import open_library
    from bot.text import tokenize
    from newsbot.options import settings_from

    edition = open_library(settings_from(None)).current
    heads: dict[str, list[str]] = {}
    documents = []
    for passage in edition.collection.passages:
        article = passage.article
        if article.id not in heads:
            heads[article.id] = tokenize(f"{article.title}\n{article.subtitle or ''}")
        documents.append(heads[article.id] + tokenize(passage.text))
    started = time.perf_counter()
    model = BM25Plus(documents, k1=BM25_K1, b=BM25_B, delta=BM25_DELTA)
    build_s = time.perf_counter() - started
    del documents
    latencies, same = [], 0
    asked = json.loads(questions_file.read_text())
    sparse = edition.index.ranking.passages
    for question in asked:
        terms = list(edition.index.query(question).terms)
        t = time.perf_counter()
        scores = np.asarray(model.get_scores(terms))
        top = np.argsort(-scores, kind="stable")[:10]
        latencies.append((time.perf_counter() - t) * 1000)
        floor = sum(model.idf.get(term, 0.0) * model.delta for term in terms)
        expected = [i for i in top.tolist() if scores[i] > floor + 1e-9]
        ours = sparse.top(terms, 10)[0].tolist()
        same += ours == expected
    print(
        json.dumps(
            {
                "build_s": build_s,
                "p50_ms": percentile(latencies, 50),
                "questions": len(asked),
                "identical_top10": same,
            }
        )
    )


def child(mode: str, articles: Path, cache: Path, questions: Path) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.bench_real", mode, str(articles), str(cache)]
    done = subprocess.run(
        [*command, str(questions)], capture_output=True, text=True, check=True, cwd=ROOT
    )
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def ask_batch(env: dict[str, str], asked: list[str]) -> dict[str, float]:
    """`newsbot ask --json -`: the start alone (one question), then all the questions."""
    one_s, _ = timed([*NEWSBOT, "ask", "--json", "-"], env, asked[0] + "\n")
    all_s, out = timed([*NEWSBOT, "ask", "--json", "-"], env, "\n".join(asked) + "\n")
    took = [json.loads(line)["took_ms"] for line in out.splitlines() if line.strip()]
    return {
        "cached_start_s": one_s,
        "batch_s": all_s,
        "ask_ms": (all_s - one_s) * 1000 / (len(asked) - 1),
        "took_p50_ms": percentile(took, 50),
        "took_p99_ms": percentile(took, 99),
        "answered": sum(json.loads(line)["answered"] for line in out.splitlines() if line),
    }


def one_added_file(articles: Path, env: dict[str, str]) -> dict[str, float]:
    """Start of `newsbot ask` after one new file (must answer from it), then after removing it."""
    new = articles / "zz-new" / "harbour.txt"
    new.parent.mkdir(exist_ok=True)
    new.write_text(NEW_ARTICLE, encoding="utf-8")
    try:
        added_s, out = timed([*NEWSBOT, "ask", "--json", NEW_QUESTION], env)
        hits = json.loads(out)["hits"]
        if not hits or hits[0]["source"] != "zz-new/harbour.txt":
            raise SystemExit(f"the added article was not the first answer: {out[:300]}")
    finally:
        new.unlink()
        new.parent.rmdir()
    removed_s, out = timed([*NEWSBOT, "ask", "--json", NEW_QUESTION], env)
    if any(h["source"] == "zz-new/harbour.txt" for h in json.loads(out)["hits"]):
        raise SystemExit("the removed article is still answered")
    return {"added_start_s": added_s, "removed_start_s": removed_s}


def run(
    bbc: Path, copies: int, workdir: Path, asked: list[str], baseline_count: int, reuse: bool
) -> dict[str, float]:
    articles = replicate(bbc, workdir / f"x{copies}", copies)
    cache = workdir / f"x{copies}-cache"
    env = env_for(articles, cache)
    questions = workdir / "questions.json"
    questions.write_text(json.dumps(asked))
    sample = workdir / "baseline-questions.json"
    step = max(1, len(asked) // max(1, baseline_count))
    sample.write_text(json.dumps(asked[::step][:baseline_count]))
    if reuse:  # bring the cache up to date (nothing to read if it is), not timed
        timed([*NEWSBOT, "index"], env)
        build_s = float("nan")
    else:
        build_s, _ = timed([*NEWSBOT, "index", "--force"], env)
    result: dict[str, float] = {"copies": copies, "files": 0, "cold_build_s": build_s}
    result.update(ask_batch(env, asked))
    result.update(child("--serve", articles, cache, questions))
    result["files"] = sum(1 for _ in articles.rglob("*.txt"))
    result.update(one_added_file(articles, env))
    if baseline_count:
        base = child("--baseline-child", articles, cache, sample)
        result.update({f"rank_bm25_{k}": v for k, v in base.items()})
        result["ask_speedup"] = base["p50_ms"] / result["ask_ms"]
        result["search_speedup_p50"] = base["p50_ms"] / result["search_p50_ms"]
    return result


def report(r: dict[str, float]) -> None:
    print(
        f"x{r['copies']:.0f}: {r['files']:.0f} files, {r['passages']:.0f} passages | "
        f"cold build {r['cold_build_s']:.1f} s | cached start {r['cached_start_s']:.2f} s "
        f"(in-process {r['start_s']:.2f} s) | one file added: {r['added_start_s']:.2f} s, "
        f"removed: {r['removed_start_s']:.2f} s | RSS after start {r['rss_start_mb']:.0f} MB, "
        f"after the questions {r['rss_mb']:.0f} MB ({r['rss_anon_mb']:.0f} heap + "
        f"{r['rss_file_mb']:.0f} mapped files)",
        flush=True,
    )
    print(
        f"  rank p50 {r['rank_p50_ms']:.3f} p99 {r['rank_p99_ms']:.3f} ms | search p50 "
        f"{r['search_p50_ms']:.3f} p99 {r['search_p99_ms']:.3f} ms | ask {r['ask_ms']:.3f} ms"
        f" a question ({r['answered']:.0f} answered)",
        flush=True,
    )
    if "rank_bm25_p50_ms" in r:
        print(
            f"  rank_bm25 get_scores p50 {r['rank_bm25_p50_ms']:.0f} ms "
            f"({r['rank_bm25_questions']:.0f} questions, top-10 identical for "
            f"{r['rank_bm25_identical_top10']:.0f}) | ask {r['ask_speedup']:.0f}x, "
            f"search p50 {r['search_speedup_p50']:.0f}x",
            flush=True,
        )
    print("  " + json.dumps({k: round(v, 4) for k, v in r.items()}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, nargs="+", default=[34, 134])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/newsbot-bench-real"))
    parser.add_argument("--questions", type=Path, nargs="*", default=None)
    parser.add_argument("--baseline", type=int, default=30, help="questions for rank_bm25")
    parser.add_argument("--serve", nargs=3, type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--baseline-child", dest="child", nargs=3, type=Path, help=argparse.SUPPRESS
    )
    parser.add_argument("--bbc", type=Path, default=BBC, help="the bbc-dev folder")
    parser.add_argument(
        "--reuse", action="store_true", help="keep an existing index cache (no cold build)"
    )
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve)
        return
    if args.child:
        baseline(*args.child)
        return
    if not args.bbc.is_dir():
        raise SystemExit(f"the BBC sample is absent: {args.bbc} (give --bbc DIR)")
    files = args.questions
    if files is None:
        files = [
            ROOT / "bench" / "seed_qa.jsonl",
            *sorted((ROOT / "bench").glob("bbc_qa_*.jsonl")),
        ]
    asked = load_questions(args.bbc, files)
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"{len(asked)} questions", flush=True)
    for copies in args.copies:
        report(run(args.bbc, copies, args.workdir, asked, args.baseline, args.reuse))


if __name__ == "__main__":
    main()
