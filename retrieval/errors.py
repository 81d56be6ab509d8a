"""Expected failures, each with a message fit to show a person (no traceback needed)."""


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
