"""Question analysis: type, names, time cues, follow-ups; and the glossary that finds names and
terms in both languages."""

from __future__ import annotations

import pytest

from retrieval.glossary import NAME, TERM, Glossary, load_glossary
from retrieval.question import (
    ENTITY,
    NUMBER,
    OTHER,
    WHEN,
    WHY,
    YES_NO,
    analyse,
    analyse_turn,
    own_words,
    question_type,
)

GLOSSARY = load_glossary(None)


def names(q: str) -> set[str]:
    return {GLOSSARY.groups[g].terms[0] for g in analyse(q, GLOSSARY).names}


def concepts(text: str) -> set[str]:
    return {GLOSSARY.groups[g].terms[0] for g in GLOSSARY.mentions(text)}


@pytest.mark.parametrize(("question", "language", "qtype"), [
    ("who is first to list?", "en", ENTITY),
    ("Who raised more in their IPO, Zhipu or MiniMax?", "en", NUMBER),
    ("When did MiniMax pass its listing hearing?", "en", WHEN),
    ("zhipu ipo price?", "en", NUMBER),
    ("where did zhipu close on its first day of trading", "en", NUMBER),
    ("How did MiniMax do on day one?", "en", NUMBER),
    ("Why does it matter who lists first?", "en", WHY),
    ("Is Moonshot also heading for a Hong Kong listing?", "en", YES_NO),
    ("月之暗面要上市吗？", "zh", YES_NO),
    ("智谱的发行价是多少？", "zh", NUMBER),
    ("MiniMax什么时候通过聆讯的", "zh", WHEN),
    ("为什么大家都在抢大模型第一股？", "zh", WHY),
    ("谁先上市", "zh", ENTITY),
    ("the weather", "en", OTHER),
])
def test_question_types(question: str, language: str, qtype: str) -> None:
    assert question_type(question, language) == qtype


def test_names_are_found_in_either_language_and_places_are_not_names() -> None:
    assert names("What was Zhipu's IPO price in Hong Kong?") == {"Zhipu AI"}
    assert names("智谱和MiniMax谁先上市") == {"Zhipu AI", "MiniMax"}
    assert names("Knowledge Atlas stock code") == {"Zhipu AI"}
    assert names("月之暗面要上市吗") == {"Moonshot AI"}


def test_unknown_capitalised_names_are_kept_for_the_gate() -> None:
    q = analyse("What was Horizon Robotix' first-day gain?", GLOSSARY)
    assert q.unknown_names == ("Horizon Robotix",)
    assert analyse("What was Zhipu's IPO price?", GLOSSARY).unknown_names == ()
    assert analyse("When did MiniMax list in January?", GLOSSARY).unknown_names == ()


@pytest.mark.parametrize(("question", "state", "first"), [
    ("What's the latest on Moonshot going public?", True, False),
    ("is zhipu still above its IPO price?", True, False),
    ("MiniMax目前股价是多少？", True, False),
    ("who is first to list?", False, True),
    ("谁会成为大模型第一股？", False, True),
    ("What did MiniMax close at on its first day?", False, False),
])
def test_time_cues(question: str, state: bool, first: bool) -> None:
    q = analyse(question, GLOSSARY)
    assert (q.state, q.first) == (state, first)


def test_a_follow_up_keeps_the_earlier_questions_type_and_replaces_its_name() -> None:
    q = analyse_turn("and minimax?", ["What was Zhipu's IPO price?"], GLOSSARY)
    assert q.qtype == NUMBER
    assert {GLOSSARY.groups[g].terms[0] for g in q.names} == {"MiniMax"}
    assert "offer price" in {GLOSSARY.groups[g].terms[0] for g in q.groups}


def test_a_follow_up_without_a_name_keeps_the_earlier_one() -> None:
    q = analyse_turn("what's its stock code", ["When did MiniMax list?"], GLOSSARY)
    assert {GLOSSARY.groups[g].terms[0] for g in q.names} == {"MiniMax"}
    assert q.qtype == NUMBER


