"""Filling a new generation's folder: the articles carried over from the previous generation are
copied (rows, vectors, text bytes, BM25 postings, IVF lists: no re-chunking, re-tokenising,
re-embedding or re-training), the others are laid out, tokenised and embedded, batch by batch.

Every big array is written through a memory map, a stretch of consecutive carried articles at a
time, so building a million-chunk generation needs memory for a batch, not for the index.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..corpus import Article
from ..settings import RetrievalSettings
from .bm25 import Terms, terms_of, write_bm25
from .dense import write_dense
from .documents import DocumentTable
from .embedder import Embedder
from .schema import (
    ARTICLE_VECTORS_FILE,
    BM25_FOLDER,
    CHUNK_DOC,
    CHUNK_END_SENTENCE,
    CHUNK_FIRST_SENTENCE,
    CHUNK_VECTORS,
    CHUNKS,
    DOC_COLUMNS,
    DOC_DAY,
    DOC_FIRST_CHUNK,
    DOC_FIRST_SENTENCE,
    DOC_META,
    DOC_TEXT,
    DOCUMENT_META,
    DOCUMENT_TEXTS,
    DOCUMENTS,
    NO_DAY,
    ROW_DTYPE,
    SENTENCE_DOC,
    SENTENCE_VECTORS,
    SENTENCES,
    VECTOR_DTYPE,
    ChunkRow,
    SentenceRow,
    article_rows,
    chunk_embedding_text,
    document_meta,
    publication_day,
)

BATCH_CHUNKS = 2048  # new chunks embedded and tokenised together
MEMO = 20_000  # identical articles (syndicated copies) laid out and tokenised once per build


@dataclass
class Previous:
    """The generation a build starts from, and which of its articles each new article copies."""

    gen_dir: Path
    manifest: dict[str, Any]
    docs: DocumentTable
    chunks: np.ndarray
    sentences: np.ndarray
    vectors: dict[str, np.ndarray]  # by file name; sentence vectors may be absent


@dataclass
class _Out:
    chunks: np.ndarray
    sentences: np.ndarray
    docs: np.ndarray
    vectors: dict[str, np.ndarray] = field(default_factory=dict)


class _Memo(OrderedDict[Any, Any]):
    def put(self, key: Any, value: Any) -> Any:
        self[key] = value
        if len(self) > MEMO:
            self.popitem(last=False)
        return value


def _open(path: Path, dtype: Any, shape: tuple[int, ...]) -> np.ndarray:
    return np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)


def _flush(arr: np.ndarray) -> None:
    if isinstance(arr, np.memmap):
        arr.flush()


def _runs(old_doc: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) stretches of new articles: consecutive carried articles copied from consecutive
    old ones form one stretch; each new article is a stretch of its own."""
    runs: list[tuple[int, int]] = []
    start = 0
    for p in range(1, len(old_doc) + 1):
        if p == len(old_doc) or old_doc[p] < 0 or old_doc[p - 1] < 0 or old_doc[p] != old_doc[p - 1] + 1:
            runs.append((start, p))
            start = p
    return runs if len(old_doc) else []


