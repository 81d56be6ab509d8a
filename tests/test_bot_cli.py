"""``industry-qa serve`` and the command line's composition: clear errors instead of tracebacks."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from bot.cli import build_parser, main
from bot.serve_cli import register_serve
from tests.bot_fakes import FakeSlack

ROOT = Path(__file__).resolve().parent.parent
SLACK_VARS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL")


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in SLACK_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env is picked up
    empty = tmp_path / "empty.env"
    empty.write_text("")
    return empty


def test_register_adds_serve_with_the_host_cli_options() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--corpus")
        p.add_argument("--data")

    register_serve(sub, common)
    args = parser.parse_args(["serve", "--corpus", "c", "--data", "d"])
    assert (args.command, args.corpus, args.data) == ("serve", "c", "d") and callable(args.func)


def test_serve_is_part_of_the_industry_qa_command() -> None:
    args = build_parser().parse_args(["serve", "--data", "/tmp/d"])
    assert args.func.__module__ == "bot.serve_cli"


def test_version_names_the_installed_package(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    project = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    [declared] = re.findall(r'^version = "([^"]+)"', project, flags=re.M)
    assert capsys.readouterr().out.strip() == f"industry-qa {declared}"


def test_the_command_line_is_composed_outside_retrieval() -> None:
    """The console script is bot.cli's; retrieval/ only registers its commands and imports nothing
    from bot/ (imports run one way)."""
    assert "{index,ask,add,eval,feeds,serve,digest,stats,health}" in build_parser().format_usage()
    assert 'industry-qa = "bot.cli:main"' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    upward = [str(f) for f in (ROOT / "retrieval").rglob("*.py")
              if re.search(r"^\s*(from|import) bot\b", f.read_text(encoding="utf-8"), re.M)]
    assert upward == []


def test_serve_without_tokens_names_them_and_exits_2(clean_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--env-file", str(clean_env)]) == 2
    err = capsys.readouterr().err
    assert "SLACK_BOT_TOKEN is missing" in err and "SLACK_SIGNING_SECRET is missing" in err
    assert "Traceback" not in err


def test_serve_with_a_rejected_token_exits_2_clearly(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-wrong")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    monkeypatch.setenv("SLACK_API_URL", fake_slack.base_url)
    assert main(["serve", "--env-file", str(clean_env), "--data", str(tmp_path / "data")]) == 2
    assert "Slack rejected SLACK_BOT_TOKEN" in capsys.readouterr().err
    assert [c.method for c in fake_slack.rejected] == ["auth.test"]
