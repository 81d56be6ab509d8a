"""Generations on disk: the ``CURRENT`` pointer, the one-writer lock, the manifest check, and the
atomic write of a new generation.

A build writes a new generation folder, then swaps ``CURRENT``: a crash mid-build leaves the
previous generation live, and a reader that already loaded a generation keeps a consistent view.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from ..errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from ..settings import RetrievalSettings
from .bm25 import build_bm25
from .schema import (
    ARTICLE_VECTORS_FILE,
    BM25_FOLDER,
    CHUNK_VECTORS,
    CHUNKS,
    DOCUMENTS,
    FORMAT_VERSION,
    MANIFEST,
    SENTENCE_VECTORS,
    SENTENCES,
    ChunkRow,
    Layout,
    SentenceRow,
    chunker_config,
)

KEEP_GENERATIONS = 2

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


def require_generation(settings: RetrievalSettings) -> Path:
    gen = current_generation(settings.index_dir)
    if gen is None:
        raise IndexMissingError(
            f"no index in {settings.data_dir} yet; build it with `industry-qa index` (corpus: {settings.corpus_dir})"
        )
    if not gen.is_dir():
        raise IndexCorruptError(f"the index in {settings.index_dir} points at a missing folder; run `industry-qa index --rebuild`")
    return gen


def read_manifest(gen_dir: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((gen_dir / MANIFEST).read_text(encoding="utf-8"))
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


def write_generation(index_dir: Path, *, manifest: dict[str, Any], rows: Layout, chunk_vecs: np.ndarray,
                     sent_vecs: np.ndarray, doc_vecs: np.ndarray) -> str:
    """Write a complete generation beside the live one, then make it live; returns its name."""
    name = f"gen-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.perf_counter_ns() % 10**6:06d}"
    tmp = index_dir / f".tmp-{name}"
    tmp.mkdir(parents=True)
    try:
        (tmp / DOCUMENTS).write_text(json.dumps(rows.documents, ensure_ascii=False), encoding="utf-8")
        chunks = np.asarray(rows.chunks, dtype=np.int64).reshape(-1, len(ChunkRow._fields))
        np.save(tmp / CHUNKS, chunks, allow_pickle=False)
        sentences = np.asarray(rows.sentences, dtype=np.int64).reshape(-1, len(SentenceRow._fields))
        np.save(tmp / SENTENCES, sentences, allow_pickle=False)
        if sent_vecs.size:
            np.save(tmp / SENTENCE_VECTORS, sent_vecs, allow_pickle=False)
        np.save(tmp / ARTICLE_VECTORS_FILE, doc_vecs, allow_pickle=False)
        dim = manifest["embedder"]["dim"] or 1
        flat = faiss.IndexFlatIP(dim)
        if chunk_vecs.size:
            flat.add(np.ascontiguousarray(chunk_vecs, dtype=np.float32))
        faiss.write_index(flat, str(tmp / CHUNK_VECTORS))
        build_bm25(rows.chunk_texts, tmp / BM25_FOLDER)
        (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
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
