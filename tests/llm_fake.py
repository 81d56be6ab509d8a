"""A loopback server speaking the OpenAI chat-completions protocol (plain and streamed), scripted
per test: answers, slow answers, 429, 500 and malformed bodies. It records every request."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Reply:
    content: str = ""
    status: int = 200
    delay_s: float = 0.0
    raw: bytes | None = None  # sent as-is (malformed bodies)
    headers: dict[str, str] = field(default_factory=dict)
    chunk_delay_s: float = 0.0  # pause before each streamed word (a model writing slowly)
    # the token counts the server reports (prompt, completion); None: about one token per 3
    # characters of the messages and one per word of the answer; () reports none
    usage: tuple[int, int] | tuple[()] | None = None


class FakeOpenAI:
    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.default = Reply(content="NOT_IN_CORPUS")
        # requests to translate a question are answered from here (default: an empty reply, which
        # the service ignores), so that tests of answers need not script them
        self.translations: list[Reply] = []
        self.requests: list[dict[str, Any]] = []
        self.auth: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                fake.requests.append(body)
                fake.auth.append(self.headers.get("Authorization", ""))
                first = str((body.get("messages") or [{}])[0].get("content", ""))
                if first.startswith("Translate this question"):
                    reply = fake.translations.pop(0) if fake.translations else Reply(content="")
                else:
                    reply = fake.replies.pop(0) if fake.replies else fake.default
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.status != 200 or reply.raw is not None:
                    payload = reply.raw if reply.raw is not None else json.dumps(
                        {"error": {"message": "scripted failure", "type": "server_error"}}).encode()
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                usage = _usage(reply, body)
                if body.get("stream"):
                    wants_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                    self._stream(reply.content, reply.chunk_delay_s, usage if wants_usage else None)
                else:
                    self._plain(reply.content, usage)

            def _plain(self, content: str, usage: dict[str, int] | None) -> None:
                payload = json.dumps({
                    "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "fake",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                    **({"usage": usage} if usage else {}),
                }).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _stream(self, content: str, chunk_delay_s: float, usage: dict[str, int] | None) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                words = content.split(" ")
                for i, w in enumerate(words):
                    if chunk_delay_s:
                        time.sleep(chunk_delay_s)
                    delta = {"content": (w if i == 0 else " " + w)}
                    event = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "fake",
                             "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
                    self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                    self.wfile.flush()
                end = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "fake",
                       "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                self.wfile.write(f"data: {json.dumps(end)}\n\n".encode())
                if usage:  # OpenAI's last chunk when stream_options.include_usage: no choices, the counts
                    last = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "fake",
                            "choices": [], "usage": usage}
                    self.wfile.write(f"data: {json.dumps(last)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _usage(reply: Reply, body: dict[str, Any]) -> dict[str, int] | None:
    if reply.usage == ():
        return None
    if reply.usage is None:
        prompt = sum(len(str(m.get("content", ""))) for m in body.get("messages", [])) // 3
        counts = (prompt, len(reply.content.split()))
    else:
        counts = reply.usage
    return {"prompt_tokens": counts[0], "completion_tokens": counts[1], "total_tokens": counts[0] + counts[1]}


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    yield fake
    fake.close()
