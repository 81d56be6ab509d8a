"""Which channels get a digest, how often, when and in which language: the workspace's DIGEST_*
settings, changed per channel by its settings (``@bot settings``): the workspace's weekly post,
its own weekly or daily one with its own time and time zone, or none.

``plans`` is pure; ``ChannelDigests`` recomputes them from the store at every scheduler tick (so
a change made in Slack takes effect at the next slot, without a restart) and runs one
``DigestScheduler`` per plan: the same exactly-once claims, one per (channel, week or day).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from typing import Protocol

from bot.config import DigestSettings
from bot.digest.schedule import next_run_after
from bot.digest.scheduler import POLL_S, DigestScheduler, Finder, MessageFactory, Outcome, Poster
from bot.state.protocols import ChannelPreferences, DigestClaims
from bot.state.records import ChannelSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    channel: str
    schedule: DigestSettings  # this channel alone: its cadence, day, time, zone and framing language


def plans(workspace: DigestSettings, chosen: Iterable[ChannelSettings]) -> list[Plan]:
    """One plan per channel that gets a digest."""
    found = {c: Plan(c, replace(workspace, channels=(c,))) for c in workspace.channels}
    for s in chosen:
        if s.digest_cadence == "off":
            found.pop(s.channel, None)
        elif s.digest_cadence == "default":
            if s.channel in found:  # the workspace's schedule, in the channel's language
                found[s.channel] = Plan(s.channel, replace(found[s.channel].schedule, language=s.digest_language))
        else:
            found[s.channel] = Plan(s.channel, DigestSettings(
                channels=(s.channel,), weekday=s.digest_weekday, at=time.fromisoformat(s.digest_time),
                timezone=s.digest_timezone, language=s.digest_language, cadence=s.digest_cadence))
    return [found[c] for c in sorted(found)]


def next_post(all_plans: Iterable[Plan], now: datetime) -> tuple[str, datetime] | None:
    """(channel, local time) of the soonest post; None when no channel gets a digest."""
    upcoming = [(next_run_after(now, p.schedule), p) for p in all_plans]
    if not upcoming:
        return None
    when, plan = min(upcoming, key=lambda x: (x[0], x[1].channel))
    return plan.channel, when.astimezone(plan.schedule.tz)


class DigestState(DigestClaims, ChannelPreferences, Protocol):
    """The claims that make each post happen once, and the channels' settings."""


class ChannelDigests:
    """``run_pending``/``next_wakeup`` over every channel's plan (what ``SchedulerThread`` drives)."""

    def __init__(self, *, workspace: DigestSettings, store: DigestState, post: Poster,
                 make_message: Callable[[DigestSettings], MessageFactory], find_posted: Finder | None = None) -> None:
        self.workspace = workspace
        self.store = store
        self.post = post
        self.find_posted = find_posted
        self.make_message = make_message  # a plan's schedule -> its message factory
        self._schedulers: dict[Plan, DigestScheduler] = {}

    def plans(self) -> list[Plan]:
        return plans(self.workspace, self.store.all_channel_settings())

    def _scheduler(self, plan: Plan) -> DigestScheduler:
        if plan not in self._schedulers:
            self._schedulers[plan] = DigestScheduler(settings=plan.schedule, store=self.store, post=self.post,
                                                     make_message=self.make_message(plan.schedule),
                                                     find_posted=self.find_posted)
        return self._schedulers[plan]

    def run_pending(self, now: datetime) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for plan in self.plans():
            try:
                outcomes += self._scheduler(plan).run_pending(now)
            except Exception:  # one channel's trouble does not stop the others' digests
                logger.exception("digest for %s failed", plan.channel)
        return outcomes

    def next_wakeup(self, now: datetime) -> datetime:
        soonest = next_post(self.plans(), now)
        poll = now + timedelta(seconds=POLL_S)
        return poll if soonest is None else min(poll, soonest[1])
