"""Feed polling while ``industry-qa serve`` runs: a feed round at start-up, then every
FEED_POLL_MINUTES, on one background thread. New articles are visible to the bot's next answer
(the answerer notices the new index generation); each round logs what it added, skipped and why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.background import Periodic
from bot.metrics import FEED_ITEMS
from retrieval.settings import RetrievalSettings

if TYPE_CHECKING:
    from retrieval.feeds import PollResult

logger = logging.getLogger(__name__)

FIRST_ROUND_DELAY_S = 5.0  # let the app connect to Slack first


class FeedPoller(Periodic):
    def __init__(self, settings: RetrievalSettings, *, interval_s: float | None = None,
                 first_delay_s: float = FIRST_ROUND_DELAY_S, poll: Callable[[], PollResult | None] | None = None,
                 on_round: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self._poll = poll or self._round
        self.on_round = on_round  # tells the index watcher (alerts, App Home) to look now
        super().__init__(self._count, name="feed-poller", first_delay_s=first_delay_s,
                         every_s=interval_s if interval_s is not None else settings.ingest.feed_poll_minutes * 60.0)

    def _count(self) -> None:
        result = self._poll()
        for outcome in result.ingest.outcomes if result is not None else ():
            FEED_ITEMS.labels(outcome=outcome.status).inc()
        if self.on_round is not None:
            self.on_round()

    def _round(self) -> PollResult:
        from retrieval.feeds import poll_feeds

        result = poll_feeds(self.settings)  # logs one line per feed and per item
        logger.info("feed round: %d added, %d failed, %d feeds failed, %.1fs", len(result.ingest.added),
                    len(result.ingest.failed), result.feed_failures, result.seconds)
        return result


def start_feed_poller(settings: RetrievalSettings, *, on_round: Callable[[], None] | None = None) -> FeedPoller | None:
    """None while FEEDS is empty."""
    if not settings.ingest.feeds:
        return None
    logger.info("following %d feeds every %d min", len(settings.ingest.feeds), settings.ingest.feed_poll_minutes)
    return FeedPoller(settings, on_round=on_round).start()
