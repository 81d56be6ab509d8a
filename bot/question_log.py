"""A question's entry in the log and in the metrics: written once its answer (or failure) is known,
and completed once its reply was posted or could not be (the latency then includes posting).

The log must never cost the asker their answer: failures are logged (a failing state database
once, by the alarm) and the answer goes on.
"""

from __future__ import annotations

import logging
import time

from bot import metrics
from bot.state.protocols import QuestionLog
from bot.state.records import QuestionRecord, default_outcome
from bot.state_alarm import StateAlarm, is_state_failure
from bot.texts import fallback_note
from bot.turn import Turn
from retrieval.types import Answer

logger = logging.getLogger(__name__)


def outcome_of(answer: Answer | None, error: BaseException | str | None) -> str:
    """The answer's own three-way outcome where retrieval gives one (answered / closest / refused), or error."""
    if error:
        return "error"
    refused = answer.refused if answer else False
    return getattr(answer, "outcome", "") or default_outcome(refused=refused, error=None)


def log_question(store: QuestionLog, alarm: StateAlarm, turn: Turn, answer: Answer | None, *,
                 error: Exception | None = None, final: bool = True) -> int | None:
    """Append ``turn``'s entry; its id (what feedback buttons refer to), or None when it could not be
    written. ``final``: no reply follows (a failure), so the question is counted now; otherwise
    ``finish_question`` counts it once the reply was posted."""
    outcome = outcome_of(answer, error)
    try:
        question_id: int | None = store.log_question(
            QuestionRecord(
                team=turn.team,
                channel=turn.channel,
                thread_ts=turn.thread_ts,
                user=turn.user,
                source=turn.source,
                question=answer.question if answer else turn.text,
                language=answer.language if answer else turn.language,
                refused=answer.refused if answer else False,
                n_citations=len(answer.citations) if answer else 0,
                latency_ms=_latency_s(turn) * 1000,
                timings_ms=dict(answer.timings_ms) if answer else {},
                error=type(error).__name__ if error else None,
                mode=answer.mode if answer else None,
                prompt_tokens=answer.usage.get("prompt_tokens") if answer else None,
                completion_tokens=answer.usage.get("completion_tokens") if answer else None,
                note=fallback_note(answer) if answer else "",
                outcome=outcome,
            )
        )
    except Exception as err:
        _failed(alarm, err)
        question_id = None
    if final:
        _count(turn, answer, outcome, question_id)
    return question_id


def finish_question(store: QuestionLog, alarm: StateAlarm, question_id: int | None, turn: Turn,
                    answer: Answer, *, delivery_error: str | None) -> None:
    """Complete the entry once the reply was posted, or record why it was not; count the question."""
    if question_id is not None:
        try:
            store.finish_question(question_id, latency_ms=_latency_s(turn) * 1000, delivery_error=delivery_error)
        except Exception as err:
            _failed(alarm, err)
    _count(turn, answer, outcome_of(answer, delivery_error), question_id)


def _count(turn: Turn, answer: Answer | None, outcome: str, question_id: int | None) -> None:
    latency_s = _latency_s(turn)
    metrics.question_handled(surface=turn.source, outcome=outcome, latency_s=latency_s,
                             fallback=answer.fallback.code if answer and answer.fallback else "")
    logger.info("question %s in %.0f ms (log id %s)", outcome, latency_s * 1000, question_id)


def _latency_s(turn: Turn) -> float:
    return time.perf_counter() - turn.received


def _failed(alarm: StateAlarm, err: Exception) -> None:
    if is_state_failure(err):
        alarm.failed(err)
    else:
        logger.exception("could not write the question log")
