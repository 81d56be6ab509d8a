"""What a sentence offers as an answer: the evidence features that sentence ranking weighs.

Similarity alone picks the sentence most *like* the question ("What was Zhipu's IPO price?" ->
"Zhipu chose Hong Kong for its IPO"). These features say whether a sentence *answers* it: does it
(or the sentence before it, or its article's title) name what the question names; does it hold the
kind of thing asked for (a date for when, an amount for a price, a reason for why); how much of the
question's rarer concepts it covers, in either language; does it match a date the question names;
how new it is, when the question asks for the state of a story.
"""

from __future__ import annotations

import contextlib
import math
import re
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache

import numpy as np

from .glossary import NAME, TERM, Glossary
from .glossary import PLACE as PLACE_KIND
from .question import (
    ASKING,
    ENTITY,
    EVENT,
    NUMBER,
    OTHER,
    PLACE,
    WHEN,
    WHY,
    YES_NO,
    Question,
    own_words,
    uncovered_text,
)
from .text import chinese_runs, chinese_words, content_terms

_MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_MONTHS = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|"
           r"Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
DATE = re.compile(
    r"\b(?:January|February|March|April|June|July|August|September|October|November|December)\b|"
    rf"\b{_MONTHS}\s+\d{{1,2}}\b|\b\d{{1,2}}\s+{_MONTHS}\b|\b(?:19|20)\d\d\b|\b(?:on|by|since|until|from|last|this|next)\s+"
    r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b|\b(?:first|second) half\b|\bH[12]\b|\bQ[1-4]\b|"
    r"\d{1,2}月\d{1,2}日|\d{4}年|\d{1,2}月(?:初|中|底|末|份)?|[上下]半年|周[一二三四五六日]|今年|明年|去年|年内|年底|年初|"
    rf"\b(?:early|mid|late|end of)[- ]{_MONTHS}|\b(?:next|this|last) (?:week|month|year)\b|"
    r"\b(?:one|two|three|six|nine|twelve|\d+)[- ]months?\b|\d+\s*个月|[一二三六九]个月", re.I)
MONEY = re.compile(
    r"(?:HK|US|S)?\$\s?\d|\bRMB\s?\d|\d\s*yuan\b|\d[\d,.]*\s*(?:billion|million|bn|mn|trillion)\b|"
    r"\d[\d,.]*\s*(?:亿|万)?(?:港元|美元|元|人民币|港币)|\d[\d,.]*\s*亿|"
    r"[一二两三四五六七八九十百千]+(?:亿|万)(?:港元|美元|元|人民币)?", re.I)
# "HK$151 to HK$165", "110.00港元至120.00港元", "between HK$151 and HK$165"
RANGE = re.compile(r"\d[\d,.]*\s*(?:港元|美元|元)?\s*(?:to|and|-|–|—|至|到)\s*(?:HK\$|US\$|\$|RMB\s?)?\d", re.I)
PERCENT = re.compile(r"\d+(?:\.\d+)?\s?(?:%|％|per ?cent\b)|百分之", re.I)
MULTIPLE = re.compile(r"\d[\d,.]*\s*(?:倍|times\b|-fold)|\bdoubled\b|\btripled\b|翻倍|翻番", re.I)
COUNT = re.compile(r"\d[\d,.]*\s*(?:million|billion)?\s*(?:shares|investors|employees|staff|people|companies|家|名|股|人|只)"
                   r"|\d[\d,.]*\s*(?:万|亿)股", re.I)
CODE = re.compile(r"(?:code|ticker|symbol|代码|股票代码|编号)\D{0,16}\d{4,6}\b|\b\d{4,6}\.(?:HK|SH|SZ)\b|"
                  r"[（(]\d{4,6}[.)）]|[（(](?:HK|SH|SZ)?:?\s?\d{4,6}[)）]", re.I)
ANY_NUMBER = re.compile(r"\d")
CAUSE = re.compile(
    r"\b(?:because|due to|as a result|driven by|amid|after|owing to|thanks to|as investors|profit|reflect(?:s|ing|ed)?|"
    r"fundamentally|is about|are about|not just about|means|meaning|so that|in order to|crucial|key to|"
    r"aim(?:s|ing)? to|will (?:set|face|require|need)|require[sd]?|since|given|reason)\b|因为|由于|受.{0,12}影响|源于|在于|"
    r"意味着|为了|获利回吐|导致|主要是|原因|关键|旨在|以便|将面临|需要|前提|使得|随着", re.I)
