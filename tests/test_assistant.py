"""The assistant panel end to end, over signed HTTP and over Socket Mode envelopes: a new thread
gets a greeting and checked suggested prompts, a question the status and the thread's title, the
answer follows in the thread with "Share to channel", a follow-up carries the thread's history, and
commands work in the panel. A plain DM thread is answered without the panel's status or title."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.app import create_bot
from bot.assistant_panel import suggested_prompts
from bot.config import Settings
from bot.slack_client import build_web_client
from bot.state.sqlite import SQLiteStateStore
from tests.bot_fakes import TEAM_ID, FakeSlack, ScriptedAnswerer
from tests.bot_fixtures import BotHarness, controls, event_payload, texts_of, wait_answered
from tests.test_bot_socket_mode import EnvelopeRecorder

THREAD = "1700000800.000100"


def thread_started(thread_ts: str = THREAD) -> dict[str, Any]:
    return {"type": "assistant_thread_started", "event_ts": thread_ts,
            "assistant_thread": {"user_id": "U1", "channel_id": "D1", "thread_ts": thread_ts,
                                 "context": {"channel_id": "C7", "team_id": TEAM_ID}}}


def said(text: str, ts: str, thread_ts: str = THREAD) -> dict[str, Any]:
    return {"type": "message", "channel": "D1", "channel_type": "im", "user": "U1", "text": text, "ts": ts,
            "thread_ts": thread_ts, "event_ts": ts}


FIRST, NEWS = ("Who is closest to listing?", "哪家公司最接近上市？"), ("What's new this week?", "这周有什么新进展？")
ZHIPU = ("What's the latest on Zhipu AI?", "智谱最近有什么进展？")


@pytest.mark.parametrize(("examples", "prompts"), [
    ({"en": [FIRST[0], NEWS[0], ZHIPU[0]], "zh": [FIRST[1], NEWS[1], ZHIPU[1]]}, [*FIRST, *ZHIPU]),
    ({"en": [FIRST[0], NEWS[0]], "zh": [FIRST[1], NEWS[1]]}, [*FIRST, *NEWS]),  # no name in the newest articles
    ({"en": [NEWS[0], ZHIPU[0]], "zh": [ZHIPU[1]]}, [NEWS[0], ZHIPU[0], ZHIPU[1]]),  # only the answered ones
    ({"en": [], "zh": []}, []),
])
def test_suggested_prompts_are_a_general_question_then_the_corpus_names(
        examples: dict[str, list[str]], prompts: list[str]) -> None:
    assert [p["message"] for p in suggested_prompts(examples)] == prompts


def test_a_panel_thread_is_greeted_titled_answered_and_followed_up(make_bot: Any, fake_slack: FakeSlack) -> None:
    recorder = ScriptedAnswerer()
    bot: BotHarness = make_bot(answerer=recorder)
    bot.post_event(thread_started())
    [prompts] = fake_slack.wait_count("assistant.threads.setSuggestedPrompts", 1)
    assert (prompts.body["channel_id"], prompts.body["thread_ts"]) == ("D1", THREAD)
    assert [p["message"] for p in prompts.body["prompts"]] == [
        "Who is closest to listing?", "哪家公司最接近上市？", "What's the latest on Zhipu AI?", "智谱最近有什么进展？"]
    [greeting] = fake_slack.calls_to("chat.postMessage")
    assert greeting.body["thread_ts"] == THREAD and "Ask me anything" in greeting.body["text"]
    assert bot.store.assistant_thread(channel="D1", thread_ts=THREAD) == {"channel_id": "C7", "team_id": TEAM_ID}
    fake_slack.reset()

    bot.post_event(said("Who is closest to listing?", "1700000800.000200"))
    fake_slack.wait_count("reactions.remove", 1)
    [status] = fake_slack.calls_to("assistant.threads.setStatus")
    assert status.body["status"] == "is searching the corpus…" and status.body["thread_ts"] == THREAD
    [title] = fake_slack.calls_to("assistant.threads.setTitle")
    assert title.body["title"] == "Who is closest to listing?"
    [answer] = fake_slack.calls_to("chat.postMessage")
    assert answer.body["channel"] == "D1" and answer.body["thread_ts"] == THREAD
    assert list(controls(answer)) == ["answer_feedback", "answer_watch", "answer_share"]  # the panel is private
    assert fake_slack.calls.index(status) < fake_slack.calls.index(answer)

    bot.post_event(said("和智谱比呢？", "1700000800.000300"))
    fake_slack.wait_count("reactions.remove", 2)
    assert recorder.asked[-1] == ("和智谱比呢？", ("Who is closest to listing?",))  # the thread's history
    assert len(fake_slack.calls_to("assistant.threads.setTitle")) == 1  # titled once
    assert [s.body["status"] for s in fake_slack.calls_to("assistant.threads.setStatus")][-1] == "正在检索语料…"
    assert [q.record.source for q in bot.store.questions()] == ["assistant", "assistant"]


def test_commands_work_in_the_panel(make_bot: Any, fake_slack: FakeSlack) -> None:
    bot: BotHarness = make_bot(answerer=ScriptedAnswerer())
    bot.post_event(thread_started())
    fake_slack.wait_count("assistant.threads.setSuggestedPrompts", 1)
    fake_slack.reset()
    bot.post_event(said("follow MiniMax", "1700000801.000100"))
    [reply] = fake_slack.wait_count("chat.postMessage", 1)
    assert "You now follow *MiniMax*" in texts_of(reply) and reply.body["thread_ts"] == THREAD
    fake_slack.settle()
    assert fake_slack.calls_to("assistant.threads.setStatus") == [] and bot.store.questions() == []


def test_a_plain_dm_thread_is_answered_without_panel_status(make_bot: Any, fake_slack: FakeSlack) -> None:
    bot: BotHarness = make_bot(answerer=ScriptedAnswerer())
    bot.post_event(said("What did MiniMax file?", "1700000802.000200", thread_ts="1700000802.000100"))
    [answer] = wait_answered(fake_slack)
    assert answer.body["thread_ts"] == "1700000802.000100"
    assert fake_slack.calls_to("assistant.threads.setStatus") == []
    assert bot.store.questions()[0].record.source == "dm"


def test_the_panel_over_socket_mode_envelopes(bot_settings: Settings, fake_slack: FakeSlack) -> None:
    settings = replace(bot_settings, slack_app_token="xapp-1-test", slack_signing_secret="")
    store = SQLiteStateStore(settings.state_location)
    bot = create_bot(settings, client=build_web_client(settings), answerer=ScriptedAnswerer(), store=store,
                     watch_poll_s=0.1, watch_settle_s=0.0).start()
    try:
        assert bot.watcher.wait_looks(1)
        handler = SocketModeHandler(bot.app, settings.slack_app_token)  # fed envelopes, not connected
        socket_client = EnvelopeRecorder()
        for n, event in enumerate([thread_started(), said("Who is closest to listing?", "1700000803.000200")]):
            request = SocketModeRequest(type="events_api", envelope_id=f"env-{n}", payload=event_payload(event))
            handler.handle(socket_client, request)  # type: ignore[arg-type]
        fake_slack.wait_count("reactions.remove", 1)
        assert [r.envelope_id for r in socket_client.sent] == ["env-0", "env-1"]
        assert len(fake_slack.calls_to("assistant.threads.setSuggestedPrompts")) == 1
        assert len(fake_slack.calls_to("assistant.threads.setTitle")) == 1
        assert [c.body["thread_ts"] for c in fake_slack.calls_to("chat.postMessage")] == [THREAD, THREAD]
    finally:
        bot.stop()
        store.close()
