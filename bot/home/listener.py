"""``app_home_opened`` -> ``views.publish``: the Home tab from what is already known. Nothing here
scans the corpus or asks a model: the corpus part is ``HomeSummary.current`` (kept per index
generation), the person's part three indexed reads of the state store, and the feed round one small
file. The team's URL for permalinks is asked of Slack once (``auth.test``) and kept.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.home.summary import HomeSummary
from bot.home.view import HomeData, RecentQuestion, home_view
from bot.state.protocols import Follows, SavedQuestions, UserQuestions
from bot.state.records import StoredQuestion
from retrieval.feeds import last_round
from retrieval.settings import RetrievalSettings

logger = logging.getLogger(__name__)

RECENT = 5
NextDigest = Callable[[datetime], "tuple[str, datetime] | None"]  # now -> (channel, local time) of the next post


class HomeState(UserQuestions, Follows, SavedQuestions, Protocol):
    """The person's questions, follows and watched answers."""


class HomeTab:
    def __init__(self, *, store: HomeState, summary: HomeSummary, retrieval: RetrievalSettings,
                 next_digest: NextDigest) -> None:
        self.store = store
        self.summary = summary
        self.retrieval = retrieval
        self.next_digest = next_digest
        self._team_url: str | None = None
        self._lock = threading.Lock()

    def data(self, client: WebClient, *, team: str, user: str) -> HomeData:
        recent = self.store.questions_of(team=team, user=user, limit=RECENT)
        base = self._base_url(client)
        return HomeData(
            language=recent[0].record.language if recent else "en",
            summary=self.summary.current,
            feeds_configured=bool(self.retrieval.ingest.feeds),
            last_round=last_round(self.retrieval),
            next_digest=self.next_digest(datetime.now(UTC)),
            recent=[_recent(q, base) for q in recent],
            follows=[f.term for f in self.store.follows_of(team=team, follower=user)],
            watching=len(self.store.saved_of(team=team, user=user)),
        )

    def _base_url(self, client: WebClient) -> str:
        """The workspace URL ("https://acme.slack.com/"), asked once; "" when Slack would not say."""
        with self._lock:
            if self._team_url is None:
                try:
                    self._team_url = str(client.auth_test().get("url") or "")
                except SlackApiError as err:
                    logger.warning("auth.test failed; App Home shows questions without links: %s",
                                   err.response.get("error") if err.response else err)
                    self._team_url = ""
            return self._team_url


def _recent(q: StoredQuestion, base: str) -> RecentQuestion:
    r = q.record
    link = f"{base}archives/{r.channel}/p{r.thread_ts.replace('.', '')}" if base and r.thread_ts and r.channel else ""
    return RecentQuestion(text=r.question, link=link, day=datetime.fromtimestamp(q.created_at, UTC).date().isoformat())


def register_home(app: App, home: HomeTab) -> None:
    @app.event("app_home_opened")
    def on_home(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        if event.get("tab") != "home":
            return  # the Messages tab: the assistant and DMs handle what is written there
        user = str(event.get("user", ""))
        try:
            view = home_view(home.data(client, team=context.team_id or "", user=user))
            client.views_publish(user_id=user, view=view)
        except Exception:  # the tab keeps its last view; the next open tries again
            logger.exception("could not publish App Home for %s", user)
