"""Two replicas, one truth: two real ``industry-qa serve`` processes (the image's command, with the
image's and compose.yaml's environment) on one PostgreSQL database and one shared corpus and data
folder, signed Slack requests in, the loopback fake of Slack's Web API out.

Both replicas start with a weekly digest slot two minutes past, so each one's scheduler tries to post
it at start-up. The processes are started once for the module; each test uses its own channel,
thread or user so that they do not see each other's work.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from retrieval.settings import RetrievalSettings
from tests.bot_fakes import BOT_TOKEN, BOT_USER_ID, Call, FakeSlack
from tests.bot_fixtures import (
    FIRST_IN_THREAD,
    FOLLOW_UP,
    QUESTION,
    SIGNING_SECRET,
    mention,
    message,
    texts_of,
)
from tests.deploy_files import compose, dockerfile, env_of, interpolate, local_command
from tests.pg_server import PostgresServer, free_port
from tests.serve_process import ServeProcess, child_env

DIGEST_CHANNEL = "CDIGEST"
NEW_ARTICLE = (
    "---\ntitle: \"StepFun closes a new funding round\"\noutlet: \"Test Wire\"\npublished: \"2025-12-24\"\n"
    "language: en\nurl: \"https://example.com/stepfun-round\"\n---\nThis article is a test fixture; it is not real news.\n\n"
    "StepFun closed a new funding round of 700 million US dollars on Tuesday, the Shanghai start-up said. "
    "The round was led by state-backed investment funds.\n"
)
NEW_QUESTION = "How much did StepFun raise in its new funding round?"


@dataclass
class Replicas:
    a: ServeProcess
    b: ServeProcess
    slack: FakeSlack
    state_url: str
    env: dict[str, str]
    root: Path

    def posts(self, predicate: Any = lambda call: True) -> list[Call]:
        return [c for c in self.slack.calls_to("chat.postMessage") if predicate(c)]


def image_env(state_url: str, root: Path) -> dict[str, str]:
    """The final stage's ENV, compose.yaml's environment for the bot, and the settings a test sets in
    .env (Slack's address is the fake's, the database the test server's, paths in the test folder)."""
    image = env_of(dockerfile(), stage=1)
    service = compose()["services"]["bot"]
    variables = {"POSTGRES_PASSWORD": "unused-by-trust-auth"}
    declared = {k: interpolate(str(v), variables) for k, v in service["environment"].items()}
    assert declared["STATE_URL"].startswith("postgresql://iqa:")  # compose points the replicas at postgres
    slot = datetime.now(UTC) - timedelta(minutes=2)
    settings = {k: v for k, v in image.items() if k != "PATH"}
    settings.update(declared)
    settings.update({
        "STATE_URL": state_url, "CORPUS_DIR": str(root / "corpus"), "DATA_DIR": str(root / "data"),
        "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "HOST": "127.0.0.1",
        "USER_QUESTIONS_PER_MINUTE": "3", "LOG_LEVEL": "INFO",
        "DIGEST_CHANNEL": DIGEST_CHANNEL, "DIGEST_TIMEZONE": "UTC", "DIGEST_DAY": slot.strftime("%A"),
        "DIGEST_TIME": slot.strftime("%H:%M"),
    })
    return child_env(**settings)


@pytest.fixture(scope="module")
def replicas(postgres_server: PostgresServer, tiny_retrieval: RetrievalSettings,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    root = tmp_path_factory.mktemp("replicas")
    shutil.copytree(tiny_retrieval.corpus_dir, root / "corpus")  # the shared corpus and data volumes
    shutil.copytree(tiny_retrieval.data_dir, root / "data")
    slack = FakeSlack().start()
    state_url = postgres_server.create_database("replicas")
    env = {**image_env(state_url, root), "SLACK_API_URL": slack.base_url}
    command = local_command(compose()["services"]["bot"]["command"])
    started = []
    try:
        for name in ("a", "b"):
            port = free_port()
            started.append(ServeProcess(command, env={**env, "PORT": str(port)}, cwd=root, name=name, port=port))
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda p: p.wait_ready(), started))
        yield Replicas(started[0], started[1], slack, state_url, env, root)
    finally:
        for process in started:
            process.stop()
        slack.stop()


def answered_in(replicas: Replicas, thread_ts: str, n: int = 1) -> list[Call]:
    replicas.slack.wait_for(lambda calls: sum(c.method == "chat.postMessage" and c.body.get("thread_ts") == thread_ts
                                              for c in calls) >= n, timeout=60)
    return replicas.posts(lambda c: c.body.get("thread_ts") == thread_ts)


def test_the_same_event_delivered_to_both_replicas_is_answered_once(replicas: Replicas) -> None:
    event = mention(QUESTION, ts="1700001000.000100", channel="C-ONCE", user="U-ONCE")
    as_message = message(f"<@{BOT_USER_ID}> {QUESTION}", ts="1700001000.000100", channel="C-ONCE", user="U-ONCE")
    deliveries = [(replicas.a, event, "EvTWICE"), (replicas.b, event, "EvTWICE"), (replicas.b, as_message, "EvMSG")]
    with ThreadPoolExecutor(3) as pool:
        statuses = list(pool.map(lambda d: d[0].post_event(d[1], event_id=d[2]).status, deliveries))
    assert statuses == [200, 200, 200]
    [post] = answered_in(replicas, "1700001000.000100")
    replicas.slack.settle(1.0)
    assert len(replicas.posts(lambda c: c.body.get("channel") == "C-ONCE")) == 1
    assert "example.com/zhipu-hearing" in texts_of(post)


