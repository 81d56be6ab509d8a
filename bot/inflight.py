"""Slack requests this process is handling right now (HTTP mode), so answers can let acks go first.

In a burst, the event loop acking the requests and the threads answering earlier ones share one
interpreter lock: every answer started while requests wait for their ack slows those acks. An
answer therefore waits, once its question is embedded (by the query worker, outside the lock: the
worker's batches are not held back) and before its search, until no Slack request is in flight, for at most
``ACKS_FIRST_MAX_MS`` (a process setting read from the environment, default 100; 0 turns the wait
off); the burst's acks go out first and its answers follow, the work the same. In Socket Mode
nothing is counted and nothing waits.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol, runtime_checkable

ACKS_FIRST_MAX_S = float(os.environ.get("ACKS_FIRST_MAX_MS", "").strip() or "100") / 1000


class InFlight:
    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()

    @contextmanager
    def request(self) -> Iterator[None]:
        with self._idle:
            self._count += 1
        try:
            yield
        finally:
            with self._idle:
                self._count -= 1
                if self._count == 0:
                    self._idle.notify_all()

    def wait_idle(self, timeout: float = ACKS_FIRST_MAX_S) -> bool:
        """Wait until no request is in flight (True) or ``timeout`` passed (False)."""
        if timeout <= 0:
            return self._count == 0
        with self._idle:
            return self._idle.wait_for(lambda: self._count == 0, timeout)


SLACK_REQUESTS = InFlight()


@runtime_checkable
class PausesBeforeSearch(Protocol):
    """An answerer with a hook between a question's embedding and its search (``QAService``)."""

    before_search: Callable[[], object] | None


def acks_first(answerer: object) -> None:
    """Have ``answerer`` wait for the acks in flight before each search, where it can."""
    if isinstance(answerer, PausesBeforeSearch):
        answerer.before_search = SLACK_REQUESTS.wait_idle
