"""Per-channel settings: who may change them, the form (views.open, view_submission with field
errors), and that what is saved is what the channel gets (question-like messages answered without a
mention, answers shown to the asker only)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.channel_policy import is_question_like
from bot.config import DigestSettings
from bot.settings_form import SETTINGS_VIEW, read_submission, settings_view, summary
from bot.settings_listener import SETTINGS_OPEN
from bot.state.records import ChannelSettings
from tests.bot_fakes import TEAM_ID, FakeSlack
from tests.bot_fixtures import QUESTION, ZH_QUESTION, BotHarness, controls, mention, message, texts_of


def submitted(view: dict[str, Any], **picks: str) -> dict[str, Any]:
    """The view as Slack sends it back on submit: its inputs' state, changed by ``picks``."""
    values: dict[str, dict[str, Any]] = {}
    for block in view["blocks"]:
        element, bid = block["element"], block["block_id"]
        if element["type"] == "checkboxes":
            chosen = picks.get(bid)
            ticked = element.get("initial_options", []) if chosen is None else [
                o for o in element["options"] if o["value"] in chosen.split(",")]
            values[bid] = {bid: {"type": "checkboxes", "selected_options": ticked}}
        elif element["type"] == "static_select":
            option = next((o for o in element["options"] if o["value"] == picks.get(bid)), element["initial_option"])
            values[bid] = {bid: {"type": "static_select", "selected_option": option}}
        else:
            values[bid] = {bid: {"type": "plain_text_input", "value": picks.get(bid, element.get("initial_value"))}}
    return {**view, "state": {"values": values}}


def test_a_submitted_form_is_read_back_and_bad_fields_are_named() -> None:
    base = ChannelSettings("T", "C1")
    view = settings_view(base, "en").to_dict()
    chosen, errors = read_submission(submitted(view, behaviour="answer_without_mention", cadence="daily",
                                               language="both", time="7:05", timezone="Europe/Berlin"), base)
    assert errors == {}
    assert (chosen.answer_without_mention, chosen.private_by_default, chosen.digest_cadence, chosen.digest_language,
            chosen.digest_time, chosen.digest_timezone) == (True, False, "daily", "both", "07:05", "Europe/Berlin")
    _, errors = read_submission(submitted(view, time="25:00", timezone="Mars/Olympus"), base)
    assert set(errors) == {"time", "timezone"}
    workspace = DigestSettings(channels=("C1",))
    assert "as configured for the workspace (weekly, Monday 09:00 (Asia/Shanghai), in English)" in summary(base, workspace, "en")
    assert "每天 07:05（Europe/Berlin），语言：中英文" in summary(chosen, workspace, "zh")


def test_anyone_sees_the_settings_but_only_admins_get_the_form(bot: BotHarness, fake_slack: FakeSlack) -> None:
    fake_slack.users = {"U1": {"id": "U1"}, "UADMIN": {"id": "UADMIN", "is_admin": True}}
    fake_slack.channels = {"C1": {"id": "C1", "creator": "UCREATOR"}}
    bot.post_event(mention("settings", ts="1700000300.000100", user="U1"))
    [reply] = fake_slack.wait_count("chat.postEphemeral", 1, timeout=15)
    assert "Answer questions without a mention: off" in texts_of(reply) and "Only this channel's admins" in texts_of(reply)
    assert not any(b["type"] == "actions" for b in reply.body["blocks"])

    bot.post_event(mention("设置", ts="1700000300.000200", user="UADMIN"))
    [_, admin] = fake_slack.wait_count("chat.postEphemeral", 2, timeout=15)
    [button] = next(b for b in admin.body["blocks"] if b["type"] == "actions")["elements"]
    assert button["action_id"] == SETTINGS_OPEN and "修改设置" in texts_of(admin)
    click = {"type": "block_actions", "trigger_id": "7.7.7", "team": {"id": TEAM_ID}, "user": {"id": "UADMIN"},
             "channel": {"id": "C1"}, "container": {"type": "message", "is_ephemeral": True},
             "response_url": fake_slack.hook_url("settings"), "actions": [button]}
    assert bot.post_form({"payload": json.dumps(click)}).status == 200
    [opened] = fake_slack.wait_count("views.open", 1, timeout=15)
    view = opened.body["view"] if isinstance(opened.body["view"], dict) else json.loads(opened.body["view"])
    assert opened.body["trigger_id"] == "7.7.7" and view["callback_id"] == SETTINGS_VIEW
    assert view["title"]["text"] == "频道设置"  # the language of the command

    def submit(**picks: str) -> Any:
        payload = {"type": "view_submission", "team": {"id": TEAM_ID}, "user": {"id": "UADMIN"},
                   "view": submitted(view, **picks)}
        return bot.post_form({"payload": json.dumps(payload)})

    refused = submit(time="9am")
    assert refused.status == 200 and json.loads(refused.body)["errors"] == {"time": "请用 24 小时制 HH:MM，例如 09:00。"}
    assert bot.store.channel_settings(TEAM_ID, "C1") is None  # nothing saved
    assert submit(behaviour="answer_without_mention,private_by_default", cadence="daily", time="18:30").status == 200
    [_, _, confirmed] = fake_slack.wait_count("chat.postEphemeral", 3, timeout=15)
    assert "已保存 <#C1> 的设置" in texts_of(confirmed) and confirmed.body["user"] == "UADMIN"
    saved = bot.store.channel_settings(TEAM_ID, "C1")
    assert saved is not None and (saved.answer_without_mention, saved.private_by_default, saved.digest_cadence,
                                  saved.digest_time, saved.updated_by) == (True, True, "daily", "18:30", "UADMIN")


