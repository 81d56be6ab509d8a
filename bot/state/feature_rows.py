"""How the Slack-native features' records become rows and back, written once for every backend.

Backends keep only their SQL; a row here is anything read by column name (``sqlite3.Row``, a
dict row of another driver).
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from typing import Any, Protocol

from bot.state.records import ChannelSettings, Evidence, FeedbackReason, Follow, KeptAnswer, SavedQuestion

# ChannelSettings fields kept as JSON: the preferences, not the key or the stamp. A field added
# later reads back as its default from rows written before it existed.
_KEY_FIELDS = ("team", "channel", "updated_by", "updated_at")
PREFERENCE_FIELDS = tuple(f.name for f in fields(ChannelSettings) if f.name not in _KEY_FIELDS)
SAVED_COLUMNS = ("id, team, user, question, language, outcome, path, start_at, end_at, excerpt, source, saved_at,"
                 " checked_at")
FOLLOW_COLUMNS = "team, follower, kind, term, key, created_at"
SEEN_MARK = ""  # the seen_articles row that says the first look was taken (even of an empty corpus)


class Row(Protocol):
    def __getitem__(self, key: str) -> Any: ...


def preferences_json(settings: ChannelSettings) -> str:
    values = asdict(settings)
    return json.dumps({name: values[name] for name in PREFERENCE_FIELDS}, sort_keys=True)


def channel_settings(row: Row) -> ChannelSettings:
    """A row with team, channel, settings_json, updated_by, updated_at."""
    stored = json.loads(row["settings_json"])
    known = {k: v for k, v in stored.items() if k in PREFERENCE_FIELDS}
    return ChannelSettings(team=row["team"], channel=row["channel"], updated_by=row["updated_by"],
                           updated_at=float(row["updated_at"]), **known)


def saved_question(row: Row) -> SavedQuestion:
    """A row with ``SAVED_COLUMNS``."""
    evidence = Evidence(outcome=row["outcome"], path=row["path"], start=int(row["start_at"]), end=int(row["end_at"]))
    return SavedQuestion(id=int(row["id"]), team=row["team"], user=row["user"], question=row["question"],
                         language=row["language"], evidence=evidence, excerpt=row["excerpt"], source=row["source"],
                         saved_at=float(row["saved_at"]), checked_at=float(row["checked_at"]))


def follow(row: Row) -> Follow:
    """A row with ``FOLLOW_COLUMNS``."""
    return Follow(team=row["team"], follower=row["follower"], kind=row["kind"], term=row["term"], key=row["key"],
                  created_at=float(row["created_at"]))


def feedback_reason(row: Row) -> FeedbackReason:
    return FeedbackReason(question_id=int(row["question_id"]), user=row["user"], reason=row["reason"],
                          text=row["text"], created_at=float(row["created_at"]))


def kept_answer(row: Row) -> KeptAnswer:
    return KeptAnswer(question_id=int(row["question_id"]), user=row["user"], message=json.loads(row["message_json"]))


def thread_context(row: Row) -> dict[str, str]:
    return {str(k): str(v) for k, v in json.loads(row["context_json"]).items()}


def seen(found: list[Row]) -> dict[str, str] | None:
    """Path -> hash from ``seen_articles`` rows; None before the first look (no ``SEEN_MARK`` row)."""
    hashes = {r["path"]: r["hash"] for r in found}
    if SEEN_MARK not in hashes:
        return None
    del hashes[SEEN_MARK]
    return hashes
