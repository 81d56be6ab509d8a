"""Progress of a long run (embedding a large corpus can take hours): done, rate, time left."""

from __future__ import annotations

import time
from collections.abc import Callable


def timed_reporter(total: int, progress: Callable[[str], None] | None, every_s: float = 2.0) -> Callable[[int, int], None]:
    """A progress callback that says, at most every ``every_s`` seconds and at the end, how many of
    ``total`` texts are done, how fast the embedder goes and when it will finish."""
    t0 = time.perf_counter()
    last = [0.0]

    def report(done: int, embedded: int) -> None:
        now = time.perf_counter()
        if progress is None or (now - last[0] < every_s and done < total):
            return
        last[0] = now
        rate = done / max(now - t0, 1e-9)
        eta = (total - done) / rate if rate > 0 else 0.0
        progress(f"embedding: {done:,}/{total:,} texts ({embedded:,} new to the model, the rest from the cache), "
                 f"{rate:,.0f} texts/s, ETA {_duration(eta)}")

    return report


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"
