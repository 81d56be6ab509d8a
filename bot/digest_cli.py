"""``industry-qa digest``: print the weekly digest (``--dry-run``) or post it now (``--post``)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from bot.config import Settings, SettingsError

# --dry-run needs no Slack credentials: these stand in for missing ones (never sent anywhere).
_DRY_RUN_PLACEHOLDERS = {"SLACK_BOT_TOKEN": "xoxb-dry-run", "SLACK_SIGNING_SECRET": "dry-run"}


def register_digest(
    subparsers: argparse._SubParsersAction,  # type: ignore[type-arg]
    common: Callable[[argparse.ArgumentParser], None] | None = None,
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
    if common is not None:
        common(parser)
    else:
        parser.add_argument("--corpus", help="corpus folder (overrides CORPUS_DIR)")
        parser.add_argument("--data", help="index/state folder (overrides DATA_DIR)")
        parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--env-file", type=Path, default=None, help="dotenv file to read (default: ./.env)")
    parser.set_defaults(func=run_digest)


def _settings(args: argparse.Namespace) -> Settings:
    from dotenv import find_dotenv, load_dotenv

    load_dotenv(args.env_file if args.env_file is not None else find_dotenv(usecwd=True), override=False)
    env = dict(os.environ)
    if args.dry_run:
        env = {**_DRY_RUN_PLACEHOLDERS, **{k: v for k, v in env.items() if v.strip()}}
    return Settings.from_env(env).with_paths(corpus=args.corpus, data=args.data)


def run_digest(args: argparse.Namespace) -> int:
    """Exit status: 0 printed / posted / already posted, 1 when a post failed, 2 for bad input."""
    from bot.digest_render import digest_message, digest_plain_text
    from bot.digest_schedule import IsoWeek, slot_for_week
    from bot.digest_sources import make_digest
    from bot.scheduler import DigestScheduler, slack_finder, slack_poster, utcnow
    from bot.state import open_store

    try:
        settings = _settings(args)
        week = IsoWeek.parse(args.week) if args.week else None
    except (SettingsError, ValueError) as err:
        print(f"industry-qa digest: {err}", file=sys.stderr)
        return 2
    logging.basicConfig(level="DEBUG" if getattr(args, "verbose", False) else "WARNING", format="%(levelname)s %(name)s: %(message)s")
    now = utcnow()
    store = open_store(settings.state_db_path)
    client = _client(settings) if args.post else None
    try:
        scheduler = DigestScheduler(
            settings=settings.digest, store=store, post=slack_poster(client) if client else _no_post,
            find_posted=slack_finder(client) if client else None,
            make_message=lambda w: digest_message(make_digest(settings, w, log=store)),
        )
        week = week or scheduler.due_week(now)[0]
        if args.dry_run:
            print(digest_plain_text(make_digest(settings, week, log=store)))
            return 0
        slot = slot_for_week(week, settings.digest)
        if slot > now:
            print(f"industry-qa digest: week {week} is not over; it is due at "
                  f"{slot.astimezone(settings.digest.tz).isoformat()}", file=sys.stderr)
            return 2
        channels = args.channel or list(settings.digest.channels)
        if not channels:
            print("industry-qa digest: set DIGEST_CHANNEL (or pass --channel)", file=sys.stderr)
            return 2
        failed = False
        for channel in channels:
            outcome = scheduler.post_week(channel, week, now, force=True)
            failed |= outcome.status in ("failed", "busy")
            print(f"{channel} {week}: " + (f"already {outcome.detail}" if outcome.status == "done" else f"{outcome.status} {outcome.detail}").rstrip())
        return 1 if failed else 0
    finally:
        store.close()


def _client(settings: Settings) -> object:
    from bot.slack_client import build_web_client

    return build_web_client(settings)


def _no_post(channel: str, message: object, week: object) -> str:
    raise RuntimeError("dry run: nothing is posted")
