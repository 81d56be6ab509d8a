"""A generation built from the previous one (unchanged articles copied, not laid out or embedded
again) holds exactly what a build from scratch holds, and its IVF lists every chunk once."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import faiss
import numpy as np

from retrieval.corpus import Article
from retrieval.index import LoadedIndex, build_index_from_articles, current_generation
from retrieval.index.schema import DENSE_INDEX
from retrieval.search import search
from retrieval.settings import RetrievalSettings
from tests.retrieval_fixtures import HashEmbeddings

BODY = ("Zhipu AI passed its listing hearing in Hong Kong. The company plans to price its shares next week. "
        "Analysts expect strong demand from mainland funds. MiniMax filed its own prospectus the same day. ")


def _article(name: str, text: str, published: str = "2025-12-11") -> Article:
    return Article(path=f"articles/{name}.md", title=name.title(), outlet="Fixture Wire", published=published,
                   language="en", url="", text=text)


ARTICLES = [_article("alpha", BODY * 3), _article("bravo", "月之暗面完成新一轮融资，估值约四十亿美元。" * 12),
            _article("charlie", "Pump makers raised prices in May. " * 30, published=""), _article("delta", BODY)]


def _build(data: Path, articles: list[Article], *, ann: int = 150_000, rebuild: bool = False) -> LoadedIndex:
    settings = RetrievalSettings(data_dir=data, embeddings="test/hash-64", ann_min_chunks=ann,
                                 chunk_tokens=64, chunk_overlap_tokens=16)
    build_index_from_articles(settings, articles, embeddings=HashEmbeddings(), rebuild=rebuild)
    gen = current_generation(settings.index_dir)
    assert gen is not None
    return LoadedIndex(gen)


def test_a_generation_built_from_the_previous_one_equals_a_fresh_build(tmp_path: Path) -> None:
    _build(tmp_path / "incremental", ARTICLES)
    echo = _article("echo", "Hong Kong listings of AI companies drew record demand. " * 8)
    changed = replace(ARTICLES[0], text=ARTICLES[0].text + "The shares will trade under the code 2513.")
    later = [ARTICLES[3], ARTICLES[1], echo, changed]  # charlie removed, alpha changed, echo new, another order
    emb = HashEmbeddings()
    settings = RetrievalSettings(data_dir=tmp_path / "incremental", embeddings="test/hash-64", chunk_tokens=64,
                                 chunk_overlap_tokens=16)
    report = build_index_from_articles(settings, later, embeddings=emb)
    assert report.added == [echo.path] and report.changed == [changed.path] and report.removed == [ARTICLES[2].path]
    assert not any("月之暗面" in t or t.startswith("Delta") for t in emb.embedded)  # copied, not embedded again
    gen = current_generation(settings.index_dir)
    assert gen is not None
    carried, fresh = LoadedIndex(gen), _build(tmp_path / "fresh", later)
    assert list(carried.docs) == list(fresh.docs)
    np.testing.assert_array_equal(carried.chunks, fresh.chunks)
    np.testing.assert_array_equal(carried.sentences, fresh.sentences)
    np.testing.assert_array_equal(carried.docs.rows, fresh.docs.rows)
    np.testing.assert_array_equal(carried.chunk_vector_store, fresh.chunk_vector_store)
    np.testing.assert_array_equal(carried.article_vectors, fresh.article_vectors)
    np.testing.assert_array_equal(carried.sentence_vectors, fresh.sentence_vectors)
    for q in ("Zhipu listing hearing", "月之暗面 融资", "Hong Kong demand"):
        np.testing.assert_allclose(carried.bm25.scores(q), fresh.bm25.scores(q), rtol=1e-6)
        qv = np.asarray(emb.embed_query(q), dtype=np.float32)
        assert search(carried, qv, q, k=3) == search(fresh, qv, q, k=3)
    d = next(i for i, doc in enumerate(carried.docs) if doc["path"] == ARTICLES[1].path)
    ids = carried.article_sentence_ids(d)
    assert carried.sentence_text(ids.start) == carried.doc_text(d)[: len(carried.sentence_text(ids.start))]
    assert carried.doc_title(d) == "Bravo"


def _numbered(i: int) -> Article:
    text = " ".join(f"Company c{i} reported revenue r{i}x{j} in quarter q{j} and hired h{i * j} people." for j in range(40))
    return _article(f"n{i:02d}", text)


def test_a_carried_ivf_lists_every_chunk_once_under_its_new_number(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = _build(data, [_numbered(i) for i in range(30)], ann=50)
    assert first.manifest["dense"]["kind"] == "ivf" and not first.manifest["dense"]["carried"]
    assert first.manifest["dense"]["nlist"] > 1
    later = [_numbered(i) for i in (*range(30, 33), *range(10, 30))]  # ten removed, three new, numbers shifted
    idx = _build(data, later, ann=50)
    assert idx.manifest["dense"]["carried"] and idx.manifest["dense"]["nlist"] == first.manifest["dense"]["nlist"]
    index = faiss.read_index(str(idx.gen_dir / DENSE_INDEX))
    ivf = faiss.extract_index_ivf(index)  # a view into ``index``, which must stay alive
    listed: list[int] = []
    for no in range(ivf.nlist):
        listed += [int(x) for x in faiss.rev_swig_ptr(ivf.invlists.get_ids(no), ivf.invlists.list_size(no))]
    assert sorted(listed) == list(range(idx.chunk_count))
    vectors = idx.chunk_vectors(np.arange(idx.chunk_count))
    found = sum(int(c in idx.dense.search(vectors[c], 5)) for c in range(idx.chunk_count))
    assert found >= 0.95 * idx.chunk_count  # found again under its new number (the IVF probes some lists only)
