"""benchmarks/bench_llm.py stays runnable: a few questions through both services, the table printed."""

from __future__ import annotations

import re

from benchmarks.bench_llm import ROOT, run


def test_bench_llm_runs_and_prints_the_table() -> None:
    out = run(ROOT / "corpus", n=4, warmup=0)
    m = re.search(r"(\d+) answered questions counted .* (\d+)/(\d+) answered in llm mode", out)
    assert m and int(m.group(1)) >= 1 and m.group(2) == m.group(3) == m.group(1), out
    assert "| **added, in-service**" in out and "Machine: " in out
    for row in re.findall(r"^\| [^|]+ \| ([\d.-]+) \| ([\d.-]+) \| ([\d.-]+) \|$", out, re.M):
        p50, p95, top = map(float, row)
        assert p50 <= p95 <= top
