"""A throwaway PostgreSQL server for tests and benchmarks: ``initdb`` + ``pg_ctl`` from the
machine's PostgreSQL (Debian's ``postgresql`` package puts them in /usr/lib/postgresql/<n>/bin) into
a temporary folder, listening on 127.0.0.1 at a free port, fsync off, trust authentication.

``initdb`` refuses to run as root: when the tests run as root (CI), the server runs as the
``postgres`` user (or ``nobody``) through ``runuser``.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from glob import glob
from pathlib import Path

import psycopg

ENV_BIN = "PG_BIN"  # overrides where initdb and pg_ctl are looked for
SERVER_USERS = ("postgres", "nobody")


def find_pg_bin() -> Path | None:
    """The folder holding initdb and pg_ctl: $PG_BIN, the newest /usr/lib/postgresql/*/bin, or PATH."""
    candidates = [os.environ.get(ENV_BIN, "")]
    candidates += sorted(glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    found = shutil.which("initdb")
    candidates.append(str(Path(found).resolve().parent) if found else "")
    for folder in filter(None, candidates):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="iqa-pg-"))
        self.port = free_port()
        self._names = itertools.count(1)
        self._as: list[str] = []
        if os.geteuid() == 0:
            user = next(u for u in SERVER_USERS if _user_exists(u))
            self._as = ["runuser", "-u", user, "--"]
            shutil.chown(self.root, user=user)

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self._as, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")

    def start(self) -> PostgresServer:
        data = self.root / "data"
        self._run(str(self.bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C", "--no-sync", "--no-instructions")
        options = (f"-F -p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=200"
                   " -c synchronous_commit=off -c full_page_writes=off")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(self.root / "server.log"),
                  "-w", "-t", "60", "start")
        return self

    def url(self, database: str = "postgres", *, password: str = "") -> str:
        auth = f"postgres:{password}" if password else "postgres"
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "db") -> str:
        """A new empty database; returns its URL. Takes about a second (a checkpoint): tests that
        only need an empty place use ``create_schema``."""
        name = f"{prefix}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0'.encode())
        return self.url(name)

    def create_schema(self, prefix: str = "t") -> str:
        """A URL whose connections see only a new, empty schema of the ``postgres`` database (their
        ``search_path``): as good as a new database for the store, and milliseconds to make."""
        name = f"{prefix}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"'.encode())
        return self.url() + f"?options=-csearch_path%3D{name}"

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
