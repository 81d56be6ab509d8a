"""Words made from structured results: an answer's text and the note on a model's fallback.

``answer_text`` is what a reader sees as the answer, in Slack and from ``industry-qa ask`` (text and
``--json``): the model's own text when a language model wrote it; otherwise one line that says where
the best excerpt comes from and quotes it, marked [1] (the other citations follow as [2] [3]); or
the refusal.
"""

from __future__ import annotations

from dataclasses import asdict

from bot.texts.catalog import t
from retrieval.types import Answer


def answer_text(answer: Answer) -> str:
    lang = answer.language
    if answer.refused:
        return refusal_text(answer)
    if answer.mode == "llm":
        return answer.model_text
    if not answer.citations:
        return ""
    c = answer.citations[0]
    source = ", ".join(x for x in (c.outlet, c.published[:10]) if x) or c.title
    sentence = " ".join(c.excerpt.split())
    more = "".join(f" [{x.n}]" for x in answer.citations[1:])
    return t("answer_lead", lang, source=source) + sentence + " [1]" + more


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
