"""The on-disk index, written and read here only: FAISS (chunk vectors), sentence and article
vectors, BM25 and JSON metadata.

Layout of ``DATA_DIR``::

    embeddings.sqlite        cache of vectors by content hash (survives rebuilds)
    index/CURRENT            name of the live generation, replaced atomically
    index/gen-*/             manifest.json, documents.json, chunks.npy, sentences.npy,
                             chunks.faiss, sentence_vectors.npy, article_vectors.npy, bm25/ (no pickle anywhere)

``schema`` says what each file holds, column by column (and ``layout`` cuts articles into those
rows); ``generations`` swaps generations atomically; ``build`` writes one; ``loaded`` reads one.
"""

from .build import IndexReport, article_vectors, build_index, build_index_from_articles
from .generations import (
    check_compatible,
    current_generation,
    read_manifest,
    require_generation,
    writer_lock,
)
from .loaded import ArticleSentences, LoadedIndex, language_centroids, publication_day
from .schema import (
    ChunkRow,
    DocumentRecord,
    Layout,
    SentenceRow,
    chunk_embedding_text,
    chunker_config,
    layout,
)

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
    "writer_lock",
]
