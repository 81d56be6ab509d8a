"""``/digest [2026-W48]``: a private preview of the weekly digest for whoever asks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from bot.config import WEEKDAYS, Settings
from bot.digest.render import digest_message
from bot.digest.schedule import IsoWeek
from bot.handler import Respond
from bot.render import Message, escape_mrkdwn, notice_message
from bot.state.protocols import QuestionLog

logger = logging.getLogger(__name__)

DIGEST_COMMAND = "/digest"
Preview = Callable[[str], Message]  # the command's text -> the preview message


def preview_note(settings: Settings) -> str:
    """Under the preview's title: who sees it, and where and when the real post goes."""
    ds = settings.digest
    when = f"{WEEKDAYS[ds.weekday].capitalize()} {ds.at:%H:%M} ({ds.timezone})"
    where = escape_mrkdwn(", ".join(ds.channels))
    if ds.language == "zh":
        return (f"预览，仅你可见。每周 {when} 发布到 {where}。" if ds.enabled
                else f"预览，仅你可见。未设置 DIGEST_CHANNEL，不会自动发布（计划时间 {when}）。")
    if not ds.enabled:
        return f"Preview, visible only to you. Not posted automatically: DIGEST_CHANNEL is not set (would post {when})."
    return f"Preview, visible only to you. Posted every {when} to {where}."


def digest_preview(settings: Settings, log: QuestionLog) -> Preview:
    """Builds the digest of the week in the command's text (default: the latest due week)."""
    from bot.digest.scheduler import DigestScheduler, utcnow
    from bot.digest.sources import make_digest

    def preview(text: str) -> Message:
        week = IsoWeek.parse(text) if text.strip() else DigestScheduler.latest_week(utcnow(), settings.digest)
        digest = make_digest(week, settings=settings.digest, retrieval=settings.retrieval, log=log)
        return digest_message(digest, note=preview_note(settings))

    return preview


def register_digest_command(app: App, preview: Preview) -> None:
    @app.command(DIGEST_COMMAND)
    def on_digest(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        ack(text="Building the digest preview…")  # building can take a few seconds: ack first
        text = str(command.get("text") or "")
        try:
            message = preview(text)
        except ValueError as err:  # a malformed week
            message = notice_message(f"Sorry, {escape_mrkdwn(str(err))}. Try `/digest` or `/digest 2026-W48`.")
        except Exception:
            logger.exception("digest preview failed")
            message = notice_message("Sorry, the digest could not be built. It has been logged; please try again later.")
        try:
            respond(response_type="ephemeral", replace_original=False, **message.to_kwargs())
        except Exception:
            logger.exception("could not deliver the digest preview")
