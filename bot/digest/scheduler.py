"""Posting the weekly digest exactly once per (channel, ISO week), on time, with retries.

``DigestScheduler.run_pending(now)`` does everything for one moment in time and is what the tests
drive with their own clock; ``SchedulerThread`` calls it every minute (and at start) in
``industry-qa serve``. APScheduler's job stores cannot be shared by several processes, so the
exactly-once guarantee lives in the state database instead: a post happens only after
``claim_digest`` succeeded, and a ``posted`` claim is never taken again.

- Missed run (bot down at the slot): made up when less than ``MAKE_UP_WINDOW`` late, otherwise
  recorded as ``skipped`` and logged once.
- Failed post: logged with Slack's error code, retried with exponential backoff (shared by all
  processes through ``retry_at``), given up after ``MAX_ATTEMPTS`` with an error log line.
- Crashed attempt: a ``claimed`` row older than ``STALE_CLAIM_S`` is taken over. Posts carry message
  metadata naming the week, so the taker first looks in the channel's recent history for a post the
  crashed process made before it could record it; only if there is none (or the check fails) it posts.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from slack_sdk.errors import SlackApiError

from bot.background import Periodic
from bot.config import DigestSettings, Settings
from bot.digest.schedule import Period, latest_run_at_or_before, next_run_after, week_of_slot
from bot.metrics import DIGEST_POSTS
from bot.render import Message
from bot.state.protocols import DigestClaims, StateStore
from bot.state.records import DigestClaim

logger = logging.getLogger(__name__)

MAKE_UP_WINDOW = timedelta(hours=24)
STALE_CLAIM_S = 30 * 60  # a post takes seconds; a claim this old belongs to a process that died
RETRY_BASE_S = 60.0
RETRY_FACTOR = 3.0
RETRY_MAX_S = 6 * 3600.0
MAX_ATTEMPTS = 10  # 1, 3, 9, 27, 81, 243 min, then every 6 h: about a day of retries
POLL_S = 60.0
# Errors a person has to fix in Slack; the log line says how.
HINTS = {
    "not_in_channel": "invite the bot to the channel (/invite @industry-qa)",
    "channel_not_found": "check DIGEST_CHANNEL (a channel ID, or the name of a channel the bot can see)",
    "is_archived": "the channel is archived; change DIGEST_CHANNEL",
    "missing_scope": "reinstall the app with the chat:write scope",
    "invalid_auth": "check SLACK_BOT_TOKEN",
}

DIGEST_EVENT = "industry_qa_digest"  # message metadata event_type of every digest post
Poster = Callable[[str, Message, Period], str]  # (channel, message, week) -> ts of the posted message
Finder = Callable[[str, Period, float], "str | None"]  # ts of this week's digest posted since a time, or None
MessageFactory = Callable[[Period], Message]


@dataclass(frozen=True)
class Outcome:
    channel: str
    week: Period
    status: str  # posted | failed | busy (another process holds it) | done (already posted/skipped) | skipped
    detail: str = ""


def utcnow() -> datetime:
    return datetime.now(UTC)


def backoff_s(attempts: int) -> float:
    """Delay before the next try after ``attempts`` failed ones."""
    return float(min(RETRY_MAX_S, RETRY_BASE_S * RETRY_FACTOR ** max(0, attempts - 1)))


def slack_poster(client: object) -> Poster:
    """A ``Poster`` over a ``slack_sdk.WebClient`` (the app's retrying client)."""

    def post(channel: str, message: Message, week: Period) -> str:
        response = client.chat_postMessage(  # type: ignore[attr-defined]
            channel=channel, unfurl_links=False, unfurl_media=False,
            metadata={"event_type": DIGEST_EVENT, "event_payload": {"week": str(week)}}, **message.to_kwargs(),
        )
        return str(response.get("ts", ""))

    return post


def slack_finder(client: object) -> Finder:
    """A ``Finder`` over ``conversations.history`` (needs a channel ID and channels:history)."""

    def find(channel: str, week: Period, since: float) -> str | None:
        response = client.conversations_history(  # type: ignore[attr-defined]
            channel=channel, oldest=f"{since:.6f}", include_all_metadata=True, limit=100)  # Slack may cap it (15)
        for message in response.get("messages") or []:
            meta = message.get("metadata") or {}
            if meta.get("event_type") == DIGEST_EVENT and (meta.get("event_payload") or {}).get("week") == str(week):
                return str(message.get("ts", ""))
        return None

    return find


class DigestScheduler:
    def __init__(self, *, settings: DigestSettings, store: DigestClaims, post: Poster,
                 make_message: MessageFactory, owner: str | None = None, find_posted: Finder | None = None) -> None:
        self.settings = settings
        self.store = store
        self.post = post
        self.find_posted = find_posted
        self.make_message = make_message
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    @staticmethod
    def latest_week(now: datetime, settings: DigestSettings) -> Period:
        """The week the most recent slot at or before ``now`` covers (the CLI's and /digest's default)."""
        return week_of_slot(latest_run_at_or_before(now, settings), settings)

    def due_week(self, now: datetime) -> tuple[Period, datetime]:
        slot = latest_run_at_or_before(now, self.settings)
        return week_of_slot(slot, self.settings), slot

    def next_wakeup(self, now: datetime) -> datetime:
        return min(next_run_after(now, self.settings), now + timedelta(seconds=POLL_S))

    def run_pending(self, now: datetime) -> list[Outcome]:
        """Post whatever is due at ``now`` (aware) to every configured channel."""
        week, slot = self.due_week(now)
        previous = latest_run_at_or_before(slot - timedelta(seconds=1), self.settings)
        previous_week = week_of_slot(previous, self.settings)
        cache: dict[Period, Message] = {}
        outcomes = []
        for channel in self.settings.channels:
            # Down across two slots: the older one is logged too, if the bot was posting before it.
            if self.store.has_digest_before(channel, str(previous_week)):
                outcomes += self._skip(channel, previous_week, previous, now)
            claim = self.store.digest_claim(channel, str(week))
            if claim is not None and claim.status in ("posted", "skipped"):
                continue
            if claim is None and now - slot >= MAKE_UP_WINDOW:
                outcomes += self._skip(channel, week, slot, now)
                continue
            outcomes.append(self.post_week(channel, week, now, cache=cache))
        return outcomes

    def _skip(self, channel: str, week: Period, slot: datetime, now: datetime) -> list[Outcome]:
        """Record a missed week as skipped and log it, once (no-op when the week has a row)."""
        late = now - slot
        if not self.store.skip_digest(channel, str(week), owner=self.owner, now=now.timestamp(),
                                      reason=f"missed by {_hours(late)}"):
            return []
        DIGEST_POSTS.labels(outcome="skipped").inc()
        logger.warning(
            "weekly digest %s for %s skipped: it was due at %s and the bot was not running "
            "(%s late; runs missed by more than %s are not made up). Post it by hand with "
            "`industry-qa digest --post --week %s`.",
            week, channel, slot.isoformat(), _hours(late), _hours(MAKE_UP_WINDOW), week,
        )
        return [Outcome(channel, week, "skipped")]

    def post_week(self, channel: str, week: Period, now: datetime, *, force: bool = False,
                  cache: dict[Period, Message] | None = None) -> Outcome:
        """Claim (channel, week) and post its digest; ``force`` also retakes failed/skipped claims
        (an operator's ``digest --post``), never a posted one."""
        outcome = self._post_week(channel, week, now, force=force, cache=cache)
        DIGEST_POSTS.labels(outcome=outcome.status).inc()
        return outcome

    def _post_week(self, channel: str, week: Period, now: datetime, *, force: bool,
                   cache: dict[Period, Message] | None) -> Outcome:
        before = self.store.digest_claim(channel, str(week))
        claim = self.store.claim_digest(channel, str(week), owner=self.owner, now=now.timestamp(),
                                        stale_after_s=STALE_CLAIM_S, force=force)
        if claim is None:
            current = self.store.digest_claim(channel, str(week))
            status = current.status if current else "unknown"
            return Outcome(channel, week, "done" if status in ("posted", "skipped") else "busy", status)
        if before is not None and before.status in ("claimed", "failed"):  # did the earlier attempt post after all?
            earlier = self._earlier_post(channel, week, before)
            if earlier:
                self.store.finish_digest(channel, str(week), owner=self.owner, now=now.timestamp(), message_ts=earlier)
                return Outcome(channel, week, "done", "posted")
        try:
            message = cache[week] if cache is not None and week in cache else self.make_message(week)
            if cache is not None:
                cache[week] = message
            ts = self.post(channel, message, week)
        except SlackApiError as err:
            code = str(err.response.get("error", "")) if err.response is not None else ""
            return self._failed(channel, week, now, claim.attempts, code or "slack_error", HINTS.get(code, ""))
        except Exception as err:  # building or network: logged with a traceback, retried the same way
            logger.exception("weekly digest %s for %s could not be built or sent", week, channel)
            return self._failed(channel, week, now, claim.attempts, type(err).__name__, "")
        self.store.finish_digest(channel, str(week), owner=self.owner, now=now.timestamp(), message_ts=ts)
        logger.info("weekly digest %s posted to %s (ts %s, attempt %d)", week, channel, ts, claim.attempts)
        return Outcome(channel, week, "posted", ts)

    def _earlier_post(self, channel: str, week: Period, before: DigestClaim) -> str | None:
        """The ts of the earlier attempt's post if Slack had accepted it: a process that died after
        posting (a stale claim), or a post whose response was lost (a timeout recorded as failed)."""
        takeover = before.status == "claimed"
        what = (f"weekly digest {week} for {channel}: taking over an attempt by {before.owner} that did not finish"
                if takeover else f"weekly digest {week} for {channel}: retrying after {before.last_error}")
        if self.find_posted is None:
            if takeover:
                logger.warning("%s; if Slack had accepted that post, this is a second copy", what)
            return None
        try:
            found = self.find_posted(channel, week, before.claimed_at)
        except Exception as err:  # e.g. a channel name instead of an ID, not_in_channel, no channels:history
            reason = err.response.get("error") if isinstance(err, SlackApiError) and err.response else type(err).__name__
            logger.warning("%s; could not check the channel for an earlier post (%s), posting anyway", what, reason)
            return None
        if found:
            logger.info("%s; the earlier attempt had posted it (ts %s), so not posting again", what, found)
        elif takeover:
            logger.warning("%s; it had not posted, posting now", what)
        return found

    def _failed(self, channel: str, week: Period, now: datetime, attempts: int, error: str, hint: str) -> Outcome:
        advice = f": {hint}" if hint else ""
        if attempts >= MAX_ATTEMPTS:
            retry_at = None
            logger.error("weekly digest %s for %s failed (%s%s); giving up after %d attempts. "
                         "Fix it, then run `industry-qa digest --post --week %s`.",
                         week, channel, error, advice, attempts, week)
        else:
            retry_at = now + timedelta(seconds=backoff_s(attempts))
            logger.warning("weekly digest %s for %s failed (%s%s); attempt %d of %d, next try at %s",
                           week, channel, error, advice, attempts, MAX_ATTEMPTS, retry_at.isoformat())
        self.store.fail_digest(channel, str(week), owner=self.owner, now=now.timestamp(), error=error,
                               retry_at=retry_at.timestamp() if retry_at else None)
        return Outcome(channel, week, "failed", error)


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.1f} h"


