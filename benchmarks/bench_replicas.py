"""The Slack burst on two replicas sharing PostgreSQL against one replica on SQLite, side by side.

Both set-ups run at once on this machine: one bot process on a SQLite file, and two bot processes on
one PostgreSQL database (a throwaway server, started as the tests start theirs) sharing one data
folder. Bursts of concurrent signed mentions go to the two set-ups in alternating order, round after
round, so that both see the same machine; on the replicas the mentions of a burst alternate between
them, as a load balancer would spread them. Each bot process is bench_slack's (uvicorn, Bolt, the
real QAService in extractive mode over the shipped corpus); the Web API is the loopback fake in this
process. Prints a markdown table, the load average before and after, and the machine.

    python -m benchmarks.bench_replicas [--burst 20] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import replace
from multiprocessing import Queue
from pathlib import Path

from benchmarks.bench_slack import ROOT, Bench, Client, run, start_bot
from benchmarks.machine import machine_line
from benchmarks.metrics import percentile
from bot.config import Settings
from tests.pg_server import PostgresServer, find_pg_bin

SETUPS = ("one replica, SQLite", "two replicas, PostgreSQL")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5, help="bursts per set-up")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--workers", type=int, default=Settings.workers, help="BOT_WORKERS")
    args = parser.parse_args()

    bindir = find_pg_bin()
    if bindir is None:
        raise SystemExit("PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's postgresql package")
    load_before = os.getloadavg()
    bench = Bench.start("replicas", args.corpus, workers=args.workers)
    report, fake, base = bench.report, bench.fake, bench.settings
    server = PostgresServer(bindir).start()
    stores = [base] + [replace(base, state_url=server.create_database("bench"))] * 2
    children = []
    try:
        queues: list[Queue] = []  # type: ignore[type-arg]
        for settings in stores:  # all started before the first waits: a child reports its port when ready
            child, ports = start_bot(settings)
            children.append(child)
            queues.append(ports)
        sqlite_port, *pg_ports = [q.get(timeout=300) for q in queues]
        clients = {SETUPS[0]: [Client(sqlite_port)], SETUPS[1]: [Client(p) for p in pg_ports]}
        for k, group in enumerate(clients.values()):  # warm-up, not reported
            run(group, fake, n=6, concurrent=False, prefix=f"{1600000000 + k}")
        results: dict[str, tuple[list[float], list[float], list[float], list[float]]] = {
            s: ([], [], [], []) for s in SETUPS}
        for r in range(args.rounds):
            order = SETUPS if r % 2 == 0 else SETUPS[::-1]
            for name in order:
                prefix = f"{1800000000 + 1000 * SETUPS.index(name) + r}"
                acks, answers = run(clients[name], fake, n=args.burst, concurrent=True, prefix=prefix)
                results[name][0].extend(acks)
                results[name][1].extend(answers)
                results[name][2].append(percentile(answers, 95))
                results[name][3].append(percentile(acks, 95))
                time.sleep(1.0)  # let the previous burst's reactions settle
    finally:
        for child in children:
            child.terminate()
            child.join(10)
        fake.stop()
        server.stop()
    load_after = os.getloadavg()

    print(f"Corpus: {report.articles} article(s), {report.chunks} chunks; extractive answers; burst of {args.burst} "
          f"concurrent mentions, {args.rounds} bursts per set-up in alternating order; BOT_WORKERS={args.workers}; "
          f"Web API = loopback fake\n")
    print("| set-up | ack p50 ms | ack p95 ms | answer p50 ms | answer p95 ms | answer max ms | answer p95 per burst |"
          " ack p95 per burst | targets (ack < 100, answer < 500) |")
    print("|---|---:|---:|---:|---:|---:|---|---|---|")
    for name in SETUPS:
        acks, answers, per_burst, acks_per_burst = results[name]
        met = percentile(acks, 95) < 100 and percentile(answers, 95) < 500
        print(f"| {name} | {statistics.median(acks):.1f} | {percentile(acks, 95):.1f} | {statistics.median(answers):.1f} "
              f"| {percentile(answers, 95):.1f} | {max(answers):.1f} | {' / '.join(f'{v:.0f}' for v in per_burst)} "
              f"| {' / '.join(f'{v:.0f}' for v in acks_per_burst)} "
              f"| {'met' if met else 'MISSED'} |")
    print(f"\nLoad average (1, 5, 15 min) before: {_load(load_before)}; after: {_load(load_after)}")
    print(f"Machine: {machine_line(('slack_bolt', 'uvicorn', 'psycopg', 'psycopg_pool'))}")


def _load(values: tuple[float, float, float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    main()
