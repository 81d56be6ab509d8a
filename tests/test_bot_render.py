"""Rendering is pure: table-driven checks of escaping, splitting and every Slack limit."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from bot.render import (
    EXCERPT_LIMIT,
    FALLBACK_TEXT_LIMIT,
    MAX_BLOCKS,
    MESSAGE_TEXT_BUDGET,
    SECTION_TEXT_LIMIT,
    answer_message,
    blockquote,
    escape_mrkdwn,
    link,
    notice_message,
    split_escaped,
)
from bot.texts import answer_text
from retrieval.types import Answer, Citation

BROKEN_ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain", "plain"),
        ("R&D <b> x > y", "R&amp;D &lt;b&gt; x &gt; y"),
        ("already &amp; escaped", "already &amp;amp; escaped"),
        ("<@U123> <!channel>", "&lt;@U123&gt; &lt;!channel&gt;"),
        ("中文：谁最先上市？", "中文：谁最先上市？"),
        ("emoji 🚀👍🏽 ok", "emoji 🚀👍🏽 ok"),
        ("*bold* _it_ `code`", "*bold* _it_ `code`"),  # formatting is not escaped, only & < >
    ],
)
def test_escape_mrkdwn(raw: str, escaped: str) -> None:
    assert escape_mrkdwn(raw) == escaped


@pytest.mark.parametrize(
    "raw",
    [
        "short",
        "word " * 2000,  # 10k chars with spaces
        "&" * 5000,  # escaping quintuples the length
        "<>" * 3000,
        "模型" * 5000,  # no spaces at all
        "🚀 " * 4000,
        ("para one. " * 200 + "\n\n") * 6,
    ],
    ids=["short", "10k-words", "ampersands", "angles", "chinese", "emoji", "paragraphs"],
)
def test_split_escaped_respects_limit_and_never_cuts_an_entity(raw: str) -> None:
    pieces = split_escaped(raw, SECTION_TEXT_LIMIT)
    assert pieces and all(0 < len(p) <= SECTION_TEXT_LIMIT for p in pieces)
    assert not any(BROKEN_ENTITY.search(p) for p in pieces)
    assert "".join("".join(p.split()) for p in pieces) == "".join(escape_mrkdwn(raw).split())  # nothing lost


@pytest.mark.parametrize(
    ("url", "label", "expected"),
    [
        ("https://example.com/a", "Title", "<https://example.com/a|Title>"),
        ("https://example.com/a?x=1&y=2", "R&D", "<https://example.com/a?x=1&amp;y=2|R&amp;D>"),
        ("https://example.com/a b|c>d", "T", "<https://example.com/a%20b%7Cc%3Ed|T>"),
        ("", "No link <here>", "No link &lt;here&gt;"),
        ("javascript:alert(1)", "Bad", "Bad"),
        ("https://example.com/zh", "中文标题 🚀", "<https://example.com/zh|中文标题 🚀>"),
    ],
)
def test_link(url: str, label: str, expected: str) -> None:
    assert link(url, label) == expected


def test_blockquote_quotes_every_line_escaped() -> None:
    assert blockquote("a <b>\n\nc & d") == "> a &lt;b&gt;\n>\n> c &amp; d"


def _citation(n: int, *, excerpt: str = "MiniMax is expected to list first.", url: str = "https://example.com/x",
              title: str = "MiniMax & Zhipu <race>") -> Citation:
    return Citation(n, title, "Test Wire", "2025-12-11", url, excerpt, "a.md", 0, len(excerpt))


def _answer(text: str, *, language: str = "en", citations: list[Citation] | None = None, refused: bool = False) -> Answer:
    """An answer reading ``text`` (worded by a model, or a refusal without a known reason when empty)."""
    return Answer("q", refused, language, citations if citations is not None else [_citation(1)],
                  mode="extractive" if refused else "llm", model_text=text)


CASES = {
    "english": _answer("MiniMax is expected to list first [1]."),
    "chinese": _answer("MiniMax 预计最先上市 [1]。", language="zh",
                       citations=[_citation(1, excerpt="MiniMax 预计最先上市。", title="上市之争", url="")]),
    "emoji": _answer("🚀 Listing soon 👍🏽 [1]"),
    "specials": _answer("R&D <spend> > 5% & rising [1]"),
    "10k-answer": _answer("Long answer sentence. " * 460),
    "refused": Answer("q", True, "en", [], refusal="no_evidence", corpus_articles=3),
    "empty-refusal": _answer("", refused=True, citations=[]),
    "many-long-citations": _answer("See sources.", citations=[_citation(i, excerpt="x & y " * 400) for i in range(1, 61)]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_answer_message_stays_within_every_slack_limit(name: str) -> None:
    message = answer_message(CASES[name], question_id=7, notes=["Your question was cut."])
    payload = message.to_kwargs()  # slack_sdk validates per-block limits here (raises if exceeded)
    blocks = payload["blocks"]
    assert len(blocks) <= MAX_BLOCKS
    assert len(payload["text"]) <= FALLBACK_TEXT_LIMIT
    section_texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert all(len(t) <= SECTION_TEXT_LIMIT for t in section_texts)
    assert sum(map(len, section_texts)) <= MESSAGE_TEXT_BUDGET + 100  # + the short "Sources" header
    assert not any(BROKEN_ENTITY.search(t) for t in section_texts)
    feedback, buttons = blocks[-2:]  # the controls close the message, after every source
    assert feedback["type"] == "context_actions" and buttons["type"] == "actions"
    [votes] = feedback["elements"]
    assert (votes["type"], votes["positive_button"]["value"], votes["negative_button"]["value"]) == (
        "feedback_buttons", "7:up", "7:down")
    assert json.loads(buttons["elements"][0]["value"])["q"] == 7  # tell me when this changes


def test_answer_blocks_show_numbered_linked_quoted_sources() -> None:
    payload = answer_message(CASES["english"], question_id=1).to_kwargs()
    texts = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    assert texts[0] == "MiniMax is expected to list first [1]."
    assert texts[1] == "*Sources*"
    assert texts[2] == (
        "*[1]* <https://example.com/x|MiniMax &amp; Zhipu &lt;race&gt;>\n_Test Wire · 11 Dec 2025_\n"
        "> MiniMax is expected to list first."
    )


def test_an_extractive_answer_says_each_thing_once_with_dates_as_people_write_them() -> None:
    lead = Citation(1, "Zhipu debuts", "Test Wire", "2026-01-08T17:45:00+08:00", "https://example.com/z",
                    "Zhipu closed 13.2% up.", "a.md", 0, 22)
    earlier = Citation(2, "Zhipu prices", "测试财经", "2025-12-30T08:00:00+08:00", "", "智谱发行价116.20港元。", "b.md", 0, 12,
                       role="earlier")
    answer = Answer("q", False, "en", [lead, earlier], as_of="2026-01-08T17:45:00+08:00")
    texts = [b["text"]["text"] for b in answer_message(answer).to_kwargs()["blocks"] if b["type"] == "section"]
    assert texts[0] == "As of 8 Jan 2026, according to Test Wire: Zhipu closed 13.2% up. [1] [2]"
    assert texts[2] == "*[1]* <https://example.com/z|Zhipu debuts>\n_Test Wire · 8 Jan 2026_"  # quoted above
    assert texts[3] == "*[2]* Zhipu prices\n_测试财经 · 30 Dec 2025 · Earlier_\n> 智谱发行价116.20港元。"


def test_a_comparison_quotes_each_companys_lead_in_the_answer_and_not_again_under_it() -> None:
    zhipu = Citation(1, "Zhipu prices", "Test Wire", "2025-12-30T08:00:00+08:00", "", "Zhipu priced at HK$116.20.", "a.md", 0, 26)
    minimax = Citation(2, "MiniMax prices", "测试财经", "2026-01-06T20:00:00+08:00", "", "MiniMax定价165港元。", "b.md", 0, 14)
    also = Citation(3, "Zhipu debuts", "Test Wire", "2026-01-08T17:45:00+08:00", "", "Zhipu closed 13.2% up.", "c.md", 0, 22,
                    role="support")
    answer = Answer("q", False, "en", [zhipu, minimax, also], leads=2)
    texts = [b["text"]["text"] for b in answer_message(answer).to_kwargs()["blocks"] if b["type"] == "section"]
    assert texts[0] == ("According to Test Wire, 30 Dec 2025: Zhipu priced at HK$116.20. [1]\n"
                        "According to 测试财经, 6 Jan 2026: MiniMax定价165港元。 [2] [3]")
    assert texts[2:] == ["*[1]* Zhipu prices\n_Test Wire · 30 Dec 2025_", "*[2]* MiniMax prices\n_测试财经 · 6 Jan 2026_",
                         "*[3]* Zhipu debuts\n_Test Wire · 8 Jan 2026 · Also reported_\n> Zhipu closed 13.2% up."]
    # the closest the corpus comes quotes only its first excerpt, whatever the count says
    closest = Answer("q", False, "en", [replace(c, role="related") for c in (zhipu, minimax)], outcome="closest", leads=2)
    assert "[1] [2]" in answer_text(closest)


def test_the_closest_the_corpus_comes_is_labelled_as_not_an_answer() -> None:
    related = Citation(1, "T", "Wire", "2025-12-11", "", "Zhipu chose Hong Kong.", "a.md", 0, 22, role="related")
    payload = answer_message(Answer("q", False, "zh", [related], outcome="closest")).to_kwargs()
    texts = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    assert texts[0].startswith("语料中没有直接回答这个问题的内容。最接近的是（Wire, 2025年12月11日）：Zhipu chose Hong Kong.")
    assert "相关内容（并非直接回答）" in texts[2]


def test_chinese_answer_has_chinese_labels_and_plain_title_without_url() -> None:
    payload = answer_message(CASES["chinese"], question_id=1).to_kwargs()
    texts = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    assert texts[1] == "*来源*" and texts[2].startswith("*[1]* 上市之争\n")
    [votes] = payload["blocks"][-2]["elements"]
    assert [votes[b]["text"]["text"] for b in ("positive_button", "negative_button")] == ["有帮助", "没帮助"]
    assert [e["text"]["text"] for e in payload["blocks"][-1]["elements"]] == [":bell: 答案变化时通知我"]


def test_a_private_answer_can_be_shared_and_the_watch_button_carries_its_evidence() -> None:
    payload = answer_message(CASES["english"], question_id=4, shareable=True).to_kwargs()
    watch, share = payload["blocks"][-1]["elements"]
    assert share["action_id"] == "answer_share" and share["value"] == "4"
    assert json.loads(watch["value"]) == {"q": 4, "o": "answered", "p": "a.md", "s": 0, "e": 34}
    refused = answer_message(CASES["refused"], question_id=5).to_kwargs()
    assert json.loads(refused["blocks"][-1]["elements"][0]["value"]) == {"q": 5, "o": "refused", "p": "", "s": 0, "e": 0}


def test_long_answer_is_cut_with_a_marker_and_fallback_is_capped() -> None:
    message = answer_message(CASES["10k-answer"])
    sections = [b for b in message.to_kwargs()["blocks"] if b["type"] == "section"]
    assert any("answer shortened" in s["text"]["text"] for s in sections)
    assert len(message.text) == FALLBACK_TEXT_LIMIT and message.text.endswith("…")


def test_too_many_sources_are_summarised_not_dropped_silently() -> None:
    payload = answer_message(CASES["many-long-citations"], question_id=3).to_kwargs()
    context = [b for b in payload["blocks"] if b["type"] == "context"]
    assert any("more sources not shown" in el["text"] for b in context for el in b["elements"])
    quoted = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section" and b["text"]["text"].startswith("*[")]
    assert quoted and all(len(q) <= EXCERPT_LIMIT + 200 for q in quoted)


def test_refusal_has_no_sources_and_says_nothing_was_found() -> None:
    payload = answer_message(CASES["empty-refusal"], question_id=None).to_kwargs()
    assert [b["type"] for b in payload["blocks"]] == ["section"]
    assert "found nothing in the corpus" in payload["blocks"][0]["text"]["text"]


def test_notice_message_is_one_section_within_limits() -> None:
    payload = notice_message("x" * 5000).to_kwargs()
    assert len(payload["blocks"]) == 1 and len(payload["blocks"][0]["text"]["text"]) <= SECTION_TEXT_LIMIT
    assert len(payload["text"]) <= FALLBACK_TEXT_LIMIT


PLAIN = re.compile(r"<!date\^00000000\^\{_\}\|(.)>")  # a formatting marker shown as itself


def test_formatting_markers_in_quoted_text_format_nothing() -> None:
    excerpt = "Margins rose ~20% while costs fell ~5%; *net* income_growth stayed `flat`."
    answer = Answer("q", False, "en", [_citation(1, excerpt=excerpt), _citation(2, excerpt=excerpt)], mode="extractive")
    texts = [b["text"]["text"] for b in answer_message(answer, question_id=1).to_kwargs()["blocks"]
             if b["type"] == "section"]
    body, quote = texts[0], next(t for t in texts if "\n> " in t).split("\n> ", 1)[1]  # [2]'s quote ([1] is the body)
    for shown, written in ((body, answer_text(answer)), (quote, excerpt)):
        assert PLAIN.sub(r"\1", shown) == written  # the reader sees the text as written
        assert not set(PLAIN.sub("", shown)) & set("*_~`")  # and no marker is left to format it


def test_a_model_answer_and_a_refusal_keep_their_formatting() -> None:
    assert answer_message(_answer("*MiniMax* lists first [1]."), question_id=1).blocks[0].to_dict()["text"]["text"] \
        == "*MiniMax* lists first [1]."
    empty = Answer("q", True, "en", [], refusal="empty_corpus")
    assert "`industry-qa index`" in answer_message(empty).blocks[0].to_dict()["text"]["text"]
