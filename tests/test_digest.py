"""The digest as data and as Block Kit: dates, weeks, selection, key points, questions, limits."""

from __future__ import annotations

import os
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from bot.config import DigestSettings, parse_digest_settings
from bot.digest.build import build_digest
from bot.digest.model import ArticleVectors, DatedArticle, LoggedQuestion
from bot.digest.render import digest_message, digest_plain_text
from bot.digest.schedule import IsoWeek, slot_for_week, week_of_slot, week_window
from bot.digest.sources import date_article, index_vectors, parse_timestamp
from bot.render import FALLBACK_TEXT_LIMIT, MAX_BLOCKS, MESSAGE_TEXT_BUDGET, SECTION_TEXT_LIMIT
from retrieval.corpus import Article, load_article
from retrieval.text import detect_language

SHANGHAI = ZoneInfo("Asia/Shanghai")
SETTINGS = DigestSettings(channels=("#industry-news",))
W48 = IsoWeek(2026, 48)  # Monday 09:00 schedule: window Mon 23 Nov 09:00 - Mon 30 Nov 09:00, Shanghai
IN_W48 = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)

EN_1 = ("Zhipu AI passed its listing hearing at the Hong Kong stock exchange on Friday. "
        "The company plans to price its shares next week. Analysts expect the offering to raise about "
        "4 billion Hong Kong dollars.")
EN_2 = ("MiniMax is preparing an initial public offering in Hong Kong. MiniMax could list its shares as early "
        "as January 2026, people familiar with the plan said. It aims to raise several hundred million dollars.")
ZH_1 = "月之暗面宣布完成新一轮融资，金额约为五亿美元。本轮融资由多家互联网公司领投。公司表示，资金将主要用于长文本模型的研发。"


def article(path: str, text: str, *, title: str = "", language: str = "en", url: str = "", published: str = "") -> Article:
    return Article(path=path, title=title or path, outlet="Test Wire", published=published, language=language,
                   url=url, text=text)


def dated(a: Article, when: datetime) -> DatedArticle:
    return DatedArticle(article=a, added_at=when, published_at=when)


def q(text: str, when: datetime = IN_W48, *, answered: bool = True) -> LoggedQuestion:
    return LoggedQuestion(question=text, asked_at=when, answered=answered)


def texts_of(message_kwargs: dict[str, object]) -> str:
    return repr(message_kwargs["blocks"])


@pytest.mark.parametrize(("raw", "expected"), [
    ("2025-12-11T13:45:00+08:00", datetime(2025, 12, 11, 5, 45, tzinfo=UTC)),
    ("2026-11-25T20:31:00Z", datetime(2026, 11, 25, 20, 31, tzinfo=UTC)),
    ("2025-12-11", datetime(2025, 12, 10, 16, 0, tzinfo=UTC)),  # a bare date is local midnight
    ("2025-12-11 13:45", datetime(2025, 12, 11, 5, 45, tzinfo=UTC)),
    ("Tue, 24 Nov 2026 10:00:00 +0000", datetime(2026, 11, 24, 10, 0, tzinfo=UTC)),
    ("2025年12月11日", datetime(2025, 12, 10, 16, 0, tzinfo=UTC)),
    ("2025/12/11", datetime(2025, 12, 10, 16, 0, tzinfo=UTC)),
    ("", None), ("   ", None), ("last Tuesday", None), ("2025-13-45", None),
])
def test_parse_timestamp(raw: str, expected: datetime | None) -> None:
    parsed = parse_timestamp(raw, SHANGHAI)
    assert (parsed.astimezone(UTC) if parsed else None) == expected


def test_iso_week_parsing_and_errors() -> None:
    assert IsoWeek.parse("2026-W48") == IsoWeek.parse("2026w48") == W48 and str(W48) == "2026-W48"
    with pytest.raises(ValueError, match="2026-W48"):
        IsoWeek.parse("last week")
    with pytest.raises(ValueError, match="no ISO week 54"):
        IsoWeek.parse("2026-W54")


def test_settings_parsing_names_every_bad_value() -> None:
    errors: list[str] = []
    s = parse_digest_settings(channels=" #a, C123 ,", day="Friday", at="17:30", timezone="Europe/Berlin", language="zh",
                              errors=errors)
    assert errors == [] and s.channels == ("#a", "C123") and s.weekday == 4 and s.at == time(17, 30) and s.language == "zh"
    parse_digest_settings(channels="", day="someday", at="25:00", timezone="Mars/Base", language="fr", errors=errors)
    assert [e.split()[0] for e in errors] == ["DIGEST_DAY", "DIGEST_TIME", "DIGEST_TIMEZONE", "DIGEST_LANGUAGE"]


@pytest.mark.parametrize("weekday", range(7))
def test_every_week_has_exactly_one_slot_and_windows_tile(weekday: int) -> None:
    s = DigestSettings(weekday=weekday, at=time(9, 0), timezone="Europe/Berlin")
    previous_end = None
    for n in range(1, 53):
        week = IsoWeek(2026, n)
        assert week_of_slot(slot_for_week(week, s), s) == week
        start, end = week_window(week, s)
        assert previous_end is None or start == previous_end  # no gap, no overlap, across both DST changes
        previous_end = end


