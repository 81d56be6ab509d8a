"""Pure rendering: an ``Answer`` (or a short notice) to Block Kit plus fallback text, within Slack's limits.

Nothing here talks to Slack. Every limit is a named constant; ``slack_sdk.models.blocks`` validates
the per-block ones when ``Message.to_kwargs()`` serialises the blocks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote as url_quote

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.answer_actions import answer_actions
from bot.texts import answer_text, role_label, t
from bot.texts.wording import human_date, quoted_citations
from retrieval.types import Answer, Citation

SECTION_TEXT_LIMIT = 3000  # characters of mrkdwn per section block
MAX_BLOCKS = 50  # blocks per message
FALLBACK_TEXT_LIMIT = 4000  # characters of the notification / fallback ``text``
CONTEXT_ELEMENTS_LIMIT = 10  # elements per context block
# Total characters across all blocks: Slack starts failing with msg_blocks_too_long near 13k.
MESSAGE_TEXT_BUDGET = 12000
ANSWER_TEXT_LIMIT = 6000  # the answer body may take at most this share of the budget
EXCERPT_LIMIT = 1000  # escaped characters of one quoted excerpt (cut with an ellipsis beyond)
TITLE_LIMIT = 200  # characters of an article title in a source line
SHORT_ANSWER_LIMIT = 2500  # the answer body when Slack refused the full message as too long



@dataclass(frozen=True)
class Message:
    """What ``chat.postMessage`` / ``respond`` need: fallback text plus blocks."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def to_kwargs(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": [block.to_dict() for block in self.blocks]}


def escape_mrkdwn(text: str) -> str:
    """Slack mrkdwn needs exactly three escapes; ``&`` first so entities are not double-escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Slack has no escape for its formatting markers: a verbatim "~20% … ~5%" would be struck through. A
# date token whose format is invalid shows its fallback text, as plain text, so in quoted text each
# marker is written as such a token (jsx-slack's <Escape> does the same); the reader sees the marker.
FORMATTING_MARKERS = frozenset("*_~`")
PLAIN_MARKER = "<!date^00000000^{{_}}|{}>"


def escape_verbatim(text: str) -> str:
    """``escape_mrkdwn`` for text quoted as written: its ``*``, ``_``, ``~`` and backticks format nothing."""
    return "".join(PLAIN_MARKER.format(c) if c in FORMATTING_MARKERS else c for c in escape_mrkdwn(text))


def truncate(text: str, limit: int, marker: str = "…") -> str:
    """``text`` cut to at most ``limit`` characters, ending with ``marker`` when cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(marker))].rstrip() + marker


def split_escaped(raw: str, limit: int, escape: Callable[[str], str] = escape_mrkdwn) -> list[str]:
    """Escape ``raw`` (with ``escape``) and split it into pieces of at most ``limit`` characters.

    Splits at a paragraph, line or space break when one lies in the second half of a piece, and
    never inside an ``&amp;``-style entity (pieces are cut in raw text, then escaped).
    """
    pieces: list[str] = []
    rest = raw
    while rest:
        if len(escape(rest)) <= limit:
            pieces.append(escape(rest))
            break
        lo, hi = 1, len(rest)  # largest n with len(escape(rest[:n])) <= limit
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if len(escape(rest[:mid])) <= limit:
                lo = mid
            else:
                hi = mid - 1
        cut = lo
        for sep in ("\n\n", "\n", " "):
            at = rest.rfind(sep, 0, cut)
            if at >= cut // 2:
                cut = at + len(sep)
                break
        pieces.append(escape(rest[:cut].rstrip()))
        rest = rest[cut:].lstrip()
    return [p for p in pieces if p]


def link(url: str, label: str) -> str:
    """A clickable ``<url|label>`` for http(s) URLs; the escaped plain label otherwise."""
    label = escape_mrkdwn(label.replace("\n", " ").strip()) or escape_mrkdwn(url)
    if not url.startswith(("http://", "https://")):
        return label
    safe_url = url_quote(url.strip(), safe=":/?#[]@!$&'()*+,;=%~-._")  # encodes | < > spaces
    return f"<{escape_mrkdwn(safe_url)}|{label}>"


def cut_escaped(raw: str, limit: int, marker: str = "…", escape: Callable[[str], str] = escape_mrkdwn) -> str:
    """``raw`` escaped, cut to at most ``limit`` characters (never inside an entity) plus ``marker``."""
    escaped = escape(raw)
    if len(escaped) <= limit:
        return escaped
    return split_escaped(raw, max(1, limit - len(marker)), escape)[0] + marker


def blockquote_escaped(escaped: str) -> str:
    """Already-escaped text as a mrkdwn quote: every line starts with ``>``."""
    return "\n".join(f"> {line}" if line.strip() else ">" for line in escaped.splitlines() or [""])


def blockquote(text: str) -> str:
    """Escaped ``text`` as a mrkdwn quote."""
    return blockquote_escaped(escape_mrkdwn(text))


