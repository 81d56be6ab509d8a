"""QAService: the one entry point the CLI, the Slack bot and the benchmarks use to answer."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .answer import (
    RefusalModel,
    candidate_sentences,
    cite,
    compose,
    coverage,
    default_refusal_model,
    pick_sentences,
    refusal,
)
from .embeddings import EmbeddingCache, embed_passages, embed_query, embedder_id, make_embeddings
from .errors import EmptyQuestionError
from .index import check_compatible, require_generation
from .search import FusionParams, LoadedIndex
from .settings import RetrievalSettings
from .text import clip_question, content_terms, detect_language
from .types import Answer

logger = logging.getLogger(__name__)

MAX_HISTORY = 3  # earlier questions of a thread joined to a follow-up


class QAService:
    """Loads the live index lazily, answers questions, and picks up a newer index on ``reload()``.

    Thread-safe: an answer uses the index generation that was live when it started.
    """

    def __init__(self, settings: RetrievalSettings, *, embeddings: Any = None,
                 refusal_model: RefusalModel | None = None, fusion: FusionParams | None = None) -> None:
        self.settings = settings
        self._embeddings = embeddings
        self.refusal_model = refusal_model or default_refusal_model()
        self.fusion = fusion or FusionParams()
        self._index: LoadedIndex | None = None
        self._lock = threading.Lock()
        self._cache: EmbeddingCache | None = None

    @property
    def embeddings(self) -> Any:
        if self._embeddings is None:
            s = self.settings
            self._embeddings = make_embeddings(s.embeddings, base_url=s.embeddings_base_url, api_key=s.embeddings_api_key)
        return self._embeddings

    @property
    def model_id(self) -> str:
        return embedder_id(self.settings.embeddings, self.embeddings)

    def index(self) -> LoadedIndex:
        with self._lock:
            if self._index is None:
                self._index = self._load()
            return self._index

    def reload(self) -> bool:
        """Switch to a newer index generation if one was built since; True when switched."""
        gen = require_generation(self.settings)
        with self._lock:
            if self._index is not None and self._index.gen_dir == gen:
                return False
        fresh = self._load()
        with self._lock:
            self._index = fresh
        logger.info("loaded index generation %s", fresh.gen_dir.name)
        return True

    def _load(self) -> LoadedIndex:
        gen: Path = require_generation(self.settings)
        loaded = LoadedIndex(gen)
        check_compatible(loaded.manifest, self.settings, self.model_id)
        return loaded

    def ask(self, question: str, *, history: Sequence[str] = (), k: int | None = None) -> Answer:
        t0 = time.perf_counter()
        text, _ = clip_question(question, self.settings.max_question_chars)
        if not content_terms(text) and not any(ch.isalnum() for ch in text):
            raise EmptyQuestionError("the question is empty")
        language = detect_language(text)
        search_text = standalone_question(text, history)
        index = self.index()
        timings: dict[str, float] = {}
        t = time.perf_counter()
        qvec = embed_query(self.embeddings, search_text)
        timings["embed_ms"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        hits = index.search(qvec, search_text, k=k or self.settings.top_k, params=self.fusion)
        timings["search_ms"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        if not hits:
            ans = refusal(text, language, len(index.docs))
        else:
            sids = candidate_sentences(index, hits)
            vectors = self._sentence_vectors(index, sids)
            picked = pick_sentences(index, hits, qvec, search_text, vectors)
            evidence = [index.docs[h.doc]["text"][h.start:h.end] for h in hits[:3]]
            features = {
                "sentence": picked[0].score if picked else 0.0,
                "chunk": hits[0].dense,
                "coverage": coverage(search_text, evidence),
            }
            if not picked or not self.refusal_model.answerable(features):
                ans = refusal(text, language, len(index.docs), features=features)
            else:
                citations = cite(index, picked)
                ans = Answer(question=text, answer=compose(text, language, citations), refused=False,
                             language=language, citations=citations, scores=features)
        timings["answer_ms"] = (time.perf_counter() - t) * 1000
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        ans.timings_ms = timings
        return ans

    def _sentence_vectors(self, index: LoadedIndex, sids: list[int]) -> dict[int, np.ndarray]:
        if index.sentence_vectors is not None:
            return {sid: index.sentence_vectors[sid] for sid in sids}
        # An index built without sentence vectors (large benchmark corpora): embed on demand, cached.
        if self._cache is None:
            self._cache = EmbeddingCache(self.settings.cache_path)
        texts = [index.docs[int(index.sentences[s][0])]["text"][int(index.sentences[s][1]):int(index.sentences[s][2])] for s in sids]
        vecs, _ = embed_passages(texts, embeddings=self.embeddings, model=self.model_id, cache=self._cache)
        return dict(zip(sids, vecs, strict=True))


def standalone_question(question: str, history: Sequence[str]) -> str:
    """Without a language model, a follow-up is made standalone by joining the thread's earlier
    questions in front of it (the retrieval sees the topic; the answer still targets the follow-up)."""
    earlier = [h.strip() for h in history if h.strip()][-MAX_HISTORY:]
    return " ".join([*earlier, question]) if earlier else question