def test_a_follow_up_on_the_other_replica_is_answered_once_with_the_thread_history(
        replicas: Replicas, qa_service: Any) -> None:
    assert qa_service.ask(FOLLOW_UP).outcome != "answered", "the follow-up alone must not be answered, or history proves nothing"
    first = mention(FIRST_IN_THREAD, ts="1700002000.000100", channel="C-THREAD", user="U-THREAD")
    assert replicas.a.post_event(first).status == 200
    answered_in(replicas, "1700002000.000100")
    follow_up = message(FOLLOW_UP, ts="1700002000.000200", thread_ts="1700002000.000100", channel="C-THREAD",
                        user="U-THREAD")
    assert replicas.b.post_event(follow_up, event_id="EvFOLLOW").status == 200  # B never saw the thread start
    assert replicas.a.post_event(follow_up, event_id="EvFOLLOW", retry_num=1).status == 200  # a redelivery to A
    posts = answered_in(replicas, "1700002000.000100", 2)
    replicas.slack.settle(1.0)
    assert len(replicas.posts(lambda c: c.body.get("channel") == "C-THREAD")) == 2
    assert "example.com/minimax-listing" in texts_of(posts[1])  # found through the first question,
    assert "does not answer this directly" not in texts_of(posts[1])  # and answered, not only related


def test_the_per_user_limit_is_shared_by_the_replicas(replicas: Replicas) -> None:
    for i, replica in enumerate((replicas.a, replicas.b, replicas.a)):
        ts = f"1700003000.00010{i}"
        replica.post_event(mention(QUESTION, ts=ts, channel="C-LIMIT", user="U-LIMIT"))
        assert "asked 3 questions" not in texts_of(answered_in(replicas, ts)[0])
    replicas.b.post_event(mention(QUESTION, ts="1700003000.000103", channel="C-LIMIT", user="U-LIMIT"))
    [notice] = replicas.slack.wait_count("chat.postEphemeral", 1, timeout=60)  # told to the asker alone
    assert "asked 3 questions in the last minute" in texts_of(notice)
    assert notice.body["thread_ts"] == "1700003000.000103"


def test_a_digest_slot_is_posted_once_by_two_replicas(replicas: Replicas) -> None:
    replicas.slack.wait_for(lambda calls: any(c.body.get("channel") == DIGEST_CHANNEL for c in calls), timeout=60)
    for replica in (replicas.a, replicas.b):  # both schedulers run (each tries the slot when it starts)
        assert any(f"digests: next to {DIGEST_CHANNEL}" in line for line in replica.log_lines())
    counts = [_digest_counts(r) for r in (replicas.a, replicas.b)]
    assert sorted(c.get("posted", 0) for c in counts) == [0, 1]  # one of them posted it
    assert len(replicas.posts(lambda c: c.body.get("channel") == DIGEST_CHANNEL)) == 1
    with psycopg.connect(replicas.state_url) as conn:
        rows = conn.execute("SELECT week, status, attempts FROM digest_claims WHERE channel = %s",
                            (DIGEST_CHANNEL,)).fetchall()
    assert [(status, attempts) for _, status, attempts in rows] == [("posted", 1)]


def _digest_counts(replica: ServeProcess) -> dict[str, float]:
    status, body = replica.get("/metrics").status, replica.get("/metrics").body
    assert status == 200
    counts = {}
    for line in body.splitlines():
        if line.startswith("industry_qa_digest_posts_total{"):
            outcome = line.split('outcome="', 1)[1].split('"', 1)[0]
            counts[outcome] = float(line.rsplit(" ", 1)[1])
    return counts


def test_an_index_generation_written_by_the_indexer_is_picked_up_by_both(replicas: Replicas) -> None:
    (replicas.root / "corpus" / "articles" / "stepfun-round.md").write_text(NEW_ARTICLE, encoding="utf-8")
    indexer = compose()["services"]["indexer"]["command"]  # compose's one-shot indexer, run again
    done = subprocess.run(local_command(indexer), env=replicas.env, cwd=replicas.root, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    for i, replica in enumerate((replicas.a, replicas.b)):
        ts = f"1700004000.00010{i}"
        replica.post_event(mention(NEW_QUESTION, ts=ts, channel="C-NEW", user=f"U-NEW-{i}"))
        text = texts_of(answered_in(replicas, ts)[0])
        assert "example.com/stepfun-round" in text and "700 million US dollars" in text


def test_replicas_log_json_with_a_question_id_on_every_line_of_a_question(replicas: Replicas) -> None:
    ts = "1700005000.000100"
    replicas.a.post_event(mention(QUESTION, ts=ts, channel="C-LOG", user="U-LOG"))
    answered_in(replicas, ts)
    replicas.slack.settle(0.5)
    entries = [json.loads(line) for line in replicas.a.log_lines()]  # every line is one JSON object
    ids = {e["question_id"] for e in entries if e.get("message", "").startswith("mention question in C-LOG/")}
    assert len(ids) == 1
    lines = [e["message"] for e in entries if e.get("question_id") in ids]
    assert any(m.startswith("question answered in") for m in lines)
    assert not any(replicas.env["SLACK_SIGNING_SECRET"] in json.dumps(e) for e in entries)


def test_the_images_health_check_passes_against_a_replica_and_fails_without_one(replicas: Replicas) -> None:
    check = [i for i in dockerfile() if i.keyword == "HEALTHCHECK"][0].exec_form()
    ok = subprocess.run(local_command(check), env={**replicas.env, "PORT": str(replicas.a.port)}, cwd=replicas.root,
                        capture_output=True, text=True, timeout=60, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert '"ok": true' in ok.stdout
    down = subprocess.run(local_command(check), env={**replicas.env, "PORT": str(free_port())}, cwd=replicas.root,
                          capture_output=True, text=True, timeout=60, check=False)
    assert down.returncode == 1 and "nothing answers" in down.stderr