def test_week_with_chinese_and_english_articles() -> None:
    articles = [
        dated(article("en1.md", EN_1, url="https://example.com/zhipu"), IN_W48),
        dated(article("zh1.md", ZH_1, title="月之暗面完成新一轮融资", language="zh"), IN_W48 + timedelta(days=1)),
        dated(article("en2.md", EN_2), IN_W48 - timedelta(days=1)),
        dated(article("old.md", "An older story about something else entirely, from last month."), IN_W48 - timedelta(days=30)),
    ]
    digest = build_digest(articles, [], W48, SETTINGS)
    assert [a.path for a in digest.articles] == ["zh1.md", "en1.md", "en2.md"]  # newest first, old one out
    assert [a.n for a in digest.articles] == [1, 2, 3]
    by_path = {a.path: a for a in digest.articles}
    assert by_path["zh1.md"].sentence in ZH_1 and detect_language(by_path["zh1.md"].sentence) == "zh"
    assert by_path["en1.md"].sentence in EN_1 and by_path["en2.md"].sentence in EN_2
    assert 3 <= len(digest.key_points) <= 5 and digest.method == "tfidf"
    sources = {1: ZH_1, 2: EN_1, 3: EN_2}
    for point in digest.key_points:
        assert point.text in sources[point.refs[0]]  # verbatim, from the article it cites
    assert {p.refs[0] for p in digest.key_points} == {1, 2, 3}  # drawn across the articles
    zh = build_digest(articles, [], W48, DigestSettings(language="zh"))
    kwargs = digest_message(zh).to_kwargs()
    assert "2026年第48周" in texts_of(kwargs) and "本周新增" in texts_of(kwargs)
    assert by_path["zh1.md"].sentence in texts_of(kwargs)  # Chinese quoted in Chinese, English framing aside
    assert "<https://example.com/zhipu|[2]>" in texts_of(digest_message(digest).to_kwargs())  # clickable citation


def test_empty_week_still_posts_with_the_questions() -> None:
    old = [dated(article("old.md", EN_1), IN_W48 - timedelta(days=10))]
    questions = [q("Who lists first?"), q("who lists first"), q("What did Kimi raise?", answered=False)]
    digest = build_digest(old, questions, W48, SETTINGS)
    assert digest.articles == () and digest.key_points == () and digest.method == "none"
    assert digest.n_questions == 3
    message = digest_message(digest)
    text = texts_of(message.to_kwargs())
    assert "Week 48, 2026" in text and "No new articles this week." in text
    assert "Who lists first?" in text and "What did Kimi raise?" in text
    assert "No new articles this week." in digest_plain_text(digest)


def test_questions_grouped_counted_and_unanswered_by_latest_ask() -> None:
    t0 = IN_W48
    questions = [
        q("Who lists first?", t0), q("who  lists first", t0 + timedelta(hours=1)), q("WHO LISTS FIRST？", t0 + timedelta(hours=2)),
        q("What did Kimi raise?", t0, answered=False), q("what did kimi raise", t0 + timedelta(hours=3), answered=False),
        q("Is there news on Baichuan?", t0, answered=False), q("Is there news on Baichuan?", t0 + timedelta(hours=4)),
        q("Outside the week?", t0 - timedelta(days=9), answered=False),
    ]
    digest = build_digest([], questions, W48, SETTINGS)
    assert digest.n_questions == 7
    assert [(x.text, x.count) for x in digest.top_questions] == [
        ("Who lists first?", 3), ("What did Kimi raise?", 2), ("Is there news on Baichuan?", 2)]
    assert [(x.text, x.count) for x in digest.unanswered] == [("What did Kimi raise?", 2)]  # Baichuan was answered later


def test_near_duplicates_across_languages_are_merged_with_both_citations() -> None:
    """With index vectors, the same news in Chinese and English becomes one point citing both."""
    rng = np.random.default_rng(0)
    en = article("en.md", "Moonshot raised 500 million dollars in a new round. The weather was pleasant in Beijing today.")
    zh = article("zh.md", ZH_1, language="zh")
    other = article("o.md", "A chip maker opened a new plant in Malaysia. Its output starts next year, the company said.")
    topic, noise = rng.normal(size=32), rng.normal(size=(8, 32))

    def vecs(a: Article, rows: list[np.ndarray]) -> ArticleVectors:
        from bot.digest.build import quotable_spans

        spans = quotable_spans(a.text)
        assert len(spans) == len(rows)
        return ArticleVectors(content_hash=a.content_hash, spans=tuple(spans), vectors=np.vstack(rows))

    vectors = {
        "en.md": vecs(en, [topic + 0.01 * noise[0], noise[1]]),
        "zh.md": vecs(zh, [topic + 0.01 * noise[2], noise[3], noise[4]]),
        "o.md": vecs(other, [noise[5], noise[5] + 0.5 * noise[6]]),
    }
    arts = [dated(en, IN_W48), dated(zh, IN_W48 - timedelta(hours=1)), dated(other, IN_W48 - timedelta(hours=2))]
    digest = build_digest(arts, [], W48, SETTINGS, vectors=vectors)
    assert digest.method == "vectors"
    merged = [p for p in digest.key_points if len(p.refs) > 1]
    assert len(merged) == 1 and merged[0].refs == (1, 2)
    texts = [p.text for p in digest.key_points]
    assert sum(t.startswith("Moonshot raised") or t.startswith("月之暗面宣布") for t in texts) == 1  # not twice
    stale = {**vectors, "en.md": ArticleVectors("old-hash", vectors["en.md"].spans, vectors["en.md"].vectors)}
    assert build_digest(arts, [], W48, SETTINGS, vectors=stale).method == "tfidf"  # changed article: lexical


