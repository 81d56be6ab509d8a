"""The live index generation as the bot's background work sees it: its name and its articles, and
which of them arrived (or changed) since they were last looked at.

``ServiceGenerations`` shares the answerer's loaded index, so a large index is opened once;
``DiskGenerations`` opens the generation's article table alone (when the answerer is not the real
service). Either way the articles are memory-mapped: listing what is new reads every article's
metadata, and the text only of the new ones. ``arrivals`` compares a generation with the paths and
hashes seen before.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from retrieval.errors import RetrievalError
from retrieval.index import DocumentRecord, LoadedIndex, current_generation
from retrieval.index.documents import DocumentTable
from retrieval.index.schema import DocumentMeta
from retrieval.logsafe import loggable
from retrieval.settings import RetrievalSettings

logger = logging.getLogger(__name__)


class Articles(Protocol):
    """A generation's articles (``retrieval.index.documents.DocumentTable``)."""

    def __len__(self) -> int: ...

    def __getitem__(self, d: int) -> DocumentRecord: ...

    def meta(self, d: int) -> DocumentMeta: ...

    def content_hashes(self) -> dict[str, str]: ...

    def find(self, path: str) -> int | None: ...


@dataclass(frozen=True)
class Generation:
    name: str  # the generation folder's name: a new one means the index changed
    docs: Articles


@dataclass(frozen=True)
class Arrival:
    """What a generation brought compared with what was seen before."""

    new: list[DocumentRecord] = field(default_factory=list)  # paths never seen
    changed: list[DocumentRecord] = field(default_factory=list)  # seen, with other content
    hashes: dict[str, str] = field(default_factory=dict)  # path -> hash of the whole generation

    @property
    def touched(self) -> list[DocumentRecord]:
        return [*self.new, *self.changed]


def arrivals(docs: Articles, seen: Mapping[str, str] | None) -> Arrival:
    """``seen`` None means nothing was ever looked at: the generation is the baseline, nothing is new."""
    hashes = docs.content_hashes()
    if seen is None:
        return Arrival(hashes=hashes)
    new = [p for p in hashes if p not in seen]
    changed = [p for p, h in hashes.items() if p in seen and seen[p] != h]
    return Arrival(new=_records(docs, new), changed=_records(docs, changed), hashes=hashes)


def _records(docs: Articles, paths: list[str]) -> list[DocumentRecord]:
    found = (docs.find(p) for p in paths)
    return [docs[d] for d in found if d is not None]


class Generations(Protocol):
    def current(self) -> Generation | None:
        """The live generation (None while there is no usable index)."""


@runtime_checkable
class IndexHolder(Protocol):
    """What ``retrieval.service.QAService`` offers: switch to a newer generation, and the loaded one."""

    def reload(self) -> bool: ...

    def index(self) -> LoadedIndex: ...


class ServiceGenerations:
    def __init__(self, service: IndexHolder) -> None:
        self.service = service

    def current(self) -> Generation | None:
        try:
            self.service.reload()  # reads the CURRENT pointer; loads only when it moved
            index = self.service.index()
        except RetrievalError as err:
            logger.warning("no usable index for alerts and App Home: %s", loggable(err))
            return None
        return Generation(index.gen_dir.name, index.docs)


class DiskGenerations:
    def __init__(self, settings: RetrievalSettings) -> None:
        self.index_dir = settings.index_dir
        self._cached: Generation | None = None

    def current(self) -> Generation | None:
        gen = current_generation(self.index_dir)
        if gen is None:
            return None
        if self._cached is None or self._cached.name != gen.name:
            try:
                self._cached = Generation(gen.name, DocumentTable(gen))
            except (OSError, ValueError) as err:
                logger.warning("could not read the index's articles: %s", loggable(err))
                return None
        return self._cached


class ArticleLookup:
    """An article of the live generation by its path (what a saved question quotes)."""

    def __init__(self, generations: Generations) -> None:
        self.generations = generations

    def get(self, path: str) -> DocumentRecord | None:
        generation = self.generations.current()
        d = generation.docs.find(path) if generation is not None else None
        return generation.docs[d] if generation is not None and d is not None else None
