"""The controls under an answer, end to end: 👎 and its optional form, "Share to channel" from /ask,
a DM and the "Check against the corpus" shortcut, and the shortcut's reading of a message."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.check_shortcut import CHECK_SHORTCUT, claim_text
from bot.control_forms import REASON_VIEW, SHARE_VIEW
from tests.bot_fakes import TEAM_ID, Call, FakeSlack
from tests.bot_fixtures import (
    QUESTION,
    BotHarness,
    click,
    controls,
    mention,
    message,
    texts_of,
    wait_answered,
)


def _view(call: Call) -> dict[str, Any]:
    view = call.body["view"]
    return view if isinstance(view, dict) else json.loads(view)


def _submit(bot: BotHarness, view: dict[str, Any], values: dict[str, Any], user: str = "U1") -> None:
    payload = {"type": "view_submission", "team": {"id": TEAM_ID}, "user": {"id": user},
               "view": {**view, "state": {"values": values}}}
    assert bot.post_form({"payload": json.dumps(payload)}).status == 200


def test_a_thumbs_down_opens_the_optional_form_and_stores_the_reason(bot: BotHarness, fake_slack: FakeSlack) -> None:
    bot.post_event(mention(QUESTION, ts="1700000400.000100"))
    [post] = wait_answered(fake_slack)
    down = controls(post)["answer_feedback"]["negative_button"]["value"]
    assert bot.post_form({"payload": json.dumps(click(post, "answer_feedback", down,
                                                      response_url=fake_slack.hook_url("fb")))}).status == 200
    [opened] = fake_slack.wait_count("views.open", 1)
    view = _view(opened)
    assert view["callback_id"] == REASON_VIEW and view["title"]["text"] == "What was wrong?"
    [row] = bot.store.feedback()
    assert row.value == -1  # the vote counts whether or not the form is filled in
    _submit(bot, view, {"reason": {"reason": {"type": "radio_buttons", "selected_option": {"value": "outdated"}}},
                        "detail": {"detail": {"type": "plain_text_input", "value": "the hearing was rescheduled"}}},
            user="U2")
    fake_slack.settle()
    [reason] = bot.store.feedback_reasons()
    assert (reason.question_id, reason.user, reason.reason, reason.text) == (
        row.question_id, "U2", "outdated", "the hearing was rescheduled")
    assert fake_slack.calls_to("hook:fb") == []  # the form was the answer to the click


def test_a_legacy_button_on_an_old_answer_still_counts(bot: BotHarness, fake_slack: FakeSlack) -> None:
    bot.post_event(mention(QUESTION, ts="1700000400.000200"))
    [post] = wait_answered(fake_slack)
    qid = bot.store.questions()[0].id
    payload = click(post, "feedback_up", str(qid), response_url=fake_slack.hook_url("old"))
    assert bot.post_form({"payload": json.dumps(payload)}).status == 200
    assert "recorded" in texts_of(fake_slack.wait_count("hook:old", 1)[0])
    assert [(f.question_id, f.value) for f in bot.store.feedback()] == [(qid, 1)]


def _ask(bot: BotHarness, fake_slack: FakeSlack, hook: str, text: str = QUESTION) -> Call:
    payload = {"command": "/ask", "text": text, "team_id": TEAM_ID, "channel_id": "C1", "user_id": "U1",
               "response_url": fake_slack.hook_url(hook), "trigger_id": "1.1"}
    assert bot.post_form(payload).status == 200
    return fake_slack.wait_count(f"hook:{hook}", 1)[0]


def test_a_private_answer_is_shared_to_its_channel_attributed_to_the_asker(bot: BotHarness, fake_slack: FakeSlack) -> None:
    answer = _ask(bot, fake_slack, "ask")
    share = controls(answer)["answer_share"]
    other = click(answer, "answer_share", share["value"], user="U9", response_url=fake_slack.hook_url("u9"))
    bot.post_form({"payload": json.dumps(other)})
    assert "Only the person who asked" in texts_of(fake_slack.wait_count("hook:u9", 1)[0])
    mine = click(answer, "answer_share", share["value"], user="U1", response_url=fake_slack.hook_url("u1"))
    bot.post_form({"payload": json.dumps(mine)})
    [shared] = fake_slack.wait_count("chat.postMessage", 1)
    assert "Shared in <#C1>" in texts_of(fake_slack.wait_count("hook:u1", 1)[0])
    assert shared.body["channel"] == "C1"
    text = texts_of(shared)
    assert f"Shared by <@U1>, who asked: {QUESTION}" in text
    assert "<https://example.com/zhipu-hearing|Zhipu AI passes listing hearing in Hong Kong>" in text
    assert "answer_share" not in controls(shared)  # the channel's copy has feedback and watch only
    assert "answer_feedback" in controls(shared)


def test_sharing_from_a_dm_asks_where_and_says_where_it_went(bot: BotHarness, fake_slack: FakeSlack) -> None:
    bot.post_event(message(QUESTION, ts="1700000401.000100", channel="D1", channel_type="im"))
    [answer] = wait_answered(fake_slack)
    payload = click(answer, "answer_share", controls(answer)["answer_share"]["value"], user="U1", channel="D1",
                    thread_ts="1700000401.000100", response_url=fake_slack.hook_url("dm"))
    bot.post_form({"payload": json.dumps(payload)})
    view = _view(fake_slack.wait_count("views.open", 1)[0])
    assert view["callback_id"] == SHARE_VIEW
    _submit(bot, view, {"channel": {"channel": {"type": "conversations_select", "selected_conversation": "C5"}}})
    posts = fake_slack.wait_count("chat.postMessage", 3)
    assert posts[1].body["channel"] == "C5" and "Shared by <@U1>" in texts_of(posts[1])
    assert posts[2].body["channel"] == "D1" and posts[2].body["thread_ts"] == "1700000401.000100"
    assert "Shared in <#C5>" in texts_of(posts[2])


def test_sharing_where_the_bot_is_not_a_member_says_how_to_fix_it(bot: BotHarness, fake_slack: FakeSlack) -> None:
    from tests.bot_fakes import Scripted

    answer = _ask(bot, fake_slack, "ask")
    fake_slack.script("chat.postMessage", Scripted(body={"ok": False, "error": "not_in_channel"}))
    payload = click(answer, "answer_share", controls(answer)["answer_share"]["value"], user="U1",
                    response_url=fake_slack.hook_url("nope"))
    bot.post_form({"payload": json.dumps(payload)})
    assert "invite me there first" in texts_of(fake_slack.wait_count("hook:nope", 1)[0])


@pytest.mark.parametrize(("message_", "text"), [
    ({"text": "Zhipu passed its hearing on Friday, <@U7> says"}, "Zhipu passed its hearing on Friday, says"),
    ({"text": "<https://news.example/zhipu|Zhipu passes HKEX hearing> wow"}, "Zhipu passes HKEX hearing wow"),
    ({"text": "<https://news.example/zhipu>", "attachments": [{"title": "Zhipu AI passes listing hearing"}]},
     "Zhipu AI passes listing hearing"),
    ({"text": "R&amp;D &lt;spend&gt; up"}, "R&D <spend> up"),
    ({"text": "<https://news.example/x>"}, ""),
])
def test_the_check_shortcut_reads_what_a_person_reads(message_: dict[str, Any], text: str) -> None:
    assert claim_text(message_) == text


def test_check_against_the_corpus_answers_the_message_privately(bot: BotHarness, fake_slack: FakeSlack) -> None:
    payload = {
        "type": "message_action", "callback_id": CHECK_SHORTCUT, "trigger_id": "1.2.3", "action_ts": "1.1",
        "team": {"id": TEAM_ID}, "user": {"id": "U3"}, "channel": {"id": "C2"},
        "message": {"type": "message", "user": "U4", "ts": "1700000402.000100",
                    "text": "<https://news.example/zhipu>", "attachments": [{"title": "Did Zhipu pass its listing hearing?"}]},
        "response_url": fake_slack.hook_url("check"),
    }
    assert bot.post_form({"payload": json.dumps(payload)}).status == 200
    [reply] = fake_slack.wait_count("hook:check", 1, timeout=15)
    assert reply.body["response_type"] == "ephemeral"
    assert "Zhipu AI passed its listing hearing" in texts_of(reply) and "answer_share" in controls(reply)
    [logged] = bot.store.questions()
    assert (logged.record.source, logged.record.user, logged.record.question) == (
        "check", "U3", "Did Zhipu pass its listing hearing?")
    assert fake_slack.calls_to("chat.postMessage") == []
