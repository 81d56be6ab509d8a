"""Follows and follow alerts: the commands (mention, DM, /iqa), what a term matches, and alerts
sent when articles arrive through a real ``@bot add``, ``industry-qa add`` or feed round while the
bot runs: one per article and follower, a burst in one message, none again after a restart."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from bot.alerts.terms import mention_span, resolve
from bot.cli import main as industry_qa
from bot.commands import Command, parse_command
from bot.feed_poller import FeedPoller
from retrieval.glossary import load_glossary
from retrieval.settings import FeedSpec, RetrievalSettings
from tests.bot_fakes import TEAM_ID, Call, FakeSlack
from tests.bot_fixtures import BotHarness, mention, message, texts_of
from tests.retrieval_fixtures import FIXTURES, ROOT
from tests.web_fixtures import FixtureWeb, Page, article_html, rss, serve_standard_site

GLOSSARY = load_glossary(ROOT / "corpus")


@pytest.mark.parametrize(("text", "command"), [
    ("follow Zhipu", Command("follow", "Zhipu")),
    ("Follow  Zhipu AI", Command("follow", "Zhipu AI")),
    ("关注 智谱", Command("follow", "智谱", language="zh")),
    ("关注智谱", Command("follow", "智谱", language="zh")),  # glued, but a glossary name
    ("关注：月之暗面", Command("follow", "月之暗面", language="zh")),
    ("channel follow MiniMax", Command("follow", "MiniMax", channel=True)),
    ("频道关注 稀宇", Command("follow", "稀宇", channel=True, language="zh")),
    ("unfollow Zhipu", Command("unfollow", "Zhipu")),
    ("取消关注 智谱", Command("unfollow", "智谱", language="zh")),
    ("follows", Command("follows")),
    ("我的关注", Command("follows", language="zh")),
    ("channel follows", Command("follows", channel=True)),
    ("settings", Command("settings")),
    ("设置", Command("settings", language="zh")),
    ("关注度最高的公司是哪家？", None),  # a question that starts with the word
    ("关注度最高的公司", None),  # glued to something that is not a glossary name
    ("follow-up: when will MiniMax list?", None),
    ("follow the money: who funds Zhipu?", None),
    ("Did Zhipu pass its listing hearing?", None),
    ("add <https://a.example/x>", None),
])
def test_commands_are_told_apart_from_questions(text: str, command: Command | None) -> None:
    assert parse_command(text, GLOSSARY) == command


def test_a_term_matches_its_glossary_line_in_both_languages() -> None:
    zh, en = resolve("智谱", GLOSSARY), resolve("zhipu", GLOSSARY)
    assert zh.key == en.key == "zhipu ai" and "Zhipu" in zh.aliases and "智谱" in en.aliases
    text = "Markets were calm. 智谱华章 filed its prospectus on Monday. Other news."
    span = mention_span(text, en)
    assert span is not None and text[span[0]:span[1]] == "智谱华章 filed its prospectus on Monday."
    assert mention_span("Zhipuology is not a company.", en) is None  # whole words in Latin script
    assert resolve("Unitree", GLOSSARY).aliases == ("Unitree",)  # not in the glossary: itself


# -- commands end to end ----------------------------------------------------------------------------

@pytest.fixture
def web() -> Iterator[FixtureWeb]:
    yield from serve_standard_site()


@pytest.fixture
def bot(make_bot: Any, live: RetrievalSettings) -> BotHarness:
    """The bot over a corpus with the glossary (so that Zhipu and 智谱 are one term)."""
    return make_bot(retrieval=live)  # type: ignore[no-any-return]



def _ephemeral(fake: FakeSlack, n: int = 1) -> list[Call]:
    return fake.wait_count("chat.postEphemeral", n, timeout=15)


def test_follow_by_mention_replies_privately_and_follows_lists_it(bot: BotHarness, fake_slack: FakeSlack) -> None:
    bot.post_event(mention("follow Zhipu", ts="1700000100.000100"))
    [reply] = _ephemeral(fake_slack)
    assert reply.body["user"] == "U1" and reply.body["channel"] == "C1"
    assert "You now follow *Zhipu*" in texts_of(reply) and "智谱" in texts_of(reply)
    bot.post_event(message("关注 智谱", ts="1700000100.000200", channel="D1", channel_type="im"))
    [dm] = fake_slack.wait_count("chat.postMessage", 1, timeout=15)
    assert "你已经关注了 *智谱*" in texts_of(dm)  # the same glossary line: one follow
    bot.post_event(mention("follows", ts="1700000100.000300"))
    assert "You follow: *Zhipu*" in texts_of(_ephemeral(fake_slack, 2)[1])
    fake_slack.settle()
    assert fake_slack.calls_to("reactions.add") == []  # commands are not answered as questions
    assert bot.store.questions() == []


def test_a_channel_follow_is_answered_where_the_channel_sees_it(bot: BotHarness, fake_slack: FakeSlack) -> None:
    bot.post_event(mention("channel follow MiniMax", ts="1700000101.000100", channel="C7"))
    [post] = fake_slack.wait_count("chat.postMessage", 1, timeout=15)
    assert post.body["channel"] == "C7" and "This channel now follows *MiniMax*" in texts_of(post)
    assert [(f.follower, f.kind) for f in bot.store.all_follows()] == [("C7", "channel")]
    bot.post_event(message("channel follow MiniMax", ts="1700000101.000200", channel="D1", channel_type="im"))
    assert "in the channel itself" in texts_of(fake_slack.wait_count("chat.postMessage", 2, timeout=15)[1])


def test_iqa_command_follows_and_unfollows(bot: BotHarness, fake_slack: FakeSlack) -> None:
    def iqa(text: str, hook: str) -> str:
        payload = {"command": "/iqa", "text": text, "team_id": TEAM_ID, "channel_id": "C1", "user_id": "U5",
                   "trigger_id": "1.2.3", "response_url": fake_slack.hook_url(hook)}
        assert bot.post_form(payload).status == 200
        return texts_of(fake_slack.wait_count(f"hook:{hook}", 1, timeout=15)[0])

    assert "You now follow *Moonshot*" in iqa("follow Moonshot", "a")
    assert "已取消关注 *月之暗面*" in iqa("取消关注 月之暗面", "b")
    assert "`/iqa follow <term>`" in iqa("what?", "c")
    assert bot.store.all_follows() == []


# -- alerts from real index updates -----------------------------------------------------------------

@pytest.fixture
def following(make_bot: Any, live: RetrievalSettings, fake_slack: FakeSlack) -> BotHarness:
    """The bot over ``live``; U1 follows 智谱 (by DM), channel C9 follows Zhipu, U2 follows Tencent."""
    bot: BotHarness = make_bot(retrieval=live)
    bot.post_event(message("关注 智谱", ts="1700000200.000100", channel="D1", channel_type="im"))
    bot.post_event(mention("channel follow Zhipu", ts="1700000200.000200", channel="C9"))
    bot.post_event(message("follow Tencent", ts="1700000200.000300", channel="D2", channel_type="im", user="U2"))
    fake_slack.wait_count("chat.postMessage", 3, timeout=15)
    fake_slack.reset()
    return bot


def alerts(calls: FakeSlack | list[Call]) -> dict[str, list[str]]:
    """Alert posts by where they went (a user id for a DM, or a channel). Inside ``wait_for``'s
    predicate pass its ``calls`` (the fake's lock is held there)."""
    found: dict[str, list[str]] = {}
    for call in calls.calls_to("chat.postMessage") if isinstance(calls, FakeSlack) else calls:
        if call.method == "chat.postMessage" and "thread_ts" not in call.body:
            found.setdefault(call.body["channel"], []).append(texts_of(call))
    return found


def test_an_added_article_alerts_each_follower_once(following: BotHarness, fake_slack: FakeSlack,
                                                    web: FixtureWeb, make_bot: Any) -> None:
    url = web.url("/news/zhipu-hearing-fixture")
    following.post_event(mention(f"add <{url}>", ts="1700000201.000100"))
    fake_slack.wait_for(lambda calls: len(alerts(calls)) == 2, timeout=60)
    fake_slack.settle(0.5)
    sent = alerts(fake_slack)
    assert set(sent) == {"U1", "C9"}  # U2's Tencent is not in the article
    [dm] = sent["U1"]
    assert "智谱 有 1 篇新文章" in dm  # in the language the follow was made in
    assert f"<{url}|Zhipu AI passes Hong Kong listing hearing>" in dm
    assert "> " in dm and "Zhipu" in dm.split("> ", 1)[1]  # a verbatim sentence that names it
    assert "New on Zhipu: 1 article(s)" in sent["C9"][0]
    following.stop()
    restarted = make_bot(retrieval=following.settings.retrieval)  # same state, same index
    restarted.bot.watcher.poke()
    fake_slack.settle(0.5)
    assert alerts(fake_slack) == {}  # nothing again after the restart (the fake was reset at start-up)


def test_industry_qa_add_in_another_command_alerts_the_running_bot(following: BotHarness, fake_slack: FakeSlack,
                                                                   live: RetrievalSettings) -> None:
    article = FIXTURES / "articles" / "zhipu-hearing-fixture.md"
    status = industry_qa(["add", str(article), "--corpus", str(live.corpus_dir), "--data", str(live.data_dir)])
    assert status == 0
    fake_slack.wait_for(lambda calls: len(alerts(calls)) == 2, timeout=30)  # noticed by polling CURRENT
    assert "Zhipu AI passes listing hearing in Hong Kong" in alerts(fake_slack)["U1"][0]


def test_a_feed_round_with_several_articles_is_one_message(following: BotHarness, fake_slack: FakeSlack,
                                                           web: FixtureWeb, live: RetrievalSettings) -> None:
    filler = ("Bankers said demand from long-term investors was strong, and the company's executives met "
              "fund managers in Hong Kong and Singapore during the week before the pricing. ")
    pages = [("Zhipu prices its shares", "Zhipu priced its Hong Kong shares at the top of the range on Monday. " + filler),
             ("智谱开始招股", "智谱华章周一开始在香港招股，计划募资约四十亿港元。" + filler),
             ("Tencent backs a chip start-up", "Tencent led a funding round in a chip designer on Tuesday. " + filler)]
    items = []
    for n, (title, text) in enumerate(pages):
        web.add(f"/news/burst-{n}", Page(article_html(title, ["This page is a test fixture; it is not real news.", text])))
        items.append((title, web.url(f"/news/burst-{n}"), text))
    web.add("/feed.xml", Page(rss(items), content_type="application/rss+xml"))
    feeds = replace(live, ingest=replace(live.ingest, feeds=(FeedSpec(web.url("/feed.xml"), ()),)))
    poller = FeedPoller(feeds, first_delay_s=0.0, interval_s=3600, on_round=following.bot.watcher.poke).start()
    try:
        fake_slack.wait_for(lambda calls: len(alerts(calls)) == 3, timeout=90)
    finally:
        poller.stop()
    fake_slack.settle(0.5)
    sent = alerts(fake_slack)
    assert len(sent["U1"]) == 1 and "智谱 有 2 篇新文章" in sent["U1"][0]  # both Zhipu articles, one message
    assert "Zhipu prices its shares" in sent["U1"][0] and "智谱开始招股" in sent["U1"][0]
    assert len(sent["U2"]) == 1 and "Tencent backs a chip start-up" in sent["U2"][0]


def test_a_failed_post_is_retried_and_then_sent_once(following: BotHarness, fake_slack: FakeSlack,
                                                     live: RetrievalSettings) -> None:
    from tests.bot_fakes import Scripted

    fake_slack.script("chat.postMessage", Scripted(status=500, body={"ok": False, "error": "internal_error"}))
    article = FIXTURES / "articles" / "zhipu-hearing-fixture.md"
    assert industry_qa(["add", str(article), "--corpus", str(live.corpus_dir), "--data", str(live.data_dir)]) == 0
    fake_slack.wait_for(lambda calls: len(alerts(calls)) == 2 and sum(map(len, alerts(calls).values())) >= 3,
                        timeout=30)
    fake_slack.settle(0.5)
    sent = alerts(fake_slack)
    delivered = [c for c in fake_slack.calls_to("chat.postMessage") if "thread_ts" not in c.body]
    assert len(delivered) == 3  # the failed one, then each follower once
    assert all(len(v) == (2 if k == delivered[0].body["channel"] else 1) for k, v in sent.items())