def test_glossary_mentions_overlap_and_respect_word_edges() -> None:
    assert {"shareholder vote", "investors"} <= concepts("提交4月28日召开的股东大会审议表决")
    assert {"Hong Kong listing", "IPO"} <= concepts("its Hong Kong IPOs")
    assert "United States" not in concepts("tell us about it")  # "US" is matched in capitals only
    assert "United States" in concepts("listed in the U.S. market")
    assert "A-share listing" in concepts("拟回A股科创板")
    assert "IPO" not in concepts("a lipo battery")


def test_expansion_adds_the_other_languages_equivalents() -> None:
    g = Glossary.of([["Zhipu AI", "Zhipu", "智谱"]], [["offer price", "IPO price", "发行价", "发售价"]])
    assert g.expand("Zhipu IPO price?") == "Zhipu IPO price? (智谱)"
    assert g.expand("Zhipu IPO price?", kinds=(NAME, TERM), every=True) == (
        "Zhipu IPO price? (Zhipu AI; 智谱; offer price; 发行价; 发售价)")  # BM25 side: every other term
    assert g.expand("智谱的发行价", kinds=(NAME, TERM)) == "智谱的发行价 (Zhipu AI; offer price)"
    assert g.expand("Zhipu 智谱") == "Zhipu 智谱"  # already in both languages


def test_misspelt_names_are_put_right_and_ordinary_words_are_not() -> None:
    assert GLOSSARY.correct("is zhupu still above its IPO price?") == "is Zhipu still above its IPO price?"
    assert GLOSSARY.correct("minimx price range") == "MiniMax price range"
    assert GLOSSARY.correct("the prices of shares in Hong Kong") == "the prices of shares in Hong Kong"


def test_acronyms_typed_in_lower_case_are_read_as_acronyms_and_short_words_are_not() -> None:
    assert GLOSSARY.correct("kimi ipo?") == "kimi IPO?"
    assert GLOSSARY.correct("how many ipos in 2025") == "how many IPOs in 2025"
    assert GLOSSARY.correct("tell us about the ceo") == "tell us about the CEO"  # "us" is no acronym here
    q = analyse("has zhipu set its ipo price yet", GLOSSARY)
    assert "offer price" in {GLOSSARY.groups[g].terms[0] for g in q.groups}


def test_sell_off_written_as_two_words_is_a_sell_off() -> None:
    assert "sell-off" in {GLOSSARY.groups[g].terms[0] for g in GLOSSARY.mentions("why did hk ai stocks sell off")}


def test_a_corpus_glossary_adds_names_and_a_broken_one_is_ignored(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "glossary.yml").write_text("names:\n  - [Acme Robotics, 极客机器人]\n", encoding="utf-8")
    g = load_glossary(tmp_path)
    assert "Acme Robotics" in {g.groups[x].terms[0] for x in g.mentions("极客机器人上市")}
    (tmp_path / "glossary.yml").write_text("names: [unclosed", encoding="utf-8")
    assert "Zhipu AI" in {load_glossary(tmp_path).groups[x].terms[0] for x in load_glossary(tmp_path).mentions("智谱")}


def test_words_that_only_say_how_a_question_is_put_need_not_occur_in_the_corpus() -> None:
    g = load_glossary(None)
    assert own_words(analyse("Why does it matter who lists first?", g), g) == []
    assert own_words(analyse("Is Moonshot also heading for a Hong Kong listing?", g), g) == []
    assert "weather" in own_words(analyse("What is the weather in Paris?", g), g)


def test_a_question_that_refers_back_says_so_until_a_thread_names_whom() -> None:
    assert analyse("and when will it list?", GLOSSARY).refers_back
    assert analyse("它什么时候上市？", GLOSSARY).refers_back
    assert not analyse("When will MiniMax list its shares?", GLOSSARY).refers_back
    assert not analyse_turn("and when will it list?", ["What is MiniMax planning?"], GLOSSARY).refers_back


def test_an_it_that_points_at_nothing_does_not_refer_back() -> None:
    for text in ("Why does it matter who lists first?", "Is it true that the first listing sets the valuation?",
                 "it seems everyone wants to list first: why?"):
        assert not analyse(text, GLOSSARY).refers_back, text
    assert analyse("why does it want to list first?", GLOSSARY).refers_back
    # "important" frames a why-question; it is not a word the corpus must contain
    q = analyse("why is the first listing important", GLOSSARY)
    assert own_words(q, GLOSSARY) == []
