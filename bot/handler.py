"""What happens to a question once a listener has acked it: dedupe, limit, ask, render, reply.

Every path ends in a visible reply (answer, notice or short error) and the working reaction is
removed in ``finally``; details of unexpected failures go to the log, never to Slack.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import DEFAULT_WORKERS
from bot.progress import Progress
from bot.ratelimit import UserRateLimiter
from bot.render import Message, answer_message, notice_message
from bot.state.protocols import EventClaims, QuestionLog, ThreadTurns
from bot.state.records import QuestionRecord, message_key
from bot.texts import fallback_note, t
from retrieval.errors import (
    EmbeddingError,
    EmptyQuestionError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    RetrievalError,
)
from retrieval.logsafe import loggable
from retrieval.text import clip_question, detect_language
from retrieval.types import Answer

logger = logging.getLogger(__name__)

WORKING_REACTION = "hourglass_flowing_sand"
# What a person is told for each kind of retrieval failure (bot/texts.py); the error's own message,
# which may name server paths, goes to the log only.
_REASON_KEYS: tuple[tuple[type[RetrievalError], str], ...] = (
    (IndexMissingError, "error_index_missing"),
    (IndexMismatchError, "error_index_broken"),
    (IndexCorruptError, "error_index_broken"),
    (EmbeddingError, "error_embedding"),
)
REACTION_WAIT_S = 30.0  # upper bound on waiting for the "add" before removing the reaction
Respond = Callable[..., Any]  # Bolt's ``respond`` (posts to the interaction's response_url)


class Answerer(Protocol):
    """The one method the bot needs from retrieval (``retrieval.service.QAService`` has it)."""

    def ask(
        self, question: str, *, history: Sequence[str] = (), on_partial: Callable[[str], None] | None = None
    ) -> Answer: ...


class QuestionState(EventClaims, ThreadTurns, QuestionLog, Protocol):
    """The state answering reads and writes: the claim, the thread's turns, the log and the votes."""


@dataclass(frozen=True)
class Incoming:
    """A message addressed to the bot; ``thread_ts`` is where the reply goes."""

    team: str
    channel: str
    user: str
    ts: str
    thread_ts: str
    text: str  # bot mention already removed
    has_files: bool
    source: str  # mention | dm | thread
    bot_user_id: str = ""


