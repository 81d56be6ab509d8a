"""Answer-change alerts, end to end: "Tell me when this changes" saves the question, a real
``@bot add`` / ``industry-qa add`` while the bot runs changes its evidence, and the asker gets one DM
(new answer, old one, dates) - not again for the same change, not after a restart, not when the
process died between the DM and recording it. Plus the pure parts: evidence and the relevance bound."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bot.alerts.changes import AnswerChanges, bears_on
from bot.alerts.generations import Arrival, Generation
from bot.alerts.render import change_alert_message
from bot.cli import main as industry_qa
from bot.evidence import evidence_of
from bot.render import Message
from bot.state.records import Evidence, SavedQuestion
from bot.state.sqlite import SQLiteStateStore
from retrieval.glossary import load_glossary
from retrieval.service import QAService
from retrieval.settings import RetrievalSettings
from retrieval.types import Answer, Citation
from tests.bot_fakes import Call, FakeSlack
from tests.bot_fixtures import BotHarness, click, controls, message, texts_of, wait_answered
from tests.retrieval_fixtures import FIXTURES, ROOT
from tests.web_fixtures import FixtureWeb, serve_standard_site

ZHIPU_QUESTION = "Under which code would Zhipu's shares trade?"


def test_evidence_is_the_outcome_and_the_lead_citation() -> None:
    lead = Citation(1, "T", "O", "2025-12-20", "", "Zhipu passed.", "a.md", 10, 23)
    assert evidence_of(Answer("q", False, "en", [lead])) == Evidence("answered", "a.md", 10, 23)
    assert evidence_of(Answer("q", True, "en", [])) == Evidence("refused")
    assert Evidence("answered", "a.md", 10, 23).fingerprint != Evidence("answered", "a.md", 10, 24).fingerprint


def test_only_questions_a_new_article_bears_on_are_asked_again() -> None:
    glossary = load_glossary(ROOT / "corpus")
    doc: Any = {"path": "x.md", "title": "智谱通过港交所聆讯", "text": "智谱华章周五通过聆讯。"}
    assert bears_on("Did Zhipu pass its hearing?", [doc], glossary)  # through the glossary's 智谱
    assert not bears_on("How much did Moonshot raise?", [doc], glossary)


class ByQuestion:
    """An asker that answers every question with one lead excerpt, recording what it was asked."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.asked: list[str] = []

    def ask(self, question: str) -> Answer:
        self.asked.append(question)
        return self.answer


def test_a_round_asks_at_most_its_bound_oldest_first_and_a_newer_excerpt_alerts_once(tmp_path: Any) -> None:
    store = SQLiteStateStore(tmp_path / "state.sqlite3")
    old = Evidence("answered", "old.md", 0, 12)
    for i in range(5):  # saved at 100..104: U0 is the longest unchecked
        store.save_question(team="T", user=f"U{i}", question=f"When will Zhipu list ({i})?", language="en",
                            evidence=old, excerpt="Zhipu filed.", source="Old Wire · 2025-12-01", now=100.0 + i,
                            max_per_user=5)
    store.save_question(team="T", user="U9", question="How much did Moonshot raise?", language="en", evidence=old,
                        excerpt="Moonshot raised.", source="Old Wire · 2025-12-01", now=99.0, max_per_user=5)
    newer = Citation(1, "Zhipu sets its date", "New Wire", "2026-01-02", "https://example.com/n",
                     "Zhipu lists on January 8.", "new.md", 0, 25)
    asker = ByQuestion(Answer("q", False, "en", [newer]))
    sent: list[tuple[str, Message]] = []
    clock = iter(range(200, 300))
    changes = AnswerChanges(store=store, answerer=asker, post=lambda to, m: sent.append((to, m)),
                            glossary=lambda: load_glossary(ROOT / "corpus"), max_per_round=3, clock=lambda: next(clock))
    doc: Any = {"path": "new.md", "title": "智谱定于一月上市", "text": "Zhipu lists on January 8."}
    no_docs: Any = ()  # a round reads only the arrival
    generation = Generation("gen-2", docs=no_docs)

    changes(Arrival(new=[doc]), generation)
    assert asker.asked == [f"When will Zhipu list ({i})?" for i in range(3)]  # the bound; Moonshot not touched
    assert [to for to, _ in sent] == ["U0", "U1", "U2"]
    text = json.dumps(sent[0][1].to_kwargs(), ensure_ascii=False)
    assert "A newer excerpt now answers it." in text and "Zhipu lists on January 8." in text
    assert "Zhipu filed." in text and "Before (" in text  # the old answer too, with its date

    changes(Arrival(changed=[doc]), generation)  # the next round: the two not yet asked, then U0 again
    changes(Arrival(changed=[doc]), generation)
    assert asker.asked[3:5] == ["When will Zhipu list (3)?", "When will Zhipu list (4)?"]
    assert sorted(to for to, _ in sent) == ["U0", "U1", "U2", "U3", "U4"]  # each change once
    assert {s.evidence for s in store.saved_questions() if s.user != "U9"} == {Evidence("answered", "new.md", 0, 25)}


