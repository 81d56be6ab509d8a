"""Cross-language query expansion from the corpus's own glossary (``corpus/glossary.yml``).

A small multilingual embedding model matches "智谱" with "Zhipu" only weakly. The glossary lists
the industry's names and terms with their equivalents in the other language; a question that
mentions one gets the others appended, so both the dense and the BM25 side see them. Curated with
the corpus (what a newsroom style sheet would say), never fitted to questions.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from .text import detect_language

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Glossary:
    groups: tuple[tuple[str, ...], ...] = ()

    def expand(self, question: str) -> str:
        """The question plus the equivalents of every glossary term it mentions."""
        extra: list[str] = []
        low = question.lower()
        zh = detect_language(question) == "zh"
        for group in self.groups:
            if any(_mentions(low, term) for term in group):
                # only the other language's terms: same-language synonyms would just dilute the query
                # and only the first of them (the canonical name): a longer query costs embedding time
                other = [t for t in group if _is_cjk(t) != zh and not _mentions(low, t) and t not in extra]
                if other and not any(_mentions(low, t) for t in group if _is_cjk(t) != zh):
                    extra.append(other[0])
        return f"{question} ({'; '.join(extra)})" if extra else question

    def group_of(self, term: str) -> tuple[str, ...] | None:
        """The glossary line naming ``term`` (any spelling, any case), or None."""
        folded = " ".join(term.split()).casefold()
        return next((g for g in self.groups if any(t.casefold() == folded for t in g)), None)


def mentions(text: str, term: str) -> bool:
    """Whether ``text`` names ``term``: as a whole word in Latin script, anywhere in Chinese."""
    return _mentions(text.lower(), term)


def _is_cjk(term: str) -> bool:
    return re.search(r"[\u3400-\u9fff]", term) is not None


def _mentions(low_text: str, term: str) -> bool:
    t = term.lower()
    if _is_cjk(t):
        return t in low_text
    return re.search(rf"(?<![a-z0-9]){re.escape(t)}(?![a-z0-9])", low_text) is not None


def load_glossary(corpus_dir: Path) -> Glossary:
    """Read ``glossary.yml`` (a list of lists of equivalent terms); missing or broken = no expansion."""
    path = corpus_dir / "glossary.yml"
    if not path.exists():
        return Glossary()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        entries = raw.get("terms", []) if isinstance(raw, dict) else raw
        groups = tuple(tuple(str(t).strip() for t in e if str(t).strip()) for e in entries if isinstance(e, list))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, AttributeError) as err:
        logger.warning("ignoring %s: %s", path, err)
        return Glossary()
    return Glossary(tuple(g for g in groups if len(g) > 1))
