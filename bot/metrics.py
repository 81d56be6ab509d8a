"""Prometheus metrics of one bot process, served at ``/metrics``.

The counters live in this module's own registry (not prometheus_client's global one), so that what
``/metrics`` shows is exactly the bot's: questions, answer latency, model fallbacks, feed items,
digest posts and Slack API errors, plus the process's CPU and memory. Each replica exposes its own;
Prometheus sums them. Labels take values from small fixed sets (surfaces, outcomes, reason codes,
Web API method names), never user text.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.state.records import OUTCOMES

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
SURFACES = ("mention", "dm", "thread", "channel", "assistant", "command", "check")  # where a question came from
CONTENT_TYPE = CONTENT_TYPE_LATEST

QUESTIONS = Counter("industry_qa_questions", "Questions handled, by surface and outcome",
                    ["surface", "outcome"], registry=REGISTRY)
ANSWER_LATENCY = Histogram("industry_qa_answer_latency_seconds", "From receipt to the answer's reply, per question",
                           buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60), registry=REGISTRY)
MODEL_FALLBACKS = Counter("industry_qa_model_fallbacks", "Answers where the language model's text was not used, "
                          "by reason", ["reason"], registry=REGISTRY)
FEED_ITEMS = Counter("industry_qa_feed_items", "Feed items by what became of them (added, duplicate, alias, failed)",
                     ["outcome"], registry=REGISTRY)
DIGEST_POSTS = Counter("industry_qa_digest_posts", "Weekly digest attempts by outcome (posted, failed, skipped, "
                       "busy: another process held it, done: already posted)", ["outcome"], registry=REGISTRY)
SLACK_API_ERRORS = Counter("industry_qa_slack_api_errors", "Slack Web API calls that failed, by method and error",
                           ["method", "error"], registry=REGISTRY)

for _surface in SURFACES:  # every series exists from the start, at 0, so rates work from the first scrape
    for _outcome in OUTCOMES:
        QUESTIONS.labels(surface=_surface, outcome=_outcome)


def question_handled(*, surface: str, outcome: str, latency_s: float, fallback: str = "") -> None:
    """Count one question (and its model fallback, if any)."""
    QUESTIONS.labels(surface=surface, outcome=outcome).inc()
    ANSWER_LATENCY.observe(latency_s)
    if fallback:
        MODEL_FALLBACKS.labels(reason=fallback).inc()


def exposition() -> bytes:
    """The text ``/metrics`` serves."""
    return generate_latest(REGISTRY)
