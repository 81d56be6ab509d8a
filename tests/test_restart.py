"""Nothing is lost on a restart: a real ``industry-qa serve`` process, real signed HTTP requests and a
real SIGTERM. Answers in flight and queued are finished within SHUTDOWN_GRACE_S; what a process
could not finish in time is answered by the next one (its thread searched first, so a reply Slack
already took is not posted again), and no hourglass reaction is left behind."""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.state.sqlite import SQLiteStateStore
from bot.turn import Turn
from tests.bot_fakes import APP_TOKEN, BOT_TOKEN, FakeSlack, Scripted
from tests.bot_fixtures import QUESTION, SIGNING_SECRET, mention, texts_of
from tests.bot_socket_fake import FakeSocketMode
from tests.deploy_files import local_command
from tests.pg_server import free_port
from tests.serve_process import ServeProcess, child_env

ANSWER_MARK = "example.com/zhipu-hearing"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    yield fake
    fake.stop()


@pytest.fixture
def folder(tmp_path: Path, tiny_retrieval: Any) -> Path:
    shutil.copytree(tiny_retrieval.data_dir, tmp_path / "data")
    shutil.copytree(tiny_retrieval.corpus_dir, tmp_path / "corpus")
    return tmp_path


def start(folder: Path, slack: FakeSlack, name: str, **settings: str) -> ServeProcess:
    port = free_port()
    env = child_env(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=slack.base_url,
                    CORPUS_DIR=str(folder / "corpus"), DATA_DIR=str(folder / "data"), HOST="127.0.0.1",
                    PORT=str(port), BOT_WORKERS="1", WORKING_REACTION_AFTER_MS="0", **settings)
    process = ServeProcess(local_command(["industry-qa", "serve"]), env=env, cwd=folder, name=name, port=port)
    process.wait_ready()
    return process


def ask(process: ServeProcess, n: int, prefix: str) -> list[str]:
    """Ask ``n`` questions, each in its own channel thread; returns their ts."""
    stamps = [f"{prefix}.{i:06d}" for i in range(1, n + 1)]
    for ts in stamps:
        assert process.post_event(mention(QUESTION, ts=ts), event_id=f"Ev{ts}").status == 200
    return stamps


def sigterm(process: ServeProcess, timeout: float = 60.0) -> tuple[int, float]:
    """Send SIGTERM; (exit status, seconds until the process ended)."""
    started = time.monotonic()
    process.proc.send_signal(signal.SIGTERM)
    code = process.proc.wait(timeout)
    return code, time.monotonic() - started


def posts_in(slack: FakeSlack, thread_ts: str) -> list[Any]:
    return [c for c in slack.calls_to("chat.postMessage") if c.body.get("thread_ts") == thread_ts]


def reactions_removed(calls: list[Any]) -> set[str]:
    return {c.body["timestamp"] for c in calls if c.method == "reactions.remove"}


def pending_in(folder: Path) -> list[Any]:
    store = SQLiteStateStore(folder / "data" / "bot_state.sqlite3")
    try:
        return store.pending_questions()
    finally:
        store.close()


def test_sigterm_finishes_the_answers_in_flight_and_queued(folder: Path, slack: FakeSlack) -> None:
    process = start(folder, slack, "drain", SHUTDOWN_GRACE_S="30")
    slack.reset()
    slack.script("chat.postMessage", *[Scripted(hang_s=0.7)] * 5)  # Slack is slow: answers pile up
    stamps = ask(process, 5, "1700007000")
    slack.wait_count("chat.postMessage", 1, timeout=60)  # one answer is being posted, four are queued
    code, took = sigterm(process)
    log = process.log_tail(80)
    process.stop()
    assert code == 0, log
    assert took < 30, took
    for ts in stamps:
        [post] = posts_in(slack, ts)
        assert ANSWER_MARK in texts_of(post)
    assert reactions_removed(slack.calls) == set(stamps)
    assert pending_in(folder) == []
    assert "Traceback" not in log


def test_what_the_grace_period_did_not_cover_is_answered_by_the_next_process(folder: Path, slack: FakeSlack) -> None:
    first = start(folder, slack, "first", SHUTDOWN_GRACE_S="1")
    slack.reset()
    slack.script("chat.postMessage", Scripted(hang_s=6.0))  # Slack takes the first answer, but answers late
    stamps = ask(first, 3, "1700008000")
    slack.wait_count("chat.postMessage", 1, timeout=60)
    code, took = sigterm(first)
    first.stop()
    assert code == 0 and took < 5, (code, took)
    left = {p.ts: p for p in pending_in(folder)}
    assert set(left) == set(stamps)  # the one being posted, and the two still queued
    assert left[stamps[0]].posting and not left[stamps[1]].posting

    second = start(folder, slack, "second")
    try:
        slack.wait_for(lambda calls: reactions_removed(calls) >= set(stamps), timeout=90)
        slack.settle(1.0)
    finally:
        second.stop()
    for ts in stamps:  # exactly one answer in each thread: the first one's was not posted again
        [post] = posts_in(slack, ts)
        assert ANSWER_MARK in texts_of(post)
    assert pending_in(folder) == []


def test_an_old_pending_question_gets_an_apology(folder: Path, slack: FakeSlack) -> None:
    store = SQLiteStateStore(folder / "data" / "bot_state.sqlite3")
    turn = Turn(team="T111", channel="C1", user="U1", source="mention", text=QUESTION, language="en",
                mention="<@UBOT>", ts="1700009000.000100", thread_ts="1700009000.000100")
    store.claim(turn.key)
    store.add_pending(turn.pending(owner="gone-host:1:1", now=time.time() - 2 * 3600))  # two hours ago
    store.close()
    process = start(folder, slack, "apology")
    try:
        slack.wait_count("reactions.remove", 1, timeout=60)
    finally:
        process.stop()
    [post] = posts_in(slack, turn.ts)
    assert "restarted before I could answer" in texts_of(post)
    assert pending_in(folder) == []


def test_socket_mode_stops_cleanly_on_sigterm(folder: Path, slack: FakeSlack) -> None:
    ws = FakeSocketMode()
    slack.socket_url = ws.url
    port = free_port()
    env = child_env(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN, SLACK_API_URL=slack.base_url,
                    CORPUS_DIR=str(folder / "corpus"), DATA_DIR=str(folder / "data"), HOST="127.0.0.1",
                    HEALTH_PORT=str(port), PORT=str(free_port()))
    process = ServeProcess(local_command(["industry-qa", "serve"]), env=env, cwd=folder, name="socket", port=port)
    try:
        process.wait_ready()
        code, took = sigterm(process)
        assert code == 0 and took < 15, (code, took, process.log_tail())
        assert any("received SIGTERM" in line for line in process.log_lines())
    finally:
        process.stop()
        ws.close()