# a name that is not the sentence's first word (that one is capitalised anyway), or a Chinese
# organisation; names the glossary knows count too (see ``features``)
ORG = re.compile(r"(?<=[\s(“\"'])(?!(?:The|A|An|In|On|At|For|Its|It|This|That|AI|IPO|CEO|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|"
                 r"Sep|Oct|Nov|Dec|January|February|March|April|June|July|August|September|October|November|"
                 r"December|Monday|Tuesday|Wednesday|Thursday|Friday|Hong|Kong|China|Chinese|Beijing|Shanghai)\b)"
                 r"[A-Z][A-Za-z0-9]+|[\u4e00-\u9fff]{2,}(?:公司|集团|科技|基金|资本|银行|证券|智能|投资)")
EVENTFUL = re.compile(r"\d|\b(?:said|announced|plans?|planning|will|has|have|was|were|became|listed|listing|raised|filed|"
                      r"passed|rose|fell|closed|opened|no|not|IPOs?|preparing|prepare|racing|weighing)\b|宣布|计划|将|已|成为|"
                      r"上市|完成|递交|通过|上涨|下跌|收报|表示|没有|不|IPO|赴港|竞相|筹备|拟", re.I)
# a sentence about what someone else did, not the article's company ("One online broker said it had
# raised its margin-loan pool to HK$20 billion" in an article about MiniMax's IPO); "Analysts expect
# the offering to raise HK$4 billion" stays about the company
THIRD_PARTY = re.compile(
    r"(?:one|an?|another)\s+(?:[a-z][a-z-]*\s+){0,3}(?:broker|brokerage|bank|banker|trader|investor|fund|fund manager|"
    r"strategist|lender)\s+(?:\w+\s+){0,2}?(?:said|says|told|noted)\s+(?:it|that it)\b",
    re.I)
# a sentence that is someone's quoted words ("“港股通的纳入对MiniMax来说是一个重要的增量资金来源。”…")
QUOTED = re.compile(r"\s*[“\"「『]")
# what comes right before a name that the sentence then sets aside ("除月之暗面外", "Besides Zhipu,")
_SET_ASIDE = re.compile(r"(?:除了?|不同于|有别于|\b(?:besides|apart from|aside from|other than|except for|unlike))\s*$", re.I)
# a sentence that needs the one before it to say who "it" is
ANAPHOR = re.compile(r"^(?:It|Its|The company|The firm|The group|The start-?up|The developer|The stock|Shares|"
                     r"The shares|They|Their|This|The listing|The deal|The offering|The IPO|The Beijing-based|"
                     r"The Shanghai-based|He|She)\b|^(?:该公司|公司|其|该股|此次|这家|这次|该|此外，该|他|她|上述)")
_EN_DAY = re.compile(rf"\b({_MONTHS})\s+(\d{{1,2}})\b|\b(\d{{1,2}})\s+({_MONTHS})\b", re.I)
_ZH_DAY = re.compile(r"(\d{1,2})月(\d{1,2})日")
_EN_MONTH = re.compile(rf"\b({_MONTHS})(?![A-Za-z])(?!\s+\d)", re.I)
_ZH_MONTH = re.compile(r"(\d{1,2})月(?!\d{1,2}日)")

