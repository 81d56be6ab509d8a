"""When sources give different figures for the same thing: "raised HK$4.3 billion" in one
article, "募资43.5亿港元" in another (the same), "HK$4.35 billion" in a third (a different figure).

Only excerpts that hold what a how-much question asks for, about the company asked, with the
question's most specific term, are compared (``Excerpt.figures``), so a price is never compared
with a market value. Amounts are compared as numbers: units (billion, 亿, 万, million) applied,
currencies ignored, equal within half a percent.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Protocol

from .evidence import MONEY, PERCENT

_NUMBER = re.compile(r"(\d+(?:,\d{3})*(?:\.\d+)?)\s*(trillion|billion|bn|million|mn|亿|万)?", re.I)
_SCALE = {"trillion": 1e12, "billion": 1e9, "bn": 1e9, "million": 1e6, "mn": 1e6, "亿": 1e8, "万": 1e4}
TOLERANCE = 0.005
COMPARED = ("money", "percent")  # what a how-much question's figures are (counts and codes are not compared)
SAME_STORY_DAYS = 7  # reports further apart than this are of different moments, not different figures


class HasFigures(Protocol):
    @property
    def doc(self) -> int: ...

    @property
    def figures(self) -> tuple[float, ...]: ...

    @property
    def role(self) -> str: ...

    @property
    def about(self) -> frozenset[int]: ...

    @property
    def day(self) -> float: ...  # publication day (proleptic ordinal; NaN undated)


def figures(text: str, kinds: Sequence[str], near: Sequence[tuple[int, int]] = ()) -> tuple[float, ...]:
    """The amounts of ``kinds`` (money, percent) that ``text`` states, as plain numbers. With
    ``near`` (where the asked term is in the text) and several amounts, only the one closest to the
    term: "ended the day at HK$262.00, still well above its HK$165 offer price" states 165 as the
    offer price, 262 is another thing."""
    found = _amounts(text, kinds)
    if near:
        def gap(pos: int) -> int:
            return min(a - pos if pos < a else max(0, pos - b) for a, b in near)

        def same_clause(pos: int) -> bool:
            return any(not _CLAUSE_BREAK.search(text[pos:a] if pos < a else text[b:pos]) for a, b in near)

        # the amount must sit by the term, in its clause: "较发行价上涨109.1%，以收盘价计算，公司市值超1050亿港元"
        # states no offer price, nor does "智谱收报108港元，已跌破发行价" (108 is the close)
        window = NEAR_CJK if re.search(r"[\u3400-\u9fff]", text) else NEAR_LATIN
        close = [f for f in found if gap(f[1]) <= window and same_clause(f[1])]
        found = [min(close, key=lambda f: gap(f[1]))] if close else []
    return tuple(dict.fromkeys(v for v, _ in found))


NEAR_CJK, NEAR_LATIN = 12, 48  # characters between an amount and the asked term, to be its figure
_CLAUSE_BREAK = re.compile(r"[，；;。]|(?<!\d),|,(?!\d)")  # a comma between digits is a thousands separator


def _amounts(text: str, kinds: Sequence[str]) -> list[tuple[float, int]]:
    """(value, position) of each amount of ``kinds``."""
    out: list[tuple[float, int]] = []
    for kind in kinds:
        pattern = MONEY if kind == "money" else PERCENT if kind == "percent" else None
        if pattern is None:
            continue
        read_to = 0  # a match inside the number just read ("HK$1" then "2 billion" of "HK$1.2 billion")
        for m in pattern.finditer(text):
            number = _NUMBER.search(text, m.start(), min(len(text), m.end() + 24))
            if number is None or m.start() < read_to:
                continue
            read_to = number.end()
            value = float(number.group(1).replace(",", ""))
            unit = (number.group(2) or "").lower()
            out.append((value * _SCALE.get(unit, 1.0), m.start()))
    return out


def differing(excerpts: Sequence[HasFigures]) -> list[int]:
    """Positions (0-based) of the supporting excerpts from other articles whose figures share none
    with the lead's (both must state some): they report a different figure for the same thing. An
    earlier report of a story ("earlier"), or one published more than SAME_STORY_DAYS from the
    lead, is not compared: the figure may have changed in between (Moonshot's valuation at its
    December round and at its March round are two figures, not two sources that differ)."""
    if not excerpts or not excerpts[0].figures:
        return []
    lead = excerpts[0]
    return [i for i, e in enumerate(excerpts[1:], 1)
            if e.role == "support" and e.doc != lead.doc and e.figures and _same_subject(lead, e)
            and _same_moment(lead, e) and not any(_same(a, b) for a in lead.figures for b in e.figures)]


def _same_moment(a: HasFigures, b: HasFigures) -> bool:
    return math.isnan(a.day) or math.isnan(b.day) or abs(a.day - b.day) <= SAME_STORY_DAYS


def _same_subject(a: HasFigures, b: HasFigures) -> bool:
    """Both excerpts are about the same company (or either about none known): another company's
    figure in a comparison's support is not a different figure for the same thing."""
    return not a.about or not b.about or bool(a.about & b.about)


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= TOLERANCE * max(abs(a), abs(b))
