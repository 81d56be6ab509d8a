"""Fixtures for the Slack bot tests: a tiny real index, a fake Slack, the bot on a real socket."""

from __future__ import annotations

import http.client
import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier

from bot.app import Bot, create_bot
from bot.config import Settings
from bot.handler import WORKING_REACTION, Answerer
from bot.health import Readiness
from bot.ingest_listener import Ingest
from bot.ratelimit import UserRateLimiter
from bot.server import BotASGI, ServerThread
from bot.slack_client import build_web_client
from bot.state.sqlite import SQLiteStateStore
from retrieval.settings import RetrievalSettings
from tests.bot_fakes import BOT_TOKEN, BOT_USER_ID, TEAM_ID, Call, FakeSlack

SIGNING_SECRET = "test-signing-secret"

# Written for these tests (not real news). Questions the bot tests rely on are checked up front in
# ``qa_service`` so that a retrieval calibration change fails there, with scores, not in a Slack test.
TINY_CORPUS = {
    "zhipu-hearing.md": (
        "---\ntitle: \"Zhipu AI passes listing hearing in Hong Kong\"\noutlet: \"Test Wire\"\n"
        "published: \"2025-12-20\"\nlanguage: en\nurl: \"https://example.com/zhipu-hearing\"\n---\n"
        "This article is a test fixture; it is not real news.\n\n"
        "Zhipu AI passed its listing hearing at the Hong Kong stock exchange on Friday. "
        "The company plans to price its shares next week. "
        "Analysts expect the offering to raise about 4 billion Hong Kong dollars.\n\n"
        "The listing would make Zhipu one of the first large-model developers on the Hong Kong market.\n"
    ),
    "minimax-listing.md": (
        "---\ntitle: \"MiniMax & Zhipu race to list <first>\"\noutlet: \"Test Wire\"\n"
        "published: \"2025-12-11\"\nlanguage: en\nurl: \"https://example.com/minimax-listing\"\n---\n"
        "This article is a test fixture; it is not real news.\n\n"
        "MiniMax is preparing an initial public offering in Hong Kong. MiniMax could list its shares as early "
        "as January 2026, people familiar with the plan said. It aims to raise several hundred million dollars.\n"
    ),
    "moonshot-funding.md": (
        "---\ntitle: \"月之暗面完成新一轮融资\"\noutlet: \"测试通讯社\"\npublished: \"2025-12-18\"\n"
        "language: zh\nurl: \"\"\n---\n本文是测试样例，并非真实新闻。\n\n"
        "月之暗面宣布完成新一轮融资，金额约为五亿美元。本轮融资由多家互联网公司领投。公司表示，资金将主要用于长文本模型的研发。\n"
    ),
}
QUESTION = "Did Zhipu pass its listing hearing?"
FIRST_IN_THREAD = "What is MiniMax planning in Hong Kong?"
FOLLOW_UP = "and when will it list?"
ZH_QUESTION = "月之暗面融资多少？"


@pytest.fixture(scope="session")
def tiny_retrieval(tmp_path_factory: pytest.TempPathFactory) -> RetrievalSettings:
    """A three-article corpus indexed once per session with the bundled offline model."""
    from retrieval.index import build_index

    root = tmp_path_factory.mktemp("bot-corpus")
    articles = root / "corpus" / "articles"
    articles.mkdir(parents=True)
    for name, text in TINY_CORPUS.items():
        (articles / name).write_text(text, encoding="utf-8")
    settings = RetrievalSettings(corpus_dir=root / "corpus", data_dir=root / "data")
    build_index(settings)
    return settings


def live_corpus(root: Path) -> RetrievalSettings:
    """A one-article corpus (MiniMax) with the shipped glossary, indexed with the bundled model in
    ``root``: tests add articles to it while the bot runs (fetches allowed from loopback)."""
    import shutil

    from retrieval.index import build_index
    from retrieval.settings import IngestSettings
    from tests.web_fixtures import LOOPBACK_ALLOWED

    corpus = root / "corpus"
    (corpus / "articles").mkdir(parents=True)
    (corpus / "articles" / "minimax-listing.md").write_text(TINY_CORPUS["minimax-listing.md"], encoding="utf-8")
    shutil.copy(Path(__file__).resolve().parent.parent / "corpus" / "glossary.yml", corpus / "glossary.yml")
    settings = RetrievalSettings(corpus_dir=corpus, data_dir=root / "data",
                                 ingest=IngestSettings(fetch_timeout_s=2.0, fetch_allow_hosts=LOOPBACK_ALLOWED))
    build_index(settings)
    return settings