# Which evidence a concept of the question asks for, by the first English term of its lexicon group.
_WANTS: dict[str, tuple[str, ...]] = {
    "offer price": ("money",), "proceeds": ("money",), "valuation": ("money",),
    "funding round": ("money",), "revenue": ("money", "percent"), "price range": ("range",), "net loss": ("money",),
    "profit": ("money",), "cash": ("money",), "market value": ("money",), "share price": ("money", "percent"),
    "opened": ("money", "percent"), "closed": ("money", "percent"), "dividend": ("money",),
    "rose": ("percent", "money"), "fell": ("percent", "money"), "sell-off": ("percent",),
    "debut": ("percent", "money"), "second day": ("percent", "money"),
    "oversubscribed": ("multiple",), "shares offered": ("count",), "employees": ("count",),
    "cornerstone investors": ("count", "percent", "org"), "stock code": ("code",), "lock-up": ("date",),
    "timetable": ("date",), "listing hearing": ("date",),
}
# terms a sentence states by their form alone: "marketing shares at HK$151 to HK$165 each" gives the
# price range without the words; "listed under the code 0100" the stock code
STATED_BY_FORM = {
    "price range": re.compile(r"(?:HK\$|US\$|\$|RMB\s?)\d[\d,.]*\s*(?:to|and|-|–|至|到)\s*(?:HK\$|US\$|\$|RMB\s?)?\d|"
                              r"\d[\d,.]*\s*(?:港元|美元|元)?\s*(?:至|到|-|–)\s*\d[\d,.]*\s*(?:港元|美元|元)", re.I),
    "stock code": CODE,
}
_HOW_MANY = re.compile(r"\bhow many\b|\bnumber of\b|几家|多少家|几个|多少个|多少股|多少名|多少人|多少倍|几倍")
_KIND_PATTERNS = {"range": RANGE, "money": MONEY, "percent": PERCENT, "multiple": MULTIPLE, "count": COUNT, "code": CODE,
                  "date": DATE, "org": ORG}

FEATURES = ("sim", "names_here", "names_near", "subject", "other_names", "concepts", "focus", "typed",
            "date_match", "newest", "anaphor", "short", "rank")


@dataclass(frozen=True)
class Candidate:
    """A sentence that might answer, with what surrounds it."""

    sid: int
    doc: int
    start: int
    end: int
    text: str
    before: str  # the sentence before it in the same article ("" for the first)
    title: str
    day: float  # the article's publication day (proleptic ordinal; NaN undated)
    sim: float  # language-centred cosine to the question
    rank: int  # rank of the best retrieved chunk that holds it
    before_start: int = -1  # where the sentence before starts in the article (-1: none)


def figure_terms(question: Question, glossary: Glossary, kinds: tuple[str, ...]) -> frozenset[int]:
    """The question's terms that ask for an amount of ``kinds`` ("offer price" a money amount;
    not "IPO", which holds none)."""
    return frozenset(g for g in question.groups if set(_WANTS.get(glossary.groups[g].terms[0], ())) & set(kinds))


def wanted_kinds(question: Question, glossary: Glossary) -> tuple[str, ...]:
    """The kinds of evidence that answer the question (empty: any sentence may)."""
    if question.qtype == WHEN:
        return ("date",)
    if question.qtype == WHY:
        return ("cause",)
    kinds: list[str] = []
    for gid in question.groups:
        for kind in _WANTS.get(glossary.groups[gid].terms[0], ()):
            if kind not in kinds:
                kinds.append(kind)
    if question.qtype == NUMBER:
        if _HOW_MANY.search(question.text):
            return ("count", "multiple")
        return tuple(kinds) or ("money", "percent", "multiple", "count")
    if question.qtype in (ENTITY, PLACE):
        return ("org",)
    if question.qtype in (EVENT, YES_NO):
        return tuple(kinds) or ("event",)
    return tuple(kinds)


@lru_cache(maxsize=50_000)  # per kind asked and candidate sentence, and sentences recur across questions
def has_kind(kind: str, text: str) -> bool:
    if kind == "cause":
        return CAUSE.search(text) is not None
    if kind == "event":
        return EVENTFUL.search(text) is not None
    return _KIND_PATTERNS[kind].search(text) is not None


def question_days(text: str) -> set[tuple[int, int]]:
    """(month, day) pairs a question names: "on January 12", "1月12日"."""
    out: set[tuple[int, int]] = set()
    for m in _EN_DAY.finditer(text):
        month, day = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        idx = _MONTH_NAMES.index(month[:3].lower())
        out.add((idx + 1, int(day)))
    for m in _ZH_DAY.finditer(text):
        out.add((int(m.group(1)), int(m.group(2))))
    return out


