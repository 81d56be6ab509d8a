"""A ``Digest`` as Block Kit, with the answer renderer's helpers and limits (pure, no Slack calls).

Key developments and questions are bounded and placed first in the budget; new articles then fill
what is left of ``MESSAGE_TEXT_BUDGET`` and ``MAX_BLOCKS``, and a last line counts the ones not
shown. Citation numbers link to the article, so they stay clickable even when its entry is cut.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.digest.model import Digest, NewArticle
from bot.render import (
    CONTEXT_ELEMENTS_LIMIT,
    FALLBACK_TEXT_LIMIT,
    MAX_BLOCKS,
    MESSAGE_TEXT_BUDGET,
    SECTION_TEXT_LIMIT,
    TITLE_LIMIT,
    Message,
    blockquote_escaped,
    cut_escaped,
    escape_mrkdwn,
    link,
    truncate,
)
from bot.texts import t

HEADER_LIMIT = 150  # characters of a header block's plain text
ARTICLE_SENTENCE_LIMIT = 300  # escaped characters of an article's quoted sentence
KEY_POINT_LIMIT = 400  # escaped characters of one key development
QUESTION_LIMIT = 200  # characters of one question shown


def digest_title(digest: Digest) -> str:
    return t("digest_title", digest.language, week=digest.week.week, year=digest.week.year)


def _section(mrkdwn: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(mrkdwn, SECTION_TEXT_LIMIT)))


def _context(mrkdwn: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=truncate(mrkdwn, SECTION_TEXT_LIMIT))][:CONTEXT_ELEMENTS_LIMIT])


def _ref(article: NewArticle) -> str:
    return link(article.url, f"[{article.n}]") if article.url else f"[{article.n}]"


def article_mrkdwn(article: NewArticle) -> str:
    """``*[n]* <url|title> · _outlet · date_`` and the article's sentence as a quote."""
    meta = " · ".join(escape_mrkdwn(x) for x in (article.outlet, article.date) if x)
    head = f"*[{article.n}]* {link(article.url, truncate(article.title or article.path, TITLE_LIMIT))}"
    lines = [f"{head} · _{meta}_" if meta else head]
    if article.sentence:
        lines.append(blockquote_escaped(cut_escaped(article.sentence.strip(), ARTICLE_SENTENCE_LIMIT)))
    return "\n".join(lines)


def _key_points(digest: Digest) -> str | None:
    if not digest.key_points:
        return None
    by_n = {a.n: a for a in digest.articles}
    lines = [f"*{t('digest_key', digest.language)}*"]
    for point in digest.key_points:
        refs = "".join(_ref(by_n[n]) for n in point.refs if n in by_n)
        lines.append(f"• {cut_escaped(' '.join(point.text.split()), KEY_POINT_LIMIT)} {refs}")
    return "\n".join(lines)


def _questions(digest: Digest) -> str:
    lang = digest.language
    lines = [f"*{t('digest_asked', lang)}*"]
    if not digest.n_questions:
        lines.append(t("digest_no_questions", lang))
        return "\n".join(lines)
    for i, q in enumerate(digest.top_questions, start=1):
        lines.append(f"{i}. {cut_escaped(q.text, QUESTION_LIMIT)} ({t('digest_times', lang, count=q.count)})")
    lines.append(f"\n*{t('digest_unanswered', lang)}*")
    if digest.unanswered:
        lines += [f"• {cut_escaped(q.text, QUESTION_LIMIT)} ({t('digest_times', lang, count=q.count)})" for q in digest.unanswered]
    else:
        lines.append(t("digest_all_answered", lang))
    return "\n".join(lines)


def _local_range(digest: Digest) -> tuple[str, str]:
    tz = ZoneInfo(digest.timezone)
    return tuple(when.astimezone(tz).strftime("%Y-%m-%d %H:%M") for when in (digest.start, digest.end))  # type: ignore[return-value]