@pytest.fixture
def live(tmp_path: Path) -> RetrievalSettings:
    """``live_corpus`` in the test's folder."""
    return live_corpus(tmp_path)


@pytest.fixture(scope="session")
def qa_service(tiny_retrieval: RetrievalSettings) -> Answerer:
    from retrieval.service import QAService

    service = QAService(tiny_retrieval)
    for question, history in [(QUESTION, ()), (FIRST_IN_THREAD, ()), (FOLLOW_UP, (FIRST_IN_THREAD,)), (ZH_QUESTION, ())]:
        answer = service.ask(question, history=history)  # also loads the model and index once
        assert not answer.refused, f"retrieval refuses the bot fixture question {question!r}: {answer.scores}"
    return service


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    yield fake
    fake.stop()


@pytest.fixture
def bot_settings(tmp_path: Path, fake_slack: FakeSlack, tiny_retrieval: RetrievalSettings) -> Settings:
    return Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.base_url,
        slack_api_timeout_s=5,
        state_url=str(tmp_path / "state.sqlite3"),
        retrieval=tiny_retrieval,
        working_reaction_after_ms=0,  # the ⏳ on every question: tests wait for its removal (see wait_answered)
    )


_ids = itertools.count(1)


def event_payload(event: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    return {
        "token": "legacy",
        "team_id": TEAM_ID,
        "api_app_id": "A111",
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_ids):08d}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
        "event": event,
    }


def mention(text: str, *, ts: str = "1700000000.000100", channel: str = "C1", user: str = "U1", **extra: Any) -> dict[str, Any]:
    return {"type": "app_mention", "user": user, "text": f"<@{BOT_USER_ID}> {text}", "ts": ts,
            "channel": channel, "event_ts": ts, **extra}


def message(text: str, *, ts: str, channel: str = "C1", user: str = "U1", channel_type: str = "channel", **extra: Any) -> dict[str, Any]:
    return {"type": "message", "user": user, "text": text, "ts": ts, "channel": channel,
            "channel_type": channel_type, "event_ts": ts, **extra}


@dataclass
class Reply:
    status: int
    body: str
    headers: dict[str, str]


class SignedClient:
    """Talks to a bot on host:port the way Slack does: signed events, forms, and plain GETs."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.verifier = SignatureVerifier(SIGNING_SECRET)

    def post(self, body: str, *, content_type: str, headers: dict[str, str] | None = None,
             timestamp: int | None = None, secret: str | None = None, path: str = "/slack/events") -> Reply:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        verifier = SignatureVerifier(secret) if secret is not None else self.verifier
        sent = {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": verifier.generate_signature(timestamp=ts, body=body), **(headers or {})}
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            conn.request("POST", path, body=body.encode(), headers=sent)
            resp = conn.getresponse()
            return Reply(resp.status, resp.read().decode(), dict(resp.getheaders()))
        finally:
            conn.close()

    def post_event(self, event: dict[str, Any], *, event_id: str | None = None, retry_num: int | None = None, **kw: Any) -> Reply:
        headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"} if retry_num else {}
        body = json.dumps(event_payload(event, event_id=event_id))
        return self.post(body, content_type="application/json", headers=headers, **kw)

    def post_form(self, payload: dict[str, Any]) -> Reply:
        return self.post(urlencode(payload), content_type="application/x-www-form-urlencoded")

    def get(self, path: str) -> Reply:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return Reply(resp.status, resp.read().decode(), dict(resp.getheaders()))
        finally:
            conn.close()


class BotHarness(SignedClient):
    """The app served by uvicorn on 127.0.0.1:<port 0>, in this process, with its index watcher."""

    def __init__(self, server: ServerThread, store: SQLiteStateStore, settings: Settings, bot: Bot) -> None:
        super().__init__(server.host, server.port)
        self.server = server
        self.store = store
        self.settings = settings
        self.bot = bot  # its index watcher runs (alerts, App Home's cache)
        self.stopped = False

    def stop(self) -> None:
        """Shut the bot down (a restart test starts another on the same state and data)."""
        if self.stopped:
            return
        self.stopped = True
        self.server.__exit__(None, None, None)
        self.bot.stop()
        self.store.close()


@pytest.fixture
def make_bot(bot_settings: Settings, fake_slack: FakeSlack) -> Iterator[Any]:
    """``make_bot(answerer=..., limiter=..., ingest=..., **settings_overrides)`` -> a started ``BotHarness``
    (its index watcher polls every 0.1 s and handles a new generation at once)."""
    started: list[BotHarness] = []

    def factory(*, answerer: Answerer | None = None, limiter: UserRateLimiter | None = None,
                store_class: type[SQLiteStateStore] = SQLiteStateStore, ingest: Ingest | None = None,
                **overrides: Any) -> BotHarness:
        settings = replace(bot_settings, **overrides)
        store = store_class(settings.state_location)
        bot = create_bot(settings, client=build_web_client(settings), answerer=answerer, store=store, limiter=limiter,
                         ingest=ingest, watch_poll_s=0.1, watch_settle_s=0.0)
        # as `serve` does: the index check is the answerer's own (a QAService; test doubles have none)
        readiness = Readiness(load_index=getattr(answerer, "index", None), store=store, client=bot.app.client)
        server = ServerThread(BotASGI(bot.app, signing_secret=settings.slack_signing_secret,
                                      readiness=readiness)).__enter__()
        fake_slack.wait_count("auth.test", 1)
        bot.start()
        assert bot.watcher.wait_looks(1), "the index watcher did not take its first look"
        fake_slack.reset()  # tests look at what happens after start-up
        started.append(BotHarness(server, store, settings, bot))
        return started[-1]

    yield factory
    for harness in started:
        harness.stop()


@pytest.fixture
def bot(make_bot: Any, qa_service: Answerer) -> BotHarness:
    """The bot with the real QAService over the tiny corpus."""
    return make_bot(answerer=qa_service)  # type: ignore[no-any-return]


# -- assertions shared by the end-to-end tests ----------------------------------------------------


def metric(name: str, **labels: str) -> float:
    """A sample of this process's ``/metrics`` registry (0 when the series does not exist yet)."""
    from bot.metrics import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


