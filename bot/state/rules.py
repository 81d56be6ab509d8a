"""What every backend decides the same way, written once: when a digest claim may be taken, how a
thread's turns are ordered, and how a question-log row becomes a ``StoredQuestion``.

Backends keep only their SQL; these functions keep them from drifting apart.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Protocol

from bot.state.records import PendingQuestion, QuestionRecord, StoredQuestion

# The question log's fields in the order the backends select them (each names its columns so).
QUESTION_FIELDS = (
    "id", "created_at", "team", "channel", "thread_ts", "user", "source", "question", "language", "refused",
    "n_citations", "latency_ms", "timings", "error", "mode", "prompt_tokens", "completion_tokens", "note", "outcome",
    "delivery_error",
)


def digest_takeable(*, status: str, claimed_at: float, retry_at: float | None, now: float, stale_after_s: float,
                    force: bool) -> bool:
    """Whether an existing (channel, week) row may be claimed: a stale attempt, a failed one whose
    retry is due, or (``force``, an operator's explicit post) a failed or skipped one. Never a posted one."""
    return (
        (status == "claimed" and claimed_at < now - stale_after_s)
        or (status == "failed" and (force or (retry_at is not None and retry_at <= now)))
        or (status == "skipped" and force)
    )


def earlier_turns(rows: Iterable[tuple[str, str]], before_ts: str) -> list[str]:
    """Questions of ``(ts, question)`` rows asked before ``before_ts``, oldest first. Slack ts values
    are "seconds.micros" strings: they are compared as numbers, not text ("99.5" < "100.0")."""
    limit = float(before_ts)
    return [q for ts, q in sorted(rows, key=lambda r: float(r[0])) if float(ts) < limit]


def question_values(record: QuestionRecord) -> tuple[Any, ...]:
    """A record's values in ``QUESTION_FIELDS`` order after ``id`` and ``created_at``."""
    return (
        record.team, record.channel, record.thread_ts, record.user, record.source, record.question,
        record.language, record.refused, record.n_citations, record.latency_ms, json.dumps(record.timings_ms),
        record.error, record.mode, record.prompt_tokens, record.completion_tokens, record.note or None,
        record.outcome, record.delivery_error,
    )


class Row(Protocol):
    """A result row read by column name (``sqlite3.Row``, a psycopg dict row)."""

    def __getitem__(self, key: str) -> Any: ...


def stored_question(row: Row) -> StoredQuestion:
    """A row with ``QUESTION_FIELDS`` as keys (timings as JSON text or already decoded)."""
    timings = row["timings"]
    record = QuestionRecord(
        team=row["team"], channel=row["channel"], thread_ts=row["thread_ts"], user=row["user"], source=row["source"],
        question=row["question"], language=row["language"], refused=bool(row["refused"]),
        n_citations=int(row["n_citations"]), latency_ms=float(row["latency_ms"]),
        timings_ms=json.loads(timings) if isinstance(timings, str) else dict(timings or {}), error=row["error"],
        mode=row["mode"], prompt_tokens=row["prompt_tokens"], completion_tokens=row["completion_tokens"],
        note=row["note"] or "", outcome=row["outcome"] or "", delivery_error=row["delivery_error"],
    )
    return StoredQuestion(id=int(row["id"]), created_at=float(row["created_at"]), record=record)


# The pending-question fields in the order the backends select them (each names its columns so).
PENDING_FIELDS = ("key", "team", "channel", "user", "ts", "thread_ts", "text", "source", "has_files", "owner",
                  "created_at", "posting", "ephemeral")


def pending_values(question: PendingQuestion) -> tuple[Any, ...]:
    """A pending question's values in ``PENDING_FIELDS`` order."""
    return tuple(getattr(question, name) for name in PENDING_FIELDS)


def pending_question(row: Row) -> PendingQuestion:
    values = {name: row[name] for name in PENDING_FIELDS}
    return PendingQuestion(**{**values, "has_files": bool(values["has_files"]), "posting": bool(values["posting"]),
                              "ephemeral": bool(values["ephemeral"]), "created_at": float(values["created_at"])})
