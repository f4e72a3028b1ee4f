"""The semantic stage's speed: embedding throughput, and the answer's latency per stage on
bbc-dev replicated to a newsroom-sized archive, with the lexical stages as the baseline
measured in the same run.

    python -m bench.bench_semantic                      # x34 (~254k passages)
    python -m bench.bench_semantic --copies 1 --workdir /tmp/nb

1. Embedding (in this process): the texts of 200 bbc-dev articles and 2,000 synthetic
   passages (bench/corpus.py), with one onnxruntime thread (as the bot embeds in the
   background) and with every core (`newsbot index`): passages/s and texts/s (a passage's
   sentences and its title are embedded too), beside the time to tokenize the same texts.
2. The archive (bench/bench_real.py's replica, never in the repository): `newsbot index` (its
   distinct texts embedded once: copies cost nothing), the vectors' size; then a fresh process
   answers every question four ways — raw ranking, the lexical answer (NEWSBOT_MODEL=none's
   stages), the semantic answer without the cross-encoder, and the full answer — p50/p99 ms.
3. `newsbot ask`'s cached start, and the start after one article file is added (it is
   embedded before the answer, which must come from it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from bench.bench_real import (
    BBC,
    NEWSBOT,
    ROOT,
    env_for,
    load_questions,
    one_added_file,
    percentile,
    replicate,
    timed,
)

SAMPLE_ARTICLES = 200


def embedding(threads: int) -> dict[str, float]:
    """Passages and texts per second on real and synthetic text, and the time it takes
    relative to tokenizing the same texts (the lexical index's main cost)."""
    from bench.corpus import generate
    from bot.articles import load_collection, passages_of
    from bot.semantic.dense import texts_of
    from bot.semantic.model import open_model
    from bot.text import sentence_spans, tokenize

    encoder = open_model("default", threads)
    assert encoder is not None
    real = list(load_collection(BBC).articles)
    random.Random(7).shuffle(real)
    sample = [(a, tuple(passages_of(a))) for a in real[:SAMPLE_ARTICLES]]
    real_texts = [t for a, passages in sample for t in texts_of(a, passages)]
    synthetic = generate(2000, seed=7)
    synthetic_texts = [
        *synthetic,
        *(p[a:b] for p in synthetic for a, b in sentence_spans(p) if len(sentence_spans(p)) > 1),
    ]
    counts = {"real": sum(len(passages) for _, passages in sample)}
    counts["synthetic"] = len(synthetic)
    figures: dict[str, float] = {}
    for name, texts in (("real", real_texts), ("synthetic", synthetic_texts)):
        started = time.perf_counter()
        encoder.passages(texts)
        took = time.perf_counter() - started
        started = time.perf_counter()
        for text in texts:
            tokenize(text)
        lexical = time.perf_counter() - started
        figures[f"{name}_passages_s"] = counts[name] / took
        figures[f"{name}_texts_s"] = len(texts) / took
        figures[f"{name}_vs_lexical"] = took / lexical
    return figures


def serve(articles: Path, cache: Path, questions_file: Path) -> None:
    """Child process: open as `newsbot ask` does, then time each stage per question."""
    os.environ.update(env_for(articles, cache))
    from bot.retrieval.ranking import CANDIDATES
    from bot.retrieval.search import SearchIndex
    from bot.runtime.library import open_library
    from newsbot.options import settings_from

    started = time.perf_counter()
    edition = open_library(settings_from(None)).current
    start_s = time.perf_counter() - started
    index = edition.index
    assert index.dense is not None
    assert index.dense.complete
    space = index.dense.space
    lexical = SearchIndex(index.collection, built=index.built)
    asked = json.loads(questions_file.read_text())
    times: dict[str, list[float]] = {"rank": [], "lexical": [], "vectors": [], "full": []}
    depth = space.depth
    for question in asked:
        for stage, run in (
            ("rank", lambda q=question: index.rank(index.query(q).terms, CANDIDATES)),
            ("lexical", lambda q=question: lexical.find(q, 3)),
            ("vectors", lambda q=question: index.find(q, 3)),
            ("full", lambda q=question: index.find(q, 3)),
        ):
            space.depth = 0 if stage == "vectors" else depth
            t = time.perf_counter()
            run()
            times[stage].append((time.perf_counter() - t) * 1000)
    figures = {"start_s": start_s, "passages": len(edition.collection.passages)}
    for stage, values in times.items():
        figures[f"{stage}_p50_ms"] = percentile(values, 50)
        figures[f"{stage}_p99_ms"] = percentile(values, 99)
    print(json.dumps(figures))


def archive(copies: int, workdir: Path, asked: list[str]) -> dict[str, float]:
    articles = replicate(BBC, workdir / f"x{copies}", copies)
    cache = workdir / f"x{copies}-cache"
    env = env_for(articles, cache)
    index_s, out = timed([*NEWSBOT, "index"], env)
    vectors = sum(p.stat().st_size for p in cache.glob("vec-*"))
    questions = workdir / "questions.json"
    questions.write_text(json.dumps(asked))
    command = [sys.executable, "-m", "bench.bench_semantic", "--serve", str(articles), str(cache)]
    done = subprocess.run(
        [*command, str(questions)], capture_output=True, text=True, check=True, cwd=ROOT
    )
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    start_s, _ = timed([*NEWSBOT, "ask", "--json", asked[0]], env)
    figures.update(
        copies=copies,
        index_s=index_s,
        vectors_mb=vectors / 1e6,
        cached_start_s=start_s,
        **one_added_file(articles, env),  # the added file must be the first answer
    )
    print(out.strip().splitlines()[-1], flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=34)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/newsbot-bench-real"))
    parser.add_argument(
        "--questions", type=Path, nargs="*", default=sorted(ROOT.glob("bench/bbc_qa_*.jsonl"))
    )
    parser.add_argument("--limit", type=int, default=400, help="questions timed")
    parser.add_argument("--serve", nargs=3, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve)
        return
    for threads in (1, os.cpu_count() or 1):
        e = embedding(threads)
        print(
            f"embedding, {threads} thread(s): real text {e['real_passages_s']:.0f} passages/s "
            f"({e['real_texts_s']:.0f} texts/s, {e['real_vs_lexical']:.0f}x the time to "
            f"tokenize them); synthetic {e['synthetic_passages_s']:.0f} passages/s "
            f"({e['synthetic_texts_s']:.0f} texts/s, {e['synthetic_vs_lexical']:.0f}x)",
            flush=True,
        )
    asked = load_questions(BBC, args.questions)
    asked = random.Random(7).sample(asked, min(args.limit, len(asked)))
    args.workdir.mkdir(parents=True, exist_ok=True)
    r = archive(args.copies, args.workdir, asked)
    print(
        f"x{r['copies']:.0f}: {r['passages']:.0f} passages | `newsbot index` {r['index_s']:.1f} s "
        f"| vectors {r['vectors_mb']:.1f} MB | cached start {r['cached_start_s']:.2f} s "
        f"(in-process {r['start_s']:.2f} s) | one file added, answered from it: "
        f"{r['added_start_s']:.2f} s",
        flush=True,
    )
    lexical = r["lexical_p50_ms"]
    for stage in ("rank", "lexical", "vectors", "full"):
        print(
            f"  {stage:<8} p50 {r[f'{stage}_p50_ms']:7.1f} ms  p99 {r[f'{stage}_p99_ms']:7.1f} ms"
            f"  ({r[f'{stage}_p50_ms'] / lexical:.1f}x the lexical answer's p50)",
            flush=True,
        )
    print("  " + json.dumps({k: round(float(v), 4) for k, v in r.items()}), flush=True)


if __name__ == "__main__":
    main()
