"""The articles of a generation: metadata in ``documents.jsonl``, bodies in ``texts.bin``, both
memory-mapped and read one article at a time through ``documents.npy``'s offsets.

Opening costs nothing per article, so a million-chunk index starts as fast as a small one; an
article's record is parsed when it is asked for (a few microseconds), and the last few hundred are
kept decoded because an answer reads the same few articles many times.
"""

from __future__ import annotations

import json
import mmap
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import overload

import numpy as np

from .schema import (
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
    DocumentMeta,
    DocumentRecord,
)

RECENT = 512  # decoded articles kept


class _Bytes:
    """A read-only file as bytes, memory-mapped (an empty file is simply empty)."""

    def __init__(self, path: Path) -> None:
        self.size = path.stat().st_size
        self._map: mmap.mmap | None = None
        if self.size:
            with open(path, "rb") as fh:
                self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)

    def slice(self, start: int, end: int) -> bytes:
        return self._map[start:end] if self._map is not None else b""


class DocumentTable(Sequence[DocumentRecord]):
    """``docs[d]`` is article ``d`` as a ``DocumentRecord`` (a fresh dict: callers may keep or change it)."""

    def __init__(self, gen_dir: Path) -> None:
        self.rows = np.load(gen_dir / DOCUMENTS, mmap_mode="r", allow_pickle=False)
        self._meta = _Bytes(gen_dir / DOCUMENT_META)
        self._texts = _Bytes(gen_dir / DOCUMENT_TEXTS)
        if self.rows.ndim != 2 or self.rows.shape[1] != DOC_COLUMNS or len(self.rows) < 1:
            raise ValueError("documents.npy has the wrong shape")
        end = self.rows[-1]
        if int(end[DOC_META]) != self._meta.size or int(end[DOC_TEXT]) != self._texts.size:
            raise ValueError("documents.jsonl or texts.bin is truncated")
        self._recent: OrderedDict[int, tuple[DocumentMeta, str]] = OrderedDict()
        self._lock = threading.Lock()
        self._by_path: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self.rows) - 1

    @overload
    def __getitem__(self, d: int) -> DocumentRecord: ...
    @overload
    def __getitem__(self, d: slice) -> list[DocumentRecord]: ...

    def __getitem__(self, d: int | slice) -> DocumentRecord | list[DocumentRecord]:
        if isinstance(d, slice):
            return [self[i] for i in range(*d.indices(len(self)))]
        meta, text = self._decoded(self._check(d))
        return DocumentRecord(**meta, text=text)

    def __iter__(self) -> Iterator[DocumentRecord]:
        for d in range(len(self)):
            yield self[d]

    def meta(self, d: int) -> DocumentMeta:
        """Article ``d`` without its text (its text is not decoded)."""
        return self._raw_meta(self._check(d))

    def text(self, d: int) -> str:
        return self._decoded(self._check(d))[1]

    def raw(self, column: int, start: int, end: int) -> bytes:
        """The stored bytes of articles ``start`` to ``end - 1``: their metadata lines
        (``column`` DOC_META) or their texts (DOC_TEXT), as the next generation copies them."""
        source = self._meta if column == DOC_META else self._texts
        return source.slice(int(self.rows[start, column]), int(self.rows[end, column]))

    def chunk_range(self, d: int) -> range:
        d = self._check(d)
        return range(int(self.rows[d, DOC_FIRST_CHUNK]), int(self.rows[d + 1, DOC_FIRST_CHUNK]))

    def sentence_range(self, d: int) -> range:
        d = self._check(d)
        return range(int(self.rows[d, DOC_FIRST_SENTENCE]), int(self.rows[d + 1, DOC_FIRST_SENTENCE]))

    def days(self) -> np.ndarray:
        """Each article's publication day (proleptic ordinal), NaN when undated."""
        col = np.asarray(self.rows[:-1, DOC_DAY], dtype=np.float64)
        col[col == NO_DAY] = np.nan
        return col

    def content_hashes(self) -> dict[str, str]:
        """Path -> content hash of every article (reads every article's metadata, not its text)."""
        return {m["path"]: m["hash"] for m in (self._raw_meta(d) for d in range(len(self)))}

    def find(self, path: str) -> int | None:
        """The article stored under ``path`` (the first call reads every article's metadata)."""
        if self._by_path is None:
            by_path: dict[str, int] = {}
            for d in range(len(self)):
                by_path.setdefault(self._raw_meta(d)["path"], d)
            self._by_path = by_path
        return self._by_path.get(path)

    def _check(self, d: int) -> int:
        d = int(d)
        if d < 0:
            d += len(self)
        if not 0 <= d < len(self):
            raise IndexError(f"no article {d} in an index of {len(self)}")
        return d

    def _raw_meta(self, d: int) -> DocumentMeta:
        a, b = int(self.rows[d, DOC_META]), int(self.rows[d + 1, DOC_META])
        meta: DocumentMeta = json.loads(self._meta.slice(a, b))
        return meta

    def _decoded(self, d: int) -> tuple[DocumentMeta, str]:
        with self._lock:
            hit = self._recent.get(d)
            if hit is not None:
                self._recent.move_to_end(d)
                return hit
        a, b = int(self.rows[d, DOC_TEXT]), int(self.rows[d + 1, DOC_TEXT])
        value = (self._raw_meta(d), self._texts.slice(a, b).decode("utf-8"))
        with self._lock:
            self._recent[d] = value
            if len(self._recent) > RECENT:
                self._recent.popitem(last=False)
        return value