def digest_message(digest: Digest, *, note: str = "") -> Message:
    """The whole digest within every Slack limit; ``note`` (escaped mrkdwn) goes under the title."""
    lang = digest.language
    start, end = _local_range(digest)
    summary = t("digest_summary", lang, start=start, end=end, tz=digest.timezone, articles=len(digest.articles),
                 questions=digest.n_questions)
    head: list[Block] = [HeaderBlock(text=truncate(digest_title(digest), HEADER_LIMIT)), _context(escape_mrkdwn(summary))]
    if note:
        head.append(_context(note))
    key = _key_points(digest)
    tail: list[Block] = ([DividerBlock(), _section(key)] if key else []) + [DividerBlock(), _section(_questions(digest))]
    used = len(summary) + len(note) + (len(key) if key else 0) + len(_questions(digest))
    new_title = f"*{t('digest_new', lang)}*"
    body: list[Block] = []
    if not digest.articles:
        body.append(_section(f"{new_title}\n{t('digest_no_new', lang)}"))
    else:
        room = MAX_BLOCKS - len(head) - len(tail) - 1  # one block kept for the "more articles" line
        current = new_title
        shown = 0
        for article in digest.articles:
            text = article_mrkdwn(article)
            if used + len(current) + len(text) + 2 > MESSAGE_TEXT_BUDGET:
                break
            if len(current) + len(text) + 2 > SECTION_TEXT_LIMIT:
                if len(body) + 1 >= room:
                    break
                body.append(_section(current))
                used += len(current)
                current = text
            else:
                current = f"{current}\n\n{text}"
            shown += 1
        body.append(_section(current))
        if shown < len(digest.articles):
            body.append(_context(escape_mrkdwn(t("digest_more_articles", lang, count=len(digest.articles) - shown))))
    return Message(text=fallback_text(digest), blocks=head + body + tail)


def fallback_text(digest: Digest) -> str:
    """Notification text: title, counts and the key developments, at most FALLBACK_TEXT_LIMIT chars."""
    lang = digest.language
    start, end = _local_range(digest)
    parts = [digest_title(digest), t("digest_summary", lang, start=start, end=end, tz=digest.timezone,
                                      articles=len(digest.articles), questions=digest.n_questions)]
    if digest.key_points:
        parts.append(f"{t('digest_key', lang)}: " + " ".join(f"• {' '.join(p.text.split())}" for p in digest.key_points))
    return truncate(escape_mrkdwn("\n".join(parts)), FALLBACK_TEXT_LIMIT)


def digest_plain_text(digest: Digest) -> str:
    """The digest for a terminal (``industry-qa digest --dry-run``): every article, no truncation."""
    lang = digest.language
    start, end = _local_range(digest)
    out = [digest_title(digest), "=" * len(digest_title(digest)),
           t("digest_summary", lang, start=start, end=end, tz=digest.timezone, articles=len(digest.articles),
              questions=digest.n_questions), "", f"## {t('digest_new', lang)}"]
    if not digest.articles:
        out.append(t("digest_no_new", lang))
    for a in digest.articles:
        out.append(f"[{a.n}] {a.title} ({', '.join(x for x in (a.outlet, a.date) if x)}) {a.url}".rstrip())
        if a.sentence:
            out.append(f"    > {' '.join(a.sentence.split())}")
    if digest.key_points:
        out += ["", f"## {t('digest_key', lang)} ({digest.method})"]
        out += [f"- {' '.join(p.text.split())} {''.join(f'[{n}]' for n in p.refs)}" for p in digest.key_points]
    out += ["", f"## {t('digest_asked', lang)}"]
    if not digest.n_questions:
        out.append(t("digest_no_questions", lang))
    out += [f"{i}. {q.text} ({t('digest_times', lang, count=q.count)})" for i, q in enumerate(digest.top_questions, 1)]
    if digest.n_questions:
        out += ["", f"## {t('digest_unanswered', lang)}"]
        out += [f"- {q.text} ({t('digest_times', lang, count=q.count)})" for q in digest.unanswered] or [t("digest_all_answered", lang)]
    return "\n".join(out)
