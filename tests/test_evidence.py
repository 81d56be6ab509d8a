"""Each evidence signal the sentence ranker weighs, on small hand-made candidates."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from retrieval.evidence import (
    FEATURES,
    Candidate,
    features,
    has_kind,
    opening_names,
    question_days,
    subject,
    trimmed_span,
    wanted_kinds,
)
from retrieval.glossary import load_glossary
from retrieval.question import analyse

G = load_glossary(None)


def cand(text: str, *, before: str = "", title: str = "", day: date | None = None, sim: float = 0.0,
         rank: int = 0) -> Candidate:
    return Candidate(0, 0, 0, len(text), text, before, title, float(day.toordinal()) if day else math.nan, sim, rank)


def feats(question: str, cands: list[Candidate]) -> list[dict[str, float]]:
    f = features(analyse(question, G), cands, G)
    return [dict(zip(FEATURES, row, strict=True)) for row in f]


def test_names_count_in_the_sentence_and_through_it_or_the_title() -> None:
    rows = feats("What was Zhipu's IPO price?", [
        cand("Zhipu priced its offering at HK$116.20."),
        cand("The company priced its offering at HK$116.20.", before="Zhipu AI closed its books on Monday."),
        cand("Pricing came at HK$116.20 a share.", title="智谱定价"),
        cand("MiniMax priced its offering at HK$165.", title="智谱定价"),
        cand("MiniMax priced its offering at HK$165."),
    ])
    assert [r["names_here"] for r in rows] == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert rows[1]["names_near"] == pytest.approx(0.9)  # "The company" takes its subject from the sentence before
    assert rows[2]["names_near"] == pytest.approx(0.5)  # no name of its own: probably the title's subject
    assert rows[3]["names_near"] == pytest.approx(0.25)  # names someone else: hardly the title's subject
    assert rows[4]["other_names"] == 1.0 and rows[0]["other_names"] == 0.0


@pytest.mark.parametrize(("question", "good", "bad"), [
    ("When did MiniMax pass its listing hearing?", "MiniMax passed the hearing on December 15.", "MiniMax passed the hearing."),
    ("智谱的发行价是多少？", "最终发行价定为每股116.20港元。", "智谱最终确定了发行价。"),
    ("How many times was the retail tranche oversubscribed?", "The retail tranche was oversubscribed 1,837 times.",
     "Retail demand was strong."),
    ("What stock code does Zhipu trade under?", "It trades under the stock code 2513.", "It trades in Hong Kong since 2026."),
    ("Why did MiniMax shares drop?", "Shares fell as investors took profits.", "Shares fell 8.3% on Monday."),
    ("Who led the cornerstone investors?", "The tranche was led by Beijing AI Fund.", "the tranche was led by a fund."),
])
def test_typed_evidence_matches_what_the_question_asks_for(question: str, good: str, bad: str) -> None:
    rows = feats(question, [cand(good), cand(bad)])
    assert (rows[0]["typed"], rows[1]["typed"]) == (1.0, 0.0)


def test_concepts_weigh_the_rarer_words_of_the_question_more() -> None:
    rows = feats("What did MiniMax close at on its first day?", [
        cand("MiniMax soared on its first day of trading in Hong Kong."),
        cand("MiniMax stock opened at HK$235 and went on to close at HK$345."),
        cand("MiniMax shares had their first day on Friday."),
    ])
    assert rows[1]["focus"] == 1.0 and rows[0]["focus"] == 0.0  # "close" is the rarest concept
    assert rows[1]["concepts"] > rows[2]["concepts"]


def test_concepts_match_across_languages() -> None:
    rows = feats("How much did Zhipu fall on its second trading day?", [
        cand("1月9日，智谱在上市后的第二个交易日收盘下跌4.1%。"),
        cand("智谱宣布了新的模型。"),
    ])
    assert rows[0]["concepts"] > rows[1]["concepts"]
    assert rows[0]["names_here"] == 1.0


def test_a_date_the_question_names_matches_the_sentence_or_the_articles_day() -> None:
    assert question_days("Why did MiniMax stock drop on January 12?") == {(1, 12)}
    assert question_days("1月12日MiniMax股价怎么了") == {(1, 12)}
    rows = feats("Why did MiniMax stock drop on January 12?", [
        cand("MiniMax fell on January 12 as investors took profits."),
        cand("MiniMax fell on Monday as investors took profits.", day=date(2026, 1, 12)),
        cand("MiniMax fell as investors took profits.", day=date(2026, 3, 16)),
    ])
    assert [r["date_match"] for r in rows] == [1.0, 1.0, 0.0]
    month = feats("ai stocks selloff march", [cand("Stocks fell.", day=date(2026, 3, 16)),
                                              cand("Stocks fell.", day=date(2026, 1, 12))])
    assert [r["date_match"] for r in month] == [0.5, 0.0]


def test_headings_anaphors_and_rank() -> None:
    rows = feats("MiniMax price range?", [cand("Group 1: IPO"), cand("It set a range of HK$151 to HK$165.", rank=7)])
    assert rows[0]["short"] == 1.0 and rows[1]["short"] == 0.0
    assert rows[1]["anaphor"] == 1.0 and rows[1]["rank"] == pytest.approx(0.7)


def test_wanted_kinds_follow_the_concept_asked_about() -> None:
    assert wanted_kinds(analyse("minimax stock code", G), G) == ("code",)
    assert "multiple" in wanted_kinds(analyse("how oversubscribed was MiniMax's retail tranche", G), G)
    assert wanted_kinds(analyse("When is the lock-up over?", G), G) == ("date",)
    assert has_kind("money", "募资约43.5亿港元") and has_kind("percent", "上涨13.2%")
    assert not has_kind("code", "revenue of RMB 742 million in 2025")


def test_the_articles_own_reference_marks_are_left_out_of_an_excerpt() -> None:
    text = "MiniMax could list as early as January [4][5]. Next sentence."
    start, end = trimmed_span(text, 0, text.index(" Next"))
    assert text[start:end] == "MiniMax could list as early as January"
    assert trimmed_span("No marks here.", 0, 14) == (0, 14)


def test_no_candidates_no_features() -> None:
    assert features(analyse("anything", G), [], G).shape == (0, len(FEATURES))
    assert np.isfinite(features(analyse("zzz", G), [cand("Something unrelated here.")], G)).all()


def test_a_headline_is_about_every_company_it_lists_for_the_gate_not_for_the_ranking() -> None:
    title = "大模型第一股之争:MiniMax、智谱、月之暗面竞相赴港IPO"
    headline = cand(title, title=title)
    moonshot = analyse("Is Moonshot also heading for a Hong Kong listing?", G).names
    assert moonshot and not moonshot & subject(G, headline, False)  # the ranking: about MiniMax, named first
    assert moonshot <= subject(G, headline, False, listed=True)  # the gate: about each company it lists
    sentence = cand("MiniMax, Zhipu and Moonshot are racing to list.", title="Some other headline")
    assert not moonshot & subject(G, sentence, False, listed=True)  # a sentence listing names is not a headline


def test_the_longer_phrase_is_the_focus_not_a_word_inside_it() -> None:
    rows = feats("When could MiniMax list its shares?", [
        cand("MiniMax could list as early as January."),
        cand("MiniMax shares rose 5% in grey trading."),
    ])
    assert rows[0]["focus"] == 1.0  # "shares" inside "list its shares" is not the question's rarest term


def test_a_term_that_holds_a_place_is_not_the_focus_the_term_inside_it_is() -> None:
    rows = feats("What did Iluvatar CoreX price its Hong Kong IPO at?", [
        cand("天数智芯此次发行价为144.60港元，上市首日股价表现平稳。"),
        cand("天数智芯表示，公司暂无其他安排。"),
    ])
    # "Hong Kong IPO" is where ("Hong Kong") and what ("IPO"): the sentence with the listing answers
    assert [r["focus"] for r in rows] == [1.0, 0.0]


def test_another_reading_of_the_focus_words_counts_as_the_focus() -> None:
    rows = feats("How much did Moonshot raise in its December round, and at what valuation?", [
        cand("12月22日，月之暗面已完成5亿美元新一轮融资，本轮估值为43亿美元。"),
        cand("月之暗面的估值为43亿美元。"),
    ])
    # "raise" is proceeds or a funding round: "融资" is the second reading
    assert [r["focus"] for r in rows] == [1.0, 0.0]


def test_the_day_a_question_names_counts_as_its_focus_in_a_sentence_naming_that_day() -> None:
    rows = feats("1月12日MiniMax股价怎么了", [
        cand("MiniMax shares fell 8.3% to HK$316.40 in Hong Kong on January 12, as early investors took profits."),
        cand("MiniMax shares fell 3% to HK$300 in Hong Kong on January 14."),
        cand("MiniMax的股价较发行价上涨一倍。"),
    ])
    assert [r["focus"] for r in rows] == [1.0, 0.0, 1.0]  # the day, or the term (股价) itself
    # "on Monday" in an article of that day, naming the company asked and the figure asked for
    rows = feats("How much did Zhipu drop in the March 16 selloff?", [
        cand("Zhipu AI fell 9.6% on Monday, according to exchange data.", day=date(2026, 3, 16)),
        cand("Zhipu AI fell 9.6% on Monday, according to exchange data.", day=date(2026, 3, 23)),
        cand("The broader index fell 1.4% on Monday.", day=date(2026, 3, 16)),  # not the company asked
    ])
    assert [r["focus"] for r in rows] == [1.0, 0.0, 0.0]


def test_a_price_range_or_stock_code_stated_by_its_form_is_the_term() -> None:
    rows = feats("minimax price range", [
        cand("MiniMax kicked off its IPO on December 31, marketing shares at HK$151 to HK$165 each."),
        cand("MiniMax was founded in 2021 and grew from 2022 to 2025."),  # years, not a price range
        cand("MiniMax的招股价区间为每股151港元至165港元。"),
    ])
    assert [r["focus"] for r in rows] == [1.0, 0.0, 1.0]
    assert rows[0]["concepts"] == rows[2]["concepts"] == 1.0 and rows[1]["concepts"] < 1.0
    rows = feats("what's minimax's ticker in HK", [
        cand("The stock, listed under the code 0100, opened at HK$235.00."),
        cand("The stock opened at HK$235.00."),
    ])
    assert [r["focus"] for r in rows] == [1.0, 0.0]


def test_a_sentence_reporting_what_a_third_party_did_is_not_about_the_articles_company() -> None:
    minimax = frozenset(G.find("MiniMax"))
    title = "MiniMax launches Hong Kong IPO"
    broker = cand("One online broker said it had raised its margin-loan pool for the deal to HK$20 billion.", title=title)
    assert subject(G, broker, False) == frozenset()
    # the company's own investors, analysts on its offering, a sentence with no one else in front: the article's
    for text in ("Cornerstone investors will be locked up for six months.", "The offering was covered 20 times.",
                 "Analysts expect the offering to raise about 4 billion Hong Kong dollars."):
        assert subject(G, cand(text, title=title), False) == minimax, text


def test_a_name_the_sentence_sets_aside_is_not_what_it_is_about() -> None:
    moonshot = frozenset(G.find("月之暗面"))
    aside = cand("除月之暗面外，阶跃星辰等公司今年以来也完成了大额融资。", title="月之暗面新一轮融资7亿美元")
    assert subject(G, aside, False) == frozenset()
    assert subject(G, cand("Besides Moonshot, several start-ups raised money this quarter."), False) == frozenset()
    assert subject(G, cand("月之暗面今年以来完成了大额融资。"), False) == moonshot


def test_why_a_day_matters_is_typed_by_the_sentence_naming_that_day() -> None:
    rows = feats("Why is July 8 a date to watch for Zhipu shareholders?", [
        cand("Cornerstone investors in the offering agreed to a six-month lock-up that ends on July 8, 2026."),
        cand("Cornerstone investors in the offering agreed to a six-month lock-up."),
    ])
    assert [r["typed"] for r in rows] == [1.0, 0.0]


def test_chinese_question_words_are_not_words_the_answer_must_hold() -> None:
    rows = feats("智谱这次一共发行多少H股", [cand("招股文件显示，智谱此次发行3742万股H股。"), cand("智谱计划于下周定价。")])
    assert rows[0]["concepts"] == 1.0 and rows[1]["concepts"] < 1.0  # "这次", "一共" (and "次一") asked nothing


def test_the_names_a_sentence_opens_with_together_answer_a_yes_no_question_about_either() -> None:
    minimax, zhipu = (G.find(n).keys() for n in ("MiniMax", "Zhipu"))
    both = opening_names(G, cand("MiniMax and Zhipu AI are planning their Hong Kong IPOs soon."))
    assert set(minimax) | set(zhipu) == set(both)
    # a name further on is not what the sentence opens with
    assert opening_names(G, cand("Analysts expect strong demand for the offering, which MiniMax leads.")) == frozenset()


def test_earnings_are_the_results_as_well_as_the_profit() -> None:
    rows = feats("zhipu earnings", [
        cand("Zhipu AI reported a 128% jump in revenue for 2025 in its first annual results, with a net loss of RMB 2.96 billion."),
        cand("Zhipu AI closed at HK$108.00 on March 30."),
    ])
    assert [r["focus"] for r in rows] == [1.0, 0.0]


def test_a_quoted_opinion_is_not_the_news_a_topic_question_asks_for() -> None:
    rows = feats("MiniMax 港股通", [
        cand("“港股通的纳入对MiniMax来说是一个重要的增量资金来源。”一位基金经理表示。"),
        cand("资本运作方面，MiniMax已被纳入港股通，内地资金得以直接参与交易；"),
    ])
    assert [r["typed"] for r in rows] == [0.0, 1.0]
    # a question asking for a kind of thing is answered by a quote that holds it
    rows = feats("MiniMax港股通什么时候开通？", [cand("“MiniMax将于3月10日纳入港股通。”一位分析师表示。")])
    assert rows[0]["typed"] == 1.0


def test_a_banker_is_not_the_sponsor_of_an_ipo() -> None:
    sponsor = G.gid_of("sponsor")
    # "sponsor" once shared a lexicon line with "investment bank" and "banks": a sentence quoting a
    # banker ("有投行人士预计...") answered "who are the sponsors of MiniMax's IPO?"
    assert sponsor in analyse("Who are the sponsors of MiniMax's IPO?", G).groups
    assert [sponsor in G.mentions(t) for t in (
        "有投行人士预计，2026年上半年港股IPO项目储备依然充足。",
        "Bankers expect technology listings to dominate the pipeline.",
        "MiniMax的联席保荐人为两家国际投行。",
        "Its joint sponsors are two global banks.",
    )] == [False, False, True, True]


def _lead(question: str, cands: list[Candidate]) -> str:
    from retrieval.excerpts import default_answer_model, rank

    _, scores = rank(analyse(question, G), cands, G, default_answer_model())
    return cands[int(np.argmax(scores))].text


LISTING_STORY = [
    cand("MiniMax Group reported a 170% rise in revenue for 2025 in its first annual results since going public.",
         rank=0),
    cand("MiniMax kicked off its Hong Kong initial public offering on December 31.", rank=1),
    cand("Shares of MiniMax soared 109.1% on their first day of trading in Hong Kong on January 9.", rank=8),
]


@pytest.mark.parametrize("question", ["When did MiniMax list?", "MiniMax 什么时候上市", "when will MiniMax list?"])
def test_when_a_company_listed_is_the_day_of_its_debut(question: str) -> None:
    # the listing is mentioned beside other dates ("results for 2025 ... since going public", the
    # offering's launch): the sentence reporting its first day of trading dates the listing
    assert _lead(question, LISTING_STORY).startswith("Shares of MiniMax soared")
    rows = feats(question, LISTING_STORY)
    assert rows[2]["concepts"] > rows[0]["concepts"] and rows[2]["focus"] == 1.0


def test_a_company_with_no_debut_reported_is_answered_from_its_plans() -> None:
    cands = [
        cand("Moonshot AI is considering a Hong Kong listing as soon as the second half of 2026.", rank=3),
        cand("Shares of Zhipu AI rose 13.2% on their first day of trading on January 8.", rank=0),
    ]
    assert _lead("When will Moonshot list?", cands).startswith("Moonshot AI is considering")
    assert feats("When will Moonshot list?", cands)[0]["focus"] == 1.0


def _lead_doc(question: str, first: str, second: str, scores: tuple[float, float],
              concepts: tuple[float, float] = (1.0, 1.0)) -> int:
    """The doc (1 or 2) of the lead ``choose`` picks between two sentences that are both about the
    company, hold the asked kind and the asked term, with these scores and concept shares."""
    from retrieval.excerpts import choose, default_answer_model

    cands = [Candidate(0, 1, 0, len(first), first, "", "", math.nan, 0.0, 0),
             Candidate(1, 2, 0, len(second), second, "", "", math.nan, 0.0, 0)]
    feats = np.zeros((2, len(FEATURES)))
    for name in ("subject", "typed", "focus"):
        feats[:, FEATURES.index(name)] = 1.0
    feats[:, FEATURES.index("concepts")] = concepts
    return choose(analyse(question, G), cands, feats, np.array(scores), default_answer_model(), G)[0].doc


@pytest.mark.parametrize(("question", "english_ahead_by", "led_by"), [
    ("MiniMax最终定价多少？", 0.3, "zh"),  # as good and nearly as high: the asker's language leads
    ("MiniMax最终定价多少？", 2.0, "en"),  # clearly better in the other language: that one leads
    ("What was MiniMax's final IPO price?", -0.3, "en"),
    ("谁先上市？", 0.3, "en"),  # "who is first?" keeps its own choice of lead
])
def test_the_lead_is_in_the_askers_language_when_it_answers_as_well(question: str, english_ahead_by: float,
                                                                    led_by: str) -> None:
    english = "MiniMax priced its shares at HK$165, the top of the range, on January 6."
    chinese = "1月6日，MiniMax公布定价结果，最终发售价定为每股165港元。"
    assert _lead_doc(question, english, chinese, (10.0 + english_ahead_by, 10.0)) == {"en": 1, "zh": 2}[led_by]


def test_a_sentence_in_the_askers_language_holding_less_of_the_question_does_not_lead() -> None:
    # "Zhipu A-share listing plan?" was led by "The company plans to raise about HK$4.3 billion"
    # (plan, no A-share listing) over "智谱AI计划回归A股" (both), 0.2 lower
    chinese = "今年初登陆港股的智谱AI计划回归A股。"
    english = "The company plans to raise about HK$4.3 billion in the offering."
    assert _lead_doc("Zhipu A-share listing plan?", chinese, english, (10.0, 9.8), concepts=(0.9, 0.4)) == 1
