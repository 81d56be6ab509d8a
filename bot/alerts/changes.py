"""Answer-change alerts: after an index update, saved questions that the new or edited articles
could bear on are asked again; when the answer's evidence changed (another lead excerpt, or the
outcome moved between answered, closest and refused) the asker gets one DM with the new answer
and the old one.

Bounded: a person keeps at most ``CHANGE_ALERTS_PER_USER`` saved questions, a question is asked
again only when a touched article shares a content word with it (glossary equivalents included),
and one round asks at most ``max_per_round`` (the longest-unchecked first). Exactly once: the
change (saved id, old evidence, new evidence) is claimed in the alert log before the DM.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from slack_sdk.errors import SlackApiError

from bot.alerts.follow_alerts import PERMANENT_ERRORS, Post
from bot.alerts.generations import Arrival, Generation
from bot.alerts.render import change_alert_message
from bot.evidence import evidence_of, lead_citation, source_line
from bot.logs import new_question_id, question_context
from bot.state.protocols import AlertLog, SavedQuestions
from bot.state.records import Evidence, SavedQuestion, alert_key
from retrieval.glossary import Glossary
from retrieval.index import DocumentRecord
from retrieval.logsafe import loggable
from retrieval.text import content_terms
from retrieval.types import Answer

logger = logging.getLogger(__name__)

MAX_PER_ROUND = 200


class Asker(Protocol):
    def ask(self, question: str) -> Answer: ...


class ChangeState(SavedQuestions, AlertLog, Protocol):
    """The saved questions and the log that makes each change alert go out once."""


def evidence_with_excerpt(answer: Answer) -> tuple[Evidence, str, str]:
    """(evidence, its verbatim excerpt, its source line) of an answer."""
    lead = lead_citation(answer)
    if lead is None:
        return evidence_of(answer), "", ""
    return evidence_of(answer), lead.excerpt, source_line(lead.title, lead.outlet, lead.published)


def bears_on(question: str, docs: Iterable[DocumentRecord], glossary: Glossary) -> bool:
    """Whether any of ``docs`` shares a content word with the question or its glossary equivalents."""
    wanted = content_terms(glossary.expand(question))
    return bool(wanted) and any(wanted & content_terms(f"{d.get('title', '')} {d.get('text', '')}") for d in docs)


@dataclass(kw_only=True, eq=False)
class AnswerChanges:
    """An ``IndexWatcher`` listener."""

    store: ChangeState
    answerer: Asker
    post: Post
    glossary: Callable[[], Glossary]
    max_per_round: int = MAX_PER_ROUND
    clock: Callable[[], float] = time.time
    asked: int = field(default=0, init=False)  # re-asks so far (the cost the tests bound)

    def __call__(self, arrival: Arrival, generation: Generation) -> None:
        touched = arrival.touched
        if not touched:
            return
        glossary = self.glossary()
        saved = sorted(self.store.saved_questions(), key=lambda s: s.checked_at)
        candidates = [s for s in saved if bears_on(s.question, touched, glossary)][: self.max_per_round]
        failure = None
        for question in candidates:
            failure = self._check(question) or failure
        if failure is not None:
            raise failure

    def _check(self, saved: SavedQuestion) -> Exception | None:
        try:
            with question_context(new_question_id()):  # its log lines, like any question's, carry an id
                answer = self.answerer.ask(saved.question)
        except Exception as err:  # a question that no longer answers (too vague now, index trouble)
            logger.warning("re-asking saved question %d failed: %s", saved.id, loggable(err))
            return None
        self.asked += 1
        evidence, excerpt, source = evidence_with_excerpt(answer)
        if evidence == saved.evidence:
            return None
        now = self.clock()
        key = alert_key("change", str(saved.id), saved.evidence.fingerprint, evidence.fingerprint)
        if self.store.claim_alert(key, recipient=saved.user, now=now):
            try:
                self.post(saved.user, change_alert_message(saved, answer, outcome=evidence.outcome, now=now))
                logger.info("answer-change alert for saved question %d sent", saved.id)
            except Exception as err:
                code = err.response.get("error", "") if isinstance(err, SlackApiError) and err.response else ""
                if code not in PERMANENT_ERRORS:
                    self.store.release_alert(key)
                    logger.warning("answer-change alert %d failed (%s); the next round retries", saved.id,
                                   code or type(err).__name__)
                    return err
                logger.warning("answer-change alert %d not delivered (%s); not retried", saved.id, code)
        self.store.update_evidence(saved.id, evidence=evidence, excerpt=excerpt, source=source, now=now)
        return None
