"""``industry-qa digest``: print the weekly digest (``--dry-run``) or post it now (``--post``)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from datetime import datetime

from bot.config import Settings, SettingsError
from bot.digest.schedule import IsoWeek, Period
from bot.state.protocols import StateStore


def register_digest(
    subparsers: argparse._SubParsersAction,  # type: ignore[type-arg]
    common: Callable[[argparse.ArgumentParser], None],
) -> None:
    parser = subparsers.add_parser(
        "digest",
        help="print the weekly digest (--dry-run) or post it to DIGEST_CHANNEL now (--post)",
        description="The weekly summary post. Default week: the one the latest scheduled run covers.",
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--dry-run", action="store_true", help="print the digest here; nothing is posted")
    mode.add_argument("--post", action="store_true",
                      help="post it now (once per channel and week: a digest already posted is not posted again)")
    parser.add_argument("--week", help="ISO week, e.g. 2026-W48")
    parser.add_argument("--channel", action="append", help="post here instead of DIGEST_CHANNEL (repeatable)")
    common(parser)
    parser.set_defaults(func=run_digest)


def run_digest(args: argparse.Namespace) -> int:
    """Exit status: 0 printed / posted / already posted, 1 when a post failed, 2 for bad input.
    ``--dry-run`` reads no Slack settings: the digest is built from the corpus, index and log."""
    from bot.digest.render import digest_plain_text
    from bot.digest.scheduler import DigestScheduler, utcnow
    from bot.digest.sources import make_digest
    from bot.state import open_store

    try:
        settings = Settings.from_env(require_slack_tokens=args.post).with_paths(corpus=args.corpus,
                                                                                           data=args.data)
        week: Period | None = IsoWeek.parse(args.week) if args.week else None
    except (SettingsError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    logging.basicConfig(level="DEBUG" if getattr(args, "verbose", False) else "WARNING", format="%(levelname)s %(name)s: %(message)s")
    now = utcnow()
    store = open_store(settings.state_location)
    try:
        week = week or DigestScheduler.latest_week(now, settings.digest)
        if args.dry_run:
            print(digest_plain_text(make_digest(week, settings=settings.digest, retrieval=settings.retrieval, log=store)))
            return 0
        return _post(settings, store, week=week, now=now, channels=args.channel or list(settings.digest.channels))
    finally:
        store.close()


def _post(settings: Settings, store: StateStore, *, week: Period, now: datetime, channels: list[str]) -> int:
    """Post ``week`` to ``channels`` now, through the same claims as the scheduled post."""
    from bot.digest.render import digest_message
    from bot.digest.schedule import slot_for_week
    from bot.digest.scheduler import DigestScheduler, slack_finder, slack_poster
    from bot.digest.sources import make_digest
    from bot.slack_client import build_web_client

    slot = slot_for_week(week, settings.digest)
    if slot > now:
        print(f"error: week {week} is not over; it is due at "
              f"{slot.astimezone(settings.digest.tz).isoformat()}", file=sys.stderr)
        return 2
    if not channels:
        print("error: set DIGEST_CHANNEL (or pass --channel)", file=sys.stderr)
        return 2
    client = build_web_client(settings)
    scheduler = DigestScheduler(
        settings=settings.digest, store=store, post=slack_poster(client), find_posted=slack_finder(client),
        make_message=lambda w: digest_message(
            make_digest(w, settings=settings.digest, retrieval=settings.retrieval, log=store)),
    )
    failed = False
    for channel in channels:
        outcome = scheduler.post_week(channel, week, now, force=True)
        failed |= outcome.status in ("failed", "busy")
        print(f"{channel} {week}: " + (f"already {outcome.detail}" if outcome.status == "done" else f"{outcome.status} {outcome.detail}").rstrip())
    return 1 if failed else 0
