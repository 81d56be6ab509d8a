"""The dense side past the size threshold: IVF candidates re-scored exactly from the float16
vectors (so a question gets its list in exact order), the list and probe counts, and when a
generation re-trains the IVF instead of carrying the previous one's lists."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from retrieval.index.dense import RETRAIN_GROWTH, DenseIndex, nlist_for, nprobe_for, write_dense


def _clustered(n: int, dim: int = 32, clusters: int = 20, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim))
    x = centres[rng.integers(0, clusters, n)] + 0.3 * rng.standard_normal((n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float16)


def _exact(vectors: np.ndarray, query: np.ndarray, m: int) -> np.ndarray:
    scores = np.asarray(vectors, dtype=np.float32) @ query
    return np.argsort(-scores, kind="stable")[:m]


def test_ivf_candidates_come_back_in_exact_order_and_probing_every_list_finds_the_exact_top(tmp_path: Path) -> None:
    vectors = _clustered(3000)
    entry = write_dense(tmp_path, vectors, min_chunks=1000, previous=None, old_to_new=None, new_chunks=np.arange(3000))
    assert entry["kind"] == "ivf" and entry["nlist"] == nlist_for(3000) and not entry["carried"]
    queries = _clustered(20, seed=1).astype(np.float32)
    everywhere = DenseIndex(tmp_path, vectors, {**entry, "nprobe": entry["nlist"]})
    shipped = DenseIndex(tmp_path, vectors, entry)
    overlap = []
    for q in queries:
        got = shipped.search(q, 10)
        exact_scores = np.asarray(vectors[got], dtype=np.float32) @ q
        assert np.all(np.diff(exact_scores) <= 1e-6)  # re-scored: best first by the exact cosine
        assert set(everywhere.search(q, 10)) == set(_exact(vectors, q, 10))
        overlap.append(len(set(got) & set(_exact(vectors, q, 10))) / 10)
    assert np.mean(overlap) >= 0.9


def test_below_the_threshold_the_search_is_exact(tmp_path: Path) -> None:
    vectors = _clustered(500)
    entry = write_dense(tmp_path, vectors, min_chunks=1000, previous=None, old_to_new=None, new_chunks=np.arange(500))
    assert entry == {"kind": "exact"} and not (tmp_path / "chunks.faiss").exists()
    q = _clustered(1, seed=2)[0].astype(np.float32)
    assert list(DenseIndex(tmp_path, vectors, entry).search(q, 7)) == list(_exact(vectors, q, 7))


def test_list_and_probe_counts_grow_with_the_square_root_of_the_corpus() -> None:
    assert nlist_for(1_000_000) == 4096 and nprobe_for(4096) == 128
    assert nlist_for(150_000) == 2048 and nprobe_for(2048) == 64
    assert nlist_for(1000) == 25  # at most one list per 39 vectors
    assert nprobe_for(64) == 16 and nprobe_for(8) == 8


def test_a_corpus_grown_past_the_retrain_factor_gets_a_new_ivf(tmp_path: Path) -> None:
    first, grown = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    grown.mkdir()
    small = _clustered(1200)
    entry = write_dense(first, small, min_chunks=1000, previous=None, old_to_new=None, new_chunks=np.arange(1200))
    n = int(RETRAIN_GROWTH * 1200) + 1
    big = np.vstack([small, _clustered(n - 1200, seed=3)])
    again = write_dense(grown, big, min_chunks=1000, previous=(first, entry), old_to_new=np.arange(1200),
                        new_chunks=np.arange(1200, n))
    assert not again["carried"] and again["trained_chunks"] == n and again["nlist"] == nlist_for(n)
    carried = write_dense(grown, big[: n - 1], min_chunks=1000, previous=(first, entry), old_to_new=np.arange(1200),
                          new_chunks=np.arange(1200, n - 1))
    assert carried["carried"] and carried["trained_chunks"] == 1200
