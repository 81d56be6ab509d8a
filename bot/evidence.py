"""What an answer rests on, read from retrieval's ``Answer``: its outcome and its lead citation.

The "Tell me when this changes" button carries it, and answer-change alerts compare it: two answers
with the same evidence say the same thing, however a model words them.
"""

from __future__ import annotations

from bot.state.records import Evidence
from retrieval.types import Answer, Citation


def outcome_of(answer: Answer) -> str:
    """answered | closest | refused (``Answer.outcome`` where retrieval sets one)."""
    return str(getattr(answer, "outcome", "") or ("refused" if answer.refused else "answered"))


def lead_citation(answer: Answer) -> Citation | None:
    """The citation the answer rests on: the first in the "answer" role (the first one when
    citations carry no role); None for a refusal."""
    if answer.refused or not answer.citations:
        return None
    return next((c for c in answer.citations if getattr(c, "role", "answer") == "answer"), answer.citations[0])


def evidence_of(answer: Answer) -> Evidence:
    lead = lead_citation(answer)
    if lead is None:
        return Evidence(outcome_of(answer))
    return Evidence(outcome_of(answer), lead.path, lead.start, lead.end)


def source_line(title: str, outlet: str, published: str) -> str:
    """How an excerpt's article is named under it: title · outlet · day."""
    return " · ".join(p for p in (title, outlet, published[:10]) if p)
