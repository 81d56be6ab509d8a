"""The SQLite half of ``SlackFeatures``: follows, the alert log, seen articles, saved questions,
channel settings, feedback reasons and kept answers. Mixed into ``SQLiteStateStore``, whose one
connection and lock it shares; the records' row mapping is ``bot.state.feature_rows``, and the
reads both backends say alike are ``bot.state.shared_queries``.

Claims (an alert, a saved question under its per-user cap) are single statements or ``BEGIN
IMMEDIATE`` transactions, so two processes on one file agree on who won.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Mapping

from bot.state import feature_rows as rows
from bot.state.records import (
    ChannelSettings,
    Evidence,
    FeedbackReason,
    Follow,
)
from bot.state.shared_queries import SharedQueries


class SQLiteFeatures(SharedQueries):
    _lock: threading.Lock
    _conn: sqlite3.Connection

    # -- follows ---------------------------------------------------------------------------------
    def add_follow(self, follow: Follow) -> bool:
        with self._lock:
            cur = self._conn.execute(
                f"INSERT OR IGNORE INTO follows ({rows.FOLLOW_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                (follow.team, follow.follower, follow.kind, follow.term, follow.key, follow.created_at or time.time()),
            )
            return cur.rowcount == 1

    def remove_follow(self, *, team: str, follower: str, key: str) -> bool:
        with self._lock:
            cur = self._conn.execute("DELETE FROM follows WHERE team = ? AND follower = ? AND key = ?",
                                     (team, follower, key))
            return cur.rowcount == 1

    # -- alerts delivered once -------------------------------------------------------------------
    def claim_alert(self, key: str, *, recipient: str, now: float) -> bool:
        with self._lock:
            cur = self._conn.execute("INSERT OR IGNORE INTO alerts_sent (key, recipient, created_at) VALUES (?, ?, ?)",
                                     (key, recipient, now))
            return cur.rowcount == 1

    def release_alert(self, key: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM alerts_sent WHERE key = ?", (key,))

    # -- seen articles ---------------------------------------------------------------------------
    def remember_articles(self, articles: Mapping[str, str]) -> None:
        now = time.time()
        with self._lock:
            self._conn.executemany(
                "INSERT INTO seen_articles (path, hash, seen_at) VALUES (?, ?, ?)"
                " ON CONFLICT (path) DO UPDATE SET hash = excluded.hash, seen_at = excluded.seen_at",
                [(rows.SEEN_MARK, "", now), *((p, h, now) for p, h in articles.items())],
            )

    # -- saved questions -------------------------------------------------------------------------
    def save_question(self, *, team: str, user: str, question: str, language: str, evidence: Evidence,
                      excerpt: str, source: str, now: float, max_per_user: int) -> int | None:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")  # the cap holds against a second process saving too
            try:
                row = self._conn.execute("SELECT id FROM saved_questions WHERE team = ? AND user = ? AND question = ?",
                                         (team, user, question)).fetchone()
                if row is not None:
                    saved: int | None = int(row[0])
                elif self._conn.execute("SELECT COUNT(*) FROM saved_questions WHERE team = ? AND user = ?",
                                        (team, user)).fetchone()[0] >= max_per_user:
                    saved = None
                else:
                    cur = self._conn.execute(
                        "INSERT INTO saved_questions (team, user, question, language, outcome, path, start_at, end_at,"
                        " excerpt, source, saved_at, checked_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                        (team, user, question, language, evidence.outcome, evidence.path, evidence.start,
                         evidence.end, excerpt, source, now, now),
                    )
                    saved = int(cur.lastrowid or 0)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return saved

    def update_evidence(self, saved_id: int, *, evidence: Evidence, excerpt: str, source: str, now: float) -> None:
        with self._lock:
            self._conn.execute(
                "UPDATE saved_questions SET outcome = ?, path = ?, start_at = ?, end_at = ?, excerpt = ?, source = ?,"
                " checked_at = ? WHERE id = ?",
                (evidence.outcome, evidence.path, evidence.start, evidence.end, excerpt, source, now, saved_id),
            )

    def remove_saved(self, saved_id: int, *, user: str) -> bool:
        with self._lock:
            cur = self._conn.execute("DELETE FROM saved_questions WHERE id = ? AND user = ?", (saved_id, user))
            return cur.rowcount == 1

    # -- channel settings ------------------------------------------------------------------------
    def save_channel_settings(self, settings: ChannelSettings) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO channel_settings (team, channel, settings_json, updated_by, updated_at) VALUES (?,?,?,?,?)"
                " ON CONFLICT (team, channel) DO UPDATE SET settings_json = excluded.settings_json,"
                " updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                (settings.team, settings.channel, rows.preferences_json(settings), settings.updated_by,
                 settings.updated_at or time.time()),
            )

    # -- feedback reasons ------------------------------------------------------------------------
    def record_feedback_reason(self, reason: FeedbackReason) -> bool:
        with self._lock:
            if self._conn.execute("SELECT 1 FROM questions WHERE id = ?", (reason.question_id,)).fetchone() is None:
                return False
            self._conn.execute(
                "INSERT INTO feedback_reasons (question_id, user, reason, text, created_at) VALUES (?,?,?,?,?)"
                " ON CONFLICT (question_id, user) DO UPDATE SET reason = excluded.reason, text = excluded.text,"
                " created_at = excluded.created_at",
                (reason.question_id, reason.user, reason.reason, reason.text, reason.created_at or time.time()),
            )
            return True

    # -- kept answers ----------------------------------------------------------------------------
    def keep_answer(self, *, question_id: int, user: str, message: Mapping[str, object]) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO kept_answers (question_id, user, message_json, created_at) VALUES (?,?,?,?)",
                (question_id, user, json.dumps(dict(message), ensure_ascii=False), time.time()),
            )

    # -- assistant threads -----------------------------------------------------------------------
    def save_assistant_thread(self, *, channel: str, thread_ts: str, context: Mapping[str, str]) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO assistant_threads (channel, thread_ts, context_json, updated_at) VALUES (?,?,?,?)"
                " ON CONFLICT (channel, thread_ts) DO UPDATE SET context_json = excluded.context_json,"
                " updated_at = excluded.updated_at",
                (channel, thread_ts, json.dumps(dict(context)), time.time()),
            )
