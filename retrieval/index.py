"""The on-disk index: FAISS (chunk vectors), sentence vectors, BM25 and JSON metadata.

Layout of ``DATA_DIR``::

    embeddings.sqlite        cache of vectors by content hash (survives rebuilds)
    index/CURRENT            name of the live generation, replaced atomically
    index/gen-*/             manifest.json, documents.json, chunks.npy, sentences.npy,
                             chunks.faiss, sentence_vectors.npy, article_vectors.npy, bm25/ (no pickle anywhere)

``chunks.npy`` rows are (doc, start, end, first sentence, last sentence + 1, language code);
``sentences.npy`` rows are (doc, start, end, language code).

A build writes a new generation folder, then swaps ``CURRENT``: a crash mid-build leaves the
previous generation live, and a reader that already loaded a generation keeps a consistent view.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from .chunking import ENCODING_NAME, chunk_text
from .corpus import Article, load_corpus
from .embeddings import EmbeddingCache, embed_passages, embedder_id, make_embeddings
from .errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from .settings import RetrievalSettings
from .text import language_code

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: language column on chunks and sentences
ARTICLE_VECTORS = "whole-or-chunk-mean"  # how article_vectors.npy was made; another value => rebuilt by `index`
SPLITTER_VERSION = 1  # bump when sentence splitting changes: offsets would differ
KEEP_GENERATIONS = 2


@dataclass
class IndexReport:
    articles: int = 0
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    chunks: int = 0
    sentences: int = 0
    embedded: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    generation: str = ""

    def summary(self) -> str:
        return (
            f"{self.articles} articles ({len(self.added)} new, {len(self.changed)} changed, "
            f"{len(self.removed)} removed, {self.unchanged} unchanged); {self.chunks} chunks, "
            f"{self.sentences} sentences; embedded {self.embedded} new texts in {self.embed_seconds:.1f}s; "
            f"total {self.seconds:.1f}s"
        )


def chunker_config(settings: RetrievalSettings) -> dict[str, Any]:
    return {
        "encoding": ENCODING_NAME,
        "max_tokens": settings.chunk_tokens,
        "overlap_tokens": settings.chunk_overlap_tokens,
        "splitter_version": SPLITTER_VERSION,
    }


_held = threading.local()


@contextlib.contextmanager
def writer_lock(index_dir: Path) -> Iterator[None]:
    """One index writer at a time per DATA_DIR (another process waits). Re-entrant in a thread, so
    ``industry-qa add`` can hold it across writing the article and building the index."""
    index_dir.mkdir(parents=True, exist_ok=True)
    key = str(index_dir.resolve())
    held: set[str] = _held.__dict__.setdefault("dirs", set())
    if key in held:
        yield
        return
    with open(index_dir / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        held.add(key)
        try:
            yield
        finally:
            held.discard(key)
            fcntl.flock(fh, fcntl.LOCK_UN)


def current_generation(index_dir: Path) -> Path | None:
    try:
        name = (index_dir / "CURRENT").read_text().strip()
    except FileNotFoundError:
        return None
    return index_dir / name if name else None


def read_manifest(gen_dir: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((gen_dir / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexCorruptError(f"the index in {gen_dir.parent} has no manifest") from None
    except (OSError, ValueError) as err:
        raise IndexCorruptError(f"the index manifest in {gen_dir} is unreadable ({err})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        raise IndexCorruptError(f"the index in {gen_dir.parent} has an unknown format")
    return manifest


def check_compatible(manifest: dict[str, Any], settings: RetrievalSettings, model_id: str) -> None:
    built = manifest.get("embedder", {}).get("id")
    if built != model_id:
        raise IndexMismatchError(
            f"the index was built with embeddings {built!r} but {model_id!r} is configured; "
            "run `industry-qa index --rebuild`"
        )
    if manifest.get("chunker") != chunker_config(settings):
        raise IndexMismatchError(
            "the index was built with other chunker settings than configured; run `industry-qa index --rebuild`"
        )


def build_index(
    settings: RetrievalSettings, *, rebuild: bool = False, embeddings: Any = None,
    sentence_vectors: bool = True, progress: Callable[[str], None] | None = None,
) -> IndexReport:
    """(Re)build the index from the corpus folder. Only texts not in the embedding cache are
    embedded, so unchanged articles cost nothing; deleted articles drop out."""
    t0 = time.perf_counter()
    with writer_lock(settings.index_dir):  # read the corpus under the lock: an adder may be renaming into it
        articles, warnings = load_corpus(settings.corpus_dir)
        return build_index_from_articles(settings, articles, rebuild=rebuild, embeddings=embeddings,
                                         sentence_vectors=sentence_vectors, progress=progress,
                                         warnings=warnings, started=t0)


def build_index_from_articles(
    settings: RetrievalSettings, articles: list[Article], *, rebuild: bool = False, embeddings: Any = None,
    sentence_vectors: bool = True, progress: Callable[[str], None] | None = None,
    warnings: list[str] | None = None, started: float | None = None,
) -> IndexReport:
    """Build a generation in ``settings.data_dir`` from in-memory articles (``build_index`` reads
    them from the corpus folder first; benchmarks pass their own)."""
    t0 = time.perf_counter() if started is None else started
    emb = embeddings or make_embeddings(settings.embeddings, base_url=settings.embeddings_base_url,
                                        api_key=settings.embeddings_api_key)
    model_id = embedder_id(settings.embeddings, emb)
    report = IndexReport()
    report.warnings = list(warnings or [])
    index_dir = settings.index_dir
    with writer_lock(index_dir):
        previous = _previous_hashes(index_dir, settings, model_id) if not rebuild else {}
        hashes = {a.path: a.content_hash for a in articles}
        report.articles = len(articles)
        report.added = sorted(p for p in hashes if p not in previous)
        report.changed = sorted(p for p in hashes if p in previous and previous[p] != hashes[p])
        report.removed = sorted(p for p in previous if p not in hashes)
        report.unchanged = len(articles) - len(report.added) - len(report.changed)
        live = current_generation(index_dir)
        same_articles = bool(previous) and not (report.added or report.changed or report.removed)
        live_manifest = read_manifest(live) if same_articles and live is not None else {}
        if (live is not None and live_manifest
                and live_manifest.get("sentence_vectors") == bool(sentence_vectors)
                and live_manifest.get("article_vectors") == ARTICLE_VECTORS):
            report.generation = live.name  # nothing to do: the live index already matches the corpus
            report.chunks = int(live_manifest.get("counts", {}).get("chunks", 0))
            report.sentences = int(live_manifest.get("counts", {}).get("sentences", 0))
            report.seconds = time.perf_counter() - t0
            return report

        doc_rows, chunk_rows, sent_rows, chunk_texts = _layout(articles, settings)
        report.chunks, report.sentences = len(chunk_rows), len(sent_rows)
        cache = _open_cache(settings.cache_path)
        te = time.perf_counter()

        def _progress(done: int, total: int) -> None:
            if progress:
                progress(f"embedded {done}/{total}")

        chunk_vecs, n1 = embed_passages(chunk_texts, embeddings=emb, model=model_id, cache=cache, progress=_progress)
        sent_vecs = np.zeros((0, 0), dtype=np.float32)
        n2 = 0
        if sentence_vectors:
            sent_texts = [articles[d].text[s:e] for d, s, e, _ in sent_rows]
            sent_vecs, n2 = embed_passages(sent_texts, embeddings=emb, model=model_id, cache=cache, progress=_progress)
        doc_vecs, n3 = article_vectors(articles, chunk_rows, chunk_vecs, embeddings=emb, model=model_id, cache=cache)
        cache.close()
        report.embed_seconds = time.perf_counter() - te
        report.embedded = n1 + n2 + n3
        dim = int(chunk_vecs.shape[1]) if chunk_vecs.size else int(getattr(emb, "dim", 0) or 0)
        manifest = {
            "format": FORMAT_VERSION,
            "embedder": {"id": model_id, "dim": dim},
            "chunker": chunker_config(settings),
            "articles": hashes,
            "counts": {"articles": len(articles), "chunks": len(chunk_rows), "sentences": len(sent_rows)},
            "sentence_vectors": bool(sentence_vectors),
            "article_vectors": ARTICLE_VECTORS,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        report.generation = _write_generation(
            index_dir, manifest=manifest, docs=doc_rows, chunks=np.asarray(chunk_rows, dtype=np.int64).reshape(-1, 6),
            sentences=np.asarray(sent_rows, dtype=np.int64).reshape(-1, 4), chunk_vecs=chunk_vecs,
            sent_vecs=sent_vecs, chunk_texts=chunk_texts, doc_vecs=doc_vecs,
        )
    report.seconds = time.perf_counter() - t0
    return report


def _open_cache(path: Path) -> EmbeddingCache:
    try:
        cache = EmbeddingCache(path)
        cache.get_many(["probe"])
        return cache
    except Exception as err:  # a damaged cache is only a cache: set it aside and start afresh
        logger.warning("embedding cache %s is unreadable (%s); starting a new one", path, err)
        with contextlib.suppress(OSError):
            path.rename(path.with_suffix(f".broken-{int(time.time())}"))
        return EmbeddingCache(path)


def _previous_hashes(index_dir: Path, settings: RetrievalSettings, model_id: str) -> dict[str, str]:
    gen = current_generation(index_dir)
    if gen is None:
        return {}
    try:
        manifest = read_manifest(gen)
        check_compatible(manifest, settings, model_id)
    except (IndexCorruptError, IndexMismatchError) as err:
        logger.warning("previous index not reused: %s", err)
        return {}
    return dict(manifest.get("articles", {}))


def _layout(articles: list[Article], settings: RetrievalSettings) -> tuple[
    list[dict[str, Any]], list[tuple[int, int, int, int, int, int]], list[tuple[int, int, int, int]], list[str]
]:
    docs: list[dict[str, Any]] = []
    chunk_rows: list[tuple[int, int, int, int, int, int]] = []
    sent_rows: list[tuple[int, int, int, int]] = []
    chunk_texts: list[str] = []
    for d, art in enumerate(articles):
        docs.append({
            "path": art.path, "title": art.title, "outlet": art.outlet, "published": art.published,
            "language": art.language, "url": art.url, "hash": art.content_hash, "text": art.text,
        })
        sent_index: dict[tuple[int, int], int] = {}
        for ch in chunk_text(art.text, max_tokens=settings.chunk_tokens, overlap_tokens=settings.chunk_overlap_tokens):
            ids = []
            for sp in ch.sentences:
                key = (sp.start, sp.end)
                if key not in sent_index:
                    sent_index[key] = len(sent_rows)
                    sent_rows.append((d, sp.start, sp.end, language_code(art.text[sp.start:sp.end])))
                ids.append(sent_index[key])
            chunk_rows.append((d, ch.start, ch.end, min(ids), max(ids) + 1, language_code(art.text[ch.start:ch.end])))
            chunk_texts.append(_chunk_embedding_text(art, art.text[ch.start:ch.end]))
    return docs, chunk_rows, sent_rows, chunk_texts


def article_vectors(articles: list[Article], chunk_rows: list[tuple[int, int, int, int, int, int]],
                    chunk_vecs: np.ndarray, *, embeddings: Any, model: str,
                    cache: EmbeddingCache | None) -> tuple[np.ndarray, int]:
    """One vector per article. A one-chunk article reuses its chunk vector; a longer one that fits
    the embedder's window is embedded whole (a 200-token cl100k chunk is only ~150 Chinese
    characters, far less than e5 reads); a longer one gets the normalised mean of its chunk
    vectors. Returns (vectors, number of texts embedded)."""
    dim = int(chunk_vecs.shape[1]) if chunk_vecs.size else 0
    out = np.zeros((len(articles), dim), dtype=np.float32)
    by_doc: dict[int, list[int]] = {}
    for c, row in enumerate(chunk_rows):
        by_doc.setdefault(int(row[0]), []).append(c)
    fits = getattr(embeddings, "fits_window", None)
    whole: list[int] = []
    for d, cs in by_doc.items():
        if len(cs) == 1:
            out[d] = chunk_vecs[cs[0]]
        elif fits is not None and fits(_chunk_embedding_text(articles[d], articles[d].text)):
            whole.append(d)
        else:
            mean = chunk_vecs[cs].mean(axis=0)
            out[d] = mean / (float(np.linalg.norm(mean)) or 1.0)
    if not whole:
        return out, 0
    vecs, n = embed_passages([_chunk_embedding_text(articles[d], articles[d].text) for d in whole],
                             embeddings=embeddings, model=model, cache=cache)
    out[whole] = vecs
    return out, n


def _chunk_embedding_text(article: Article, body: str) -> str:
    """The title gives a chunk its topic (news chunks often lack the subject's name)."""
    return f"{article.title}\n{body}" if article.title and article.title not in body else body


def _write_generation(index_dir: Path, *, manifest: dict[str, Any], docs: list[dict[str, Any]],
                      chunks: np.ndarray, sentences: np.ndarray, chunk_vecs: np.ndarray,
                      sent_vecs: np.ndarray, chunk_texts: list[str], doc_vecs: np.ndarray) -> str:
    from .bm25 import build_bm25

    name = f"gen-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.perf_counter_ns() % 10**6:06d}"
    tmp = index_dir / f".tmp-{name}"
    tmp.mkdir(parents=True)
    try:
        (tmp / "documents.json").write_text(json.dumps(docs, ensure_ascii=False), encoding="utf-8")
        np.save(tmp / "chunks.npy", chunks, allow_pickle=False)
        np.save(tmp / "sentences.npy", sentences, allow_pickle=False)
        if sent_vecs.size:
            np.save(tmp / "sentence_vectors.npy", sent_vecs, allow_pickle=False)
        np.save(tmp / "article_vectors.npy", doc_vecs, allow_pickle=False)
        dim = manifest["embedder"]["dim"] or 1
        flat = faiss.IndexFlatIP(dim)
        if chunk_vecs.size:
            flat.add(np.ascontiguousarray(chunk_vecs, dtype=np.float32))
        faiss.write_index(flat, str(tmp / "chunks.faiss"))
        build_bm25(chunk_texts, tmp / "bm25")
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        _fsync_tree(tmp)
        os.replace(tmp, index_dir / name)
        pointer = index_dir / f".CURRENT.{os.getpid()}"
        pointer.write_text(name + "\n")
        with open(pointer) as fh:
            os.fsync(fh.fileno())
        os.replace(pointer, index_dir / "CURRENT")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune(index_dir, keep=name)
    return name


def _fsync_tree(root: Path) -> None:
    for p in root.rglob("*"):
        if p.is_file():
            with open(p, "rb") as fh:
                os.fsync(fh.fileno())


def _prune(index_dir: Path, *, keep: str) -> None:
    gens = sorted((p for p in index_dir.glob("gen-*") if p.is_dir()), key=lambda p: p.stat().st_mtime)
    old = [p for p in gens if p.name != keep][: max(0, len(gens) - KEEP_GENERATIONS)]
    for p in old:
        shutil.rmtree(p, ignore_errors=True)
    for p in index_dir.glob(".tmp-gen-*"):  # leftovers of a crashed build
        if time.time() - p.stat().st_mtime > 3600:
            shutil.rmtree(p, ignore_errors=True)


def require_generation(settings: RetrievalSettings) -> Path:
    gen = current_generation(settings.index_dir)
    if gen is None:
        raise IndexMissingError(
            f"no index in {settings.data_dir} yet; build it with `industry-qa index` (corpus: {settings.corpus_dir})"
        )
    if not gen.is_dir():
        raise IndexCorruptError(f"the index in {settings.index_dir} points at a missing folder; run `industry-qa index --rebuild`")
    return gen
