"""Docs that cannot drift: the README's two commands, and .ci/run running the test one."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section, re.S)


def test_readme_has_exactly_two_setup_commands() -> None:
    cmds = _readme_commands()
    assert len(cmds) == 2
    main_job, tests = cmds
    assert "industry-qa index" in main_job and "industry-qa ask" in main_job
    assert "pytest" in tests and "ruff" in tests and "mypy" in tests


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert _readme_commands()[1] in ci.splitlines()


def test_pytest_blocks_network_except_loopback() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "--allow-hosts=127.0.0.1" in pyproject


def test_the_license_file_is_the_one_pyproject_declares() -> None:
    [declared] = re.findall(r'^license = \{ text = "([^"]+)" \}', (ROOT / "pyproject.toml").read_text(), flags=re.M)
    assert declared == "MIT"
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License\n")


def test_the_extras_the_readme_names_exist() -> None:
    project = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    section = project.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    extras = set(re.findall(r"^([\w-]+) = \[", section, flags=re.M))
    named = set(re.findall(r"\.\[([\w,-]+)\]", (ROOT / "README.md").read_text(encoding="utf-8")))
    assert named and all(extra in extras for group in named for extra in group.split(","))
