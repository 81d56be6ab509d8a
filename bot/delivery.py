"""Delivering one reply to a thread so that it arrives once, and arrives even when it is too long.

Every reply carries a metadata stamp naming the question it answers. Posting is not idempotent: a
5xx, a timeout or a dropped connection may come after Slack posted the message. So before posting
again, the thread is searched for a message with the stamp (``own_reply``); only if none is there
is the reply posted again. Slack refusing a message as too long gets the shorter version the
caller supplied. Anything else raises ``DeliveryFailed`` naming the error (the question log
records it). Notices meant for the asker alone go as ephemeral messages (``notify``), and so does
every reply in a channel whose settings answer privately (``ephemeral``): an ephemeral message
cannot be found in the thread afterwards, so a 5xx there is tried again without looking (shown
twice to one person at worst, rather than not at all).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.render import Message

logger = logging.getLogger(__name__)

REPLY_EVENT = "industry_qa_reply"  # the metadata event type of every reply to a question
ATTEMPTS = 3
RETRY_DELAYS_S = (1.0, 3.0)  # before the second and the third attempt
TOO_LONG = frozenset({"msg_too_long", "msg_blocks_too_long"})


@dataclass(frozen=True)
class Reply:
    """Where a turn's replies go: ``post(message, shorter)`` the answer, ``notify`` a notice for the
    asker alone, ``posting()`` just before the answer is posted (the pending record notes it)."""

    post: Callable[[Message, Message | None], None]
    notify: Callable[[Message], None]
    posting: Callable[[], None] = lambda: None


class DeliveryFailed(Exception):
    """The reply did not reach Slack; ``code`` is Slack's error or the exception's class name."""

    def __init__(self, code: str) -> None:
        super().__init__(f"the reply could not be posted ({code})")
        self.code = code


def failure_code(err: BaseException) -> str:
    if isinstance(err, SlackApiError) and err.response is not None:
        return str(err.response.get("error") or f"http_{err.response.status_code}")
    return type(err).__name__


def maybe_posted(err: BaseException) -> bool:
    """Whether a failed post may still have been posted (so the thread must be checked, then retried)."""
    if isinstance(err, SlackApiError):
        return err.response is not None and err.response.status_code >= 500
    return isinstance(err, OSError | HTTPException)  # timeouts, resets, refused connections


class Delivery:
    """The replies to one question: in ``thread_ts`` of ``channel``, stamped with ``key``."""

    def __init__(self, client: WebClient, *, channel: str, thread_ts: str, key: str, user: str = "",
                 since_ts: str = "", ephemeral: bool = False, sleep: Callable[[float], None] = time.sleep) -> None:
        self.client, self.channel, self.thread_ts, self.key, self.user = client, channel, thread_ts, key, user
        self.ephemeral = ephemeral and bool(user)
        self.since_ts = since_ts or thread_ts  # replies to this question come after this message
        self.sleep = sleep

    @property
    def stamp(self) -> dict[str, Any]:
        return {"event_type": REPLY_EVENT, "event_payload": {"question": self.key}}

    def post(self, message: Message, *, shorter: Message | None = None) -> str:
        """Post ``message`` (``shorter`` if Slack finds it too long) once; returns its ts. Link
        previews are off: citations link to articles, and a card per source would bury the answer."""
        return self._attempts(self._send, message, shorter, look=lambda: None if self.ephemeral else self.own_reply())

    def _send(self, message: Message) -> str:
        if self.ephemeral:
            resp = self.client.chat_postEphemeral(channel=self.channel, user=self.user, thread_ts=self.thread_ts,
                                                  **message.to_kwargs())
            return str(resp.get("message_ts") or "")
        resp = self.client.chat_postMessage(channel=self.channel, thread_ts=self.thread_ts, metadata=self.stamp,
                                            unfurl_links=False, unfurl_media=False, **message.to_kwargs())
        return str(resp["ts"])

    def update(self, ts: str, message: Message, *, shorter: Message | None = None) -> None:
        """Replace the message ``ts`` (a placeholder) with ``message``; the same update twice is harmless,
        so 5xx and timeouts are simply tried again."""

        def send(m: Message) -> str:
            self.client.chat_update(channel=self.channel, ts=ts, metadata=self.stamp, **m.to_kwargs())
            return ts

        self._attempts(send, message, shorter, look=lambda: None)

    def _attempts(self, send: Callable[[Message], str], message: Message, shorter: Message | None, *,
                  look: Callable[[], str | None]) -> str:
        """``send(message)`` up to ``ATTEMPTS`` times; ``shorter`` instead once Slack finds it too long.
        After a 5xx or a timeout, ``look()`` may find that an earlier try did arrive (its ts)."""
        for attempt in range(ATTEMPTS):
            try:
                return send(message)
            except Exception as err:
                if _too_long(err) and shorter is not None:
                    message, shorter = shorter, None
                    continue
                if not maybe_posted(err) or attempt == ATTEMPTS - 1:
                    raise DeliveryFailed(failure_code(err)) from err
                logger.warning("sending a reply failed (%s); trying again unless it arrived", failure_code(err))
                self.sleep(RETRY_DELAYS_S[attempt])
                found = look()
                if found is not None:
                    return found
        raise DeliveryFailed("too_long")  # only a shorter message that was still too long gets here

    def own_reply(self) -> str | None:
        """The ts of a reply to this question already in the thread, or None. When the thread
        cannot be read, None: posting twice is better than not answering."""
        try:
            resp = self.client.conversations_replies(channel=self.channel, ts=self.thread_ts, oldest=self.since_ts,
                                                     include_all_metadata=True, limit=100)
        except Exception as err:
            logger.warning("could not read the thread to look for an earlier reply (%s)", failure_code(err))
            return None
        for msg in resp.get("messages") or []:
            meta = msg.get("metadata") or {}
            if meta.get("event_type") == REPLY_EVENT and (meta.get("event_payload") or {}).get("question") == self.key:
                return str(msg.get("ts"))
        return None

    def notify(self, message: Message) -> None:
        """Show ``message`` to the asker only (an ephemeral message in the thread); posted in the
        thread when that is not possible, so that every question still ends in a visible reply."""
        if self.user:
            try:
                self.client.chat_postEphemeral(channel=self.channel, user=self.user, thread_ts=self.thread_ts,
                                               **message.to_kwargs())
                return
            except Exception as err:
                logger.warning("could not show a notice to the asker alone (%s); posting it in the thread",
                               failure_code(err))
        self.post(message)

    def delete(self, ts: str) -> None:
        """Remove a message of ours (a placeholder the answer did not replace); failures are logged."""
        try:
            self.client.chat_delete(channel=self.channel, ts=ts)
        except Exception as err:
            logger.warning("could not remove the placeholder %s (%s)", ts, failure_code(err))


def _too_long(err: BaseException) -> bool:
    return isinstance(err, SlackApiError) and err.response is not None and err.response.get("error") in TOO_LONG
