"""What a followed term matches: its glossary line (every spelling, both languages) and the first
sentence of an article that names one of them. Pure functions over the corpus's glossary.

"follow Zhipu" and "关注 智谱" are the same follow: both resolve to the glossary line
``[Zhipu AI, Zhipu, 智谱, ...]``, whose first entry (case-folded) is the follow's key.
"""

from __future__ import annotations

from dataclasses import dataclass

from retrieval.glossary import Glossary, mentions
from retrieval.text import sentence_spans

MAX_TERM_CHARS = 60  # a follow names a company or a term, not a paragraph


@dataclass(frozen=True)
class Term:
    key: str  # canonical: the glossary line's first entry, case-folded (or the term itself)
    shown: str  # how to name it back to the person (their spelling)
    aliases: tuple[str, ...]  # every spelling that counts as a mention


def resolve(term: str, glossary: Glossary) -> Term:
    """``term`` (already stripped of the command word) with its glossary aliases."""
    shown = " ".join(term.split()).strip("\"'“”‘’「」")
    group = glossary.group_of(shown)
    if group is None:
        return Term(key=shown.casefold(), shown=shown, aliases=(shown,))
    return Term(key=group[0].casefold(), shown=shown, aliases=tuple(dict.fromkeys([shown, *group])))


def mention_span(text: str, term: Term) -> tuple[int, int] | None:
    """The span of the first sentence of ``text`` naming ``term``; None when none does."""
    if not any(mentions(text, alias) for alias in term.aliases):
        return None
    for start, end in sentence_spans(text):
        if any(mentions(text[start:end], alias) for alias in term.aliases):
            return start, end
    return None  # named only across a sentence break: no single sentence to quote


def valid_term(term: str) -> bool:
    shown = " ".join(term.split())
    return 0 < len(shown) <= MAX_TERM_CHARS and any(ch.isalnum() for ch in shown)
