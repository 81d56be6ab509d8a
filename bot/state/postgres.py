"""``StateStore`` on a PostgreSQL server, so that several replicas of the bot share one truth.

Every method borrows a connection from a pool (psycopg 3, autocommit) for one statement or one
transaction. Exactly-once claims are single ``INSERT ... ON CONFLICT DO NOTHING`` statements; a
digest claim locks its row (``SELECT ... FOR UPDATE``); a rate-limit window is counted under an
advisory lock on its key. The schema is ``MIGRATIONS`` (bot/state/postgres_schema.py). The URL may
carry a password: only ``redact(url)`` is ever put into a message. The statements both backends say
alike are ``bot.state.shared_queries``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from bot.state.location import redact
from bot.state.postgres_features import PostgresFeatures
from bot.state.postgres_schema import MIGRATION_LOCK, MIGRATIONS
from bot.state.protocols import StateUnavailableError
from bot.state.records import DigestClaim, PendingQuestion, QuestionRecord
from bot.state.rules import (
    PENDING_FIELDS,
    QUESTION_FIELDS,
    digest_takeable,
    pending_values,
    question_values,
)

POOL_MAX = 10  # connections per process; answering threads hold one for milliseconds at a time
CONNECT_TIMEOUT_S = 10.0  # at start-up: the server must answer within this
WAIT_TIMEOUT_S = 10.0  # a thread waiting for a free connection gives up after this
PING_TIMEOUT_S = 2.0
RATE_SLOT_RETENTION_S = 24 * 3600
_PENDING_COLUMNS = ", ".join("user_id" if f == "user" else f for f in PENDING_FIELDS)


class PostgresStateStore(PostgresFeatures):
    """Thread-safe (a connection pool); several processes may share the database."""

    _MARK = "%s"
    _USER = "user_id"
    _READ_USER = 'user_id AS "user"'
    _BYTE_ORDER = ' COLLATE "C"'  # whatever the database's collation
    _QUESTION_COLUMNS = ", ".join('user_id AS "user"' if f == "user" else f for f in QUESTION_FIELDS)

    def __init__(self, url: str, *, pool_max: int = POOL_MAX, connect_timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        self._url = url
        self._pool = ConnectionPool(
            url, min_size=1, max_size=pool_max, open=False, timeout=WAIT_TIMEOUT_S, name="industry-qa-state",
            kwargs={"autocommit": True, "connect_timeout": max(1, int(connect_timeout_s))},
            check=ConnectionPool.check_connection,  # a connection the server dropped is replaced, not used
        )
        try:
            self._pool.open(wait=True, timeout=connect_timeout_s)
            self._migrate()
        except (PoolTimeout, psycopg.OperationalError) as err:
            self._pool.close()
            detail = "no connection" if isinstance(err, PoolTimeout) else type(err).__name__
            raise StateUnavailableError(
                f"PostgreSQL at {redact(url)} could not be reached within {connect_timeout_s:g} s ({detail})"
            ) from None

    def __repr__(self) -> str:
        return f"PostgresStateStore({redact(self._url)!r})"

    @property
    def schema_version(self) -> int:
        return int(self._select("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")[0]["v"])

    def _migrate(self) -> None:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))  # one replica at a time
            conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations"
                         " (version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)")
            row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()
            done = int(row[0]) if row else 0
            for number, script in enumerate(MIGRATIONS[done:], start=done + 1):
                conn.execute(script.encode())  # several statements, no parameters
                conn.execute("INSERT INTO schema_migrations VALUES (%s, %s)", (number, time.time()))

    def _execute(self, query: str, params: Sequence[Any] = ()) -> int:
        with self._pool.connection() as conn:
            return conn.execute(query.encode(), params).rowcount

    def _select(self, query: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(query.encode(), params).fetchall()

    # -- claims, threads ----------------------------------------------------------------------------
    def claim(self, key: str) -> bool:
        return self._execute("INSERT INTO processed (key, created_at) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                             (key, time.time())) == 1

    def add_turn(self, *, team: str, channel: str, thread_ts: str, ts: str, user: str, question: str) -> None:
        self._execute("INSERT INTO thread_turns VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                      (team, channel, thread_ts, ts, user, question, time.time()))

    # -- question log, feedback ---------------------------------------------------------------------
    def log_question(self, record: QuestionRecord) -> int:
        rows = self._select(
            "INSERT INTO questions (created_at, team, channel, thread_ts, user_id, source, question, language, refused,"
            " n_citations, latency_ms, timings, error, mode, prompt_tokens, completion_tokens, note, outcome,"
            " delivery_error) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s, %s, %s)"
            " RETURNING id",
            (time.time(), *question_values(record)),
        )
        return int(rows[0]["id"])

    def finish_question(self, question_id: int, *, latency_ms: float, delivery_error: str | None) -> None:
        self._execute("UPDATE questions SET latency_ms = %s, delivery_error = %s,"
                      " outcome = CASE WHEN %s::text IS NULL THEN outcome ELSE 'error' END WHERE id = %s",
                      (latency_ms, delivery_error, delivery_error, question_id))

    # -- pending questions --------------------------------------------------------------------------
    def add_pending(self, question: PendingQuestion) -> None:
        self._execute(f"INSERT INTO pending_questions ({_PENDING_COLUMNS}) VALUES"
                      f" ({', '.join(['%s'] * len(PENDING_FIELDS))}) ON CONFLICT DO NOTHING", pending_values(question))

    def mark_posting(self, key: str) -> None:
        self._execute("UPDATE pending_questions SET posting = TRUE WHERE key = %s", (key,))

    def remove_pending(self, key: str) -> None:
        self._execute("DELETE FROM pending_questions WHERE key = %s", (key,))

    def take_pending(self, key: str, *, owner: str, expected_owner: str) -> bool:
        return self._execute("UPDATE pending_questions SET owner = %s WHERE key = %s AND owner = %s",
                             (owner, key, expected_owner)) == 1

    def record_feedback(self, *, question_id: int, user: str, value: int) -> bool:
        try:
            return self._execute(
                "INSERT INTO feedback (question_id, user_id, value, created_at)"
                " SELECT %s, %s, %s, %s WHERE EXISTS (SELECT 1 FROM questions WHERE id = %s)"
                " ON CONFLICT (question_id, user_id) DO UPDATE SET value = EXCLUDED.value,"
                " created_at = EXCLUDED.created_at",
                (question_id, user, value, time.time(), question_id),
            ) == 1
        except psycopg.errors.ForeignKeyViolation:  # the question was pruned meanwhile
            return False

    # -- weekly digest claims -----------------------------------------------------------------------
    def claim_digest(self, channel: str, week: str, *, owner: str, now: float, stale_after_s: float,
                     force: bool = False) -> DigestClaim | None:
        with self._pool.connection() as conn, conn.transaction():
            row = conn.execute("SELECT status, claimed_at, retry_at FROM digest_claims WHERE channel = %s AND week = %s"
                               " FOR UPDATE", (channel, week)).fetchone()
            if row is None:
                inserted = conn.execute(
                    "INSERT INTO digest_claims (channel, week, status, owner, attempts, claimed_at, updated_at)"
                    " VALUES (%s, %s, 'claimed', %s, 1, %s, %s) ON CONFLICT DO NOTHING",
                    (channel, week, owner, now, now)).rowcount
                if inserted != 1:  # another process inserted it first
                    return None
            else:
                status, claimed_at, retry_at = row
                if not digest_takeable(status=status, claimed_at=claimed_at, retry_at=retry_at, now=now,
                                       stale_after_s=stale_after_s, force=force):
                    return None
                conn.execute("UPDATE digest_claims SET status = 'claimed', owner = %s, attempts = attempts + 1,"
                             " claimed_at = %s, retry_at = NULL, updated_at = %s WHERE channel = %s AND week = %s",
                             (owner, now, now, channel, week))
        return self.digest_claim(channel, week)

    def skip_digest(self, channel: str, week: str, *, owner: str, now: float, reason: str) -> bool:
        return self._execute(
            "INSERT INTO digest_claims (channel, week, status, owner, attempts, claimed_at, last_error, updated_at)"
            " VALUES (%s, %s, 'skipped', %s, 0, %s, %s, %s) ON CONFLICT DO NOTHING",
            (channel, week, owner, now, reason, now)) == 1

    # -- rate limits, maintenance -------------------------------------------------------------------
    def take_rate_slot(self, key: str, *, limit: int, window_s: float, now: float) -> bool:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))  # one counter at a time
            conn.execute("DELETE FROM rate_slots WHERE key = %s AND at <= %s", (key, now - window_s))
            row = conn.execute("SELECT COUNT(*) FROM rate_slots WHERE key = %s", (key,)).fetchone()
            used = int(row[0]) if row else 0
            if used < limit:
                conn.execute("INSERT INTO rate_slots (key, at) VALUES (%s, %s)", (key, now))
        return used < limit

    def prune(self, *, older_than_s: float) -> int:
        return self._execute("DELETE FROM processed WHERE created_at < %s", (time.time() - older_than_s,))

    def prune_history(self, *, older_than_s: float) -> int:
        cutoff = time.time() - older_than_s
        statements = (
            ("DELETE FROM feedback WHERE question_id IN (SELECT id FROM questions WHERE created_at < %s)", cutoff),
            ("DELETE FROM questions WHERE created_at < %s", cutoff),
            ("DELETE FROM thread_turns WHERE created_at < %s", cutoff),
            ("DELETE FROM assistant_threads WHERE updated_at < %s", cutoff),
            ("DELETE FROM alerts_sent WHERE created_at < %s", cutoff),  # the articles are long seen by then
            ("DELETE FROM rate_slots WHERE at < %s", time.time() - RATE_SLOT_RETENTION_S),
        )
        with self._pool.connection() as conn, conn.transaction():
            return sum(conn.execute(sql.encode(), (value,)).rowcount for sql, value in statements)

    def ping(self) -> None:
        with self._pool.connection(timeout=PING_TIMEOUT_S) as conn:
            conn.execute("SELECT 1").fetchone()

    def close(self) -> None:
        self._pool.close()