def test_two_hundred_articles_fit_every_slack_limit() -> None:
    long_sentence = "The company said its new model beats rivals on long documents & <tables> by a wide margin. " * 6
    arts = [dated(article(f"a{i:03}.md", f"{long_sentence}\n\nItem {i} closed a funding round worth {i} million dollars.",
                          title=f"Story number {i} " + "x" * 150, url=f"https://example.com/{i}"), IN_W48 - timedelta(minutes=i))
            for i in range(200)]
    questions = [q(f"Question {i % 40} about the market " + "y" * 300, answered=i % 3 != 0) for i in range(1000)]
    digest = build_digest(arts, questions, W48, SETTINGS)
    message = digest_message(digest, note="Preview, visible only to you.")
    kwargs = message.to_kwargs()  # slack_sdk validates per-block limits here
    blocks = kwargs["blocks"]
    assert isinstance(blocks, list) and len(blocks) <= MAX_BLOCKS
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert all(len(s) <= SECTION_TEXT_LIMIT for s in sections)
    assert sum(map(len, sections)) <= MESSAGE_TEXT_BUDGET
    assert len(message.text) <= FALLBACK_TEXT_LIMIT
    assert "more new articles not shown" in repr(blocks)
    assert "&lt;tables&gt;" in repr(blocks) and "<tables>" not in repr(blocks)


def test_fetched_at_then_published_then_mtime(tmp_path: Path) -> None:
    body = "Some text that is long enough to be an article body for this test."
    fetched = tmp_path / "fetched.md"
    fetched.write_text(f"---\ntitle: T\npublished: '2026-01-02'\nfetched_at: '2026-11-25T02:00:00Z'\n---\n{body}\n")
    a = load_article(fetched)
    assert a.fetched_at == "2026-11-25T02:00:00Z"
    d = date_article(a, file=fetched, tz=SHANGHAI)
    assert d.added_at == datetime(2026, 11, 25, 2, tzinfo=UTC) and d.published_at is not None
    plain = tmp_path / "plain.md"
    plain.write_text(body)
    os.utime(plain, (1_764_000_000, 1_764_000_000))
    assert load_article(plain).fetched_at == ""
    d = date_article(article("plain.md", body, published="not a date"), file=plain, tz=SHANGHAI)
    assert d.added_at == datetime.fromtimestamp(1_764_000_000, tz=UTC) and d.published_at is None
    d = date_article(article("p.md", body, published="2026-11-24"), file=plain, tz=SHANGHAI)
    assert d.added_at == datetime(2026, 11, 24, tzinfo=SHANGHAI)


def test_vectors_from_a_real_index(tiny_retrieval: object) -> None:
    """The tiny bot corpus (an English and a Chinese article in 2025-W51) ranked with its own index."""
    from retrieval.corpus import load_corpus
    from retrieval.index import require_generation
    from retrieval.search import LoadedIndex

    settings = tiny_retrieval
    index = LoadedIndex(require_generation(settings))  # type: ignore[arg-type]
    articles, _ = load_corpus(settings.corpus_dir)  # type: ignore[attr-defined]
    dates = [date_article(a, file=settings.corpus_dir / a.path, tz=SHANGHAI) for a in articles]  # type: ignore[attr-defined]
    vectors = index_vectors(index, [a.path for a in articles])
    digest = build_digest(dates, [], IsoWeek(2025, 51), SETTINGS, vectors=vectors)
    assert digest.method == "vectors"
    assert sorted(a.path for a in digest.articles) == ["articles/moonshot-funding.md", "articles/zhipu-hearing.md"]
    texts = {a.path: a.text for a in articles}
    for item in digest.articles:
        assert item.sentence and item.sentence in texts[item.path]
    assert digest.key_points and all(p.text in texts[digest.articles[p.refs[0] - 1].path] for p in digest.key_points)


def test_benchmark_script_runs_and_prints_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.bench_digest import main as bench

    assert bench(["--articles", "8", "--questions", "50", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "| build_digest, index sentence vectors |" in out and "Machine:" in out
