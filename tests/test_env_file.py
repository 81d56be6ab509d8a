"""One ``.env`` rule for every command: ``./.env`` of the working directory, or ``--env-file``;
never a parent folder's, never one next to the installed package; the real environment wins."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main

SETTINGS = ("DATA_DIR", "CORPUS_DIR", "LOG_LEVEL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")


@pytest.fixture(autouse=True)
def environ() -> Iterator[None]:
    """Loading a ``.env`` writes into ``os.environ``: give it back as it was."""
    saved = dict(os.environ)
    for name in SETTINGS:
        os.environ.pop(name, None)
    yield
    os.environ.clear()
    os.environ.update(saved)


def _ask_names_data_dir(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run ``ask`` against an empty data folder; its one-line error names the DATA_DIR it used."""
    assert main(["ask", "When could MiniMax list?", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no index in ") and "Traceback" not in err
    return err


@pytest.mark.parametrize("command", [["ask", "q?"], ["index"], ["eval", "x.jsonl"], ["add", "x.md"],
                                     ["feeds", "poll"], ["serve"], ["digest", "--dry-run"]])
def test_every_command_takes_env_file(command: list[str]) -> None:
    from bot.cli import build_parser

    args = build_parser().parse_args([*command, "--env-file", "some.env"])
    assert args.env_file == Path("some.env")


def test_ask_reads_dot_env_of_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".env").write_text(f"DATA_DIR={tmp_path / 'from-dotenv'}\n")
    monkeypatch.chdir(tmp_path)
    assert str(tmp_path / "from-dotenv") in _ask_names_data_dir(capsys)


def test_a_parent_folders_dot_env_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".env").write_text(f"DATA_DIR={tmp_path / 'parent'}\nLOG_LEVEL=LOUD\n")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert "parent" not in _ask_names_data_dir(capsys)
    # serve used to search parent folders too: LOG_LEVEL=LOUD would be named
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "SLACK_BOT_TOKEN is missing" in err and "LOG_LEVEL" not in err


def test_env_file_option_replaces_dot_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".env").write_text(f"DATA_DIR={tmp_path / 'from-dotenv'}\n")
    other = tmp_path / "staging.env"
    other.write_text(f"DATA_DIR={tmp_path / 'from-option'}\n")
    monkeypatch.chdir(tmp_path)
    err = _ask_names_data_dir(capsys, "--env-file", str(other))
    assert str(tmp_path / "from-option") in err and "from-dotenv" not in err


def test_the_environment_wins_over_dot_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".env").write_text(f"DATA_DIR={tmp_path / 'from-dotenv'}\n")
    monkeypatch.chdir(tmp_path)
    os.environ["DATA_DIR"] = str(tmp_path / "from-environment")
    assert str(tmp_path / "from-environment") in _ask_names_data_dir(capsys)


def test_a_missing_env_file_is_one_error_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["index", "--env-file", str(tmp_path / "nope.env")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "nope.env" in err and err.count("\n") == 1


def test_env_file_rule_is_documented() -> None:
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "`./.env`" in readme and "--env-file" in readme and "parent" in readme
    assert "--env-file" in (root / ".env.example").read_text(encoding="utf-8")
