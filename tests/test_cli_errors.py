"""Every command ends a failure with one ``error: …`` line and exit status 2 (1 when only part of
the work failed), never a traceback: Slack unreachable or silent at start-up, a full disk, a data
folder that cannot be written, and failures nobody expected."""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from tests.retrieval_fixtures import make_corpus

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "page-fixture.html"


def assert_one_error_line(err: str) -> None:
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, err


@pytest.fixture
def slack_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_APP_TOKEN", "STATE_DB", "DATA_DIR", "CORPUS_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    monkeypatch.setenv("SLACK_API_TIMEOUT", "1")
    return tmp_path / "data"


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock.getsockname()[1]
    sock.close()


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return int(port)


def test_serve_with_slack_unreachable_is_one_line(slack_env: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SLACK_API_URL", f"http://127.0.0.1:{_closed_port()}/api/")
    assert main(["serve", "--data", str(slack_env)]) == 2
    err = capsys.readouterr().err
    assert_one_error_line(err)
    assert "Slack" in err and "unreachable" in err


def test_serve_when_auth_test_times_out_is_one_line(slack_env: Path, silent_port: int, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SLACK_API_URL", f"http://127.0.0.1:{silent_port}/api/")
    assert main(["serve", "--data", str(slack_env)]) == 2
    err = capsys.readouterr().err
    assert_one_error_line(err)
    assert "Slack" in err and "did not answer" in err


@pytest.mark.parametrize("command", [["index"], ["ask", "When could MiniMax list?"], ["serve"],
                                     ["digest", "--dry-run"], ["add", str(FIXTURE)]])
def test_a_data_folder_that_cannot_be_written_is_one_line(command: list[str], slack_env: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be\n")
    corpus = make_corpus(tmp_path, with_fixtures=False)
    code = main([*command, "--corpus", str(corpus), "--data", str(blocker / "data")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert_one_error_line(err)
    assert str(blocker) in err or "no index" in err


def test_a_full_disk_during_index_is_one_line(tmp_path: Path) -> None:
    """RLIMIT_FSIZE makes every write past 4 kB fail as a full disk would (EFBIG; Python ignores
    SIGXFSZ), in a real process running the real command."""
    corpus = make_corpus(tmp_path)

    def small_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    env = {k: v for k, v in os.environ.items() if k not in ("DATA_DIR", "CORPUS_DIR")}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "index", "--corpus", str(corpus), "--data", str(tmp_path / "data")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, preexec_fn=small_disk,
    )
    assert proc.returncode == 2, proc.stderr
    assert_one_error_line(proc.stderr)
    assert "full" in proc.stderr


def test_an_unexpected_failure_is_one_line_and_verbose_shows_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str],
                                                               caplog: pytest.LogCaptureFixture) -> None:
    import bot.ask_cli

    def broken(args: object) -> int:
        raise KeyError("a bug")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(bot.ask_cli, "cmd_ask", broken)
    assert main(["ask", "anything?"]) == 2
    err = capsys.readouterr().err
    assert_one_error_line(err)
    assert "KeyError" in err and "-v" in err
    caplog.set_level("DEBUG")
    assert main(["ask", "anything?", "-v"]) == 2
    assert any(r.exc_info and r.exc_info[0] is KeyError for r in caplog.records)  # -v: the log has the traceback
