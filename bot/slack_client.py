"""The Web API client: retries on HTTP 429 (honouring ``Retry-After``), on 500/503 and on connection
errors, and counts the calls that still fail (``industry_qa_slack_api_errors``).

Posting a message is the exception: a 5xx or a dropped connection may come after Slack posted it,
so ``bot.delivery`` retries posts itself, after looking for the message in the thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

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


class CountingWebClient(WebClient):
    """Every Web API method goes through ``api_call``: a failure there is counted by method and
    Slack's error code (or the exception's class), then raised as before. Bolt hands each request a
    plain copy of the app's client; ``counting_client`` (a middleware) swaps in one of these."""

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
