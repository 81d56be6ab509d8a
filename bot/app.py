"""``create_bot``: build the Bolt app and its background work from settings and collaborators;
nothing happens at import, and no thread runs before ``Bot.start()``."""

from __future__ import annotations

import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.alerts.changes import AnswerChanges
from bot.alerts.follow_alerts import FollowAlerts
from bot.alerts.generations import (
    ArticleLookup,
    DiskGenerations,
    Generations,
    IndexHolder,
    ServiceGenerations,
)
from bot.alerts.watcher import POLL_S, SETTLE_S, IndexWatcher
from bot.answer_controls import AnswerControls, register_answer_controls
from bot.assistant_panel import build_assistant
from bot.channel_policy import ChannelPolicy
from bot.check_shortcut import register_check_shortcut
from bot.config import Settings
from bot.digest.cadence import next_post, plans
from bot.digest.command import Preview, digest_preview, register_digest_command
from bot.follow_listener import FollowHandler, register_follow_commands
from bot.handler import Answerer, QuestionHandler
from bot.home.listener import HomeTab, register_home
from bot.home.summary import HomeSummary
from bot.ingest_listener import Ingest, IngestHandler, register_ingest
from bot.listeners import register_listeners
from bot.ratelimit import UserRateLimiter
from bot.render import Message
from bot.settings_listener import SettingsHandler, register_settings
from bot.shutdown import Drain
from bot.slack_client import build_web_client, counting_client
from bot.state.protocols import StateStore
from bot.state_alarm import StateAlarm
from retrieval.glossary import load_glossary

logger = logging.getLogger(__name__)

LISTENER_THREADS = 16


SWITCH_INTERVAL_S = 0.001


@dataclass
class Bot:
    """The app and what runs beside it: the index watcher (alerts, App Home's cache), the question
    handler (``serve`` resumes pending questions through it) and the worker pools to drain when stopping."""

    app: App
    watcher: IndexWatcher
    answers: QuestionHandler
    drain: Drain

    def start(self) -> Bot:
        # The interpreter hands the lock between threads every 1 ms instead of 5: in a burst, the event
        # loop acking requests and the threads back from the query worker get it sooner (alternating
        # runs of 10 bursts of 20, median p95: answer 335-371 ms vs 384-442, ack 50-64 ms vs 64-87).
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        self.drain.start_threads()  # the first burst does not wait for ~40 thread starts
        self.watcher.start()
        # Questions are embedded by a child process from the first one on (retrieval/e5_worker.py):
        # start it now (~0.7 s) and wait, so that no answer depends on whether it was ready yet.
        start = getattr(getattr(self.answers.answerer, "embeddings", None), "start_query_worker", None)
        if start is not None:
            start(wait=True)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.watcher.stop(timeout)


def create_app(settings: Settings, **collaborators: Any) -> App:
    """The Bolt ``App`` alone (``create_bot``'s), for callers that run no background work."""
    return create_bot(settings, **collaborators).app


def create_bot(
    settings: Settings,
    *,
    store: StateStore,
    client: WebClient | None = None,
    answerer: Answerer | None = None,
    limiter: UserRateLimiter | None = None,
    preview: Preview | None = None,
    ingest: Ingest | None = None,
    generations: Generations | None = None,
    watch_poll_s: float = POLL_S,
    watch_settle_s: float = SETTLE_S,
) -> Bot:
    """The Bolt ``App`` with every listener registered, and the index watcher (not started).

    ``store`` is the process's one state store (``bot.state.open_store``). Defaults: the retrying
    Web API client for ``settings`` and the real ``QAService``; tests pass a client pointed at a
    loopback fake, their own answerer (failure injection) or ``/digest`` preview builder. Calls
    ``auth.test`` once (Bolt's token check).
    """
    if answerer is None:
        from retrieval.service import QAService  # heavy (model, index): only when really serving

        answerer = QAService(settings.retrieval)
    if generations is None:  # share the answerer's loaded index when it has one
        generations = (ServiceGenerations(answerer) if isinstance(answerer, IndexHolder)
                       else DiskGenerations(settings.retrieval))
    alarm = StateAlarm()  # one per process: the listeners, the answers and the adds log a failing database once
    handler = QuestionHandler(
        answerer=answerer,
        store=store,
        limiter=limiter if limiter is not None else UserRateLimiter(settings.user_questions_per_minute, store),
        workers=settings.workers,
        alarm=alarm,
        working_reaction_after_s=settings.working_reaction_after_ms / 1000,
    )
    listener_pool = ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="bot-listener")
    app = App(
        name="industry-qa",
        client=client if client is not None else build_web_client(settings),
        signing_secret=settings.slack_signing_secret,
        # Events are acked before the listener runs. Listeners only decide and claim, then hand the
        # answering to the handler's pool, so these threads are always free for the next ack.
        process_before_response=False,
        listener_executor=listener_pool,
        logger=logging.getLogger("bot.bolt"),
    )
    glossary = load_glossary(settings.retrieval.corpus_dir)

    def post(channel: str, message: Message) -> None:  # alerts: a user id posts to the app's DM
        app.client.chat_postMessage(channel=channel, unfurl_links=False, unfurl_media=False, **message.to_kwargs())

    summary = HomeSummary(answerer=answerer, glossary=lambda: glossary)
    watcher = IndexWatcher(generations, store, poll_s=watch_poll_s, settle_s=watch_settle_s, listeners=[
        summary,
        FollowAlerts(store=store, post=post, glossary=lambda: glossary),
        AnswerChanges(store=store, answerer=answerer, post=post, glossary=lambda: glossary),
    ])
    if ingest is None:
        from retrieval.ingest import ingest_urls

        ingest = partial(ingest_urls, settings.retrieval)
    app.middleware(counting_client)  # Web API failures in listeners reach /metrics
    # before the question listeners (Bolt runs the first that matches): "@bot add <url>" and
    # "@bot follow Zhipu" are not questions
    ingest_handler = IngestHandler(ingest=ingest, store=store, allowed_users=settings.add_allowed_users,
                                   on_indexed=watcher.poke, alarm=alarm)
    adds = register_ingest(app, ingest_handler)
    policy = ChannelPolicy(store)
    settings_form = register_settings(app, SettingsHandler(store=store, settings=settings, on_change=policy.changed))
    follows = register_follow_commands(app, FollowHandler(store=store, glossary=lambda: glossary), store,
                                       open_settings=settings_form)
    register_listeners(app, handler, store, policy)
    register_check_shortcut(app, handler)
    register_answer_controls(app, AnswerControls(store=store, articles=ArticleLookup(generations),
                                                 max_saved_per_user=settings.change_alerts_per_user))
    register_home(app, HomeTab(store=store, summary=summary, retrieval=settings.retrieval,
                               next_digest=lambda now: next_post(plans(settings.digest, store.all_channel_settings()), now)))
    app.assistant(build_assistant(handler=handler, store=store, summary=summary, commands=[adds, follows]))
    register_digest_command(app, preview if preview is not None else digest_preview(settings, store),
                            language=settings.digest.language)
    drain = Drain()  # in the order work is handed on: listeners, adds, answers, their Slack calls
    drain.add(listener_pool, ingest_handler.pool, *handler.pools)
    return Bot(app=app, watcher=watcher, answers=handler, drain=drain)