def test_iqa_settings_opens_the_form_at_once_for_the_channel_creator(bot: BotHarness, fake_slack: FakeSlack) -> None:
    fake_slack.users = {"UCREATOR": {"id": "UCREATOR"}}
    fake_slack.channels = {"C1": {"id": "C1", "creator": "UCREATOR"}}
    payload = {"command": "/iqa", "text": "settings", "team_id": TEAM_ID, "channel_id": "C1", "user_id": "UCREATOR",
               "trigger_id": "9.9.9", "response_url": fake_slack.hook_url("iqa")}
    assert bot.post_form(payload).status == 200
    [opened] = fake_slack.wait_count("views.open", 1, timeout=15)
    assert opened.body["trigger_id"] == "9.9.9"
    fake_slack.settle()
    assert fake_slack.calls_to("hook:iqa") == []


def test_settings_in_a_dm_say_where_they_belong(bot: BotHarness, fake_slack: FakeSlack) -> None:
    from tests.bot_fixtures import message

    bot.post_event(message("settings", ts="1700000301.000100", channel="D1", channel_type="im"))
    [reply] = fake_slack.wait_count("chat.postMessage", 1, timeout=15)
    assert "Settings belong to a channel" in texts_of(reply)


@pytest.mark.parametrize(("text", "asked"), [
    ("Did Zhipu pass its listing hearing?", True), ("who leads the race to list", True), ("月之暗面融资多少", True),
    ("智谱上市了吗", True), ("thanks, see you all tomorrow", False), ("lol?", False),
    ("<https://example.com/a?b=1>", False), ("this is what the hearing said", False),
])
def test_what_reads_like_a_question(text: str, asked: bool) -> None:
    assert is_question_like(text) is asked


def test_saved_settings_are_what_the_channel_gets(bot: BotHarness, fake_slack: FakeSlack) -> None:
    """Unasked questions are left alone until the channel's creator turns answering them on; then
    question-like messages are answered (chatter is not), and every answer is private, with Share."""
    fake_slack.users = {"UCREATOR": {"id": "UCREATOR"}}
    fake_slack.channels = {"C1": {"id": "C1", "creator": "UCREATOR"}}
    bot.post_event(message(QUESTION, ts="1700000310.000100"))  # the defaults: a mention is needed
    fake_slack.settle(0.5)
    assert [c.method for c in fake_slack.calls] == []

    payload = {"command": "/iqa", "text": "settings", "team_id": TEAM_ID, "channel_id": "C1", "user_id": "UCREATOR",
               "trigger_id": "9.9.8", "response_url": fake_slack.hook_url("iqa")}
    assert bot.post_form(payload).status == 200
    [opened] = fake_slack.wait_count("views.open", 1, timeout=15)
    view = json.loads(opened.body["view"]) if isinstance(opened.body["view"], str) else opened.body["view"]
    submit = {"type": "view_submission", "team": {"id": TEAM_ID}, "user": {"id": "UCREATOR"},
              "view": submitted(view, behaviour="answer_without_mention,private_by_default")}
    assert bot.post_form({"payload": json.dumps(submit)}).status == 200
    fake_slack.wait_count("chat.postEphemeral", 1, timeout=15)  # "settings saved", to the creator
    fake_slack.reset()

    bot.post_event(message("thanks, see you all tomorrow", ts="1700000310.000200"))
    bot.post_event(message(QUESTION, ts="1700000310.000300"))  # the same process sees the change at once
    bot.post_event(message(ZH_QUESTION, ts="1700000310.000400", user="U2"))
    bot.post_event(mention(QUESTION, ts="1700000310.000500", user="U3"))
    answers = fake_slack.wait_count("chat.postEphemeral", 3, timeout=30)
    fake_slack.wait_count("reactions.remove", 3, timeout=15)
    fake_slack.settle(0.5)
    assert fake_slack.calls_to("chat.postMessage") == []  # nothing public
    assert len(fake_slack.calls_to("chat.postEphemeral")) == 3  # the chatter got no answer
    by_user = {c.body["user"]: c for c in answers}
    assert set(by_user) == {"U1", "U2", "U3"}
    assert by_user["U1"].body["thread_ts"] == "1700000310.000300" and "Zhipu" in texts_of(by_user["U1"])
    assert "月之暗面" in texts_of(by_user["U2"]) or "Moonshot" in texts_of(by_user["U2"])
    assert all("answer_share" in controls(c) for c in answers)  # private answers may be shared
