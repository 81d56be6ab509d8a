"""The App Home tab as Block Kit: pure, from what the listener gathered (``HomeData``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from slack_sdk.models.blocks import Block, DividerBlock, HeaderBlock
from slack_sdk.models.views import View

from bot.home.summary import CorpusSummary
from bot.render import SECTION_TEXT_LIMIT, context, escape_mrkdwn, link, section, truncate
from bot.texts import LANGUAGES, t
from retrieval.feeds import RoundRecord

QUESTION_SHOWN = 150  # characters of a recent question


@dataclass(frozen=True)
class RecentQuestion:
    text: str
    link: str  # a permalink to its thread; "" for private answers (/ask, the shortcut)
    day: str  # YYYY-MM-DD


@dataclass(frozen=True)
class HomeData:
    language: str
    summary: CorpusSummary | None  # None while the index is not built or not looked at yet
    feeds_configured: bool
    last_round: RoundRecord | None
    next_digest: tuple[str, datetime] | None  # (channel, when, in the channel's time zone)
    recent: Sequence[RecentQuestion] = ()
    follows: Sequence[str] = ()
    watching: int = 0


def home_view(data: HomeData) -> View:
    lang = data.language
    blocks: list[Block] = [HeaderBlock(text=t("home_title", lang)), section(t("home_intro", lang)),
                           section(_corpus_line(data.summary, lang)), context(_status_lines(data, lang))]
    examples = data.summary.examples if data.summary is not None else {}
    if any(examples.values()):
        lines = [f"• {escape_mrkdwn(q)}" for language in LANGUAGES for q in examples.get(language, [])]
        blocks += [DividerBlock(), section(truncate("\n".join([t("home_try", lang), *lines]), SECTION_TEXT_LIMIT))]
    blocks += [DividerBlock(), section(truncate(_recent(data, lang), SECTION_TEXT_LIMIT)),
               section(truncate(_follows(data, lang), SECTION_TEXT_LIMIT))]
    return View(type="home", blocks=blocks)


def _corpus_line(summary: CorpusSummary | None, lang: str) -> str:
    if summary is None:
        return t("home_no_index", lang)
    if summary.articles == 0:
        return t("home_corpus_empty", lang)
    newest = summary.newest
    shown = f"{link(newest.url, truncate(newest.title, 120))} ({newest.published})" if newest else "—"
    return t("home_corpus", lang, count=summary.articles, newest=shown)


def _status_lines(data: HomeData, lang: str) -> list[str]:
    if not data.feeds_configured:
        feeds = t("home_feeds_none", lang)
    elif data.last_round is None:
        feeds = t("home_feeds_waiting", lang)
    else:
        r = data.last_round
        feeds = t("home_feeds_round", lang, when=r.finished_at.replace("T", " ").replace("+00:00", " UTC"),
                  added=r.added, failed=r.failed, broken=r.feed_failures)
    if data.next_digest is None:
        digest = t("home_digest_none", lang)
    else:
        channel, when = data.next_digest
        digest = t("home_digest_next", lang, when=f"{when:%Y-%m-%d %H:%M} ({when.tzinfo})", channel=channel)
    return [feeds, digest]


def _recent(data: HomeData, lang: str) -> str:
    if not data.recent:
        return f"{t('home_recent', lang)}\n{t('home_recent_none', lang)}"
    lines = []
    for q in data.recent:
        text = truncate(" ".join(q.text.split()), QUESTION_SHOWN)
        shown = link(q.link, text) if q.link else f"{escape_mrkdwn(text)} {t('home_recent_private', lang)}"
        lines.append(f"• {shown} · {q.day}")
    return "\n".join([t("home_recent", lang), *lines])


def _follows(data: HomeData, lang: str) -> str:
    lines = [t("home_follows", lang)]
    lines.append(", ".join(f"*{escape_mrkdwn(f)}*" for f in data.follows) if data.follows else t("home_follows_none", lang))
    if data.watching:
        lines.append(t("home_watching", lang, count=data.watching))
    return "\n".join(lines)
