"""Loopback fakes for the bot tests: Slack's Web API and a scripted answerer.

``FakeSlack`` is a real HTTP server on 127.0.0.1 (port 0). It records every call (method, parsed
body, time), checks the bearer token, and can be scripted per method to answer 429 with
``Retry-After``, an ``ok: false`` error, or to hang (a hang with no scripted body still accepts the
call: a slow Slack that did post). It keeps what was posted (``posted``) and answers
``conversations.replies`` from it. Paths under ``/hooks/`` stand in for interaction
``response_url``s. Like Slack, it answers ``invalid_arguments`` when a method's required arguments
are missing (``REQUIRED``), and ``users.info`` / ``conversations.info`` from the ``users`` and
``channels`` a test sets up.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from retrieval.types import Answer, Citation

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-1-test-token"
BOT_USER_ID = "UBOT"
TEAM_ID = "T111"
# Required arguments of the methods the bot calls (Slack's method reference).
REQUIRED: dict[str, tuple[str, ...]] = {
    "chat.postMessage": ("channel",),
    "chat.postEphemeral": ("channel", "user"),
    "chat.update": ("channel", "ts"),
    "chat.delete": ("channel", "ts"),
    "conversations.replies": ("channel", "ts"),
    "views.publish": ("user_id", "view"),
    "views.open": ("trigger_id", "view"),
    "views.update": ("view",),
    "users.info": ("user",),
    "conversations.info": ("channel",),
    "assistant.threads.setStatus": ("channel_id", "thread_ts", "status"),
    "assistant.threads.setTitle": ("channel_id", "thread_ts", "title"),
    "assistant.threads.setSuggestedPrompts": ("channel_id", "thread_ts", "prompts"),
    "reactions.add": ("channel", "timestamp", "name"),
    "reactions.remove": ("channel", "timestamp", "name"),
}


@dataclass
class Call:
    method: str  # "chat.postMessage", or "hook:<path>" for response_url posts
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


@dataclass
class Scripted:
    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    hang_s: float = 0.0
    drop: bool = False  # close the connection without any response (a connection error)


class FakeSlack:
    def __init__(self, *, token: str = BOT_TOKEN, app_token: str = APP_TOKEN) -> None:
        self.token = token
        self.app_token = app_token  # apps.connections.open is called with the xapp- token
        self.socket_url = "ws://127.0.0.1:9/never"  # what apps.connections.open returns
        self.calls: list[Call] = []
        self.users: dict[str, dict[str, Any]] = {}  # users.info answers, by user id
        self.channels: dict[str, dict[str, Any]] = {}  # conversations.info answers, by channel id
        self.rejected: list[Call] = []  # calls with a wrong or missing token
        self._script: dict[str, list[Scripted]] = {}
        self._refusals: list[tuple[str, Callable[[dict[str, Any]], bool], str]] = []
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._ts = itertools.count(1)
        self.posted: list[dict[str, Any]] = []  # messages chat.postMessage accepted, as Slack stores them
        self.connections = 0  # TCP connections accepted (the bot's client keeps them open between calls)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # As Slack's servers (and most HTTP servers) do: a response's headers and body are two
            # writes here, and with Nagle's algorithm on a kept-alive connection the body would wait
            # for the client's delayed acknowledgement of the headers (~40 ms a call).
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                fake._handle(self, raw)

            def do_GET(self) -> None:  # conversations.replies and the other reading methods
                fake._handle(self, self.path.partition("?")[2], query=True)

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # the default listen backlog of 5 drops SYNs under a burst (1 s stalls)

            def process_request(self, request: Any, client_address: Any) -> None:
                with fake._lock:
                    fake.connections += 1
                super().process_request(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # -- lifecycle ----------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def hook_url(self, name: str = "cmd") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/{name}"

    def start(self) -> FakeSlack:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- scripting ----------------------------------------------------------------------------------
    def script(self, method: str, *responses: Scripted) -> None:
        """The next calls to ``method`` get these responses, in order; later ones the default."""
        with self._lock:
            self._script.setdefault(method, []).extend(responses)

    def refuse(self, method: str, when: Callable[[dict[str, Any]], bool], error: str) -> None:
        """Answer ``ok: false`` with ``error`` to every call of ``method`` whose body matches ``when``."""
        with self._lock:
            self._refusals.append((method, when, error))

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.rejected.clear()
            self._script.clear()

    # -- inspection ---------------------------------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, predicate: Callable[[list[Call]], bool], timeout: float = 10.0) -> list[Call]:
        """Block until ``predicate(calls)`` holds; returns the calls (raises on timeout)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(list(self.calls)):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out; calls so far: {[c.method for c in self.calls]}")
                self._cond.wait(left)
            return list(self.calls)

    def wait_count(self, method: str, n: int, timeout: float = 10.0) -> list[Call]:
        self.wait_for(lambda calls: sum(c.method == method for c in calls) >= n, timeout)
        return self.calls_to(method)

    def settle(self, quiet_s: float = 0.3) -> None:
        """Wait until no call arrived for ``quiet_s`` (to check that nothing *more* happens)."""
        while True:
            n = len(self.calls)
            time.sleep(quiet_s)
            if len(self.calls) == n:
                return

    # -- serving ------------------------------------------------------------------------------------
    def _handle(self, req: BaseHTTPRequestHandler, raw: str, *, query: bool = False) -> None:
        path = req.path.split("?")[0]
        if path.startswith("/hooks/"):
            self._record(Call(f"hook:{path.removeprefix('/hooks/')}", json.loads(raw or "{}")))
            self._send(req, 200, "ok", {"Content-Type": "text/plain"})
            return
        method = path.removeprefix("/api/")
        ctype = req.headers.get("Content-Type", "")
        body = json.loads(raw or "{}") if "json" in ctype and not query else {k: v[0] for k, v in parse_qs(raw).items()}
        call = Call(method, body)
        expected = self.app_token if method == "apps.connections.open" else self.token
        if req.headers.get("Authorization") != f"Bearer {expected}":
            with self._cond:
                self.rejected.append(call)
            self._json(req, 200, {"ok": False, "error": "invalid_auth"})
            return
        with self._lock:
            queue = self._script.get(method) or []
            scripted = queue.pop(0) if queue else None
            refused = next((e for m, when, e in self._refusals if m == method and when(body)), None)
        if scripted is None and refused is not None:
            scripted = Scripted(body={"ok": False, "error": refused})
        self._record(call)
        if scripted is not None:
            if scripted.drop:
                req.close_connection = True
                req.connection.shutdown(socket.SHUT_RDWR)
                return
            accepted = scripted.body is None and scripted.status == 200
            reply = self._default(method, body) if accepted else scripted.body or {"ok": scripted.status == 200}
            if scripted.hang_s:
                time.sleep(scripted.hang_s)
            self._json(req, scripted.status, reply, scripted.headers)
            return
        self._json(req, 200, self._default(method, body))

    def _record(self, call: Call) -> None:
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()

    def _default(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        missing = [arg for arg in REQUIRED.get(method, ()) if body.get(arg) in (None, "", [])]
        if missing:
            return {"ok": False, "error": "invalid_arguments", "missing": missing}
        if method == "users.info":
            user = self.users.get(str(body["user"]))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "conversations.info":
            channel = self.channels.get(str(body["channel"]))
            return {"ok": True, "channel": channel} if channel else {"ok": False, "error": "channel_not_found"}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"1900000000.{next(self._ts):06d}"}
        if method in ("views.publish", "views.open", "views.update"):
            view = body["view"] if isinstance(body["view"], dict) else json.loads(body["view"])
            return {"ok": True, "view": {**view, "id": f"V{next(self._ts):06d}"}}
        if method == "auth.test":
            return {"ok": True, "url": "https://t.slack.com/", "team": "T", "user": "qa", "team_id": TEAM_ID,
                    "user_id": BOT_USER_ID, "bot_id": "BBOT"}
        if method == "chat.postMessage":
            ts = f"1900000000.{next(self._ts):06d}"
            with self._lock:
                self.posted.append({"type": "message", "bot_id": "BBOT", "user": BOT_USER_ID, "ts": ts,
                                    "channel": body.get("channel"), "thread_ts": body.get("thread_ts") or ts,
                                    "text": body.get("text", ""), "metadata": _json_field(body.get("metadata"))})
            return {"ok": True, "channel": body.get("channel"), "ts": ts}
        if method == "chat.update":  # the message as Slack stores it takes the new text and metadata
            with self._lock:
                for m in self.posted:
                    if (m["channel"], m["ts"]) == (body.get("channel"), body.get("ts")):
                        m.update(text=body.get("text", ""), metadata=_json_field(body.get("metadata")))
            return {"ok": True, "channel": body.get("channel"), "ts": body.get("ts")}
        if method == "chat.delete":
            with self._lock:
                self.posted = [m for m in self.posted if (m["channel"], m["ts"]) != (body.get("channel"), body.get("ts"))]
            return {"ok": True}
        if method == "conversations.replies":
            return {"ok": True, "messages": self._thread(body), "has_more": False}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.socket_url}
        return {"ok": True}

    def _thread(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """What conversations.replies returns: the thread's posted messages, oldest first; their
        metadata only with include_all_metadata."""
        oldest = float(query.get("oldest") or 0)
        with_metadata = str(query.get("include_all_metadata", "")).lower() in ("1", "true")
        with self._lock:
            found = [dict(m) for m in self.posted if m["channel"] == query.get("channel")
                     and m["thread_ts"] == query.get("ts") and float(m["ts"]) >= oldest]
        for m in found:
            if not with_metadata or not m["metadata"]:
                m.pop("metadata")
        return found[: int(query.get("limit") or 1000)]

    @staticmethod
    def _json(req: BaseHTTPRequestHandler, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        FakeSlack._send(req, status, json.dumps(body), {"Content-Type": "application/json; charset=utf-8", **(headers or {})})

    @staticmethod
    def _send(req: BaseHTTPRequestHandler, status: int, text: str, headers: dict[str, str]) -> None:
        data = text.encode()
        try:
            req.send_response(status)
            for k, v in headers.items():
                req.send_header(k, v)
            req.send_header("Content-Length", str(len(data)))
            req.end_headers()
            req.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a hang test)
            pass


def _json_field(value: Any) -> Any:
    """A JSON-valued argument as the Web API client sent it (a dict in a JSON body, text in a form)."""
    return json.loads(value) if isinstance(value, str) and value.startswith("{") else value


class ScriptedAnswerer:
    """Stands in for QAService where a test needs failure injection or a controlled answer."""

    def __init__(self, *, answer: Answer | None = None, error: Exception | None = None, delay_s: float = 0.0,
                 inner: Any = None) -> None:
        self.inner = inner  # delegate to a real answerer (recording what it was asked)
        self.answer = answer
        self.error = error
        self.delay_s = delay_s
        self.asked: list[tuple[str, tuple[str, ...]]] = []
        self._lock = threading.Lock()

    def ask(self, question: str, *, history: Sequence[str] = ()) -> Answer:
        with self._lock:
            self.asked.append((question, tuple(history)))
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.error is not None:
            raise self.error
        if self.answer is not None:
            return self.answer
        if self.inner is not None:
            return self.inner.ask(question, history=history)  # type: ignore[no-any-return]
        return Answer(
            question=question, refused=False, language="en", mode="llm", model_text=f"About {question}: see [1].",
            citations=[Citation(1, "A title", "Outlet", "2025-01-01", "https://example.com/a", "An excerpt.", "a.md", 0, 11)],
        )