def texts_of(call: Call) -> str:
    """Everything a person would read in a posted message: fallback text plus block texts."""
    blocks = call.body.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    parts = [str(call.body.get("text", ""))]
    for block in blocks:
        if "text" in block:
            parts.append(block["text"]["text"])
        for el in block.get("elements", []):
            parts.append(el["text"]["text"] if isinstance(el.get("text"), dict) else str(el.get("text", "")))
            parts += [el[b]["text"]["text"] for b in ("positive_button", "negative_button") if b in el]
    return "\n".join(parts)


def controls(post: Call) -> dict[str, dict[str, Any]]:
    """The controls under an answer by action id (feedback buttons, watch, share)."""
    blocks = post.body.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return {el["action_id"]: el for b in blocks if b["type"] in ("actions", "context_actions") for el in b["elements"]}


def wait_answered(fake: FakeSlack, n: int = 1) -> list[Call]:
    """Wait for ``n`` posts *and* for the working reaction to be removed after the last one."""
    fake.wait_count("chat.postMessage", n)
    fake.wait_count("reactions.remove", n)
    return fake.calls_to("chat.postMessage")


def wait_told(fake: FakeSlack, n: int = 1) -> list[Call]:
    """Wait for ``n`` notices to the asker alone (errors, limits) and the working reaction removed."""
    fake.wait_count("chat.postEphemeral", n)
    fake.wait_count("reactions.remove", n)
    return fake.calls_to("chat.postEphemeral")


def assert_working_indicator(fake: FakeSlack, ts: str) -> None:
    """One reaction added on the message, and removed after the last reply (and after the add)."""
    methods = [c.method for c in fake.calls]
    assert sorted(methods) == ["chat.postMessage", "reactions.add", "reactions.remove"]
    assert methods[-1] == "reactions.remove"
    expected = {"channel": "C1", "timestamp": ts, "name": WORKING_REACTION}
    for call in fake.calls:
        if call.method.startswith("reactions."):
            assert expected.items() <= call.body.items()


def click(post: Call, action_id: str, value: str, *, response_url: str, user: str = "U2", channel: str = "C1",
          thread_ts: str = "") -> dict[str, Any]:
    """The block_actions payload Slack sends when ``user`` clicks a control under ``post``."""
    kind = "feedback_buttons" if action_id == "answer_feedback" else "button"
    message = {"text": post.body.get("text", ""), "ts": "1900000000.000001", **({"thread_ts": thread_ts} if thread_ts else {})}
    return {
        "type": "block_actions", "team": {"id": TEAM_ID}, "user": {"id": user}, "api_app_id": "A111",
        "container": {"type": "message", "channel_id": channel, "message_ts": "1900000000.000001",
                      **({"thread_ts": thread_ts} if thread_ts else {})},
        "channel": {"id": channel}, "message": message, "response_url": response_url, "trigger_id": "1.2",
        "actions": [{"type": kind, "action_id": action_id, "block_id": "x", "value": value}],
    }
