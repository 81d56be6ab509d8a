"""The Web API client: retries on HTTP 429 (honouring ``Retry-After``) and on connection errors."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bot.config import Settings

RATE_LIMIT_RETRIES = 3  # Retry-After is usually a few seconds; give up after three waits
CONNECTION_ERROR_RETRIES = 2

logger = logging.getLogger(__name__)


def build_web_client(settings: Settings) -> WebClient:
    """A ``WebClient`` for the bot token; ``SLACK_API_URL`` overrides the base URL (tests, proxies)."""
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url or WebClient.BASE_URL,
        timeout=settings.slack_api_timeout_s,
        logger=logger,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
            ConnectionErrorRetryHandler(max_retry_count=CONNECTION_ERROR_RETRIES),
        ],
    )
