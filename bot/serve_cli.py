"""``industry-qa serve``: the bot process's composition (one state store, the app, the digest
scheduler, the feed poller); Slack is imported only when serving."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Callable
from pathlib import Path

# Slack stops redelivering an event after about 5 minutes; processed keys are kept far longer.
PROCESSED_RETENTION_S = 30 * 24 * 3600


def register_serve(
    subparsers: argparse._SubParsersAction,  # type: ignore[type-arg]
    common: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Add ``serve``; ``common`` adds the shared options (``--corpus``, ``--data``, ``-v``)."""
    parser = subparsers.add_parser(
        "serve",
        help="run the Slack bot (Socket Mode if SLACK_APP_TOKEN is set, else HTTP on PORT)",
        description="Run the Slack bot. Settings come from the environment and .env (see .env.example).",
    )
    common(parser)
    parser.add_argument("--env-file", type=Path, default=None, help="dotenv file to read (default: ./.env)")
    parser.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """Exit status: 0 on a clean stop, 2 for invalid settings, 1 when Slack or the index refuse."""
    from bot.config import SettingsError, load_settings

    try:
        settings = load_settings(args.env_file).with_paths(corpus=args.corpus, data=args.data)
    except SettingsError as err:
        print(f"industry-qa serve: {err}", file=sys.stderr)
        return 2
    level = "DEBUG" if getattr(args, "verbose", False) else settings.log_level
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(level)  # the host CLI may have configured logging already

    from slack_bolt.error import BoltError

    from bot.app import create_app
    from bot.server import serve
    from bot.state import open_store
    from retrieval.errors import RetrievalError

    # The process's one store: the app and the digest scheduler share it. It is not closed when
    # serving stops, so that answers still in flight finish and are logged while the process exits.
    store = open_store(settings.state_db_path)
    store.prune(older_than_s=PROCESSED_RETENTION_S)
    try:
        app = create_app(settings, store=store)
    except BoltError as err:  # auth.test failed: bad or revoked token, or SLACK_API_URL unreachable
        print(f"industry-qa serve: Slack rejected SLACK_BOT_TOKEN or is unreachable: {err}", file=sys.stderr)
        return 1
    except RetrievalError as err:
        print(f"industry-qa serve: {err}", file=sys.stderr)
        return 1
    from bot.digest.scheduler import start_digest_scheduler
    from bot.feed_poller import start_feed_poller

    digest = start_digest_scheduler(settings, app.client, store)  # None while DIGEST_CHANNEL is empty
    feeds = start_feed_poller(settings.retrieval)  # None while FEEDS is empty
    try:
        with contextlib.suppress(KeyboardInterrupt):
            serve(settings, app)
    finally:
        if digest is not None:
            digest.stop()
        if feeds is not None:
            feeds.stop()
    return 0
