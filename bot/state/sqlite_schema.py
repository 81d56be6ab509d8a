"""The SQLite store's schema, as the list of migrations that builds it.

Entries are appended, never edited: ``PRAGMA user_version`` records how many a database has applied,
so an old file is brought up to date on open and a new one is built by running them all.
"""

from __future__ import annotations

# Each entry is one migration; the database's user_version is the number applied so far.
# Not shared with postgres_schema.py: shipped migrations are frozen DDL in one dialect, read as written.
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
    # retries post it exactly once (see bot/digest/scheduler.py).
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
    # How each question was answered (a language model or the extractive fallback) and what the model cost.
    """
    ALTER TABLE questions ADD COLUMN mode TEXT;               -- llm | extractive; NULL when no answer
    ALTER TABLE questions ADD COLUMN prompt_tokens INTEGER;   -- NULL when no model was asked
    ALTER TABLE questions ADD COLUMN completion_tokens INTEGER;
    ALTER TABLE questions ADD COLUMN note TEXT;               -- why the model's answer was not used
    """,
    # Retention and shared limits: the three-way outcome of a question, indexes for pruning by age,
    # and the per-user rate-limit uses every process counts.
    """
    ALTER TABLE questions ADD COLUMN outcome TEXT;            -- answered | closest | refused | error
    CREATE INDEX thread_turns_created_at ON thread_turns (created_at);
    CREATE INDEX processed_created_at ON processed (created_at);
    CREATE TABLE rate_slots (
        key TEXT NOT NULL,               -- 'user:<slack user id>'
        at REAL NOT NULL                 -- epoch seconds of one use
    );
    CREATE INDEX rate_slots_key_at ON rate_slots (key, at);
    """,
    # Follows and alerts, answer-change alerts, channel settings, the feedback form, shared answers,
    # and the question log read by user (App Home).
    """
    CREATE INDEX questions_user ON questions (team, user, id);
    CREATE TABLE follows (
        team TEXT NOT NULL, follower TEXT NOT NULL,
        kind TEXT NOT NULL,              -- user | channel
        term TEXT NOT NULL,              -- as typed
        key TEXT NOT NULL,               -- canonical form of the term
        created_at REAL NOT NULL,
        PRIMARY KEY (team, follower, key)
    );
    CREATE TABLE alerts_sent (
        key TEXT PRIMARY KEY,            -- follow:<follower>:<path> | change:<saved id>:<old>><new>
        recipient TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE seen_articles (
        path TEXT PRIMARY KEY,           -- '' marks that the first look was taken
        hash TEXT NOT NULL,
        seen_at REAL NOT NULL
    );
    CREATE TABLE saved_questions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        team TEXT NOT NULL, user TEXT NOT NULL,
        question TEXT NOT NULL, language TEXT NOT NULL,
        outcome TEXT NOT NULL, path TEXT NOT NULL, start_at INTEGER NOT NULL, end_at INTEGER NOT NULL,
        excerpt TEXT NOT NULL, source TEXT NOT NULL,
        saved_at REAL NOT NULL, checked_at REAL NOT NULL,
        UNIQUE (team, user, question)
    );
    CREATE TABLE channel_settings (
        team TEXT NOT NULL, channel TEXT NOT NULL,
        settings_json TEXT NOT NULL,     -- ChannelSettings fields other than the key and the stamp
        updated_by TEXT NOT NULL, updated_at REAL NOT NULL,
        PRIMARY KEY (team, channel)
    );
    CREATE TABLE feedback_reasons (
        question_id INTEGER NOT NULL REFERENCES questions (id),
        user TEXT NOT NULL,
        reason TEXT NOT NULL,            -- wrong_fact | outdated | not_relevant | other
        text TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (question_id, user)
    );
    CREATE TABLE assistant_threads (
        channel TEXT NOT NULL, thread_ts TEXT NOT NULL,
        context_json TEXT NOT NULL,      -- the channel the panel was opened beside, and its team
        updated_at REAL NOT NULL,
        PRIMARY KEY (channel, thread_ts)
    );
    CREATE TABLE kept_answers (
        question_id INTEGER PRIMARY KEY REFERENCES questions (id),
        user TEXT NOT NULL,
        message_json TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    """,
    # Nothing lost: whether each reply reached Slack, and the questions claimed but not yet answered
    # (answered at the next start-up when a process stops first).
    """
    ALTER TABLE questions ADD COLUMN delivery_error TEXT;     -- why the reply was not posted; NULL: posted
    CREATE TABLE pending_questions (
        key TEXT PRIMARY KEY,            -- the message's claim key
        team TEXT NOT NULL, channel TEXT NOT NULL, user TEXT NOT NULL, ts TEXT NOT NULL,
        thread_ts TEXT NOT NULL, text TEXT NOT NULL, source TEXT NOT NULL, has_files INTEGER NOT NULL,
        owner TEXT NOT NULL,             -- the process answering it
        created_at REAL NOT NULL,
        posting INTEGER NOT NULL DEFAULT 0,  -- 1 once its reply was being posted
        ephemeral INTEGER NOT NULL DEFAULT 0  -- 1: the reply is shown to the asker alone
    );
    """,
)
