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
    # "answer" (the lead excerpt), "support" (from another article), "earlier" (an older report of
    # a story whose newest state the answer gives) or "related" (the closest the corpus comes)
    role: str = "answer"


@dataclass(frozen=True)
class Fallback:
    """Why the language model's answer was not used: ``code`` names the reason (a user interface
    words it), the other fields hold what its words name."""

    code: str  # timeout | rate_limited | server_error | unreachable | request_refused | bad_response
    #            | empty | not_in_corpus | no_citation | bad_citation | prompt_leak
    status: int = 0  # HTTP status (server_error, request_refused)
    cited: int = 0  # the excerpt number the model cited (bad_citation)
    excerpts: int = 0  # how many excerpts it was given (bad_citation)
    error: str = ""  # the exception's class name (bad_response)

    def __str__(self) -> str:  # for the log: the code and what it names
        named = ", ".join(f"{k}={v}" for k, v in (("status", self.status), ("cited", self.cited),
                                                   ("excerpts", self.excerpts), ("error", self.error)) if v)
        return f"{self.code} ({named})" if named else self.code


@dataclass
class Answer:
    """A cited answer, or a refusal (``refused=True`` and no citations), as parts, not prose: the
    reader's words are made from them above retrieval (the citations, the refusal's reason, the
    model's own text, the fallback's reason).

    ``to_dict(text)`` is the stable ``--json`` schema documented in the README.
    """

    question: str  # as answered: whitespace normalised, cut to ``clipped_to`` characters when too long
    refused: bool
    language: str  # the question's
    citations: list[Citation] = field(default_factory=list)
    # "answered" | "closest" (related excerpts, not a direct answer) | "refused" (nothing relevant)
    outcome: str = "answered"
    # the lead excerpt's publication date when the question asks for the state of a story
    as_of: str = ""
    # numbers of the citations from other articles that give a different figure than [1]
    differs: list[int] = field(default_factory=list)
    # how many citations, from [1], the answer's own line quotes: one, or one per company when a
    # question about several ("Zhipu vs MiniMax IPO price") is answered one company at a time
    leads: int = 1
    timings_ms: dict[str, float] = field(default_factory=dict)
    # Not part of the JSON schema: diagnostic scores used by eval/calibration.
    scores: dict[str, float] = field(default_factory=dict)
    # why it was refused: "no_evidence" (nothing in the corpus answers) or "empty_corpus"
    refusal: str = ""
    corpus_articles: int = 0  # articles in the index searched (a refusal says how many)
    # "extractive" or "llm"; ``model_text`` is the model's answer (its [n] number ``citations``);
    # ``fallback`` says why a model's answer was not used
    mode: str = "extractive"
    model_text: str = ""
    fallback: Fallback | None = None
    # prompt_tokens / completion_tokens of the language model (empty without one)
    usage: dict[str, int] = field(default_factory=dict)
    # the standalone question used for retrieval (a follow-up joined with or rewritten from its thread)
    search_question: str = ""
    clipped_to: int = 0  # the question was longer than this many characters and was cut (0: it was not)

    def __post_init__(self) -> None:
        if self.refused:  # a refusal is always the "refused" outcome, however it was made
            self.outcome = "refused"

    def citation_dicts(self) -> list[dict[str, Any]]:
        return [asdict(c) for c in self.citations]

    def to_dict(self, text: str) -> dict[str, Any]:
        """The ``--json`` schema; ``text`` is the answer as worded for its reader."""
        return {
            "question": self.question,
            "answer": text,
            "refused": self.refused,
            "outcome": self.outcome,
            "as_of": self.as_of,
            "sources_differ": self.differs,
            "language": self.language,
            "citations": self.citation_dicts(),
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }
