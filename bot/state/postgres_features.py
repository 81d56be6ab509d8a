"""The PostgreSQL half of ``SlackFeatures`` (see ``bot.state.sqlite_features`` for the SQLite one):
mixed into ``PostgresStateStore``, whose pool it shares. ``user`` is ``user_id`` in these tables and
is selected back as ``"user"``, so ``bot.state.feature_rows`` maps rows of both backends.

Claims are single ``INSERT ... ON CONFLICT DO NOTHING`` statements; the per-user cap on saved
questions is checked under an advisory lock on the user, so two replicas cannot both pass it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from bot.state import feature_rows as rows
from bot.state.records import (
    ChannelSettings,
    Evidence,
    FeedbackReason,
    Follow,
    KeptAnswer,
    SavedQuestion,
    StoredQuestion,
)

_SAVED = rows.SAVED_COLUMNS.replace(" user,", ' user_id AS "user",')
_KEPT = 'question_id, user_id AS "user", message_json'
_REASONS = 'question_id, user_id AS "user", reason, text, created_at'


class PostgresFeatures:
    _pool: ConnectionPool

    def _execute(self, query: str, params: Sequence[Any] = ()) -> int:
        raise NotImplementedError  # PostgresStateStore's

    def _select(self, query: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        raise NotImplementedError  # PostgresStateStore's

    def _select_questions(self, where: str, params: Sequence[object]) -> list[StoredQuestion]:
        raise NotImplementedError  # PostgresStateStore's

    def question(self, question_id: int) -> StoredQuestion | None:
        found = self._select_questions("WHERE id = %s", (question_id,))
        return found[0] if found else None

    def questions_of(self, *, team: str, user: str, limit: int) -> list[StoredQuestion]:
        return self._select_questions("WHERE team = %s AND user_id = %s ORDER BY id DESC LIMIT %s", (team, user, limit))

    # -- follows ---------------------------------------------------------------------------------
    def add_follow(self, follow: Follow) -> bool:
        return self._execute(f"INSERT INTO follows ({rows.FOLLOW_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)"
                             " ON CONFLICT DO NOTHING",
                             (follow.team, follow.follower, follow.kind, follow.term, follow.key,
                              follow.created_at or time.time())) == 1

    def remove_follow(self, *, team: str, follower: str, key: str) -> bool:
        return self._execute("DELETE FROM follows WHERE team = %s AND follower = %s AND key = %s",
                             (team, follower, key)) == 1

    def follows_of(self, *, team: str, follower: str) -> list[Follow]:
        found = self._select(f"SELECT {rows.FOLLOW_COLUMNS} FROM follows WHERE team = %s AND follower = %s"
                             ' ORDER BY created_at, key COLLATE "C"', (team, follower))
        return [rows.follow(r) for r in found]

    def all_follows(self) -> list[Follow]:
        return [rows.follow(r) for r in self._select(f"SELECT {rows.FOLLOW_COLUMNS} FROM follows ORDER BY created_at")]

    # -- alerts delivered once -------------------------------------------------------------------
    def claim_alert(self, key: str, *, recipient: str, now: float) -> bool:
        return self._execute("INSERT INTO alerts_sent (key, recipient, created_at) VALUES (%s, %s, %s)"
                             " ON CONFLICT DO NOTHING", (key, recipient, now)) == 1

    def release_alert(self, key: str) -> None:
        self._execute("DELETE FROM alerts_sent WHERE key = %s", (key,))

    # -- seen articles ---------------------------------------------------------------------------
    def seen_articles(self) -> dict[str, str] | None:
        return rows.seen(list(self._select("SELECT path, hash FROM seen_articles")))

    def remember_articles(self, articles: Mapping[str, str]) -> None:
        now = time.time()
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.executemany("INSERT INTO seen_articles (path, hash, seen_at) VALUES (%s, %s, %s)"
                            " ON CONFLICT (path) DO UPDATE SET hash = EXCLUDED.hash, seen_at = EXCLUDED.seen_at",
                            [(rows.SEEN_MARK, "", now), *((p, h, now) for p, h in articles.items())])

    # -- saved questions -------------------------------------------------------------------------
    def save_question(self, *, team: str, user: str, question: str, language: str, evidence: Evidence,
                      excerpt: str, source: str, now: float, max_per_user: int) -> int | None:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"saved:{team}:{user}",))
            row = conn.execute("SELECT id FROM saved_questions WHERE team = %s AND user_id = %s AND question = %s",
                               (team, user, question)).fetchone()
            if row is not None:
                return int(row[0])
            count = conn.execute("SELECT COUNT(*) FROM saved_questions WHERE team = %s AND user_id = %s",
                                 (team, user)).fetchone()
            if count is not None and int(count[0]) >= max_per_user:
                return None
            inserted = conn.execute(
                "INSERT INTO saved_questions (team, user_id, question, language, outcome, path, start_at, end_at,"
                " excerpt, source, saved_at, checked_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) RETURNING id",
                (team, user, question, language, evidence.outcome, evidence.path, evidence.start, evidence.end,
                 excerpt, source, now, now)).fetchone()
            return int(inserted[0]) if inserted else None

    def saved_questions(self) -> list[SavedQuestion]:
        return [rows.saved_question(r) for r in self._select(f"SELECT {_SAVED} FROM saved_questions ORDER BY id")]

    def saved_of(self, *, team: str, user: str) -> list[SavedQuestion]:
        found = self._select(f"SELECT {_SAVED} FROM saved_questions WHERE team = %s AND user_id = %s ORDER BY id",
                             (team, user))
        return [rows.saved_question(r) for r in found]

    def update_evidence(self, saved_id: int, *, evidence: Evidence, excerpt: str, source: str, now: float) -> None:
        self._execute("UPDATE saved_questions SET outcome = %s, path = %s, start_at = %s, end_at = %s, excerpt = %s,"
                      " source = %s, checked_at = %s WHERE id = %s",
                      (evidence.outcome, evidence.path, evidence.start, evidence.end, excerpt, source, now, saved_id))

    def remove_saved(self, saved_id: int, *, user: str) -> bool:
        return self._execute("DELETE FROM saved_questions WHERE id = %s AND user_id = %s", (saved_id, user)) == 1

    # -- channel settings ------------------------------------------------------------------------
    def channel_settings(self, team: str, channel: str) -> ChannelSettings | None:
        found = self._select("SELECT * FROM channel_settings WHERE team = %s AND channel = %s", (team, channel))
        return rows.channel_settings(found[0]) if found else None

    def save_channel_settings(self, settings: ChannelSettings) -> None:
        self._execute(
            "INSERT INTO channel_settings (team, channel, settings_json, updated_by, updated_at) VALUES (%s,%s,%s,%s,%s)"
            " ON CONFLICT (team, channel) DO UPDATE SET settings_json = EXCLUDED.settings_json,"
            " updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at",
            (settings.team, settings.channel, rows.preferences_json(settings), settings.updated_by,
             settings.updated_at or time.time()))

    def all_channel_settings(self) -> list[ChannelSettings]:
        found = self._select('SELECT * FROM channel_settings ORDER BY team COLLATE "C", channel COLLATE "C"')
        return [rows.channel_settings(r) for r in found]

    # -- feedback reasons ------------------------------------------------------------------------
    def record_feedback_reason(self, reason: FeedbackReason) -> bool:
        try:
            return self._execute(
                "INSERT INTO feedback_reasons (question_id, user_id, reason, text, created_at)"
                " SELECT %s, %s, %s, %s, %s WHERE EXISTS (SELECT 1 FROM questions WHERE id = %s)"
                " ON CONFLICT (question_id, user_id) DO UPDATE SET reason = EXCLUDED.reason, text = EXCLUDED.text,"
                " created_at = EXCLUDED.created_at",
                (reason.question_id, reason.user, reason.reason, reason.text, reason.created_at or time.time(),
                 reason.question_id)) == 1
        except psycopg.errors.ForeignKeyViolation:  # the question was pruned meanwhile
            return False

    def feedback_reasons(self) -> list[FeedbackReason]:
        found = self._select(f'SELECT {_REASONS} FROM feedback_reasons ORDER BY question_id, user_id COLLATE "C"')
        return [rows.feedback_reason(r) for r in found]

    # -- kept answers ----------------------------------------------------------------------------
    def keep_answer(self, *, question_id: int, user: str, message: Mapping[str, object]) -> None:
        self._execute("INSERT INTO kept_answers (question_id, user_id, message_json, created_at) VALUES (%s,%s,%s,%s)"
                      " ON CONFLICT (question_id) DO UPDATE SET user_id = EXCLUDED.user_id,"
                      " message_json = EXCLUDED.message_json, created_at = EXCLUDED.created_at",
                      (question_id, user, json.dumps(dict(message), ensure_ascii=False), time.time()))

    def kept_answer(self, question_id: int) -> KeptAnswer | None:
        found = self._select(f"SELECT {_KEPT} FROM kept_answers WHERE question_id = %s", (question_id,))
        return rows.kept_answer(found[0]) if found else None

    # -- assistant threads -----------------------------------------------------------------------
    def save_assistant_thread(self, *, channel: str, thread_ts: str, context: Mapping[str, str]) -> None:
        self._execute("INSERT INTO assistant_threads (channel, thread_ts, context_json, updated_at) VALUES (%s,%s,%s,%s)"
                      " ON CONFLICT (channel, thread_ts) DO UPDATE SET context_json = EXCLUDED.context_json,"
                      " updated_at = EXCLUDED.updated_at",
                      (channel, thread_ts, json.dumps(dict(context)), time.time()))

    def assistant_thread(self, *, channel: str, thread_ts: str) -> dict[str, str] | None:
        found = self._select("SELECT context_json FROM assistant_threads WHERE channel = %s AND thread_ts = %s",
                             (channel, thread_ts))
        return rows.thread_context(found[0]) if found else None
