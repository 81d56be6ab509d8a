"""The state store's contract, written against ``bot.state.protocols`` only: every backend runs it.

``BACKENDS`` maps a backend's name to a function that, given the test's request and a fresh folder,
returns an opener: each call opens one more store on the same database (a restart, or another
process). A new backend adds one entry; backend-only details (schema, WAL, migrations) are in
test_state_sqlite.py and test_state_postgres.py. PostgreSQL is a real server (tests/pg_fixtures.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.state import open_store
from bot.state.protocols import StateStore
from bot.state.records import QuestionRecord, event_key, message_key

Opener = Callable[[], StateStore]


def _sqlite(request: pytest.FixtureRequest, folder: Path) -> Opener:
    return lambda: open_store(f"sqlite:///{folder / 'state' / 'bot.sqlite3'}")


def _postgres(request: pytest.FixtureRequest, folder: Path) -> Opener:
    url = request.getfixturevalue("postgres_url")  # a new database on the session's server
    return lambda: open_store(url)


BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Path], Opener]] = {"sqlite": _sqlite, "postgresql": _postgres}
STALE_S = 60.0


@pytest.fixture(params=sorted(BACKENDS))
def open_state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    opened: list[StateStore] = []
    make = BACKENDS[request.param](request, tmp_path)

    def opener() -> StateStore:
        opened.append(make())
        return opened[-1]

    yield opener
    for store in opened:
        store.close()


@pytest.fixture
def store(open_state: Opener) -> StateStore:
    return open_state()


def record(**kw: object) -> QuestionRecord:
    base = dict(team="T", channel="C", thread_ts="1.0", user="U", source="mention", question="q", language="en",
                refused=False, n_citations=1, latency_ms=12.5, timings_ms={"total_ms": 10.0})
    return QuestionRecord(**{**base, **kw})  # type: ignore[arg-type]


# -- event claims, threads --------------------------------------------------------------------------

def test_claim_is_once_only_and_survives_a_restart(open_state: Opener) -> None:
    first = open_state()
    assert first.claim(event_key("Ev1")) is True
    assert first.claim(event_key("Ev1")) is False
    assert first.claim(message_key("T", "C", "1.1")) is True
    first.close()
    again = open_state()
    assert again.claim(event_key("Ev1")) is False
    assert again.claim(message_key("T", "C", "1.1")) is False
    assert again.claim(message_key("T", "C2", "1.1")) is True  # the channel is part of the key


def test_concurrent_claims_have_exactly_one_winner(store: StateStore) -> None:
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda _: store.claim("msg:T:C:9.9"), range(40)))
    assert results.count(True) == 1


def test_thread_history_is_oldest_first_and_only_earlier_turns(store: StateStore) -> None:
    assert store.thread_history(team="T", channel="C", thread_ts="100.000001", before_ts="inf") is None
    # "99.5" < "100.0" numerically but not as text: the store must compare ts values as numbers
    for ts, q in [("100.000300", "third"), ("100.000001", "first"), ("100.000020", "second")]:
        store.add_turn(team="T", channel="C", thread_ts="100.000001", ts=ts, user="U", question=q)
    store.add_turn(team="T", channel="C", thread_ts="99.500000", ts="99.500000", user="U", question="other thread")
    assert store.thread_history(team="T", channel="C", thread_ts="100.000001", before_ts="100.000300") == ["first", "second"]
    assert store.thread_history(team="T", channel="C", thread_ts="100.000001", before_ts="100.000001") == []
    assert store.thread_history(team="T", channel="OTHER", thread_ts="100.000001", before_ts="inf") is None


def test_prune_forgets_old_claims_only(store: StateStore) -> None:
    store.claim("event:old")
    assert store.prune(older_than_s=-1) == 1  # everything is "older" than the future
    assert store.claim("event:old") is True
    assert store.prune(older_than_s=3600) == 0


# -- question log and feedback ----------------------------------------------------------------------

def test_question_log_and_feedback(store: StateStore) -> None:
    qid = store.log_question(record(refused=True, n_citations=0, error=None))
    failed = store.log_question(record(error="IndexMissingError"))
    rows = store.questions()
    assert [r.id for r in rows] == [qid, failed]
    assert rows[0].record.refused is True and rows[0].record.timings_ms == {"total_ms": 10.0}
    assert rows[1].record.error == "IndexMissingError"
    assert store.record_feedback(question_id=qid, user="U2", value=1) is True
    assert store.record_feedback(question_id=qid, user="U2", value=-1) is True  # a changed vote replaces
    assert store.record_feedback(question_id=9999, user="U2", value=1) is False
    assert [(r.question_id, r.user, r.value) for r in store.feedback()] == [(qid, "U2", -1)]


def test_a_logged_record_reads_back_as_written(store: StateStore) -> None:
    full = record(source="dm", question="谁会成为大模型第一股？", language="zh", error="TimeoutError", mode="llm",
                  prompt_tokens=120, completion_tokens=30, note="the model timed out")
    before = time.time()
    qid = store.log_question(full)
    [row] = store.questions()
    assert (row.id, row.record) == (qid, full)
    assert before - 1 <= row.created_at <= time.time() + 1


def test_questions_between_is_a_half_open_window(store: StateStore) -> None:
    store.log_question(record(question="asked"))
    [row] = store.questions()
    assert [q.record.question for q in store.questions_between(row.created_at, row.created_at + 1)] == ["asked"]
    assert store.questions_between(row.created_at - 1, row.created_at) == []  # end is exclusive


def test_the_log_survives_a_restart(open_state: Opener) -> None:
    first = open_state()
    first.log_question(record())
    first.close()
    assert len(open_state().questions()) == 1


# -- weekly digest claims ---------------------------------------------------------------------------

def test_a_digest_claim_is_taken_once_and_settled_by_its_owner_only(store: StateStore) -> None:
    claim = store.claim_digest("C", "2026-W48", owner="A", now=100.0, stale_after_s=STALE_S)
    assert claim is not None and (claim.status, claim.owner, claim.attempts, claim.claimed_at) == ("claimed", "A", 1, 100.0)
    assert store.claim_digest("C", "2026-W48", owner="B", now=101.0, stale_after_s=STALE_S) is None  # held
    assert store.finish_digest("C", "2026-W48", owner="B", now=102.0, message_ts="1.1") is False  # not B's
    assert store.finish_digest("C", "2026-W48", owner="A", now=102.0, message_ts="1.2") is True
    done = store.digest_claim("C", "2026-W48")
    assert done is not None and (done.status, done.message_ts, done.last_error) == ("posted", "1.2", None)
    for force in (False, True):  # a posted digest is never taken again
        assert store.claim_digest("C", "2026-W48", owner="B", now=1e9, stale_after_s=STALE_S, force=force) is None
    assert store.digest_claim("C", "2026-W49") is None


def test_a_stale_claim_is_taken_over(store: StateStore) -> None:
    assert store.claim_digest("C", "2026-W48", owner="dead", now=100.0, stale_after_s=STALE_S)
    assert store.claim_digest("C", "2026-W48", owner="B", now=100.0 + STALE_S, stale_after_s=STALE_S) is None
    taken = store.claim_digest("C", "2026-W48", owner="B", now=101.0 + STALE_S, stale_after_s=STALE_S)
    assert taken is not None and (taken.owner, taken.attempts) == ("B", 2)
    assert store.finish_digest("C", "2026-W48", owner="dead", now=200.0, message_ts="1.1") is False


def test_a_failed_claim_waits_for_its_retry_time_and_force_takes_it(store: StateStore) -> None:
    store.claim_digest("C", "2026-W48", owner="A", now=100.0, stale_after_s=STALE_S)
    assert store.fail_digest("C", "2026-W48", owner="A", now=101.0, error="not_in_channel", retry_at=160.0) is True
    failed = store.digest_claim("C", "2026-W48")
    assert failed is not None and (failed.status, failed.last_error, failed.retry_at) == ("failed", "not_in_channel", 160.0)
    assert store.claim_digest("C", "2026-W48", owner="A", now=159.0, stale_after_s=STALE_S) is None
    retried = store.claim_digest("C", "2026-W48", owner="A", now=160.0, stale_after_s=STALE_S)
    assert retried is not None and (retried.status, retried.attempts, retried.retry_at) == ("claimed", 2, None)
    store.fail_digest("C", "2026-W48", owner="A", now=170.0, error="gave up", retry_at=None)
    assert store.claim_digest("C", "2026-W48", owner="A", now=1e9, stale_after_s=STALE_S) is None  # given up
    forced = store.claim_digest("C", "2026-W48", owner="op", now=1e9, stale_after_s=STALE_S, force=True)
    assert forced is not None and (forced.owner, forced.attempts) == ("op", 3)


def test_a_skipped_week_is_recorded_once_and_only_force_posts_it(store: StateStore) -> None:
    assert store.has_digest_before("C", "2026-W48") is False
    assert store.skip_digest("C", "2026-W47", owner="A", now=100.0, reason="missed by 25.0 h") is True
    assert store.skip_digest("C", "2026-W47", owner="B", now=101.0, reason="again") is False
    skipped = store.digest_claim("C", "2026-W47")
    assert skipped is not None and (skipped.status, skipped.attempts, skipped.last_error) == ("skipped", 0, "missed by 25.0 h")
    assert store.has_digest_before("C", "2026-W48") is True and store.has_digest_before("C", "2026-W47") is False
    assert store.has_digest_before("OTHER", "2026-W48") is False
    assert store.claim_digest("C", "2026-W47", owner="A", now=200.0, stale_after_s=STALE_S) is None
    assert store.claim_digest("C", "2026-W47", owner="op", now=200.0, stale_after_s=STALE_S, force=True) is not None


def test_two_stores_on_one_database_claim_a_digest_once(open_state: Opener) -> None:
    stores = [open_state(), open_state()]
    with ThreadPoolExecutor(8) as pool:
        claims = list(pool.map(lambda i: stores[i % 2].claim_digest("C", "2026-W48", owner=f"P{i}", now=100.0,
                                                                    stale_after_s=STALE_S), range(16)))
    assert sum(c is not None for c in claims) == 1


# -- shared rate limits, retention, health ----------------------------------------------------------

def test_a_rate_window_admits_limit_uses_and_slides(store: StateStore) -> None:
    taken = [store.take_rate_slot("user:U1", limit=2, window_s=60, now=t) for t in (100.0, 110.0, 120.0)]
    assert taken == [True, True, False]  # the refused use is not counted
    assert store.take_rate_slot("user:U2", limit=2, window_s=60, now=120.0) is True  # per key
    assert store.take_rate_slot("user:U1", limit=2, window_s=60, now=160.0) is True  # 100.0 left the window
    assert store.take_rate_slot("user:U1", limit=2, window_s=60, now=161.0) is False


def test_two_stores_share_one_rate_limit(open_state: Opener) -> None:
    stores = [open_state(), open_state()]
    with ThreadPoolExecutor(10) as pool:
        taken = list(pool.map(lambda i: stores[i % 2].take_rate_slot("user:U", limit=5, window_s=60, now=1000.0 + i / 100),
                              range(30)))
    assert taken.count(True) == 5


def test_prune_history_forgets_old_questions_votes_and_turns(store: StateStore) -> None:
    qid = store.log_question(record(question="old"))
    store.record_feedback(question_id=qid, user="U", value=1)
    store.add_turn(team="T", channel="C", thread_ts="1.0", ts="1.0", user="U", question="old")
    assert store.prune_history(older_than_s=3600) == 0  # nothing is an hour old yet
    assert [q.record.question for q in store.questions()] == ["old"]
    assert store.prune_history(older_than_s=-1) >= 3  # everything is "older" than the future
    assert store.questions() == [] and store.feedback() == []
    assert store.thread_history(team="T", channel="C", thread_ts="1.0", before_ts="inf") is None
    assert store.log_question(record(question="new")) > 0  # the log goes on after pruning


def test_outcome_is_stored_and_derived_for_records_without_one(store: StateStore) -> None:
    store.log_question(record(outcome="closest"))
    store.log_question(record(refused=True, n_citations=0))
    store.log_question(record(error="RuntimeError"))
    assert [q.record.outcome for q in store.questions()] == ["closest", "refused", "error"]


def test_ping_answers_while_the_database_is_there(store: StateStore) -> None:
    store.ping()


# -- the Slack-native features: follows, alerts, saved questions, channel settings -----------------

def test_questions_of_a_user_are_newest_first_and_one_question_reads_by_id(store: StateStore) -> None:
    ids = [store.log_question(record(user=u, question=q)) for u, q in [("U1", "a"), ("U2", "b"), ("U1", "c")]]
    assert [q.record.question for q in store.questions_of(team="T", user="U1", limit=5)] == ["c", "a"]
    assert [q.record.question for q in store.questions_of(team="T", user="U1", limit=1)] == ["c"]
    assert store.questions_of(team="OTHER", user="U1", limit=5) == []
    found = store.question(ids[1])
    assert found is not None and found.record.question == "b"
    assert store.question(9999) is None


def test_a_follow_is_kept_once_per_term_and_can_be_removed(open_state: Opener) -> None:
    from bot.state.records import Follow

    store = open_state()
    assert store.add_follow(Follow("T", "U1", "user", "Zhipu", "zhipu ai")) is True
    assert store.add_follow(Follow("T", "U1", "user", "智谱", "zhipu ai")) is False  # the same line of the glossary
    assert store.add_follow(Follow("T", "C1", "channel", "MiniMax", "minimax")) is True
    assert [(f.term, f.kind) for f in store.follows_of(team="T", follower="U1")] == [("Zhipu", "user")]
    store.close()
    again = open_state()  # follows survive a restart
    assert {f.follower for f in again.all_follows()} == {"U1", "C1"}
    assert again.remove_follow(team="T", follower="U1", key="zhipu ai") is True
    assert again.remove_follow(team="T", follower="U1", key="zhipu ai") is False
    assert [f.follower for f in again.all_follows()] == ["C1"]


def test_an_alert_key_is_claimed_once_across_stores_and_can_be_released(open_state: Opener) -> None:
    stores = [open_state(), open_state()]
    with ThreadPoolExecutor(8) as pool:
        won = list(pool.map(lambda i: stores[i % 2].claim_alert("follow:U1:a.md", recipient="U1", now=1.0), range(16)))
    assert won.count(True) == 1
    stores[0].release_alert("follow:U1:a.md")  # the post failed: the next round may try again
    assert stores[1].claim_alert("follow:U1:a.md", recipient="U1", now=2.0) is True


def test_seen_articles_start_unknown_then_remember_paths_and_hashes(open_state: Opener) -> None:
    store = open_state()
    assert store.seen_articles() is None  # never looked: nothing counts as new yet
    store.remember_articles({})
    assert store.seen_articles() == {}  # looked at an empty corpus: the next article is new
    store.remember_articles({"a.md": "h1", "b.md": "h2"})
    store.remember_articles({"a.md": "h3"})
    store.close()
    assert open_state().seen_articles() == {"a.md": "h3", "b.md": "h2"}


def test_saved_questions_are_capped_per_user_and_keep_their_evidence(store: StateStore) -> None:
    from bot.state.records import Evidence

    first = Evidence("answered", "a.md", 10, 20)

    def save(user: str, question: str, evidence: Evidence) -> int | None:
        return store.save_question(team="T", user=user, question=question, language="en", evidence=evidence,
                                   excerpt="old excerpt", source="A · 2025-12-20", now=100.0, max_per_user=2)

    one = save("U1", "q1", first)
    assert one is not None
    assert save("U1", "q1", first) == one  # saved again: the same entry
    assert save("U1", "q2", Evidence("refused")) is not None
    assert save("U1", "q3", first) is None  # the cap
    assert save("U2", "q3", first) is not None  # per user
    [saved, _] = store.saved_of(team="T", user="U1")
    assert (saved.id, saved.question, saved.evidence, saved.excerpt, saved.checked_at) == (one, "q1", first, "old excerpt", 100.0)
    newer = Evidence("answered", "b.md", 0, 5)
    store.update_evidence(one, evidence=newer, excerpt="new", source="B · 2025-12-22", now=200.0)
    updated = next(s for s in store.saved_questions() if s.id == one)
    assert (updated.evidence, updated.excerpt, updated.source, updated.checked_at, updated.saved_at) == (
        newer, "new", "B · 2025-12-22", 200.0, 100.0)
    assert store.remove_saved(one, user="U2") is False  # not theirs
    assert store.remove_saved(one, user="U1") is True
    assert [s.question for s in store.saved_questions()] == ["q2", "q3"]


def test_channel_settings_round_trip_and_replace(store: StateStore) -> None:
    from bot.state.records import ChannelSettings

    assert store.channel_settings("T", "C1") is None
    chosen = ChannelSettings("T", "C1", answer_without_mention=True, digest_language="both", digest_cadence="daily",
                             digest_time="18:30", digest_timezone="Europe/Berlin", updated_by="U1", updated_at=5.0)
    store.save_channel_settings(chosen)
    assert store.channel_settings("T", "C1") == chosen
    store.save_channel_settings(ChannelSettings("T", "C1", private_by_default=True, updated_by="U2", updated_at=6.0))
    again = store.channel_settings("T", "C1")
    assert again is not None and (again.private_by_default, again.answer_without_mention, again.updated_by) == (True, False, "U2")
    assert [s.channel for s in store.all_channel_settings()] == ["C1"]


def test_feedback_reasons_need_a_known_question_and_replace_per_user(store: StateStore) -> None:
    from bot.state.records import FeedbackReason

    qid = store.log_question(record())
    assert store.record_feedback_reason(FeedbackReason(qid, "U1", "outdated", "", 1.0)) is True
    assert store.record_feedback_reason(FeedbackReason(qid, "U1", "other", "it cites the wrong year", 2.0)) is True
    assert store.record_feedback_reason(FeedbackReason(9999, "U1", "other", "", 3.0)) is False
    assert [(r.reason, r.text) for r in store.feedback_reasons()] == [("other", "it cites the wrong year")]


def test_a_kept_answer_reads_back_as_shown(store: StateStore) -> None:
    qid = store.log_question(record())
    message = {"text": "据… [1]", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "据… [1]"}}]}
    assert store.kept_answer(qid) is None
    store.keep_answer(question_id=qid, user="U1", message=message)
    kept = store.kept_answer(qid)
    assert kept is not None and (kept.user, kept.message) == ("U1", message)


def test_prune_history_also_forgets_the_reasons_and_kept_answers_of_old_questions(store: StateStore) -> None:
    from bot.state.records import FeedbackReason

    qid = store.log_question(record())
    store.record_feedback_reason(FeedbackReason(qid, "U1", "outdated", "", 1.0))
    store.keep_answer(question_id=qid, user="U1", message={"text": "kept"})
    assert store.prune_history(older_than_s=-1) >= 1  # the foreign keys do not stop the question going
    assert store.feedback_reasons() == [] and store.kept_answer(qid) is None


def test_an_assistant_thread_keeps_its_latest_context(open_state: Opener) -> None:
    store = open_state()
    assert store.assistant_thread(channel="D1", thread_ts="1.0") is None
    store.save_assistant_thread(channel="D1", thread_ts="1.0", context={"channel_id": "C1", "team_id": "T"})
    store.save_assistant_thread(channel="D1", thread_ts="1.0", context={"channel_id": "C2", "team_id": "T"})
    store.close()
    assert open_state().assistant_thread(channel="D1", thread_ts="1.0") == {"channel_id": "C2", "team_id": "T"}
