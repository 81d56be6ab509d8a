"""Names and terms in English and Chinese: what a question is about, in both languages.

Two curated lists, never fitted to questions:

* **names** (companies, products, people, places): ``retrieval/glossary.yml`` shipped with the
  package, plus the corpus's own ``glossary.yml`` for names the news adds;
* **terms** of finance and industry news (IPO price / 发行价, first day / 首日 ...):
  ``retrieval/lexicon.yml``.

Each line is a group of equivalents. A small multilingual embedding model matches "智谱" with
"Zhipu" and "发行价" with "IPO price" only weakly; with the groups, a question is searched with its
other-language equivalents, and a sentence in either language counts as naming what the question
names (``retrieval/evidence.py``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml

from .text import detect_language

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

FIND_CACHE = 50_000  # texts whose mentions are kept (a few MB)
CORRECT_CACHE = 10_000  # questions whose corrected spelling is kept
NAME = "name"  # a company, product or person: what a question is about
TERM = "term"  # a finance or industry concept: what about it (a price, a lock-up)
TIME = "time"  # first, latest, last year: how the question is put
PLACE = "place"  # Hong Kong, HKEX
KINDS = (NAME, TERM, TIME, PLACE)
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN_EDGE = "A-Za-z0-9"
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's: the shipped lists parse in ms, not 0.4 s
_WORD = re.compile(r"[A-Za-z0-9]+(?:[.&-][A-Za-z0-9]+)*")


@dataclass(frozen=True)
class TermGroup:
    """Equivalent terms; ``kind`` is NAME (an entity) or TERM (a concept)."""

    gid: int
    terms: tuple[str, ...]
    kind: str

    def first(self, *, chinese: bool) -> str | None:
        """The canonical term of one language (the first listed), None if the group has none."""
        return next((t for t in self.terms if is_cjk(t) == chinese), None)


@dataclass(frozen=True)
class Glossary:
    groups: tuple[TermGroup, ...] = ()
    _by_surface: dict[tuple[str, str], frozenset[int]] = field(default_factory=dict, compare=False, repr=False)
    _found: dict[str, dict[int, list[tuple[int, int]]]] = field(default_factory=dict, compare=False, repr=False)
    _corrected: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, names: Iterable[Iterable[str]], terms: Iterable[Iterable[str]] = (),
           time: Iterable[Iterable[str]] = (), places: Iterable[Iterable[str]] = ()) -> Glossary:
        groups: list[TermGroup] = []
        for kind, lines in ((NAME, names), (TERM, terms), (TIME, time), (PLACE, places)):
            for line in lines:
                cleaned = tuple(dict.fromkeys(str(t).strip() for t in line if str(t).strip()))
                if cleaned:
                    groups.append(TermGroup(len(groups), cleaned, kind))
        surfaces: dict[tuple[str, str], set[int]] = {}
        for g in groups:
            for t in g.terms:
                surfaces.setdefault(_surface_key(t), set()).add(g.gid)
        return cls(tuple(groups), {k: frozenset(v) for k, v in surfaces.items()})

    @cached_property
    def _starts(self) -> tuple[dict[str, int], dict[str, tuple[int, ...]]]:
        """Lookup shortcuts: for an English first word (lowercase), the most words a term starting
        with it has; for a first character of a Chinese term, the lengths of such terms."""
        words: dict[str, int] = {}
        chars: dict[str, set[int]] = {}
        for kind, key in self._by_surface:
            if kind == "cjk":
                chars.setdefault(key[0], set()).add(len(key))
            else:
                first = key.split(" ")[0].lower()
                words[first] = max(words.get(first, 0), key.count(" ") + 1)
        return words, {c: tuple(sorted(n, reverse=True)) for c, n in chars.items()}

    def find(self, text: str) -> dict[int, list[tuple[int, int]]]:
        """Every group the text mentions, with the character spans of the mentions. Mentions may
        overlap: "Hong Kong IPO" mentions the listing and "IPO"; "股东大会" the meeting and "股东".
        English terms match whole words (a final -s/-es may be added), acronyms only in capitals.
        Results are kept for the texts seen last (sentences and titles recur across questions)."""
        return _kept(self._found, text, FIND_CACHE, self._scan)

    def _scan(self, text: str) -> dict[int, list[tuple[int, int]]]:
        found: dict[int, list[tuple[int, int]]] = {}
        table = self._by_surface
        first_words, first_chars = self._starts
        words = [(m.start(), m.end(), m.group(0)) for m in _WORD.finditer(text)]
        for i, (start, _, word) in enumerate(words):
            low = word.lower()
            most = first_words.get(low) or first_words.get(low[:-1]) or first_words.get(low[:-2])
            if not most:
                continue
            for n in range(1, min(most, len(words) - i) + 1):
                exact = " ".join(w for _, _, w in words[i:i + n])
                for key in _latin_keys(exact):
                    for gid in table.get(key, ()):
                        found.setdefault(gid, []).append((start, words[i + n - 1][1]))
        for i, ch in enumerate(text):
            lengths = first_chars.get(ch)
            if not lengths or (ch.isascii() and i and text[i - 1].isascii() and text[i - 1].isalnum()):
                continue  # a term starting with a letter ("A股") starts a word
            for n in lengths:
                for gid in table.get(("cjk", text[i:i + n]), ()):
                    found.setdefault(gid, []).append((i, i + n))
        return found

    def mentions(self, text: str) -> frozenset[int]:
        return frozenset(self.find(text))

    def expand(self, question: str, *, kinds: tuple[str, ...] = (NAME,), every: bool = False) -> str:
        """The question plus equivalents of every group of ``kinds`` it mentions. By default the
        first term in the other language, when the question has none of that language yet (the
        dense side: a longer text costs embedding time and dilutes it); with ``every``, all the
        group's other terms in both languages (the BM25 side, where "第二天" should also find
        "第二个交易日" and more words cost nothing)."""
        zh = detect_language(question) == "zh"
        mentioned = self.find(question)
        extra: list[str] = []
        for gid in sorted(mentioned, key=lambda g: min(s for s, _ in mentioned[g])):
            group = self.groups[gid]
            if group.kind not in kinds:
                continue
            if every:
                others = [t for t in group.terms if not self._mentioned_term(question, t)]
            elif any(is_cjk(t) != zh and self._mentioned_term(question, t) for t in group.terms):
                continue
            else:
                others = [group.first(chinese=not zh) or ""]
            extra.extend(t for t in others if t and t not in extra)
        return f"{question} ({'; '.join(extra)})" if extra else question

    def group_of(self, term: str) -> tuple[str, ...] | None:
        """The glossary line naming ``term`` (any spelling, any case; a name before a term), or None."""
        gid = self.gid_of(term)
        return None if gid is None else self.groups[gid].terms

    def gid_of(self, term: str) -> int | None:
        """The id of the line ``group_of`` returns."""
        key = _surface_key(" ".join(term.split()))
        gids = self._by_surface.get(key) or self._by_surface.get(("cs", key[1].upper()), frozenset())
        return min(gids, key=lambda g: (KINDS.index(self.groups[g].kind), g), default=None)

    def correct(self, text: str) -> str:
        """``text`` with misspelt English names put right ("zhupu" -> "Zhipu", "minimx" ->
        "MiniMax"): a word of five or more letters one edit away from a name, that is no name itself;
        and acronyms of three or more letters written in lower case put in capitals ("ipo" -> "IPO":
        Slack questions are often typed in lower case, and acronyms match only in capitals, so that
        shorter ones do not match common words: "US" is not "us").
        Results are kept for the texts seen last (a question is read here more than once)."""
        return _kept(self._corrected, text, CORRECT_CACHE, self._correct)

    def _correct(self, text: str) -> str:
        names = self._latin_names
        out = text
        for m in reversed(list(_WORD.finditer(text))):
            capitals = _acronym(m.group(0), self._by_surface)  # "kimi ipo?": acronyms match in capitals only
            if capitals:
                out = out[:m.start()] + capitals + out[m.end():]
                continue
            word = m.group(0).lower()
            if len(word) < 5 or ("ci", word) in self._by_surface or word in _COMMON:
                continue
            fix = next((n for n in names if abs(len(n) - len(word)) <= 1 and _one_edit(word, n.lower())), None)
            if fix:
                out = out[:m.start()] + fix + out[m.end():]
        return out

    @cached_property
    def _latin_names(self) -> tuple[str, ...]:
        return tuple(t for g in self.groups if g.kind == NAME for t in g.terms
                     if not is_cjk(t) and len(t) >= 5 and " " not in t and t.isalpha())

    def _mentioned_term(self, text: str, term: str) -> bool:
        return mentions(text, term)

    def names(self, gids: Iterable[int]) -> frozenset[int]:
        return frozenset(g for g in gids if self.groups[g].kind == NAME)


def _kept(store: dict[str, _T], text: str, limit: int, make: Callable[[str], _T]) -> _T:
    """``make(text)``, kept in ``store`` (emptied when it holds ``limit`` texts)."""
    hit = store.get(text)
    if hit is not None:
        return hit
    value = make(text)
    if len(store) >= limit:
        store.clear()
    store[text] = value
    return value


def mentions(text: str, term: str) -> bool:
    """Whether ``text`` names ``term``: as a whole word in Latin script, anywhere in Chinese."""
    if is_cjk(term):
        return term.lower() in text.lower()
    pattern = rf"(?<![{_LATIN_EDGE}]){re.escape(term)}(?![{_LATIN_EDGE}])"
    return re.search(pattern, text, re.IGNORECASE) is not None


_COMMON = frozenset({"price", "prices", "moons", "shares", "about", "mining", "minimal", "minimum"})


def _acronym(word: str, surfaces: dict[tuple[str, str], frozenset[int]]) -> str:
    """``word`` in capitals when it is a known acronym of three or more letters not written so
    ("ipo", "Ipo" -> "IPO"; "ipos" -> "IPOs"), else ""."""
    if len(word) < 3 or word == word.upper() or ("ci", word.lower()) in surfaces:
        return ""
    if ("cs", word.upper()) in surfaces:
        return word.upper()
    stem = word[:-1]
    return stem.upper() + "s" if word[-1] in "sS" and len(stem) >= 3 and ("cs", stem.upper()) in surfaces else ""


def _one_edit(a: str, b: str) -> bool:
    """``a`` and ``b`` differ by one substitution, insertion, deletion or swap of neighbours."""
    if a == b:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
                                   and a[diff[1]] == b[diff[0]])
    if abs(len(a) - len(b)) != 1:
        return False
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = next((k for k in range(len(short)) if short[k] != long[k]), len(short))
    return short[i:] == long[i + 1:]


def is_cjk(term: str) -> bool:
    return _CJK.search(term) is not None


def _latin_keys(words: str) -> list[tuple[str, str]]:
    """Lookup keys of a run of words: as written (acronyms), lowercased, and without a plural -s/-es."""
    low = words.lower()
    keys = [("cs", words), ("ci", low)]
    if words.endswith("s") and len(words) > 2:  # "IPOs"
        keys.append(("cs", words[:-1]))
    if low.endswith("es") and len(low) > 4:
        keys.append(("ci", low[:-2]))
    if low.endswith("s") and len(low) > 3:
        keys.append(("ci", low[:-1]))
    return keys


def _surface_key(term: str) -> tuple[str, str]:
    """How a surface is looked up: CJK as is; acronyms (no lowercase, 2+ capitals) case-sensitive."""
    if is_cjk(term):
        return ("cjk", term)
    words = " ".join(m.group(0) for m in _WORD.finditer(term))
    if sum(ch.isupper() for ch in term) >= 2 and not any(ch.islower() for ch in term):
        return ("cs", words)
    return ("ci", words.lower())


def _read_groups(text: str, key: str, source: str) -> list[list[str]]:
    raw: Any = yaml.load(text, Loader=_YAML_LOADER) or {}
    entries = (raw.get(key) or []) if isinstance(raw, dict) else raw
    if not isinstance(entries, list):
        raise ValueError(f"{source}: expected a list under {key!r}")
    return [[str(t) for t in e] for e in entries if isinstance(e, list)]


def load_glossary(corpus_dir: Path | None) -> Glossary:
    """The shipped names and terms plus the corpus's own ``glossary.yml`` (``names:`` and ``terms:``;
    a missing or broken corpus file is skipped with a warning: the shipped lists still apply)."""
    package = resources.files("retrieval")
    names = _read_groups(package.joinpath("glossary.yml").read_text("utf-8"), "names", "retrieval/glossary.yml")
    lexicon = package.joinpath("lexicon.yml").read_text("utf-8")
    terms, time, places = (_read_groups(lexicon, key, "retrieval/lexicon.yml") for key in ("terms", "time", "places"))
    path = corpus_dir / "glossary.yml" if corpus_dir is not None else None
    if path is not None and path.exists():
        try:
            own = path.read_text(encoding="utf-8")
            names += _read_groups(own, "names", str(path))
            terms += _read_groups(own, "terms", str(path))  # a corpus may add terms too
        except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError, AttributeError) as err:
            logger.warning("ignoring %s: %s", path, err)
    return Glossary.of(names, terms, time, places)
