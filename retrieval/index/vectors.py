"""How an article's one vector is made from its chunks (``ARTICLE_VECTORS`` in the manifest names it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..corpus import Article
from ..embeddings import EmbeddingCache, embed_passages
from .schema import ChunkRow, chunk_embedding_text


def article_vectors(articles: list[Article], chunk_rows: list[ChunkRow], chunk_vecs: np.ndarray, *,
                    embeddings: Any, model: str, cache: EmbeddingCache | None,
                    progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, int]:
    """One vector per article. A one-chunk article reuses its chunk vector; a longer one that fits
    the embedder's window is embedded whole (a 200-token cl100k chunk is only ~150 Chinese
    characters, far less than e5 reads); a longer one gets the normalised mean of its chunk
    vectors. Returns (vectors, number of texts embedded)."""
    dim = int(chunk_vecs.shape[1]) if chunk_vecs.size else 0
    out = np.zeros((len(articles), dim), dtype=np.float32)
    by_doc: dict[int, list[int]] = {}
    for c, row in enumerate(chunk_rows):
        by_doc.setdefault(int(row.doc), []).append(c)
    fits = getattr(embeddings, "fits_window", None)
    whole: list[int] = []
    for d, cs in by_doc.items():
        if len(cs) == 1:
            out[d] = chunk_vecs[cs[0]]
        elif fits is not None and fits(chunk_embedding_text(articles[d], articles[d].text)):
            whole.append(d)
        else:
            mean = chunk_vecs[cs].mean(axis=0)
            out[d] = mean / (float(np.linalg.norm(mean)) or 1.0)
    if not whole:
        return out, 0
    vecs, n = embed_passages([chunk_embedding_text(articles[d], articles[d].text) for d in whole],
                             embeddings=embeddings, model=model, cache=cache, progress=progress)
    out[whole] = vecs
    return out, n