@pytest.fixture
def web() -> Iterator[FixtureWeb]:
    yield from serve_standard_site()


def change_dms(calls: FakeSlack | list[Call], user: str = "U1") -> list[str]:
    """Answer-change DMs to ``user`` (inside ``wait_for``'s predicate pass its ``calls``)."""
    found = calls.calls_to("chat.postMessage") if isinstance(calls, FakeSlack) else calls
    posts = [c for c in found if c.method == "chat.postMessage" and c.body.get("channel") == user]
    return [text for text in map(texts_of, posts) if "has changed" in text or "新的答案" in text]


def watch_refused_question(bot: BotHarness, fake_slack: FakeSlack, question: str = ZHIPU_QUESTION) -> None:
    """U1 asks in a DM, is told the corpus does not answer (refused, or only related excerpts), and
    clicks "Tell me when this changes"."""
    bot.post_event(message(question, ts="1700000500.000100", channel="D1", channel_type="im"))
    [answer] = wait_answered(fake_slack)
    watch = controls(answer)["answer_watch"]
    seen = json.loads(watch["value"])["o"]
    assert seen in ("refused", "closest")
    payload = click(answer, "answer_watch", watch["value"], user="U1", channel="D1",
                    response_url=fake_slack.hook_url("watch"))
    assert bot.post_form({"payload": json.dumps(payload)}).status == 200
    assert ":bell:" in texts_of(fake_slack.wait_count("hook:watch", 1)[0])
    [saved] = bot.store.saved_of(team="T111", user="U1")
    assert (saved.question, saved.evidence.outcome) == (question, seen)
    fake_slack.reset()


def test_an_added_article_that_answers_a_watched_question_sends_one_dm(
        make_bot: Any, live: RetrievalSettings, fake_slack: FakeSlack, web: FixtureWeb) -> None:
    bot: BotHarness = make_bot(answerer=QAService(live), retrieval=live)
    watch_refused_question(bot, fake_slack)
    bot.post_event(message(f"add <{web.url('/news/zhipu-hearing-fixture')}>", ts="1700000501.000100",
                           channel="D1", channel_type="im"))
    fake_slack.wait_for(lambda calls: len(change_dms(calls)) == 1, timeout=60)
    assert bot.bot.watcher.wait_rounds(2, timeout=30)  # the start-up look, then the add's generation
    [dm] = change_dms(fake_slack)
    assert "The corpus can now answer it." in dm and "fixture code 9999" in dm
    assert "Before (" in dm and "Now (" in dm  # what the asker saw then (here related excerpts only), and now
    [saved] = bot.store.saved_questions()
    assert saved.evidence.outcome == "answered" and saved.evidence.path.endswith("zhipu-hearing-fixture.md")

    # an article that changes nothing for the question: asked again (or not), never a second DM
    bot.post_event(message(f"add <{web.url('/news/moonshot-funding-fixture')}>", ts="1700000502.000100",
                           channel="D1", channel_type="im"))
    assert bot.bot.watcher.wait_rounds(bot.bot.watcher.rounds + 1, timeout=60)
    fake_slack.settle(0.5)
    assert len(change_dms(fake_slack)) == 1

    bot.stop()  # a restart on the same state and data: nothing new, nothing sent
    again: BotHarness = make_bot(answerer=QAService(live), retrieval=live)
    again.bot.watcher.poke()
    fake_slack.settle(0.5)
    assert change_dms(fake_slack) == []


class DiesBeforeRecording(SQLiteStateStore):
    """A process that dies after its DM went out but before the new evidence was written."""

    def update_evidence(self, saved_id: int, **kw: Any) -> None:
        raise RuntimeError("killed before the write")


