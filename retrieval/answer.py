"""The parts of an extractive answer: the chosen excerpts (``retrieval.excerpts``) as numbered,
verbatim citations, each with its role (the lead, support from another article, an earlier report,
or merely related), and refusals with their reason. The words a reader sees are made from these
parts above retrieval (``bot.texts.wording``)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from .excerpts import RELATED, Excerpt, excerpt_span
from .index import LoadedIndex
from .types import Answer, Citation

MIN_SENTENCE_WORDS = 6  # shorter lines are headings or bylines, not answers


@dataclass(frozen=True)
class RefusalModel:
    """Logistic model of whether the corpus holds anything relevant at all; fitted by
    benchmarks/calibrate_refusal.py on a training split of the public eval data (RGB zh + RealTime
    QA en), stored in retrieval/calibration.json."""

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


def is_heading(text: str) -> bool:
    """A section heading or byline: too short to say anything (CJK characters count half a word)."""
    words = len(re.findall(r"[A-Za-z]+", text)) + len(re.findall(r"[\u3400-\u9fff]", text)) / 2
    return words < MIN_SENTENCE_WORDS


def cite_excerpts(index: LoadedIndex, excerpts: Sequence[Excerpt], *, related: bool = False) -> list[Citation]:
    """One numbered citation per excerpt, in the order given; ``related``: all are "related"."""
    out = []
    for n, e in enumerate(excerpts, 1):
        d = index.docs[e.doc]
        start, end = excerpt_span(d["text"], e.start, e.end)
        out.append(Citation(n=n, title=d["title"], outlet=d["outlet"], published=d["published"], url=d["url"],
                            excerpt=d["text"][start:end], path=d["path"], start=start, end=end,
                            role=RELATED if related else e.role))
    return out


def refusal(question: str, language: str, n_docs: int, *, features: dict[str, float] | None = None) -> Answer:
    """No answer: nothing in the ``n_docs`` articles answers, or there are none."""
    return Answer(question=question, refused=True, language=language, citations=[], scores=features or {},
                  refusal="no_evidence" if n_docs else "empty_corpus", corpus_articles=n_docs, outcome="refused")
