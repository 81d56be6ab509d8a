"""The bot's state: protocols by concern (``protocols``), the records they exchange (``records``)
and the backends; ``open_store`` picks the backend from where the state lives (``location``).

A process opens one store at start-up and hands it to everything that keeps state (the app, the
digest scheduler, the digest command). Another backend is one module implementing ``StateStore``
plus one branch here, and runs the shared suite in ``tests/test_state_store.py``.
"""

from __future__ import annotations

from pathlib import Path

from bot.state.location import parse_location
from bot.state.protocols import StateStore, StateUnavailableError

__all__ = ["StateStore", "StateUnavailableError", "open_store"]


def open_store(location: str | Path) -> StateStore:
    """The store at ``location``: a SQLite file (``sqlite:///path`` or a bare path; created with its
    folder when missing) or a PostgreSQL server (``postgresql://...``). ``ValueError`` names an
    unsupported scheme; ``StateUnavailableError`` a server that cannot be reached."""
    where = parse_location(location)
    if where.backend == "postgresql":
        from bot.state.postgres import PostgresStateStore  # the driver is imported only when used

        return PostgresStateStore(where.url)
    from bot.state.sqlite import SQLiteStateStore

    assert where.path is not None
    return SQLiteStateStore(where.path)
