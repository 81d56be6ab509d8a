"""Progress of a long ``@bot add``: a notice in the thread once the add turns out to embed many
texts, updated at most every ``UPDATE_EVERY_S``, then replaced by the add's reply.

Short adds (most news articles) show no notice: the reply comes within seconds. Slack failures
here are logged and never stop the add; the reply is posted as a new message when the notice
cannot be replaced.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from slack_sdk import WebClient

from bot.render import Message, notice_message
from bot.texts import t

logger = logging.getLogger(__name__)

MIN_TEXTS = 200  # about five seconds of the bundled model: fewer, and the reply itself comes soon
UPDATE_EVERY_S = 3.0  # chat.update is rate-limited (about 50 a minute per workspace)


class AddProgress:
    """``progress(done, total)`` for ``retrieval.ingest.ingest_urls``, and ``finish(reply)``."""

    def __init__(self, client: WebClient, *, channel: str, thread_ts: str, language: str,
                 post: Callable[[Message], None], clock: Callable[[], float] = time.monotonic) -> None:
        self.client, self.channel, self.thread_ts, self.language = client, channel, thread_ts, language
        self.post, self.clock = post, clock
        self._ts: str | None = None
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        if total < MIN_TEXTS:
            return
        now = self.clock()
        if self._ts is not None and now - self._last < UPDATE_EVERY_S:
            return
        self._last = now
        message = notice_message(t("add_progress", self.language, done=done, total=total))
        try:
            if self._ts is None:
                resp = self.client.chat_postMessage(channel=self.channel, thread_ts=self.thread_ts,
                                                    **message.to_kwargs())
                self._ts = str(resp["ts"])
            else:
                self.client.chat_update(channel=self.channel, ts=self._ts, **message.to_kwargs())
        except Exception as err:  # a courtesy: the add goes on
            logger.warning("could not show the add's progress: %s", err)

    def finish(self, message: Message) -> None:
        """Replace the progress notice with the reply (or post the reply when there is none)."""
        if self._ts is not None:
            try:
                self.client.chat_update(channel=self.channel, ts=self._ts, **message.to_kwargs())
                return
            except Exception as err:
                logger.warning("could not replace the add's progress notice: %s", err)
        self.post(message)
