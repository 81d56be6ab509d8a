"""The two small forms behind an answer's controls: "what was wrong?" after a 👎 (optional), and
the channel to share an assistant-panel answer in. Pure: views out, submitted state read back."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import (
    ConversationFilter,
    ConversationSelectElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    RadioButtonsElement,
)
from slack_sdk.models.views import View

from bot.texts import t

REASON_VIEW = "feedback_reason"
SHARE_VIEW = "share_answer"
REASONS = ("wrong_fact", "outdated", "not_relevant", "other")
DETAIL_LIMIT = 1000
_REASON, _DETAIL, _CHANNEL = "reason", "detail", "channel"


def reason_view(question_id: int, lang: str) -> View:
    options = [Option(value=r, text=PlainTextObject(text=t(f"feedback_reason_{r}", lang))) for r in REASONS]
    return View(type="modal", callback_id=REASON_VIEW, title=t("feedback_form_title", lang),
                submit=t("feedback_form_send", lang), close=t("feedback_form_skip", lang),
                private_metadata=json.dumps({"q": question_id, "lang": lang}), blocks=[
                    InputBlock(block_id=_REASON, label=t("feedback_form_reason", lang), optional=True,
                               element=RadioButtonsElement(action_id=_REASON, options=options)),
                    InputBlock(block_id=_DETAIL, label=t("feedback_form_detail", lang), optional=True,
                               element=PlainTextInputElement(action_id=_DETAIL, multiline=True,
                                                             max_length=DETAIL_LIMIT)),
                ])


def read_reason(view: dict[str, Any]) -> tuple[int, str, str] | None:
    """(question id, reason code, text) of a submitted form; None when nothing was said or the
    form is not ours. Text without a ticked reason counts as "other"."""
    try:
        question_id = int(json.loads(view.get("private_metadata") or "{}")["q"])
    except (ValueError, KeyError, TypeError):
        return None
    values = view.get("state", {}).get("values", {})
    picked = ((values.get(_REASON, {}).get(_REASON) or {}).get("selected_option") or {}).get("value")
    text = str((values.get(_DETAIL, {}).get(_DETAIL) or {}).get("value") or "").strip()[:DETAIL_LIMIT]
    if picked not in REASONS:
        picked = "other" if text else None
    return (question_id, picked, text) if picked else None


def share_view(question_id: int, *, lang: str, reply_channel: str, reply_thread: str, suggested: str = "") -> View:
    """Pick a channel; the submission posts there and says so in the panel's thread."""
    picker = ConversationSelectElement(action_id=_CHANNEL, initial_conversation=suggested or None,
                                       filter=ConversationFilter(include=["public", "private"]))
    meta = {"q": question_id, "lang": lang, "channel": reply_channel, "thread": reply_thread}
    return View(type="modal", callback_id=SHARE_VIEW, title=t("share_pick_title", lang), submit=t("share_submit", lang),
                close=t("form_cancel", lang), private_metadata=json.dumps(meta),
                blocks=[InputBlock(block_id=_CHANNEL, label=t("share_pick_label", lang), element=picker)])


def read_share(view: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
    """(the form's metadata, the channel picked) of a submitted share form."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        int(meta["q"])
    except (ValueError, KeyError, TypeError):
        return None
    picked = (view.get("state", {}).get("values", {}).get(_CHANNEL, {}).get(_CHANNEL) or {}).get("selected_conversation")
    return (meta, str(picked)) if picked else None
