"""Progress while a language model writes: a placeholder message in the thread, updated with the
partial answer at most once per ``interval_s`` (chat.update), then replaced by the final message.
A model's answer can still be rejected after it was partly shown (it cites nothing, or what it
must not); the final message then replaces the partial text in place, or, when that update fails,
the placeholder is deleted before the final message is posted as a new reply: a withdrawn answer
is never left standing.
The partial text arrives already filtered by the language-model layer (``retrieval.llm.shown_partial``).

Slack calls for the placeholder and the partial updates run on a background pool, so a slow or
rate-limited Slack never holds up reading the model's stream. The final message waits for any
update still in flight (so a late partial cannot overwrite it). The final message carries the
reply's stamp (bot/delivery.py); the placeholder does not, so a restart never takes a placeholder
for the answer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from slack_sdk import WebClient

from bot.delivery import Delivery
from bot.render import SECTION_TEXT_LIMIT, Message, cut_escaped, notice_message
from bot.texts import t

logger = logging.getLogger(__name__)

UPDATE_INTERVAL_S = 1.0  # at most one partial chat.update per second
SLACK_WAIT_S = 30.0  # upper bound on waiting for the placeholder / an in-flight update


def partial_text(text: str) -> str:
    """What a partial update shows: the text so far, escaped and cut to one section, marked as unfinished."""
    return cut_escaped(text, SECTION_TEXT_LIMIT - 2) + " …"


class Progress:
    """One answer's placeholder. ``start()``, then ``partial`` as ``on_partial``, then ``finish``."""

    def __init__(self, client: WebClient, *, delivery: Delivery, language: str, pool: ThreadPoolExecutor,
                 interval_s: float = UPDATE_INTERVAL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.delivery = delivery  # the final message: an update of the placeholder, or a new reply
        self.channel = delivery.channel
        self.thread_ts = delivery.thread_ts
        self.language = language
        self.pool = pool
        self.interval_s = interval_s
        self.clock = clock
        self._lock = threading.Lock()
        self._placeholder: Future[str | None] | None = None
        self._inflight: Future[None] | None = None
        self._last_done = float("-inf")  # when the last partial update finished
        self._finished = False

    def start(self) -> None:
        self._placeholder = self.pool.submit(self._post_placeholder)

    def _post_placeholder(self) -> str | None:
        placeholder = notice_message(f"_{t('writing', self.language)}_")
        try:
            resp = self.client.chat_postMessage(channel=self.channel, thread_ts=self.thread_ts, **placeholder.to_kwargs())
            return str(resp["ts"])
        except Exception:
            logger.warning("could not post the placeholder; the answer will be posted when ready", exc_info=True)
            return None

    def _ts_if_ready(self) -> str | None:
        fut = self._placeholder
        return fut.result() if fut is not None and fut.done() else None

    def partial(self, text: str) -> None:
        """``on_partial``: starts a chat.update unless one ran less than ``interval_s`` ago (or is
        still running); partials in between are skipped, the final message replaces them anyway."""
        ts = self._ts_if_ready()
        if ts is None:
            return
        with self._lock:
            if self._finished or self._inflight is not None:
                return
            if self.clock() - self._last_done < self.interval_s:
                return
            self._inflight = self.pool.submit(self._update_partial, ts, partial_text(text))

    def _update_partial(self, ts: str, shown: str) -> None:
        try:
            msg = notice_message(shown)
            self.client.chat_update(channel=self.channel, ts=ts, **msg.to_kwargs())
        except Exception:
            logger.warning("partial chat.update failed", exc_info=True)
        finally:
            with self._lock:
                self._last_done = self.clock()
                self._inflight = None

    def finish(self, message: Message, shorter: Message | None = None) -> None:
        """Replace the placeholder with ``message``; post it as a new reply (and remove the
        placeholder) if that is not possible. Raises only when the new reply cannot be posted either."""
        with self._lock:
            self._finished = True
            inflight = self._inflight
        ts: str | None = None
        try:
            if inflight is not None:
                inflight.result(timeout=SLACK_WAIT_S)
            if self._placeholder is not None:
                ts = self._placeholder.result(timeout=SLACK_WAIT_S)
        except FutureTimeout:
            logger.warning("Slack is slow: posting the answer as a new reply")
            ts = None
        if ts is not None:
            try:
                self.delivery.update(ts, message, shorter=shorter)
                return
            except Exception:
                logger.warning("final chat.update failed; posting the answer as a new reply", exc_info=True)
            self.delivery.delete(ts)  # it may show a partial answer the final one replaces or rejects
        self.delivery.post(message, shorter=shorter)
