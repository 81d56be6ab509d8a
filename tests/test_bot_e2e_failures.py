"""End to end, when things go wrong or get busy: Slack rate limits, dropped connections, errors and
hangs, retrieval and database failures (each must end in exactly one visible reply and the working
reaction removed), oversized requests, and acks while every answer worker is busy."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import pytest

from bot.state.sqlite import SQLiteStateStore
from retrieval.errors import IndexMissingError
from tests.bot_fakes import FakeSlack, Scripted, ScriptedAnswerer
from tests.bot_fixtures import (
    QUESTION,
    BotHarness,
    mention,
    texts_of,
    wait_answered,
)


def test_429_is_retried_after_retry_after_and_posted_once(bot: BotHarness, fake_slack: FakeSlack) -> None:
    fake_slack.script("chat.postMessage", Scripted(status=429, body={"ok": False, "error": "ratelimited"},
                                                   headers={"Retry-After": "1"}))
    bot.post_event(mention(QUESTION, ts="1700000003.000100"))
    attempts = wait_answered(fake_slack)
    fake_slack.wait_count("chat.postMessage", 2)
    fake_slack.settle()
    attempts = fake_slack.calls_to("chat.postMessage")
    assert len(attempts) == 2  # the 429 and exactly one successful post
    assert attempts[0].body == attempts[1].body
    assert attempts[1].at - attempts[0].at >= 1.0  # Retry-After honoured


def test_connection_error_is_retried_and_the_answer_posted_once(bot: BotHarness, fake_slack: FakeSlack) -> None:
    fake_slack.script("chat.postMessage", Scripted(drop=True))
    bot.post_event(mention(QUESTION, ts="1700000003.000200"))
    fake_slack.wait_count("chat.postMessage", 2)
    fake_slack.wait_count("reactions.remove", 1)
    fake_slack.settle()
    attempts = fake_slack.calls_to("chat.postMessage")
    assert len(attempts) == 2 and attempts[0].body == attempts[1].body  # dropped, then delivered
    assert "example.com/zhipu-hearing" in texts_of(attempts[1])  # the answer, not an error notice


@pytest.mark.parametrize(
    ("error", "visible", "hidden"),
    [
        (IndexMissingError("no index in /srv/iqa/data yet; build it with `industry-qa index`"),
         "the index has not been built yet", "/srv/iqa"),
        (RuntimeError("db password is hunter2"), "something went wrong", "hunter2"),
    ],
    ids=["retrieval-error", "unexpected-error"],
)
def test_answering_failure_ends_in_a_visible_reply(
    make_bot: Any, fake_slack: FakeSlack, error: Exception, visible: str, hidden: str | None
) -> None:
    bot = make_bot(answerer=ScriptedAnswerer(error=error))
    bot.post_event(mention(QUESTION, ts="1700000004.000100"))
    [notice] = fake_slack.wait_count("chat.postEphemeral", 1)
    fake_slack.wait_count("reactions.remove", 1)
    text = texts_of(notice)
    assert visible in text and notice.body["thread_ts"] == "1700000004.000100" and notice.body["user"] == "U1"
    if hidden:
        assert hidden not in text
    assert fake_slack.calls_to("chat.postMessage") == []  # told to the asker alone
    assert bot.store.questions()[0].record.error == type(error).__name__


class LockedStore(SQLiteStateStore):
    def add_turn(self, **kwargs: Any) -> None:
        raise sqlite3.OperationalError("database is locked")


def test_state_database_failure_still_gives_a_visible_notice(make_bot: Any, qa_service: Any,
                                                             fake_slack: FakeSlack) -> None:
    bot = make_bot(answerer=qa_service, store_class=LockedStore)
    bot.post_event(mention(QUESTION, ts="1700000004.000150"))
    [notice] = fake_slack.wait_count("chat.postEphemeral", 1)
    assert "storage is failing" in texts_of(notice) and "locked" not in texts_of(notice)
    assert notice.body["thread_ts"] == "1700000004.000150"


def test_slack_refusing_the_blocks_as_too_long_gets_the_shorter_answer(bot: BotHarness, fake_slack: FakeSlack) -> None:
    fake_slack.script("chat.postMessage", Scripted(body={"ok": False, "error": "msg_blocks_too_long"}))
    bot.post_event(mention(QUESTION, ts="1700000004.000200"))
    fake_slack.wait_count("chat.postMessage", 2)
    fake_slack.wait_count("reactions.remove", 1)
    short = texts_of(fake_slack.calls_to("chat.postMessage")[1])
    assert "example.com/zhipu-hearing" in short and "shortened to fit in Slack" in short


def test_a_hanging_web_api_that_did_not_post_is_tried_again(make_bot: Any, qa_service: Any,
                                                           fake_slack: FakeSlack) -> None:
    bot = make_bot(answerer=qa_service, slack_api_timeout_s=1)
    fake_slack.script("chat.postMessage", Scripted(hang_s=2.5, status=500, body={"ok": False, "error": "fatal_error"}))
    bot.post_event(mention(QUESTION, ts="1700000004.000300"))
    fake_slack.wait_count("chat.postMessage", 2, timeout=15)
    fake_slack.wait_count("reactions.remove", 1, timeout=15)
    first, second = fake_slack.calls_to("chat.postMessage")
    assert first.body == second.body and "example.com/zhipu-hearing" in texts_of(second)
    assert len(fake_slack.posted) == 1


def test_commands_are_acked_while_every_answer_worker_is_busy(make_bot: Any, fake_slack: FakeSlack) -> None:
    # One answer worker, busy for a while (think: a slow LLM); acks must not queue behind it.
    bot = make_bot(answerer=ScriptedAnswerer(delay_s=0.8), workers=1)
    for i in range(2):
        assert bot.post_event(mention(QUESTION, ts=f"1700000010.00000{i}")).status == 200
    started = time.perf_counter()
    reply = bot.post_form({"command": "/ask", "text": QUESTION, "team_id": "T111", "channel_id": "C1",
                           "user_id": "U1", "response_url": fake_slack.hook_url("busy"), "trigger_id": "1.1"})
    assert reply.status == 200 and "Looking that up" in reply.body
    assert time.perf_counter() - started < 0.5
    fake_slack.wait_count("hook:busy", 1)  # answered once the worker is free
    # both mentions answered too, in whatever order the one worker took the three questions
    assert len(fake_slack.wait_count("chat.postMessage", 2)) == 2
    fake_slack.settle()
    assert len(fake_slack.calls_to("chat.postMessage")) == 2 and len(fake_slack.calls_to("hook:busy")) == 1


def test_oversized_request_is_refused_before_anything_else(bot: BotHarness, fake_slack: FakeSlack) -> None:
    from bot.server import MAX_BODY_BYTES

    reply = bot.post("x" * (MAX_BODY_BYTES + 1), content_type="application/json")
    assert reply.status == 413
    fake_slack.settle()
    assert fake_slack.calls == []
