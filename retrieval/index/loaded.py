"""Reading a generation: ``LoadedIndex`` memory-maps every file and answers by name what the
columns of the format hold (readers never index ``chunks.npy`` or ``sentences.npy`` by number).

Nothing is parsed per article or per chunk at load, so opening a million-chunk index takes about as
long as opening a small one; the pages a question touches are read from disk (or the page cache)
when it touches them.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import IndexCorruptError
from ..text import LANGUAGES
from .bm25 import BM25Side
from .dense import DenseIndex
from .documents import DocumentTable
from .generations import read_manifest
from .schema import (
    ARTICLE_VECTORS_FILE,
    BM25_FOLDER,
    CHUNK_DOC,
    CHUNK_END,
    CHUNK_END_SENTENCE,
    CHUNK_FIRST_SENTENCE,
    CHUNK_LANGUAGE,
    CHUNK_START,
    CHUNK_VECTORS,
    CHUNKS,
    SENTENCE_DOC,
    SENTENCE_END,
    SENTENCE_LANGUAGE,
    SENTENCE_START,
    SENTENCE_VECTORS,
    SENTENCES,
    DocumentRecord,
    SentenceRow,
)


@lru_cache(maxsize=4)
def language_centroids(model_id: str) -> np.ndarray | None:
    """Mean passage vector per language for the embedder (see benchmarks/make_centroids.py)."""
    raw = json.loads(resources.files("retrieval").joinpath("centroids.json").read_text("utf-8"))
    if raw.get("model") != model_id:
        return None
    return np.asarray([raw[lang] for lang in LANGUAGES], dtype=np.float32)


@dataclass(frozen=True)
class ArticleSentences:
    """An indexed article's sentences: their spans in its text, and their vectors centred on their
    language's mean (so Chinese and English sentences about one event are close)."""

    content_hash: str  # of the article as indexed: vectors of a since-edited article are stale
    spans: tuple[tuple[int, int], ...]
    vectors: np.ndarray  # one row per span
    whole: np.ndarray | None = None  # the whole article's vector, centred on its language's mean


def _load(path: Path) -> np.ndarray:
    """The array memory-mapped, as a plain read-only ndarray over the map: indexing an ``np.memmap``
    makes a memmap view each time, a cost every looked-up sentence and chunk row would pay."""
    return np.asarray(np.load(path, mmap_mode="r", allow_pickle=False))


