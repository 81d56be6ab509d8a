"""Questions a stopped process claimed but did not answer: answered (or apologised for) by the next.

A process records each question it claims as pending and forgets it once the reply is posted
(bot/handler.py); one that stops first (a deploy past its grace period, a crash, ``kill -9``)
leaves the rest. At start-up, and every few minutes while serving, ``recover_pending`` takes over:

- a question of this host's earlier process (no longer running) at once;
- another owner's (a replica on another host, maybe still answering) only after ``STALE_OWNER_S``.

Taking one over is atomic (``take_pending``), so of several replicas exactly one answers it. A
question younger than ``ANSWER_WITHIN_S`` is answered (its thread searched first if its reply was
being posted); an older one gets an apology in its thread instead, since the asker has moved on.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from slack_sdk import WebClient

from bot.background import Periodic
from bot.delivery import Delivery
from bot.handler import WORKING_REACTION, QuestionHandler
from bot.render import notice_message
from bot.state.records import PendingQuestion
from bot.texts import t
from bot.turn import Turn

logger = logging.getLogger(__name__)

STALE_OWNER_S = 600.0  # no answer takes this long (model timeout, Slack's Retry-After waits included)
ANSWER_WITHIN_S = 3600.0  # older questions get an apology rather than an answer out of the blue
RECOVER_EVERY_S = 300.0


def recover_pending(handler: QuestionHandler, client: WebClient, *, bot_user_id: str,
                    now: Callable[[], float] = time.time) -> int:
    """Take over and answer (or apologise for) the pending questions nobody else is answering;
    returns how many were taken over."""
    taken = 0
    for pending in handler.store.pending_questions():
        if pending.owner == handler.owner or not _abandoned(pending, handler.owner, now()):
            continue
        if not handler.store.take_pending(pending.key, owner=handler.owner, expected_owner=pending.owner):
            continue  # another replica took it first
        taken += 1
        age = now() - pending.created_at
        logger.info("answering %s, left pending by %s %.0f s ago", pending.key, pending.owner, age)
        if age <= ANSWER_WITHIN_S:
            handler.resume(pending, client, bot_user_id=bot_user_id)
        else:
            _apologise(handler, client, pending)
    return taken


def _abandoned(pending: PendingQuestion, me: str, now: float) -> bool:
    """Whether nobody answers ``pending`` any more. Owners are "host:pid:start" (bot/handler.py):
    on this host, a process with another start time is gone if its pid is not running, or is ours
    (a container restarts with the same pid)."""
    host, pid, _ = (pending.owner.split(":") + ["", "", ""])[:3]
    my_host, my_pid, _ = me.split(":")
    if host == my_host and pid.isdigit() and (pid == my_pid or not _running(int(pid))):
        return True
    return now - pending.created_at >= STALE_OWNER_S


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _apologise(handler: QuestionHandler, client: WebClient, pending: PendingQuestion) -> None:
    turn = Turn.of_pending(pending, bot_user_id="")
    delivery = Delivery(client, channel=pending.channel, thread_ts=pending.thread_ts, key=pending.key,
                        user=pending.user, since_ts=pending.ts, ephemeral=pending.ephemeral)
    try:
        if delivery.own_reply() is None:
            delivery.post(notice_message(t("restart_apology", turn.language)))
        client.reactions_remove(channel=pending.channel, timestamp=pending.ts, name=WORKING_REACTION)
    except Exception as err:
        logger.warning("could not apologise for %s: %s", pending.key, err)
    handler.store.remove_pending(pending.key)


class Recoverer(Periodic):
    """``recover_pending`` every ``RECOVER_EVERY_S`` (the start-up round is run by ``serve``)."""

    def __init__(self, handler: QuestionHandler, client: WebClient, *, bot_user_id: str,
                 every_s: float = RECOVER_EVERY_S) -> None:
        super().__init__(lambda: _round(handler, client, bot_user_id), name="recovery", every_s=every_s,
                         first_delay_s=every_s)


def _round(handler: QuestionHandler, client: WebClient, bot_user_id: str) -> None:
    recover_pending(handler, client, bot_user_id=bot_user_id)
