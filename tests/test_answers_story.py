"""End to end over a dated, evolving story in two languages (tests/fixtures/story: fictional
companies, six articles from November to January): what a Slack user asking short questions gets.

The real embedding model, index and answer model; nothing is mocked. Each test reads the answer
the way the asker would: the outcome, the lead excerpt, the dates."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from bot.texts import answer_text
from retrieval.corpus import load_article
from retrieval.index import build_index
from retrieval.service import QAService
from retrieval.settings import RetrievalSettings
from retrieval.types import Answer

STORY = Path(__file__).resolve().parent / "fixtures" / "story"


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> QAService:
    root = tmp_path_factory.mktemp("story")
    shutil.copytree(STORY, root / "corpus")
    settings = RetrievalSettings(corpus_dir=root / "corpus", data_dir=root / "data")
    build_index(settings)
    return QAService(settings)


def lead(answer: Answer) -> str:
    return answer.citations[0].excerpt


def everything(answer: Answer) -> str:
    return answer_text(answer) + "\n" + "\n".join(c.excerpt for c in answer.citations)


def test_an_english_question_is_answered_from_the_english_article(story: QAService) -> None:
    ans = story.ask("Lumora IPO price?")
    assert ans.outcome == "answered"
    assert "HK$42.50" in lead(ans)
    assert answer_text(ans).startswith("According to Test Harbour Wire (fiction), 2 Dec 2025: ")


def test_a_chinese_question_finds_the_english_answer(story: QAService) -> None:
    ans = story.ask("灵眸智能募资多少？")
    assert ans.outcome == "answered"
    assert "HK$1.2 billion" in everything(ans)
    assert answer_text(ans).startswith("据Test Harbour Wire (fiction), 2025年12月2日：")


def test_an_english_question_finds_the_chinese_answer(story: QAService) -> None:
    ans = story.ask("How did Lumora do on day one?")
    assert ans.outcome == "answered"
    assert "58%" in lead(ans)


def test_how_a_story_stands_is_answered_from_the_newest_article_with_earlier_reports_after(
        story: QAService) -> None:
    ans = story.ask("is lumora still above its IPO price?")
    assert ans.outcome == "answered"
    assert "40.10" in lead(ans)
    assert ans.as_of.startswith("2026-01-15")
    assert answer_text(ans).startswith("As of 15 Jan 2026, according to 测试财经（虚构）: ")
    earlier = [c for c in ans.citations if c.role == "earlier"]
    assert earlier and all(c.published < ans.as_of for c in earlier)
    assert [c.published for c in earlier] == sorted(c.published for c in earlier)


@pytest.mark.parametrize("question", ["When did Lumora list?", "灵眸智能什么时候上市的"])
def test_when_a_company_listed_is_answered_by_the_day_it_began_trading(story: QAService, question: str) -> None:
    # the filing ("could list as early as December"), the hearing and the pricing each mention the
    # listing beside a date of their own; the debut's article says the day it listed
    ans = story.ask(question)
    assert ans.outcome == "answered"
    assert "12月5日" in lead(ans) and ans.citations[0].published.startswith("2025-12-05")


def test_a_question_asked_on_an_earlier_day_does_not_see_later_news(story: QAService) -> None:
    ans = story.ask("has Lumora listed yet?", asked_on=date(2025, 11, 25))
    assert all(c.published[:10] <= "2025-11-26" for c in ans.citations)
    assert "40.10" not in everything(ans) and "58%" not in everything(ans)


def test_a_follow_up_in_a_thread_keeps_the_company(story: QAService) -> None:
    ans = story.ask("and how much did it raise?", history=["When did Lumora price its IPO?"])
    assert ans.outcome == "answered"
    assert "HK$1.2 billion" in everything(ans)


def test_another_companys_figures_never_answer(story: QAService) -> None:
    ans = story.ask("What was Quanta Labs' IPO price?")
    assert ans.outcome != "answered"
    assert "42.50" not in answer_text(ans)


def test_a_company_the_corpus_never_mentions_is_not_answered(story: QAService) -> None:
    ans = story.ask("What was Orbital Dynamics' first-day gain?")
    assert ans.outcome != "answered"


@pytest.mark.parametrize("question", ["What's the weather in Shenzhen tomorrow?", "红烧肉怎么做？"])
def test_off_topic_questions_are_refused_and_cite_nothing(story: QAService, question: str) -> None:
    ans = story.ask(question)
    assert ans.outcome == "refused" and ans.refused and not ans.citations


def test_every_excerpt_is_a_verbatim_span_without_the_articles_own_marks(story: QAService) -> None:
    for q in ("Lumora IPO price?", "灵眸智能首日表现", "is lumora still above its IPO price?", "Quanta valuation"):
        for c in story.ask(q).citations:
            text = load_article(story.settings.corpus_dir / c.path).text
            assert text[c.start:c.end] == c.excerpt
            assert not c.excerpt.rstrip().endswith("]")


def test_closest_answers_say_they_are_not_a_direct_answer(story: QAService) -> None:
    ans = story.ask("What was Quanta Labs' IPO price?")  # Quanta is in the corpus; its IPO price is not
    assert ans.outcome == "closest"
    assert answer_text(ans).startswith("The corpus does not answer this directly.")
    assert all(c.role == "related" for c in ans.citations)
    assert ans.to_dict(answer_text(ans))["refused"] is False


def test_a_company_the_glossary_does_not_know_is_not_answered_with_anothers_price(story: QAService) -> None:
    ans = story.ask("What is Quanta's IPO price?")  # Quanta has no plans to list; the prices are Lumora's
    assert ans.outcome != "answered"
    assert "42.50" not in everything(ans)  # Lumora's price is not shown as if it were Quanta's


def test_a_company_the_glossary_does_not_know_is_answered_from_its_own_news(story: QAService) -> None:
    """Quanta is in no glossary: the answer is the sentence that names it, and every excerpt (or the
    sentence before it, or its title) names Quanta, never a Lumora sentence beside it."""
    ans = story.ask("is Quanta listing too?")
    assert ans.outcome == "answered", ans.scores
    assert "no plans to go public" in lead(ans)
    for c in ans.citations:
        assert "Quanta" in c.excerpt or "Quanta" in c.title, c.excerpt


def test_a_question_the_corpus_comes_close_to_gets_the_closest_not_a_refusal(story: QAService) -> None:
    """No article says who listed "first", and the question names no company: the listing news is
    the closest the corpus comes, shown as such."""
    ans = story.ask("who listed first?")
    assert ans.outcome == "closest", ans.scores
    assert ans.citations and all(c.role == "related" for c in ans.citations)


def test_a_comparison_is_answered_one_company_at_a_time(story: QAService) -> None:
    """No sentence holds both prices: each company's own sentence answers for it, both quoted in the
    answer's line, in the order the question names them, each from its own article."""
    ans = story.ask("Lumora vs Vireo IPO price")
    assert ans.outcome == "answered", ans.scores
    leads = [c for c in ans.citations if c.role == "answer"]
    assert [c.n for c in leads] == [1, 2]
    assert "HK$42.50" in leads[0].excerpt and "Lumora" in leads[0].excerpt
    assert "HK$18.80" in leads[1].excerpt and "Vireo" in leads[1].excerpt
    first, second = answer_text(ans).splitlines()[:2]
    assert first == f"According to Test Harbour Wire (fiction), 2 Dec 2025: {leads[0].excerpt} [1]"
    assert second.startswith(f"According to Test Tech Ledger (fiction), 10 Dec 2025: {leads[1].excerpt} [2]")
    assert not ans.differs  # another company's price is not "a different figure"


