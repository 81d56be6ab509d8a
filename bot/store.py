"""Bot state behind a small interface: processed events, thread turns, question log, feedback.

``SQLiteStateStore`` keeps it in one SQLite file (WAL) so it survives restarts; a server database
can replace it by implementing ``StateStore``. Schema changes are appended to ``MIGRATIONS``
(never edited): ``PRAGMA user_version`` records how many have been applied.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

# Each entry is one migration; the database's user_version is the number applied so far.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE processed (
        key TEXT PRIMARY KEY,           -- 'event:<event_id>' or 'msg:<team>:<channel>:<ts>'
        created_at REAL NOT NULL
    );
    CREATE TABLE thread_turns (
        team TEXT NOT NULL, channel TEXT NOT NULL, thread_ts TEXT NOT NULL, ts TEXT NOT NULL,
        user TEXT NOT NULL, question TEXT NOT NULL, created_at REAL NOT NULL,
        PRIMARY KEY (team, channel, thread_ts, ts)
    );
    CREATE TABLE questions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at REAL NOT NULL,
        team TEXT NOT NULL, channel TEXT NOT NULL, thread_ts TEXT NOT NULL, user TEXT NOT NULL,
        source TEXT NOT NULL,            -- mention | dm | thread | command
        question TEXT NOT NULL,
        language TEXT NOT NULL,
        refused INTEGER NOT NULL,
        n_citations INTEGER NOT NULL,
        latency_ms REAL NOT NULL,        -- receipt to posted answer
        timings_json TEXT NOT NULL,      -- Answer.timings_ms
        error TEXT                       -- error class name when the answer failed
    );
    CREATE INDEX questions_created_at ON questions (created_at);
    CREATE TABLE feedback (
        question_id INTEGER NOT NULL REFERENCES questions (id),
        user TEXT NOT NULL,
        value INTEGER NOT NULL,          -- +1 / -1
        created_at REAL NOT NULL,
        PRIMARY KEY (question_id, user)
    );
    """,
    # Weekly digest: one row per (channel, ISO week) so that several processes, restarts and
    # retries post it exactly once (see bot/scheduler.py).
    """
    CREATE TABLE digest_claims (
        channel TEXT NOT NULL,
        week TEXT NOT NULL,              -- 2026-W48
        status TEXT NOT NULL,            -- claimed | posted | failed | skipped
        owner TEXT NOT NULL,             -- the process that holds (or last held) the claim
        attempts INTEGER NOT NULL,
        claimed_at REAL NOT NULL,
        retry_at REAL,                   -- failed: earliest next attempt; NULL = no automatic retry
        last_error TEXT,
        message_ts TEXT,
        updated_at REAL NOT NULL,
        PRIMARY KEY (channel, week)
    );
    """,
    # Language-model answers (issue #5): how each question was answered and what the model cost.
    """
    ALTER TABLE questions ADD COLUMN mode TEXT;               -- llm | extractive; NULL when no answer
    ALTER TABLE questions ADD COLUMN prompt_tokens INTEGER;   -- NULL when no model was asked
    ALTER TABLE questions ADD COLUMN completion_tokens INTEGER;
    ALTER TABLE questions ADD COLUMN note TEXT;               -- why the model's answer was not used
    """,
)


@dataclass(frozen=True)
class QuestionRecord:
    """One row of the question log (what a weekly digest will read)."""

    team: str
    channel: str
    thread_ts: str
    user: str
    source: str
    question: str
    language: str
    refused: bool
    n_citations: int
    latency_ms: float
    timings_ms: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    mode: str | None = None  # llm | extractive
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    note: str = ""  # Answer.note: the fallback from the model to the extractive answer


@dataclass(frozen=True)
class DigestClaim:
    """A row of ``digest_claims``."""

    channel: str
    week: str
    status: str
    owner: str
    attempts: int
    claimed_at: float
    retry_at: float | None
    last_error: str | None
    message_ts: str | None


class StateStore(Protocol):
    def claim(self, key: str) -> bool:
        """Atomically mark ``key`` processed; False when it already was (a duplicate)."""

    def add_turn(self, *, team: str, channel: str, thread_ts: str, ts: str, user: str, question: str) -> None:
        """Remember that the bot is answering ``question`` (message ``ts``) in this thread."""

    def thread_history(self, *, team: str, channel: str, thread_ts: str, before_ts: str) -> list[str] | None:
        """Earlier questions of a thread (oldest first), or None if the bot is not part of it."""

    def log_question(self, record: QuestionRecord) -> int:
        """Append to the question log; returns the id that feedback refers to."""

    def record_feedback(self, *, question_id: int, user: str, value: int) -> bool:
        """Store (or change) a user's vote; False when the question id is unknown."""

    def close(self) -> None: ...


