"""The PostgreSQL half of ``SlackFeatures`` (see ``bot.state.sqlite_features`` for the SQLite one):
mixed into ``PostgresStateStore``, whose pool it shares. ``user`` is ``user_id`` in these tables and
is selected back as ``"user"``, so ``bot.state.feature_rows`` maps rows of both backends (and
``bot.state.shared_queries`` holds the reads both say alike).

Claims are single ``INSERT ... ON CONFLICT DO NOTHING`` statements; the per-user cap on saved
questions is checked under an advisory lock on the user, so two replicas cannot both pass it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping

import psycopg
from psycopg_pool import ConnectionPool

from bot.state import feature_rows as rows
from bot.state.records import (
    ChannelSettings,
    Evidence,
    FeedbackReason,
    Follow,
)
from bot.state.shared_queries import SharedQueries


class PostgresFeatures(SharedQueries):
    _pool: ConnectionPool

    # -- follows ---------------------------------------------------------------------------------
    def add_follow(self, follow: Follow) -> bool:
        return self._execute(f"INSERT INTO follows ({rows.FOLLOW_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)"
                             " ON CONFLICT DO NOTHING",
                             (follow.team, follow.follower, follow.kind, follow.term, follow.key,
                              follow.created_at or time.time())) == 1

    def remove_follow(self, *, team: str, follower: str, key: str) -> bool:
        return self._execute("DELETE FROM follows WHERE team = %s AND follower = %s AND key = %s",
                             (team, follower, key)) == 1

    # -- alerts delivered once -------------------------------------------------------------------
    def claim_alert(self, key: str, *, recipient: str, now: float) -> bool:
        return self._execute("INSERT INTO alerts_sent (key, recipient, created_at) VALUES (%s, %s, %s)"
                             " ON CONFLICT DO NOTHING", (key, recipient, now)) == 1

    def release_alert(self, key: str) -> None:
        self._execute("DELETE FROM alerts_sent WHERE key = %s", (key,))

    # -- seen articles ---------------------------------------------------------------------------
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

    def update_evidence(self, saved_id: int, *, evidence: Evidence, excerpt: str, source: str, now: float) -> None:
        self._execute("UPDATE saved_questions SET outcome = %s, path = %s, start_at = %s, end_at = %s, excerpt = %s,"
                      " source = %s, checked_at = %s WHERE id = %s",
                      (evidence.outcome, evidence.path, evidence.start, evidence.end, excerpt, source, now, saved_id))

    def remove_saved(self, saved_id: int, *, user: str) -> bool:
        return self._execute("DELETE FROM saved_questions WHERE id = %s AND user_id = %s", (saved_id, user)) == 1

    # -- channel settings ------------------------------------------------------------------------
    def save_channel_settings(self, settings: ChannelSettings) -> None:
        self._execute(
            "INSERT INTO channel_settings (team, channel, settings_json, updated_by, updated_at) VALUES (%s,%s,%s,%s,%s)"
            " ON CONFLICT (team, channel) DO UPDATE SET settings_json = EXCLUDED.settings_json,"
            " updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at",
            (settings.team, settings.channel, rows.preferences_json(settings), settings.updated_by,
             settings.updated_at or time.time()))

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

    # -- kept answers ----------------------------------------------------------------------------
    def keep_answer(self, *, question_id: int, user: str, message: Mapping[str, object]) -> None:
        self._execute("INSERT INTO kept_answers (question_id, user_id, message_json, created_at) VALUES (%s,%s,%s,%s)"
                      " ON CONFLICT (question_id) DO UPDATE SET user_id = EXCLUDED.user_id,"
                      " message_json = EXCLUDED.message_json, created_at = EXCLUDED.created_at",
                      (question_id, user, json.dumps(dict(message), ensure_ascii=False), time.time()))

    # -- assistant threads -----------------------------------------------------------------------
    def save_assistant_thread(self, *, channel: str, thread_ts: str, context: Mapping[str, str]) -> None:
        self._execute("INSERT INTO assistant_threads (channel, thread_ts, context_json, updated_at) VALUES (%s,%s,%s,%s)"
                      " ON CONFLICT (channel, thread_ts) DO UPDATE SET context_json = EXCLUDED.context_json,"
                      " updated_at = EXCLUDED.updated_at",
                      (channel, thread_ts, json.dumps(dict(context)), time.time()))
