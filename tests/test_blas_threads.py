"""numpy's BLAS runs on one thread once ``retrieval`` is imported (retrieval/__init__.py), unless
the operator set OPENBLAS_NUM_THREADS; FAISS's own BLAS is left as it was."""

import json
import os
import subprocess
import sys

SHOW = """
import faiss, retrieval, threadpoolctl, json
print(json.dumps([[i["filepath"], i["num_threads"]] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]))
"""


def blas_threads(**env: str) -> dict[str, int]:
    clean = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", SHOW], env={**clean, **env}, check=True, capture_output=True,
                         text=True).stdout
    return {path: n for path, n in json.loads(out.strip().splitlines()[-1])}


def test_numpys_blas_is_on_one_thread_and_faiss_keeps_its_own() -> None:
    threads = blas_threads()
    numpys = {p: n for p, n in threads.items() if "numpy" in p}
    assert numpys and set(numpys.values()) == {1}
    faiss_own = [n for p, n in threads.items() if "numpy" not in p]
    if (os.cpu_count() or 1) > 1:
        assert faiss_own and all(n > 1 for n in faiss_own)


def test_an_operators_openblas_num_threads_is_respected() -> None:
    threads = blas_threads(OPENBLAS_NUM_THREADS="2")
    assert {n for p, n in threads.items() if "numpy" in p} == {2}