def features(question: Question, cands: list[Candidate], glossary: Glossary) -> np.ndarray:
    """One row of FEATURES per candidate. Concept weights are IDF over the candidates themselves:
    a concept every candidate shares (the company the question names, found by retrieval) says
    little about which sentence answers; the rarer ones ("stock code", "second day") say most."""
    n = len(cands)
    out = np.zeros((n, len(FEATURES)), dtype=np.float64)
    if not n:
        return out
    here = [glossary.mentions(c.text) for c in cands]
    question, here = _listing_as_debut(question, cands, here, glossary)
    by_form = {g: STATED_BY_FORM[glossary.groups[g].terms[0]] for g in question.groups
               if glossary.groups[g].terms[0] in STATED_BY_FORM}
    if by_form:  # the sentence states the term by its form: it holds the term
        here = [h | frozenset(g for g, p in by_form.items() if p.search(c.text)) for h, c in zip(here, cands, strict=True)]
    near_terms = [glossary.mentions(c.before) if ANAPHOR.match(c.text.lstrip()) else frozenset() for c in cands]
    cjk = [_cjk_share(c.text) >= 0.3 for c in cands]
    near = [glossary.mentions(c.before) | glossary.mentions(c.title) for c in cands]
    words_in = [content_terms(c.text) for c in cands]
    q_words = _uncovered_words(question, glossary)
    g_df = {g: sum(1 for i in range(n) if g in here[i]) for g in question.groups}
    w_df = {w: sum(1 for i in range(n) if w in words_in[i]) for w in q_words}
    g_weight = {g: math.log((n + 1) / (d + 0.5)) for g, d in g_df.items()}
    w_weight = {w: math.log((n + 1) / (d + 0.5)) for w, d in w_df.items()}
    total = sum(g_weight.values()) + sum(w_weight.values())
    # the question's most specific term (the rarest among the candidates; names, time words and
    # places aside): "close" in "what did MiniMax close at on its first day", "employees" in "how
    # many employees does MiniMax have" (a term no candidate has: nothing answers)
    found = glossary.find(question.text)
    located = _located_groups(found, glossary)
    nested = _nested_groups({g: spans for g, spans in found.items() if g not in located})
    specific = {g: w for g, w in g_weight.items() if glossary.groups[g].kind == TERM and g not in nested | located}
    focus_terms = {g for g, w in specific.items() if w >= max(specific.values())} if specific else set()
    focus_terms |= _same_words(found, focus_terms)
    kinds = wanted_kinds(question, glossary)
    days = question_days(question.text)
    months = question_months(question.text) if not days else set()
    known = [c.day for c in cands if not math.isnan(c.day)]
    lo, hi = (min(known), max(known)) if known else (0.0, 0.0)
    for i, c in enumerate(cands):
        names = question.names
        anaphor = bool(ANAPHOR.match(c.text.lstrip()))
        if names:
            out[i, 3] = len(names & subject(glossary, c, anaphor)) / len(names)
            out[i, 1] = len(names & here[i]) / len(names)
            # the name in the sentence counts fully; in the sentence before or the title, fully for
            # "it ..." sentences, less for one that names someone else ("... more than Zhipu's")
            others = glossary.names(here[i]) - names
            # "It ..." takes its subject from the sentence before or the title; a sentence with no
            # name of its own is probably about the article's subject; one naming someone else is not
            inherit = 0.9 if anaphor else (0.25 if others else 0.5)
            out[i, 2] = max(out[i, 1], inherit * len(names & (here[i] | near[i])) / len(names))
            out[i, 4] = 1.0 if others and out[i, 2] == 0 else 0.0
        elif question.unknown_names:  # a company the glossary does not know ("Quanta"): named where it is
            out[i, 1] = float(any(n.lower() in c.text.lower() for n in question.unknown_names))
            out[i, 2] = out[i, 3] = names_unknown(question, c)
        else:
            out[i, 1] = out[i, 2] = out[i, 3] = 1.0
        matched = sum(w for g, w in g_weight.items() if g in here[i]) + sum(
            w for word, w in w_weight.items() if word in words_in[i])
        # a word of the question can only match a sentence in its own script: an English word
        # counts against a Chinese sentence only through the glossary
        reachable = total - sum(w for word, w in w_weight.items() if _cjk(word) != cjk[i])
        if reachable > 0:
            out[i, 5] = matched / reachable
        out[i, 7] = 1.0 if not kinds else float(any(
            has_kind(k, c.text) or (k == "org" and bool(glossary.names(here[i]))) for k in kinds)
            # "why is July 8 a date to watch?": what the sentence naming that day says happens on it
            or (question.qtype == WHY and bool(days & question_days(c.text))))
        if question.qtype == OTHER and QUOTED.match(c.text):  # "MiniMax 港股通": the news, not a quoted opinion
            out[i, 7] = 0.0
        if days or months:
            out[i, 8] = _date_match(c, days, months)
        # a day the question names is as specific as any term: the sentence of that day that names
        # the company asked and holds what is asked for says what happened on it ("1月12日MiniMax股价
        # 怎么了" - "MiniMax shares fell 8.3% ... on January 12"; "...drop in the March 16 selloff" -
        # "Zhipu AI fell 9.6% on Monday", published on March 16)
        on_the_day = bool(days) and out[i, 8] >= 1.0 and out[i, 7] >= 1.0 and (out[i, 1] > 0 or not names)
        out[i, 6] = float(not focus_terms or bool(focus_terms & (here[i] | near_terms[i])) or on_the_day)
        if question.state and hi > lo and not math.isnan(c.day):  # the newest word on what is asked about
            out[i, 9] = out[i, 3] * out[i, 7] * out[i, 5] * (c.day - lo) / (hi - lo)
        out[i, 10] = float(anaphor)
        out[i, 11] = float(_words(c.text) < 6)
        out[i, 12] = c.rank / 10.0
        out[i, 0] = c.sim
    return out


