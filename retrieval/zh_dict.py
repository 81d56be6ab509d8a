"""jieba with its dictionary read one word at a time from an SQLite copy, so that a process that
cuts a question or two does not load all of it.

jieba's prefix dictionary is ~580k entries; unmarshalling it costs 1.2-1.7 s of a cold Chinese
``industry-qa ask``, and tagging parts of speech (``jieba.posseg``) parses the 349k-line dictionary
text once more (~0.7 s). A question needs a few dozen entries. Here a ``jieba.Tokenizer`` is given
a frequency table that looks words up in an SQLite file built once from jieba's own dictionary
(``Tokenizer.gen_pfdict``, so the frequencies, and therefore the cuts, are jieba's), kept beside
jieba's own cache in the temporary directory. A process that cuts a lot (indexing Chinese
articles) passes ``FULL_LOAD_AFTER`` lookups and then uses jieba's in-memory dictionary as
before. When the file cannot be built or read, jieba's own tokenizer is used: slower to start,
same words.
"""

from __future__ import annotations

import importlib
import io
import logging
import os
import sqlite3
import sys
import tempfile
import threading
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

FULL_LOAD_AFTER = 100_000  # lookups; ~0.3 s of SQLite reads, a fifth of loading the whole dictionary
_KEEP_AT_MOST = 200_000
NOUN_TAGS = ("n", "vn", "eng", "x")  # nouns, names, verbal nouns, Latin words, words jieba does not know


def import_jieba() -> Any:
    """``import jieba`` without its optional ``pkg_resources`` import (~0.2 s; jieba then opens its
    data files by path instead)."""
    if "jieba" in sys.modules:
        loaded = sys.modules["jieba"]
        loaded.setLogLevel(logging.WARNING)  # imported elsewhere first: still no dictionary chatter on stderr
        return loaded
    block = "pkg_resources" not in sys.modules
    if block:
        sys.modules["pkg_resources"] = None  # type: ignore[assignment]
    try:
        import jieba
    finally:
        if block and sys.modules.get("pkg_resources", False) is None:
            del sys.modules["pkg_resources"]
    jieba.setLogLevel(logging.WARNING)
    return jieba


class _Words:
    """The parts of a dict jieba's tokenizer uses (``in``, ``[]``, ``get``), answered from SQLite;
    each answer is kept, so a word is read at most once."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[int, str | None] | None] = {}
        self.reads = 0

    def row(self, word: str) -> tuple[int, str | None] | None:
        try:
            return self._seen[word]
        except KeyError:
            pass
        with self._lock:
            found = self._db.execute("SELECT freq, tag FROM words WHERE word = ?", (word,)).fetchone()
            self.reads += 1
        row = (int(found[0]), found[1]) if found else None
        if len(self._seen) >= _KEEP_AT_MOST:
            self._seen.clear()  # a long-running process keeps at most this many
        self._seen[word] = row
        return row

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self.row(word) is not None

    def __getitem__(self, word: str) -> int:
        row = self.row(word)
        if row is None:
            raise KeyError(word)
        return row[0]

    def get(self, word: str, default: int | None = None) -> int | None:
        row = self.row(word)
        return default if row is None else row[0]


class _Cutter:
    """jieba's tokenizer on the SQLite words until the process has read ``FULL_LOAD_AFTER`` of
    them, then jieba's own (fully loaded) one."""

    def __init__(self, jieba: Any, words: _Words, total: int) -> None:
        self._jieba = jieba
        self.words = words
        self._lazy = jieba.Tokenizer()
        self._lazy.FREQ, self._lazy.total, self._lazy.initialized = words, total, True
        self._tagger: Any = None
        self._tagger_lock = threading.Lock()

    def tagger(self) -> Any:
        """``jieba.posseg``'s tagger on this tokenizer and the file's tags."""
        with self._tagger_lock:
            if self._tagger is None:
                tags = _Tags(self.words)
                posseg = _posseg(tags)
                tagger = posseg.POSTokenizer.__new__(posseg.POSTokenizer)
                tagger.tokenizer, tagger.word_tag_tab = self._lazy, tags
                self._tagger = tagger
            return self._tagger

    def tokenizer(self) -> Any:
        if self.words.reads < FULL_LOAD_AFTER:
            return self._lazy
        self._jieba.initialize()
        return self._jieba.dt