def event_key(event_id: str) -> str:
    return f"event:{event_id}"


def message_key(team: str, channel: str, ts: str) -> str:
    return f"msg:{team}:{channel}:{ts}"


class SQLiteStateStore:
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
        if not rows:
            return None
        # Slack ts values are "seconds.micros" strings: compare them as decimals, not text.
        return [q for ts, q in sorted(rows, key=lambda r: float(r[0])) if float(ts) < float(before_ts)]

    def log_question(self, record: QuestionRecord) -> int:
        with self._lock:
            cur = self._conn.execute(
                "INSERT INTO questions (created_at, team, channel, thread_ts, user, source, question, language,"
                " refused, n_citations, latency_ms, timings_json, error, mode, prompt_tokens, completion_tokens,"
                " note) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    time.time(), record.team, record.channel, record.thread_ts, record.user, record.source,
                    record.question, record.language, int(record.refused), record.n_citations,
                    record.latency_ms, json.dumps(record.timings_ms), record.error, record.mode,
                    record.prompt_tokens, record.completion_tokens, record.note or None,
                ),
            )
            return int(cur.lastrowid or 0)

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

    def prune(self, *, older_than_s: float) -> int:
        """Forget processed-event keys older than ``older_than_s`` (Slack stops retrying after minutes)."""
        with self._lock:
            cur = self._conn.execute("DELETE FROM processed WHERE created_at < ?", (time.time() - older_than_s,))
            return cur.rowcount

    # Weekly digest claims: the only writers of ``digest_claims``.
    def claim_digest(self, channel: str, week: str, *, owner: str, now: float, stale_after_s: float,
                     force: bool = False) -> DigestClaim | None:
        """Take the (channel, week) claim, or None when it is not ours to take: already posted,
        held by a live attempt, failed with its retry not yet due (or given up), or skipped.
        ``force`` (an operator's explicit post) also takes failed and skipped claims, never posted ones."""
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
                    takeable = (
                        (status == "claimed" and claimed_at < now - stale_after_s)
                        or (status == "failed" and (force or (retry_at is not None and retry_at <= now)))
                        or (status == "skipped" and force)
                    )
                    if not takeable:
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
        """Record that this week's digest is deliberately not posted; False if a row already existed."""
        with self._lock:
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO digest_claims (channel, week, status, owner, attempts, claimed_at,"
                " last_error, updated_at) VALUES (?, ?, 'skipped', ?, 0, ?, ?, ?)",
                (channel, week, owner, now, reason, now),
            )
            return cur.rowcount == 1

    def has_digest_before(self, channel: str, week: str) -> bool:
        """Whether a week earlier than ``week`` was ever claimed or skipped for ``channel``."""
        return bool(self._select("SELECT 1 FROM digest_claims WHERE channel = ? AND week < ? LIMIT 1", (channel, week)))

    def digest_claim(self, channel: str, week: str) -> DigestClaim | None:
        rows = self._select(
            "SELECT channel, week, status, owner, attempts, claimed_at, retry_at, last_error, message_ts"
            " FROM digest_claims WHERE channel = ? AND week = ?",
            (channel, week),
        )
        return DigestClaim(**dict(rows[0])) if rows else None

    # Read helpers for tests, the digest and operators.
    def questions(self) -> list[sqlite3.Row]:
        return self._select("SELECT * FROM questions ORDER BY id")

    def questions_between(self, start: float, end: float) -> list[sqlite3.Row]:
        """Question log rows with ``start <= created_at < end`` (epoch seconds), oldest first."""
        return self._select(
            "SELECT question, created_at, refused, error, source FROM questions"
            " WHERE created_at >= ? AND created_at < ? ORDER BY created_at",
            (start, end),
        )

    def feedback(self) -> list[sqlite3.Row]:
        return self._select("SELECT * FROM feedback ORDER BY question_id, user")

    def _select(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        with self._lock:
            cur = self._conn.cursor()
            cur.row_factory = sqlite3.Row
            return list(cur.execute(sql, params).fetchall())

    def close(self) -> None:
        with self._lock:
            self._conn.close()
