"""Bolt listeners: thin. Each one decides whether a payload is for the bot and hands it on.

The decision helpers (``is_ignored``, ``to_incoming``, ``strip_mention``) are pure functions so
the rules (ignore bots and edits, answer only threads the bot is part of) are tested directly. A
channel's settings (``ChannelPolicy``) may ask for question-like messages to be answered without a
mention, and for answers only the asker sees.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest, BoltResponse
from slack_sdk import WebClient

from bot.channel_policy import ChannelPolicy
from bot.handler import QuestionHandler, Respond
from bot.state.protocols import EventClaims
from bot.state.records import event_key
from bot.state_alarm import StateAlarm
from bot.texts import t
from bot.turn import Incoming, Turn

logger = logging.getLogger(__name__)

SLASH_COMMAND = "/ask"
# Message subtypes that are still a person writing to us; every other subtype (message_changed,
# message_deleted, bot_message, channel_join, ...) is ignored.
ANSWERED_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def is_ignored(event: Mapping[str, Any], *, bot_user_id: str | None) -> bool:
    """Bot messages (ours included), edits, deletions and other non-human subtypes."""
    if event.get("bot_id") or event.get("bot_profile"):
        return True
    if event.get("subtype") not in ANSWERED_SUBTYPES or event.get("hidden"):
        return True
    return bool(bot_user_id) and event.get("user") == bot_user_id


def strip_mention(text: str, bot_user_id: str | None) -> str:
    """Remove mentions of the bot (other people's mentions stay) and normalise whitespace."""
    text = _MENTION.sub(lambda m: "" if bot_user_id and m.group(1) == bot_user_id else m.group(0), text)
    return " ".join(text.split())


def mentions(text: str, bot_user_id: str | None) -> bool:
    return bool(bot_user_id) and any(m.group(1) == bot_user_id for m in _MENTION.finditer(text))


def to_incoming(event: Mapping[str, Any], *, team: str, bot_user_id: str | None, source: str) -> Incoming:
    ts = str(event.get("ts", ""))
    return Incoming(
        team=team,
        channel=str(event.get("channel", "")),
        user=str(event.get("user", "")),
        ts=ts,
        thread_ts=str(event.get("thread_ts") or ts),  # top-level message: start a thread on it
        text=strip_mention(str(event.get("text") or ""), bot_user_id),
        has_files=bool(event.get("files")),
        source=source,
        bot_user_id=bot_user_id or "",
    )


def dedupe_events(store: EventClaims, alarm: StateAlarm) -> Callable[..., BoltResponse]:
    """Global middleware: ack and drop an Events API delivery whose ``event_id`` was seen before
    (Slack's redeliveries, ``X-Slack-Retry-Num``), including across restarts.

    When the state database fails (a full disk), the delivery is still acked, never answered 500
    (Slack would redeliver it three times, then disable the app): a first delivery goes on to the
    listener, whose claim fails too and tells the asker; a redelivery is dropped, since the first
    one was already told."""

    def middleware(
        body: dict[str, Any], req: BoltRequest, resp: BoltResponse, next: Callable[[], None], logger: logging.Logger
    ) -> BoltResponse:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id:
            try:
                first = store.claim(event_key(str(event_id)))
            except Exception as err:
                alarm.failed(err)
                first = not req.headers.get("x-slack-retry-num")
            if not first:
                logger.info("duplicate delivery of event %s ignored", event_id)
                return BoltResponse(status=200, body="")
        next()
        return resp

    return middleware


def register_listeners(app: App, handler: QuestionHandler, store: EventClaims, policy: ChannelPolicy) -> None:
    app.middleware(dedupe_events(store, handler.alarm))

    def in_channel(event: Mapping[str, Any], context: BoltContext, source: str) -> Incoming:
        msg = to_incoming(event, team=context.team_id or "", bot_user_id=context.bot_user_id, source=source)
        return replace(msg, ephemeral=policy.private(msg.team, msg.channel))

    @app.event("app_mention")
    def on_mention(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        if is_ignored(event, bot_user_id=context.bot_user_id):
            return
        handler.handle_message(in_channel(event, context, "mention"), client)

    @app.event("message")  # message.im, message.channels, message.groups, every subtype
    def on_message(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        bot_user_id = context.bot_user_id
        if is_ignored(event, bot_user_id=bot_user_id):
            return
        team = context.team_id or ""
        if event.get("channel_type") == "im":
            handler.handle_message(to_incoming(event, team=team, bot_user_id=bot_user_id, source="dm"), client)
            return
        thread_ts, text, channel = event.get("thread_ts"), str(event.get("text") or ""), str(event.get("channel", ""))
        if mentions(text, bot_user_id):
            return  # app_mention answers it
        if thread_ts and handler.knows_thread(team=team, channel=channel, thread_ts=str(thread_ts)):
            handler.handle_message(in_channel(event, context, "thread"), client)
        elif not thread_ts and policy.answers_unasked(team, channel, strip_mention(text, bot_user_id)):
            handler.handle_message(in_channel(event, context, "channel"), client)

    @app.command(SLASH_COMMAND)
    def on_ask(ack: Ack, command: dict[str, Any], respond: Respond, context: BoltContext) -> None:
        turn = Turn.of_command(team=context.team_id or "", channel=str(command.get("channel_id", "")),
                               user=str(command.get("user_id", "")), text=str(command.get("text") or ""),
                               mention="@industry-qa")
        ack(text=t("working", turn.language))
        handler.handle_command(turn, respond)
