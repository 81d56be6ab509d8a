"""Indexing through an OpenAI-compatible embeddings server (a loopback fake): batched, concurrent,
retried, resumable after a failure, with progress lines that give the rate and the time left."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.cli import main
from retrieval.embedding_server import ServerEmbeddings
from retrieval.errors import EmbeddingError
from retrieval.index import LoadedIndex, build_index, current_generation
from retrieval.service import QAService
from retrieval.settings import RetrievalSettings
from tests.embeddings_fake import FakeEmbeddingServer, embedding_server  # noqa: F401  (fixture)
from tests.retrieval_fixtures import make_corpus


def _settings(tmp_path: Path, server: FakeEmbeddingServer, *, batch: int = 4, concurrency: int = 3) -> RetrievalSettings:
    return RetrievalSettings(corpus_dir=make_corpus(tmp_path), data_dir=tmp_path / "data", embeddings="openai/fake-64",
                             embeddings_base_url=server.url, embeddings_api_key="sk-test",
                             embeddings_batch=batch, embeddings_concurrency=concurrency)


def test_an_index_built_through_a_server_sends_batches_concurrently_and_answers(
        tmp_path: Path, embedding_server: FakeEmbeddingServer) -> None:  # noqa: F811
    settings = _settings(tmp_path, embedding_server)
    lines: list[str] = []
    report = build_index(settings, progress=lines.append)
    assert report.embedded == len(embedding_server.embedded_texts) > 20
    assert max(len(r["input"]) for r in embedding_server.requests) == 4  # EMBEDDINGS_BATCH
    assert {r["model"] for r in embedding_server.requests} == {"fake-64"}
    assert set(embedding_server.auth) == {"Bearer sk-test"}
    assert 2 <= embedding_server.max_in_flight <= 3  # EMBEDDINGS_CONCURRENCY requests at a time
    assert lines and "texts/s" in lines[-1] and "ETA" in lines[-1] and f"{report.embedded:,} new to the model" in lines[-1]
    answer = QAService(settings).ask("Zhipu listing hearing in Hong Kong")  # the question is embedded by the server too
    last = embedding_server.requests[-1]["input"]
    assert answer.citations and len(last) == 1 and last[0].startswith("Zhipu listing hearing in Hong Kong")


def test_rate_limits_and_server_errors_are_retried_after_a_pause() -> None:
    server = FakeEmbeddingServer()
    server.statuses = [429, 503, 502]
    pauses: list[float] = []
    try:
        emb = ServerEmbeddings("fake-64", base_url=server.url, batch_size=8, concurrency=1, sleep=pauses.append)
        vectors = emb.embed_documents_array(["pumps", "valves", "pipes"])
    finally:
        server.close()
    assert vectors.shape == (3, 64) and len(server.requests) == 4
    assert pauses == [0.0, 0.0, 0.0]  # the server's Retry-After: 0


def test_backoff_doubles_without_retry_after_and_gives_up_with_the_last_status() -> None:
    server = FakeEmbeddingServer()
    server.fail_after, server.retry_after = 0, None
    pauses: list[float] = []
    try:
        emb = ServerEmbeddings("fake-64", base_url=server.url, attempts=4, backoff_s=1.0, sleep=pauses.append)
        with pytest.raises(EmbeddingError, match=r"failed 4 times in a row \(last: HTTP 500\)"):
            emb.embed_documents_array(["pumps"])
    finally:
        server.close()
    assert len(server.requests) == 4 and len(pauses) == 3
    assert 0.5 <= pauses[0] <= 1.5 and 1.0 <= pauses[1] <= 3.0 and 2.0 <= pauses[2] <= 6.0  # doubling, with jitter
    for attempt, low, high in ((1, 0.5, 1.5), (2, 1.0, 3.0), (3, 2.0, 6.0)):
        assert low <= emb._pause(attempt, None) <= high  # noqa: SLF001


def test_a_refused_request_is_not_retried_and_says_why() -> None:
    server = FakeEmbeddingServer()
    server.statuses = [400]
    try:
        emb = ServerEmbeddings("fake-64", base_url=server.url, sleep=lambda s: None)
        with pytest.raises(EmbeddingError, match="refused the request \\(HTTP 400: .*scripted 400"):
            emb.embed_documents_array(["pumps"])
    finally:
        server.close()
    assert len(server.requests) == 1


def test_an_interrupted_index_resumes_where_it_stopped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dying = FakeEmbeddingServer()
    dying.fail_after = 6  # the server goes down part-way through the corpus
    settings = _settings(tmp_path, dying, batch=4, concurrency=1)
    args = ["index", "--corpus", str(settings.corpus_dir), "--data", str(settings.data_dir)]
    env = {"EMBEDDINGS": "openai/fake-64", "EMBEDDINGS_BASE_URL": dying.url, "EMBEDDINGS_BATCH": "4",
           "EMBEDDINGS_CONCURRENCY": "1"}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        mp.setattr("retrieval.embedding_server.ServerEmbeddings._pause", lambda self, attempt, retry_after: 0.0)
        assert main(args) == 2
        assert "error: the embeddings server failed" in capsys.readouterr().err
        assert current_generation(settings.index_dir) is None
        done_before = {t for r in dying.requests[:6] for t in r["input"]}
        dying.close()

        healthy = FakeEmbeddingServer()
        mp.setenv("EMBEDDINGS_BASE_URL", healthy.url)
        try:
            assert main(args) == 0
        finally:
            healthy.close()
    assert done_before and not done_before & set(healthy.embedded_texts)  # nothing embedded twice
    gen = current_generation(settings.index_dir)
    assert gen is not None and len(LoadedIndex(gen).docs) == 4


def test_a_few_new_articles_reuse_the_previous_generation(tmp_path: Path,
                                                          embedding_server: FakeEmbeddingServer) -> None:  # noqa: F811
    settings = replace(_settings(tmp_path, embedding_server), ann_min_chunks=5)
    first = build_index(settings)
    assert first.dense.startswith("ivf (trained")
    before = len(embedding_server.embedded_texts)
    (settings.articles_dir / "pumps.md").write_text("---\ntitle: Pump makers\n---\nPump makers raised prices in May.\n")
    second = build_index(settings)
    assert second.dense.startswith("ivf (carried over") and len(second.added) == 1
    assert set(embedding_server.embedded_texts[before:]) <= {"Pump makers\nPump makers raised prices in May.",
                                                           "Pump makers raised prices in May."}
