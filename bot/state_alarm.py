"""One log line when the state database starts failing, one when it works again.

A full disk or a lost database fails every delivery: logging each failure with a traceback would
bury the one line that matters. ``failed`` logs the first failure as one ERROR line and counts the
rest; ``ok`` (called after any operation that worked) says once that the database is back and how
many operations failed meanwhile.
"""

from __future__ import annotations

import logging
import threading

from retrieval.logsafe import loggable

logger = logging.getLogger(__name__)


class StateAlarm:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures = 0

    @property
    def failing(self) -> bool:
        return self._failures > 0

    def failed(self, err: BaseException) -> None:
        with self._lock:
            first = self._failures == 0
            self._failures += 1
        if first:
            logger.error("the state database is failing (%s: %s); questions get a short notice until it works again",
                         type(err).__name__, loggable(err))

    def ok(self) -> None:
        if not self._failures:  # the usual case: no lock taken
            return
        with self._lock:
            failures, self._failures = self._failures, 0
        if failures:
            logger.warning("the state database works again (%d operations failed meanwhile)", failures)


def is_state_failure(err: BaseException) -> bool:
    """Whether ``err`` is the state database failing (SQLite or PostgreSQL, or unreachable)."""
    from bot.state.protocols import StateUnavailableError

    module = type(err).__module__ or ""
    return isinstance(err, StateUnavailableError) or module.startswith(("sqlite3", "psycopg"))
