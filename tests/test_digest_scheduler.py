"""The weekly post with an injected clock: local time across DST, exactly once, retries, make-up.

Posts go through the real ``WebClient`` to the loopback ``FakeSlack``; claims live in real SQLite
files, opened by several ``SQLiteStateStore`` instances where a test needs several processes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.config import DigestSettings, Settings
from bot.digest.schedule import IsoWeek, next_run_after
from bot.digest.scheduler import (
    MAX_ATTEMPTS,
    STALE_CLAIM_S,
    DigestScheduler,
    SchedulerThread,
    backoff_s,
    slack_finder,
    slack_poster,
)
from bot.render import Message, notice_message
from bot.slack_client import build_web_client
from bot.state.sqlite import SQLiteStateStore
from tests.bot_fakes import BOT_TOKEN, FakeSlack, Scripted

BERLIN = DigestSettings(channels=("C_NEWS",), weekday=0, at=time(9, 0), timezone="Europe/Berlin")
# 2026-10-25: Berlin leaves summer time. Monday 09:00 is 07:00 UTC before, 08:00 UTC after.
SLOT_OCT_19 = datetime(2026, 10, 19, 7, 0, tzinfo=UTC)
SLOT_OCT_26 = datetime(2026, 10, 26, 8, 0, tzinfo=UTC)
WEEK = IsoWeek(2026, 43)  # the week the 26 October post covers


@pytest.fixture
def poster(fake_slack: FakeSlack) -> Iterator[object]:
    settings = Settings(slack_bot_token=BOT_TOKEN, slack_api_url=fake_slack.base_url, slack_api_timeout_s=5)
    yield slack_poster(build_web_client(settings))


@pytest.fixture
def finder(fake_slack: FakeSlack) -> object:
    settings = Settings(slack_bot_token=BOT_TOKEN, slack_api_url=fake_slack.base_url, slack_api_timeout_s=5)
    return slack_finder(build_web_client(settings))


class Builds:
    """A message factory that records which weeks it built (and can be told to fail)."""

    def __init__(self) -> None:
        self.weeks: list[IsoWeek] = []
        self.error: Exception | None = None

    def __call__(self, week: IsoWeek) -> Message:
        self.weeks.append(week)
        if self.error is not None:
            raise self.error
        return notice_message(f"digest {week}")


def make(db: Path, poster: object, *, settings: DigestSettings = BERLIN, owner: str | None = None,
         builds: Builds | None = None) -> DigestScheduler:
    return DigestScheduler(settings=settings, store=SQLiteStateStore(db), post=poster,  # type: ignore[arg-type]
                           make_message=builds or Builds(), owner=owner)


def posts(fake: FakeSlack) -> list[str]:
    return [c.body["text"] for c in fake.calls_to("chat.postMessage")]


def test_next_run_is_nine_local_on_both_sides_of_a_dst_change() -> None:
    assert next_run_after(datetime(2026, 10, 13, tzinfo=UTC), BERLIN) == SLOT_OCT_19
    assert next_run_after(SLOT_OCT_19, BERLIN) == SLOT_OCT_26
    new_york = DigestSettings(channels=("C",), timezone="America/New_York")  # spring forward on 2026-03-08
    assert next_run_after(datetime(2026, 3, 1, tzinfo=UTC), new_york) == datetime(2026, 3, 2, 14, tzinfo=UTC)
    assert next_run_after(datetime(2026, 3, 2, 14, tzinfo=UTC), new_york) == datetime(2026, 3, 9, 13, tzinfo=UTC)


def test_job_fires_at_the_configured_local_time_across_dst(tmp_path: Path, fake_slack: FakeSlack, poster: object) -> None:
    """A clock stepping every 5 minutes through a week with a DST change posts twice, at 09:00 local."""
    scheduler = make(tmp_path / "state.db", poster)
    posted_at = []
    now = datetime(2026, 10, 19, 6, 0, tzinfo=UTC)
    while now < datetime(2026, 10, 26, 10, 0, tzinfo=UTC):
        if any(o.status == "posted" for o in scheduler.run_pending(now)):
            posted_at.append(now)
        now += timedelta(minutes=5)
    assert posted_at == [SLOT_OCT_19, SLOT_OCT_26]
    assert posts(fake_slack) == ["digest 2026-W42", "digest 2026-W43"]
    assert [c.body["channel"] for c in fake_slack.calls_to("chat.postMessage")] == ["C_NEWS", "C_NEWS"]


def test_two_schedulers_on_one_database_post_once(tmp_path: Path, fake_slack: FakeSlack, poster: object) -> None:
    fake_slack.script("chat.postMessage", Scripted(hang_s=2.0))  # the first post is slow: the other runs meanwhile
    a, b = make(tmp_path / "state.db", poster, owner="A"), make(tmp_path / "state.db", poster, owner="B")
    start = threading.Barrier(2)
    outcomes: dict[str, list[str]] = {}

    def run(name: str, scheduler: DigestScheduler) -> None:
        start.wait()
        for minute in range(3):  # each keeps polling, as the thread would
            outcomes.setdefault(name, []).extend(o.status for o in scheduler.run_pending(SLOT_OCT_26 + timedelta(minutes=minute)))

    threads = [threading.Thread(target=run, args=(n, s)) for n, s in (("A", a), ("B", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    fake_slack.settle(0.2)
    assert posts(fake_slack) == ["digest 2026-W43"]
    statuses = [s for per_process in outcomes.values() for s in per_process]
    # One posted; the other process found the claim held ("busy") while the slow post was in flight.
    assert statuses.count("posted") == 1 and "busy" in statuses and set(statuses) == {"posted", "busy"}
    claim = a.store.digest_claim("C_NEWS", str(WEEK))
    assert claim is not None and claim.status == "posted" and claim.attempts == 1


def test_restart_after_posting_does_not_post_again(tmp_path: Path, fake_slack: FakeSlack, poster: object) -> None:
    first = make(tmp_path / "state.db", poster)
    assert [o.status for o in first.run_pending(SLOT_OCT_26 + timedelta(seconds=5))] == ["posted"]
    first.store.close()
    builds = Builds()
    restarted = make(tmp_path / "state.db", poster, builds=builds)  # a new process: new owner, same file
    for later in (timedelta(minutes=1), timedelta(hours=2), timedelta(hours=23)):
        assert restarted.run_pending(SLOT_OCT_26 + later) == []
    assert restarted.post_week("C_NEWS", WEEK, SLOT_OCT_26 + timedelta(hours=3), force=True).status == "done"
    assert posts(fake_slack) == ["digest 2026-W43"] and builds.weeks == []  # not even rebuilt


def test_not_in_channel_is_logged_clearly_and_retried_later(
    tmp_path: Path, fake_slack: FakeSlack, poster: object, caplog: pytest.LogCaptureFixture
) -> None:
    fake_slack.script("chat.postMessage", Scripted(body={"ok": False, "error": "not_in_channel"}))
    scheduler = make(tmp_path / "state.db", poster)
    with caplog.at_level(logging.WARNING, logger="bot.digest.scheduler"):
        [outcome] = scheduler.run_pending(SLOT_OCT_26)
    assert (outcome.status, outcome.detail) == ("failed", "not_in_channel")
    [line] = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert "2026-W43" in line and "C_NEWS" in line and "not_in_channel" in line and "/invite @industry-qa" in line
    retry_at = SLOT_OCT_26 + timedelta(seconds=backoff_s(1))
    assert retry_at.isoformat() in line
    claim = scheduler.store.digest_claim("C_NEWS", str(WEEK))
    assert claim is not None and (claim.status, claim.attempts, claim.last_error) == ("failed", 1, "not_in_channel")
    assert scheduler.run_pending(retry_at - timedelta(seconds=1))[0].status == "busy"  # not yet due
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert scheduler.run_pending(retry_at)[0].status == "posted"  # someone invited the bot meanwhile
    assert len(fake_slack.calls_to("chat.postMessage")) == 2
    assert scheduler.run_pending(retry_at + timedelta(hours=1)) == []
    claim = scheduler.store.digest_claim("C_NEWS", str(WEEK))
    assert claim is not None and (claim.status, claim.attempts) == ("posted", 2)


def test_gives_up_after_max_attempts_with_an_error_line(
    tmp_path: Path, fake_slack: FakeSlack, poster: object, caplog: pytest.LogCaptureFixture
) -> None:
    fake_slack.script("chat.postMessage", *[Scripted(body={"ok": False, "error": "channel_not_found"})] * MAX_ATTEMPTS)
    scheduler = make(tmp_path / "state.db", poster)
    now = SLOT_OCT_26
    with caplog.at_level(logging.WARNING, logger="bot.digest.scheduler"):
        for attempt in range(1, MAX_ATTEMPTS + 1):
            assert scheduler.run_pending(now)[0].status == "failed"
            now += timedelta(seconds=backoff_s(attempt))
    assert now - SLOT_OCT_26 < timedelta(days=2)  # the retries cover about a day, not a week
    assert scheduler.run_pending(now + timedelta(days=1))[0].status == "busy"
    assert len(fake_slack.calls_to("chat.postMessage")) == MAX_ATTEMPTS
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "giving up" in errors[0] and "DIGEST_CHANNEL" in errors[0]


def test_missed_run_is_made_up_within_24h(tmp_path: Path, fake_slack: FakeSlack, poster: object) -> None:
    scheduler = make(tmp_path / "state.db", poster)  # the bot starts 23 h after the slot
    assert [o.status for o in scheduler.run_pending(SLOT_OCT_26 + timedelta(hours=23))] == ["posted"]
    assert posts(fake_slack) == ["digest 2026-W43"]


def test_missed_run_older_than_24h_is_skipped_with_one_log_line(
    tmp_path: Path, fake_slack: FakeSlack, poster: object, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.digest.scheduler"):
        first = make(tmp_path / "state.db", poster)
        assert [o.status for o in first.run_pending(SLOT_OCT_26 + timedelta(hours=25))] == ["skipped"]
        assert first.run_pending(SLOT_OCT_26 + timedelta(hours=26)) == []
        assert make(tmp_path / "state.db", poster).run_pending(SLOT_OCT_26 + timedelta(hours=27)) == []  # restart
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and "skipped" in lines[0] and "25.0 h late" in lines[0] and "--week 2026-W43" in lines[0]
    assert fake_slack.calls_to("chat.postMessage") == []
    # An operator can still post it explicitly (industry-qa digest --post --week 2026-W43).
    assert first.post_week("C_NEWS", WEEK, SLOT_OCT_26 + timedelta(hours=30), force=True).status == "posted"


def crashed_claim(db: Path) -> None:
    """A process claimed the week at the slot and died before recording the outcome."""
    store = SQLiteStateStore(db)
    assert store.claim_digest("C_NEWS", str(WEEK), owner="dead", now=SLOT_OCT_26.timestamp(), stale_after_s=STALE_CLAIM_S)
    store.close()


def test_a_claim_left_by_a_crashed_process_is_taken_over_when_stale(
    tmp_path: Path, fake_slack: FakeSlack, poster: object, finder: object, caplog: pytest.LogCaptureFixture
) -> None:
    crashed_claim(tmp_path / "state.db")
    scheduler = make(tmp_path / "state.db", poster)
    scheduler.find_posted = finder  # type: ignore[assignment]
    assert scheduler.run_pending(SLOT_OCT_26 + timedelta(minutes=10))[0].status == "busy"
    assert fake_slack.calls_to("chat.postMessage") == []
    stale = SLOT_OCT_26 + timedelta(seconds=STALE_CLAIM_S + 1)
    with caplog.at_level(logging.WARNING, logger="bot.digest.scheduler"):
        assert scheduler.run_pending(stale)[0].status == "posted"
    [history] = fake_slack.calls_to("conversations.history")  # it looked for a post by the dead process first
    assert history.body["channel"] == "C_NEWS" and float(history.body["oldest"]) == SLOT_OCT_26.timestamp()
    assert "had not posted, posting now" in caplog.text
    [call] = fake_slack.calls_to("chat.postMessage")
    assert call.body["metadata"] == {"event_type": "industry_qa_digest", "event_payload": {"week": "2026-W43"}}


def test_a_crashed_process_that_had_posted_is_not_posted_again(
    tmp_path: Path, fake_slack: FakeSlack, poster: object, finder: object
) -> None:
    crashed_claim(tmp_path / "state.db")
    fake_slack.script("conversations.history", Scripted(body={"ok": True, "messages": [
        {"type": "message", "ts": "1900000000.000777", "bot_id": "BBOT", "text": "Week 42",
         "metadata": {"event_type": "industry_qa_digest", "event_payload": {"week": "2026-W42"}}},
        {"type": "message", "ts": "1900000000.000999", "bot_id": "BBOT", "text": "Week 43",
         "metadata": {"event_type": "industry_qa_digest", "event_payload": {"week": "2026-W43"}}},
    ]}))
    scheduler = make(tmp_path / "state.db", poster)
    scheduler.find_posted = finder  # type: ignore[assignment]
    assert scheduler.run_pending(SLOT_OCT_26 + timedelta(hours=1))[0].status == "done"
    assert fake_slack.calls_to("chat.postMessage") == []
    claim = scheduler.store.digest_claim("C_NEWS", str(WEEK))
    assert claim is not None and (claim.status, claim.message_ts) == ("posted", "1900000000.000999")
    assert scheduler.run_pending(SLOT_OCT_26 + timedelta(hours=2)) == []


def test_a_digest_that_cannot_be_built_is_retried(tmp_path: Path, fake_slack: FakeSlack, poster: object,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    builds = Builds()
    builds.error = FileNotFoundError("corpus/articles")
    scheduler = make(tmp_path / "state.db", poster, builds=builds)
    with caplog.at_level(logging.ERROR, logger="bot.digest.scheduler"):
        assert scheduler.run_pending(SLOT_OCT_26)[0].status == "failed"
    assert "could not be built or sent" in caplog.text and fake_slack.calls_to("chat.postMessage") == []
    builds.error = None
    assert scheduler.run_pending(SLOT_OCT_26 + timedelta(seconds=backoff_s(1)))[0].status == "posted"


def test_several_channels_each_get_one_post_from_one_build(tmp_path: Path, fake_slack: FakeSlack, poster: object) -> None:
    builds = Builds()
    two = DigestSettings(channels=("C_NEWS", "C_OPS"), timezone="Europe/Berlin")
    scheduler = make(tmp_path / "state.db", poster, settings=two, builds=builds)
    assert [o.status for o in scheduler.run_pending(SLOT_OCT_26)] == ["posted", "posted"]
    assert sorted(c.body["channel"] for c in fake_slack.calls_to("chat.postMessage")) == ["C_NEWS", "C_OPS"]
    assert builds.weeks == [WEEK]


def test_the_serve_thread_makes_up_a_missed_run_at_start(tmp_path: Path, fake_slack: FakeSlack, poster: object) -> None:
    scheduler = make(tmp_path / "state.db", poster)
    thread = SchedulerThread(scheduler, clock=lambda: SLOT_OCT_26 + timedelta(hours=2)).start()
    try:
        fake_slack.wait_count("chat.postMessage", 1, timeout=10)
    finally:
        thread.stop()
    fake_slack.settle(0.2)
    assert posts(fake_slack) == ["digest 2026-W43"]


def test_serve_posts_to_the_digest_channel_and_to_nothing_else(tmp_path: Path, fake_slack: FakeSlack) -> None:
    """The wiring ``industry-qa serve`` uses, on the real clock: whatever today is, the latest
    slot is either made up (posted) or recorded as skipped, once; without DIGEST_CHANNEL and without
    channel settings the thread runs and posts nothing."""
    from dataclasses import replace

    from bot.digest.scheduler import start_digest_scheduler
    from bot.state import open_store
    from retrieval.settings import RetrievalSettings

    settings = Settings(slack_bot_token=BOT_TOKEN, slack_api_url=fake_slack.base_url, state_url=str(tmp_path / "s.db"),
                        retrieval=RetrievalSettings(corpus_dir=tmp_path / "corpus", data_dir=tmp_path / "data"))
    client = build_web_client(settings)
    store = open_store(settings.state_location)
    idle = start_digest_scheduler(settings, client, store)  # a channel may choose a cadence any time
    for _ in range(200):
        if idle.rounds:
            break
        threading.Event().wait(0.05)
    idle.stop()
    assert idle.rounds >= 1
    assert fake_slack.calls_to("chat.postMessage") == []
    on = replace(settings, digest=DigestSettings(channels=("C_NEWS",)))
    thread = start_digest_scheduler(on, client, store)
    assert thread is not None
    try:
        week = DigestScheduler.latest_week(datetime.now(UTC), on.digest)
        for _ in range(200):
            claim = store.digest_claim("C_NEWS", str(week))
            if claim is not None and claim.status != "claimed":
                break
            threading.Event().wait(0.05)
    finally:
        thread.stop()
        store.close()
    assert claim is not None and claim.status in ("posted", "skipped")
    assert len(fake_slack.calls_to("chat.postMessage")) == (1 if claim.status == "posted" else 0)


def test_down_across_two_slots_logs_both_missed_weeks(
    tmp_path: Path, fake_slack: FakeSlack, poster: object, caplog: pytest.LogCaptureFixture
) -> None:
    scheduler = make(tmp_path / "state.db", poster)
    assert [o.status for o in scheduler.run_pending(SLOT_OCT_19)] == ["posted"]  # W42, then the bot stops
    back = SLOT_OCT_26 + timedelta(days=7, hours=30)  # started again well after the 2 November slot
    with caplog.at_level(logging.WARNING, logger="bot.digest.scheduler"):
        outcomes = scheduler.run_pending(back)
        assert scheduler.run_pending(back + timedelta(minutes=1)) == []
    assert [(str(o.week), o.status) for o in outcomes] == [("2026-W43", "skipped"), ("2026-W44", "skipped")]
    assert [r.getMessage().split(" skipped")[0] for r in caplog.records if r.levelno >= logging.WARNING] == [
        "weekly digest 2026-W43 for C_NEWS", "weekly digest 2026-W44 for C_NEWS"]
    assert posts(fake_slack) == ["digest 2026-W42"]


def test_a_post_whose_response_was_lost_is_not_posted_again(tmp_path: Path, fake_slack: FakeSlack, finder: object) -> None:
    """Slack accepted the post but the response never came (client timeout): recorded as failed;
    the retry finds the post in the channel's history instead of posting a second copy."""
    impatient = slack_poster(build_web_client(
        Settings(slack_bot_token=BOT_TOKEN, slack_api_url=fake_slack.base_url, slack_api_timeout_s=1)))
    fake_slack.script("chat.postMessage", Scripted(hang_s=1.5))
    scheduler = make(tmp_path / "state.db", impatient)
    scheduler.find_posted = finder  # type: ignore[assignment]
    [outcome] = scheduler.run_pending(SLOT_OCT_26)
    assert outcome.status == "failed" and "imeout" in outcome.detail
    [lost] = fake_slack.calls_to("chat.postMessage")
    fake_slack.script("conversations.history", Scripted(body={"ok": True, "messages": [
        {"type": "message", "ts": "1900000000.000042", "bot_id": "BBOT", "metadata": lost.body["metadata"]}]}))
    retry = SLOT_OCT_26 + timedelta(seconds=backoff_s(1))
    assert scheduler.run_pending(retry)[0].status == "done"
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    claim = scheduler.store.digest_claim("C_NEWS", str(WEEK))
    assert claim is not None and (claim.status, claim.message_ts) == ("posted", "1900000000.000042")
