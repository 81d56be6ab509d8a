"""End to end: signed HTTP requests into the bot served by uvicorn on a real socket, the Web API
answered by a loopback fake, answers from the real QAService over a tiny indexed corpus."""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from slack_bolt.request import BoltRequest

from retrieval.service import QAService
from tests.bot_fakes import BOT_USER_ID, FakeSlack, ScriptedAnswerer
from tests.bot_fixtures import (
    FIRST_IN_THREAD,
    FOLLOW_UP,
    QUESTION,
    ZH_QUESTION,
    BotHarness,
    assert_working_indicator,
    click,
    controls,
    event_payload,
    mention,
    message,
    texts_of,
    wait_answered,
)
from tests.test_assistant import thread_started
from tests.test_home import home_opened


def test_mention_gets_one_threaded_reply_with_citations(bot: BotHarness, fake_slack: FakeSlack) -> None:
    started = time.perf_counter()
    reply = bot.post_event(mention(QUESTION, ts="1700000000.000100"))
    assert reply.status == 200
    assert time.perf_counter() - started < 1.0  # acked long before the answer is ready

    posts = wait_answered(fake_slack)
    fake_slack.settle()
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    post = posts[0].body
    assert post["channel"] == "C1" and post["thread_ts"] == "1700000000.000100"
    text = texts_of(posts[0])
    assert "<https://example.com/zhipu-hearing|Zhipu AI passes listing hearing in Hong Kong>" in text
    # the excerpt is quoted once, in the answer's first line with its outlet and date; the source line
    # under it does not repeat it
    assert "> Zhipu AI passed its listing hearing" not in text
    assert "Test Wire, 20 Dec 2025: Zhipu AI passed its listing hearing" in text
    assert "_Test Wire · 20 Dec 2025_" in text
    assert "*Sources*" in text
    assert list(controls(posts[0])) == ["answer_feedback", "answer_watch"]  # native feedback; no share in a channel
    # working indicator: added on receipt (in the background), removed after the answer was posted
    assert_working_indicator(fake_slack, "1700000000.000100")
    [logged] = bot.store.questions()
    assert logged.record.source == "mention" and logged.record.refused is False and logged.record.n_citations == 1


def test_redelivery_with_retry_header_is_not_answered_again(bot: BotHarness, fake_slack: FakeSlack) -> None:
    event = mention(QUESTION, ts="1700000000.000200")
    assert bot.post_event(event, event_id="EvSAME").status == 200
    wait_answered(fake_slack)
    for retry in (1, 2, 3):
        assert bot.post_event(event, event_id="EvSAME", retry_num=retry).status == 200
    fake_slack.settle()
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_mention_and_message_events_for_one_ts_give_one_reply(bot: BotHarness, fake_slack: FakeSlack) -> None:
    # A top-level mention, then a mention inside that (known) thread: Slack sends the second one both
    # as app_mention and as message.channels, with different event ids, here at the same moment.
    bot.post_event(mention(QUESTION, ts="1700000000.000300"))
    wait_answered(fake_slack)
    follow_up = dict(ts="1700000000.000400", thread_ts="1700000000.000300")
    events = [mention(FOLLOW_UP, **follow_up), message(f"<@{BOT_USER_ID}> {FOLLOW_UP}", **follow_up)]
    with ThreadPoolExecutor(2) as pool:
        statuses = list(pool.map(lambda e: bot.post_event(e).status, events))
    assert statuses == [200, 200]
    wait_answered(fake_slack, 2)
    fake_slack.settle()
    posts = fake_slack.calls_to("chat.postMessage")
    assert len(posts) == 2
    assert posts[1].body["thread_ts"] == "1700000000.000300"


def test_two_listeners_both_wanting_one_message_answer_once(bot: BotHarness, fake_slack: FakeSlack) -> None:
    # Where both the app_mention and the message listener would answer (here a DM that also arrives
    # as app_mention), the (team, channel, ts) claim in the state DB lets exactly one of them reply.
    ts = "1700000000.000450"
    events = [mention(QUESTION, ts=ts, channel="D2"),
              message(QUESTION, ts=ts, channel="D2", channel_type="im")]
    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(lambda e: bot.post_event(e).status, events)) == [200, 200]
    wait_answered(fake_slack)
    fake_slack.settle()
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert len(fake_slack.calls_to("reactions.add")) == 1


