"""What the state store takes and gives back: plain dataclasses, so any backend can produce them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class QuestionRecord:
    """One question as the bot handled it: an entry of the question log (what the digest reads)."""

    team: str
    channel: str
    thread_ts: str
    user: str
    source: str  # mention | dm | thread | command
    question: str
    language: str
    refused: bool
    n_citations: int
    latency_ms: float  # receipt to posted answer
    timings_ms: dict[str, float] = field(default_factory=dict)
    error: str | None = None  # error class name when the answer failed
    mode: str | None = None  # llm | extractive; None when there was no answer
    prompt_tokens: int | None = None  # None when no model was asked
    completion_tokens: int | None = None
    note: str = ""  # Answer.note: the fallback from the model to the extractive answer
    # answered | closest | refused | error; "" is filled in from ``refused`` and ``error`` (older rows)
    outcome: str = ""
    # why the reply could not be posted to Slack (an error class or Slack's error code); None: posted
    delivery_error: str | None = None

    def __post_init__(self) -> None:
        if not self.outcome:
            object.__setattr__(self, "outcome", default_outcome(refused=self.refused,
                                                                error=self.error or self.delivery_error))


OUTCOMES = ("answered", "closest", "refused", "error")


def default_outcome(*, refused: bool, error: str | None) -> str:
    """The outcome of a question logged without one: an error, else refused or answered."""
    return "error" if error else ("refused" if refused else "answered")


@dataclass(frozen=True)
class StoredQuestion:
    """A logged question with what the store added: the id feedback refers to and when it was logged."""

    id: int
    created_at: float  # epoch seconds
    record: QuestionRecord


@dataclass(frozen=True)
class Feedback:
    """A user's current vote on an answer (a changed vote replaces the earlier one)."""

    question_id: int
    user: str
    value: int  # +1 / -1
    created_at: float


@dataclass(frozen=True)
class DigestClaim:
    """Who holds the weekly digest of one (channel, ISO week), and how far it got."""

    channel: str
    week: str  # 2026-W48
    status: str  # claimed | posted | failed | skipped
    owner: str  # the process that holds (or last held) the claim
    attempts: int
    claimed_at: float
    retry_at: float | None  # failed: earliest next attempt; None = no automatic retry
    last_error: str | None
    message_ts: str | None


@dataclass(frozen=True)
class PendingQuestion:
    """A question claimed but not yet answered. It is kept until its reply is posted, so that a
    process that stops first (a deploy, a crash) leaves it for the next start-up to answer."""

    key: str  # the message's claim key (``message_key``)
    team: str
    channel: str
    user: str
    ts: str
    thread_ts: str
    text: str  # as the person wrote it, the bot's mention removed
    source: str  # mention | dm | thread | channel | assistant
    has_files: bool
    owner: str  # the process answering it ("host:pid")
    created_at: float  # epoch seconds
    posting: bool = False  # its reply was being posted: look in the thread before answering again
    ephemeral: bool = False  # its reply is shown to the asker alone (the channel's settings)


def event_key(event_id: str) -> str:
    """The claim key of a Slack event (its deliveries share the event id)."""
    return f"event:{event_id}"


def message_key(team: str, channel: str, ts: str) -> str:
    """The claim key of a message (a mention also arrives as a message event, with another event id)."""
    return f"msg:{team}:{channel}:{ts}"


# -- follows, alerts, saved questions, channel settings (the Slack-native features) ----------------

@dataclass(frozen=True)
class Follow:
    """A user (alerts by DM) or a channel (alerts posted there) following a company or term."""

    team: str
    follower: str  # a user id, or a channel id when ``kind`` is "channel"
    kind: str  # user | channel
    term: str  # as the person typed it
    key: str  # the term's canonical form (its glossary line): one follow per line and follower
    created_at: float = 0.0


@dataclass(frozen=True)
class Evidence:
    """What an answer rests on: its outcome and the span of its lead citation. Two answers with
    the same evidence say the same thing, whatever their wording."""

    outcome: str  # answered | closest | refused
    path: str = ""
    start: int = 0
    end: int = 0

    @property
    def fingerprint(self) -> str:
        return f"{self.outcome}:{self.path}:{self.start}-{self.end}" if self.path else self.outcome


@dataclass(frozen=True)
class SavedQuestion:
    """A question someone asked to be told about when its answer changes, with the evidence of the
    answer they last saw (``excerpt`` verbatim, ``source`` its title and date)."""

    id: int
    team: str
    user: str
    question: str  # standalone: a thread's follow-up is saved with its earlier questions
    language: str
    evidence: Evidence
    excerpt: str
    source: str
    saved_at: float
    checked_at: float  # when ``evidence`` was last replaced (or saved)


@dataclass(frozen=True)
class ChannelSettings:
    """What a channel's admin chose with ``@bot settings``; a channel without a row has the defaults."""

    team: str
    channel: str
    answer_without_mention: bool = False  # question-like messages are answered without a mention
    private_by_default: bool = False  # answers to mentions are shown to the asker only
    digest_language: str = "en"  # en | zh | both
    digest_cadence: str = "default"  # default (DIGEST_* settings) | weekly | daily | off
    digest_weekday: int = 0  # Monday; weekly only
    digest_time: str = "09:00"
    digest_timezone: str = "Asia/Shanghai"
    updated_by: str = ""
    updated_at: float = 0.0


@dataclass(frozen=True)
class FeedbackReason:
    """What was wrong with an answer, from the optional form a 👎 opens."""

    question_id: int
    user: str
    reason: str  # wrong_fact | outdated | not_relevant | other
    text: str
    created_at: float = 0.0


@dataclass(frozen=True)
class KeptAnswer:
    """A private answer as it was shown, kept so that "Share to channel" posts the same message."""

    question_id: int
    user: str
    message: dict[str, object]  # chat.postMessage arguments: text and blocks


def alert_key(*parts: str) -> str:
    """The delivered-once key of an alert (``follow``/``change`` plus what makes it unique)."""
    return ":".join(parts)
