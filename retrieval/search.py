"""Hybrid search: FAISS (dense) and BM25 candidates, fused, re-scored by their best sentence, their
article's vector and pseudo-relevance feedback."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from .bm25 import BM25Side
from .errors import IndexCorruptError
from .index import read_manifest
from .text import LANGUAGES


@lru_cache(maxsize=4)
def language_centroids(model_id: str) -> np.ndarray | None:
    """Mean passage vector per language for the embedder (see benchmarks/make_centroids.py)."""
    raw = json.loads(resources.files("retrieval").joinpath("centroids.json").read_text("utf-8"))
    if raw.get("model") != model_id:
        return None
    return np.asarray([raw[lang] for lang in LANGUAGES], dtype=np.float32)


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
class Hit:
    chunk: int
    doc: int
    start: int
    end: int
    score: float
    dense: float
    sentence: float
    bm25: float


class LoadedIndex:
    """One generation of the index, read fully at load (readers never see a half-written one)."""

    def __init__(self, gen_dir: Path) -> None:
        self.gen_dir = gen_dir
        self.manifest = read_manifest(gen_dir)
        try:
            self.docs: list[dict[str, Any]] = json.loads((gen_dir / "documents.json").read_text(encoding="utf-8"))
            self.chunks = np.load(gen_dir / "chunks.npy", allow_pickle=False)
            self.sentences = np.load(gen_dir / "sentences.npy", allow_pickle=False)
            sv = gen_dir / "sentence_vectors.npy"
            self.sentence_vectors: np.ndarray | None = np.load(sv, allow_pickle=False) if sv.exists() else None
            av = gen_dir / "article_vectors.npy"  # absent in generations built before article vectors
            self.article_vectors: np.ndarray | None = np.load(av, allow_pickle=False) if av.exists() else None
            self.faiss = faiss.read_index(str(gen_dir / "chunks.faiss"))
            self.bm25 = BM25Side(gen_dir / "bm25")
        except Exception as err:  # any unreadable part means the whole generation is unusable
            raise IndexCorruptError(
                f"the index in {gen_dir.parent} is damaged ({type(err).__name__}); run `industry-qa index --rebuild`"
            ) from None
        n = len(self.chunks)
        if self.faiss.ntotal != n or (self.sentence_vectors is not None and len(self.sentence_vectors) != len(self.sentences)) or (
                self.article_vectors is not None and self.article_vectors.shape != (len(self.docs), self.faiss.d)):
            raise IndexCorruptError(f"the index in {gen_dir.parent} is inconsistent; run `industry-qa index --rebuild`")
        self.doc_days = np.array([publication_day(d.get("published", "")) for d in self.docs], dtype=np.float64)
        self.centroids = language_centroids(str(self.manifest.get("embedder", {}).get("id")))
        if self.centroids is not None and self.centroids.shape[1] != self.dim:
            self.centroids = None

    def centred(self, vectors: np.ndarray, langs: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Language-centred cosine of each vector (of language ``langs``) against the query vector."""
        return vectors @ query - self.language_bias(query)[np.asarray(langs, dtype=np.int64)]

    def language_bias(self, qvec: np.ndarray) -> np.ndarray:
        """The question's background similarity to any passage of each language. e5 rates every
        same-language passage higher; subtracting this lets a Chinese question find English text."""
        if self.centroids is None:
            return np.zeros(len(LANGUAGES), dtype=np.float32)
        return self.centroids @ qvec

    @property
    def dim(self) -> int:
        return int(self.faiss.d)

    def chunk_vectors(self, ids: np.ndarray) -> np.ndarray:
        return np.vstack([self.faiss.reconstruct(int(i)) for i in ids]) if len(ids) else np.zeros((0, self.dim), np.float32)

    def search(self, qvec: np.ndarray, question: str, *, k: int, params: FusionParams = FusionParams(),
               asked_on: date | None = None) -> list[Hit]:
        """The best ``k`` chunks (at most ``params.per_doc`` per article). ``asked_on``: the day the
        question is asked, for the recency term (None = no recency)."""
        n = len(self.chunks)
        if n == 0:
            return []
        m = min(params.candidates, n)
        query = np.asarray(qvec, dtype=np.float32).reshape(-1)
        _, d_rows = self.faiss.search(query[None, :], m)
        bm = self.bm25.scores(question)
        b_ids = np.argsort(-bm)[:m] if bm.any() else np.zeros(0, dtype=np.int64)
        b_ids = b_ids[bm[b_ids] > 0]
        rank_d = {int(c): r for r, c in enumerate(d_rows[0]) if c >= 0}
        cand = np.unique(np.concatenate([np.fromiter(rank_d, dtype=np.int64, count=len(rank_d)), b_ids]).astype(np.int64))
        docs, langs = self.chunks[cand, 0], self.chunks[cand, 5]
        art_vecs = self.article_vectors[docs] if self.article_vectors is not None else None  # per candidate
        dense = self.centred(self.chunk_vectors(cand), langs, query)
        bmax = float(bm[cand].max()) if len(cand) else 0.0
        bnorm = bm[cand] / bmax if bmax > 0 else np.zeros(len(cand), dtype=np.float32)
        sent = self._best_sentence_scores(cand, query) if self.sentence_vectors is not None else dense
        score = params.w_dense * dense + params.w_sentence * sent + params.w_bm25 * bnorm
        if params.w_article:
            score = score + params.w_article * self._article_scores(docs, langs, art_vecs, dense, query)
        if params.w_rrf:
            rank_b = {int(c): r for r, c in enumerate(b_ids)}
            score = score + params.w_rrf * np.array([
                1 / (params.rrf_k + rank_d.get(int(c), 10**6)) + 1 / (params.rrf_k + rank_b.get(int(c), 10**6))
                for c in cand
            ])
        if params.w_recency and asked_on is not None:
            score = score + params.w_recency * self.recency(cand, asked_on, params.recency_half_life_days)
        if params.w_prf and art_vecs is not None:
            score = score + params.w_prf * prf_scores(docs, art_vecs, langs, self.centroids, score, params.prf_k)
        order = np.argsort(-score)
        hits: list[Hit] = []
        for i in order:
            c = int(cand[i])
            doc, start, end = (int(x) for x in self.chunks[c][:3])
            same = [h for h in hits if h.doc == doc]
            if len(same) >= params.per_doc or any(_overlap(h.start, h.end, start, end) > 0.5 for h in same):
                continue  # an overlapping neighbour of a better chunk adds nothing new
            hits.append(Hit(c, doc, start, end, float(score[i]), float(dense[i]), float(sent[i]), float(bnorm[i])))
            if len(hits) >= k:
                break
        return hits

    def _article_scores(self, docs: np.ndarray, langs: np.ndarray, vecs: np.ndarray | None, dense: np.ndarray,
                        query: np.ndarray) -> np.ndarray:
        """Language-centred cosine of each candidate's article vector (``vecs``, one row per candidate,
        None in an index from before article vectors; ``docs``/``langs``: the candidates' article and
        language). In an index from before article
        vectors, the article's best candidate chunk stands in. Either way it is one number per
        article: it ranks articles and leaves the order of chunks within one to the other terms."""
        fallback = best_per_article(docs, dense)
        if vecs is None:
            return fallback
        has = np.abs(vecs).sum(axis=1) > 0
        if not has.any():
            return fallback
        return np.where(has, self.centred(vecs, langs, query), fallback)

    def recency(self, chunks: np.ndarray, asked_on: date, half_life_days: float) -> np.ndarray:
        """1 for an article published the day the question is asked, halving every half-life of
        distance (either way: a clock or time zone can put "today's" article a day ahead); 0 undated."""
        return recency_weight(np.abs(asked_on.toordinal() - self.doc_days[self.chunks[chunks, 0]]), half_life_days)

    def sentence_ids(self, chunk: int) -> range:
        lo, hi = (int(x) for x in self.chunks[chunk][3:5])
        return range(lo, hi)

    def _best_sentence_scores(self, cand: np.ndarray, query: np.ndarray) -> np.ndarray:
        assert self.sentence_vectors is not None
        out = np.empty(len(cand), dtype=np.float32)
        for i, c in enumerate(cand):
            r = self.sentence_ids(int(c))
            if not len(r):
                out[i] = 0.0
                continue
            sims = self.centred(self.sentence_vectors[r.start : r.stop], self.sentences[r.start : r.stop, 3], query)
            out[i] = float(sims.max())
        return out


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


_DAY = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")


def publication_day(published: str) -> float:
    """The proleptic ordinal of an article's date ("2025-12-11T13:45:00+08:00", "2022/06/12"), NaN
    when there is none. The local calendar day as written: news dates are the outlet's own."""
    m = _DAY.match(str(published or "").strip())
    if not m:
        return math.nan
    try:
        return float(date(int(m[1]), int(m[2]), int(m[3])).toordinal())
    except ValueError:
        return math.nan


def _overlap(a0: int, a1: int, b0: int, b1: int) -> float:
    inter = max(0, min(a1, b1) - max(a0, b0))
    return inter / max(1, min(a1 - a0, b1 - b0))
