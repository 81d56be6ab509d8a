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
from bot.state.records import PendingQuestion, QuestionRecord, event_key, message_key

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


# -- delivery, pending questions --------------------------------------------------------------------

def test_finishing_a_question_records_the_delivery(store: StateStore) -> None:
    delivered = store.log_question(record(latency_ms=10.0))
    lost = store.log_question(record(latency_ms=11.0))
    store.finish_question(delivered, latency_ms=250.0, delivery_error=None)
    store.finish_question(lost, latency_ms=30250.0, delivery_error="TimeoutError")
    rows = {q.id: q.record for q in store.questions()}
    assert (rows[delivered].latency_ms, rows[delivered].delivery_error) == (250.0, None)
    assert (rows[lost].latency_ms, rows[lost].delivery_error, rows[lost].outcome) == (30250.0, "TimeoutError", "error")


def pending(key: str = "msg:T:C:1.1", **kw: object) -> PendingQuestion:
    base = dict(key=key, team="T", channel="C", user="U", ts="1.1", thread_ts="1.1", text="who lists first?",
                source="mention", has_files=False, owner="host-a:1", created_at=100.0)
    return PendingQuestion(**{**base, **kw})  # type: ignore[arg-type]


def test_a_pending_question_is_kept_until_removed_and_survives_a_restart(open_state: Opener) -> None:
    first = open_state()
    first.add_pending(pending("msg:T:C:1.1", created_at=100.0))
    first.add_pending(pending("msg:T:C:2.2", ts="2.2", thread_ts="2.2", text="谁会上市？", created_at=101.0, has_files=True,
                              ephemeral=True))
    first.mark_posting("msg:T:C:1.1")
    first.close()
    again = open_state()
    rows = again.pending_questions()
    assert [p.key for p in rows] == ["msg:T:C:1.1", "msg:T:C:2.2"]  # oldest first
    assert rows[0] == pending("msg:T:C:1.1", created_at=100.0, posting=True)
    assert (rows[1].text, rows[1].has_files, rows[1].posting, rows[1].ephemeral) == ("谁会上市？", True, False, True)
    again.remove_pending("msg:T:C:1.1")
    again.remove_pending("msg:T:C:unknown")  # nothing to remove: no error
    assert [p.key for p in again.pending_questions()] == ["msg:T:C:2.2"]


def test_a_pending_question_is_taken_over_by_one_process_only(open_state: Opener) -> None:
    stores = [open_state(), open_state()]
    stores[0].add_pending(pending(owner="dead:7"))
    with ThreadPoolExecutor(8) as pool:
        taken = list(pool.map(lambda i: stores[i % 2].take_pending("msg:T:C:1.1", owner=f"new:{i}",
                                                                   expected_owner="dead:7"), range(16)))
    assert taken.count(True) == 1
    [row] = stores[0].pending_questions()
    assert row.owner == f"new:{taken.index(True)}"
    assert stores[1].take_pending("msg:T:C:gone", owner="x", expected_owner="dead:7") is False
