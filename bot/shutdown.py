"""Stopping without losing answers: SIGTERM (or SIGINT) stops taking new work, then the work already
taken is finished within a grace period.

``Drain`` holds the process's worker pools in the order they hand work on (Bolt's listeners, then
adds, then answering, then the Slack calls answers make). ``drain(grace_s)`` lets each finish what
it runs and what is queued; what is still running when the grace period ends stays pending in the
state store, and the next start-up answers it (bot/recovery.py). ``exit_now`` then ends the
process at once: waiting for those threads at interpreter exit would overrun the grace period.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager
from types import FrameType

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def process_owner() -> str:
    """Who answers a pending question: "host:pid:start" of this process (bot/recovery.py takes over
    the questions of owners that are gone; a restarted container may have the same pid again)."""
    return f"{socket.gethostname().replace(':', '-')}:{os.getpid()}:{time.time_ns() // 1_000_000}"


def start_threads(pool: ThreadPoolExecutor, timeout_s: float = 5.0) -> None:
    """Start all of ``pool``'s threads at once. A pool starts a thread per task until it has its
    ``max_workers``; the first burst after a start otherwise pays for ~40 thread starts while its
    requests wait (bench_replicas: the first burst's ack p95 was the run's highest)."""
    n = pool._max_workers  # the standard library's own field: no public accessor
    ready = threading.Barrier(n + 1)

    def wait() -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            ready.wait(timeout_s)

    for _ in range(n):
        pool.submit(wait)
    with contextlib.suppress(threading.BrokenBarrierError):
        ready.wait(timeout_s)


class Drain:
    """The worker pools to finish when stopping, in the order work is handed on."""

    def __init__(self) -> None:
        self._pools: list[Executor] = []

    def add(self, *pools: Executor) -> None:
        self._pools.extend(pools)

    def start_threads(self) -> None:
        """Start every pool's threads now (``start_threads``), not one by one in the first burst."""
        for pool in self._pools:
            if isinstance(pool, ThreadPoolExecutor):
                start_threads(pool)

    def __call__(self, grace_s: float) -> bool:
        """Finish every pool's running and queued work, for at most ``grace_s``; True when all finished."""
        finished = threading.Event()

        def shut() -> None:
            for pool in self._pools:
                pool.shutdown(wait=True)
            finished.set()

        started = time.monotonic()
        threading.Thread(target=shut, name="drain", daemon=True).start()
        if finished.wait(grace_s):
            logger.info("drained in %.1f s", time.monotonic() - started)
            return True
        logger.warning("not drained within %.0f s; what is left stays pending for the next start", grace_s)
        return False


@contextmanager
def stop_signals(on_stop: Callable[[], None]) -> Iterator[None]:
    """While inside, SIGTERM and SIGINT call ``on_stop`` (in the main thread only, where signals arrive)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(sig: int, frame: FrameType | None) -> None:
        logger.info("received %s: stopping", signal.Signals(sig).name)
        on_stop()

    previous = {sig: signal.signal(sig, handle) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def exit_now(code: int = 0) -> None:
    """End the process without waiting for worker threads (their questions stay pending)."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
