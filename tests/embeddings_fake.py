"""A loopback server speaking OpenAI's ``POST /embeddings``: deterministic bag-of-words vectors (the
same as ``HashEmbeddings``), scripted failures (429, 5xx, 400, a server that dies after n requests)
and a record of every request and of how many were in flight at once."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.retrieval_fixtures import HashEmbeddings


class FakeEmbeddingServer:
    def __init__(self, *, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s  # per request: lets concurrent requests overlap
        self.statuses: list[int] = []  # answered before any embedding, one per request
        self.retry_after: str | None = "0"  # sent with every failure
        self.fail_after: int | None = None  # from then on every request gets HTTP 500
        self.requests: list[dict[str, Any]] = []
        self.auth: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.embedded_texts: list[str] = []
        self._lock = threading.Lock()
        self._hash = HashEmbeddings()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                status = fake._admit(body, self.headers.get("Authorization", ""))
                try:
                    time.sleep(fake.delay_s)
                    if status != 200:
                        self._send(status, {"error": {"message": f"scripted {status}"}},
                                   {"Retry-After": fake.retry_after} if fake.retry_after is not None else {})
                        return
                    texts = body["input"]
                    with fake._lock:
                        fake.embedded_texts.extend(texts)
                    data = [{"object": "embedding", "index": i, "embedding": fake._hash._vec(t)}
                            for i, t in reversed(list(enumerate(texts)))]  # out of order: the client sorts by index
                    self._send(200, {"object": "list", "data": data, "model": body.get("model")}, {})
                finally:
                    with fake._lock:
                        fake.in_flight -= 1

            def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _admit(self, body: dict[str, Any], auth: str) -> int:
        with self._lock:
            self.requests.append(body)
            self.auth.append(auth)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if self.statuses:
                return self.statuses.pop(0)
            if self.fail_after is not None and len(self.requests) > self.fail_after:
                return 500
            return 200

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def embedding_server() -> Iterator[FakeEmbeddingServer]:
    fake = FakeEmbeddingServer(delay_s=0.02)
    yield fake
    fake.close()
