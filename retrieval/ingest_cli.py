"""CLI parts of ingestion: ``industry-qa add <url>`` and ``industry-qa feeds poll``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from .settings import RetrievalSettings


def is_url(arg: str) -> bool:
    return arg.strip().lower().startswith(("http://", "https://"))


def add_urls(settings: RetrievalSettings, urls: list[str]) -> int:
    """Fetch, store and index ``urls``; one line per URL. Exit status 1 when any failed."""
    from .ingest import ingest_urls

    result = ingest_urls(settings, urls)
    for outcome in result.outcomes:
        print(outcome.line(), file=sys.stderr if outcome.status == "failed" else sys.stdout)
    if result.index is not None:
        print(f"indexed: {result.index.summary()}")
    return 1 if result.failed else 0


def register_feeds(sub: argparse._SubParsersAction,  # type: ignore[type-arg]
                   common: Callable[[argparse.ArgumentParser], None],
                   settings_from: Callable[[argparse.Namespace], RetrievalSettings]) -> None:
    feeds = sub.add_parser("feeds", help="follow the news feeds listed in FEEDS")
    actions = feeds.add_subparsers(dest="feeds_command", required=True)
    p = actions.add_parser("poll", help="one round: fetch the feeds and add their new articles")
    p.add_argument("--feed", action="append", default=None,
                   help="poll this feed URL (optionally 'URL | keyword, keyword') instead of FEEDS; repeatable")
    common(p)

    def run(args: argparse.Namespace) -> int:
        from .feeds import poll_feeds
        from .settings import parse_feeds

        settings = settings_from(args)
        chosen = parse_feeds(";".join(args.feed)) if args.feed else None
        result = poll_feeds(settings, feeds=chosen)
        for line in result.lines:
            print(line)
        if result.ingest.index is not None:
            print(f"indexed: {result.ingest.index.summary()}")
        added, failed = len(result.ingest.added), len(result.ingest.failed) + result.feed_failures
        print(f"feed round: {added} added, {failed} failed, {len(result.ingest.outcomes) - added - len(result.ingest.failed)} "
              f"skipped in {result.seconds:.1f}s")
        return 1 if failed else 0

    p.set_defaults(func=run)
