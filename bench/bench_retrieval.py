"""Retrieval benchmark: build, cache load, memory and query latency at 10k, 100k and 1M passages,
with rank_bm25's own get_scores measured in the same run on the same passages.

    python -m bench.bench_retrieval                       # 10k, 100k, 1M
    python -m bench.bench_retrieval --sizes 10000 100000  # quicker

Query latency and memory are measured in a fresh process that only loads the saved index and
answers the questions, as `newsbot run` does after a restart.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from rank_bm25 import BM25Plus

from bench.corpus import generate, questions
from bot.collection.cache import size_on_disk
from bot.lexical.bm25 import BM25Index
from bot.lexical.indexing import BM25_B, BM25_DELTA, BM25_K1
from bot.lexical.postings import Postings, postings_from_pairs
from bot.text import PARALLEL_MIN_TEXTS, default_workers, encode, tokenize

TOP = 10


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited at fork)."""
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


def serve(folder: Path, questions_file: Path) -> None:
    """Child process: load the index, answer every question, print figures as JSON."""
    started = time.perf_counter()
    index = BM25Index([Postings.load(folder)], None, BM25_K1, BM25_B, BM25_DELTA)
    load_s = time.perf_counter() - started
    asked = json.loads(questions_file.read_text())
    latencies = []
    for question in asked:
        t = time.perf_counter()
        index.top(tokenize(question), TOP)
        latencies.append((time.perf_counter() - t) * 1000)
    print(
        json.dumps(
            {
                "load_s": load_s,
                "p50_ms": percentile(latencies, 50),
                "p99_ms": percentile(latencies, 99),
                "rss_mb": peak_rss_mb(),
            }
        )
    )


def baseline(tokens: list[list[str]], asked: list[str], index: BM25Index) -> dict[str, float]:
    """rank_bm25 on the same passages: build time and get_scores latency; checks equality."""
    started = time.perf_counter()
    model = BM25Plus(tokens, k1=BM25_K1, b=BM25_B, delta=BM25_DELTA)
    build_s = time.perf_counter() - started
    latencies = []
    for question in asked:
        terms = tokenize(question)
        t = time.perf_counter()
        scores = np.asarray(model.get_scores(terms))
        top = np.argsort(-scores, kind="stable")[:TOP]
        latencies.append((time.perf_counter() - t) * 1000)
        ours, _ = index.top(terms, TOP)
        floor = sum((model.idf.get(t) or 0) * model.delta for t in terms)
        expected = [i for i in top.tolist() if scores[i] > floor + 1e-12]
        if ours.tolist() != expected:
            raise SystemExit(f"top-10 differs from rank_bm25 for {question!r}")
    return {"build_s": build_s, "p50_ms": percentile(latencies, 50), "queries": len(asked)}


def run(size: int, query_count: int, baseline_count: int) -> dict[str, float]:
    texts = generate(size)
    asked = questions(texts, query_count)
    # newsbot's build path (bot.lexical.indexing.build_indexes): tokenize into term ids, in worker
    # processes when there are many passages, then postings from (term, passage) pairs.
    started = time.perf_counter()
    encoded = encode(texts)
    tokenize_s = time.perf_counter() - started
    started = time.perf_counter()
    postings = postings_from_pairs(
        list(encoded.terms),
        encoded.ids,
        np.repeat(np.arange(size, dtype=np.int64), encoded.lengths),
        encoded.lengths,
        BM25_K1,
        BM25_B,
        int(encoded.lengths.sum()) / size,
    )
    index = BM25Index([postings], None, BM25_K1, BM25_B, BM25_DELTA)
    index_s = time.perf_counter() - started
    # rank_bm25 gets the same documents as token lists (not timed).
    tokens = [tokenize(t) for t in texts] if baseline_count else []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "index"
        postings.save(folder)
        disk_mb = size_on_disk(folder) / 1e6
        questions_file = Path(tmp) / "questions.json"
        questions_file.write_text(json.dumps(asked))
        child = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.bench_retrieval",
                "--serve",
                str(folder),
                str(questions_file),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        served = json.loads(child.stdout)
    base = baseline(tokens, asked[:baseline_count], index) if baseline_count else None
    result = {
        "passages": size,
        "terms": len(postings.terms),
        "postings": len(postings.doc_ids),
        "workers": default_workers() if size >= PARALLEL_MIN_TEXTS else 1,
        "tokenize_s": tokenize_s,
        "index_s": index_s,
        "build_s": tokenize_s + index_s,
        "disk_mb": disk_mb,
        **served,
    }
    if base:
        result.update(
            rank_bm25_build_s=base["build_s"],
            rank_bm25_p50_ms=base["p50_ms"],
            rank_bm25_queries=base["queries"],
            speedup_p50=base["p50_ms"] / served["p50_ms"],
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--serve", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve)
        return
    header = (
        f"{'passages':>9} {'terms':>8} {'build s':>8} {'(tok+ix)':>11} {'load s':>7} "
        f"{'disk MB':>8} {'RSS MB':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'rank_bm25 p50':>14} {'speed-up':>9}"
    )
    print(header, flush=True)
    for size in args.sizes:
        # rank_bm25 takes ~0.7 s a question at 1M passages: fewer questions there.
        baseline_count = {10_000: 500, 100_000: 100}.get(size, 20)
        r = run(size, args.queries, baseline_count)
        print(
            f"{r['passages']:>9} {r['terms']:>8} {r['build_s']:>8.1f} "
            f"{r['tokenize_s']:>5.1f}+{r['index_s']:<5.1f} {r['load_s']:>7.2f} "
            f"{r['disk_mb']:>8.0f} {r['rss_mb']:>7.0f} {r['p50_ms']:>7.3f} {r['p99_ms']:>7.3f} "
            f"{r['rank_bm25_p50_ms']:>11.1f} ms {r['speedup_p50']:>8.0f}x",
            flush=True,
        )
        print(
            "  "
            + json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()}),
            flush=True,
        )


if __name__ == "__main__":
    main()
