"""The state store's contract for the Slack-native features (``SlackFeatures``): follows, the alert
log, seen articles, saved questions, channel settings, feedback reasons, kept answers and assistant
threads. Part of the shared suite: the fixtures are ``tests/test_state_store.py``'s, so every
backend in its ``BACKENDS`` runs these too."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from bot.state.protocols import StateStore
from tests.test_state_store import Opener, open_state, record, store

DAY = 86_400.0

__all__ = ["open_state", "store"]  # the shared fixtures, used by name below


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


def test_prune_history_forgets_old_alerts_sent_only(store: StateStore) -> None:
    now = time.time()
    assert store.claim_alert("follow:U1:a.md", recipient="U1", now=now - 10 * DAY)
    assert store.claim_alert("follow:U1:b.md", recipient="U1", now=now)
    store.prune_history(older_than_s=5 * DAY)
    assert store.claim_alert("follow:U1:a.md", recipient="U1", now=now)  # forgotten, so claimable again
    assert not store.claim_alert("follow:U1:b.md", recipient="U1", now=now)  # kept: still delivered once


def test_an_assistant_thread_keeps_its_latest_context(open_state: Opener) -> None:
    store = open_state()
    assert store.assistant_thread(channel="D1", thread_ts="1.0") is None
    store.save_assistant_thread(channel="D1", thread_ts="1.0", context={"channel_id": "C1", "team_id": "T"})
    store.save_assistant_thread(channel="D1", thread_ts="1.0", context={"channel_id": "C2", "team_id": "T"})
    store.close()
    assert open_state().assistant_thread(channel="D1", thread_ts="1.0") == {"channel_id": "C2", "team_id": "T"}
