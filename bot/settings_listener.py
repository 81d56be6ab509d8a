"""``@bot settings`` (or ``/iqa settings``) in a channel: its current settings for anyone, and for
its admins a form (a modal) to change them.

A channel admin is a workspace admin or owner (``users.info``), the channel's creator
(``conversations.info``) or a user listed in ``CHANNEL_ADMINS``. A mention carries no
``trigger_id``, so it gets a private message with a button that opens the form; ``/iqa settings``
opens it at once.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, PlainTextObject

from bot.config import Settings
from bot.follow_listener import SettingsOpener, Where
from bot.render import Message, notice_message, section
from bot.settings_form import SETTINGS_VIEW, read_submission, settings_view, summary
from bot.state.protocols import ChannelPreferences
from bot.state.records import ChannelSettings
from bot.texts import t

logger = logging.getLogger(__name__)

SETTINGS_OPEN = "channel_settings_open"


class SettingsHandler:
    def __init__(self, *, store: ChannelPreferences, settings: Settings,
                 on_change: Callable[[ChannelSettings], None] | None = None) -> None:
        self.store = store
        self.settings = settings
        self.on_change = on_change  # e.g. drop a cached copy

    def current(self, team: str, channel: str) -> ChannelSettings:
        stored = self.store.channel_settings(team, channel)
        return stored if stored is not None else ChannelSettings(team=team, channel=channel,
                                                                 digest_language=self.settings.digest.language)

    def is_admin(self, client: WebClient, *, user: str, channel: str) -> bool:
        if user in self.settings.channel_admins:
            return True
        try:
            person = client.users_info(user=user).get("user") or {}
            if person.get("is_admin") or person.get("is_owner") or person.get("is_primary_owner"):
                return True
            info = client.conversations_info(channel=channel).get("channel") or {}
            return bool(info.get("creator")) and info.get("creator") == user
        except SlackApiError as err:  # e.g. a missing users:read scope: nobody is admin rather than everybody
            logger.warning("could not check channel admins: %s", err.response.get("error") if err.response else err)
            return False

    def save(self, chosen: ChannelSettings, *, user: str) -> ChannelSettings:
        saved = replace(chosen, updated_by=user, updated_at=time.time())
        self.store.save_channel_settings(saved)
        if self.on_change is not None:
            self.on_change(saved)
        return saved

    def summary_text(self, s: ChannelSettings, lang: str) -> str:
        return t("settings_current", lang, channel=s.channel, summary=summary(s, self.settings.digest, lang))


def register_settings(app: App, handler: SettingsHandler) -> SettingsOpener:
    """Register the form's button and submission; returns what ``settings`` commands call."""

    def open_settings(where: Where, post: Callable[[Message], None]) -> None:
        lang = where.language
        if where.is_dm:
            post(notice_message(t("settings_only_channels", lang)))
            return
        current = handler.current(where.team, where.channel)
        if not handler.is_admin(app.client, user=where.user, channel=where.channel):
            post(notice_message(f"{handler.summary_text(current, lang)}\n\n{t('settings_not_admin', lang)}"))
            return
        if where.trigger_id:
            app.client.views_open(trigger_id=where.trigger_id, view=settings_view(current, lang))
            return
        button = ButtonElement(text=PlainTextObject(text=t("settings_change", lang)), action_id=SETTINGS_OPEN,
                               value=json.dumps({"channel": where.channel, "lang": lang}))
        text = handler.summary_text(current, lang)
        post(Message(text=text, blocks=[section(text), ActionsBlock(elements=[button])]))

    @app.action(SETTINGS_OPEN)
    def on_open(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        ack()
        wanted = json.loads(str(action.get("value") or "{}"))
        user, channel = str((body.get("user") or {}).get("id", "")), str(wanted.get("channel", ""))
        if not handler.is_admin(client, user=user, channel=channel):
            return
        current = handler.current(context.team_id or "", channel)
        client.views_open(trigger_id=str(body.get("trigger_id", "")), view=settings_view(current, wanted.get("lang", "en")))

    @app.view(SETTINGS_VIEW)
    def on_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        meta = json.loads(view.get("private_metadata") or "{}")
        user, channel, lang = str((body.get("user") or {}).get("id", "")), str(meta.get("channel", "")), meta.get("lang", "en")
        base = handler.current(context.team_id or "", channel)
        chosen, errors = read_submission(view, base)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        if not handler.is_admin(client, user=user, channel=channel):  # the form outlived the person's role
            ack(response_action="errors", errors={"behaviour": t("settings_not_admin", lang)})
            return
        ack()
        saved = handler.save(chosen, user=user)
        text = t("settings_saved", lang, channel=channel, summary=summary(saved, handler.settings.digest, lang))
        try:
            client.chat_postEphemeral(channel=channel, user=user, **notice_message(text).to_kwargs())
        except SlackApiError as err:
            logger.warning("settings saved; the confirmation failed: %s", err.response.get("error") if err.response else err)

    return open_settings
