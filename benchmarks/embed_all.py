"""Embed (and cache by content hash) every text the benchmarks need. Resumable: cached texts
are skipped. Order: queries, RGB chunks, whole articles and sentences, RealTime QA chunks (gold articles
first) and whole articles (not its ~100k sentences: hours here).

    python -m benchmarks.embed_all [--eval-dir ../shared/eval]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from retrieval.index import article_vectors

from . import common
from .datasets import DEFAULT_EVAL_DIR, load_realtimeqa, load_rgb


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    args = ap.parse_args(argv)
    rgb = load_rgb(args.eval_dir)
    rt = load_realtimeqa(args.eval_dir)
    t0 = time.time()
    qs = [q.text for q in rgb.queries] + [q.text for q in rt.queries]
    _, n = common.query_vectors(qs)
    print(f"queries: {len(qs)} ({n} embedded) {time.time()-t0:.0f}s", flush=True)
    for es in (rgb, rt):
        _, chunks, _, texts = common.layout(es.articles)
        todo = int((~common.cached_mask(texts)).sum())
        print(f"{es.name}: {len(texts)} chunk texts, {todo} to embed", flush=True)
        t1 = time.time()
        last = [0.0]

        def prog(done: int, total: int, t1=t1, name=es.name, last=last) -> None:
            if time.time() - last[0] > 30 or done == total:
                last[0] = time.time()
                rate = done / max(1e-9, time.time() - t1)
                print(f"  {name}: {done}/{total} {rate:.1f}/s eta {(total-done)/max(rate,1e-9)/60:.1f} min", flush=True)

        # embed in slices, in article order (RealTime QA: gold articles first, then distractor pages),
        # so that an interrupted run leaves a usable prefix of the corpus in the cache
        order = sorted(range(len(texts)), key=lambda i: chunks[i].doc)
        step = 256
        for j in range(0, len(order), step):
            part = [texts[i] for i in order[j:j + step]]
            common.passage_vectors(part)
            prog(min(j + step, len(order)), len(order))
        vecs, _ = common.passage_vectors(texts, embed_missing=False)
        _, n = article_vectors(es.articles, chunks, vecs, embeddings=common.embedder(), model=common.model_id(),
                               cache=common.cache())  # whole articles that fit the model's window
        if es is rgb:  # RGB's ~29k sentences too (short; ~10 min): its quality run exercises sentence re-scoring
            _, _, sents, _ = common.layout(es.articles)
            stexts = [es.articles[s.doc].text[s.start:s.end] for s in sents]
            for j in range(0, len(stexts), 2048):
                common.passage_vectors(stexts[j:j + 2048])
                prog(min(j + 2048, len(stexts)), len(stexts))
        print(f"{es.name}: done in {time.time()-t1:.0f}s ({n} whole articles embedded)", flush=True)
    print(f"all done in {time.time()-t0:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
