"""The retrieval quality tables' "project, fitted fusion" rows re-measured at the current code with
the shipped fusion defaults (``FusionParams()``), without re-fitting: has retrieval moved since the
tables were made? Same chunks, cached vectors and splits as ``python -m benchmarks.run --parts quality``.

    python -m benchmarks.quality_check [--sets rgb,realtimeqa,realtimeqa_gold] [--eval-dir ../shared/eval]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from retrieval.fusion import FusionParams

from . import retrieval_quality as rq
from .datasets import DEFAULT_EVAL_DIR, load_realtimeqa, load_rgb
from .machine import machine_line


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    ap.add_argument("--sets", default="rgb,realtimeqa,realtimeqa_gold")
    args = ap.parse_args(argv)
    loaders = {"rgb": lambda: load_rgb(args.eval_dir), "realtimeqa": lambda: load_realtimeqa(args.eval_dir),
               "realtimeqa_gold": lambda: load_realtimeqa(args.eval_dir, distractors=False)}
    print(f"_{machine_line()}_\n")
    print("| set | documents | chunks | not embedded | test hit@1 | test hit@5 | test MRR@10 | all hit@1 | all hit@5 | all MRR@10 | s |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.sets.split(","):
        t = time.time()
        es, note = rq.restrict_to_cached(loaders[name]())
        p = rq.prepare(es)
        wd = rq.temp_dir()
        try:
            idx = rq.build_product_index(p, wd)
            res = rq.evaluate(p, rq.rank_product(p, idx, FusionParams()))
        finally:
            rq.cleanup(wd)
        te, al = res["test"], res["all"]
        print(f"| {name} | {len(es.articles)} | {len(p.chunk_texts)} | {note or 'none'} | {te['hit@1']:.3f} | {te['hit@5']:.3f} | "
              f"{te['mrr@10']:.3f} | {al['hit@1']:.3f} | {al['hit@5']:.3f} | {al['mrr@10']:.3f} | {time.time() - t:.0f} |",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
