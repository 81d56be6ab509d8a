"""The listeners' decision rules as pure functions, and the event_id de-duplication middleware."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from slack_bolt import BoltRequest, BoltResponse

from bot.listeners import dedupe_events, is_ignored, mentions, strip_mention, to_incoming
from bot.ratelimit import UserRateLimiter
from bot.state.sqlite import SQLiteStateStore
from bot.state_alarm import StateAlarm


@pytest.mark.parametrize(
    ("event", "ignored"),
    [
        ({"type": "message", "user": "U1", "text": "hi"}, False),
        ({"type": "message", "user": "U1", "text": "hi", "subtype": "file_share"}, False),
        ({"type": "message", "user": "U1", "text": "hi", "subtype": "thread_broadcast"}, False),
        ({"type": "message", "bot_id": "B1", "text": "hi"}, True),
        ({"type": "message", "subtype": "bot_message", "text": "hi"}, True),
        ({"type": "message", "subtype": "message_changed", "message": {"text": "x"}}, True),
        ({"type": "message", "subtype": "message_deleted"}, True),
        ({"type": "message", "subtype": "channel_join", "user": "U1"}, True),
        ({"type": "message", "user": "UBOT", "text": "my own"}, True),
    ],
)
def test_is_ignored(event: dict[str, Any], ignored: bool) -> None:
    assert is_ignored(event, bot_user_id="UBOT") is ignored


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<@UBOT> who is first?", "who is first?"),
        ("<@UBOT|qa>  who\n is <@U2> first? <@UBOT>", "who is <@U2> first?"),
        ("<@UBOT>", ""),
        ("<@UBOT> 谁最先上市？", "谁最先上市？"),
    ],
)
def test_strip_mention_removes_only_the_bot(text: str, expected: str) -> None:
    assert strip_mention(text, "UBOT") == expected


def test_mentions() -> None:
    assert mentions("hey <@UBOT> x", "UBOT") and not mentions("hey <@U2>", "UBOT") and not mentions("<@UBOT>", None)


def test_to_incoming_replies_in_the_thread() -> None:
    top = to_incoming({"channel": "C", "user": "U", "ts": "1.1", "text": "<@UBOT> q"}, team="T", bot_user_id="UBOT", source="mention")
    assert (top.thread_ts, top.text, top.has_files) == ("1.1", "q", False)
    inner = to_incoming({"channel": "C", "user": "U", "ts": "2.2", "thread_ts": "1.1", "text": "q", "files": [{}]},
                        team="T", bot_user_id="UBOT", source="thread")
    assert (inner.thread_ts, inner.has_files) == ("1.1", True)


def test_dedupe_middleware_drops_a_seen_event_id(tmp_path: Path) -> None:
    store = SQLiteStateStore(tmp_path / "s.sqlite3")
    middleware = dedupe_events(store, StateAlarm())
    calls: list[str] = []
    body = {"type": "event_callback", "event_id": "Ev1", "event": {}}
    log = logging.getLogger("test")
    resp = BoltResponse(status=200)
    req = BoltRequest(body="{}", headers={})
    assert middleware(body, req, resp, lambda: calls.append("next"), log) is resp
    dropped = middleware(body, req, resp, lambda: calls.append("next"), log)
    assert calls == ["next"] and dropped.status == 200 and dropped is not resp
    middleware({"type": "block_actions"}, req, resp, lambda: calls.append("next"), log)  # not an event: passes
    assert calls == ["next", "next"]
    store.close()


def test_user_rate_limiter_window(tmp_path: Path) -> None:
    now = [1000.0]
    store = SQLiteStateStore(tmp_path / "s.sqlite3")
    limiter = UserRateLimiter(2, store, clock=lambda: now[0])
    assert limiter.allow("U1") and limiter.allow("U1") and not limiter.allow("U1")
    assert limiter.allow("U2")
    now[0] = 1060.0
    assert limiter.allow("U1")
    assert UserRateLimiter(0, store).allow("U1")  # 0 disables the limit
    store.close()
