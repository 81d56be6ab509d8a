"""Words that are commands rather than questions: ``follow``/``关注``, ``unfollow``/``取消关注``,
``follows``/``我的关注`` (each also ``channel …``/``频道…``) and ``settings``/``设置``.

Pure parsing of a message's text (bot mention already removed), so the rules are tested in a
table. A question that merely starts with one of the words ("关注度最高的是谁？", "follow-up on
MiniMax?") stays a question: a command's term carries no question mark, and a Chinese term glued
to its command word must be a glossary name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.alerts.terms import MAX_TERM_CHARS
from retrieval.glossary import Glossary

_QUESTION_MARK = re.compile(r"[?？]")
_EN = re.compile(r"^(?P<channel>channel\s+)?(?P<verb>follow|unfollow)\b\s*(?P<term>.*)$", re.I | re.S)
_ZH = re.compile(r"^(?P<channel>频道)?(?P<verb>取消关注|关注)(?P<sep>[\s:：]*)(?P<term>.*)$", re.S)
_LIST = re.compile(r"^(?:(?P<channel>channel\s+)?follows|(?P<zchannel>频道)?(?:我的关注|关注列表))[\s。.!！]*$", re.I)
_SETTINGS = re.compile(r"^(?:settings|设置|频道设置)[\s。.!！]*$", re.I)


@dataclass(frozen=True)
class Command:
    kind: str  # follow | unfollow | follows | settings
    term: str = ""
    channel: bool = False  # about the channel's follows rather than the person's
    language: str = "en"  # of the command words (the reply's language)


def parse_command(text: str, glossary: Glossary) -> Command | None:
    """The command in ``text``, or None when it is not one (a question, or ``add <url>``)."""
    text = " ".join(text.split())
    if not text or len(text) > MAX_TERM_CHARS + 20:
        return None
    if _SETTINGS.match(text):
        return Command("settings", language="zh" if re.search(r"[\u4e00-\u9fff]", text) else "en")
    listing = _LIST.match(text)
    if listing:
        zh = not listing.group(0).lower().startswith(("follows", "channel"))
        return Command("follows", channel=bool(listing.group("channel") or listing.group("zchannel")),
                       language="zh" if zh else "en")
    m = _EN.match(text)
    if m and not text.lower().startswith(("follow-up", "follow up", "followup")):
        return _follow(m.group("verb").lower(), m.group("term"), bool(m.group("channel")), "en")
    m = _ZH.match(text)
    if m:
        term = m.group("term")
        if not m.group("sep") and term and glossary.group_of(term) is None:
            return None  # "关注度…": the word 关注 inside a sentence
        return _follow("unfollow" if m.group("verb") == "取消关注" else "follow", term, bool(m.group("channel")), "zh")
    return None


def _follow(verb: str, term: str, channel: bool, language: str) -> Command | None:
    term = term.strip()
    if _QUESTION_MARK.search(term):
        return None
    return Command(verb, term=term, channel=channel, language=language)
