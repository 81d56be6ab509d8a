"""Centrality without a language model: which sentences say what a week is about.

Sentences are rows of a matrix with unit-length rows: the index's sentence vectors (centred per
language, so Chinese and English sentences about the same event are close) or, when the index
lacks them, TF-IDF over ``lexical_tokens`` (English words without stopwords, Chinese as overlapping
character bigrams). Everything after that is the same matrix arithmetic, dense or sparse.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np
from scipy import sparse

from retrieval.text import EN_STOPWORDS

_PIECE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[A-Za-z0-9]+(?:['’.-][A-Za-z0-9]+)*")

MERGE_SIMILARITY = 0.9  # a sentence this close to a chosen point is the same news: merged into it
MMR_LAMBDA = 0.7  # weight of centrality against redundancy when choosing the next point

# np.ndarray or scipy.sparse.csr_matrix (scipy has no type stubs)
Matrix: TypeAlias = Any


def tfidf_matrix(texts: Sequence[str]) -> sparse.csr_matrix:
    """Rows are L2-normalised TF-IDF vectors (smooth idf) of ``texts``."""
    vocab: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    df: Counter[int] = Counter()
    for r, text in enumerate(texts):
        counts = Counter(vocab.setdefault(tok, len(vocab)) for tok in lexical_tokens(text))
        df.update(counts.keys())
        for c, n in counts.items():
            rows.append(r)
            cols.append(c)
            vals.append(1.0 + math.log(n))
    n_docs = len(texts)
    idf = np.ones(max(1, len(vocab)), dtype=np.float32)
    for c, d in df.items():
        idf[c] = math.log((1 + n_docs) / (1 + d)) + 1.0
    data = np.asarray(vals, dtype=np.float32) * idf[np.asarray(cols, dtype=np.int64)] if vals else np.zeros(0, np.float32)
    m = sparse.csr_matrix((data, (rows, cols)), shape=(n_docs, max(1, len(vocab))), dtype=np.float32)
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.csr_matrix(sparse.diags(1.0 / norms) @ m)


def lexical_tokens(text: str) -> list[str]:
    """Lowercase English words of two letters or more without stopwords; Chinese as overlapping
    character bigrams of each whole run.

    Not retrieval's ``content_tokens``, which does another job (how much of a question evidence
    covers): it stems English words, keeps one-character tokens (the lone digit of an amount, which
    here would make unrelated sentences alike) and cuts Chinese at stopwords. Swapped in, it picks
    other key points: all five differ on the synthetic week of benchmarks/bench_digest.py."""
    tokens: list[str] = []
    for piece in _PIECE.findall(text):
        if piece[0].isascii():
            word = piece.lower()
            if word not in EN_STOPWORDS and len(word) > 1:
                tokens.append(word)
        else:
            tokens.extend(piece[i : i + 2] for i in range(max(1, len(piece) - 1)))
    return tokens


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (vectors / norms).astype(np.float32)


def _sims(m: Matrix, direction: np.ndarray) -> np.ndarray:
    return np.asarray(m @ direction, dtype=np.float32).ravel()


def _centroid(m: Matrix, rows: np.ndarray) -> np.ndarray:
    total = np.asarray(m[rows].sum(axis=0), dtype=np.float32).ravel()
    norm = float(np.linalg.norm(total))
    return total / norm if norm else total


def group_centroids(m: Matrix, groups: np.ndarray, n_groups: int) -> list[np.ndarray]:
    return [_centroid(m, np.flatnonzero(groups == g)) for g in range(n_groups)]


def most_central_per_group(m: Matrix, groups: np.ndarray, centroids: Sequence[np.ndarray]) -> list[int | None]:
    """For each group (article), the row closest to its own centroid; ties go to the earlier row."""
    best: list[int | None] = []
    for g, centre in enumerate(centroids):
        rows = np.flatnonzero(groups == g)
        if not len(rows):
            best.append(None)
            continue
        sims = _sims(m[rows], centre)
        best.append(int(rows[int(np.argmax(sims))]))
    return best


def key_points(m: Matrix, groups: np.ndarray, centroids: Sequence[np.ndarray], *, k: int) -> list[list[int]]:
    """Up to ``k`` points, each a list of rows: the chosen sentence first, then near-duplicates from
    other articles merged into it. Chosen by MMR against the week's centroid (the mean of the
    article centroids, so a long article does not outweigh several short ones), one point per
    article while other articles still have candidates."""
    n = m.shape[0]
    if n == 0 or k <= 0:
        return []
    week = np.mean(np.vstack(centroids), axis=0) if len(centroids) else np.zeros(m.shape[1], np.float32)
    norm = float(np.linalg.norm(week))
    relevance = _sims(m, week / norm) if norm else np.zeros(n, np.float32)
    chosen: list[int] = []
    max_sim = np.full(n, -1.0, dtype=np.float32)
    available = np.ones(n, dtype=bool)
    used_groups: set[int] = set()
    while len(chosen) < k and available.any():
        fresh = available & ~np.isin(groups, list(used_groups))
        pool = fresh if fresh.any() else available
        score = MMR_LAMBDA * relevance - (1 - MMR_LAMBDA) * np.maximum(max_sim, 0)
        score = np.where(pool, score, -np.inf)
        pick = int(np.argmax(score))
        chosen.append(pick)
        used_groups.add(int(groups[pick]))
        sims = _sims(m, _row(m, pick))
        max_sim = np.maximum(max_sim, sims)
        available &= sims <= MERGE_SIMILARITY  # near-duplicates of a point never become points
        available[pick] = False
    if not chosen:
        return []
    picked_sims = np.vstack([_sims(m, _row(m, p)) for p in chosen])  # (points, rows)
    points = [[p] for p in chosen]
    for row in range(n):
        if row in chosen:
            continue
        best = int(np.argmax(picked_sims[:, row]))
        if picked_sims[best, row] > MERGE_SIMILARITY and groups[row] not in {groups[r] for r in points[best]}:
            points[best].append(row)
    return points


def _row(m: Matrix, i: int) -> np.ndarray:
    if sparse.issparse(m):
        return np.asarray(m[i].toarray(), dtype=np.float32).ravel()
    return np.asarray(m[i], dtype=np.float32)
