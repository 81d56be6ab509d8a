"""What only the PostgreSQL backend has: migrations several replicas may run at once, a clear error
for a server that is not there, and a URL whose password never reaches a message. Also how
``STATE_URL`` is read (``bot.state.location``)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from bot.state import StateUnavailableError, open_store
from bot.state.location import parse_location, redact
from bot.state.postgres import PostgresStateStore
from bot.state.postgres_schema import MIGRATIONS
from bot.state.records import QuestionRecord
from tests.pg_server import PostgresServer, free_port


def test_replicas_starting_together_migrate_once(postgres_url: str) -> None:
    with ThreadPoolExecutor(4) as pool:
        stores = list(pool.map(lambda _: PostgresStateStore(postgres_url), range(4)))
    try:
        assert {s.schema_version for s in stores} == {len(MIGRATIONS)}
        with psycopg.connect(postgres_url) as conn:
            applied = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
        assert applied == list(range(1, len(MIGRATIONS) + 1))
    finally:
        for store in stores:
            store.close()


def test_reopening_keeps_the_data_and_does_not_reapply_migrations(postgres_url: str) -> None:
    store = PostgresStateStore(postgres_url)
    store.log_question(QuestionRecord(team="T", channel="C", thread_ts="1.0", user="U", source="mention",
                                      question="q", language="en", refused=False, n_citations=1, latency_ms=1.0))
    store.close()
    again = PostgresStateStore(postgres_url)  # would fail with "relation already exists" if migrations re-ran
    try:
        assert [q.record.question for q in again.questions()] == ["q"]
    finally:
        again.close()


def test_an_unreachable_server_is_one_clear_error_without_the_password(caplog: pytest.LogCaptureFixture) -> None:
    url = f"postgresql://bot:hunter2@127.0.0.1:{free_port()}/state"
    with caplog.at_level("DEBUG"), pytest.raises(StateUnavailableError) as err:
        PostgresStateStore(url, connect_timeout_s=1)
    message = str(err.value)
    assert "hunter2" not in message and "bot:***@127.0.0.1" in message and "could not be reached" in message
    assert caplog.records and not any("hunter2" in r.getMessage() for r in caplog.records)  # the pool's own log


def test_the_store_names_its_server_without_the_password(postgres_server: PostgresServer) -> None:
    url = postgres_server.url(password="s3cret-pw")  # trust authentication ignores the password
    store = open_store(url)
    try:
        assert isinstance(store, PostgresStateStore)
        assert "s3cret-pw" not in repr(store) and "postgres:***@" in repr(store)
    finally:
        store.close()


@pytest.mark.parametrize(
    ("location", "backend", "where"),
    [
        ("sqlite:///data/bot.sqlite3", "sqlite", "data/bot.sqlite3"),
        ("sqlite:////var/lib/bot.sqlite3", "sqlite", "/var/lib/bot.sqlite3"),
        ("data/plain.sqlite3", "sqlite", "data/plain.sqlite3"),
        (Path("/tmp/x.sqlite3"), "sqlite", "/tmp/x.sqlite3"),
        ("postgresql://bot:pw@db:5432/iqa", "postgresql", "postgresql://bot:***@db:5432/iqa"),
        ("postgres://bot@db/iqa?password=pw&sslmode=require", "postgresql",
         "postgres://bot@db/iqa?password=***&sslmode=require"),
    ],
)
def test_state_locations(location: str | Path, backend: str, where: str) -> None:
    parsed = parse_location(location)
    assert (parsed.backend, str(parsed)) == (backend, where)


def test_unknown_schemes_and_empty_sqlite_paths_are_refused_without_secrets() -> None:
    with pytest.raises(ValueError, match=r"redis:// is not supported") as err:
        parse_location("redis://user:secret@host/0")
    assert "secret" not in str(err.value)
    with pytest.raises(ValueError, match="needs a file path"):
        parse_location("sqlite:///")


def test_redact_leaves_urls_without_secrets_alone() -> None:
    assert redact("postgresql://bot@db:5432/iqa") == "postgresql://bot@db:5432/iqa"
    assert redact("postgresql://db/iqa?sslmode=require") == "postgresql://db/iqa?sslmode=require"
