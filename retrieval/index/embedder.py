"""The index build's embedder: vectors from the cache or the model, batch by batch, with a running
account of texts done and texts embedded for the progress the build reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..corpus import Article
from ..embeddings import EmbeddingCache, embed_passages
from ..progress import timed_reporter
from .schema import ChunkRow
from .vectors import article_vectors


@dataclass
class Embedder:
    """The build's embedder and cache, and its running account: texts done (``progress`` gets a
    line with the rate and time left now and then) and texts the model embedded (``on_embedded``
    gets the count after every batch the model returns)."""

    embeddings: Any
    model: str
    cache: EmbeddingCache | None
    progress: Callable[[str], None] | None = None
    on_embedded: Callable[[int], None] | None = None
    embedded: int = 0
    seconds: float = 0.0
    done: int = 0
    _report: Callable[[int, int], None] | None = None

    def start(self, total: int) -> None:
        self._report = timed_reporter(total, self.progress)

    def passages(self, texts: list[str]) -> np.ndarray:
        """Vectors of ``texts`` (from the cache, or embedded and cached batch by batch), counted as done."""
        watch, settle = self._watch(len(texts))
        vectors, n = embed_passages(texts, embeddings=self.embeddings, model=self.model, cache=self.cache,
                                    progress=watch)
        settle(n)
        return vectors

    def articles(self, articles: list[Article], rows: list[ChunkRow], chunk_vecs: np.ndarray) -> np.ndarray:
        """The articles' vectors (whole articles embedded are not among the texts counted as done)."""
        watch, settle = self._watch(None)
        vectors, n = article_vectors(articles, rows, chunk_vecs, embeddings=self.embeddings, model=self.model,
                                     cache=self.cache, progress=watch)
        settle(n)
        return vectors

    def _watch(self, texts: int | None) -> tuple[Callable[[int, int], None], Callable[[int], None]]:
        """A progress callback for one ``embed_passages`` call over ``texts`` texts counted as done
        (None: not counted), and what to call with the number it embedded when it returns."""
        done0, embedded0 = self.done, self.embedded

        def batch_done(embedded: int, missing: int) -> None:
            self.embedded = embedded0 + embedded
            if texts is not None:
                self.done = done0 + texts - missing + embedded
            self._tell()

        def settle(embedded: int) -> None:
            self.embedded = embedded0 + embedded
            self.done = done0 + (texts or 0)
            self._tell()

        return batch_done, settle

    def _tell(self) -> None:
        if self.on_embedded is not None:
            self.on_embedded(self.embedded)
        if self._report is not None:
            self._report(self.done, self.embedded)
