"""Where a question's search time goes at each size the speed run built: dense candidates (exact or
IVF + exact re-score), BM25 (every chunk's score, then the best 100), candidate features, and
fusion with the per-article cut. docs/scaling.md extrapolates from these parts.

    python -m benchmarks.search_parts --sizes 100000,1000000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from retrieval.fusion import FusionParams, fused_scores
from retrieval.index import LoadedIndex, current_generation
from retrieval.search import candidate_features, search, top_ids

from . import common, sizes
from .datasets import DEFAULT_EVAL_DIR
from .machine import machine
from .metrics import percentile


def parts_at(n_chunks: int, questions: list[str], qvecs: np.ndarray, rounds: int = 2) -> dict:
    gen = current_generation(sizes.size_settings(n_chunks).index_dir)
    if gen is None:
        raise SystemExit(f"build the {n_chunks:,}-chunk corpus first (python -m benchmarks.speed --sizes {n_chunks})")
    idx, params = LoadedIndex(gen), FusionParams()
    times: dict[str, list[float]] = {"dense": [], "bm25 scores": [], "bm25 top": [], "features": [], "fusion": [], "search": []}
    for _ in range(rounds):  # the first round warms the page cache; the last one is kept
        for k in times:
            times[k].clear()
        for q, qv in zip(questions, qvecs, strict=True):
            t0 = time.perf_counter()
            d_ids = idx.dense.search(qv, params.candidates)
            t1 = time.perf_counter()
            bm = idx.bm25.scores(q)
            t2 = time.perf_counter()
            b_ids = top_ids(bm, params.candidates)
            t3 = time.perf_counter()
            cand = np.unique(np.concatenate([d_ids, b_ids]))
            feats = candidate_features(idx, qv, cand, dense_ranked=d_ids, bm25_ranked=b_ids, bm25=bm, asked_on=None)
            t4 = time.perf_counter()
            fused_scores(feats, params)
            t5 = time.perf_counter()
            search(idx, qv, q, k=5, params=params)
            t6 = time.perf_counter()
            for k, a, b in (("dense", t0, t1), ("bm25 scores", t1, t2), ("bm25 top", t2, t3), ("features", t3, t4),
                            ("fusion", t4, t5), ("search", t5, t6)):
                times[k].append((b - a) * 1000)
    return {"chunks": idx.chunk_count, "dense": idx.dense.kind, "queries": len(questions),
            "ms": {k: {"p50": round(percentile(v, 50), 2), "p95": round(percentile(v, 95), 2)} for k, v in times.items()}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--queries", type=int, default=60)
    ap.add_argument("--out", type=Path, default=common.RESULTS_DIR / "search_parts.json")
    args = ap.parse_args(argv)
    qs = sizes.questions(args.eval_dir, args.queries)
    qvecs, _ = common.query_vectors(qs)
    res = {"machine": machine(["numpy", "faiss-cpu"]),
           "sizes": {n: parts_at(int(n), qs, qvecs) for n in args.sizes.split(",")}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1))
    print(json.dumps(res["sizes"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
