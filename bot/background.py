"""One shape for the bot's background work (feed rounds, the digest schedule, retention): a daemon
thread that runs a step, waits, and runs it again until ``stop()``. A failing step is logged and
does not end the thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Self

logger = logging.getLogger(__name__)


class Periodic:
    """Calls ``step`` first after ``first_delay_s``, then after as many seconds as ``step`` returns
    (``every_s`` when it returns None or fails). ``rounds`` counts the steps run."""

    def __init__(self, step: Callable[[], float | None], *, name: str, every_s: float,
                 first_delay_s: float = 0.0) -> None:
        self._step = step
        self.every_s = every_s
        self.first_delay_s = first_delay_s
        self.rounds = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Self:
        self.thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.thread.join(timeout)

    def _run(self) -> None:
        delay = self.first_delay_s
        while not self._stop.wait(delay):
            try:
                wait = self._step()
            except Exception:  # e.g. the database or a feed away: try again next time
                logger.exception("%s failed", self.thread.name)
                wait = None
            self.rounds += 1
            delay = self.every_s if wait is None else wait
