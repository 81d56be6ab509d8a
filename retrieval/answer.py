"""Extractive answers: the 1-3 sentences that best answer the question, quoted verbatim with
citations, or a plain refusal when the corpus does not answer it."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from .index import LoadedIndex
from .search import Hit
from .text import content_terms
from .types import Answer, Citation

MAX_CITATIONS = 3
MIN_SENTENCE_WORDS = 6  # shorter lines are headings or bylines, not answers
SECOND_SENTENCE_MARGIN = 0.03  # a further sentence must score within this of the best one


@dataclass(frozen=True)
class RefusalModel:
    """Logistic model over evidence features; fitted by benchmarks/calibrate_refusal.py on a training
    split of the public eval data (RGB zh + RealTime QA en), stored in retrieval/calibration.json."""

    bias: float
    w_sentence: float
    w_chunk: float
    w_coverage: float
    threshold: float = 0.5

    def probability(self, features: dict[str, float]) -> float:
        z = (self.bias + self.w_sentence * features["sentence"] + self.w_chunk * features["chunk"]
             + self.w_coverage * features["coverage"])
        return 1.0 / (1.0 + math.exp(-z))

    def answerable(self, features: dict[str, float]) -> bool:
        return self.probability(features) >= self.threshold


@lru_cache(maxsize=1)
def default_refusal_model() -> RefusalModel:
    raw: dict[str, Any] = json.loads(resources.files("retrieval").joinpath("calibration.json").read_text("utf-8"))
    m = raw["refusal"]
    return RefusalModel(m["bias"], m["w_sentence"], m["w_chunk"], m["w_coverage"], m.get("threshold", 0.5))


@dataclass(frozen=True)
class Picked:
    sid: int
    doc: int
    start: int
    end: int
    score: float


def coverage(question: str, texts: list[str]) -> float:
    """Share of the question's content words found in the evidence (same-script words only)."""
    q = content_terms(question)
    if not q:
        return 0.0
    found = set().union(*(content_terms(t) for t in texts)) if texts else set()
    return len(q & found) / len(q)


def is_heading(text: str) -> bool:
    """A section heading or byline: too short to say anything (CJK characters count half a word)."""
    words = len(re.findall(r"[A-Za-z]+", text)) + len(re.findall(r"[\u3400-\u9fff]", text)) / 2
    return words < MIN_SENTENCE_WORDS


def candidate_sentences(index: LoadedIndex, hits: list[Hit]) -> list[int]:
    seen: dict[int, None] = {}
    for hit in hits:
        for sid in index.sentence_ids(hit.chunk):
            seen.setdefault(sid, None)
    return list(seen)


def rank_sentences(index: LoadedIndex, hits: list[Hit], qvec: np.ndarray, question: str,
                   sentence_vectors: dict[int, np.ndarray]) -> list[Picked]:
    """Every quotable sentence of the retrieved chunks, best first."""
    q_terms = content_terms(question)
    seen: set[int] = set()
    scored: list[Picked] = []
    for rank, hit in enumerate(hits):
        for sid in index.sentence_ids(hit.chunk):
            if sid in seen:
                continue
            seen.add(sid)
            doc, start, end, lang = index.sentence(sid)
            text = index.docs[doc]["text"][start:end]
            score = float(index.centred(sentence_vectors[sid][None, :], np.array([lang]), qvec)[0])
            if q_terms:
                score += 0.05 * len(q_terms & content_terms(text)) / len(q_terms)
            if is_heading(text):
                continue  # "Group 1: IPO Developments", "Sou Hu Cai Jing·2025-12-11 13:45"
            score -= 0.005 * rank  # ties go to the better chunk
            scored.append(Picked(sid, doc, start, end, score))
    scored.sort(key=lambda p: -p.score)
    return scored


def pick_sentences(ranked: list[Picked]) -> list[Picked]:
    """The best sentence and up to two runners-up that score almost as well."""
    if not ranked:
        return []
    scored = ranked
    best = scored[0]
    picked = [best]
    for p in scored[1:]:
        if len(picked) >= MAX_CITATIONS or p.score < best.score - SECOND_SENTENCE_MARGIN:
            break
        picked.append(p)
    return picked


def cite(index: LoadedIndex, picked: list[Picked]) -> list[Citation]:
    """One citation per excerpt; sentences adjacent in the same article merge into one span."""
    spans: list[list[int]] = []
    for p in sorted(picked, key=lambda p: (p.doc, p.start)):
        if spans and spans[-1][0] == p.doc and _adjacent(index, spans[-1][3], p.sid):
            spans[-1][2] = p.end
            spans[-1][3] = p.sid
        else:
            spans.append([p.doc, p.start, p.end, p.sid])
    order = {p.sid: i for i, p in enumerate(picked)}
    spans.sort(key=lambda s: min(order.get(sid, 99) for sid in range(s[3] - 3, s[3] + 1)))
    out = []
    for n, (doc, start, end, _) in enumerate(spans, 1):
        d = index.docs[doc]
        out.append(Citation(n=n, title=d["title"], outlet=d["outlet"], published=d["published"], url=d["url"],
                            excerpt=d["text"][start:end], path=d["path"], start=start, end=end))
    return out


def _adjacent(index: LoadedIndex, prev_sid: int, sid: int) -> bool:
    return sid == prev_sid + 1 and index.sentence(sid).doc == index.sentence(prev_sid).doc


def refusal(question: str, language: str, n_docs: int, *, features: dict[str, float] | None = None) -> Answer:
    """No answer: nothing in the ``n_docs`` articles answers, or there are none."""
    return Answer(question=question, refused=True, language=language, citations=[], scores=features or {},
                  refusal="no_evidence" if n_docs else "empty_corpus", corpus_articles=n_docs)
