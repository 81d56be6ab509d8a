"""What one index generation holds, file by file and column by column, and how articles become its
rows. The writers (``assemble``, ``bm25``, ``dense``, ``generations``) and the reader (``loaded``)
all take the format from here.

Every array is a ``.npy`` file that readers memory-map (``np.load(mmap_mode="r")``): opening a
generation costs the same at a thousand chunks as at a million, and only the rows a question
touches are read from disk.

- ``documents.jsonl`` holds one JSON ``DocumentMeta`` per line; ``texts.bin`` the articles' bodies,
  UTF-8, one after the other. ``documents.npy`` has one ``DOC_*`` row per article plus a closing row,
  so article ``d``'s bytes, chunks and sentences are the ranges between rows ``d`` and ``d + 1``.
- ``chunks.npy`` and ``sentences.npy`` are int32 matrices whose rows are ``ChunkRow`` and
  ``SentenceRow``; an article's chunks and sentences are contiguous and in article order.
- ``chunk_vectors.npy``, ``sentence_vectors.npy`` and ``article_vectors.npy`` are float16, one row
  per chunk, sentence and article (unit length before rounding).
- ``bm25/`` holds the sparse side (see ``bm25``), ``chunks.faiss`` the approximate dense index of
  a large generation (see ``dense``; a small one is searched exactly from ``chunk_vectors.npy``).
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any, NamedTuple, TypedDict

import numpy as np

from ..chunking import ENCODING_NAME, chunk_text
from ..corpus import Article
from ..settings import RetrievalSettings
from ..text import language_code

FORMAT_VERSION = 3  # 3: memory-mapped float16 vectors, texts apart from metadata, own BM25 postings, IVF
ARTICLE_VECTORS = "whole-or-chunk-mean"  # how article_vectors.npy was made; another value => rebuilt by `index`
SPLITTER_VERSION = 1  # bump when sentence splitting changes: offsets would differ

MANIFEST = "manifest.json"
DOCUMENT_META = "documents.jsonl"
DOCUMENT_TEXTS = "texts.bin"
DOCUMENTS = "documents.npy"
CHUNKS = "chunks.npy"
SENTENCES = "sentences.npy"
CHUNK_VECTORS = "chunk_vectors.npy"
SENTENCE_VECTORS = "sentence_vectors.npy"
ARTICLE_VECTORS_FILE = "article_vectors.npy"
DENSE_INDEX = "chunks.faiss"
BM25_FOLDER = "bm25"

ROW_DTYPE = np.int32  # chunk and sentence rows: offsets in one article, ids below 2**31
VECTOR_DTYPE = np.float16  # half the bytes of float32; cosines move by ~1e-4
NO_DAY = -1  # DOC_DAY of an undated article


class DocumentMeta(TypedDict):
    """One line of ``documents.jsonl``: an article without its text."""

    path: str
    title: str
    outlet: str
    published: str
    language: str
    url: str
    hash: str


class DocumentRecord(DocumentMeta):
    """An article as readers see it (``LoadedIndex.docs[d]``); ``text`` is the body citations point into."""

    text: str


class ChunkRow(NamedTuple):
    """One row of ``chunks.npy``: a span of an article and the sentences it covers."""

    doc: int
    start: int
    end: int
    first_sentence: int
    end_sentence: int  # last sentence + 1
    language: int  # index into retrieval.text.LANGUAGES


class SentenceRow(NamedTuple):
    """One row of ``sentences.npy``: a sentence's span in its article's text."""

    doc: int
    start: int
    end: int
    language: int


CHUNK_DOC, CHUNK_START, CHUNK_END, CHUNK_FIRST_SENTENCE, CHUNK_END_SENTENCE, CHUNK_LANGUAGE = range(len(ChunkRow._fields))
SENTENCE_DOC, SENTENCE_START, SENTENCE_END, SENTENCE_LANGUAGE = range(len(SentenceRow._fields))
# documents.npy (int64): where article d starts in documents.jsonl and texts.bin (bytes), its first
# chunk and sentence, and its publication day (proleptic ordinal, NO_DAY when undated)
DOC_META, DOC_TEXT, DOC_FIRST_CHUNK, DOC_FIRST_SENTENCE, DOC_DAY = range(5)
DOC_COLUMNS = 5


class Layout(NamedTuple):
    """Articles cut into an index's rows, before any vector is computed."""

    documents: list[DocumentRecord]
    chunks: list[ChunkRow]
    sentences: list[SentenceRow]
    chunk_texts: list[str]  # what is embedded for each chunk (see chunk_embedding_text)


def chunker_config(settings: RetrievalSettings) -> dict[str, Any]:
    """The chunker settings a manifest records: an index is reused only under the same ones."""
    return {
        "encoding": ENCODING_NAME,
        "max_tokens": settings.chunk_tokens,
        "overlap_tokens": settings.chunk_overlap_tokens,
        "splitter_version": SPLITTER_VERSION,
    }


def document_meta(article: Article) -> DocumentMeta:
    return DocumentMeta(path=article.path, title=article.title, outlet=article.outlet, published=article.published,
                        language=article.language, url=article.url, hash=article.content_hash)


def document_record(article: Article) -> DocumentRecord:
    return DocumentRecord(**document_meta(article), text=article.text)


def article_rows(article: Article, doc: int, first_sentence: int,
                 settings: RetrievalSettings) -> tuple[list[ChunkRow], list[SentenceRow]]:
    """One article's chunk and sentence rows (article ``doc``, its sentences numbered from
    ``first_sentence``): a sentence shared by two overlapping chunks is one row, and each chunk
    names the range of sentences it covers."""
    chunks: list[ChunkRow] = []
    sentences: list[SentenceRow] = []
    sent_index: dict[tuple[int, int], int] = {}
    text = article.text
    for ch in chunk_text(text, max_tokens=settings.chunk_tokens, overlap_tokens=settings.chunk_overlap_tokens):
        ids = []
        for sp in ch.sentences:
            key = (sp.start, sp.end)
            if key not in sent_index:
                sent_index[key] = first_sentence + len(sentences)
                sentences.append(SentenceRow(doc, sp.start, sp.end, language_code(text[sp.start:sp.end])))
            ids.append(sent_index[key])
        chunks.append(ChunkRow(doc, ch.start, ch.end, min(ids), max(ids) + 1, language_code(text[ch.start:ch.end])))
    return chunks, sentences


def layout(articles: list[Article], settings: RetrievalSettings) -> Layout:
    """The rows of an index of ``articles`` under ``settings``' chunker."""
    out = Layout([], [], [], [])
    for d, art in enumerate(articles):
        out.documents.append(document_record(art))
        chunks, sentences = article_rows(art, d, len(out.sentences), settings)
        out.chunks.extend(chunks)
        out.sentences.extend(sentences)
        out.chunk_texts.extend(chunk_embedding_text(art, art.text[c.start:c.end]) for c in chunks)
    return out


def chunk_embedding_text(article: Article, body: str) -> str:
    """The title gives a chunk its topic (news chunks often lack the subject's name)."""
    return f"{article.title}\n{body}" if article.title and article.title not in body else body


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