LISTING_TERMS = ("IPO", "Hong Kong listing", "main board")  # what "when did X list (in Hong Kong)?" may say


def _listing_debut(question: Question, glossary: Glossary) -> tuple[int, int] | None:
    """(listing, debut) lexicon lines when ``question`` asks when a company it names lists, and
    nothing else: not when it filed, priced or launched the offering ("When did MiniMax price its
    IPO?", "MiniMax什么时候提交上市申请")."""
    listing, debut = glossary.gid_of("IPO"), glossary.gid_of("debut")
    if (question.qtype != WHEN or not question.names or listing is None or debut is None
            or listing not in question.groups or debut in question.groups):
        return None
    allowed = {glossary.gid_of(t) for t in LISTING_TERMS}
    if any(glossary.groups[g].kind == TERM and g not in allowed for g in question.groups):
        return None
    if own_words(question, glossary):
        return None
    return listing, debut


def debut_search(question: Question, glossary: Glossary) -> str:
    """For "when did / will MiniMax list?": a search for the company's debut ("MiniMax debut first
    day 首日 ..."), whose best chunks join the answer pool (the day its shares began trading is the
    day it listed; the articles reporting it say "debut", "首日", not "list"). "" for other questions."""
    pair = _listing_debut(question, glossary)
    if pair is None:
        return ""
    words = [t for g in sorted(question.names) for t in glossary.groups[g].terms]
    return " ".join(words + list(glossary.groups[pair[1]].terms))


def _listing_as_debut(question: Question, cands: list[Candidate], here: list[frozenset[int]],
                      glossary: Glossary) -> tuple[Question, list[frozenset[int]]]:
    """"When did MiniMax list?", "MiniMax 什么时候上市": once the candidates report the company's
    trading debut, that day is when it listed. The question is read as asking for the debut too; a
    sentence about the debut holds the listing ("Shares of MiniMax soared 109.1% on their first day
    of trading in Hong Kong on January 9"), and so does one saying it listed in an article whose
    title reports the debut ("12月5日，灵眸智能在港交所主板挂牌上市。" under "...上市首日大涨58%"). They
    outrank a sentence that only mentions the listing beside another date ("...its first annual
    results since going public" dated "for 2025"), or a step before it (the filing, the offering's
    launch). A company with no debut among the candidates keeps the question as asked ("When will
    Moonshot list?": its plans answer)."""
    pair = _listing_debut(question, glossary)
    if pair is None:
        return question, here
    listing, debut = pair
    titled = [debut in glossary.mentions(c.title) for c in cands]
    reported = any((debut in h or t) and question.names & subject(glossary, c, bool(ANAPHOR.match(c.text.lstrip())))
                   for h, c, t in zip(here, cands, titled, strict=True))
    if not reported:
        return question, here
    read = [h | {listing} if debut in h else h | {debut} if t and listing in h else h
            for h, t in zip(here, titled, strict=True)]
    return replace(question, groups=question.groups | {debut}), read


