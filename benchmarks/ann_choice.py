"""Which approximate index, measured: IVF (8-bit codes, candidates re-scored exactly as the product
does) at several list counts and probe depths, and HNSW, on the speed benchmark's own corpus
vectors (``benchmarks.sizes``: real chunk vectors and perturbed copies) with the eval questions'
real query vectors. Recall is against exact inner-product search over the same vectors.

    python -m benchmarks.ann_choice --chunks 1000000 [--hnsw]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from retrieval.index import current_generation
from retrieval.index.dense import RERANK, TRAIN_ITERATIONS, TRAIN_PER_LIST
from retrieval.index.schema import CHUNK_VECTORS

from . import common, sizes
from .datasets import DEFAULT_EVAL_DIR, load_realtimeqa, load_rgb
from .machine import machine
from .metrics import percentile

DEPTH = 100  # the dense candidates a question takes


def _recall(got: list[np.ndarray], truth: np.ndarray, k: int) -> float:
    return float(np.mean([len(set(g[:k]) & set(t[:k])) / k for g, t in zip(got, truth, strict=True)]))


def _timed(search: Any, queries: np.ndarray) -> tuple[list[np.ndarray], list[float]]:
    ids, ms = [], []
    for q in queries:
        t = time.perf_counter()
        ids.append(search(q[None, :]))
        ms.append((time.perf_counter() - t) * 1000)
    return ids, ms


def _size_mb(index: faiss.Index) -> float:
    with tempfile.NamedTemporaryFile(suffix=".faiss") as fh:
        faiss.write_index(index, fh.name)
        return os.path.getsize(fh.name) / 1e6


def _row(name: str, build_s: float, mb: float, n: int, ids: list[np.ndarray], ms: list[float], truth: np.ndarray) -> dict:
    return {"index": name, "build_s": round(build_s, 1), "bytes_per_vector": round(mb * 1e6 / n), "p50_ms": round(percentile(ms, 50), 2),
            "p95_ms": round(percentile(ms, 95), 2), "recall_at_10": round(_recall(ids, truth, 10), 4),
            "recall_at_100": round(_recall(ids, truth, DEPTH), 4)}


def run(n_chunks: int, eval_dir: Path, *, nlists: list[int], nprobes: list[int], hnsw: bool) -> dict:
    gen = current_generation(sizes.size_settings(n_chunks).index_dir)
    if gen is None:
        raise SystemExit(f"build the {n_chunks:,}-chunk corpus first: python -m benchmarks.speed --sizes {n_chunks} --parts sizes")
    vectors = np.load(gen / CHUNK_VECTORS, mmap_mode="r")
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    qs = [q.text for q in load_rgb(eval_dir).queries] + [q.text for q in load_realtimeqa(eval_dir).queries]
    queries, _ = common.query_vectors(qs, embed_missing=False)
    flat = faiss.IndexFlatIP(x.shape[1])
    flat.add(x)
    _, truth = flat.search(queries, DEPTH)  # a batch: BLAS, fast
    ids, ms = _timed(lambda q, flat=flat: flat.search(q, DEPTH)[1][0], queries)
    rows = [_row("exact (flat, float32)", 0.0, _size_mb(flat), len(x), ids, ms, truth)]
    del flat
    rng = np.random.default_rng(0)
    for nlist in nlists:
        t = time.perf_counter()
        index = faiss.index_factory(x.shape[1], f"IVF{nlist},SQ8", faiss.METRIC_INNER_PRODUCT)
        ivf = faiss.extract_index_ivf(index)
        ivf.cp.niter = TRAIN_ITERATIONS
        index.train(x[np.sort(rng.choice(len(x), min(len(x), TRAIN_PER_LIST * nlist), replace=False))])
        index.add(x)
        build_s, mb = time.perf_counter() - t, _size_mb(index)
        for nprobe in nprobes:
            ivf.nprobe = nprobe

            def rerank(q: np.ndarray, index: faiss.Index = index) -> np.ndarray:
                _, cand = index.search(q, RERANK * DEPTH)
                found = np.sort(cand[0][cand[0] >= 0])
                return found[np.argsort(-(np.asarray(vectors[found], dtype=np.float32) @ q[0]), kind="stable")]

            ids, ms = _timed(rerank, queries)
            rows.append(_row(f"IVF{nlist},SQ8 nprobe {nprobe} + exact re-score of {RERANK * DEPTH}", build_s, mb, len(x), ids, ms, truth))
            print(json.dumps(rows[-1]), flush=True)
        del index
    if hnsw:
        t = time.perf_counter()
        index = faiss.index_factory(x.shape[1], "HNSW32,SQ8", faiss.METRIC_INNER_PRODUCT)
        index.train(x[np.sort(rng.choice(len(x), min(len(x), 100_000), replace=False))])
        index.add(x)
        build_s, mb = time.perf_counter() - t, _size_mb(index)
        for ef in (64, 128, 256):
            faiss.ParameterSpace().set_index_parameter(index, "efSearch", ef)
            ids, ms = _timed(lambda q, index=index: index.search(q, DEPTH)[1][0], queries)
            rows.append(_row(f"HNSW32,SQ8 efSearch {ef}", build_s, mb, len(x), ids, ms, truth))
            print(json.dumps(rows[-1]), flush=True)
    return {"chunks": len(x), "queries": len(queries), "faiss_threads": faiss.omp_get_max_threads(), "rows": rows}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    ap.add_argument("--chunks", type=int, default=1_000_000)
    ap.add_argument("--nlists", default="1024,2048,4096")
    ap.add_argument("--nprobes", default="16,32,64,128")
    ap.add_argument("--hnsw", action="store_true", help="also HNSW32 (its build takes tens of minutes at 1M here)")
    ap.add_argument("--out", type=Path, default=common.RESULTS_DIR / "ann_choice.json")
    args = ap.parse_args(argv)
    res = run(args.chunks, args.eval_dir, nlists=[int(x) for x in args.nlists.split(",")],
              nprobes=[int(x) for x in args.nprobes.split(",")], hnsw=args.hnsw)
    res["machine"] = machine(["numpy", "faiss-cpu"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