def assemble(folder: Path, articles: list[Article], old_doc: np.ndarray, *, previous: Previous | None,
             settings: RetrievalSettings, embedder: Embedder, sentence_vectors: bool) -> dict[str, Any]:
    """Write every file of a generation of ``articles`` into ``folder``; ``old_doc[p]`` is the previous
    generation's article that article ``p`` copies (-1: laid out and embedded anew). Returns counts
    and the dense index's manifest entry."""
    fresh = np.flatnonzero(old_doc < 0)
    rows: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    memo = _Memo()
    for f in fresh:
        art = articles[f]
        rows[int(f)] = memo.get((art.title, art.text)) or memo.put((art.title, art.text), _rows_of(art, settings))
    n_chunks = np.zeros(len(articles), dtype=np.int64)
    n_sents = np.zeros(len(articles), dtype=np.int64)
    for q, (c, s) in rows.items():
        n_chunks[q], n_sents[q] = len(c), len(s)
    if previous is not None:
        carried = np.flatnonzero(old_doc >= 0)
        o = old_doc[carried]
        prow = previous.docs.rows
        n_chunks[carried] = prow[o + 1, DOC_FIRST_CHUNK] - prow[o, DOC_FIRST_CHUNK]
        n_sents[carried] = prow[o + 1, DOC_FIRST_SENTENCE] - prow[o, DOC_FIRST_SENTENCE]
    first_chunk = np.concatenate([[0], np.cumsum(n_chunks)])
    first_sent = np.concatenate([[0], np.cumsum(n_sents)])
    out = _Out(chunks=_open(folder / CHUNKS, ROW_DTYPE, (int(first_chunk[-1]), len(ChunkRow._fields))),
               sentences=_open(folder / SENTENCES, ROW_DTYPE, (int(first_sent[-1]), len(SentenceRow._fields))),
               docs=np.zeros((len(articles) + 1, DOC_COLUMNS), dtype=np.int64))
    out.docs[:, DOC_FIRST_CHUNK], out.docs[:, DOC_FIRST_SENTENCE] = first_chunk, first_sent
    n_old_chunks = len(previous.chunks) if previous is not None else 0
    old_to_new = np.full(n_old_chunks, -1, dtype=np.int64)
    with open(folder / DOCUMENT_META, "wb") as meta_fh, open(folder / DOCUMENT_TEXTS, "wb") as text_fh:
        for a, b in _runs(old_doc):
            if old_doc[a] >= 0:
                assert previous is not None
                _copy_run(previous, out, a, b, int(old_doc[a]), first_chunk, first_sent, meta_fh, text_fh, old_to_new)
            else:
                _write_new(articles[a], out, a, rows[a], first_chunk, first_sent, meta_fh, text_fh)
        out.docs[-1, DOC_META], out.docs[-1, DOC_TEXT] = meta_fh.tell(), text_fh.tell()
    np.save(folder / DOCUMENTS, out.docs, allow_pickle=False)
    new_chunks, terms = _embed_new(folder, articles, fresh, rows, out, first_chunk, first_sent, previous=previous,
                                   embedder=embedder, sentence_vectors=sentence_vectors)
    dim = _dim(out, previous, embedder)
    for name, count in ((CHUNK_VECTORS, len(out.chunks)), (ARTICLE_VECTORS_FILE, len(articles)),
                        *(((SENTENCE_VECTORS, len(out.sentences)),) if sentence_vectors else ())):
        if name not in out.vectors:  # nothing was written (an empty corpus): an empty file of the right shape
            out.vectors[name] = _open(folder / name, VECTOR_DTYPE, (count, dim))
        _flush(out.vectors[name])
    _flush(out.chunks)
    _flush(out.sentences)
    write_bm25(folder / BM25_FOLDER, n_chunks=len(out.chunks), new_terms=terms, new_chunks=new_chunks,
               carried=(previous.gen_dir / BM25_FOLDER, old_to_new) if previous is not None else None)
    dense = write_dense(folder, out.vectors[CHUNK_VECTORS], min_chunks=settings.ann_min_chunks,
                        previous=(previous.gen_dir, previous.manifest.get("dense", {})) if previous else None,
                        old_to_new=old_to_new if previous is not None else None, new_chunks=new_chunks)
    return {"dim": dim, "chunks": len(out.chunks), "sentences": len(out.sentences), "dense": dense}


def _rows_of(article: Article, settings: RetrievalSettings) -> tuple[np.ndarray, np.ndarray]:
    chunks, sentences = article_rows(article, 0, 0, settings)
    return (np.asarray(chunks, dtype=ROW_DTYPE).reshape(-1, len(ChunkRow._fields)),
            np.asarray(sentences, dtype=ROW_DTYPE).reshape(-1, len(SentenceRow._fields)))


def _copy_run(prev: Previous, out: _Out, a: int, b: int, o: int, first_chunk: np.ndarray, first_sent: np.ndarray,
              meta_fh: Any, text_fh: Any, old_to_new: np.ndarray) -> None:
    """Articles a..b-1 copy the previous generation's articles o..o+(b-a)-1, byte for byte and row for row."""
    pr = prev.docs.rows
    o_end = o + (b - a)
    c0, c1 = int(pr[o, DOC_FIRST_CHUNK]), int(pr[o_end, DOC_FIRST_CHUNK])
    s0, s1 = int(pr[o, DOC_FIRST_SENTENCE]), int(pr[o_end, DOC_FIRST_SENTENCE])
    n0, m0 = int(first_chunk[a]), int(first_sent[a])
    chunks = np.array(prev.chunks[c0:c1])
    chunks[:, CHUNK_DOC] += a - o
    chunks[:, CHUNK_FIRST_SENTENCE] += m0 - s0
    chunks[:, CHUNK_END_SENTENCE] += m0 - s0
    out.chunks[n0 : n0 + len(chunks)] = chunks
    sentences = np.array(prev.sentences[s0:s1])
    sentences[:, SENTENCE_DOC] += a - o
    out.sentences[m0 : m0 + len(sentences)] = sentences
    old_to_new[c0:c1] = np.arange(n0, n0 + (c1 - c0))
    for col, fh in ((DOC_META, meta_fh), (DOC_TEXT, text_fh)):
        out.docs[a:b, col] = pr[o:o_end, col] - pr[o, col] + fh.tell()
        fh.write(prev.docs.raw(col, o, o_end))
    out.docs[a:b, DOC_DAY] = pr[o:o_end, DOC_DAY]
    for name, arr in prev.vectors.items():
        lo, hi, at = ((o, o_end, a) if name == ARTICLE_VECTORS_FILE else
                      (s0, s1, m0) if name == SENTENCE_VECTORS else (c0, c1, n0))
        _vector_file(out, name, arr.shape[1], out_len(out, name))[at : at + hi - lo] = arr[lo:hi]


