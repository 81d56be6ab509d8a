"""Running the bot as a service: readiness and its reasons, the metrics, a question id on every log
line of a question, retention, and ``industry-qa stats``. Signed requests into the real app on a
real socket, the Web API answered by the loopback fake."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.logs import JsonFormatter, QuestionIdFilter
from bot.maintenance import prune_once
from bot.state.records import QuestionRecord
from bot.state.sqlite import SQLiteStateStore
from bot.stats import parse_span
from retrieval.index import build_index
from retrieval.service import QAService
from retrieval.settings import RetrievalSettings
from retrieval.types import Answer, Citation, Fallback
from tests.bot_fakes import FakeSlack, Scripted, ScriptedAnswerer
from tests.bot_fixtures import QUESTION, BotHarness, mention, message, metric, wait_answered

CITED = [Citation(1, "A title", "Outlet", "2025-01-01", "https://example.com/a", "An excerpt.", "a.md", 0, 11)]


def cited_answer(**kw: Any) -> Answer:
    return Answer(question="q", refused=False, language="en", citations=CITED, **kw)


# -- readiness --------------------------------------------------------------------------------------

def test_readyz_is_ready_when_index_state_and_slack_are(bot: BotHarness, fake_slack: FakeSlack) -> None:
    for _ in range(2):
        reply = bot.get("/readyz")
        assert reply.status == 200
        assert json.loads(reply.body) == {"ok": True, "checks": {"index": "ok", "state": "ok", "slack": "ok"}}
    assert len(fake_slack.calls_to("auth.test")) == 1  # asked again only after a minute
    assert bot.get("/healthz").status == 200


def test_readyz_names_each_missing_part_and_recovers(make_bot: Any, fake_slack: FakeSlack, tmp_path: Path,
                                                     tiny_retrieval: RetrievalSettings) -> None:
    settings = RetrievalSettings(corpus_dir=tiny_retrieval.corpus_dir, data_dir=tmp_path / "not-indexed-yet")
    bot = make_bot(answerer=QAService(settings))
    fake_slack.script("auth.test", Scripted(body={"ok": False, "error": "invalid_auth"}))
    reply = bot.get("/readyz")
    assert reply.status == 503
    assert json.loads(reply.body)["checks"] == {"index": "not loaded (IndexMissingError)", "state": "ok",
                                                "slack": "auth failed (invalid_auth)"}
    assert str(tmp_path) not in reply.body  # reasons name no paths

    build_index(settings)  # the indexer (another process in production) writes a generation
    assert bot.get("/readyz").status == 200

    bot.store.close()
    reply = bot.get("/readyz")
    assert reply.status == 503 and json.loads(reply.body)["checks"]["state"].startswith("unreachable (")


# -- metrics ----------------------------------------------------------------------------------------

def test_metrics_count_questions_by_outcome_latency_fallbacks_and_slack_errors(make_bot: Any,
                                                                               fake_slack: FakeSlack) -> None:
    closest = cited_answer(fallback=Fallback("timeout"), mode="extractive")
    closest.outcome = "closest"  # type: ignore[attr-defined]  # the answer's three-way outcome
    bot = make_bot(answerer=ScriptedAnswerer(answer=closest))
    fake_slack.script("reactions.add", Scripted(body={"ok": False, "error": "missing_scope"}))
    series = [("industry_qa_questions_total", {"surface": "mention", "outcome": "closest"}),
              ("industry_qa_answer_latency_seconds_count", {}),
              ("industry_qa_model_fallbacks_total", {"reason": "timeout"}),
              ("industry_qa_slack_api_errors_total", {"method": "reactions.add", "error": "missing_scope"})]
    before = [metric(name, **labels) for name, labels in series]

    bot.post_event(mention(QUESTION, ts="1700000300.000100"))
    wait_answered(fake_slack)

    assert [metric(name, **labels) - b for (name, labels), b in zip(series, before, strict=True)] == [1, 1, 1, 1]
    assert bot.store.questions()[0].record.outcome == "closest"
    page = bot.get("/metrics")
    assert page.status == 200 and page.headers["content-type"].startswith("text/plain")
    assert 'industry_qa_questions_total{outcome="closest",surface="mention"}' in page.body
    assert "industry_qa_answer_latency_seconds_bucket" in page.body and "process_resident_memory_bytes" in page.body


def test_refusals_and_errors_are_their_own_outcomes(make_bot: Any, fake_slack: FakeSlack) -> None:
    refused = Answer(question="q", refused=True, language="en", refusal="no_evidence", corpus_articles=3)
    before = (metric("industry_qa_questions_total", surface="mention", outcome="refused"),
              metric("industry_qa_questions_total", surface="mention", outcome="error"))
    make_bot(answerer=ScriptedAnswerer(answer=refused)).post_event(mention(QUESTION, ts="1700000301.000100"))
    wait_answered(fake_slack)
    make_bot(answerer=ScriptedAnswerer(error=RuntimeError("boom"))).post_event(mention(QUESTION, ts="1700000302.000100"))
    fake_slack.wait_count("chat.postEphemeral", 1)  # the error, to the asker (a new bot starts with a clean record)
    fake_slack.wait_count("reactions.remove", 1)
    after = (metric("industry_qa_questions_total", surface="mention", outcome="refused"),
             metric("industry_qa_questions_total", surface="mention", outcome="error"))
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)


def test_every_surface_and_outcome_is_a_series_from_the_start_and_a_dm_counts_as_one(
        bot: BotHarness, fake_slack: FakeSlack) -> None:
    page = bot.get("/metrics").body
    for surface in ("mention", "dm", "thread", "channel", "assistant", "command", "check"):
        for outcome in ("answered", "closest", "refused", "error"):
            assert f'industry_qa_questions_total{{outcome="{outcome}",surface="{surface}"}}' in page
    before = metric("industry_qa_questions_total", surface="dm", outcome="answered")
    bot.post_event(message(QUESTION, ts="1700000303.000100", channel="D1", channel_type="im"))
    wait_answered(fake_slack)
    assert metric("industry_qa_questions_total", surface="dm", outcome="answered") == before + 1


# -- logs -------------------------------------------------------------------------------------------

class TalkingAnswerer(ScriptedAnswerer):
    """Logs from inside ``ask``, as retrieval and the model layer do."""

    def ask(self, question: str, *, history: Any = ()) -> Answer:
        logging.getLogger("retrieval.test").warning("looking up %s", question)
        return super().ask(question, history=history)


def test_every_log_line_of_a_question_carries_its_id_in_json(make_bot: Any, fake_slack: FakeSlack) -> None:
    bot = make_bot(answerer=TalkingAnswerer(answer=cited_answer()))  # its start-up checks of examples are not logged here
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(QuestionIdFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    level, root.level = root.level, logging.INFO
    try:
        fake_slack.script("reactions.add", Scripted(body={"ok": False, "error": "missing_scope"}),
                          Scripted(body={"ok": False, "error": "missing_scope"}))
        for i, text in enumerate(("first question", "second question")):
            bot.post_event(mention(text, ts=f"1700000400.00010{i}"))
            wait_answered(fake_slack, i + 1)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    mine = [e for e in lines if e["logger"] in ("bot.handler", "bot.question_log", "retrieval.test")]
    by_question: dict[str, list[str]] = {}
    for entry in mine:
        by_question.setdefault(entry.get("question_id", ""), []).append(entry["message"])
    assert "" not in by_question and len(by_question) == 2  # every line has an id; one id per question
    for messages in by_question.values():
        # the listener thread, the answering thread, retrieval inside it and the reaction thread
        assert any(m.startswith("mention question in C1") for m in messages)
        assert any(m.startswith("looking up") for m in messages)
        assert any(m == "reactions.add failed: missing_scope" for m in messages)
        assert any(m.startswith("question answered in") for m in messages)
    assert {"time", "level", "logger", "message"} <= set(mine[0])


# -- retention and stats ----------------------------------------------------------------------------

def record(question: str = "q", **kw: Any) -> QuestionRecord:
    base = dict(team="T", channel="C", thread_ts="1.0", user="U", source="mention", question=question, language="en",
                refused=False, n_citations=1, latency_ms=100.0)
    return QuestionRecord(**{**base, **kw})  # type: ignore[arg-type]


def age(path: Path, table: str, days: float, where: str = "1=1") -> None:
    """Backdate rows (what a store written long ago looks like)."""
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(f"UPDATE {table} SET created_at = created_at - ? WHERE {where}", (days * 86400,))
    conn.close()


def test_question_log_and_threads_are_pruned_after_question_log_days(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    store = SQLiteStateStore(path)
    old = store.log_question(record("asked in spring"))
    store.record_feedback(question_id=old, user="U", value=1)
    store.add_turn(team="T", channel="C", thread_ts="1.0", ts="1.0", user="U", question="asked in spring")
    store.log_question(record("asked today"))
    for table in ("questions", "thread_turns", "feedback"):
        age(path, table, 100, "id = 1" if table == "questions" else "1=1")
    assert prune_once(store, question_log_days=0) == (0, 0)  # 0 keeps everything
    assert prune_once(store, question_log_days=90)[1] == 3
    assert [q.record.question for q in store.questions()] == ["asked today"]
    assert store.feedback() == [] and store.thread_history(team="T", channel="C", thread_ts="1.0", before_ts="inf") is None
    store.close()


def test_stats_prints_shares_latency_votes_and_the_most_asked_unanswered(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "state.sqlite3"
    store = SQLiteStateStore(path)
    ids = [store.log_question(record(f"answered {i}", latency_ms=ms)) for i, ms in enumerate((100.0, 200.0, 300.0))]
    store.log_question(record("Who is first to list?", outcome="closest", latency_ms=400.0))
    store.log_question(record("who is first  to list ?", refused=True, n_citations=0, latency_ms=50.0))
    store.log_question(record("Weather in Beijing?", refused=True, n_citations=0, latency_ms=60.0))
    store.log_question(record("broken", error="RuntimeError", latency_ms=9999.0))
    store.log_question(record("last month", refused=True))
    store.record_feedback(question_id=ids[0], user="U1", value=1)
    store.record_feedback(question_id=ids[1], user="U2", value=-1)
    store.close()
    age(path, "questions", 30, "question = 'last month'")
    (tmp_path / "empty.env").write_text("")
    monkeypatch.setenv("STATE_URL", f"sqlite:///{path}")

    assert main(["stats", "--since", "7d", "--env-file", str(tmp_path / "empty.env")]) == 0
    out = capsys.readouterr().out
    assert ": 7 (1 failed with an error)" in out  # "last month" is outside the window
    assert "answered      3   50.0%" in out and "closest       1   16.7%" in out and "refused       2   33.3%" in out
    assert "p50 100 ms, p95 400 ms" in out  # over replies; the error's 9999 ms is not one
    assert "Votes: 👍 1  👎 1" in out
    unanswered = out.split("Most-asked unanswered questions (refused or closest):\n", 1)[1].splitlines()
    assert unanswered == ["     2  Who is first to list?", "     1  Weather in Beijing?"]


def test_stats_refuses_a_bad_span(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", "--since", "a week"]) == 2
    assert "--since must be a positive number with m, h, d or w" in capsys.readouterr().err
    assert [parse_span(s) for s in ("90m", "24h", "7d", "2w")] == [5400, 86400, 604800, 1209600]
    with pytest.raises(ValueError):
        parse_span("0d")

