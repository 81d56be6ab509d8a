"""Where the state lives: ``STATE_URL`` parsed into a backend and its address, and the one way to
print such a URL (without its password).

``sqlite:///relative/path`` and ``sqlite:////absolute/path`` (SQLAlchemy's spelling) or a bare path
mean a SQLite file; ``postgresql://`` (or ``postgres://``) a PostgreSQL server. Nothing here
imports a database driver, so settings can be checked without one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SQLITE_PREFIX = "sqlite:///"
POSTGRES_SCHEMES = ("postgresql", "postgres")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*)://", re.I)
_SECRET_PARAMS = {"password", "sslpassword"}


@dataclass(frozen=True)
class StateLocation:
    backend: str  # sqlite | postgresql
    path: Path | None = None  # the SQLite file
    url: str = ""  # the PostgreSQL URL (may carry a password: print ``redact(url)``)

    def __str__(self) -> str:
        return str(self.path) if self.backend == "sqlite" else redact(self.url)


def parse_location(location: str | Path) -> StateLocation:
    """``ValueError`` names an unsupported scheme (the scheme only: a URL may carry a password)."""
    if isinstance(location, Path):
        return StateLocation("sqlite", path=location)
    if location.startswith(SQLITE_PREFIX):
        rest = location.removeprefix(SQLITE_PREFIX)
        if not rest:
            raise ValueError("sqlite:/// needs a file path, e.g. sqlite:///data/bot_state.sqlite3")
        return StateLocation("sqlite", path=Path(rest))
    scheme = _SCHEME.match(location)
    if scheme is None:
        return StateLocation("sqlite", path=Path(location))
    if scheme.group(1).lower() in POSTGRES_SCHEMES:
        return StateLocation("postgresql", url=location)
    raise ValueError(f"state store {scheme.group(1)}:// is not supported "
                     "(use sqlite:///<path> or postgresql://user:password@host:5432/dbname)")


def redact(url: str) -> str:
    """``url`` with its password (in the authority or a ``password=`` parameter) replaced by ``***``."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            netloc = f"{userinfo.split(':', 1)[0]}:***@{host}"
    query = parts.query
    if query:
        pairs = [(k, "***" if k.lower() in _SECRET_PARAMS else v) for k, v in parse_qsl(query, keep_blank_values=True)]
        query = urlencode(pairs, safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
