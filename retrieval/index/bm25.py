"""The sparse side of the index: bm25s over our own English/Chinese tokens (saved as JSON + .npy, no pickle)."""

from __future__ import annotations

import logging
from pathlib import Path

import bm25s
import numpy as np

from ..text import bm25_tokens

logging.getLogger("bm25s").setLevel(logging.WARNING)


def build_bm25(texts: list[str], folder: Path) -> None:
    retriever = bm25s.BM25()
    tokens = [bm25_tokens(t) or [""] for t in texts] or [[""]]
    retriever.index(tokens, show_progress=False)
    retriever.save(str(folder), show_progress=False)


class BM25Side:
    def __init__(self, folder: Path) -> None:
        self._bm25 = bm25s.BM25.load(str(folder), load_corpus=False)
        self.vocab: dict[str, int] = self._bm25.vocab_dict

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for the question (zeros if no term is known)."""
        ids = self._bm25.get_tokens_ids(bm25_tokens(query))
        n = int(self._bm25.scores["num_docs"])
        if not ids:
            return np.zeros(n, dtype=np.float32)
        return np.asarray(self._bm25.get_scores_from_ids(ids), dtype=np.float32)
