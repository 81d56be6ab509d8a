"""Expected failures, each with a message fit to show a person (no traceback needed)."""

from __future__ import annotations

from collections.abc import Mapping


class RetrievalError(Exception):
    """Base class: ``str(err)`` is a short, user-facing explanation."""


class IndexMissingError(RetrievalError):
    """No index has been built yet in DATA_DIR."""


class IndexMismatchError(RetrievalError):
    """The index was built by another embedder or chunker than the one configured."""


class IndexCorruptError(RetrievalError):
    """The index files cannot be read."""


class EmbeddingError(RetrievalError):
    """The embedding provider failed or is misconfigured."""


class EmptyQuestionError(RetrievalError):
    """The question has no words in it."""


class ReasonedError(RetrievalError):
    """A failure a user interface words itself: ``code`` names the reason and ``values`` hold what
    its words name; ``str(err)`` is the English line for the log and the operator's command line."""

    def __init__(self, message: str, *, code: str, values: Mapping[str, str | int] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.values = dict(values or {})
