"""The PostgreSQL store's schema, as the list of migrations that builds it.

Entries are appended, never edited: ``schema_migrations`` records which ones a database has applied.
Several replicas may start at once, so migrating takes a transaction-scoped advisory lock
(``MIGRATION_LOCK``) and each replica applies only what is still missing after it got the lock.
The tables mirror the SQLite ones (bot/state/sqlite_schema.py); ``user`` is a reserved word here, so
the column is ``user_id``.
"""

from __future__ import annotations

MIGRATION_LOCK = 0x1D57_A7E5  # any constant shared by every replica of the bot

# Not shared with sqlite_schema.py: shipped migrations are frozen DDL in one dialect, read as written.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE processed (
        key TEXT PRIMARY KEY,                 -- 'event:<event_id>' or 'msg:<team>:<channel>:<ts>'
        created_at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX processed_created_at ON processed (created_at);
    CREATE TABLE thread_turns (
        team TEXT NOT NULL, channel TEXT NOT NULL, thread_ts TEXT NOT NULL, ts TEXT NOT NULL,
        user_id TEXT NOT NULL, question TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (team, channel, thread_ts, ts)
    );
    CREATE INDEX thread_turns_created_at ON thread_turns (created_at);
    CREATE TABLE questions (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        created_at DOUBLE PRECISION NOT NULL,
        team TEXT NOT NULL, channel TEXT NOT NULL, thread_ts TEXT NOT NULL, user_id TEXT NOT NULL,
        source TEXT NOT NULL,                 -- mention | dm | thread | command
        question TEXT NOT NULL,
        language TEXT NOT NULL,
        refused BOOLEAN NOT NULL,
        n_citations INTEGER NOT NULL,
        latency_ms DOUBLE PRECISION NOT NULL, -- receipt to posted answer
        timings JSONB NOT NULL,               -- Answer.timings_ms
        error TEXT,                           -- error class name when the answer failed
        mode TEXT,                            -- llm | extractive; NULL when no answer
        prompt_tokens INTEGER,                -- NULL when no model was asked
        completion_tokens INTEGER,
        note TEXT,                            -- why the model's answer was not used
        outcome TEXT                          -- answered | closest | refused | error
    );
    CREATE INDEX questions_created_at ON questions (created_at);
    CREATE TABLE feedback (
        question_id BIGINT NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        value SMALLINT NOT NULL,              -- +1 / -1
        created_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (question_id, user_id)
    );
    CREATE TABLE digest_claims (
        channel TEXT NOT NULL,
        week TEXT NOT NULL,                   -- 2026-W48
        status TEXT NOT NULL,                 -- claimed | posted | failed | skipped
        owner TEXT NOT NULL,                  -- the process that holds (or last held) the claim
        attempts INTEGER NOT NULL,
        claimed_at DOUBLE PRECISION NOT NULL,
        retry_at DOUBLE PRECISION,            -- failed: earliest next attempt; NULL = no automatic retry
        last_error TEXT,
        message_ts TEXT,
        updated_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (channel, week)
    );
    CREATE TABLE rate_slots (
        key TEXT NOT NULL,                    -- 'user:<slack user id>'
        at DOUBLE PRECISION NOT NULL          -- epoch seconds of one use
    );
    CREATE INDEX rate_slots_key_at ON rate_slots (key, at);
    """,
    # Follows and alerts, answer-change alerts, channel settings, the feedback form, shared answers,
    # and the question log read by user (App Home).
    """
    CREATE INDEX questions_user ON questions (team, user_id, id);
    CREATE TABLE follows (
        team TEXT NOT NULL, follower TEXT NOT NULL,
        kind TEXT NOT NULL,                   -- user | channel
        term TEXT NOT NULL,                   -- as typed
        key TEXT NOT NULL,                    -- canonical form of the term
        created_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (team, follower, key)
    );
    CREATE TABLE alerts_sent (
        key TEXT PRIMARY KEY,                 -- follow:<follower>:<path> | change:<saved id>:<old>:<new>
        recipient TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE seen_articles (
        path TEXT PRIMARY KEY,                -- '' marks that the first look was taken
        hash TEXT NOT NULL,
        seen_at DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE saved_questions (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        team TEXT NOT NULL, user_id TEXT NOT NULL,
        question TEXT NOT NULL, language TEXT NOT NULL,
        outcome TEXT NOT NULL, path TEXT NOT NULL, start_at INTEGER NOT NULL, end_at INTEGER NOT NULL,
        excerpt TEXT NOT NULL, source TEXT NOT NULL,
        saved_at DOUBLE PRECISION NOT NULL, checked_at DOUBLE PRECISION NOT NULL,
        UNIQUE (team, user_id, question)
    );
    CREATE TABLE channel_settings (
        team TEXT NOT NULL, channel TEXT NOT NULL,
        settings_json TEXT NOT NULL,          -- ChannelSettings fields other than the key and the stamp
        updated_by TEXT NOT NULL, updated_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (team, channel)
    );
    CREATE TABLE feedback_reasons (
        question_id BIGINT NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        reason TEXT NOT NULL,                 -- wrong_fact | outdated | not_relevant | other
        text TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (question_id, user_id)
    );
    CREATE TABLE assistant_threads (
        channel TEXT NOT NULL, thread_ts TEXT NOT NULL,
        context_json TEXT NOT NULL,      -- the channel the panel was opened beside, and its team
        updated_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (channel, thread_ts)
    );
    CREATE TABLE kept_answers (
        question_id BIGINT PRIMARY KEY REFERENCES questions (id) ON DELETE CASCADE,
        user_id TEXT NOT NULL,
        message_json TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    );
    """,
    # Nothing lost: whether each reply reached Slack, and the questions claimed but not yet answered.
    """
    ALTER TABLE questions ADD COLUMN delivery_error TEXT;  -- why the reply was not posted; NULL: posted
    CREATE TABLE pending_questions (
        key TEXT PRIMARY KEY,                 -- the message's claim key
        team TEXT NOT NULL, channel TEXT NOT NULL, user_id TEXT NOT NULL, ts TEXT NOT NULL,
        thread_ts TEXT NOT NULL, text TEXT NOT NULL, source TEXT NOT NULL, has_files BOOLEAN NOT NULL,
        owner TEXT NOT NULL,                  -- the process answering it
        created_at DOUBLE PRECISION NOT NULL,
        posting BOOLEAN NOT NULL DEFAULT FALSE,
        ephemeral BOOLEAN NOT NULL DEFAULT FALSE
    );
    """,
)
