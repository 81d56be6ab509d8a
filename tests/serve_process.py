"""A real ``industry-qa serve`` (or any command of the image) in a child process: started with a
given environment, its stderr kept in a file, ready when ``/readyz`` says so, stopped with SIGTERM."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.bot_fixtures import SignedClient


class ServeProcess(SignedClient):
    def __init__(self, argv: list[str], *, env: dict[str, str], cwd: Path, name: str, port: int) -> None:
        super().__init__("127.0.0.1", port)
        self.name = name
        self.log_path = cwd / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT)

    def readyz(self) -> tuple[int, dict[str, object]]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            conn.request("GET", "/readyz")
            response = conn.getresponse()
            return response.status, json.loads(response.read() or b"{}")
        finally:
            conn.close()

    def wait_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        last = "nothing yet"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                status, body = self.readyz()
                if status == 200:
                    return
                last = f"{status} {body}"
            except OSError as err:
                last = type(err).__name__
            time.sleep(0.2)
        raise AssertionError(f"{self.name} not ready within {timeout:g} s ({last}):\n{self.log_tail()}")

    def log_lines(self) -> list[str]:
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.log_lines()[-n:])

    def stop(self, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        self._log.close()
        return self.proc.returncode


def child_env(**settings: str) -> dict[str, str]:
    """This environment without any bot setting of the developer's, plus ``settings``."""
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "STATE_", "DIGEST_", "LLM_", "FEEDS", "CORPUS_DIR", "DATA_DIR"))}
    return {**keep, "PYTHONUNBUFFERED": "1", **settings}
