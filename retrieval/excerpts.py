"""From retrieved chunks to the excerpts of an answer, and whether they answer at all.

1. ``gather``: every sentence of the retrieved chunks is a candidate, with the sentence before it,
   its article's title and date (``retrieval.evidence.Candidate``).
2. ``AnswerModel.rank``: a linear score over the evidence features (weights fitted on the training
   split of the dev set, ``benchmarks/fit_answers.py``).
3. ``choose``: the lead excerpt is the best sentence, or for a question about the state of a story
   ("latest", "still", "目前") the newest of the sentences that score almost as well; then up to
   three supporting excerpts from other articles, first ones that name what the lead does not (a
   comparison names two companies).
4. ``AnswerModel.outcome``: answered, closest (related excerpts, not a direct answer) or refused
   (nothing relevant), from the lead's evidence, a logistic gate fitted on the same split. A
   question that names something the retrieved articles never mention is never "answered".
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from .evidence import (
    FEATURES,
    Candidate,
    figure_terms,
    names_unknown,
    opening_names,
    subject,
    trimmed_span,
    wanted_kinds,
)
from .evidence import features as evidence_features
from .figures import COMPARED, figures
from .glossary import NAME, TERM, Glossary
from .index import LoadedIndex, publication_day
from .question import YES_NO, Question, own_words
from .search import Hit
from .text import english_words

ANSWERED, CLOSEST, REFUSED = "answered", "closest", "refused"
LEAD, SUPPORT, EARLIER, RELATED = "answer", "support", "earlier", "related"
MAX_SUPPORT = 3  # supporting excerpts after the lead, each from another article
MAX_UNMATCHED = 0.5  # share of the question's own words the retrieved articles may lack
MIN_WORDS = 3  # shorter sentences are bylines, labels and the like ("Core Viewpoint")
HEADING_WORDS = 8  # fewer words and no full stop: a heading ("Group 1: IPO Developments")
GATE_FEATURES = ("lead", "subject", "typed", "focus", "concepts", "sim", "relevance", "unmatched", "covered")


@dataclass(frozen=True)
class AnswerModel:
    """Sentence-ranking weights (over ``evidence.FEATURES``) and the answered / closest gate;
    fitted by benchmarks/fit_answers.py on the dev set's training split, kept in calibration.json."""

    weights: tuple[float, ...]
    gate_bias: float
    gate_weights: tuple[float, ...]  # over GATE_FEATURES
    threshold: float  # answered when the gate's probability reaches it
    state_margin: float = 1.0  # how far below the best a newer sentence may score and still lead
    support_margin: float = 3.0  # how far below the lead a supporting excerpt may score
    follow_margin: float = 3.0  # how far below the lead the sentence after it may score and still be quoted with it

    def weight(self, feature: str) -> float:
        return self.weights[FEATURES.index(feature)]

    def rank(self, feats: np.ndarray) -> np.ndarray:
        return feats @ np.asarray(self.weights, dtype=np.float64) if len(feats) else np.zeros(0)

    def probability(self, gate: dict[str, float]) -> float:
        z = self.gate_bias + sum(w * gate[k] for k, w in zip(GATE_FEATURES, self.gate_weights, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> AnswerModel:
        return cls(
            weights=tuple(float(raw["weights"].get(k, 0.0)) for k in FEATURES), gate_bias=float(raw["gate_bias"]),
            gate_weights=tuple(float(raw["gate_weights"].get(k, 0.0)) for k in GATE_FEATURES),
            threshold=float(raw["threshold"]), state_margin=float(raw.get("state_margin", 1.0)),
            support_margin=float(raw.get("support_margin", 3.0)), follow_margin=float(raw.get("follow_margin", 3.0)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"weights": dict(zip(FEATURES, self.weights, strict=True)), "gate_bias": self.gate_bias,
                "gate_weights": dict(zip(GATE_FEATURES, self.gate_weights, strict=True)),
                "threshold": self.threshold, "state_margin": self.state_margin, "support_margin": self.support_margin,
                "follow_margin": self.follow_margin}


@lru_cache(maxsize=1)
def default_answer_model() -> AnswerModel:
    raw = json.loads(resources.files("retrieval").joinpath("calibration.json").read_text("utf-8"))
    return AnswerModel.from_dict(raw["answer"])


@dataclass(frozen=True)
class Excerpt:
    """One chosen span (verbatim: ``text[start:end]`` of article ``doc``) and its role."""

    doc: int
    start: int
    end: int
    role: str
    score: float
    day: float
    about: frozenset[int] = frozenset()  # the names (glossary groups) the excerpt is about
    figures: tuple[float, ...] = ()  # the asked-for amounts it states, when it answers (retrieval.figures)


@dataclass
class Choice:
    outcome: str
    excerpts: list[Excerpt] = field(default_factory=list)
    state: bool = False  # the lead is the newest evidence of a story ("as of" its date)
    gate: dict[str, float] = field(default_factory=dict)


def gather(index: LoadedIndex, hits: Sequence[Hit], qvec: np.ndarray, *,
           sentence_vectors: dict[int, np.ndarray], last_day: float | None = None) -> list[Candidate]:
    """The sentences of ``hits`` (best chunk first), each once. ``last_day``: articles published
    after it are left out (a question asked "on" an earlier day)."""
    seen: set[int] = set()
    found: list[tuple[Candidate, int]] = []
    for rank, hit in enumerate(hits):
        doc = index.docs[hit.doc]
        day = publication_day(doc.get("published", ""))
        if last_day is not None and not math.isnan(day) and day > last_day:
            continue
        for sid in index.sentence_ids(hit.chunk):
            if sid in seen:
                continue
            seen.add(sid)
            row = index.sentence(sid)
            text = doc["text"][row.start:row.end]
            if _words(text) < MIN_WORDS:
                continue
            prev = index.sentence(sid - 1) if sid > 0 else None
            before, before_start = ("", -1)
            if prev is not None and prev.doc == row.doc and prev.end <= row.start:
                before, before_start = doc["text"][prev.start:prev.end], prev.start
            found.append((Candidate(sid, row.doc, row.start, row.end, text, before, doc.get("title", ""), day, 0.0,
                                    rank, before_start), row.language))
    if not found:
        return []
    # one product for all the sentences rather than one per sentence
    sims = index.centred(np.stack([sentence_vectors[c.sid] for c, _ in found]),
                         np.array([lang for _, lang in found]), qvec)
    return [replace(c, sim=sim) for (c, _), sim in zip(found, sims.tolist(), strict=True)]


def rank(question: Question, cands: list[Candidate], glossary: Glossary, model: AnswerModel) -> tuple[np.ndarray, np.ndarray]:
    """(features, scores) of the candidates."""
    feats = evidence_features(question, cands, glossary)
    return feats, model.rank(feats)


def choose(question: Question, cands: list[Candidate], feats: np.ndarray, scores: np.ndarray,
           model: AnswerModel, glossary: Glossary) -> list[Excerpt]:
    """The lead excerpt and up to MAX_SUPPORT supporting ones (see the module docstring)."""
    if not cands:
        return []
    order = [int(i) for i in np.argsort(-scores, kind="stable")]
    col = {name: FEATURES.index(name) for name in ("subject", "typed", "focus", "concepts")}
    lead = order[0]
    state = question.state and any(not math.isnan(c.day) for c in cands)
    if state:  # the newest of the sentences that answer almost as well
        near_best = [i for i in order if scores[i] >= scores[lead] - model.state_margin
                     and feats[i, col["subject"]] >= 1.0 and feats[i, col["typed"]] >= 1.0
                     and feats[i, col["focus"]] >= 1.0]
        if near_best:
            lead = max(near_best, key=lambda i: (_day(cands[i]), scores[i]))
    elif question.first and speculative(cands[lead].text):
        # "who is first to list?": a sentence saying someone was first ("Zhipu AI became the first
        # ... to go public") answers; one about the race or a plan ("大模型第一股之争", "could list as
        # early as January") only when nothing near it says who was
        first = glossary.mentions("first")
        settled = [i for i in order if scores[i] >= scores[lead] - FIRST_MARGIN and not speculative(cands[i].text)
                   and first & glossary.mentions(cands[i].text)
                   and all(feats[i, col[k]] >= 1.0 for k in ("subject", "typed", "focus"))]
        if settled:
            lead = settled[0]
    if not state and not question.first and _in_chinese(cands[lead].text) != (question.language == "zh"):
        # a sentence in the asker's language that answers as well (as many of the question's concepts
        # too: "Zhipu A-share listing plan?" is not led by "The company plans to raise about HK$4.3
        # billion") and scores nearly as high leads:
        # "MiniMax 什么时候上市" is answered in Chinese when a Chinese article says it ("1月9日，MiniMax
        # 正式在港交所主板挂牌"), in English only when the English one is clearly better
        near = [i for i in order if scores[i] >= scores[lead] - LANG_MARGIN
                and _in_chinese(cands[i].text) == (question.language == "zh")
                and all(feats[i, col[k]] >= feats[lead, col[k]] for k in ("subject", "typed", "focus", "concepts"))]
        if near:
            lead = near[0]
    chosen = [lead]
    docs = {cands[lead].doc}
    kinds = wanted_kinds(question, glossary)
    terms = figure_terms(question, glossary, COMPARED)  # what the figures are of
    about = [subject(glossary, c, bool(feats[i, FEATURES.index("anaphor")])) for i, c in enumerate(cands)]
    floor = scores[lead] - model.support_margin
    typed = FEATURES.index("typed")
    for name in sorted(question.names - about[lead]):  # a comparison: the best excerpt about each name
        fitting = [i for i in order if i not in chosen and name in about[i] and feats[i, typed] >= 1.0]
        pick = next((i for i in fitting if feats[i, col["focus"]] >= 1.0), fitting[0] if fitting else None)
        if pick is not None and len(chosen) <= MAX_SUPPORT:
            chosen.append(pick)
            docs.add(cands[pick].doc)
    # a company the glossary does not know ("Quanta") is in every candidate's features as "no name
    # asked": a support must name it, or it is another company's news
    unknown_only = bool(question.unknown_names) and not question.names
    for i in order:
        if len(chosen) > MAX_SUPPORT or scores[i] < floor:
            break
        if i in chosen or cands[i].doc in docs or _same_text(cands[i].text, [cands[j].text for j in chosen]):
            continue
        if unknown_only and not names_unknown(question, cands[i]):
            continue
        chosen.append(i)
        docs.add(cands[i].doc)
    if len(chosen) <= MAX_SUPPORT:  # room left: the lead's article's next best ("revenue rose to RMB 742 million")
        extra = next((i for i in order if scores[i] >= floor and i not in chosen and cands[i].doc == cands[lead].doc
                      and not _same_text(cands[i].text, [cands[j].text for j in chosen])
                      and (not unknown_only or names_unknown(question, cands[i]))), None)
        if extra is not None:
            chosen.append(extra)
    lead_day = _day(cands[lead])
    following = _following(cands, lead, feats, scores, model)
    if following is not None and following in chosen:
        chosen.remove(following)
    out: list[Excerpt] = []
    for n, i in enumerate(chosen):
        role = LEAD if n == 0 else (EARLIER if state and _day(cands[i]) < lead_day else SUPPORT)
        start = cands[i].start
        if feats[i, FEATURES.index("names_here")] < 1.0 and cands[i].before_start >= 0 and question.names and \
                question.names & glossary.mentions(cands[i].before):
            start = cands[i].before_start  # "It ..." is quoted with the sentence that says who "it" is
        end = cands[following].end if n == 0 and following is not None else cands[i].end
        within = next((k for k, e in enumerate(out) if e.doc == cands[i].doc and start < e.end and e.start < end), None)
        if within is not None:  # already quoted ("It ..." brings the sentence before along): what it is about counts
            out[within] = replace(out[within], about=out[within].about | about[i])
            continue
        answers = all(feats[i, col[name]] >= 1.0 for name in ("subject", "typed", "focus"))
        asked = [span for g, spans in glossary.find(cands[i].text).items() if g in terms for span in spans]
        amounts = figures(cands[i].text, [k for k in kinds if k in COMPARED], asked) if answers else ()
        out.append(Excerpt(cands[i].doc, start, end, role, float(scores[i]), cands[i].day, about[i], amounts))
    if state:  # earlier reports in date order after the lead
        out = out[:1] + sorted(out[1:], key=lambda e: (e.role != EARLIER, _day_of(e)))
    return out


def newest_leads(index: LoadedIndex, glossary: Glossary, names: frozenset[int] = frozenset(), *,
                 last_day: float | None = None, n: int = MAX_SUPPORT + 1) -> list[Excerpt]:
    """"What's new?": the ``n`` newest articles (published by ``last_day``), newest first, each by
    its opening sentence; with ``names`` ("What's new with Zhipu?"), the newest articles that name
    one of them, each by its first sentence that does. The first is the lead, the others "earlier".
    An article whose title was already quoted (the same story filed twice) is left out; at most
    NEWS_SCAN articles are read."""
    days = np.asarray(index.doc_days, dtype=np.float64)
    known = np.flatnonzero(~np.isnan(days) & (days <= (last_day if last_day is not None else np.inf)))
    out: list[Excerpt] = []
    titles: set[str] = set()
    if len(known) > NEWS_SCAN:  # a large corpus: only the newest are sorted
        known = known[np.argpartition(-days[known], NEWS_SCAN)[:NEWS_SCAN]]
    for doc in known[np.argsort(-days[known], kind="stable")]:
        d = index.docs[int(doc)]
        title = re.sub(r"\W+", "", d.get("title", "")).lower()
        if title and title in titles:
            continue
        opening = None
        for sid in index.article_sentence_ids(int(doc)):
            r = index.sentence(sid)
            text = d["text"][r.start:r.end]
            if _words(text) >= MIN_WORDS and not _heading(text) and (not names or names & glossary.mentions(text)):
                opening = r
                break
        if opening is None:
            continue
        titles.add(title)
        out.append(Excerpt(int(doc), opening.start, opening.end, LEAD if not out else EARLIER, 0.0, float(days[doc]),
                           names & glossary.mentions(d["text"][opening.start:opening.end])))
        if len(out) >= n:
            break
    return out


NEWS_SCAN = 500  # newest articles read for "what's new with X?" before giving up on more


def _following(cands: list[Candidate], lead: int, feats: np.ndarray, scores: np.ndarray,
                model: AnswerModel) -> int | None:
    """The sentence right after the lead, when it goes on about the same thing with what is asked
    for ("Zhipu reported a 128% jump in revenue ... | Revenue for the year rose to RMB 742 million"):
    the lead excerpt then quotes both. Not a heading, and not after a lead that ends in the article's
    reference marks."""
    nxt = next((i for i, c in enumerate(cands) if c.doc == cands[lead].doc and c.before_start == cands[lead].start), None)
    if nxt is None or _heading(cands[nxt].text):
        return None
    lead_text = cands[lead].text
    if trimmed_span(lead_text, 0, len(lead_text))[1] < len(lead_text):
        return None  # the lead's own reference marks ("[5][8].") would sit inside the quote, read as citations
    f = dict(zip(FEATURES, feats[nxt], strict=True))
    if f["subject"] >= 1.0 and f["typed"] >= 1.0 and scores[nxt] >= scores[lead] - model.follow_margin:
        return nxt
    return None


def gate_features(question: Question, cands: list[Candidate], feats: np.ndarray, scores: np.ndarray,
                  lead: int, *, excerpts: Sequence[Excerpt], relevance: float, article_texts: Sequence[str],
                  glossary: Glossary, subject_weight: float = 0.0) -> dict[str, float]:
    """What the answered / closest decision looks at: the lead's evidence, how related the corpus
    is to the question at all, and whether the excerpts are about every name the question asks.
    ``subject_weight``: the ranking's weight of "subject", so that the lead's score counts a
    headline listing the asked company as being about it, as the gate's "subject" does."""
    f = feats[lead]
    about = frozenset().union(*(e.about for e in excerpts)) if excerpts else frozenset()
    headline = (subject(glossary, cands[lead], False, listed=True) | opening_names(glossary, cands[lead])
                if question.qtype == YES_NO else frozenset())
    listed = len(question.names & headline) / len(question.names) if question.names else 0.0
    return {
        "covered": len(question.names & (about | headline)) / len(question.names) if question.names else 1.0,
        "lead": float(scores[lead]) + subject_weight * max(0.0, listed - float(f[FEATURES.index("subject")])),
        # the lead is about (one of) the companies asked: in a comparison each excerpt is about one
        # of them, and "covered" says whether all are quoted
        # A headline is about every company it lists, which answers a yes/no question ("Is Moonshot
        # heading for a listing?" - "MiniMax、智谱、月之暗面竞相赴港IPO"). Only there: on the dev set,
        # counting listed headlines for other questions (or in the ranking) answered with headlines
        # that lack the asked fact.
        "subject": float(f[FEATURES.index("subject")] > 0 or bool(question.qtype == YES_NO and question.names & headline))
        if question.names or not question.unknown_names else names_unknown(question, cands[lead]),
        "typed": float(f[FEATURES.index("typed")]),
        "focus": float(f[FEATURES.index("focus")]),
        "concepts": float(f[FEATURES.index("concepts")]),
        "sim": float(max(c.sim for c in cands)),
        "relevance": relevance,
        "refers_back": float(question.refers_back),
        "topical": float(bool(question.unknown_names) or any(glossary.groups[g].kind in (NAME, TERM) for g in question.groups)),
        "unmatched": unmatched_share(question, article_texts, glossary),
    }


def unmatched_share(question: Question, article_texts: Sequence[str], glossary: Glossary) -> float:
    """Share of the question's own words (``question.own_words``) that none of the retrieved
    articles contains: "天气" or "carbonara" in an IPO corpus. A word is looked for only in articles
    of its own script (a Chinese word cannot be missing from an English article), by its stem
    ("companies" has "company") or as a word start ("tech" in "technology")."""
    words = own_words(question, glossary)
    if not words:  # most questions: nothing to look for, so no article is read
        return 0.0
    chinese = [w for w in words if _CJK.search(w)]
    cjk_texts = [t for t in article_texts if _cjk_share(t) >= CJK_ARTICLE]
    latin_texts = [t.lower() for t in article_texts if _cjk_share(t) < CJK_ARTICLE]
    counted = found = 0
    for w in chinese:
        if cjk_texts:
            counted += 1
            found += any(w in t for t in cjk_texts)
    stems = frozenset().union(*(_stems(t) for t in latin_texts)) if latin_texts else frozenset()
    for w in (w for w in words if not _CJK.search(w)):
        if latin_texts:
            counted += 1
            found += w in stems or any(re.search(rf"\b{re.escape(w)}", t) for t in latin_texts)
    return 1.0 - found / counted if counted else 0.0


_CJK = re.compile(r"[\u3400-\u9fff]")
CJK_ARTICLE = 0.3  # share of Chinese characters that makes an article Chinese (an English one may have a Chinese title)


def _in_chinese(text: str) -> bool:
    return _cjk_share(text) >= CJK_ARTICLE


@lru_cache(maxsize=2048)  # the same articles come back question after question
def _cjk_share(text: str) -> float:
    letters = sum(ch.isalpha() for ch in text)
    return len(_CJK.findall(text)) / letters if letters else 0.0


@lru_cache(maxsize=4096)
def _stems(text: str) -> frozenset[str]:
    """The stemmed English words of an article (articles recur across questions)."""
    return frozenset(english_words(text))


def missing_names(question: Question, article_texts: Sequence[str], glossary: Glossary) -> bool:
    """True when the question names something (a glossary name, or a capitalised name the glossary
    does not know) that none of the retrieved articles mentions: such a question is never answered
    with another company's facts."""
    present: set[int] = set()
    for t in article_texts:
        present |= glossary.mentions(t)
    if question.names - present:
        return True
    low = [t.lower() for t in article_texts]
    return any(not any(name.lower() in t for t in low) for name in question.unknown_names)


def decide(model: AnswerModel, gate: dict[str, float], *, missing: bool, related: bool) -> str:
    """Answered only when the excerpts are about what the question names, the lead holds the kind
    of thing asked for and the question's most specific term, the question's own words occur in the
    corpus, and the fitted gate agrees; otherwise the closest the corpus comes, or nothing."""
    if not missing and answers_directly(gate) and model.probability(gate) >= model.threshold:
        return ANSWERED
    return CLOSEST if related else REFUSED


def answers_directly(gate: dict[str, float]) -> bool:
    """The lead is about (one of) the names asked, the excerpts cover every name, the lead holds
    what is asked for and the question's most specific term, the corpus knows the question's words,
    the question says whom it is about (not "when will it list?" asked alone) and names a company or
    a term of the news at all (not "帮我写一首关于春天的诗", whose words no list knows and every
    sentence then "answers" equally)."""
    return (not gate.get("refers_back") and gate.get("topical", 1.0) >= 1.0 and gate["subject"] >= 0.5 and gate["covered"] >= 1.0 and gate["typed"] >= 1.0 and gate["focus"] >= 1.0
            and gate["unmatched"] <= MAX_UNMATCHED)


# a race, a plan or a guess rather than a settled fact ("之争", "could list", "preparing")
SPECULATIVE = re.compile(
    r"\b(?:race|racing|vying|vie|compete|competing|competition|contest|battle|could|may|might|plans?|planning|aims?|"
    r"aiming|expected|expects?|prepar\w*|lining up|set to|whether|potentially|likely)\b|"
    r"之争|争夺|竞相|竞赛|角逐|谁能|花落谁家|有望|拟|计划|筹备|准备|或将|可能|预计|冲刺|建议|申请|推进", re.I)
FIRST_MARGIN = 2.5  # how far below the best a settled sentence may score and still lead a "first" question
LANG_MARGIN = 0.5  # how far below the best a sentence in the asker's language may score and still lead


@lru_cache(maxsize=20_000)
def speculative(text: str) -> bool:
    return SPECULATIVE.search(text) is not None


def _day(c: Candidate) -> float:
    return -math.inf if math.isnan(c.day) else c.day


def _day_of(e: Excerpt) -> float:
    return -math.inf if math.isnan(e.day) else e.day


def _same_text(text: str, others: list[str]) -> bool:
    norm = re.sub(r"\W+", "", text).lower()
    return any(re.sub(r"\W+", "", o).lower() == norm for o in others)


def _heading(text: str) -> bool:
    """A section heading or a byline rather than a sentence ("Group 1: IPO Developments", "Sou Hu
    Cai Jing·2025-12-11 13:45"): few words, and no sentence-ending punctuation. It does not go on
    about the lead, whatever words it shares."""
    words = len(re.findall(r"[A-Za-z]+", text)) + len(re.findall(r"[\u3400-\u9fff]", text)) / 2  # a date is no words
    return words < HEADING_WORDS and not re.search(r"[.!?。！？；;…][\"'”’)）」]*$", text)


@lru_cache(maxsize=20_000)  # per retrieved sentence, and sentences recur across questions
def _words(text: str) -> float:
    return len(re.findall(r"[A-Za-z0-9]+", text)) + len(re.findall(r"[\u3400-\u9fff]", text)) / 2


def excerpt_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The verbatim span an excerpt quotes: whitespace trimmed, the article's own trailing
    reference marks dropped."""
    while start < end and text[start].isspace():
        start += 1
    return trimmed_span(text, start, end)
