"""The Slack-style dev set: a small fictional corpus of dated, evolving stories about China's
large-model companies listing in Hong Kong (English and Chinese), and short questions about it
with a train/test split. See benchmarks/devset/README.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from retrieval.index import build_index
from retrieval.service import QAService
from retrieval.settings import RetrievalSettings

from .. import common

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
QUESTIONS = HERE / "questions.jsonl"


def questions() -> list[dict[str, Any]]:
    return [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]


def settings() -> RetrievalSettings:
    return RetrievalSettings(corpus_dir=CORPUS, data_dir=common.CACHE_DIR / "devset",
                             embedding_cache=common.CACHE_PATH)


def service(**kwargs: Any) -> QAService:
    """The dev corpus indexed as the product indexes (chunk and sentence vectors), and a service on it."""
    from ..calibrate_refusal import CachedQueryE5

    s = settings()
    build_index(s, embeddings=common.embedder())
    return QAService(s, embeddings=CachedQueryE5(), **kwargs)