class QuestionHandler:
    def __init__(
        self,
        *,
        answerer: Answerer,
        store: QuestionState,
        limiter: UserRateLimiter,
        max_question_chars: int,
        workers: int = DEFAULT_WORKERS,
    ) -> None:
        self.answerer = answerer
        self.store = store
        self.limiter = limiter
        self.max_question_chars = max_question_chars
        # Questions answered in parallel (BOT_WORKERS); separate from Bolt's listener threads.
        self._answering = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bot-answer")
        self._reactions = ThreadPoolExecutor(max_workers=4, thread_name_prefix="bot-reactions")
        # Placeholder and partial-answer updates while a language model writes (bot/progress.py).
        self._progress = ThreadPoolExecutor(max_workers=4, thread_name_prefix="bot-progress")

    @property
    def streams(self) -> bool:
        """Whether answers come from a language model (then a placeholder shows the partial answer)."""
        return getattr(self.answerer, "llm", None) is not None

    def knows_thread(self, *, team: str, channel: str, thread_ts: str) -> bool:
        history = self.store.thread_history(team=team, channel=channel, thread_ts=thread_ts, before_ts="inf")
        return history is not None

    # -- mentions, DMs, thread follow-ups ---------------------------------------------------------

    def handle_message(self, msg: Incoming, client: WebClient) -> None:
        """Answer ``msg`` in its thread, exactly once per (team, channel, ts) even across restarts.

        The claim is taken here; the answering runs on this handler's own pool, so Bolt's listener
        threads stay free to ack slash commands and button clicks within Slack's 3 s.
        """
        received = time.perf_counter()
        lang = detect_language(msg.text) if msg.text else "en"

        def post(message: Message) -> None:
            client.chat_postMessage(channel=msg.channel, thread_ts=msg.thread_ts, **message.to_kwargs())

        try:
            if not self.store.claim(message_key(msg.team, msg.channel, msg.ts)):
                logger.info("message %s/%s already handled; not answering twice", msg.channel, msg.ts)
                return
        except Exception as err:  # the state database failing: say so rather than risk a double reply
            self._post_safely(post, notice_message(self._error_text(err, lang)))
            return
        self._answering.submit(self._answer_message, msg, client, post, lang, received)

    def _answer_message(
        self, msg: Incoming, client: WebClient, post: Callable[[Message], None], lang: str, received: float
    ) -> None:
        try:
            self._handle_claimed(msg, client, post, lang, received)
        except Exception as err:  # e.g. the state database failing: still say so in the thread
            self._post_safely(post, notice_message(self._error_text(err, lang)))

    def _handle_claimed(
        self, msg: Incoming, client: WebClient, post: Callable[[Message], None], lang: str, received: float
    ) -> None:
        if not msg.text:
            key = "files_only" if msg.has_files else "help"
            self._post_safely(post, notice_message(t(key, lang, bot=f"<@{msg.bot_user_id}>")))
            return
        if not self.limiter.allow(msg.user):
            self._post_safely(post, notice_message(t("rate_limited", lang, limit=self.limiter.per_minute)))
            return

        question, notes = self._prepare(msg.text, lang, has_files=msg.has_files)
        history = self.store.thread_history(team=msg.team, channel=msg.channel, thread_ts=msg.thread_ts, before_ts=msg.ts)
        self.store.add_turn(
            team=msg.team, channel=msg.channel, thread_ts=msg.thread_ts, ts=msg.ts, user=msg.user, question=question
        )
        # The reaction is added in the background so its round trip to Slack is not on the answer's
        # critical path; it is removed only after the add finished (else the remove could overtake it).
        added = self._reactions.submit(self._reaction, client, "add", msg)
        record = dict(team=msg.team, channel=msg.channel, thread_ts=msg.thread_ts, user=msg.user, source=msg.source)
        on_partial = None
        if self.streams:
            progress = Progress(client, channel=msg.channel, thread_ts=msg.thread_ts, language=lang,
                                pool=self._progress, post=post)
            progress.start()
            post, on_partial = progress.finish, progress.partial
        try:
            help_text = t("help", lang, bot=f"<@{msg.bot_user_id}>")
            self._answer(question, history or [], notes, record, received, post, lang, help_text, on_partial)
        finally:
            wait([added], timeout=REACTION_WAIT_S)
            self._reaction(client, "remove", msg)

    # -- /ask ---------------------------------------------------------------------------------------

    def handle_command(self, *, team: str, channel: str, user: str, text: str, respond: Respond) -> None:
        """Answer a slash command privately through its response_url (the listener has acked)."""
        self._answering.submit(self._answer_command, team, channel, user, text, respond, time.perf_counter())

    def _answer_command(self, team: str, channel: str, user: str, text: str, respond: Respond, received: float) -> None:
        def post(message: Message) -> None:
            respond(response_type="ephemeral", replace_original=False, **message.to_kwargs())

        text = text.strip()
        lang = detect_language(text) if text else "en"
        if not text:
            self._post_safely(post, notice_message(t("help", lang, bot="industry-qa")))
            return
        if not self.limiter.allow(user):
            self._post_safely(post, notice_message(t("rate_limited", lang, limit=self.limiter.per_minute)))
            return
        question, notes = self._prepare(text, lang, has_files=False)
        record = dict(team=team, channel=channel, thread_ts="", user=user, source="command")
        self._answer(question, [], notes, record, received, post, lang, t("help", lang, bot="industry-qa"))

    # -- 👍 / 👎 ------------------------------------------------------------------------------------

    def handle_feedback(self, *, raw_question_id: str, user: str, value: int, language: str, respond: Respond) -> None:
        try:
            stored = self.store.record_feedback(question_id=int(raw_question_id), user=user, value=value)
            key = ("feedback_up" if value > 0 else "feedback_down") if stored else "feedback_unknown"
        except ValueError:  # a button value that is not a question id
            key = "feedback_unknown"
        except Exception:
            logger.exception("could not store feedback")
            key = "error_generic"
        self._post_safely(
            lambda m: respond(response_type="ephemeral", replace_original=False, **m.to_kwargs()),
            notice_message(t(key, language)),
        )

    # -- helpers ------------------------------------------------------------------------------------

    def _answer(
        self,
        question: str,
        history: Sequence[str],
        notes: list[str],
        record: dict[str, str],
        received: float,
        post: Callable[[Message], None],
        lang: str,
        help_text: str,
        on_partial: Callable[[str], None] | None = None,
    ) -> None:
        logged = False
        try:
            if on_partial is not None:
                answer = self.answerer.ask(question, history=history, on_partial=on_partial)
            else:
                answer = self.answerer.ask(question, history=history)
            question_id = self._log(record, question, answer, received)
            logged = True
            note = fallback_note(answer)  # why the model was not used, if it was asked
            shown_notes = [*notes, note] if note else notes
            post(answer_message(answer, question_id=question_id, notes=shown_notes))
        except EmptyQuestionError as err:  # e.g. "@bot ???": nothing to search for, so show the help
            self._log(record, question, None, received, error=err)
            self._post_safely(post, notice_message(help_text))
        except Exception as err:  # every failure still ends in a visible reply
            if not logged:
                self._log(record, question, None, received, error=err)
            self._post_safely(post, notice_message(self._error_text(err, lang)))

    def _prepare(self, text: str, lang: str, *, has_files: bool) -> tuple[str, list[str]]:
        question, was_cut = clip_question(text, self.max_question_chars)
        notes = [t("question_cut", lang, limit=self.max_question_chars)] if was_cut else []
        if has_files:
            notes.append(t("files_ignored", lang))
        return question, notes

    @staticmethod
    def _error_text(err: Exception, lang: str) -> str:
        if isinstance(err, RetrievalError):  # its message may name server paths: the log gets it, Slack a reason
            logger.warning("retrieval failed: %s: %s", type(err).__name__, loggable(err))
            key = next((k for kind, k in _REASON_KEYS if isinstance(err, kind)), "error_search")
            return t("error_retrieval", lang, reason=t(key, lang))
        logger.error("answering failed", exc_info=err)
        return t("error_generic", lang)

    def _log(
        self, record: dict[str, str], question: str, answer: Answer | None, received: float, *, error: Exception | None = None
    ) -> int | None:
        try:
            return self.store.log_question(
                QuestionRecord(
                    **record,
                    question=question,
                    language=answer.language if answer else detect_language(question),
                    refused=answer.refused if answer else False,
                    n_citations=len(answer.citations) if answer else 0,
                    latency_ms=(time.perf_counter() - received) * 1000,
                    timings_ms=dict(answer.timings_ms) if answer else {},
                    error=type(error).__name__ if error else None,
                    mode=answer.mode if answer else None,
                    prompt_tokens=answer.usage.get("prompt_tokens") if answer else None,
                    completion_tokens=answer.usage.get("completion_tokens") if answer else None,
                    note=fallback_note(answer) if answer else "",
                )
            )
        except Exception:  # the log must never cost the user their answer
            logger.exception("could not write the question log")
            return None

    @staticmethod
    def _post_safely(post: Callable[[Message], None], message: Message) -> None:
        try:
            post(message)
        except Exception:
            logger.exception("could not deliver a reply to Slack")

    @staticmethod
    def _reaction(client: WebClient, action: str, msg: Incoming) -> None:
        """The working indicator; a failure here (e.g. a missing scope) must not stop the answer."""
        try:
            if action == "add":
                client.reactions_add(channel=msg.channel, timestamp=msg.ts, name=WORKING_REACTION)
            else:
                client.reactions_remove(channel=msg.channel, timestamp=msg.ts, name=WORKING_REACTION)
        except SlackApiError as err:
            logger.warning("reactions.%s failed: %s", action, err.response.get("error"))
        except Exception:
            logger.exception("reactions.%s failed", action)
