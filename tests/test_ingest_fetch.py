"""Fetching and extraction against the loopback fixture site: every failure is one clear line."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from retrieval.extract import ExtractError, extract
from retrieval.fetch import Fetcher, FetchError
from retrieval.settings import IngestSettings
from tests.web_fixtures import (
    LOOPBACK_ALLOWED,
    FixtureWeb,
    Page,
    TrickleServer,
    article_html,
    serve_standard_site,
    serve_trickle,
)

LIMITS = IngestSettings(fetch_timeout_s=1.0, fetch_max_bytes=20_000, user_agent="industry-qa-test/1.0 (fixture)",
                        fetch_allow_hosts=LOOPBACK_ALLOWED)


@pytest.fixture
def web() -> Iterator[FixtureWeb]:
    yield from serve_standard_site()


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(LIMITS) as f:
        yield f


def test_english_page_text_and_metadata(web: FixtureWeb, fetcher: Fetcher) -> None:
    got = extract(fetcher.get(web.url("/news/zhipu-hearing-fixture")))
    assert got.title == "Zhipu AI passes Hong Kong listing hearing"
    assert (got.outlet, got.author, got.published, got.language) == ("Fixture Wire", "Jane Fixture", "2025-12-19", "en")
    assert got.canonical_url == web.url("/news/zhipu-hearing-fixture")
    assert "4.3 billion Hong Kong dollars" in got.text
    for chrome in ("Most read", "Subscribe to our newsletter", "Copyright", "Markets"):
        assert chrome not in got.text  # navigation, header, aside and footer are not article text
    assert web.requests[0].path == "/robots.txt"  # asked first, with our User-Agent
    assert {r.headers["user-agent"] for r in web.requests} == {LIMITS.user_agent}


def test_chinese_page(web: FixtureWeb, fetcher: Fetcher) -> None:
    got = extract(fetcher.get(web.url("/news/moonshot-funding-fixture")))
    assert (got.title, got.outlet, got.published, got.language) == ("月之暗面完成新一轮融资", "样例财经", "2025-12-18", "zh")
    assert "金额约为五亿美元" in got.text and "版权所有" not in got.text


def test_pdf_link(web: FixtureWeb, fetcher: Fetcher) -> None:
    got = extract(fetcher.get(web.url("/reports/ai-chips-fixture.pdf")))
    assert (got.title, got.author, got.published) == ("AI chip shipments 2025 (fixture)", "Fixture Research", "2025-12-17")
    assert "shipments grew 40 percent in 2025" in got.text


def test_redirect_is_followed_and_final_url_kept(web: FixtureWeb, fetcher: Fetcher) -> None:
    got = fetcher.get(web.url("/old/zhipu"))
    assert got.url == web.url("/old/zhipu") and got.final_url == web.url("/news/zhipu-hearing-fixture")


@pytest.mark.parametrize(("path", "reason", "transient"), [
    ("/missing", "not found (HTTP 404)", False),
    ("/gone", "gone (HTTP 410)", False),
    ("/big", "larger than the FETCH_MAX_BYTES limit (20,000 bytes)", False),  # Content-Length says so
    ("/big-streamed", "larger than the FETCH_MAX_BYTES limit (20,000 bytes)", False),  # counted while streaming
    ("/private/memo", "robots.txt of 127.0.0.1:{port} disallows fetching /private/memo", False),
    ("/loop", "more than 5 redirects", False),
])
def test_fetch_failures_are_one_line(web: FixtureWeb, fetcher: Fetcher, path: str, reason: str, transient: bool) -> None:
    with pytest.raises(FetchError) as err:
        fetcher.get(web.url(path))
    assert str(err.value) == reason.format(port=web.server.server_address[1])
    assert err.value.transient is transient and "\n" not in str(err.value)


def test_slow_page_times_out(web: FixtureWeb, fetcher: Fetcher) -> None:
    t0 = time.monotonic()
    with pytest.raises(FetchError, match=r"^timed out after 1 s$") as err:
        fetcher.get(web.url("/slow"))
    assert err.value.transient and time.monotonic() - t0 < 2.5


def test_robots_txt_is_fetched_once_per_host(web: FixtureWeb, fetcher: Fetcher) -> None:
    fetcher.get(web.url("/news/zhipu-hearing-fixture"))
    fetcher.get(web.url("/news/moonshot-funding-fixture"))
    assert len(web.hits("/robots.txt")) == 1


@pytest.mark.parametrize(("path", "reason"), [
    ("/logo.png", "not an article page (content type image/png)"),
    ("/news/paywall-fixture", "no article text found (a paywall, a login wall, or not an article page)"),
])
def test_not_an_article(web: FixtureWeb, fetcher: Fetcher, path: str, reason: str) -> None:
    with pytest.raises(ExtractError) as err:
        extract(fetcher.get(web.url(path)))
    assert str(err.value) == reason


def test_unreachable_host_and_bad_scheme(fetcher: Fetcher) -> None:
    with pytest.raises(FetchError, match=r"^could not connect to 127\.0\.0\.1:9 ") as err:
        fetcher.get("http://127.0.0.1:9/news")
    assert err.value.transient
    with pytest.raises(FetchError, match="not an http"):
        fetcher.get("file:///etc/passwd")


def test_unreadable_robots_txt_means_not_fetched(web: FixtureWeb, fetcher: Fetcher) -> None:
    web.add("/robots.txt", Page(b"busy", content_type="text/plain", status=503))
    with pytest.raises(FetchError, match=r"^robots\.txt of 127\.0\.0\.1:\d+ could not be read, so the site is not fetched$"):
        fetcher.get(web.url("/news/zhipu-hearing-fixture"))
    assert web.hits("/news/zhipu-hearing-fixture") == []


def test_missing_robots_txt_allows_everything(web: FixtureWeb, fetcher: Fetcher) -> None:
    del web.pages["/robots.txt"]  # 404
    assert fetcher.get(web.url("/private/memo")).status == 200


@pytest.fixture
def trickle() -> Iterator[TrickleServer]:
    yield from serve_trickle()


def test_a_trickled_status_line_is_cut_at_the_deadline(trickle: TrickleServer, fetcher: Fetcher) -> None:
    t0 = time.monotonic()
    with pytest.raises(FetchError, match=r"^timed out after 1 s$") as err:
        fetcher.get(trickle.url + "/news/slow-headers")
    assert err.value.transient and time.monotonic() - t0 < 2.0  # FETCH_TIMEOUT_S is 1 s: the whole fetch


def test_robots_txt_behind_a_redirect_is_followed(web: FixtureWeb, fetcher: Fetcher) -> None:
    web.add("/robots.txt", Page(b"", status=301, headers={"Location": "/meta/robots-v2.txt"}))
    web.add("/meta/robots-v2.txt", Page(b"User-agent: *\nDisallow: /news/\n", content_type="text/plain"))
    with pytest.raises(FetchError, match=r"disallows fetching /news/zhipu-hearing-fixture$"):
        fetcher.get(web.url("/news/zhipu-hearing-fixture"))
    assert web.hits("/news/zhipu-hearing-fixture") == []


def test_robots_txt_redirecting_to_an_internal_address_is_refused(web: FixtureWeb, fetcher: Fetcher) -> None:
    web.add("/robots.txt", Page(b"", status=302, headers={"Location": "http://169.254.169.254/robots.txt"}))
    with pytest.raises(FetchError) as err:
        fetcher.get(web.url("/news/zhipu-hearing-fixture"))
    assert err.value.code == "private_address" and web.hits("/news/zhipu-hearing-fixture") == []


def test_charset_named_only_in_the_http_header_decodes_the_page(web: FixtureWeb, fetcher: Fetcher) -> None:
    title = "Zhipu : la société obtient le feu vert à Hong Kong"
    page = article_html(title, [  # windows-1252, which byte-sniffing takes for Baltic cp1257 here
        "Cette page est un exemple de test pour industry-qa ; ce n’est pas une vraie dépêche.",
        "Le développeur chinois de grands modèles de langage Zhipu a été autorisé à coter ses actions à Hong Kong, "
        "a annoncé vendredi la société. Les négociations étaient déjà très avancées, selon des banquiers.",
    ]).decode().replace('<meta charset="utf-8">', "")
    web.add("/news/cp1252", Page(page.encode("cp1252"), content_type="text/html; charset=windows-1252"))
    got = extract(fetcher.get(web.url("/news/cp1252")))
    assert got.title == title and "autorisé à coter ses actions à Hong Kong" in got.text
