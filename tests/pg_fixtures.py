"""PostgreSQL for the tests: one real server per test session, one fresh database per test.

Without PostgreSQL installed the tests that need it are skipped locally, and fail in CI (``CI=true``,
tests/ci_skips.py): `.ci/run` installs the server, and a missing one must not pass silently.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pg_server import PostgresServer, find_pg_bin


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = find_pg_bin()
    if bindir is None:
        message = ("PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's postgresql package "
                   "or set PG_BIN")
        pytest.skip(message)
    server = PostgresServer(bindir).start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL of a new, empty schema on the session's server (a database of its own, to the store)."""
    return postgres_server.create_schema()
