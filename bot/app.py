"""``create_app``: build the Bolt app from settings and collaborators; nothing happens at import."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from slack_bolt import App
from slack_sdk import WebClient

from bot.config import Settings
from bot.digest.command import Preview, digest_preview, register_digest_command
from bot.handler import Answerer, QuestionHandler
from bot.ingest_listener import Ingest, IngestHandler, register_ingest
from bot.listeners import register_listeners
from bot.ratelimit import UserRateLimiter
from bot.slack_client import build_web_client, counting_client
from bot.state.protocols import StateStore

logger = logging.getLogger(__name__)

LISTENER_THREADS = 16


def create_app(
    settings: Settings,
    *,
    store: StateStore,
    client: WebClient | None = None,
    answerer: Answerer | None = None,
    limiter: UserRateLimiter | None = None,
    preview: Preview | None = None,
    ingest: Ingest | None = None,
) -> App:
    """The Bolt ``App`` with every listener registered.

    ``store`` is the process's one state store (``bot.state.open_store``). Defaults: the retrying
    Web API client for ``settings`` and the real ``QAService``; tests pass a client pointed at a
    loopback fake, their own answerer (failure injection) or ``/digest`` preview builder. Calls
    ``auth.test`` once (Bolt's token check).
    """
    if answerer is None:
        from retrieval.service import QAService  # heavy (model, index): only when really serving

        answerer = QAService(settings.retrieval)
    handler = QuestionHandler(
        answerer=answerer,
        store=store,
        limiter=limiter if limiter is not None else UserRateLimiter(settings.user_questions_per_minute, store),
        workers=settings.workers,
    )
    app = App(
        name="industry-qa",
        client=client if client is not None else build_web_client(settings),
        signing_secret=settings.slack_signing_secret,
        # Events are acked before the listener runs. Listeners only decide and claim, then hand the
        # answering to the handler's pool, so these threads are always free for the next ack.
        process_before_response=False,
        listener_executor=ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="bot-listener"),
        logger=logging.getLogger("bot.bolt"),
    )
    if ingest is None:
        from retrieval.ingest import ingest_urls

        ingest = partial(ingest_urls, settings.retrieval)
    app.middleware(counting_client)  # Web API failures in listeners reach /metrics
    # before the question listeners (Bolt runs the first that matches): "@bot add <url>" is not a question
    register_ingest(app, IngestHandler(ingest=ingest, store=store, allowed_users=settings.add_allowed_users))
    register_listeners(app, handler, store)
    register_digest_command(app, preview if preview is not None else digest_preview(settings, store),
                            language=settings.digest.language)
    return app
