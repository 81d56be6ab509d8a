"""Notice a newer index generation (built by this process or another) before answering.

``os.replace`` gives ``index/CURRENT`` a new inode on every swap, so one ``stat`` per question is
enough to notice `industry-qa add`, a feed round or `industry-qa index` in another process; the new
generation is loaded completely before it replaces the old one, so a reader never sees half of it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Protocol

from .errors import RetrievalError

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 30.0  # a generation that failed to load is tried again after this long


class Reloadable(Protocol):
    def reload(self) -> bool: ...


class FreshnessCheck:
    def __init__(self, index_dir: Path, *, retry_after_s: float = RETRY_AFTER_S) -> None:
        self.pointer = index_dir / "CURRENT"
        self.retry_after_s = retry_after_s
        self._lock = threading.Lock()
        self._seen = self._stamp()
        self._retry_at: float | None = None  # set while the generation CURRENT names failed to load

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.pointer)
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def reload_if_stale(self, service: Reloadable) -> bool:
        """Call ``service.reload()`` when CURRENT changed since the last look; True when reloaded.
        A failing reload (a damaged or already pruned generation) keeps the loaded index, is logged,
        and is retried after ``retry_after_s``."""
        stamp = self._stamp()
        with self._lock:
            retry = self._retry_at is not None and time.monotonic() >= self._retry_at
            if stamp is None or (stamp == self._seen and not retry):
                return False
            self._seen, self._retry_at = stamp, None
        try:
            return service.reload()
        except (RetrievalError, OSError, ValueError) as err:
            with self._lock:
                self._retry_at = time.monotonic() + self.retry_after_s
            logger.warning("a newer index was not loaded (%s); still answering from the loaded one", err)
            return False
