"""Events API deliveries get their 200 before Bolt dispatches them (bot/server.py): Slack's ack does
not wait for the de-duplication claim, the listener or anything else, and Bolt still runs in full."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from bot.state.sqlite import SQLiteStateStore
from tests.bot_fakes import FakeSlack
from tests.bot_fixtures import QUESTION, mention, texts_of, wait_answered

GATE = threading.Event()
CLAIMING = threading.Event()


class GatedStore(SQLiteStateStore):
    """Holds Bolt's de-duplication claim of an event (its global middleware) until the test opens the gate."""

    def claim(self, key: str) -> bool:
        if key.startswith("event:"):
            CLAIMING.set()
            GATE.wait(20)
        return super().claim(key)


@pytest.fixture(autouse=True)
def _gate() -> Any:
    GATE.clear()
    CLAIMING.clear()
    yield
    GATE.set()  # never leave a dispatch thread waiting


def test_an_event_is_acked_before_bolt_dispatches_it(make_bot: Any, qa_service: Any, fake_slack: FakeSlack) -> None:
    bot = make_bot(answerer=qa_service, store_class=GatedStore)
    with ThreadPoolExecutor(1) as pool:
        sent = pool.submit(bot.post_event, mention(QUESTION, ts="1700000000.000700"))
        assert CLAIMING.wait(10), "Bolt did not start dispatching"
        reply = sent.result(timeout=5)  # acked while Bolt's middleware is still held
        assert reply.status == 200 and reply.body == ""
        assert not fake_slack.calls_to("chat.postMessage")
        GATE.set()
    [post] = wait_answered(fake_slack)
    assert post.body["thread_ts"] == "1700000000.000700" and "According to" in texts_of(post)


def test_a_redelivered_event_is_acked_and_not_answered_twice(make_bot: Any, qa_service: Any,
                                                              fake_slack: FakeSlack) -> None:
    GATE.set()
    bot = make_bot(answerer=qa_service, store_class=GatedStore)
    event = mention(QUESTION, ts="1700000000.000800")
    assert bot.post_event(event, event_id="Ev1").status == 200
    wait_answered(fake_slack)
    assert bot.post_event(event, event_id="Ev1", retry_num=1).status == 200  # Slack's redelivery
    assert bot.post_event(event, event_id="Ev2").status == 200  # another delivery of the same message
    fake_slack.wait_count("chat.postMessage", 1)
    bot.stop()  # waits for the dispatches that were acked
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
