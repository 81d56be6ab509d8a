"""A skip fails the run in CI and only there (tests/ci_skips.py), in a pytest session of its own."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

SKIPPING = """
import pytest

def test_needs_something_missing():
    pytest.skip("no PostgreSQL here")

@pytest.mark.xfail(reason="known")
def test_known_failure():
    assert False

def test_fine():
    pass
"""


@pytest.mark.parametrize(("ci", "failed", "skipped"), [("true", 1, 0), ("", 0, 1)])
def test_a_skipped_test_fails_in_ci_and_skips_elsewhere(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                                        ci: str, failed: int, skipped: int) -> None:
    monkeypatch.setenv("CI", ci)
    pytester.makepyfile(SKIPPING)
    result = pytester.runpytest_inprocess("-p", "tests.ci_skips", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=failed, skipped=skipped, xfailed=1)
    if failed:
        result.stdout.fnmatch_lines(["*skipped in CI, where every test must run: no PostgreSQL here*"])