def out_len(out: _Out, name: str) -> int:
    return len(out.docs) - 1 if name == ARTICLE_VECTORS_FILE else len(out.sentences) if name == SENTENCE_VECTORS else len(out.chunks)


def _vector_file(out: _Out, name: str, dim: int, count: int) -> np.ndarray:
    if name not in out.vectors:
        folder = Path(out.chunks.filename).parent  # type: ignore[attr-defined]
        out.vectors[name] = _open(folder / name, VECTOR_DTYPE, (count, dim))
    return out.vectors[name]


def _write_new(article: Article, out: _Out, p: int, rows: tuple[np.ndarray, np.ndarray], first_chunk: np.ndarray,
               first_sent: np.ndarray, meta_fh: Any, text_fh: Any) -> None:
    chunks, sentences = np.array(rows[0]), np.array(rows[1])
    n0, m0 = int(first_chunk[p]), int(first_sent[p])
    chunks[:, CHUNK_DOC] = p
    chunks[:, CHUNK_FIRST_SENTENCE] += m0
    chunks[:, CHUNK_END_SENTENCE] += m0
    sentences[:, SENTENCE_DOC] = p
    out.chunks[n0 : n0 + len(chunks)] = chunks
    out.sentences[m0 : m0 + len(sentences)] = sentences
    out.docs[p, DOC_META], out.docs[p, DOC_TEXT] = meta_fh.tell(), text_fh.tell()
    meta_fh.write(json.dumps(document_meta(article), ensure_ascii=False).encode("utf-8") + b"\n")
    text_fh.write(article.text.encode("utf-8"))
    day = publication_day(article.published)
    out.docs[p, DOC_DAY] = NO_DAY if np.isnan(day) else int(day)


def _embed_new(folder: Path, articles: list[Article], fresh: np.ndarray, rows: dict[int, tuple[np.ndarray, np.ndarray]],
               out: _Out, first_chunk: np.ndarray, first_sent: np.ndarray, *, previous: Previous | None,
               embedder: Embedder, sentence_vectors: bool) -> tuple[np.ndarray, Terms]:
    """Embed and tokenise the new articles, a batch of about BATCH_CHUNKS chunks at a time; returns the
    new chunks' ids and their tokens."""
    embedder.start(sum(len(rows[int(p)][0]) + (len(rows[int(p)][1]) if sentence_vectors else 0) for p in fresh))
    t0 = time.perf_counter()
    memo = _Memo()
    new_ids: list[np.ndarray] = []
    terms: list[Terms] = []
    batch: list[int] = []
    in_batch = 0
    todo = [int(p) for p in fresh]
    for i, p in enumerate(todo):
        batch.append(p)
        in_batch += len(rows[p][0])
        if i + 1 < len(todo) and in_batch < BATCH_CHUNKS:
            continue
        arts = [articles[q] for q in batch]
        texts = [[chunk_embedding_text(a, a.text[int(r[1]):int(r[2])]) for r in rows[q][0]] for a, q in zip(arts, batch, strict=True)]
        flat = [t for ts in texts for t in ts]
        chunk_vecs = embedder.passages(flat)
        where = np.concatenate([np.arange(first_chunk[q], first_chunk[q + 1]) for q in batch]).astype(np.int64)
        if len(flat):
            _vector_file(out, CHUNK_VECTORS, chunk_vecs.shape[1], len(out.chunks))[where] = chunk_vecs
        local = [ChunkRow(j, *map(int, r[1:])) for j, q in enumerate(batch) for r in rows[q][0]]
        doc_vecs = embedder.articles(arts, local, chunk_vecs)
        if doc_vecs.size:
            _vector_file(out, ARTICLE_VECTORS_FILE, doc_vecs.shape[1], len(articles))[batch] = doc_vecs
        if sentence_vectors:
            sents = [a.text[int(r[1]):int(r[2])] for a, q in zip(arts, batch, strict=True) for r in rows[q][1]]
            sent_vecs = embedder.passages(sents)
            if len(sents):
                swhere = np.concatenate([np.arange(first_sent[q], first_sent[q + 1]) for q in batch]).astype(np.int64)
                _vector_file(out, SENTENCE_VECTORS, sent_vecs.shape[1], len(out.sentences))[swhere] = sent_vecs
        for a, ts in zip(arts, texts, strict=True):
            key = (a.title, a.text)
            terms.append(memo.get(key) or memo.put(key, terms_of(ts)))
        new_ids.append(where)
        batch, in_batch = [], 0
    embedder.seconds += time.perf_counter() - t0
    ids = np.concatenate(new_ids) if new_ids else np.zeros(0, dtype=np.int64)
    return ids, Terms.concat(terms)


def _dim(out: _Out, previous: Previous | None, embedder: Embedder) -> int:
    for arr in out.vectors.values():
        return int(arr.shape[1])
    if previous is not None:
        return int(previous.manifest.get("embedder", {}).get("dim", 0))
    return int(getattr(embedder.embeddings, "dim", 0) or 0)
