"""Hybrid search: FAISS (dense) and BM25 candidates, described by their features (chunk, best
sentence and article cosines, ranks, age) and ranked by the fused score of ``retrieval.fusion``."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import numpy as np

from .fusion import CandidateFeatures, FusionParams, fused_scores, ranks_of
from .index import LoadedIndex
from .index.dense import DenseIndex

__all__ = ["FusionParams", "Hit", "LoadedIndex", "answer_pool", "candidate_features", "search"]


@dataclass(frozen=True)
class Hit:
    chunk: int
    doc: int
    start: int
    end: int
    score: float
    dense: float
    sentence: float
    bm25: float


def search(index: LoadedIndex, qvec: np.ndarray, question: str, *, k: int, params: FusionParams | None = None,
           asked_on: date | None = None, dense: DenseIndex | None = None,
           bm: np.ndarray | None = None) -> list[Hit]:
    """The best ``k`` chunks of ``index`` (at most ``params.per_doc`` per article; default: the
    fitted weights). ``asked_on``: the day the question is asked, for the recency term (None = no
    recency). ``dense``: where the dense candidates come from (default: the index's own; the
    speed benchmark passes an exact one to measure what the approximate index changes). ``bm``: the
    BM25 scores of ``question`` when the caller has them already."""
    params = params or FusionParams()
    n = index.chunk_count
    if n == 0:
        return []
    m = min(params.candidates, n)
    query = np.asarray(qvec, dtype=np.float32).reshape(-1)
    d_ids = (dense or index.dense).search(query, m)
    bm = index.bm25.scores(question) if bm is None else bm
    b_ids = top_ids(bm, m)
    cand = np.unique(np.concatenate([d_ids, b_ids]).astype(np.int64))
    features = candidate_features(index, query, cand, dense_ranked=d_ids, bm25_ranked=b_ids, bm25=bm,
                                  asked_on=asked_on)
    score = fused_scores(features, params)
    bm25_share = features.bm25_share
    hits: list[Hit] = []
    for i in np.argsort(-score):
        c = int(cand[i])
        doc, start, end = index.chunk_span(c)
        same = [h for h in hits if h.doc == doc]
        if len(same) >= params.per_doc or any(_overlap(h.start, h.end, start, end) > 0.5 for h in same):
            continue  # an overlapping neighbour of a better chunk adds nothing new
        hits.append(Hit(c, doc, start, end, float(score[i]), float(features.dense[i]), float(features.sentence[i]),
                        float(bm25_share[i])))
        if len(hits) >= k:
            break
    return hits


def answer_pool(index: LoadedIndex, qvec: np.ndarray, question: str, *, k: int, sparse_extra: int,
                params: FusionParams | None = None, asked_on: date | None = None, also: str = "") -> list[Hit]:
    """The chunks an answer is looked for in: the best ``k`` by the fused score (up to three per
    article: an answer may sit in any part of a relevant article), then up to ``sparse_extra``
    more of the best BM25 chunks. ``question`` is the glossary-expanded text: its BM25 side matches
    the other language's words, which the fused score, fitted on one-language questions, ranks too
    low for an English question whose answer is in a Chinese article. ``also``: a second BM25
    text whose best chunks (up to ``sparse_extra // 2``) join the pool the same way."""
    params = replace(params or FusionParams(), per_doc=max(3, (params or FusionParams()).per_doc))
    bm = index.bm25.scores(question)
    hits = search(index, qvec, question, k=k, params=params, asked_on=asked_on, bm=bm)
    have = {h.chunk for h in hits}
    extra = _best_sparse(index, bm, sparse_extra, have)
    if also:
        extra += _best_sparse(index, index.bm25.scores(also), sparse_extra // 2, have | {h.chunk for h in extra},
                              matching_only=True)
    return hits + extra


def _best_sparse(index: LoadedIndex, bm: np.ndarray, n: int, have: set[int], *,
                 matching_only: bool = False) -> list[Hit]:
    """Up to ``n`` of the best chunks by the BM25 scores ``bm`` that are not in ``have``, at most two
    per article (``matching_only``: only chunks that match at all)."""
    per_doc: dict[int, int] = {}
    out: list[Hit] = []
    for c in top_ids(bm, 10 * n):  # not a full argsort: ~13 ms a question at a million chunks
        if len(out) >= n or (matching_only and not bm[c] > 0):
            break
        doc, start, end = index.chunk_span(int(c))
        if int(c) in have or per_doc.get(doc, 0) >= 2:
            continue
        per_doc[doc] = per_doc.get(doc, 0) + 1
        out.append(Hit(int(c), doc, start, end, 0.0, 0.0, 0.0, float(bm[c] / bm.max())))
    return out


def candidate_features(index: LoadedIndex, query: np.ndarray, cand: np.ndarray, *, dense_ranked: np.ndarray,
                       bm25_ranked: np.ndarray, bm25: np.ndarray, asked_on: date | None) -> CandidateFeatures:
    """The features of the candidate chunks ``cand`` for one question: ``dense_ranked`` and
    ``bm25_ranked`` are each side's list (best first), ``bm25`` the BM25 score of every chunk."""
    docs, langs = index.chunk_docs[cand], index.chunk_langs[cand]
    dense = index.centred(index.chunk_vectors(cand), langs, query)
    art_vecs = index.article_vectors[docs] if index.article_vectors is not None else None
    return CandidateFeatures(
        docs=docs, langs=langs, dense=dense,
        sentence=_best_sentence_scores(index, cand, query) if index.sentence_vectors is not None else dense,
        bm25=bm25[cand], dense_rank=ranks_of(cand, dense_ranked), bm25_rank=ranks_of(cand, bm25_ranked),
        article=index.centred(art_vecs, langs, query) if art_vecs is not None else None,
        article_vectors=art_vecs, age_days=index.age_days(cand, asked_on) if asked_on is not None else None,
        centroids=index.centroids,
    )


def _best_sentence_scores(index: LoadedIndex, cand: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Each candidate chunk's best language-centred sentence cosine (0 for a chunk without sentences),
    from one gather of all the candidates' sentence vectors."""
    assert index.sentence_vectors is not None
    ranges = [index.sentence_ids(int(c)) for c in cand]
    sizes = np.array([len(r) for r in ranges], dtype=np.int64)
    out = np.zeros(len(cand), dtype=np.float32)
    if not sizes.sum():
        return out
    sids = np.concatenate([np.arange(r.start, r.stop, dtype=np.int64) for r in ranges])
    sims = index.centred(index.sentence_vectors[sids], index.sentence_langs[sids], query)
    has = sizes > 0
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])[has]
    out[has] = np.maximum.reduceat(sims, starts)
    return out


def top_ids(scores: np.ndarray, m: int) -> np.ndarray:
    """The ``m`` best positive scores' positions, best first (ties: lower position first). A
    partial sort: at a million chunks a full argsort alone would cost ~80 ms a question."""
    positive = np.flatnonzero(scores > 0)
    if len(positive) > m:
        positive = positive[np.argpartition(-scores[positive], m - 1)[:m]]
    return positive[np.lexsort((positive, -scores[positive]))].astype(np.int64)


def _overlap(a0: int, a1: int, b0: int, b1: int) -> float:
    inter = max(0, min(a1, b1) - max(a0, b0))
    return inter / max(1, min(a1 - a0, b1 - b0))