def test_a_chinese_comparison_finds_each_companys_first_day(story: QAService) -> None:
    ans = story.ask("灵眸和维瑞首日谁涨得多？")
    assert ans.outcome == "answered", ans.scores
    text = answer_text(ans)
    assert "58%" in text and "12%" in text


def test_a_comparison_with_one_fact_missing_is_not_answered(story: QAService) -> None:
    """Quanta has no IPO: the comparison is the closest the corpus comes, and Lumora's price is not
    presented as an answer for both."""
    ans = story.ask("Lumora vs Quanta Labs IPO price")
    assert ans.outcome == "closest", ans.scores
    assert all(c.role == "related" for c in ans.citations)


RACE = {
    "2025-11-01-race.md": """---
title: "Lumora AI and Vireo Robotics race to be first to list"
outlet: "Test Harbour Wire (fiction)"
published: "2025-11-01T09:00:00+08:00"
language: en
url: ""
---
Lumora AI and Vireo Robotics are racing to become the first vision-AI company to list in Hong Kong, and Lumora could list as early as December, bankers said.

Both companies are preparing to file their prospectuses this month.
""",
    "2025-11-02-race-zh.md": """---
title: "视觉AI第一股之争：灵眸智能、维瑞机器人竞相赴港上市"
outlet: "测试财经（虚构）"
published: "2025-11-02T09:00:00+08:00"
language: zh
url: ""
---
测试财经讯 谁将成为第一个上市的视觉AI公司？灵眸智能与维瑞机器人正竞相赴港上市，争夺“视觉AI第一股”。

两家公司均计划于年内完成上市。
""",
    "2025-12-05-first.md": """---
title: "灵眸智能港股挂牌"
outlet: "测试财经（虚构）"
published: "2025-12-05T17:30:00+08:00"
language: zh
url: ""
---
测试财经讯 12月5日，灵眸智能在港交所主板挂牌，成为首家在港上市的视觉AI公司。

该股首日收报67.15港元。
""",
}


