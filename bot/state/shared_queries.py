"""The reads and digest settlements that the SQLite and PostgreSQL stores say alike, written once.

Their SQL differs only in three things each backend names as a class attribute: the driver's
parameter mark (``?`` or ``%s``), the column holding the Slack user id, and what makes text sort by
bytes (SQLite's default; ``COLLATE "C"`` in PostgreSQL, whatever the database's collation). Each
backend provides ``_select`` and ``_execute``; the statements that really differ stay with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from bot.state import feature_rows as rows
from bot.state.records import (
    ChannelSettings,
    DigestClaim,
    Feedback,
    FeedbackReason,
    Follow,
    KeptAnswer,
    PendingQuestion,
    SavedQuestion,
    StoredQuestion,
)
from bot.state.rules import PENDING_FIELDS, earlier_turns, pending_question, stored_question

_DIGEST_FIELDS = ("channel", "week", "status", "owner", "attempts", "claimed_at", "retry_at", "last_error",
                  "message_ts")


class SharedQueries:
    _MARK: ClassVar[str]  # the driver's parameter placeholder
    _USER: ClassVar[str]  # the column holding the Slack user id
    _READ_USER: ClassVar[str]  # that column, selected back as ``user``
    _BYTE_ORDER: ClassVar[str]  # put after a text column to sort it by bytes
    _QUESTION_COLUMNS: ClassVar[str]  # the question log's columns as ``QUESTION_FIELDS`` names them

    def _select(self, query: str, params: Sequence[Any] = ()) -> Sequence[rows.Row]:
        raise NotImplementedError  # the store's

    def _execute(self, query: str, params: Sequence[Any] = ()) -> int:
        raise NotImplementedError  # the store's: the number of rows changed

    # -- threads, pending questions, the question log --------------------------------------------
    def thread_history(self, *, team: str, channel: str, thread_ts: str, before_ts: str) -> list[str] | None:
        m = self._MARK
        found = self._select(f"SELECT ts, question FROM thread_turns WHERE team = {m} AND channel = {m}"
                             f" AND thread_ts = {m}", (team, channel, thread_ts))
        return earlier_turns([(r["ts"], r["question"]) for r in found], before_ts) if found else None

    def pending_questions(self) -> list[PendingQuestion]:
        columns = ", ".join(self._READ_USER if f == "user" else f for f in PENDING_FIELDS)
        return [pending_question(r) for r in self._select(f"SELECT {columns} FROM pending_questions"
                                                          " ORDER BY created_at, key")]

    def _select_questions(self, where: str, params: Sequence[object]) -> list[StoredQuestion]:
        found = self._select(f"SELECT {self._QUESTION_COLUMNS} FROM questions {where}", params)
        return [stored_question(r) for r in found]

    def questions(self) -> list[StoredQuestion]:
        return self._select_questions("ORDER BY id", ())

    def questions_between(self, start: float, end: float) -> list[StoredQuestion]:
        m = self._MARK
        return self._select_questions(f"WHERE created_at >= {m} AND created_at < {m} ORDER BY created_at, id",
                                      (start, end))

    def question(self, question_id: int) -> StoredQuestion | None:
        found = self._select_questions(f"WHERE id = {self._MARK}", (question_id,))
        return found[0] if found else None

    def questions_of(self, *, team: str, user: str, limit: int) -> list[StoredQuestion]:
        m = self._MARK
        return self._select_questions(f"WHERE team = {m} AND {self._USER} = {m} ORDER BY id DESC LIMIT {m}",
                                      (team, user, limit))

    # -- feedback, feedback reasons, kept answers ------------------------------------------------
    def feedback(self) -> list[Feedback]:
        found = self._select(f"SELECT question_id, {self._READ_USER}, value, created_at FROM feedback"
                             f" ORDER BY question_id, {self._USER}{self._BYTE_ORDER}")
        return [Feedback(question_id=r["question_id"], user=r["user"], value=r["value"], created_at=r["created_at"])
                for r in found]

    def feedback_reasons(self) -> list[FeedbackReason]:
        found = self._select(f"SELECT question_id, {self._READ_USER}, reason, text, created_at FROM feedback_reasons"
                             f" ORDER BY question_id, {self._USER}{self._BYTE_ORDER}")
        return [rows.feedback_reason(r) for r in found]

    def kept_answer(self, question_id: int) -> KeptAnswer | None:
        found = self._select(f"SELECT question_id, {self._READ_USER}, message_json FROM kept_answers"
                             f" WHERE question_id = {self._MARK}", (question_id,))
        return rows.kept_answer(found[0]) if found else None

    # -- weekly digest claims --------------------------------------------------------------------
    def finish_digest(self, channel: str, week: str, *, owner: str, now: float, message_ts: str) -> bool:
        return self._settle_digest(channel, week, owner, f"status = 'posted', message_ts = {self._MARK},"
                                   " last_error = NULL", (message_ts,), now)

    def fail_digest(self, channel: str, week: str, *, owner: str, now: float, error: str, retry_at: float | None) -> bool:
        m = self._MARK
        return self._settle_digest(channel, week, owner, f"status = 'failed', last_error = {m}, retry_at = {m}",
                                   (error, retry_at), now)

    def _settle_digest(self, channel: str, week: str, owner: str, assignments: str, values: tuple[object, ...],
                       now: float) -> bool:
        m = self._MARK
        return self._execute(f"UPDATE digest_claims SET {assignments}, updated_at = {m}"
                             f" WHERE channel = {m} AND week = {m} AND owner = {m} AND status = 'claimed'",
                             (*values, now, channel, week, owner)) == 1

    def has_digest_before(self, channel: str, week: str) -> bool:
        m = self._MARK  # ISO week names sort as text in byte order
        return bool(self._select(f"SELECT 1 FROM digest_claims WHERE channel = {m} AND week < {m}{self._BYTE_ORDER}"
                                 " LIMIT 1", (channel, week)))

    def digest_claim(self, channel: str, week: str) -> DigestClaim | None:
        m = self._MARK
        found = self._select(f"SELECT {', '.join(_DIGEST_FIELDS)} FROM digest_claims WHERE channel = {m} AND week = {m}",
                             (channel, week))
        return DigestClaim(**{name: found[0][name] for name in _DIGEST_FIELDS}) if found else None

    # -- saved questions, follows, seen articles, channel settings, assistant threads -------------
    def saved_questions(self) -> list[SavedQuestion]:
        found = self._select(f"SELECT {self._saved_columns()} FROM saved_questions ORDER BY id")
        return [rows.saved_question(r) for r in found]

    def saved_of(self, *, team: str, user: str) -> list[SavedQuestion]:
        m = self._MARK
        found = self._select(f"SELECT {self._saved_columns()} FROM saved_questions WHERE team = {m}"
                             f" AND {self._USER} = {m} ORDER BY id", (team, user))
        return [rows.saved_question(r) for r in found]

    def _saved_columns(self) -> str:
        return rows.SAVED_COLUMNS.replace(" user,", f" {self._READ_USER},")

    def follows_of(self, *, team: str, follower: str) -> list[Follow]:
        m = self._MARK
        found = self._select(f"SELECT {rows.FOLLOW_COLUMNS} FROM follows WHERE team = {m} AND follower = {m}"
                             f" ORDER BY created_at, key{self._BYTE_ORDER}", (team, follower))
        return [rows.follow(r) for r in found]

    def all_follows(self) -> list[Follow]:
        return [rows.follow(r) for r in self._select(f"SELECT {rows.FOLLOW_COLUMNS} FROM follows ORDER BY created_at")]

    def seen_articles(self) -> dict[str, str] | None:
        return rows.seen(list(self._select("SELECT path, hash FROM seen_articles")))

    def channel_settings(self, team: str, channel: str) -> ChannelSettings | None:
        m = self._MARK
        found = self._select(f"SELECT * FROM channel_settings WHERE team = {m} AND channel = {m}", (team, channel))
        return rows.channel_settings(found[0]) if found else None

    def all_channel_settings(self) -> list[ChannelSettings]:
        b = self._BYTE_ORDER
        return [rows.channel_settings(r) for r in self._select(f"SELECT * FROM channel_settings ORDER BY team{b},"
                                                                f" channel{b}")]

    def assistant_thread(self, *, channel: str, thread_ts: str) -> dict[str, str] | None:
        m = self._MARK
        found = self._select(f"SELECT context_json FROM assistant_threads WHERE channel = {m} AND thread_ts = {m}",
                             (channel, thread_ts))
        return rows.thread_context(found[0]) if found else None
