"""QAService: the one entry point the CLI, the Slack bot and the benchmarks use to answer."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from .answer import (
    RefusalModel,
    candidate_sentences,
    cite,
    coverage,
    default_refusal_model,
    pick_sentences,
    rank_sentences,
    refusal,
)
from .embeddings import EmbeddingCache, embed_passages, embed_query, embedder_id, make_embeddings
from .errors import EmptyQuestionError
from .freshness import FreshnessCheck
from .fusion import FusionParams
from .glossary import load_glossary
from .index import LoadedIndex, check_compatible, require_generation
from .llm import LLMAnswerer, make_chat_model
from .search import search
from .settings import RetrievalSettings
from .text import clip_question, content_terms, detect_language
from .types import Answer

logger = logging.getLogger(__name__)

MAX_HISTORY = 3  # earlier questions of a thread joined to a follow-up
LLM_EXCERPTS = 6  # sentences offered to the language model


class QAService:
    """Loads the live index lazily, answers questions, and picks up a newer index on ``reload()``.

    Thread-safe: an answer uses the index generation that was live when it started.
    """

    def __init__(self, settings: RetrievalSettings, *, embeddings: Any = None,
                 refusal_model: RefusalModel | None = None, fusion: FusionParams | None = None,
                 chat_model: Any = None) -> None:
        self.settings = settings
        self._embeddings = embeddings
        self.refusal_model = refusal_model or default_refusal_model()
        self.fusion = fusion or FusionParams()
        self._index: LoadedIndex | None = None
        self._lock = threading.Lock()
        self._cache: EmbeddingCache | None = None
        self.glossary = load_glossary(settings.corpus_dir)
        self._freshness = FreshnessCheck(settings.index_dir)  # picks up indexes built by other processes
        chat = chat_model if chat_model is not None else make_chat_model(settings.llm)
        self.llm: LLMAnswerer | None = LLMAnswerer(chat, settings.llm) if chat is not None else None

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
        loaded.dense  # noqa: B018  (read the approximate index, or fill the exact one, before the first question)
        return loaded

    def ask(self, question: str, *, history: Sequence[str] = (), k: int | None = None,
            on_partial: Callable[[str], None] | None = None, asked_on: date | None = None) -> Answer:
        """Answer with cited excerpts (or refuse). ``history``: the thread's earlier questions, oldest
        first. ``on_partial`` receives the growing model answer, as far as it is safe to show, while a
        language model writes. ``asked_on`` (default: today, UTC) weighs recent articles slightly higher.

        The question is read here and only here: whitespace normalised, cut to MAX_QUESTION_CHARS
        (the thread's earlier questions too), its language detected; the answer says what was done."""
        t0 = time.perf_counter()
        limit = self.settings.max_question_chars
        text, clipped = clip_question(question, limit)
        history = [clip_question(h, limit)[0] for h in history]
        if not content_terms(text) and not any(ch.isalnum() for ch in text):
            raise EmptyQuestionError("the question is empty")
        language = detect_language(text)
        self._freshness.reload_if_stale(self)
        index = self.index()
        timings: dict[str, float] = {}
        t = time.perf_counter()
        standalone = self._standalone(text, history)
        search_text = self.glossary.expand(standalone)
        if history:
            timings["rewrite_ms"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        # one embedding per question, of the glossary-expanded text: a second, of the plain text,
        # changes no decision on the seed and cross-language questions and would double the model
        # calls, which are most of an answer's CPU (BENCHMARKS.md, Slack burst)
        qvec = embed_query(self.embeddings, search_text)
        timings["embed_ms"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        hits = search(index, qvec, search_text, k=k or self.settings.top_k, params=self.fusion,
                      asked_on=asked_on or datetime.now(UTC).date())
        timings["search_ms"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        if not hits:
            ans = refusal(text, language, len(index.docs))
        else:
            vectors = self._sentence_vectors(index, candidate_sentences(index, hits))
            ranked = rank_sentences(index, hits, qvec, search_text, vectors)
            picked = pick_sentences(ranked)
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
                ans = Answer(question=text, refused=False, language=language, citations=citations,
                             scores=features, corpus_articles=len(index.docs))
                timings["answer_ms"] = (time.perf_counter() - t) * 1000
                if self.llm is not None:
                    self._word_with_llm(ans, standalone, cite(index, ranked[:LLM_EXCERPTS]), on_partial, timings)
        timings.setdefault("answer_ms", (time.perf_counter() - t) * 1000)
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        ans.timings_ms = timings
        ans.search_question = standalone
        ans.clipped_to = limit if clipped else 0
        return ans

    def _standalone(self, question: str, history: Sequence[str]) -> str:
        if history and self.llm is not None:
            return self.llm.rewrite(question, list(history)[-MAX_HISTORY:])
        return standalone_question(question, history)

    def _word_with_llm(self, ans: Answer, question: str, excerpts: list[Any],
                       on_partial: Callable[[str], None] | None, timings: dict[str, float]) -> None:
        assert self.llm is not None
        result = self.llm.answer(question, ans.language, excerpts, on_partial=on_partial)
        timings["llm_ms"] = result.model_ms
        ans.usage = {"prompt_tokens": result.prompt_tokens, "completion_tokens": result.completion_tokens}
        if result.fallback is None:
            ans.model_text, ans.citations, ans.mode = result.text, result.citations, "llm"
        else:
            ans.fallback = result.fallback

    def _sentence_vectors(self, index: LoadedIndex, sids: list[int]) -> dict[int, np.ndarray]:
        if index.sentence_vectors is not None:
            return {sid: index.sentence_vectors[sid] for sid in sids}
        # An index built without sentence vectors (large benchmark corpora): embed on demand, cached.
        if self._cache is None:
            self._cache = EmbeddingCache(self.settings.cache_path)
        texts = [index.sentence_text(s) for s in sids]
        vecs, _ = embed_passages(texts, embeddings=self.embeddings, model=self.model_id, cache=self._cache)
        return dict(zip(sids, vecs, strict=True))


def standalone_question(question: str, history: Sequence[str]) -> str:
    """Without a language model, a follow-up is made standalone by joining the thread's earlier
    questions in front of it (the retrieval sees the topic; the answer still targets the follow-up)."""
    earlier = [h.strip() for h in history if h.strip()][-MAX_HISTORY:]
    return " ".join([*earlier, question]) if earlier else question