def test_restart_does_not_answer_a_redelivered_event(make_bot: Any, qa_service: Any, fake_slack: FakeSlack) -> None:
    event = mention(QUESTION, ts="1700000000.000500")
    first = make_bot(answerer=qa_service)
    first.post_event(event, event_id="EvRESTART")
    wait_answered(fake_slack)
    first.stop()

    second = make_bot(answerer=qa_service)  # same STATE_DB, fresh process state
    assert second.post_event(event, event_id="EvRESTART", retry_num=1).status == 200
    assert second.post_event(event, event_id="EvOTHER").status == 200  # same ts, new event id
    fake_slack.settle()
    assert fake_slack.calls_to("chat.postMessage") == []


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [({"secret": "not-the-secret"}, "bad signature"), ({"timestamp": int(time.time()) - 301}, "301 s old")],
)
def test_unverifiable_requests_get_401_and_no_web_api_call(
    bot: BotHarness, fake_slack: FakeSlack, kwargs: dict[str, Any], why: str
) -> None:
    reply = bot.post_event(mention(QUESTION, ts="1700000000.000600"), **kwargs)
    assert reply.status == 401, why
    fake_slack.settle()
    assert fake_slack.calls == []
    assert bot.store.questions() == []


def test_direct_message_is_answered_in_the_dm(bot: BotHarness, fake_slack: FakeSlack) -> None:
    bot.post_event(message(QUESTION, ts="1700000000.000700", channel="D1", channel_type="im"))
    [post] = wait_answered(fake_slack)
    assert post.body["channel"] == "D1" and post.body["thread_ts"] == "1700000000.000700"
    assert "example.com/zhipu-hearing" in texts_of(post)


def test_thread_follow_up_without_mention_uses_the_earlier_question(make_bot: Any, qa_service: Any, fake_slack: FakeSlack) -> None:
    recorder = ScriptedAnswerer(inner=qa_service)
    bot = make_bot(answerer=recorder)
    recorder.asked.clear()  # App Home's example questions, checked at start-up
    bot.post_event(mention(FIRST_IN_THREAD, ts="1700000000.000800"))
    wait_answered(fake_slack)
    bot.post_event(message(FOLLOW_UP, ts="1700000000.000900", thread_ts="1700000000.000800"))
    posts = wait_answered(fake_slack, 2)
    assert recorder.asked == [(FIRST_IN_THREAD, ()), (FOLLOW_UP, (FIRST_IN_THREAD,))]
    assert posts[1].body["thread_ts"] == "1700000000.000800"
    text = texts_of(posts[1])
    assert "<https://example.com/minimax-listing|MiniMax &amp; Zhipu race to list &lt;first&gt;>" in text
    assert bot.store.questions()[1].record.source == "thread"


def test_threads_the_bot_is_not_part_of_are_left_alone(bot: BotHarness, fake_slack: FakeSlack) -> None:
    reply = bot.post_event(message(FOLLOW_UP, ts="1700000001.000100", thread_ts="1700000001.000000"))
    assert reply.status == 200
    assert bot.post_event(message(QUESTION, ts="1700000001.000200")).status == 200  # channel chatter
    fake_slack.settle()
    assert fake_slack.calls == []


@pytest.mark.parametrize(
    "event",
    [
        message(QUESTION, ts="1700000002.000100", channel_type="im", bot_id="BOTHER"),
        message(QUESTION, ts="1700000002.000200", channel_type="im", user=BOT_USER_ID),
        {"type": "message", "subtype": "message_changed", "channel": "D1", "channel_type": "im",
         "ts": "1700000002.000300", "message": {"type": "message", "user": "U1", "text": "edited", "ts": "1"}},
        {"type": "message", "subtype": "message_deleted", "channel": "D1", "channel_type": "im",
         "ts": "1700000002.000400", "deleted_ts": "1"},
        mention(QUESTION, ts="1700000002.000500", bot_id="BOTHER"),
    ],
    ids=["other-bot", "own-user", "edited", "deleted", "bot-mention"],
)
def test_bot_messages_and_edits_are_ignored_without_404(bot: BotHarness, fake_slack: FakeSlack, event: dict[str, Any]) -> None:
    assert bot.post_event(event).status == 200
    fake_slack.settle()
    assert fake_slack.calls == []


def test_feedback_click_is_stored_and_acknowledged(bot: BotHarness, fake_slack: FakeSlack) -> None:
    bot.post_event(mention(QUESTION, ts="1700000005.000100"))
    [post] = wait_answered(fake_slack)
    votes = controls(post)["answer_feedback"]
    payload = click(post, "answer_feedback", votes["positive_button"]["value"], response_url=fake_slack.hook_url("feedback"))
    assert bot.post_form({"payload": json.dumps(payload)}).status == 200
    [ack] = fake_slack.wait_count("hook:feedback", 1)
    assert ack.body["response_type"] == "ephemeral" and "recorded" in ack.body["text"]
    [row] = bot.store.feedback()
    assert (row.question_id, row.user, row.value) == (bot.store.questions()[0].id, "U2", 1)


