"""``industry-qa digest --dry-run/--post`` and ``/digest`` against the tiny corpus, its index and a
real state database; Slack is the loopback fake."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.digest.command import bad_week_text
from bot.digest.schedule import IsoWeek, WeekError
from bot.state import open_store
from bot.state.records import QuestionRecord
from retrieval.settings import RetrievalSettings
from tests.bot_fakes import BOT_TOKEN, FakeSlack, ScriptedAnswerer
from tests.bot_fixtures import BotHarness

WEEK = "2025-W51"  # Monday 09:00 Shanghai schedule: 15-22 Dec 2025, the Zhipu and Moonshot fixtures
IN_WEEK = datetime(2025, 12, 17, 12, tzinfo=UTC).timestamp()
ENV_VARS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "DIGEST_CHANNEL",
            "DIGEST_LANGUAGE", "DIGEST_TIMEZONE", "DIGEST_DAY", "DIGEST_TIME", "STATE_URL", "STATE_DB", "CORPUS_DIR", "DATA_DIR")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_retrieval: RetrievalSettings) -> dict[str, str]:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.env").write_text("")
    state = tmp_path / "state.sqlite3"
    monkeypatch.setenv("STATE_URL", f"sqlite:///{state}")
    return {"--env-file": str(tmp_path / "empty.env"), "--corpus": str(tiny_retrieval.corpus_dir),
            "--data": str(tiny_retrieval.data_dir), "state": str(state)}


def args(env: dict[str, str], *extra: str) -> list[str]:
    return ["digest", *extra, *(x for k, v in env.items() if k.startswith("--") for x in (k, v))]


def log_questions(db: str) -> None:
    store = open_store(db)
    for question, refused in [("Did Zhipu pass its hearing?", False), ("did zhipu pass its hearing", False),
                              ("Who leads Baichuan's next round?", True)]:
        store.log_question(QuestionRecord(team="T", channel="C", thread_ts="", user="U", source="mention",
                                          question=question, language="en", refused=refused, n_citations=0,
                                          latency_ms=1.0))
    store.close()
    with sqlite3.connect(db) as conn:  # the log stamps "now"; move the rows into the digest's week
        conn.execute("UPDATE questions SET created_at = ?", (IN_WEEK,))


def test_dry_run_prints_the_week_without_slack_credentials(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    log_questions(env["state"])
    assert main(args(env, "--dry-run", "--week", WEEK)) == 0
    out = capsys.readouterr().out
    assert out.startswith("Week 51, 2025\n")
    assert "Zhipu AI passes listing hearing in Hong Kong" in out and "月之暗面完成新一轮融资" in out
    assert "MiniMax" not in out.split("## What people asked")[0]  # published 11 Dec: the week before
    assert "## Key developments (vectors)" in out
    assert "1. Did Zhipu pass its hearing? (×2)" in out
    assert out.rstrip().endswith("- Who leads Baichuan's next round? (×1)")


def test_dry_run_rejects_a_malformed_week(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args(env, "--dry-run", "--week", "week 51")) == 2
    assert "week must look like 2026-W48" in capsys.readouterr().err


def test_post_posts_once_per_channel_and_week(
    env: dict[str, str], fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": fake_slack.base_url,
                        "DIGEST_CHANNEL": "C_NEWS"}.items():
        monkeypatch.setenv(name, value)
    assert main(args(env, "--post", "--week", WEEK)) == 0
    [call] = fake_slack.calls_to("chat.postMessage")
    assert call.body["channel"] == "C_NEWS" and call.body["unfurl_links"] is False
    blocks = call.body["blocks"] if isinstance(call.body["blocks"], list) else json.loads(call.body["blocks"])
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "Week 51, 2025", "emoji": True}}
    assert main(args(env, "--post", "--week", WEEK)) == 0  # again: the claim says it is done
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert capsys.readouterr().out.splitlines() == ["C_NEWS 2025-W51: posted 1900000000.000001",
                                                    "C_NEWS 2025-W51: already posted"]
    assert main(args(env, "--post", "--week", "2099-W01")) == 2  # not over yet: would block the real post
    assert "is not over" in capsys.readouterr().err


def test_slash_digest_shows_a_private_preview(make_bot: object, fake_slack: FakeSlack) -> None:
    bot: BotHarness = make_bot(answerer=ScriptedAnswerer())  # type: ignore[operator]
    reply = bot.post_form({"command": "/digest", "text": WEEK, "team_id": "T111", "channel_id": "C1", "user_id": "U1",
                           "response_url": fake_slack.hook_url("digest"), "trigger_id": "1.1"})
    assert reply.status == 200 and "Building the digest preview" in reply.body
    [preview] = fake_slack.wait_count("hook:digest", 1, timeout=30)
    assert preview.body["response_type"] == "ephemeral"
    text = json.dumps(preview.body["blocks"], ensure_ascii=False)
    assert "Week 51, 2025" in text and "Preview, visible only to you" in text and "月之暗面完成新一轮融资" in text
    assert "<https://example.com/zhipu-hearing|Zhipu AI passes listing hearing in Hong Kong>" in text
    assert fake_slack.calls_to("chat.postMessage") == []  # nothing public
    bot.post_form({"command": "/digest", "text": "soon", "team_id": "T111", "channel_id": "C1", "user_id": "U1",
                   "response_url": fake_slack.hook_url("bad"), "trigger_id": "1.2"})
    [bad] = fake_slack.wait_count("hook:bad", 1)
    assert "week must look like 2026-W48" in bad.body["text"]


def test_post_an_empty_week_still_posts_saying_so(env: dict[str, str], fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": fake_slack.base_url,
                        "DIGEST_CHANNEL": "C_NEWS,C_OPS"}.items():
        monkeypatch.setenv(name, value)
    assert main(args(env, "--post", "--week", "2025-W40")) == 0  # no fixture article that week
    calls = fake_slack.calls_to("chat.postMessage")
    assert sorted(c.body["channel"] for c in calls) == ["C_NEWS", "C_OPS"]
    for call in calls:
        text = json.dumps(call.body["blocks"])
        assert "Week 40, 2025" in text and "No new articles this week." in text and "What people asked" in text


def test_private_questions_stay_out_of_the_public_digest(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from bot.digest.sources import load_questions

    store = open_store(tmp_path / "state.sqlite3")
    for source, q in (("mention", "public mention"), ("thread", "public follow-up"), ("dm", "my private DM"),
                      ("command", "my private /ask")):
        store.log_question(QuestionRecord(team="T", channel="C", thread_ts="", user="U", source=source, question=q,
                                          language="en", refused=False, n_citations=1, latency_ms=1.0))
    now = datetime.now(tz=UTC)
    asked = [q.question for q in load_questions(store, now - timedelta(days=1), now + timedelta(days=1))]
    assert asked == ["public mention", "public follow-up"]
    store.close()


@pytest.mark.parametrize(("text", "language", "expected"), [
    ("soon", "en", "Sorry, week must look like 2026-W48 (got 'soon'). Try `/digest` or `/digest 2026-W48`."),
    ("2026-W54", "en", "Sorry, 2026 has no ISO week 54. Try `/digest` or `/digest 2026-W48`."),
    ("soon", "zh", "抱歉，周次的格式应为 2026-W48（收到的是 'soon'）。请试试 `/digest` 或 `/digest 2026-W48`。"),
    ("<soon>", "en", "Sorry, week must look like 2026-W48 (got '&lt;soon&gt;'). Try `/digest` or `/digest 2026-W48`."),
])
def test_slash_digest_says_what_is_wrong_with_a_week_in_the_digest_language(text: str, language: str, expected: str) -> None:
    with pytest.raises(WeekError) as caught:
        IsoWeek.parse(text)
    assert bad_week_text(caught.value, language) == expected
