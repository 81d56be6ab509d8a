"""The SQLite state store: atomic claims, thread history, question log, feedback, migrations."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.store import MIGRATIONS, QuestionRecord, SQLiteStateStore, event_key, message_key


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStateStore:
    s = SQLiteStateStore(tmp_path / "state" / "bot.sqlite3")
    yield s  # type: ignore[misc]
    s.close()


def record(**kw: object) -> QuestionRecord:
    base = dict(team="T", channel="C", thread_ts="1.0", user="U", source="mention", question="q", language="en",
                refused=False, n_citations=1, latency_ms=12.5, timings_ms={"total_ms": 10.0})
    return QuestionRecord(**{**base, **kw})  # type: ignore[arg-type]


def test_claim_is_once_only_and_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    first = SQLiteStateStore(path)
    assert first.claim(event_key("Ev1")) is True
    assert first.claim(event_key("Ev1")) is False
    assert first.claim(message_key("T", "C", "1.1")) is True
    first.close()
    again = SQLiteStateStore(path)
    assert again.claim(event_key("Ev1")) is False
    assert again.claim(message_key("T", "C", "1.1")) is False
    assert again.claim(message_key("T", "C2", "1.1")) is True  # the channel is part of the key
    again.close()


def test_concurrent_claims_have_exactly_one_winner(store: SQLiteStateStore) -> None:
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda _: store.claim("msg:T:C:9.9"), range(40)))
    assert results.count(True) == 1


def test_thread_history_is_oldest_first_and_only_earlier_turns(store: SQLiteStateStore) -> None:
    assert store.thread_history(team="T", channel="C", thread_ts="100.000001", before_ts="inf") is None
    # "99.5" < "100.0" numerically but not as text: the store must compare ts values as numbers
    for ts, q in [("100.000300", "third"), ("100.000001", "first"), ("100.000020", "second")]:
        store.add_turn(team="T", channel="C", thread_ts="100.000001", ts=ts, user="U", question=q)
    store.add_turn(team="T", channel="C", thread_ts="99.500000", ts="99.500000", user="U", question="other thread")
    assert store.thread_history(team="T", channel="C", thread_ts="100.000001", before_ts="100.000300") == ["first", "second"]
    assert store.thread_history(team="T", channel="C", thread_ts="100.000001", before_ts="100.000001") == []
    assert store.thread_history(team="T", channel="OTHER", thread_ts="100.000001", before_ts="inf") is None


def test_question_log_and_feedback(store: SQLiteStateStore) -> None:
    qid = store.log_question(record(refused=True, n_citations=0, error=None))
    failed = store.log_question(record(error="IndexMissingError"))
    rows = store.questions()
    assert [r["id"] for r in rows] == [qid, failed]
    assert rows[0]["refused"] == 1 and rows[0]["timings_json"] == '{"total_ms": 10.0}'
    assert rows[1]["error"] == "IndexMissingError"
    assert store.record_feedback(question_id=qid, user="U2", value=1) is True
    assert store.record_feedback(question_id=qid, user="U2", value=-1) is True  # a changed vote replaces
    assert store.record_feedback(question_id=9999, user="U2", value=1) is False
    assert [(r["question_id"], r["user"], r["value"]) for r in store.feedback()] == [(qid, "U2", -1)]


def test_schema_is_versioned_and_wal(store: SQLiteStateStore) -> None:
    assert store.schema_version == len(MIGRATIONS)
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_reopening_does_not_reapply_migrations(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    s = SQLiteStateStore(path)
    s.log_question(record())
    s.close()
    s = SQLiteStateStore(path)  # would fail with "table already exists" if migrations re-ran
    assert len(s.questions()) == 1
    s.close()


def test_prune_forgets_old_claims_only(store: SQLiteStateStore) -> None:
    store.claim("event:old")
    assert store.prune(older_than_s=-1) == 1  # everything is "older" than the future
    assert store.claim("event:old") is True
    assert store.prune(older_than_s=3600) == 0
