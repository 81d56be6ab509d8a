"""How fast the index build can feed an embeddings server: ``ServerEmbeddings`` (batched, concurrent)
through ``embed_passages`` (content-hash cache included) against a loopback server that answers
every request after a fixed delay, standing in for a GPU server's time per batch.

    python -m benchmarks.bench_embed_server [--texts 20000] [--delays 0,0.05]

The server's own speed is not measured here (there is no GPU on this machine): the table says what
our side costs and how concurrency hides a server's latency.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.embedding_server import ServerEmbeddings
from retrieval.embeddings import EmbeddingCache, embed_passages

from .machine import machine_line

DIM = 384


class _Server:
    """Answers ``POST /embeddings`` with random unit vectors after ``delay_s``."""

    def __init__(self, delay_s: float) -> None:
        rng = np.random.default_rng(0)
        pool = rng.standard_normal((4096, DIM)).astype(np.float32)
        pool /= np.linalg.norm(pool, axis=1, keepdims=True)
        rows = [json.dumps([round(float(x), 6) for x in v]) for v in pool]

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                time.sleep(delay_s)
                items = ",".join(f'{{"index":{i},"embedding":{rows[hash(t) % len(rows)]}}}' for i, t in enumerate(body["input"]))
                raw = f'{{"object":"list","data":[{items}]}}'.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def run(n_texts: int, delay_s: float, batch: int, concurrency: int) -> dict[str, Any]:
    server = _Server(delay_s)
    texts = [f"passage {i}: Zhipu AI passed its listing hearing in Hong Kong; 智谱通过港交所聆讯 {i * 7}" for i in range(n_texts)]
    try:
        with tempfile.TemporaryDirectory() as d:
            cache = EmbeddingCache(Path(d) / "emb.sqlite")
            emb = ServerEmbeddings("bench", base_url=server.url, batch_size=batch, concurrency=concurrency)
            t = time.perf_counter()
            _, n = embed_passages(texts, embeddings=emb, model=emb.model_id, cache=cache)
            first = time.perf_counter() - t
            t = time.perf_counter()
            _, again = embed_passages(texts, embeddings=emb, model=emb.model_id, cache=cache)
            cached = time.perf_counter() - t
            cache.close()
    finally:
        server.close()
    return {"texts": n_texts, "delay_ms": delay_s * 1000, "batch": batch, "concurrency": concurrency,
            "texts_per_s": round(n / first), "seconds": round(first, 1), "from_cache_texts_per_s": round(n_texts / cached),
            "embedded_again": again}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--texts", type=int, default=20_000)
    ap.add_argument("--delays", default="0,0.05")
    ap.add_argument("--concurrency", default="1,4,8")
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args(argv)
    print("| server delay per request ms | batch | concurrency | texts | texts/s embedded | texts/s from the cache |")
    print("|---|---|---|---|---|---|")
    for delay in (float(x) for x in args.delays.split(",")):
        for conc in (int(x) for x in args.concurrency.split(",")):
            r = run(args.texts, delay, args.batch, conc)
            print(f"| {r['delay_ms']:.0f} | {r['batch']} | {r['concurrency']} | {r['texts']:,} | {r['texts_per_s']:,} | "
                  f"{r['from_cache_texts_per_s']:,} |", flush=True)
    print()
    print(machine_line(["numpy", "httpx"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
