"""Answers let a burst's acks go first (bot/inflight.py): counted on the served bot's own HTTP path."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

from bot.inflight import ACKS_FIRST_MAX_S, InFlight
from tests.bot_fakes import FakeSlack
from tests.bot_fixtures import QUESTION, mention, wait_answered


def test_wait_idle_returns_when_the_last_request_ends_or_times_out() -> None:
    flight = InFlight()
    assert flight.wait_idle(0.01)  # nothing in flight: at once
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        with flight.request():
            entered.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    entered.wait(5)
    started = time.monotonic()
    assert not flight.wait_idle(0.05)  # held: the wait is bounded
    assert time.monotonic() - started >= 0.05
    assert not flight.wait_idle(0)
    threading.Timer(0.05, release.set).start()
    assert flight.wait_idle(5)  # released by the request's end, not by the timeout
    holder.join(5)


def test_a_slack_request_in_flight_holds_an_answer_back_for_a_bounded_time(
        make_bot: Any, qa_service: Any, fake_slack: FakeSlack) -> None:
    bot = make_bot(answerer=qa_service)
    # A request whose body is still arriving is in flight (as in a burst, while the event loop reads it).
    slow = socket.create_connection((bot.host, bot.port), timeout=10)
    try:
        slow.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n{")
        time.sleep(0.05)  # the server has started on it
        sent = time.monotonic()
        assert bot.post_event(mention(QUESTION, ts="1700000000.000500")).status == 200
        posted = wait_answered(fake_slack)[-1]
        assert posted.at - sent >= ACKS_FIRST_MAX_S * 0.9  # it waited for the other request, then answered
        assert posted.body["thread_ts"] == "1700000000.000500" and posted.body.get("blocks")
    finally:
        slow.close()
    # the wait fell between the question's embedding and its search, as the question log shows
    [row] = bot.store.questions()
    timings = row.record.timings_ms
    assert timings["wait_ms"] >= ACKS_FIRST_MAX_S * 900 and "embed_ms" in timings and "search_ms" in timings
    assert timings["search_ms"] < timings["wait_ms"]
