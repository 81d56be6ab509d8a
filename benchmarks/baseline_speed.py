"""One corpus size's speed row for an earlier commit and for this code, side by side in one run.

    python -m benchmarks.baseline_speed --commit a649d9a [--size 100000] [--rounds 2]

"No regression against an earlier table" cannot be read off two tables measured hours apart on a
machine whose load moves from minute to minute (the query embedding alone moved from p95 32 ms to
71 ms between runs of the same model on the same questions). This runs the earlier commit's own
``benchmarks.speed`` and this code's, alternating, ``--rounds`` times each, on the same machine:

- the earlier commit's files come from ``git archive`` into the benchmark cache (no worktree); it
  runs with this virtualenv, so only the project's code differs;
- it builds its own corpus of the size, in its own index format, with a copy of the shared
  embedding cache (whatever it embeds stays in its copy);
- both measure the same questions (the first test questions of RGB and RealTime QA), each in a
  fresh process, with the nearest-rank percentile.

The runs are saved as results/baseline_speed.json; BENCHMARKS.md's speed section shows them and
its "no worse than before" goal rows compare the medians over the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from . import common
from .datasets import DEFAULT_EVAL_DIR
from .machine import machine_line
from .run import save

REPO = Path(__file__).resolve().parent.parent
# (label, key in the result, p50/p95)
COLUMNS = [("query embed", "query_embedding_ms"), ("search", "search_only_ms"),
           ("embed + search", "retrieval_ms"), ("full answer", "answer_ms")]


def checkout(commit: str) -> tuple[Path, Path]:
    """The commit's files and its own benchmark cache (a copy of the shared embedding cache)."""
    full = subprocess.run(["git", "-C", str(REPO), "rev-parse", commit], check=True, capture_output=True,
                          text=True).stdout.strip()
    home = common.CACHE_DIR / f"baseline-{full[:12]}"
    src, cache = home / "src", home / "cache"
    if not (src / "benchmarks" / "speed.py").exists():
        src.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile() as fh:
            subprocess.run(["git", "-C", str(REPO), "archive", full], check=True, stdout=fh)
            fh.seek(0)
            with tarfile.open(fileobj=fh) as tar:
                tar.extractall(src, filter="data")
    if not (cache / "embeddings.sqlite").exists():
        cache.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(common.CACHE_PATH) as shared, sqlite3.connect(cache / "embeddings.sqlite") as copy:
            shared.backup(copy)
    return src, cache


def measure(src: Path, cache: Path, size: int, eval_dir: Path) -> dict[str, Any]:
    """The code in ``src`` measures ``size`` chunks with its own ``benchmarks.speed`` (building the
    corpus first if its cache lacks it)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speed.json"
        env = {**os.environ, "BENCH_CACHE_DIR": str(cache)}
        subprocess.run([sys.executable, "-m", "benchmarks.speed", "--sizes", str(size), "--parts", "sizes",
                        "--eval-dir", str(eval_dir), "--out", str(out)], check=True, cwd=src, env=env,
                       stdout=subprocess.DEVNULL)
        row: dict[str, Any] = json.loads(out.read_text())["sizes"][str(size)]
    row["load_average_after"] = round(os.getloadavg()[0], 2)
    return row


def cell(row: dict[str, Any], key: str) -> str:
    p = row.get(key) or {}
    return f"{p['p50']:.1f} / {p['p95']:.1f}" if p else "-"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--commit", required=True, help="the earlier commit to measure beside this code")
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    args = ap.parse_args(argv)
    src, cache = checkout(args.commit)
    here = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()
    runs: list[dict[str, Any]] = []
    for r in range(args.rounds):  # alternating, so both see the machine's same moods
        for code, label, where, their_cache in (("baseline", args.commit, src, cache),
                                                ("this", f"{here} (this code)", REPO, common.CACHE_DIR)):
            t = time.strftime("%H:%M", time.gmtime())
            runs.append({"code": code, "label": f"{label}, round {r + 1}, {t} UTC",
                         "row": measure(where, their_cache, args.size, args.eval_dir)})
            print(runs[-1]["label"], json.dumps(runs[-1]["row"]), file=sys.stderr, flush=True)
    save("baseline_speed", {"commit": args.commit, "size": args.size, "rounds": args.rounds, "runs": runs})
    print(f"\n{args.size:,} chunks, p50 / p95 ms over {runs[0]['row'].get('queries', '?')} questions, each run a fresh process\n")
    print("| run | " + " | ".join(c for c, _ in COLUMNS) + " | load avg after |")
    print("|---|" + "---|" * (len(COLUMNS) + 1))
    for run in runs:
        print(f"| {run['label']} | " + " | ".join(cell(run["row"], k) for _, k in COLUMNS) + f" | {run['row']['load_average_after']} |")
    print(f"\n_{machine_line()}_")
    return 0


if __name__ == "__main__":
    sys.exit(main())
