"""The HTTP endpoint before Bolt sees a request: oversized, unsigned or malformed requests get a
plain 413 / 401 / 400, nothing of an unverified body reaches the log, and no request leaves a
traceback."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import time
from collections.abc import Iterable, Iterator

import pytest

from bot.server import MAX_BODY_BYTES
from tests.bot_fakes import FakeSlack
from tests.bot_fixtures import QUESTION, SIGNING_SECRET, BotHarness, event_payload, mention

FORGED = "\n2026-01-01 00:00:00 CRITICAL bot.admin: token rotated, new token xoxb-FORGED"


class Records(logging.Handler):
    """Every record from the root logger and uvicorn's own (which does not propagate to the root)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self) -> list[str]:
        return [logging.Formatter().format(r) for r in self.records]


@pytest.fixture
def logs(bot: BotHarness) -> Iterator[Records]:
    """Attached after the bot started (uvicorn configures its loggers when the server is created)."""
    handler = Records()
    loggers = [logging.getLogger(), logging.getLogger("uvicorn.error")]
    old_level = loggers[0].level
    loggers[0].setLevel(logging.DEBUG)
    for lg in loggers:
        lg.addHandler(handler)
    yield handler
    for lg in loggers:
        lg.removeHandler(handler)
    loggers[0].setLevel(old_level)


def send(bot: BotHarness, body: bytes | Iterable[bytes], *, timestamp: str | None = None, signature: str | None = None,
         sign_with: str = SIGNING_SECRET, content_type: str = "application/json") -> tuple[int, str]:
    """POST ``body`` as it is (an iterable is sent chunked), signed with ``sign_with`` unless a raw
    ``timestamp`` / ``signature`` is given."""
    ts = timestamp if timestamp is not None else str(int(time.time()))
    if signature is None:
        signature = sign(body if isinstance(body, bytes) else b"", ts, secret=sign_with)
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts.encode(), "X-Slack-Signature": signature}
    conn = http.client.HTTPConnection(bot.server.host, bot.server.port, timeout=30)
    try:
        chunked = not isinstance(body, bytes)
        conn.request("POST", "/slack/events", body=body, headers=headers, encode_chunked=chunked)
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def sign(body: bytes, timestamp: str, *, secret: str = SIGNING_SECRET) -> str:
    """Slack's v0 signature over the raw bytes (whether or not they are UTF-8)."""
    return "v0=" + hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()


def no_traceback(logs: Records) -> None:
    assert [r.getMessage() for r in logs.records if r.exc_info or r.levelno >= logging.ERROR] == []


def test_unsigned_body_is_not_logged(bot: BotHarness, fake_slack: FakeSlack, logs: Records) -> None:
    body = json.dumps(event_payload(mention(QUESTION + FORGED))).encode()
    assert send(bot, body, sign_with="not-the-secret")[0] == 401
    assert send(bot, body.replace(b"\\n", b"\n"), sign_with="not-the-secret")[0] == 401  # a raw newline too
    text = "\n".join(logs.lines())
    assert "FORGED" not in text and QUESTION not in text
    refusals = [r.getMessage() for r in logs.records if "unverified request" in r.getMessage()]
    assert refusals and all("\n" not in line for line in refusals)
    fake_slack.settle()
    assert fake_slack.calls == []


@pytest.mark.parametrize(("timestamp", "why"), [("abc", "not a number"), ("", "missing"), ("١٧٠٠٠٠٠٠٠٠", "not ASCII"),
                                                 ("9" * 5000, "too long for int()")])
def test_bad_timestamp_is_401(bot: BotHarness, logs: Records, timestamp: str, why: str) -> None:
    status, _ = send(bot, json.dumps(event_payload(mention(QUESTION))).encode(), timestamp=timestamp, signature="v0=00")
    assert status == 401, why
    no_traceback(logs)


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe\x00garbage", b"payload=%7Bbroken", b"[1, 2]"])
def test_malformed_unsigned_body_is_401_before_it_is_parsed(bot: BotHarness, logs: Records, body: bytes) -> None:
    assert send(bot, body, sign_with="not-the-secret")[0] == 401
    no_traceback(logs)


@pytest.mark.parametrize(("body", "content_type"), [
    (b"{not json", "application/json"),
    (b'{"type": "event_callback", "event": \xff}', "application/json"),  # not UTF-8
    (b"[1, 2]", "application/json"),  # JSON, but not an object
    (b"payload=%7Bbroken", "application/x-www-form-urlencoded"),
    (b"payload=%5B%5D", "application/x-www-form-urlencoded"),
])
def test_signed_malformed_body_is_400(bot: BotHarness, fake_slack: FakeSlack, logs: Records, body: bytes,
                                      content_type: str) -> None:
    assert send(bot, body, content_type=content_type)[0] == 400
    no_traceback(logs)
    fake_slack.settle()
    assert fake_slack.calls == []


def test_slacks_unsigned_ssl_check_is_still_answered(bot: BotHarness, fake_slack: FakeSlack, logs: Records) -> None:
    body = b"ssl_check=1&token=unused"
    assert send(bot, body, signature="", content_type="application/x-www-form-urlencoded")[0] == 200
    assert [r for r in logs.records if "refused" in r.getMessage()] == []
    fake_slack.settle()
    assert fake_slack.calls == []


def test_deeply_nested_signed_json_is_400(bot: BotHarness, logs: Records) -> None:
    assert send(bot, b"[" * 200_000 + b"]" * 200_000)[0] == 400
    no_traceback(logs)


def test_chunked_body_over_the_limit_is_413(bot: BotHarness, logs: Records) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"x" * 65536

    assert send(bot, chunks(), signature="v0=00")[0] == 413
    no_traceback(logs)


def test_signed_chunked_request_within_the_limit_is_answered(bot: BotHarness, fake_slack: FakeSlack) -> None:
    body = json.dumps(event_payload(mention(QUESTION, ts="1700000000.000900"))).encode()
    ts = str(int(time.time()))
    assert send(bot, iter([body[:50], body[50:]]), timestamp=ts, signature=sign(body, ts))[0] == 200
    fake_slack.wait_count("chat.postMessage", 1, timeout=30)


def test_a_flood_of_unsigned_requests_is_logged_once_a_minute(bot: BotHarness, logs: Records) -> None:
    for n in range(30):
        assert send(bot, f'{{"n": {n}}}'.encode(), sign_with="not-the-secret")[0] == 401
    refusals = [r for r in logs.records if "unverified request" in r.getMessage()]
    assert len(refusals) == 1 and refusals[0].levelno == logging.WARNING
