"""The Slack burst on several set-ups of the bot at once, bursts interleaved round by round.

bench_slack measures its set-ups one after another, so a comparison between them also compares the
machine's minute-to-minute speed (it moves by up to ~2x here). This one starts every set-up's bot
process (bench_slack's: uvicorn, Bolt, SQLite state, the real QAService over the shipped corpus, its
query worker) before the first burst, then sends each round's bursts to every set-up in a rotating
order, a second apart. Set-ups differ only by process settings; by default the shipped one against
each of the query engine and the early ack of events turned back, and both.

    python -m benchmarks.bench_burst_ab [--burst 20] [--rounds 8]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import replace
from pathlib import Path

from benchmarks.bench_slack import ROOT, Bench, Client, run, start_bot
from benchmarks.machine import machine_line
from benchmarks.metrics import percentile

SETUPS: dict[str, dict[str, str]] = {
    "as shipped": {},
    "BLAS query engine (E5_QUERY_ENGINE=blas)": {"E5_QUERY_ENGINE": "blas"},
    "events acked by Bolt (ACK_EVENTS_EARLY=0)": {"ACK_EVENTS_EARLY": "0"},
    "both (the set-up before them)": {"E5_QUERY_ENGINE": "blas", "ACK_EVENTS_EARLY": "0"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=8, help="bursts per set-up")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--only", default="", help="comma-separated set-up numbers (1-based), default all")
    args = parser.parse_args()

    load_before = os.getloadavg()
    bench = Bench.start("ab", args.corpus)
    report, fake, base = bench.report, bench.fake, bench.settings
    names = [n for i, n in enumerate(SETUPS, 1) if not args.only or str(i) in args.only.split(",")]
    children = []
    results: dict[str, tuple[list[float], list[float], list[float]]] = {name: ([], [], []) for name in names}
    try:
        clients: dict[str, Client] = {}
        for k, name in enumerate(names):
            child, ports = start_bot(replace(base, state_url=str(bench.work / f"state{k}.sqlite3")), env=SETUPS[name])
            children.append(child)
            clients[name] = Client(ports.get(timeout=300))
        for k, name in enumerate(names):  # warm-up, not reported
            run(clients[name], fake, n=5, concurrent=False, prefix=f"{1600000000 + k}")
        for r in range(args.rounds):
            for name in names[r % len(names):] + names[:r % len(names)]:
                prefix = f"{1800000000 + 1000 * names.index(name) + r}"
                acks, answers = run(clients[name], fake, n=args.burst, concurrent=True, prefix=prefix)
                results[name][0].extend(acks)
                results[name][1].extend(answers)
                results[name][2].append(percentile(answers, 95))
                time.sleep(1.0)
    finally:
        for child in children:
            child.terminate()
            child.join(10)
        fake.stop()
    load_after = os.getloadavg()

    print(f"Corpus: {report.articles} article(s), {report.chunks} chunks; extractive answers; bursts of {args.burst} "
          f"concurrent mentions, {args.rounds} per set-up, interleaved round by round; BOT_WORKERS={base.workers}; "
          f"Web API = loopback fake\n")
    print("| set-up | ack p50 ms | ack p95 ms | answer p50 ms | answer p95 ms | median of the bursts' answer p95 |"
          " answer p95 per burst |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name in names:
        acks, answers, per_burst = results[name]
        print(f"| {name} | {statistics.median(acks):.1f} | {percentile(acks, 95):.1f} | {statistics.median(answers):.1f} "
              f"| {percentile(answers, 95):.1f} | {statistics.median(per_burst):.0f} "
              f"| {' / '.join(f'{v:.0f}' for v in per_burst)} |")
    print(f"\nLoad average (1, 5, 15 min) before: {', '.join(f'{v:.2f}' for v in load_before)}; "
          f"after: {', '.join(f'{v:.2f}' for v in load_after)}")
    print(f"Machine: {machine_line(('slack_bolt', 'uvicorn'))}")


if __name__ == "__main__":
    main()
