"""Commands for whoever runs the bot: ``industry-qa stats`` (what the question log says) and
``industry-qa health`` (the container's health check: asks the running bot's ``/readyz``)."""

from __future__ import annotations

import argparse
import http.client
import sys
import time
from collections.abc import Callable
from pathlib import Path

HEALTH_TIMEOUT_S = 5.0


def register_ops(
    subparsers: argparse._SubParsersAction,  # type: ignore[type-arg]
    common: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Add ``stats`` and ``health``; ``common`` adds the shared options (``--corpus``, ``--data``, ``-v``)."""
    stats = subparsers.add_parser(
        "stats", help="answered / closest / refused shares, latency, votes and unanswered questions",
        description="Summarise the question log in the state database (STATE_URL).")
    stats.add_argument("--since", default="7d", help="how far back: 90m, 24h, 7d, 2w (default: 7d)")
    common(stats)
    stats.set_defaults(func=run_stats)

    health = subparsers.add_parser(
        "health", help="ask the running bot whether it is ready (exit 0) or not (exit 1)",
        description="GET /readyz (or /healthz with --live) of the bot on this machine: PORT in HTTP mode, "
                    "HEALTH_PORT in Socket Mode. The container's HEALTHCHECK runs this.")
    health.add_argument("--live", action="store_true", help="only check that the process answers (/healthz)")
    health.add_argument("--port", type=int, default=None, help="port to ask (default: from the settings)")
    health.add_argument("--env-file", type=Path, default=None,
                        help="settings file to read (default: ./.env of the working directory, if any)")
    health.set_defaults(func=run_health)


def run_stats(args: argparse.Namespace) -> int:
    from bot.config import Settings, SettingsError
    from bot.state import StateUnavailableError, open_store
    from bot.stats import parse_span, render, summarise

    try:  # bot.cli has read the .env file
        settings = Settings.from_env(require_slack_tokens=False).with_paths(corpus=args.corpus, data=args.data)
        span = parse_span(args.since)
    except (SettingsError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        store = open_store(settings.state_location)
    except StateUnavailableError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        now = time.time()
        stats = summarise(store.questions_between(now - span, now + 1), store.feedback())
    finally:
        store.close()
    start = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(now - span))
    print(render(stats, since_label=f"since {start} ({args.since})"))
    return 0


def run_health(args: argparse.Namespace) -> int:
    from bot.config import Settings, SettingsError

    try:  # bot.cli has read the .env file (--env-file)
        settings = Settings.from_env(require_slack_tokens=False)
    except SettingsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    port = args.port or (settings.health_port if settings.socket_mode else settings.port)
    path = "/healthz" if args.live else "/readyz"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HEALTH_TIMEOUT_S)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read().decode("utf-8", "replace").strip()
    except OSError as err:
        print(f"error: nothing answers on 127.0.0.1:{port} ({type(err).__name__})", file=sys.stderr)
        return 1
    finally:
        conn.close()
    print(f"{path} {response.status} {body}")
    return 0 if response.status == 200 else 1
