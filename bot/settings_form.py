"""Per-channel settings as people see them: a summary, the form (a modal) and what a submitted form
means. Pure: ``ChannelSettings`` in, Block Kit out; view state in, settings or field errors out."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.models.blocks import (
    CheckboxesElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.config import DigestSettings
from bot.state.records import ChannelSettings
from bot.texts import t

SETTINGS_VIEW = "channel_settings"
CADENCES = ("default", "weekly", "daily", "off")
DIGEST_LANGUAGES = ("en", "zh", "both")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
# block ids of the form's inputs (and the action id inside each is the same word)
BEHAVIOUR, CADENCE, LANGUAGE, WEEKDAY, TIME, TIMEZONE = "behaviour", "cadence", "language", "weekday", "time", "timezone"
OPT_MENTION, OPT_PRIVATE = "answer_without_mention", "private_by_default"


def summary(s: ChannelSettings, workspace: DigestSettings, lang: str) -> str:
    """Three bullet lines: answering without a mention, privately, and the digest."""
    def on_off(flag: bool) -> str:
        return t("settings_on" if flag else "settings_off", lang)

    return "\n".join([
        t("settings_line_mention", lang, value=on_off(s.answer_without_mention)),
        t("settings_line_private", lang, value=on_off(s.private_by_default)),
        t("settings_line_digest", lang, value=digest_summary(s, workspace, lang)),
    ])


def digest_summary(s: ChannelSettings, workspace: DigestSettings, lang: str) -> str:
    language = t(f"settings_language_{s.digest_language}", lang)
    if s.digest_cadence == "off":
        return t("settings_digest_off", lang)
    if s.digest_cadence == "default":
        if s.channel not in workspace.channels:
            return t("settings_digest_default", lang, value=t("settings_digest_none", lang))
        weekly = t("settings_digest_weekly", lang, day=t(f"weekday_{workspace.weekday}", lang),
                   time=f"{workspace.at:%H:%M}", tz=workspace.timezone, lang_name=language)
        return t("settings_digest_default", lang, value=weekly)
    if s.digest_cadence == "daily":
        return t("settings_digest_daily", lang, time=s.digest_time, tz=s.digest_timezone, lang_name=language)
    return t("settings_digest_weekly", lang, day=t(f"weekday_{s.digest_weekday}", lang), time=s.digest_time,
             tz=s.digest_timezone, lang_name=language)


def _option(value: str, label: str) -> Option:
    return Option(value=value, text=PlainTextObject(text=label))


def _select(block_id: str, label: str, options: list[Option], chosen: str) -> InputBlock:
    initial = next(o for o in options if o.value == chosen)
    return InputBlock(block_id=block_id, label=label, element=StaticSelectElement(
        action_id=block_id, options=options, initial_option=initial))


def settings_view(s: ChannelSettings, lang: str) -> View:
    """The modal; ``private_metadata`` carries the channel and the language back to the submission."""
    behaviour = [_option(OPT_MENTION, t("settings_opt_mention", lang)), _option(OPT_PRIVATE, t("settings_opt_private", lang))]
    ticked = [o for o, on in zip(behaviour, (s.answer_without_mention, s.private_by_default), strict=True) if on]
    checkboxes = CheckboxesElement(action_id=BEHAVIOUR, options=behaviour, initial_options=ticked or None)
    blocks = [
        InputBlock(block_id=BEHAVIOUR, label=t("settings_behaviour", lang), element=checkboxes, optional=True),
        _select(CADENCE, t("settings_cadence", lang),
                [_option(c, t(f"settings_cadence_{c}", lang)) for c in CADENCES], s.digest_cadence),
        _select(LANGUAGE, t("settings_language", lang),
                [_option(x, t(f"settings_language_{x}", lang)) for x in DIGEST_LANGUAGES], s.digest_language),
        _select(WEEKDAY, t("settings_weekday", lang),
                [_option(str(d), t(f"weekday_{d}", lang)) for d in range(7)], str(s.digest_weekday)),
        InputBlock(block_id=TIME, label=t("settings_time", lang),
                   element=PlainTextInputElement(action_id=TIME, initial_value=s.digest_time, max_length=5)),
        InputBlock(block_id=TIMEZONE, label=t("settings_timezone", lang),
                   element=PlainTextInputElement(action_id=TIMEZONE, initial_value=s.digest_timezone, max_length=64)),
    ]
    return View(type="modal", callback_id=SETTINGS_VIEW, title=t("settings_title", lang),
                submit=t("settings_submit", lang), close=t("settings_cancel", lang), blocks=blocks,
                private_metadata=json.dumps({"channel": s.channel, "lang": lang}))


def read_submission(view: dict[str, Any], base: ChannelSettings) -> tuple[ChannelSettings, dict[str, str]]:
    """The settings a submitted form asks for (on top of ``base``), and per-block errors (empty when valid)."""
    values = view.get("state", {}).get("values", {})

    def picked(block: str) -> str:
        option = (values.get(block, {}).get(block) or {}).get("selected_option") or {}
        return str(option.get("value", ""))

    def typed(block: str) -> str:
        return str((values.get(block, {}).get(block) or {}).get("value") or "").strip()

    ticked = {o.get("value") for o in (values.get(BEHAVIOUR, {}).get(BEHAVIOUR) or {}).get("selected_options") or []}
    lang = json.loads(view.get("private_metadata") or "{}").get("lang", "en")
    errors: dict[str, str] = {}
    when = typed(TIME)
    m = _TIME.match(when)
    if not m:
        errors[TIME] = t("settings_bad_time", lang)
    zone = typed(TIMEZONE)
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        errors[TIMEZONE] = t("settings_bad_timezone", lang)
    weekday = picked(WEEKDAY)
    chosen = replace(
        base,
        answer_without_mention=OPT_MENTION in ticked,
        private_by_default=OPT_PRIVATE in ticked,
        digest_cadence=picked(CADENCE) if picked(CADENCE) in CADENCES else base.digest_cadence,
        digest_language=picked(LANGUAGE) if picked(LANGUAGE) in DIGEST_LANGUAGES else base.digest_language,
        digest_weekday=int(weekday) if weekday.isdigit() and int(weekday) < 7 else base.digest_weekday,
        digest_time=f"{int(m.group(1)):02d}:{m.group(2)}" if m else base.digest_time,
        digest_timezone=zone if TIMEZONE not in errors else base.digest_timezone,
    )
    return chosen, errors
