"""Logging for ``industry-qa serve``: readable lines or one JSON object per line (``LOG_FORMAT``),
and a question id on every line logged while a question is handled.

The id lives in a context variable set where a question arrives; ``ContextPool`` carries it into
the thread pools that answer, react and update (a plain ``ThreadPoolExecutor`` would drop it), so
retrieval, the model and Slack calls log it too without knowing about it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import secrets
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

QUESTION_ID: contextvars.ContextVar[str] = contextvars.ContextVar("question_id", default="")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(question_tag)s: %(message)s"


def new_question_id() -> str:
    """Short and random: it only has to tell one question's lines from another's."""
    return "q-" + secrets.token_hex(5)


@contextmanager
def question_context(question_id: str) -> Iterator[str]:
    token = QUESTION_ID.set(question_id)
    try:
        yield question_id
    finally:
        QUESTION_ID.reset(token)


class ContextPool(ThreadPoolExecutor):
    """A thread pool whose tasks run in a copy of the submitter's context (the question id follows)."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        context = contextvars.copy_context()
        return super().submit(context.run, fn, *args, **kwargs)  # type: ignore[arg-type]


class QuestionIdFilter(logging.Filter):
    """Stamps every record with the current question id (``question_id``; '' outside a question)."""

    def filter(self, record: logging.LogRecord) -> bool:
        qid = QUESTION_ID.get()
        record.question_id = qid
        record.question_tag = f" [{qid}]" if qid else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, question_id, and the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        qid = getattr(record, "question_id", "") or QUESTION_ID.get()
        if qid:
            entry["question_id"] = qid
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(*, level: str, fmt: str) -> None:
    """Replace the root logger's handlers with one stderr handler in ``fmt`` (text | json)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(QuestionIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
