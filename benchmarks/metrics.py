"""Ranking metrics over document ids (a document counts as found when any of its chunks is)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from bot.stats import percentile as percentile  # the one nearest-rank percentile (`industry-qa stats` too)


def dedup_docs(chunk_ranking: Iterable[int], chunk_doc: Sequence[int] | np.ndarray, limit: int = 10) -> list[int]:
    """Documents in order of their best-ranked chunk."""
    seen: dict[int, None] = {}
    for c in chunk_ranking:
        d = int(chunk_doc[int(c)])
        if d not in seen:
            seen[d] = None
            if len(seen) >= limit:
                break
    return list(seen)


def hit_at_k(ranked: Sequence, relevant: set, k: int) -> float:
    return 1.0 if any(d in relevant for d in ranked[:k]) else 0.0


def mrr_at_k(ranked: Sequence, relevant: set, k: int = 10) -> float:
    for i, d in enumerate(ranked[:k]):
        if d in relevant:
            return 1.0 / (i + 1)
    return 0.0


def summarize(rankings: Sequence[Sequence], relevants: Sequence[set]) -> dict[str, float]:
    n = len(rankings)
    if n == 0:
        return {"n": 0, "hit@1": float("nan"), "hit@5": float("nan"), "mrr@10": float("nan")}
    return {
        "n": n,
        "hit@1": sum(hit_at_k(r, rel, 1) for r, rel in zip(rankings, relevants, strict=True)) / n,
        "hit@5": sum(hit_at_k(r, rel, 5) for r, rel in zip(rankings, relevants, strict=True)) / n,
        "mrr@10": sum(mrr_at_k(r, rel, 10) for r, rel in zip(rankings, relevants, strict=True)) / n,
    }


METRICS = {"hit@1": lambda r, rel: hit_at_k(r, rel, 1), "hit@5": lambda r, rel: hit_at_k(r, rel, 5),
           "mrr@10": lambda r, rel: mrr_at_k(r, rel, 10)}


def paired_gap(a: Sequence[Sequence], b: Sequence[Sequence], relevants: Sequence[set], *, resamples: int = 10_000,
               seed: int = 0) -> dict[str, dict[str, float]]:
    """Per metric: the mean per-question difference a - b, its 95% paired-bootstrap interval
    (questions resampled with replacement), and how many questions a wins and loses."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, f in METRICS.items():
        d = np.array([f(x, rel) - f(y, rel) for x, y, rel in zip(a, b, relevants, strict=True)])
        means = d[rng.integers(0, len(d), (resamples, len(d)))].mean(axis=1)
        lo, hi = np.quantile(means, [0.025, 0.975])
        out[name] = {"diff": float(d.mean()), "lo": float(lo), "hi": float(hi), "wins": int((d > 0).sum()),
                     "losses": int((d < 0).sum())}
    return out
