"""What ``industry-qa stats`` reports about the question log: outcome shares, latency, votes, and the
questions people keep asking that the corpus does not answer. Pure functions over stored records.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.state.records import Feedback, StoredQuestion

UNANSWERED = ("refused", "closest")  # "closest" is related excerpts, not an answer
TOP_UNANSWERED = 10
_SPAN = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.I)
_UNIT_S = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_TRAILING = " ?？!！.。"


def parse_span(text: str) -> float:
    """``7d``, ``24h``, ``90m``, ``2w`` in seconds; ``ValueError`` says what is accepted."""
    m = _SPAN.match(text)
    if m is None or int(m.group(1)) <= 0:
        raise ValueError(f"--since must be a positive number with m, h, d or w, such as 7d or 24h (got {text!r})")
    return int(m.group(1)) * _UNIT_S[m.group(2).lower()]


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile: the smallest value with at least p% of the values at or
    below it (NaN for no values)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered), max(1, math.ceil(p / 100 * len(ordered)))) - 1]


@dataclass(frozen=True)
class LogStats:
    questions: int
    outcomes: dict[str, int]  # answered, closest, refused, error
    latency_p50_ms: float  # over questions that got a reply (errors excluded); NaN for none
    latency_p95_ms: float
    votes_up: int
    votes_down: int
    unanswered: list[tuple[str, int]] = field(default_factory=list)  # (question as first asked, times asked)

    def share(self, outcome: str) -> float:
        """Of the questions that got a reply (answered + closest + refused); errors are counted apart."""
        replied = sum(n for o, n in self.outcomes.items() if o != "error")
        return self.outcomes.get(outcome, 0) / replied if replied else 0.0


def summarise(questions: Sequence[StoredQuestion], votes: Sequence[Feedback], *, top: int = TOP_UNANSWERED) -> LogStats:
    """Stats of ``questions``; ``votes`` may cover more questions than these (only theirs count)."""
    outcomes = Counter({"answered": 0, "closest": 0, "refused": 0, "error": 0})
    outcomes.update(q.record.outcome for q in questions)
    latencies = [q.record.latency_ms for q in questions if q.record.outcome != "error"]
    ids = {q.id for q in questions}
    mine = [v for v in votes if v.question_id in ids]
    asked: Counter[str] = Counter()
    first_wording: dict[str, str] = {}
    for q in questions:
        if q.record.outcome in UNANSWERED:
            key = normalise(q.record.question)
            asked[key] += 1
            first_wording.setdefault(key, q.record.question.strip())
    return LogStats(
        questions=len(questions), outcomes=dict(outcomes),
        latency_p50_ms=percentile(latencies, 50), latency_p95_ms=percentile(latencies, 95),
        votes_up=sum(v.value > 0 for v in mine), votes_down=sum(v.value < 0 for v in mine),
        unanswered=[(first_wording[k], n) for k, n in sorted(asked.items(), key=lambda kv: (-kv[1], kv[0]))[:top]],
    )


def normalise(question: str) -> str:
    """The same question asked twice: case, spacing and closing punctuation do not count."""
    return " ".join(question.casefold().split()).rstrip(_TRAILING)


def render(stats: LogStats, *, since_label: str) -> str:
    """The report ``industry-qa stats`` prints."""
    o = stats.outcomes
    lines = [f"Questions {since_label}: {stats.questions} ({o.get('error', 0)} failed with an error)"]
    for name in ("answered", "closest", "refused"):
        lines.append(f"  {name:<9}{o.get(name, 0):>6}  {stats.share(name):6.1%}")
    if math.isnan(stats.latency_p50_ms):
        lines.append("Latency: no replies")
    else:
        lines.append(f"Latency (receipt to reply): p50 {stats.latency_p50_ms:.0f} ms, p95 {stats.latency_p95_ms:.0f} ms")
    lines.append(f"Votes: 👍 {stats.votes_up}  👎 {stats.votes_down}")
    if stats.unanswered:
        lines.append("Most-asked unanswered questions (refused or closest):")
        lines += [f"  {n:>4}  {text}" for text, n in stats.unanswered]
    else:
        lines.append("Most-asked unanswered questions: none")
    return "\n".join(lines)
