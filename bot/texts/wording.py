"""Words made from structured results: an answer's text, dates as people write them, and the note
on a model's fallback.

``answer_text`` is what a reader sees as the answer, in Slack and from ``industry-qa ask`` (text and
``--json``): the model's own text when a language model wrote it; otherwise one line that says where
the lead excerpt comes from (outlet and date; "as of" its date when the question asks how a story
stands) and quotes it, marked [1], the other citations following as [2] [3]; for the closest the
corpus comes, a line that says plainly it is not a direct answer; or the refusal.
"""

from __future__ import annotations

import re
from dataclasses import asdict

from bot.texts.catalog import t
from retrieval.types import Answer, Citation

_ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def answer_text(answer: Answer) -> str:
    lang = answer.language
    if answer.refused:
        return refusal_text(answer)
    if answer.mode == "llm":
        return answer.model_text
    if not answer.citations:
        return ""
    quoted = quoted_citations(answer)
    c = answer.citations[0]
    more = "".join(f" [{x.n}]" for x in answer.citations[len(quoted):])
    if answer.outcome == "closest":
        head = t("answer_closest", lang, source=source_label(c, lang))
    elif answer.as_of:
        head = t("answer_as_of", lang, date=human_date(answer.as_of, lang), source=c.outlet or c.title)
    else:
        head = t("answer_lead", lang, source=source_label(c, lang))
    lines = [head + " ".join(c.excerpt.split()) + " [1]"]
    # a comparison's other companies: each its own line, from its own source
    lines += [t("answer_lead", lang, source=source_label(x, lang)) + " ".join(x.excerpt.split()) + f" [{x.n}]"
              for x in quoted[1:]]
    differ = ""
    if answer.differs:
        refs = "".join(f"[{n}]" for n in answer.differs)
        differ = t("sources_differ", lang, refs=refs)
    return "\n".join(lines) + more + differ


def quoted_citations(answer: Answer) -> list[Citation]:
    """The citations the answer's own line quotes: the lead, and in an answer about several
    companies one at a time ("Zhipu vs MiniMax IPO price") each company's lead after it
    (``Answer.leads``). A model's answer quotes none; its sources are quoted under it."""
    if answer.refused or answer.mode == "llm" or not answer.citations:
        return []
    return answer.citations[:max(1, answer.leads) if answer.outcome == "answered" else 1]


def human_date(published: str, language: str) -> str:
    """"2025-12-11T13:45:00+08:00" -> "11 Dec 2025" / "2025年12月11日": the outlet's own day, as
    people write dates; anything unparsable as it is."""
    m = _ISO_DAY.match(published or "")
    if not m or not 1 <= int(m[2]) <= 12:
        return published or ""
    y, mo, d = int(m[1]), int(m[2]), int(m[3])
    return t("date", language, year=y, month=t("month_names", language).split(",")[mo - 1], day=d)


ROLE_LABELS = ("support", "earlier", "related")  # roles named under a source (the lead needs no label)


def role_label(role: str, language: str) -> str:
    """What a source's role is called under it ("Also reported", "更早的报道"); "" for the lead."""
    return t(f"role_{role}", language) if role in ROLE_LABELS else ""


def source_label(c: Citation, language: str) -> str:
    """"Outlet, 11 Dec 2025" (the title when the outlet and date are unknown)."""
    return ", ".join(x for x in (c.outlet, human_date(c.published, language)) if x) or c.title


def refusal_text(answer: Answer) -> str:
    """Why there is no answer ("" for a refusal without a known reason)."""
    if answer.refusal == "empty_corpus":
        return t("refusal_empty_corpus", answer.language)
    if answer.refusal == "no_evidence":
        n = answer.corpus_articles
        size = t("corpus_size_one" if n == 1 else "corpus_size", answer.language, n=n)
        return t("refusal_no_evidence", answer.language, size=size)
    return ""


def fallback_note(answer: Answer) -> str:
    """Why the language model's answer was not used ("" when it was, or when there is no model)."""
    if answer.fallback is None:
        return ""
    values = {k: v for k, v in asdict(answer.fallback).items() if k != "code"}
    reason = t(f"fallback_{answer.fallback.code}", answer.language, **values)
    return t("fallback_note", answer.language, reason=reason)
