"""Per-user question limit: a sliding one-minute window counted in the state store, so that every
replica of the bot sees the same count (a user cannot double their limit by landing on two)."""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.state.protocols import RateLimits

WINDOW_S = 60.0


class UserRateLimiter:
    """``allow(user)`` is True while ``user`` asked fewer than ``per_minute`` questions in the last minute.

    ``per_minute=0`` disables the limit. ``clock`` (epoch seconds: the processes sharing a store
    share the wall clock) is injectable so tests need not sleep.
    """

    def __init__(self, per_minute: int, store: RateLimits, *, clock: Callable[[], float] = time.time) -> None:
        self.per_minute = per_minute
        self._store = store
        self._clock = clock

    def allow(self, user: str) -> bool:
        if self.per_minute <= 0:
            return True
        return self._store.take_rate_slot(f"user:{user}", limit=self.per_minute, window_s=WINDOW_S, now=self._clock())