def names_unknown(question: Question, c: Candidate) -> float:
    """1 when the candidate (its sentence, the one before, or its title) names a company the question
    names that the glossary does not know ("Quanta"): without it, the sentence is about someone else."""
    context = f"{c.text} {c.before} {c.title}".lower()
    return float(any(name.lower() in context for name in question.unknown_names))


def subject(glossary: Glossary, c: Candidate, anaphor: bool, *, listed: bool = False) -> frozenset[int]:
    """Whom the sentence is about: the name it opens with (in its first half); else, for "It ..."
    the first name of the sentence before, and otherwise its article's title's first name ("认购方面，
    公开发售部分获超额认购1837倍，热度较此前的智谱更胜一筹" is about the title's MiniMax). With
    ``listed``, a headline is about every name it lists ("MiniMax、智谱、月之暗面竞相赴港IPO"): the
    answer gate counts that, the ranking does not (on the dev set, listed headlines outranked the
    sentences holding the fact)."""
    headline = listed and bool(c.title.strip()) and c.text.lstrip().startswith(c.title.strip())
    first = _first_name(glossary, c.text, listed=headline)
    if first and _SET_ASIDE.search(c.text[:first[0]]):
        # "除月之暗面外，阶跃星辰等公司…", "Besides Zhipu, MiniMax …": the sentence is about the others
        return frozenset()
    if first and not anaphor and first[0] <= len(c.text) / 2:
        return first[1]
    if not anaphor and THIRD_PARTY.match(c.text.lstrip()):
        return first[1] if first else frozenset()  # "One online broker said it had raised ...": the broker's
    for context in ((c.before,) if anaphor else ()) + (c.title,):
        found = _first_name(glossary, context)
        if found:
            return found[1]
    return first[1] if first else frozenset()


def opening_names(glossary: Glossary, c: Candidate) -> frozenset[int]:
    """The names a sentence opens with, listed together ("MiniMax and Zhipu AI are planning their
    Hong Kong IPOs"): a yes/no question about any of them is answered by it."""
    first = _first_name(glossary, c.text, listed=True)
    return first[1] if first and first[0] <= len(c.text) / 2 else frozenset()


def _first_name(glossary: Glossary, text: str, *, listed: bool = False) -> tuple[int, frozenset[int]] | None:
    """Where the first name starts, and the names it opens; with ``listed``, also the names listed
    right after it (a headline "MiniMax、智谱、月之暗面竞相赴港IPO" is about each of them; in a
    sentence, "MiniMax and Zhipu …" is followed by a fact of one of them, measured on the dev set)."""
    found = sorted((a, b, g) for g, spans in glossary.find(text).items() if glossary.groups[g].kind == NAME
                   for a, b in spans)
    if not found:
        return None
    pos, end, _ = found[0]
    names = {g for a, _, g in found if a == pos}
    for a, b, g in found:
        if a <= pos:
            continue
        if a < end or (listed and _LISTED.fullmatch(text[end:a])):
            names.add(g)
            end = max(end, b)
        else:
            break
    return pos, frozenset(names)


def _located_groups(found: dict[int, list[tuple[int, int]]], glossary: Glossary) -> set[int]:
    """Terms every mention of which holds a place: "Hong Kong IPO" is where ("Hong Kong") and what
    ("IPO"). A place says where, never what is asked, so such a term is not the question's most
    specific one; the term inside it speaks for it ("What did Iluvatar price its Hong Kong IPO at?"
    is answered by "该公司此次发行价为144.60港元，上市首日…", which never says "Hong Kong IPO")."""
    places = [(a, b) for g, ss in found.items() if glossary.groups[g].kind == PLACE_KIND for a, b in ss]
    return {g for g, ss in found.items() if glossary.groups[g].kind == TERM
            and all(any(a <= pa and pb <= b for pa, pb in places) for a, b in ss)}