def test_slash_command_answers_privately(bot: BotHarness, fake_slack: FakeSlack) -> None:
    reply = bot.post_form({
        "command": "/ask", "text": QUESTION, "team_id": "T111", "channel_id": "C1",
        "user_id": "U1", "response_url": fake_slack.hook_url("ask"), "trigger_id": "1.1",
    })
    assert reply.status == 200 and "Looking that up" in reply.body
    [answer] = fake_slack.wait_count("hook:ask", 1)
    assert answer.body["response_type"] == "ephemeral"
    assert "<https://example.com/zhipu-hearing|" in texts_of(answer)
    assert fake_slack.calls_to("chat.postMessage") == []
    assert bot.store.questions()[0].record.source == "command"


def test_twenty_concurrent_mentions_are_acked_within_3s_and_all_answered(bot: BotHarness, fake_slack: FakeSlack) -> None:
    def send(i: int) -> tuple[int, float]:
        started = time.perf_counter()
        status = bot.post_event(mention(QUESTION, ts=f"1700000006.{i:06d}", user=f"U{i}")).status
        return status, time.perf_counter() - started

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(send, range(20)))
    assert all(status == 200 for status, _ in results)
    assert max(seconds for _, seconds in results) < 3.0
    posts = wait_answered(fake_slack, 20)
    fake_slack.settle()
    assert sorted(p.body["thread_ts"] for p in fake_slack.calls_to("chat.postMessage")) == [
        f"1700000006.{i:06d}" for i in range(20)
    ]
    assert len(posts) == 20


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (mention("", ts="1700000007.000100"), "Ask me about the industry news corpus"),
        (mention("", ts="1700000007.000200", files=[{"id": "F1", "name": "report.pdf"}]), "can't read attached files"),
        (mention("? ！ …", ts="1700000007.000250"), "Ask me about the industry news corpus"),
        (mention("help", ts="1700000007.000260"), "Ask me about the industry news corpus"),
        (mention("帮助", ts="1700000007.000270"), "可以向我提问"),
    ],
    ids=["empty-mention", "files-only", "no-words", "help", "help-zh"],
)
def test_notices_for_empty_and_file_only_mentions(bot: BotHarness, fake_slack: FakeSlack, event: dict[str, Any], expected: str) -> None:
    bot.post_event(event)
    [post] = fake_slack.wait_count("chat.postMessage", 1)
    assert expected in texts_of(post)
    if expected.startswith(("Ask me", "可以")):
        assert f"<@{BOT_USER_ID}>" in texts_of(post) and "@<@" not in texts_of(post)  # how to mention this bot
    fake_slack.settle()
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_slash_command_help_names_the_bot_once(bot: BotHarness, fake_slack: FakeSlack) -> None:
    bot.post_form({"command": "/ask", "text": "help", "team_id": "T111", "channel_id": "C1", "user_id": "U1",
                   "response_url": fake_slack.hook_url("ask"), "trigger_id": "1.1"})
    [reply] = fake_slack.wait_count("hook:ask", 1)
    assert "e.g. *@industry-qa which AI company" in texts_of(reply) and "@@" not in texts_of(reply)


def test_over_long_question_is_cut_with_a_note(make_bot: Any, qa_service: Any, fake_slack: FakeSlack) -> None:
    limit = 60  # the answerer cuts the question (MAX_QUESTION_CHARS) and says so on the answer
    service = QAService(replace(qa_service.settings, max_question_chars=limit), embeddings=qa_service.embeddings)
    bot = make_bot(answerer=service)
    bot.post_event(mention(QUESTION + " " + "x" * (limit + 500), ts="1700000007.000300"))
    [post] = wait_answered(fake_slack)
    [logged] = bot.store.questions()
    assert len(logged.record.question) <= limit and logged.record.question.startswith(QUESTION[:40])
    assert f"first {limit:,} characters" in texts_of(post)


