"""The fused score: one pure function from a question's candidate chunks and their features to
one score each.

``retrieval.search`` gathers the features from a loaded index; the retrieval benchmark gathers the
same features from precomputed matrices to try many weights quickly. Both score with
``fused_scores``, so what the benchmark fits is what the product ranks with. A new signal is one
field of ``CandidateFeatures`` and one term here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MISSING_RANK = 10**6  # rank of a candidate absent from one side's list: its reciprocal-rank term is ~0


@dataclass(frozen=True)
class FusionParams:
    """Weights of the fused score. Defaults were fitted on a training split of the public eval data
    (see benchmarks/ and BENCHMARKS.md), never on the test questions."""

    candidates: int = 100  # per side, before fusion
    w_dense: float = 0.25  # chunk cosine
    w_sentence: float = 0.5  # best sentence cosine within the chunk (when sentence vectors exist)
    w_bm25: float = 0.0  # BM25 divided by the best BM25 among candidates (fitted weight: 0; BM25 enters via w_rrf)
    rrf_k: float = 60.0
    w_rrf: float = 10.0  # reciprocal-rank term (dense rank + BM25 rank)
    per_doc: int = 2  # at most this many chunks of one article in the results (room for others)
    # news ages: an article published close to when the question is asked gets up to w_recency,
    # halving every recency_half_life_days; undated articles get nothing. Fitted on RealTime QA
    # train weeks (RGB has no dates), with w_recency capped at 0.1 so recency breaks ties between
    # similarly relevant articles but cannot bury a clearly better, older one.
    w_recency: float = 0.1
    w_article: float = 1.0  # cosine of the article vector (whole article embedded, or its chunks' mean)
    recency_half_life_days: float = 7.0
    # pseudo-relevance feedback: after a first pass, an article close to the centroid of the
    # prf_k best articles gets up to w_prf (language-centred, so a Chinese question's feedback does
    # not favour Chinese articles; one number per article, like w_article)
    w_prf: float = 0.1
    prf_k: int = 10
    # w_dense, w_sentence (sentence vectors on RGB only), w_bm25, w_rrf, w_article, w_recency and its
    # half-life, w_prf and prf_k fitted on RGB ids 0-199 + RealTime QA weeks to 20220916, maximising
    # the smaller of the two sets' train gains over their best baseline; recency and feedback only
    # where they lower neither set's train MRR@10 (BENCHMARKS.md)


@dataclass(frozen=True)
class CandidateFeatures:
    """What the fused score knows about each candidate chunk of one question: one entry per
    candidate in every array. Cosines are language-centred (see ``LoadedIndex.language_bias``)."""

    docs: np.ndarray  # the candidate's article
    langs: np.ndarray  # the candidate's language code
    dense: np.ndarray  # chunk cosine
    sentence: np.ndarray  # best sentence cosine within the chunk (the chunk cosine without sentence vectors)
    bm25: np.ndarray  # raw BM25 score
    dense_rank: np.ndarray  # rank in the dense list, MISSING_RANK when not in it
    bm25_rank: np.ndarray  # rank in the BM25 list, MISSING_RANK when not in it
    article: np.ndarray | None = None  # cosine of the article's vector; None: no article vectors
    article_vectors: np.ndarray | None = None  # the article's vector (a zero row: the article has none)
    age_days: np.ndarray | None = None  # days between publication and the question (NaN: undated); None: day unknown
    centroids: np.ndarray | None = None  # per-language mean passage vector (None: no centring)

    @property
    def bm25_share(self) -> np.ndarray:
        """BM25 divided by the best BM25 among the candidates (zeros when none has any)."""
        best = float(self.bm25.max()) if len(self.bm25) else 0.0
        return self.bm25 / best if best > 0 else np.zeros(len(self.bm25), dtype=np.float32)


def fused_scores(f: CandidateFeatures, params: FusionParams) -> np.ndarray:
    """The fused score of every candidate: a weighted sum of its features, then feedback from the
    best-scoring articles of that sum. A term whose weight is 0 is skipped."""
    score = params.w_dense * f.dense + params.w_sentence * f.sentence + params.w_bm25 * f.bm25_share
    if params.w_article:
        score = score + params.w_article * article_scores(f)
    if params.w_rrf:
        score = score + params.w_rrf * (1 / (params.rrf_k + f.dense_rank) + 1 / (params.rrf_k + f.bm25_rank))
    if params.w_recency and f.age_days is not None:
        score = score + params.w_recency * recency_weight(f.age_days, params.recency_half_life_days)
    if params.w_prf and f.article_vectors is not None:
        score = score + params.w_prf * prf_scores(f.docs, f.article_vectors, f.langs, f.centroids, score, params.prf_k)
    return score


def article_scores(f: CandidateFeatures) -> np.ndarray:
    """The article term: the cosine of the candidate's article vector; for an article without one
    (or an index without article vectors), its best candidate chunk's cosine. Either way one number
    per article: it ranks articles and leaves the order of chunks within one to the other terms."""
    fallback = best_per_article(f.docs, f.dense)
    if f.article is None or f.article_vectors is None:
        return fallback
    return np.where(np.abs(f.article_vectors).sum(axis=1) > 0, f.article, fallback)


def recency_weight(age_days: np.ndarray, half_life_days: float) -> np.ndarray:
    """exp2(-age / half-life) for each age in days; 0 where the age is unknown (NaN: undated)."""
    return np.where(np.isfinite(age_days), np.exp2(-np.nan_to_num(age_days, nan=0.0) / half_life_days), 0.0)


def prf_scores(articles: np.ndarray, vectors: np.ndarray, langs: np.ndarray, centroids: np.ndarray | None,
               first_pass: np.ndarray, k: int) -> np.ndarray:
    """Pseudo-relevance feedback: the cosine of each candidate's article vector to the centroid of
    the ``k`` best distinct articles by ``first_pass`` score. Vectors are centred on their
    language's mean first, so that the feedback rewards the story, not the language it is told
    in. Per candidate: ``articles`` (article ids), ``vectors`` (their article vectors; zeros for an
    article without one, which scores 0), ``langs`` (language codes)."""
    if k <= 0:
        return np.zeros(len(articles), dtype=np.float32)
    has = np.abs(vectors).sum(axis=1) > 0
    if centroids is not None:
        vectors = vectors - centroids[np.asarray(langs, dtype=np.int64)]
    norms = np.linalg.norm(vectors, axis=1)
    has &= norms > 1e-6
    top: list[int] = []
    seen: set[int] = set()
    for i in np.argsort(-first_pass, kind="stable"):
        a = int(articles[i])
        if has[i] and a not in seen:
            seen.add(a)
            top.append(int(i))
            if len(top) >= k:
                break
    if not top:
        return np.zeros(len(articles), dtype=np.float32)
    centre = vectors[top].mean(axis=0)
    centre_norm = float(np.linalg.norm(centre))
    if centre_norm < 1e-6:
        return np.zeros(len(articles), dtype=np.float32)
    return np.where(has, vectors @ (centre / centre_norm) / np.where(has, norms, 1.0), 0.0).astype(np.float32)


def best_per_article(articles: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """For each entry, the best score among the entries of the same article."""
    _, inv = np.unique(articles, return_inverse=True)
    best = np.full(int(inv.max()) + 1 if len(inv) else 0, -np.inf, dtype=np.float64)
    np.maximum.at(best, inv, scores)
    return best[inv]


def ranks_of(candidates: np.ndarray, ranked: np.ndarray) -> np.ndarray:
    """Each candidate's position in ``ranked`` (one side's list, best first), MISSING_RANK if absent."""
    position = {int(c): r for r, c in enumerate(ranked)}
    return np.array([position.get(int(c), MISSING_RANK) for c in candidates], dtype=np.int64)