def _same_words(found: dict[int, list[tuple[int, int]]], groups: set[int]) -> set[int]:
    """Groups that read the very words of ``groups`` otherwise: "raise" is proceeds or a funding
    round, and a sentence with either ("完成5亿美元新一轮融资") has the question's term."""
    spans = {span for g in groups for span in found.get(g, ())}
    return {g for g, ss in found.items() if g not in groups and any(span in spans for span in ss)}


def _nested_groups(found: dict[int, list[tuple[int, int]]]) -> set[int]:
    """Groups every mention of which lies inside a longer mention of another group: "shares" in
    "list its shares" (the longer, more specific phrase speaks for it)."""
    spans = [(a, b, g) for g, ss in found.items() for a, b in ss]
    return {g for g, ss in found.items()
            if all(any(a2 <= a and b <= b2 and (b2 - a2) > (b - a) and g2 != g for a2, b2, g2 in spans)
                   for a, b in ss)}


_LISTED = re.compile(r"\s*(?:[、,，/&]|and|和|与|及|以及)\s*|\s*,?\s*and\s*", re.IGNORECASE)


def _uncovered_words(question: Question, glossary: Glossary) -> set[str]:
    """The question's content words that no glossary group covers (matched in their own language).
    Words that only say how it is put ("matter", "still") stay: leaving them out lost 7 of 76 test
    answers on the dev set. A comparison's connective ("Zhipu vs MiniMax") is not one of them: no
    sentence says "vs", so it weighed against every English sentence and not the Chinese ones."""
    words = content_terms(uncovered_text(question, glossary)) - COMPARISON_ASKING
    # Chinese question words ("这次", "一共") and the overlapping pieces the search cut adds around
    # them ("次一") are in no answer: only the words of a precise cut that say what is asked count
    cjk = {w for w in words if _cjk(w)}
    if cjk:
        kept = set(chinese_words(" ".join(chinese_runs(uncovered_text(question, glossary))))) - ASKING
        words -= {w for w in cjk if w not in kept}
    return words


COMPARISON_ASKING = frozenset({"vs", "versus", "compare", "compared", "comparison", "对比", "相比", "比较"})


def question_months(text: str) -> set[int]:
    """Months a question names without a day ("selloff in march", "3月")."""
    out = {_MONTH_NAMES.index(m.group(1)[:3].lower()) + 1 for m in _EN_MONTH.finditer(text)}
    out |= {int(m.group(1)) for m in _ZH_MONTH.finditer(text) if 1 <= int(m.group(1)) <= 12}
    return out


def _date_match(c: Candidate, days: set[tuple[int, int]], months: set[int]) -> float:
    """1 when the sentence names a day the question names, or its article was published within a
    day of it; 0.5 when only the month matches (the question names no day)."""
    if days & question_days(c.text):
        return 1.0
    if math.isnan(c.day):
        return 0.0
    published = date.fromordinal(int(c.day))
    for month, day in days:
        with contextlib.suppress(ValueError):
            if abs((date(published.year, month, day) - published).days) <= 1:
                return 1.0
    return 0.5 if published.month in months else 0.0


def _cjk(text: str) -> bool:
    return re.search(r"[\u3400-\u9fff]", text) is not None


@lru_cache(maxsize=20_000)  # per candidate sentence, and sentences recur across questions
def _cjk_share(text: str) -> float:
    letters = sum(1 for ch in text if ch.isalpha())
    return len(re.findall(r"[\u3400-\u9fff]", text)) / letters if letters else 0.0


@lru_cache(maxsize=20_000)  # per candidate sentence, and sentences recur across questions
def _words(text: str) -> float:
    return len(re.findall(r"[A-Za-z0-9]+", text)) + len(re.findall(r"[\u3400-\u9fff]", text)) / 2


def trimmed_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without the article's trailing reference marks: "... in January [4][5]." ->
    "... in January" (still verbatim; the marks would read as this bot's citations)."""
    m = re.search(r"(?:\s*\[\d{1,3}\])+\s*[.。]?\s*$", text[start:end])
    if m and m.start() > 0:
        return start, start + m.start()
    return start, end
