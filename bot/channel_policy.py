"""What a channel's settings mean for a message: answer it without a mention (when it reads like
a question), and answer privately. Settings are read through a short cache, because every message
in every channel the bot is in asks; a change made in this process is seen at once, one made by
another replica within ``TTL_S``.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable

from bot.state.protocols import ChannelPreferences
from bot.state.records import ChannelSettings

logger = logging.getLogger(__name__)

TTL_S = 30.0
MIN_QUESTION_CHARS = 6
_EN_OPENERS = re.compile(
    r"^(who|what|when|where|why|how|which|whose|whom|is|are|was|were|do|does|did|can|could|will|would|should|has|"
    r"have|had)\b", re.I)
_ZH_MARKERS = re.compile(r"(吗|呢|么)[\s。.!！]*$|什么|怎么|怎样|为什么|为何|哪|谁|多少|几时|是否|有没有|能否|何时")


def is_question_like(text: str) -> bool:
    """A message worth answering unasked: it ends with a question mark, opens like an English
    question, or carries a Chinese question word. Chatter ("thanks!", "lol", links) is not."""
    text = " ".join(text.split())
    if len(text) < MIN_QUESTION_CHARS or text.startswith(("<http", "http")):
        return False
    return text.endswith(("?", "？")) or bool(_EN_OPENERS.match(text)) or bool(_ZH_MARKERS.search(text))


class ChannelPolicy:
    def __init__(self, store: ChannelPreferences, *, ttl_s: float = TTL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self.clock = clock
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[float, ChannelSettings | None]] = {}

    def settings(self, team: str, channel: str) -> ChannelSettings | None:
        key = (team, channel)
        now = self.clock()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and now - hit[0] < self.ttl_s:
                return hit[1]
        try:
            found = self.store.channel_settings(team, channel)
        except Exception:
            # the state database failing: the last known settings, else the defaults. The claim that
            # follows fails too, and tells the asker and logs the failure once (bot/state_alarm.py).
            logger.debug("channel settings unreadable", exc_info=True)
            return hit[1] if hit is not None else None
        with self._lock:
            self._cache[key] = (now, found)
        return found

    def changed(self, settings: ChannelSettings) -> None:
        """A channel's settings were saved in this process."""
        with self._lock:
            self._cache[(settings.team, settings.channel)] = (self.clock(), settings)

    def answers_unasked(self, team: str, channel: str, text: str) -> bool:
        found = self.settings(team, channel)
        return found is not None and found.answer_without_mention and is_question_like(text)

    def private(self, team: str, channel: str) -> bool:
        found = self.settings(team, channel)
        return found is not None and found.private_by_default
