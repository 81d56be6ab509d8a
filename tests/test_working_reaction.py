"""The ⏳ reaction goes on a question only when its answer takes longer than
WORKING_REACTION_AFTER_MS: a quick answer is its own sign of life, a slow one shows the bot is on it
(end to end: signed requests, the loopback Web API, the real QAService)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from bot.handler import WORKING_REACTION
from retrieval.types import Answer
from tests.bot_fakes import FakeSlack
from tests.bot_fixtures import QUESTION, BotHarness, assert_working_indicator, mention


class Slow:
    """The real service, answering after ``delay_s`` (a model call, a cold index)."""

    def __init__(self, service: Any, delay_s: float) -> None:
        self.service, self.delay_s = service, delay_s

    def ask(self, question: str, *, history: Sequence[str] = (),
            on_partial: Callable[[str], None] | None = None) -> Answer:
        time.sleep(self.delay_s)
        return self.service.ask(question, history=history)  # type: ignore[no-any-return]


def test_a_quick_answer_gets_no_working_reaction(make_bot: Any, qa_service: Any, fake_slack: FakeSlack) -> None:
    bot: BotHarness = make_bot(answerer=qa_service, working_reaction_after_ms=800)
    assert bot.post_event(mention(QUESTION, ts="1700000000.000100")).status == 200
    fake_slack.wait_count("chat.postMessage", 1)
    time.sleep(1.2)  # past the delay: nothing is added late either
    assert [c.method for c in fake_slack.calls] == ["chat.postMessage"]


def test_a_slow_answer_shows_the_reaction_until_it_is_posted(make_bot: Any, qa_service: Any,
                                                             fake_slack: FakeSlack) -> None:
    bot: BotHarness = make_bot(answerer=Slow(qa_service, 1.0), working_reaction_after_ms=300)
    started = time.monotonic()
    assert bot.post_event(mention(QUESTION, ts="1700000000.000200")).status == 200
    [added] = fake_slack.wait_count("reactions.add", 1)
    assert 0.3 <= added.at - started < 1.0  # after the delay, well before the answer
    fake_slack.wait_count("reactions.remove", 1)
    assert_working_indicator(fake_slack, "1700000000.000200")  # added, answer posted, then removed
    assert added.body["name"] == WORKING_REACTION


def test_zero_puts_the_reaction_on_every_question_at_once(make_bot: Any, qa_service: Any,
                                                          fake_slack: FakeSlack) -> None:
    bot: BotHarness = make_bot(answerer=qa_service, working_reaction_after_ms=0)
    assert bot.post_event(mention(QUESTION, ts="1700000000.000300")).status == 200
    fake_slack.wait_count("reactions.remove", 1)
    assert_working_indicator(fake_slack, "1700000000.000300")
