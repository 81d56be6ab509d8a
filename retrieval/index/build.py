"""Building a generation: decide which articles the live generation already holds, then write a new
generation atomically (``assemble`` copies those and lays out, tokenises and embeds the rest).

Re-runnable: unchanged articles are copied from the live generation (a few new articles cost a few
seconds even at a million chunks), texts already in the embedding cache are not embedded again
(an interrupted build resumes where it stopped), and when the corpus, the embedder and the format
all match the live generation, and its files are intact, no new one is written. A damaged live
generation is not copied from but written anew (its vectors come from the cache), and each build
first clears what crashed builds left behind.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..corpus import Article, load_corpus
from ..embeddings import EmbeddingCache, embedder_id, make_embeddings
from ..errors import IndexCorruptError, IndexMismatchError
from ..settings import RetrievalSettings
from .assemble import Previous, assemble
from .embedder import Embedder
from .generations import (
    check_compatible,
    current_generation,
    damage,
    prune,
    read_manifest,
    write_generation,
    writer_lock,
)
from .loaded import LoadedIndex
from .schema import (
    ARTICLE_VECTORS,
    ARTICLE_VECTORS_FILE,
    CHUNK_VECTORS,
    FORMAT_VERSION,
    SENTENCE_VECTORS,
    chunker_config,
)

logger = logging.getLogger(__name__)


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
    dense: str = ""  # how the chunk vectors are searched: exact, ivf (trained) or ivf (carried over)

    def summary(self) -> str:
        return (
            f"{self.articles} articles ({len(self.added)} new, {len(self.changed)} changed, "
            f"{len(self.removed)} removed, {self.unchanged} unchanged); {self.chunks} chunks, "
            f"{self.sentences} sentences; embedded {self.embedded} new texts in {self.embed_seconds:.1f}s; "
            f"total {self.seconds:.1f}s" + (f"; dense search: {self.dense}" if self.dense else "")
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
    embedded: Callable[[int], None] | None = None,
) -> IndexReport:
    """Build a generation in ``settings.data_dir`` from in-memory articles (``build_index`` reads
    them from the corpus folder first; benchmarks pass their own). ``progress`` receives a line now
    and then while texts are embedded (done, rate, time left); ``embedded`` the number of texts
    embedded by the model so far, after each batch."""
    t0 = time.perf_counter() if started is None else started
    emb = embeddings or make_embeddings(settings.embeddings, base_url=settings.embeddings_base_url,
                                        api_key=settings.embeddings_api_key, batch_size=settings.embeddings_batch,
                                        concurrency=settings.embeddings_concurrency)
    model_id = embedder_id(settings.embeddings, emb)
    report = IndexReport(articles=len(articles), warnings=list(warnings or []))
    with writer_lock(settings.index_dir):
        prune(settings.index_dir)
        previous = None if rebuild else _previous(settings, model_id, report)
        old = _stored(previous)
        hashes = {a.path: a.content_hash for a in articles}
        report.added = sorted(p for p in hashes if p not in old)
        report.changed = sorted(p for p in hashes if p in old and old[p][1] != hashes[p])
        report.removed = sorted(p for p in old if p not in hashes)
        report.unchanged = len(articles) - len(report.added) - len(report.changed)
        same_kind = previous is not None and previous.manifest.get("sentence_vectors") == bool(sentence_vectors) \
            and previous.manifest.get("article_vectors") == ARTICLE_VECTORS
        if previous is not None and same_kind and len(old) == len(articles) == report.unchanged:
            report.generation = previous.gen_dir.name  # nothing to do: the live index already matches the corpus
            report.chunks, report.sentences = len(previous.chunks), len(previous.sentences)
            report.seconds = time.perf_counter() - t0
            return report
        if not same_kind:
            previous = None  # other vectors are wanted: everything is laid out again (vectors come from the cache)
        old_doc = np.array([old[a.path][0] if previous is not None and old.get(a.path, (0, ""))[1] == a.content_hash
                            else -1 for a in articles], dtype=np.int64)
        cache = _open_cache(settings.cache_path)
        embedder = Embedder(emb, model_id, cache, progress=progress, on_embedded=embedded)

        def fill(folder: Path) -> dict[str, Any]:
            made = assemble(folder, articles, old_doc, previous=previous, settings=settings, embedder=embedder,
                            sentence_vectors=sentence_vectors)
            report.chunks, report.sentences = made["chunks"], made["sentences"]
            dense = made["dense"]
            report.dense = dense["kind"] + ("" if dense["kind"] == "exact" else
                                            f" ({'carried over' if dense['carried'] else 'trained'}, {dense['nlist']} lists)")
            return {
                "format": FORMAT_VERSION,
                "embedder": {"id": model_id, "dim": made["dim"]},
                "chunker": chunker_config(settings),
                "counts": {"articles": len(articles), "chunks": made["chunks"], "sentences": made["sentences"]},
                "sentence_vectors": bool(sentence_vectors),
                "article_vectors": ARTICLE_VECTORS,
                "dense": dense,
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }

        try:
            report.generation = write_generation(settings.index_dir, fill)
        finally:
            cache.close()
        report.embedded, report.embed_seconds = embedder.embedded, embedder.seconds
    report.seconds = time.perf_counter() - t0
    return report


def _previous(settings: RetrievalSettings, model_id: str, report: IndexReport) -> Previous | None:
    """The live generation, when the next one can copy from it: same format, embedder and chunker,
    and its files intact (a damaged one is named in ``report``'s warnings and not copied from)."""
    gen = current_generation(settings.index_dir)
    if gen is None:
        return None
    try:
        manifest = read_manifest(gen)
        check_compatible(manifest, settings, model_id)
    except (IndexCorruptError, IndexMismatchError) as err:
        logger.warning("previous index not reused: %s", err)
        return None
    problem = damage(gen, manifest)
    idx = None
    if problem is None:
        try:
            idx = LoadedIndex(gen)
        except IndexCorruptError:
            problem = "it cannot be read"
    if idx is None:
        report.warnings.append(f"the live index {gen.name} was damaged ({problem}); rebuilt it from the corpus")
        logger.warning("%s", report.warnings[-1])
        return None
    vectors = {CHUNK_VECTORS: idx.chunk_vector_store}
    if idx.article_vectors is not None:
        vectors[ARTICLE_VECTORS_FILE] = idx.article_vectors
    if idx.sentence_vectors is not None:
        vectors[SENTENCE_VECTORS] = idx.sentence_vectors
    return Previous(gen_dir=gen, manifest=manifest, docs=idx.docs, chunks=idx.chunks, sentences=idx.sentences,
                    vectors=vectors)


def _stored(previous: Previous | None) -> dict[str, tuple[int, str]]:
    """Path -> (article number, content hash) of every article the previous generation holds."""
    if previous is None:
        return {}
    return {path: (d, h) for d, (path, h) in enumerate(previous.docs.content_hashes().items())}


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
