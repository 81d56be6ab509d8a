"""``industry-qa serve``: the bot process's composition (one state store, the answerer, the app, its
readiness checks, retention, the digest scheduler, the feed poller); Slack is imported only when serving."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable
from http.client import HTTPException
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings


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
    parser.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """Exit status: 0 on a clean stop (SIGTERM or SIGINT: no new events, then the answers in flight
    and queued are finished within SHUTDOWN_GRACE_S); 2 (one ``error:`` line) for invalid settings,
    a state database or index that cannot be used, or Slack refusing or not answering at start-up."""
    from bot.config import Settings
    from bot.logs import configure_logging

    settings = Settings.from_env().with_paths(corpus=args.corpus, data=args.data)  # bot.cli read .env
    configure_logging(level="DEBUG" if getattr(args, "verbose", False) else settings.log_level,
                      fmt=settings.log_format)

    from bot.app import create_bot
    from bot.health import Readiness
    from bot.maintenance import Pruner, prune_once
    from bot.server import serve
    from bot.shutdown import exit_now
    from bot.state import StateUnavailableError, open_store
    from retrieval.service import QAService

    # The process's one store: the app, the digest scheduler and retention share it. It is not closed
    # when serving stops, so that answers still in flight finish and are logged while the process exits.
    try:
        store = open_store(settings.state_location)
    except StateUnavailableError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    prune_once(store, question_log_days=settings.question_log_days)
    answerer = QAService(settings.retrieval)  # the index loads on the first question or readiness check
    from slack_bolt.error import BoltError

    try:
        bot = create_bot(settings, store=store, answerer=answerer)
        bot_user_id = str(bot.app.client.auth_test().get("user_id", ""))
    except (BoltError, OSError, HTTPException) as err:  # Bolt's auth.test: refused, or no answer at all
        print(f"error: {slack_start_failure(err, settings)}", file=sys.stderr)
        return 2
    from bot.background import Periodic
    from bot.digest.scheduler import start_digest_scheduler
    from bot.feed_poller import start_feed_poller
    from bot.recovery import Recoverer, recover_pending

    app = bot.app
    readiness = Readiness(load_index=answerer.index, store=store, client=app.client)
    recover_pending(bot.answers, app.client, bot_user_id=bot_user_id)  # what the last process left unanswered
    workers: list[Periodic | None] = [
        Pruner(store, question_log_days=settings.question_log_days).start(),
        Recoverer(bot.answers, app.client, bot_user_id=bot_user_id).start(),
        start_digest_scheduler(settings, app.client, store),  # DIGEST_CHANNEL and channels' own cadences
    ]
    bot.start()  # the index watcher: follow and answer-change alerts, App Home's cache
    workers.append(start_feed_poller(settings.retrieval, on_round=bot.watcher.poke))  # None while FEEDS is empty
    try:
        with contextlib.suppress(KeyboardInterrupt):
            serve(settings, bot.app, readiness=readiness)
    finally:
        # Background work is told to stop but not waited for: SHUTDOWN_GRACE_S belongs to the answers.
        # Cutting it short leaves nothing half-written (index generations are swapped atomically,
        # digests and alerts are claimed in the state database).
        for worker in workers:
            if worker is not None:
                worker.stop(timeout=0)
        bot.stop(timeout=0)
    if not bot.drain(settings.shutdown_grace_s):
        exit_now(0)  # the unanswered questions stay pending; waiting for their threads would overrun the grace
    return 0


def slack_start_failure(err: Exception, settings: Settings) -> str:
    """The start-up error line when Slack refuses the token (``BoltError``) or cannot be reached
    (connection refused, name not found, a timeout, a dropped connection)."""
    from slack_bolt.error import BoltError

    url = settings.slack_api_url or "https://slack.com/api/"
    reason = getattr(err, "reason", err)  # URLError wraps the socket's error
    if isinstance(err, BoltError):
        return f"Slack rejected SLACK_BOT_TOKEN ({err})"
    if isinstance(reason, TimeoutError):
        return f"Slack did not answer auth.test within {settings.slack_api_timeout_s}s at {url} (SLACK_API_TIMEOUT)"
    return f"Slack is unreachable at {url} ({reason})"
