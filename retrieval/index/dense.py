"""The dense side: which chunks are nearest a question vector.

Up to ``settings.ann_min_chunks`` chunks the search is exact: inner product over every chunk
vector (a FAISS index of float16 codes, the stored vectors' own values, filled from
``chunk_vectors.npy`` when first searched). Past it, an
IVF index with 8-bit scalar-quantised codes (``chunks.faiss``, about 400 bytes a chunk) proposes
``RERANK`` times as many candidates as asked for, and those are re-scored exactly from the
memory-mapped float16 vectors, so the list a question gets is in exact order (BENCHMARKS.md
measures its recall against exact search).

IVF rather than HNSW because a generation is rebuilt from the previous one: the IVF's coarse
centroids and quantiser are trained once, and a new generation copies the previous one's inverted
lists with chunk ids renumbered (removed chunks dropped) and adds only the new chunks' codes. It is
trained again only when the corpus has grown ``RETRAIN_GROWTH``-fold since (its lists grow long),
or on ``--rebuild``. An HNSW graph can neither drop nor renumber its nodes.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from .schema import CHUNK_VECTORS, DENSE_INDEX

RERANK = 2  # IVF candidates per wanted result, re-scored exactly
RETRAIN_GROWTH = 4.0  # re-train when the corpus has grown this much since the IVF was trained
TRAIN_PER_LIST = 64  # training sample: this many vectors per list (FAISS wants >= 39)
TRAIN_ITERATIONS = 10
BLOCK = 65_536  # vectors converted to float32 at a time


def nlist_for(n: int) -> int:
    """Lists of an IVF over ``n`` vectors: the power of two nearest 4 * sqrt(n), and at most one
    list per 39 vectors (FAISS's minimum training sample per centroid)."""
    target = 2 ** round(math.log2(max(1.0, 4 * math.sqrt(n))))
    return int(max(1, min(target, n // 39)))


def nprobe_for(nlist: int) -> int:
    """Lists searched per question: a 32nd of them, at least 16 (recall measured in BENCHMARKS.md)."""
    return int(min(nlist, max(16, nlist // 32)))


def _rows(vectors: np.ndarray, start: int, end: int) -> np.ndarray:
    return np.ascontiguousarray(vectors[start:end], dtype=np.float32)


def _add(index: faiss.Index, vectors: np.ndarray, ids: np.ndarray) -> None:
    for i in range(0, len(ids), BLOCK):
        part = ids[i : i + BLOCK]
        index.add_with_ids(np.ascontiguousarray(vectors[part], dtype=np.float32), part.astype(np.int64))


def _train(vectors: np.ndarray, nlist: int, seed: int = 0) -> faiss.Index:
    n, dim = vectors.shape
    index = faiss.index_factory(dim, f"IVF{nlist},SQ8", faiss.METRIC_INNER_PRODUCT)
    faiss.extract_index_ivf(index).cp.niter = TRAIN_ITERATIONS
    sample = np.sort(np.random.default_rng(seed).choice(n, size=min(n, TRAIN_PER_LIST * nlist), replace=False))
    index.train(np.ascontiguousarray(vectors[sample], dtype=np.float32))
    return index


def _carry(previous: Path, old_to_new: np.ndarray) -> faiss.Index:
    """The previous generation's IVF with its lists' chunk ids renumbered by ``old_to_new`` (-1 = drop)."""
    index = faiss.read_index(str(previous))
    ivf = faiss.extract_index_ivf(index)
    old: Any = ivf.invlists
    lists: Any = faiss.ArrayInvertedLists(ivf.nlist, old.code_size)
    total = 0
    for no in range(ivf.nlist):
        size = old.list_size(no)
        if not size:
            continue
        ids = faiss.rev_swig_ptr(old.get_ids(no), size)
        codes = faiss.rev_swig_ptr(old.get_codes(no), size * old.code_size).reshape(size, old.code_size)
        moved = old_to_new[ids]
        keep = moved >= 0
        if keep.any():
            new_ids = np.ascontiguousarray(moved[keep], dtype=np.int64)
            kept = np.ascontiguousarray(codes[keep])
            lists.add_entries(no, len(new_ids), faiss.swig_ptr(new_ids), faiss.swig_ptr(kept))
            total += len(new_ids)
    ivf.replace_invlists(lists, True)
    lists.this.disown()  # the index owns the lists now
    ivf.ntotal = index.ntotal = total
    return index


def write_dense(folder: Path, vectors: np.ndarray, *, min_chunks: int, previous: tuple[Path, dict[str, Any]] | None,
                old_to_new: np.ndarray | None, new_chunks: np.ndarray) -> dict[str, Any]:
    """Write the dense index of a generation whose chunk vectors are ``vectors`` and return its
    manifest entry. ``previous``: the previous generation's folder and dense entry, whose IVF is
    carried over (chunks renumbered by ``old_to_new``) when it still fits; ``new_chunks``: the
    chunks that are not carried."""
    n = len(vectors)
    if n < max(1, min_chunks):
        return {"kind": "exact"}
    prev_entry = previous[1] if previous else {}
    carry = (previous is not None and old_to_new is not None and prev_entry.get("kind") == "ivf"
             and n <= RETRAIN_GROWTH * int(prev_entry.get("trained_chunks", 0)))
    if carry:
        assert previous is not None and old_to_new is not None
        index = _carry(previous[0] / DENSE_INDEX, old_to_new)
        _add(index, vectors, np.asarray(new_chunks, dtype=np.int64))
        entry = dict(prev_entry)
    else:
        nlist = nlist_for(n)
        index = _train(vectors, nlist)
        _add(index, vectors, np.arange(n, dtype=np.int64))
        entry = {"kind": "ivf", "code": "SQ8", "nlist": nlist, "trained_chunks": n}
    if index.ntotal != n:
        raise RuntimeError(f"dense index holds {index.ntotal} vectors for {n} chunks")
    faiss.write_index(index, str(folder / DENSE_INDEX))
    entry["nprobe"] = nprobe_for(int(entry["nlist"]))
    entry["carried"] = bool(carry)
    return entry


def rewrite_dense(gen_dir: Path, *, min_chunks: int) -> dict[str, Any]:
    """Train and write a generation's dense index afresh from its ``chunk_vectors.npy``; returns
    its manifest entry (see ``generations.retrain_dense``)."""
    vectors = np.load(gen_dir / CHUNK_VECTORS, mmap_mode="r", allow_pickle=False)
    (gen_dir / DENSE_INDEX).unlink(missing_ok=True)
    return write_dense(gen_dir, vectors, min_chunks=min_chunks, previous=None, old_to_new=None,
                       new_chunks=np.arange(len(vectors)))


class DenseIndex:
    """Nearest chunks to a question vector: exact, or IVF candidates re-scored exactly."""

    def __init__(self, gen_dir: Path, vectors: np.ndarray, entry: dict[str, Any]) -> None:
        self.vectors = vectors
        self.kind = str(entry.get("kind", "exact"))
        self._lock = threading.Lock()
        self._index: faiss.Index | None = None
        if self.kind == "ivf":
            self._index = faiss.read_index(str(gen_dir / DENSE_INDEX))
            faiss.extract_index_ivf(self._index).nprobe = int(entry.get("nprobe", 16))
            if self._index.ntotal != len(vectors):
                raise ValueError("the dense index and the chunk vectors disagree")
        elif self.kind != "exact":
            raise ValueError(f"unknown dense index {self.kind!r}")

    def _flat(self) -> faiss.Index:
        with self._lock:
            if self._index is None:
                # float16 codes: the stored vectors are float16, so these are their exact values, in half
                # the memory of a float32 flat index and read several times faster per question
                flat = faiss.IndexScalarQuantizer(self.vectors.shape[1], faiss.ScalarQuantizer.QT_fp16,
                                                  faiss.METRIC_INNER_PRODUCT)
                for i in range(0, len(self.vectors), BLOCK):
                    flat.add(_rows(self.vectors, i, i + BLOCK))
                self._index = flat
            return self._index

    def warm(self) -> None:
        """Load what the first search would (the exact index is filled on first use)."""
        if self.kind == "exact" and len(self.vectors):
            self._flat()

    def search(self, query: np.ndarray, m: int) -> np.ndarray:
        """The ``m`` chunks nearest ``query`` (unit length), best first."""
        m = min(m, len(self.vectors))
        if m <= 0:
            return np.zeros(0, dtype=np.int64)
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        if self.kind == "exact":
            _, ids = self._flat().search(q, m)
            return ids[0][ids[0] >= 0].astype(np.int64)
        assert self._index is not None
        _, ids = self._index.search(q, min(len(self.vectors), RERANK * m))
        found = np.sort(ids[0][ids[0] >= 0])
        exact = np.asarray(self.vectors[found], dtype=np.float32) @ q[0]
        return found[np.argsort(-exact, kind="stable")[:m]].astype(np.int64)