class LoadedIndex:
    """One generation of the index (readers never see a half-written one). ``docs[d]`` is article
    ``d`` with its text; ``sentence_vectors``, ``article_vectors`` and the chunk vectors are
    read-only float16 memory maps (cast rows to float32 for arithmetic that must be exact)."""

    def __init__(self, gen_dir: Path) -> None:
        self.gen_dir = gen_dir
        self.manifest = read_manifest(gen_dir)
        try:
            self.docs = DocumentTable(gen_dir)
            self.chunks = _load(gen_dir / CHUNKS)
            self.sentences = _load(gen_dir / SENTENCES)
            self._chunk_vectors = _load(gen_dir / CHUNK_VECTORS)
            sv = gen_dir / SENTENCE_VECTORS
            self.sentence_vectors: np.ndarray | None = _load(sv) if sv.exists() else None
            self.article_vectors: np.ndarray | None = _load(gen_dir / ARTICLE_VECTORS_FILE)
            self.bm25 = BM25Side(gen_dir / BM25_FOLDER, len(self.chunks))
            self.doc_days = self.docs.days()
        except Exception as err:  # any unreadable part means the whole generation is unusable
            raise self._damaged(err) from None
        dim = self._chunk_vectors.shape[1] if self._chunk_vectors.ndim == 2 else -1
        if (self._chunk_vectors.shape != (len(self.chunks), dim)
                or (self.sentence_vectors is not None and self.sentence_vectors.shape != (len(self.sentences), dim))
                or self.article_vectors is None or self.article_vectors.shape != (len(self.docs), dim)
                or (len(self.chunks) and int(self.chunks[-1, CHUNK_DOC]) >= len(self.docs))):
            raise IndexCorruptError(f"the index in {gen_dir.parent} is inconsistent; run `industry-qa index --rebuild`")
        self.centroids = language_centroids(str(self.manifest.get("embedder", {}).get("id")))
        if self.centroids is not None and self.centroids.shape[1] != self.dim:
            self.centroids = None
        self._dense: DenseIndex | None = None
        self._dense_lock = threading.Lock()

    def _damaged(self, err: Exception) -> IndexCorruptError:
        return IndexCorruptError(
            f"the index in {self.gen_dir.parent} is damaged ({type(err).__name__}); run `industry-qa index --rebuild`")

    @property
    def dense(self) -> DenseIndex:
        """The chunk vectors' search index (the IVF file is read, or the exact index filled, once)."""
        with self._dense_lock:
            if self._dense is None:
                try:
                    self._dense = DenseIndex(self.gen_dir, self._chunk_vectors, self.manifest.get("dense", {}))
                    self._dense.warm()
                except Exception as err:
                    raise self._damaged(err) from None
            return self._dense

    @property
    def chunk_vector_store(self) -> np.ndarray:
        """Every chunk's vector (float16, memory-mapped); ``chunk_vectors(ids)`` gives float32 rows."""
        return self._chunk_vectors

    @property
    def dim(self) -> int:
        return int(self._chunk_vectors.shape[1])

    @property
    def chunk_count(self) -> int:
        return len(self.chunks)

    @property
    def chunk_docs(self) -> np.ndarray:
        """The article of every chunk."""
        return self.chunks[:, CHUNK_DOC]

    @property
    def chunk_langs(self) -> np.ndarray:
        """The language code of every chunk."""
        return self.chunks[:, CHUNK_LANGUAGE]

    @property
    def sentence_langs(self) -> np.ndarray:
        """The language code of every sentence."""
        return self.sentences[:, SENTENCE_LANGUAGE]

    def chunk_span(self, chunk: int) -> tuple[int, int, int]:
        """(article, start, end) of a chunk."""
        row = self.chunks[chunk]
        return int(row[CHUNK_DOC]), int(row[CHUNK_START]), int(row[CHUNK_END])

    def sentence_ids(self, chunk: int) -> range:
        """The sentences a chunk covers."""
        row = self.chunks[chunk]
        return range(int(row[CHUNK_FIRST_SENTENCE]), int(row[CHUNK_END_SENTENCE]))

    def article_sentence_ids(self, doc: int) -> range:
        """Every sentence of an article, in order (a sentence's neighbours are ``sid ± 1`` inside it)."""
        return self.docs.sentence_range(doc)

    def article_chunk_ids(self, doc: int) -> range:
        """Every chunk of an article, in order."""
        return self.docs.chunk_range(doc)

    def sentence(self, sid: int) -> SentenceRow:
        row = self.sentences[sid]
        return SentenceRow(int(row[SENTENCE_DOC]), int(row[SENTENCE_START]), int(row[SENTENCE_END]),
                           int(row[SENTENCE_LANGUAGE]))

    def doc_text(self, doc: int) -> str:
        """An article's text (decoded on demand; the last few hundred are kept)."""
        return self.docs.text(doc)

    def doc_title(self, doc: int) -> str:
        return str(self.docs.meta(doc).get("title", ""))

    def text_span(self, doc: int, start: int, end: int) -> str:
        return self.docs.text(doc)[start:end]

    def sentence_text(self, sid: int) -> str:
        s = self.sentence(sid)
        return self.text_span(s.doc, s.start, s.end)

    def document(self, doc: int) -> DocumentRecord:
        return self.docs[doc]

    def chunk_vectors(self, ids: np.ndarray) -> np.ndarray:
        """The chunks' vectors, float32, one row per id."""
        ids = np.asarray(ids, dtype=np.int64)
        return np.asarray(self._chunk_vectors[ids], dtype=np.float32) if len(ids) else np.zeros((0, self.dim), np.float32)

    def centred(self, vectors: np.ndarray, langs: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Language-centred cosine of each vector (of language ``langs``) against the query vector."""
        v = np.asarray(vectors, dtype=np.float32)
        return v @ query - self.language_bias(query)[np.asarray(langs, dtype=np.int64)]

    def language_bias(self, qvec: np.ndarray) -> np.ndarray:
        """The question's background similarity to any passage of each language. e5 rates every
        same-language passage higher; subtracting this lets a Chinese question find English text."""
        if self.centroids is None:
            return np.zeros(len(LANGUAGES), dtype=np.float32)
        return self.centroids @ qvec

    def age_days(self, chunks: np.ndarray, asked_on: date) -> np.ndarray:
        """Days between each chunk's article's publication and ``asked_on``, either way (a clock or
        time zone can put "today's" article a day ahead); NaN for an undated article."""
        return np.abs(asked_on.toordinal() - self.doc_days[self.chunk_docs[chunks]])

    def article_sentences(self, path: str) -> ArticleSentences | None:
        """The sentences of the article at ``path`` with their language-centred vectors; None when
        the index does not hold the article or has no sentence vectors."""
        d = self.docs.find(path)
        if d is None or self.sentence_vectors is None:
            return None
        ids = self.article_sentence_ids(d)
        vecs = np.asarray(self.sentence_vectors[ids.start : ids.stop], dtype=np.float32)
        rows = np.asarray(self.sentences[ids.start : ids.stop])
        if self.centroids is not None:
            vecs = vecs - self.centroids[rows[:, SENTENCE_LANGUAGE]]
        spans = tuple((int(r[SENTENCE_START]), int(r[SENTENCE_END])) for r in rows)
        meta = self.docs.meta(d)
        whole = np.asarray(self.article_vectors[d], dtype=np.float32) if self.article_vectors is not None else None
        if whole is not None and self.centroids is not None and meta.get("language") in LANGUAGES:
            whole = whole - self.centroids[LANGUAGES.index(meta["language"])]
        return ArticleSentences(content_hash=str(meta.get("hash", "")), spans=spans, vectors=vecs, whole=whole)
