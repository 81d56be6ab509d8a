"""What a language model reads, and how what it cites becomes verbatim sentences again.

The model reads whole chunks (a sentence alone often lacks the company it is about, or the figure
the next sentence gives), best first: the chunks holding the extractive answer's excerpts, then the
rest of the retrieved pool, each headed by title, outlet and date. An article's own reference
marks ("…January.[4][5]") are removed from what the model reads, so that the only bracketed
numbers it sees are the passage numbers it must cite. What it cites is mapped back to the best
sentence of each cited passage (by the same evidence scores as the extractive answer), so every
citation shown is still ``text[start:end]`` of an article.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .evidence import Candidate
from .excerpts import LEAD, SUPPORT, Excerpt
from .index import LoadedIndex
from .search import Hit
from .types import Citation

REFERENCE_MARKS = re.compile(r"\s*(?:\[\d{1,3}\])+")  # "[4]", "[4][5]": the article's footnotes


@dataclass(frozen=True)
class Passage:
    """A chunk offered to the model: where it is, and its text as the model reads it."""

    doc: int
    start: int
    end: int
    citation: Citation  # title, outlet, date; ``excerpt`` is the chunk without reference marks


def model_passages(index: LoadedIndex, pool: Sequence[Hit], excerpts: Sequence[Excerpt]) -> list[Passage]:
    """The pool's chunks, those holding ``excerpts`` first (in the excerpts' order), each once.
    The model layer keeps as many as its token budget allows, best first."""
    holding = [h for e in excerpts for h in pool if h.doc == e.doc and h.start <= e.start < h.end]
    out: list[Passage] = []
    seen: set[int] = set()
    for hit in [*holding, *pool]:
        if hit.chunk in seen:
            continue
        seen.add(hit.chunk)
        d = index.docs[hit.doc]
        text = REFERENCE_MARKS.sub("", d["text"][hit.start:hit.end]).strip()
        out.append(Passage(hit.doc, hit.start, hit.end, Citation(
            n=len(out) + 1, title=d["title"], outlet=d["outlet"], published=d["published"], url=d["url"],
            excerpt=text, path=d["path"], start=hit.start, end=hit.end)))
    return out


def cited_sentences(cited: Sequence[Citation], passages: Sequence[Passage], candidates: Sequence[Candidate],
                    scores: np.ndarray) -> list[Excerpt]:
    """For each passage the model cited (in its new order), the passage's best-scored sentence not
    already shown; the first is the lead."""
    by_span = {(p.citation.path, p.start): p for p in passages}
    used: set[tuple[int, int]] = set()
    out: list[Excerpt] = []
    for c in cited:
        p = by_span[(c.path, c.start)]
        inside = [i for i, cand in enumerate(candidates)
                  if cand.doc == p.doc and p.start <= cand.start < p.end and (cand.doc, cand.start) not in used]
        if not inside:
            inside = [i for i, cand in enumerate(candidates) if cand.doc == p.doc and p.start <= cand.start < p.end]
        if not inside:  # a chunk whose sentences were not gathered: quote it whole (still verbatim)
            out.append(Excerpt(p.doc, p.start, p.end, LEAD if not out else SUPPORT, 0.0, float("nan")))
            continue
        best = max(inside, key=lambda i: float(scores[i]))
        cand = candidates[best]
        used.add((cand.doc, cand.start))
        out.append(Excerpt(cand.doc, cand.start, cand.end, LEAD if not out else SUPPORT, float(scores[best]),
                           cand.day))
    return out
