"""What happens to a question once a listener has acked it: claim, limit, ask, render, reply.

Every path ends in a reply the asker sees: the answer in the thread, or a notice (the help in the
thread; limits and errors shown to the asker alone). A claimed question stays pending in the state
store until its reply is posted, so a process that stops first leaves it for the next start-up
(bot/recovery.py). The working reaction is removed in ``finally``; details of unexpected failures go
to the log, never to Slack, and a failing state database is logged once (bot/state_alarm.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import DEFAULT_WORKERS, DEFAULT_WORKING_REACTION_AFTER_MS
from bot.delivery import Delivery, DeliveryFailed, Reply
from bot.logs import ContextPool, new_question_id, question_context
from bot.progress import Progress
from bot.question_log import finish_question, log_question
from bot.ratelimit import UserRateLimiter
from bot.render import Message, answer_message, notice_message, short_answer_message
from bot.shutdown import process_owner
from bot.state.protocols import EventClaims, KeptAnswers, PendingQuestions, QuestionLog, ThreadTurns
from bot.state.records import PendingQuestion
from bot.state_alarm import StateAlarm, is_state_failure
from bot.texts import fallback_note, t
from bot.turn import Incoming, Turn, asks_for_help
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
# What a person is told for each kind of retrieval failure (bot/texts); the error's own message,
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


class QuestionState(EventClaims, ThreadTurns, QuestionLog, PendingQuestions, KeptAnswers, Protocol):
    """The state answering reads and writes: the claim, pending questions, the thread's turns, the
    log, the votes and the private answers kept for sharing."""


class QuestionHandler:
    def __init__(
        self,
        *,
        answerer: Answerer,
        store: QuestionState,
        limiter: UserRateLimiter,
        workers: int = DEFAULT_WORKERS,
        alarm: StateAlarm | None = None,
        working_reaction_after_s: float = DEFAULT_WORKING_REACTION_AFTER_MS / 1000,
    ) -> None:
        self.answerer = answerer
        self.store = store
        self.limiter = limiter
        self.alarm = alarm if alarm is not None else StateAlarm()
        self.owner = process_owner()
        self.working_reaction_after_s = working_reaction_after_s
        # Questions answered in parallel (BOT_WORKERS); separate from Bolt's listener threads. The
        # pools carry the question id into their threads (bot/logs.py).
        self._answering = ContextPool(max_workers=workers, thread_name_prefix="bot-answer")
        self._reactions = ContextPool(max_workers=max(4, workers), thread_name_prefix="bot-reactions")
        # Placeholder and partial-answer updates while a language model writes (bot/progress.py).
        self._progress = ContextPool(max_workers=4, thread_name_prefix="bot-progress")

    @property
    def pools(self) -> list[ThreadPoolExecutor]:
        """The pools a stopping process drains, answering pool first (bot/shutdown.py)."""
        return [self._answering, self._progress, self._reactions]

    @property
    def streams(self) -> bool:
        """Whether answers come from a language model (then a placeholder shows the partial answer)."""
        return getattr(self.answerer, "llm", None) is not None

    def knows_thread(self, *, team: str, channel: str, thread_ts: str) -> bool:
        try:
            history = self.store.thread_history(team=team, channel=channel, thread_ts=thread_ts, before_ts="inf")
        except Exception as err:  # without the database a follow-up cannot be told from chatter: stay quiet
            self.alarm.failed(err)
            return False
        return history is not None

    # -- mentions, DMs, thread follow-ups ---------------------------------------------------------

    def handle_message(self, msg: Incoming, client: WebClient) -> None:
        """Answer ``msg`` in its thread, exactly once per (team, channel, ts) even across restarts.

        The claim is taken here; the answering runs on this handler's own pool, so Bolt's listener
        threads stay free to ack slash commands and button clicks within Slack's 3 s.
        """
        turn = Turn.of_message(msg)
        delivery = self._delivery(turn, client)
        with question_context(new_question_id()):
            try:
                if not self.store.claim(turn.key):
                    logger.info("message %s/%s already handled; not answering twice", turn.channel, turn.ts)
                    return
                self.store.add_pending(turn.pending(owner=self.owner, now=time.time()))
            except Exception as err:  # the state database failing: a short notice rather than a double reply
                self.alarm.failed(err)
                self._notify_safely(delivery, t("state_unavailable", turn.language))
                return
            self.alarm.ok()
            logger.info("%s question in %s/%s (ts %s)", turn.source, turn.channel, turn.thread_ts, turn.ts)
            self._answering.submit(self._answer_message, turn, client, delivery)

    def resume(self, pending: PendingQuestion, client: WebClient, *, bot_user_id: str) -> None:
        """Answer a question that a stopped process claimed but did not answer. If it was already
        posting the reply, the thread is searched first: a reply found there is not posted again."""
        turn = Turn.of_pending(pending, bot_user_id=bot_user_id)
        delivery = self._delivery(turn, client)
        with question_context(new_question_id()):
            if pending.posting and delivery.own_reply() is not None:
                logger.info("%s was answered before the restart", turn.key)
                self._reaction(client, "remove", turn)
                self._forget(turn)
                return
            logger.info("%s question in %s/%s (ts %s), left unanswered by a stopped process", turn.source,
                        turn.channel, turn.thread_ts, turn.ts)
            self._answering.submit(self._answer_message, turn, client, delivery)

    def _delivery(self, turn: Turn, client: WebClient) -> Delivery:
        return Delivery(client, channel=turn.channel, thread_ts=turn.thread_ts, key=turn.key, user=turn.user,
                        since_ts=turn.ts, ephemeral=turn.ephemeral)

    def _answer_message(self, turn: Turn, client: WebClient, delivery: Delivery) -> None:
        try:
            self._handle_claimed(turn, client, delivery)
        except Exception as err:  # e.g. the state database failing: the asker is still told
            self._notify_safely(delivery, self._error_text(err, turn.language))
        finally:
            self._forget(turn)

    def _handle_claimed(self, turn: Turn, client: WebClient, delivery: Delivery) -> None:
        def post(message: Message, shorter: Message | None = None) -> None:
            delivery.post(message, shorter=shorter)

        if not turn.text or asks_for_help(turn.text):
            key = "files_only" if turn.has_files and not turn.text else "help"
            post(notice_message(t(key, turn.language, bot=turn.mention)))
            return
        if not self._allowed(turn, delivery.notify):
            return
        history = self.store.thread_history(team=turn.team, channel=turn.channel, thread_ts=turn.thread_ts,
                                            before_ts=turn.ts)
        self.store.add_turn(team=turn.team, channel=turn.channel, thread_ts=turn.thread_ts, ts=turn.ts, user=turn.user,
                            question=turn.text)
        # The reaction is added in the background so its round trip to Slack is not on the answer's
        # critical path, and only if the answer is not out within ``working_reaction_after_s``; it is
        # removed only after the add finished (else the remove could overtake it).
        answered = threading.Event()
        added = self._reactions.submit(self._working, client, turn, answered, time.monotonic())
        on_partial = None
        if self.streams and not turn.ephemeral:  # an ephemeral message cannot be updated in place
            progress = Progress(client, delivery=delivery, language=turn.language, pool=self._progress)
            progress.start()
            post, on_partial = progress.finish, progress.partial
        try:
            reply = Reply(post=post, notify=delivery.notify, posting=lambda: self.store.mark_posting(turn.key))
            self._answer(turn, history=history or [], reply=reply, on_partial=on_partial)
        finally:
            answered.set()
            done, _ = wait([added], timeout=REACTION_WAIT_S)
            if not done or added.result():  # added (or still trying): take it off
                self._reaction(client, "remove", turn)

    def _working(self, client: WebClient, turn: Turn, answered: threading.Event, since: float) -> bool:
        """Add the working reaction unless the answer is out first (with no delay set: on every
        question, even one answered before this thread ran); whether it was tried."""
        if self.working_reaction_after_s > 0 and answered.wait(
                max(0.0, since + self.working_reaction_after_s - time.monotonic())):
            return False
        self._reaction(client, "add", turn)
        return True

    # -- /ask ---------------------------------------------------------------------------------------

    def handle_command(self, turn: Turn, respond: Respond) -> None:
        """Answer a slash command privately through its response_url (the listener has acked)."""
        with question_context(new_question_id()):
            logger.info("%s question in %s", turn.source, turn.channel)
            self._answering.submit(self._answer_command, turn, respond)

    def _answer_command(self, turn: Turn, respond: Respond) -> None:
        def post(message: Message, shorter: Message | None = None) -> None:
            respond(response_type="ephemeral", replace_original=False, **message.to_kwargs())

        reply = Reply(post=post, notify=lambda m: post(m))
        try:
            if not turn.text or asks_for_help(turn.text):
                post(notice_message(t("help", turn.language, bot=turn.mention)))
            elif self._allowed(turn, reply.notify):
                self._answer(turn, history=[], reply=reply)
        except Exception as err:
            self._notify_safely(reply, self._error_text(err, turn.language))

    # -- helpers ------------------------------------------------------------------------------------

    def _allowed(self, turn: Turn, notify: Callable[[Message], None]) -> bool:
        """The per-user limit; when it is reached the asker (alone) is told so."""
        if self.limiter.allow(turn.user):
            return True
        notify(notice_message(t("rate_limited", turn.language, limit=self.limiter.per_minute)))
        return False

    def _answer(self, turn: Turn, *, history: Sequence[str], reply: Reply,
                on_partial: Callable[[str], None] | None = None) -> None:
        try:
            if on_partial is not None:
                answer = self.answerer.ask(turn.text, history=history, on_partial=on_partial)
            else:
                answer = self.answerer.ask(turn.text, history=history)
        except EmptyQuestionError as err:  # e.g. "@bot ???": nothing to search for, so show the help
            log_question(self.store, self.alarm, turn, None, error=err)
            reply.post(notice_message(t("help", turn.language, bot=turn.mention)), None)
            return
        except Exception as err:  # every failure still ends in a notice for the asker
            log_question(self.store, self.alarm, turn, None, error=err)
            self._notify_safely(reply, self._error_text(err, turn.language))
            return
        question_id = log_question(self.store, self.alarm, turn, answer, final=False)
        notes = self._notes(turn, answer)
        if turn.private and question_id is not None:
            self._keep(turn, question_id, answer_message(answer, question_id=question_id, notes=notes))
        failure: str | None = None
        try:
            reply.posting()
            reply.post(answer_message(answer, question_id=question_id, notes=notes, shareable=turn.private),
                       short_answer_message(answer, question_id=question_id, notes=notes, shareable=turn.private))
        except Exception as err:
            failure = err.code if isinstance(err, DeliveryFailed) else type(err).__name__
            logger.warning("the answer to %s could not be delivered: %s", turn.key or "a /ask command", failure)
        finally:
            finish_question(self.store, self.alarm, question_id, turn, answer, delivery_error=failure)

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

    def _error_text(self, err: Exception, lang: str) -> str:
        if isinstance(err, RetrievalError):  # its message may name server paths: the log gets it, Slack a reason
            logger.warning("retrieval failed: %s: %s", type(err).__name__, loggable(err))
            key = next((k for kind, k in _REASON_KEYS if isinstance(err, kind)), "error_search")
            return t("error_retrieval", lang, reason=t(key, lang))
        if is_state_failure(err):
            self.alarm.failed(err)
            return t("state_unavailable", lang)
        logger.error("answering failed", exc_info=err)
        return t("error_generic", lang)

    def _forget(self, turn: Turn) -> None:
        """The reply is out (or could not be): the question is no longer pending."""
        try:
            self.store.remove_pending(turn.key)
        except Exception as err:
            self.alarm.failed(err)

    @staticmethod
    def _notify_safely(target: Delivery | Reply, text: str) -> None:
        try:
            target.notify(notice_message(text))
        except Exception:
            logger.exception("could not deliver a notice to Slack")

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
