"""Clicks on an answer's controls: native feedback (a 👎 opens the optional "what was wrong?"
form), "Tell me when this changes" (saves the question with the evidence the person saw), "Stop
alerts" on a change alert, and "Share to channel" (posts the kept answer, attributed to the asker;
from the assistant panel a form asks which channel).

Every click is acked at once and answered privately; a value that cannot be read, an answer that
is gone or a Slack refusal ends in a short message, never a traceback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from bot.alerts.generations import ArticleLookup
from bot.alerts.render import UNSAVE_ACTION
from bot.answer_actions import (
    FEEDBACK_ACTION,
    LEGACY_FEEDBACK_DOWN,
    LEGACY_FEEDBACK_UP,
    SHARE_ACTION,
    WATCH_ACTION,
    read_feedback,
    read_watch,
)
from bot.control_forms import REASON_VIEW, SHARE_VIEW, read_reason, read_share, reason_view, share_view
from bot.evidence import source_line
from bot.handler import Respond
from bot.render import Message, context, escape_mrkdwn, notice_message, truncate
from bot.state.protocols import (
    AssistantThreads,
    FeedbackReasons,
    KeptAnswers,
    QuestionLog,
    SavedQuestions,
    ThreadTurns,
    UserQuestions,
)
from bot.state.records import Evidence, FeedbackReason, StoredQuestion
from bot.texts import t
from retrieval.text import detect_language

logger = logging.getLogger(__name__)


class ControlState(QuestionLog, FeedbackReasons, UserQuestions, ThreadTurns, SavedQuestions, KeptAnswers,
                   AssistantThreads, Protocol):
    """What the controls read and write."""


class AnswerControls:
    def __init__(self, *, store: ControlState, articles: ArticleLookup, max_saved_per_user: int) -> None:
        self.store = store
        self.articles = articles
        self.max_saved_per_user = max_saved_per_user

    # -- feedback ---------------------------------------------------------------------------------
    def vote(self, *, value: str, user: str, lang: str, legacy_vote: int = 0) -> tuple[str, int | None]:
        """Store a vote; (what to tell the person, the question id when a 👎 should open the form)."""
        parsed = (int(value), legacy_vote) if legacy_vote and value.isdigit() else read_feedback(value)
        if parsed is None:
            return "feedback_unknown", None
        question_id, vote = parsed
        if not self.store.record_feedback(question_id=question_id, user=user, value=vote):
            return "feedback_unknown", None
        return ("feedback_up", None) if vote > 0 else ("feedback_down", question_id)

    def reason(self, view: dict[str, Any], user: str) -> None:
        read = read_reason(view)
        if read is not None:
            question_id, code, text = read
            self.store.record_feedback_reason(FeedbackReason(question_id, user, code, text, time.time()))

    # -- tell me when this changes ----------------------------------------------------------------
    def watch(self, *, value: str, team: str, user: str) -> tuple[str, str]:
        """Save the question for ``user``; (text key, language) of the reply."""
        parsed = read_watch(value)
        stored = self.store.question(parsed[0]) if parsed is not None else None
        if parsed is None or stored is None:
            return "watch_unknown", "en"
        evidence, lang = parsed[1], stored.record.language
        excerpt, source = self._excerpt(evidence)
        saved = self.store.save_question(team=team, user=user, question=self._standalone(stored), language=lang,
                                         evidence=evidence, excerpt=excerpt, source=source, now=time.time(),
                                         max_per_user=self.max_saved_per_user)
        return ("watch_saved" if saved is not None else "watch_full"), lang

    def _excerpt(self, evidence: Evidence) -> tuple[str, str]:
        doc = self.articles.get(evidence.path) if evidence.path else None
        if doc is None:
            return "", ""
        excerpt = str(doc.get("text", ""))[evidence.start:evidence.end]
        return excerpt, source_line(str(doc.get("title", "")), str(doc.get("outlet", "")), str(doc.get("published", "")))

    def _standalone(self, stored: StoredQuestion) -> str:
        """A thread's follow-up is saved with the thread's earlier questions (how retrieval read it)."""
        from retrieval.service import standalone_question

        r = stored.record
        turns = self.store.thread_history(team=r.team, channel=r.channel, thread_ts=r.thread_ts, before_ts="inf") \
            if r.thread_ts else None
        if not turns or r.question not in turns:
            return r.question
        earlier = turns[: len(turns) - 1 - turns[::-1].index(r.question)]
        return standalone_question(r.question, earlier)

    # -- share to channel -------------------------------------------------------------------------
    def shared_message(self, question_id: int, user: str) -> Message | str:
        """The message to post, or the key of why it cannot be shared."""
        kept = self.store.kept_answer(question_id)
        stored = self.store.question(question_id)
        if kept is None or stored is None:
            return "share_unknown"
        if kept.user != user:
            return "share_not_yours"
        question = escape_mrkdwn(truncate(stored.record.question, 300))
        shown = kept.message.get("blocks")
        blocks = [context([t("shared_by", stored.record.language, user=user, question=question)]),
                  *Block.parse_all(shown if isinstance(shown, list) else [])]
        return Message(text=str(kept.message.get("text", "")), blocks=blocks)


def register_answer_controls(app: App, controls: AnswerControls) -> None:
    def private(respond: Respond) -> Callable[[str], None]:
        def say(text: str) -> None:
            try:
                respond(response_type="ephemeral", replace_original=False, **notice_message(text).to_kwargs())
            except Exception:
                logger.exception("could not answer a click")

        return say

    def on_vote(legacy_vote: int) -> Callable[..., None]:
        def listener(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient) -> None:
            ack()
            lang = _message_language(body)
            key, form_for = controls.vote(value=str(action.get("value", "")), user=_user(body), lang=lang,
                                          legacy_vote=legacy_vote)
            if form_for is not None:
                try:
                    client.views_open(trigger_id=str(body.get("trigger_id", "")), view=reason_view(form_for, lang))
                    return
                except SlackApiError as err:  # the form is optional: the vote is stored, say so instead
                    logger.warning("could not open the feedback form: %s", err.response.get("error"))
            private(respond)(t(key, lang))

        return listener

    app.action(FEEDBACK_ACTION)(on_vote(0))
    app.action(LEGACY_FEEDBACK_UP)(on_vote(+1))
    app.action(LEGACY_FEEDBACK_DOWN)(on_vote(-1))

    @app.view(REASON_VIEW)
    def on_reason(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ack()
        controls.reason(view, _user(body))

    @app.action(WATCH_ACTION)
    def on_watch(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, context: BoltContext) -> None:
        ack()
        key, lang = controls.watch(value=str(action.get("value", "")), team=context.team_id or "", user=_user(body))
        private(respond)(t(key, lang, limit=controls.max_saved_per_user))

    @app.action(UNSAVE_ACTION)
    def on_unsave(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        value = str(action.get("value", ""))
        removed = value.isdigit() and controls.store.remove_saved(int(value), user=_user(body))
        private(respond)(t("watch_stopped" if removed else "watch_unknown", _message_language(body)))

    @app.action(SHARE_ACTION)
    def on_share(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient) -> None:
        ack()
        value, user, lang = str(action.get("value", "")), _user(body), _message_language(body)
        channel = str((body.get("channel") or body.get("container") or {}).get("id", "")
                      or (body.get("container") or {}).get("channel_id", ""))
        if not value.isdigit():
            private(respond)(t("share_unknown", lang))
            return
        if channel.startswith("D"):  # a DM or the assistant panel: ask where to share
            thread = str((body.get("message") or {}).get("thread_ts") or (body.get("container") or {}).get("thread_ts", ""))
            suggested = (controls.store.assistant_thread(channel=channel, thread_ts=thread) or {}).get("channel_id", "")
            client.views_open(trigger_id=str(body.get("trigger_id", "")), view=share_view(
                int(value), lang=lang, reply_channel=channel, reply_thread=thread, suggested=suggested))
            return
        private(respond)(_share(client, controls, int(value), user=user, channel=channel, lang=lang))

    @app.view(SHARE_VIEW)
    def on_share_to(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        ack()
        read = read_share(view)
        if read is None:
            return
        meta, channel = read
        said = _share(client, controls, int(meta["q"]), user=_user(body), channel=channel, lang=meta.get("lang", "en"))
        try:
            client.chat_postMessage(channel=meta["channel"], thread_ts=meta.get("thread") or None,
                                    **notice_message(said).to_kwargs())
        except SlackApiError as err:
            logger.warning("shared; could not say so in the panel: %s", err.response.get("error"))


def _share(client: WebClient, controls: AnswerControls, question_id: int, *, user: str, channel: str, lang: str) -> str:
    """Post the kept answer to ``channel``; the words to tell the person."""
    message = controls.shared_message(question_id, user)
    if isinstance(message, str):
        return t(message, lang)
    try:
        client.chat_postMessage(channel=channel, unfurl_links=False, **message.to_kwargs())
    except SlackApiError as err:
        code = err.response.get("error") if err.response else ""
        logger.warning("sharing answer %d failed: %s", question_id, code)
        key = "share_not_in_channel" if code in ("not_in_channel", "channel_not_found") else "share_failed"
        return t(key, lang, channel=channel)
    return t("share_done", lang, channel=channel)


def _user(body: Mapping[str, Any]) -> str:
    return str((body.get("user") or {}).get("id", ""))


def _message_language(body: Mapping[str, Any]) -> str:
    """The language of the message a control belongs to, from its fallback text."""
    text = str((body.get("message") or {}).get("text") or "")
    return detect_language(text) if text else "en"
