"""The controls under an answer: Slack's native feedback buttons, "Tell me when this changes",
and, on answers only the asker sees, "Share to channel". Pure: values in, blocks out, and the
values read back from a click (a value that cannot be read is None, never an exception).
"""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextActionsBlock,
    FeedbackButtonObject,
    FeedbackButtonsElement,
    PlainTextObject,
)

from bot.evidence import evidence_of
from bot.state.records import Evidence
from bot.texts import t
from retrieval.types import Answer

FEEDBACK_ACTION = "answer_feedback"
WATCH_ACTION = "answer_watch"
SHARE_ACTION = "answer_share"
# the 👍/👎 buttons of answers posted before the native ones: still answered
LEGACY_FEEDBACK_UP, LEGACY_FEEDBACK_DOWN = "feedback_up", "feedback_down"
FEEDBACK_BLOCK_ID = "feedback"
ACTIONS_BLOCK_ID = "answer_actions"


def feedback_value(question_id: int, vote: int) -> str:
    return f"{question_id}:{'up' if vote > 0 else 'down'}"


def read_feedback(value: str) -> tuple[int, int] | None:
    """(question id, +1 or -1) from a feedback button's value."""
    qid, _, vote = value.partition(":")
    if not qid.isdigit() or vote not in ("up", "down"):
        return None
    return int(qid), 1 if vote == "up" else -1


def watch_value(question_id: int, evidence: Evidence) -> str:
    return json.dumps({"q": question_id, "o": evidence.outcome, "p": evidence.path, "s": evidence.start,
                       "e": evidence.end}, ensure_ascii=False, separators=(",", ":"))


def read_watch(value: str) -> tuple[int, Evidence] | None:
    """(question id, the evidence the person saw) from a watch button's value."""
    try:
        raw: dict[str, Any] = json.loads(value)
        return int(raw["q"]), Evidence(str(raw["o"]), str(raw.get("p", "")), int(raw.get("s", 0)), int(raw.get("e", 0)))
    except (ValueError, KeyError, TypeError):
        return None


def answer_actions(answer: Answer, *, question_id: int, shareable: bool) -> list[Block]:
    """Feedback (a context_actions block), then the watch button and, if ``shareable``, share."""
    lang = answer.language

    def vote(key: str, value: int) -> FeedbackButtonObject:
        return FeedbackButtonObject(text=PlainTextObject(text=t(key, lang)), value=feedback_value(question_id, value),
                                    accessibility_label=t(key, lang))

    feedback = ContextActionsBlock(block_id=FEEDBACK_BLOCK_ID, elements=[FeedbackButtonsElement(
        action_id=FEEDBACK_ACTION, positive_button=vote("helpful", 1), negative_button=vote("not_helpful", -1))])
    buttons = [ButtonElement(text=PlainTextObject(text=t("watch_button", lang), emoji=True), action_id=WATCH_ACTION,
                             value=watch_value(question_id, evidence_of(answer)))]
    if shareable:
        buttons.append(ButtonElement(text=PlainTextObject(text=t("share_button", lang)), action_id=SHARE_ACTION,
                                     value=str(question_id)))
    return [feedback, ActionsBlock(block_id=ACTIONS_BLOCK_ID, elements=buttons)]
