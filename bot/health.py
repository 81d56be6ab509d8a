"""``/healthz``, ``/readyz`` and ``/metrics``: whether the process is alive, whether it can answer,
and what it has done.

Ready means all three: the index is loaded (loading it now if the indexer has just finished), the
state database answers, and Slack accepts the bot token (``auth.test``, re-asked at most once a
minute). A check that fails makes ``/readyz`` answer 503 with a short reason per check: class names
and fixed words, never paths, URLs or tokens (the log line has the detail).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import metrics
from bot.state.protocols import Maintenance

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"
AUTH_TTL_S = 60.0  # auth.test is asked again at most this often

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class Readiness:
    def __init__(self, *, load_index: Callable[[], object] | None, store: Maintenance, client: WebClient,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.load_index = load_index  # None: the answerer has no index of its own (a test double)
        self.store = store
        self.client = client
        self.clock = clock
        self._auth_ok_until = 0.0
        self._lock = threading.Lock()
        self._last: dict[str, str] = {}

    def check(self) -> dict[str, str]:
        """``{"index": "ok" | reason, "state": ..., "slack": ...}``; ready when every value is "ok"."""
        checks = {"index": self._index(), "state": self._state(), "slack": self._slack()}
        with self._lock:
            for name, status in checks.items():
                if self._last.get(name, "ok") != status:
                    logger.log(logging.INFO if status == "ok" else logging.WARNING, "readiness: %s %s", name, status)
            self._last = checks
        return checks

    def _index(self) -> str:
        if self.load_index is None:
            return "ok"
        try:
            self.load_index()
        except Exception as err:  # missing, damaged or built with another model: the log says which
            logger.debug("index not loaded", exc_info=True)
            return f"not loaded ({type(err).__name__})"
        return "ok"

    def _state(self) -> str:
        try:
            self.store.ping()
        except Exception as err:
            return f"unreachable ({type(err).__name__})"
        return "ok"

    def _slack(self) -> str:
        if self.clock() < self._auth_ok_until:
            return "ok"
        try:
            self.client.auth_test()
        except SlackApiError as err:
            return f"auth failed ({err.response.get('error') if err.response is not None else 'unknown'})"
        except Exception as err:
            return f"unreachable ({type(err).__name__})"
        self._auth_ok_until = self.clock() + AUTH_TTL_S
        return "ok"


class HealthRoutes:
    """The three GET endpoints as an ASGI app; ``handles(scope)`` says whether a request is theirs."""

    def __init__(self, readiness: Readiness | None) -> None:
        self.readiness = readiness  # None: /readyz answers like /healthz (nothing to check)

    @staticmethod
    def handles(scope: Scope) -> bool:
        return (scope["type"] == "http" and scope["method"] in ("GET", "HEAD")
                and scope["path"] in (HEALTH_PATH, READY_PATH, METRICS_PATH))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.handles(scope):
            await _respond(send, 404, b"Not found", "text/plain", head=False)
            return
        head = scope["method"] == "HEAD"
        if scope["path"] == METRICS_PATH:
            await _respond(send, 200, metrics.exposition(), metrics.CONTENT_TYPE, head=head)
            return
        status = 200
        body: dict[str, object] = {"ok": True}
        if scope["path"] == READY_PATH and self.readiness is not None:
            checks = await asyncio.get_running_loop().run_in_executor(None, self.readiness.check)
            ready = all(v == "ok" for v in checks.values())
            status, body = (200 if ready else 503), {"ok": ready, "checks": checks}
        await _respond(send, status, json.dumps(body).encode(), "application/json", head=head)


async def _respond(send: Send, status: int, body: bytes, content_type: str, *, head: bool) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})
