"""A question's records on its way through the bot: the message as a listener received it
(``Incoming``) and the turn the handler carries from the claim to the logged reply (``Turn``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from bot.state.records import PendingQuestion, message_key
from retrieval.text import detect_language

PRIVATE_SOURCES = frozenset({"dm", "assistant", "command", "check"})
HELP_WORDS = frozenset({"help", "帮助", "幫助"})


@dataclass(frozen=True)
class Incoming:
    """A message addressed to the bot; ``thread_ts`` is where the reply goes."""

    team: str
    channel: str
    user: str
    ts: str
    thread_ts: str
    text: str  # bot mention already removed
    has_files: bool
    source: str  # mention | dm | thread | channel (unasked, by the channel's settings) | assistant
    bot_user_id: str = ""
    ephemeral: bool = False  # answer so that only the asker sees it (the channel's settings)


@dataclass(frozen=True)
class Turn:
    """One question from arrival to logged reply. ``text`` is as the person wrote it: the answerer
    reads it (cuts it to length, detects its language) and says so on the answer; ``language`` is
    the text's, for the notices the bot gives before an answer exists (help, limits, errors)."""

    team: str
    channel: str
    user: str
    source: str  # mention | dm | thread | channel | assistant | command | check
    text: str
    language: str
    mention: str  # how the help names the bot: "<@U123>" in a channel, its name for /ask
    ts: str = ""  # the message's; "" for /ask
    thread_ts: str = ""  # where the reply goes; "" for /ask, which replies privately
    has_files: bool = False
    ephemeral: bool = False  # posted with chat.postEphemeral: only the asker sees it
    received: float = field(default_factory=time.perf_counter)

    @property
    def private(self) -> bool:
        """Only the asker sees the answer: it gets "Share to channel" and is kept for that."""
        return self.ephemeral or self.source in PRIVATE_SOURCES

    @classmethod
    def of_message(cls, msg: Incoming) -> Turn:
        return cls(team=msg.team, channel=msg.channel, user=msg.user, source=msg.source, text=msg.text,
                   language=_language(msg.text), mention=f"<@{msg.bot_user_id}>", ts=msg.ts,
                   thread_ts=msg.thread_ts, has_files=msg.has_files, ephemeral=msg.ephemeral)

    @property
    def key(self) -> str:
        """The claim key of the message ("" for /ask, which has no message)."""
        return message_key(self.team, self.channel, self.ts) if self.ts else ""

    def pending(self, *, owner: str, now: float) -> PendingQuestion:
        """This turn as a pending question (kept until its reply is posted)."""
        return PendingQuestion(key=self.key, team=self.team, channel=self.channel, user=self.user, ts=self.ts,
                               thread_ts=self.thread_ts, text=self.text, source=self.source, has_files=self.has_files,
                               owner=owner, created_at=now, ephemeral=self.ephemeral)

    @classmethod
    def of_pending(cls, pending: PendingQuestion, *, bot_user_id: str) -> Turn:
        """The turn of a question a stopped process claimed but did not answer."""
        return cls(team=pending.team, channel=pending.channel, user=pending.user, source=pending.source,
                   text=pending.text, language=_language(pending.text), mention=f"<@{bot_user_id}>", ts=pending.ts,
                   thread_ts=pending.thread_ts, has_files=pending.has_files, ephemeral=pending.ephemeral)

    @classmethod
    def of_command(cls, *, team: str, channel: str, user: str, text: str, mention: str,
                   source: str = "command") -> Turn:
        """``/ask`` (or ``check``: the "Check against the corpus" shortcut), answered privately."""
        text = text.strip()
        return cls(team=team, channel=channel, user=user, source=source, text=text, language=_language(text),
                   mention=mention)


def asks_for_help(text: str) -> bool:
    """"@bot help" asks for the help, not the corpus."""
    return text.strip().strip("?？!！.。").lower() in HELP_WORDS


def _language(text: str) -> str:
    return detect_language(text) if text else "en"
