"""Worker pools start all their threads with the bot (bot/shutdown.py ``start_threads``), so the first
burst after a start does not wait for them one task at a time."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bot.logs import ContextPool
from bot.server import ThreadedSlackRequestHandler
from bot.shutdown import start_threads


def test_start_threads_starts_every_thread_and_leaves_the_pool_idle() -> None:
    for pool in (ThreadPoolExecutor(max_workers=7), ContextPool(max_workers=3)):
        assert len(pool._threads) == 0
        start_threads(pool)
        assert len(pool._threads) == pool._max_workers
        assert all(t.is_alive() for t in pool._threads)
        # every thread is free again: as many tasks as threads run at once
        together = threading.Barrier(pool._max_workers)
        futures = [pool.submit(together.wait, 5) for _ in range(pool._max_workers)]
        assert sorted(f.result(10) for f in futures) == list(range(pool._max_workers))
        pool.shutdown(wait=True)


def test_a_started_bot_has_its_pools_threads(make_bot: Any, qa_service: Any) -> None:
    bot = make_bot(answerer=qa_service)
    pools = bot.bot.drain._pools
    assert pools and all(len(p._threads) == p._max_workers for p in pools if isinstance(p, ThreadPoolExecutor))
    handler = ThreadedSlackRequestHandler(bot.bot.app)
    assert len(handler._executor._threads) == handler._executor._max_workers
    handler._executor.shutdown()
