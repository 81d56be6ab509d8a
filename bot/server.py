"""Serving the app: HTTP (ASGI under uvicorn: ``/slack/events`` and the health endpoints) or Socket
Mode (with the health endpoints on ``HEALTH_PORT``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import uvicorn
from slack_bolt import App
from slack_bolt.adapter.asgi import SlackRequestHandler
from slack_bolt.adapter.asgi.http_request import AsgiHttpRequest
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

from bot.config import Settings
from bot.health import HealthRoutes, Readiness
from bot.http_gate import (
    MAX_BODY_BYTES,
    BodyTooLarge,
    Refusal,
    RefusalLog,
    check_request,
    header_map,
    read_body,
)
from bot.shutdown import start_threads, stop_signals

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# Events API deliveries get their 200 before Bolt dispatches them (``BotASGI._events``); a process
# setting, ``ACK_EVENTS_EARLY=0`` leaves the ack to Bolt as before (for comparison and diagnosis).
ACK_EVENTS_EARLY = os.environ.get("ACK_EVENTS_EARLY", "1").strip().lower() not in ("0", "false", "no", "off")
DISPATCH_THREADS = 16

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class ThreadedSlackRequestHandler(SlackRequestHandler):
    """Bolt's ASGI adapter, but ``App.dispatch`` (synchronous: signature check, dedupe, and for
    commands the wait for ``ack()``) runs on a thread pool so it never blocks the event loop."""

    def __init__(self, app: App, path: str = EVENTS_PATH, *, threads: int = DISPATCH_THREADS) -> None:
        super().__init__(app, path)
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bot-dispatch")
        start_threads(self._executor)

    async def dispatch(self, request: AsgiHttpRequest) -> BoltResponse:
        bolt_request = BoltRequest(
            body=await request.get_raw_body(), query=request.query_string, headers=request.get_headers()
        )
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.app.dispatch, bolt_request)


class BotASGI:
    """The whole HTTP surface: Slack's endpoint plus ``/healthz``, ``/readyz`` and ``/metrics``
    (bot/health.py). Requests to the endpoint pass ``bot.http_gate`` (size, signature, body) before
    Bolt sees them."""

    def __init__(self, app: App, *, signing_secret: str, readiness: Readiness | None = None) -> None:
        self.slack = ThreadedSlackRequestHandler(app)
        self.signing_secret = signing_secret
        self.refusals = RefusalLog()
        self.health = HealthRoutes(readiness)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if HealthRoutes.handles(scope):
            await self.health(scope, receive, send)
            return
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == EVENTS_PATH:
            await self._events(scope, receive, send)
            return
        await self.slack(scope, receive, send)  # type: ignore[arg-type]

    async def _events(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = header_map(scope)
        client = str((scope.get("client") or ("unknown",))[0])
        declared = headers.get("content-length", "0")
        refusal: Refusal | None = None
        raw = b""
        if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
            refusal = Refusal(413, f"declared body larger than {MAX_BODY_BYTES:,} bytes")
        else:
            try:
                body = await read_body(receive)
            except BodyTooLarge as err:
                refusal = Refusal(413, str(err))
            else:
                if body is None:  # the client went away
                    return
                raw = body
                refusal = check_request(raw, headers, secret=self.signing_secret)
        if refusal is not None:
            self.refusals.note(refusal, client)
            await _plain(send, refusal.status, _STATUS_TEXT[refusal.status])
            return
        if ACK_EVENTS_EARLY and _is_event_callback(raw, headers):
            # Bolt acks every event with an empty 200 before its listener runs (process_before_response
            # is off); sending it here, before Bolt's dispatch, saves the trip through a dispatch
            # thread while a burst's requests queue for the event loop. Bolt still dispatches the
            # event (middleware, de-duplication, listeners) and this task lives until it has, so a
            # stopping server finishes it.
            await _plain(send, 200, b"")
            try:
                response = await self.slack.dispatch(AsgiHttpRequest(dict(scope), _replay(raw)))
            except Exception:  # already acked: nothing to tell Slack, so tell the operator
                logger.exception("Bolt failed on an event already acked")
                return
            if response.status != 200:
                logger.warning("Bolt answered %s to an event already acked: %s", response.status, response.body[:200])
            return
        await self.slack(scope, _replay(raw), send)  # type: ignore[arg-type]


_STATUS_TEXT = {400: b"Malformed request", 401: b"Invalid request signature", 413: b"Request body too large"}


def _is_event_callback(raw: bytes, headers: Mapping[str, str]) -> bool:
    """An Events API delivery (JSON, ``"type": "event_callback"``): checked and signed by now."""
    if headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return False
    try:
        body = json.loads(raw)
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("type") == "event_callback"


def _replay(body: bytes) -> Receive:
    """``receive`` for Bolt's adapter: the body that was already read and checked, in one message."""
    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _plain(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class StoppableServer(uvicorn.Server):
    """uvicorn, except that SIGTERM and SIGINT only stop it. uvicorn re-raises the signal once its
    own shutdown is done, which ends the process before the answers still in flight are posted;
    here ``serve`` returns instead, and the caller drains them (bot/shutdown.py)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with stop_signals(self._stop):
            yield

    def _stop(self) -> None:
        if self.should_exit:  # a second signal: stop waiting for open connections
            self.force_exit = True
        self.should_exit = True


def uvicorn_server(asgi: ASGIApp, *, host: str, port: int, log_level: str = "info") -> uvicorn.Server:
    # log_config=None: uvicorn's loggers go through the root handler (bot/logs.py: text or JSON)
    config = uvicorn.Config(asgi, host=host, port=port, log_level=log_level.lower(), lifespan="off", access_log=False,
                            log_config=None)
    return StoppableServer(config)


class ServerThread:
    """uvicorn on an already-bound socket in a background thread (tests and benchmarks; port 0)."""

    def __init__(self, asgi: ASGIApp, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.host, self.port = self.sock.getsockname()[:2]
        self.server = uvicorn_server(asgi, host=host, port=self.port, log_level="warning")
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        for _ in range(500):
            if self.server.started:
                return self
            if not self.thread.is_alive():
                break
            threading.Event().wait(0.01)
        raise RuntimeError("uvicorn did not start")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
        self.sock.close()


def serve(settings: Settings, app: App, *, readiness: Readiness | None = None) -> None:
    """Serve ``app`` until SIGTERM or SIGINT: Socket Mode when SLACK_APP_TOKEN is set (the health
    endpoints then on HEALTH_PORT, unless it is 0), else HTTP on PORT. Returns once no new event is
    taken; the caller then lets the work already taken finish."""
    if settings.socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        if settings.health_port:
            health = ServerThread(HealthRoutes(readiness), host=settings.host, port=settings.health_port).__enter__()
            logger.info("health endpoints at http://%s:%d/readyz", settings.host, health.port)
        logger.info("connecting to Slack in Socket Mode")
        handler = SocketModeHandler(app, settings.slack_app_token)
        stopped = threading.Event()
        with stop_signals(stopped.set):
            handler.connect()
            while not stopped.wait(1.0):
                pass
        handler.close()
        return
    logger.info("serving Slack events at http://%s:%d%s", settings.host, settings.port, EVENTS_PATH)
    asgi = BotASGI(app, signing_secret=settings.slack_signing_secret, readiness=readiness)
    uvicorn_server(asgi, host=settings.host, port=settings.port, log_level=settings.log_level).run()
