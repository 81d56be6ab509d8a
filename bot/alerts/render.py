"""Alert messages: new articles on a followed term, and a saved question whose answer changed.
Pure functions to Block Kit within Slack's limits (``bot.render``'s constants and escaping)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, DividerBlock, PlainTextObject

from bot.render import (
    EXCERPT_LIMIT,
    FALLBACK_TEXT_LIMIT,
    MAX_BLOCKS,
    TITLE_LIMIT,
    Message,
    answer_message,
    blockquote_escaped,
    context,
    cut_escaped,
    escape_mrkdwn,
    link,
    section,
    truncate,
)
from bot.state.records import SavedQuestion
from bot.texts import t
from bot.texts.wording import answer_text
from retrieval.types import Answer

MAX_LISTED = 10  # articles named in one follow alert; the rest are counted
UNSAVE_ACTION = "saved_question_remove"


@dataclass(frozen=True)
class ArticleItem:
    path: str
    title: str
    url: str
    outlet: str
    published: str  # YYYY-MM-DD or ""
    excerpt: str  # verbatim sentence naming the term; "" when only the title names it


def article_mrkdwn(item: ArticleItem, language: str) -> str:
    meta = " · ".join(escape_mrkdwn(p) for p in (item.outlet, item.published) if p)
    lines = [f"*{link(item.url, truncate(item.title, TITLE_LIMIT))}*"]
    if meta:
        lines.append(f"_{meta}_")
    if item.excerpt:
        lines.append(blockquote_escaped(cut_escaped(item.excerpt.strip(), EXCERPT_LIMIT, t("excerpt_cut", language))))
    return "\n".join(lines)


def follow_alert_message(terms: Sequence[str], items: Sequence[ArticleItem], language: str) -> Message:
    """One message for a burst: every new article naming any of ``terms``, newest first."""
    shown_terms = ", ".join(escape_mrkdwn(x) for x in terms)
    ordered = sorted(items, key=lambda i: (i.published, i.path), reverse=True)
    title = t("follow_alert_title", language, terms=shown_terms, count=len(ordered))
    blocks: list[Block] = [section(f"*{title}*")]
    blocks += [section(article_mrkdwn(item, language)) for item in ordered[:MAX_LISTED]]
    if len(ordered) > MAX_LISTED:
        blocks.append(context([t("follow_alert_more", language, count=len(ordered) - MAX_LISTED)]))
    blocks.append(context([t("follow_alert_footer", language, term=escape_mrkdwn(terms[0]))]))
    fallback = "\n".join([title, *(f"{i.title} ({i.url})" if i.url else i.title for i in ordered[:MAX_LISTED])])
    return Message(text=truncate(fallback, FALLBACK_TEXT_LIMIT), blocks=blocks)


def change_alert_message(saved: SavedQuestion, answer: Answer, *, outcome: str, now: float) -> Message:
    """The new answer in full, then the one the asker saw before, each with its date."""
    lang = saved.language
    question = escape_mrkdwn(truncate(saved.question, 300))
    reason = t(f"change_reason_{_reason(saved.evidence.outcome, outcome)}", lang)
    head: list[Block] = [
        section(f"*{t('change_title', lang)}*\n>{question}"),
        context([reason]),
        section(f"*{t('change_now', lang, date=_day(now))}*"),
    ]
    before = section(f"*{t('change_before', lang, date=_day(saved.checked_at))}*\n{_before_text(saved)}")
    tail: list[Block] = [DividerBlock(), before, ActionsBlock(elements=[ButtonElement(
        text=PlainTextObject(text=t("change_stop", lang)), action_id=UNSAVE_ACTION, value=str(saved.id))])]
    body = answer_message(answer).blocks[: MAX_BLOCKS - len(head) - len(tail)]
    text = f"{t('change_title', lang)}: {saved.question}\n{answer_text(answer)}"
    return Message(text=truncate(text, FALLBACK_TEXT_LIMIT), blocks=[*head, *body, *tail])


def _before_text(saved: SavedQuestion) -> str:
    if saved.evidence.outcome == "refused" or not saved.excerpt:
        return escape_mrkdwn(t("change_was_refused", saved.language))
    quote = blockquote_escaped(cut_escaped(saved.excerpt.strip(), EXCERPT_LIMIT, t("excerpt_cut", saved.language)))
    return f"{quote}\n_{escape_mrkdwn(saved.source)}_" if saved.source else quote


def _reason(before: str, after: str) -> str:
    """Why the DM: answered now, no longer answered, related excerpts only, or a newer answer."""
    if after == "answered":
        return "newer" if before == "answered" else "answered"
    if after == "refused" or before == "answered":
        return "withdrawn"
    return "related"  # "closest", from refused or from other related excerpts


def _day(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).date().isoformat()
