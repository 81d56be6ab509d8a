"""Feed rounds against the loopback site: new items added, conditional requests, filters, failures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from retrieval.feeds import poll_feeds
from retrieval.index import LoadedIndex, current_generation
from retrieval.settings import FeedSpec, IngestSettings, RetrievalSettings, parse_feeds
from tests.retrieval_fixtures import HashEmbeddings
from tests.web_fixtures import LOOPBACK_ALLOWED, FixtureWeb, Page, rss, serve_standard_site

RSS = "application/rss+xml; charset=utf-8"


@pytest.fixture
def web() -> Iterator[FixtureWeb]:
    for site in serve_standard_site():
        site.add("/feed.xml", Page(rss(fixture_items(site)), content_type=RSS, headers={"ETag": '"v1"'}))
        yield site


def fixture_items(site: FixtureWeb) -> list[tuple[str, str, str]]:
    return [
        ("Zhipu AI passes listing hearing", site.url("/news/zhipu-hearing-fixture"), "Large-model maker Zhipu"),
        ("月之暗面完成新一轮融资", site.url("/news/moonshot-funding-fixture"), "月之暗面 融资"),
        ("AI chip shipments report", site.url("/reports/ai-chips-fixture.pdf"), "Zhipu and others buy chips"),
        ("MiniMax files for IPO", site.url("/news/paywall-fixture"), "MiniMax IPO (Zhipu rival)"),
        ("Weather today", site.url("/news/weather"), "Sunny"),  # filtered out by the keywords
    ]


@pytest.fixture
def settings(tmp_path: Path) -> RetrievalSettings:
    (tmp_path / "corpus" / "articles").mkdir(parents=True)
    return RetrievalSettings(corpus_dir=tmp_path / "corpus", data_dir=tmp_path / "data", embeddings="test/hash-64",
                             ingest=IngestSettings(fetch_timeout_s=1.0, fetch_max_bytes=20_000,
                                                   fetch_allow_hosts=LOOPBACK_ALLOWED))


def feed(web: FixtureWeb, *keywords: str) -> tuple[FeedSpec, ...]:
    return (FeedSpec(web.url("/feed.xml"), keywords),)


def test_feed_round_adds_matching_items_then_asks_conditionally(web: FixtureWeb, settings: RetrievalSettings) -> None:
    emb = HashEmbeddings()
    first = poll_feeds(settings, feeds=feed(web, "zhipu", "融资"), embeddings=emb)
    assert first.lines[0] == f"feed {web.url('/feed.xml')}: 5 items, 4 new, 1 without any of the keywords zhipu, 融资"
    assert [o.status for o in first.ingest.outcomes] == ["failed", "added", "added", "added"]
    assert first.feed_failures == 0 and len(first.ingest.failed) == 1  # an item failed, not the feed
    assert first.ingest.outcomes[0].line().endswith("no article text found (a paywall, a login wall, or not an article page)")
    assert {o.path for o in first.ingest.added} == {"articles/2025-12-19-zhipu-hearing-fixture.md",
                                                    "articles/2025-12-18-moonshot-funding-fixture.md",
                                                    "articles/2025-12-17-ai-chips-fixture.md"}
    assert set(LoadedIndex(current_generation(settings.index_dir)).docs.content_hashes()) == {o.path for o in first.ingest.added}
    assert web.hits("/news/weather") == []  # filtered items are not fetched
    meta_feed = (settings.corpus_dir / first.ingest.added[0].path).read_text(encoding="utf-8")
    assert f"feed: {web.url('/feed.xml')}" in meta_feed

    second = poll_feeds(settings, feeds=feed(web, "zhipu", "融资"), embeddings=emb)
    assert web.hits("/feed.xml")[-1].headers["if-none-match"] == '"v1"'
    assert second.lines == [f"feed {web.url('/feed.xml')}: not modified since the last round"]
    assert second.ingest.outcomes == [] and second.feed_failures == 0


def test_changed_feed_fetches_only_unseen_items(web: FixtureWeb, settings: RetrievalSettings) -> None:
    emb = HashEmbeddings()
    poll_feeds(settings, feeds=feed(web, "zhipu"), embeddings=emb)
    fetched = {r.path for r in web.requests}
    items = [("Zhipu AI passes listing hearing", web.url("/news/zhipu-hearing-fixture"), "Zhipu"),
             ("Zhipu syndicated", web.url("/partner/zhipu-copy"), "Zhipu, republished")]
    web.add("/feed.xml", Page(rss(items), content_type=RSS, headers={"ETag": '"v2"'}))
    n_before = len(web.requests)
    round2 = poll_feeds(settings, feeds=feed(web, "zhipu"), embeddings=emb)
    later = [r.path for r in web.requests[n_before:] if r.path != "/robots.txt"]
    assert later == ["/feed.xml", "/partner/zhipu-copy"]  # the seen item is not fetched again
    assert "/partner/zhipu-copy" not in fetched
    (alias,) = round2.ingest.outcomes
    assert alias.status == "alias" and alias.path == "articles/2025-12-19-zhipu-hearing-fixture.md"


def test_malformed_feed_and_unreachable_feed_are_reported(web: FixtureWeb, settings: RetrievalSettings) -> None:
    feeds = (FeedSpec(web.url("/broken-feed.xml")), FeedSpec(web.url("/no-such-feed.xml")))
    result = poll_feeds(settings, feeds=feeds, embeddings=HashEmbeddings())
    assert result.feed_failures == 2
    assert result.lines[0].startswith(f"feed {web.url('/broken-feed.xml')}: malformed feed (")
    assert result.lines[1] == f"feed {web.url('/no-such-feed.xml')}: not found (HTTP 404)"
    assert current_generation(settings.index_dir) is None and list(settings.articles_dir.iterdir()) == []


def test_a_timed_out_item_is_retried_next_round(web: FixtureWeb, settings: RetrievalSettings) -> None:
    web.add("/feed.xml", Page(rss([("Zhipu (slow server)", web.url("/slow"), "Zhipu")]), content_type=RSS,
                              headers={"ETag": '"slow"'}))
    first = poll_feeds(settings, feeds=feed(web), embeddings=HashEmbeddings())
    assert first.ingest.outcomes[0].line() == f"failed {web.url('/slow')}: timed out after 1 s"
    state = json.loads((settings.data_dir / "feeds.json").read_text())[web.url("/feed.xml")]
    assert state == {"etag": "", "last_modified": "", "seen": []}  # neither the item nor the feed version is settled
    web.pages["/slow"].delay_s = 0
    second = poll_feeds(settings, feeds=feed(web), embeddings=HashEmbeddings())
    assert [o.status for o in second.ingest.outcomes] == ["added"]
    assert json.loads((settings.data_dir / "feeds.json").read_text())[web.url("/feed.xml")]["etag"] == '"slow"'


def test_feeds_setting_format() -> None:
    assert parse_feeds("https://a.example/rss | Zhipu, large model ;\nhttps://b.example/atom") == (
        FeedSpec("https://a.example/rss", ("Zhipu", "large model")), FeedSpec("https://b.example/atom"))
    assert parse_feeds("") == ()


def test_cli_feeds_poll(web: FixtureWeb, settings: RetrievalSettings, capsys: pytest.CaptureFixture[str],
                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDS", f"{web.url('/feed.xml')} | 融资")
    monkeypatch.setenv("FETCH_TIMEOUT_S", "1")
    monkeypatch.setenv("FETCH_ALLOW_HOSTS", ",".join(LOOPBACK_ALLOWED))
    status = main(["feeds", "poll", "--corpus", str(settings.corpus_dir), "--data", str(settings.data_dir)])
    out = capsys.readouterr().out
    assert status == 0
    assert "added articles/2025-12-18-moonshot-funding-fixture.md: 月之暗面完成新一轮融资 (2025-12-18)" in out
    assert "feed round: 1 added, 0 failed, 0 skipped" in out


def test_last_modified_is_sent_back_when_there_is_no_etag(web: FixtureWeb, settings: RetrievalSettings) -> None:
    stamp = "Sat, 20 Dec 2025 09:00:00 GMT"
    items = [("月之暗面完成新一轮融资", web.url("/news/moonshot-funding-fixture"), "融资")]
    web.add("/feed.xml", Page(rss(items), content_type=RSS, headers={"Last-Modified": stamp}))
    first = poll_feeds(settings, feeds=feed(web), embeddings=HashEmbeddings())
    assert [o.status for o in first.ingest.outcomes] == ["added"]
    second = poll_feeds(settings, feeds=feed(web), embeddings=HashEmbeddings())
    assert web.hits("/feed.xml")[-1].headers["if-modified-since"] == stamp
    assert second.lines == [f"feed {web.url('/feed.xml')}: not modified since the last round"]


def test_feed_settings_errors_are_named_together() -> None:
    with pytest.raises(ValueError) as err:
        RetrievalSettings.from_env({"FEEDS": "ftp://a.example/rss; https://b.example/rss", "FEED_POLL_MINUTES": "0",
                                    "FETCH_TIMEOUT_S": "soon", "FETCH_MAX_BYTES": "10"})
    message = str(err.value)
    for part in ("FEEDS entry 'ftp://a.example/rss' is not an http(s) URL", "FEED_POLL_MINUTES must be >= 1",
                 "FETCH_TIMEOUT_S must be a number", "FETCH_MAX_BYTES must be >= 10000"):
        assert part in message
