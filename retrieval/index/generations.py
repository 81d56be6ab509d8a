"""Generations on disk: the ``CURRENT`` pointer, the one-writer lock, the manifest check, and the
atomic write of a new generation.

A build writes a new generation folder, then swaps ``CURRENT``: a crash mid-build leaves the
previous generation live, and a reader that already loaded a generation keeps a consistent view.
The manifest, written last, records the size and SHA-256 of every other file, so damage that still
parses (a truncated array, other numbers of the right shape) is found by ``damage``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from ..settings import RetrievalSettings
from .dense import rewrite_dense
from .schema import FORMAT_VERSION, MANIFEST, chunker_config

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
        raise IndexCorruptError(f"the index in {gen_dir.parent} has no manifest; run `industry-qa index --rebuild`") from None
    except (OSError, ValueError) as err:
        raise IndexCorruptError(
            f"the index manifest in {gen_dir} is unreadable ({err}); run `industry-qa index --rebuild`") from None
    if not isinstance(manifest, dict):
        raise IndexCorruptError(f"the index manifest in {gen_dir} is damaged; run `industry-qa index --rebuild`")
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexCorruptError(
            f"the index in {gen_dir.parent} has format {manifest.get('format')!r}, this version reads format "
            f"{FORMAT_VERSION}; run `industry-qa index --rebuild`"
        )
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


def write_generation(index_dir: Path, fill: Callable[[Path], dict[str, Any]]) -> str:
    """Write a complete generation beside the live one, then make it live; returns its name.
    ``fill(folder)`` writes the generation's files into the (temporary) folder and returns its manifest."""
    name = f"gen-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.perf_counter_ns() % 10**6:06d}"
    tmp = index_dir / f".tmp-{name}"
    tmp.mkdir(parents=True)
    try:
        manifest = {**fill(tmp), "files": file_sums(tmp)}
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
    prune(index_dir)
    return name


def retrain_dense(gen_dir: Path, *, min_chunks: int) -> dict[str, Any]:
    """Train a generation's dense index again from its chunk vectors, after they were changed in
    place (the speed benchmark perturbs its synthetic copies); returns the new manifest entry."""
    manifest = read_manifest(gen_dir)
    manifest["dense"] = rewrite_dense(gen_dir, min_chunks=min_chunks)
    manifest["files"] = file_sums(gen_dir)
    tmp = gen_dir / f".{MANIFEST}.{os.getpid()}"
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, gen_dir / MANIFEST)
    return dict(manifest["dense"])


def _fsync_tree(root: Path) -> None:
    for p in root.rglob("*"):
        if p.is_file():
            with open(p, "rb") as fh:
                os.fsync(fh.fileno())


def file_sums(gen_dir: Path) -> dict[str, dict[str, Any]]:
    """Size and SHA-256 of every file of a generation but the manifest, by path relative to it."""
    sums: dict[str, dict[str, Any]] = {}
    for p in sorted(gen_dir.rglob("*")):
        if p.is_file() and p.name != MANIFEST:
            digest = hashlib.sha256()
            with open(p, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
            sums[p.relative_to(gen_dir).as_posix()] = {"bytes": p.stat().st_size, "sha256": digest.hexdigest()}
    return sums


def damage(gen_dir: Path, manifest: dict[str, Any]) -> str | None:
    """What is wrong with the files of a generation whose manifest is ``manifest`` (None: all
    intact), or None as well when the manifest predates file sums (the reader's checks then apply)."""
    recorded = manifest.get("files")
    if not isinstance(recorded, dict):
        return None
    found = file_sums(gen_dir)
    for name, want in sorted(recorded.items()):
        got = found.get(name)
        if got is None:
            return f"{name} is missing"
        if got != want:
            return f"{name} has changed since it was written"
    extra = sorted(set(found) - set(recorded))
    return f"{extra[0]} does not belong to it" if extra else None


def prune(index_dir: Path) -> None:
    """Remove what is no longer needed: generations beyond the live one and the one before it, and
    the temporary folders and pointer files of builds that crashed. Call it holding the writer
    lock: then no build is under way, so every temporary file is a leftover."""
    live = current_generation(index_dir)
    gens = sorted((p for p in index_dir.glob("gen-*") if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    kept = [p for p in gens if live is not None and p.name == live.name]
    kept += [p for p in gens if p not in kept][: KEEP_GENERATIONS - len(kept)]
    for p in gens:
        if p not in kept:
            shutil.rmtree(p, ignore_errors=True)
    for p in index_dir.glob(".tmp-gen-*"):
        shutil.rmtree(p, ignore_errors=True)
    for p in index_dir.glob(".CURRENT.*"):
        p.unlink(missing_ok=True)
