pytest_plugins = ["tests.retrieval_fixtures", "tests.bot_fixtures", "tests.llm_fake", "tests.pg_fixtures",
                  "tests.ci_skips"]
