"""Per-user question limit: a sliding one-minute window kept in memory (per process)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable

WINDOW_S = 60.0


class UserRateLimiter:
    """``allow(user)`` is True while ``user`` asked fewer than ``per_minute`` questions in the last minute.

    ``per_minute=0`` disables the limit. ``clock`` is injectable so tests need not sleep.
    """

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: defaultdict[str, deque[float]] = defaultdict(deque)

    def allow(self, user: str) -> bool:
        if self.per_minute <= 0:
            return True
        now = self._clock()
        with self._lock:
            times = self._seen[user]
            while times and now - times[0] >= WINDOW_S:
                times.popleft()
            if len(times) >= self.per_minute:
                return False
            times.append(now)
            return True
