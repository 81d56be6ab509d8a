"""The on-disk index, written and read here only: FAISS (chunk vectors), sentence and article
vectors, BM25 and JSON metadata.

Layout of ``DATA_DIR``::

    embeddings.sqlite        cache of vectors by content hash (survives rebuilds)
    index/CURRENT            name of the live generation, replaced atomically
    index/gen-*/             manifest.json, documents.jsonl + texts.bin + documents.npy, chunks.npy,
                             sentences.npy, chunk/sentence/article_vectors.npy, bm25/, chunks.faiss
                             (a large index only); no pickle anywhere, every array memory-mapped

``schema`` says what each file holds, column by column (and ``layout`` cuts articles into those
rows); ``generations`` swaps generations atomically; ``build`` decides what changed and
``assemble`` writes a generation (``documents``, ``bm25`` and ``dense`` each write and read their
part); ``loaded`` reads one.
"""

from .build import IndexReport, build_index, build_index_from_articles
from .generations import (
    check_compatible,
    current_generation,
    read_manifest,
    require_generation,
    retrain_dense,
    writer_lock,
)
from .loaded import ArticleSentences, LoadedIndex, language_centroids
from .schema import (
    ChunkRow,
    DocumentRecord,
    Layout,
    SentenceRow,
    chunk_embedding_text,
    chunker_config,
    layout,
    publication_day,
)
from .vectors import article_vectors

__all__ = [
    "ArticleSentences",
    "ChunkRow",
    "DocumentRecord",
    "IndexReport",
    "Layout",
    "LoadedIndex",
    "SentenceRow",
    "article_vectors",
    "build_index",
    "build_index_from_articles",
    "check_compatible",
    "chunk_embedding_text",
    "chunker_config",
    "current_generation",
    "language_centroids",
    "layout",
    "publication_day",
    "read_manifest",
    "require_generation",
    "retrain_dense",
    "writer_lock",
]
