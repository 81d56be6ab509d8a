"""Embeddings from a server that speaks OpenAI's ``POST /embeddings`` (OpenAI itself, or a GPU
server such as text-embeddings-inference or vLLM next to the bot): the path a large corpus takes,
since the bundled CPU model embeds a few dozen texts a second.

Texts go in batches of ``batch_size``, ``concurrency`` requests at a time. A request that fails in
a way worth retrying (HTTP 429, 5xx, a timeout or dropped connection) is sent again after a pause
that doubles each time (or the server's ``Retry-After``); anything else fails at once with the
server's own words. Progress survives failures because the index build stores every finished batch
in the embedding cache: run ``industry-qa index`` again and it resumes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
from langchain_core.embeddings import Embeddings

from .errors import EmbeddingError

OPENAI_URL = "https://api.openai.com/v1"
RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
MAX_PAUSE_S = 60.0


class ServerEmbeddings(Embeddings):
    """``openai/<model>``: batched, concurrent and retried requests to an OpenAI-compatible endpoint."""

    def __init__(self, model: str, *, base_url: str = "", api_key: str = "", batch_size: int = 64,
                 concurrency: int = 4, timeout_s: float = 60.0, attempts: int = 6, backoff_s: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.model = model
        self.model_id = f"openai/{model}".lower()  # the embedding cache's key: the same as before this client
        self.url = (base_url or OPENAI_URL).rstrip("/") + "/embeddings"
        self.batch_size = max(1, batch_size)
        self.concurrency = max(1, concurrency)
        self.slab_size = self.batch_size * self.concurrency  # texts worth handing over at once
        self.attempts = max(1, attempts)
        self.backoff_s = backoff_s
        self._sleep = sleep
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout_s, headers=headers,
                                    limits=httpx.Limits(max_connections=self.concurrency + 1))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents_array(texts).tolist()

    def embed_documents_array(self, texts: Sequence[str]) -> np.ndarray:
        batches = [list(texts[i : i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]
        if not batches:
            return np.zeros((0, 0), dtype=np.float32)
        if len(batches) == 1 or self.concurrency == 1:
            return np.vstack([self._post(b) for b in batches])
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(batches))) as pool:
            return np.vstack(list(pool.map(self._post, batches)))

    def embed_query(self, text: str) -> list[float]:
        return self._post([text])[0].tolist()

    def _post(self, inputs: list[str]) -> np.ndarray:
        last, last_retry_after = "", None
        for attempt in range(self.attempts):
            if attempt:
                self._sleep(self._pause(attempt, last_retry_after))
            last_retry_after = None
            try:
                response = self._client.post(self.url, json={"model": self.model, "input": inputs})
            except httpx.TransportError as err:  # timeouts, refused or dropped connections
                last = type(err).__name__
                continue
            if response.status_code in RETRY_STATUS:
                last, last_retry_after = f"HTTP {response.status_code}", response.headers.get("retry-after")
                continue
            if response.status_code >= 400:
                raise EmbeddingError(f"the embeddings server refused the request (HTTP {response.status_code}: "
                                     f"{_short(response.text)})")
            return self._vectors(response, len(inputs))
        raise EmbeddingError(f"the embeddings server failed {self.attempts} times in a row (last: {last})")

    def _pause(self, attempt: int, retry_after: str | None) -> float:
        try:
            if retry_after is not None:
                return min(MAX_PAUSE_S, max(0.0, float(retry_after)))
        except ValueError:
            pass  # an HTTP date: fall back to our own back-off
        return min(MAX_PAUSE_S, self.backoff_s * 2 ** (attempt - 1) * (0.5 + random.random()))

    @staticmethod
    def _vectors(response: httpx.Response, n: int) -> np.ndarray:
        try:
            data = sorted(response.json()["data"], key=lambda d: int(d.get("index", 0)))
            vectors = np.asarray([d["embedding"] for d in data], dtype=np.float32)
        except (ValueError, KeyError, TypeError) as err:
            raise EmbeddingError(f"the embeddings server sent an answer that is not a list of embeddings ({err})") from None
        if vectors.ndim != 2 or len(vectors) != n:
            raise EmbeddingError(f"the embeddings server sent {len(vectors)} embeddings for {n} texts")
        return vectors


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"
