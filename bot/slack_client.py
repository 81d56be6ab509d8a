"""The Web API client: retries on HTTP 429 (honouring ``Retry-After``), on 500/503 and on connection
errors, and counts the calls that still fail (``industry_qa_slack_api_errors``).

Posting a message is the exception: a 5xx or a dropped connection may come after Slack posted it,
so ``bot.delivery`` retries posts itself, after looking for the message in the thread.
"""

from __future__ import annotations

import logging
import select
import socket
import ssl
import threading
from collections import OrderedDict
from collections.abc import Callable
from http.client import HTTPConnection, HTTPSConnection
from io import BytesIO
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request

from slack_bolt import BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web import SlackResponse

from bot.config import Settings
from bot.metrics import SLACK_API_ERRORS

RATE_LIMIT_RETRIES = 3  # Retry-After is usually a few seconds; give up after three waits
CONNECTION_ERROR_RETRIES = 2
SERVER_ERROR_RETRIES = 2
POSTING_METHODS = ("chat.postMessage", "chat.postEphemeral")  # not idempotent: retried by bot.delivery
KEPT_PER_THREAD = 4  # open connections a thread keeps (the bot talks to one Web API host)


def _posting(request: HttpRequest) -> bool:
    return request.url.rstrip("/").endswith(POSTING_METHODS)


class ServerErrorRetry(ServerErrorRetryHandler):
    """500 and 503 are tried again, except for posting methods."""

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:
        return not _posting(request) and super()._can_retry(state=state, request=request, response=response, error=error)


class ConnectionErrorRetry(ConnectionErrorRetryHandler):
    """Connection errors are tried again, except for posting methods."""

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:
        return not _posting(request) and super()._can_retry(state=state, request=request, response=response, error=error)

logger = logging.getLogger(__name__)


_kept = threading.local()  # each thread's open connections, by (scheme, host:port, TLS context)


def _dropped(sock: socket.socket) -> bool:
    """An idle kept connection with something to read has been closed by the server (or is out of
    step): it is not reused."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _connection(scheme: str, netloc: str, timeout: float, context: ssl.SSLContext | None) -> HTTPConnection:
    """This thread's open connection to ``netloc``, or a new one (the oldest beyond KEPT_PER_THREAD closed)."""
    conns: OrderedDict[tuple[str, str, int], HTTPConnection] = _kept.__dict__.setdefault("conns", OrderedDict())
    key = (scheme, netloc, id(context))
    conn = conns.pop(key, None)
    if conn is not None and (conn.sock is None or _dropped(conn.sock)):
        conn.close()
        conn = None
    if conn is None:
        conn = HTTPSConnection(netloc, timeout=timeout, context=context) if scheme == "https" \
            else HTTPConnection(netloc, timeout=timeout)
    elif conn.sock is not None:
        conn.sock.settimeout(timeout)
    conns[key] = conn
    while len(conns) > KEPT_PER_THREAD:
        conns.popitem(last=False)[1].close()
    return conn


class CountingWebClient(WebClient):
    """Every Web API method goes through ``api_call``: a failure there is counted by method and
    Slack's error code (or the exception's class), then raised as before. Bolt hands each request a
    plain copy of the app's client; ``counting_client`` (a middleware) swaps in one of these.

    Calls reuse their thread's HTTP/1.1 connection to the Web API (slack_sdk's own transport opens
    a connection, and over HTTPS a TLS session, for every call). What the caller sees is what
    slack_sdk's transport gives (urllib's): the response as a dict, ``HTTPError`` for an error
    status, ``URLError`` when the request could not be sent, the connection's own error (say
    ``RemoteDisconnected``) when no response came; its retry handlers and ``bot.delivery`` act on
    those. A proxy, when configured, goes through slack_sdk's transport."""

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        parts = urlsplit(url)
        if self.proxy is not None or parts.scheme not in ("http", "https"):
            return super()._perform_urllib_http_request_internal(url, req)  # type: ignore[no-any-return]
        conn = _connection(parts.scheme, parts.netloc, self.timeout, self.ssl)
        try:
            try:
                conn.request(req.get_method(), parts.path + (f"?{parts.query}" if parts.query else ""),
                             body=req.data, headers=dict(req.header_items()))
            except OSError as err:  # as urllib: the request could not be sent
                raise URLError(err) from err
            resp = conn.getresponse()  # as urllib: a failure from here on is raised as it is
            body = resp.read()
        except BaseException:
            conn.close()
            raise
        if resp.will_close:
            conn.close()
        if not 200 <= resp.status < 300:
            raise HTTPError(url, resp.status, resp.reason, resp.headers, BytesIO(body))
        if resp.headers.get_content_type() == "application/gzip":
            return {"status": resp.status, "headers": resp.headers, "body": body}
        return {"status": resp.status, "headers": resp.headers, "body": body.decode(resp.headers.get_content_charset() or "utf-8")}

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        try:
            return super().api_call(api_method, **kwargs)
        except SlackApiError as err:
            code = err.response.get("error") if err.response is not None else None
            SLACK_API_ERRORS.labels(method=api_method, error=str(code or "unknown")).inc()
            raise
        except Exception as err:
            SLACK_API_ERRORS.labels(method=api_method, error=type(err).__name__).inc()
            raise


def counting_client(context: BoltContext, next: Callable[[], None]) -> None:
    """Global middleware: the request's client (what listeners get as ``client``), counting failures."""
    client = context.client
    if client is not None and not isinstance(client, CountingWebClient):
        context["client"] = CountingWebClient(
            token=client.token, base_url=client.base_url, timeout=client.timeout, ssl=client.ssl, proxy=client.proxy,
            headers=client.headers, team_id=context.team_id, logger=client.logger, retry_handlers=client.retry_handlers,
        )
    next()


def build_web_client(settings: Settings) -> WebClient:
    """A ``WebClient`` for the bot token; ``SLACK_API_URL`` overrides the base URL (tests, proxies)."""
    return CountingWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url or WebClient.BASE_URL,
        timeout=settings.slack_api_timeout_s,
        logger=logger,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
            ServerErrorRetry(max_retry_count=SERVER_ERROR_RETRIES),
            ConnectionErrorRetry(max_retry_count=CONNECTION_ERROR_RETRIES),
        ],
    )
