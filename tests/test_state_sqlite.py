"""What only the SQLite backend has: its schema's versioned migrations and WAL; and ``open_store``."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.state import open_store
from bot.state.records import QuestionRecord
from bot.state.sqlite import SQLiteStateStore
from bot.state.sqlite_schema import MIGRATIONS


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStateStore]:
    s = SQLiteStateStore(tmp_path / "state" / "bot.sqlite3")
    yield s
    s.close()


def test_schema_is_versioned_and_wal(store: SQLiteStateStore) -> None:
    assert store.schema_version == len(MIGRATIONS)
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_reopening_does_not_reapply_migrations(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    s = SQLiteStateStore(path)
    s.log_question(QuestionRecord(team="T", channel="C", thread_ts="1.0", user="U", source="mention", question="q",
                                  language="en", refused=False, n_citations=1, latency_ms=12.5))
    s.close()
    s = SQLiteStateStore(path)  # would fail with "table already exists" if migrations re-ran
    assert len(s.questions()) == 1
    s.close()


def test_question_log_migration_keeps_old_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:2], start=1):  # a database without the model's columns
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
    conn.execute("INSERT INTO questions (created_at, team, channel, thread_ts, user, source, question, language,"
                 " refused, n_citations, latency_ms, timings_json) VALUES (1, 'T', 'C', '', 'U', 'mention', 'old?',"
                 " 'en', 0, 1, 5.0, '{}')")
    conn.close()
    store = SQLiteStateStore(path)
    store.log_question(QuestionRecord(team="T", channel="C", thread_ts="", user="U", source="dm", question="new?",
                                      language="en", refused=False, n_citations=2, latency_ms=9.0, mode="llm",
                                      prompt_tokens=120, completion_tokens=30))
    old, new = (q.record for q in store.questions())
    store.close()
    assert (old.question, old.mode, old.prompt_tokens, old.note) == ("old?", None, None, "")
    assert (new.mode, new.prompt_tokens, new.completion_tokens, new.note) == ("llm", 120, 30, "")


def test_open_store_opens_sqlite_at_a_path_and_names_an_unknown_scheme(tmp_path: Path) -> None:
    store = open_store(tmp_path / "new" / "state.sqlite3")
    try:
        assert isinstance(store, SQLiteStateStore) and (tmp_path / "new" / "state.sqlite3").is_file()
    finally:
        store.close()
    with pytest.raises(ValueError, match=r"state store redis:// is not supported") as err:
        open_store("redis://user:secret@host/0")
    assert "secret" not in str(err.value)
