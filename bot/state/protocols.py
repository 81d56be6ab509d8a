"""The bot's state, one protocol per concern; callers ask for the narrowest one they use.

A backend implements ``StateStore`` (all of them) and passes ``tests/test_state_store.py``, which is
written against these protocols only. Every method is safe to call from several threads, and from
several processes sharing one database: claims are atomic across all of them.
"""

from __future__ import annotations

from typing import Protocol

from bot.state.records import DigestClaim, Feedback, QuestionRecord, StoredQuestion


class StateUnavailableError(RuntimeError):
    """The state database cannot be reached (the message names it, without a password)."""


class EventClaims(Protocol):
    """Exactly-once handling of Slack deliveries (retries, and a mention arriving twice)."""

    def claim(self, key: str) -> bool:
        """Atomically mark ``key`` processed; False when it already was (a duplicate)."""


class ThreadTurns(Protocol):
    """The questions asked in each thread the bot answers in (the follow-up context)."""

    def add_turn(self, *, team: str, channel: str, thread_ts: str, ts: str, user: str, question: str) -> None:
        """Remember that the bot is answering ``question`` (message ``ts``) in this thread."""

    def thread_history(self, *, team: str, channel: str, thread_ts: str, before_ts: str) -> list[str] | None:
        """Earlier questions of a thread (oldest first, by ``ts`` as a number), or None if the bot
        is not part of it."""


class QuestionLog(Protocol):
    """Every question answered (or not), and the votes on the answers."""

    def log_question(self, record: QuestionRecord) -> int:
        """Append to the question log, stamped now; returns the id that feedback refers to."""

    def record_feedback(self, *, question_id: int, user: str, value: int) -> bool:
        """Store (or change) a user's vote; False when the question id is unknown."""

    def questions(self) -> list[StoredQuestion]:
        """The whole log, in the order it was written."""

    def questions_between(self, start: float, end: float) -> list[StoredQuestion]:
        """Entries with ``start <= created_at < end`` (epoch seconds), oldest first."""

    def feedback(self) -> list[Feedback]:
        """Current votes, by question id and user."""


class DigestClaims(Protocol):
    """One row per (channel, ISO week) so that the weekly digest is posted exactly once by
    however many processes, restarts and retries (see ``bot.digest.scheduler``)."""

    def claim_digest(self, channel: str, week: str, *, owner: str, now: float, stale_after_s: float,
                     force: bool = False) -> DigestClaim | None:
        """Take the (channel, week) claim, or None when it is not ours to take: already posted,
        held by a live attempt, failed with its retry not yet due (or given up), or skipped.
        ``force`` (an operator's explicit post) also takes failed and skipped claims, never posted ones."""

    def finish_digest(self, channel: str, week: str, *, owner: str, now: float, message_ts: str) -> bool:
        """Mark ``owner``'s claim posted; False when ``owner`` does not hold it."""

    def fail_digest(self, channel: str, week: str, *, owner: str, now: float, error: str,
                    retry_at: float | None) -> bool:
        """Mark ``owner``'s claim failed, retryable from ``retry_at`` (None: never automatically)."""

    def skip_digest(self, channel: str, week: str, *, owner: str, now: float, reason: str) -> bool:
        """Record that this week's digest is deliberately not posted; False if a row already existed."""

    def has_digest_before(self, channel: str, week: str) -> bool:
        """Whether a week earlier than ``week`` was ever claimed or skipped for ``channel``."""

    def digest_claim(self, channel: str, week: str) -> DigestClaim | None:
        """The claim of (channel, week) as it stands, or None when there is none."""


class RateLimits(Protocol):
    """Sliding-window counters shared by every process, so a per-user limit holds across replicas."""

    def take_rate_slot(self, key: str, *, limit: int, window_s: float, now: float) -> bool:
        """Record one use of ``key`` at ``now`` (epoch seconds) if fewer than ``limit`` uses fall in
        ``(now - window_s, now]``; otherwise record nothing and return False. Atomic across processes."""


class Maintenance(Protocol):
    def prune(self, *, older_than_s: float) -> int:
        """Forget processed-event keys older than ``older_than_s``; returns how many."""

    def prune_history(self, *, older_than_s: float) -> int:
        """Forget logged questions (with their votes), thread turns and rate-limit uses older than
        ``older_than_s``: the retention limit on what users asked. Returns how many rows went."""

    def ping(self) -> None:
        """Raise when the database cannot be reached (what readiness checks)."""

    def close(self) -> None:
        """Release the connection; the store is not used afterwards."""


class StateStore(EventClaims, ThreadTurns, QuestionLog, DigestClaims, RateLimits, Maintenance, Protocol):
    """Everything a process keeps: what ``bot.state.open_store`` returns and ``serve`` passes around."""
