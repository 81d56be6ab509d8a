"""The answered / closest gate's own rules, on hand-made evidence: what makes a reply an answer
before the fitted probability is even asked."""

from __future__ import annotations

import math

import numpy as np

from retrieval.evidence import Candidate
from retrieval.evidence import features as evidence_features
from retrieval.excerpts import answers_directly, gate_features
from retrieval.glossary import load_glossary
from retrieval.question import analyse

G = load_glossary(None)


def gate(question: str, text: str, *, title: str = "", subject_weight: float = 0.0) -> dict[str, float]:
    q = analyse(question, G)
    cands = [Candidate(0, 0, 0, len(text), text, "", title, math.nan, 0.1, 0)]
    feats = evidence_features(q, cands, G)
    return gate_features(q, cands, feats, np.zeros(1), 0, excerpts=[], relevance=0.5, article_texts=[text],
                         glossary=G, subject_weight=subject_weight)


def test_a_question_naming_nothing_the_news_knows_is_never_answered_directly() -> None:
    # no company, no term, no word the corpus lacks that a list knows: every sentence would "answer"
    poem = gate("帮我写一首关于春天的诗", "一位基金经理表示，智谱的基石投资者占比较高。")
    assert poem["topical"] == 0.0 and not answers_directly(poem)
    listing = gate("who listed first?", "MiniMax listed in Hong Kong on January 9.")
    assert listing["topical"] == 1.0 and answers_directly(listing)


def test_the_leads_score_counts_a_headline_that_lists_the_asked_company() -> None:
    title = "大模型第一股之争:MiniMax、智谱、月之暗面竞相赴港IPO"
    question = "Is Moonshot also heading for a Hong Kong listing?"
    plain = gate(question, title, title=title)
    credited = gate(question, title, title=title, subject_weight=8.0)
    assert plain["subject"] == credited["subject"] == 1.0  # the gate: the headline is about Moonshot
    assert credited["lead"] == plain["lead"] + 8.0  # and the lead's score says so too
    named = gate("Is MiniMax heading for a Hong Kong listing?", title, title=title, subject_weight=8.0)
    assert named["lead"] == 0.0  # a headline opening with the company needs no credit
