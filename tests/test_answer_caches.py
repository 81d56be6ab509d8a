"""The answer path keeps per-text work (a sentence's words, an article's script, a question's
spelling) between questions, since the same sentences come back for question after question. What
is kept must never change an answer, nor leak from one caller into the next."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval import evidence, excerpts, glossary, text
from retrieval.glossary import Glossary
from retrieval.index import LoadedIndex, require_generation
from retrieval.service import QAService
from retrieval.settings import RetrievalSettings
from retrieval.text import content_terms, content_tokens

QUESTIONS = ["When could MiniMax list in Hong Kong?", "月之暗面要上市吗?", "How much did enterprise token usage grow?",
             "What is the weather in Paris tomorrow?"]


def _forget_everything(service: QAService) -> None:
    for cached in (text._sentence_terms, evidence._cjk_share, evidence.has_kind, evidence._words,
                   excerpts._cjk_share, excerpts._words, excerpts._stems):
        cached.cache_clear()
    service.glossary._corrected.clear()
    service.glossary._found.clear()


def _what_it_says(service: QAService, question: str) -> tuple[object, ...]:
    ans = service.ask(question)
    return ans.outcome, ans.citation_dicts(), ans.scores


def test_answers_are_the_same_with_empty_and_with_warm_caches(qa: QAService) -> None:
    _forget_everything(qa)
    cold = [_what_it_says(qa, q) for q in QUESTIONS]
    warm = [_what_it_says(qa, q) for q in reversed(QUESTIONS)][::-1]
    assert cold == warm
    assert text._sentence_terms.cache_info().hits > 0  # the second round read what the first kept


def test_content_terms_gives_each_caller_its_own_set() -> None:
    sentence = "MiniMax raised HK$4.2 billion in its Hong Kong listing."
    first = content_terms(sentence)
    first.add("tampered")
    assert "tampered" not in content_terms(sentence)
    assert content_terms(sentence) == set(content_tokens(sentence))
    article = " ".join([sentence] * 40)  # longer than a sentence: not kept, same words
    assert len(article) > text.CACHED_TERMS_CHARS
    assert content_terms(article) == set(content_tokens(article))


def test_corrected_spelling_is_kept_and_the_store_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    g = Glossary.of([["Zhipu", "智谱"], ["MiniMax", "稀宇科技"]])
    monkeypatch.setattr(glossary, "CORRECT_CACHE", 2)
    asked = ["is zhupu listed?", "minimx price range", "the prices of shares", "is zhupu listed?"]
    said = [g.correct(q) for q in asked]
    assert said == ["is Zhipu listed?", "MiniMax price range", "the prices of shares", "is Zhipu listed?"]
    assert len(g._corrected) <= 2


def test_index_arrays_are_read_only_plain_arrays_over_the_files(multilingual_index: RetrievalSettings) -> None:
    index = LoadedIndex(require_generation(multilingual_index))
    for arr in (index.chunks, index.sentences, index.sentence_vectors):
        assert type(arr) is np.ndarray and not arr.flags.writeable
        with pytest.raises(ValueError):
            arr[0, 0] = 0
