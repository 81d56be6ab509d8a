"""Background work after each index update: notice a new generation, let it settle, then hand its
arrivals to every listener (App Home's cache, follow alerts, answer-change alerts) on one thread.

Index updates come from anywhere: ``@bot add`` and feed rounds in this process (they ``poke()``
the watcher), ``industry-qa add`` or ``industry-qa index`` in another (noticed by polling the
``CURRENT`` pointer every ``poll_s``). A burst of updates is handled once: a generation is
processed only after ``settle_s`` without a newer one (at most ``max_settle_s`` after the first);
the generation live at start is handled at once (it catches up on what arrived while the bot was
down).

The articles of a generation are remembered as seen only after every listener finished; a round
that failed is tried again at the next poll. Listeners make that safe by claiming each alert in
the state store before posting it, so a retried round, a restart or a second replica never
posts an alert twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from bot.alerts.generations import Arrival, Generation, Generations, arrivals
from bot.state.protocols import SeenArticles

logger = logging.getLogger(__name__)

POLL_S = 10.0
SETTLE_S = 20.0
MAX_SETTLE_S = 300.0

Listener = Callable[[Arrival, Generation], None]


class IndexWatcher:
    def __init__(self, generations: Generations, store: SeenArticles, *, listeners: list[Listener],
                 poll_s: float = POLL_S, settle_s: float = SETTLE_S, max_settle_s: float = MAX_SETTLE_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.generations = generations
        self.store = store
        self.listeners = listeners
        self.poll_s = poll_s
        self.settle_s = settle_s
        self.max_settle_s = max_settle_s
        self.clock = clock
        self.rounds = 0  # generations fully handled (tests wait on it)
        self.looks = 0  # checks of the live generation, whatever they found
        self._done: str | None = None  # the generation last handled
        self._pending: tuple[str, float, float] | None = None  # (name, first noticed, last changed)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._handled = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="index-watcher", daemon=True)

    def start(self) -> IndexWatcher:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def poke(self) -> None:
        """An index update happened in this process: look now rather than at the next poll."""
        self._wake.set()

    def wait_rounds(self, n: int, timeout: float = 30.0) -> bool:
        """Block until ``n`` generations were handled (for tests and the benchmark)."""
        with self._handled:
            return self._handled.wait_for(lambda: self.rounds >= n, timeout)

    def wait_looks(self, n: int, timeout: float = 30.0) -> bool:
        """Block until the watcher looked ``n`` times (the first look takes the baseline)."""
        with self._handled:
            return self._handled.wait_for(lambda: self.looks >= n, timeout)

    def check(self) -> bool:
        """One look: handle the live generation if it is new and settled; True when handled."""
        generation = self.generations.current()
        if generation is None or generation.name == self._done:
            self._pending = None
            return False
        if self._done is None:  # the first look after start: nothing to wait for
            self._handle(generation)
            return True
        now = self.clock()
        if self._pending is None or self._pending[0] != generation.name:
            first = self._pending[1] if self._pending is not None else now
            self._pending = (generation.name, first, now)
        _, first, last = self._pending
        if now - last < self.settle_s and now - first < self.max_settle_s:
            return False
        self._handle(generation)
        return True

    def _handle(self, generation: Generation) -> None:
        arrival = arrivals(generation.docs, self.store.seen_articles())
        if arrival.new or arrival.changed:
            logger.info("index generation %s: %d new and %d changed articles", generation.name,
                        len(arrival.new), len(arrival.changed))
        for listener in self.listeners:
            listener(arrival, generation)  # an exception leaves the round to be tried again
        self.store.remember_articles(arrival.hashes)
        self._done, self._pending = generation.name, None
        with self._handled:
            self.rounds += 1
            self._handled.notify_all()

    def _next_wait(self) -> float:
        if self._pending is None:
            return self.poll_s
        _, first, last = self._pending
        now = self.clock()
        due = min(last + self.settle_s, first + self.max_settle_s)
        return max(0.0, min(self.poll_s, due - now))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception:  # the state database or Slack failing: the next poll tries again
                logger.exception("handling an index update failed; trying again in %.1f s", self.poll_s)
                self._pending = None
            with self._handled:
                self.looks += 1
                self._handled.notify_all()
            self._wake.wait(self._next_wait() if self._pending is not None else self.poll_s)
            self._wake.clear()
