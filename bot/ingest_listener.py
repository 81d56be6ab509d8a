"""``@bot add <url>`` (also in a DM) and the message shortcut "Add to corpus".

The article is fetched, stored and indexed by ``retrieval.ingest``; the reply names its title and
date, or gives the one-line reason it was not added. Who may add is ``ADD_ALLOWED_USERS`` (empty:
anyone). The answerer notices the new index generation before its next answer.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.add_progress import AddProgress
from bot.delivery import Delivery
from bot.handler import WORKING_REACTION, Respond
from bot.listeners import is_ignored, strip_mention
from bot.render import Message, escape_mrkdwn, notice_message
from bot.state.protocols import EventClaims
from bot.state.records import message_key
from bot.state_alarm import StateAlarm
from bot.texts import TEXTS, t
from retrieval.logsafe import loggable
from retrieval.text import detect_language

if TYPE_CHECKING:
    from retrieval.ingest import IngestResult, Outcome

logger = logging.getLogger(__name__)

ADD_SHORTCUT = "add_to_corpus"
MAX_URLS = 5  # per message: a pasted list of links is fine, a page of them is not
# retrieval.ingest.ingest_urls with its settings bound: (urls, progress=None) -> IngestResult
Ingest = Callable[..., "IngestResult"]

_ADD = re.compile(r"^add\b\s*(.*)$", re.I | re.S)
_SLACK_LINK = re.compile(r"<(https?://[^|>\s]+)(?:\|[^>]*)?>")
_BARE_URL = re.compile(r"(?<![<|])\bhttps?://[^\s<>|]+")


def links_in(text: str) -> list[str]:
    """URLs in Slack message text: ``<url|label>``, ``<url>`` or bare; in order, without repeats."""
    found = [m.group(1) for m in _SLACK_LINK.finditer(text)]
    found += _BARE_URL.findall(_SLACK_LINK.sub(" ", text))
    return list(dict.fromkeys(u.replace("&amp;", "&") for u in found))


def add_command_urls(text: str) -> list[str] | None:
    """The URLs of an ``add <url> ...`` message (mention already removed); None if it is not one."""
    m = _ADD.match(text.strip())
    if not m:
        return None
    urls = links_in(m.group(1))
    return urls or None


def reply_text(result: IngestResult, language: str = "en") -> str:
    lines = []
    for o in result.outcomes:
        lines.append(_line(o, language))
    return "\n".join(lines) or t("add_nothing", language)


def request_language(text: str) -> str:
    """The language of the words around the links (``add <url>`` alone is English)."""
    return detect_language(_BARE_URL.sub(" ", _SLACK_LINK.sub(" ", text)))


def _line(o: Outcome, language: str) -> str:
    url = escape_mrkdwn(o.url)
    if o.status == "added":
        when = f" ({escape_mrkdwn(o.published)})" if o.published else ""
        return t("add_added", language, url=url, title=escape_mrkdwn(o.title), when=when)
    key = "add_known" if o.status in ("duplicate", "alias") else "add_failed"
    return t(key, language, url=url, reason=outcome_reason(o, language))


def outcome_reason(o: Outcome, language: str) -> str:
    """Why ``o`` was not added, from its code and values (escaped for mrkdwn)."""
    key = f"add_reason_{o.code}"
    if key not in TEXTS:
        logger.warning("no words for the add outcome code %r", o.code)
        key = "add_reason_unknown"
    values = {k: escape_mrkdwn(v) if isinstance(v, str) else v for k, v in o.values.items()}
    reason = t(key, language, path=escape_mrkdwn(o.path), **values)
    return reason + t("add_alias_recorded", language) if o.alias_recorded else reason


class IngestHandler:
    def __init__(self, *, ingest: Ingest, store: EventClaims, allowed_users: frozenset[str],
                 on_indexed: Callable[[], None] | None = None, alarm: StateAlarm | None = None) -> None:
        self.ingest = ingest
        self.store = store
        self.allowed_users = allowed_users
        self.on_indexed = on_indexed  # tells the index watcher (alerts, App Home) to look now
        self.alarm = alarm if alarm is not None else StateAlarm()
        # Adds take seconds (fetch, embed): off the listener threads, one at a time (they share a lock anyway).
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bot-ingest")

    def may_add(self, user: str) -> bool:
        return not self.allowed_users or user in self.allowed_users

    def run(self, urls: list[str], user: str, post: Callable[[Message], None], language: str = "en", *,
            progress: AddProgress | None = None, notify: Callable[[Message], None] | None = None) -> None:
        """Every path ends in a reply: added, already there, refused, or why it failed. With
        ``progress``, a long add shows how far it got, and the reply replaces that notice; refusals
        go to ``notify`` (the asker alone) when given."""
        try:
            if not self.may_add(user):
                (notify or post)(notice_message(t("add_not_allowed", language)))
                return
            if len(urls) > MAX_URLS:
                post(notice_message(t("add_too_many", language, limit=MAX_URLS)))
                return
            result = self.ingest(urls) if progress is None else self.ingest(urls, progress=progress)
            if result.added and self.on_indexed is not None:
                self.on_indexed()
            if progress is None:
                post(notice_message(reply_text(result, language)))
            else:
                progress.finish(notice_message(reply_text(result, language)))
        except Exception:
            logger.exception("adding %s failed", loggable(urls))
            _post_safely(post, notice_message(t("add_error", language)))

    def on_message(self, event: Mapping[str, Any], context: BoltContext, client: WebClient) -> None:
        team, channel, ts = context.team_id or "", str(event.get("channel", "")), str(event.get("ts", ""))
        text = strip_mention(str(event.get("text") or ""), context.bot_user_id)
        urls, language = add_command_urls(text) or [], request_language(text)
        thread_ts = str(event.get("thread_ts") or ts)
        user = str(event.get("user", ""))
        delivery = Delivery(client, channel=channel, thread_ts=thread_ts, key=message_key(team, channel, ts),
                            user=user, since_ts=ts)

        def post(message: Message) -> None:
            delivery.post(message)

        try:
            if not self.store.claim(message_key(team, channel, ts)):
                return  # redelivered, or seen as both app_mention and message
        except Exception as err:  # the state database failing: say so rather than risk adding twice
            self.alarm.failed(err)
            _post_safely(delivery.notify, notice_message(t("state_unavailable", language)))
            return
        self.alarm.ok()

        def job() -> None:
            # the working indicator: an add can wait for a feed round that holds the index lock
            working = self.may_add(user) and _react(client, "reactions_add", channel, ts)
            progress = AddProgress(client, channel=channel, thread_ts=thread_ts, language=language, post=post)
            try:
                self.run(urls, user, post, language, progress=progress, notify=delivery.notify)
            finally:
                if working:
                    _react(client, "reactions_remove", channel, ts)

        self.pool.submit(job)


def register_ingest(app: App, handler: IngestHandler) -> Callable[[dict[str, Any], BoltContext, WebClient], bool]:
    """Register before the question listeners: Bolt runs the first listener that matches. Returns
    the route the assistant panel uses for messages Bolt gives it (True when it was an add)."""

    def is_add(event: dict[str, Any], context: BoltContext) -> bool:
        if is_ignored(event, bot_user_id=context.bot_user_id):
            return False
        return add_command_urls(strip_mention(str(event.get("text") or ""), context.bot_user_id)) is not None

    def is_dm_add(event: dict[str, Any], context: BoltContext) -> bool:
        return event.get("channel_type") == "im" and is_add(event, context)

    app.event("app_mention", matchers=[is_add])(handler.on_message)
    app.event("message", matchers=[is_dm_add])(handler.on_message)

    @app.shortcut(ADD_SHORTCUT)
    def on_shortcut(ack: Ack, shortcut: dict[str, Any], respond: Respond) -> None:
        ack()
        text = str((shortcut.get("message") or {}).get("text") or "")
        urls, language = links_in(text), request_language(text)

        def post(message: Message) -> None:
            respond(response_type="ephemeral", replace_original=False, **message.to_kwargs())

        if not urls:
            _post_safely(post, notice_message(t("add_no_link", language)))
            return
        handler.pool.submit(handler.run, urls, str((shortcut.get("user") or {}).get("id", "")), post, language)

    def route(event: dict[str, Any], context: BoltContext, client: WebClient) -> bool:
        if not is_add(event, context):
            return False
        handler.on_message(event, context, client)
        return True

    return route


def _react(client: WebClient, method: str, channel: str, ts: str) -> bool:
    try:
        getattr(client, method)(channel=channel, timestamp=ts, name=WORKING_REACTION)
        return True
    except Exception as err:  # e.g. a missing scope: never stops the add
        logger.warning("%s failed: %s", method, err)
        return False


def _post_safely(post: Callable[[Message], None], message: Message) -> None:
    try:
        post(message)
    except Exception:
        logger.exception("could not deliver a reply to Slack")
