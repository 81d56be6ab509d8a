"""Slack side of ingestion: ``@bot add <url>``, the "Add to corpus" shortcut, who may add, feed
polling while the bot runs, and answers that cite a just-added article without a restart."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings, SettingsError
from bot.feed_poller import FeedPoller, start_feed_poller
from bot.ingest_listener import ADD_SHORTCUT, add_command_urls, links_in, outcome_reason
from retrieval.index import build_index
from retrieval.ingest import Outcome
from retrieval.service import QAService
from retrieval.settings import FeedSpec, IngestSettings, RetrievalSettings
from tests.bot_fakes import TEAM_ID, FakeSlack
from tests.bot_fixtures import TINY_CORPUS, mention, metric, texts_of, wait_answered
from tests.web_fixtures import LOOPBACK_ALLOWED, FixtureWeb, Page, rss, serve_standard_site

ZHIPU_QUESTION = "Under which code would Zhipu's shares trade?"
MOONSHOT_QUESTION = "月之暗面融资多少？"


@pytest.mark.parametrize(("text", "urls"), [
    ("add <https://a.example/x|a.example/x>", ["https://a.example/x"]),
    ("Add <https://a.example/x?a=1&amp;b=2>", ["https://a.example/x?a=1&b=2"]),
    ("add https://a.example/x and <https://b.example/y>", ["https://b.example/y", "https://a.example/x"]),
    ("add <https://a.example/x> <https://a.example/x>", ["https://a.example/x"]),
    ("add", None),  # no link: not an add command (the question listener answers it)
    ("address of Zhipu? https://a.example/x", None),
    ("what did https://a.example/x say?", None),
])
def test_add_command_urls(text: str, urls: list[str] | None) -> None:
    assert add_command_urls(text) == urls


def test_add_allowed_users_setting() -> None:
    base = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "secret"}
    assert Settings.from_env(base).add_allowed_users == frozenset()  # default: anyone
    assert Settings.from_env({**base, "ADD_ALLOWED_USERS": "U01AB, W02CD"}).add_allowed_users == {"U01AB", "W02CD"}
    with pytest.raises(SettingsError, match=r"ADD_ALLOWED_USERS: 'alice' is not a Slack user id"):
        Settings.from_env({**base, "ADD_ALLOWED_USERS": "U01AB,alice"})


@pytest.mark.parametrize(("outcome", "en", "zh"), [
    (Outcome("u", "failed", code="gone", values={"status": 410}), "gone (HTTP 410)", "页面已被删除（HTTP 410）"),
    (Outcome("u", "failed", code="too_big", values={"limit": 5000000}),
     "larger than the FETCH_MAX_BYTES limit (5,000,000 bytes)", "超过 FETCH_MAX_BYTES 上限（5,000,000 字节）"),
    (Outcome("u", "alias", path="articles/a<b>.md", code="same_text", alias_recorded=True),
     "same text as articles/a&lt;b&gt;.md; URL recorded as an alias", "与 articles/a&lt;b&gt;.md 的正文相同；已将该网址记为别名"),
    (Outcome("u", "failed", "something new", code="no_such_code"), "the page could not be added", "无法添加该页面"),
], ids=["gone", "too-big", "alias", "unknown-code"])
def test_why_an_add_failed_is_worded_from_its_code_in_both_languages(outcome: Outcome, en: str, zh: str) -> None:
    assert (outcome_reason(outcome, "en"), outcome_reason(outcome, "zh")) == (en, zh)


def test_links_in_shortcut_message() -> None:
    assert links_in("see <https://a.example/n|this> and <mailto:x@y.z|mail>") == ["https://a.example/n"]


@pytest.fixture
def web() -> Iterator[FixtureWeb]:
    yield from serve_standard_site()


@pytest.fixture
def live(tmp_path: Path) -> RetrievalSettings:
    """A one-article corpus indexed with the bundled model; the tests add to it while the bot runs."""
    (tmp_path / "corpus" / "articles").mkdir(parents=True)
    (tmp_path / "corpus" / "articles" / "minimax-listing.md").write_text(TINY_CORPUS["minimax-listing.md"], encoding="utf-8")
    settings = RetrievalSettings(corpus_dir=tmp_path / "corpus", data_dir=tmp_path / "data",
                                 ingest=IngestSettings(fetch_timeout_s=2.0, fetch_allow_hosts=LOOPBACK_ALLOWED))
    build_index(settings)
    return settings


@pytest.fixture
def live_bot(make_bot: Any, live: RetrievalSettings) -> Any:
    service = QAService(live)
    assert service.ask(ZHIPU_QUESTION).outcome != "answered"  # not answerable before the article arrives
    return make_bot(answerer=service, retrieval=live)


def test_add_by_mention_then_the_running_bot_cites_it(live_bot: Any, fake_slack: FakeSlack, web: FixtureWeb) -> None:
    url = web.url("/news/zhipu-hearing-fixture")
    assert live_bot.post_event(mention(f"add <{url}>", ts="1700000001.000100")).status == 200
    reply = texts_of(fake_slack.wait_count("chat.postMessage", 1, timeout=60)[0])
    assert f"Added *<{url}|Zhipu AI passes Hong Kong listing hearing>* (2025-12-19) to the corpus" in reply
    assert (live_bot.settings.retrieval.articles_dir / "2025-12-19-zhipu-hearing-fixture.md").exists()
    fake_slack.wait_count("reactions.remove", 1)
    assert [c.method for c in fake_slack.calls] == ["reactions.add", "chat.postMessage", "reactions.remove"]
    fake_slack.reset()

    live_bot.post_event(mention(ZHIPU_QUESTION, ts="1700000002.000100"))
    answer = texts_of(wait_answered(fake_slack)[0])
    assert "fixture code 9999" in answer and "Zhipu AI passes Hong Kong listing hearing" in answer


def test_adding_again_says_it_is_already_there(live_bot: Any, fake_slack: FakeSlack, web: FixtureWeb) -> None:
    url = web.url("/news/zhipu-hearing-fixture")
    live_bot.post_event(mention(f"add <{url}>", ts="1700000001.000100"))
    fake_slack.wait_count("chat.postMessage", 1, timeout=60)
    live_bot.post_event(mention(f"add <{url}|{url[7:]}>", ts="1700000003.000100"))
    second = texts_of(fake_slack.wait_count("chat.postMessage", 2, timeout=60)[1])
    assert "Already in the corpus" in second and "2025-12-19-zhipu-hearing-fixture.md" in second


def test_failure_is_one_line_in_the_thread(make_bot: Any, fake_slack: FakeSlack, web: FixtureWeb,
                                           live: RetrievalSettings) -> None:
    bot = make_bot(retrieval=live)
    bot.post_event(mention(f"add <{web.url('/gone')}>", ts="1700000004.000100"))
    (call,) = fake_slack.wait_count("chat.postMessage", 1, timeout=30)
    assert call.body["thread_ts"] == "1700000004.000100"
    assert texts_of(call).splitlines()[0] == f":warning: Could not add {web.url('/gone')}: gone (HTTP 410)."
    assert list(live.articles_dir.iterdir()) == [live.articles_dir / "minimax-listing.md"]


@pytest.mark.parametrize(("text", "expected"), [
    ("add <{url}>", ":warning: Could not add {url}: refused: that address is on a private or local network"),
    ("add <{url}> 请加入语料库", ":warning: 无法添加 {url}：已拒绝：该地址位于内网或本机"),
])
def test_internal_address_is_refused_and_the_reply_says_why(make_bot: Any, fake_slack: FakeSlack, web: FixtureWeb,
                                                            live: RetrievalSettings, text: str, expected: str) -> None:
    bot = make_bot(retrieval=replace(live, ingest=replace(live.ingest, fetch_allow_hosts=())))  # the default
    url = web.url("/news/zhipu-hearing-fixture")
    bot.post_event(mention(text.format(url=url), ts="1700000004.000200"))
    (call,) = fake_slack.wait_count("chat.postMessage", 1, timeout=30)
    assert texts_of(call).startswith(expected.format(url=url))
    assert web.requests == [] and list(live.articles_dir.iterdir()) == [live.articles_dir / "minimax-listing.md"]


def test_only_listed_users_may_add(make_bot: Any, fake_slack: FakeSlack, web: FixtureWeb, live: RetrievalSettings) -> None:
    bot = make_bot(retrieval=live, add_allowed_users=frozenset({"UEDITOR"}))
    bot.post_event(mention(f"add <{web.url('/news/zhipu-hearing-fixture')}>", ts="1700000005.000100", user="U1"))
    (call,) = fake_slack.wait_count("chat.postEphemeral", 1, timeout=30)
    assert "not on the list of people who may add articles" in texts_of(call)
    assert (call.body["user"], call.body["thread_ts"]) == ("U1", "1700000005.000100")  # the asker alone
    assert web.requests == []  # nothing was fetched
    fake_slack.settle()
    assert [c.method for c in fake_slack.calls] == ["chat.postEphemeral"]  # and it was not answered as a question


def test_message_shortcut_adds_the_linked_article(make_bot: Any, fake_slack: FakeSlack, web: FixtureWeb,
                                                  live: RetrievalSettings) -> None:
    bot = make_bot(retrieval=live)
    url = web.url("/news/moonshot-funding-fixture")
    payload = {
        "type": "message_action", "callback_id": ADD_SHORTCUT, "trigger_id": "1.2.3", "action_ts": "1700000006.1",
        "team": {"id": TEAM_ID}, "user": {"id": "U1"}, "channel": {"id": "C1"},
        "message": {"type": "message", "user": "U2", "ts": "1700000000.000500", "text": f"interesting: <{url}>"},
        "response_url": fake_slack.hook_url("shortcut"),
    }
    assert bot.post_form({"payload": json.dumps(payload)}).status == 200
    (hook,) = fake_slack.wait_count("hook:shortcut", 1, timeout=60)
    assert hook.body["response_type"] == "ephemeral"
    assert f"Added *<{url}|月之暗面完成新一轮融资>* (2025-12-18) to the corpus" in texts_of(hook)


def test_question_answered_from_a_feed_article_that_arrived_while_the_bot_ran(
        live_bot: Any, fake_slack: FakeSlack, web: FixtureWeb) -> None:
    items = [("月之暗面完成新一轮融资", web.url("/news/moonshot-funding-fixture"), "融资")]
    web.add("/feed.xml", Page(rss(items), content_type="application/rss+xml"))
    settings = replace(live_bot.settings.retrieval, ingest=replace(
        live_bot.settings.retrieval.ingest, feeds=(FeedSpec(web.url("/feed.xml"), ("融资",)),)))
    added_before = metric("industry_qa_feed_items_total", outcome="added")
    poller = FeedPoller(settings, first_delay_s=0.0, interval_s=3600).start()
    try:
        deadline = time.monotonic() + 60
        while poller.rounds < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert poller.rounds == 1
    finally:
        poller.stop()
    assert metric("industry_qa_feed_items_total", outcome="added") == added_before + 1  # /metrics counts it
    live_bot.post_event(mention(MOONSHOT_QUESTION, ts="1700000007.000100"))
    answer = texts_of(wait_answered(fake_slack)[0])
    assert "金额约为五亿美元" in answer and "月之暗面完成新一轮融资" in answer


def test_poller_starts_only_with_feeds_and_survives_a_failing_round() -> None:
    assert start_feed_poller(RetrievalSettings()) is None  # FEEDS empty: no thread
    calls: list[float] = []

    def poll() -> None:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise RuntimeError("feed round blew up")

    poller = FeedPoller(RetrievalSettings(), interval_s=0.01, first_delay_s=0.0, poll=poll).start()
    try:
        deadline = time.monotonic() + 10
        while len(calls) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        poller.stop()
    assert len(calls) >= 3 and not poller.thread.is_alive()