@lru_cache(maxsize=1)
def _cutter() -> _Cutter | None:
    jieba = import_jieba()
    try:
        path = _ensure_file(jieba)
        db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        total = db.execute("SELECT value FROM meta WHERE key = 'total'").fetchone()
        if total is None:
            raise sqlite3.DatabaseError("no total")
        return _Cutter(jieba, _Words(db), int(total[0]))
    except (OSError, sqlite3.Error, ValueError) as exc:
        logger.warning("jieba's word file is not usable (%s); loading jieba's whole dictionary", exc)
        return None


def tokenizer() -> Any:
    """A jieba tokenizer (``cut_for_search``, ``lcut``) whose cuts are jieba's default ones."""
    cutter = _cutter()
    if cutter is not None:
        return cutter.tokenizer()
    jieba = import_jieba()
    jieba.initialize()
    return jieba.dt


def tagged_words(piece: str) -> Iterator[tuple[str, str]]:
    """(word, part-of-speech tag) of a Chinese run, as ``jieba.posseg.lcut`` gives them, with the
    dictionary's tags read from the word file too."""
    cutter = _cutter()
    tagger = cutter.tagger() if cutter is not None else _posseg().dt
    for pair in tagger.lcut(piece):
        yield pair.word, pair.flag


def _posseg(tags: _Tags | None = None) -> Any:
    """``jieba.posseg``. Importing it makes a default tagger that parses jieba's whole dictionary
    text for the tags (~0.7 s); with ``tags``, that tagger reads them from the word file instead."""
    jieba = import_jieba()
    if tags is None or "jieba.posseg" in sys.modules:
        return importlib.import_module("jieba.posseg")
    jieba.dt.get_dict_file = lambda: io.BytesIO()  # the import-time parse finds nothing ...
    try:
        posseg = importlib.import_module("jieba.posseg")
    finally:
        del jieba.dt.get_dict_file
    posseg.dt.word_tag_tab = tags  # ... and its default tagger reads the file's tags
    return posseg


class _Tags:
    """The tag table of ``jieba.posseg`` (it only calls ``get``), read from the word file."""

    def __init__(self, words: _Words) -> None:
        self._words = words

    def get(self, word: str, default: str = "x") -> str:
        row = self._words.row(word)
        return (row[1] or default) if row else default


def word_file(jieba: Any) -> Path:
    dict_path = Path(jieba.__file__).with_name("dict.txt")
    size = dict_path.stat().st_size if dict_path.exists() else 0
    return Path(tempfile.gettempdir()) / f"industry-qa-jieba-{jieba.__version__}-{size}.sqlite"


def _ensure_file(jieba: Any) -> Path:
    path = word_file(jieba)
    if path.exists():
        return path
    freq, total = jieba.Tokenizer.gen_pfdict(jieba.dt.get_dict_file())
    tags = _tags(jieba.dt.get_dict_file())
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        with sqlite3.connect(tmp) as db:
            db.executescript("CREATE TABLE words (word TEXT PRIMARY KEY, freq INTEGER NOT NULL, tag TEXT) WITHOUT ROWID;"
                             "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            db.executemany("INSERT INTO words VALUES (?, ?, ?)", ((w, f, tags.get(w)) for w, f in freq.items()))
            db.execute("INSERT INTO meta VALUES ('total', ?)", (str(total),))
        db.close()
        os.chmod(tmp, 0o644)  # other users' processes may read it, as they read jieba's own cache
        os.replace(tmp, path)  # readers never see a half-written file
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    logger.info("wrote jieba's words to %s (%d entries)", path, len(freq))
    return path


def _tags(f: Any) -> dict[str, str]:
    """word -> tag, as ``jieba.posseg`` reads them (the last line of a word wins)."""
    tags: dict[str, str] = {}
    with f:
        for line in f:
            parts = line.strip().decode("utf-8").split(" ")
            if len(parts) == 3:
                tags[parts[0]] = parts[2]
    return tags
