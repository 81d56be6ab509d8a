"""The bot's state: protocols by concern (``protocols``), the records they exchange (``records``)
and the backends; ``open_store`` picks the backend from where the state lives.

A process opens one store at start-up and hands it to everything that keeps state (the app, the
digest scheduler, the digest command). Another backend is one module implementing ``StateStore``
plus one branch here, and runs the shared suite in ``tests/test_state_store.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

from bot.state.protocols import StateStore

__all__ = ["StateStore", "open_store"]

_URL = re.compile(r"^([a-z][a-z0-9+.-]*)://", re.I)


def open_store(location: str | Path) -> StateStore:
    """The store at ``location``: a file path (SQLite, created with its folder when missing).
    A ``scheme://`` URL names a server backend; ``ValueError`` names a scheme that is not supported."""
    url = _URL.match(str(location))
    if url is not None:
        # the scheme only: a server URL may carry a password
        raise ValueError(f"state store {url.group(1)}:// is not supported (use a SQLite file path)")
    from bot.state.sqlite import SQLiteStateStore

    return SQLiteStateStore(location)
