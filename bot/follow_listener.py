"""``follow``/``unfollow``/``follows`` (and ``settings``) by mention, in a DM, or with ``/iqa``.

A person's own follow in a channel is answered privately (``chat.postEphemeral``); a channel follow
is answered in the thread, where the channel sees it. The words are parsed by ``bot.commands``;
what a term matches is ``bot.alerts.terms``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.alerts.terms import MAX_TERM_CHARS, resolve, valid_term
from bot.commands import Command, parse_command
from bot.handler import Respond
from bot.listeners import is_ignored, strip_mention
from bot.render import Message, escape_mrkdwn, notice_message
from bot.state.protocols import EventClaims, Follows, SavedQuestions
from bot.state.records import Follow, message_key
from bot.texts import t
from retrieval.glossary import Glossary

logger = logging.getLogger(__name__)

IQA_COMMAND = "/iqa"
# What "settings" does in a channel (bot/settings_listener.py): given where and who, it replies itself.
SettingsOpener = Callable[["Where", Callable[[Message], None]], None]


class FollowState(Follows, SavedQuestions, Protocol):
    """The follows, and the saved questions that ``follows`` counts."""


@dataclass(frozen=True)
class Where:
    team: str
    user: str
    channel: str
    is_dm: bool
    trigger_id: str = ""  # set for /iqa: a modal can be opened from it
    language: str = "en"  # of the command's words


class FollowHandler:
    def __init__(self, *, store: FollowState, glossary: Callable[[], Glossary]) -> None:
        self.store = store
        self.glossary = glossary

    def reply(self, command: Command, where: Where) -> str:
        """The mrkdwn reply to a follow command (``settings`` is not handled here)."""
        lang = command.language
        if command.channel and where.is_dm:
            return t("follow_channel_not_here", lang)
        follower, suffix = (where.channel, "_channel") if command.channel else (where.user, "")
        if command.kind == "follows":
            return self._list(where, follower, lang, suffix)
        if not valid_term(command.term):
            return t("follow_bad_term", lang, limit=MAX_TERM_CHARS)
        term = resolve(command.term, self.glossary())
        shown = escape_mrkdwn(term.shown)
        if command.kind == "unfollow":
            removed = self.store.remove_follow(team=where.team, follower=follower, key=term.key)
            return t(f"unfollow_{'done' if removed else 'unknown'}{suffix}", lang, term=shown)
        follow = Follow(team=where.team, follower=follower, kind="channel" if command.channel else "user",
                        term=term.shown, key=term.key, created_at=time.time())
        if not self.store.add_follow(follow):
            return t(f"follow_already{suffix}", lang, term=shown)
        others = [escape_mrkdwn(a) for a in term.aliases if a != term.shown]
        aliases = t("follow_aliases", lang, aliases=", ".join(others)) if others else ""
        return t(f"follow_done{suffix}", lang, term=shown, aliases=aliases)

    def _list(self, where: Where, follower: str, lang: str, suffix: str) -> str:
        follows = self.store.follows_of(team=where.team, follower=follower)
        lines = [t(f"follows{suffix}_list" if suffix else "follows_list", lang,
                   terms=", ".join(f"*{escape_mrkdwn(f.term)}*" for f in follows))] if follows else []
        if not suffix:
            saved = self.store.saved_of(team=where.team, user=where.user)
            if saved:
                lines.append(t("follows_saved", lang, count=len(saved)))
        return "\n".join(lines) or t("follows_none", lang)


def register_follow_commands(app: App, handler: FollowHandler, claims: EventClaims, *,
                             open_settings: SettingsOpener) -> Callable[[dict[str, Any], BoltContext, WebClient], bool]:
    """Register before the question listeners: Bolt runs the first listener that matches. Returns
    the route the assistant panel uses for messages Bolt gives it (True when it was a command)."""

    def command_in(event: Mapping[str, Any], context: BoltContext) -> Command | None:
        if is_ignored(event, bot_user_id=context.bot_user_id):
            return None
        return parse_command(strip_mention(str(event.get("text") or ""), context.bot_user_id), handler.glossary())

    def is_command(event: dict[str, Any], context: BoltContext) -> bool:
        return command_in(event, context) is not None

    def is_dm_command(event: dict[str, Any], context: BoltContext) -> bool:
        return event.get("channel_type") == "im" and is_command(event, context)

    def on_message(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        team, channel, ts = context.team_id or "", str(event.get("channel", "")), str(event.get("ts", ""))
        command = command_in(event, context)
        if command is None or not claims.claim(message_key(team, channel, ts)):
            return  # redelivered, or seen as both app_mention and message
        is_dm = event.get("channel_type") == "im" or channel.startswith("D")
        where = Where(team=team, user=str(event.get("user", "")), channel=channel, is_dm=is_dm,
                      language=command.language)
        thread_ts = str(event.get("thread_ts") or ts)
        private = not is_dm and not command.channel  # a channel follow is for the channel to see

        def post(message: Message) -> None:
            if private:
                client.chat_postEphemeral(channel=channel, user=where.user, thread_ts=thread_ts, **message.to_kwargs())
            else:
                client.chat_postMessage(channel=channel, thread_ts=thread_ts, **message.to_kwargs())

        dispatch(handler, command, where, post, open_settings)

    app.event("app_mention", matchers=[is_command])(on_message)
    app.event("message", matchers=[is_dm_command])(on_message)

    @app.command(IQA_COMMAND)
    def on_iqa(ack: Ack, command: dict[str, Any], respond: Respond, context: BoltContext) -> None:
        ack()
        text = str(command.get("text") or "")
        parsed = parse_command(text, handler.glossary())
        channel = str(command.get("channel_id", ""))
        where = Where(team=context.team_id or "", user=str(command.get("user_id", "")), channel=channel,
                      is_dm=channel.startswith("D"), trigger_id=str(command.get("trigger_id", "")),
                      language=parsed.language if parsed else "en")

        def post(message: Message) -> None:
            respond(response_type="ephemeral", replace_original=False, **message.to_kwargs())

        if parsed is None:
            _post_safely(post, notice_message(t("command_help", "zh" if _has_cjk(text) else "en")))
            return
        dispatch(handler, parsed, where, post, open_settings)

    def route(event: dict[str, Any], context: BoltContext, client: WebClient) -> bool:
        if not is_command(event, context):
            return False
        on_message(event, context, client)
        return True

    return route


def dispatch(handler: FollowHandler, command: Command, where: Where, post: Callable[[Message], None],
             open_settings: SettingsOpener) -> None:
    """Every path ends in a reply; a failure is logged and answered with the generic error."""
    try:
        if command.kind == "settings":
            open_settings(where, post)
            return
        post(notice_message(handler.reply(command, where)))
    except Exception:
        logger.exception("a %s command failed", command.kind)
        _post_safely(post, notice_message(t("error_generic", command.language)))


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _post_safely(post: Callable[[Message], None], message: Message) -> None:
    try:
        post(message)
    except Exception:
        logger.exception("could not deliver a reply to Slack")