def citation_mrkdwn(citation: Citation, language: str, *, quote: bool = True) -> str:
    """``*[n]* <url|title>`` / ``_outlet · date · role_`` / the verbatim excerpt as a quote (left out
    when the answer's own line already quotes it: each thing is said once)."""
    role = role_label(citation.role, language)
    meta = " · ".join(escape_mrkdwn(part) for part in (citation.outlet, human_date(citation.published, language), role)
                      if part)
    title = truncate(citation.title or citation.path, TITLE_LIMIT)
    lines = [f"*[{citation.n}]* {link(citation.url, title)}"]
    if meta:
        lines.append(f"_{meta}_")
    if quote:
        excerpt = cut_escaped(citation.excerpt.strip(), EXCERPT_LIMIT, t("excerpt_cut", language), escape_verbatim)
        lines.append(blockquote_escaped(excerpt))
    return "\n".join(lines)


def section(mrkdwn: str, block_id: str | None = None) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=mrkdwn), block_id=block_id)


def context(lines: Sequence[str]) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=truncate(x, SECTION_TEXT_LIMIT)) for x in lines[:CONTEXT_ELEMENTS_LIMIT]])


def answer_message(answer: Answer, *, question_id: int | None = None, notes: Sequence[str] = (),
                   shareable: bool = False) -> Message:
    """The answer, any notes, numbered sources and its controls (feedback, "tell me when this
    changes", and "share to channel" when ``shareable``), within every Slack limit. Without a
    ``question_id`` (an alert quoting an answer) there are no controls."""
    lang = answer.language
    body = answer_text(answer).strip() or t("nothing_found", lang)
    answer_pieces = split_escaped(truncate(body, ANSWER_TEXT_LIMIT, "\n" + t("answer_cut", lang)), SECTION_TEXT_LIMIT,
                                  body_escape(answer))
    blocks: list[Block] = [section(p) for p in answer_pieces]
    if notes:
        blocks.append(context([escape_mrkdwn(n) for n in notes]))
    used = sum(len(p) for p in answer_pieces) + sum(len(n) for n in notes)
    tail = answer_actions(answer, question_id=question_id, shareable=shareable) if question_id is not None else []
    citations = [] if answer.refused else list(answer.citations)
    if citations:
        blocks += [DividerBlock(), section(f"*{t('sources', lang)}*")]
        reserve = len(tail) + 1  # keep room for the "more sources" line and the buttons
        shown = 0
        quoted = {c.n for c in quoted_citations(answer)}
        for citation in citations:
            quoted_above = citation.n in quoted  # the answer's line quotes it already
            text = citation_mrkdwn(citation, lang, quote=not quoted_above)
            if used + len(text) > MESSAGE_TEXT_BUDGET or len(blocks) + reserve >= MAX_BLOCKS:
                break
            blocks.append(section(text))
            used += len(text)
            shown += 1
        if shown < len(citations):
            blocks.append(context([t("more_sources", lang, count=len(citations) - shown)]))
    blocks += tail
    return Message(text=fallback_text(answer, notes=notes), blocks=blocks)


def short_answer_message(answer: Answer, *, question_id: int | None = None, notes: Sequence[str] = (),
                         shareable: bool = False) -> Message:
    """What is posted when Slack refuses ``answer_message`` as too long: the answer cut to
    ``SHORT_ANSWER_LIMIT``, its sources as links without their excerpts, a note that it was shortened."""
    lang = answer.language
    body = answer_text(answer).strip() or t("nothing_found", lang)
    blocks: list[Block] = [section(cut_escaped(body, SHORT_ANSWER_LIMIT, escape=body_escape(answer)))]
    citations = [] if answer.refused else list(answer.citations)
    if citations:
        lines = [f"*[{c.n}]* {link(c.url, truncate(c.title or c.path, TITLE_LIMIT))}" for c in citations]
        blocks.append(section(truncate("\n".join(lines), SHORT_ANSWER_LIMIT)))
    blocks.append(context([escape_mrkdwn(n) for n in notes][: CONTEXT_ELEMENTS_LIMIT - 1] + [t("answer_cut", lang)]))
    if question_id is not None:
        blocks += answer_actions(answer, question_id=question_id, shareable=shareable)
    return Message(text=truncate(fallback_text(answer, notes=notes), SHORT_ANSWER_LIMIT), blocks=blocks)


def body_escape(answer: Answer) -> Callable[[str], str]:
    """An extractive answer quotes its source as written; a model's answer and a refusal may format."""
    return escape_verbatim if answer.mode == "extractive" and not answer.refused else escape_mrkdwn


def fallback_text(answer: Answer, *, notes: Sequence[str] = ()) -> str:
    """Plain summary for notifications and clients without blocks, at most FALLBACK_TEXT_LIMIT chars."""
    lang = answer.language
    parts = [escape_mrkdwn(answer_text(answer).strip() or t("nothing_found", lang)), *map(escape_mrkdwn, notes)]
    if answer.citations and not answer.refused:
        sources = [
            f"[{c.n}] {escape_mrkdwn(c.title)} ({escape_mrkdwn(', '.join(x for x in (c.outlet, human_date(c.published, lang)) if x))})"
            for c in answer.citations
        ]
        parts.append(f"{t('sources', lang)}: " + "; ".join(sources))
    return truncate("\n\n".join(parts), FALLBACK_TEXT_LIMIT)


def notice_message(text: str) -> Message:
    """A short plain notice (help, errors, limits) as one section; ``text`` is mrkdwn already."""
    return Message(text=truncate(text, FALLBACK_TEXT_LIMIT), blocks=[section(truncate(text, SECTION_TEXT_LIMIT))])
