"""``StateStore`` in one SQLite file (WAL), so the bot's state survives restarts.

Several processes may share the file: claims are single statements or ``BEGIN IMMEDIATE``
transactions, so exactly one of them wins. The schema is ``MIGRATIONS`` (bot/state/sqlite_schema.py);
the statements SQLite and PostgreSQL say alike are ``bot.state.shared_queries``.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from bot.state.records import DigestClaim, PendingQuestion, QuestionRecord
from bot.state.rules import (
    PENDING_FIELDS,
    QUESTION_FIELDS,
    digest_takeable,
    pending_values,
    question_values,
)
from bot.state.sqlite_features import SQLiteFeatures
from bot.state.sqlite_schema import MIGRATIONS

RATE_SLOT_RETENTION_S = 24 * 3600  # rate windows are a minute; older uses only take space


class SQLiteStateStore(SQLiteFeatures):
    """Thread-safe: one connection guarded by a lock (writes are tiny; WAL keeps readers cheap)."""

    _MARK = "?"
    _USER = "user"
    _READ_USER = "user"
    _BYTE_ORDER = ""  # SQLite compares text by bytes unless told otherwise
    _QUESTION_COLUMNS = ", ".join("timings_json AS timings" if f == "timings" else f for f in QUESTION_FIELDS)

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        with self._lock:
            version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                # executescript commits; user_version is set inside the same script so a crash
                # between the two cannot leave a half-applied migration marked as done.
                self._conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")

    def claim(self, key: str) -> bool:
        with self._lock:
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO processed (key, created_at) VALUES (?, ?)", (key, time.time())
            )
            return cur.rowcount == 1

    def add_turn(self, *, team: str, channel: str, thread_ts: str, ts: str, user: str, question: str) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO thread_turns VALUES (?, ?, ?, ?, ?, ?, ?)",
                (team, channel, thread_ts, ts, user, question, time.time()),
            )

    def log_question(self, record: QuestionRecord) -> int:
        with self._lock:
            cur = self._conn.execute(
                "INSERT INTO questions (created_at, team, channel, thread_ts, user, source, question, language,"
                " refused, n_citations, latency_ms, timings_json, error, mode, prompt_tokens, completion_tokens,"
                " note, outcome, delivery_error) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (time.time(), *question_values(record)),
            )
            return int(cur.lastrowid or 0)

    def finish_question(self, question_id: int, *, latency_ms: float, delivery_error: str | None) -> None:
        with self._lock:
            self._conn.execute(
                "UPDATE questions SET latency_ms = ?, delivery_error = ?,"
                " outcome = CASE WHEN ? IS NULL THEN outcome ELSE 'error' END WHERE id = ?",
                (latency_ms, delivery_error, delivery_error, question_id),
            )

    # Pending questions: the only writers of ``pending_questions``.
    def add_pending(self, question: PendingQuestion) -> None:
        with self._lock:
            self._conn.execute(f"INSERT OR IGNORE INTO pending_questions ({', '.join(PENDING_FIELDS)})"
                               f" VALUES ({', '.join('?' * len(PENDING_FIELDS))})", pending_values(question))

    def mark_posting(self, key: str) -> None:
        with self._lock:
            self._conn.execute("UPDATE pending_questions SET posting = 1 WHERE key = ?", (key,))

    def remove_pending(self, key: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM pending_questions WHERE key = ?", (key,))

    def take_pending(self, key: str, *, owner: str, expected_owner: str) -> bool:
        with self._lock:
            cur = self._conn.execute("UPDATE pending_questions SET owner = ? WHERE key = ? AND owner = ?",
                                     (owner, key, expected_owner))
            return cur.rowcount == 1

    def record_feedback(self, *, question_id: int, user: str, value: int) -> bool:
        with self._lock:
            if self._conn.execute("SELECT 1 FROM questions WHERE id = ?", (question_id,)).fetchone() is None:
                return False
            self._conn.execute(
                "INSERT INTO feedback (question_id, user, value, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (question_id, user) DO UPDATE SET value = excluded.value,"
                " created_at = excluded.created_at",
                (question_id, user, value, time.time()),
            )
            return True

    def take_rate_slot(self, key: str, *, limit: int, window_s: float, now: float) -> bool:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")  # count and insert as one step, across processes too
            try:
                self._conn.execute("DELETE FROM rate_slots WHERE key = ? AND at <= ?", (key, now - window_s))
                used = self._conn.execute("SELECT COUNT(*) FROM rate_slots WHERE key = ?", (key,)).fetchone()[0]
                if used < limit:
                    self._conn.execute("INSERT INTO rate_slots (key, at) VALUES (?, ?)", (key, now))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            return bool(used < limit)

    def prune(self, *, older_than_s: float) -> int:
        with self._lock:
            cur = self._conn.execute("DELETE FROM processed WHERE created_at < ?", (time.time() - older_than_s,))
            return cur.rowcount

    def prune_history(self, *, older_than_s: float) -> int:
        cutoff = time.time() - older_than_s
        statements = (
            ("DELETE FROM feedback WHERE question_id IN (SELECT id FROM questions WHERE created_at < ?)", cutoff),
            ("DELETE FROM feedback_reasons WHERE question_id IN (SELECT id FROM questions WHERE created_at < ?)",
             cutoff),
            ("DELETE FROM kept_answers WHERE question_id IN (SELECT id FROM questions WHERE created_at < ?)", cutoff),
            ("DELETE FROM questions WHERE created_at < ?", cutoff),
            ("DELETE FROM thread_turns WHERE created_at < ?", cutoff),
            ("DELETE FROM assistant_threads WHERE updated_at < ?", cutoff),
            ("DELETE FROM alerts_sent WHERE created_at < ?", cutoff),  # the articles are long seen by then
            ("DELETE FROM rate_slots WHERE at < ?", time.time() - RATE_SLOT_RETENTION_S),
        )
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                removed = sum(self._conn.execute(sql, (value,)).rowcount for sql, value in statements)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return removed

    def ping(self) -> None:
        with self._lock:
            self._conn.execute("SELECT 1").fetchone()

    # Weekly digest claims: the only writers of ``digest_claims``.
    def claim_digest(self, channel: str, week: str, *, owner: str, now: float, stale_after_s: float,
                     force: bool = False) -> DigestClaim | None:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")  # one claimer at a time, across processes too
            try:
                row = self._conn.execute(
                    "SELECT status, claimed_at, retry_at FROM digest_claims WHERE channel = ? AND week = ?",
                    (channel, week),
                ).fetchone()
                if row is None:
                    self._conn.execute(
                        "INSERT INTO digest_claims (channel, week, status, owner, attempts, claimed_at, updated_at)"
                        " VALUES (?, ?, 'claimed', ?, 1, ?, ?)",
                        (channel, week, owner, now, now),
                    )
                else:
                    status, claimed_at, retry_at = row
                    if not digest_takeable(status=status, claimed_at=claimed_at, retry_at=retry_at, now=now,
                                           stale_after_s=stale_after_s, force=force):
                        self._conn.execute("COMMIT")
                        return None
                    self._conn.execute(
                        "UPDATE digest_claims SET status = 'claimed', owner = ?, attempts = attempts + 1,"
                        " claimed_at = ?, retry_at = NULL, updated_at = ? WHERE channel = ? AND week = ?",
                        (owner, now, now, channel, week),
                    )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return self.digest_claim(channel, week)

    def skip_digest(self, channel: str, week: str, *, owner: str, now: float, reason: str) -> bool:
        with self._lock:
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO digest_claims (channel, week, status, owner, attempts, claimed_at,"
                " last_error, updated_at) VALUES (?, ?, 'skipped', ?, 0, ?, ?, ?)",
                (channel, week, owner, now, reason, now),
            )
            return cur.rowcount == 1

    def _execute(self, sql: str, params: Sequence[object] = ()) -> int:
        with self._lock:
            return self._conn.execute(sql, params).rowcount

    def _select(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        with self._lock:
            cur = self._conn.cursor()
            cur.row_factory = sqlite3.Row
            return list(cur.execute(sql, params).fetchall())

    def close(self) -> None:
        with self._lock:
            self._conn.close()

