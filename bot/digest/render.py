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
from bot.digest.schedule import Day
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
from bot.texts import LANGUAGES, TEXTS, t

HEADER_LIMIT = 150  # characters of a header block's plain text
ARTICLE_SENTENCE_LIMIT = 300  # escaped characters of an article's quoted sentence
KEY_POINT_LIMIT = 400  # escaped characters of one key development
STORY_LIMIT = 300  # escaped characters of a story's line (its sources come after)
MAX_STORIES = 12  # stories listed; the rest are counted
QUESTION_LIMIT = 200  # characters of one question shown


def digest_title(digest: Digest) -> str:
    if isinstance(digest.week, Day):
        return w(digest, "digest_title_day", day=str(digest.week))
    return w(digest, "digest_title", week=digest.week.week, year=digest.week.year)


def w(digest: Digest, key: str, **values: object) -> str:
    """The digest's words for ``key``: the daily variant (``<key>_day``) for a daily digest, in the
    digest's language, or English and Chinese side by side for "both"."""
    if isinstance(digest.week, Day) and f"{key}_day" in TEXTS:
        key = f"{key}_day"
    if digest.language == "both":
        return " · ".join(t(key, lang, **values) for lang in LANGUAGES)
    return t(key, digest.language, **values)


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
    lines = [f"*{w(digest, 'digest_key')}*"]
    for point in digest.key_points:
        refs = "".join(_ref(by_n[n]) for n in point.refs if n in by_n)
        lines.append(f"• {cut_escaped(' '.join(point.text.split()), KEY_POINT_LIMIT)} {refs}")
    return "\n".join(lines)


def _stories(digest: Digest) -> list[str]:
    """The stories as mrkdwn sections (each within a section's limit): one line per story, its
    newest development and every source, newest stories first."""
    if not digest.stories:
        return []
    by_n = {a.n: a for a in digest.articles}
    lines = []
    for story in digest.stories[:MAX_STORIES]:
        refs = "".join(_ref(by_n[n]) for n in story.refs if n in by_n)
        lines.append(f"• {cut_escaped(' '.join(story.text.split()), STORY_LIMIT)} {refs} _{escape_mrkdwn(story.date)}_")
    if len(digest.stories) > MAX_STORIES:
        lines.append(f"_{escape_mrkdwn(w(digest, 'digest_more_stories', count=len(digest.stories) - MAX_STORIES))}_")
    sections, current = [], f"*{w(digest, 'digest_stories')}*"
    for line in lines:
        if len(current) + len(line) + 1 > SECTION_TEXT_LIMIT:
            sections.append(current)
            current = line
        else:
            current = f"{current}\n{line}"
    return [*sections, current]


def _questions(digest: Digest) -> str:
    lines = [f"*{w(digest, 'digest_asked')}*"]
    if not digest.n_questions:
        lines.append(w(digest, "digest_no_questions"))
        return "\n".join(lines)
    for i, q in enumerate(digest.top_questions, start=1):
        lines.append(f"{i}. {cut_escaped(q.text, QUESTION_LIMIT)} ({w(digest, 'digest_times', count=q.count)})")
    lines.append(f"\n*{w(digest, 'digest_unanswered')}*")
    if digest.unanswered:
        lines += [f"• {cut_escaped(q.text, QUESTION_LIMIT)} ({w(digest, 'digest_times', count=q.count)})" for q in digest.unanswered]
    else:
        lines.append(w(digest, "digest_all_answered"))
    return "\n".join(lines)


def _local_range(digest: Digest) -> tuple[str, str]:
    tz = ZoneInfo(digest.timezone)
    return tuple(when.astimezone(tz).strftime("%Y-%m-%d %H:%M") for when in (digest.start, digest.end))  # type: ignore[return-value]


def digest_message(digest: Digest, *, note: str = "") -> Message:
    """The whole digest within every Slack limit; ``note`` (escaped mrkdwn) goes under the title."""
    start, end = _local_range(digest)
    summary = w(digest, "digest_summary", start=start, end=end, tz=digest.timezone, articles=len(digest.articles),
                 questions=digest.n_questions)
    head: list[Block] = [HeaderBlock(text=truncate(digest_title(digest), HEADER_LIMIT)), _context(escape_mrkdwn(summary))]
    if note:
        head.append(_context(note))
    stories = _stories(digest)  # the stories replace the key developments where there are any
    key = None if stories else _key_points(digest)
    head += [_section(x) for x in stories]
    tail: list[Block] = ([DividerBlock(), _section(key)] if key else []) + [DividerBlock(), _section(_questions(digest))]
    used = len(summary) + len(note) + sum(map(len, stories)) + (len(key) if key else 0) + len(_questions(digest))
    new_title = f"*{w(digest, 'digest_new')}*"
    body: list[Block] = []
    if not digest.articles:
        body.append(_section(f"{new_title}\n{w(digest, 'digest_no_new')}"))
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
            body.append(_context(escape_mrkdwn(w(digest, "digest_more_articles", count=len(digest.articles) - shown))))
    return Message(text=fallback_text(digest), blocks=head + body + tail)


def fallback_text(digest: Digest) -> str:
    """Notification text: title, counts and the key developments, at most FALLBACK_TEXT_LIMIT chars."""
    start, end = _local_range(digest)
    parts = [digest_title(digest), w(digest, "digest_summary", start=start, end=end, tz=digest.timezone,
                                      articles=len(digest.articles), questions=digest.n_questions)]
    if digest.key_points:
        parts.append(f"{w(digest, 'digest_key')}: " + " ".join(f"• {' '.join(p.text.split())}" for p in digest.key_points))
    return truncate(escape_mrkdwn("\n".join(parts)), FALLBACK_TEXT_LIMIT)


def digest_plain_text(digest: Digest) -> str:
    """The digest for a terminal (``industry-qa digest --dry-run``): every article, no truncation."""
    start, end = _local_range(digest)
    out = [digest_title(digest), "=" * len(digest_title(digest)),
           w(digest, "digest_summary", start=start, end=end, tz=digest.timezone, articles=len(digest.articles),
              questions=digest.n_questions), "", f"## {w(digest, 'digest_new')}"]
    if not digest.articles:
        out.append(w(digest, "digest_no_new"))
    for a in digest.articles:
        out.append(f"[{a.n}] {a.title} ({', '.join(x for x in (a.outlet, a.date) if x)}) {a.url}".rstrip())
        if a.sentence:
            out.append(f"    > {' '.join(a.sentence.split())}")
    if digest.stories:
        out += ["", f"## {w(digest, 'digest_stories')}"]
        out += [f"- {' '.join(x.text.split())} {''.join(f'[{n}]' for n in x.refs)} ({x.date})" for x in digest.stories]
    if digest.key_points:
        out += ["", f"## {w(digest, 'digest_key')} ({digest.method})"]
        out += [f"- {' '.join(p.text.split())} {''.join(f'[{n}]' for n in p.refs)}" for p in digest.key_points]
    out += ["", f"## {w(digest, 'digest_asked')}"]
    if not digest.n_questions:
        out.append(w(digest, "digest_no_questions"))
    out += [f"{i}. {q.text} ({w(digest, 'digest_times', count=q.count)})" for i, q in enumerate(digest.top_questions, 1)]
    if digest.n_questions:
        out += ["", f"## {w(digest, 'digest_unanswered')}"]
        out += [f"- {q.text} ({w(digest, 'digest_times', count=q.count)})" for q in digest.unanswered] or [w(digest, "digest_all_answered")]
    return "\n".join(out)
