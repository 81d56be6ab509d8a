"""What the HTTP endpoint checks before Bolt sees a request: its size, Slack's signature, its body.

Bolt verifies signatures too, but only after decoding and parsing the body (so a malformed unsigned
body was a 500 with a traceback, as was a non-numeric timestamp), and it logs the whole body of
every request that fails verification at INFO: up to 1 MiB of anyone's text, newlines included.
Here the raw bytes are checked first. Too large is 413, unverified is 401, signed but unusable
(not UTF-8, not JSON, not an object) is 400; a refusal is logged as one line without the body, and
a flood of them as one line a minute with a count.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt.request.internals import parse_body

from retrieval.logsafe import loggable

logger = logging.getLogger(__name__)

# Slack's payloads are a few KB (a block_actions payload carries the whole message, still far below
# this); anything larger is refused before it is buffered and before the signature check.
MAX_BODY_BYTES = 1 << 20
MAX_AGE_S = 300  # Slack's rule: a request timestamp older than five minutes is a replay
LOG_EVERY_S = 60.0

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


@dataclass(frozen=True)
class Refusal:
    status: int  # 400, 401 or 413
    reason: str  # for the log; never contains the request's own text


class BodyTooLarge(Exception):
    """The body grew past MAX_BODY_BYTES while it was being received."""


async def read_body(receive: Receive, *, limit: int = MAX_BODY_BYTES) -> bytes | None:
    """The whole request body (None if the client went away first), or BodyTooLarge as soon as it
    passes ``limit``, whether it was sent chunked or with a Content-Length."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"body larger than {limit:,} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def check_request(raw: bytes, headers: Mapping[str, str], *, secret: str, now: float | None = None) -> Refusal | None:
    """None when ``raw`` is signed by ``secret`` and is a body Bolt can use (or is Slack's unsigned
    SSL check, which Bolt answers 200 without running anything); else why not."""
    if _is_ssl_check(raw, headers):
        return None
    unverified = _signature_problem(raw, headers, secret, time.time() if now is None else now)
    if unverified:
        return Refusal(401, unverified)
    unusable = _body_problem(raw, headers)
    return Refusal(400, unusable) if unusable else None


def _is_ssl_check(raw: bytes, headers: Mapping[str, str]) -> bool:
    """``ssl_check=1`` as a form (Slack checks a slash command's certificate with it, unsigned)."""
    if headers.get("content-type", "").split(";")[0] != "application/x-www-form-urlencoded" or len(raw) > 1000:
        return False
    form = dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True))
    return form.get("ssl_check") == "1" and "payload" not in form


def _signature_problem(raw: bytes, headers: Mapping[str, str], secret: str, now: float) -> str:
    timestamp = headers.get("x-slack-request-timestamp", "")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return "no valid X-Slack-Request-Timestamp"
    if abs(now - int(timestamp)) > MAX_AGE_S:
        return "X-Slack-Request-Timestamp is more than 5 minutes off"
    expected = "v0=" + hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
    given = headers.get("x-slack-signature", "").encode("latin-1", errors="replace")
    return "" if hmac.compare_digest(expected.encode(), given) else "bad X-Slack-Signature"


def _body_problem(raw: bytes, headers: Mapping[str, str]) -> str:
    try:
        text = raw.decode("utf-8")
        for value in headers.values():
            value.encode("latin-1").decode("utf-8")  # Bolt decodes every header as UTF-8
    except UnicodeDecodeError:
        return "body or a header is not UTF-8"
    content_type = headers.get("content-type", "").split(";")[0] or None
    try:
        payload = parse_body(text, content_type)  # Bolt's own rule: JSON, or a form with a JSON payload
    except (ValueError, RecursionError):
        return "body is not valid JSON"
    return "" if isinstance(payload, dict) else "body is not a JSON object"


def header_map(scope: Mapping[str, Any]) -> dict[str, str]:
    """The request headers, names lower-cased, values as sent (latin-1, so any byte decodes)."""
    return {bytes(k).decode("latin-1").lower(): bytes(v).decode("latin-1") for k, v in scope.get("headers", [])}


class RefusalLog:
    """One warning line per refused request, at most one every ``every_s`` (the rest are counted
    into the next line), so that a flood of refused requests cannot flood the log."""

    def __init__(self, *, every_s: float = LOG_EVERY_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.every_s = every_s
        self.clock = clock
        self.last = -math.inf
        self.unlogged = 0

    def note(self, refusal: Refusal, client: str) -> None:
        now = self.clock()
        if now - self.last < self.every_s:
            self.unlogged += 1
            return
        kind = {401: "an unverified request", 400: "a signed request with an unusable body"}.get(
            refusal.status, "an oversized request")
        more = f"; {self.unlogged} more refused since the previous such line" if self.unlogged else ""
        logger.warning("refused %s from %s: HTTP %d, %s (bodies are not logged%s)", kind, loggable(client),
                       refusal.status, refusal.reason, more)
        self.last, self.unlogged = now, 0
