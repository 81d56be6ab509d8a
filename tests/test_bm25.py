"""The sparse side: the index's own BM25 postings score exactly as bm25s (the library the fusion
weights were fitted with) and survive being carried into the next generation."""

from __future__ import annotations

from pathlib import Path

import bm25s
import numpy as np

from retrieval.index.bm25 import BM25Side, terms_of, write_bm25
from retrieval.text import bm25_tokens

TEXTS = [
    "Zhipu AI passed its listing hearing in Hong Kong and plans to list next week.",
    "智谱华章今日通过港交所上市聆讯，成为首家通过聆讯的大模型公司。",
    "MiniMax filed for a Hong Kong IPO; MiniMax shares could trade in January.",
    "",  # an empty chunk counts as one empty token, as in bm25s
    "月之暗面完成新一轮融资，估值约四十亿美元。Moonshot AI raised money.",
    "Pump makers raised prices in May, citing steel costs.",
]
QUERIES = ["When will Zhipu list in Hong Kong?", "MiniMax MiniMax IPO", "大模型公司上市聆讯", "nothing known here", "融资 Moonshot"]


def _side(folder: Path, texts: list[str]) -> BM25Side:
    write_bm25(folder, n_chunks=len(texts), carried=None, new_terms=terms_of(texts), new_chunks=np.arange(len(texts)))
    return BM25Side(folder, len(texts))


def test_scores_are_those_of_bm25s(tmp_path: Path) -> None:
    reference = bm25s.BM25()
    reference.index([bm25_tokens(t) or [""] for t in TEXTS], show_progress=False)
    side = _side(tmp_path, TEXTS)
    for q in QUERIES:
        ids = reference.get_tokens_ids(bm25_tokens(q))
        want = reference.get_scores_from_ids(ids) if ids else np.zeros(len(TEXTS), np.float32)
        np.testing.assert_allclose(side.scores(q), want, rtol=1e-5, atol=1e-7)
    assert side.scores("MiniMax MiniMax IPO")[2] > side.scores("MiniMax IPO")[2]  # a repeated word counts twice


def test_carried_postings_equal_a_fresh_build(tmp_path: Path) -> None:
    first = _side(tmp_path / "a", TEXTS)
    assert first.scores("Zhipu")[0] > 0
    # the next generation drops chunk 0, keeps the rest in a new order and adds two chunks
    new_texts = [TEXTS[4], TEXTS[1], "Zhipu AI set its IPO price.", TEXTS[2], TEXTS[3], TEXTS[5], "Pumps again."]
    old_to_new = np.array([-1, 1, 3, 4, 0, 5])
    write_bm25(tmp_path / "b", n_chunks=len(new_texts), carried=(tmp_path / "a", old_to_new),
               new_terms=terms_of([new_texts[2], new_texts[6]]), new_chunks=np.array([2, 6]))
    carried = BM25Side(tmp_path / "b", len(new_texts))
    fresh = _side(tmp_path / "c", new_texts)
    for q in [*QUERIES, "Zhipu IPO price", "pumps"]:
        np.testing.assert_allclose(carried.scores(q), fresh.scores(q), rtol=1e-6)