@pytest.fixture(scope="module")
def race(tmp_path_factory: pytest.TempPathFactory) -> QAService:
    root = tmp_path_factory.mktemp("race")
    (root / "corpus" / "articles").mkdir(parents=True)
    shutil.copy(STORY / "glossary.yml", root / "corpus" / "glossary.yml")
    for name, text in RACE.items():
        (root / "corpus" / "articles" / name).write_text(text, encoding="utf-8")
    settings = RetrievalSettings(corpus_dir=root / "corpus", data_dir=root / "data")
    build_index(settings)
    return QAService(settings)


@pytest.mark.parametrize("question", ["谁是视觉AI第一股？", "谁第一个上市？", "who was first to list?"])
def test_who_is_first_is_answered_by_who_was_not_by_the_race(race: QAService, question: str) -> None:
    """The race ("racing to become the first ... could list as early as December") is about being
    first, but the sentence saying who became first answers."""
    ans = race.ask(question)
    assert ans.outcome == "answered", ans.scores
    assert "成为首家" in lead(ans), lead(ans)


@pytest.mark.parametrize("question", ["What's new this week?", "这周有什么新进展？", "any news?"])
def test_whats_new_is_answered_from_the_newest_articles(story: QAService, question: str) -> None:
    """No company, no fact: the newest articles' opening sentences, newest first, as of the newest."""
    ans = story.ask(question)
    assert ans.outcome == "answered"
    assert ans.as_of.startswith("2026-01-15") and "40.10" in lead(ans)
    assert [c.role for c in ans.citations] == ["answer", "earlier", "earlier", "earlier"]
    days = [c.published for c in ans.citations]
    assert days == sorted(days, reverse=True) and len(set(c.path for c in ans.citations)) == 4


def test_whats_new_with_a_company_is_its_newest_news(story: QAService) -> None:
    ans = story.ask("What's new with Vireo?")
    assert ans.outcome == "answered"
    assert ans.as_of.startswith("2025-12-12") and "维瑞机器人" in lead(ans)
    assert all("Vireo" in c.excerpt or "维瑞" in c.excerpt for c in ans.citations)
    # asked on an earlier day, the news of that day
    early = story.ask("灵眸智能有什么新消息？", asked_on=date(2025, 11, 25))
    assert early.as_of.startswith("2025-11-20") and "灵眸智能" in lead(early)


def test_whats_new_reads_only_the_newest_articles_of_a_large_corpus(story: QAService,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import retrieval.excerpts as excerpts

    monkeypatch.setattr(excerpts, "NEWS_SCAN", 3)
    ans = story.ask("What's new this week?")
    assert [c.published[:10] for c in ans.citations] == ["2026-01-15", "2025-12-12", "2025-12-10"]
    # Quanta's only article is not among the three newest: the ordinary search answers, from its news
    quanta = story.ask("What's new with Quanta Labs?")
    assert quanta.outcome == "answered" and "Quanta" in lead(quanta)
