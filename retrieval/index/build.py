"""Building a generation: lay the articles out, embed what the cache lacks, write it atomically.

Re-runnable: only texts not in the embedding cache are embedded, so unchanged articles cost
nothing, and when the corpus, the embedder and the format all match the live generation, and its
files are intact, no new one is written. A damaged live generation is written anew (its vectors
come from the cache), and each build first clears what crashed builds left behind.
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
from ..embeddings import EmbeddingCache, embed_passages, embedder_id, make_embeddings
from ..errors import IndexCorruptError, IndexMismatchError
from ..settings import RetrievalSettings
from .generations import (
    check_compatible,
    current_generation,
    damage,
    prune,
    read_manifest,
    write_generation,
    writer_lock,
)
from .schema import ARTICLE_VECTORS, FORMAT_VERSION, ChunkRow, chunk_embedding_text, chunker_config, layout

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

    def summary(self) -> str:
        return (
            f"{self.articles} articles ({len(self.added)} new, {len(self.changed)} changed, "
            f"{len(self.removed)} removed, {self.unchanged} unchanged); {self.chunks} chunks, "
            f"{self.sentences} sentences; embedded {self.embedded} new texts in {self.embed_seconds:.1f}s; "
            f"total {self.seconds:.1f}s"
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
    them from the corpus folder first; benchmarks pass their own). ``progress`` gets a line per
    embedding batch; ``embedded`` the number of texts embedded so far."""
    t0 = time.perf_counter() if started is None else started
    emb = embeddings or make_embeddings(settings.embeddings, base_url=settings.embeddings_base_url,
                                        api_key=settings.embeddings_api_key)
    model_id = embedder_id(settings.embeddings, emb)
    report = IndexReport()
    report.warnings = list(warnings or [])
    index_dir = settings.index_dir
    with writer_lock(index_dir):
        prune(index_dir)
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
                and live_manifest.get("article_vectors") == ARTICLE_VECTORS
                and not _damaged(live, live_manifest, report)):
            report.generation = live.name  # nothing to do: the live index already matches the corpus
            report.chunks = int(live_manifest.get("counts", {}).get("chunks", 0))
            report.sentences = int(live_manifest.get("counts", {}).get("sentences", 0))
            report.seconds = time.perf_counter() - t0
            return report

        rows = layout(articles, settings)
        report.chunks, report.sentences = len(rows.chunks), len(rows.sentences)
        cache = _open_cache(settings.cache_path)
        te = time.perf_counter()

        tally = _Tally(progress, embedded)
        chunk_vecs, n1 = embed_passages(rows.chunk_texts, embeddings=emb, model=model_id, cache=cache,
                                        progress=tally.phase())
        sent_vecs = np.zeros((0, 0), dtype=np.float32)
        n2 = 0
        if sentence_vectors:
            sent_texts = [articles[s.doc].text[s.start:s.end] for s in rows.sentences]
            sent_vecs, n2 = embed_passages(sent_texts, embeddings=emb, model=model_id, cache=cache,
                                           progress=tally.phase())
        doc_vecs, n3 = article_vectors(articles, rows.chunks, chunk_vecs, embeddings=emb, model=model_id, cache=cache,
                                       progress=tally.phase())
        cache.close()
        report.embed_seconds = time.perf_counter() - te
        report.embedded = n1 + n2 + n3
        dim = int(chunk_vecs.shape[1]) if chunk_vecs.size else int(getattr(emb, "dim", 0) or 0)
        manifest = {
            "format": FORMAT_VERSION,
            "embedder": {"id": model_id, "dim": dim},
            "chunker": chunker_config(settings),
            "articles": hashes,
            "counts": {"articles": len(articles), "chunks": len(rows.chunks), "sentences": len(rows.sentences)},
            "sentence_vectors": bool(sentence_vectors),
            "article_vectors": ARTICLE_VECTORS,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        report.generation = write_generation(index_dir, manifest=manifest, rows=rows, chunk_vecs=chunk_vecs,
                                             sent_vecs=sent_vecs, doc_vecs=doc_vecs)
    report.seconds = time.perf_counter() - t0
    return report


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


class _Tally:
    """Turns each ``embed_passages`` call's (done, total) into one running count of texts embedded
    by the build, for ``progress`` (a line per batch) and ``embedded`` (the count)."""

    def __init__(self, progress: Callable[[str], None] | None, embedded: Callable[[int], None] | None) -> None:
        self.progress, self.embedded, self.count = progress, embedded, 0

    def phase(self) -> Callable[[int, int], None]:
        last = 0

        def report(done: int, total: int) -> None:
            nonlocal last
            self.count, last = self.count + done - last, done
            if self.progress:
                self.progress(f"embedded {done}/{total}")
            if self.embedded:
                self.embedded(self.count)

        return report


def _damaged(live: Path, manifest: dict[str, Any], report: IndexReport) -> bool:
    """True (with a warning in ``report``) when the live generation's files are not the ones its
    manifest records, or, for a manifest without file sums, when it cannot be read."""
    problem = damage(live, manifest)
    if problem is None and "files" not in manifest:
        from .loaded import LoadedIndex

        try:
            LoadedIndex(live)
        except IndexCorruptError:
            problem = "it cannot be read"
    if problem is None:
        return False
    report.warnings.append(f"the live index {live.name} was damaged ({problem}); rebuilt it from the corpus")
    logger.warning("%s", report.warnings[-1])
    return True


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
