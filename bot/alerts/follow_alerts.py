"""Follow alerts: when new articles name a followed company or term, each follower gets one
message listing them (a DM for a person, a post for a channel), never the same article twice.

Every (follower, article) pair is claimed in the alert log before the message goes out. A post
that fails for a passing reason gives its claims back and raises, so the watcher retries the round;
one that fails for good (the channel is gone, the bot was removed) keeps them and is logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from slack_sdk.errors import SlackApiError

from bot.alerts.generations import Arrival, Generation
from bot.alerts.render import ArticleItem, follow_alert_message
from bot.alerts.terms import Term, mention_span, resolve
from bot.render import Message
from bot.state.protocols import AlertLog, Follows
from bot.state.records import alert_key
from retrieval.glossary import Glossary
from retrieval.index import DocumentRecord
from retrieval.text import detect_language

logger = logging.getLogger(__name__)

# Slack errors that retrying will not fix: the alert is given up (and logged), not retried.
PERMANENT_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived", "user_not_found",
                              "account_inactive", "cannot_dm_bot", "user_disabled", "restricted_action"})
Post = Callable[[str, Message], None]  # (channel or user id, message)


class FollowState(Follows, AlertLog, Protocol):
    """The follows to match and the log that makes each alert go out once."""


@dataclass
class _Pending:
    follower: str
    language: str
    terms: list[str] = field(default_factory=list)
    items: dict[str, ArticleItem] = field(default_factory=dict)  # by article path


class FollowAlerts:
    """An ``IndexWatcher`` listener."""

    def __init__(self, *, store: FollowState, post: Post, glossary: Callable[[], Glossary],
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.post = post
        self.glossary = glossary
        self.clock = clock

    def __call__(self, arrival: Arrival, generation: Generation) -> None:
        if not arrival.new:
            return  # an edited article is not news to its followers
        follows = self.store.all_follows()
        if not follows:
            return
        glossary = self.glossary()
        pending: dict[tuple[str, str], _Pending] = {}
        for follow in follows:
            term = resolve(follow.term, glossary)
            for doc in arrival.new:
                item = _item(doc, term)
                if item is None:
                    continue
                entry = pending.setdefault((follow.team, follow.follower),
                                           _Pending(follow.follower, detect_language(follow.term)))
                if follow.term not in entry.terms:
                    entry.terms.append(follow.term)
                entry.items.setdefault(item.path, item)
        failures = [err for entry in pending.values() if (err := self._deliver(entry)) is not None]
        if failures:
            raise failures[0]

    def _deliver(self, entry: _Pending) -> Exception | None:
        now = self.clock()
        claimed = [item for path, item in entry.items.items()
                   if self.store.claim_alert(alert_key("follow", entry.follower, path), recipient=entry.follower, now=now)]
        if not claimed:
            return None
        try:
            self.post(entry.follower, follow_alert_message(entry.terms, claimed, entry.language))
            logger.info("follow alert to %s: %d article(s)", entry.follower, len(claimed))
            return None
        except SlackApiError as err:
            code = str(err.response.get("error", "")) if err.response is not None else ""
            if code in PERMANENT_ERRORS:
                logger.warning("follow alert to %s not delivered (%s); not retried", entry.follower, code)
                return None
            failure: Exception = err
        except Exception as err:  # connection errors, 429 after the client's retries
            failure = err
        for item in claimed:
            self.store.release_alert(alert_key("follow", entry.follower, item.path))
        logger.warning("follow alert to %s failed (%s); the next round retries it", entry.follower, type(failure).__name__)
        return failure


def _item(doc: DocumentRecord, term: Term) -> ArticleItem | None:
    """The article as a follow alert lists it, when it names ``term`` (in its text or title)."""
    text, title = str(doc.get("text", "")), str(doc.get("title", ""))
    span = mention_span(text, term)
    if span is None and mention_span(title, term) is None:
        return None
    return ArticleItem(path=str(doc["path"]), title=title or str(doc["path"]), url=str(doc.get("url", "")),
                       outlet=str(doc.get("outlet", "")), published=str(doc.get("published", ""))[:10],
                       excerpt=text[span[0]:span[1]] if span else "")