def test_chinese_question_gets_chinese_framing(bot: BotHarness, fake_slack: FakeSlack) -> None:
    bot.post_event(mention(ZH_QUESTION, ts="1700000007.000400"))
    [post] = wait_answered(fake_slack)
    text = texts_of(post)
    assert "*来源*" in text and "有帮助" in text
    assert "*[1]* 月之暗面完成新一轮融资\n" in text  # no url: a plain title, not a broken link
    assert "据测试通讯社, 2025年12月18日：月之暗面宣布完成新一轮融资，金额约为五亿美元。" in text  # quoted once, framed in Chinese


def test_chinese_failure_message_is_chinese(make_bot: Any, fake_slack: FakeSlack) -> None:
    bot = make_bot(answerer=ScriptedAnswerer(error=RuntimeError("boom")))
    bot.post_event(mention(ZH_QUESTION, ts="1700000007.000500"))
    [notice] = fake_slack.wait_count("chat.postEphemeral", 1)
    assert "抱歉" in texts_of(notice)


def test_per_user_limit_answers_politely_to_the_asker_alone(make_bot: Any, qa_service: Any,
                                                            fake_slack: FakeSlack) -> None:
    bot = make_bot(answerer=qa_service, user_questions_per_minute=2)
    for i in range(2):
        bot.post_event(mention(QUESTION, ts=f"1700000008.00000{i}"))
        fake_slack.wait_count("chat.postMessage", i + 1)
    bot.post_event(mention(QUESTION, ts="1700000008.000002"))
    [notice] = fake_slack.wait_count("chat.postEphemeral", 1)
    assert "asked 2 questions in the last minute" in texts_of(notice)
    assert (notice.body["user"], notice.body["thread_ts"]) == ("U1", "1700000008.000002")
    assert not any("asked 2 questions" in texts_of(p) for p in fake_slack.calls_to("chat.postMessage"))
    bot.post_event(mention(QUESTION, ts="1700000008.000009", user="U-other"))  # others unaffected
    assert "example.com" in texts_of(fake_slack.wait_count("chat.postMessage", 3)[2])


def test_healthz_and_url_verification(bot: BotHarness) -> None:
    health = bot.get("/healthz")
    assert health.status == 200 and json.loads(health.body) == {"ok": True}
    challenge = bot.post(json.dumps({"type": "url_verification", "challenge": "c-123", "token": "x"}),
                         content_type="application/json")
    assert challenge.status == 200 and "c-123" in challenge.body


def test_every_subscribed_event_has_a_listener(bot: BotHarness, fake_slack: FakeSlack,
                                              caplog: pytest.LogCaptureFixture) -> None:
    import yaml

    manifest = yaml.safe_load((Path(__file__).resolve().parent.parent / "manifest.yml").read_text())
    samples = {
        "app_mention": mention(QUESTION, ts="1700000009.000001", bot_id="BOTHER"),
        "message.channels": message("chatter", ts="1700000009.000002", channel_type="channel"),
        "message.groups": message("chatter", ts="1700000009.000003", channel="G1", channel_type="group"),
        "message.im": message("hi", ts="1700000009.000004", channel="D1", channel_type="im", bot_id="BOTHER"),
        "app_home_opened": home_opened(),
        "assistant_thread_started": thread_started("1700000009.000005"),
        "assistant_thread_context_changed": {**thread_started("1700000009.000005"),
                                             "type": "assistant_thread_context_changed"},
    }
    def dispatched(event: dict[str, Any]) -> int:
        """Bolt's own answer to the signed delivery (over HTTP every event is acked before Bolt runs)."""
        body = json.dumps(event_payload(event))
        stamp = str(int(time.time()))
        headers = {"content-type": ["application/json"], "x-slack-request-timestamp": [stamp],
                   "x-slack-signature": [bot.verifier.generate_signature(timestamp=stamp, body=body)]}
        return bot.bot.app.dispatch(BoltRequest(body=body, headers=headers)).status

    for name in manifest["settings"]["event_subscriptions"]["bot_events"]:
        assert dispatched(samples[name]) == 200, name  # Bolt has a listener for it
        assert bot.post_event(samples[name]).status == 200, name
    # control: an event we do not subscribe to has no listener, and Bolt answers 404; over HTTP it was
    # acked already (a 404 would make Slack retry), and Bolt's answer goes to the log
    control = {"type": "reaction_added", "user": "U1", "reaction": "x", "event_ts": "1.1"}
    assert dispatched(control) == 404
    with caplog.at_level(logging.WARNING, logger="bot.server"):
        assert bot.post_event(control).status == 200
        deadline = time.monotonic() + 10
        while "Bolt answered 404 to an event already acked" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.02)
    assert "Bolt answered 404 to an event already acked" in caplog.text
