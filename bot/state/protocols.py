"""The bot's state, one protocol per concern; callers ask for the narrowest one they use.

A backend implements ``StateStore`` (all of them) and passes ``tests/test_state_store.py``, which is
written against these protocols only. Every method is safe to call from several threads, and from
several processes sharing one database: claims are atomic across all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from bot.state.records import (
    ChannelSettings,
    DigestClaim,
    Evidence,
    Feedback,
    FeedbackReason,
    Follow,
    KeptAnswer,
    PendingQuestion,
    QuestionRecord,
    SavedQuestion,
    StoredQuestion,
)


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

    def finish_question(self, question_id: int, *, latency_ms: float, delivery_error: str | None) -> None:
        """Complete a logged entry once its reply was posted (the latency then includes posting) or
        could not be (``delivery_error``: the entry's outcome becomes "error")."""

    def record_feedback(self, *, question_id: int, user: str, value: int) -> bool:
        """Store (or change) a user's vote; False when the question id is unknown."""

    def questions(self) -> list[StoredQuestion]:
        """The whole log, in the order it was written."""

    def questions_between(self, start: float, end: float) -> list[StoredQuestion]:
        """Entries with ``start <= created_at < end`` (epoch seconds), oldest first."""

    def feedback(self) -> list[Feedback]:
        """Current votes, by question id and user."""


class PendingQuestions(Protocol):
    """Questions claimed but not yet answered, so that none is lost when a process stops first."""

    def add_pending(self, question: PendingQuestion) -> None:
        """Record a claimed question (its key is the message's claim key; adding it again is a no-op)."""

    def mark_posting(self, key: str) -> None:
        """Note that the reply is being posted: whoever recovers it looks in the thread first."""

    def remove_pending(self, key: str) -> None:
        """Forget a question once its reply (answer or notice) was posted; unknown keys are ignored."""

    def pending_questions(self) -> list[PendingQuestion]:
        """Every pending question, oldest first."""

    def take_pending(self, key: str, *, owner: str, expected_owner: str) -> bool:
        """Atomically make ``owner`` the one answering ``key`` if ``expected_owner`` still is;
        False when another process took it first or it is gone."""


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
        """Forget logged questions (with their votes), thread turns, the log of alerts sent and
        rate-limit uses older than ``older_than_s``: the retention limit on what users asked and
        were told. Returns how many rows went."""

    def ping(self) -> None:
        """Raise when the database cannot be reached (what readiness checks)."""

    def close(self) -> None:
        """Release the connection; the store is not used afterwards."""


class UserQuestions(Protocol):
    """One person's questions, for App Home and for saving a question by its log id."""

    def question(self, question_id: int) -> StoredQuestion | None:
        """The log entry ``question_id``, or None."""

    def questions_of(self, *, team: str, user: str, limit: int) -> list[StoredQuestion]:
        """``user``'s latest ``limit`` questions, newest first."""


class Follows(Protocol):
    """Who follows which company or term (``Follow.key`` is the term's canonical form)."""

    def add_follow(self, follow: Follow) -> bool:
        """Start following; False when ``follow.follower`` already follows ``follow.key``."""

    def remove_follow(self, *, team: str, follower: str, key: str) -> bool:
        """Stop following; False when there was no such follow."""

    def follows_of(self, *, team: str, follower: str) -> list[Follow]:
        """A follower's follows, oldest first."""

    def all_follows(self) -> list[Follow]:
        """Every follow (what an index update is matched against)."""


class AlertLog(Protocol):
    """Alerts delivered at most once: a key is claimed before posting, across processes and restarts."""

    def claim_alert(self, key: str, *, recipient: str, now: float) -> bool:
        """Atomically take ``key``; False when it was taken before (the alert went out already)."""

    def release_alert(self, key: str) -> None:
        """Give ``key`` back after a post failed, so that the next round tries again."""


class SeenArticles(Protocol):
    """The articles (path and content hash) whose arrival was already handled."""

    def seen_articles(self) -> dict[str, str] | None:
        """Path -> content hash of what was seen; None before the first look (then nothing is new)."""

    def remember_articles(self, articles: Mapping[str, str]) -> None:
        """Mark these (path -> content hash) seen."""


class SavedQuestions(Protocol):
    """Questions whose askers want a DM when the evidence of their answer changes."""

    def save_question(self, *, team: str, user: str, question: str, language: str, evidence: Evidence,
                      excerpt: str, source: str, now: float, max_per_user: int) -> int | None:
        """The saved question's id (the existing one when ``user`` saved ``question`` before);
        None when ``user`` already has ``max_per_user`` saved questions."""

    def saved_questions(self) -> list[SavedQuestion]:
        """Every saved question, oldest first."""

    def saved_of(self, *, team: str, user: str) -> list[SavedQuestion]:
        """One person's saved questions, oldest first."""

    def update_evidence(self, saved_id: int, *, evidence: Evidence, excerpt: str, source: str, now: float) -> None:
        """Replace the evidence the asker was last told about."""

    def remove_saved(self, saved_id: int, *, user: str) -> bool:
        """Forget a saved question of ``user``'s; False when it is not theirs or not there."""


class ChannelPreferences(Protocol):
    """Per-channel settings (``@bot settings``)."""

    def channel_settings(self, team: str, channel: str) -> ChannelSettings | None:
        """The channel's settings, or None when nobody changed the defaults."""

    def save_channel_settings(self, settings: ChannelSettings) -> None:
        """Store (replace) a channel's settings, stamped with ``updated_by``/``updated_at``."""

    def all_channel_settings(self) -> list[ChannelSettings]:
        """Every channel with settings (the digest reads their cadences)."""


class FeedbackReasons(Protocol):
    """Why an answer was rated down (the optional form after a 👎)."""

    def record_feedback_reason(self, reason: FeedbackReason) -> bool:
        """Store (or replace) a user's reason; False when the question id is unknown."""

    def feedback_reasons(self) -> list[FeedbackReason]:
        """Every reason, by question id and user."""


class KeptAnswers(Protocol):
    """Private answers as shown, so that "Share to channel" can post the same message."""

    def keep_answer(self, *, question_id: int, user: str, message: Mapping[str, object]) -> None:
        """Keep the message shown to ``user`` for ``question_id``."""

    def kept_answer(self, question_id: int) -> KeptAnswer | None:
        """The kept message, or None."""


class AssistantThreads(Protocol):
    """The assistant panel's threads and the channel each was opened beside (Bolt's thread context)."""

    def save_assistant_thread(self, *, channel: str, thread_ts: str, context: Mapping[str, str]) -> None:
        """Remember (or update) an assistant thread and its context."""

    def assistant_thread(self, *, channel: str, thread_ts: str) -> dict[str, str] | None:
        """The thread's context; None when the thread is not an assistant thread the bot saw start."""


class SlackFeatures(UserQuestions, Follows, AlertLog, SeenArticles, SavedQuestions, ChannelPreferences,
                    FeedbackReasons, KeptAnswers, AssistantThreads, Protocol):
    """The state of App Home, follows and alerts, answer-change alerts, channel settings, the
    feedback form and sharing."""


class StateStore(EventClaims, ThreadTurns, QuestionLog, PendingQuestions, DigestClaims, RateLimits, SlackFeatures,
                 Maintenance, Protocol):
    """Everything a process keeps: what ``bot.state.open_store`` returns and ``serve`` passes around."""
