"""Delivering an answer to Slack: a 5xx or a timeout is retried without posting twice (the bot looks
for its own reply in the thread first), a message Slack finds too long is posted shorter, a reply
that never arrives is recorded in the question log, and the latency logged includes the post."""

from __future__ import annotations

from typing import Any

from tests.bot_fakes import FakeSlack, Scripted
from tests.bot_fixtures import QUESTION, BotHarness, mention, texts_of

ANSWER_MARK = "example.com/zhipu-hearing"  # the tiny corpus article the fixture question cites


def _logged(bot: BotHarness) -> Any:
    [row] = bot.store.questions()
    return row.record


def test_a_503_is_retried_and_the_answer_posted_once(bot: BotHarness, fake_slack: FakeSlack) -> None:
    fake_slack.script("chat.postMessage", Scripted(status=503, body={"ok": False, "error": "service_unavailable"}))
    bot.post_event(mention(QUESTION, ts="1700000020.000100"))
    fake_slack.wait_count("reactions.remove", 1, timeout=30)
    fake_slack.settle()
    posts = fake_slack.calls_to("chat.postMessage")
    assert len(posts) == 2 and posts[0].body == posts[1].body  # refused once, then delivered
    assert ANSWER_MARK in texts_of(posts[1]) and "went wrong" not in texts_of(posts[1])
    assert len(fake_slack.calls_to("conversations.replies")) == 1  # looked before posting again
    assert len(fake_slack.posted) == 1
    assert _logged(bot).delivery_error is None


def test_a_slow_post_that_slack_accepted_is_not_posted_again(make_bot: Any, qa_service: Any,
                                                             fake_slack: FakeSlack) -> None:
    bot = make_bot(answerer=qa_service, slack_api_timeout_s=1)
    fake_slack.script("chat.postMessage", Scripted(hang_s=2.5))  # posted, but the answer comes too late
    bot.post_event(mention(QUESTION, ts="1700000020.000200"))
    fake_slack.wait_count("reactions.remove", 1, timeout=30)
    fake_slack.settle(1.0)
    [post] = fake_slack.calls_to("chat.postMessage")
    assert ANSWER_MARK in texts_of(post)
    assert fake_slack.calls_to("chat.postEphemeral") == []  # and no error shown beside the answer
    assert _logged(bot).delivery_error is None


def test_msg_too_long_posts_a_shorter_answer(bot: BotHarness, fake_slack: FakeSlack) -> None:
    fake_slack.script("chat.postMessage", Scripted(body={"ok": False, "error": "msg_too_long"}))
    bot.post_event(mention(QUESTION, ts="1700000020.000300"))
    fake_slack.wait_count("reactions.remove", 1, timeout=30)
    full, short = fake_slack.calls_to("chat.postMessage")
    assert ANSWER_MARK in texts_of(short) and "shortened to fit in Slack" in texts_of(short)
    assert len(str(short.body)) < len(str(full.body))
    assert "went wrong" not in texts_of(short)
    assert _logged(bot).delivery_error is None


def test_a_reply_that_cannot_be_delivered_is_recorded_as_such(bot: BotHarness, fake_slack: FakeSlack) -> None:
    fake_slack.script("chat.postMessage", *[Scripted(body={"ok": False, "error": "channel_not_found"})] * 4)
    bot.post_event(mention(QUESTION, ts="1700000020.000400"))
    fake_slack.wait_count("reactions.remove", 1, timeout=30)
    record = _logged(bot)
    assert (record.delivery_error, record.outcome) == ("channel_not_found", "error")


def test_the_logged_latency_includes_posting_the_answer(bot: BotHarness, fake_slack: FakeSlack) -> None:
    fake_slack.script("chat.postMessage", Scripted(hang_s=0.8))  # a slow but successful post
    bot.post_event(mention(QUESTION, ts="1700000020.000500"))
    fake_slack.wait_count("reactions.remove", 1, timeout=30)
    assert _logged(bot).latency_ms >= 800


def test_answers_do_not_unfurl_links(bot: BotHarness, fake_slack: FakeSlack) -> None:
    bot.post_event(mention(QUESTION, ts="1700000020.000600"))
    [post] = fake_slack.wait_count("chat.postMessage", 1, timeout=30)
    assert (post.body.get("unfurl_links"), post.body.get("unfurl_media")) == (False, False)


def test_other_calls_are_retried_on_a_5xx(bot: BotHarness, fake_slack: FakeSlack) -> None:
    fake_slack.script("reactions.add", Scripted(status=500, body={"ok": False, "error": "internal_error"}))
    bot.post_event(mention(QUESTION, ts="1700000020.000700"))
    fake_slack.wait_count("reactions.remove", 1, timeout=30)
    assert len(fake_slack.calls_to("reactions.add")) == 2
