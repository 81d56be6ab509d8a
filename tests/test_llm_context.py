"""What a language model reads and decides: whole passages with their source, no article footnote
marks; the related-but-weak case is the model's call; citations map back to verbatim sentences;
a question with words the glossary cannot carry across is translated for the word match.

Real langchain-openai client against the loopback fake (tests/llm_fake.py), real index."""

from __future__ import annotations

import re
from dataclasses import replace

from retrieval.corpus import load_article
from retrieval.service import QAService
from retrieval.settings import LLMSettings, RetrievalSettings
from tests.llm_fake import FakeOpenAI, Reply

WEAK = "What is Zhipu's IPO price?"  # the corpus has Zhipu's expected proceeds, not its price


def _service(settings: RetrievalSettings, fake: FakeOpenAI, *, translate: bool = True) -> QAService:
    llm = LLMSettings(provider="openai", model="fake-model", base_url=fake.url, api_key="sk-test", timeout_s=5.0,
                      translate=translate)
    return QAService(replace(settings, llm=llm))


def _user_message(fake: FakeOpenAI) -> str:
    return str(fake.requests[-1]["messages"][-1]["content"])


def test_the_model_reads_whole_passages_with_their_source_and_without_footnote_marks(
        multilingual_index: RetrievalSettings, fake_openai: FakeOpenAI) -> None:
    fake_openai.replies.append(Reply("MiniMax could list as early as January [1]."))
    ans = _service(multilingual_index, fake_openai).ask("When could MiniMax list its shares?")
    user = _user_message(fake_openai)
    first = user.split("\n<<<", 1)[1].split(">>>", 1)[0]
    assert "Sohu Caijing" in user and "2025-12-11" in user
    assert "as early as January" in first and len(re.findall(r"[.!?](?:\s|$)", first)) >= 2  # a passage, not a sentence
    assert not re.search(r"\[\d+\]", first)  # the seed's own "[4][5]" are gone
    assert ans.mode == "llm" and ans.outcome == "answered"
    [c] = ans.citations
    assert "as early as January" in c.excerpt and len(c.excerpt) < len(first)  # the sentence, not the passage
    assert load_article(multilingual_index.corpus_dir / c.path).text[c.start:c.end] == c.excerpt


def test_what_the_extractive_gate_leaves_as_closest_the_model_may_answer(
        multilingual_index: RetrievalSettings, qa: QAService, fake_openai: FakeOpenAI) -> None:
    assert qa.ask(WEAK).outcome == "closest"  # without a model
    fake_openai.replies.append(Reply("No price yet: analysts expect the offering to raise about HK$4 billion [1]."))
    ans = _service(multilingual_index, fake_openai).ask(WEAK)
    assert ans.outcome == "answered" and ans.mode == "llm" and not ans.refused
    assert "4 billion" in ans.citations[0].excerpt


def test_a_model_that_finds_no_answer_leaves_the_closest_excerpts(
        multilingual_index: RetrievalSettings, fake_openai: FakeOpenAI) -> None:
    fake_openai.replies.append(Reply("NOT_IN_CORPUS"))
    ans = _service(multilingual_index, fake_openai).ask(WEAK)
    assert ans.outcome == "closest" and ans.mode == "extractive" and ans.citations
    assert ans.fallback is not None and ans.fallback.code == "not_in_corpus"


def test_a_company_the_corpus_never_names_is_not_put_to_the_model(
        multilingual_index: RetrievalSettings, fake_openai: FakeOpenAI) -> None:
    ans = _service(multilingual_index, fake_openai).ask("What is Baichuan's IPO price?")
    assert ans.outcome != "answered" and fake_openai.requests == []


def test_words_the_glossary_cannot_carry_across_are_translated_for_the_word_match(
        multilingual_index: RetrievalSettings, fake_openai: FakeOpenAI) -> None:
    question = "Who is funding research on long text models?"
    fake_openai.translations.append(Reply("谁在资助长文本模型的研发？"))
    found = _service(multilingual_index, fake_openai).findings(question)
    translate = str(fake_openai.requests[0]["messages"][0]["content"])
    assert "Translate" in translate and "Simplified Chinese" in translate and question in translate
    assert "translate_ms" in found.timings
    assert any("长文本模型的研发" in found.index.docs[h.doc]["text"][h.start:h.end] for h in found.pool[:3])


def test_no_translation_when_it_is_switched_off_or_the_glossary_covers_the_question(
        multilingual_index: RetrievalSettings, fake_openai: FakeOpenAI) -> None:
    _service(multilingual_index, fake_openai, translate=False).findings("Who is funding research on long text models?")
    _service(multilingual_index, fake_openai).findings("MiniMax IPO")  # the glossary has both languages
    _service(multilingual_index, fake_openai).findings("What is the weather forecast for Beijing tomorrow?")
    assert fake_openai.requests == []
