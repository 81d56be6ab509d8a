"""``StateStore`` in one SQLite file (WAL), so the bot's state survives restarts.

Several processes may share the file: claims are single statements or ``BEGIN IMMEDIATE``
transactions, so exactly one of them wins. The schema is ``MIGRATIONS`` (bot/state/sqlite_schema.py).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from bot.state.records import DigestClaim, Feedback, PendingQuestion, QuestionRecord, StoredQuestion
from bot.state.rules import (
    PENDING_FIELDS,
    QUESTION_FIELDS,
    digest_takeable,
    earlier_turns,
    pending_question,
    pending_values,
    question_values,
    stored_question,
)
from bot.state.sqlite_features import SQLiteFeatures
from bot.state.sqlite_schema import MIGRATIONS

# The question log's columns as ``QUESTION_FIELDS`` names them.
_QUESTION_COLUMNS = ", ".join("timings_json AS timings" if f == "timings" else f for f in QUESTION_FIELDS)
RATE_SLOT_RETENTION_S = 24 * 3600  # rate windows are a minute; older uses only take space


class SQLiteStateStore(SQLiteFeatures):
    """Thread-safe: one connection guarded by a lock (writes are tiny; WAL keeps readers cheap)."""

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

    def thread_history(self, *, team: str, channel: str, thread_ts: str, before_ts: str) -> list[str] | None:
        with self._lock:
            rows = self._conn.execute(
                "SELECT ts, question FROM thread_turns WHERE team = ? AND channel = ? AND thread_ts = ?",
                (team, channel, thread_ts),
            ).fetchall()
        return earlier_turns(rows, before_ts) if rows else None

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

    def pending_questions(self) -> list[PendingQuestion]:
        rows = self._select(f"SELECT {', '.join(PENDING_FIELDS)} FROM pending_questions ORDER BY created_at, key")
        return [pending_question(r) for r in rows]

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

    def finish_digest(self, channel: str, week: str, *, owner: str, now: float, message_ts: str) -> bool:
        return self._settle_digest(channel, week, owner, "status = 'posted', message_ts = ?, last_error = NULL",
                                   (message_ts,), now)

    def fail_digest(self, channel: str, week: str, *, owner: str, now: float, error: str, retry_at: float | None) -> bool:
        return self._settle_digest(channel, week, owner, "status = 'failed', last_error = ?, retry_at = ?",
                                   (error, retry_at), now)

    def _settle_digest(self, channel: str, week: str, owner: str, assignments: str, values: tuple[object, ...],
                       now: float) -> bool:
        with self._lock:
            cur = self._conn.execute(
                f"UPDATE digest_claims SET {assignments}, updated_at = ?"
                " WHERE channel = ? AND week = ? AND owner = ? AND status = 'claimed'",
                (*values, now, channel, week, owner),
            )
            return cur.rowcount == 1

    def skip_digest(self, channel: str, week: str, *, owner: str, now: float, reason: str) -> bool:
        with self._lock:
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO digest_claims (channel, week, status, owner, attempts, claimed_at,"
                " last_error, updated_at) VALUES (?, ?, 'skipped', ?, 0, ?, ?, ?)",
                (channel, week, owner, now, reason, now),
            )
            return cur.rowcount == 1

    def has_digest_before(self, channel: str, week: str) -> bool:
        return bool(self._select("SELECT 1 FROM digest_claims WHERE channel = ? AND week < ? LIMIT 1", (channel, week)))

    def digest_claim(self, channel: str, week: str) -> DigestClaim | None:
        rows = self._select(
            "SELECT channel, week, status, owner, attempts, claimed_at, retry_at, last_error, message_ts"
            " FROM digest_claims WHERE channel = ? AND week = ?",
            (channel, week),
        )
        return DigestClaim(**dict(rows[0])) if rows else None

    def questions(self) -> list[StoredQuestion]:
        return self._select_questions("ORDER BY id", ())

    def _select_questions(self, where: str, params: Sequence[object]) -> list[StoredQuestion]:
        return [stored_question(r) for r in self._select(f"SELECT {_QUESTION_COLUMNS} FROM questions {where}", params)]

    def questions_between(self, start: float, end: float) -> list[StoredQuestion]:
        rows = self._select(
            f"SELECT {_QUESTION_COLUMNS} FROM questions WHERE created_at >= ? AND created_at < ?"
            " ORDER BY created_at, id",
            (start, end),
        )
        return [stored_question(r) for r in rows]

    def feedback(self) -> list[Feedback]:
        rows = self._select("SELECT question_id, user, value, created_at FROM feedback ORDER BY question_id, user")
        return [Feedback(**dict(r)) for r in rows]

    def _select(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        with self._lock:
            cur = self._conn.cursor()
            cur.row_factory = sqlite3.Row
            return list(cur.execute(sql, params).fetchall())

    def close(self) -> None:
        with self._lock:
            self._conn.close()

