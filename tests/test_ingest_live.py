"""A running QAService picks up index generations written by other writers, safely."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from retrieval.freshness import FreshnessCheck
from retrieval.index import current_generation
from retrieval.ingest import ingest_urls
from retrieval.service import QAService
from retrieval.settings import IngestSettings, RetrievalSettings
from tests.bot_fixtures import TINY_CORPUS
from tests.retrieval_fixtures import HashEmbeddings
from tests.web_fixtures import LOOPBACK_ALLOWED, FixtureWeb, serve_standard_site

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def web() -> Iterator[FixtureWeb]:
    yield from serve_standard_site()


@pytest.fixture
def hashed(tmp_path: Path) -> tuple[RetrievalSettings, HashEmbeddings]:
    (tmp_path / "corpus" / "articles").mkdir(parents=True)
    (tmp_path / "corpus" / "articles" / "minimax-listing.md").write_text(TINY_CORPUS["minimax-listing.md"], encoding="utf-8")
    settings = RetrievalSettings(corpus_dir=tmp_path / "corpus", data_dir=tmp_path / "data", embeddings="test/hash-64",
                                 ingest=IngestSettings(fetch_timeout_s=2.0, fetch_allow_hosts=LOOPBACK_ALLOWED))
    emb = HashEmbeddings()
    from retrieval.index import build_index

    build_index(settings, embeddings=emb)
    return settings, emb


def docs_of(service: QAService) -> set[str]:
    return {d["path"] for d in service.index().docs}


def test_the_next_question_uses_a_generation_written_after_loading(web: FixtureWeb, hashed: tuple[RetrievalSettings, HashEmbeddings]) -> None:
    settings, emb = hashed
    service = QAService(settings, embeddings=emb)
    service.ask("MiniMax listing?")
    before = service.index()
    ingest_urls(settings, [web.url("/news/zhipu-hearing-fixture")], embeddings=HashEmbeddings())
    assert docs_of(service) == {"articles/minimax-listing.md"}  # a loaded generation never changes under a reader
    service.ask("Zhipu hearing?")
    assert docs_of(service) == {"articles/minimax-listing.md", "articles/2025-12-19-zhipu-hearing-fixture.md"}
    assert before.docs and len(before.docs) == 1  # an answer already running keeps its own, complete view


def test_a_broken_new_generation_is_not_loaded(hashed: tuple[RetrievalSettings, HashEmbeddings],
                                               caplog: pytest.LogCaptureFixture) -> None:
    settings, emb = hashed
    service = QAService(settings, embeddings=emb)
    service.ask("MiniMax listing?")
    live = current_generation(settings.index_dir)
    assert live is not None
    (settings.index_dir / "gen-broken").mkdir()  # e.g. pruned or damaged: no manifest
    (settings.index_dir / "CURRENT").write_text("gen-broken\n")
    answer = service.ask("When could MiniMax list its shares?")
    assert service.index().gen_dir == live and answer.question
    assert "a newer index was not loaded" in caplog.text


def test_a_generation_that_failed_to_load_is_retried(hashed: tuple[RetrievalSettings, HashEmbeddings]) -> None:
    settings, emb = hashed
    service = QAService(settings, embeddings=emb)
    service._freshness = FreshnessCheck(settings.index_dir, retry_after_s=0.0)
    service.ask("MiniMax listing?")
    live = current_generation(settings.index_dir)
    assert live is not None
    (settings.index_dir / "CURRENT").write_text("gen-late\n")  # not there (yet): e.g. a slow shared disk
    service.ask("MiniMax listing?")
    assert service.index().gen_dir == live
    shutil.copytree(live, settings.index_dir / "gen-late")  # now it is; CURRENT itself is not touched again
    service.ask("MiniMax listing?")
    assert service.index().gen_dir == settings.index_dir / "gen-late"


def test_industry_qa_add_in_another_process_is_seen_by_the_next_answer(web: FixtureWeb, tmp_path: Path) -> None:
    (tmp_path / "corpus" / "articles").mkdir(parents=True)
    (tmp_path / "corpus" / "articles" / "minimax-listing.md").write_text(TINY_CORPUS["minimax-listing.md"], encoding="utf-8")
    settings = RetrievalSettings(corpus_dir=tmp_path / "corpus", data_dir=tmp_path / "data")
    from retrieval.index import build_index

    build_index(settings)
    service = QAService(settings)
    assert service.ask("Under which code would Zhipu's shares trade?").outcome != "answered"
    env = {**os.environ, "CORPUS_DIR": str(settings.corpus_dir), "DATA_DIR": str(settings.data_dir), "FETCH_TIMEOUT_S": "5",
           "FETCH_ALLOW_HOSTS": ",".join(LOOPBACK_ALLOWED)}
    done = subprocess.run([sys.executable, "-m", "bot.cli", "add", web.url("/news/zhipu-hearing-fixture")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "added articles/2025-12-19-zhipu-hearing-fixture.md" in done.stdout
    answer = service.ask("Under which code would Zhipu's shares trade?")  # same service object, no restart
    assert not answer.refused and answer.citations[0].path == "articles/2025-12-19-zhipu-hearing-fixture.md"
