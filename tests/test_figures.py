"""Sources that give different figures for the same thing are both shown, and the reply says so."""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.texts import answer_text
from retrieval.figures import differing, figures
from retrieval.index import build_index
from retrieval.service import QAService
from retrieval.settings import RetrievalSettings

STORY = Path(__file__).resolve().parent / "fixtures" / "story"
SECOND_REPORT = """---
title: "Lumora AI raises HK$1.35 billion in Hong Kong IPO"
outlet: "Test Finance Daily (fiction)"
published: "2025-12-03T08:00:00+08:00"
language: en
url: ""
---
Lumora AI raised HK$1.35 billion in its Hong Kong IPO, including shares sold to cornerstone investors, according to a filing.

The fictional company's shares start trading on Friday.
"""


@dataclass(frozen=True)
class Shown:
    doc: int
    figures: tuple[float, ...]
    role: str = "support"
    about: frozenset[int] = frozenset()
    day: float = math.nan


def test_amounts_are_read_as_numbers_with_their_units() -> None:
    assert figures("raising HK$1.2 billion, the company said", ["money"]) == (1.2e9,)
    assert figures("募资12亿港元", ["money"]) == (1.2e9,)
    assert figures("收报67.15港元，较发行价上涨58%。", ["money", "percent"]) == (67.15, 58.0)
    assert figures("Lumora was founded in 2021.", ["money", "percent"]) == ()


def test_with_the_asked_term_located_only_the_amount_beside_it_is_its_figure() -> None:
    text = "MiniMax ended the day at HK$262.00, still well above its HK$165 offer price."
    at = text.index("offer price")
    assert figures(text, ["money"]) == (262.0, 165.0)
    assert figures(text, ["money"], [(at, at + len("offer price"))]) == (165.0,)
    far = "1月9日，MiniMax挂牌，收盘较发行价上涨109.1%，以收盘价计算，公司市值超1050亿港元。"
    at = far.index("发行价")
    assert figures(far, ["money"], [(at, at + 3)]) == ()  # the market value is not the offer price


def test_an_amount_in_another_clause_is_not_the_asked_terms_figure() -> None:
    # "Is Zhipu below its IPO price?": 108 is the close, in the clause before "跌破发行价"; reading it
    # as the offer price made the reply say the sources differ from "below its HK$116.20 offer price"
    text = "3月30日，智谱收报108港元，已跌破发行价；"
    at = text.index("发行价")
    assert figures(text, ["money"], [(at, at + 3)]) == ()
    text = "智谱的发行价为116.20港元，3月30日收报108港元。"
    at = text.index("发行价")
    assert figures(text, ["money"], [(at, at + 3)]) == (116.2,)
    text = "MiniMax had a HK$105,000 million market value."  # a thousands separator is no clause break
    at = text.index("market value")
    assert figures(text, ["money"], [(at, at + 12)]) == (1.05e11,)


def test_only_another_articles_different_figure_differs() -> None:
    lead = Shown(0, (1.2e9,))
    assert differing([lead, Shown(1, (1.2e9,)), Shown(2, (1.35e9,)), Shown(0, (9.9e9,)), Shown(3, ())]) == [2]
    assert differing([Shown(0, ()), Shown(1, (1.35e9,))]) == []  # a lead without a figure compares nothing
    assert differing([lead, Shown(1, (0.9e9,), role="earlier")]) == []  # the story moved on


def test_reports_of_different_moments_are_not_sources_that_differ() -> None:
    # "Moonshot valuation?": the March round's US$10 billion against 120亿美元 the same day differs;
    # the December round's 43亿美元, three months earlier, is another moment of the story
    march, december = 739_693.0, 739_607.0
    lead = Shown(0, (1e10,), day=march)
    assert differing([lead, Shown(1, (1.2e10,), day=march), Shown(2, (4.3e9,), day=december)]) == [1]
    assert differing([lead, Shown(1, (1.2e10,), day=march + 7), Shown(2, (1.2e10,), day=march + 8)]) == [1]


def test_another_companys_figure_is_not_a_different_figure() -> None:
    lead = Shown(0, (1.2e9,), about=frozenset({1}))
    assert differing([lead, Shown(1, (0.6e9,), about=frozenset({2})), Shown(2, (1.35e9,), about=frozenset({1, 2}))]) == [2]
    assert differing([lead, Shown(1, (0.6e9,))]) == [1]  # about no known company: compared as before


@pytest.fixture(scope="module")
def two_reports(tmp_path_factory: pytest.TempPathFactory) -> QAService:
    root = tmp_path_factory.mktemp("figures")
    shutil.copytree(STORY, root / "corpus")
    (root / "corpus" / "articles" / "2025-12-03-lumora-raise.md").write_text(SECOND_REPORT, encoding="utf-8")
    settings = RetrievalSettings(corpus_dir=root / "corpus", data_dir=root / "data")
    build_index(settings)
    return QAService(settings)


def test_a_reply_quotes_both_figures_and_says_the_sources_differ(two_reports: QAService) -> None:
    ans = two_reports.ask("How much did Lumora raise in its IPO?")
    assert ans.outcome == "answered"
    quoted = [c.excerpt for c in ans.citations]
    assert any("HK$1.2 billion" in q for q in quoted) and any("HK$1.35 billion" in q for q in quoted)
    assert ans.differs and "Sources differ" in answer_text(ans)
    assert ans.to_dict(answer_text(ans))["sources_differ"] == ans.differs
