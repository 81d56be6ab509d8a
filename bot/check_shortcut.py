"""The "Check against the corpus" message shortcut: the selected message (a claim, or a pasted
link's headline) is asked as a question and answered privately, like ``/ask``.

``claim_text`` is pure: Slack markup is reduced to what a person reads (a link's label, not its
URL; no user or channel mentions), and a message that is only a link is read from its unfurl's
title.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot.handler import QuestionHandler, Respond
from bot.render import notice_message
from bot.texts import t
from bot.turn import Turn

CHECK_SHORTCUT = "check_against_corpus"
_LABELLED_LINK = re.compile(r"<(?:https?|mailto):[^|>]*\|([^>]*)>")
_MARKUP = re.compile(r"<[^>]*>")


def claim_text(message: Mapping[str, Any]) -> str:
    """What the message says, for asking: its text without markup, else its unfurls' titles."""
    text = _LABELLED_LINK.sub(r"\1", str(message.get("text") or ""))
    text = " ".join(_MARKUP.sub(" ", text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").split())
    if any(ch.isalnum() for ch in text):
        return text
    titles = [str(a.get("title") or "") for a in message.get("attachments") or [] if isinstance(a, Mapping)]
    return " ".join(" ".join(titles).split())


def register_check_shortcut(app: App, handler: QuestionHandler) -> None:
    @app.shortcut(CHECK_SHORTCUT)
    def on_check(ack: Ack, shortcut: dict[str, Any], respond: Respond, context: BoltContext) -> None:
        ack()
        text = claim_text(shortcut.get("message") or {})
        if not text:
            respond(response_type="ephemeral", replace_original=False,
                    **notice_message(t("check_empty", "en")).to_kwargs())
            return
        turn = Turn.of_command(team=context.team_id or "", channel=str((shortcut.get("channel") or {}).get("id", "")),
                               user=str((shortcut.get("user") or {}).get("id", "")), text=text,
                               mention="@industry-qa", source="check")
        handler.handle_command(turn, respond)