def test_no_second_dm_when_the_process_died_between_the_dm_and_recording_it(
        make_bot: Any, live: RetrievalSettings, fake_slack: FakeSlack) -> None:
    first: BotHarness = make_bot(answerer=QAService(live), retrieval=live, store_class=DiesBeforeRecording)
    watch_refused_question(first, fake_slack, "智谱通过聆讯了吗？")
    article = FIXTURES / "articles" / "zhipu-hearing-fixture.md"
    assert industry_qa(["add", str(article), "--corpus", str(live.corpus_dir), "--data", str(live.data_dir)]) == 0
    fake_slack.wait_for(lambda calls: len(change_dms(calls)) == 1, timeout=60)
    fake_slack.settle(0.5)  # the failing round is retried every 0.1 s: the claim keeps it to one DM
    [dm] = change_dms(fake_slack)
    assert "语料现在可以回答这个问题了" in dm and "Zhipu AI passed its listing hearing" in dm
    first.stop()

    second: BotHarness = make_bot(answerer=QAService(live), retrieval=live)  # the restart, a sound store
    assert second.bot.watcher.wait_rounds(1, timeout=30)  # it handles the article the first never finished
    fake_slack.settle(0.5)
    assert change_dms(fake_slack) == []
    [saved] = second.store.saved_questions()
    assert saved.evidence.outcome == "answered"  # recorded this time


def test_the_watch_limit_is_said_and_an_alert_stops_its_question(
        make_bot: Any, live: RetrievalSettings, fake_slack: FakeSlack) -> None:
    bot: BotHarness = make_bot(answerer=QAService(live), retrieval=live, change_alerts_per_user=1)
    watch_refused_question(bot, fake_slack, "智谱通过聆讯了吗？")
    bot.post_event(message("Who is first to list in Hong Kong?", ts="1700000503.000100", channel="D1",
                           channel_type="im"))
    [answer] = wait_answered(fake_slack)
    payload = click(answer, "answer_watch", controls(answer)["answer_watch"]["value"], user="U1", channel="D1",
                    response_url=fake_slack.hook_url("second"))
    assert bot.post_form({"payload": json.dumps(payload)}).status == 200
    assert "You already watch 1 questions" in texts_of(fake_slack.wait_count("hook:second", 1)[0])
    assert len(bot.store.saved_questions()) == 1

    article = FIXTURES / "articles" / "zhipu-hearing-fixture.md"
    assert industry_qa(["add", str(article), "--corpus", str(live.corpus_dir), "--data", str(live.data_dir)]) == 0
    fake_slack.wait_for(lambda calls: len(change_dms(calls)) == 1, timeout=60)
    [alert] = [c for c in fake_slack.calls_to("chat.postMessage") if c.body.get("channel") == "U1"]
    stop = controls(alert)["saved_question_remove"]
    stranger = click(alert, "saved_question_remove", stop["value"], user="U2", channel="D1",
                     response_url=fake_slack.hook_url("stranger"))
    assert bot.post_form({"payload": json.dumps(stranger)}).status == 200  # not theirs to stop
    assert "找不到这条答案" in texts_of(fake_slack.wait_count("hook:stranger", 1)[0])
    mine = click(alert, "saved_question_remove", stop["value"], user="U1", channel="D1",
                 response_url=fake_slack.hook_url("stop"))
    assert bot.post_form({"payload": json.dumps(mine)}).status == 200
    assert "不再提醒这个问题" in texts_of(fake_slack.wait_count("hook:stop", 1)[0])  # the alert's language
    assert bot.store.saved_questions() == []


@pytest.mark.parametrize(("before", "after", "reason"), [
    ("refused", "answered", "The corpus can now answer it."),
    ("closest", "answered", "The corpus can now answer it."),
    ("answered", "answered", "A newer excerpt now answers it."),
    ("answered", "closest", "The corpus no longer answers it."),
    ("closest", "refused", "The corpus no longer answers it."),
    ("refused", "closest", "The corpus has new related excerpts, though still no direct answer."),
])
def test_the_alert_says_how_the_answer_changed(before: str, after: str, reason: str) -> None:
    saved = SavedQuestion(1, "T", "U1", "When will Zhipu list?", "en", Evidence(before, "a.md", 0, 5),
                          "" if before == "refused" else "Zhipu filed.", "Wire, 1 Jan 2026", 0.0, 0.0)
    text = json.dumps(change_alert_message(saved, Answer("q", after == "refused", "en", []), outcome=after,
                                           now=86_400.0).to_kwargs(), ensure_ascii=False)
    assert reason in text
