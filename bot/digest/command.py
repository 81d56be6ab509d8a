"""``/digest [2026-W48]``: a private preview of the weekly digest for whoever asks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from bot.config import WEEKDAYS, Settings
from bot.digest.render import digest_message
from bot.digest.schedule import IsoWeek, WeekError
from bot.handler import Respond
from bot.render import Message, escape_mrkdwn, notice_message
from bot.state.protocols import QuestionLog
from bot.texts import t

logger = logging.getLogger(__name__)

DIGEST_COMMAND = "/digest"
Preview = Callable[[str], Message]  # the command's text -> the preview message


def preview_note(settings: Settings) -> str:
    """Under the preview's title: who sees it, and where and when the real post goes."""
    ds = settings.digest
    when = f"{WEEKDAYS[ds.weekday].capitalize()} {ds.at:%H:%M} ({ds.timezone})"
    if not ds.enabled:
        return t("digest_preview_not_posted", ds.language, when=when)
    return t("digest_preview_posted", ds.language, when=when, where=escape_mrkdwn(", ".join(ds.channels)))


def digest_preview(settings: Settings, log: QuestionLog) -> Preview:
    """Builds the digest of the week in the command's text (default: the latest due week)."""
    from bot.digest.scheduler import DigestScheduler, utcnow
    from bot.digest.sources import make_digest

    def preview(text: str) -> Message:
        week = IsoWeek.parse(text) if text.strip() else DigestScheduler.latest_week(utcnow(), settings.digest)
        digest = make_digest(week, settings=settings.digest, retrieval=settings.retrieval, log=log)
        return digest_message(digest, note=preview_note(settings))

    return preview


def register_digest_command(app: App, preview: Preview, *, language: str = "en") -> None:
    """``language``: the digest's (DIGEST_LANGUAGE); the command's text is a week, with no words to go by."""

    @app.command(DIGEST_COMMAND)
    def on_digest(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        ack(text=t("digest_building", language))  # building can take a few seconds: ack first
        text = str(command.get("text") or "")
        try:
            message = preview(text)
        except WeekError as err:
            message = notice_message(bad_week_text(err, language))
        except Exception:
            logger.exception("digest preview failed")
            message = notice_message(t("digest_failed", language))
        try:
            respond(response_type="ephemeral", replace_original=False, **message.to_kwargs())
        except Exception:
            logger.exception("could not deliver the digest preview")


def bad_week_text(err: WeekError, language: str) -> str:
    if err.year:
        return t("digest_no_such_week", language, year=err.year, week=err.week)
    return t("digest_bad_week", language, text=escape_mrkdwn(repr(err.text)))