class Pending(Protocol):
    """A ``DigestScheduler``, or ``bot.digest.cadence.ChannelDigests`` running one per channel."""

    def run_pending(self, now: datetime) -> list[Outcome]: ...

    def next_wakeup(self, now: datetime) -> datetime: ...


class SchedulerThread(Periodic):
    """Runs ``run_pending`` at start (making up a recent missed run) and then at every slot and
    at least every ``POLL_S`` seconds (for retries), until ``stop()``."""

    def __init__(self, scheduler: Pending, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.scheduler = scheduler
        self.clock = clock
        super().__init__(self._step, name="digest-scheduler", every_s=POLL_S)

    def _step(self) -> float:
        now = self.clock()
        self.scheduler.run_pending(now)  # a failure (the database away, say) is logged; retried in POLL_S
        return max(1.0, (self.scheduler.next_wakeup(now) - now).total_seconds())


def start_digest_scheduler(settings: Settings, client: object, store: StateStore) -> SchedulerThread:
    """The scheduler thread for ``industry-qa serve`` (on the process's store): the DIGEST_CHANNEL
    channels' weekly digest and every channel's own cadence (``@bot settings``)."""
    from bot.digest.cadence import ChannelDigests, next_post
    from bot.digest.render import digest_message
    from bot.digest.sources import make_digest

    def factory(schedule: DigestSettings) -> MessageFactory:
        return lambda period: digest_message(make_digest(period, settings=schedule, retrieval=settings.retrieval,
                                                         log=store))

    digests = ChannelDigests(workspace=settings.digest, store=store, post=slack_poster(client),
                             find_posted=slack_finder(client), make_message=factory)
    soonest = next_post(digests.plans(), utcnow())
    logger.info("digests: %s", f"next to {soonest[0]} at {soonest[1].isoformat()}" if soonest else "none scheduled")
    return SchedulerThread(digests).start()
