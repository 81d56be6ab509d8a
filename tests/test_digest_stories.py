"""The digest's stories (the same event from several outlets and in both languages is one line with
all its sources) and each channel's cadence (the workspace's weekly post, or its own weekly or
daily one, posted once per period through the same claims)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from bot.config import DigestSettings, Settings
from bot.digest.cadence import ChannelDigests, next_post, plans
from bot.digest.model import NewArticle
from bot.digest.render import digest_message, digest_title
from bot.digest.schedule import Day, IsoWeek, next_run_after, slot_for_week, week_of_slot, week_window
from bot.digest.scheduler import slack_poster
from bot.digest.sources import make_digest
from bot.digest.stories import StoryInput, group_stories
from bot.render import Message, notice_message
from bot.slack_client import build_web_client
from bot.state.records import ChannelSettings
from bot.state.sqlite import SQLiteStateStore
from retrieval.glossary import load_glossary
from retrieval.index import build_index
from retrieval.settings import RetrievalSettings
from tests.bot_fakes import BOT_TOKEN, FakeSlack
from tests.retrieval_fixtures import ROOT

GLOSSARY = load_glossary(ROOT / "corpus")
# test fixtures, not real news: one event told in English twice and in Chinese, and two others
ARTICLES = {
    "zhipu-en.md": ("Zhipu AI passes listing hearing in Hong Kong", "en", "2025-12-19",
                    "Zhipu AI passed its listing hearing at the Hong Kong stock exchange on Friday. The company plans "
                    "to price its shares next week. The listing would make Zhipu one of the first large-model "
                    "developers on the Hong Kong market."),
    "zhipu-en2.md": ("Zhipu clears HKEX hearing, IPO pricing next week", "en", "2025-12-20",
                     "Beijing-based Zhipu has cleared its hearing with the Hong Kong exchange, according to a filing "
                     "on Friday. Bankers said the developer of large language models will price its shares the week after."),
    "zhipu-zh.md": ("智谱通过港交所上市聆讯", "zh", "2025-12-20",
                    "智谱华章周五通过了香港交易所的上市聆讯。公司计划下周为股票定价。此次上市将使智谱成为首批登陆港股的大模型公司之一。"),
    "moonshot-zh.md": ("月之暗面完成新一轮融资", "zh", "2025-12-18",
                       "月之暗面宣布完成新一轮融资，金额约为五亿美元。本轮融资由多家互联网公司领投。公司表示，资金将主要用于长文本模型的研发。"),
    "minimax-en.md": ("MiniMax prepares Hong Kong IPO", "en", "2025-12-17",
                      "MiniMax is preparing an initial public offering in Hong Kong. MiniMax could list its shares as "
                      "early as January 2026, people familiar with the plan said."),
}


def _item(n: int, title: str, day: str, text: str, language: str = "en") -> StoryInput:
    return StoryInput(NewArticle(n=n, title=title, url="", outlet="W", date=day, language=language, path=f"{n}.md",
                                 sentence=text.split(". ")[0]), text)


def test_one_company_in_two_languages_within_days_is_one_story_newest_first() -> None:
    items = [_item(1, "智谱通过聆讯", "2025-12-20", "智谱华章周五通过聆讯。", "zh"),
             _item(2, "Zhipu passes hearing", "2025-12-19", "Zhipu AI passed its hearing."),
             _item(3, "Moonshot raises", "2025-12-18", "Moonshot AI raised money."),
             _item(4, "Zhipu's new model", "2025-12-01", "Zhipu AI released a model.")]  # weeks apart: another story
    stories = group_stories(items, GLOSSARY)
    assert [s.refs for s in stories] == [(1, 2), (3,), (4,)]
    assert stories[0].text == "智谱华章周五通过聆讯。" and stories[0].date == "2025-12-20"
    unalike = np.eye(4, dtype=np.float32)  # vectors that disagree keep even one company's articles apart
    assert [s.refs for s in group_stories(items, GLOSSARY, unalike)] == [(1,), (2,), (3,), (4,)]


def test_the_digest_groups_an_event_told_in_two_languages(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "articles").mkdir(parents=True)
    (corpus / "glossary.yml").write_text((ROOT / "corpus" / "glossary.yml").read_text(encoding="utf-8"), encoding="utf-8")
    for name, (title, lang, day, text) in ARTICLES.items():
        (corpus / "articles" / name).write_text(
            f'---\ntitle: "{title}"\noutlet: "Fixture Wire"\npublished: "{day}T09:00:00+08:00"\nlanguage: {lang}\n'
            f'url: "https://example.com/{name[:-3]}"\n---\n{text}\n', encoding="utf-8")
    retrieval = RetrievalSettings(corpus_dir=corpus, data_dir=tmp_path / "data")
    build_index(retrieval)
    settings = DigestSettings(channels=("C",), timezone="Asia/Shanghai")
    store = SQLiteStateStore(tmp_path / "state.db")
    digest = make_digest(IsoWeek(2025, 51), settings=settings, retrieval=retrieval, log=store)
    by_n = {a.n: a.path for a in digest.articles}
    groups = [sorted(by_n[n].split("/")[-1] for n in s.refs) for s in digest.stories]
    assert sorted(groups) == [["minimax-en.md"], ["moonshot-zh.md"], ["zhipu-en.md", "zhipu-en2.md", "zhipu-zh.md"]]
    assert groups[0] == ["zhipu-en.md", "zhipu-en2.md", "zhipu-zh.md"]  # the newest development first
    text = " ".join(b["text"]["text"] for b in digest_message(digest).to_kwargs()["blocks"] if b["type"] == "section")
    assert "*This week's stories*" in text and "<https://example.com/zhipu-zh|[" in text
    store.close()


def test_a_daily_digest_covers_one_day_and_is_labelled_by_it() -> None:
    daily = DigestSettings(channels=("C",), at=time(18, 30), timezone="Europe/Berlin", cadence="daily")
    now = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)  # 21:00 in Berlin: today's 18:30 has passed
    slot = next_run_after(now, daily)
    assert slot == datetime(2026, 12, 2, 17, 30, tzinfo=UTC)
    day = week_of_slot(slot, daily)
    assert day == Day(date(2026, 12, 2)) and slot_for_week(day, daily) == slot
    start, end = week_window(day, daily)
    assert (start, end) == (slot - timedelta(days=1), slot)


def test_plans_follow_each_channels_settings() -> None:
    workspace = DigestSettings(channels=("C_NEWS", "C_OFF"), language="en")
    chosen = [ChannelSettings("T", "C_OFF", digest_cadence="off"),
              ChannelSettings("T", "C_NEWS", digest_cadence="default", digest_language="both"),
              ChannelSettings("T", "C_DAILY", digest_cadence="daily", digest_time="07:30", digest_timezone="UTC",
                              digest_language="zh")]
    found = {p.channel: p.schedule for p in plans(workspace, chosen)}
    assert set(found) == {"C_NEWS", "C_DAILY"}
    assert (found["C_NEWS"].cadence, found["C_NEWS"].language, found["C_NEWS"].weekday) == ("weekly", "both", 0)
    assert (found["C_DAILY"].cadence, found["C_DAILY"].at, found["C_DAILY"].language) == ("daily", time(7, 30), "zh")
    soonest = next_post(plans(workspace, chosen), datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    assert soonest is not None and soonest[0] == "C_DAILY" and soonest[1].hour == 7


def test_each_channel_gets_its_own_cadence_once_per_period(tmp_path: Path, fake_slack: FakeSlack) -> None:
    client = build_web_client(Settings(slack_bot_token=BOT_TOKEN, slack_api_url=fake_slack.base_url, slack_api_timeout_s=5))
    store = SQLiteStateStore(tmp_path / "state.db")
    store.save_channel_settings(ChannelSettings("T", "C_DAILY", digest_cadence="daily", digest_time="09:00",
                                                digest_timezone="UTC"))
    built: list[tuple[str, str]] = []

    def factory(schedule: DigestSettings) -> Any:
        def make(period: Any) -> Message:
            built.append((schedule.channels[0], str(period)))
            return notice_message(f"digest {period} for {schedule.channels[0]}")
        return make

    digests = ChannelDigests(workspace=DigestSettings(channels=("C_WEEKLY",), weekday=0, at=time(9, 0), timezone="UTC"),
                             store=store, post=slack_poster(client), make_message=factory)
    wednesday = datetime(2026, 12, 2, 9, 5, tzinfo=UTC)  # the daily slot was 5 minutes ago; Monday's is 2 days old
    outcomes = digests.run_pending(wednesday)
    assert [(o.channel, str(o.week), o.status) for o in outcomes] == [
        ("C_DAILY", "2026-12-01", "posted"), ("C_WEEKLY", "2026-W48", "skipped")]
    assert digests.run_pending(wednesday + timedelta(minutes=30)) == []  # once per period
    thursday = digests.run_pending(wednesday + timedelta(days=1))
    assert [(o.channel, str(o.week), o.status) for o in thursday] == [("C_DAILY", "2026-12-02", "posted")]
    assert [c.body["channel"] for c in fake_slack.calls_to("chat.postMessage")] == ["C_DAILY", "C_DAILY"]
    assert built == [("C_DAILY", "2026-12-01"), ("C_DAILY", "2026-12-02")]
    store.close()


def test_a_digest_in_both_languages_frames_it_in_both() -> None:
    from bot.digest.build import build_digest

    digest = build_digest([], [], Day(date(2026, 12, 1)), DigestSettings(channels=("C",), language="both",
                                                                         cadence="daily"))
    assert digest_title(digest) == "Daily digest, 2026-12-01 · 2026-12-01 每日摘要"
    text = str(digest_message(digest).to_kwargs()["blocks"])
    assert "No new articles today. · 今天没有新文章。" in text
