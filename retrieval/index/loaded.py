"""Reading a generation: ``LoadedIndex`` loads every file at once and answers by name what the
columns of the format hold (readers never index ``chunks.npy`` or ``sentences.npy`` by number)."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path

import faiss
import numpy as np

from ..errors import IndexCorruptError
from ..text import LANGUAGES
from .bm25 import BM25Side
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
    DOCUMENTS,
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


class LoadedIndex:
    """One generation of the index, read fully at load (readers never see a half-written one)."""

    def __init__(self, gen_dir: Path) -> None:
        self.gen_dir = gen_dir
        self.manifest = read_manifest(gen_dir)
        try:
            self.docs: list[DocumentRecord] = json.loads((gen_dir / DOCUMENTS).read_text(encoding="utf-8"))
            self.chunks = np.load(gen_dir / CHUNKS, allow_pickle=False)
            self.sentences = np.load(gen_dir / SENTENCES, allow_pickle=False)
            sv = gen_dir / SENTENCE_VECTORS
            self.sentence_vectors: np.ndarray | None = np.load(sv, allow_pickle=False) if sv.exists() else None
            av = gen_dir / ARTICLE_VECTORS_FILE  # absent in generations built before article vectors
            self.article_vectors: np.ndarray | None = np.load(av, allow_pickle=False) if av.exists() else None
            self.faiss = faiss.read_index(str(gen_dir / CHUNK_VECTORS))
            self.bm25 = BM25Side(gen_dir / BM25_FOLDER)
        except Exception as err:  # any unreadable part means the whole generation is unusable
            raise IndexCorruptError(
                f"the index in {gen_dir.parent} is damaged ({type(err).__name__}); run `industry-qa index --rebuild`"
            ) from None
        n = len(self.chunks)
        if self.faiss.ntotal != n or (self.sentence_vectors is not None and len(self.sentence_vectors) != len(self.sentences)) or (
                self.article_vectors is not None and self.article_vectors.shape != (len(self.docs), self.faiss.d)):
            raise IndexCorruptError(f"the index in {gen_dir.parent} is inconsistent; run `industry-qa index --rebuild`")
        self.doc_days = np.array([publication_day(d.get("published", "")) for d in self.docs], dtype=np.float64)
        self.centroids = language_centroids(str(self.manifest.get("embedder", {}).get("id")))
        if self.centroids is not None and self.centroids.shape[1] != self.dim:
            self.centroids = None
        self._doc_by_path = {str(d.get("path")): i for i, d in enumerate(self.docs)}

    @property
    def dim(self) -> int:
        return int(self.faiss.d)

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

    def sentence(self, sid: int) -> SentenceRow:
        row = self.sentences[sid]
        return SentenceRow(int(row[SENTENCE_DOC]), int(row[SENTENCE_START]), int(row[SENTENCE_END]),
                           int(row[SENTENCE_LANGUAGE]))

    def sentence_text(self, sid: int) -> str:
        s = self.sentence(sid)
        return self.docs[s.doc]["text"][s.start:s.end]

    def chunk_vectors(self, ids: np.ndarray) -> np.ndarray:
        return np.vstack([self.faiss.reconstruct(int(i)) for i in ids]) if len(ids) else np.zeros((0, self.dim), np.float32)

    def centred(self, vectors: np.ndarray, langs: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Language-centred cosine of each vector (of language ``langs``) against the query vector."""
        return vectors @ query - self.language_bias(query)[np.asarray(langs, dtype=np.int64)]

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
        d = self._doc_by_path.get(path)
        if d is None or self.sentence_vectors is None:
            return None
        ids = np.flatnonzero(self.sentences[:, SENTENCE_DOC] == d)
        vecs = np.asarray(self.sentence_vectors[ids], dtype=np.float32)
        if self.centroids is not None:
            vecs = vecs - self.centroids[self.sentence_langs[ids]]
        spans = tuple((int(self.sentences[i, SENTENCE_START]), int(self.sentences[i, SENTENCE_END])) for i in ids)
        return ArticleSentences(content_hash=str(self.docs[d].get("hash", "")), spans=spans, vectors=vecs)


_DAY = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")


def publication_day(published: str) -> float:
    """The proleptic ordinal of an article's date ("2025-12-11T13:45:00+08:00", "2022/06/12"), NaN
    when there is none. The local calendar day as written: news dates are the outlet's own."""
    m = _DAY.match(str(published or "").strip())
    if not m:
        return math.nan
    try:
        return float(date(int(m[1]), int(m[2]), int(m[3])).toordinal())
    except ValueError:
        return math.nan
