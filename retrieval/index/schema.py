"""What one index generation holds, file by file and column by column, and how articles become its
rows. The writer (``generations``) and the reader (``loaded``) both take the format from here.

``documents.json`` is a list of ``DocumentRecord``; ``chunks.npy`` and ``sentences.npy`` are int64
matrices whose rows are ``ChunkRow`` and ``SentenceRow`` (columns named by the ``CHUNK_*`` and
``SENTENCE_*`` constants). Row ``i`` of ``chunks.faiss`` / ``sentence_vectors.npy`` is the vector of
chunk / sentence ``i``; row ``d`` of ``article_vectors.npy`` is article ``d``'s.
"""

from __future__ import annotations

from typing import Any, NamedTuple, TypedDict

from ..chunking import ENCODING_NAME, chunk_text
from ..corpus import Article
from ..settings import RetrievalSettings
from ..text import language_code

FORMAT_VERSION = 2  # 2: language column on chunks and sentences
ARTICLE_VECTORS = "whole-or-chunk-mean"  # how article_vectors.npy was made; another value => rebuilt by `index`
SPLITTER_VERSION = 1  # bump when sentence splitting changes: offsets would differ

MANIFEST = "manifest.json"
DOCUMENTS = "documents.json"
CHUNKS = "chunks.npy"
SENTENCES = "sentences.npy"
CHUNK_VECTORS = "chunks.faiss"
SENTENCE_VECTORS = "sentence_vectors.npy"
ARTICLE_VECTORS_FILE = "article_vectors.npy"
BM25_FOLDER = "bm25"


class DocumentRecord(TypedDict):
    """One article as ``documents.json`` stores it; ``text`` is the body citations point into."""

    path: str
    title: str
    outlet: str
    published: str
    language: str
    url: str
    hash: str
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


def document_record(article: Article) -> DocumentRecord:
    return DocumentRecord(path=article.path, title=article.title, outlet=article.outlet, published=article.published,
                          language=article.language, url=article.url, hash=article.content_hash, text=article.text)


def layout(articles: list[Article], settings: RetrievalSettings) -> Layout:
    """The rows of an index of ``articles`` under ``settings``' chunker: a sentence shared by two
    overlapping chunks is one row, and each chunk names the range of sentences it covers."""
    out = Layout([], [], [], [])
    for d, art in enumerate(articles):
        out.documents.append(document_record(art))
        sent_index: dict[tuple[int, int], int] = {}
        for ch in chunk_text(art.text, max_tokens=settings.chunk_tokens, overlap_tokens=settings.chunk_overlap_tokens):
            ids = []
            for sp in ch.sentences:
                key = (sp.start, sp.end)
                if key not in sent_index:
                    sent_index[key] = len(out.sentences)
                    out.sentences.append(SentenceRow(d, sp.start, sp.end, language_code(art.text[sp.start:sp.end])))
                ids.append(sent_index[key])
            out.chunks.append(ChunkRow(d, ch.start, ch.end, min(ids), max(ids) + 1,
                                       language_code(art.text[ch.start:ch.end])))
            out.chunk_texts.append(chunk_embedding_text(art, art.text[ch.start:ch.end]))
    return out


def chunk_embedding_text(article: Article, body: str) -> str:
    """The title gives a chunk its topic (news chunks often lack the subject's name)."""
    return f"{article.title}\n{body}" if article.title and article.title not in body else body
