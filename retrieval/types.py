"""Plain data types shared by the retrieval core and its users (CLI, Slack bot, benchmarks)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Citation:
    """One verbatim excerpt: ``excerpt == document_text[start:end]`` of the article at ``path``."""

    n: int
    title: str
    outlet: str
    published: str
    url: str
    excerpt: str
    path: str
    start: int
    end: int


@dataclass
class Answer:
    """A cited answer, or a refusal (``refused=True`` and no citations).

    ``to_dict()`` is the stable ``--json`` schema documented in the README.
    """

    question: str
    answer: str
    refused: bool
    language: str
    citations: list[Citation] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    # Not part of the JSON schema: diagnostic scores used by eval/calibration.
    scores: dict[str, float] = field(default_factory=dict)
    # "extractive" or "llm"; ``note`` explains a fallback from the model to the extractive answer.
    mode: str = "extractive"
    note: str = ""
    # prompt_tokens / completion_tokens of the language model (empty without one)
    usage: dict[str, int] = field(default_factory=dict)
    # the standalone question used for retrieval (a follow-up joined with or rewritten from its thread)
    search_question: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "refused": self.refused,
            "language": self.language,
            "citations": [asdict(c) for c in self.citations],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }
