"""The fused score is one function: the retriever and the benchmark that fits its weights rank alike."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from benchmarks.datasets import EvalSet, Query
from benchmarks.retrieval_quality import HAND_SET, Prepared, rank_by_features, rank_product
from retrieval.corpus import Article
from retrieval.embeddings import embed_query
from retrieval.fusion import CandidateFeatures, FusionParams, article_scores, fused_scores
from retrieval.index import LoadedIndex
from retrieval.service import QAService

QUESTIONS = ["Did Zhipu pass its listing hearing?", "智谱通过上市聆讯了吗？", "月之暗面融资多少？", "MiniMax IPO",
             "How much money did Moonshot raise?", "大模型第一股之争"]


def _prepared(qa: QAService, index: LoadedIndex) -> Prepared:
    """The benchmark's precomputed matrices, read from the product's own index."""
    articles = [Article(path=d["path"], title=d["title"], outlet=d["outlet"], published=d["published"],
                        language=d["language"], url=d["url"], text=d["text"]) for d in index.docs]
    asked_on = date(2025, 12, 12)
    queries = [Query(qid=str(i), text=q, relevant=set(), asked_on=asked_on) for i, q in enumerate(QUESTIONS)]
    qvecs = np.vstack([embed_query(qa.embeddings, q) for q in QUESTIONS]).astype(np.float32)
    n = index.chunk_count
    assert index.centroids is not None and index.sentence_vectors is not None and index.article_vectors is not None
    bias = qvecs @ index.centroids.T
    sims = qvecs @ index.sentence_vectors.T - bias[:, index.sentence_langs]
    best_sent = np.zeros((len(QUESTIONS), n), dtype=np.float32)
    for c in range(n):
        r = index.sentence_ids(c)
        best_sent[:, c] = sims[:, r.start:r.stop].max(axis=1)
    return Prepared(
        es=EvalSet(name="fixtures", language="en", articles=articles, queries=queries),
        chunk_doc=index.chunk_docs, chunk_texts=[], vectors=index.chunk_vectors(np.arange(n)), qvecs=qvecs,
        bm25=np.vstack([index.bm25.scores(q) for q in QUESTIONS]), relevant=[set() for _ in QUESTIONS],
        train=np.ones(len(QUESTIONS), dtype=bool), chunk_lang=index.chunk_langs, bias=bias,
        doc_days=index.doc_days, q_days=np.full(len(QUESTIONS), float(asked_on.toordinal())),
        doc_vecs=index.article_vectors, best_sent=best_sent, centroids=index.centroids,
    )


@pytest.mark.parametrize("params", [FusionParams(), HAND_SET, replace(FusionParams(), w_prf=0.5, prf_k=3, w_recency=0.1)],
                         ids=["shipped", "hand-set", "strong-feedback"])
def test_the_benchmark_ranks_articles_as_the_retriever_does(qa: QAService, params: FusionParams) -> None:
    index = qa.index()
    p = _prepared(qa, index)
    assert rank_by_features(p, params) == rank_product(p, index, params)


def _features(**kw: np.ndarray | None) -> CandidateFeatures:
    base: dict[str, np.ndarray | None] = {
        "docs": np.array([0, 0, 1]), "langs": np.array([0, 0, 1]), "dense": np.array([0.9, 0.2, 0.5], dtype=np.float32),
        "sentence": np.array([0.9, 0.2, 0.5], dtype=np.float32), "bm25": np.array([2.0, 0.0, 1.0], dtype=np.float32),
        "dense_rank": np.array([0, 2, 1]), "bm25_rank": np.array([0, 10**6, 1]),
    }
    return CandidateFeatures(**{**base, **kw})  # type: ignore[arg-type]


def test_the_article_term_is_one_number_per_article_and_falls_back_to_its_best_chunk() -> None:
    vectors = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 0.0]], dtype=np.float32)  # article 1 has no vector
    got = article_scores(_features(article=np.array([0.3, 0.3, 0.7], dtype=np.float32), article_vectors=vectors))
    assert got.tolist() == pytest.approx([0.3, 0.3, 0.5])
    assert article_scores(_features()).tolist() == pytest.approx([0.9, 0.9, 0.5])  # no article vectors at all


def test_a_term_with_weight_zero_is_skipped_and_the_rest_add_up() -> None:
    only_dense = FusionParams(w_dense=1.0, w_sentence=0.0, w_bm25=0.0, w_rrf=0.0, w_article=0.0, w_recency=0.0, w_prf=0.0)
    f = _features(age_days=np.array([0.0, 0.0, np.nan]))
    assert fused_scores(f, only_dense).tolist() == pytest.approx([0.9, 0.2, 0.5])
    bm25_and_recency = replace(only_dense, w_dense=0.0, w_bm25=1.0, w_recency=0.1)
    assert fused_scores(f, bm25_and_recency).tolist() == pytest.approx([1.1, 0.1, 0.5])  # undated: no recency
