"""What happens to a question once a listener has acked it: dedupe, limit, ask, render, reply.

Every path ends in a visible reply (answer, notice or short error) and the working reaction is
removed in ``finally``; details of unexpected failures go to the log, never to Slack.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import wait
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import metrics
from bot.config import DEFAULT_WORKERS
from bot.logs import ContextPool, new_question_id, question_context
from bot.progress import Progress
from bot.ratelimit import UserRateLimiter
from bot.render import Message, answer_message, notice_message
from bot.state.protocols import EventClaims, KeptAnswers, QuestionLog, ThreadTurns
from bot.state.records import QuestionRecord, default_outcome, message_key
from bot.texts import fallback_note, t
from bot.turn import Incoming, Turn
from retrieval.errors import (
    EmbeddingError,
    EmptyQuestionError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    RetrievalError,
)
from retrieval.logsafe import loggable
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


class QuestionState(EventClaims, ThreadTurns, QuestionLog, KeptAnswers, Protocol):
    """The state answering reads and writes: the claim, the thread's turns, the log, the votes and
    the private answers kept for sharing."""


class QuestionHandler:
    def __init__(
        self,
        *,
        answerer: Answerer,
        store: QuestionState,
        limiter: UserRateLimiter,
        workers: int = DEFAULT_WORKERS,
    ) -> None:
        self.answerer = answerer
        self.store = store
        self.limiter = limiter
        # Questions answered in parallel (BOT_WORKERS); separate from Bolt's listener threads. The
        # pools carry the question id into their threads (bot/logs.py).
        self._answering = ContextPool(max_workers=workers, thread_name_prefix="bot-answer")
        self._reactions = ContextPool(max_workers=4, thread_name_prefix="bot-reactions")
        # Placeholder and partial-answer updates while a language model writes (bot/progress.py).
        self._progress = ContextPool(max_workers=4, thread_name_prefix="bot-progress")

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
        turn = Turn.of_message(msg)

        def post(message: Message) -> None:
            if turn.ephemeral:
                client.chat_postEphemeral(channel=turn.channel, user=turn.user, thread_ts=turn.thread_ts,
                                          **message.to_kwargs())
            else:
                client.chat_postMessage(channel=turn.channel, thread_ts=turn.thread_ts, **message.to_kwargs())

        with question_context(new_question_id()):
            try:
                if not self.store.claim(message_key(turn.team, turn.channel, turn.ts)):
                    logger.info("message %s/%s already handled; not answering twice", turn.channel, turn.ts)
                    return
            except Exception as err:  # the state database failing: say so rather than risk a double reply
                self._post_safely(post, notice_message(self._error_text(err, turn.language)))
                return
            logger.info("%s question in %s/%s (ts %s)", turn.source, turn.channel, turn.thread_ts, turn.ts)
            self._answering.submit(self._answer_message, turn, client, post)

    def _answer_message(self, turn: Turn, client: WebClient, post: Callable[[Message], None]) -> None:
        try:
            self._handle_claimed(turn, client, post)
        except Exception as err:  # e.g. the state database failing: still say so in the thread
            self._post_safely(post, notice_message(self._error_text(err, turn.language)))

    def _handle_claimed(self, turn: Turn, client: WebClient, post: Callable[[Message], None]) -> None:
        if not turn.text:
            key = "files_only" if turn.has_files else "help"
            self._post_safely(post, notice_message(t(key, turn.language, bot=turn.mention)))
            return
        if not self._allowed(turn, post):
            return
        history = self.store.thread_history(team=turn.team, channel=turn.channel, thread_ts=turn.thread_ts,
                                            before_ts=turn.ts)
        self.store.add_turn(team=turn.team, channel=turn.channel, thread_ts=turn.thread_ts, ts=turn.ts, user=turn.user,
                            question=turn.text)
        # The reaction is added in the background so its round trip to Slack is not on the answer's
        # critical path; it is removed only after the add finished (else the remove could overtake it).
        added = self._reactions.submit(self._reaction, client, "add", turn)
        on_partial = None
        if self.streams and not turn.ephemeral:  # an ephemeral message cannot be updated in place
            progress = Progress(client, channel=turn.channel, thread_ts=turn.thread_ts, language=turn.language,
                                pool=self._progress, post=post)
            progress.start()
            post, on_partial = progress.finish, progress.partial
        try:
            self._answer(turn, history=history or [], post=post, on_partial=on_partial)
        finally:
            wait([added], timeout=REACTION_WAIT_S)
            self._reaction(client, "remove", turn)

    # -- /ask ---------------------------------------------------------------------------------------

    def handle_command(self, turn: Turn, respond: Respond) -> None:
        """Answer a slash command privately through its response_url (the listener has acked)."""
        with question_context(new_question_id()):
            logger.info("%s question in %s", turn.source, turn.channel)
            self._answering.submit(self._answer_command, turn, respond)

    def _answer_command(self, turn: Turn, respond: Respond) -> None:
        def post(message: Message) -> None:
            respond(response_type="ephemeral", replace_original=False, **message.to_kwargs())

        if not turn.text:
            self._post_safely(post, notice_message(t("help", turn.language, bot=turn.mention)))
            return
        if self._allowed(turn, post):
            self._answer(turn, history=[], post=post)

    # -- helpers ------------------------------------------------------------------------------------

    def _allowed(self, turn: Turn, post: Callable[[Message], None]) -> bool:
        """The per-user limit; when it is reached the person is told so."""
        if self.limiter.allow(turn.user):
            return True
        self._post_safely(post, notice_message(t("rate_limited", turn.language, limit=self.limiter.per_minute)))
        return False

    def _answer(self, turn: Turn, *, history: Sequence[str], post: Callable[[Message], None],
                on_partial: Callable[[str], None] | None = None) -> None:
        logged = False
        try:
            if on_partial is not None:
                answer = self.answerer.ask(turn.text, history=history, on_partial=on_partial)
            else:
                answer = self.answerer.ask(turn.text, history=history)
            question_id = self._log(turn, answer)
            logged = True
            notes = self._notes(turn, answer)
            if turn.private and question_id is not None:
                self._keep(turn, question_id, answer_message(answer, question_id=question_id, notes=notes))
            post(answer_message(answer, question_id=question_id, notes=notes, shareable=turn.private))
        except EmptyQuestionError as err:  # e.g. "@bot ???": nothing to search for, so show the help
            self._log(turn, None, error=err)
            self._post_safely(post, notice_message(t("help", turn.language, bot=turn.mention)))
        except Exception as err:  # every failure still ends in a visible reply
            if not logged:
                self._log(turn, None, error=err)
            self._post_safely(post, notice_message(self._error_text(err, turn.language)))

    def _keep(self, turn: Turn, question_id: int, shared: Message) -> None:
        """A private answer as "Share to channel" will post it; losing it only costs the sharing."""
        try:
            self.store.keep_answer(question_id=question_id, user=turn.user, message=shared.to_kwargs())
        except Exception:
            logger.exception("could not keep the answer for sharing")

    @staticmethod
    def _notes(turn: Turn, answer: Answer) -> list[str]:
        """Under the answer: what of the message was not used, and why a model's answer was not."""
        notes = [t("question_cut", answer.language, limit=answer.clipped_to)] if answer.clipped_to else []
        if turn.has_files:
            notes.append(t("files_ignored", answer.language))
        note = fallback_note(answer)
        return [*notes, note] if note else notes

    @staticmethod
    def _error_text(err: Exception, lang: str) -> str:
        if isinstance(err, RetrievalError):  # its message may name server paths: the log gets it, Slack a reason
            logger.warning("retrieval failed: %s: %s", type(err).__name__, loggable(err))
            key = next((k for kind, k in _REASON_KEYS if isinstance(err, kind)), "error_search")
            return t("error_retrieval", lang, reason=t(key, lang))
        logger.error("answering failed", exc_info=err)
        return t("error_generic", lang)

    def _log(self, turn: Turn, answer: Answer | None, *, error: Exception | None = None) -> int | None:
        """Write the question log and count the question in the metrics; never raises."""
        latency_s = time.perf_counter() - turn.received
        refused = answer.refused if answer else False
        # the answer's own three-way outcome where retrieval gives one (answered / closest / refused)
        outcome = "error" if error else getattr(answer, "outcome", "") or default_outcome(refused=refused, error=None)
        metrics.question_handled(surface=turn.source, outcome=outcome, latency_s=latency_s,
                                 fallback=answer.fallback.code if answer and answer.fallback else "")
        try:
            question_id: int | None = self.store.log_question(
                QuestionRecord(
                    team=turn.team,
                    channel=turn.channel,
                    thread_ts=turn.thread_ts,
                    user=turn.user,
                    source=turn.source,
                    question=answer.question if answer else turn.text,
                    language=answer.language if answer else turn.language,
                    refused=refused,
                    n_citations=len(answer.citations) if answer else 0,
                    latency_ms=latency_s * 1000,
                    timings_ms=dict(answer.timings_ms) if answer else {},
                    error=type(error).__name__ if error else None,
                    mode=answer.mode if answer else None,
                    prompt_tokens=answer.usage.get("prompt_tokens") if answer else None,
                    completion_tokens=answer.usage.get("completion_tokens") if answer else None,
                    note=fallback_note(answer) if answer else "",
                    outcome=outcome,
                )
            )
        except Exception:  # the log must never cost the user their answer
            logger.exception("could not write the question log")
            question_id = None
        logger.info("question %s in %.0f ms (log id %s)", outcome, latency_s * 1000, question_id)
        return question_id

    @staticmethod
    def _post_safely(post: Callable[[Message], None], message: Message) -> None:
        try:
            post(message)
        except Exception:
            logger.exception("could not deliver a reply to Slack")

    @staticmethod
    def _reaction(client: WebClient, action: str, turn: Turn) -> None:
        """The working indicator; a failure here (e.g. a missing scope) must not stop the answer."""
        try:
            if action == "add":
                client.reactions_add(channel=turn.channel, timestamp=turn.ts, name=WORKING_REACTION)
            else:
                client.reactions_remove(channel=turn.channel, timestamp=turn.ts, name=WORKING_REACTION)
        except SlackApiError as err:
            logger.warning("reactions.%s failed: %s", action, err.response.get("error"))
        except Exception:
            logger.exception("reactions.%s failed", action)
